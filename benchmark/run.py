"""Fine-tune Qwen2.5-Omni (LoRA) under a data-scheduling strategy, evaluate every task, write the run.

Examples:
    python -m benchmark.run --strategy hybrid                  # embedded default: tiny model, CPU
    python -m benchmark.run --strategy tpc --max-steps 40 train.lr=2e-4 eval.max_per_task=10
    python -m benchmark.run --strategy all --seed 1            # the four strategies, then compared
    python -m benchmark.run --strategy ads --output-dir runs/ads --resume
    torchrun --nproc_per_node=4 -m benchmark.run --strategy hybrid --model Qwen/Qwen2.5-Omni-7B \\
        --data /data/aramega-ssum --max-steps 2000

Settings come in layers (benchmark/config.py): benchmark/configs/base.yaml, tiny.yaml (model "tiny"
only), <strategy>.yaml, --config FILE, then `key=value` and the flags (unknown keys and wrong types
are errors); the run's config.yaml names the layer of each value. The run folder (default runs/<run-id>/) receives config.yaml,
train_log.jsonl, checkpoints/, adapter/, predictions.jsonl, scores.json, results.json and the loss
plots. The recipe's phases: setup -> train -> save the adapter -> evaluate (every rank its share) ->
save the results (`benchmark.phases`). Before step 1 the run logs an estimate of its peak memory per
process. The dataset must exist: a missing one is an error naming `python -m builders.build`.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from accelerate.utils import gather_object

from aramega_ssum.audio import AudioError
from aramega_ssum.cli import cli_main, setup_logging
from aramega_ssum.scheduling import strategy_names
from benchmark.config import ConfigError, save_config
from benchmark.phases import evaluate, report, save, save_adapter, setup, train
from benchmark.preflight import interrupted, prepare_run
from benchmark.train import close_distributed, init_distributed

log = logging.getLogger("benchmark.run")


def shared_run_id(strategy: str, model: str, seed: int) -> str:
    """`<UTC time>-<strategy>-<model>-s<seed>`, rank 0's value on every rank."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return gather_object([f"{stamp}-{strategy}-{Path(str(model)).name}-s{seed}"])[0]


def find_run_dir(config: dict, resume: bool) -> Path | None:
    """output.dir, else (--resume) the newest runs/*-<strategy>-* with a checkpoint, else None (a new id)."""
    from benchmark.checkpoint import latest_checkpoint

    if config["output"]["dir"]:
        return Path(config["output"]["dir"])
    if resume:
        found = sorted(p for p in Path("runs").glob(f"*-{config['strategy']}-*") if latest_checkpoint(p))
        if not found:
            raise FileNotFoundError(f"--resume: no runs/*-{config['strategy']}-* folder with a checkpoint; "
                                    "give --output-dir")
        return found[-1]
    return None


def resolve_run_dir(config: dict, resume: bool) -> Path:
    """The run folder (see `find_run_dir`); a new one is runs/<run-id>/ (the same id on every rank)."""
    found = find_run_dir(config, resume)
    if found is not None:
        return found
    return Path("runs") / shared_run_id(config["strategy"], config["model"]["name"], config["train"]["seed"])


def parse_args(argv=None) -> argparse.Namespace:
    from aramega_ssum.cli import add_common, make_parser

    parser = make_parser("python -m benchmark.run", __doc__)
    parser.add_argument("--strategy", required=True, choices=[*strategy_names(), "all"],
                        help="a strategy of aramega_ssum/scheduling/strategies/, or all of them")
    parser.add_argument("--config", type=Path,
                        help="a YAML layer over benchmark/configs/<strategy>.yaml (the command line still wins)")
    parser.add_argument("--max-steps", type=int, help="optimizer steps (train.max_steps)")
    parser.add_argument("--output-dir", type=Path, help="run folder (default runs/<run-id>/)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier run in --output-dir")
    parser.add_argument("--seed", type=int, help="training seed (train.seed)")
    parser.add_argument("--model", help='"tiny", a hub id or a local path (model.name)')
    parser.add_argument("--data", help="dataset folder (data.path; build it with python -m builders.build)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the run folder's last checkpoint (with its saved config; only "
                             "eval.batch_size, eval.bertscore_*, output.*, train.cpu_threads, "
                             "train.checkpoint_every, train.keep_checkpoints, model.attn_implementation may change)")
    parser.add_argument("--train-aligner", action="store_true", help="unfreeze thinker.audio_tower.proj")
    parser.add_argument("--train-audio-encoder", action="store_true", help="unfreeze thinker.audio_tower")
    parser.add_argument("--max-audio-seconds", type=float, help="bound on audio length (data.max_audio_seconds)")
    parser.add_argument("--limit", type=int, help="at most N test examples per task (eval.max_per_task)")
    parser.add_argument("--device", help="cpu | cuda | cuda:N (default: cuda:LOCAL_RANK when available)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.lr=2e-4")
    add_common(parser)
    args = parser.parse_intermixed_args(argv)  # key=value overrides may come before or after flags
    if args.config and args.strategy == "all":
        parser.error("--config needs a single --strategy")
    if args.resume and args.strategy == "all" and not args.output_dir:
        parser.error("--resume with --strategy all needs the --output-dir of that comparison")
    if args.resume and args.overwrite:
        parser.error("--resume and --overwrite exclude each other")
    for flag, value, low in (("--max-steps", args.max_steps, 1), ("--limit", args.limit, 0)):
        if value is not None and value < low:
            parser.error(f"{flag} must be >= {low}, got {value}")
    if args.max_audio_seconds is not None and args.max_audio_seconds <= 0:
        parser.error(f"--max-audio-seconds must be > 0, got {args.max_audio_seconds:g}")
    return args


def cli_overrides(args: argparse.Namespace) -> list[str]:
    """The flags as `key=value` overrides (after the free `key=value` ones, so the flags win)."""
    pairs = [("train.max_steps", args.max_steps), ("train.seed", args.seed), ("model.name", args.model),
             ("data.path", args.data), ("data.max_audio_seconds", args.max_audio_seconds),
             ("eval.max_per_task", args.limit)]
    out = list(args.overrides) + [f"{k}={v}" for k, v in pairs if v is not None]
    out += ["model.train_aligner=true"] if args.train_aligner else []
    out += ["model.train_audio_encoder=true"] if args.train_audio_encoder else []
    if args.output_dir is not None:
        out.append(f"output.dir={args.output_dir}")
    return out


def run_one(strategy: str, args: argparse.Namespace, *, output_dir: Path | None = None) -> Path:
    """The recipe: preflight -> setup -> train -> evaluate -> save; returns the run folder."""
    import shutil

    overrides = cli_overrides(args) + ([f"output.dir={output_dir}"] if output_dir else [])
    config = prepare_run(strategy, args, overrides, find_run_dir)
    replaced = config.pop("_replaced", None)
    process = init_distributed(args.device)
    state = setup(config, process, resolve_run_dir(config, args.resume))
    if process.is_main_process:
        save_config(config, state.run_dir / "config.yaml")
    try:
        train_summary = train(state, resume=args.resume)
    except KeyboardInterrupt:
        raise interrupted(state) from None
    adapter_dir = save_adapter(state)  # before evaluation: an evaluation crash keeps the trained weights
    eval_summary = evaluate(state)
    results = save(state, train_summary, eval_summary, adapter_dir)
    if process.is_main_process:
        print(report(state, results, train_summary))
        if replaced:
            shutil.rmtree(replaced, ignore_errors=True)
    return state.run_dir


def run_all(args: argparse.Namespace) -> Path:
    """Every registered strategy with the same seed into <dir>/<strategy>/, then compared into <dir>/compare/."""
    from benchmark.compare import run_compare

    process = init_distributed(args.device)
    root = args.output_dir or Path("runs") / shared_run_id("all", args.model or "tiny", args.seed or 0)
    runs = [run_one(s, args, output_dir=root / s) for s in strategy_names()]
    if process.is_main_process:
        print(run_compare(runs, root / "compare", overwrite=True))  # only an earlier compare is replaced
    return root


@cli_main(ConfigError, AudioError)
def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    start = time.perf_counter()
    try:
        if args.strategy == "all":
            run_all(args)
        else:
            run_one(args.strategy, args)
    finally:
        close_distributed()
    log.info("done in %.1f s", time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
