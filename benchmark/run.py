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
save the results. Before step 1 the run logs an estimate of its peak memory per process.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from dataclasses import dataclass, field

from aramega_ssum.audio import AudioError
from aramega_ssum.cli import cli_main, setup_logging
from aramega_ssum.results import adapter_sha256
from aramega_ssum.scheduling import strategy_names
from benchmark.config import ConfigError, load_config, save_config, schedule_sha256
from benchmark.preflight import interrupted, prepare_run
from benchmark.train import Dist, init_distributed

log = logging.getLogger("benchmark.run")
CACHE = Path(os.environ.get("ARAMEGA_SSUM_CACHE", ".cache"))


@dataclass
class RunState:
    """What the phases share: the resolved config, this process's place, the run folder, the pieces."""

    config: dict
    d: Dist
    run_dir: Path
    data_dir: Path | None = None
    model: object = None
    processor: object = None
    lora: dict = field(default_factory=dict)
    train_rows: object = None
    val_rows: list = field(default_factory=list)
    plan: object = None
    extra: list = field(default_factory=list)  # base-model parameters trained besides LoRA
    trainer: object = None  # the Trainer (its .step is the step reached, e.g. on Ctrl-C)


def shared_run_id(d: Dist, strategy: str, model: str, seed: int) -> str:
    """`<UTC time>-<strategy>-<model>-s<seed>`, rank 0's value on every rank."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return d.all_gather_object(f"{stamp}-{strategy}-{Path(str(model)).name}-s{seed}")[0]


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


def resolve_run_dir(config: dict, d: Dist, resume: bool) -> Path:
    """The run folder (see `find_run_dir`); a new one is runs/<run-id>/ (the same id on every rank)."""
    found = find_run_dir(config, resume)
    if found is not None:
        return found
    return Path("runs") / shared_run_id(d, config["strategy"], config["model"]["name"], config["train"]["seed"])


def main_first(d: Dist, fn):
    """fn() on rank 0 first (it may build caches: dataset, tiny model, embeddings), then on the others."""
    out = fn() if d.is_main else None
    d.barrier()
    return out if d.is_main else fn()


def schedule_inputs(rows) -> "ScheduleInput":
    """ScheduleInput of a split (read without decoding audio)."""
    from aramega_ssum.scheduling import ScheduleInput

    cols = rows.select_columns(["id", "task", "label"]).to_dict()
    return ScheduleInput(cols["id"], cols["task"], cols["label"])


def token_lengths(rows) -> list[float]:
    """Estimated prompt tokens of every row of a split (audio at 25 tokens/s), without decoding audio."""
    from benchmark.prompting import estimate_length

    cols = rows.select_columns(["duration", "text", "instruction", "target"]).to_list()
    return [estimate_length({**r, "audio": True if r["duration"] is not None else None}) for r in cols]


def make_schedule(state: RunState, inputs) -> object:
    """The strategy's plan; ADS/hybrid get aligner embeddings (computed once, cached on disk)."""
    from aramega_ssum.dataset import fingerprint
    from aramega_ssum.scheduling import get_strategy, make_plan
    from aramega_ssum.scheduling.embeddings import aligner_embeddings, embedding_cache_key

    cfg, tc = state.config, state.config["train"]
    if get_strategy(cfg["strategy"]).needs_embeddings:
        key = embedding_cache_key(state.model, fingerprint(state.data_dir, cfg["data"]["config"]))
        inputs.embeddings = main_first(state.d, lambda: aligner_embeddings(
            state.model, state.processor, state.train_rows, batch_size=cfg["eval"]["batch_size"],
            cache_dir=CACHE / "embeddings", cache_key=key))
    return make_plan(cfg["strategy"], inputs, batch_size=tc["batch_size"], steps=tc["max_steps"],
                     seed=tc["seed"], config=cfg["schedule"])


def unfreeze(model, patterns: list[str]) -> list[str]:
    """Also train the base-model parameters whose names fully match one of `patterns`; returns them."""
    import re

    if not patterns:
        return []
    base = model.get_base_model()
    names = [n for n, p in base.named_parameters() if any(re.fullmatch(pat, n) for pat in patterns)]
    unused = [pat for pat in patterns if not any(re.fullmatch(pat, n) for n in names)]
    if unused:
        raise ValueError(f"model.extra_trainable: {unused} match no parameter of {type(base).__name__}")
    params = dict(base.named_parameters())
    for name in names:
        params[name].requires_grad = True
    log.info("also training %d base parameter tensor(s): %s", len(names), ", ".join(names))
    return names


def setup(config: dict, d: Dist, *, resume: bool) -> RunState:
    """Phase 1: run folder, dataset (built if missing), model + LoRA, splits, the schedule plan."""
    import torch

    from aramega_ssum.dataset import load_split
    from benchmark.evaluate import load_rows, select_rows
    from benchmark.model import apply_lora, load_model
    from builders.build import ensure_dataset

    from aramega_ssum.outputs import make_dirs
    from benchmark.preflight import DEFAULT_DATA

    mc, lc, tc, dc = config["model"], config["lora"], config["train"], config["data"]
    state = RunState(config, d, resolve_run_dir(config, d, resume))
    if d.device.type == "cpu" and tc["cpu_threads"]:
        torch.set_num_threads(tc["cpu_threads"])
    if d.is_main:
        make_dirs(state.run_dir)
    if Path(dc["path"]).exists() or str(dc["path"]) != DEFAULT_DATA:  # only the default is built (preflight)
        state.data_dir = Path(dc["path"])
    else:
        state.data_dir = Path(main_first(d, lambda: ensure_dataset(dc["path"], seed=0)))
    state.model, state.processor = main_first(d, lambda: load_model(
        mc["name"], dtype=mc["dtype"], device=d.device, seed=0, gradient_checkpointing=mc["gradient_checkpointing"],
        attn_implementation=mc["attn_implementation"]))
    state.train_rows = load_split(state.data_dir, "train", dc["config"])
    state.plan = make_schedule(state, schedule_inputs(state.train_rows))  # embeddings from the frozen base model
    torch.manual_seed(tc["seed"])  # the same LoRA init on every rank
    state.model, state.lora = apply_lora(state.model, lc["r"], lc["alpha"], lc["dropout"], target_regex=lc["target_regex"],
                                         train_aligner=mc["train_aligner"], train_audio_encoder=mc["train_audio_encoder"])
    state.extra = unfreeze(state.model, mc["extra_trainable"])
    log.info("LoRA on %d modules (%s), %d trainable parameters", len(state.lora["adapted_modules"]),
             ", ".join(state.lora["adapted_modules"][:4]) + ("..." if len(state.lora["adapted_modules"]) > 4 else ""),
             state.lora["trainable_params"])
    limit = tc["val_max_per_task"] or None
    state.val_rows = select_rows(load_rows(state.data_dir, "validation", dc["config"]), limit=limit) if tc["val_every"] else []
    d.barrier()
    return state


def memory_preview(state: RunState) -> str:
    """The estimated peak memory of this process (before step 1), as printed by the run."""
    from benchmark.memory import describe, estimate_training, largest_micro_batch

    tc, d = state.config["train"], state.d
    targets = [len(t or "") / 3.0 + 2 for t in state.train_rows.select_columns(["target"])["target"]]
    tokens, target_tokens = largest_micro_batch(
        [state.plan.rank_batch(s, d.rank, d.world_size) for s in range(tc["max_steps"])], token_lengths(state.train_rows),
        targets, tc["micro_batch_size"], tc["max_tokens_per_micro_batch"])
    estimate = estimate_training(state.model, tokens=tokens, target_tokens=target_tokens,
                                 checkpointing=state.config["model"]["gradient_checkpointing"])
    line = (f"estimated peak memory per process: {describe(estimate)}; largest planned micro-batch "
            f"{tokens} padded tokens ({target_tokens} target), gradient checkpointing "
            f"{'on' if state.config['model']['gradient_checkpointing'] else 'off'}")
    return line


def train(state: RunState, *, resume: bool) -> dict:
    """Phase 2: the scheduled training loop (benchmark.train.Trainer)."""
    import random

    import numpy as np
    import torch

    from benchmark.prompting import build_training_batch
    from benchmark.train import Trainer

    cfg, dc = state.config, state.config["data"]
    seed = cfg["train"]["seed"] * 1000 + state.d.rank  # dropout streams differ per rank, reproducibly
    random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)

    def collate(rows):
        return build_training_batch(rows, state.processor, max_audio_seconds=dc["max_audio_seconds"],
                                    over_limit=dc["over_limit"])

    meta = {"strategy": cfg["strategy"], "seed": cfg["train"]["seed"], "schedule_sha256": schedule_sha256(cfg),
            "max_steps": cfg["train"]["max_steps"], "batch_size": cfg["train"]["batch_size"], "model": cfg["model"]["name"]}
    trainer = Trainer(state.model, collate, state.train_rows, state.plan, cfg, run_dir=state.run_dir, d=state.d,
                      val_rows=state.val_rows, meta=meta)
    state.trainer = trainer
    if state.d.is_main:
        print(memory_preview(state), file=sys.stderr, flush=True)
    summary = trainer.fit(resume=resume)
    summary["audio"] = dict(trainer.audio_counts)
    return summary


def evaluate(state: RunState) -> dict | None:
    """Phase 4: greedy generation on the test split, each rank its share; rank 0 writes predictions + scores."""
    from benchmark.evaluate import evaluate as evaluate_rows
    from benchmark.evaluate import load_rows, select_rows

    ec, dc = state.config["eval"], state.config["data"]
    rows = select_rows(load_rows(state.data_dir, ec["split"], dc["config"]), limit=ec["max_per_task"] or None)
    state.model.eval()
    return evaluate_rows(state.model, state.processor, rows, state.run_dir, batch_size=ec["batch_size"],
                         max_new_tokens=ec["max_new_tokens"], max_audio_seconds=dc["max_audio_seconds"],
                         over_limit=dc["over_limit"], bootstrap=ec["bootstrap"], seed=state.config["train"]["seed"],
                         bertscore_model=ec["bertscore_model"], bertscore_layer=ec["bertscore_layer"], d=state.d)


def save_adapter(state: RunState) -> Path | None:
    """Phase 3 (rank 0, as soon as training ends): the PEFT adapter (+ extra trained weights) into <run>/adapter/."""
    from safetensors.torch import save_file

    from aramega_ssum.results import EXTRA_WEIGHTS

    adapter_dir = state.run_dir / "adapter"
    if getattr(state, "d", None) is not None and not state.d.is_main:
        return adapter_dir
    state.model.save_pretrained(adapter_dir)
    extra = {n: p.detach().cpu().contiguous() for n, p in state.model.named_parameters()
             if p.requires_grad and "lora_" not in n}
    if extra:  # unfrozen aligner/encoder or model.extra_trainable: not part of the PEFT adapter
        save_file(extra, str(adapter_dir / EXTRA_WEIGHTS))
    log.info("adapter written to %s", adapter_dir)
    return adapter_dir


def model_entry(state: RunState, adapter_dir: Path) -> dict:
    """`model` of results.json: id, revision, base model, dtype, adapter settings and sha256."""
    name, lora = state.config["model"]["name"], state.lora
    base = state.model.get_base_model()
    revision = base.source.revision  # hub snapshot sha, sha256:<content hash> of a folder, tiny-<key>
    targets = sorted({m.rsplit(".", 1)[-1] for m in lora["adapted_modules"]})
    targets += [n.removesuffix(".weight") for n in state.extra]
    trainable = sum(p.numel() for p in state.model.parameters() if p.requires_grad)
    return {"id": f"{Path(name).name if name != 'tiny' else 'tiny'}+lora-{state.config['strategy']}",
            "revision": revision, "base_model": name, "dtype": str(base.dtype).removeprefix("torch."),
            "adapter": {"r": lora["r"], "alpha": lora["alpha"], "dropout": lora["dropout"], "targets": targets,
                        "sha256": adapter_sha256(adapter_dir), "trainable_params": trainable}}


def peak_mem_gb() -> float:
    import resource

    import torch

    if torch.cuda.is_available():
        return round(torch.cuda.max_memory_allocated() / 1e9, 3)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 3)  # KiB on Linux


def save(state: RunState, train_summary: dict, eval_summary: dict | None, adapter_dir: Path) -> dict | None:
    """Phase 5 (rank 0): results.json (leaderboard format, with the generation settings), loss plots."""
    from aramega_ssum.dataset import fingerprint
    from aramega_ssum.results import build_results, write_results
    from benchmark.plots import plot_run

    if not state.d.is_main:
        return None
    cfg, ec, dc = state.config, state.config["eval"], state.config["data"]
    audio, gen = eval_summary["audio"], eval_summary["generation"]
    results = build_results(
        eval_summary["scores"], model=model_entry(state, adapter_dir),
        data={"dataset": str(dc["path"]), "config": dc["config"], "fingerprint": fingerprint(state.data_dir, dc["config"]),
              "split": ec["split"], "n": eval_summary["n"]},
        predictions_path=eval_summary["predictions_path"], results_dir=state.run_dir,
        scoring={"bootstrap": ec["bootstrap"], "seed": cfg["train"]["seed"], "bertscore_model": ec["bertscore_model"],
                 "bertscore_layer": ec["bertscore_layer"]},
        training={"strategy": cfg["strategy"], "schedule_config_sha256": schedule_sha256(cfg),
                  "seed": cfg["train"]["seed"], "steps": train_summary["steps"], "effective_batch": cfg["train"]["batch_size"]},
        efficiency={"train_wall_s": train_summary["train_wall_s"], "eval_wall_s": eval_summary["eval_wall_s"],
                    "rtfx": eval_summary["rtfx"], "peak_mem_gb": peak_mem_gb()},
        audio={"truncated": audio["truncated"], "skipped": audio["skipped"], "max_audio_seconds": audio["max_audio_seconds"]},
        generation={k: gen[k] for k in ("max_new_tokens", "batch_size", "greedy", "eos", "pad")})
    write_results(results, state.run_dir / "results.json")
    if cfg["output"]["plots"]:
        plot_run(state.run_dir)
    return results


def loss_trend(run_dir: Path, window: int = 5) -> tuple[float, float] | None:
    """Mean training loss of the first and of the last `window` steps."""
    from benchmark.plots import read_log

    losses = [r["loss"] for r in read_log(run_dir / "train_log.jsonl")[0] if r.get("loss") is not None]
    if not losses:
        return None
    return sum(losses[:window]) / len(losses[:window]), sum(losses[-window:]) / len(losses[-window:])


def report(state: RunState, results: dict, train_summary: dict) -> str:
    """The results table and the run's key facts, as printed at the end."""
    from benchmark.score import format_table

    scores = {"normalizer": results["normalizer"]["version"], "tasks": {
        t: {**m, **({"per_dialect": results["breakdown"][t]["per_dialect_wer"]}
                    if "per_dialect_wer" in results["breakdown"].get(t, {}) else {})}
        for t, m in results["metrics"].items()}}
    trend = loss_trend(state.run_dir)
    eff, audio = results["efficiency"], results["audio"]
    lines = [f"\n== {results['model']['id']}  ({state.config['strategy']}, seed {state.config['train']['seed']}, "
             f"{train_summary['steps']} steps x batch {state.config['train']['batch_size']})", format_table(scores), ""]
    if trend:
        lines.append(f"training loss: {trend[0]:.3f} (first 5 steps) -> {trend[1]:.3f} (last 5 steps)")
    lines.append(f"train {eff['train_wall_s']:.1f} s, eval {eff['eval_wall_s']:.1f} s (RTFx {eff['rtfx']}); "
                 f"long audio (max {audio['max_audio_seconds']} s): evaluation truncated {audio['truncated']}, "
                 f"skipped {audio['skipped']}; training truncated {train_summary['audio']['truncated']}, "
                 f"skipped {train_summary['audio']['skipped']}")
    lines.append(f"run folder: {state.run_dir}")
    return "\n".join(lines)


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
    parser.add_argument("--data", help="dataset folder (data.path); only the default aramega-ssum is built if missing")
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
    d = init_distributed(args.device)
    state = setup(config, d, resume=args.resume)
    if d.is_main:
        save_config(config, state.run_dir / "config.yaml")
    try:
        train_summary = train(state, resume=args.resume)
    except KeyboardInterrupt:
        raise interrupted(state) from None
    adapter_dir = save_adapter(state)  # before evaluation: an evaluation crash keeps the trained weights
    eval_summary = evaluate(state)
    results = save(state, train_summary, eval_summary, adapter_dir)
    if d.is_main:
        print(report(state, results, train_summary))
        if replaced:
            shutil.rmtree(replaced, ignore_errors=True)
    return state.run_dir


def run_all(args: argparse.Namespace) -> Path:
    """Every registered strategy with the same seed into <dir>/<strategy>/, then compared into <dir>/compare/."""
    from benchmark.compare import run_compare

    d = init_distributed(args.device)
    root = args.output_dir or Path("runs") / shared_run_id(d, "all", args.model or "tiny", args.seed or 0)
    runs = [run_one(s, args, output_dir=root / s) for s in strategy_names()]
    if d.is_main:
        print(run_compare(runs, root / "compare", overwrite=True))  # only an earlier compare is replaced
    return root


@cli_main(ConfigError, AudioError)
def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from benchmark.train import close_distributed

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
