"""Task specs (aramega_ssum.tasks) are the one home of modality, parsing and metrics: the scorer,
the evaluator, the builders, the leaderboard and its schema read them."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from aramega_ssum.metrics import score_predictions
from aramega_ssum.schema import TASKS
from aramega_ssum.tasks import AUDIO_TASKS, TASK_REGISTRY, get_task


def _flip(monkeypatch, task: str, metric: str, **changes) -> None:
    """Replace one metric spec of `task` in the registry (for this test only)."""
    spec = get_task(task)
    metrics = tuple(dataclasses.replace(m, **changes) if m.name == metric else m for m in spec.metrics)
    monkeypatch.setitem(TASK_REGISTRY, task, dataclasses.replace(spec, metrics=metrics))


RAW = [  # (task, raw model output, reference)
    ("dialect", "Egyptian\nbecause of the vowels", "EGY"),
    ("dialect", "  اللهجة المصرية  ", "EGY"),
    ("dialect", "no idea\nGLF", "GLF"),
    ("dialect", "LEV", "LEV"),
    ("emotion", "happy\nthe voice is bright", "happy"),
    ("emotion", "sad", "angry"),
    ("emotion", "\n\nneutral", "neutral"),
    ("asr", "  ذهب الولد إلى المدرسة \n", "ذهب الولد إلى المدرسة"),
    ("asr", "كتب الطالب", "كتب الطالب الدرس"),
    ("tsum", " ارتفاع الأسعار في السوق\n", "ارتفاع أسعار السوق"),
    ("tsum", "فوز الفريق", "فوز الفريق بالبطولة"),
]


def test_score_on_raw_outputs_equals_score_on_evaluate_predictions():
    from benchmark.evaluate import prediction_records

    rows = [{"id": f"x-{i}", "task": task, "target": ref} for i, (task, _, ref) in enumerate(RAW)]
    outputs = {f"x-{i}": raw for i, (_, raw, _) in enumerate(RAW)}
    parsed = prediction_records(rows, outputs)  # what benchmark.evaluate writes
    raw = [{**rec, "prediction": rec["raw_prediction"]} for rec in parsed]
    assert [r["prediction"] for r in parsed[:4]] == ["EGY", "EGY", "no idea\nGLF", "LEV"]
    assert score_predictions(raw, bootstrap=50) == score_predictions(parsed, bootstrap=50)
    assert score_predictions(raw, bootstrap=0)["tasks"]["dialect"]["accuracy"] == pytest.approx(3 / 4)


def test_scores_hold_exactly_the_spec_metrics():
    records = [{"id": f"x-{i}", "task": task, "prediction": raw, "reference": ref}
               for i, (task, raw, ref) in enumerate(RAW)]
    scores = score_predictions(records, bootstrap=20)["tasks"]
    for task, result in scores.items():
        names = [m.name for m in get_task(task).metrics]
        assert [k for k in result if k in names] == names
        assert set(result["ci95"]) <= set(names)
        for spec in get_task(task).metrics:
            if result[spec.name] is None:
                assert spec.nullable and result[spec.error_key]
            else:
                assert spec.in_range(result[spec.name])


def test_the_scorer_computes_the_families_the_spec_names(monkeypatch):
    from aramega_ssum.tasks import ROUGEL

    records = [{"id": f"x-{i}", "task": task, "prediction": raw, "reference": ref}
               for i, (task, raw, ref) in enumerate(RAW) if task == "asr"]
    assert "rougeL" not in score_predictions(records, bootstrap=0)["tasks"]["asr"]
    spec = get_task("asr")
    monkeypatch.setitem(TASK_REGISTRY, "asr", dataclasses.replace(spec, metrics=(*spec.metrics, ROUGEL)))
    asr = score_predictions(records, bootstrap=20)["tasks"]["asr"]
    assert 0.0 < asr["rougeL"] < 1.0 and "rougeL" in asr["ci95"]
    assert "rouge1" not in asr and list(asr["ci95"]) == ["wer", "cer", "rougeL"]  # only what the spec names


def _entry(name: str, wer: float):
    from leaderboards.entries import Entry, aggregate_score

    metrics = {"asr": {"n": 3, "wer": wer, "cer": wer / 2, "ci95": {"wer": [wer, wer], "cer": [0, 1]}}}
    return Entry(name, Path(f"{name}.json"), {"metrics": metrics}, aggregate_score(metrics), complete=False)


def test_higher_is_better_of_the_headline_drives_the_ranking(monkeypatch):
    from leaderboards.entries import assign_ranks, column_title, task_score

    assert [e.name for e in assign_ranks([_entry("low-wer", 0.2), _entry("high-wer", 0.6)])] == ["low-wer", "high-wer"]
    assert column_title("asr") == "ASR WER ↓" and task_score("asr", {"wer": 0.2}) == pytest.approx(0.8)
    _flip(monkeypatch, "asr", "wer", higher_is_better=True)
    assert [e.name for e in assign_ranks([_entry("low-wer", 0.2), _entry("high-wer", 0.6)])] == ["high-wer", "low-wer"]
    assert column_title("asr") == "ASR WER" and task_score("asr", {"wer": 0.2}) == pytest.approx(0.2)


def test_the_best_bar_follows_the_spec_direction(monkeypatch):
    from leaderboards.plots import bars

    entries = [_entry("low-wer", 0.2), _entry("high-wer", 0.6)]
    palette = {None: "#000000"}
    for e in entries:
        e.data["model"] = {"id": e.name, "base_model": None, "adapter": None}
        e.data["training"] = {}
        palette[e.name] = "#000000"
    assert [b["label"] for b in bars("asr", entries, palette)] == ["low-wer", "high-wer"]
    _flip(monkeypatch, "asr", "wer", higher_is_better=True)
    assert [b["label"] for b in bars("asr", entries, palette)] == ["high-wer", "low-wer"]


def test_leaderboard_ranges_come_from_the_spec(monkeypatch):
    from leaderboards.checks import check_intervals

    scores = {"n": 3, "wer": 0.9, "cer": 0.5, "ci95": {"wer": [0.5, 1.5], "cer": [0.1, 0.9]}}
    problems: list[str] = []
    check_intervals("asr", scores, problems)
    assert problems == []  # WER may exceed 1
    _flip(monkeypatch, "asr", "wer", high=1.0)
    check_intervals("asr", scores, problems)
    assert problems == ["metrics.asr.ci95.wer: [0.5, 1.5] must lie in 0..1"]


def test_committed_schema_metrics_and_breakdown_are_generated_from_the_specs():
    from leaderboards.schema_metrics import breakdown_schema, metrics_schema
    from leaderboards.validate import load_schema

    schema = load_schema()["properties"]
    assert schema["metrics"] == metrics_schema() and schema["breakdown"] == breakdown_schema(), (
        "leaderboards/schema.json is stale: python -c 'from leaderboards.schema_metrics import write_schema; "
        "write_schema()'")
    assert list(metrics_schema()["properties"]) == list(TASKS)


def test_audio_tasks_come_from_the_modality():
    import builders.build
    import builders.frontend
    import builders.sources.hf

    assert AUDIO_TASKS == tuple(t for t in TASKS if get_task(t).modality == "audio") == ("asr", "ssum", "dialect", "emotion")
    assert builders.build.AUDIO_TASKS is builders.frontend.AUDIO_TASKS is builders.sources.hf.AUDIO_TASKS is AUDIO_TASKS


def test_every_headline_is_one_of_the_task_metrics_and_unknown_metrics_are_named():
    for task in TASKS:
        assert get_task(task).headline_metric in get_task(task).metrics
    with pytest.raises(ValueError, match="task 'asr' has no metric 'bleu'; its metrics: wer, cer"):
        get_task("asr").metric("bleu")
