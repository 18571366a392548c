"""Audio input/output on soundfile: decode any stored audio value, check it, resample, encode FLAC.

Everything the project reads or writes goes through these functions, so no torchcodec/FFmpeg is
needed to build or to read the dataset (``datasets`` needs torchcodec only to fill
``row["audio"]["array"]``). Resampling is polyphase (the filter of ``scipy.signal.resample_poly``, Kaiser
window, computed in numpy), output is mono float32 at 16 kHz, FLAC is 16-bit PCM (deterministic bytes).
"""
from __future__ import annotations

import io
import logging
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.lib.stride_tricks import sliding_window_view

from aramega_ssum.schema import SAMPLING_RATE

logger = logging.getLogger(__name__)


_INT16_SUBTYPES = {"PCM_16", "PCM_S8", "PCM_U8"}


class AudioError(ValueError):
    """Audio that cannot be used; `reason` is a short machine-readable code for the build report."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def decode_audio(value, where: str | None = None) -> tuple[np.ndarray, int]:
    """Decode a parquet audio struct/dict ``{bytes, path}``, raw bytes or a file path.

    Returns ``(samples, sample_rate)``: float32, mono (channels averaged). With `where` (e.g.
    "example asr-0001"), a failure is an AudioError naming it (and the file, if any).
    """
    if where is None:
        return _decode(value)
    try:
        return _decode(value)
    except AudioError as exc:
        raise AudioError(exc.reason, f"{where}: {exc}") from None
    except (RuntimeError, ValueError, TypeError, OSError) as exc:
        path = value.get("path") if isinstance(value, dict) else (value if isinstance(value, (str, Path)) else None)
        raise AudioError("corrupt_audio", f"{where}{f' ({path})' if path else ''}: cannot decode audio: {exc}") from None


def load_clip(value, where: str) -> np.ndarray:
    """A stored audio value as the model's input: float32 mono at 16 kHz, resampled if stored otherwise.

    Any failure, an empty clip included, is an AudioError naming `where` (e.g. "example 'asr-0001'").
    """
    samples, rate = decode_audio(value, where=where)
    if samples.size == 0:
        raise AudioError("empty_audio", f"{where}: empty audio")
    return samples if rate == SAMPLING_RATE else resample(samples, rate, SAMPLING_RATE)


def _decode(value) -> tuple[np.ndarray, int]:
    if isinstance(value, dict):
        data, path = value.get("bytes"), value.get("path")
        if data is None and path is None:
            raise AudioError("empty_audio", "audio value has neither bytes nor path")
        value = data if data is not None else path
    if isinstance(value, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(value))
    elif isinstance(value, (str, Path)):
        source = str(value)
    else:
        raise TypeError(f"cannot decode audio from {type(value).__name__}")
    samples, rate = sf.read(source, dtype="float32", always_2d=True)
    return to_mono(samples), rate


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of a [frames, channels] array (1-D input is returned as float32)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 2:  # a matrix-vector product: far faster than mean(axis=1) on [frames, 2]
        channels = samples.shape[1]
        samples = samples[:, 0] if channels == 1 else samples @ np.full(channels, 1 / channels, np.float32)
    return np.ascontiguousarray(samples, dtype=np.float32)


@lru_cache(maxsize=16)
def _polyphase_taps(up: int, down: int, beta: float = 5.0) -> tuple[np.ndarray, int]:
    """Kaiser-windowed sinc low-pass (as scipy's resample_poly), split into `up` reversed phases."""
    max_rate = max(up, down)
    half_len = 10 * max_rate
    n = np.arange(2 * half_len + 1) - half_len
    cutoff = 1.0 / max_rate
    h = cutoff * np.sinc(cutoff * n) * np.kaiser(2 * half_len + 1, beta)
    h = h / h.sum() * up
    per_phase = -(-h.size // up)
    padded = np.zeros(per_phase * up)
    padded[: h.size] = h
    return np.ascontiguousarray(padded.reshape(per_phase, up).T[:, ::-1], dtype=np.float32), half_len


def resample(samples: np.ndarray, rate: int, target: int = SAMPLING_RATE) -> np.ndarray:
    """Polyphase resampling of a mono float32 signal from `rate` to `target` Hz.

    Same filter and alignment as ``scipy.signal.resample_poly`` (Kaiser beta 5, 10 zero crossings
    per side), computed phase by phase in numpy (importing scipy.signal costs seconds).
    """
    samples = np.asarray(samples, dtype=np.float32)
    if rate == target:
        return samples
    ratio = Fraction(target, rate)
    up, down = ratio.numerator, ratio.denominator
    taps, half_len = _polyphase_taps(up, down)
    width = taps.shape[1]
    n_out = -(-samples.size * up // down)
    padded = np.concatenate([np.zeros(width, np.float32), samples, np.zeros(width + down, np.float32)])
    windows = sliding_window_view(padded, width)
    out = np.empty(n_out, dtype=np.float32)
    for first in range(min(up, n_out)):
        position = first * down + half_len
        phase, start = position % up, position // up + 1
        count = -(-(n_out - first) // up)
        out[first::up] = windows[start: start + down * count: down] @ taps[phase]
    return out


def read_audio_file(path: str | Path, start: float | None = None, end: float | None = None
                    ) -> tuple[np.ndarray, int]:
    """Read a file (or the ``[start, end)`` seconds of it) as mono float32; AudioError on failure."""
    path = Path(path)
    if not path.exists():
        raise AudioError("missing_file", f"{path}: no such file")
    if not path.is_file():
        raise AudioError("unreadable_audio", f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise AudioError("empty_file", f"{path}: empty file (0 bytes)")
    try:
        with sf.SoundFile(str(path)) as handle:
            rate = handle.samplerate
            first = 0 if start is None else int(round(start * rate))
            if first > handle.frames:
                raise AudioError("bad_segment", f"{path}: segment starts at {start}s, past the end "
                                 f"({handle.frames / rate:.2f}s)")
            count = -1 if end is None else max(0, int(round(end * rate)) - first)
            handle.seek(first)
            if handle.subtype in _INT16_SUBTYPES:  # libsndfile's own int->float path is ~5x slower
                samples = handle.read(count, dtype="int16", always_2d=True).astype(np.float32) / 32768.0
            else:
                samples = handle.read(count, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except PermissionError as err:
        raise AudioError("unreadable_audio", f"{path}: {err}") from None
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise AudioError("corrupt_audio", f"{path}: {err}") from None
    return to_mono(samples), rate


MIN_SECONDS = 0.1  # shorter clips (e.g. a WAV truncated to its header) are skipped and reported


def check_audio(samples: np.ndarray, rate: int, where: str, max_seconds: float | None = None,
                min_seconds: float | None = None) -> None:
    """Raise AudioError for zero-length, non-finite, too short (< `min_seconds`) or too long audio."""
    if samples.size == 0:
        raise AudioError("empty_audio", f"{where}: zero-length audio")
    if not np.isfinite(samples).all():
        raise AudioError("nan_samples", f"{where}: NaN or infinite samples")
    seconds = samples.size / rate
    if max_seconds is not None and seconds > max_seconds:
        raise AudioError("too_long", f"{where}: {seconds:.1f}s is longer than --max-audio-seconds {max_seconds:g}")
    if min_seconds is not None and seconds < min_seconds:
        raise AudioError("too_short", f"{where}: {seconds:.3f}s is shorter than --min-audio-seconds {min_seconds:g}")


def encode_flac(samples: np.ndarray, rate: int = SAMPLING_RATE) -> bytes:
    """16-bit FLAC bytes of a mono float32 signal (clipped to [-1, 1]; deterministic)."""
    buffer = io.BytesIO()
    pcm = np.rint(np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767.0).astype(np.int16)
    sf.write(buffer, pcm, rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def prepare(samples: np.ndarray, rate: int, where: str, max_seconds: float | None = None
            ) -> tuple[bytes, float]:
    """Check, resample to 16 kHz mono and FLAC-encode: ``(flac_bytes, duration_seconds)``."""
    check_audio(samples, rate, where, max_seconds)
    mono16k = resample(to_mono(samples), rate)
    if mono16k.size == 0:
        raise AudioError("empty_audio", f"{where}: zero-length audio after resampling")
    return encode_flac(mono16k), round(mono16k.size / SAMPLING_RATE, 3)
