"""Turn one rendered `Item` into dataset rows, one per task it feeds (the schema's full record)."""
from __future__ import annotations

from typing import Iterator

from aramega_ssum.schema import CONFIG_FIELDS
from aramega_ssum.tasks import instruction_for
from builders.items import Item


def _row(item: Item, task: str, row_id: str, audio: dict | None, duration: float | None, **fields) -> dict:
    row = {
        "id": row_id, "task": task, "audio": audio, "text": None,
        "instruction": instruction_for(task, row_id), "target": None, "label": None,
        "transcription": item.transcription, "source_text": item.extra.get("source_text", item.transcription),
        "summary": item.summary, "dialect": item.dialect,
        "emotion": item.emotion, "speaker": item.speaker, "source": item.source, "duration": duration,
    }
    row.update(fields)
    return row


def _audio(flac: bytes, row_id: str) -> dict:
    return {"bytes": flac, "path": f"{row_id}.flac"}


def rows_for(item: Item, rendered: dict | None) -> Iterator[dict]:
    """Rows of every task in ``item.tasks``; `rendered` is the worker's result (None for text-only)."""
    flac = rendered["flac"] if rendered else None
    duration = rendered["duration"] if rendered else None
    for task in item.tasks:
        row_id = f"{item.uid}-{task}"
        if task == "asr" and rendered and len(rendered["parts"]) > 1:
            sources = item.extra.get("source_parts") or item.parts
            for index, ((part, seconds), text, source) in enumerate(zip(rendered["parts"], item.parts, sources),
                                                                    start=1):
                part_id = f"{item.uid}-s{index:02d}-asr"
                yield _row(item, task, part_id, _audio(part, part_id), seconds, target=text,
                           transcription=text, source_text=source, summary=None)
        elif task == "asr":
            yield _row(item, task, row_id, _audio(flac, row_id), duration, target=item.transcription, summary=None)
        elif task == "ssum":
            yield _row(item, task, row_id, _audio(flac, row_id), duration, target=item.summary)
        elif task == "tsum":
            yield _row(item, task, row_id, None, None, text=item.document or item.extra.get(
                           "source_text", item.transcription),
                       target=item.summary, speaker=None)
        elif task in ("dialect", "emotion"):
            label = getattr(item, task)
            yield _row(item, task, row_id, _audio(flac, row_id), duration, target=label, label=label,
                       summary=None)


def ssum_record(row: dict) -> dict:
    """The `ssum` config's projection of a multitask ssum row."""
    return {name: row[name] for name in CONFIG_FIELDS["ssum"]}
