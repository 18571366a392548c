"""A guided-attention loss for pretraining the embedded base only: ASR targets read the audio in order.

A tiny decoder learns to hear a clip's words long before it learns WHERE in the clip the next word
is (the alignment; attention-based ASR needs far more data for it than the embedded corpus has).
Guided attention (Tachibana, Uenoyama & Aihara 2018, DC-TTS) asks one head per LM layer to put its
attention on the audio near the diagonal: target token i of N should read near frame i/N * T of T.
The loss is the attention mass outside a Gaussian band (sigma, in fractions of the clip) around it,
mass on text positions included; the head is free to sharpen inside the band.
Needs eager attention (weights returned); `benchmark.pretrain_tiny --guide-weight` only.
"""
from __future__ import annotations

import torch

IGNORE_INDEX = -100


class GuidedAttention:
    """Captures the LM layers' attention weights of a forward pass; `loss()` scores the guided heads."""

    def __init__(self, model, heads: tuple[int, ...] = (0,), sigma: float = 0.2):
        self.heads, self.sigma = list(heads), sigma
        self.audio_token_id = model.config.audio_token_index
        self._weights: list[torch.Tensor] = []
        layers = [m for n, m in model.named_modules() if n.endswith("self_attn") and ".language_model." in f".{n}"]
        if not layers:
            raise ValueError("no language-model attention layers found to guide")
        for layer in layers:
            layer.register_forward_hook(self._capture)

    def _capture(self, module, args, output):
        if output[1] is None:
            raise RuntimeError("guided attention needs attention weights: load the model with attn_implementation='eager'")
        self._weights.append(output[1])

    def reset(self) -> None:
        self._weights = []

    def loss(self, input_ids: torch.Tensor, labels: torch.Tensor, guided: list[bool]) -> torch.Tensor:
        """Mean attention mass (0 to 1) of the guided heads outside the band, over the `guided` examples' target tokens."""
        terms = []
        for b in (i for i, g in enumerate(guided) if g):
            frames = (input_ids[b] == self.audio_token_id).nonzero(as_tuple=True)[0]
            queries = (labels[b, 1:] != IGNORE_INDEX).nonzero(as_tuple=True)[0]  # positions predicting a target token
            if frames.numel() == 0 or queries.numel() == 0:
                continue
            n, t = queries.numel(), frames.numel()
            i = (torch.arange(n, dtype=torch.float32) + 0.5) / n
            j = (torch.arange(t, dtype=torch.float32) + 0.5) / t
            band = torch.exp(-((i[:, None] - j[None, :]) ** 2) / (2 * self.sigma ** 2))
            for weights in self._weights:
                attn = weights[b, self.heads][:, queries][:, :, frames].float()  # (heads, n, t)
                terms.append(1.0 - (attn * band).sum(-1).mean())
        self.reset()
        return torch.stack(terms).mean() if terms else torch.zeros(())
