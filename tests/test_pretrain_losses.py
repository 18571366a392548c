"""Pretraining's auxiliary CTC loss on the audio tower, on real clips."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.audio_ctc import AudioCTC
from benchmark.model import load_model
from benchmark.prompting import build_training_batch
from benchmark.train import target_losses, to_device


def test_ctc_head_reads_every_clip_of_the_batch_and_learns(tiny_model_dir, speech_rows):
    model, processor = load_model(str(tiny_model_dir))
    model.train()
    rows = [r for r in speech_rows if r.get("audio") is not None and r["task"] != "ssum"][:2]
    ctc = AudioCTC(model, [r["transcription"] for r in rows])
    batch = build_training_batch(rows, processor)
    inputs = to_device(batch, torch.device("cpu"))
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
