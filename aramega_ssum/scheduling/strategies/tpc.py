"""Task-Progressive Curriculum (TPC): ordered stages following the task hierarchy.

Our reimplementation of the paper's description. Defaults: stage 1 `asr`; stage 2 adds `ssum`
and `tsum`; stage 3 adds `dialect` and `emotion`; equal step shares. From stage 2 on, a `replay`
fraction of every batch (default 0.2) is drawn from the earlier stages' tasks, the rest from the
stage's new tasks; inside each group tasks are weighted n_t^(1/temperature) (1 = by size).
Each task is one stream across all stages, so epochs continue over stage boundaries.
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np

from aramega_ssum.scheduling.base import ScheduleInput, stable_key
from aramega_ssum.scheduling.registry import register
from aramega_ssum.scheduling.sampler import StratumStream, StreamMix, apportion
from aramega_ssum.scheduling.strategies.uniform import task_weights

logger = logging.getLogger(__name__)

DEFAULT_STAGES = (("asr",), ("ssum", "tsum"), ("dialect", "emotion"))


@dataclasses.dataclass(frozen=True)
class TPCConfig:
    stages: tuple[tuple[str, ...], ...] = DEFAULT_STAGES
    shares: tuple[float, ...] | None = None
    replay: float = 0.2
    temperature: float = 1.0


class TPCPlanner:
    needs_embeddings = False

    def __init__(self, mix: StreamMix, bounds: np.ndarray, names: list[str]):
        self.mix, self.bounds, self.names = mix, bounds, names

    def batch(self, step: int) -> np.ndarray:
        return self.mix.batch(step)

    def stage(self, step: int) -> str:
        return self.names[int(np.searchsorted(self.bounds, step, side="right")) - 1]


def stage_bounds(shares: tuple[float, ...], steps: int) -> np.ndarray:
    """First step of each stage, plus `steps` at the end."""
    cum = np.cumsum(shares) / np.sum(shares)
    return np.concatenate([[0], np.round(cum * steps).astype(np.int64)])


def _stages_with_examples(inputs: ScheduleInput, config: TPCConfig) -> list[list[str]]:
    present = set(inputs.task_names())
    if not config.stages:
        raise ValueError("tpc: `stages` is empty")
    if config.shares is not None and (len(config.shares) != len(config.stages) or min(config.shares) <= 0):
        raise ValueError(f"tpc: shares {config.shares} must be {len(config.stages)} positive numbers")
    if not 0.0 <= config.replay < 1.0 or config.temperature <= 0:
        raise ValueError(f"tpc: replay must be in [0, 1) and temperature > 0, got {config.replay}, {config.temperature}")
    stages = []
    for i, stage in enumerate(config.stages, 1):
        kept = [t for t in stage if t in present]
        if len(kept) < len(stage):
            logger.warning("tpc: stage %d tasks %s have no examples", i, sorted(set(stage) - present))
        if not kept:
            raise ValueError(f"tpc: stage {i} {list(stage)} has no examples in the data")
        stages.append(kept)
    unused = present - {t for s in stages for t in s}
    if unused:
        logger.warning("tpc: tasks %s are in no stage and are never scheduled", sorted(unused))
    return stages


@register("tpc", TPCConfig, order=1)
def plan_tpc(inputs: ScheduleInput, *, batch_size: int, steps: int, seed: int, config: TPCConfig) -> TPCPlanner:
    """Task-Progressive Curriculum: stages of tasks with replay of earlier ones."""
    stages = _stages_with_examples(inputs, config)
    tasks = [t for s in stages for t in s]
    column = {t: i for i, t in enumerate(tasks)}
    bounds = stage_bounds(config.shares or (1.0,) * len(stages), steps)
    counts = np.zeros((steps, len(tasks)), dtype=np.int64)
    for i, stage in enumerate(stages):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        if hi <= lo:
            logger.warning("tpc: stage %d gets no steps out of %d", i + 1, steps)
            continue
        earlier = [t for s in stages[:i] for t in s]
        weights = np.zeros(len(tasks))
        new_w = task_weights(inputs, stage, config.temperature)
        replay = config.replay if earlier else 0.0
        weights[[column[t] for t in stage]] = (1 - replay) * new_w / new_w.sum()
        if replay > 0:
            old_w = task_weights(inputs, earlier, config.temperature)
            weights[[column[t] for t in earlier]] += replay * old_w / old_w.sum()
        counts[lo:hi] = apportion(weights, hi - lo, batch_size)
    streams = [StratumStream(inputs.members(t), seed=seed, key=stable_key("tpc", t)) for t in tasks]
    names = [f"stage{i + 1}:{'+'.join(s)}" for i, s in enumerate(stages)]
    return TPCPlanner(StreamMix(streams, counts), bounds, names)
