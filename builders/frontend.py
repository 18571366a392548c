"""The text front-end in front of every TTS backend: what is spoken is what the row says was spoken.

Each backend declares the characters it can say (`Charset`: mms reads its tokenizer's vocabulary
from the model's own files; espeak says Arabic script and Latin). `speak(text)`:

1. spells numbers, dates, percentages and decimals in Arabic words (`builders.numbers`);
2. maps characters the voice lacks onto ones it has (Latin case, Persian/Urdu letter forms, alef
   wasla, presentation forms through NFKC) and removes the rest: diacritics and tatweel vanish,
   punctuation becomes a word break;
3. reports what changed; a word that loses a letter or a digit is *lost*: the item is skipped and
   reported by the build (``unspeakable_text``), never kept with a transcript the audio lacks.

The row's ``transcription`` is the spoken text; the source's own text stays in ``source_text``.
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from aramega_ssum.tasks import AUDIO_TASKS
from builders.numbers import spell_numbers

# Letter forms of other Arabic-script languages and decorative forms -> the Arabic letter spoken.
LETTER_MAP = {"ٱ": "ا", "ی": "ي", "ې": "ي", "ۍ": "ي", "ک": "ك", "ڪ": "ك", "ە": "ه", "ہ": "ه", "ھ": "ه",
              "ۃ": "ة", "ٲ": "أ", "ٳ": "إ", "ڤ": "ف", "گ": "ك", "پ": "ب", "چ": "ج", "ژ": "ز", "ڨ": "ق",
              "\u06c0": "ة", "ۓ": "ي"}
ARABIC_BLOCKS = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))


@dataclass(frozen=True)
class Charset:
    """What a voice can say: an explicit set of characters, or Unicode ranges (espeak)."""

    name: str
    chars: frozenset = frozenset()
    ranges: tuple = ()

    def __contains__(self, char: str) -> bool:
        return char in self.chars or any(lo <= ord(char) <= hi for lo, hi in self.ranges)


def espeak_charset() -> Charset:
    """espeak-ng's Arabic voice reads Arabic script and (with English rules) Latin letters."""
    latin = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return Charset("espeak", frozenset(latin + " .,;:!?'\"()-"), ARABIC_BLOCKS)


@dataclass
class Spoken:
    """The front-end's result for one text."""

    text: str
    numbers: list = field(default_factory=list)   # [(written, spoken)]
    mapped: Counter = field(default_factory=Counter)   # "a->b" -> count
    removed: Counter = field(default_factory=Counter)  # char -> count
    lost: list = field(default_factory=list)      # source words the voice cannot say

    def changes(self) -> dict:
        out = {}
        if self.numbers:
            out["numbers"] = [list(pair) for pair in self.numbers]
        if self.mapped:
            out["mapped"] = dict(sorted(self.mapped.items()))
        if self.removed:
            out["removed"] = dict(sorted(self.removed.items()))
        if self.lost:
            out["lost_words"] = list(self.lost)
        return out


class FrontEnd:
    """``FrontEnd(charset).speak(text) -> Spoken``."""

    def __init__(self, charset: Charset):
        self.charset = charset

    def _map(self, char: str) -> str | None:
        """The character(s) the voice says for `char`, "" for silent, None for unsayable."""
        if char in self.charset:
            return char
        if char.isspace():
            return " "
        for candidate in (LETTER_MAP.get(char), char.lower(), unicodedata.normalize("NFKC", char)):
            if candidate and all(c in self.charset for c in candidate):
                return candidate
        category = unicodedata.category(char)
        if category.startswith("M") or char == "\u0640" or category == "Cf":  # harakat, tatweel, marks
            return ""
        if category[0] in "PSZ":  # punctuation, symbols: a word break
            return " "
        return None  # a letter or digit the voice cannot say

    def _word(self, word: str, result: Spoken) -> str:
        out = []
        for char in word:
            said = self._map(char)
            if said is None:
                result.removed[char] += 1
                bare = "".join(c for c in word if not unicodedata.category(c).startswith("P"))
                if bare not in result.lost:
                    result.lost.append(bare)
                continue
            if said != char:
                if said.strip():
                    result.mapped[f"{char}->{said}"] += 1
                else:
                    result.removed[char] += 1
            out.append(said)
        return "".join(out)

    def speak(self, text: str) -> Spoken:
        spelled, numbers = spell_numbers(text)
        result = Spoken("", numbers=numbers)
        words = [self._word(w, result) for w in spelled.split()]
        result.text = " ".join(" ".join(words).split())
        return result


def frontend_for(tts: str, model: str | None = None) -> FrontEnd:
    """The front-end of a backend name (its declared charset)."""
    if tts == "espeak":
        return FrontEnd(espeak_charset())
    if tts == "mms":
        from builders.mms import mms_charset

        return FrontEnd(mms_charset(model or "facebook/mms-tts-ara"))
    raise ValueError(f"unknown TTS backend {tts!r}; expected espeak or mms")




def speak_items(items: list, frontend: FrontEnd, reporter) -> tuple[list, dict]:
    """Pass every TTS item's segments through `frontend`; returns the kept items and the report.

    A kept item's ``transcription``/``parts`` become the spoken text; the source's text moves to
    ``extra["source_text"]``/``extra["source_parts"]``. Items that would lose a word are reported
    (``unspeakable_text``) and dropped; their text-only tasks (tsum) are kept.
    """
    kept, changed, counts = [], [], Counter()
    for item in items:
        ref = item.audio
        if not (ref and ref.get("kind") == "tts" and set(item.tasks) & set(AUDIO_TASKS)):
            kept.append(item)
            continue
        spoken = [frontend.speak(segment) for segment in ref["segments"]]
        lost = [word for s in spoken for word in s.lost]
        empty = not all(s.text for s in spoken)
        if lost or empty:
            detail = (f"the {frontend.charset.name} voice cannot say {', '.join(map(repr, lost[:5]))}" if lost
                      else "a segment has nothing the voice can say")
            reporter.skip(item.source, item.origin, "unspeakable_text", detail + "; audio rows dropped", item.uid)
            item.tasks = tuple(t for t in item.tasks if t not in AUDIO_TASKS)
            if item.tasks:
                item.audio = None
                kept.append(item)
            continue
        item.extra["source_text"], item.extra["source_parts"] = item.transcription, item.parts
        item.audio = {**ref, "segments": [s.text for s in spoken]}
        item.transcription = " ".join(s.text for s in spoken)
        if item.parts:
            item.parts = tuple(s.text for s in spoken)
        diff = {}
        for s in spoken:
            for key, value in s.changes().items():
                if isinstance(value, list):
                    diff.setdefault(key, []).extend(value)
                else:
                    diff.setdefault(key, Counter()).update(value)
        if diff:
            counts.update(k for k in diff)
            changed.append({"id": item.uid, **{k: (dict(sorted(v.items())) if isinstance(v, Counter) else v)
                                               for k, v in diff.items()}})
        kept.append(item)
    report = {"charset": frontend.charset.name, "items_changed": len(changed),
              "by_kind": dict(sorted(counts.items())), "items": changed}
    return kept, report
