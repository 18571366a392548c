"""What sources hand to the build: light `Item` records (audio by reference) and the skip `Reporter`.

An `Item` is one recording (or one text) with everything known about it; the audio is only a
reference (a file and an optional segment, a TTS request, or a row of a `datasets` table) that a
worker process turns into 16 kHz FLAC later. Bad inputs never disappear: every source reports them
to the `Reporter` with the file, line and reason; ``--strict`` turns the first one into an error.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


@dataclass
class Item:
    """One example-to-be: audio reference plus text and labels; `tasks` says which rows it yields."""

    uid: str
    source: str
    group: str
    tasks: tuple[str, ...]
    origin: str
    audio: dict | None = None
    transcription: str | None = None
    summary: str | None = None
    document: str | None = None
    dialect: str | None = None
    emotion: str | None = None
    speaker: str | None = None
    stratum: str = ""
    parts: tuple[str, ...] = ()  # per-part transcriptions when `audio` yields ASR sub-segments
    split: str | None = None     # a split fixed by the source (a release's own split), else assigned
    extra: dict = field(default_factory=dict)


class BuildError(RuntimeError):
    """A build cannot go on (bad sources file, or a bad input under --strict)."""


class Reporter:
    """Collects skipped inputs (file, line, id, reason); raises on the first one when strict."""

    def __init__(self, strict: bool = False):
        self.strict = strict
        self.skipped: list[dict] = []
        self.notes: Counter = Counter()  # (source, what) -> items kept but changed (e.g. truncated)

    def skip(self, source: str, origin: str, reason: str, detail: str = "", uid: str | None = None) -> None:
        entry = {"source": source, "file": origin, "id": uid, "reason": reason, "detail": detail}
        if self.strict:
            raise BuildError(f"{origin}: {reason}: {detail} (--strict)")
        logger.warning("skipped %s (%s): %s %s", origin, uid or "-", reason, detail)
        self.skipped.append(entry)

    def note(self, source: str, what: str) -> None:
        """Count an input that was kept but changed (reported, not skipped)."""
        self.notes[source, what] += 1

    def noted(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (source, what), count in sorted(self.notes.items()):
            out.setdefault(source, {})[what] = count
        return out

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(s["reason"] for s in self.skipped).items()))


def check_text(text, *, require_arabic: bool = True) -> tuple[str | None, str]:
    """Validate a text field: ``(clean_text, "")`` or ``(None, reason)``."""
    if text is None or (isinstance(text, float) and text != text):
        return None, "empty_text"
    if not isinstance(text, str):
        text = str(text)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        return None, "non_utf8_text"
    text = " ".join(text.split())
    if not text:
        return None, "empty_text"
    if require_arabic and not _ARABIC.search(text):
        return None, "non_arabic_text"
    return text, ""


class UniqueIds:
    """Remembers ids already used in this build; reports duplicates."""

    def __init__(self):
        self._seen: dict[str, str] = {}

    def claim(self, uid: str, origin: str, source: str, reporter: Reporter) -> bool:
        if uid in self._seen:
            reporter.skip(source, origin, "duplicate_id", f"id {uid!r} already used at {self._seen[uid]}", uid)
            return False
        self._seen[uid] = origin
        return True


def map_label(task: str, value, label_map: dict | None = None) -> str | None:
    """A source label -> the task's canonical label (through `label_map` first), or None."""
    from aramega_ssum.tasks import canonical_label

    if value is None or (isinstance(value, float) and value != value):
        return None
    value = str(value).strip()
    if label_map:
        table = label_map.get(task, label_map) if isinstance(label_map.get(task), dict) else label_map
        for alias, label in table.items():
            if str(alias).casefold() == value.casefold():
                value = str(label)
                break
    return canonical_label(task, value)


def present(value) -> bool:
    """True for a non-empty field value (not None, NaN or blank)."""
    if value is None or (isinstance(value, float) and value != value):
        return False
    return not (isinstance(value, str) and not value.strip())
