"""Plots (PNG, matplotlib Agg): each task's headline metric by strategy, one bar per entry, with CIs."""
from __future__ import annotations

import io
import logging

from aramega_ssum.schema import TASKS
from leaderboards.entries import HEADLINE, STRATEGY_ORDER, TASK_TITLES, Entry
from leaderboards.render import GENERATOR

logger = logging.getLogger(__name__)


def _label(entry: Entry) -> str:
    """Legend label: the model id when it is plain ASCII (matplotlib does not shape Arabic)."""
    model = entry.data["model"]["id"]
    return model if model.isascii() else entry.name


def _strategies(entries: list[Entry]) -> list[str]:
    present = {e.strategy for e in entries}
    return [s for s in STRATEGY_ORDER if s in present] + sorted(present - set(STRATEGY_ORDER))


def plot_task(task: str, entries: list[Entry]) -> bytes:
    """One PNG: x = strategy, bars = entries (grouped by legend label), error bars = 95% CI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric, title, higher = HEADLINE[task]
    strategies = _strategies(entries)
    labels = sorted({_label(e) for e in entries})
    width = 0.8 / max(len(labels), 1)
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    for k, label in enumerate(labels):
        xs, ys, lows, highs = [], [], [], []
        for e in entries:
            value = e.headline(task)
            if _label(e) != label or value is None:
                continue
            xs.append(strategies.index(e.strategy) + (k - (len(labels) - 1) / 2) * width)
            ys.append(value[0])
            ci = value[1] or [value[0], value[0]]
            lows.append(max(0.0, value[0] - ci[0]))
            highs.append(max(0.0, ci[1] - value[0]))
        if xs:
            ax.bar(xs, ys, width=width * 0.95, yerr=[lows, highs], capsize=3, label=label)
    ax.set_xticks(range(len(strategies)), strategies)
    ax.set_ylabel(f"{title} ({'higher' if higher else 'lower'} is better)")
    ax.set_title(f"{TASK_TITLES[task]}: {title} by strategy")
    if len(labels) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": GENERATOR})
    plt.close(fig)
    return buffer.getvalue()


def plot_tasks(entries: list[Entry]) -> dict[str, bytes]:
    """{task: PNG bytes} for every task that some entry covers."""
    return {task: plot_task(task, entries) for task in TASKS
            if any(e.headline(task) is not None for e in entries)}
