"""Answer keys: what the validator checks every submitted reference against.

Examples::

    python -m leaderboards.keys --data aramega-ssum
    python -m leaderboards.keys --data /data/aramega-ssum --dataset-config multitask --split test --output-dir leaderboards/keys

Writes ``<output-dir>/<fingerprint>.json`` for the dataset's content fingerprint
(`aramega_ssum.dataset.fingerprint`): every id of the split with its task, the sha256 of its
normalized reference (`aramega_ssum.text.normalize`, version recorded) and, for dialect and
emotion, of its canonical label; the ASR rows' dialect (for the per-dialect breakdown); counts per
task. A key holds hashes, not texts, so it can be published for a dataset whose text may not be
redistributed. `python -m leaderboards.validate` refuses an entry whose fingerprint has no key,
whose ids or tasks are not the key's, that covers a task only partly, or whose references differ.
Re-running on the same data writes the same bytes (the fingerprint fixes the content).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from aramega_ssum.cli import add_common, cli_main, deprecated, make_parser, setup_logging
from collections import Counter
from pathlib import Path

from aramega_ssum.schema import CONFIGS, SPLITS
from aramega_ssum.tasks import CLASSIFICATION_TASKS

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
DEFAULT_KEYS_DIR = HERE / "keys"
KEY_FORMAT = "aramega-ssum-answer-key-1"
SHOWN_PER_TASK = 10  # missing ids listed one per line, then one line with the rest's count


def text_sha256(text: str) -> str:
    """sha256 (hex) of the normalized text: what a key stores for a reference."""
    from aramega_ssum.text import normalize

    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def label_sha256(task: str, text: str) -> str | None:
    """sha256 (hex) of the canonical label `text` maps to (None when it maps to no label)."""
    from aramega_ssum.tasks import canonical_label

    label = canonical_label(task, text)
    return None if label is None else hashlib.sha256(label.encode("utf-8")).hexdigest()


def _rows(data_dir: Path, config: str, split: str) -> list[dict]:
    """(id, task, reference, dialect) of every row of a split, read straight from the parquet."""
    import pyarrow.parquet as pq

    from aramega_ssum.dataset import split_files

    columns = ["id", "task", "target", "dialect"] if config == "multitask" else ["id", "summary"]
    out = []
    for path in split_files(data_dir, split, config):
        for row in pq.read_table(path, columns=columns).to_pylist():
            if config == "ssum":
                row = {"id": row["id"], "task": "ssum", "target": row["summary"], "dialect": None}
            out.append(row)
    return out


def make_key(rows, *, fingerprint: str, dataset: str, config: str = "multitask", split: str = "test") -> dict:
    """An answer key from ``{"id", "task", "target", "dialect"}`` rows (a split's references)."""
    from aramega_ssum.text import NORMALIZER_VERSION

    entries: dict[str, dict] = {}
    for row in rows:
        if row["id"] in entries:
            raise ValueError(f"{dataset}: id {row['id']!r} occurs twice in the {split} split")
        entry = {"task": row["task"], "reference_sha256": text_sha256(row["target"])}
        if row["task"] in CLASSIFICATION_TASKS:
            entry["label_sha256"] = label_sha256(row["task"], row["target"])
        if row["task"] == "asr" and row.get("dialect"):
            entry["dialect"] = row["dialect"]
        entries[row["id"]] = entry
    counts = Counter(e["task"] for e in entries.values())
    return {"format": KEY_FORMAT, "fingerprint": fingerprint, "dataset": dataset, "config": config,
            "split": split, "normalizer": NORMALIZER_VERSION, "counts": dict(sorted(counts.items())),
            "ids": dict(sorted(entries.items()))}


def build_key(data_dir: str | Path, config: str = "multitask", split: str = "test") -> dict:
    """The answer key of one config and split of a built dataset folder."""
    from aramega_ssum.dataset import fingerprint

    data_dir = Path(data_dir)
    rows = _rows(data_dir, config, split)
    return make_key(rows, fingerprint=fingerprint(data_dir, config), dataset=data_dir.name, config=config,
                    split=split)


def key_path(fingerprint: str, keys_dir: str | Path = DEFAULT_KEYS_DIR) -> Path:
    return Path(keys_dir) / f"{fingerprint}.json"


def write_key(key: dict, keys_dir: str | Path = DEFAULT_KEYS_DIR) -> Path:
    """Write ``<keys_dir>/<fingerprint>.json`` (sorted, stable bytes), atomically."""
    from aramega_ssum.predictions import write_bytes_atomic

    body = json.dumps(key, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
    return write_bytes_atomic(key_path(key["fingerprint"], keys_dir), body.encode("utf-8"))


def load_key(fingerprint: str, keys_dir: str | Path, problems: list[str]) -> dict | None:
    """The key of a fingerprint, or None with one problem saying why."""
    from leaderboards.files import decode_utf8, parse_json_strict, read_bytes_checked

    path = key_path(fingerprint, keys_dir)
    if not path.is_file():
        problems.append(f"data.fingerprint: no answer key for {fingerprint} in {keys_dir} (maintainers "
                        f"register a dataset with `python -m leaderboards.keys --data DIR`); entries on "
                        f"unregistered data cannot be checked and are refused")
        return None
    scratch: list[str] = []
    raw = read_bytes_checked(path, "answer key", scratch)
    text = decode_utf8(raw, "answer key", scratch) if raw is not None else None
    key = parse_json_strict(text, scratch) if text is not None else None
    if (not isinstance(key, dict) or key.get("format") != KEY_FORMAT or key.get("fingerprint") != fingerprint
            or not isinstance(key.get("ids"), dict)):
        problems.append(f"data.fingerprint: the answer key {path} is unreadable or not a {KEY_FORMAT} key "
                        f"for {fingerprint} {'; '.join(scratch)}".rstrip())
        return None
    return key


def check_against_key(records: list[dict], key: dict, data: dict, problems: list[str]) -> None:
    """One problem per record whose id, task, reference or dialect disagrees with the key, and per
    key id missing from a task the entry reports."""
    where = "predictions.path"
    ids = key["ids"]
    if data["data"]["config"] != key["config"] or data["data"]["split"] != key["split"]:
        problems.append(f"data.config/data.split: {data['data']['config']}/{data['data']['split']} but the "
                        f"answer key of this fingerprint is for {key['config']}/{key['split']}")
    for number, rec in enumerate(records, start=1):
        _check_record(number, rec, ids.get(rec["id"]), problems, where)
    reported = {rec["task"] for rec in records}
    present = {rec["id"] for rec in records}
    for task in sorted(reported):
        wanted = sorted(i for i, e in ids.items() if e["task"] == task)
        missing = [i for i in wanted if i not in present]
        for record_id in missing[:SHOWN_PER_TASK]:
            problems.append(f"{where}: id {record_id!r} ({task}) of the answer key is missing; an entry "
                            f"reporting {task} must cover all {len(wanted)} {task} ids")
        if len(missing) > SHOWN_PER_TASK:
            problems.append(f"{where}: ... and {len(missing) - SHOWN_PER_TASK} more {task} ids missing "
                            f"({len(wanted) - len(missing)} of {len(wanted)} covered)")


def _check_record(number: int, rec: dict, entry: dict | None, problems: list[str], where: str) -> None:
    head = f"{where}: record {number} (id {rec['id']!r})"
    if entry is None:
        problems.append(f"{head}: id is not in the answer key of this dataset")
        return
    if rec["task"] != entry["task"]:
        problems.append(f"{head}: task {rec['task']!r} but the answer key says {entry['task']!r}")
        return
    if text_sha256(rec["reference"]) != entry["reference_sha256"]:
        problems.append(f"{head}: reference differs from the dataset's (sha256 of the normalized text "
                        f"does not match the answer key)")
    elif "label_sha256" in entry and label_sha256(rec["task"], rec["reference"]) != entry["label_sha256"]:
        problems.append(f"{head}: reference label differs from the dataset's")
    if "dialect" in rec and rec["dialect"] != entry.get("dialect", rec["dialect"]):
        problems.append(f"{head}: dialect {rec['dialect']!r} but the answer key says {entry['dialect']!r}")


def _parser() -> argparse.ArgumentParser:
    parser = make_parser("python -m leaderboards.keys", __doc__)
    parser.add_argument("--data", required=True, type=Path, help="a built dataset folder")
    parser.add_argument("--dataset-config", dest="config", default="multitask", choices=CONFIGS, help="dataset config")
    deprecated(parser, "--config", "--dataset-config", "config", choices=CONFIGS)
    parser.add_argument("--split", default="test", choices=SPLITS, help="split of the answer key")
    parser.add_argument("--output-dir", dest="out_dir", type=Path, default=DEFAULT_KEYS_DIR, help="default: %(default)s")
    deprecated(parser, "--out-dir", "--output-dir", "out_dir", type=Path)
    add_common(parser)
    return parser


@cli_main(ValueError)
def main(argv: list[str] | None = None) -> int:
    """CLI: build and write the key; one `error:` line and exit 2 when the folder is not a dataset."""
    args = _parser().parse_args(argv)
    setup_logging(args)
    key = build_key(args.data, args.config, args.split)
    path = write_key(key, args.out_dir)
    counts = ", ".join(f"{task} {n}" for task, n in key["counts"].items())
    print(f"wrote {path}: {len(key['ids'])} ids ({counts}) of {args.data} {args.config}/{args.split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
