"""Strategies by name. Registry name = module name = config name (`benchmark/configs/<name>.yaml`).

A new strategy is one module in this package that decorates its builder with `@register(...)`,
plus one config file; `get_strategy` imports the module on first use.
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib
import logging
import pkgutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import yaml

from aramega_ssum.scheduling.base import Plan, ScheduleInput, parse_config

logger = logging.getLogger(__name__)

_NOT_STRATEGIES = {"base", "registry", "sampler", "kmeans", "embeddings", "diversity"}


@dataclasses.dataclass(frozen=True)
class Strategy:
    name: str
    config_cls: type
    build: Callable[..., Any]  # build(inputs, *, batch_size, steps, seed, config) -> planner
    needs_embeddings: bool
    doc: str


STRATEGIES: dict[str, Strategy] = {}


def register(name: str, config_cls: type, *, needs_embeddings: bool = False):
    """Decorator registering `build(inputs, *, batch_size, steps, seed, config)` under `name`."""
    def wrap(build: Callable[..., Any]) -> Callable[..., Any]:
        if name in STRATEGIES and STRATEGIES[name].build is not build:
            raise ValueError(f"strategy {name!r} is registered twice")
        STRATEGIES[name] = Strategy(name, config_cls, build, needs_embeddings, (build.__doc__ or "").strip())
        return build
    return wrap


def strategy_names() -> list[str]:
    """Registered names plus strategy modules of this package not imported yet."""
    here = Path(__file__).parent
    found = {m.name for m in pkgutil.iter_modules([str(here)]) if m.name not in _NOT_STRATEGIES}
    return sorted(found | set(STRATEGIES))


def get_strategy(name: str) -> Strategy:
    """The strategy called `name`; unknown names answer with the closest known ones."""
    if name not in STRATEGIES and name in strategy_names():
        importlib.import_module(f"aramega_ssum.scheduling.{name}")
    if name not in STRATEGIES:
        known = strategy_names()
        close = difflib.get_close_matches(name, known, n=2, cutoff=0.4)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise KeyError(f"unknown strategy {name!r}; {hint}known strategies: {', '.join(known)}")
    return STRATEGIES[name]


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
    cfg = parse_config(entry.config_cls, config, where=f"schedule ({strategy})")
    if entry.needs_embeddings and inputs.embeddings is None:
        raise ValueError(f"strategy {strategy!r} needs embeddings: compute them with "
                         "aramega_ssum.scheduling.embeddings.aligner_embeddings (or pass --embeddings)")
    planner = entry.build(inputs, batch_size=batch_size, steps=steps, seed=seed, config=cfg)
    return Plan(strategy, planner, steps=steps, batch_size=batch_size, seed=seed)


def load_schedule_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The `schedule:` block of a YAML config, with dotted-key overrides (`{"ads.clusters": 16}`)."""
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
