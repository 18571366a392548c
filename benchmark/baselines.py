"""Reference baselines (no model): the floors a system must beat, as ordinary leaderboard runs.

Examples::

    python -m benchmark.baselines --data aramega-ssum --output-dir runs/baselines
    python -m benchmark.baselines --data /data/aramega-ssum --output-dir runs/baselines --seed 1 --bootstrap 2000

    # then, for each baseline, an entry labelled `baseline` on the board
    python -m leaderboards.prepare --name baseline-lead-2 --run runs/baselines/lead-2

Baselines, on the test split of the multitask config:

- ``majority``: dialect and emotion, the most frequent label of the train split (ties: the first
  in the task's label inventory).
- ``uniform-random``: dialect and emotion, a label drawn uniformly from the inventory (seeded).
- ``lead-1``, ``lead-2``: tsum, the first one or two sentences of the document (the standard
  extractive floor for news).
- ``lead-2-oracle-transcript``: ssum, the first two sentences of the reference transcription: a
  cascade upper bound for extractive speech summarization with perfect ASR.

ASR has no baseline (an empty output scores WER 1.0 and tells nothing). Each baseline writes
``<output-dir>/<name>/predictions.jsonl`` and ``results.json``, scored by
`aramega_ssum.metrics.score_predictions` (as ``python -m benchmark.score``) and assembled by
`aramega_ssum.results.build_results` (as the harness's results). Only a previous output of this
tool is replaced; any other file in the way is an error (exit 2).
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from aramega_ssum.cli import add_common, cli_main, deprecated, make_parser, setup_logging
from collections import Counter
from pathlib import Path

from aramega_ssum.tasks import CLASSIFICATION_TASKS, get_task
from aramega_ssum.text import split_sentences

logger = logging.getLogger(__name__)

VERSION = "1"
ID_PREFIX = "baseline/"
CONFIG = "multitask"
BASELINES = ("majority", "uniform-random", "lead-1", "lead-2", "lead-2-oracle-transcript")


class BaselineError(Exception):
    """A dataset or output folder the baselines cannot use (the CLI prints `error: ...`, exit 2)."""


def read_rows(data_dir: Path, split: str) -> list[dict]:
    """The split's rows without audio (id, task, target, text, transcription, label)."""
    import pyarrow.parquet as pq

    from aramega_ssum.dataset import split_files

    columns = ["id", "task", "target", "text", "transcription", "label"]
    try:
        files = split_files(data_dir, split, CONFIG)
    except (FileNotFoundError, ValueError) as exc:
        raise BaselineError(str(exc)) from None
    return [row for path in files for row in pq.read_table(path, columns=columns).to_pylist()]


def majority_labels(train: list[dict]) -> dict[str, str]:
    """{task: most frequent train label} for dialect and emotion (ties: inventory order)."""
    out = {}
    for task in CLASSIFICATION_TASKS:
        counts = Counter(r["label"] for r in train if r["task"] == task)
        if not counts:
            raise BaselineError(f"the train split has no {task} rows: no majority class")
        inventory = get_task(task).labels
        out[task] = max(inventory, key=lambda label: (counts.get(label, 0), -inventory.index(label)))
    return out


def lead(text: str, k: int) -> str:
    """The first `k` sentences of `text` (the whole text when it has fewer)."""
    return " ".join(split_sentences(text)[:k])


def _record(row: dict, prediction: str) -> dict:
    return {"id": row["id"], "task": row["task"], "prediction": prediction, "reference": row["target"]}


def baseline_predictions(name: str, test: list[dict], train: list[dict], seed: int) -> list[dict]:
    """Prediction records of one baseline on the test rows."""
    if name == "majority":
        labels = majority_labels(train)
        return [_record(r, labels[r["task"]]) for r in test if r["task"] in labels]
    if name == "uniform-random":
        rng = random.Random(f"{seed}:uniform-random")
        return [_record(r, rng.choice(get_task(r["task"]).labels)) for r in test
                if r["task"] in CLASSIFICATION_TASKS]
    if name in ("lead-1", "lead-2"):
        k = int(name[-1])
        return [_record(r, lead(r["text"], k)) for r in test if r["task"] == "tsum"]
    if name == "lead-2-oracle-transcript":
        return [_record(r, lead(r["transcription"], 2)) for r in test if r["task"] == "ssum"]
    raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")


def _check_output(folder: Path) -> None:
    """Refuse to replace a results.json that this tool did not write."""
    results = folder / "results.json"
    if not results.exists():
        return
    try:
        model_id = json.loads(results.read_text(encoding="utf-8"))["model"]["id"]
    except (OSError, ValueError, KeyError, TypeError):
        model_id = None
    if not (isinstance(model_id, str) and model_id.startswith(ID_PREFIX)):
        raise BaselineError(f"{results} exists and was not written by python -m benchmark.baselines; "
                            "refusing to replace it (choose another --output-dir)")


def write_baseline(name: str, revision: str, records: list[dict], folder: Path, data: dict, scoring: dict,
                   wall_s: float) -> Path:
    """Score the records with the usual code and write predictions.jsonl + results.json."""
    from aramega_ssum.metrics import score_predictions
    from aramega_ssum.predictions import write_predictions
    from aramega_ssum.results import build_results, write_results

    predictions = write_predictions(folder / "predictions.jsonl", records)
    scores = score_predictions(records, **scoring)
    results = build_results(
        scores, model={"id": ID_PREFIX + name, "revision": revision, "base_model": None, "dtype": None,
                       "adapter": None},
        data=data, predictions_path=predictions, scoring=scoring, training=None,
        efficiency={"eval_wall_s": round(wall_s, 3), "train_wall_s": None})
    return write_results(results, folder / "results.json")


def run_baselines(data_dir: Path, output_dir: Path, *, seed: int = 0, bootstrap: int = 1000,
                  names: tuple[str, ...] = BASELINES) -> dict[str, Path]:
    """Every baseline in `names`; returns {name: results.json path}."""
    from aramega_ssum.dataset import fingerprint

    test, train = read_rows(data_dir, "test"), read_rows(data_dir, "train")
    for name in names:
        _check_output(output_dir / name)
    data = {"dataset": data_dir.name, "config": CONFIG, "fingerprint": fingerprint(data_dir, CONFIG),
            "split": "test"}
    written = {}
    for name in names:
        started = time.perf_counter()
        records = baseline_predictions(name, test, train, seed)
        if not records:
            logger.warning("%s: the test split has no rows of its task(s); nothing written", name)
            continue
        wall_s = time.perf_counter() - started
        scoring = {"bootstrap": bootstrap, "seed": 0, "bertscore_model": None}
        revision = f"v{VERSION}-seed{seed}" if name == "uniform-random" else f"v{VERSION}"
        written[name] = write_baseline(name, revision, records, output_dir / name, data, scoring, wall_s)
        logger.info("%s: %d predictions -> %s", name, len(records), written[name])
    return written


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = make_parser("python -m benchmark.baselines", __doc__)
    parser.add_argument("--data", type=Path, default=Path("aramega-ssum"), help="built dataset folder")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/baselines"), help="where results go")
    parser.add_argument("--baselines", nargs="+", choices=BASELINES, default=list(BASELINES))
    parser.add_argument("--seed", type=int, default=0, help="seed of the uniform-random baseline")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95%% CIs")
    add_common(parser)
    args = parser.parse_args(argv)
    if args.bootstrap < 0:
        parser.error("--bootstrap must be >= 0")
    return args


@cli_main(BaselineError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args)
    written = run_baselines(args.data, args.output_dir, seed=args.seed, bootstrap=args.bootstrap,
                            names=tuple(args.baselines))
    for name, path in written.items():
        results = json.loads(path.read_text(encoding="utf-8"))
        shown = ", ".join(f"{task} {_headline(task, m)}" for task, m in results["metrics"].items())
        print(f"{name}: {shown} -> {path}")
    return 0


def _headline(task: str, metrics: dict) -> str:
    key = get_task(task).headline
    return f"{key} {metrics[key]:.4f}"


if __name__ == "__main__":
    sys.exit(main())
