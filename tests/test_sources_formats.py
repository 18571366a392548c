"""Every source format: documented, registered, and yielding the right items from tiny fixtures."""
from __future__ import annotations

import importlib

import pytest

from builders.items import BuildError
from builders.sources import FORMATS, SourceContext, get_format
from fixtures_data import make_label_dirs_source, make_manifest_source, make_sada_source, make_text_pairs_source


@pytest.mark.parametrize("name", FORMATS)
def test_each_format_is_one_documented_file(name):
    module = importlib.import_module(f"builders.sources.{name}")
    doc = module.__doc__ or ""
    for word in ("Corpus", "Layout", "Licence", "Homepage"):
        assert f"{word}:" in doc, f"builders/sources/{name}.py docstring lacks {word}:"
    assert callable(get_format(name))


def _items(fmt, path, tasks, **options):
    ctx = SourceContext()
    spec = {"name": fmt, "format": fmt, "path": str(path), "tasks": tasks, **options}
    return list(get_format(fmt)(spec, ctx)), ctx


def test_manifest_items(tmp_path):
    items, ctx = _items("manifest", make_manifest_source(tmp_path), ["asr", "ssum", "dialect", "emotion"])
    by = {it.uid: it for it in items}
    assert set(by) == {"manifest-a", "manifest-b", "manifest-c", "manifest-d"}
    assert by["manifest-a"].dialect == "EGY" and by["manifest-a"].tasks == ("asr", "ssum", "dialect")
    assert by["manifest-c"].emotion == "happy" and "emotion" in by["manifest-c"].tasks  # Arabic alias فرح
    assert by["manifest-a"].audio["path"].endswith("audio/a.wav") and by["manifest-a"].group == "s1"
    assert ctx.reporter.skipped == []


def test_manifest_csv_with_renamed_columns(tmp_path):
    import csv

    from fixtures_data import ARABIC, write_wav

    write_wav(tmp_path / "x.wav", 0.5)
    with open(tmp_path / "m.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["wav", "sentence", "accent"], ["x.wav", ARABIC[0], "Shami"]])
    items, _ = _items("manifest", tmp_path / "m.csv", ["asr", "dialect"], columns={"wav": "audio",
                      "sentence": "text", "accent": "dialect"}, label_map={"Shami": "LEV"})
    assert len(items) == 1 and items[0].dialect == "LEV" and items[0].transcription == ARABIC[0]


def test_sada_segments_and_chunks(tmp_path):
    items, ctx = _items("sada", make_sada_source(tmp_path), ["asr", "dialect", "ssum"], chunk_seconds=8)
    segments = [it for it in items if it.audio["kind"] == "file"]
    chunks = [it for it in items if it.audio["kind"] == "spans"]
    assert len(segments) == 6 and segments[0].audio["start"] == 0.5 and segments[0].audio["end"] == 4.0
    assert segments[0].dialect == "GLF" and segments[3].dialect == "EGY"  # Najdi -> GLF, Egyptian -> EGY
    assert segments[5].tasks == ("asr",)  # "More than 1 speaker": dialect row skipped, asr kept
    assert [s["reason"] for s in ctx.reporter.skipped] == ["unknown_label"]
    assert all(c.tasks == ("ssum",) for c in chunks)
    speech = [sum(e - s for s, e in c.audio["spans"]) for c in chunks]
    assert all(x <= 8 for x in speech) and len(chunks) == 4
    assert {it.group for it in items if "ep1" in it.group} == {chunks[0].group}  # one group per episode


def test_label_dirs_items(tmp_path):
    items, ctx = _items("label_dirs", make_label_dirs_source(tmp_path), ["dialect"])
    assert sorted(it.dialect for it in items) == ["EGY", "EGY", "GLF", "GLF", "LEV"]
    assert {it.speaker for it in items} == {"spk1", "spk2", "spk3", "spk4", "spk5"}
    assert [s["reason"] for s in ctx.reporter.skipped] == ["unknown_label"]
    assert "Martian" in ctx.reporter.skipped[0]["file"]
    with pytest.raises(BuildError, match="exactly one task"):
        _items("label_dirs", tmp_path, ["dialect", "emotion"])


def test_text_pairs_items(tmp_path):
    items, _ = _items("text_pairs", make_text_pairs_source(tmp_path), ["tsum", "ssum", "asr"])
    assert [it.uid for it in items] == ["text_pairs-p1", "text_pairs-p2"]
    assert items[0].audio["kind"] == "tts" and len(items[0].parts) == 2 and items[0].summary


def test_text_pairs_csv_non_utf8_row_reported(tmp_path):
    (tmp_path / "p.csv").write_bytes("document,summary\n".encode() + "نص أول. جملة,ملخص\n".encode()
                                     + b"caf\xe9 text,x\n")
    items, ctx = _items("text_pairs", tmp_path / "p.csv", ["tsum"])
    assert len(items) == 1
    assert ctx.reporter.skipped[0]["reason"] == "non_utf8_text" and ctx.reporter.skipped[0]["file"].endswith("p.csv:3")


def test_hf_source_from_a_built_dataset(mini_dataset, tmp_path):
    path = str(mini_dataset / "multitask" / "train-*.parquet")
    items, ctx = _items("hf", path, ["asr", "dialect"], columns={"transcription": "text"})
    assert items and all(it.audio["kind"] == "hf" for it in items)
    from builders.render import init_worker, render

    init_worker("espeak", None, None, 0)
    result = render(items[0].audio, items[0].origin)
    assert result["ok"] and result["flac"][:4] == b"fLaC"
