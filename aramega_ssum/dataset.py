"""Reading a built AraMega-SSum folder: splits as `datasets.Dataset` (audio left as FLAC bytes),
a content fingerprint, and the build report.

The folder is the Hub layout written by ``python -m builders.build``:
``<dir>/<config>/<split>-NNNNN-of-NNNNN.parquet`` plus ``README.md`` and ``build_report.json``.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from aramega_ssum.schema import CONFIGS, SPLITS

logger = logging.getLogger(__name__)


def _check(config: str, split: str | None = None) -> None:
    if config not in CONFIGS:
        raise ValueError(f"unknown config {config!r}; expected one of {', '.join(CONFIGS)}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")


def split_files(data_dir: str | Path, split: str, config: str = "multitask") -> list[Path]:
    """The parquet shards of one config and split, sorted; an error naming the folder if none."""
    _check(config, split)
    folder = Path(data_dir) / config
    files = sorted(folder.glob(f"{split}-*.parquet"))
    if not files:
        raise FileNotFoundError(f"no {split}-*.parquet under {folder}; build it with "
                                f"`python -m builders.build --output {data_dir}`")
    return files


def load_split(data_dir: str | Path, split: str, config: str = "multitask"):
    """One split as a `datasets.Dataset`, audio cast to ``Audio(decode=False)`` ({bytes, path}).

    Decode a row's audio with `aramega_ssum.audio.decode_audio(row["audio"])`.
    """
    import datasets

    from aramega_ssum.schema import SAMPLING_RATE, features

    import pyarrow.parquet as pq

    files = split_files(data_dir, split, config)
    feats = features(config)
    feats["audio"] = datasets.Audio(sampling_rate=SAMPLING_RATE, decode=False)
    if sum(pq.ParquetFile(f).metadata.num_rows for f in files) == 0:
        return datasets.Dataset.from_dict({name: [] for name in feats}, features=feats, split=split)
    table = datasets.Dataset.from_parquet([str(f) for f in files], features=feats,
                                          keep_in_memory=False, split=split)
    return table


def load_splits(data_dir: str | Path, config: str = "multitask") -> dict:
    """All splits of a config: ``{split: datasets.Dataset}`` (audio undecoded)."""
    return {split: load_split(data_dir, split, config) for split in SPLITS}


def fingerprint(data_dir: str | Path, config: str = "multitask") -> str:
    """sha256 over the parquet files of a config (names and bytes, in sorted order)."""
    _check(config)
    folder = Path(data_dir) / config
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no parquet files under {folder}")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_build_report(data_dir: str | Path) -> dict:
    """The folder's ``build_report.json``."""
    path = Path(data_dir) / "build_report.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise FileNotFoundError(f"cannot read {path}: {err}") from None
