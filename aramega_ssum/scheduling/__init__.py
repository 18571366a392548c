"""Data-scheduling strategies as deterministic, resumable, DDP-correct batch plans.

    from aramega_ssum.scheduling import ScheduleInput, make_plan, ScheduledBatchSampler
    plan = make_plan("hybrid", inputs, batch_size=32, steps=10_000, seed=0, config=schedule_block)
    loader = DataLoader(dataset, batch_sampler=ScheduledBatchSampler(plan), collate_fn=...)

Strategies: one module each in `strategies/` (uniform, tpc, ads, hybrid); `strategy_names()` lists them.
"""
from __future__ import annotations

from aramega_ssum.scheduling.base import Plan, ScheduleInput
from aramega_ssum.scheduling.registry import (STRATEGIES, get_strategy, load_schedule_config, make_plan,
                                              register, strategy_names)
from aramega_ssum.scheduling.sampler import ScheduledBatchSampler

__all__ = ["Plan", "ScheduleInput", "ScheduledBatchSampler", "STRATEGIES", "get_strategy",
           "load_schedule_config", "make_plan", "register", "strategy_names"]
