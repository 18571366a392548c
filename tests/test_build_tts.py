"""TTS backends: espeak-ng (voices, emotion prosody, determinism) and mms on a tiny random VITS."""
from __future__ import annotations

import numpy as np
import pytest
from replicas import mms_tts_ara

from builders.espeak import EMOTION_PROSODY, EspeakTTS, pick_voice

TEXT = "وصل الضيوف إلى المطار في المساء"


@pytest.fixture(scope="module")
def espeak():
    return EspeakTTS()


def test_espeak_is_deterministic_and_voices_differ(espeak):
    voice = pick_voice("doc-001")
    a, rate = espeak.synthesize(TEXT, voice)
    b, _ = espeak.synthesize(TEXT, voice)
    assert rate == 22050 and a.dtype == np.float32 and np.array_equal(a, b)
    voices = {pick_voice(f"doc-{i:03d}").variant for i in range(40)}
    assert len(voices) >= 6 and any(v.startswith("f") for v in voices) and any(v.startswith("m") for v in voices)
    assert pick_voice("doc-001", seed=0) == pick_voice("doc-001", seed=0)


def _pitch(samples, rate):
    """Median autocorrelation pitch (Hz) over voiced 40 ms frames."""
    size, pitches = int(0.04 * rate), []
    for start in range(0, samples.size - size, size):
        frame = samples[start:start + size] - samples[start:start + size].mean()
        if np.sqrt((frame ** 2).mean()) < 0.02:
            continue
        corr = np.correlate(frame, frame, "full")[size - 1:]
        lo, hi = rate // 400, rate // 60
        pitches.append(rate / (lo + np.argmax(corr[lo:hi])))
    return float(np.median(pitches))


def test_emotions_have_clearly_different_prosody(espeak):
    voice = pick_voice("emo-x")
    stats = {}
    for emotion in EMOTION_PROSODY:
        samples, rate = espeak.synthesize(TEXT, voice, emotion=emotion)
        stats[emotion] = {"seconds": samples.size / rate, "rms": float(np.sqrt((samples ** 2).mean())),
                          "pitch": _pitch(samples, rate)}
    s = stats
    assert s["sad"]["seconds"] > 1.2 * s["neutral"]["seconds"] > 1.2 * s["angry"]["seconds"], s
    assert s["sad"]["rms"] < 0.8 * s["neutral"]["rms"] < 0.8 * s["angry"]["rms"], s
    assert s["surprise"]["pitch"] > 1.15 * s["neutral"]["pitch"] > 1.1 * s["sad"]["pitch"], s
    with pytest.raises(ValueError, match="no prosody"):
        espeak.synthesize(TEXT, voice, emotion="bored")


@pytest.fixture(scope="module")
def tiny_vits(tmp_path_factory):
    """The hub-faithful facebook/mms-tts-ara replica's snapshot folder, used here as a local path."""
    return mms_tts_ara(tmp_path_factory.mktemp("hf-home"))


def test_mms_backend_offline(tiny_vits):
    from builders.mms import MmsTTS

    tts = MmsTTS(str(tiny_vits))
    voice = tts.speaker("doc-001")
    a, rate = tts.synthesize(TEXT, voice)
    b, _ = tts.synthesize(TEXT, voice)
    sad, _ = tts.synthesize(TEXT, voice, emotion="sad")
    assert rate == 16000 and a.size > 0 and np.array_equal(a, b)
    assert sad.size > a.size  # slower speaking rate


def test_build_with_mms(tiny_vits, mini_corpus_dir, tmp_path):
    from aramega_ssum.dataset import fingerprint, load_split
    from builders.build import build, parse_args

    args = ["--corpus-dir", str(mini_corpus_dir), "--tts", "mms", "--tts-model", str(tiny_vits), "--no-progress",
            "--dataset-config", "ssum"]
    report = build(parse_args(["--output-dir", str(tmp_path / "a"), *args]))
    build(parse_args(["--output-dir", str(tmp_path / "b"), *args]))
    assert report["tts"] == {"backend": "mms", "model": str(tiny_vits)}
    assert fingerprint(tmp_path / "a", "ssum") == fingerprint(tmp_path / "b", "ssum")
    row = load_split(tmp_path / "a", "train", "ssum")[0]
    assert row["speaker"].startswith("mms-") and row["audio"]["bytes"][:4] == b"fLaC"


def test_espeak_decimals_are_deterministic(espeak):
    from builders.espeak import speakable

    assert speakable("بمعدل 99.6، في عام 2024.") == "بمعدل 99 فاصلة 6، في عام 2024."
    voice = pick_voice("doc-035")
    outputs = {espeak.synthesize("بمعدل 99.6 في المئة", voice)[0].tobytes() for _ in range(6)}
    assert len(outputs) == 1
