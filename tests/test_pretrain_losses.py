"""Pretraining's auxiliary CTC loss on the audio tower, on real clips."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.audio_ctc import AudioCTC
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
