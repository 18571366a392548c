"""Aligner-Based Diverse Sampling (ADS): task- and label-balanced, diversity-ordered batches.

Our reimplementation of the paper's description. Each example carries an embedding in the
language model's input space (see `embeddings.py`). Every batch gives each task an equal share
(the remainder rotates deterministically over tasks); inside a classification task each label
gets an equal share (draw i of the task goes to label i mod L, so counts in a batch differ by at
most one; a rare label's stream simply starts a new epoch when exhausted). Inside each
(task, label) stratum, k-means clusters of the embeddings (k = `clusters`) are visited
round-robin, so consecutive draws come from different clusters.
"""
from __future__ import annotations

import dataclasses
import logging
from collections import Counter

import numpy as np
from tqdm.auto import tqdm

from aramega_ssum.schema import TASKS
from aramega_ssum.scheduling.base import ScheduleInput, stable_key
from aramega_ssum.scheduling.kmeans import kmeans
from aramega_ssum.scheduling.registry import register
from aramega_ssum.scheduling.sampler import StratumStream, interleave, equal_split

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ADSConfig:
    clusters: int = 8
    kmeans_iters: int = 5
    label_balance: bool = True


class ADSPlanner:
    """Per-step counts are closed-form (equal_split of k * batch_size), so any step is O(1)."""

    needs_embeddings = True

    def __init__(self, streams: list[list[StratumStream]], batch_size: int):
        self.streams = streams  # streams[task][label]
        self.batch_size = batch_size

    def batch(self, step: int) -> np.ndarray:
        n_tasks = len(self.streams)
        before = equal_split(step * self.batch_size, n_tasks)
        after = equal_split((step + 1) * self.batch_size, n_tasks)
        draws = []
        for lanes, t0, t1 in zip(self.streams, before, after):
            l0, l1 = equal_split(t0, len(lanes)), equal_split(t1, len(lanes))
            draws.extend(s.take(int(a), int(b - a)) for s, a, b in zip(lanes, l0, l1))
        return _task_interleave(draws, self.streams)

    def stage(self, step: int) -> str:
        return "ads"


def _task_interleave(draws: list[np.ndarray], streams: list[list[StratumStream]]) -> np.ndarray:
    """Labels interleaved inside each task, then tasks interleaved (rank parts stay mixed)."""
    per_task, i = [], 0
    for lanes in streams:
        per_task.append(interleave(draws[i:i + len(lanes)]))
        i += len(lanes)
    return interleave(per_task)


def _task_order(inputs: ScheduleInput) -> list[str]:
    known = [t for t in TASKS if t in set(inputs.task_names())]
    return known + sorted(set(inputs.task_names()) - set(known))


@register("ads", ADSConfig, needs_embeddings=True, order=2)
def plan_ads(inputs: ScheduleInput, *, batch_size: int, steps: int, seed: int, config: ADSConfig) -> ADSPlanner:
    """Aligner-Based Diverse Sampling: balanced strata, k-means round-robin inside each."""
    if config.clusters < 1 or config.kmeans_iters < 0:
        raise ValueError(f"ads: clusters must be >= 1 and kmeans_iters >= 0, got {config}")
    tasks = _task_order(inputs)
    if batch_size < len(tasks):
        logger.warning("ads: batch size %d < %d tasks: not every batch holds every task", batch_size, len(tasks))
    strata = [(t, label) for t in tasks
              for label in ((inputs.labels_of(t) or [None]) if config.label_balance else [None])]
    streams: dict[str, list[StratumStream]] = {t: [] for t in tasks}
    per_task = -(-batch_size // len(tasks))  # the most draws one batch takes from a task
    lanes = Counter(task for task, _ in strata)
    for task, label in tqdm(strata, desc="ads: clustering strata", disable=len(inputs) < 100_000):
        members = inputs.members(task, label)
        key = stable_key("ads", task, label)
        clusters = kmeans(inputs.embeddings[members], config.clusters, seed=seed + key,
                          iters=config.kmeans_iters)
        stream = StratumStream(members, seed=seed, key=key, clusters=clusters)
        stream.set_window(-(-per_task // lanes[task]))
        streams[task].append(stream)
    return ADSPlanner([streams[t] for t in tasks], batch_size)
