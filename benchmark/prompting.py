"""Chat prompts for dataset rows and the collators that turn rows into model batches.

API (rows are dicts from `aramega_ssum.dataset.load_split`, audio as ``{"bytes", "path"}``):

- ``build_training_batch(rows, processor, *, max_audio_seconds=None, over_limit="truncate") -> dict``
  RIGHT padding. Tensors: ``input_ids, attention_mask, labels`` (-100 everywhere except the
  target tokens and the closing ``<|im_end|>``), and when any row has audio ``input_features,
  feature_attention_mask``. Plain entries: ``ids``, ``tasks`` (of the rows kept, in batch order),
  ``audio_truncated``, ``audio_skipped`` (counts), ``skipped_ids``.
- ``build_generation_batch(rows, processor, *, max_audio_seconds=None, over_limit="truncate")``
  LEFT padding, prompt only (ends with ``<|im_start|>assistant\\n``); same plain entries.
  Pass only the tensors to ``model.generate``; new tokens start at ``input_ids.shape[1]``.
- ``model_inputs(batch)`` -> the tensor entries only.
- Duration-aware ordering inside a scheduled global batch: ``micro_batches(rows, size)`` sorts
  the rows by ``estimate_length(row)`` (tokens) and cuts micro-batches of at most `size`, closing
  one early when the next row would drop its real-token share below ``min_efficiency`` (0.9);
  ``length_groups(lengths, max_size, min_efficiency)`` is the same on plain lengths;
  ``padding_efficiency(batch)`` counts real vs padded tokens and audio frames.

Long audio is never truncated silently: the processor never cuts audio (clips over 30 s keep all
their frames, 25 audio tokens per second); ``max_audio_seconds`` bounds it, and each clip over the
bound is cut (``over_limit="truncate"``) or dropped (``"skip"``), counted in the batch.
Collation does the processor's work itself, faster and with the same tensors: Whisper log-mel
features per clip (``aramega_ssum.features.log_mel``, as the processor), the prompts
tokenized with one audio placeholder each, expanded to the clip's token count and padded
(``expand_audio_tokens``, ``pad_ids``); a feature extractor with dither falls back to the processor.
The prompt is the processor's chat template applied to: a system turn (``SYSTEM_PROMPT``), a user
turn with the audio placeholder (audio tasks) or the input text (tsum) followed by the row's
``instruction``; the target is the assistant turn.
"""
from __future__ import annotations

import logging

import torch

from aramega_ssum.audio import load_clip
from aramega_ssum.features import audio_token_counts, log_mel, uses_whisper_recipe
from aramega_ssum.schema import SAMPLING_RATE

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100
SYSTEM_PROMPT = "You are a helpful assistant."
END_OF_TURN = "<|im_end|>"  # closes every chat turn; the last token of each training target
AUDIO_TOKENS_PER_SECOND = 25
OVER_LIMIT = ("truncate", "skip")


def build_messages(row: dict, *, system_prompt: str = SYSTEM_PROMPT) -> list[dict]:
    """System + user turn for a row: audio placeholder or input text, then the instruction."""
    content = []
    if row.get("audio") is not None:
        content.append({"type": "audio"})
    elif row.get("text"):
        content.append({"type": "text", "text": row["text"] + "\n\n"})
    else:
        raise ValueError(f"example {row.get('id')!r}: has neither audio nor text")
    content.append({"type": "text", "text": row["instruction"]})
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": content}]


def prompt_text(row: dict, processor, *, system_prompt: str = SYSTEM_PROMPT) -> str:
    """The chat-templated prompt of a row, ending with the assistant header."""
    return processor.tokenizer.apply_chat_template(
        build_messages(row, system_prompt=system_prompt), chat_template=processor.chat_template,
        tokenize=False, add_generation_prompt=True,
    )


def _prepare(rows, processor, max_audio_seconds, over_limit):
    """(kept rows, their audio arrays in order, stats) applying the max_audio_seconds policy."""
    if over_limit not in OVER_LIMIT:
        raise ValueError(f"over_limit must be one of {OVER_LIMIT}, got {over_limit!r}")
    limit = None if max_audio_seconds is None else int(max_audio_seconds * SAMPLING_RATE)
    kept, audio, stats = [], [], {"audio_truncated": 0, "audio_skipped": 0, "skipped_ids": []}
    for row in rows:
        if row.get("audio") is not None:
            samples = load_clip(row["audio"], where=f"example {row.get('id')!r}")
            if limit is not None and samples.size > limit:
                if over_limit == "skip":
                    stats["audio_skipped"] += 1
                    stats["skipped_ids"].append(row.get("id"))
                    continue
                samples = samples[:limit]
                stats["audio_truncated"] += 1
            audio.append(samples)
        kept.append(row)
    if stats["audio_truncated"] or stats["audio_skipped"]:
        logger.info("max_audio_seconds=%s: %d clip(s) truncated, %d skipped", max_audio_seconds,
                    stats["audio_truncated"], stats["audio_skipped"])
    return kept, audio, stats


def _encode(processor, texts, audio, padding_side):
    """Token ids (audio placeholders expanded), attention mask and log-mel features of a batch."""
    if audio and not uses_whisper_recipe(processor.feature_extractor):
        return processor(text=texts, audio=audio, return_tensors="pt", padding=True, padding_side=padding_side)
    features, frame_mask = log_mel(audio, processor.feature_extractor) if audio else (None, None)
    counts = audio_token_counts(frame_mask.sum(-1)).tolist() if audio else []
    seqs = expand_audio_tokens(processor.tokenizer(texts)["input_ids"], processor.audio_token_id, counts)
    out = dict(zip(("input_ids", "attention_mask"), pad_ids(seqs, processor.tokenizer.pad_token_id, padding_side)))
    if audio:
        out.update(input_features=features, feature_attention_mask=frame_mask)
    return out


def expand_audio_tokens(seqs: list[list[int]], audio_id: int, counts: list[int]) -> list[list[int]]:
    """Each audio placeholder token repeated to its clip's token count (clips in placeholder order)."""
    found = sum(seq.count(audio_id) for seq in seqs)
    if found != len(counts):
        raise ValueError(f"{len(counts)} audio clip(s) for {found} audio placeholder(s) in the prompts")
    clips, out = iter(counts), []
    for seq in seqs:
        expanded, start = [], 0
        for at in [i for i, token in enumerate(seq) if token == audio_id]:
            expanded += seq[start:at] + [audio_id] * next(clips)
            start = at + 1
        out.append(expanded + seq[start:])
    return out


def pad_ids(seqs: list[list[int]], pad_id: int, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) int64 [n, longest], padded on `side` ("left" or "right")."""
    width = max(len(seq) for seq in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, seq in enumerate(seqs):
        span = slice(width - len(seq), width) if side == "left" else slice(0, len(seq))
        ids[i, span] = torch.tensor(seq, dtype=torch.long)
        mask[i, span] = 1
    return ids, mask


def build_training_batch(rows: list[dict], processor, *, max_audio_seconds: float | None = None,
                         over_limit: str = "truncate", system_prompt: str = SYSTEM_PROMPT) -> dict:
    """Right-padded batch with labels on the target tokens + end-of-turn only (see module doc)."""
    kept, audio, stats = _prepare(rows, processor, max_audio_seconds, over_limit)
    if not kept:
        raise ValueError(f"all {len(rows)} rows of the batch were skipped (max_audio_seconds={max_audio_seconds})")
    end = END_OF_TURN
    texts = []
    for row in kept:
        if not row.get("target"):
            raise ValueError(f"example {row.get('id')!r}: empty target")
        texts.append(prompt_text(row, processor, system_prompt=system_prompt) + row["target"] + end)
    batch = dict(_encode(processor, texts, audio, "right"))
    batch["labels"] = _target_labels(batch["input_ids"], batch["attention_mask"], processor, kept)
    batch.update(ids=[r.get("id") for r in kept], tasks=[r.get("task") for r in kept], **stats)
    return batch


def _assistant_header(processor) -> list[int]:
    """Token ids of the assistant turn header (cached on the processor)."""
    ids = getattr(processor, "_assistant_header_ids", None)
    if ids is None:
        ids = processor.tokenizer.encode("<|im_start|>assistant\n", add_special_tokens=False)
        processor._assistant_header_ids = ids
    return ids


def _target_labels(input_ids, attention_mask, processor, rows) -> torch.Tensor:
    """-100 except after the last assistant header (target + <|im_end|>), padding excluded."""
    header = _assistant_header(processor)
    labels = torch.full_like(input_ids, IGNORE_INDEX)
    for i, ids in enumerate(input_ids.tolist()):
        start = _last_occurrence(ids, header)
        if start is None:
            raise ValueError(f"example {rows[i].get('id')!r}: assistant header not found in the prompt")
        begin = start + len(header)
        labels[i, begin:] = input_ids[i, begin:]
    labels[attention_mask == 0] = IGNORE_INDEX
    return labels


def _last_occurrence(seq: list[int], sub: list[int]) -> int | None:
    n = len(sub)
    for start in range(len(seq) - n, -1, -1):
        if seq[start:start + n] == sub:
            return start
    return None


def build_generation_batch(rows: list[dict], processor, *, max_audio_seconds: float | None = None,
                           over_limit: str = "truncate", system_prompt: str = SYSTEM_PROMPT) -> dict:
    """Left-padded prompts (ending with the assistant header) for `model.generate`."""
    kept, audio, stats = _prepare(rows, processor, max_audio_seconds, over_limit)
    batch = {}
    if kept:
        texts = [prompt_text(row, processor, system_prompt=system_prompt) for row in kept]
        batch = dict(_encode(processor, texts, audio, "left"))
    batch.update(ids=[r.get("id") for r in kept], tasks=[r.get("task") for r in kept], **stats)
    return batch


def model_inputs(batch: dict) -> dict:
    """Only the tensor entries of a collated batch (what the model's forward/generate takes)."""
    return {k: v for k, v in batch.items() if isinstance(v, torch.Tensor)}


# ---------------------------------------------------------------------------------------------
# Duration-aware ordering inside a global batch
# ---------------------------------------------------------------------------------------------

TEMPLATE_TOKENS = 20  # chat-template overhead: system turn, role headers, audio bos/eos


def estimate_length(row: dict) -> float:
    """Approximate sequence length in tokens: 25 audio tokens/s + ~1 token per 3 characters of text."""
    chars = len(row.get("text") or "") + len(row.get("instruction") or "") + len(row.get("target") or "")
    audio = (row.get("duration") or 0.0) * AUDIO_TOKENS_PER_SECOND if row.get("audio") is not None else 0.0
    return TEMPLATE_TOKENS + audio + chars / 3.0


def order_by_length(rows: list[dict]) -> list[int]:
    """Indices of `rows` sorted by estimated length (stable: ties keep batch order)."""
    return sorted(range(len(rows)), key=lambda i: (estimate_length(rows[i]), i))


def length_groups(lengths, max_size: int, min_efficiency: float | None = 0.9,
                  max_tokens: float = 0) -> list[list[int]]:
    """Indices sorted by length, cut into groups of at most `max_size`.

    With `min_efficiency`, a group is also closed early when adding the next (longer) item would
    bring its real share, sum(lengths) / (size * max length), below the bound; with `max_tokens`
    (> 0), when its padded size, size * max length, would exceed the budget. A single item is
    always a group. None and 0 give fixed-size groups of the sorted indices.
    """
    if max_size < 1:
        raise ValueError(f"group size must be >= 1, got {max_size}")
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    groups, current, total = [], [], 0.0
    for i in order:
        size, longest = len(current) + 1, max(float(lengths[i]), 1e-9)
        if current and (size > max_size or (max_tokens > 0 and size * longest > max_tokens)
                        or (min_efficiency is not None
                            and (total + lengths[i]) / (size * longest) < min_efficiency)):
            groups.append(current)
            current, total = [], 0.0
        current.append(i)
        total += float(lengths[i])
    if current:
        groups.append(current)
    return groups


def micro_batches(rows: list[dict], size: int, *, by_length: bool = True,
                  min_efficiency: float | None = 0.9, max_tokens: float = 0) -> list[list[dict]]:
    """Cut a global batch into micro-batches of at most `size` rows and (when `max_tokens` > 0, with
    `by_length`) at most `max_tokens` padded estimated tokens (audio at 25 tokens/s): a 60 s clip
    weighs 20 times a 3 s one. A single row over the budget is a micro-batch of its own.

    `by_length` (duration-aware ordering): rows sorted by estimated length, and a micro-batch is
    closed early when the next row would drop its estimated real-token share below
    `min_efficiency` (so a global batch may take more, smaller micro-batches). Otherwise: the
    batch's own order, fixed-size chunks. Every row appears exactly once either way.
    """
    if size < 1:
        raise ValueError(f"micro-batch size must be >= 1, got {size}")
    if not by_length:
        return [rows[i:i + size] for i in range(0, len(rows), size)]
    groups = length_groups([estimate_length(r) for r in rows], size, min_efficiency, max_tokens)
    return [[rows[i] for i in group] for group in groups]


def padding_efficiency(batch: dict) -> dict:
    """Share of real tokens / real audio frames in a collated batch (1.0 = no padding)."""
    mask = batch["attention_mask"]
    out = {"tokens_real": int(mask.sum()), "tokens_total": int(mask.numel())}
    fmask = batch.get("feature_attention_mask")
    out["frames_real"] = int(fmask.sum()) if fmask is not None else 0
    out["frames_total"] = int(fmask.numel()) if fmask is not None else 0
    return out
