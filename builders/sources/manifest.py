"""Generic manifest of audio files with transcripts (JSONL or CSV).

Corpus: any corpus exported as a manifest (one row per utterance or recording).
Layout: ``path`` names a ``.jsonl``, ``.csv`` or ``.tsv`` file with columns ``audio`` (a path
relative to the manifest's folder, or absolute), ``text``, and optional ``summary``, ``dialect``,
``emotion``, ``speaker``, ``id``. ``columns: {their_name: our_name}`` renames columns;
``label_map: {alias: label}`` (or ``{task: {alias: label}}``) maps source labels to the inventory;
``require_arabic`` (default true) rejects text with no Arabic letter.
Licence: that of the exported corpus (the manifest format itself has none).
Homepage: n/a (format defined by this project).

Groups for splits: the speaker when given, else the row. A dialect/emotion value outside the
inventory skips that classification row (reported) and keeps the row's other tasks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from builders.items import Item, check_text, map_label, present
from builders.sources import SourceContext, check_spec
from builders.tables import read_table, rename_columns

TASKS_FED = ("asr", "ssum", "tsum", "dialect", "emotion")
OPTIONS = {"columns", "label_map", "require_arabic"}


def labels_for(record: dict, tasks: tuple[str, ...], spec: dict, ctx: SourceContext, origin: str, uid: str):
    """Canonical dialect/emotion of a record and the classification tasks it can feed."""
    labels, kept = {}, []
    for task in ("dialect", "emotion"):
        if not present(record.get(task)):
            continue
        label = map_label(task, record[task], spec.get("label_map"))
        if label is None:
            if task in tasks:
                ctx.reporter.skip(spec["name"], origin, "unknown_label",
                                  f"{task} {record[task]!r} is not in the inventory", uid)
            continue
        labels[task] = label
        if task in tasks:
            kept.append(task)
    return labels, kept


def item_tasks(tasks, record, text, summary, kept_labels) -> tuple[str, ...]:
    """The tasks a record can feed given which of its fields are present."""
    out = []
    for task in tasks:
        if task == "asr" and text or task in ("ssum", "tsum") and text or task in kept_labels:
            out.append(task)
    return tuple(out)


def record_item(spec: dict, ctx: SourceContext, record: dict, origin: str, uid: str, text_field: str,
                audio: dict | None) -> Item | None:
    """The Item of one tabular record (text checks, labels, tasks, id claim); None when skipped."""
    text = None
    if {"asr", "ssum", "tsum"} & set(spec["tasks"]):
        text, reason = check_text(record.get("text"), require_arabic=spec.get("require_arabic", True))
        if reason:
            ctx.reporter.skip(spec["name"], origin, reason, text_field, uid)
            return None
    summary, _ = check_text(record.get("summary"), require_arabic=False)
    labels, kept = labels_for(record, spec["tasks"], spec, ctx, origin, uid)
    tasks = item_tasks(spec["tasks"], record, text, summary, kept)
    if not tasks or not ctx.ids.claim(uid, origin, spec["name"], ctx.reporter):
        return None
    speaker = str(record["speaker"]) if present(record.get("speaker")) else None
    return Item(uid=uid, source=spec["name"], group=speaker or uid, tasks=tasks, origin=origin, audio=audio,
                transcription=text, summary=summary, document=text, speaker=speaker,
                stratum="|".join(f"{k}={v}" for k, v in sorted(labels.items())), **labels)


def prepare_manifest(spec: dict, ctx: SourceContext) -> Iterator[Item]:
    """Yield one item per manifest row (audio referenced by path; read by the workers)."""
    spec = check_spec(spec, TASKS_FED, OPTIONS, spec.get("_where", spec.get("name", "manifest")))
    path = Path(spec["path"])
    for number, record in read_table(path, spec["name"], ctx.reporter):
        record, origin = rename_columns(record, spec.get("columns")), f"{path}:{number}"
        uid = f"{spec['name']}-{record.get('id') or f'{number:06d}'}"
        if not present(record.get("audio")):
            ctx.reporter.skip(spec["name"], origin, "missing_file", "no 'audio' path", uid)
            continue
        item = record_item(spec, ctx, record, origin, uid, "field 'text'",
                           audio={"kind": "file", "path": str(path.parent / str(record["audio"]))})
        if item is not None:
            yield item
