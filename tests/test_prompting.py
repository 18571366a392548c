"""Chat prompts and collators on real synthesized speech and the tiny model."""
from __future__ import annotations

import pytest
import torch

from benchmark.prompting import (
    IGNORE_INDEX, build_generation_batch, estimate_length, length_groups, build_training_batch, micro_batches, model_inputs,
    order_by_length, padding_efficiency, prompt_text,
)


def test_prompt_uses_chat_template(tiny_model, speech_rows):
    _, processor = tiny_model
    audio_prompt = prompt_text(speech_rows[0], processor)
    assert audio_prompt.startswith("<|im_start|>system\n")
    assert "<|audio_bos|><|AUDIO|><|audio_eos|>" + speech_rows[0]["instruction"] in audio_prompt
    assert audio_prompt.endswith("<|im_start|>assistant\n")
    text_prompt = prompt_text(speech_rows[-1], processor)
    assert "<|AUDIO|>" not in text_prompt and speech_rows[-1]["text"] in text_prompt


def test_training_batch_labels_only_target(tiny_model, speech_rows):
    model, processor = tiny_model
    batch = build_training_batch(speech_rows, processor)
    ids, labels, mask = batch["input_ids"], batch["labels"], batch["attention_mask"]
    assert ids.shape == labels.shape == mask.shape
    assert (mask[:, 0] == 1).all()  # right padding
    tok = processor.tokenizer
    for i, row in enumerate(speech_rows):
        target_ids = labels[i][labels[i] != IGNORE_INDEX]
        assert tok.decode(target_ids) == row["target"] + "<|im_end|>", row["id"]
        last = int(mask[i].sum()) - 1
        assert labels[i, last] == tok.convert_tokens_to_ids("<|im_end|>")
    assert batch["ids"] == [r["id"] for r in speech_rows]
    assert batch["input_features"].shape[0] == sum(r["audio"] is not None for r in speech_rows)
    out = model(**model_inputs(batch))
    assert torch.isfinite(out.loss)


def test_long_clip_kept_whole_and_bounded(tiny_model, speech_rows):
    _, processor = tiny_model
    long_row = max((r for r in speech_rows if r["audio"]), key=lambda r: r["duration"])
    assert long_row["duration"] > 30
    batch = build_training_batch([long_row], processor)
    n = int((batch["input_ids"] == processor.audio_token_id).sum())
    assert abs(n - 25 * long_row["duration"]) <= 2
    assert batch["audio_truncated"] == batch["audio_skipped"] == 0
    cut = build_training_batch([long_row, speech_rows[0]], processor, max_audio_seconds=10)
    assert cut["audio_truncated"] == 1 and int((cut["input_ids"][0] == processor.audio_token_id).sum()) == 250
    skipped = build_training_batch([long_row, speech_rows[0]], processor, max_audio_seconds=10, over_limit="skip")
    assert skipped["audio_skipped"] == 1 and skipped["skipped_ids"] == [long_row["id"]]
    assert skipped["ids"] == [speech_rows[0]["id"]]
    with pytest.raises(ValueError, match="skipped"):
        build_training_batch([long_row], processor, max_audio_seconds=10, over_limit="skip")


def test_generation_batch_left_padded(tiny_model, speech_rows):
    model, processor = tiny_model
    batch = build_generation_batch(speech_rows[:4] + speech_rows[-1:], processor)
    mask = batch["attention_mask"]
    assert (mask[:, -1] == 1).all() and (mask[:, 0] == 0).any()  # left padding
    header = processor.tokenizer.encode("<|im_start|>assistant\n", add_special_tokens=False)
    assert batch["input_ids"][:, -len(header):].tolist() == [header] * mask.shape[0]
    out = model.generate(**model_inputs(batch), max_new_tokens=4, do_sample=False)
    assert out.shape[0] == mask.shape[0]


def test_duration_ordering(speech_rows):
    audio_rows = [r for r in speech_rows if r["audio"]]
    order = order_by_length(audio_rows)
    lengths = [estimate_length(audio_rows[i]) for i in order]
    assert lengths == sorted(lengths)
    assert audio_rows[order[-1]]["duration"] == max(r["duration"] for r in audio_rows)
    for options in ({}, {"min_efficiency": None}, {"by_length": False}):
        chunks = micro_batches(speech_rows, 2, **options)
        assert all(1 <= len(c) <= 2 for c in chunks)
        assert sorted(r["id"] for c in chunks for r in c) == sorted(r["id"] for r in speech_rows)
    assert [r["id"] for c in micro_batches(speech_rows, 2, by_length=False) for r in c] == \
        [r["id"] for r in speech_rows]


def test_length_groups_bound_padding():
    lengths = [10, 100, 11, 95, 12, 400, 13, 90]
    assert length_groups(lengths, 4, None) == [[0, 2, 4, 6], [7, 3, 1, 5]]
    groups = length_groups(lengths, 4, 0.8)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for g in groups:
        assert len(g) <= 4
        assert sum(lengths[i] for i in g) / (len(g) * max(lengths[i] for i in g)) >= 0.8
    assert [5] in groups  # the outlier goes alone
    with pytest.raises(ValueError):
        length_groups(lengths, 0)


def test_padding_efficiency_counts(tiny_model, speech_rows):
    _, processor = tiny_model
    eff = padding_efficiency(build_training_batch(speech_rows[:2], processor))
    assert 0 < eff["tokens_real"] <= eff["tokens_total"] and 0 < eff["frames_real"] <= eff["frames_total"]
