"""Reading a built AraMega-SSum folder: splits as `datasets.Dataset` (audio left as FLAC bytes),
a content fingerprint (independent of the parquet encoding), and the build report.

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


FINGERPRINT_VERSION = "content-v1"
_BATCH_ROWS = 64


def _pcm_digest(audio: dict | None, cache: dict) -> str | None:
    """sha256 of a row's audio as 16-bit PCM at 16 kHz mono (little-endian), whatever its encoding."""
    if audio is None or (audio.get("bytes") is None and audio.get("path") is None):
        return None
    data = audio.get("bytes")
    key = hashlib.sha256(data).hexdigest() if data is not None else f"path:{audio['path']}"
    if key not in cache:
        cache[key] = hashlib.sha256(pcm16(audio).astype("<i2").tobytes()).hexdigest()
    return cache[key]


def pcm16(audio):
    """Decoded audio as int16 samples at 16 kHz mono: exact for 16-bit sources, else ``x * 32768`` rounded."""
    import io

    import numpy as np
    import soundfile as sf

    from aramega_ssum.audio import decode_audio, resample
    from aramega_ssum.schema import SAMPLING_RATE

    data = audio.get("bytes") if isinstance(audio, dict) else audio
    if isinstance(data, (bytes, bytearray)):
        info = sf.info(io.BytesIO(bytes(data)))
        if info.samplerate == SAMPLING_RATE and info.channels == 1 and info.subtype == "PCM_16":
            return sf.read(io.BytesIO(bytes(data)), dtype="int16")[0]
    samples, rate = decode_audio(audio)
    samples = resample(samples, rate, SAMPLING_RATE)
    return np.clip(np.rint(samples.astype(np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def _split_rows(files: list[Path], config: str, cache: dict) -> list[tuple]:
    """(sort key, canonical JSON line) of every row of one split."""
    import pyarrow.parquet as pq

    from aramega_ssum.schema import fields_for

    columns = [f.name for f in fields_for(config)]
    rows = []
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=_BATCH_ROWS, columns=columns):
            for row in batch.to_pylist():
                record = {name: row[name] for name in columns if name != "audio"}
                if "audio" in row:
                    record["audio_pcm16_sha256"] = _pcm_digest(row["audio"], cache)
                if isinstance(record.get("duration"), float):
                    record["duration"] = round(record["duration"], 3)
                line = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                rows.append(((row["id"], row.get("task") or ""), line))
    return rows


def fingerprint(data_dir: str | Path, config: str = "multitask", *, pcm_cache: dict | None = None) -> str:
    """sha256 of a config's content, independent of the parquet encoding.

    For each split (train, validation, test) and each row in (id, task) order: every field of the
    schema except the audio bytes, plus the sha256 of the decoded audio as 16-bit PCM at 16 kHz.
    Re-encoding the parquet (compression, row groups, shards, pyarrow version) or the audio
    (another lossless codec, another FLAC encoder) leaves it unchanged; any change of an id, task,
    text, label or audio sample changes it. `pcm_cache` (a dict kept by the caller) lets several
    configs of one folder decode each distinct clip once.
    """
    _check(config)
    folder = Path(data_dir) / config
    if not any(folder.glob("*.parquet")):
        raise FileNotFoundError(f"no parquet files under {folder}")
    digest = hashlib.sha256(f"aramega-ssum-fingerprint:{FINGERPRINT_VERSION}:{config}\n".encode())
    cache: dict = {} if pcm_cache is None else pcm_cache
    for split in SPLITS:
        files = sorted(folder.glob(f"{split}-*.parquet"))
        rows = sorted(_split_rows(files, config, cache))
        keys = [key for key, _ in rows]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ValueError(f"{folder}: split {split} has the (id, task) {dup} more than once")
        digest.update(f"split:{split}:{len(rows)}\n".encode())
        for _, line in rows:
            digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def verify_fingerprint(data_dir: str | Path, config: str = "multitask") -> str:
    """Recompute a config's fingerprint and check it against ``build_report.json``; returns it.

    Raises ValueError naming both hashes when the folder's content is not the one the build wrote.
    """
    recorded = (read_build_report(data_dir).get("fingerprints") or {}).get(config)
    if recorded is None:
        raise ValueError(f"{Path(data_dir) / 'build_report.json'} records no fingerprint for {config!r} "
                         f"(built before fingerprints were content hashes): rebuild it")
    actual = fingerprint(data_dir, config)
    if actual != recorded:
        raise ValueError(f"{Path(data_dir) / config}: content fingerprint {actual} differs from the "
                         f"build report's {recorded}: the files were changed after the build")
    return actual


def read_build_report(data_dir: str | Path) -> dict:
    """The folder's ``build_report.json``."""
    path = Path(data_dir) / "build_report.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise FileNotFoundError(f"cannot read {path}: {err}") from None
