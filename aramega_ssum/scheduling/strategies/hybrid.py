"""Hybrid (TPC then ADS): the paper's two-stage schedule, reimplemented by composition.

The first round(switch * steps) steps come from a TPC plan of that many steps, the rest from an
ADS plan of the remaining steps; the hybrid holds both `Plan`s (built through the registry) and
delegates to them, it copies neither. Each sub-plan keeps its own streams, so a resumed hybrid
recomputes exactly the batches of both.
`tpc:` and `ads:` sub-mappings take the same keys as `tpc.yaml` / `ads.yaml`.
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np

from aramega_ssum.scheduling.strategies.ads import ADSConfig
from aramega_ssum.registry import parse_options
from aramega_ssum.scheduling.base import Plan, ScheduleInput
from aramega_ssum.scheduling.registry import make_plan, register
from aramega_ssum.scheduling.strategies.tpc import TPCConfig

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class HybridConfig:
    switch: float = 0.5
    tpc: dict | None = None
    ads: dict | None = None


class HybridPlanner:
    needs_embeddings = True

    def __init__(self, first: Plan | None, second: Plan | None, switch_step: int):
        self.first, self.second, self.switch_step = first, second, switch_step

    def batch(self, step: int) -> np.ndarray:
        if step < self.switch_step:
            return np.asarray(self.first.batch(step))
        return np.asarray(self.second.batch(step - self.switch_step))

    def stage(self, step: int) -> str:
        if step < self.switch_step:
            return f"tpc/{self.first.stage(step)}"
        return self.second.stage(step - self.switch_step)


@register("hybrid", HybridConfig, needs_embeddings=True, order=3)
def plan_hybrid(inputs: ScheduleInput, *, batch_size: int, steps: int, seed: int,
                config: HybridConfig) -> HybridPlanner:
    """TPC for the first `switch` fraction of steps, then ADS."""
    if not 0.0 <= config.switch <= 1.0:
        raise ValueError(f"hybrid: switch must be in [0, 1], got {config.switch}")
    switch_step = int(round(config.switch * steps))
    tpc_cfg = parse_options(TPCConfig, config.tpc, where="schedule (hybrid).tpc")
    ads_cfg = parse_options(ADSConfig, config.ads, where="schedule (hybrid).ads")
    first = make_plan("tpc", inputs, batch_size=batch_size, steps=switch_step, seed=seed,
                      config=tpc_cfg) if switch_step > 0 else None
    second = make_plan("ads", inputs, batch_size=batch_size, steps=steps - switch_step, seed=seed,
                       config=ads_cfg) if switch_step < steps else None
    logger.info("hybrid: TPC for steps [0, %d), ADS for [%d, %d)", switch_step, switch_step, steps)
    return HybridPlanner(first, second, switch_step)
