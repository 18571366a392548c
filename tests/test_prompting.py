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


def test_fast_collation_matches_the_processor(tiny_model, speech_rows):
    """Own log-mel + token expansion == the processor's audio path (ids exact, features ~1e-7)."""
    from aramega_ssum.audio import decode_audio

    _, processor = tiny_model
    rows = speech_rows[:3] + speech_rows[-1:]  # audio rows + the text row
    clips = [decode_audio(r["audio"])[0] for r in rows if r["audio"] is not None]
    prompts = [prompt_text(r, processor) for r in rows]
    for side, got in (("left", build_generation_batch(rows, processor)),
                      ("right", build_training_batch(rows, processor))):
        texts = prompts if side == "left" else [p + r["target"] + "<|im_end|>" for p, r in zip(prompts, rows)]
        ref = processor(text=texts, audio=clips, return_tensors="pt", padding=True, padding_side=side)
        assert torch.equal(got["input_ids"], ref["input_ids"]), side
        assert torch.equal(got["attention_mask"], ref["attention_mask"]), side
        assert torch.equal(got["feature_attention_mask"], ref["feature_attention_mask"].to(torch.int32))
        assert got["input_features"].shape == ref["input_features"].shape
        assert torch.allclose(got["input_features"], ref["input_features"], atol=1e-5)


def test_log_mel_matches_whisper_feature_extractor(tiny_model, speech_rows):
    from aramega_ssum.audio import decode_audio
    from aramega_ssum.features import log_mel

    fe = tiny_model[1].feature_extractor
    clip = decode_audio(speech_rows[0]["audio"])[0]
    short = clip[: 16000 * 2 + 77]
    feats, mask = log_mel([clip, short], fe)
    for i, c in enumerate((clip, short)):
        length = -(-(len(c) + fe.n_fft) // fe.hop_length) * fe.hop_length
        ref = fe([c], sampling_rate=16000, padding="max_length", max_length=length, truncation=False,
                 return_tensors="pt", return_attention_mask=True)
        n = ref["input_features"].shape[-1]
        assert torch.allclose(feats[i, :, :n], ref["input_features"][0], atol=1e-5)
        assert torch.equal(mask[i, :n], ref["attention_mask"][0].to(torch.int32))
        assert (feats[i, :, n:] == 0).all() and (mask[i, n:] == 0).all()
    alone, _ = log_mel([short], fe)
    assert torch.equal(alone[0], feats[1, :, : alone.shape[-1]])  # independent of batch mates


def test_expand_audio_tokens_and_pad_ids():
    from benchmark.prompting import expand_audio_tokens, pad_ids

    assert expand_audio_tokens([[1, 9, 2], [3], [9, 4]], 9, [2, 3]) == [[1, 9, 9, 2], [3], [9, 9, 9, 4]]
    with pytest.raises(ValueError, match="placeholder"):
        expand_audio_tokens([[1, 9]], 9, [2, 2])
    ids, mask = pad_ids([[5, 6, 7], [8]], 0, "left")
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    ids, mask = pad_ids([[5, 6, 7], [8]], 0, "right")
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
