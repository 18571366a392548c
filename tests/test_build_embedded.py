"""The embedded build end to end: Hub layout, load_dataset offline, audio decodes, splits, report."""
from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from aramega_ssum.audio import decode_audio
from aramega_ssum.dataset import load_split, read_build_report
from aramega_ssum.schema import CONFIGS, SAMPLING_RATE, SPLITS, TASKS, arrow_schema, validate_record
from aramega_ssum.tasks import canonical_label, instruction_for


def test_layout_and_card(embedded_dataset):
    for config in CONFIGS:
        for split in SPLITS:
            files = sorted((embedded_dataset / config).glob(f"{split}-*.parquet"))
            assert files, f"{config}/{split} has no shards"
            assert files[0].name.endswith("-of-%05d.parquet" % len(files))
            assert pq.read_schema(files[0]).remove_metadata().equals(arrow_schema(config))
    card = (embedded_dataset / "README.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(card.split("---")[1])
    assert [c["config_name"] for c in meta["configs"]] == ["ssum", "multitask"]
    assert meta["configs"][0]["default"] is True
    assert "reimplementation" in card and "TODO" not in card


def test_load_dataset_offline_both_configs(embedded_dataset, monkeypatch, tmp_path):
    datasets = pytest.importorskip("datasets")
    monkeypatch.chdir(embedded_dataset.parent)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    ssum = datasets.load_dataset("aramega-ssum", cache_dir=str(tmp_path / "cache"))
    mix = datasets.load_dataset("aramega-ssum", "multitask", cache_dir=str(tmp_path / "cache"))
    assert set(ssum) == set(SPLITS) == set(mix)
    assert isinstance(ssum["train"].features["audio"], datasets.Audio)
    assert set(mix["train"]["task"]) == set(TASKS)
    raw = ssum["test"].cast_column("audio", datasets.Audio(decode=False))[0]
    samples, rate = decode_audio(raw["audio"])
    assert rate == SAMPLING_RATE and samples.ndim == 1
    assert abs(samples.size / rate - raw["duration"]) < 0.01
    try:
        import torchcodec  # noqa: F401
    except (ImportError, RuntimeError, OSError):
        return
    decoded = ssum["test"][0]["audio"]
    assert np.allclose(np.asarray(decoded["array"]), samples, atol=1e-4)


def test_rows_are_valid_and_targets_match_tasks(embedded_dataset):
    for split in SPLITS:
        rows = load_split(embedded_dataset, split).to_list()
        for row in rows:
            assert validate_record(row) == [], row["id"]
            assert row["instruction"] == instruction_for(row["task"], row["id"])
            assert row["target"]
            if row["task"] == "tsum":
                assert row["audio"] is None and row["text"]
            else:
                assert row["audio"]["bytes"][:4] == b"fLaC" and row["duration"] > 0
            if row["task"] in ("dialect", "emotion"):
                assert canonical_label(row["task"], row["target"]) == row["label"] == row[row["task"]]
            if row["task"] in ("ssum", "tsum"):
                assert row["target"] == row["summary"]


def test_groups_never_cross_splits(embedded_dataset):
    owner = {}
    for split in SPLITS:
        for row in load_split(embedded_dataset, split).to_list():
            group = re.sub(r"(-s\d\d)?-(asr|ssum|tsum|dialect|emotion)$", "", row["id"])
            assert owner.setdefault(group, split) == split, f"{group} in {owner[group]} and {split}"


def test_report_counts_match_parquet(embedded_dataset):
    report = read_build_report(embedded_dataset)
    for config in CONFIGS:
        for split in SPLITS:
            n = sum(pq.ParquetFile(f).metadata.num_rows for f in (embedded_dataset / config).glob(f"{split}-*.parquet"))
            assert report["configs"][config]["splits"][split]["rows"] == n
    mix = report["configs"]["multitask"]["splits"]
    for task in ("dialect", "emotion"):
        for split in SPLITS:  # every label reaches every split
            assert len(mix[split]["labels"][task]) == 5, (task, split)
    assert report["skipped"]["total"] == 0
    assert report["timing"]["wall_s"] > 0


def test_emotions_have_distinct_prosody(embedded_dataset):
    rows = [r for s in SPLITS for r in load_split(embedded_dataset, s).to_list() if r["task"] == "emotion"]
    rate = {}
    for row in rows:
        samples, sr = decode_audio(row["audio"])
        words = len(row["transcription"].split())
        rate.setdefault(row["label"], []).append(words / (samples.size / sr))
    mean = {k: float(np.mean(v)) for k, v in rate.items()}
    assert mean["sad"] < mean["neutral"] < mean["angry"], mean


def test_failed_build_leaves_nothing(mini_corpus_dir, tmp_path):
    from builders.build import build, parse_args
    from builders.items import BuildError

    corpus = tmp_path / "corpus"
    shutil.copytree(mini_corpus_dir, corpus)
    with open(corpus / "emotion.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "emo-x-001", "emotion": "bored", "text": "لا شيء يحدث"}) + "\n")
    out = tmp_path / "out" / "aramega-ssum"
    with pytest.raises(BuildError, match=r"emotion.jsonl:16: unknown_label"):
        build(parse_args(["--output-dir", str(out), "--corpus-dir", str(corpus), "--strict", "--no-progress"]))
    assert list((tmp_path / "out").iterdir()) == []
    report = build(parse_args(["--output-dir", str(out), "--corpus-dir", str(corpus), "--no-progress"]))
    assert report["skipped"]["by_reason"] == {"unknown_label": 1}
    assert report["skipped"]["items"][0]["file"].endswith("emotion.jsonl:16")


def test_ensure_dataset_builds_once(mini_corpus_dir, tmp_path):
    from builders.build import ensure_dataset

    path = ensure_dataset(tmp_path / "aramega-ssum", seed=0, corpus_dir=str(mini_corpus_dir), num_proc=1)
    stamp = (path / "build_report.json").stat().st_mtime_ns
    assert ensure_dataset(path, seed=0) == path
    assert (path / "build_report.json").stat().st_mtime_ns == stamp
