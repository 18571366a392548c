"""What a plan looks like: task shares per stage, label balance, and batch diversity vs uniform."""
from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import numpy as np

from aramega_ssum.scheduling.base import Plan, ScheduleInput

logger = logging.getLogger(__name__)


def mean_pairwise_distance(x: np.ndarray) -> float:
    """Mean Euclidean distance over the distinct pairs of rows of `x` (needs >= 2 rows)."""
    x = np.asarray(x, dtype=np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    upper = np.triu_indices(len(x), k=1)
    return float(np.sqrt(d2[upper]).mean())


def batch_diversity(embeddings: np.ndarray, batches: list[list[int]]) -> float:
    """Mean over batches of the mean pairwise embedding distance inside each batch."""
    values = [mean_pairwise_distance(embeddings[b]) for b in batches if len(set(b)) >= 2]
    if not values:
        raise ValueError("batch diversity needs batches of at least two distinct examples")
    return float(np.mean(values))


def stage_shares(plan: Plan, inputs: ScheduleInput) -> dict[str, dict[str, Any]]:
    """{stage: {"steps": n, "tasks": {task: share of the stage's examples}}} in stage order."""
    counts: dict[str, Counter] = {}
    steps: Counter = Counter()
    for step in range(plan.steps):
        stage = plan.stage(step)
        steps[stage] += 1
        counts.setdefault(stage, Counter()).update(inputs.tasks[plan.batch(step)].tolist())
    return {stage: {"steps": steps[stage],
                    "tasks": {t: c[t] / sum(c.values()) for t in inputs.task_names() if c[t]}}
            for stage, c in counts.items()}


def label_balance(plan: Plan, inputs: ScheduleInput) -> dict[str, dict[str, Any]]:
    """Per classification task: label shares over the plan and the in-batch spread (max - min count)."""
    out = {}
    for task in inputs.task_names():
        labels = inputs.labels_of(task)
        if not labels:
            continue
        totals: Counter = Counter()
        spreads = []
        for step in range(plan.steps):
            batch = np.asarray(plan.batch(step))
            in_task = inputs.labels[batch[inputs.tasks[batch] == task]].tolist()
            if not in_task:
                continue
            c = Counter(in_task)
            totals.update(c)
            spreads.append(max(c[l] for l in labels) - min(c[l] for l in labels))
        n = sum(totals.values())
        out[task] = {"shares": {l: totals[l] / n for l in labels} if n else {},
                     "data_shares": {l: len(inputs.members(task, l)) / len(inputs.members(task)) for l in labels},
                     "mean_batch_spread": float(np.mean(spreads)) if spreads else None,
                     "max_batch_spread": int(max(spreads)) if spreads else None}
    return out


def diversity_vs_uniform(plan: Plan, inputs: ScheduleInput) -> dict[str, float]:
    """Batch diversity of `plan` and of a uniform plan with the same size and seed, and their ratio."""
    from aramega_ssum.scheduling.registry import make_plan

    if inputs.embeddings is None:
        raise ValueError("batch diversity needs embeddings")
    uniform = make_plan("uniform", inputs, batch_size=plan.batch_size, steps=plan.steps, seed=plan.seed)
    ours = batch_diversity(inputs.embeddings, [plan.batch(s) for s in range(plan.steps)])
    base = batch_diversity(inputs.embeddings, [uniform.batch(s) for s in range(uniform.steps)])
    return {"plan": ours, "uniform": base, "ratio": ours / base}


def summarize(plan: Plan, inputs: ScheduleInput) -> dict[str, Any]:
    """Stage task shares, label balance and (with embeddings) diversity vs uniform."""
    summary: dict[str, Any] = {"strategy": plan.strategy, "steps": plan.steps, "batch_size": plan.batch_size,
                               "stages": stage_shares(plan, inputs), "labels": label_balance(plan, inputs)}
    if inputs.embeddings is not None:
        summary["diversity"] = diversity_vs_uniform(plan, inputs)
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """A human-readable rendering of `summarize`'s dict."""
    lines = [f"strategy {summary['strategy']}: {summary['steps']} steps x batch {summary['batch_size']}",
             "task shares per stage:"]
    for stage, info in summary["stages"].items():
        shares = "  ".join(f"{t} {s:.1%}" for t, s in info["tasks"].items())
        lines.append(f"  {stage:<28} {info['steps']:>6} steps  {shares}")
    lines.append("label balance (plan share / data share; in-batch spread = max - min label count):")
    for task, info in summary["labels"].items():
        shares = "  ".join(f"{l} {info['shares'].get(l, 0):.0%}/{info['data_shares'][l]:.0%}" for l in info["data_shares"])
        spread = _number_or_na(info["mean_batch_spread"])
        lines.append(f"  {task:<8} {shares}  spread mean {spread} max {info['max_batch_spread']}")
    div = summary.get("diversity")
    if div:
        lines.append(f"batch diversity (mean pairwise embedding distance): {div['plan']:.4f} vs uniform "
                     f"{div['uniform']:.4f} -> {div['ratio']:.2f}x")
    else:
        lines.append("batch diversity: not computed (no embeddings)")
    return "\n".join(lines)


def _number_or_na(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
