"""Inspect a data schedule: write one JSON line per global batch and print a summary.

Examples:
  python -m benchmark.schedule --strategy hybrid --steps 200 --batch-size 8 --out plan.jsonl
  python -m benchmark.schedule --strategy ads --steps 100 --batch-size 16 --world-size 4 \\
      --set clusters=4 --out ads.jsonl
  python -m benchmark.schedule --strategy tpc --data aramega-ssum --config my_tpc.yaml \\
      --steps 300 --batch-size 8 --out tpc.jsonl
  python -m benchmark.schedule --strategy ads --embeddings emb.npy --steps 50 --batch-size 10 --out a.jsonl

The summary shows task shares per stage, label balance per classification task, and batch
diversity (mean pairwise aligner-embedding distance inside a batch) against uniform batches.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

from aramega_ssum.scheduling import ScheduleInput, get_strategy, load_schedule_config, make_plan, strategy_names
from aramega_ssum.scheduling.diversity import format_summary, summarize

logger = logging.getLogger(__name__)
CONFIG_DIR = Path(__file__).parent / "configs"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmark.schedule", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", required=True, help=f"one of {', '.join(strategy_names())}")
    parser.add_argument("--data", help="built dataset folder (default: the embedded corpus, built if missing)")
    parser.add_argument("--config", help="YAML with a `schedule:` block (default benchmark/configs/<strategy>.yaml if present)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a schedule option, e.g. --set switch=0.3 --set ads.clusters=4")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True, help="global batch size")
    parser.add_argument("--world-size", type=int, default=1, help="also write each rank's part")
    parser.add_argument("--split", default="train")
    parser.add_argument("--model", default="tiny", help="aligner for embeddings: tiny | hub id | local path")
    parser.add_argument("--embeddings", help=".npy [N, D] embeddings of the split's rows (skips the model)")
    parser.add_argument("--no-embeddings", action="store_true",
                        help="do not compute embeddings (uniform/tpc only; no diversity in the summary)")
    parser.add_argument("--cache-dir", default=".cache/embeddings")
    parser.add_argument("--embed-batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="plan JSONL to write")
    parser.add_argument("--summary-json", help="also write the summary as JSON here")
    return parser.parse_args(argv)


def overrides(items: list[str]) -> dict:
    """`KEY=VALUE` strings -> {key: YAML-parsed value}."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE")
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
            raise SystemExit(f"{args.embeddings}: shape {emb.shape}, expected ({len(rows)}, D) for the {args.split} split")
        return emb
    if args.no_embeddings:
        if get_strategy(args.strategy).needs_embeddings:
            raise SystemExit(f"--no-embeddings: strategy {args.strategy!r} needs embeddings")
        return None
    from aramega_ssum.dataset import fingerprint
    from aramega_ssum.scheduling.embeddings import aligner_embeddings, embedding_cache_key
    from benchmark.model import load_model

    model, processor = load_model(args.model)
    key = embedding_cache_key(model, fingerprint(data_dir, "multitask") + f":{args.split}")
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


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from aramega_ssum.dataset import load_split
    from builders.build import ensure_dataset

    get_strategy(args.strategy)  # unknown names and bad sizes fail before any work
    if args.world_size < 1 or args.batch_size % args.world_size:
        raise SystemExit(f"--batch-size {args.batch_size} is not divisible by --world-size {args.world_size}")
    data_dir = Path(args.data) if args.data else ensure_dataset()
    config = load_schedule_config(args.config or default_config(args.strategy), overrides(args.set))
    rows = load_split(data_dir, args.split, "multitask")
    inputs = ScheduleInput.from_rows(rows, embeddings_for(args, rows, data_dir))
    plan = make_plan(args.strategy, inputs, batch_size=args.batch_size, steps=args.steps, seed=args.seed,
                     config=config)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for step in range(plan.steps):
            f.write(json.dumps(plan_record(plan, inputs, step, args.world_size), ensure_ascii=False) + "\n")
    summary = summarize(plan, inputs)
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {plan.steps} batches to {out} ({len(inputs)} {args.split} examples from {data_dir})")
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
