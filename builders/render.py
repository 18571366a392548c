"""Audio work done in worker processes: read or synthesize, check, resample to 16 kHz mono, FLAC.

`render(audio_ref, where)` is a pure function of its arguments plus the per-process settings set
by `init_worker` (TTS backend, --max-seconds, seed), so results are identical whatever the number
of processes. Failures come back as ``{"ok": False, "reason", "detail"}``, never as exceptions.
"""
from __future__ import annotations

import contextlib
import logging

import numpy as np

from aramega_ssum.audio import AudioError, check_audio, decode_audio, encode_flac, read_audio_file, resample
from aramega_ssum.schema import SAMPLING_RATE

logger = logging.getLogger(__name__)

PAUSE_SECONDS = 0.3
_STATE: dict = {}


class BackendError(RuntimeError):
    """The TTS backend cannot be used at all (not a per-example problem): the build stops."""


def make_tts(name: str, model: str | None = None):
    """The TTS backend called `name` ("espeak" or "mms")."""
    if name == "espeak":
        from builders.espeak import EspeakTTS

        return EspeakTTS()
    if name == "mms":
        from builders.mms import MmsTTS

        return MmsTTS(model or "facebook/mms-tts-ara")
    raise ValueError(f"unknown TTS backend {name!r}; expected espeak or mms")


def init_worker(tts: str, tts_model: str | None, max_seconds: float | None, seed: int,
                single_thread: bool = False) -> None:
    """Per-process settings; the TTS backend is created on first use.

    With several worker processes each one keeps BLAS to one thread (`single_thread`): N processes
    x N BLAS threads oversubscribe the cores and run slower than one process.
    """
    if single_thread:
        _limit_threads()
    keep_freed_memory()
    _STATE.clear()
    _STATE.update(tts_name=tts, tts_model=tts_model, max_seconds=max_seconds, seed=seed)


MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 256 << 20


def keep_freed_memory() -> None:
    """Let glibc reuse freed audio buffers instead of unmapping them (Linux/glibc; else a no-op).

    A clip's arrays (a 30 s 44.1 kHz stereo WAV is ~10 MB as float32) are above glibc's default
    mmap threshold, so each is mmapped, page-faulted in and unmapped per clip: measured on the perf
    ingest corpus, 129k minor page faults and 0.4-0.5 s of kernel time for 60 clips in two fresh
    workers, against 6k and 0.1 s with these thresholds (the cause of the poor --num-proc 2
    speed-up: fresh workers never warm up glibc's dynamic threshold). Peak memory is unchanged:
    the same buffers are reused.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    libc.mallopt(-1, TRIM_THRESHOLD)  # M_TRIM_THRESHOLD


def single_thread_blas():
    """A context keeping BLAS to one thread (threadpoolctl), so one process uses one core."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        logger.debug("threadpoolctl not installed: BLAS threads not limited")
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def _limit_threads() -> None:
    _STATE_LIMITS.append(single_thread_blas())  # for the worker's lifetime


_STATE_LIMITS: list = []


def _tts():
    if "tts" not in _STATE:
        try:
            _STATE["tts"] = make_tts(_STATE.get("tts_name", "espeak"), _STATE.get("tts_model"))
        except Exception as err:  # noqa: BLE001 - surfaced to the build as one clear error
            raise BackendError(f"TTS backend {_STATE.get('tts_name')!r} unavailable: {err}") from err
    return _STATE["tts"]


def _synthesize(ref: dict) -> tuple[np.ndarray, int, list[tuple[int, int]], str]:
    """Speak each segment, join with short pauses; returns samples, rate, segment spans, speaker."""
    tts = _tts()
    voice = tts.speaker(ref["key"], _STATE.get("seed", 0))
    pieces, spans, position, rate = [], [], 0, None
    for text in ref["segments"]:
        samples, rate = tts.synthesize(text, voice, emotion=ref.get("emotion"))
        if pieces:
            pause = np.zeros(int(PAUSE_SECONDS * rate), dtype=np.float32)
            pieces.append(pause)
            position += pause.size
        pieces.append(samples)
        spans.append((position, position + samples.size))
        position += samples.size
    return np.concatenate(pieces), rate, spans, voice.name


def _load(ref: dict, where: str) -> tuple[np.ndarray, int, list[tuple[int, int]], str | None]:
    kind = ref["kind"]
    if kind == "tts":
        return _synthesize(ref)
    if kind == "file":
        samples, rate = read_audio_file(ref["path"], ref.get("start"), ref.get("end"))
    elif kind == "spans":
        pieces = [read_audio_file(ref["path"], start, end) for start, end in ref["spans"]]
        if len({rate for _, rate in pieces}) != 1:
            raise AudioError("corrupt_audio", f"{where}: sample rate changes within {ref['path']}")
        samples, rate = np.concatenate([p for p, _ in pieces]), pieces[0][1]
    elif kind == "bytes":
        try:
            samples, rate = decode_audio(ref["data"])
        except Exception as err:  # noqa: BLE001 - any decoder failure is a corrupt input
            raise AudioError("corrupt_audio", f"{where}: {err}") from None
    elif kind == "hf":
        from builders.sources.hf import load_row_audio

        samples, rate = load_row_audio(ref, where)
    else:
        raise ValueError(f"unknown audio reference kind {kind!r}")
    return samples, rate, [(0, samples.size)], None


def render_job(ref: dict | None, where: str, parts: bool = False) -> dict | None:
    """Pool entry point: None for text-only items, else `render`."""
    return None if ref is None else render(ref, where, parts)


def render(ref: dict, where: str, parts: bool = False) -> dict:
    """Turn an audio reference into ``{"ok", "flac", "duration", "parts", "speaker"}``."""
    try:
        samples, rate, spans, speaker = _load(ref, where)
        check_audio(samples, rate, ref.get("path") or where, _STATE.get("max_seconds"))
        audio = resample(samples, rate, SAMPLING_RATE)
        result = {"ok": True, "flac": encode_flac(audio), "duration": round(audio.size / SAMPLING_RATE, 3),
                  "speaker": speaker, "parts": []}
        if parts:
            scale = SAMPLING_RATE / rate
            for start, end in spans:
                piece = audio[int(round(start * scale)):int(round(end * scale))]
                result["parts"].append((encode_flac(piece), round(piece.size / SAMPLING_RATE, 3)))
        return result
    except BackendError:
        raise
    except AudioError as err:
        return {"ok": False, "reason": err.reason, "detail": str(err)}
    except (ValueError, RuntimeError, OSError) as err:
        return {"ok": False, "reason": "audio_error", "detail": f"{where}: {err}"}
