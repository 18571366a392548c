"""XL-Sum, Arabic: BBC Arabic articles with their one-sentence introduction as the summary.

Corpus: XL-Sum (Hasan et al., Findings of ACL 2021), Arabic portion: ~40k BBC Arabic articles
(train ~37.5k, val ~4.7k, test ~4.7k), each ``title``, ``summary`` (the article's introductory
sentence) and ``text`` (the body, often 300-600 words).
Layout: ``path`` is the folder of the release's Arabic files ``arabic_train.jsonl``,
``arabic_val.jsonl``, ``arabic_test.jsonl`` (one JSON object per line: ``id``, ``url``, ``title``,
``summary``, ``text``); if that folder does not exist and ``hub`` is set (e.g.
``csebuetnlp/xlsum``), the same rows come from ``datasets.load_dataset(hub, "arabic")``.
The release's split is kept (``val`` -> validation): its test articles stay in test.
The spoken document: Mega-SSum, which ours follows, is sentence-wise (a lead sentence and its
headline); a whole body is minutes of speech. So the document is the body's leading sentences up to
``max_words`` (default 200) with ``truncate: sentence`` (default; an article whose first sentence
alone is longer is skipped), or the whole body with ``truncate: skip`` (longer articles are skipped).
Both are reported. The same document is the ``tsum`` input and, through TTS, the ``ssum``/``asr``
speech; the summary is XL-Sum's ``summary``.
Licence: CC BY-NC-SA 4.0 (non-commercial, share-alike; the articles are BBC's): a build from it
inherits the licence; do not redistribute it commercially.
Homepage: https://github.com/csebuetnlp/xl-sum (Hub: https://huggingface.co/datasets/csebuetnlp/xlsum).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from builders.items import BuildError, Item, check_text
from builders.sources import SourceContext, check_spec
from builders.sources.embedded import split_sentences
from builders.tables import read_jsonl

TASKS_FED = ("asr", "ssum", "tsum")
OPTIONS = {"max_words", "truncate", "hub", "dialect"}
RELEASE_SPLITS = {"train": "train", "val": "validation", "test": "test"}
TRUNCATE = ("sentence", "skip")


def _rows(spec: dict, ctx: SourceContext) -> Iterator[tuple[str, str, dict]]:
    """``(split, origin, record)`` over the release's three files (or the Hub copy)."""
    root = Path(spec["path"])
    if root.is_dir():
        missing = [f"arabic_{s}.jsonl" for s in RELEASE_SPLITS if not (root / f"arabic_{s}.jsonl").exists()]
        if missing:
            raise BuildError(f"source {spec['name']!r}: {root} lacks {', '.join(missing)} (the XL-Sum Arabic files)")
        for release, split in RELEASE_SPLITS.items():
            path = root / f"arabic_{release}.jsonl"
            for number, record in read_jsonl(path, spec["name"], ctx.reporter):
                yield split, f"{path}:{number}", record
        return
    if not spec.get("hub"):
        raise BuildError(f"source {spec['name']!r}: {root} is not a folder (set hub: csebuetnlp/xlsum to use the Hub)")
    import datasets

    for release, split in RELEASE_SPLITS.items():
        hub_split = "validation" if release == "val" else release
        try:
            table = datasets.load_dataset(spec["hub"], "arabic", split=hub_split)
        except Exception as err:  # noqa: BLE001 - any loader failure names the source
            raise BuildError(f"source {spec['name']!r}: cannot load {spec['hub']} (arabic, {hub_split}): {err}") from err
        for index, record in enumerate(table):
            yield split, f"{spec['hub']}[arabic][{hub_split}][{index}]", record


def spoken_document(body: str, max_words: int, truncate: str) -> tuple[str | None, str]:
    """The document to speak: ``(text, "")``, ``(text, "truncated")`` or ``(None, why skipped)``."""
    if len(body.split()) <= max_words:
        return body, ""
    if truncate == "skip":
        return None, f"body has {len(body.split())} words > max_words {max_words} (truncate: skip)"
    kept, words = [], 0
    for sentence in split_sentences(body):
        words += len(sentence.split())
        if words > max_words:
            break
        kept.append(sentence)
    if not kept:
        return None, f"the first sentence alone is longer than max_words {max_words}"
    return " ".join(kept), "truncated"


def _options(spec: dict) -> tuple[int, str]:
    max_words, truncate = spec.get("max_words", 200), spec.get("truncate", "sentence")
    if not isinstance(max_words, int) or max_words < 1:
        raise BuildError(f"source {spec['name']!r}: max_words must be a positive integer, got {max_words!r}")
    if truncate not in TRUNCATE:
        raise BuildError(f"source {spec['name']!r}: truncate must be one of {', '.join(TRUNCATE)}, got {truncate!r}")
    return max_words, truncate


def prepare_xlsum(spec: dict, ctx: SourceContext) -> Iterator[Item]:
    """One item per article, in the release's split; audio tasks become TTS requests per sentence."""
    spec = check_spec(spec, TASKS_FED, OPTIONS, spec.get("_where", spec.get("name", "xlsum")))
    max_words, truncate = _options(spec)
    for split, origin, record in _rows(spec, ctx):
        uid = f"{spec['name']}-{record.get('id')}"
        body, reason = check_text(record.get("text"))
        summary, why = check_text(record.get("summary"))
        if reason or why:
            ctx.reporter.skip(spec["name"], origin, reason or why, f"field {'text' if reason else 'summary'!r}", uid)
            continue
        document, note = spoken_document(body, max_words, truncate)
        if document is None:
            ctx.reporter.skip(spec["name"], origin, "document_too_long", note, uid)
            continue
        if not ctx.ids.claim(uid, origin, spec["name"], ctx.reporter):
            continue
        if note:
            ctx.reporter.note(spec["name"], "truncated_to_max_words")
        parts = tuple(split_sentences(document))
        yield Item(uid=uid, source=spec["name"], group=uid, tasks=spec["tasks"], origin=origin,
                   audio={"kind": "tts", "segments": list(parts), "key": uid},
                   transcription=document, summary=summary, document=document,
                   dialect=spec.get("dialect", "MSA"), stratum="xlsum", parts=parts, split=split,
                   extra={"title": record.get("title"), "url": record.get("url")})
