"""Uniform Task Mixing: pool every task and shuffle (our reimplementation of the paper's baseline).

`temperature` T = 1 (default) pools all examples into one stream, so task shares follow task
sizes. T != 1 samples tasks with p_t proportional to n_t^(1/T) (large T tends to equal shares):
each task is its own stream and per-step task counts follow p_t as evenly as integers allow.
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np

from aramega_ssum.scheduling.base import ScheduleInput, stable_key
from aramega_ssum.scheduling.registry import register
from aramega_ssum.scheduling.sampler import StratumStream, StreamMix, apportion

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class UniformConfig:
    temperature: float = 1.0


class UniformPlanner:
    needs_embeddings = False

    def __init__(self, mix: StreamMix, name: str = "uniform"):
        self.mix = mix
        self.name = name

    def batch(self, step: int) -> np.ndarray:
        return self.mix.batch(step)

    def stage(self, step: int) -> str:
        return self.name


def task_weights(inputs: ScheduleInput, tasks: list[str], temperature: float) -> np.ndarray:
    """n_t^(1/T) for each task in `tasks`."""
    sizes = np.array([len(inputs.members(t)) for t in tasks], dtype=np.float64)
    return sizes ** (1.0 / temperature)


@register("uniform", UniformConfig, order=0)
def plan_uniform(inputs: ScheduleInput, *, batch_size: int, steps: int, seed: int,
                 config: UniformConfig) -> UniformPlanner:
    """Uniform Task Mixing: pooled shuffle, or temperature-scaled task sampling."""
    if config.temperature <= 0:
        raise ValueError(f"uniform: temperature must be > 0, got {config.temperature}")
    if config.temperature == 1.0:
        stream = StratumStream(np.arange(len(inputs)), seed=seed, key=stable_key("uniform", "*"))
        counts = np.full((steps, 1), batch_size, dtype=np.int64)
        return UniformPlanner(StreamMix([stream], counts))
    tasks = inputs.task_names()
    streams = [StratumStream(inputs.members(t), seed=seed, key=stable_key("uniform", t)) for t in tasks]
    counts = apportion(task_weights(inputs, tasks, config.temperature), steps, batch_size)
    return UniformPlanner(StreamMix(streams, counts))
