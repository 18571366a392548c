"""The hub path, offline, on the `Qwen/Qwen2.5-Omni-7B` replica (tests/fixtures_replica.py): the README's commands.

`torchrun --nproc_per_node=2 -m benchmark.run --model Qwen/Qwen2.5-Omni-7B` trains and evaluates
(results carry the snapshot sha and the generation settings); `benchmark.evaluate` under `torchrun --nproc_per_node=2` gives exactly the
predictions of one process; `benchmark.export` writes a merged checkpoint equal to base + scale * B @ A
and a hub-named adapter that PEFT loads onto the full Omni model with the run's own logits; a hub id
that is not cached fails with one line naming the model and `hf download`.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fixtures_replica import REPO_ID, replica_env

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(cmd: list[str], env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd[:4])} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-5000:]}"
    return proc


@pytest.fixture(scope="module")
def hub_run(omni_replica, mini_dataset, tmp_path_factory):
    hf_home, snapshot, sha = omni_replica
    out = tmp_path_factory.mktemp("hub-run") / "hybrid"
    env = {**replica_env(hf_home), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    proc = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                 "-m", "benchmark.run", "--strategy", "hybrid", "--model", REPO_ID,
                 "--data", str(mini_dataset), "--output-dir", str(out), "--max-steps", "2", "train.lr=1e-2",
                 "train.warmup_steps=1", "train.val_every=0", "eval.max_per_task=2", "eval.max_new_tokens=6",
                 "eval.bootstrap=10", "output.plots=false", "-q"], env)
    return out, proc


def test_run_records_the_snapshot_sha_and_the_generation_settings(hub_run, omni_replica, mini_dataset):
    from collections import Counter

    from benchmark.rows import load_rows
    from leaderboards.validate import validate_file

    out, proc = hub_run
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["model"]["revision"] == omni_replica[2] and results["model"]["base_model"] == REPO_ID
    in_test = Counter(r["task"] for r in load_rows(mini_dataset, "test"))
    assert results["data"]["n"] == {t: min(2, n) for t, n in in_test.items()}  # eval.max_per_task=2, both ranks' shares
    assert results["generation"] == {"max_new_tokens": 6, "batch_size": 8, "greedy": True,
                                     "eos": ["<|im_end|>", "<|endoftext|>"], "pad": "<|endoftext|>"}
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    assert "estimated peak memory per process" in proc.stderr and "gradient checkpointing on" in proc.stderr
    config = (out / "config.yaml").read_text(encoding="utf-8")
    assert "gradient_checkpointing: true" in config and "max_tokens_per_micro_batch: 8192" in config
    # a 2-per-task run on a test dataset with no registered answer key: schema and recomputation only
    assert not validate_file(out / "results.json", results_dir=None, keys_dir=None).problems


def test_evaluate_on_two_ranks_gives_the_predictions_of_one(hub_run, omni_replica, mini_dataset, tmp_path):
    from aramega_ssum.predictions import read_predictions

    out, _ = hub_run
    env = {**replica_env(omni_replica[0]), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    args = ["-m", "benchmark.evaluate", "--model", REPO_ID, "--adapter", str(out / "adapter"), "--data",
            str(mini_dataset), "--config", str(out / "config.yaml"), "--limit", "3", "--bootstrap", "0", "--device", "cpu"]
    _run([sys.executable, *args, "--output-dir", str(tmp_path / "one")], env)
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args,
          "--output-dir", str(tmp_path / "two")], env)
    one = [(r["id"], r["raw_prediction"]) for r in read_predictions(tmp_path / "one" / "predictions.jsonl")]
    two = [(r["id"], r["raw_prediction"]) for r in read_predictions(tmp_path / "two" / "predictions.jsonl")]
    assert len(one) >= 10 and one == two
    generation = json.loads((tmp_path / "two" / "generation.json").read_text(encoding="utf-8"))
    assert generation["max_new_tokens"] == 6 and generation["revision"] == omni_replica[2]  # the run's budget


@pytest.fixture(scope="module")
def exported(hub_run, omni_replica, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "hybrid"
    proc = _run([sys.executable, "-m", "benchmark.export", str(hub_run[0]), "--output-dir", str(out)],
                replica_env(omni_replica[0]))
    assert "merged:" in proc.stdout
    return out


def _tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return {k: v for f in sorted(folder.glob("*.safetensors")) for k, v in load_file(str(f)).items()}


def test_merged_weights_equal_base_plus_scaled_lora(exported, omni_replica):
    base, merged, adapter = _tensors(omni_replica[1]), _tensors(exported / "merged"), _tensors(exported / "adapter")
    config = json.loads((exported / "adapter" / "adapter_config.json").read_text(encoding="utf-8"))
    assert config["target_modules"] == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert config["base_model_name_or_path"] == REPO_ID
    scale = config["lora_alpha"] / config["r"]
    assert set(merged) == set(base)
    adapted = {k.removeprefix("base_model.model.").removesuffix(".lora_A.weight") for k in adapter if ".lora_A." in k}
    assert len(adapted) == 8 and all(m.startswith("thinker.model.layers.") for m in adapted)
    for key, tensor in base.items():
        module = key.removesuffix(".weight")
        if module in adapted:
            a, b = adapter[f"base_model.model.{module}.lora_A.weight"], adapter[f"base_model.model.{module}.lora_B.weight"]
            assert float(b.abs().sum()) > 0, module
            expected = (tensor.float() + scale * (b.float() @ a.float())).to(tensor.dtype)
            assert torch.equal(merged[key], expected) and not torch.equal(merged[key], tensor), key
        else:  # talker.*, token2wav.*, the towers, norms, embeddings: copied unchanged
            assert merged[key].dtype == tensor.dtype and torch.equal(merged[key], tensor), key
    assert any(k.startswith("talker.") for k in base) and any(k.startswith("token2wav.") for k in base)
    for name in ("config.json", "tokenizer.json", "preprocessor_config.json", "chat_template.json", "spk_dict.pt"):
        assert (exported / "merged" / name).is_file(), name
    assert json.loads((exported / "merged" / "config.json").read_text())["model_type"] == "qwen2_5_omni"


def test_exported_adapter_on_the_full_omni_model_gives_the_runs_logits(exported, hub_run, omni_replica):
    from peft import PeftModel
    from transformers import Qwen2_5OmniForConditionalGeneration as Omni

    from benchmark.export import load_exported_adapter
    from benchmark.model import load_adapter, load_model
    from benchmark.prompting import build_generation_batch, model_inputs

    snapshot = omni_replica[1]
    model, processor = load_model(str(snapshot))
    rows = [{"id": "t", "task": "tsum", "audio": None, "text": "أعلنت الوزارة عن خطة جديدة", "instruction": "لخّص",
             "target": "خطة", "duration": None}]
    batch = model_inputs(build_generation_batch(rows, processor))
    with torch.no_grad():
        base = model(**batch).logits
        run = load_adapter(model, hub_run[0] / "adapter")(**batch).logits
        full = load_exported_adapter(Omni.from_pretrained(str(snapshot), dtype=torch.float32), exported / "adapter")
        ours = full.base_model.model.thinker(**batch).logits
        plain = PeftModel.from_pretrained(Omni.from_pretrained(str(snapshot), dtype=torch.float32), str(exported / "adapter"))
        trap = plain.base_model.model.thinker(**batch).logits
    assert (run - base).abs().max() > 1e-3  # the adapter has an effect ...
    assert torch.allclose(ours, run, atol=1e-5)  # ... and the exported one has the same
    assert torch.allclose(trap, base, atol=1e-6)  # plain PEFT (no key mapping) silently keeps lora_B = 0
    merged = Omni.from_pretrained(str(exported / "merged"), dtype=torch.float32)  # loadable by the Omni class
    assert merged.generation_config.eos_token_id == [processor.tokenizer.convert_tokens_to_ids(t)
                                                     for t in ("<|im_end|>", "<|endoftext|>")]


def test_an_uncached_hub_id_fails_with_one_line(tmp_path, mini_dataset):
    env = replica_env(tmp_path / "empty-hf-home")
    proc = subprocess.run([sys.executable, "-m", "benchmark.evaluate", "--model", REPO_ID, "--data", str(mini_dataset),
                           "--output-dir", str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: model Qwen/Qwen2.5-Omni-7B")
    assert f"hf download {REPO_ID}" in lines[0]
    assert not (tmp_path / "out").exists()
