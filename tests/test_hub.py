"""Real-checkpoint plumbing, fast: the replica's layout, hub/folder revisions, stop tokens, budgets, sharding."""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fixtures_replica import REPO_ID

ROOT = Path(__file__).resolve().parents[1]


def test_replica_has_the_hub_layout_and_the_missing_eos(omni_replica):
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration as Thinker

    from benchmark.model import _thinker_config

    hf_home, snapshot, sha = omni_replica
    repo = hf_home / "hub" / "models--Qwen--Qwen2.5-Omni-7B"
    assert (repo / "refs" / "main").read_text() == sha and re.fullmatch(r"[0-9a-f]{40}", sha)
    config = json.loads((snapshot / "config.json").read_text())
    assert config["architectures"] == ["Qwen2_5OmniModel"] and config["model_type"] == "qwen2_5_omni"
    assert {"thinker_config", "talker_config", "token2wav_config"} <= set(config)
    index = json.loads((snapshot / "model.safetensors.index.json").read_text())["weight_map"]
    assert "thinker.model.layers.0.self_attn.q_proj.weight" in index and "thinker.audio_tower.proj.weight" in index
    assert any(k.startswith("talker.") for k in index) and any(k.startswith("token2wav.") for k in index)
    assert "eos_token_id" not in json.loads((snapshot / "generation_config.json").read_text())
    pre = json.loads((snapshot / "preprocessor_config.json").read_text())
    assert (pre["n_samples"], pre["nb_max_frames"], pre["feature_size"]) == (4_800_000, 30_000, 128)
    assert (snapshot / "spk_dict.pt").is_file()
    raw = Thinker.from_pretrained(str(snapshot), config=_thinker_config(snapshot), key_mapping={r"^thinker\.": ""})
    assert raw.generation_config.eos_token_id is None  # the upstream trap the loader must fix


def test_load_model_sets_stop_tokens_by_name_and_drops_vision(omni_replica):
    from benchmark.model import load_model

    model, processor = load_model(str(omni_replica[1]))
    tok = processor.tokenizer
    assert model.generation_config.eos_token_id == [tok.convert_tokens_to_ids("<|im_end|>"),
                                                    tok.convert_tokens_to_ids("<|endoftext|>")]
    assert model.generation_config.pad_token_id == tok.convert_tokens_to_ids("<|endoftext|>")
    assert model.model.visual is None and not any("visual" in n for n, _ in model.named_parameters())
    assert model.source.kind == "local" and model.source.revision.startswith("sha256:")


def test_folder_revision_is_a_content_hash(tiny_model_dir, tmp_path):
    from benchmark.hub import content_sha256

    copy = shutil.copytree(tiny_model_dir, tmp_path / "m")
    before = content_sha256(copy)
    assert before == content_sha256(tiny_model_dir) and re.fullmatch(r"[0-9a-f]{64}", before)
    (copy / "tokenizer.json").write_text("{}")  # not a config or weight file
    assert content_sha256(copy) == before
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "initializer_range": 0.03}))
    assert content_sha256(copy) != before


def test_uncached_hub_id_and_bad_names_are_one_line_errors(tmp_path):
    from benchmark.hub import ModelNotFoundError, resolve_model

    with pytest.raises(ModelNotFoundError, match="no such folder"):
        resolve_model(str(tmp_path / "missing"))
    with pytest.raises(ModelNotFoundError, match=r"hf download Qwen/Not-Cached-Anywhere") as err:
        resolve_model("Qwen/Not-Cached-Anywhere")
    assert "\n" not in str(err.value)


def test_generation_stops_at_the_stop_tokens(tiny_model_dir, speech_rows, caplog):
    """A model whose greedy choice is always <|endoftext|>: with the stop tokens it stops at once."""
    from benchmark.evaluate import generation_report, generate_texts, prediction_records
    from benchmark.model import load_model
    from benchmark.processor import stop_tokens
    from benchmark.prompting import build_generation_batch, model_inputs

    model, processor = load_model(str(tiny_model_dir))
    stops = stop_tokens(processor.tokenizer)
    assert stops["pad_token_id"] == 0  # all-equal logits: argmax is token 0, <|endoftext|>
    with torch.no_grad():
        model.lm_head.weight.zero_()
    rows = [r for r in speech_rows if (r["duration"] or 0) < 30]
    outputs, stats = generate_texts(model, processor, rows, max_new_tokens=7, progress=False)
    assert set(outputs.values()) == {""} and stats["hit_budget_ids"] == []
    with caplog.at_level(logging.WARNING, logger="benchmark.evaluate"):
        report = generation_report(prediction_records(rows, outputs), [], 7, stops, 8)
    assert report["empty"]["asr"] == 1 and "EMPTY" in caplog.text
    model.generation_config.eos_token_id = None  # as loaded from the hub's checkpoint, without the fix
    batch = model_inputs(build_generation_batch(rows[:1], processor))
    out = model.generate(**batch, max_new_tokens=7, do_sample=False, pad_token_id=0)
    assert out.shape[1] - batch["input_ids"].shape[1] == 7  # runs to the budget


def test_budget_hits_are_counted(tiny_model, speech_rows):
    from benchmark.evaluate import generate_texts

    model, processor = tiny_model
    rows = [r for r in speech_rows if (r["duration"] or 0) < 30]
    outputs, stats = generate_texts(model, processor, rows, max_new_tokens=2, progress=False)
    assert 0 < len(stats["hit_budget_ids"]) <= len(outputs) and set(stats["hit_budget_ids"]) <= set(outputs)


def test_one_generation_budget_for_run_and_evaluate():
    from benchmark.config import eval_config, load_config
    from benchmark.evaluate import parse_args, settings

    assert settings(parse_args(["--model", "tiny"]))["max_new_tokens"] == load_config("hybrid")["eval"]["max_new_tokens"]
    real = settings(parse_args(["--model", REPO_ID]))
    assert real["max_new_tokens"] == load_config("hybrid", [f"model.name={REPO_ID}"])["eval"]["max_new_tokens"] == 256
    assert settings(parse_args(["--model", REPO_ID, "--max-new-tokens", "9"]))["max_new_tokens"] == 9
    assert eval_config(REPO_ID)["model"]["gradient_checkpointing"] is True
    assert eval_config("tiny")["model"]["gradient_checkpointing"] is False


def test_token_budget_micro_batches():
    from benchmark.prompting import AUDIO_TOKENS_PER_SECOND, length_groups, micro_batches

    assert AUDIO_TOKENS_PER_SECOND == 25
    lengths = [100, 110, 120, 1500, 1500]
    assert length_groups(lengths, 4, None) == [[0, 1, 2, 3], [4]]
    assert length_groups(lengths, 4, None, max_tokens=400) == [[0, 1, 2], [3], [4]]
    rows = [{"id": str(i), "task": "asr", "audio": True, "duration": d, "text": None, "instruction": "x", "target": "y"}
            for i, d in enumerate([3.0, 3.0, 3.0, 60.0, 60.0])]
    chunks = micro_batches(rows, 4, min_efficiency=None, max_tokens=4000)
    assert [len(c) for c in chunks] == [3, 2]  # two 60 s clips (~1,510 tokens each) fill a budget three 3 s clips do not
    assert [len(c) for c in micro_batches(rows, 4, min_efficiency=None, max_tokens=2000)] == [3, 1, 1]


def test_shards_partition_the_rows():
    from benchmark.rows import shard_rows

    rows = [{"id": str(i), "task": "tsum", "audio": None, "text": "x" * (i * 37 % 50), "instruction": "", "target": ""}
            for i in range(11)]
    parts = [shard_rows(rows, r, 3) for r in range(3)]
    assert sorted(r["id"] for p in parts for r in p) == sorted(r["id"] for r in rows)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_no_module_sets_hf_hub_offline():
    pattern = re.compile(r"""environ(\.setdefault\(|\[)\s*["']HF_HUB_OFFLINE["']|["']HF_HUB_OFFLINE["']\s*:""")
    offenders = [str(p.relative_to(ROOT)) for pkg in ("aramega_ssum", "benchmark", "builders", "leaderboards")
                 for p in (ROOT / pkg).rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    in_process = re.compile(r"""environ(\.setdefault\(|\[)\s*["']HF_HUB_OFFLINE["']""")  # perf: only for subprocesses
    offenders += [str(p.relative_to(ROOT)) for p in (ROOT / "perf").glob("*.py") if in_process.search(p.read_text())]
    assert offenders == []


def test_memory_estimate_of_the_7b_from_its_config_on_the_meta_device():
    from benchmark.memory import (GB, act_bytes_per_token_layer, estimate_generation, estimate_training, meta_model,
                                  seven_b_thinker_config)

    assert abs(act_bytes_per_token_layer({"hidden": 3584, "intermediate": 18944}, 2) / 1024 - 267) < 5  # STACK.md
    full = meta_model(seven_b_thinker_config(), drop_vision=False)
    assert abs(sum(p.numel() for p in full.parameters()) / 1e9 - 8.93) < 0.02
    model = meta_model(seven_b_thinker_config())
    on = estimate_training(model, tokens=4 * 1625, target_tokens=240, checkpointing=True)
    off = estimate_training(model, tokens=4 * 1625, target_tokens=240, checkpointing=False)
    assert on["weights"] == off["weights"] and 16 * GB < on["weights"] < 17 * GB  # bf16, vision tower dropped
    assert 20 * GB < on["total"] < 26 * GB and 60 * GB < off["total"] < 80 * GB  # STACK.md: ~23-24 and ~70-75 GB
    gen = estimate_generation(model, batch=8, prompt_tokens=1625, new_tokens=256)
    assert gen["total"] == sum(v for k, v in gen.items() if k != "total") and gen["kv_cache"] > 0


def test_largest_planned_micro_batch_is_the_one_the_trainer_cuts():
    from benchmark.memory import largest_micro_batch
    from benchmark.prompting import estimate_length, micro_batches

    rows = [{"id": str(i), "task": "asr", "audio": True, "duration": d, "text": None, "instruction": "x",
             "target": "y" * (10 * i)} for i, d in enumerate([3.0, 60.0, 5.0, 60.0, 20.0, 2.0])]
    lengths = [estimate_length(r) for r in rows]
    targets = [len(r["target"]) / 3.0 + 2 for r in rows]
    tokens, target_tokens = largest_micro_batch([[0, 1, 2], [3, 4, 5]], lengths, targets, 4, 2000)
    cut = [c for batch in ([rows[0], rows[1], rows[2]], [rows[3], rows[4], rows[5]])
           for c in micro_batches(batch, 4, max_tokens=2000)]
    assert tokens == int(max(len(c) * max(estimate_length(r) for r in c) for c in cut))
    assert tokens <= 2000 and target_tokens > 0


def test_export_refuses_user_folders_and_thinker_only_bases(omni_replica, tiny_model_dir, tmp_path, capsys):
    from benchmark.export import main
    from benchmark.model import apply_lora, load_model

    model, _ = load_model(str(omni_replica[1]))
    peft_model, _ = apply_lora(model, r=2, alpha=4)
    peft_model.save_pretrained(tmp_path / "run" / "adapter")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main([str(tmp_path / "run"), "--output-dir", str(mine), "--base", str(omni_replica[1])]) == 2
    assert "not an earlier benchmark.export output" in capsys.readouterr().err and (mine / "notes.txt").exists()
    assert main([str(tmp_path / "run"), "--output-dir", str(tmp_path / "o"), "--base", str(tiny_model_dir)]) == 2
    assert "model_type 'qwen2_5_omni_thinker'" in capsys.readouterr().err
    out = tmp_path / "again"
    for _ in range(2):  # a previous export is replaced
        assert main([str(tmp_path / "run"), "--output-dir", str(out), "--base", str(omni_replica[1]), "--no-merged"]) == 0
    assert json.loads((out / "export.json").read_text())["complete"] and not (out / "merged").exists()


def test_export_keeps_the_modules_trained_whole_as_modules_to_save(omni_replica, speech_rows, tmp_path):
    """A run that also trained the aligner and the LM head: PEFT loads the exported adapter onto the full
    Omni model with the run's own logits (audio through the aligner), and the merged checkpoint holds them."""
    from safetensors.torch import load_file
    from transformers import Qwen2_5OmniForConditionalGeneration as Omni

    from benchmark.export import export, load_exported_adapter
    from benchmark.model import apply_lora, load_adapter, load_model
    from benchmark.prompting import build_generation_batch, model_inputs

    snapshot = omni_replica[1]
    model, processor = load_model(str(snapshot))
    peft_model, _ = apply_lora(model, r=2, alpha=4, dropout=0.0, train_aligner=True, extra_trainable=[r"lm_head\.weight"])
    torch.manual_seed(0)
    with torch.no_grad():
        for p in peft_model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    peft_model.save_pretrained(tmp_path / "run" / "adapter")
    info = export(tmp_path / "run", tmp_path / "out", base=str(snapshot))
    assert info["extra_trained"] == ["thinker.audio_tower.proj.bias", "thinker.audio_tower.proj.weight",
                                     "thinker.lm_head.weight"]
    config = json.loads((tmp_path / "out" / "adapter" / "adapter_config.json").read_text(encoding="utf-8"))
    assert config["modules_to_save"] == ["thinker.lm_head", "thinker.model.audio_tower.proj"]
    row = next(r for r in speech_rows if r["audio"] is not None and (r["duration"] or 0) < 30)
    batch = model_inputs(build_generation_batch([row], processor))
    with torch.no_grad():
        run = load_adapter(load_model(str(snapshot))[0], tmp_path / "run" / "adapter")(**batch).logits
        full = load_exported_adapter(Omni.from_pretrained(str(snapshot), dtype=torch.float32), tmp_path / "out" / "adapter")
        ours = full.base_model.model.thinker(**batch).logits
    assert torch.allclose(ours, run, atol=1e-5)
    merged = {k: v for f in (tmp_path / "out" / "merged").glob("*.safetensors") for k, v in load_file(str(f)).items()}
    head = peft_model.get_base_model().lm_head.weight
    assert torch.equal(merged["thinker.lm_head.weight"], head.to(merged["thinker.lm_head.weight"].dtype))


def test_the_adapter_is_written_before_evaluation(mini_dataset, tmp_path, monkeypatch):
    """An evaluation that fails keeps the trained adapter; a bad split is refused before training."""
    import benchmark.run as run

    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "benchmark.run", "--strategy", "uniform", "--data", str(mini_dataset),
                           "--output-dir", str(out), "--max-steps", "1", "eval.split=nosuchsplit", "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2 and "eval.split='nosuchsplit'" in proc.stderr and not out.exists()

    def broken(state):
        raise RuntimeError("evaluation crashed")

    monkeypatch.setattr(run, "evaluate", broken)
    with pytest.raises(RuntimeError, match="evaluation crashed"):
        run.main(["--strategy", "uniform", "--data", str(mini_dataset), "--output-dir", str(out), "--max-steps", "1",
                  "train.val_every=0", "output.plots=false", "-q"])
    assert (out / "adapter" / "adapter_model.safetensors").is_file() and not (out / "results.json").exists()
