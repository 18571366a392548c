"""Consistency checks of a schema-valid results dict: what JSON Schema cannot say.

Each check appends one message per problem, "key.path: what is wrong", to a list.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Iterable

from aramega_ssum.registry import did_you_mean
from aramega_ssum.schema import TASKS
from aramega_ssum.scheduling import strategy_names
from aramega_ssum.tasks import Metric, get_task

logger = logging.getLogger(__name__)

LEADERBOARD_SPLIT = "test"
FUTURE_SLACK = dt.timedelta(days=1)


def dotted(path: Iterable[Any]) -> str:
    """A key path as text: metrics.asr.ci95.wer[0]; "(root)" for the document itself."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def known_strategies() -> tuple[str, ...]:
    """Strategy names of the aramega_ssum.scheduling registry (its `strategies/` package)."""
    return tuple(strategy_names())


def check_created_at(data: dict, problems: list[str], now: dt.datetime | None = None) -> None:
    """created_at is a real UTC date-time and not in the future."""
    text = data["created_at"].rstrip("Z")
    try:
        when = dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        problems.append(f"created_at: {data['created_at']!r} is not a valid date-time")
        return
    now = now or dt.datetime.now(dt.timezone.utc)
    if when > now + FUTURE_SLACK:
        problems.append(f"created_at: {data['created_at']} lies in the future")


def check_counts(data: dict, problems: list[str]) -> None:
    """data.n lists exactly the tasks of metrics, with the same counts."""
    n, metrics = data["data"]["n"], data["metrics"]
    for task in TASKS:
        if task in metrics and task not in n:
            problems.append(f"data.n.{task}: missing; metrics.{task} has n={metrics[task]['n']}")
        elif task in n and task not in metrics:
            problems.append(f"metrics.{task}: missing; data.n.{task} says {n[task]} examples were evaluated")
        elif task in n and n[task] != metrics[task]["n"]:
            problems.append(f"data.n.{task}: {n[task]} disagrees with metrics.{task}.n = {metrics[task]['n']}")
    for task in data["breakdown"]:
        if task not in metrics:
            problems.append(f"breakdown.{task}: breakdown for a task that has no metrics")


def check_intervals(task: str, scores: dict, problems: list[str]) -> None:
    """Each ci95 interval is ordered, in the metric's range (its spec in aramega_ssum.tasks), and
    belongs to a computed metric."""
    for metric, bounds in scores["ci95"].items():
        where = f"metrics.{task}.ci95.{metric}"
        if scores.get(metric) is None:
            problems.append(f"{where}: interval given for a metric that is null")
            continue
        lo, hi = bounds
        spec = get_task(task).metric(metric)
        if lo > hi:
            problems.append(f"{where}: low {lo} is above high {hi}")
        elif not (spec.in_range(lo) and spec.in_range(hi)):
            problems.append(f"{where}: [{lo}, {hi}] must lie {spec.range_text()}")


def check_nullable(task: str, spec: Metric, scores: dict, problems: list[str]) -> None:
    """A nullable metric (bertscore_f1) is null exactly when its error key (bertscore_error) says why;
    a number has its interval."""
    metric, key = spec.name, spec.error_key
    value, error = scores.get(metric), scores.get(key)
    if value is None and not error:
        problems.append(f"metrics.{task}.{metric}: null without metrics.{task}.{key} saying why")
    elif value is not None and error is not None:
        problems.append(f"metrics.{task}.{key}: present although {metric} = {value}")
    elif value is not None and metric not in scores["ci95"]:
        problems.append(f"metrics.{task}.ci95.{metric}: required key is missing ({metric} is set)")


def check_labels(data: dict, problems: list[str]) -> None:
    """per_class_f1 only names labels of the task's inventory."""
    for task, parts in data["breakdown"].items():
        labels = set(get_task(task).labels)
        for label in parts.get("per_class_f1", {}):
            if labels and label not in labels:
                problems.append(f"breakdown.{task}.per_class_f1.{label}: not a {task} label "
                                f"({', '.join(get_task(task).labels)})")


def check_training(data: dict, problems: list[str]) -> None:
    """A known strategy; no training time for a zero-shot entry."""
    training = data["training"]
    if training is None:
        if data["efficiency"]["train_wall_s"] not in (None, 0, 0.0):
            problems.append("efficiency.train_wall_s: set although training is null (zero-shot entry)")
        return
    names = known_strategies()
    if training["strategy"] not in names:
        hint = did_you_mean(training["strategy"], names, cutoff=0.5)
        hint = f"{hint} " if hint else ""
        problems.append(f"training.strategy: unknown strategy {training['strategy']!r}; {hint}"
                        f"known: {', '.join(names)}")


def check_consistency(data: dict, problems: list[str], *, now: dt.datetime | None = None) -> None:
    """All cross-field checks of a schema-valid results dict."""
    check_created_at(data, problems, now)
    if data["data"]["split"] != LEADERBOARD_SPLIT:
        problems.append(f"data.split: leaderboard entries are scored on the {LEADERBOARD_SPLIT} split, "
                        f"got {data['data']['split']!r}")
    check_counts(data, problems)
    for task, scores in data["metrics"].items():
        check_intervals(task, scores, problems)
        for spec in get_task(task).metrics:
            if spec.nullable:
                check_nullable(task, spec, scores, problems)
    check_labels(data, problems)
    check_training(data, problems)
