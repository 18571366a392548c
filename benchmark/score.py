"""Score a predictions JSONL file: one JSON object on stdout (or a table with --table).

Examples:
    python -m benchmark.score benchmark/examples/predictions.jsonl
    python -m benchmark.score preds.jsonl --output scores.json --bootstrap 2000 --seed 1
    python -m benchmark.score preds.jsonl --bertscore-model ./models/arabert --bertscore-layer 9
    python -m benchmark.score benchmark/examples/predictions.jsonl --table

Bad input (malformed JSON, a missing field, an unknown task, an empty file, duplicate ids) exits
with status 2 and one message naming the line; so does an empty reference. Dialect and emotion
aliases (``egyptian``) map to their label (EGY) through the task's alias table, and raw model
outputs are parsed as ``benchmark.evaluate`` parses them (``aramega_ssum.tasks.parse_output``). ``--output`` is written atomically or not at all (an existing file only with
--overwrite).
Logs go to stderr; stdout carries only the result.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from pathlib import Path

from aramega_ssum.cli import cli_main, setup_logging
from aramega_ssum.metrics import score_predictions
from aramega_ssum.outputs import check_output_file
from aramega_ssum.predictions import PredictionsError, line_of, read_predictions, write_json_atomic
from aramega_ssum.tasks import get_task

log = logging.getLogger("benchmark.score")

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from aramega_ssum.cli import add_common, deprecated, make_parser

    parser = make_parser("python -m benchmark.score", __doc__)
    parser.add_argument("predictions", type=Path, help="predictions JSONL: id, task, prediction, reference")
    parser.add_argument("--output", dest="out", type=Path, help="also write the JSON result here (atomically)")
    deprecated(parser, "--out", "--output", "out", type=Path)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    parser.add_argument("--bertscore-model", default=None, help="hub id or local model directory for BERTScore")
    parser.add_argument("--bertscore-layer", type=int, default=None, help="layer of the BERTScore model")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for 95%% CIs (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--table", action="store_true", help="print a human-readable table instead of JSON")
    add_common(parser)
    args = parser.parse_args(argv)
    if args.bootstrap < 0:
        parser.error("--bootstrap must be >= 0")
    return args


def _fmt(value) -> str:
    return "null" if value is None else f"{value:.4f}"


def format_table(scores: dict) -> str:
    """A plain-text table: one row per (task, metric) with the value and its 95% CI."""
    lines = [f"normalizer: {scores['normalizer']}", f"{'task':<9}{'n':>5}  {'metric':<14}{'value':>8}  95% CI"]
    for task, result in scores["tasks"].items():
        for spec in get_task(task).metrics:
            metric = spec.name
            if metric not in result:
                continue
            ci = result.get("ci95", {}).get(metric)
            ci_text = f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else "-"
            note = f"  ({result[spec.error_key]})" if spec.nullable and result[metric] is None else ""
            lines.append(f"{task:<9}{result['n']:>5}  {metric:<14}{_fmt(result[metric]):>8}  {ci_text}{note}")
        for dialect, wer in result.get("per_dialect", {}).items():
            lines.append(f"{task:<9}{'':>5}  {'wer[' + dialect + ']':<14}{_fmt(wer):>8}")
    return "\n".join(lines)


@cli_main(PredictionsError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args, default=logging.WARNING)
    if args.out:
        check_output_file(args.out, overwrite=args.overwrite)
    try:
        records = read_predictions(args.predictions)
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the result
            scores = score_predictions(records, bootstrap=args.bootstrap, seed=args.seed,
                                       bertscore_model=args.bertscore_model, bertscore_layer=args.bertscore_layer)
    except PredictionsError as exc:
        line = line_of(args.predictions, exc.record_id) if exc.record_id is not None else None
        raise PredictionsError(f"{args.predictions}:{line}: {exc}" if line else str(exc)) from None
    if args.out:
        write_json_atomic(args.out, scores)
        log.info("wrote %s", args.out)
    if args.table:
        print(format_table(scores))
    else:
        print(json.dumps(scores, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
