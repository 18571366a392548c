"""The embedded mini corpus: text written for this project, speech synthesized at build time.

Corpus: AraMega-SSum embedded mini corpus (MSA news-style documents with reference summaries,
dialect utterances, emotion utterances, Arabic-English code-switched sentences).
Layout: ``aramega_ssum/data/{documents,dialect,emotion,codeswitch}.jsonl``::

    documents.jsonl   {"id": "doc-001", "topic": str, "document": str, "summary": str}
    dialect.jsonl     {"id": "dia-egy-001", "dialect": "EGY"|"GLF"|"LEV"|"NOR"|"MSA", "text": str}
    emotion.jsonl     {"id": "emo-happy-001", "emotion": "neutral"|..., "text": str}
    codeswitch.jsonl  {"id": "cs-001", "text": str}

Licence: Apache-2.0 (written for this repository; no copied web text).
Homepage: this repository (``aramega_ssum/data/``).

Tasks fed: documents -> ssum (whole document), tsum (document text), asr (one row per sentence, a
slice of the document's speech); dialect utterances -> dialect and asr; emotion utterances ->
emotion (rendered with emotion-specific prosody); code-switched sentences -> asr.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Iterator

from aramega_ssum.tasks import canonical_label
from builders.items import BuildError, Item, check_text
from builders.sources import SourceContext, check_spec
from builders.tables import read_jsonl

logger = logging.getLogger(__name__)

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "aramega_ssum" / "data"
FILES = ("documents.jsonl", "dialect.jsonl", "emotion.jsonl", "codeswitch.jsonl")
TASKS_FED = ("asr", "ssum", "tsum", "dialect", "emotion")
_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+")


def split_sentences(text: str) -> list[str]:
    """Split a document into sentences at . ! ? ؟ followed by whitespace."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def corpus_dir() -> Path:
    """The shipped corpus folder (``aramega_ssum/data``, else ``builders/data``)."""
    for candidate in (DEFAULT_DIR, Path(__file__).resolve().parents[1] / "data"):
        if (candidate / FILES[0]).exists():
            return candidate
    return DEFAULT_DIR


# The embedded corpus is small: 40% of each stratum goes to test (>= 40 utterances per dialect and per emotion,
# >= 20 documents), so a 95% CI on a macro-F1 is narrower than +-0.15; train keeps the larger share.
SPLIT_RATIOS = (0.5, 0.1, 0.4)


def default_spec(path: str | Path | None = None) -> dict:
    """The source entry used when the build has no --sources (with the corpus's own SPLIT_RATIOS)."""
    return {"name": "embedded", "format": "embedded", "path": str(path or corpus_dir()), "tasks": list(TASKS_FED),
            "split_ratios": list(SPLIT_RATIOS)}


def _record(ctx: SourceContext, spec: dict, path: Path, number: int, rec: dict, text_key: str):
    origin, uid = f"{path}:{number}", rec.get("id")
    if not isinstance(uid, str) or not uid.strip():
        ctx.reporter.skip(spec["name"], origin, "missing_id", "record has no 'id'")
        return None, None
    text, reason = check_text(rec.get(text_key))
    if reason:
        ctx.reporter.skip(spec["name"], origin, reason, f"field {text_key!r}", uid)
        return None, None
    if not ctx.ids.claim(uid, origin, spec["name"], ctx.reporter):
        return None, None
    return origin, text


def _documents(spec, ctx, path: Path) -> Iterator[Item]:
    tasks = tuple(t for t in spec["tasks"] if t in ("asr", "ssum", "tsum"))
    for number, rec in read_jsonl(path, spec["name"], ctx.reporter):
        summary, reason = check_text(rec.get("summary"))
        if reason and ("ssum" in tasks or "tsum" in tasks):
            ctx.reporter.skip(spec["name"], f"{path}:{number}", reason, "field 'summary'", rec.get("id"))
            continue
        origin, text = _record(ctx, spec, path, number, rec, "document")
        if origin is None:
            continue
        parts = tuple(split_sentences(text))
        yield Item(uid=rec["id"], source=spec["name"], group=rec["id"], tasks=tasks, origin=origin,
                   audio={"kind": "tts", "segments": list(parts), "key": rec["id"]},
                   transcription=text, summary=summary, document=text, dialect="MSA",
                   stratum="documents", parts=parts, extra={"topic": rec.get("topic")})


def _labelled(spec, ctx, path: Path, task: str) -> Iterator[Item]:
    tasks = tuple(t for t in spec["tasks"] if t == task or (t == "asr" and task == "dialect"))
    for number, rec in read_jsonl(path, spec["name"], ctx.reporter):
        label = canonical_label(task, rec.get(task))
        if label is None:
            ctx.reporter.skip(spec["name"], f"{path}:{number}", "unknown_label",
                              f"{task} {rec.get(task)!r} is not in the inventory", rec.get("id"))
            continue
        origin, text = _record(ctx, spec, path, number, rec, "text")
        if origin is None:
            continue
        yield Item(uid=rec["id"], source=spec["name"], group=rec["id"], tasks=tasks, origin=origin,
                   audio={"kind": "tts", "segments": [text], "key": rec["id"],
                          "emotion": label if task == "emotion" else None},
                   transcription=text, **{task: label}, stratum=f"{task}:{label}")


def _codeswitch(spec, ctx, path: Path) -> Iterator[Item]:
    for number, rec in read_jsonl(path, spec["name"], ctx.reporter):
        origin, text = _record(ctx, spec, path, number, rec, "text")
        if origin is not None:
            yield Item(uid=rec["id"], source=spec["name"], group=rec["id"], tasks=("asr",), origin=origin,
                       audio={"kind": "tts", "segments": [text], "key": rec["id"]},
                       transcription=text, stratum="codeswitch", extra={"codeswitch": True})


def prepare_embedded(spec: dict, ctx: SourceContext) -> Iterator[Item]:
    """Yield the embedded corpus's items (TTS requests; audio is synthesized by the workers)."""
    spec = check_spec(spec, TASKS_FED, {"split_ratios"}, spec.get("_where", "embedded source"))
    root = Path(spec["path"])
    missing = [name for name in FILES if not (root / name).exists()]
    if missing:
        raise BuildError(f"embedded corpus at {root} lacks {', '.join(missing)}")
    wanted = set(spec["tasks"])
    if wanted & {"asr", "ssum", "tsum"}:
        yield from _documents(spec, ctx, root / "documents.jsonl")
    if wanted & {"dialect", "asr"}:
        yield from _labelled({**spec, "tasks": tuple(t for t in spec["tasks"] if t in ("dialect", "asr"))},
                             ctx, root / "dialect.jsonl", "dialect")
    if "emotion" in wanted:
        yield from _labelled(spec, ctx, root / "emotion.jsonl", "emotion")
    if "asr" in wanted:
        yield from _codeswitch(spec, ctx, root / "codeswitch.jsonl")
