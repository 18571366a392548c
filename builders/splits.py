"""Group-based train/validation/test assignment: a group (document, recording, speaker) never spans
two splits. Groups are stratified by (source, stratum) — e.g. the label — so every label reaches
every split when it has at least three groups; the order inside a stratum is a seeded hash.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Iterable

from aramega_ssum.schema import SPLITS

DEFAULT_RATIOS = (0.8, 0.1, 0.1)


def _rank(seed: int, group: str) -> str:
    return hashlib.sha256(f"{seed}:split:{group}".encode()).hexdigest()


def split_sizes(n: int, ratios: tuple[float, float, float] = DEFAULT_RATIOS) -> tuple[int, int, int]:
    """How many of `n` groups go to train, validation and test (>= 1 each once n >= 3)."""
    if n < 3:
        return (n, 0, 0)
    total = sum(ratios)
    n_val = max(1, round(n * ratios[1] / total)) if ratios[1] > 0 else 0
    n_test = max(1, round(n * ratios[2] / total)) if ratios[2] > 0 else 0
    return (n - n_val - n_test, n_val, n_test)


def assign_splits(keys: Iterable[tuple[str, str, str]], seed: int = 0,
                  ratios: tuple[float, float, float] = DEFAULT_RATIOS,
                  source_ratios: dict[str, tuple[float, float, float]] | None = None) -> dict[str, str]:
    """Map each group to a split; `keys` are ``(source, stratum, group)`` in input order.

    `source_ratios` overrides `ratios` for the sources it names (a source entry's ``split_ratios``).

    A group seen under several strata is assigned in the first one. Strata with fewer than three
    groups are pooled per source, so small sources still reach validation and test.
    """
    strata: "OrderedDict[tuple[str, str], list[str]]" = OrderedDict()
    seen: set[str] = set()
    for source, stratum, group in keys:
        if group in seen:
            continue
        seen.add(group)
        strata.setdefault((source, stratum), []).append(group)
    pooled: "OrderedDict[tuple[str, str], list[str]]" = OrderedDict()
    for (source, stratum), groups in strata.items():
        key = (source, stratum) if len(groups) >= 3 else (source, "\0pooled")
        pooled.setdefault(key, []).extend(groups)
    assignment: dict[str, str] = {}
    for (source, _), groups in pooled.items():
        ordered = sorted(groups, key=lambda g: _rank(seed, g))
        n_train, n_val, _ = split_sizes(len(ordered), (source_ratios or {}).get(source, ratios))
        for index, group in enumerate(ordered):
            split = SPLITS[0] if index < n_train else SPLITS[1] if index < n_train + n_val else SPLITS[2]
            assignment[group] = split
    return assignment
