"""The `metrics` and `breakdown` blocks of `leaderboards/schema.json`, generated from the task specs.

Which tasks a results file may report, their metrics, ranges, nullability and headline, and which
breakdown each task has (by its metrics' families) come from `aramega_ssum.tasks` only; the
committed schema holds the generated blocks (a test compares them). After editing a task's
metrics, regenerate them::

    python -c "from leaderboards.schema_metrics import write_schema; write_schema()"
"""
from __future__ import annotations

import json
from pathlib import Path

from aramega_ssum.tasks import TASK_REGISTRY, Metric, Task
from leaderboards.validate import SCHEMA_PATH
HEADLINE_NOTE = "; the task's headline metric in the aggregate score."
CI_DOC = ("95% bootstrap confidence intervals (percentile method over `scoring.bootstrap` resamples of the "
          "examples) of the metrics above: metric -> [low, high].")


def metric_schema(metric: Metric, *, headline: bool) -> dict:
    """One metric's property: its doc, number (or null when nullable), and its range."""
    doc = metric.doc[:-1] + HEADLINE_NOTE if headline else metric.doc
    out: dict = {"description": doc, "type": ["number", "null"] if metric.nullable else "number"}
    for key, bound in (("minimum", metric.low), ("maximum", metric.high)):
        if bound is not None:
            out[key] = int(bound) if float(bound).is_integer() else bound  # 0, as JSON Schema writers do
    return out


def task_schema(task: Task) -> dict:
    """A task's scores object: n, every metric (and `<metric>_error` of a nullable one), ci95."""
    labels = f" (labels {', '.join(task.labels)})" if task.labels else f" ({task.name})"
    properties: dict = {"n": {"description": "Number of scored examples of this task (predictions with this task).",
                              "type": "integer", "minimum": 1}}
    for metric in task.metrics:
        properties[metric.name] = metric_schema(metric, headline=metric.name == task.headline)
        if metric.nullable:
            properties[metric.error_key] = {
                "description": f"Why {metric.title} was not computed (e.g. no local model given); present only "
                               f"when {metric.name} is null.", "type": "string", "maxLength": 2000}
    properties["ci95"] = {
        "description": CI_DOC, "type": "object", "additionalProperties": False,
        "properties": {m.name: {"$ref": "#/$defs/interval", "description": f"[low, high] of `{m.name}`."}
                       for m in task.metrics},
        "required": [m.name for m in task.metrics if not m.nullable]}
    return {"description": f"Scores of {task.description}{labels}.", "type": "object",
            "additionalProperties": False,
            "required": ["n", *(m.name for m in task.metrics), "ci95"], "properties": properties}


def metrics_schema() -> dict:
    """The schema of the results file's `metrics` object: one optional key per task."""
    return {"description": "Scores per task (only the tasks evaluated).", "type": "object", "minProperties": 1,
            "additionalProperties": False,
            "properties": {name: task_schema(task) for name, task in TASK_REGISTRY.items()}}


PER_DIALECT_WER = {
    "description": "WER per dialect of the speaker (from the predictions' dialect field); null where undefined "
                   "(no reference words).",
    "type": "object", "maxProperties": 100,
    "additionalProperties": {"type": ["number", "null"], "minimum": 0},
    "propertyNames": {"minLength": 1, "maxLength": 50}}


def _task_breakdown(task: Task) -> dict | None:
    families = {m.family for m in task.metrics}
    if "classification" in families:
        return {"$ref": "#/$defs/class_breakdown", "description": f"{task.description.capitalize()} breakdown."}
    if "error_rate" in families:
        return {"description": f"{task.description.capitalize()} breakdown.", "type": "object",
                "additionalProperties": False, "properties": {"per_dialect_wer": PER_DIALECT_WER}}
    return None


def breakdown_schema() -> dict:
    """The schema of `breakdown`: per-dialect WER for error-rate tasks, class breakdowns for classification."""
    parts = {name: _task_breakdown(task) for name, task in TASK_REGISTRY.items()}
    return {"description": "Finer-grained scores per task: per-dialect WER for asr, per-class F1 and the "
                           "confusion matrix for classification.", "type": "object", "additionalProperties": False,
            "properties": {name: part for name, part in parts.items() if part is not None}}


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Rewrite the generated blocks of the committed schema from the task specs (the rest is kept)."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["properties"]["metrics"] = metrics_schema()
    schema["properties"]["breakdown"] = breakdown_schema()
    path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
