"""Strategies by name: every module of `aramega_ssum/scheduling/strategies/` is one strategy.

A new strategy is one file `strategies/<name>.py` that decorates its builder with
`@register("<name>", <Config dataclass>)`; it is found on the first lookup, so `--strategy <name>`
works in `benchmark.schedule`, `benchmark.run` and the leaderboard's checks with no other edit.
Registry name = file name = config name (`benchmark/configs/<name>.yaml`, optional).
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import yaml

from aramega_ssum.registry import Registry, parse_options
from aramega_ssum.scheduling.base import Plan, ScheduleInput

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Strategy:
    name: str
    config_cls: type
    build: Callable[..., Any]  # build(inputs, *, batch_size, steps, seed, config) -> planner
    needs_embeddings: bool
    doc: str
    order: int  # place in listings (`strategy_names`, `benchmark.run --strategy all`)


STRATEGIES = Registry("strategy", package="aramega_ssum.scheduling.strategies", plural="strategies",
                      order=lambda name, entry: entry.order)


def register(name: str, config_cls: type, *, needs_embeddings: bool = False, order: int = 100):
    """Decorator registering `build(inputs, *, batch_size, steps, seed, config)` under `name`."""
    def wrap(build: Callable[..., Any]) -> Callable[..., Any]:
        STRATEGIES.add(name, Strategy(name, config_cls, build, needs_embeddings,
                                      (build.__doc__ or "").strip(), order))
        return build
    return wrap


def strategy_names() -> list[str]:
    """Every strategy of the `strategies` package, in listing order."""
    return STRATEGIES.names()


def get_strategy(name: str) -> Strategy:
    """The strategy called `name`; unknown names answer with the closest known ones."""
    return STRATEGIES.get(name, cutoff=0.4)


def make_plan(strategy: str, inputs: ScheduleInput, *, batch_size: int, steps: int, seed: int = 0,
              config: Mapping[str, Any] | Any | None = None) -> Plan:
    """A `Plan` of `steps` global batches of `batch_size` indices into `inputs`.

    `config` is the strategy's options: a mapping (the `schedule:` block of a config file, whose
    optional `strategy` key must match) or the strategy's config dataclass; None = defaults.
    """
    entry = get_strategy(strategy)
    if batch_size < 1 or steps < 1:
        raise ValueError(f"batch_size and steps must be >= 1, got {batch_size} and {steps}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if isinstance(config, Mapping):
        config = dict(config)
        named = config.pop("strategy", strategy)
        if named != strategy:
            raise ValueError(f"config is for strategy {named!r}, not {strategy!r}")
    cfg = parse_options(entry.config_cls, config, where=f"schedule ({strategy})")
    if entry.needs_embeddings and inputs.embeddings is None:
        raise ValueError(f"strategy {strategy!r} needs embeddings: compute them with "
                         "aramega_ssum.scheduling.embeddings.aligner_embeddings (or pass --embeddings)")
    planner = entry.build(inputs, batch_size=batch_size, steps=steps, seed=seed, config=cfg)
    return Plan(strategy, planner, steps=steps, batch_size=batch_size, seed=seed)


def load_schedule_config(path: str | Path | None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The `schedule:` block of a YAML config, with dotted-key overrides (`{"ads.clusters": 16}`).

    `path` None = no file: the strategy's defaults plus the overrides.
    """
    block: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        with path.open(encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        if not isinstance(doc, dict) or not isinstance(doc.get("schedule"), dict):
            raise ValueError(f"{path}: no top-level `schedule:` mapping")
        block = dict(doc["schedule"])
    for dotted, value in (overrides or {}).items():
        target = block
        *parents, last = dotted.split(".")
        for key in parents:
            target = target.setdefault(key, {})
            if not isinstance(target, dict):
                raise ValueError(f"override {dotted!r}: {key!r} is not a mapping in {path}")
        target[last] = value
    return block
