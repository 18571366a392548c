"""SADA 2022 (Saudi Audio Dataset for Arabic): TV-show episodes with timed, transcribed segments.

Corpus: SADA 2022 by SDAIA and the Saudi Broadcasting Authority: ~668 h of Saudi TV shows,
segment-level transcripts, speaker, dialect, age and gender labels.
Layout: ``path`` is the corpus root. CSV files (``csv: [train.csv, ...]`` relative to the root,
default every ``*.csv`` in it) whose rows carry ``FileName`` (the episode audio, relative to the
root or to ``audio_dir``; ``.wav`` is appended when it has no suffix), ``SegmentID``,
``SegmentStart`` and ``SegmentEnd`` in seconds, ``GroundTruthText``, ``ProcessedText``,
``Speaker``, ``SpeakerDialect`` and more (``ShowName``, ``SpeakerAge``, ``SpeakerGender``, ...).
Segments are cut from the long episode WAVs (seek + read; never the whole file).
``tasks``: ``asr`` and ``dialect`` per segment; ``ssum``/``tsum`` per chunk of consecutive
segments of one episode up to ``chunk_seconds`` (default 60), its transcript the segments'
texts joined, its summary made by the build's summarizer. ``text_column`` picks the transcript
(default ``ProcessedText``, falling back to ``GroundTruthText``). Saudi dialect names (Najdi,
Hijazi, Khaliji, ...) map to GLF by default; ``label_map`` overrides.
Licence: SADA terms of use from SDAIA (research use; check before redistributing any audio).
Homepage: https://www.kaggle.com/datasets/sdaiancai/sada2022
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Iterator

from builders.items import BuildError, Item, check_text, map_label
from builders.sources import SourceContext, check_spec
from builders.tables import read_csv, rename_columns

TASKS_FED = ("asr", "ssum", "tsum", "dialect")
OPTIONS = {"csv", "audio_dir", "text_column", "chunk_seconds", "label_map", "columns"}
DIALECT_MAP = {
    "Najdi": "GLF", "Hijazi": "GLF", "Khaliji": "GLF", "Gulf": "GLF", "Janubi": "GLF",
    "Shamali": "GLF", "Saudi": "GLF", "Egyptian": "EGY", "Levantine": "LEV", "Shami": "LEV",
    "Maghrebi": "NOR", "MSA": "MSA", "Modern Standard Arabic": "MSA",
}


def _seconds(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def _segments(spec, ctx, root: Path) -> "OrderedDict[str, list[dict]]":
    """Valid segments grouped by episode, each sorted by start time."""
    files = [root / name for name in spec.get("csv", [])] or sorted(root.glob("*.csv"))
    if not files:
        raise BuildError(f"source {spec['name']!r} (sada): no CSV files under {root}")
    audio_dir = root / spec.get("audio_dir", ".")
    episodes: "OrderedDict[str, list[dict]]" = OrderedDict()
    for csv_path in files:
        for number, row in read_csv(csv_path, spec["name"], ctx.reporter):
            row, origin = rename_columns(row, spec.get("columns")), f"{csv_path}:{number}"
            start, end = _seconds(row.get("SegmentStart")), _seconds(row.get("SegmentEnd"))
            uid = f"{spec['name']}-{row.get('SegmentID') or number}"
            if not row.get("FileName") or start is None or end is None or end <= start:
                ctx.reporter.skip(spec["name"], origin, "bad_segment", "FileName/SegmentStart/SegmentEnd", uid)
                continue
            text, reason = check_text(row.get(spec.get("text_column", "ProcessedText")) or row.get("GroundTruthText"))
            if reason:
                ctx.reporter.skip(spec["name"], origin, reason, "segment transcript", uid)
                continue
            audio = audio_dir / row["FileName"]
            audio = audio if audio.suffix else audio.with_suffix(".wav")
            if not ctx.ids.claim(uid, origin, spec["name"], ctx.reporter):
                continue
            episodes.setdefault(str(audio), []).append(
                {"uid": uid, "origin": origin, "start": start, "end": end, "text": text,
                 "speaker": row.get("Speaker"), "dialect": row.get("SpeakerDialect")})
    for segments in episodes.values():
        segments.sort(key=lambda s: s["start"])
    return episodes


def _segment_items(spec, ctx, episode: str, segments: list[dict]) -> Iterator[Item]:
    tasks = [t for t in spec["tasks"] if t in ("asr", "dialect")]
    for seg in segments:
        label, seg_tasks = map_label("dialect", seg["dialect"], spec.get("label_map") or DIALECT_MAP), list(tasks)
        if "dialect" in seg_tasks and label is None:
            ctx.reporter.skip(spec["name"], seg["origin"], "unknown_label",
                              f"dialect {seg['dialect']!r} is not in the inventory", seg["uid"])
            seg_tasks.remove("dialect")
        if seg_tasks:
            yield Item(uid=seg["uid"], source=spec["name"], group=episode, tasks=tuple(seg_tasks),
                       origin=seg["origin"], audio={"kind": "file", "path": episode, "start": seg["start"],
                                                    "end": seg["end"]},
                       transcription=seg["text"], dialect=label, speaker=seg["speaker"], stratum="sada")


def chunk_segments(segments: list[dict], chunk_seconds: float) -> list[list[dict]]:
    """Consecutive segments grouped into chunks whose speech lasts at most `chunk_seconds`."""
    chunks, current, total = [], [], 0.0
    for seg in segments:
        length = seg["end"] - seg["start"]
        if current and total + length > chunk_seconds:
            chunks.append(current)
            current, total = [], 0.0
        current.append(seg)
        total += length
    return chunks + ([current] if current else [])


def prepare_sada(spec: dict, ctx: SourceContext) -> Iterator[Item]:
    """Yield segment items (asr, dialect) and chunk items (ssum, tsum) per episode."""
    spec = check_spec(spec, TASKS_FED, OPTIONS, spec.get("_where", spec.get("name", "sada")))
    root = Path(spec["path"])
    chunk_tasks = tuple(t for t in spec["tasks"] if t in ("ssum", "tsum"))
    for episode, segments in _segments(spec, ctx, root).items():
        yield from _segment_items(spec, ctx, episode, segments)
        if not chunk_tasks:
            continue
        for index, chunk in enumerate(chunk_segments(segments, float(spec.get("chunk_seconds", 60))), start=1):
            text = " ".join(seg["text"] for seg in chunk)
            uid = f"{spec['name']}-{Path(episode).stem}-chunk{index:03d}"
            if not ctx.ids.claim(uid, chunk[0]["origin"], spec["name"], ctx.reporter):
                continue
            yield Item(uid=uid, source=spec["name"], group=episode, tasks=chunk_tasks, origin=chunk[0]["origin"],
                       audio={"kind": "spans", "path": episode, "spans": [(s["start"], s["end"]) for s in chunk]},
                       transcription=text, document=text, stratum="sada",
                       speaker=chunk[0]["speaker"] if len({s["speaker"] for s in chunk}) == 1 else None)
