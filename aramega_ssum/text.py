"""Arabic text normalization: the single function every score and every build goes through.

Default profile, applied in this order:

1. Unicode NFKC (folds Arabic presentation forms to base letters).
2. Remove Arabic diacritics and Quranic marks: U+0610-U+061A, U+064B-U+065F, U+0670, U+06D6-U+06ED.
3. Remove tatweel U+0640.
4. Alef variants أ إ آ ٱ -> ا; ؤ -> و; ئ -> ي; delete standalone hamza ء.
5. Persian/Urdu letter forms: پ -> ب, ڤ -> ف, ی -> ي, ک -> ك.
6. Arabic-Indic digits U+0660-U+0669 and extended U+06F0-U+06F9 -> 0-9.
7. Every Unicode punctuation or symbol character (categories P* and S*) -> a space.
8. Latin letters lower-cased.
9. Whitespace collapsed to single spaces; strip.

Options (off by default; each one that is on is recorded in `normalizer_version(**options)`):
`teh_marbuta=True` maps ة -> ه; `alef_maqsura=True` maps ى -> ي.
"""
from __future__ import annotations

import re
import unicodedata

NORMALIZER_VERSION = "ar-norm-1"

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_LETTERS = str.maketrans({
    "\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627",  # alef variants
    "\u0624": "\u0648", "\u0626": "\u064a", "\u0621": None,  # hamza carriers, standalone hamza
    "\u067e": "\u0628", "\u06a4": "\u0641", "\u06cc": "\u064a", "\u06a9": "\u0643",  # Persian/Urdu
    "\u0640": None,  # tatweel
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
})
_OPTIONS = {"teh_marbuta": str.maketrans("\u0629", "\u0647"), "alef_maqsura": str.maketrans("\u0649", "\u064a")}
_WHITESPACE = re.compile(r"\s+")


def _punct_and_symbols_to_space(text: str) -> str:
    return "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)


def normalize(text: str, **options: bool) -> str:
    """Normalize Arabic (and code-switched Latin) text with the default profile plus `options`."""
    unknown = set(options) - set(_OPTIONS)
    if unknown:
        raise TypeError(f"unknown normalizer option(s): {', '.join(sorted(unknown))}; known: {', '.join(_OPTIONS)}")
    if not isinstance(text, str):
        raise TypeError(f"normalize expects str, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text)
    text = _DIACRITICS.sub("", text)
    text = text.translate(_LETTERS)
    for name, table in _OPTIONS.items():
        if options.get(name):
            text = text.translate(table)
    text = _punct_and_symbols_to_space(text).lower()
    return _WHITESPACE.sub(" ", text).strip()


def normalizer_version(**options: bool) -> str:
    """The version string for a profile: NORMALIZER_VERSION plus every option that is on."""
    on = sorted(name for name, value in options.items() if value)
    return "+".join([NORMALIZER_VERSION, *on])
