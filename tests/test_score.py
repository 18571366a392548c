"""The scoring CLI, run as a real subprocess: good input, every bad-input case, atomic --out."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aramega_ssum.text import NORMALIZER_VERSION

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "benchmark" / "examples" / "predictions.jsonl"


def run_score(*args, cwd=ROOT):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "benchmark.score", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


def line(i, task="asr", **overrides):
    rec = {"id": f"x-{i}", "task": task, "prediction": "ذهب الولد", "reference": "ذهب الولد الى البيت"}
    rec.update(overrides)
    return json.dumps(rec, ensure_ascii=False)


def write(tmp_path, *lines, name="preds.jsonl"):
    path = tmp_path / name
    path.write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")
    return path


def test_examples_score_to_one_json_object(tmp_path):
    out = tmp_path / "sub" / "scores.json"
    proc = run_score(EXAMPLES, "--bootstrap", 100, "--seed", 1, "--output", out)
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(proc.stdout)  # stdout holds exactly one JSON object
    assert scores["normalizer"] == NORMALIZER_VERSION
    assert list(scores["tasks"]) == ["asr", "ssum", "tsum", "dialect", "emotion"]
    assert scores["tasks"]["asr"]["per_dialect"] and 0 < scores["tasks"]["asr"]["wer"] < 1
    assert scores["tasks"]["ssum"]["bertscore_f1"] is None and scores["tasks"]["ssum"]["bertscore_error"]
    assert scores["tasks"]["dialect"]["invalid_rate"] > 0 and scores["tasks"]["emotion"]["invalid_rate"] > 0
    assert json.loads(out.read_text(encoding="utf-8")) == scores
    assert [p.name for p in out.parent.iterdir()] == ["scores.json"]  # no temp file left behind


def test_table_output():
    proc = run_score(EXAMPLES, "--bootstrap", 50, "--table")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"normalizer: {NORMALIZER_VERSION}")
    assert "wer" in proc.stdout and "macro_f1" in proc.stdout and "95% CI" in proc.stdout


BAD_CASES = {
    "malformed-json": ([line(1), line(2), '{"id": "x-3", "task": '], ":3:", "malformed JSON"),
    "missing-field": ([line(1), json.dumps({"id": "x-2", "task": "asr", "prediction": "a"})], ":2:", "reference"),
    "unknown-task": ([line(1), line(2, task="translation")], ":2:", "unknown task 'translation'"),
    "empty-file": ([], "preds.jsonl", "empty"),
    "duplicate-id": ([line(1), line(2), line(1)], ":3:", "duplicate id 'x-1' (first on line 1)"),
    "not-an-object": ([line(1), "[1, 2]"], ":2:", "JSON object"),
    "bad-reference-label": ([line(1), line(2), line(3, task="emotion", reference="ecstatic")], ":3:", "not a valid emotion label"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_exits_2_naming_the_line(tmp_path, case):
    lines, where, what = BAD_CASES[case]
    path = write(tmp_path, *lines)
    out = tmp_path / "scores.json"
    out.write_text("previous", encoding="utf-8")
    proc = run_score(path, "--output", out, "--overwrite", "--bootstrap", 10)
    assert proc.returncode == 2
    assert proc.stdout == ""
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1 and where in message and what in message, message
    assert out.read_text(encoding="utf-8") == "previous"  # --out untouched on failure
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preds.jsonl", "scores.json"]


def test_out_is_atomic(tmp_path, monkeypatch):
    """A write that fails midway leaves the old file intact and no temporary file behind."""
    from aramega_ssum import predictions

    target = tmp_path / "scores.json"
    target.write_text('{"old": true}\n', encoding="utf-8")
    with pytest.raises(ValueError):
        predictions.write_json_atomic(target, {"value": float("nan")})  # not valid JSON: refused
    boom = RuntimeError("disk full")

    def failing_replace(src, dst):
        raise boom

    monkeypatch.setattr(predictions.os, "replace", failing_replace)
    with pytest.raises(RuntimeError, match="disk full"):
        predictions.write_json_atomic(target, {"new": True})
    assert target.read_text(encoding="utf-8") == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["scores.json"]


def test_read_predictions_keeps_optional_fields(tmp_path):
    from aramega_ssum.predictions import read_predictions

    path = write(tmp_path, line(1, dialect="EGY", raw_prediction="<think>x</think>ذهب"), "", line(2))
    records = read_predictions(path)
    assert [r["id"] for r in records] == ["x-1", "x-2"]
    assert records[0]["dialect"] == "EGY" and records[0]["raw_prediction"].startswith("<think>")
