"""What makes two leaderboard entries the same system run, and which of two came first.

Identity: model id, revision, adapter sha256, strategy, training seed, steps, data fingerprint.
A re-run with another seed (or more steps, or another adapter) is a distinct entry; several
seeds of one system are welcome. Arrival order decides which of two duplicates stays: the file
that was committed to git first (``git log --diff-filter=A``); files not yet committed come after
every committed one, in order of modification time; then ``created_at``; then the file name.
"""
from __future__ import annotations

import logging
import subprocess
from functools import lru_cache
from pathlib import Path

logger = logging.getLogger(__name__)

IDENTITY_FIELDS = ("model.id", "model.revision", "model.adapter.sha256", "training.strategy",
                   "training.seed", "training.steps", "data.fingerprint")
_NOT_COMMITTED = float("inf")


def identity(data: dict) -> tuple:
    """The identity tuple of a schema-valid results dict (zero-shot: strategy "zero-shot")."""
    model, training = data["model"], data.get("training") or {}
    adapter = model.get("adapter") or {}
    return (model["id"], model["revision"], adapter.get("sha256"), training.get("strategy", "zero-shot"),
            training.get("seed"), training.get("steps"), data["data"]["fingerprint"])


def describe(key: tuple) -> str:
    """The identity as text: ``model@revision, adapter 1a2b3c4d, hybrid seed 0, 200 steps, data 9f8e7d6c``."""
    model, revision, adapter, strategy, seed, steps, fingerprint = key
    parts = [f"{model}@{revision}", f"adapter {adapter[:8]}" if adapter else "no adapter", strategy]
    if seed is not None:
        parts[-1] += f" seed {seed}"
    if steps is not None:
        parts.append(f"{steps} steps")
    parts.append(f"data {fingerprint[:8]}")
    return ", ".join(parts)


@lru_cache(maxsize=4096)
def _first_commit_time(path: Path) -> float:
    """Unix time of the commit that added `path` (inf when untracked or outside a repository)."""
    try:
        run = subprocess.run(["git", "log", "--diff-filter=A", "--format=%ct", "--", path.name],
                             cwd=path.parent, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return _NOT_COMMITTED
    stamps = [int(s) for s in run.stdout.split() if s.isdigit()] if run.returncode == 0 else []
    return float(min(stamps)) if stamps else _NOT_COMMITTED


def arrival(path: Path, data: dict) -> tuple:
    """Sort key: earlier arrivals first (first commit time; for untracked files their modification
    time; then created_at; then name)."""
    path = Path(path)
    committed = _first_commit_time(path.resolve())
    try:
        modified = path.stat().st_mtime_ns if committed == _NOT_COMMITTED else 0
    except OSError:
        modified = 0
    return (committed, modified, str(data.get("created_at", "")), path.name)
