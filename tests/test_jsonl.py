"""The strict JSONL reader: line numbers, errors naming the line, and U+2028 inside strings."""
import json

import pytest

from aramega_ssum.jsonl import iter_jsonl


def test_line_separator_inside_a_string_is_one_record(tmp_path):
    path = tmp_path / "x.jsonl"
    records = [{"text": "سطر\u2028آخر\u2029"}, {"text": "ثالث"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    assert list(iter_jsonl(path)) == [(1, records[0]), (2, records[1])]


def test_blank_lines_skipped_and_bad_line_named(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"x\.jsonl:3: invalid JSON"):
        list(iter_jsonl(path))


def _records_with_separators():
    return [{"id": "a-1", "task": "asr", "prediction": "سطر\u2028آخر", "reference": "سطر\u2029آخر"},
            {"id": "a-2", "task": "asr", "prediction": "ثالث", "reference": "ثالث"}]


def test_predictions_reader_keeps_a_record_holding_u2028(tmp_path):
    from aramega_ssum.predictions import line_of, read_predictions, write_predictions

    records = _records_with_separators()
    path = write_predictions(tmp_path / "p.jsonl", records)
    assert "\u2028" in path.read_text(encoding="utf-8")  # written unescaped (ensure_ascii=False)
    assert read_predictions(path) == records
    assert line_of(path, "a-2") == 2


def test_predictions_reader_names_the_bad_line(tmp_path):
    from aramega_ssum.predictions import PredictionsError, read_predictions

    path = tmp_path / "p.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "a", "task": "asr", "prediction": "x", "reference": "x"}\n\xff\n')
    with pytest.raises(PredictionsError, match=r"p\.jsonl:2: not valid UTF-8"):
        read_predictions(path)


def test_source_table_reader_keeps_u2028_and_reports_bad_lines(tmp_path):
    from builders.items import Reporter
    from builders.tables import read_table

    records = _records_with_separators()
    path = tmp_path / "src.jsonl"
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in records] + [b"\xff\xfe", b"{oops", b"[1, 2]"]
    path.write_bytes(b"\n".join(lines) + b"\n")
    reporter = Reporter()
    assert list(read_table(path, "src", reporter)) == [(1, records[0]), (2, records[1])]
    assert [(s["file"], s["reason"]) for s in reporter.skipped] == [
        (f"{path}:3", "non_utf8_text"), (f"{path}:4", "bad_record"), (f"{path}:5", "bad_record")]
    assert reporter.skipped[1]["detail"].startswith("invalid JSON (")
