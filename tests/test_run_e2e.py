"""End to end: `python -m benchmark.run` trains the tiny model on the embedded dataset, evaluates, saves.

Checks that training lowers the held-out speech-summary loss, that the outputs are not all empty, that
every output file is well-formed (config.yaml, train_log.jsonl, predictions.jsonl, scores.json,
results.json valid for the leaderboard, the adapter, the PNG plots), that the results table is
printed, and that `benchmark.evaluate --adapter <run>/adapter` reproduces the run's predictions.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchmark.model import TINY_BASE_DIR

ROOT = Path(__file__).resolve().parents[1]
STEPS = 60

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(embedded_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "hybrid"
    cmd = [sys.executable, "-m", "benchmark.run", "--strategy", "hybrid", "--data", str(embedded_dataset),
           "--output-dir", str(out), "--max-steps", str(STEPS), "eval.max_per_task=4", "eval.bootstrap=50",
           "train.val_every=20", "train.lr=2e-3", "-q"]  # 60 steps at the demo's 1e-4 barely move the loss
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"benchmark.run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return out, proc.stdout


def _train_log(out: Path) -> tuple[list[dict], list[dict]]:
    from benchmark.plots import read_log

    return read_log(out / "train_log.jsonl")


def test_training_lowers_the_held_out_loss_of_what_the_base_has_not_learned(run):
    out, _ = run
    train, val = _train_log(out)
    first = sum(r["loss"] for r in train[:5]) / 5
    vocab = json.loads((TINY_BASE_DIR / "config.json").read_text(encoding="utf-8"))["text_config"]["vocab_size"]
    assert first < 0.9 * math.log(vocab)  # the pretrained base starts well below a uniform guess
    # the base never heard a whole document (pretraining keeps clips up to 22 s): speech summaries are
    # what LoRA has to learn here (the mean training loss mixes tasks, so its trend says little)
    ssum = [round(v["task_loss"]["ssum"], 3) for v in val]
    assert ssum[-1] < 0.95 * ssum[0], ssum
    # the base was pretrained on this train split, so LoRA cannot lower the held-out loss much; it must
    # not wreck it either (a wrong label mask or a diverging lr shows up here)
    assert val[-1]["loss"] < 1.1 * val[0]["loss"], [round(v["loss"], 3) for v in val]


def test_train_log_is_complete(run):
    from aramega_ssum.schema import TASKS

    out, _ = run
    train, val = _train_log(out)
    assert [r["step"] for r in train] == list(range(1, STEPS + 1))
    assert [r["step"] for r in val] == [0, 20, 40, 60]
    stages = [r["stage"] for r in train]
    assert stages[0].startswith("tpc/") and stages[-1] == "ads"  # the hybrid: TPC, then ADS
    for r in train:
        assert r["lr"] > 0 and r["examples_per_s"] > 0 and len(r["batch"]) == 8
        assert set(r["task_loss"]) <= set(TASKS) and sum(r["task_examples"].values()) == 8
    assert set(val[0]["task_loss"]) == set(TASKS)


def test_config_yaml_is_the_resolved_config(run):
    from benchmark.config import load_config

    out, _ = run
    config = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert config["strategy"] == "hybrid" and config["train"]["max_steps"] == STEPS
    assert config["data"]["path"] and config["output"]["dir"] == str(out)
    assert load_config("hybrid", path=out / "config.yaml") == config


def test_predictions_scores_and_results_are_valid(run):
    from aramega_ssum.predictions import read_predictions
    from leaderboards.validate import validate_file

    out, stdout = run
    records = read_predictions(out / "predictions.jsonl")
    assert len(records) == 20 and {r["task"] for r in records} == {"asr", "ssum", "tsum", "dialect", "emotion"}
    assert all("raw_prediction" in r for r in records)
    nonempty = [r for r in records if r["raw_prediction"].strip()]
    assert nonempty, "every prediction is empty: the model emits <|im_end|> first"
    assert len(nonempty) >= len(records) // 2, [r["raw_prediction"] for r in records]
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert set(scores["tasks"]) == set(results["metrics"])
    assert results["training"]["strategy"] == "hybrid" and results["training"]["steps"] == STEPS
    assert results["training"]["effective_batch"] == 8
    assert results["data"]["n"] == {t: 4 for t in scores["tasks"]}
    assert results["efficiency"]["train_wall_s"] > 0 and results["model"]["adapter"]["r"] == 16
    report = validate_file(out / "results.json", results_dir=None, keys_dir=None)  # a 4-per-task run: no key check
    assert not report.problems, report.problems
    assert "wer" in stdout and str(out) in stdout
    assert "validation loss per task, step 0 -> 60: asr " in stdout and "ssum " in stdout


def test_adapter_loads_onto_the_base_model(run):
    import torch
    from safetensors.torch import load_file

    from benchmark.model import load_adapter, load_model

    out, _ = run
    adapter = out / "adapter"
    assert (adapter / "adapter_config.json").is_file()
    model, _ = load_model("tiny")
    peft_model = load_adapter(model, adapter)
    saved = load_file(str(adapter / "adapter_model.safetensors"))
    assert saved and any("lora_B" in k and float(v.abs().sum()) > 0 for k, v in saved.items())
    loaded = {n: p for n, p in peft_model.named_parameters() if "lora_B" in n}
    assert len(loaded) == sum("lora_B" in k for k in saved)
    config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    assert not config["modules_to_save"]  # the pretrained base needs LoRA only
    assert all(torch.isfinite(p).all() for p in loaded.values())


def test_plots_are_pngs(run):
    out, _ = run
    for name in ("loss_train.png", "loss_validation.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name


def test_evaluating_the_saved_adapter_reproduces_the_run(run, embedded_dataset, tmp_path):
    """`benchmark.evaluate --adapter <run>/adapter` (LoRA + extra trained weights) gives the run's predictions."""
    from aramega_ssum.predictions import read_predictions

    out, _ = run
    config = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    cmd = [sys.executable, "-m", "benchmark.evaluate", "--model", "tiny", "--adapter", str(out / "adapter"),
           "--data", str(embedded_dataset), "--limit", "4", "--bootstrap", "50", "--output-dir", str(tmp_path),
           "--batch-size", str(config["eval"]["batch_size"]), "--max-new-tokens", str(config["eval"]["max_new_tokens"])]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ran = {r["id"]: r["raw_prediction"] for r in read_predictions(out / "predictions.jsonl")}
    again = {r["id"]: r["raw_prediction"] for r in read_predictions(tmp_path / "predictions.jsonl")}
    assert again == ran


def _evaluate(out: Path, data: Path, dest: Path, *extra: str) -> dict:
    cmd = [sys.executable, "-m", "benchmark.evaluate", "--model", "tiny", "--adapter", str(out / "adapter"),
           "--data", str(data), "--tasks", "asr", "dialect", "emotion", "--limit", "25", "--bootstrap", "50",
           "--output-dir", str(dest), "--max-new-tokens", "48", *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads((dest / "scores.json").read_text(encoding="utf-8"))


def _figure(scores: dict, task: str, metric: str) -> float:
    return float(scores["tasks"][task][metric])


def test_silenced_audio_costs_the_model_its_hearing(run, embedded_dataset, tmp_path):
    """--ablate-audio silence: a model that hears loses emotion/dialect F1 and ASR; one cut off from audio would not."""
    out, _ = run
    real = _evaluate(out, embedded_dataset, tmp_path / "real")
    silent = _evaluate(out, embedded_dataset, tmp_path / "silence", "--ablate-audio", "silence")
    gaps = {task: _figure(real, task, "macro_f1") - _figure(silent, task, "macro_f1") for task in ("emotion", "dialect")}
    cer = (_figure(real, "asr", "cer"), _figure(silent, "asr", "cer"))
    assert gaps["emotion"] >= 0.3, (gaps, cer)
    assert gaps["dialect"] >= 0.15, (gaps, cer)
    assert cer[1] - cer[0] >= 0.25, (gaps, cer)
