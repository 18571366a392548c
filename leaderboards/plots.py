"""Plots (PNG, matplotlib Agg): each task's headline metric, one horizontal bar per entry, with CIs.

Every entry has its own row (its label on its own tick), best first. A system keeps one colour in
every plot: colours are given once per board, to systems (model ids; seeds of one system share
it) in ranking order; reference baselines are grey and hatched. The value is printed at the end
of each bar, so a 0 shows as a visible stub with "0.000" beside it; an entry that does not report
the task has no row at all.
"""
from __future__ import annotations

import io
import logging
from collections import Counter

from aramega_ssum.schema import TASKS
from aramega_ssum.tasks import get_task
from leaderboards.entries import Entry, best_first, headline
from leaderboards.render import GENERATOR

logger = logging.getLogger(__name__)

BASELINE_COLOUR = "#9a9a9a"
STUB = 0.008  # fraction of the axis drawn for a value of 0


def colours(entries: list[Entry]) -> dict[str, str]:
    """{model id: colour}, assigned in ranking order over the whole board (tab10, then tab20)."""
    import matplotlib

    palette = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab10"].colors]
    palette += [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab20"].colors[1::2]]
    out: dict[str, str] = {}
    for e in sorted(entries, key=lambda e: (e.rank, e.name)):
        model = e.data["model"]["id"]
        if model not in out:
            out[model] = BASELINE_COLOUR if e.kind == "baseline" else palette[len(
                [m for m in out.values() if m != BASELINE_COLOUR]) % len(palette)]
    return out


def _labels(entries: list[Entry]) -> dict[str, str]:
    """{entry name: tick label}: the model id when plain ASCII (matplotlib does not shape Arabic)
    and unique among the entries shown, else the entry's own (unique) name."""
    base = {e.name: e.data["model"]["id"] if e.data["model"]["id"].isascii() else e.name for e in entries}
    counts = Counter(base.values())
    return {name: label if counts[label] == 1 else name for name, label in base.items()}


def bars(task: str, entries: list[Entry], palette: dict[str, str]) -> list[dict]:
    """One bar per entry reporting `task`, best first: label, value, drawn length, CI, colour, hatch."""
    shown = best_first(task, entries)
    names = _labels(shown)
    values = [e.headline(task)[0] for e in shown]
    top = max([(e.headline(task)[1] or [0, v])[1] for e, v in zip(shown, values)] + values + [1e-9]) * 1.18
    return [{"label": names[e.name], "value": v, "length": max(v, STUB * top), "top": top,
             "ci": e.headline(task)[1] or [v, v], "colour": palette[e.data["model"]["id"]],
             "hatch": "//" if e.kind == "baseline" else None} for e, v in zip(shown, values)]


def plot_task(task: str, entries: list[Entry], palette: dict[str, str]) -> bytes:
    """One PNG of the entries reporting `task`: bars = headline metric, error bars = 95% CI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    title, higher = headline(task).title, headline(task).higher_is_better
    specs = bars(task, entries, palette)
    top = specs[0]["top"] if specs else 1.0
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.36 * len(specs)), dpi=100)
    ys = list(range(len(specs)))[::-1]
    for y, bar in zip(ys, specs):
        value, (lo, hi) = bar["value"], bar["ci"]
        ax.barh(y, bar["length"], height=0.7, color=bar["colour"], hatch=bar["hatch"],
                edgecolor="#555555" if bar["hatch"] else "none", linewidth=0.5)
        ax.errorbar(value, y, xerr=[[max(0.0, value - lo)], [max(0.0, hi - value)]], fmt="none",
                    ecolor="#222222", capsize=3, linewidth=1)
        ax.text(max(value, hi) + top * 0.01, y, f"{value:.3f}", va="center", fontsize=8)
    ax.set_yticks(ys, [bar["label"] for bar in specs], fontsize=8)
    ax.set_xlim(0, top)
    ax.set_xlabel(f"{title} ({'higher' if higher else 'lower'} is better; bars: 95% CI)")
    ax.set_title(f"{get_task(task).title}: {title} per entry")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": GENERATOR})
    plt.close(fig)
    return buffer.getvalue()


def plot_tasks(entries: list[Entry]) -> dict[str, bytes]:
    """{task: PNG bytes} for every task that some entry covers (one colour per system throughout)."""
    palette = colours(entries)
    return {task: plot_task(task, entries, palette) for task in TASKS
            if any(e.headline(task) is not None for e in entries)}
