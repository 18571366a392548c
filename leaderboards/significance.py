"""Is an entry's headline metric significantly different from the best entry's?

For each task, among the entries on the same data fingerprint that report it, the best entry by the
headline metric is compared with every other one by a paired bootstrap of the metric difference
(`aramega_ssum.metrics.paired_bootstrap`: the same resamples of the same ids for both systems;
two-sided p-value). The answer keys make every entry of a task cover the same ids, so the pair
always exists; when it cannot be formed the mark says so instead of guessing from intervals.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from aramega_ssum.schema import TASKS
from leaderboards.entries import Entry, best_first, headline

logger = logging.getLogger(__name__)

ALPHA = 0.05
RESAMPLES = 1000


@dataclass(frozen=True)
class Mark:
    """How one entry's headline value of a task compares with the best entry's."""

    kind: str  # "best" | "worse" (significant, p < ALPHA) | "tie" (not significant) | "unpaired"
    p_value: float | None = None
    best: str | None = None  # the best entry's name

    def symbol(self) -> str:
        return {"best": "★", "worse": "▼", "tie": "≈", "unpaired": "?"}[self.kind]

    def describe(self) -> str:
        if self.kind == "best":
            return "best entry on this metric"
        if self.kind == "unpaired":
            return f"not compared with {self.best} (no common ids)"
        verdict = "significantly worse than" if self.kind == "worse" else "not significantly different from"
        return f"{verdict} {self.best} (paired bootstrap, p = {self.p_value:.3f})"


LEGEND = (f"★ best entry on the metric (among entries on the same data); ▼ significantly worse than the best "
          f"(paired bootstrap of the difference on the same ids, {RESAMPLES} resamples, two-sided p < {ALPHA}); "
          f"≈ not significantly different from the best; ? could not be paired.")


def _records(entry: Entry) -> list[dict]:
    from aramega_ssum.predictions import read_predictions

    return read_predictions(entry.path.parent / entry.data["predictions"]["path"])


def _best(task: str, group: list[Entry]) -> Entry:
    return best_first(task, group)[0]


def compare_to_best(entries: list[Entry]) -> dict[tuple[str, str], Mark]:
    """{(entry name, task): Mark} for every entry and task it reports."""
    from aramega_ssum.metrics import paired_bootstrap
    from aramega_ssum.predictions import PredictionsError

    cache: dict[str, list[dict]] = {}
    marks: dict[tuple[str, str], Mark] = {}
    for task in TASKS:
        metric = headline(task).name
        groups: dict[str, list[Entry]] = {}
        for e in entries:
            if e.headline(task) is not None:
                groups.setdefault(e.data["data"]["fingerprint"], []).append(e)
        for group in groups.values():
            best = _best(task, group)
            marks[best.name, task] = Mark("best", best=best.name)
            for e in group:
                if e is best:
                    continue
                for x in (e, best):
                    if x.name not in cache:
                        cache[x.name] = _records(x)
                try:
                    result = paired_bootstrap(cache[e.name], cache[best.name], task, metric, n=RESAMPLES, seed=0)
                except (PredictionsError, ValueError) as exc:
                    logger.warning("%s vs %s on %s: %s", e.name, best.name, task, exc)
                    marks[e.name, task] = Mark("unpaired", best=best.name)
                    continue
                p = result["p_value"]
                kind = "worse" if p is not None and p < ALPHA else "tie"
                marks[e.name, task] = Mark(kind, p, best.name)
    return marks
