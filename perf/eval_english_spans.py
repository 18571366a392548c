"""Does whisper-normalizer's EnglishTextNormalizer on Latin spans improve English WER?

Hand-written Arabic-English code-switched (reference, hypothesis) pairs. "format" pairs differ
only in how the English is written (contractions, spelling, numbers, fillers, titles): a fair
normalizer gives them WER 0. "error" pairs also contain real word errors, which must survive.
Prints WER over the English tokens and over the Arabic tokens, with and without `english=True`.

    python -m perf.eval_english_spans
"""
from __future__ import annotations

import re

import jiwer

from aramega_ssum.text import normalize

FORMAT_PAIRS = [
    ("عندي meeting الساعة ten thirty مع الـ team", "عندي meeting الساعة 10:30 مع الـ team"),
    ("I don't think إنه صح", "I do not think إنه صح"),
    ("خلينا نشوف الـ colour بتاع الـ logo", "خلينا نشوف الـ color بتاع الـ logo"),
    ("كلمت Mr. Ahmed امبارح", "كلمت mister Ahmed امبارح"),
    ("الـ deadline بعد twenty five days", "الـ deadline بعد 25 days"),
    ("um الـ presentation جاهزة", "الـ presentation جاهزة"),
    ("we're late يا جماعة", "we are late يا جماعة"),
    ("الـ organisation دي كبيرة", "الـ organization دي كبيرة"),
    ("بعتلك الـ email it's urgent", "بعتلك الـ email it is urgent"),
    ("السعر fifty percent off النهارده", "السعر 50% off النهارده"),
    ("هو analysed الـ data كلها", "هو analyzed الـ data كلها"),
    ("can't wait نسافر", "cannot wait نسافر"),
    ("الـ centre قريب من البيت", "الـ center قريب من البيت"),
    ("uh I mean الفكرة حلوة", "I mean الفكرة حلوة"),
    ("الـ version two أحسن", "الـ version 2 أحسن"),
    ("you're right بصراحة", "you are right بصراحة"),
]
ERROR_PAIRS = [
    ("عندي meeting بكرة مع الـ manager", "عندي meeting بكرة مع الـ manger"),
    ("I don't think إنه صح", "I do think إنه صح"),
    ("الـ colour مش حلو", "الـ color مش حلوة"),
    ("الـ project خلص", "الـ product خلص"),
    ("we're late يا جماعة", "we were late يا جماعة"),
    ("ابعت الـ report it's important", "ابعت الـ record it is important"),
    ("twenty five students حضروا", "35 students حضروا"),
    ("الـ weekend كان fun", "الـ week end كان fun"),
]
_ARABIC = re.compile(r"[\u0600-\u06ff]")


def _split(text: str) -> tuple[str, str]:
    words = text.split()
    return " ".join(w for w in words if not _ARABIC.search(w)), " ".join(w for w in words if _ARABIC.search(w))


def _wers(pairs, **options) -> tuple[float, float]:
    refs, hyps = zip(*[(normalize(r, **options), normalize(h, **options)) for r, h in pairs])
    (ref_en, ref_ar), (hyp_en, hyp_ar) = zip(*map(_split, refs)), zip(*map(_split, hyps))
    return jiwer.wer(list(ref_en), list(hyp_en)), jiwer.wer(list(ref_ar), list(hyp_ar))


def main() -> None:
    print(f"{'pairs':<16}{'profile':<10}{'english WER':>12}{'arabic WER':>12}")
    for name, pairs in (("format-only", FORMAT_PAIRS), ("real errors", ERROR_PAIRS),
                        ("all", FORMAT_PAIRS + ERROR_PAIRS)):
        for profile, options in (("default", {}), ("english", {"english": True})):
            en, ar = _wers(pairs, **options)
            print(f"{name:<16}{profile:<10}{en:>12.3f}{ar:>12.3f}")


if __name__ == "__main__":
    main()
