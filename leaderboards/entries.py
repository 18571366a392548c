"""Ranked leaderboard entries: loading through the validator, task scores, aggregate, ranks.

Aggregate score: the mean over the five tasks of a 0..1 score per task from the task's headline
metric spec (`aramega_ssum.tasks`): the value when higher is better (ROUGE-L F1 for ssum and
tsum, macro-F1 for dialect and emotion), 1 - value clipped to 0..1 when lower is (WER for asr).
Entries covering every task are ranked first, by aggregate; entries covering fewer tasks follow (their aggregate is over
the tasks they cover and is not comparable). Ties (equal to 1e-6) share a rank.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aramega_ssum.schema import TASKS
from aramega_ssum.tasks import Metric, get_task
from leaderboards.identity import arrival, describe, identity
from leaderboards.keys import DEFAULT_KEYS_DIR
from leaderboards.validate import validate_file

EMBEDDED_MODELS = {"tiny"}  # the committed embedded base (benchmark/tiny_base)
BASELINE_PREFIX = "baseline/"  # model ids of the reference baselines (python -m benchmark.baselines)


@dataclass
class Entry:
    """One ranked submission."""

    name: str
    path: Path
    data: dict
    aggregate: float | None
    complete: bool
    rank: int = 0

    @property
    def strategy(self) -> str:
        training = self.data["training"]
        return training["strategy"] if training else "zero-shot"

    @property
    def embedded(self) -> bool:
        model = self.data["model"]
        return model["id"] in EMBEDDED_MODELS or model.get("base_model") in EMBEDDED_MODELS

    @property
    def kind(self) -> str:
        """"baseline" (a reference floor: no weights, no adapter, no training), "embedded" (the
        embedded tiny base) or "system"."""
        model = self.data["model"]
        if (model["id"].startswith(BASELINE_PREFIX) and model["base_model"] is None and model["adapter"] is None
                and self.data["training"] is None):
            return "baseline"
        return "embedded" if self.embedded else "system"

    def headline(self, task: str) -> tuple[float, list[float] | None] | None:
        """(value, ci95) of the task's headline metric, or None when the task is not covered."""
        scores = self.data["metrics"].get(task)
        if scores is None:
            return None
        metric = headline(task).name
        return scores[metric], scores["ci95"].get(metric)


def headline(task: str) -> Metric:
    """The spec of the task's headline metric (its column, plot and share of the aggregate)."""
    return get_task(task).headline_metric


def column_title(task: str, *, arrow: bool = True) -> str:
    """"ASR WER ↓": the task's title and headline metric, ↓ when lower is better."""
    metric = headline(task)
    return f"{get_task(task).title} {metric.title}{'' if metric.higher_is_better or not arrow else ' ↓'}"


def best_first(task: str, entries: list[Entry]) -> list[Entry]:
    """The entries reporting `task`, best headline value first (the spec's direction), then rank, name."""
    sign = -1 if headline(task).higher_is_better else 1
    shown = [e for e in entries if e.headline(task) is not None]
    return sorted(shown, key=lambda e: (sign * e.headline(task)[0], e.rank, e.name))


def task_score(task: str, scores: dict) -> float:
    """The task's 0..1 contribution to the aggregate score."""
    metric = headline(task)
    value = float(scores[metric.name])
    return value if metric.higher_is_better else min(1.0, max(0.0, 1.0 - value))


def aggregate_score(metrics: dict) -> float | None:
    """Mean over the covered tasks of task_score (None when no task is covered)."""
    parts = [task_score(task, metrics[task]) for task in TASKS if task in metrics]
    return sum(parts) / len(parts) if parts else None


def assign_ranks(entries: list[Entry]) -> list[Entry]:
    """Sort (complete first, aggregate descending, name) and give competition ranks (1, 1, 3)."""
    entries.sort(key=lambda e: (not e.complete, -(e.aggregate or 0.0), e.name))
    previous = None
    for position, entry in enumerate(entries, start=1):
        key = (entry.complete, round(entry.aggregate or 0.0, 6))
        entry.rank = entries[position - 2].rank if key == previous else position
        previous = key
    return entries


def load_entries(results_dir: Path, keys_dir: Path | None = DEFAULT_KEYS_DIR
                 ) -> tuple[list[Entry], list[tuple[Path, list[str]]]]:
    """Validated entries of results_dir (ranked) and the skipped files with their problems.

    Duplicates (same `leaderboards.identity.identity`) never knock out the earlier entry: files are
    taken in arrival order and a later duplicate is skipped, naming the entry it repeats.
    """
    valid, rejected = [], []
    for path in sorted(results_dir.glob("*.json")):
        report = validate_file(path, results_dir=None, keys_dir=keys_dir)
        if report.ok:
            valid.append((path, report.data))
        else:
            rejected.append((path, report.problems))
    entries, seen = [], {}
    for path, data in sorted(valid, key=lambda item: arrival(*item)):
        key = identity(data)
        if key in seen:
            rejected.append((path, [f"duplicate of {seen[key]} ({describe(key)}); the earlier entry keeps "
                                    "its place and this one is not ranked"]))
            continue
        seen[key] = path
        metrics = data["metrics"]
        entries.append(Entry(path.stem, path, data, aggregate_score(metrics), all(t in metrics for t in TASKS)))
    rejected.sort(key=lambda item: item[0])
    return assign_ranks(entries), rejected
