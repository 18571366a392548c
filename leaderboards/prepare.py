"""Prepare a leaderboard entry: results file + predictions under leaderboards/results/, then validate.

Examples::

    # a run of the benchmark harness (its results.json and predictions.jsonl)
    python -m leaderboards.prepare --name tiny-hybrid-smoke --run runs/hybrid-seed0

    # any system: your own predictions JSONL, scored here
    python -m leaderboards.prepare --name my-system --predictions preds.jsonl \\
        --model-id my-org/my-model --revision 3f2a9c1 --base-model Qwen/Qwen2.5-Omni-7B \\
        --dtype bfloat16 --data aramega-ssum --adapter out/adapter \\
        --strategy hybrid --schedule-config runs/x/config.yaml --train-seed 0 --steps 4000 \\
        --effective-batch 8 --hardware "1x NVIDIA H100 80GB"

Writes `<results-dir>/<name>.json` and `<results-dir>/<name>/predictions.jsonl` (refuses to
overwrite without --force), then runs the validator on them and exits 0 when valid, 1 when not.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path

from aramega_ssum.results import build_results, sha256_file, write_results
from leaderboards.validate import DEFAULT_RESULTS_DIR, validate_file

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def adapter_info(folder: Path) -> dict:
    """LoRA settings from a saved PEFT adapter folder (adapter_config.json + safetensors)."""
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    targets = config["target_modules"]
    weights = folder / "adapter_model.safetensors"
    if not weights.is_file():
        raise SystemExit(f"{weights}: missing (adapters are accepted as safetensors only)")
    return {"r": config["r"], "alpha": config["lora_alpha"], "dropout": config.get("lora_dropout", 0.0),
            "targets": [targets] if isinstance(targets, str) else sorted(targets),
            "sha256": sha256_file(weights)}


def _training(args: argparse.Namespace) -> dict | None:
    given = [args.strategy, args.schedule_config, args.steps, args.effective_batch]
    if all(v is None for v in given):
        return None
    if any(v is None for v in given):
        raise SystemExit("--strategy, --schedule-config, --steps and --effective-batch go together "
                         "(leave all out for a zero-shot entry)")
    return {"strategy": args.strategy, "schedule_config_sha256": _schedule_sha256(args.schedule_config),
            "seed": args.train_seed, "steps": args.steps, "effective_batch": args.effective_batch}


def _schedule_sha256(path: Path) -> str:
    """The harness's hash of a config's `schedule:` block (a run's config.yaml); the file's sha256
    when it holds no such block."""
    import yaml

    from benchmark.config import schedule_sha256

    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(config, dict) and isinstance(config.get("schedule"), dict):
        return schedule_sha256(config)
    return sha256_file(path)


def check_args(args: argparse.Namespace) -> dict | None:
    """Refuse incomplete arguments before anything is written; returns the training block."""
    if not NAME.match(args.name):
        raise SystemExit(f"--name {args.name!r}: use letters, digits, '.', '_' and '-' (max 100)")
    if args.run:
        return None
    if args.model_id is None or args.revision is None:
        raise SystemExit("--model-id and --revision are required with --predictions")
    if args.fingerprint is None and args.data is None:
        raise SystemExit("give --data DIR (the dataset folder, fingerprinted here) or --fingerprint SHA256")
    return _training(args)


def results_from_predictions(args: argparse.Namespace, predictions: Path, results_dir: Path,
                             training: dict | None) -> dict:
    """Score the (already copied) predictions and assemble the results dict."""
    from aramega_ssum.metrics import score_predictions
    from aramega_ssum.predictions import read_predictions

    if args.fingerprint is None:
        from aramega_ssum.dataset import fingerprint

        args.fingerprint = fingerprint(args.data, args.config)
    scoring = {"bootstrap": args.bootstrap, "seed": args.seed, "bertscore_model": args.bertscore_model}
    if args.bertscore_layer is not None:
        scoring["bertscore_layer"] = args.bertscore_layer
    scores = score_predictions(read_predictions(predictions), **scoring)
    model = {"id": args.model_id, "revision": args.revision, "base_model": args.base_model,
             "dtype": args.dtype, "adapter": adapter_info(args.adapter) if args.adapter else None}
    data = {"dataset": args.dataset or (Path(args.data).name if args.data else "aramega-ssum"),
            "config": args.config, "fingerprint": args.fingerprint, "split": "test"}
    efficiency = {"eval_wall_s": args.eval_wall_s, "train_wall_s": args.train_wall_s}
    if args.hardware:
        efficiency["hardware"] = args.hardware
    return build_results(scores, model=model, data=data, predictions_path=predictions,
                         results_dir=results_dir, scoring=scoring, training=training,
                         efficiency=efficiency)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leaderboards.prepare", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True, help="entry name: file stem under the results folder")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", type=Path, help="a harness run folder holding results.json")
    src.add_argument("--predictions", type=Path, help="a predictions JSONL to score")
    p.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR, help="default: %(default)s")
    p.add_argument("--force", action="store_true", help="overwrite an existing entry of that name")
    for flag in ("--model-id", "--revision", "--base-model", "--dataset", "--fingerprint", "--hardware",
                 "--strategy", "--bertscore-model"):
        p.add_argument(flag)
    p.add_argument("--dtype", default="bfloat16", help="default: %(default)s")
    p.add_argument("--data", type=Path, help="dataset folder (for its fingerprint)")
    p.add_argument("--config", default="multitask", choices=["ssum", "multitask"])
    p.add_argument("--adapter", type=Path, help="PEFT adapter folder")
    p.add_argument("--schedule-config", type=Path, help="the run's resolved config.yaml (its schedule: block is hashed)")
    for flag in ("--steps", "--effective-batch", "--bertscore-layer"):
        p.add_argument(flag, type=int)
    p.add_argument("--train-seed", type=int, default=0)
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--eval-wall-s", type=float)
    p.add_argument("--train-wall-s", type=float)
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI: copy predictions, write the results file, validate it."""
    args = _parser().parse_args(argv)
    training = check_args(args)
    results_dir = args.results_dir
    target, folder = results_dir / f"{args.name}.json", results_dir / args.name
    if (target.exists() or folder.exists()) and not args.force:
        raise SystemExit(f"{target} or {folder} exists; pass --force to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    predictions = folder / "predictions.jsonl"
    if args.run:
        results = json.loads((args.run / "results.json").read_text(encoding="utf-8"))
        shutil.copyfile(args.run / results["predictions"]["path"], predictions)
        results["predictions"]["path"] = f"{args.name}/predictions.jsonl"
    else:
        shutil.copyfile(args.predictions, predictions)
        results = results_from_predictions(args, predictions, results_dir, training)
    write_results(results, target)
    report = validate_file(target, results_dir=results_dir)
    print(f"wrote {target} and {predictions}")
    if report.ok:
        print("valid: every metric recomputed from the predictions; open a pull request adding both")
        return 0
    for problem in report.problems:
        print(f"  - {problem}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
