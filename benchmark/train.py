"""The training loop: scheduled global batches, gradient accumulation, AdamW, warmup + cosine, DDP.

Each optimizer step `s` trains on the plan's global batch `plan.batch(s)`; under several processes
each rank takes `plan.rank_batch(s, rank, world_size)`, splits it into micro-batches of
at most `train.micro_batch_size` examples and `train.max_tokens_per_micro_batch` padded tokens (audio
at 25 tokens/s) and accumulates gradients. The loss is the mean over the *target* tokens of
the whole global batch (the collator masks everything else to -100), so the update does not depend
on how the batch was split. Gradients of the trainable parameters are all-reduced once per step.

Launch with `torchrun --nproc_per_node=N -m benchmark.run ...` or `accelerate launch --multi_gpu
--num_processes N -m benchmark.run ...` (on CPU too: with CUDA hidden, the same launcher runs gloo):
RANK, WORLD_SIZE and LOCAL_RANK are read from the environment (gloo on CPU, nccl on GPU). Only rank 0
writes files.
"""
from __future__ import annotations

import json
import logging
import math
import time
from datetime import timedelta
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from accelerate import PartialState
from accelerate.utils import gather_object, reduce
from tqdm.auto import tqdm

from aramega_ssum.schema import TASKS
from benchmark import checkpoint as ckpt
from benchmark.prompting import micro_batches

log = logging.getLogger(__name__)
IGNORE_INDEX = -100


# ----------------------------------------------------------------------------- distributed
def init_distributed(device: str | None = None) -> PartialState:
    """This process's place in the job (accelerate's `PartialState`): joins the process group when
    launched by torchrun/accelerate (RANK, WORLD_SIZE, LOCAL_RANK; nccl on CUDA, gloo on CPU)."""
    use_cuda = torch.cuda.is_available() and (device is None or device.startswith("cuda"))
    # rank 0 scores (BERTScore, bootstrap) while the others wait at a barrier: allow a long wait
    process = PartialState(cpu=not use_cuda, timeout=timedelta(hours=3))
    if process.use_distributed:
        log.info("rank %d/%d joined (%s)", process.process_index, process.num_processes, process.backend)
    return process


def close_distributed() -> None:
    """Leave the process group (no-op for a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def sync_trainable(model: torch.nn.Module, process: PartialState) -> None:
    """Broadcast rank 0's trainable parameters so every rank starts from the same weights."""
    if process.use_distributed:
        with torch.no_grad():
            for p in trainable_parameters(model):
                dist.broadcast(p.data, src=0)


def all_reduce_grads(params: Sequence[torch.nn.Parameter], process: PartialState) -> None:
    """Average the gradients of `params` over ranks (one flat all-reduce; missing grads count as 0)."""
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    if not process.use_distributed:
        return
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= process.num_processes
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n


# ----------------------------------------------------------------------------- pieces
def trainable_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def lr_lambda(warmup_steps: int, total_steps: int, min_ratio: float = 0.0) -> Callable[[int], float]:
    """Linear warmup to 1 over `warmup_steps`, then cosine decay to `min_ratio` at `total_steps`.

    Kept by hand because no transformers schedule gives these values: its
    `get_cosine_with_min_lr_schedule_with_warmup` starts at lr 0 (step 0 trains nothing) and its
    `..._warmup_lr_rate` variant starts the decay one step early (the last step trains at the
    minimum); both differ from this recipe at some step (measured with warmup 4 of 20 steps).
    """

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def build_optimizer(model: torch.nn.Module, cfg: dict, total_steps: int):
    """AdamW over the trainable parameters and its LambdaLR warmup + cosine scheduler.

    LoRA weights train at `lr`; trained base-model weights (aligner, audio encoder,
    `model.extra_trainable`) at `base_lr` when it is set (null = `lr`).
    """
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise RuntimeError("the model has no trainable parameters (LoRA not applied?)")
    base_lr = cfg.get("base_lr")
    base = [p for n, p in named if "lora_" not in n] if base_lr is not None else []
    groups = [{"params": [p for n, p in named if "lora_" in n or base_lr is None], "lr": cfg["lr"]},
              {"params": base, "lr": base_lr}]
    groups = [g for g in groups if g["params"]]
    optimizer = torch.optim.AdamW(groups, lr=cfg["lr"], betas=tuple(cfg["betas"]), weight_decay=cfg["weight_decay"])
    factor = lr_lambda(cfg["warmup_steps"], total_steps, cfg["min_lr_ratio"])
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def example_losses(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example summed next-token loss over target tokens, and their counts (labels aligned with inputs)."""
    shift_logits, shift_labels = logits[:, :-1, :], labels[:, 1:].to(logits.device)
    ce = F.cross_entropy(
        shift_logits.reshape(-1, shift_logits.size(-1)).float(),
        shift_labels.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="none",
    ).view(shift_labels.shape)
    mask = shift_labels != IGNORE_INDEX
    return (ce * mask).sum(dim=1), mask.sum(dim=1)


def target_losses(model, inputs: dict, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Like `example_losses(model(**inputs).logits, labels)`, with the LM head applied to target positions only.

    A Qwen2.5-Omni thinker computes `lm_head(model(...)[0])`; the prompt (hundreds of audio tokens for
    a long clip) needs no logits, so the body is run alone and the head on the target positions.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    body, head = getattr(base, "model", None), getattr(base, "lm_head", None)
    if body is None or head is None:
        return example_losses(model(**inputs).logits, labels)
    hidden = body(**inputs, use_cache=False)[0]
    shift_labels = labels[:, 1:].to(hidden.device)
    mask = shift_labels != IGNORE_INDEX
    logits = head(hidden[:, :-1][mask]).float()
    ce = F.cross_entropy(logits, shift_labels[mask], reduction="none")
    rows = mask.nonzero(as_tuple=True)[0]
    sums = torch.zeros(labels.size(0), dtype=ce.dtype, device=ce.device).index_add(0, rows, ce)
    return sums, mask.sum(dim=1)


def to_device(batch: dict, device: torch.device) -> dict:
    """Tensors of a collated batch on `device`; non-tensor entries dropped (the model gets only tensors)."""
    return {k: v.to(device) for k, v in batch.items() if isinstance(v, torch.Tensor)}


def target_tokens(batch: dict) -> int:
    return int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())


# ----------------------------------------------------------------------------- trainer
class Trainer:
    """Runs the scheduled training of `model` and writes `train_log.jsonl` and checkpoints (rank 0)."""

    def __init__(self, model, collate: Callable[[list[dict]], dict], train_rows, plan, config: dict, *,
                 run_dir: str | Path, process: PartialState | None = None, val_rows=None, meta: dict | None = None):
        self.model, self.collate, self.rows, self.plan = model, collate, train_rows, plan
        self.train_cfg = config["train"]
        self.run_dir, self.process = Path(run_dir), process or init_distributed("cpu")
        self.device = next(model.parameters()).device  # where the model is (the process's device in a run)
        self.val_rows = val_rows
        self.meta = meta or {}
        self.total_steps = int(self.train_cfg["max_steps"])
        self.params = trainable_parameters(model)
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.dtype = getattr(base, "dtype", torch.float32)
        self.optimizer, self.scheduler = build_optimizer(model, self.train_cfg, self.total_steps)
        self.step = 0
        self.audio_counts = {"truncated": 0, "skipped": 0}  # training batches, all ranks (see train_step)
        self.log_path = self.run_dir / "train_log.jsonl"

    # -- state
    def state(self) -> dict:
        """Everything needed to continue exactly (RNG states of every rank included)."""
        return {
            "step": self.step,
            "trainable": ckpt.trainable_state_dict(self.model),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "plan": self.plan.state_at(self.step),  # the next batch this run trains on is plan.batch(step)
            "rng": gather_object([ckpt.rng_state()]),
            "world_size": self.process.num_processes,
            "meta": self.meta,
        }

    def load_state(self, state: dict) -> None:
        """Restore a checkpoint payload written by `state`; refuses one from a different run setup."""
        for key, value in self.meta.items():
            if state["meta"].get(key) != value:
                raise RuntimeError(f"cannot resume: checkpoint {key}={state['meta'].get(key)!r}, this run {value!r}")
        ckpt.load_trainable_state_dict(self.model, state["trainable"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = self._checkpoint_step(state)
        if state["world_size"] == self.process.num_processes:
            ckpt.set_rng_state(state["rng"][self.process.process_index])
        else:
            log.warning("checkpoint from world size %d, now %d: RNG streams restarted",
                        state["world_size"], self.process.num_processes)

    def _checkpoint_step(self, state: dict) -> int:
        """The step a checkpoint resumes at; its plan must be this run's plan, at the same step."""
        step, plan_step = int(state["step"]), self.plan.resume_step(state["plan"])
        if plan_step != step and plan_step == 0:  # written before checkpoints stored the plan's step
            log.warning("checkpoint at step %d records plan step 0 (old format): resuming at %d", step, step)
        elif plan_step != step:
            raise RuntimeError(f"cannot resume: checkpoint at step {step} records plan step {plan_step}")
        return step

    def resume(self) -> int | None:
        """Load the newest checkpoint of the run folder; trim the log to it. Returns its step or None."""
        found = ckpt.latest_checkpoint(self.run_dir)
        if found is None:
            log.warning("--resume: no checkpoint under %s, starting from step 0", self.run_dir)
            if self.process.is_main_process and self.log_path.exists():
                self.log_path.unlink()  # records of steps that no checkpoint holds
            return None
        self.load_state(ckpt.load_checkpoint(found))
        if self.process.is_main_process and self.log_path.exists():
            from aramega_ssum.jsonl import iter_jsonl

            keep = [rec for _, rec in iter_jsonl(self.log_path) if rec["step"] <= self.step]
            self.log_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in keep), encoding="utf-8")
        log.info("resumed from %s (step %d)", found, self.step)
        return self.step

    def save(self) -> None:
        state = self.state()  # every rank takes part in gathering the RNG states
        if self.process.is_main_process:
            ckpt.save_checkpoint(self.run_dir, self.step, state, keep=self.train_cfg["keep_checkpoints"])
        self.process.wait_for_everyone()

    # -- loop
    def fit(self, *, resume: bool = False, stop_after: int | None = None) -> dict:
        """Train up to `train.max_steps` (or stop after step `stop_after`, for tests of resume)."""
        resumed_from = self.resume() if resume else None
        sync_trainable(self.model, self.process)
        every_val, every_ckpt = self.train_cfg["val_every"], self.train_cfg["checkpoint_every"]
        last = self.total_steps if stop_after is None else min(stop_after, self.total_steps)
        start = time.perf_counter()
        if self.step == 0 and every_val and self.val_rows:
            self._write(self.validate())
        bar = tqdm(total=self.total_steps, initial=self.step, desc="train", disable=not self.process.is_main_process, dynamic_ncols=True)
        while self.step < last:
            record = self.train_step()
            self._write(record)
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.3f}", stage=record["stage"])
            if every_val and self.val_rows and (self.step % every_val == 0 or self.step == self.total_steps):
                val = self.validate()
                self._write(val)
                bar.set_postfix(loss=f"{record['loss']:.3f}", val=f"{val['loss']:.3f}", stage=record["stage"])
            if (every_ckpt and self.step % every_ckpt == 0) or self.step == self.total_steps:
                self.save()
        bar.close()
        return {"steps": self.step, "train_wall_s": round(time.perf_counter() - start, 3), "resumed_from": resumed_from}

    def _write(self, record: dict) -> None:
        if self.process.is_main_process:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    # -- steps
    def _forward(self, batch: dict, scale: float, stats: torch.Tensor) -> None:
        """Forward one collated micro-batch; backward of its summed loss * `scale` (0 = no backward)."""
        stats[0, 3] += int(batch.get("audio_truncated", 0))  # long-audio counts ride in column 3
        stats[1, 3] += int(batch.get("audio_skipped", 0))
        tasks = batch["tasks"]
        inputs = to_device({k: v for k, v in batch.items() if k != "labels"}, self.device)
        if "input_features" in inputs:  # log-mel features come as float32; a bf16 model wants bf16
            inputs["input_features"] = inputs["input_features"].to(self.dtype)
        sums, counts = target_losses(self.model, inputs, batch["labels"])
        if scale:
            (sums.sum() * scale).backward()
        for task, s, c in zip(tasks, sums.detach().cpu(), counts.cpu()):
            t = TASKS.index(task)
            stats[t, 0] += float(s)
            stats[t, 1] += float(c)
            stats[t, 2] += 1

    def train_step(self) -> dict:
        """One optimizer step on the plan's global batch for `self.step`; returns its log record."""
        start = time.perf_counter()
        step, rank, world = self.step, self.process.process_index, self.process.num_processes
        rows = [self.rows[i] for i in self.plan.rank_batch(step, rank, world)]
        chunks = [self.collate(c) for c in micro_batches(rows, self.train_cfg["micro_batch_size"],
                                                         max_tokens=self.train_cfg.get("max_tokens_per_micro_batch", 0))]
        # The loss is the mean over every target token of the global batch: count them first.
        local = torch.tensor([float(sum(target_tokens(b) for b in chunks))], dtype=torch.float64)
        global_tokens = float(reduce(local.to(self._reduce_device()), reduction="sum")[0])
        if global_tokens == 0:
            raise RuntimeError(f"step {step}: the global batch has no target tokens (check the collator's labels)")
        stats = torch.zeros(len(TASKS), 4, dtype=torch.float64)
        self.model.train()
        for batch in chunks:
            self._forward(batch, world / global_tokens, stats)
        all_reduce_grads(self.params, self.process)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, self.train_cfg["grad_clip"]))
        lr = self.scheduler.get_last_lr()[0]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        stats = reduce(stats.to(self._reduce_device()), reduction="sum").cpu()
        self.step += 1
        self.audio_counts["truncated"] += int(stats[0, 3])
        self.audio_counts["skipped"] += int(stats[1, 3])
        rate = float(stats[:, 2].sum()) / max(time.perf_counter() - start, 1e-9)
        return self._record("train", stats, stage=self.plan.stage(step), lr=lr, grad_norm=round(grad_norm, 6),
                            examples_per_s=round(rate, 3), batch=[int(i) for i in self.plan.batch(step)])

    def _reduce_device(self) -> torch.device:
        return self.device if self.process.use_distributed and self.process.backend == "nccl" else torch.device("cpu")

    def _record(self, kind: str, stats: torch.Tensor, **extra) -> dict:
        task_loss, task_n = {}, {}
        for t, name in enumerate(TASKS):
            if stats[t, 1] > 0:
                task_loss[name] = float(stats[t, 0] / stats[t, 1])
                task_n[name] = int(stats[t, 2])
        loss = float(stats[:, 0].sum() / stats[:, 1].sum()) if stats[:, 1].sum() > 0 else None
        return {"type": kind, "step": self.step, **({"stage": extra.pop("stage")} if "stage" in extra else {}),
                "loss": loss, "task_loss": task_loss, "task_examples": task_n,
                "target_tokens": int(stats[:, 1].sum()), "audio_truncated": int(stats[0, 3]),
                "audio_skipped": int(stats[1, 3]), **extra}

    @torch.no_grad()
    def validate(self) -> dict:
        """Per-task mean target-token loss on the validation subset (shared out over ranks)."""
        self.model.eval()
        stats = torch.zeros(len(TASKS), 4, dtype=torch.float64)
        mine = list(self.val_rows)[self.process.process_index :: self.process.num_processes]
        for chunk in micro_batches(mine, self.train_cfg["micro_batch_size"],
                                   max_tokens=self.train_cfg.get("max_tokens_per_micro_batch", 0)):
            self._forward(self.collate(chunk), 0.0, stats)
        stats = reduce(stats.to(self._reduce_device()), reduction="sum").cpu()
        self.model.train()
        return self._record("validation", stats)
