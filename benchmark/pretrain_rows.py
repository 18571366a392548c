"""The examples `benchmark.pretrain_tiny` trains the embedded base on, all from the train split.

- the train rows whose audio is short (long ssum documents dominate cost);
- an ASR copy of every other audio row (its transcription as the target): more speech to hear from.
"""
from __future__ import annotations


def train_rows(data_dir, max_seconds: float, extra_data=()) -> list[dict]:
    """The train split's rows (and those of each `extra_data` folder, `python -m builders.pretraining`)
    whose audio is at most `max_seconds` long, plus an ASR example for each other audio row."""
    from benchmark.rows import load_rows

    rows = load_rows(data_dir, "train") + [r for extra in extra_data for r in load_rows(extra, "train")]
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
