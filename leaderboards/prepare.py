"""Prepare a leaderboard entry: results file + predictions under leaderboards/results/, then validate.

Examples::

    # a run of the benchmark harness (its results.json and predictions.jsonl)
    python -m leaderboards.prepare --name tiny-hybrid-embedded --run runs/hybrid-seed0

    # any system: your own predictions JSONL, scored here
    python -m leaderboards.prepare --name my-system --predictions preds.jsonl \\
        --model-id my-org/my-model --revision 3f2a9c1 --base-model Qwen/Qwen2.5-Omni-7B \\
        --dtype bfloat16 --data aramega-ssum --adapter out/adapter \\
        --strategy hybrid --schedule-config runs/x/config.yaml --train-seed 0 --max-steps 4000 \\
        --effective-batch 8 --hardware "1x NVIDIA H100 80GB"

    # a harness run under your own name: --model-id, --revision, --base-model, --dtype, --adapter,
    # --dataset, --hardware, --eval-wall-s and --train-wall-s replace what the run recorded
    python -m leaderboards.prepare --name my-hybrid-seed1 --run runs/hybrid-seed1 \\
        --model-id my-org/omni-hybrid --revision 3f2a9c1

Writes `<results-dir>/<name>.json` and `<results-dir>/<name>/predictions.jsonl` (refuses to
replace an entry without --overwrite), then runs the validator on them (answer key in --keys-dir) and exits 0
when valid, 1 when not (then nothing is written); wrong arguments: one `error:` line, exit 2, nothing written.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

from aramega_ssum.cli import add_common, cli_main, deprecated, make_parser, setup_logging
from aramega_ssum.outputs import check_output_dir, make_dirs
from aramega_ssum.results import ADAPTER_WEIGHTS, adapter_sha256, build_results, schedule_sha256, sha256_file, write_results
from leaderboards.keys import DEFAULT_KEYS_DIR
from leaderboards.validate import DEFAULT_RESULTS_DIR, validate_file

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class PrepareError(Exception):
    """Arguments that cannot make an entry (the CLI prints `error: ...` and exits 2)."""


def adapter_info(folder: Path) -> dict:
    """LoRA settings from a saved PEFT adapter folder (adapter_config.json + safetensors)."""
    config_path, weights = folder / "adapter_config.json", folder / ADAPTER_WEIGHTS
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PrepareError(f"--adapter {folder}: cannot read {config_path.name} ({exc})") from None
    targets = config["target_modules"]
    if not weights.is_file():
        raise PrepareError(f"{weights}: missing (adapters are accepted as safetensors only)")
    return {"r": config["r"], "alpha": config["lora_alpha"], "dropout": config.get("lora_dropout", 0.0),
            "targets": [targets] if isinstance(targets, str) else sorted(targets),
            "sha256": adapter_sha256(folder)}


def _training(args: argparse.Namespace) -> dict | None:
    given = [args.strategy, args.schedule_config, args.steps, args.effective_batch]
    if all(v is None for v in given):
        return None
    if any(v is None for v in given):
        raise PrepareError("--strategy, --schedule-config, --max-steps and --effective-batch go together "
                           "(leave all out for a zero-shot entry)")
    return {"strategy": args.strategy, "schedule_config_sha256": _schedule_sha256(args.schedule_config),
            "seed": 0 if args.train_seed is None else args.train_seed, "steps": args.steps,
            "effective_batch": args.effective_batch}


def _schedule_sha256(path: Path) -> str:
    """The harness's hash of a config's `schedule:` block (a run's config.yaml); the file's sha256
    when it holds no such block."""
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PrepareError(f"--schedule-config {path}: cannot read it ({exc})") from None
    if isinstance(config, dict) and isinstance(config.get("schedule"), dict):
        return schedule_sha256(config)
    return sha256_file(path)


# Flags a harness run's results.json already answers: refused with --run instead of ignored.
NOT_WITH_RUN = ("fingerprint", "data", "strategy", "schedule_config", "steps", "effective_batch", "train_seed",
                "bootstrap", "seed", "bertscore_model", "bertscore_layer", "config")


FLAGS = {"steps": "--max-steps", "config": "--dataset-config", "seed": "--bootstrap-seed"}  # dest -> option


def check_args(args: argparse.Namespace) -> dict | None:
    """Refuse incomplete or inapplicable arguments before anything is written; returns the training block."""
    if not NAME.match(args.name):
        raise PrepareError(f"--name {args.name!r}: use letters, digits, '.', '_' and '-' (max 100)")
    if args.run:
        given = [FLAGS.get(name, f"--{name.replace('_', '-')}") for name in NOT_WITH_RUN if getattr(args, name) is not None]
        if given:
            raise PrepareError(f"{', '.join(given)}: not used with --run (the run's results.json records "
                               "its data, training and scoring); leave them out")
        if not (args.run / "results.json").is_file():
            raise PrepareError(f"--run {args.run}: no results.json there")
        return None
    if args.model_id is None or args.revision is None:
        raise PrepareError("--model-id and --revision are required with --predictions")
    if args.fingerprint is None and args.data is None:
        raise PrepareError("give --data DIR (the dataset folder, fingerprinted here) or --fingerprint SHA256")
    return _training(args)


def apply_run_overrides(results: dict, args: argparse.Namespace) -> dict:
    """The model/efficiency flags given with --run replace what the run recorded."""
    model = results["model"]
    for flag, key in (("model_id", "id"), ("revision", "revision"), ("base_model", "base_model"),
                      ("dtype", "dtype")):
        if getattr(args, flag) is not None:
            model[key] = getattr(args, flag)
    if args.adapter is not None:
        model["adapter"] = adapter_info(args.adapter)
    if args.dataset is not None:
        results["data"]["dataset"] = args.dataset
    for flag in ("hardware", "eval_wall_s", "train_wall_s"):
        if getattr(args, flag) is not None:
            results["efficiency"][flag] = getattr(args, flag)
    return results


def results_from_predictions(args: argparse.Namespace, predictions: Path, results_dir: Path,
                             training: dict | None) -> dict:
    """Score the (already copied) predictions and assemble the results dict."""
    from aramega_ssum.metrics import score_predictions
    from aramega_ssum.predictions import read_predictions

    if args.fingerprint is None:
        from aramega_ssum.dataset import fingerprint

        args.fingerprint = fingerprint(args.data, args.config or "multitask")
    scoring = {"bootstrap": 1000 if args.bootstrap is None else args.bootstrap,
               "seed": 0 if args.seed is None else args.seed, "bertscore_model": args.bertscore_model}
    if args.bertscore_layer is not None:
        scoring["bertscore_layer"] = args.bertscore_layer
    scores = score_predictions(read_predictions(predictions), **scoring)
    model = {"id": args.model_id, "revision": args.revision, "base_model": args.base_model,
             "dtype": args.dtype or "bfloat16", "adapter": adapter_info(args.adapter) if args.adapter else None}
    data = {"dataset": args.dataset or (Path(args.data).name if args.data else "aramega-ssum"),
            "config": args.config or "multitask", "fingerprint": args.fingerprint, "split": "test"}
    efficiency = {"eval_wall_s": args.eval_wall_s, "train_wall_s": args.train_wall_s}
    if args.hardware:
        efficiency["hardware"] = args.hardware
    return build_results(scores, model=model, data=data, predictions_path=predictions,
                         results_dir=results_dir, scoring=scoring, training=training,
                         efficiency=efficiency)


def _parser() -> argparse.ArgumentParser:
    p = make_parser("python -m leaderboards.prepare", __doc__)
    p.add_argument("--name", required=True, help="entry name: file stem under the results folder")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", type=Path, help="a harness run folder holding results.json")
    src.add_argument("--predictions", type=Path, help="a predictions JSONL to score")
    p.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR, help="default: %(default)s")
    p.add_argument("--keys-dir", type=Path, default=DEFAULT_KEYS_DIR, help="answer keys (default: %(default)s)")
    p.add_argument("--overwrite", dest="force", action="store_true", help="replace an existing entry of that name")
    deprecated(p, "--force", "--overwrite", "force", action="store_true")
    p.add_argument("--model-id", help="model id (with --run: replaces the run's)")
    p.add_argument("--revision", help="model revision, e.g. a commit sha (with --run: replaces the run's)")
    for flag in ("--base-model", "--dataset", "--hardware"):
        p.add_argument(flag, help="with --run: replaces the run's")
    p.add_argument("--dtype", help="default bfloat16 (with --run: replaces the run's)")
    p.add_argument("--adapter", type=Path, help="PEFT adapter folder (with --run: replaces the run's)")
    p.add_argument("--eval-wall-s", type=float)
    p.add_argument("--train-wall-s", type=float)
    only = p.add_argument_group("with --predictions only (a run's results.json records these)")
    only.add_argument("--fingerprint", help="the dataset's content fingerprint, if --data is not given")
    only.add_argument("--data", type=Path, help="dataset folder (for its fingerprint)")
    only.add_argument("--dataset-config", dest="config", choices=["ssum", "multitask"],
                      help="dataset config (default multitask)")
    deprecated(only, "--config", "--dataset-config", "config", choices=["ssum", "multitask"])
    only.add_argument("--strategy")
    only.add_argument("--schedule-config", type=Path, help="the run's resolved config.yaml (its schedule: block is hashed)")
    only.add_argument("--max-steps", dest="steps", type=int, help="optimizer steps of the training run")
    deprecated(only, "--steps", "--max-steps", "steps", type=int)
    for flag in ("--effective-batch", "--bertscore-layer"):
        only.add_argument(flag, type=int)
    only.add_argument("--bertscore-model")
    only.add_argument("--train-seed", type=int, help="training seed (default 0)")
    only.add_argument("--bootstrap", type=int, help="bootstrap resamples (default 1000)")
    only.add_argument("--bootstrap-seed", dest="seed", type=int, help="bootstrap seed (default 0)")
    deprecated(only, "--seed", "--bootstrap-seed", "seed", type=int)
    add_common(p)
    return p


def _write_entry(args: argparse.Namespace, training: dict | None) -> Path:
    results_dir = args.results_dir
    target, folder = results_dir / f"{args.name}.json", results_dir / args.name
    if (target.exists() or folder.exists()) and not args.force:
        raise PrepareError(f"{target} or {folder} exists; pass --overwrite to replace it")
    if folder.exists():  # only an earlier entry (it holds predictions.jsonl) may be replaced
        check_output_dir(folder, "predictions.jsonl", tool="leaderboards.prepare", overwrite=True)
    if args.run:
        results = json.loads((args.run / "results.json").read_text(encoding="utf-8"))
        results = apply_run_overrides(results, args)
        source = args.run / results["predictions"]["path"]
    else:
        source = args.predictions
    if not source.is_file():
        raise PrepareError(f"{source}: no such predictions file")
    make_dirs(folder)
    predictions = folder / "predictions.jsonl"
    shutil.copyfile(source, predictions)
    if args.run:
        results["predictions"]["path"] = f"{args.name}/predictions.jsonl"
    else:
        results = results_from_predictions(args, predictions, results_dir, training)
    write_results(results, target)
    print(f"wrote {target} and {predictions}")
    return target


@contextlib.contextmanager
def _entry_transaction(results_dir: Path, name: str):
    """An earlier entry is moved aside; on any failure the new files go and the old ones come back."""
    paths = [results_dir / f"{name}.json", results_dir / name]
    aside = [(p, p.with_name(f".{p.name}.old-{os.getpid()}")) for p in paths if p.exists()]
    ok = False
    try:
        for path, old in aside:
            path.rename(old)
        yield
        ok = True
    finally:
        if not ok:
            for path in paths:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        for path, old in aside:
            if ok:
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
            else:
                old.rename(path)


class _Invalid(Exception):
    pass


@cli_main(PrepareError)
def main(argv: list[str] | None = None) -> int:
    """CLI: copy predictions, write the results file, validate it; a failure leaves nothing behind."""
    args = _parser().parse_args(argv)
    setup_logging(args)
    training = check_args(args)
    if (args.results_dir / f"{args.name}.json").exists() or (args.results_dir / args.name).exists():
        if not args.force:
            raise PrepareError(f"{args.results_dir / args.name}(.json) exists; pass --overwrite to replace it")
        if (args.results_dir / args.name).exists():
            check_output_dir(args.results_dir / args.name, "predictions.jsonl", tool="leaderboards.prepare",
                             overwrite=True)
    try:
        with _entry_transaction(args.results_dir, args.name):
            target = _write_entry(argparse.Namespace(**{**vars(args), "force": True}), training)
            report = validate_file(target, results_dir=args.results_dir, keys_dir=args.keys_dir, new=True)
            if not report.ok:
                raise _Invalid(report.problems)
    except _Invalid as exc:
        for problem in exc.args[0]:
            print(f"  - {problem}")
        print("invalid: nothing was written (an earlier entry of that name is kept)", file=sys.stderr)
        return 1
    print("valid: every metric recomputed from the predictions; open a pull request adding both")
    return 0


if __name__ == "__main__":
    sys.exit(main())
