"""The content fingerprint: independent of the parquet and audio encoding, sensitive to content;
written by the build into build_report.json and the card; two builds are byte-identical."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from aramega_ssum.dataset import fingerprint, read_build_report, verify_fingerprint
from aramega_ssum.schema import CONFIGS


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _rewrite(folder: Path, config: str, transform, **write_options) -> None:
    """Read every shard of a config, apply `transform` to the table, write it back."""
    for path in sorted((folder / config).glob("*.parquet")):
        table = transform(pq.read_table(path))
        path.unlink()
        pq.write_table(table, path, **write_options)


def _map_column(table: pa.Table, name: str, func) -> pa.Table:
    values = [func(v) for v in table.column(name).to_pylist()]
    index = table.schema.get_field_index(name)
    return table.set_column(index, table.schema.field(name), pa.array(values, type=table.schema.field(name).type))


def _as_wav(audio):
    if audio is None or audio["bytes"] is None:
        return audio
    samples, rate = sf.read(io.BytesIO(audio["bytes"]), dtype="int16")
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return {"bytes": buffer.getvalue(), "path": audio["path"]}


def test_reencoding_keeps_the_fingerprint(mini_dataset, tmp_path):
    before = {c: fingerprint(mini_dataset, c) for c in CONFIGS}
    other = _copy(mini_dataset, tmp_path / "gzip")
    for config in CONFIGS:  # other codec, tiny row groups, reversed row order, no dictionary
        _rewrite(other, config, lambda t: t.take(list(range(t.num_rows))[::-1]), compression="gzip",
                 row_group_size=3, use_dictionary=False)
    assert {c: fingerprint(other, c) for c in CONFIGS} == before
    wav = _copy(mini_dataset, tmp_path / "wav")
    _rewrite(wav, "multitask", lambda t: _map_column(t, "audio", _as_wav), compression="snappy")
    assert fingerprint(wav, "multitask") == before["multitask"]
    assert any(f.read_bytes() != g.read_bytes() for f, g in zip(sorted((wav / "multitask").glob("*.parquet")),
                                                                 sorted((mini_dataset / "multitask").glob("*.parquet"))))


def test_one_changed_value_changes_the_fingerprint(mini_dataset, tmp_path):
    before = fingerprint(mini_dataset, "multitask")
    first_label = {"done": False}

    def relabel(value):
        if value is not None and not first_label["done"]:
            first_label["done"] = True
            return "LEV" if value != "LEV" else "EGY"
        return value

    def louder(audio):
        if audio is None or audio["bytes"] is None:
            return audio
        samples, rate = sf.read(io.BytesIO(audio["bytes"]), dtype="int16")
        samples = samples.copy()
        samples[0] = samples[0] + 1 if samples[0] < 32767 else samples[0] - 1
        buffer = io.BytesIO()
        sf.write(buffer, samples, rate, format="FLAC", subtype="PCM_16")
        return {"bytes": buffer.getvalue(), "path": audio["path"]}

    cases = {"label": ("label", relabel), "sample": ("audio", louder),
             "target": ("target", lambda v: v + "!")}
    for name, (column, func) in cases.items():
        folder = _copy(mini_dataset, tmp_path / name)
        shard = sorted((folder / "multitask").glob("test-*.parquet"))[0]
        pq.write_table(_map_column(pq.read_table(shard), column, func), shard)
        assert fingerprint(folder, "multitask") != before, name


def test_build_records_and_verifies_the_fingerprint(mini_dataset, tmp_path):
    report = read_build_report(mini_dataset)
    assert report["fingerprints"] == {c: fingerprint(mini_dataset, c) for c in CONFIGS}
    card = (mini_dataset / "README.md").read_text(encoding="utf-8")
    assert report["fingerprints"]["multitask"] in card and report["fingerprints"]["ssum"] in card
    assert verify_fingerprint(mini_dataset, "ssum") == report["fingerprints"]["ssum"]
    tampered = _copy(mini_dataset, tmp_path / "t")
    shard = sorted((tampered / "ssum").glob("train-*.parquet"))[0]
    pq.write_table(_map_column(pq.read_table(shard), "summary", lambda v: "ملخص آخر"), shard)
    with pytest.raises(ValueError, match="differs from the build report"):
        verify_fingerprint(tampered, "ssum")


def test_two_builds_are_byte_identical(mini_corpus_dir, tmp_path):
    """Same inputs, one or two processes: the same bytes in every file but the report's timings, the
    same content fingerprints; another seed, another fingerprint."""
    from aramega_ssum.dataset import fingerprint
    from builders.build import build, parse_args

    outs = []
    for name, procs in (("a", "1"), ("b", "2")):
        out = tmp_path / name / "aramega-ssum"
        build(parse_args(["--output-dir", str(out), "--corpus-dir", str(mini_corpus_dir), "--no-progress",
                          "--num-proc", procs]))
        outs.append(out)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*.parquet"))
    assert files == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*.parquet")) and files
    for name in files:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert (outs[0] / "README.md").read_text() == (outs[1] / "README.md").read_text()
    reports = [json.loads((o / "build_report.json").read_text()) for o in outs]
    assert reports[0]["fingerprints"] == reports[1]["fingerprints"]
    for config in ("ssum", "multitask"):
        assert fingerprint(outs[0], config) == fingerprint(outs[1], config) == reports[0]["fingerprints"][config]
    other = tmp_path / "c" / "aramega-ssum"
    build(parse_args(["--output-dir", str(other), "--corpus-dir", str(mini_corpus_dir), "--no-progress",
                      "--seed", "1"]))
    assert fingerprint(other, "multitask") != fingerprint(outs[0], "multitask")


def test_pcm_of_a_resampled_float_source(tmp_path):
    """A non-16-bit or non-16 kHz stored clip is hashed after resampling to 16 kHz int16."""
    from aramega_ssum.dataset import pcm16

    t = np.arange(8000) / 8000
    buffer = io.BytesIO()
    sf.write(buffer, (0.25 * np.sin(2 * np.pi * 200 * t)).astype("float32"), 8000, format="WAV", subtype="FLOAT")
    pcm = pcm16({"bytes": buffer.getvalue(), "path": None})
    assert pcm.dtype == np.int16 and pcm.size == 16000 and 7000 < np.abs(pcm).max() < 9000
