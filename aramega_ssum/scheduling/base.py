"""The narrow protocol every strategy shares: its inputs and the stateless `Plan`.

A strategy module supplies a *planner* (an object with `batch(step) -> np.ndarray`,
`stage(step) -> str` and `needs_embeddings`); `Plan` wraps it (composition, no inheritance) and
adds what is common: bounds checks, DDP rank parts, iteration and the checkpoint state of a step.
Typed strategy options are read by `aramega_ssum.registry.parse_options`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Iterator, Protocol

import numpy as np

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class ScheduleInput:
    """Per-example facts a strategy may use; every field has one entry per example.

    `labels` holds the canonical label of classification examples and None elsewhere;
    `embeddings` is an [N, D] array (ADS only).
    """

    ids: Sequence[str]
    tasks: Sequence[str]
    labels: Sequence[str | None]
    embeddings: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.ids)
        self.ids = list(self.ids)
        self.tasks = np.asarray(self.tasks, dtype=object)
        self.labels = np.asarray(self.labels, dtype=object)
        for name in ("tasks", "labels"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"ScheduleInput: {name} has {len(getattr(self, name))} entries, ids has {n}")
        if n == 0:
            raise ValueError("ScheduleInput: no examples")
        if self.embeddings is not None:
            self.embeddings = np.asarray(self.embeddings)
            if self.embeddings.ndim != 2 or self.embeddings.shape[0] != n:
                raise ValueError(f"ScheduleInput: embeddings shape {self.embeddings.shape}, expected ({n}, D)")

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_rows(cls, rows: Any, embeddings: np.ndarray | None = None) -> "ScheduleInput":
        """From a multitask split (a `datasets.Dataset` or a list of row dicts)."""
        def column(name: str) -> list:
            if isinstance(rows, (list, tuple)):
                return [r.get(name) for r in rows]
            return list(rows[name]) if name in rows.column_names else [None] * len(rows)

        return cls(column("id"), column("task"), column("label"), embeddings)

    def task_names(self) -> list[str]:
        """Tasks present, in first-appearance order."""
        return list(dict.fromkeys(self.tasks.tolist()))

    def members(self, task: str, label: str | None = None) -> np.ndarray:
        """Indices of the examples of `task` (and `label` when given), ascending."""
        mask = self.tasks == task
        if label is not None:
            mask &= self.labels == label
        return np.flatnonzero(mask)

    def labels_of(self, task: str) -> list[str]:
        """Sorted labels of a task; [] for an unlabelled task. Mixed labelled/unlabelled is an error."""
        idx = self.members(task)
        labels = self.labels[idx]
        missing = np.flatnonzero(np.equal(labels, None))
        if 0 < len(missing) < len(idx):
            bad = self.ids[idx[missing[0]]]
            raise ValueError(f"task {task!r}: example {bad!r} has no label while {len(idx) - len(missing)} "
                             f"of its {len(idx)} examples have one")
        return [] if len(missing) else sorted(set(labels.tolist()))


class Planner(Protocol):
    needs_embeddings: bool

    def batch(self, step: int) -> np.ndarray: ...

    def stage(self, step: int) -> str: ...


def stable_key(*parts: object) -> int:
    """A 32-bit integer from `parts`, identical on every machine (unlike `hash`)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big")


class Plan:
    """A deterministic sequence of `steps` global batches of `batch_size` indices.

    A plan is stateless: `batch(step)` is a pure function of the step. Whoever walks the plan owns
    the cursor (`ScheduledBatchSampler`, `benchmark.train.Trainer`) and stores it with `state_at`.
    """

    def __init__(self, strategy: str, planner: Planner, *, steps: int, batch_size: int, seed: int):
        self.strategy = strategy
        self.planner = planner
        self.steps = steps
        self.batch_size = batch_size
        self.seed = seed
        self.needs_embeddings = planner.needs_embeddings

    def __len__(self) -> int:
        return self.steps

    def _check_step(self, step: int) -> int:
        if not 0 <= step < self.steps:
            raise IndexError(f"step {step} outside the plan's {self.steps} steps")
        return int(step)

    def batch(self, step: int) -> list[int]:
        """The global batch at `step`: indices into the ScheduleInput, all distinct."""
        out = self.planner.batch(self._check_step(step))
        if len(out) != self.batch_size:
            raise RuntimeError(f"{self.strategy}: step {step} has {len(out)} indices, expected {self.batch_size}")
        return [int(i) for i in out]

    def stage(self, step: int) -> str:
        return self.planner.stage(self._check_step(step))

    def rank_batch(self, step: int, rank: int, world_size: int) -> list[int]:
        """The `rank`-th of `world_size` equal, disjoint, contiguous parts of the global batch."""
        check_world(self.batch_size, rank, world_size)
        part = self.batch_size // world_size
        return self.batch(step)[rank * part:(rank + 1) * part]

    def __iter__(self) -> Iterator[list[int]]:
        """Every global batch, from step 0."""
        return (self.batch(step) for step in range(self.steps))

    def state_at(self, step: int) -> dict[str, Any]:
        """What a checkpoint taken before `step` stores: the step and the plan's identity."""
        return {"step": int(step), "strategy": self.strategy, "seed": self.seed,
                "steps": self.steps, "batch_size": self.batch_size}

    def resume_step(self, state: Mapping[str, Any]) -> int:
        """The step a `state_at` state resumes at; a state from a different plan is an error."""
        for key in ("strategy", "seed", "steps", "batch_size"):
            if key in state and state[key] != getattr(self, key):
                raise ValueError(f"state_dict {key}={state[key]!r} does not match this plan's {getattr(self, key)!r}")
        step = int(state["step"])
        if not 0 <= step <= self.steps:
            raise ValueError(f"state_dict step {step} outside 0..{self.steps}")
        return step


def check_world(batch_size: int, rank: int, world_size: int) -> None:
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in 0..{world_size - 1} (world size {world_size})")
    if batch_size % world_size:
        raise ValueError(f"global batch size {batch_size} is not divisible by world size {world_size}; "
                         f"use a multiple of {world_size}")
