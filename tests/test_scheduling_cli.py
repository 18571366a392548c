"""`python -m benchmark.schedule` on a real (small) built dataset."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from aramega_ssum.dataset import load_split
from benchmark.schedule import main


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_tpc_plan_file_and_summary(mini_dataset, tmp_path, capsys):
    out = tmp_path / "tpc.jsonl"
    assert main(["--strategy", "tpc", "--data", str(mini_dataset), "--max-steps", "12", "--batch-size", "6",
                 "--world-size", "3", "--no-embeddings", "--set", "replay=0.0", "--output", str(out)]) == 0
    lines = _lines(out)
    assert [r["step"] for r in lines] == list(range(12))
    assert lines[0]["stage"] == "stage1:asr" and lines[0]["tasks"] == {"asr": 6}
    assert lines[11]["stage"] == "stage3:dialect+emotion"
    for r in lines:
        assert sum(r["ranks"], []) == r["ids"] and all(len(p) == 2 for p in r["ranks"])
        assert sum(r["tasks"].values()) == 6 and r["strategy"] == "tpc"
    printed = capsys.readouterr().out
    assert "task shares per stage" in printed and "stage2:ssum+tsum" in printed
    assert "batch diversity: not computed" in printed


def test_ads_with_embeddings_file(mini_dataset, tmp_path, capsys):
    rows = load_split(mini_dataset, "train", "multitask")
    emb = tmp_path / "emb.npy"
    rng = np.random.default_rng(0)
    np.save(emb, rng.normal(size=(len(rows), 8)) + 10 * (np.array(rows["task"]) == "tsum")[:, None])
    out = tmp_path / "ads.jsonl"
    assert main(["--strategy", "ads", "--data", str(mini_dataset), "--max-steps", "8", "--batch-size", "10",
                 "--embeddings", str(emb), "--output", str(out), "--summary-json", str(tmp_path / "s.json")]) == 0
    for r in _lines(out):
        assert set(r["tasks"]) == {"asr", "ssum", "tsum", "dialect", "emotion"}
        for task, counts in r["labels"].items():
            assert max(counts.values()) - min(counts.values()) <= 1
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["diversity"]["ratio"] > 1.0
    assert "vs uniform" in capsys.readouterr().out


def test_uniform_with_tiny_aligner(mini_dataset, tiny_model_dir, tmp_path):
    out = tmp_path / "u.jsonl"
    args = ["--strategy", "uniform", "--data", str(mini_dataset), "--max-steps", "4", "--batch-size", "4",
            "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path / "emb"), "--output", str(out)]
    assert main(args) == 0
    assert len(list((tmp_path / "emb").glob("aligner-*.npy"))) == 1
    tasks = Counter(t for r in _lines(out) for t in r["tasks"])
    assert tasks and set(tasks) <= {"asr", "ssum", "tsum", "dialect", "emotion"}


def test_unknown_strategy_and_bad_world_size(mini_dataset, tmp_path, capsys):
    assert main(["--strategy", "unifrom", "--data", str(mini_dataset), "--max-steps", "2", "--batch-size", "4",
                 "--output", str(tmp_path / "x.jsonl")]) == 2
    assert "did you mean 'uniform'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--strategy", "uniform", "--data", str(mini_dataset), "--max-steps", "2", "--batch-size", "4",
              "--world-size", "3", "--no-embeddings", "--output", str(tmp_path / "x.jsonl")])
