"""The tiny Qwen2.5-Omni thinker, the local-path branch, the processor and LoRA."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.model import LORA_TARGET_REGEX, apply_lora, load_model
from benchmark.tiny_model import tiny_key, tokenizer_training_text


def test_tiny_model_is_a_qwen_omni_thinker(tiny_model):
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    model, processor = tiny_model
    assert isinstance(model, Qwen2_5OmniThinkerForConditionalGeneration)
    assert model.config.text_config.hidden_size == 64
    assert model.model.audio_tower.proj.out_features == model.config.text_config.hidden_size
    assert processor.feature_extractor.feature_size == 128
    tok = processor.tokenizer
    for token in ("<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>"):
        assert len(tok.encode(token, add_special_tokens=False)) == 1, token
    assert processor.audio_token_id == model.config.audio_token_id
    text = "أعلنت الوزارة اليوم عن خطة جديدة"
    assert tok.decode(tok.encode(text, add_special_tokens=False)) == text


def test_cache_key_follows_training_text():
    texts = tokenizer_training_text()
    assert any("EGY" in t for t in texts)
    assert tiny_key(texts, 0) == tiny_key(list(texts), 0)
    assert tiny_key(texts + ["نص جديد"], 0) != tiny_key(texts, 0)
    assert tiny_key(texts, 1) != tiny_key(texts, 0)


def test_local_path_loads_the_same_weights(tiny_model, tiny_model_dir):
    model, _ = tiny_model
    again, processor = load_model(str(tiny_model_dir))
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), name
    assert (tiny_model_dir / "model.safetensors").exists()
    assert processor.chat_template


def test_long_audio_is_not_truncated(tiny_model):
    model, processor = tiny_model
    clips = [np.zeros(16000 * 3, np.float32) + 0.01, np.sin(np.arange(16000 * 45) / 7).astype(np.float32)]
    text = "<|im_start|>user\n<|audio_bos|><|AUDIO|><|audio_eos|>x<|im_end|>\n"
    batch = processor(text=[text, text], audio=clips, return_tensors="pt", padding=True)
    n_audio = (batch["input_ids"] == processor.audio_token_id).sum(-1).tolist()
    assert n_audio == [75, 1125]  # 25 tokens per second, 45 s kept whole
    # features under the mask equal the default 30 s padding ones
    ref = processor.feature_extractor([clips[0]], sampling_rate=16000, return_tensors="pt",
                                      padding="max_length", return_attention_mask=True)
    n = int(ref["attention_mask"].sum())
    assert torch.allclose(ref["input_features"][0, :, :n], batch["input_features"][0, :, :n], atol=1e-5)
    with torch.no_grad():
        out = model(**batch)
    assert torch.isfinite(out.logits).all()


def test_apply_lora_targets_language_model_only(tiny_model_dir):
    model, _ = load_model(str(tiny_model_dir))
    peft_model, info = apply_lora(model, r=4, alpha=8, dropout=0.0)
    assert info["adapted_modules"], info
    assert all("language_model" in n and n.rsplit(".", 1)[1] in {"q_proj", "k_proj", "v_proj", "o_proj"}
               for n in info["adapted_modules"])
    assert len(info["adapted_modules"]) == 4 * model.config.text_config.num_hidden_layers
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert not any("audio_tower" in n for n in trainable)
    assert info["trainable_params"] == sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    assert info["targets"] == LORA_TARGET_REGEX


def test_apply_lora_can_unfreeze_the_aligner(tiny_model_dir):
    model, _ = load_model(str(tiny_model_dir))
    peft_model, info = apply_lora(model, train_aligner=True)
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert any(n.endswith("audio_tower.proj.modules_to_save.default.weight") for n in trainable)  # PEFT modules_to_save
    assert not any("audio_tower.layers" in n for n in trainable)


def test_load_adapter_restores_lora_and_the_modules_trained_whole(tiny_model_dir, tmp_path):
    """A saved run adapter (LoRA + PEFT modules_to_save: the aligner, the LM head) reloads exactly, with plain PEFT too."""
    import json
    from types import SimpleNamespace

    from peft import PeftModel

    from aramega_ssum.results import adapter_sha256, sha256_file
    from benchmark.model import load_adapter
    from benchmark.phases import save_adapter

    model, _ = load_model(str(tiny_model_dir))
    peft_model, info = apply_lora(model, r=4, alpha=8, dropout=0.0, train_aligner=True, extra_trainable=[r"lm_head\.weight"])
    assert info["modules_to_save"] == ["lm_head", "model.audio_tower.proj"] and info["extra_modules"] == ["lm_head"]
    torch.manual_seed(1)
    with torch.no_grad():
        for p in peft_model.parameters():
            if p.requires_grad:  # as if trained: LoRA B, the aligner and the head all move
                p.add_(torch.randn_like(p) * 0.05)
    adapter_dir = save_adapter(SimpleNamespace(run_dir=tmp_path, model=peft_model.eval()))
    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    assert sorted(config["modules_to_save"]) == ["lm_head", "model.audio_tower.proj"]
    assert sorted(p.name for p in adapter_dir.glob("*.safetensors")) == ["adapter_model.safetensors"]  # no side file
    assert adapter_sha256(adapter_dir) == sha256_file(adapter_dir / "adapter_model.safetensors")

    base, _ = load_model(str(tiny_model_dir))
    ids = torch.tensor([[5, 17, 300, 42, 7]])
    with torch.no_grad():
        before = base(input_ids=ids).logits
        loaded = load_adapter(base, adapter_dir).eval()
        after, expected = loaded(input_ids=ids).logits, peft_model(input_ids=ids).logits
        plain = PeftModel.from_pretrained(load_model(str(tiny_model_dir))[0], str(adapter_dir)).eval()(input_ids=ids).logits
    assert not torch.allclose(before, expected)
    torch.testing.assert_close(after, expected, rtol=0, atol=0)
    torch.testing.assert_close(plain, expected, rtol=0, atol=0)
    head = dict(loaded.named_parameters())["base_model.model.lm_head.modules_to_save.default.weight"]
    assert not head.requires_grad and torch.equal(head, peft_model.get_base_model().lm_head.weight)


def test_apply_lora_trains_the_audio_encoder_and_extra_modules_whole(tiny_model_dir):
    model, _ = load_model(str(tiny_model_dir))
    with pytest.raises(ValueError, match=r"model.extra_trainable: \['nope'\] match no parameter"):
        apply_lora(model, extra_trainable=["nope"])
    peft_model, info = apply_lora(model, train_audio_encoder=True)
    assert "model.audio_tower.proj" not in info["modules_to_save"] and "model.audio_tower.layers.0" in info["modules_to_save"]
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert any("audio_tower.layers.0.modules_to_save" in n for n in trainable)
    assert not any("audio_tower.proj" in n for n in trainable)


def test_load_adapter_names_a_weight_that_does_not_fit(tiny_model_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    from benchmark.model import load_adapter

    model, _ = load_model(str(tiny_model_dir))
    peft_model, _ = apply_lora(model, r=4, alpha=8, dropout=0.0, extra_trainable=[r"lm_head\.weight"])
    peft_model.save_pretrained(tmp_path)
    tensors = load_file(str(tmp_path / "adapter_model.safetensors"))
    save_file({**tensors, "base_model.model.lm_head.weight": torch.zeros(3, 3)}, str(tmp_path / "adapter_model.safetensors"))
    base, _ = load_model(str(tiny_model_dir))
    with pytest.raises(ValueError, match="adapter_model.safetensors: .*lm_head"):
        load_adapter(base, tmp_path)
    save_file({**tensors, "base_model.model.no_such.weight": torch.zeros(3, 3)}, str(tmp_path / "adapter_model.safetensors"))
    with pytest.raises(ValueError, match=r"adapter_model.safetensors: base_model.model.no_such.weight .*\(no such parameter\)"):
        load_adapter(load_model(str(tiny_model_dir))[0], tmp_path)
    save_file(tensors, str(tmp_path / "adapter_model.safetensors"))
    save_file({"base_model.model.lm_head.weight": torch.zeros(3, 3)}, str(tmp_path / "extra_trainable.safetensors"))
    with pytest.raises(ValueError, match="extra_trainable.safetensors: base weights in the old side-file format"):
        load_adapter(load_model(str(tiny_model_dir))[0], tmp_path)  # never silently without them
