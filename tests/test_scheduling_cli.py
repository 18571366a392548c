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


NEW_STRATEGY = '''"""Sequential: the examples in file order, `stride` apart (a test strategy dropped in by a test)."""
import dataclasses

import numpy as np

from aramega_ssum.scheduling.registry import register


@dataclasses.dataclass(frozen=True)
class SequentialConfig:
    stride: int = 1


class SequentialPlanner:
    needs_embeddings = False

    def __init__(self, n, batch_size, stride):
        self.n, self.batch_size, self.stride = n, batch_size, stride

    def batch(self, step):
        return (np.arange(step * self.batch_size, (step + 1) * self.batch_size) * self.stride) % self.n

    def stage(self, step):
        return "sequential"


@register("sequential", SequentialConfig)
def plan_sequential(inputs, *, batch_size, steps, seed, config):
    """Examples in order."""
    return SequentialPlanner(len(inputs), batch_size, config.stride)
'''


def test_a_dropped_strategy_file_is_a_strategy_everywhere(mini_dataset, tmp_path):
    """One new file in a copy of the package: benchmark.schedule, benchmark.run and the leaderboard know it."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    copy = tmp_path / "tree"
    for package in ("aramega_ssum", "benchmark", "builders", "leaderboards"):
        shutil.copytree(repo / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "results", "plots"))
    (copy / "aramega_ssum" / "scheduling" / "strategies" / "sequential.py").write_text(NEW_STRATEGY, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(copy), "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "seq.jsonl"
    run = subprocess.run([sys.executable, "-m", "benchmark.schedule", "--strategy", "sequential", "--data",
                          str(mini_dataset), "--max-steps", "3", "--batch-size", "4", "--no-embeddings",
                          "stride=2", "--output", str(out)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    ids = load_split(mini_dataset, "train", "multitask")["id"]
    lines = _lines(out)
    assert [r["stage"] for r in lines] == ["sequential"] * 3
    assert lines[1]["ids"] == [ids[(2 * i) % len(ids)] for i in range(4, 8)]
    probe = ("from benchmark.run import parse_args; from benchmark.config import load_config; "
             "from leaderboards.checks import known_strategies; "
             "args = parse_args(['--strategy', 'sequential']); "
             "print(args.strategy, load_config('sequential')['strategy'], 'sequential' in known_strategies())")
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["sequential", "sequential", "True"]
