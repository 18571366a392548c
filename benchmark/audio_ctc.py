"""An auxiliary CTC loss on the audio tower's output frames, for pretraining the embedded base only.

Joint CTC-attention training (Kim, Hori & Watanabe 2017): a linear head over the audio tower's frames
(after its projection to the LM width, 25 per second) predicts the transcription's characters with
CTC. It gives the tower a per-frame signal of what is said from the first step, which the LM's
cross-entropy alone gives only once its attention has found the alignment. The head is used while
pretraining (`benchmark.pretrain_tiny --ctc-weight`) and dropped: the saved model is the plain thinker.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

BLANK = 0


class AudioCTC(nn.Module):
    """CTC over characters from the audio tower's frames of the last forward pass (a forward hook captures them)."""

    def __init__(self, model, texts: list[str]):
        super().__init__()
        self.chars = sorted({c for t in texts for c in t})
        self.index = {c: i + 1 for i, c in enumerate(self.chars)}  # 0 is the blank
        width = model.config.audio_config.output_dim
        self.head = nn.Linear(width, len(self.chars) + 1)
        self._captured: list = []
        model.model.audio_tower.register_forward_hook(self._capture, with_kwargs=True)

    def _capture(self, module, args, kwargs, output):
        out_lengths = module._get_feat_extract_output_lengths(kwargs["feature_lens"])[1]
        self._captured = list(output.last_hidden_state.split(out_lengths.tolist()))

    def encode(self, text: str) -> list[int]:
        return [self.index[c] for c in text if c in self.index]

    def loss(self, transcriptions: list[str]) -> torch.Tensor:
        """Mean CTC loss (per target character) of the captured clips against their transcriptions, in order."""
        frames = self._captured
        if len(frames) != len(transcriptions):
            raise ValueError(f"{len(frames)} clips captured for {len(transcriptions)} transcriptions")
        targets = [torch.tensor(self.encode(t)) for t in transcriptions]
        logp = [F.log_softmax(self.head(f).float(), dim=-1) for f in frames]
        padded = nn.utils.rnn.pad_sequence(logp)  # (T, N, C)
        return F.ctc_loss(padded, torch.cat(targets), torch.tensor([len(f) for f in frames]),
                          torch.tensor([len(t) for t in targets]), blank=BLANK, reduction="mean", zero_infinity=True)

    @torch.no_grad()
    def greedy(self) -> list[str]:
        """Best-path decoding of the captured clips (collapse repeats, drop blanks)."""
        out = []
        for f in self._captured:
            best = self.head(f).argmax(-1).tolist()
            keep = [b for i, b in enumerate(best) if b != BLANK and (i == 0 or b != best[i - 1])]
            out.append("".join(self.chars[b - 1] for b in keep))
        return out
