"""The leaderboard results file: assemble it from scores and run facts (schema: leaderboards/schema.json).

`build_results(...)` turns the output of `aramega_ssum.metrics.score_predictions` plus what the run
knows (model, adapter, training, data, efficiency, audio counts) into the results dict that the
harness writes as `results.json` and that `python -m leaderboards.validate` checks. Import-light:
only the standard library is imported here (versions are read from package metadata).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import math
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from aramega_ssum.schema import TASKS

logger = logging.getLogger(__name__)

RESULTS_SCHEMA_VERSION = "1.0"
DEFAULT_SCORING = {"bootstrap": 1000, "seed": 0, "bertscore_model": None}
ENV_PACKAGES = ("torch", "transformers", "peft", "datasets")
# Keys of a task's score dict that are moved into `breakdown`, with their name there.
BREAKDOWN_KEYS = {"per_dialect": "per_dialect_wer", "per_class": "per_class_f1", "confusion": "confusion"}
# Keys each block may hold (leaderboards/schema.json is the full definition).
ALLOWED_KEYS = {
    "model": {"id", "revision", "base_model", "dtype", "adapter"},
    "adapter": {"r", "alpha", "dropout", "targets", "sha256", "trainable_params"},
    "training": {"strategy", "schedule_config_sha256", "seed", "steps", "effective_batch"},
    "data": {"dataset", "config", "fingerprint", "split", "n"},
    "scoring": {"bootstrap", "seed", "bertscore_model", "bertscore_layer"},
    "efficiency": {"train_wall_s", "eval_wall_s", "rtfx", "peak_mem_gb", "hardware"},
    "audio": {"truncated", "skipped", "max_audio_seconds"},
    "generation": {"max_new_tokens", "batch_size", "greedy", "eos", "pad"},
}


ADAPTER_WEIGHTS = "adapter_model.safetensors"  # PEFT's weights file: LoRA and its modules_to_save


def sha256_file(path: str | os.PathLike, *, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def adapter_sha256(adapter_dir: str | os.PathLike) -> str:
    """A PEFT adapter folder's identity (run and leaderboard alike): sha256 of its weights file, which
    holds every trained tensor (LoRA and the `modules_to_save`, e.g. an unfrozen aligner)."""
    return sha256_file(Path(adapter_dir) / ADAPTER_WEIGHTS)


def schedule_sha256(config: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a resolved config's `schedule` block (keys sorted): the
    results file's `training.schedule_config_sha256`."""
    block = json.dumps(config.get("schedule", {}), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(block.encode("utf-8")).hexdigest()


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds and a trailing Z (the `created_at` format)."""
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_sha(cwd: str | os.PathLike | None = None) -> str:
    """`git rev-parse HEAD` of the checkout holding this package, or "unknown"."""
    where = Path(cwd) if cwd is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("git rev-parse failed: %s", exc)
        return "unknown"
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else "unknown"


def environment() -> dict[str, str | None]:
    """Library versions and the git sha, as written to `env` (None = package not installed)."""
    from aramega_ssum import __version__

    env: dict[str, str | None] = {"python": platform.python_version()}
    for name in ENV_PACKAGES:
        env[name] = _package_version(name)
    env["aramega_ssum"] = _package_version("aramega-ssum") or __version__
    env["git_sha"] = git_sha()
    return env


def _breakdown_value(key: str, value: Any) -> Any:
    if key == "per_class":  # {label: {precision, recall, f1, support}} -> {label: f1}
        return {label: stats["f1"] for label, stats in value.items()}
    return value


def split_scores(scores: Mapping[str, Any]) -> tuple[dict, dict]:
    """Split `score_predictions` output into (`metrics`, `breakdown`) as in the results file.

    Scalars, `n`, strings (e.g. `bertscore_error`) and `ci95` stay in metrics; `per_dialect`,
    `per_class` (reduced to F1 per label) and `confusion` go to breakdown.
    """
    tasks = scores.get("tasks")
    if not isinstance(tasks, Mapping) or not tasks:
        raise ValueError("scores['tasks'] must be a non-empty mapping of task -> metrics")
    metrics: dict[str, dict] = {}
    breakdown: dict[str, dict] = {}
    for task in sorted(tasks, key=_task_order):
        if task not in TASKS:
            raise ValueError(f"scores['tasks'] has unknown task {task!r}; known: {', '.join(TASKS)}")
        task_metrics, task_breakdown = {}, {}
        for key, value in tasks[task].items():
            if key in BREAKDOWN_KEYS:
                task_breakdown[BREAKDOWN_KEYS[key]] = _breakdown_value(key, value)
            elif key == "ci95":
                task_metrics["ci95"] = {m: list(bounds) for m, bounds in value.items()}
            elif isinstance(value, Mapping):
                raise ValueError(f"scores['tasks'][{task!r}][{key!r}] is a mapping the results "
                                 "format does not know")
            else:
                task_metrics[key] = value
        metrics[task] = task_metrics
        if task_breakdown:
            breakdown[task] = task_breakdown
    return metrics, breakdown


def _task_order(task: str) -> tuple[int, str]:
    return (TASKS.index(task) if task in TASKS else len(TASKS), task)


def predictions_entry(predictions_path: str | os.PathLike,
                      results_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """`{"path", "sha256"}` with the path relative to the results file's folder (POSIX, no '..')."""
    pred = Path(predictions_path).resolve()
    base = Path(results_dir).resolve() if results_dir is not None else pred.parent
    try:
        rel = pred.relative_to(base)
    except ValueError:
        raise ValueError(f"predictions file {pred} must lie inside the results folder {base} "
                         "(its path is stored relative to the results file)") from None
    return {"path": PurePosixPath(*rel.parts).as_posix(), "sha256": sha256_file(pred)}


def build_results(scores: Mapping[str, Any], *, model: Mapping[str, Any], data: Mapping[str, Any],
                  predictions_path: str | os.PathLike, results_dir: str | os.PathLike | None = None,
                  scoring: Mapping[str, Any] | None = None, training: Mapping[str, Any] | None = None,
                  efficiency: Mapping[str, Any] | None = None, audio: Mapping[str, Any] | None = None,
                  env: Mapping[str, Any] | None = None, created_at: str | None = None,
                  generation: Mapping[str, Any] | None = None) -> dict:
    """The results dict (schema_version RESULTS_SCHEMA_VERSION) for one evaluated system.

    scores: output of `score_predictions` on the predictions file, computed with `scoring`
    ({bootstrap, seed, bertscore_model[, bertscore_layer]}; defaults DEFAULT_SCORING).
    model: {id, revision, base_model, dtype, adapter: {r, alpha, dropout, targets, sha256,
    trainable_params} | None}. data: {dataset, config, fingerprint, split[, n]} (n defaults to the
    per-task counts of the scores). training: {strategy, schedule_config_sha256, seed, steps,
    effective_batch} or None for zero-shot. efficiency: {train_wall_s, eval_wall_s, rtfx,
    peak_mem_gb, hardware}. audio: {truncated, skipped, max_audio_seconds}. env defaults to
    `environment()`. predictions_path is stored relative to results_dir (default: its own folder).
    generation (optional): {max_new_tokens, batch_size, greedy, eos, pad}, the decoding settings.
    """
    blocks = {"model": model, "adapter": model.get("adapter"), "training": training, "data": data,
              "scoring": scoring, "efficiency": efficiency, "audio": audio, "generation": generation}
    for name, block in blocks.items():
        _check_keys(name, block)
    metrics, breakdown = split_scores(scores)
    data_out = dict(data)
    data_out.setdefault("n", {task: int(m["n"]) for task, m in metrics.items()})
    results = {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "created_at": created_at or utc_now(),
        "model": {**dict(model), "dtype": _dtype_name(model.get("dtype")),
                  "adapter": _adapter(model.get("adapter"))},
        "training": _optional(training),
        "data": data_out,
        "normalizer": {"version": scores.get("normalizer")},
        "scoring": {**DEFAULT_SCORING, **dict(scoring or {})},
        "metrics": metrics,
        "breakdown": breakdown,
        "efficiency": {**{"train_wall_s": None, "eval_wall_s": None, "rtfx": None,
                          "peak_mem_gb": None, "hardware": hardware_description()},
                       **dict(efficiency or {})},
        "audio": {**{"truncated": 0, "skipped": 0, "max_audio_seconds": None}, **dict(audio or {})},
        "env": dict(env) if env is not None else environment(),
        "predictions": predictions_entry(predictions_path, results_dir),
        "verified": False,
    }
    if generation is not None:
        results["generation"] = dict(generation)
    _check_finite(results, "")
    return results


def _check_keys(name: str, block: Mapping[str, Any] | None) -> None:
    unknown = sorted(set(block or {}) - ALLOWED_KEYS[name])
    if unknown:
        raise ValueError(f"build_results: unknown key(s) {', '.join(unknown)} in {name!r}; "
                         f"allowed: {', '.join(sorted(ALLOWED_KEYS[name]))}")


def _dtype_name(dtype: Any) -> str | None:
    """'bfloat16' for torch.bfloat16 or 'torch.bfloat16'; None stays None."""
    return None if dtype is None else str(dtype).removeprefix("torch.")


def _adapter(adapter: Mapping[str, Any] | None) -> dict | None:
    """Adapter block with `targets` as a list (a single regex string becomes a one-item list)."""
    if adapter is None:
        return None
    out = dict(adapter)
    targets = out.get("targets")
    if isinstance(targets, str):
        out["targets"] = [targets]
    elif targets is not None:
        out["targets"] = list(targets)
    return out


def _optional(value: Mapping[str, Any] | None) -> dict | None:
    return dict(value) if value is not None else None


def _check_finite(node: Any, where: str) -> None:
    if isinstance(node, float) and not math.isfinite(node):
        raise ValueError(f"results{where}: {node} is not a finite number")
    if isinstance(node, Mapping):
        for key, value in node.items():
            _check_finite(value, f"{where}.{key}")
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            _check_finite(value, f"{where}[{i}]")


def hardware_description() -> str:
    """A short description of the machine: GPU name when torch is already imported and sees one,
    else the CPU architecture and core count."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        count = torch.cuda.device_count()
        return f"{count}x {torch.cuda.get_device_name(0)}"
    cpu = platform.processor() or platform.machine() or "unknown cpu"
    return f"CPU {cpu}, {os.cpu_count()} cores"


def write_results(results: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write results as UTF-8 JSON atomically (indent 2, Arabic kept readable, NaN refused)."""
    from aramega_ssum.predictions import write_json_atomic

    return write_json_atomic(path, results, indent=2)
