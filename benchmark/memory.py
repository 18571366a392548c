"""Peak-memory estimates for training and generation with a Qwen2.5-Omni thinker, before the first OOM.

`estimate_training(model, tokens=..., target_tokens=..., checkpointing=...)` and
`estimate_generation(model, batch=..., prompt_tokens=..., new_tokens=...)` return a dict of byte
counts (weights, optimizer, activations, logits, ..., total) for ONE process. The model may live on
the meta device (the 7B table in the README is computed that way from the real configuration).

The activation cost of a decoder layer per token, kept for backward, is taken as
``act_bytes * (5 * intermediate + 12 * hidden)``: the MLP's gate/up/activation/product/down inputs
and the attention's norm, q/k/v, output and residual tensors plus the LoRA dropout copies of the
four adapted projections. On the 7B (hidden 3584, intermediate 18944, bf16) that is 269 KiB, the
~267 KiB per token and layer measured with fp32 LoRA and dropout 0.05 (STACK.md). With gradient
checkpointing only each layer's input is kept, and one layer is recomputed (with its gradients) at a time.
Logits are computed in float32 for the target tokens only (`benchmark.train.target_losses`).
"""
from __future__ import annotations

GB = 1e9


def text_shape(model) -> dict:
    """hidden, intermediate, layers, vocab, kv width of the language model of a thinker (or its PEFT wrapper)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    text = base.config.get_text_config()
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    return {"hidden": text.hidden_size, "intermediate": text.intermediate_size, "layers": text.num_hidden_layers,
            "vocab": text.vocab_size, "kv_width": text.num_key_value_heads * head_dim}


def _bytes(params) -> int:
    return sum(p.numel() * p.element_size() for p in params)


def act_bytes_per_token_layer(shape: dict, act_bytes: int) -> int:
    return act_bytes * (5 * shape["intermediate"] + 12 * shape["hidden"])


def activation_dtype_bytes(model) -> int:
    """Bytes per element of the activations: those of the language model's weights."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.lm_head.weight.element_size()


def estimate_training(model, *, tokens: int, target_tokens: int, checkpointing: bool) -> dict:
    """Peak bytes of one training micro-batch of `tokens` padded tokens (`target_tokens` of them targets).

    weights: every parameter and buffer; optimizer: gradients + two AdamW moments of the trainable
    parameters; activations: see the module docstring; logits: float32 logits, their softmax and
    their gradient for the target tokens.
    """
    shape, b = text_shape(model), activation_dtype_bytes(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    weights = _bytes(model.parameters()) + _bytes(model.buffers())
    optimizer = 3 * _bytes(trainable)
    layer = act_bytes_per_token_layer(shape, b) * tokens
    if checkpointing:
        activations = b * shape["hidden"] * tokens * shape["layers"] + 2 * layer
    else:
        activations = layer * shape["layers"]
    embeddings = 2 * b * shape["hidden"] * tokens  # embedding output + final norm
    logits = 3 * 4 * shape["vocab"] * target_tokens
    parts = {"weights": weights, "optimizer": optimizer, "activations": activations, "embeddings": embeddings,
             "logits": logits}
    return {**parts, "total": sum(parts.values())}


def estimate_generation(model, *, batch: int, prompt_tokens: int, new_tokens: int) -> dict:
    """Peak bytes of greedy generation: weights, KV cache, the prefill's transient layer activations."""
    shape, b = text_shape(model), activation_dtype_bytes(model)
    weights = _bytes(model.parameters()) + _bytes(model.buffers())
    kv_cache = 2 * shape["layers"] * shape["kv_width"] * b * batch * (prompt_tokens + new_tokens)
    prefill = b * (3 * shape["intermediate"] + 4 * shape["hidden"]) * batch * prompt_tokens
    logits = 4 * shape["vocab"] * batch * 2  # last position only (`last_position_logits`)
    parts = {"weights": weights, "kv_cache": kv_cache, "prefill": prefill, "logits": logits}
    return {**parts, "total": sum(parts.values())}


def seven_b_thinker_config():
    """The Qwen2.5-Omni-7B thinker's configuration (its hub config.json's thinker_config, sizes and ids)."""
    from transformers import Qwen2_5OmniThinkerConfig

    config = Qwen2_5OmniThinkerConfig(
        audio_config=dict(num_mel_bins=128, encoder_layers=32, encoder_attention_heads=20, encoder_ffn_dim=5120,
                          d_model=1280, output_dim=3584, n_window=100, max_source_positions=1500),
        vision_config=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=3584,
                           fullatt_block_indexes=[7, 15, 23, 31], spatial_merge_size=2, patch_size=14,
                           temporal_patch_size=2, window_size=112),
        text_config=dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                         num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768,
                         tie_word_embeddings=False, rms_norm_eps=1e-6,
                         rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                                          "mrope_section": [16, 24, 24]}),
    )
    config.vision_start_token_id = 151652
    return config


def meta_model(config, *, dtype=None, drop_vision: bool = True, lora_r: int = 16):
    """A thinker on the meta device (no memory) with bf16 weights, the vision tower dropped and LoRA
    (r=`lora_r`, fp32) on the language model's q/k/v/o, as `benchmark.run` trains it."""
    import torch
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration as Thinker

    from benchmark.model import apply_lora

    with torch.device("meta"):
        model = Thinker(config).to(dtype or torch.bfloat16)
        if drop_vision:
            model.model.visual = None
        model, _ = apply_lora(model, r=lora_r, alpha=2 * lora_r)
    return model


def largest_micro_batch(batches, lengths, targets, micro_batch_size: int, max_tokens: int) -> tuple[int, int]:
    """(padded tokens, target tokens) of the largest micro-batch the trainer will cut from `batches`
    (lists of example indices; `lengths`/`targets`: estimated tokens per example), as `micro_batches` cuts them."""
    from benchmark.prompting import length_groups

    best = (0, 0)
    for idx in batches:
        idx = list(idx)
        for group in length_groups([lengths[i] for i in idx], micro_batch_size, 0.9, max_tokens):
            padded = len(group) * max(lengths[idx[g]] for g in group)
            best = max(best, (int(padded), int(sum(targets[idx[g]] for g in group))))
    return best


def describe(estimate: dict) -> str:
    """'23.4 GB (weights 15.2, optimizer 0.1, ...)'."""
    parts = ", ".join(f"{k} {v / GB:.2f}" for k, v in estimate.items() if k != "total")
    return f"{estimate['total'] / GB:.2f} GB ({parts})"


__all__ = ["estimate_training", "estimate_generation", "describe", "text_shape", "GB", "seven_b_thinker_config",
           "meta_model", "largest_micro_batch"]
