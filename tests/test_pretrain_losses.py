"""Pretraining's auxiliary CTC loss on the audio tower and its lead documents, on real clips."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from aramega_ssum.audio import load_clip
from benchmark.audio_ctc import AudioCTC
from benchmark.pretrain_rows import LEAD_GAP_SECONDS, LEAD_SECONDS, lead_documents, materialize, train_rows
from benchmark.prompting import build_training_batch
from benchmark.train import target_losses


@pytest.fixture()
def fresh_tiny(tiny_model_dir):
    from benchmark.model import load_model

    def load(attn=None):
        model, processor = load_model(str(tiny_model_dir), attn_implementation=attn)
        return model.train(), processor
    return load


def _audio_rows(speech_rows):
    return [r for r in speech_rows if r.get("audio") is not None and r["task"] != "ssum"][:2]


def test_ctc_head_reads_every_clip_of_the_batch_and_learns(fresh_tiny, speech_rows):
    model, processor = fresh_tiny()
    rows = _audio_rows(speech_rows)
    ctc = AudioCTC(model, [r["transcription"] for r in rows])
    batch = build_training_batch(rows, processor)
    inputs = {k: v for k, v in batch.items() if isinstance(v, torch.Tensor)}
    params = list(model.parameters()) + list(ctc.parameters())
    opt = torch.optim.Adam(params, lr=3e-3)
    losses = []
    for _ in range(15):
        target_losses(model, inputs, batch["labels"])
        loss = ctc.loss([r["transcription"] for r in rows])
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert len(ctc.greedy()) == len(rows)
    assert np.isfinite(losses).all() and losses[-1] < 0.7 * losses[0]
    with pytest.raises(ValueError, match="clips captured"):
        ctc.loss([rows[0]["transcription"]])


def test_lead_documents_speak_train_sentences_with_the_first_as_target(embedded_dataset):
    rows = train_rows(embedded_dataset, max_seconds=12.0)
    docs = lead_documents(rows, 3, seed=0)
    assert docs == lead_documents(rows, 3, seed=0) and len(docs) == 3
    train_ids = {r["id"] for r in rows}
    for doc in docs:
        assert doc["task"] == "ssum" and doc["target"] == doc["parts"][0]["transcription"]
        assert {p["id"] for p in doc["parts"]} <= train_ids
        assert LEAD_SECONDS[0] <= doc["duration"] <= LEAD_SECONDS[1] + 25
        samples = load_clip(materialize(doc)["audio"], where="lead")
        expected = sum(float(p["duration"]) + LEAD_GAP_SECONDS for p in doc["parts"])
        assert abs(samples.size / 16000 - expected) < 0.05 * len(doc["parts"])
    assert materialize(rows[0]) is rows[0]
