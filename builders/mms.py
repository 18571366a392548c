"""MMS-TTS backend: transformers ``VitsModel`` (default ``facebook/mms-tts-ara``, any id or path).

Higher quality than espeak-ng but one speaker per checkpoint: "speakers" are deterministic
variations of speaking rate and sampling noise seeded per example; emotions change the speaking
rate and noise (VITS has no pitch control). Each utterance is generated under its own
``torch.manual_seed`` so the output does not depend on the order or the process. Checkpoints whose
tokenizer expects romanized input (``is_uroman``) need the ``uroman`` package.
Licence of the MMS checkpoints: CC-BY-NC 4.0 (speech made with them is non-commercial).
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

EMOTION_STYLE = {  # (speaking-rate factor, noise-scale factor)
    "neutral": (1.0, 1.0), "happy": (1.12, 1.15), "sad": (0.78, 0.7),
    "angry": (1.25, 1.3), "surprise": (1.05, 1.4),
}


def model_file(model: str, name: str) -> Path:
    """A file of a checkpoint: ``<model>/<name>`` for a folder, else from the hub (or its cache)."""
    if Path(model).is_dir():
        return Path(model) / name
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(model, name))


def mms_charset(model: str = "facebook/mms-tts-ara"):
    """What the checkpoint can say: the characters of its tokenizer's ``vocab.json``.

    ``VitsTokenizer`` with ``normalize: true`` silently deletes every other character, so the
    front-end must remove or map them first (and report it). A checkpoint that romanizes
    (``is_uroman: true``) says the romanization of any script: not supported by the front-end.
    """
    from builders.frontend import Charset

    config = json.loads(model_file(model, "tokenizer_config.json").read_text(encoding="utf-8"))
    if config.get("is_uroman") or config.get("phonemize"):
        raise RuntimeError(f"{model}: romanizing/phonemizing tokenizers are not supported by the text front-end")
    vocab = json.loads(model_file(model, "vocab.json").read_text(encoding="utf-8"))
    chars = frozenset(ch for token in vocab if len(token) == 1 for ch in token)
    return Charset(f"mms:{model}", chars)


@dataclass(frozen=True)
class MmsVoice:
    rate: float
    noise: float
    seed: int
    model: str

    @property
    def name(self) -> str:
        return f"mms-{self.model.rstrip('/').split('/')[-1]}-r{self.rate:.2f}"


class MmsTTS:
    """Synthesize with a VITS checkpoint; ``synthesize`` returns ``(float32 samples, rate)``."""

    name = "mms"

    def __init__(self, model: str = "facebook/mms-tts-ara", device: str = "cpu"):
        import torch
        from transformers import AutoTokenizer, VitsModel

        self.model_id, self.device, self.torch = model, device, torch
        self.model = VitsModel.from_pretrained(model).to(device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.sample_rate = int(self.model.config.sampling_rate)
        self.base_noise = float(self.model.config.noise_scale)
        self.uroman = None
        if getattr(self.tokenizer, "is_uroman", False):
            try:
                import uroman
            except ImportError:
                raise RuntimeError(f"{model} expects romanized text: pip install uroman") from None
            self.uroman = uroman.Uroman()

    def speaker(self, key: str, seed: int = 0) -> MmsVoice:
        digest = hashlib.sha256(f"{seed}:voice:{key}".encode()).digest()
        return MmsVoice(rate=0.9 + digest[0] / 255 * 0.2, noise=0.85 + digest[1] / 255 * 0.3,
                        seed=int.from_bytes(digest[2:6], "big"), model=self.model_id)

    def synthesize(self, text: str, voice: MmsVoice, emotion: str | None = None) -> tuple[np.ndarray, int]:
        rate_factor, noise_factor = EMOTION_STYLE.get(emotion or "neutral", (1.0, 1.0))
        if emotion is not None and emotion not in EMOTION_STYLE:
            raise ValueError(f"no style for emotion {emotion!r}; known: {', '.join(EMOTION_STYLE)}")
        if self.uroman is not None:
            text = self.uroman.romanize_string(text)
        inputs = self.tokenizer(text, return_tensors="pt").to(self.device)
        if inputs["input_ids"].shape[-1] == 0:
            raise ValueError(f"no token of {text[:40]!r} is in the vocabulary of {self.model_id}")
        self.model.speaking_rate = voice.rate * rate_factor
        self.model.noise_scale = self.base_noise * voice.noise * noise_factor
        self.torch.manual_seed(voice.seed)
        with self.torch.no_grad():
            waveform = self.model(**inputs).waveform[0]
        return waveform.float().cpu().numpy(), self.sample_rate
