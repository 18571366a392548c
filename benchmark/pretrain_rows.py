"""The examples `benchmark.pretrain_tiny` trains the embedded base on, all from the train split.

- the train rows whose audio is short (long ssum documents dominate cost);
- an ASR copy of every other audio row (its transcription as the target): more speech to hear from;
- lead documents: train sentences spoken one after another into a document as long as the corpus's
  (30 to 60 s), with the ssum instruction and the FIRST sentence as the target. Lead bias
  pretraining (Zhu et al. 2021, "Leveraging Lead Bias for Zero-shot Abstractive News
  Summarization"): the news lead is the best summary a small model can learn to give (Lead-1 scores
  above Lead-2 on the embedded test split), and it needs only hearing, not paraphrase. The audio of a
  document is put together when a batch uses it (`materialize`).
"""
from __future__ import annotations

import random

import numpy as np

from aramega_ssum.schema import SAMPLING_RATE

LEAD_SECONDS = (30.0, 60.0)  # a lead document's length: the embedded ssum documents are 40 to 65 s
LEAD_GAP_SECONDS = 0.3  # silence between its sentences


def train_rows(data_dir, max_seconds: float, extra_data=None) -> list[dict]:
    """The train split's rows (and `extra_data`'s, `python -m builders.pretraining`) whose audio is at
    most `max_seconds` long, plus an ASR example for each other audio row."""
    from benchmark.rows import load_rows

    rows = load_rows(data_dir, "train") + (load_rows(extra_data, "train") if extra_data else [])
    rows = [r for r in rows if float(r.get("duration") or 0.0) <= max_seconds and r.get("target")]
    return rows + transcription_rows(rows)


def transcription_rows(rows: list[dict]) -> list[dict]:
    """ASR copies of the non-ASR audio rows (dialect, emotion, ssum clips): more speech to learn to hear from."""
    from aramega_ssum.tasks import instruction_for

    out = []
    for row in rows:
        if row["task"] != "asr" and row.get("audio") is not None and row.get("transcription"):
            asr_id = f"{row['id']}-as-asr"
            out.append({**row, "id": asr_id, "task": "asr", "target": row["transcription"],
                        "instruction": instruction_for("asr", asr_id), "label": None})
    return out


def lead_documents(rows: list[dict], count: int, seed: int) -> list[dict]:
    """`count` lead documents made of the real train sentences among `rows` (ASR rows of one sentence)."""
    from aramega_ssum.tasks import instruction_for
    from aramega_ssum.text import split_sentences

    sentences = [r for r in rows if r["task"] == "asr" and r.get("source") != "pretraining"
                 and not r["id"].endswith("-as-asr") and len(split_sentences(r["transcription"])) == 1]
    if not sentences:
        return []
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        parts, seconds, length = [], 0.0, rng.uniform(*LEAD_SECONDS)
        while seconds < length:
            parts.append(rng.choice(sentences))
            seconds += float(parts[-1]["duration"]) + LEAD_GAP_SECONDS
        doc_id = f"lead-{i:05d}"
        docs.append({"id": doc_id, "task": "ssum", "parts": parts, "duration": seconds,
                     "instruction": instruction_for("ssum", doc_id), "target": parts[0]["transcription"],
                     "transcription": " ".join(p["transcription"] for p in parts), "text": None, "label": None})
    return docs


def materialize(row: dict) -> dict:
    """`row` with its audio: a lead document's sentences decoded and joined; any other row as it is."""
    if "parts" not in row:
        return row
    from aramega_ssum.audio import encode_flac, load_clip

    gap = np.zeros(int(LEAD_GAP_SECONDS * SAMPLING_RATE), dtype=np.float32)
    pieces = []
    for part in row["parts"]:
        pieces += [load_clip(part["audio"], where=f"example {part['id']!r}"), gap]
    return {**row, "audio": {"bytes": encode_flac(np.concatenate(pieces)), "path": None}}


def has_audio(row: dict) -> bool:
    """Whether `row` has a clip (stored, or a lead document's to put together)."""
    return row.get("audio") is not None or "parts" in row
