"""Model fixtures (owned by the model/evaluation work).

- `tiny_model`: (model, processor) of the tiny random Qwen2.5-Omni thinker, built once per session
  into a temporary cache and loaded back through `from_pretrained`. Shared: do not change it in
  place (`apply_lora` does); for that, load a fresh copy with `load_model(str(tiny_model_dir))`.
- `tiny_model_dir`: the folder the tiny model was saved to (for the local-path branch).
- `speech_rows`: a few multitask rows with real speech (espeak-ng Arabic voice -> 16 kHz FLAC bytes),
  shaped like `aramega_ssum.dataset.load_split` rows, including one tsum (text) row and one clip
  longer than 30 s; use it where the built dataset is not needed.
"""
from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest

__all__ = ["tiny_model", "tiny_model_dir", "speech_rows", "make_speech_row"]

_SENTENCES = [
    ("asr", "مرحبا بكم في نشرة الأخبار", "مرحبا بكم في نشرة الأخبار", "MSA"),
    ("dialect", "ازيك عامل ايه النهارده", "EGY", "EGY"),
    ("emotion", "أنا سعيد جدا بهذا الخبر", "happy", None),
    ("ssum", "أعلنت الوزارة اليوم عن خطة جديدة لتطوير التعليم في المدارس الحكومية",
     "خطة جديدة لتطوير التعليم", None),
]


def _synthesize(text: str, tmp_dir, repeat: int = 1) -> tuple[bytes, float]:
    """espeak-ng Arabic speech as 16 kHz mono FLAC bytes and its duration."""
    import soundfile as sf

    from aramega_ssum.audio import resample

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make system-deps)")
    wav = tmp_dir / f"s{abs(hash((text, repeat)))}.wav"
    subprocess.run(["espeak-ng", "-v", "ar", "-w", str(wav), " . ".join([text] * repeat)], check=True)
    samples, rate = sf.read(str(wav), dtype="float32")
    samples = resample(samples, rate, 16000)
    buf = io.BytesIO()
    sf.write(buf, samples, 16000, format="FLAC", subtype="PCM_16")
    return buf.getvalue(), len(samples) / 16000


def make_speech_row(task: str, text: str, target: str, tmp_dir, *, idx: int = 0, dialect=None,
                    repeat: int = 1) -> dict:
    """One multitask row with synthesized speech (audio as {bytes, path})."""
    from aramega_ssum.tasks import instruction_for

    data, duration = _synthesize(text, tmp_dir, repeat)
    rid = f"{task}-{idx:03d}"
    return {
        "id": rid, "task": task, "audio": {"bytes": data, "path": f"{rid}.flac"}, "text": None,
        "instruction": instruction_for(task, rid), "target": target,
        "label": target if task in ("dialect", "emotion") else None, "transcription": text,
        "summary": target if task == "ssum" else None, "dialect": dialect,
        "emotion": target if task == "emotion" else None, "speaker": "espeak-ng-ar",
        "source": "test", "duration": np.float32(duration).item(),
    }


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from benchmark.tiny_model import build_tiny

    return build_tiny(cache_dir=tmp_path_factory.mktemp("tiny-cache"), seed=0)


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from benchmark.model import RANDOM_TINY, load_model

    model, processor = load_model(RANDOM_TINY, cache_dir=tiny_model_dir.parent, seed=0)
    return model, processor


@pytest.fixture(scope="session")
def speech_rows(tmp_path_factory):
    tmp_dir = tmp_path_factory.mktemp("speech")
    rows = [make_speech_row(task, text, target, tmp_dir, idx=i, dialect=dialect)
            for i, (task, text, target, dialect) in enumerate(_SENTENCES)]
    rows.append(make_speech_row("ssum", _SENTENCES[3][1], "خطة لتطوير التعليم", tmp_dir, idx=9, repeat=9))
    text = "أعلنت الوزارة اليوم عن خطة جديدة لتطوير التعليم في المدارس الحكومية."
    rows.append({
        "id": "tsum-005", "task": "tsum", "audio": None, "text": text,
        "instruction": "لخّص النص التالي في جملة أو جملتين.", "target": "خطة لتطوير التعليم.",
        "label": None, "transcription": None, "summary": "خطة لتطوير التعليم.", "dialect": None,
        "emotion": None, "speaker": None, "source": "test", "duration": None,
    })
    return rows
