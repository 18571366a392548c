"""Leaderboard test fixtures: real predictions files scored by score_predictions, real results.

Other tests/test_leaderboard_*.py modules import `make_entry` from here. The tests in this file
check that a freshly built entry is valid and verified, and the helpers of aramega_ssum.results.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from aramega_ssum.metrics import score_predictions
from aramega_ssum.predictions import write_predictions
from aramega_ssum.results import (RESULTS_SCHEMA_VERSION, build_results, environment, sha256_file,
                                  split_scores, write_results)
from leaderboards.keys import make_key, write_key
from leaderboards.validate import validate_file

BOOTSTRAP = 200
FINGERPRINT = "ab" * 32
NOW = "2026-11-26T12:00:00Z"

ASR = [  # (reference, dialect)
    ("ذهب الولد إلى المدرسة صباحا", "EGY"), ("الجو جميل اليوم في المدينة", "LEV"),
    ("أعلنت الحكومة عن خطة جديدة للتعليم", "MSA"), ("شفت صاحبي في السوق امبارح", "EGY"),
    ("وش رايك نروح البحر بكرة", "GLF"), ("بدي روح عالبيت هلق", "LEV"),
]
SUMMARIES = [
    ("ارتفعت أسعار النفط في الأسواق العالمية اليوم", "ارتفعت أسعار النفط اليوم"),
    ("فاز المنتخب الوطني بكأس البطولة العربية", "فاز المنتخب بالبطولة"),
    ("افتتحت الوزارة مستشفى جديدا في العاصمة", "افتتاح مستشفى في العاصمة"),
    ("تساقطت الأمطار بغزارة على المناطق الشمالية", "أمطار على الشمال"),
]
DIALECTS = [("EGY", "EGY"), ("GLF", "خليجي"), ("LEV", "LEV"), ("NOR", "MSA"), ("MSA", "MSA"), ("EGY", "??")]
EMOTIONS = [("happy", "happy"), ("sad", "حزين"), ("angry", "neutral"), ("neutral", "neutral"),
            ("surprise", "surprise"), ("sad", "sad")]


def _degrade(text: str, level: int, i: int) -> str:
    """Drop one word of every `level`-th example: systems of different quality, deterministic."""
    words = text.split()
    return " ".join(words[:-1]) if level and i % level == 0 and len(words) > 1 else text


def reference_rows() -> list[dict]:
    """The test 'dataset' behind FINGERPRINT: ids, tasks, references (targets) and ASR dialects."""
    return [{"id": r["id"], "task": r["task"], "target": r["reference"], "dialect": r.get("dialect")}
            for r in make_records(0)]


def write_test_keys(folder: Path, fingerprint: str = FINGERPRINT) -> Path:
    """An answer-key folder holding the key of the test references under `fingerprint`."""
    write_key(make_key(reference_rows(), fingerprint=fingerprint, dataset="aramega-ssum"), folder)
    return folder


def make_records(level: int = 2) -> list[dict]:
    """Prediction records for all five tasks (level: 0 = perfect generative outputs)."""
    recs = [{"id": f"asr-{i}", "task": "asr", "prediction": _degrade(ref, level, i), "reference": ref,
             "dialect": dia} for i, (ref, dia) in enumerate(ASR)]
    for task, off in (("ssum", 0), ("tsum", 1)):
        recs += [{"id": f"{task}-{i}", "task": task, "prediction": _degrade(summ, level, i + off),
                  "reference": summ, "raw_prediction": doc[:10]} for i, (doc, summ) in enumerate(SUMMARIES)]
    recs += [{"id": f"dia-{i}", "task": "dialect", "prediction": p, "reference": g}
             for i, (g, p) in enumerate(DIALECTS)]
    recs += [{"id": f"emo-{i}", "task": "emotion", "prediction": p if level else g, "reference": g}
             for i, (g, p) in enumerate(EMOTIONS)]
    return recs


def make_entry(folder: Path, name: str = "entry", *, model_id: str = "tiny", strategy: str | None = "hybrid",
               level: int = 2, fingerprint: str = FINGERPRINT, records: list[dict] | None = None,
               seed: int = 0) -> Path:
    """Write <folder>/<name>/predictions.jsonl and <folder>/<name>.json (a valid results file)."""
    folder.mkdir(parents=True, exist_ok=True)
    pred_path = write_predictions(folder / name / "predictions.jsonl", records or make_records(level))
    scores = score_predictions([json.loads(x) for x in pred_path.read_text("utf-8").splitlines()],
                               bootstrap=BOOTSTRAP, seed=0)
    training = None if strategy is None else {
        "strategy": strategy, "schedule_config_sha256": hashlib.sha256(strategy.encode()).hexdigest(),
        "seed": seed, "steps": 40, "effective_batch": 8}
    adapter = None if strategy is None else {
        "r": 16, "alpha": 32, "dropout": 0.05, "sha256": "cd" * 32, "trainable_params": 4096,
        "targets": ["model.language_model.layers.0.self_attn.q_proj"]}
    results = build_results(
        scores, created_at=NOW, results_dir=folder, predictions_path=pred_path,
        model={"id": model_id, "revision": "tiny-seed0", "base_model": "tiny", "dtype": "float32",
               "adapter": adapter},
        data={"dataset": "aramega-ssum", "config": "multitask", "fingerprint": fingerprint, "split": "test"},
        scoring={"bootstrap": BOOTSTRAP, "seed": 0, "bertscore_model": None}, training=training,
        efficiency={"train_wall_s": 12.5 if training else None, "eval_wall_s": 3.25, "rtfx": 40.0,
                    "peak_mem_gb": 1.5, "hardware": "CPU x86_64, 2 cores"},
        audio={"truncated": 0, "skipped": 0, "max_audio_seconds": None})
    return write_results(results, folder / f"{name}.json")


@pytest.fixture(scope="module")
def entry(tmp_path_factory) -> Path:
    """A valid results file with its predictions, in a fresh results folder."""
    return make_entry(tmp_path_factory.mktemp("results"))


def test_valid_entry_passes_and_is_verified(entry, keys_dir):
    report = validate_file(entry, results_dir=entry.parent, keys_dir=keys_dir)
    assert report.problems == []
    assert report.ok and report.verified


def test_build_results_layout(entry):
    data = json.loads(entry.read_text("utf-8"))
    assert data["schema_version"] == RESULTS_SCHEMA_VERSION == "1.0"
    assert list(data["metrics"]) == ["asr", "ssum", "tsum", "dialect", "emotion"]
    assert data["data"]["n"] == {"asr": 6, "ssum": 4, "tsum": 4, "dialect": 6, "emotion": 6}
    assert set(data["metrics"]["asr"]) == {"n", "wer", "cer", "ci95"}
    assert set(data["breakdown"]["asr"]) == {"per_dialect_wer"}
    assert set(data["breakdown"]["dialect"]) == {"per_class_f1", "confusion"}
    assert data["metrics"]["ssum"]["bertscore_f1"] is None and data["metrics"]["ssum"]["bertscore_error"]
    assert data["predictions"]["path"] == "entry/predictions.jsonl"
    assert data["predictions"]["sha256"] == sha256_file(entry.parent / "entry" / "predictions.jsonl")
    assert data["verified"] is False and data["training"]["strategy"] == "hybrid"


def test_split_scores_moves_breakdowns():
    scores = score_predictions(make_records(), bootstrap=10, seed=1)
    metrics, breakdown = split_scores(scores)
    per_class = scores["tasks"]["emotion"]["per_class"]
    assert breakdown["emotion"]["per_class_f1"] == {k: v["f1"] for k, v in per_class.items()}
    assert breakdown["asr"]["per_dialect_wer"] == scores["tasks"]["asr"]["per_dialect"]
    assert "per_class" not in metrics["emotion"] and metrics["emotion"]["ci95"]
    with pytest.raises(ValueError, match="unknown task 'translation'"):
        split_scores({"tasks": {"translation": {"n": 1}}})


def test_build_results_normalizes_dtype_and_targets(entry):
    scores = score_predictions(make_records(), bootstrap=10, seed=0)
    adapter = {"r": 8, "alpha": 16, "targets": r".*language_model.*\.(q|v)_proj$", "sha256": "0" * 64}
    results = build_results(
        scores, predictions_path=entry.parent / "entry" / "predictions.jsonl", results_dir=entry.parent,
        model={"id": "m", "revision": "r", "base_model": None, "dtype": "torch.bfloat16", "adapter": adapter},
        data={"dataset": "d", "config": "multitask", "fingerprint": FINGERPRINT, "split": "test"})
    assert results["model"]["dtype"] == "bfloat16"
    assert results["model"]["adapter"]["targets"] == [adapter["targets"]]
    assert results["scoring"] == {"bootstrap": 1000, "seed": 0, "bertscore_model": None}
    assert results["efficiency"]["hardware"] and results["env"]["git_sha"]


def test_environment_and_sha256(tmp_path):
    env = environment()
    assert set(env) == {"python", "torch", "transformers", "peft", "datasets", "aramega_ssum", "git_sha"}
    assert re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}|unknown", env["git_sha"])
    assert env["torch"] and env["python"].count(".") == 2
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    assert sha256_file(path) == hashlib.sha256(b"abc").hexdigest()


def test_build_results_refuses_nan_and_outside_predictions(tmp_path, entry):
    scores = score_predictions(make_records(), bootstrap=10, seed=0)
    scores["tasks"]["asr"]["wer"] = float("nan")
    kwargs = dict(model={"id": "m", "revision": "r", "base_model": None, "dtype": "torch.float32", "adapter": None},
                  data={"dataset": "d", "config": "multitask", "fingerprint": FINGERPRINT, "split": "test"})
    with pytest.raises(ValueError, match=r"results\.metrics\.asr\.wer"):
        build_results(scores, predictions_path=entry.parent / "entry" / "predictions.jsonl", **kwargs)
    with pytest.raises(ValueError, match=r"unknown key\(s\) speed in 'efficiency'"):
        build_results(scores, predictions_path=entry.parent / "entry" / "predictions.jsonl",
                      efficiency={"speed": 1.0}, **kwargs)
    with pytest.raises(ValueError, match="must lie inside the results folder"):
        build_results(scores, predictions_path=entry.parent / "entry" / "predictions.jsonl",
                      results_dir=tmp_path, **kwargs)


def test_schema_is_valid_2020_12_and_every_key_documented():
    import jsonschema

    from leaderboards.validate import load_schema

    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    undocumented = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    undocumented.append(f"{path}.{key}")
            for key, sub in node.items():
                walk(sub, f"{path}.{key}")

    walk(schema, "")
    assert undocumented == []
    assert schema["additionalProperties"] is False and schema["properties"]["verified"]["const"] is False


def test_leaderboards_import_only_aramega_ssum():
    """Imports point one way: leaderboards/ reads aramega_ssum/ and files, never benchmark/ or builders/."""
    import ast

    root = Path(__file__).resolve().parents[1]
    found = []
    for path in sorted((root / "leaderboards").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("benchmark", "builders", "tests")]
    assert found == []
