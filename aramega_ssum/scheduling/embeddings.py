"""Aligner embeddings for ADS: each example as one vector in the language model's input space.

Audio examples: Whisper log-mel features (`aramega_ssum.features.log_mel`, never truncated) -> the thinker's
`audio_tower` (whose forward ends in `proj(ln_post(.))`, the aligner into the LM embedding space;
see transformers' `Qwen2_5OmniAudioEncoder.forward`) -> mean over the example's output frames.
Text-only examples: mean of `model.get_input_embeddings()` over the text's tokens.
Computed in batched no-grad passes with a progress bar and cached as .npy files.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from aramega_ssum.audio import load_clip
from aramega_ssum.features import log_mel

logger = logging.getLogger(__name__)

EMBEDDINGS_VERSION = "1"


def embedding_cache_key(model: Any, data_fingerprint: str) -> str:
    """Model id/revision + dataset fingerprint, the caller's part of the cache key.

    The revision is the loader's `model.source.revision` when there is one (a hub snapshot, or a
    content hash of a local folder), so new weights in the same folder never hit an old cache file.
    """
    name = getattr(model, "name_or_path", None) or getattr(model.config, "_name_or_path", "")
    revision = getattr(getattr(model, "source", None), "revision", None) or getattr(model.config, "_commit_hash", None)
    return f"{name}@{revision}|{data_fingerprint}"


def cache_path(cache_dir: str | Path, cache_key: str, ids: Sequence[str]) -> Path:
    """sha256 over (version, key, ids) -> `<cache_dir>/aligner-<sha>.npy`."""
    payload = json.dumps({"version": EMBEDDINGS_VERSION, "key": cache_key, "ids": list(ids)}, ensure_ascii=False)
    return Path(cache_dir) / f"aligner-{hashlib.sha256(payload.encode()).hexdigest()[:32]}.npy"


def aligner_embeddings(model: Any, processor: Any, rows: Sequence[dict], *, batch_size: int = 8,
                       cache_dir: str | Path | None = None, cache_key: str | None = None) -> np.ndarray:
    """[N, hidden] float32 aligner embeddings of `rows` (dataset rows: id, task, audio, text).

    With `cache_dir` and `cache_key` the array is read from / written to a cache file.
    """
    ids = [str(rows[i]["id"]) for i in range(len(rows))]
    path = cache_path(cache_dir, cache_key, ids) if cache_dir is not None and cache_key is not None else None
    if path is not None and path.exists():
        cached = np.load(path)
        if cached.shape[0] == len(ids):
            logger.info("aligner embeddings: cache hit %s", path)
            return cached
        logger.warning("aligner embeddings: %s has %d rows, expected %d; recomputing", path, len(cached), len(ids))
    out = _embed_rows(model, processor, rows, batch_size)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy")
        with os.fdopen(fd, "wb") as f:
            np.save(f, out)
        os.replace(tmp, path)
        logger.info("aligner embeddings: wrote %s %s", path, out.shape)
    return out


def _embed_rows(model: Any, processor: Any, rows: Sequence[dict], batch_size: int) -> np.ndarray:
    audio_idx, text_idx = [], []
    for i in range(len(rows)):
        row = rows[i]
        if row.get("audio") is not None:
            audio_idx.append(i)
        elif row.get("text"):
            text_idx.append(i)
        else:
            raise ValueError(f"example {row.get('id')!r} (row {i}) has neither audio nor text to embed")
    audio_idx.sort(key=lambda i: _length_proxy(rows[i]))  # similar lengths per batch: less padding work
    hidden = model.get_input_embeddings().weight.shape[1]
    out = np.zeros((len(rows), hidden), dtype=np.float32)
    bar = tqdm(total=len(rows), desc="aligner embeddings", unit="ex")
    with torch.no_grad():
        for lo in range(0, len(audio_idx), batch_size):
            chunk = audio_idx[lo:lo + batch_size]
            out[chunk] = _embed_audio(model, processor, [rows[i] for i in chunk])
            bar.update(len(chunk))
        for lo in range(0, len(text_idx), batch_size):
            chunk = text_idx[lo:lo + batch_size]
            out[chunk] = _embed_text(model, processor, [rows[i] for i in chunk])
            bar.update(len(chunk))
    bar.close()
    return out


def _length_proxy(row: dict) -> float:
    """Duration when known, else the size of the stored audio bytes (a proxy for length)."""
    if row.get("duration") is not None:
        return float(row["duration"])
    audio = row["audio"]
    return float(len(audio.get("bytes") or b"")) if isinstance(audio, dict) else 0.0


def audio_tower(model: Any) -> torch.nn.Module:
    """The thinker's audio encoder (`model.audio_tower`, or `model.model.audio_tower` in transformers 5)."""
    tower = getattr(model, "audio_tower", None) or getattr(getattr(model, "model", None), "audio_tower", None)
    if tower is None:
        raise AttributeError(f"{type(model).__name__} has no audio_tower")
    return tower


def _embed_audio(model: Any, processor: Any, rows: list[dict]) -> np.ndarray:
    """Mean over valid frames of audio_tower(features) for each row of one batch."""
    waves = [load_clip(r["audio"], where=f"example {r.get('id')!r}") for r in rows]
    features, mask = log_mel(waves, processor.feature_extractor)
    tower = audio_tower(model)
    param = next(tower.parameters())
    mask = mask.to(param.device)
    lens = mask.sum(-1)
    flat = features.to(param.device, param.dtype).permute(0, 2, 1)[mask.bool()].permute(1, 0)
    cnn_lens, out_lens = tower._get_feat_extract_output_lengths(lens)
    states = tower(flat, feature_lens=lens, aftercnn_lens=cnn_lens)
    states = getattr(states, "last_hidden_state", states)
    if states.shape[0] != int(out_lens.sum()):
        raise RuntimeError(f"audio tower gave {states.shape[0]} frames, expected {int(out_lens.sum())}")
    parts = torch.split(states.float(), out_lens.tolist())
    return torch.stack([p.mean(0) for p in parts]).cpu().numpy()


def _embed_text(model: Any, processor: Any, rows: list[dict]) -> np.ndarray:
    """Mean of the input token embeddings over each row's text tokens."""
    table = model.get_input_embeddings()
    out = []
    for row in rows:
        ids = processor.tokenizer(row["text"], add_special_tokens=False)["input_ids"]
        if not ids:
            raise ValueError(f"example {row.get('id')!r}: text has no tokens")
        tokens = torch.tensor(ids, device=table.weight.device)
        out.append(table(tokens).float().mean(0))
    return torch.stack(out).cpu().numpy()
