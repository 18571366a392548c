"""(document, summary) text pairs: text summarization, and speech through the TTS path.

Corpus: any Arabic summarization pairs, e.g. XL-Sum (Arabic), Arabic Gigaword-style
headline pairs, ANT or AraSum exports, or the project's own documents.
Layout: ``path`` names a ``.jsonl``, ``.csv`` or ``.tsv`` file with columns ``document``,
``summary`` and optional ``id`` (``columns`` renames). ``tasks``: ``tsum`` (text input), ``ssum``
(the document spoken by the TTS backend), ``asr`` (one row per spoken sentence).
Licence: that of the pairs (XL-Sum: CC BY-NC-SA 4.0 — non-commercial; Gigaword: LDC, not
redistributable).
Homepage: https://github.com/csebuetnlp/xl-sum (XL-Sum).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from builders.items import Item, check_text
from builders.sources import SourceContext, check_spec
from builders.sources.embedded import split_sentences
from builders.tables import read_table, rename_columns

TASKS_FED = ("asr", "ssum", "tsum")
OPTIONS = {"columns", "dialect"}


def prepare_text_pairs(spec: dict, ctx: SourceContext) -> Iterator[Item]:
    """Yield one item per pair; audio tasks become TTS requests (one segment per sentence)."""
    spec = check_spec(spec, TASKS_FED, OPTIONS, spec.get("_where", spec.get("name", "text_pairs")))
    path = Path(spec["path"])
    for number, record in read_table(path, spec["name"], ctx.reporter):
        record, origin = rename_columns(record, spec.get("columns")), f"{path}:{number}"
        uid = f"{spec['name']}-{record.get('id') or f'{number:06d}'}"
        document, reason = check_text(record.get("document"))
        if reason:
            ctx.reporter.skip(spec["name"], origin, reason, "field 'document'", uid)
            continue
        summary, reason = check_text(record.get("summary"))
        if reason and record.get("summary") is not None:
            ctx.reporter.skip(spec["name"], origin, reason, "field 'summary'", uid)
            continue
        if not ctx.ids.claim(uid, origin, spec["name"], ctx.reporter):
            continue
        parts = tuple(split_sentences(document))
        yield Item(uid=uid, source=spec["name"], group=uid, tasks=spec["tasks"], origin=origin,
                   audio={"kind": "tts", "segments": list(parts), "key": uid},
                   transcription=document, summary=summary, document=document,
                   dialect=spec.get("dialect", "MSA"), stratum="text_pairs", parts=parts)
