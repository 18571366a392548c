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
