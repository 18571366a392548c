"""Aligner embeddings with the real tiny Qwen2.5-Omni thinker on real (espeak-ng) speech."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from aramega_ssum.audio import decode_audio
from aramega_ssum.scheduling.embeddings import aligner_embeddings, audio_tower, cache_path


def test_audio_rows_use_tower_with_proj_and_text_rows_token_table(tiny_model, speech_rows, tmp_path):
    model, processor = tiny_model
    rows = list(speech_rows)
    emb = aligner_embeddings(model, processor, rows, batch_size=2, cache_dir=tmp_path, cache_key="tiny|fp")
    hidden = model.get_input_embeddings().weight.shape[1]
    assert emb.shape == (len(rows), hidden) and emb.dtype == np.float32 and np.isfinite(emb).all()
    tower = audio_tower(model)
    assert tower.proj.out_features == hidden  # the aligner maps into the LM input space

    audio_row = next(i for i, r in enumerate(rows) if r["audio"] is not None)
    wave, _ = decode_audio(rows[audio_row]["audio"])
    feats = processor.feature_extractor([wave], sampling_rate=16000, return_attention_mask=True,
                                        truncation=False, padding="longest", return_tensors="pt")
    with torch.no_grad():
        ref = model.get_audio_features(feats["input_features"], feature_attention_mask=feats["attention_mask"])
    ref = getattr(ref, "last_hidden_state", ref).mean(0).numpy()
    np.testing.assert_allclose(emb[audio_row], ref, atol=5e-4)  # padding changes log-mel clipping slightly

    text_row = next(i for i, r in enumerate(rows) if r["audio"] is None)
    ids = processor.tokenizer(rows[text_row]["text"], add_special_tokens=False)["input_ids"]
    expected = model.get_input_embeddings().weight[ids].mean(0).detach().numpy()
    np.testing.assert_allclose(emb[text_row], expected, rtol=1e-5, atol=1e-6)

    path = cache_path(tmp_path, "tiny|fp", [r["id"] for r in rows])
    assert path.exists()
    np.save(path, emb + 1)  # a cache hit returns the file, not a recomputation
    again = aligner_embeddings(model, processor, rows, batch_size=3, cache_dir=tmp_path, cache_key="tiny|fp")
    np.testing.assert_array_equal(again, emb + 1)
    other = cache_path(tmp_path, "tiny|other-fingerprint", [r["id"] for r in rows])
    assert other != path


def test_corrupt_audio_is_an_audio_error_naming_the_example():
    from aramega_ssum.audio import AudioError
    from aramega_ssum.scheduling.embeddings import _embed_audio

    with pytest.raises(AudioError, match=r"example 'asr-bad'.*cannot decode audio"):  # decoded before the model runs
        _embed_audio(None, None, [{"id": "asr-bad", "audio": {"bytes": b"RIFF\x00\x00not a wav", "path": None}}])


def test_new_weights_in_the_same_folder_are_a_new_cache_key(tmp_path):
    """The committed tiny base is re-trained in place: its content revision, not its path, keys the cache."""
    import shutil

    from benchmark.hub import resolve_model
    from benchmark.model import TINY_BASE_DIR, load_model
    from aramega_ssum.scheduling.embeddings import embedding_cache_key

    folder = tmp_path / "base"
    shutil.copytree(TINY_BASE_DIR, folder)
    model = load_model(str(folder))[0]
    before = embedding_cache_key(model, "fp")
    with torch.no_grad():
        model.lm_head.weight.add_(1.0)  # re-trained weights, saved to the same folder
    model.save_pretrained(folder, safe_serialization=True)
    resolve_model.cache_clear()  # a later process: the folder's revision is resolved once per process
    after = embedding_cache_key(load_model(str(folder))[0], "fp")
    assert before != after and before.startswith(str(folder))
