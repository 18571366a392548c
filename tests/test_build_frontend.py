"""The TTS text front-end: numbers spelled out, only sayable characters spoken, lost words reported;
the mms path on a hub-faithful replica of facebook/mms-tts-ara in a simulated HF cache."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builders.frontend import FrontEnd, espeak_charset
from builders.numbers import spell_numbers
from fixtures_data import write_jsonl
from replicas import MMS_VOCAB_CHARS, mms_tts_ara

ROOT = Path(__file__).resolve().parents[1]


def test_numbers_dates_percentages_decimals_are_spelled():
    assert spell_numbers("الساعة 5 والسعر 250 جنيه")[0] == "الساعة خمسة والسعر مئتان وخمسون جنيه"
    assert spell_numbers("بمعدل 99.6، في عام ٢٠٣٠.")[0] == "بمعدل تسعة وتسعون فاصلة ستة، في عام ألفان وثلاثون."
    assert spell_numbers("نسبة 12% و3.05٪")[0] == "نسبة اثنا عشر في المئة وثلاثة فاصلة صفر خمسة في المئة"
    assert spell_numbers("يوم 12/5/2024")[0] == "يوم اثنا عشر مايو ألفان وأربعة وعشرون"
    assert spell_numbers("بلغ 1,500 دولار وبـ5 ملايين")[0] == "بلغ ألف وخمسمائة دولار وبـخمسة ملايين"
    assert spell_numbers("200 و1200 و2000 و200000")[0] == "مئتان وألف ومئتان وألفان ومئتا ألف"
    text, changes = spell_numbers("لا أرقام هنا")
    assert text == "لا أرقام هنا" and changes == []


def test_espeak_keeps_arabic_and_latin_and_reports_numbers():
    spoken = FrontEnd(espeak_charset()).speak("عندي meeting الساعة 3")
    assert spoken.text == "عندي meeting الساعة ثلاثة" and not spoken.lost
    assert spoken.changes() == {"numbers": [["3", "ثلاثة"]]}


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("hf")
    mms_tts_ara(home)
    return home


def test_mms_charset_is_read_from_the_models_vocab(hf_home):
    from builders.mms import mms_charset

    snapshot = next((hf_home / "hub" / "models--facebook--mms-tts-ara" / "snapshots").iterdir())
    charset = mms_charset(str(snapshot))
    assert set(charset.chars) == set(MMS_VOCAB_CHARS)
    spoken = FrontEnd(charset).speak("كَتَبَ الـطالبُ، 3 رسائل email؟")
    assert spoken.text == "كتب الطالب ثلاثة رسائل" and spoken.lost == ["email"]
    assert spoken.changes()["removed"]["َ"] == 3 and spoken.changes()["removed"]["،"] == 1


def _corpus(root: Path) -> Path:
    """The mini corpus plus a document with digits, a percentage, diacritics and punctuation."""
    for name in ("dialect.jsonl", "emotion.jsonl", "codeswitch.jsonl"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes((ROOT / "tests/data/builders/mini_corpus" / name).read_bytes())
    docs = [json.loads(line) for line in (ROOT / "tests/data/builders/mini_corpus/documents.jsonl").open()]
    docs[0]["document"] = "ارتفع السعر إلى 250 جنيهًا في 12/5/2024. وبلغت النسبة 5.5% بحلول الساعة 5، حسب التقرير."
    return write_jsonl(root / "documents.jsonl", docs).parent


def test_mms_build_speaks_exactly_its_transcription(hf_home, tmp_path):
    """`python -m builders.build --tts mms` with the hub id, offline from the simulated cache."""
    corpus, out = _corpus(tmp_path / "corpus"), tmp_path / "out"
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "builders.build", "--tts", "mms", "--corpus-dir", str(corpus),
                             "--output", str(out), "--no-progress"], env=env, capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [r for path in sorted((out / "multitask").glob("*.parquet")) for r in pq.read_table(path).to_pylist()]
    vocab = set(MMS_VOCAB_CHARS)
    audio_rows = [r for r in rows if r["audio"] is not None]
    assert audio_rows and all(set(r["transcription"]) <= vocab for r in audio_rows)
    doc = next(r for r in rows if r["id"] == "doc-001-ssum")
    assert "250" in doc["source_text"] and "250" not in doc["transcription"]
    assert "مئتان وخمسون" in doc["transcription"] and "خمسة فاصلة خمسة في المئة" in doc["transcription"]
    assert "اثنا عشر مايو" in doc["transcription"]
    tsum = next(r for r in rows if r["id"] == "doc-001-tsum")
    assert tsum["text"] == doc["source_text"]  # text input keeps the source
    report = json.loads((out / "build_report.json").read_text(encoding="utf-8"))
    lost = [s for s in report["skipped"]["items"] if s["reason"] == "unspeakable_text"]
    assert {s["id"] for s in lost} == {"cs-001", "cs-002", "cs-003", "cs-004"}  # English words: never silently dropped
    assert not any(r["id"].startswith("cs-") for r in rows)
    changed = {entry["id"]: entry for entry in report["frontend"]["items"]}
    assert ["250", "مئتان وخمسون"] in changed["doc-001"]["numbers"] and "removed" in changed["doc-001"]
    assert report["frontend"]["charset"] == "mms:facebook/mms-tts-ara"
