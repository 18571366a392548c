"""Inspect a data schedule: write one JSON line per global batch and print a summary.

Examples:
  python -m benchmark.schedule --strategy hybrid --max-steps 200 --batch-size 8 --output plan.jsonl
  python -m benchmark.schedule --strategy ads --max-steps 100 --batch-size 16 --world-size 4 \\
      clusters=4 --output ads.jsonl
  python -m benchmark.schedule --strategy tpc --data aramega-ssum --config my_tpc.yaml \\
      --max-steps 300 --batch-size 8 --output tpc.jsonl --overwrite
  python -m benchmark.schedule --strategy ads --embeddings emb.npy --max-steps 50 --batch-size 10 --output a.jsonl

`key=value` arguments override the strategy's `schedule:` options (e.g. switch=0.3 ads.clusters=4).
An existing --output (or --summary-json) file is replaced only with --overwrite.

The summary shows task shares per stage, label balance per classification task, and batch
diversity (mean pairwise aligner-embedding distance inside a batch) against uniform batches.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

from aramega_ssum.cli import UsageError, cli_main, setup_logging
from aramega_ssum.outputs import make_dirs
from aramega_ssum.scheduling import ScheduleInput, get_strategy, load_schedule_config, make_plan, strategy_names
from aramega_ssum.scheduling.diversity import format_summary, summarize

logger = logging.getLogger(__name__)
CONFIG_DIR = Path(__file__).parent / "configs"


def parse_args(argv=None) -> argparse.Namespace:
    from aramega_ssum.cli import add_common, deprecated, make_parser

    parser = make_parser("python -m benchmark.schedule", __doc__)
    parser.add_argument("--strategy", required=True, metavar="{" + ",".join(strategy_names()) + "}",
                        help="scheduling strategy (a typo answers 'did you mean')")
    parser.add_argument("--data", default="aramega-ssum",
                        help="built dataset folder (python -m builders.build --output-dir aramega-ssum)")
    parser.add_argument("--dataset-config", default="multitask", help="dataset config")
    parser.add_argument("--config", help="YAML with a `schedule:` block (default benchmark/configs/<strategy>.yaml "
                        "if present)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="schedule option overrides, e.g. switch=0.3 ads.clusters=4")
    deprecated(parser, "--set", "key=value", "overrides", action="append")
    parser.add_argument("--max-steps", dest="steps", type=int, help="global batches to plan (required)")
    deprecated(parser, "--steps", "--max-steps", "steps", type=int)
    parser.add_argument("--batch-size", type=int, required=True, help="global batch size")
    parser.add_argument("--world-size", type=int, default=1, help="also write each rank's part")
    parser.add_argument("--split", default="train", help="split to schedule")
    parser.add_argument("--limit", type=int, help="at most N examples per task of the split")
    parser.add_argument("--model", default="tiny", help="aligner for embeddings: tiny | hub id | local path")
    parser.add_argument("--embeddings", help=".npy [N, D] embeddings of the split's rows (skips the model)")
    parser.add_argument("--no-embeddings", action="store_true",
                        help="do not compute embeddings (uniform/tpc only; no diversity in the summary)")
    parser.add_argument("--cache-dir", default=".cache/embeddings")
    parser.add_argument("--embed-batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0, help="seed of the plan")
    parser.add_argument("--output", dest="out", help="plan JSONL to write (required)")
    deprecated(parser, "--out", "--output", "out")
    parser.add_argument("--summary-json", help="also write the summary as JSON here")
    parser.add_argument("--overwrite", action="store_true", help="replace existing --output/--summary-json files")
    add_common(parser)
    args = parser.parse_intermixed_args(argv)
    missing = [flag for flag, value in (("--max-steps", args.steps), ("--output", args.out)) if value is None]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    if args.steps < 1 or args.batch_size < 1:
        parser.error(f"--max-steps and --batch-size must be >= 1, got {args.steps} and {args.batch_size}")
    if args.world_size < 1 or args.batch_size % args.world_size:
        parser.error(f"--batch-size {args.batch_size} is not divisible by --world-size {args.world_size}")
    if args.limit is not None and args.limit < 0:
        parser.error(f"--limit must be >= 0, got {args.limit}")
    return args


def overrides(items: list[str]) -> dict:
    """`KEY=VALUE` strings -> {key: YAML-parsed value}."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"override {item!r}: expected key=value")
        out[key.strip()] = yaml.safe_load(value)
    return out


def default_config(strategy: str) -> Path | None:
    """benchmark/configs/<strategy>.yaml, or None (the strategy's defaults) for a strategy without one."""
    path = CONFIG_DIR / f"{strategy}.yaml"
    return path if path.is_file() else None


def embeddings_for(args, rows, data_dir: Path) -> np.ndarray | None:
    """Embeddings from --embeddings, or the aligner of --model (cached), or None."""
    if args.embeddings:
        emb = np.load(args.embeddings)
        if emb.ndim != 2 or emb.shape[0] != len(rows):
            raise UsageError(f"{args.embeddings}: shape {emb.shape}, expected ({len(rows)}, D) for the {args.split} split")
        return emb
    if args.no_embeddings:
        if get_strategy(args.strategy).needs_embeddings:
            raise UsageError(f"--no-embeddings: strategy {args.strategy!r} needs embeddings")
        return None
    from aramega_ssum.dataset import fingerprint
    from aramega_ssum.scheduling.embeddings import aligner_embeddings, embedding_cache_key
    from benchmark.model import load_model

    model, processor = load_model(args.model)
    key = embedding_cache_key(model, fingerprint(data_dir, args.dataset_config) + f":{args.split}"
                              + (f":limit{args.limit}" if args.limit is not None else ""))
    return aligner_embeddings(model, processor, rows, batch_size=args.embed_batch_size,
                              cache_dir=args.cache_dir, cache_key=key)


def plan_record(plan, inputs: ScheduleInput, step: int, world_size: int) -> dict:
    """The JSONL line of one global batch."""
    batch = plan.batch(step)
    labels: dict[str, Counter] = {}
    for i in batch:
        if inputs.labels[i] is not None:
            labels.setdefault(inputs.tasks[i], Counter())[inputs.labels[i]] += 1
    record = {"step": step, "strategy": plan.strategy, "stage": plan.stage(step),
              "ids": [inputs.ids[i] for i in batch],
              "tasks": dict(Counter(inputs.tasks[batch].tolist())),
              "labels": {t: dict(c) for t, c in labels.items()}}
    if world_size > 1:
        record["ranks"] = [[inputs.ids[i] for i in plan.rank_batch(step, r, world_size)] for r in range(world_size)]
    return record


@cli_main(ValueError, KeyError, OSError)
def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args)
    from aramega_ssum.dataset import load_split
    from aramega_ssum.outputs import check_output_file
    from benchmark.preflight import check_data, check_schedule, raise_if

    get_strategy(args.strategy)  # an unknown name answers "did you mean ..." before any work
    out = check_output_file(args.out, overwrite=args.overwrite)
    if args.summary_json:
        check_output_file(args.summary_json, overwrite=args.overwrite, option="--summary-json")
    raise_if(check_data(args.data, args.dataset_config, [args.split]))
    data_dir = Path(args.data)
    config = load_schedule_config(args.config or default_config(args.strategy), overrides(args.overrides))
    raise_if(check_schedule(args.strategy, config))  # before any embedding is computed
    rows = load_split(data_dir, args.split, args.dataset_config)
    if args.limit is not None:
        rows = rows.select(limit_per_task(rows["task"], args.limit))
    inputs = ScheduleInput.from_rows(rows, embeddings_for(args, rows, data_dir))
    plan = make_plan(args.strategy, inputs, batch_size=args.batch_size, steps=args.steps, seed=args.seed,
                     config=config)
    make_dirs(out.parent)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as f:
        for step in range(plan.steps):
            f.write(json.dumps(plan_record(plan, inputs, step, args.world_size), ensure_ascii=False) + "\n")
    os.replace(tmp, out)
    summary = summarize(plan, inputs)
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {plan.steps} batches to {out} ({len(inputs)} {args.split} examples from {data_dir})")
    print(format_summary(summary))
    return 0


def limit_per_task(tasks: list[str], limit: int) -> list[int]:
    """Indices of the first `limit` rows of each task."""
    seen: Counter = Counter()
    keep = []
    for i, task in enumerate(tasks):
        seen[task] += 1
        if seen[task] <= limit:
            keep.append(i)
    return keep


if __name__ == "__main__":
    sys.exit(main())
