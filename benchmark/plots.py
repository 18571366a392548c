"""Loss curves (PNG) from `train_log.jsonl`: one run, or several overlaid for a comparison.

Per-task training loss is noisy (a global batch holds only a few examples of each task), so each
curve is drawn as its raw points plus a moving average.
"""
from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from aramega_ssum.jsonl import iter_jsonl  # noqa: E402
from aramega_ssum.schema import TASKS  # noqa: E402

log = logging.getLogger(__name__)
SMOOTH = 5


def read_log(path: str | Path) -> tuple[list[dict], list[dict]]:
    """(train records, validation records) of a `train_log.jsonl`; an error names a bad line."""
    path = Path(path)
    train, val = [], []
    for _, record in iter_jsonl(path):
        (val if record.get("type") == "validation" else train).append(record)
    return train, val


def task_series(records: list[dict], task: str | None) -> tuple[list[int], list[float]]:
    """(steps, losses) of one task (None = the overall loss) over the records that have it."""
    steps, values = [], []
    for r in records:
        value = r.get("loss") if task is None else r.get("task_loss", {}).get(task)
        if value is not None:
            steps.append(r["step"])
            values.append(value)
    return steps, values


def moving_average(values: list[float], window: int = SMOOTH) -> list[float]:
    out = []
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1) : i + 1]
        out.append(sum(chunk) / len(chunk))
    return out


def _axes(n: int):
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    flat = axes.ravel().tolist()
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _panels(records: list[dict]) -> list[str | None]:
    present = [t for t in TASKS if any(t in r.get("task_loss", {}) for r in records)]
    return [None, *present]


def _draw(ax, steps, values, *, label: str, color, smooth: bool) -> None:
    if smooth and len(values) > SMOOTH:
        ax.plot(steps, values, ".", color=color, alpha=0.25, markersize=3)
        ax.plot(steps, moving_average(values), "-", color=color, label=label)
    else:
        ax.plot(steps, values, "o-" if len(values) < 30 else "-", color=color, label=label, markersize=3)


def plot_curves(runs: dict[str, list[dict]], path: str | Path, *, title: str, smooth: bool) -> Path:
    """One panel per task (plus "all"), one line per run; saved as PNG at `path`."""
    panels = _panels([r for records in runs.values() for r in records])
    fig, axes = _axes(len(panels))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, task in zip(axes, panels):
        for i, (name, records) in enumerate(runs.items()):
            steps, values = task_series(records, task)
            if values:
                _draw(ax, steps, values, label=name, color=colors[i % len(colors)], smooth=smooth)
        ax.set_title(task or "all tasks")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        if len(runs) > 1:
            ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_run(run_dir: str | Path) -> list[Path]:
    """`loss_train.png` and (when validated) `loss_validation.png` in the run folder."""
    run_dir = Path(run_dir)
    train, val = read_log(run_dir / "train_log.jsonl")
    name = run_dir.name
    out = [plot_curves({name: train}, run_dir / "loss_train.png", title=f"training loss per task ({name})", smooth=True)]
    if val:
        out.append(plot_curves({name: val}, run_dir / "loss_validation.png",
                               title=f"validation loss per task ({name})", smooth=False))
    log.info("plots: %s", ", ".join(str(p) for p in out))
    return out


def plot_compare(run_dirs: list[str | Path], out_dir: str | Path) -> list[Path]:
    """Overlay plots of several runs: `compare_loss_train.png`, `compare_loss_validation.png`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    logs = {Path(d).name: read_log(Path(d) / "train_log.jsonl") for d in run_dirs}
    out = [plot_curves({k: v[0] for k, v in logs.items()}, out_dir / "compare_loss_train.png",
                       title="training loss per task", smooth=True)]
    if any(v[1] for v in logs.values()):
        out.append(plot_curves({k: v[1] for k, v in logs.items()}, out_dir / "compare_loss_validation.png",
                               title="validation loss per task", smooth=False))
    return out
