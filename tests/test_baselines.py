"""python -m benchmark.baselines on a real build: predictions scored by the usual code, each
baseline a valid (verified) leaderboard run, deterministic, never over a foreign file."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from aramega_ssum.predictions import read_predictions
from benchmark.baselines import BASELINES, lead, main, majority_labels, read_rows
from leaderboards.keys import build_key, write_key
from leaderboards.validate import validate_file


@pytest.fixture(scope="module")
def baselines(mini_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("baselines")
    assert main(["--data", str(mini_dataset), "--output-dir", str(out), "--bootstrap", "100"]) == 0
    keys = write_key(build_key(mini_dataset), tmp_path_factory.mktemp("keys")).parent
    return out, keys


def test_each_baseline_is_a_verified_run(baselines):
    out, keys = baselines
    tasks = {"majority": {"dialect", "emotion"}, "uniform-random": {"dialect", "emotion"},
             "lead-1": {"tsum"}, "lead-2": {"tsum"}, "lead-2-oracle-transcript": {"ssum"}}
    for name in BASELINES:
        results = json.loads((out / name / "results.json").read_text("utf-8"))
        assert results["model"]["id"] == f"baseline/{name}" and results["training"] is None
        assert set(results["metrics"]) == tasks[name]  # never ASR
        report = validate_file(out / name / "results.json", results_dir=None, keys_dir=keys)
        assert report.ok and report.verified, (name, report.problems)


def test_predictions_are_the_baselines(mini_dataset, baselines):
    out, _ = baselines
    train, test = read_rows(mini_dataset, "train"), read_rows(mini_dataset, "test")
    majority = majority_labels(train)
    counts = Counter(r["label"] for r in train if r["task"] == "dialect")
    assert counts[majority["dialect"]] == max(counts.values())
    records = read_predictions(out / "majority" / "predictions.jsonl")
    assert {r["prediction"] for r in records if r["task"] == "emotion"} == {majority["emotion"]}
    documents = {r["id"]: r["text"] for r in test if r["task"] == "tsum"}
    for rec in read_predictions(out / "lead-1" / "predictions.jsonl"):
        assert documents[rec["id"]].startswith(rec["prediction"]) and rec["prediction"].endswith((".", "؟", "!", "?"))
    transcripts = {r["id"]: r["transcription"] for r in test if r["task"] == "ssum"}
    for rec in read_predictions(out / "lead-2-oracle-transcript" / "predictions.jsonl"):
        assert rec["prediction"] == lead(transcripts[rec["id"]], 2) and rec["prediction"] != transcripts[rec["id"]]
    assert lead("أ. ب! ج؟ د", 2) == "أ. ب!"


def test_seeded_and_deterministic(mini_dataset, baselines, tmp_path):
    out, _ = baselines
    assert main(["--data", str(mini_dataset), "--output-dir", str(tmp_path), "--bootstrap", "100",
                 "--baselines", "uniform-random"]) == 0
    same = (tmp_path / "uniform-random" / "predictions.jsonl").read_bytes()
    assert same == (out / "uniform-random" / "predictions.jsonl").read_bytes()
    assert main(["--data", str(mini_dataset), "--output-dir", str(tmp_path), "--bootstrap", "100",
                 "--baselines", "uniform-random", "--seed", "7"]) == 0
    assert (tmp_path / "uniform-random" / "predictions.jsonl").read_bytes() != same
    revision = json.loads((tmp_path / "uniform-random" / "results.json").read_text("utf-8"))["model"]["revision"]
    assert revision == "v1-seed7"


def test_refuses_foreign_output_and_missing_data(mini_dataset, tmp_path, capsys):
    (tmp_path / "lead-1").mkdir()
    (tmp_path / "lead-1" / "results.json").write_text('{"model": {"id": "my-org/model"}}', encoding="utf-8")
    assert main(["--data", str(mini_dataset), "--output-dir", str(tmp_path), "--baselines", "lead-1"]) == 2
    assert "was not written by python -m benchmark.baselines" in capsys.readouterr().err
    assert json.loads((tmp_path / "lead-1" / "results.json").read_text())["model"]["id"] == "my-org/model"
    assert main(["--data", str(tmp_path / "nowhere"), "--output-dir", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: no test-*.parquet under")


def test_cascade_lead2_joins_each_document_to_its_first_two_sentences():
    """perf/eval_cascade_lead2.py on the committed hybrid entry: its reference side is the oracle baseline."""
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "perf.eval_cascade_lead2"], cwd=root, capture_output=True,
                          text=True, check=True)
    heard, oracle = (float(x) for x in re.findall(r"ROUGE-L (\d\.\d+) over 26 documents", proc.stdout))
    entry = json.loads((root / "leaderboards/results/baseline-lead-2-oracle-transcript.json").read_text())
    assert oracle == pytest.approx(entry["metrics"]["ssum"]["rougeL"], abs=5e-5)
    assert 0.0 < heard < oracle
    simulated = [float(x) for x in re.findall(r"WER \d\.\d: ROUGE-L (\d\.\d+)", proc.stdout)]
    assert len(simulated) == 9 and simulated[0] == oracle  # no wrong words: the oracle itself
    assert simulated == sorted(simulated, reverse=True)  # more wrong words, less overlap
