"""The phases of a benchmark run (`benchmark.run`): setup -> train -> save the adapter -> evaluate -> save.

Each phase takes the `RunState` the earlier ones filled: the resolved config, this process's place
(accelerate's `PartialState`), the run folder and the pieces (model, processor, splits, plan,
trainer). Rank 0 writes the files; evaluation is shared out over the ranks.
"""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from accelerate import PartialState

from aramega_ssum.results import adapter_sha256
from benchmark.config import schedule_sha256

log = logging.getLogger("benchmark.run")
CACHE = Path(os.environ.get("ARAMEGA_SSUM_CACHE", ".cache"))


@dataclass
class RunState:
    """What the phases share: the resolved config, this process's place, the run folder, the pieces."""

    config: dict
    process: PartialState
    run_dir: Path
    data_dir: Path | None = None
    model: object = None
    processor: object = None
    lora: dict = field(default_factory=dict)
    train_rows: object = None
    val_rows: list = field(default_factory=list)
    plan: object = None
    extra_modules: list = field(default_factory=list)  # model.extra_trainable's modules (PEFT modules_to_save)
    trainer: object = None  # the Trainer (its .step is the step reached, e.g. on Ctrl-C)


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

    cfg, train_cfg = state.config, state.config["train"]
    if get_strategy(cfg["strategy"]).needs_embeddings:
        key = embedding_cache_key(state.model, fingerprint(state.data_dir, cfg["data"]["config"]))
        with state.process.main_process_first():  # rank 0 computes and caches, the others read the cache
            inputs.embeddings = aligner_embeddings(state.model, state.processor, state.train_rows,
                                                   batch_size=cfg["eval"]["batch_size"],
                                                   cache_dir=CACHE / "embeddings", cache_key=key)
    return make_plan(cfg["strategy"], inputs, batch_size=train_cfg["batch_size"], steps=train_cfg["max_steps"],
                     seed=train_cfg["seed"], config=cfg["schedule"])



def setup(config: dict, process: PartialState, run_dir: Path) -> RunState:
    """Phase 1: run folder, model + LoRA, splits, the schedule plan (the dataset exists: preflight)."""
    import torch

    from aramega_ssum.dataset import load_split
    from aramega_ssum.outputs import make_dirs
    from benchmark.rows import load_rows, select_rows
    from benchmark.model import apply_lora, load_model

    model_cfg, lora_cfg, train_cfg, data_cfg = config["model"], config["lora"], config["train"], config["data"]
    state = RunState(config, process, run_dir, data_dir=Path(data_cfg["path"]))
    if process.device.type == "cpu" and train_cfg["cpu_threads"]:
        torch.set_num_threads(train_cfg["cpu_threads"])
    if process.is_main_process:
        make_dirs(state.run_dir)
    with process.main_process_first():  # rank 0 may build the tiny model's cache
        state.model, state.processor = load_model(
            model_cfg["name"], dtype=model_cfg["dtype"], device=process.device, seed=0,
            gradient_checkpointing=model_cfg["gradient_checkpointing"], attn_implementation=model_cfg["attn_implementation"])
    state.train_rows = load_split(state.data_dir, "train", data_cfg["config"])
    state.plan = make_schedule(state, schedule_inputs(state.train_rows))  # embeddings from the frozen base model
    torch.manual_seed(train_cfg["seed"])  # the same LoRA init on every rank
    state.model, state.lora = apply_lora(
        state.model, lora_cfg["r"], lora_cfg["alpha"], lora_cfg["dropout"], target_regex=lora_cfg["target_regex"],
        train_aligner=model_cfg["train_aligner"], train_audio_encoder=model_cfg["train_audio_encoder"],
        extra_trainable=model_cfg["extra_trainable"])
    state.extra_modules = state.lora["extra_modules"]
    log.info("LoRA on %d modules (%s), %d trainable parameters", len(state.lora["adapted_modules"]),
             ", ".join(state.lora["adapted_modules"][:4]) + ("..." if len(state.lora["adapted_modules"]) > 4 else ""),
             state.lora["trainable_params"])
    limit = train_cfg["val_max_per_task"] or None
    state.val_rows = (select_rows(load_rows(state.data_dir, "validation", data_cfg["config"]), limit=limit)
                      if train_cfg["val_every"] else [])
    process.wait_for_everyone()
    return state


def memory_preview(state: RunState) -> str:
    """The estimated peak memory of this process (before step 1), as printed by the run."""
    from benchmark.memory import describe, estimate_training, largest_micro_batch

    train_cfg, process = state.config["train"], state.process
    targets = [len(t or "") / 3.0 + 2 for t in state.train_rows.select_columns(["target"])["target"]]
    batches = [state.plan.rank_batch(s, process.process_index, process.num_processes) for s in range(train_cfg["max_steps"])]
    tokens, target_tokens = largest_micro_batch(batches, token_lengths(state.train_rows), targets,
                                                train_cfg["micro_batch_size"], train_cfg["max_tokens_per_micro_batch"])
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

    cfg, data_cfg = state.config, state.config["data"]
    seed = cfg["train"]["seed"] * 1000 + state.process.process_index  # dropout streams differ per rank, reproducibly
    random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)

    def collate(rows):
        return build_training_batch(rows, state.processor, max_audio_seconds=data_cfg["max_audio_seconds"],
                                    over_limit=data_cfg["over_limit"])

    meta = {"strategy": cfg["strategy"], "seed": cfg["train"]["seed"], "schedule_sha256": schedule_sha256(cfg),
            "max_steps": cfg["train"]["max_steps"], "batch_size": cfg["train"]["batch_size"], "model": cfg["model"]["name"]}
    trainer = Trainer(state.model, collate, state.train_rows, state.plan, cfg, run_dir=state.run_dir,
                      process=state.process, val_rows=state.val_rows, meta=meta)
    state.trainer = trainer
    if state.process.is_main_process:
        print(memory_preview(state), file=sys.stderr, flush=True)
    summary = trainer.fit(resume=resume)
    summary["audio"] = dict(trainer.audio_counts)
    return summary


def evaluate(state: RunState) -> dict | None:
    """Phase 4: greedy generation on the test split, each rank its share; rank 0 writes predictions + scores."""
    from benchmark.evaluate import evaluate as evaluate_rows
    from benchmark.rows import load_rows, select_rows

    eval_cfg, data_cfg = state.config["eval"], state.config["data"]
    rows = select_rows(load_rows(state.data_dir, eval_cfg["split"], data_cfg["config"]),
                       limit=eval_cfg["max_per_task"] or None)
    state.model.eval()
    return evaluate_rows(
        state.model, state.processor, rows, state.run_dir, batch_size=eval_cfg["batch_size"],
        max_new_tokens=eval_cfg["max_new_tokens"], max_audio_seconds=data_cfg["max_audio_seconds"],
        over_limit=data_cfg["over_limit"], bootstrap=eval_cfg["bootstrap"], seed=state.config["train"]["seed"],
        bertscore_model=eval_cfg["bertscore_model"], bertscore_layer=eval_cfg["bertscore_layer"], process=state.process)


def save_adapter(state: RunState) -> Path | None:
    """Phase 3 (rank 0, as soon as training ends): the PEFT adapter (LoRA + modules_to_save) into <run>/adapter/."""
    adapter_dir = state.run_dir / "adapter"
    if getattr(state, "process", None) is not None and not state.process.is_main_process:
        return adapter_dir
    state.model.save_pretrained(adapter_dir)
    log.info("adapter written to %s", adapter_dir)
    return adapter_dir


def model_entry(state: RunState, adapter_dir: Path) -> dict:
    """`model` of results.json: id, revision, base model, dtype, adapter settings and sha256."""
    name, lora = state.config["model"]["name"], state.lora
    base = state.model.get_base_model()
    revision = base.source.revision  # hub snapshot sha, sha256:<content hash> of a folder, tiny-<key>
    targets = sorted({m.rsplit(".", 1)[-1] for m in lora["adapted_modules"]})
    targets += state.extra_modules  # model.extra_trainable's modules
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

    if not state.process.is_main_process:
        return None
    cfg, eval_cfg, data_cfg = state.config, state.config["eval"], state.config["data"]
    audio, gen = eval_summary["audio"], eval_summary["generation"]
    results = build_results(
        eval_summary["scores"], model=model_entry(state, adapter_dir),
        data={"dataset": str(data_cfg["path"]), "config": data_cfg["config"],
              "fingerprint": fingerprint(state.data_dir, data_cfg["config"]), "split": eval_cfg["split"], "n": eval_summary["n"]},
        predictions_path=eval_summary["predictions_path"], results_dir=state.run_dir,
        scoring={"bootstrap": eval_cfg["bootstrap"], "seed": cfg["train"]["seed"],
                 "bertscore_model": eval_cfg["bertscore_model"], "bertscore_layer": eval_cfg["bertscore_layer"]},
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


def validation_trend(run_dir: Path) -> str | None:
    """The held-out loss of each task at the first and the last validation, as one line: under a
    curriculum the mean training loss mixes different tasks early and late, so only this compares."""
    from benchmark.plots import read_log

    val = [r for r in read_log(run_dir / "train_log.jsonl")[1] if r.get("task_loss")]
    if not val:
        return None
    first, last = val[0], val[-1]
    tasks = [t for t in first["task_loss"] if last["task_loss"].get(t) is not None]
    pairs = ", ".join(f"{t} {first['task_loss'][t]:.3f} -> {last['task_loss'][t]:.3f}" for t in tasks)
    return f"validation loss per task, step {first['step']} -> {last['step']}: {pairs}"


def report(state: RunState, results: dict, train_summary: dict) -> str:
    """The results table and the run's key facts, as printed at the end."""
    from benchmark.score import format_table

    scores = {"normalizer": results["normalizer"]["version"], "tasks": {
        t: {**m, **({"per_dialect": results["breakdown"][t]["per_dialect_wer"]}
                    if "per_dialect_wer" in results["breakdown"].get(t, {}) else {})}
        for t, m in results["metrics"].items()}}
    trend = validation_trend(state.run_dir)
    eff, audio = results["efficiency"], results["audio"]
    lines = [f"\n== {results['model']['id']}  ({state.config['strategy']}, seed {state.config['train']['seed']}, "
             f"{train_summary['steps']} steps x batch {state.config['train']['batch_size']})", format_table(scores), ""]
    if trend:
        lines.append(trend)
    lines.append(f"train {eff['train_wall_s']:.1f} s, eval {eff['eval_wall_s']:.1f} s (RTFx {eff['rtfx']}); "
                 f"long audio (max {audio['max_audio_seconds']} s): evaluation truncated {audio['truncated']}, "
                 f"skipped {audio['skipped']}; training truncated {train_summary['audio']['truncated']}, "
                 f"skipped {train_summary['audio']['skipped']}")
    lines.append(f"run folder: {state.run_dir}")
    return "\n".join(lines)
