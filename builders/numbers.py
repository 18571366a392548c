"""Numbers, dates, percentages and decimals spelled out in Arabic words (num2words for integers).

`spell_numbers(text)` returns ``(text, [(written, spoken), ...])``. Arabic-Indic (٠-٩) and Persian
(۰-۹) digits are read like ASCII ones; thousands separators (``1,500``, ``1٬500``) are dropped.

Limits (checked on the embedded corpus; num2words 0.5 with ``lang="ar"``):
- num2words spells decimals wrongly (``99.6`` -> "... , ستون", ``0.5`` drops the zero), so decimals are
  read here as "<integer> فاصلة <digits as an integer>" (``99.6`` -> "تسعة وتسعون فاصلة ستة";
  leading zeros of the fraction are read as "صفر").
- Numbers are spelled in the masculine nominative whatever the counted noun ("خمسة" in "5 سنوات" and
  "5 ساعات"); no case endings or construct forms ("ثلاثمائة ألف" not "ثلاثمئة ألفٍ").
- num2words writes "و" as a separate word ("مئتان و خمسون"); it is attached here ("مئتان وخمسون").
- num2words ends 200, 1200, 2000 and 2,000,000 in the construct form ("مئتا", "ألفا", "مليونا"), which
  needs a following noun; a number's last word is put back in the absolute form ("مئتان", "ألفان",
  "مليونان"); inside a number the construct stays ("مئتا ألف").
- Dates are read as day/month/year (``12/5/2024`` -> "اثنا عشر مايو ألفان وأربعة وعشرون") or ISO
  ``2024-05-12``; month names are the Egyptian/Gulf set (يناير...ديسمبر), not the Levantine one.
- Signs, fractions (``1/2``), times (``10:30``), phone numbers and ordinals are read digit groups as
  plain integers.
"""
from __future__ import annotations

import re

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
MONTHS = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر",
          "نوفمبر", "ديسمبر")
_NUM = r"\d+(?:[.٫]\d+)?"
_DATE_DMY = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")
_DATE_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_THOUSANDS = re.compile(r"(?<![\d.٫])\d{1,3}(?:[,٬]\d{3})+(?![\d])")
_PERCENT = re.compile(rf"({_NUM})\s*[%٪]")
_NUMBER = re.compile(_NUM)


def integer_words(value: int) -> str:
    """`value` in Arabic words ("و" attached to the next word)."""
    from num2words import num2words

    words = " ".join(num2words(int(value), lang="ar").split())
    words = re.sub(r"(مئت|ألف|مليون)ا$", r"\1ان", words)  # num2words ends 200/2000/2e6 in the construct form
    return re.sub(r"\bو\s+", "و", words)


def number_words(written: str) -> str:
    """An integer or decimal string (``.``/``٫`` as the decimal mark) in Arabic words."""
    whole, _, fraction = written.replace("٫", ".").partition(".")
    words = integer_words(int(whole))
    if not fraction:
        return words
    zeros = len(fraction) - len(fraction.lstrip("0"))
    rest = fraction.lstrip("0")
    spoken = ["صفر"] * zeros + ([integer_words(int(rest))] if rest else [])
    return f"{words} فاصلة {' '.join(spoken)}"


def _date(day: str, month: str, year: str) -> str | None:
    d, m = int(day), int(month)
    if not (1 <= d <= 31 and 1 <= m <= 12):
        return None
    return f"{integer_words(d)} {MONTHS[m - 1]} {integer_words(int(year))}"


def spell_numbers(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Spell every number in `text`; returns the new text and the ``(written, spoken)`` pairs."""
    changes: list[tuple[str, str]] = []

    def sub(pattern, make):
        def replace(match):
            spoken = make(match)
            if spoken is None:
                return match.group(0)
            changes.append((match.group(0), spoken))
            before = match.string[match.start() - 1] if match.start() else " "
            glued = before.isalpha() or before == "\u0640"  # a proclitic (و5, بـ5) stays attached
            return f"{'' if glued else ' '}{spoken} "
        return lambda s: pattern.sub(replace, s)

    steps = (
        sub(_DATE_ISO, lambda m: _date(m.group(3), m.group(2), m.group(1))),
        sub(_DATE_DMY, lambda m: _date(m.group(1), m.group(2), m.group(3))),
        lambda s: _THOUSANDS.sub(lambda m: re.sub("[,٬]", "", m.group(0)), s),
        sub(_PERCENT, lambda m: f"{number_words(m.group(1))} في المئة"),
        sub(_NUMBER, lambda m: number_words(m.group(0))),
    )
    out = text.translate(_DIGITS)
    for step in steps:
        out = step(out)
    if not changes:
        return text, []
    out = re.sub(r"\s+([.,،؛:!?؟])", r"\1", out)  # no space before punctuation the spelling displaced
    return " ".join(out.split()), changes
