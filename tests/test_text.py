"""Golden tests for the Arabic normalizer: one or more input/expected pairs per rule and option."""
from __future__ import annotations

import pytest

from aramega_ssum.text import NORMALIZER_VERSION, normalize, normalizer_version

GOLDEN = [
    # 1. NFKC: presentation forms -> base letters (lam-alef ligature, isolated/final forms, Allah ligature)
    ("nfkc-lam-alef", "\ufefb\ufe8e\ufedf", "لاال"),
    ("nfkc-forms", "\ufee3\ufeae\ufea3\ufe92\ufe8e", "مرحبا"),
    ("nfkc-allah", "\ufdf2", "الله"),
    ("nfkc-fullwidth-latin", "\uff21\uff22\uff23", "abc"),
    # 2. diacritics and Quranic marks
    ("harakat", "كَتَبَ الطَّالِبُ الدَّرْسَ", "كتب الطالب الدرس"),
    ("tanwin", "كتابًا جميلٍ ولدٌ", "كتابا جميل ولد"),
    ("superscript-alef", "هٰذا", "هذا"),
    ("honorific-marks", "محمد\u0610\u0611\u061a", "محمد"),
    ("quranic-marks", "الرَّحِيمِ\u06d6 ذَٰلِكَ\u06da الْكِتَابُ\u06e2", "الرحيم ذلك الكتاب"),
    ("quranic-symbols-deleted-not-spaced", "ق\u06deل\u06e9م", "قلم"),
    # 3. tatweel
    ("tatweel", "مـــرحـبـا", "مرحبا"),
    # 4. alef variants, hamza carriers, standalone hamza
    ("alef-variants", "أحمد إلى آمن ٱلله", "احمد الى امن الله"),
    ("hamza-waw", "مؤتمر سؤال", "موتمر سوال"),
    ("hamza-yeh", "رئيس مسائل", "رييس مسايل"),
    ("standalone-hamza", "سماء شيء ماء", "سما شي ما"),
    ("combining-hamza-composed-by-nfkc", "ا\u0654حمد", "احمد"),
    # 5. Persian/Urdu letter forms
    ("persian-peh", "پيتزا", "بيتزا"),
    ("persian-veh", "ڤيديو", "فيديو"),
    ("farsi-yeh", "کتابی", "كتابي"),
    # 6. Arabic-Indic and extended digits
    ("arabic-indic-digits", "٠١٢٣٤٥٦٧٨٩", "0123456789"),
    ("extended-digits", "۰۱۲۳۴۵۶۷۸۹", "0123456789"),
    ("digits-in-text", "عام ٢٠٢٤ و۱۵", "عام 2024 و15"),
    # 7. punctuation and symbols -> space
    ("arabic-punct", "نعم، لا؛ ماذا؟ «قال»", "نعم لا ماذا قال"),
    ("percent-sign", "٥٠٪ من", "50 من"),
    ("latin-punct-symbols", "a+b=c $5 #tag @user (x) [y] {z} 'q' \"r\"", "a b c 5 tag user x y z q r"),
    ("emoji-symbol", "رائع👍جدا", "رايع جدا"),
    ("punct-splits-words", "كتب.قرأ", "كتب قرا"),
    # 8. Latin lower-casing
    ("latin-lower", "Hello WORLD Élan", "hello world élan"),
    # 9. format characters deleted, whitespace collapsed and stripped
    ("bidi-marks", "\u200fمرحبا\u200e \u061cعالم\ufeff", "مرحبا عالم"),
    ("zwnj-zwj", "می\u200cخواهم", "ميخواهم"),
    ("whitespace", "  كلمة\t\tأخرى \n ثالثة\u00a0رابعة  ", "كلمة اخرى ثالثة رابعة"),
    ("empty", "   ", ""),
    # options off by default: teh marbuta and alef maqsura kept
    ("teh-marbuta-kept", "مدرسة", "مدرسة"),
    ("alef-maqsura-kept", "على مستشفى", "على مستشفى"),
    # mixed Arabic-English (code-switched) sentences
    ("mixed-1", "عندي meeting مع الـ Team الساعة ١٠:٣٠!", "عندي meeting مع ال team الساعة 10 30"),
    ("mixed-2", "الـ deadline بتاع الـ Project بُكْرَة، OK?", "ال deadline بتاع ال project بكرة ok"),
    ("mixed-3", "I love القاهرة so much… حقًّا", "i love القاهرة so much حقا"),
]


@pytest.mark.parametrize("name,text,expected", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden(name, text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize("name,text,expected", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_idempotent(name, text, expected):
    assert normalize(normalize(text)) == normalize(text)


def test_teh_marbuta_option():
    assert normalize("مدرسة جميلة", teh_marbuta=True) == "مدرسه جميله"


def test_alef_maqsura_option():
    assert normalize("على مستشفى", alef_maqsura=True) == "علي مستشفي"


def test_options_combined_and_order_independent():
    text = "ذهبت إلى المدرسةِ الكبرى"
    assert normalize(text, teh_marbuta=True, alef_maqsura=True) == "ذهبت الي المدرسه الكبري"
    assert normalize(text, alef_maqsura=True, teh_marbuta=True) == "ذهبت الي المدرسه الكبري"
    assert normalize(text, teh_marbuta=False) == normalize(text)


def test_english_option_only_touches_latin_spans():
    text = "I don't think إنّ الـ colour تمام, Mr. Smith"
    assert normalize(text, english=True) == "i do not think ان ال color تمام mister smith"
    assert normalize(text) == "i don t think ان ال colour تمام mr smith"
    arabic_only = "كَتَبَ الطَّالِبُ ٢٠ درسًا"
    assert normalize(arabic_only, english=True) == normalize(arabic_only)


def test_version_records_options():
    assert normalizer_version() == NORMALIZER_VERSION
    assert normalizer_version(teh_marbuta=True) == f"{NORMALIZER_VERSION}+teh_marbuta"
    assert normalizer_version(alef_maqsura=True, teh_marbuta=True, english=False) == \
        f"{NORMALIZER_VERSION}+alef_maqsura+teh_marbuta"


def test_unknown_option_and_bad_type():
    with pytest.raises(TypeError, match="unknown normalizer option"):
        normalize("x", remove_hamza=True)
    with pytest.raises(TypeError, match="unknown normalizer option"):
        normalizer_version(bogus=True)
    with pytest.raises(TypeError, match="expects str"):
        normalize(None)


def test_every_punctuation_and_symbol_becomes_space():
    import unicodedata

    sample = [chr(cp) for cp in range(0x20, 0x3000) if unicodedata.category(chr(cp))[0] in "PS"]
    sample += ["\u060c", "\u061b", "\u061f", "\u00ab", "\u00bb", "\u066a", "\U0001f600"]
    for ch in sample:
        out = normalize(f"ا{ch}ب")
        assert out in ("ا ب", "اب") or unicodedata.normalize("NFKC", ch) != ch, (hex(ord(ch)), out)
        if unicodedata.normalize("NFKC", ch) == ch and not 0x06D6 <= ord(ch) <= 0x06ED:
            assert out == "ا ب", (hex(ord(ch)), out)


def test_agrees_with_camel_tools():
    """camel-tools' dediac/alef/charset utilities agree with our rules on what they cover."""
    from camel_tools.utils.charsets import AR_DIAC_CHARSET, UNICODE_PUNCT_SYMBOL_CHARSET
    from camel_tools.utils.dediac import dediac_ar
    from camel_tools.utils.normalize import normalize_alef_ar, normalize_alef_maksura_ar, normalize_teh_marbuta_ar

    text = "قَالَ الرَّئِيسُ إِنَّ آلافَ الأَطْفَالِ ٱلْتَحَقُوا بِالمَدْرَسَةِ عَلَى"
    camel = normalize_alef_ar(dediac_ar(text)).replace("ئ", "ي")
    assert normalize(text) == camel
    assert normalize(text, teh_marbuta=True, alef_maqsura=True) == normalize_teh_marbuta_ar(normalize_alef_maksura_ar(camel))
    assert all(normalize(f"ب{d}ب") == "بب" for d in AR_DIAC_CHARSET)
    for ch in sorted(UNICODE_PUNCT_SYMBOL_CHARSET)[:3000:7]:
        import unicodedata

        if unicodedata.normalize("NFKC", ch) == ch and not 0x06D6 <= ord(ch) <= 0x06ED:
            assert normalize(f"ب{ch}ب") == "ب ب", hex(ord(ch))


def test_whisper_basic_normalizer_splits_arabic_words():
    """Why we do not use whisper-normalizer's BasicTextNormalizer for Arabic."""
    from whisper_normalizer.basic import BasicTextNormalizer

    text = "كَتَبَ الطَّالِبُ"
    assert BasicTextNormalizer()(text).split() == ["ك", "ت", "ب", "الط", "ال", "ب"]  # words torn apart
    assert normalize(text).split() == ["كتب", "الطالب"]


def test_normalize_many_equals_normalize():
    from aramega_ssum.text import normalize_many

    texts = [g[1] for g in GOLDEN] + ["ا \u0654حمد", "x\ufe7cy z", "a\u00a0b\u3000c", "ΑΣ ΒΣ.Γ", ""]
    for options in ({}, {"teh_marbuta": True, "alef_maqsura": True}, {"english": True}):
        assert normalize_many(texts, **options) == [normalize(t, **options) for t in texts]
    cache = {}
    assert normalize_many(["أَحْمَد"], cache=cache) == ["احمد"] and cache["أَحْمَد"] == "احمد"
