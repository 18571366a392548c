"""Bad input: every case skipped, counted and listed with its file; valid rows kept; --strict stops."""
from __future__ import annotations

import pytest

from aramega_ssum.dataset import load_split
from aramega_ssum.schema import SPLITS
from builders.build import build, parse_args
from builders.items import BuildError


def _build(sources, out, *extra):
    return build(parse_args(["--sources", str(sources), "--output-dir", str(out), "--no-progress",
                             "--max-audio-seconds", "2", *extra]))


def test_every_bad_case_is_reported_and_valid_rows_kept(bad_inputs, tmp_path):
    sources, expected = bad_inputs
    report = _build(sources, tmp_path / "out")
    skipped = report["skipped"]["items"]
    by_id = {s["id"]: s for s in skipped}
    for key, reason in expected.items():
        if key.startswith("line"):
            entry = next(s for s in skipped if s["file"].endswith(f"manifest.jsonl:{key.split()[1]}"))
        else:
            entry = by_id[f"bad-{key}"]
        assert entry["reason"] == reason, (key, entry)
        assert "manifest.jsonl:" in entry["file"] and entry["source"] == "bad"
    assert report["skipped"]["total"] == len(expected)
    assert sum(report["skipped"]["by_reason"].values()) == len(expected)
    ids = {r["id"] for s in SPLITS for r in load_split(tmp_path / "out", s).to_list()}
    for good in ("good1", "good2", "good3", "dup"):
        assert f"bad-{good}-asr" in ids
    assert {f"bad-{g}-dialect" for g in ("good1", "good2", "good3")} <= ids
    assert "bad-klingon-asr" in ids and "bad-klingon-dialect" not in ids  # only the bad label's row goes
    assert len(ids) == 8


def test_detail_names_the_audio_file(bad_inputs, tmp_path):
    sources, _ = bad_inputs
    report = _build(sources, tmp_path / "out")
    details = {s["id"]: s["detail"] for s in report["skipped"]["items"]}
    assert "corrupt.wav" in details["bad-corrupt"]
    assert "missing.wav" in details["bad-missing"]
    assert "--max-audio-seconds 2" in details["bad-long"] and "long.wav" in details["bad-long"]
    assert "nan.wav" in details["bad-nan"] and "zero.wav" in details["bad-zero"]


def test_strict_stops_at_first_bad_input_and_leaves_nothing(bad_inputs, tmp_path):
    sources, _ = bad_inputs
    with pytest.raises(BuildError, match=r"manifest\.jsonl:4: non_utf8_text"):
        _build(sources, tmp_path / "out" / "ds", "--strict")
    assert not (tmp_path / "out" / "ds").exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_strict_audio_error_names_the_file(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from fixtures_data import write_jsonl, write_wav

    write_wav(tmp_path / "ok.wav", 0.5)
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    write_jsonl(tmp_path / "m.jsonl", [{"id": "1", "audio": "ok.wav", "text": "نص سليم"},
                                       {"id": "2", "audio": "broken.wav", "text": "نص آخر"}])
    (tmp_path / "s.yaml").write_text("sources:\n  - {name: m, format: manifest, path: m.jsonl, tasks: [asr]}\n")
    with pytest.raises(BuildError, match=r"m\.jsonl:2: corrupt_audio: .*broken\.wav"):
        _build(tmp_path / "s.yaml", tmp_path / "out", "--strict")


@pytest.mark.parametrize("text, error", [
    ("sources:\n  - {name: x, format: manifests, path: a.jsonl}\n", "did you mean 'manifest'"),
    ("sources:\n  - {name: x, format: label_dirs, path: ., tasks: [asr]}\n", "cannot feed task"),
    ("sources:\n  - {name: x, format: manifest, path: a.jsonl, colums: {}}\n", "unknown option"),
    ("summariser: x\nsources: []\n", "unknown top-level key.*did you mean 'summarizer'"),
])
def test_bad_sources_file_is_a_clear_error(tmp_path, text, error):
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(BuildError, match=error):
        _build(tmp_path / "s.yaml", tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]  # failed builds leave nothing
