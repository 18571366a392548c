"""aramega_ssum.audio: decode any stored value, resample (scipy-equivalent), FLAC round trip, checks."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from aramega_ssum.audio import (AudioError, check_audio, decode_audio, encode_flac, prepare, read_audio_file,
                                resample)
from fixtures_data import tone, write_wav


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resample_matches_scipy_resample_poly(rate):
    signal = tone(0.5, rate, 1)[:, 0]
    ours = resample(signal, rate, 16000)
    assert ours.dtype == np.float32 and ours.size == int(np.ceil(signal.size * 16000 / rate))
    scipy_signal = pytest.importorskip("scipy.signal")
    from fractions import Fraction

    ratio = Fraction(16000, rate)
    reference = scipy_signal.resample_poly(signal, ratio.numerator, ratio.denominator)
    assert np.abs(ours - reference).max() < 1e-4


def test_resample_keeps_a_tone_and_removes_aliases():
    rate = 44100
    t = np.arange(rate) / rate
    signal = (0.5 * np.sin(2 * np.pi * 1000 * t) + 0.5 * np.sin(2 * np.pi * 12000 * t)).astype(np.float32)
    out = resample(signal, rate)
    spectrum = np.abs(np.fft.rfft(out)) / out.size
    freqs = np.fft.rfftfreq(out.size, 1 / 16000)
    assert spectrum[np.argmin(np.abs(freqs - 1000))] > 0.2  # passband kept
    assert spectrum[np.argmin(np.abs(freqs - 4000))] < 1e-3  # 12 kHz would alias to 4 kHz: removed


def test_flac_round_trip_is_deterministic_and_decodes_all_forms(tmp_path):
    signal = resample(tone(1.0, 44100, 2).mean(axis=1), 44100)
    data = encode_flac(signal)
    assert data[:4] == b"fLaC" and data == encode_flac(signal)
    for value in (data, {"bytes": data, "path": "x.flac"}):
        decoded, rate = decode_audio(value)
        assert rate == 16000 and np.abs(decoded - signal).max() < 1e-3
    (tmp_path / "x.flac").write_bytes(data)
    assert decode_audio({"bytes": None, "path": str(tmp_path / "x.flac")})[0].size == signal.size


def test_read_segment_and_stereo_to_mono(tmp_path):
    path = write_wav(tmp_path / "s.wav", 2.0, 44100, 2)
    whole, rate = read_audio_file(path)
    part, _ = read_audio_file(path, 0.5, 1.25)
    assert whole.ndim == 1 and rate == 44100
    assert part.size == int(0.75 * 44100) and np.allclose(part, whole[22050:22050 + part.size])
    flac, seconds = prepare(whole, rate, "s.wav")
    info = sf.info(io.BytesIO(flac))
    assert (info.samplerate, info.channels, info.format) == (16000, 1, "FLAC") and seconds == 2.0


def test_bad_audio_raises_with_reason(tmp_path):
    with pytest.raises(AudioError) as err:
        read_audio_file(tmp_path / "nope.wav")
    assert err.value.reason == "missing_file"
    (tmp_path / "bad.wav").write_bytes(b"garbage")
    with pytest.raises(AudioError) as err:
        read_audio_file(tmp_path / "bad.wav")
    assert err.value.reason == "corrupt_audio" and "bad.wav" in str(err.value)
    for samples, reason, limit in ((np.zeros(0, np.float32), "empty_audio", None),
                                   (np.array([0.0, np.nan], np.float32), "nan_samples", None),
                                   (np.zeros(48000, np.float32), "too_long", 2.0)):
        with pytest.raises(AudioError) as err:
            check_audio(samples, 16000, "x.wav", limit)
        assert err.value.reason == reason
