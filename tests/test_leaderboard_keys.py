"""Answer keys: python -m leaderboards.keys on a real build, and every tampering case of issue 11
that recomputing metrics alone cannot catch, each rejected with its own message naming the id."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aramega_ssum.dataset import fingerprint
from leaderboards.keys import DEFAULT_KEYS_DIR, build_key, key_path, main as keys_main
from leaderboards.validate import validate_file
from test_leaderboard_helpers import FINGERPRINT, make_entry, make_records

REPO = Path(__file__).resolve().parents[1]


def _records(transform) -> list[dict]:
    return [r for r in (transform(dict(r)) for r in make_records(2)) if r is not None]


def _copy_reference_from_prediction(rec):
    if rec["task"] in ("asr", "ssum", "tsum"):  # the perfect-score forgery: WER 0.0, ROUGE-L 1.0
        rec["reference"] = rec["prediction"]
    return rec


def _made_up_id(rec):
    if rec["id"] == "asr-0":
        rec["id"] = "asr-999"
    return rec


def _wrong_task(rec):
    if rec["id"] == "ssum-0":
        rec["task"] = "tsum"
    return rec


def _wrong_dialect(rec):
    if rec["id"] == "asr-1":
        rec["dialect"] = "NOR"
    return rec


def _one_asr_row(rec):
    return None if rec["task"] == "asr" and rec["id"] != "asr-0" else rec


def _wrong_label(rec):
    if rec["id"] == "dia-3":  # reference NOR, prediction MSA: relabel the reference to match
        rec["reference"] = "MSA"
    return rec


TAMPERING = {  # name: (records transform, fingerprint, expected message)
    "references-equal-predictions": (_copy_reference_from_prediction, FINGERPRINT,
                                     "record 1 (id 'asr-0'): reference differs from the dataset's"),
    "made-up-id": (_made_up_id, FINGERPRINT, "(id 'asr-999'): id is not in the answer key"),
    "id-under-another-task": (_wrong_task, FINGERPRINT, "(id 'ssum-0'): task 'tsum' but the answer key says 'ssum'"),
    "dialect-field-changed": (_wrong_dialect, FINGERPRINT, "(id 'asr-1'): dialect 'NOR' but the answer key says 'LEV'"),
    "partial-task": (_one_asr_row, FINGERPRINT, "id 'asr-1' (asr) of the answer key is missing; an entry reporting asr "
                                                "must cover all 6 asr ids"),
    "label-reference-changed": (_wrong_label, FINGERPRINT, "(id 'dia-3'): reference differs from the dataset's"),
    "unregistered-fingerprint": (lambda r: r, "f" * 64, f"data.fingerprint: no answer key for {'f' * 64}"),
}


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_tampering_rejected(name, tmp_path, keys_dir):
    transform, print_, expected = TAMPERING[name]
    entry = make_entry(tmp_path / "results", name, records=_records(transform), fingerprint=print_)
    report = validate_file(entry, results_dir=None, keys_dir=keys_dir)
    assert not report.ok and not report.verified
    assert any(expected in p for p in report.problems), (expected, report.problems)
    assert validate_file(entry, results_dir=None, keys_dir=None).ok  # metrics alone cannot tell


def test_partial_task_lists_each_missing_id(tmp_path, keys_dir):
    entry = make_entry(tmp_path, "p", records=_records(_one_asr_row))
    problems = validate_file(entry, results_dir=None, keys_dir=keys_dir).problems
    missing = sorted(p.split("'")[1] for p in problems if "of the answer key is missing" in p)
    assert missing == ["asr-1", "asr-2", "asr-3", "asr-4", "asr-5"]


def test_partial_tasks_are_allowed(tmp_path, keys_dir):
    entry = make_entry(tmp_path, "tsum-only", records=[r for r in make_records(1) if r["task"] == "tsum"])
    report = validate_file(entry, results_dir=None, keys_dir=keys_dir)
    assert report.ok and report.verified, report.problems


def test_key_of_a_real_build(mini_dataset, tmp_path):
    key = build_key(mini_dataset, "multitask", "test")
    assert key["fingerprint"] == fingerprint(mini_dataset, "multitask")
    assert sum(key["counts"].values()) == len(key["ids"]) > 0
    raw = json.dumps(key, ensure_ascii=False)
    assert all("\u0600" > c or c > "\u06ff" for c in raw)  # hashes, not texts
    assert keys_main(["--data", str(mini_dataset), "--out-dir", str(tmp_path)]) == 0
    written = key_path(key["fingerprint"], tmp_path)
    assert json.loads(written.read_text("utf-8")) == key
    ssum = build_key(mini_dataset, "ssum", "test")
    assert set(ssum["counts"]) == {"ssum"} and ssum["fingerprint"] == fingerprint(mini_dataset, "ssum")


def test_keys_cli_error(tmp_path):
    run = subprocess.run([sys.executable, "-m", "leaderboards.keys", "--data", str(tmp_path / "nope"),
                          "--out-dir", str(tmp_path / "k")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.startswith("error: no test-*.parquet under")
    assert not (tmp_path / "k").exists()


def test_committed_key_matches_the_embedded_build(embedded_dataset):
    key = build_key(embedded_dataset, "multitask", "test")
    committed = key_path(key["fingerprint"], DEFAULT_KEYS_DIR)
    assert committed.is_file(), ("no committed key for the embedded build: python -m leaderboards.keys "
                                 f"--data {embedded_dataset}")
    assert json.loads(committed.read_text("utf-8")) == key


def test_example_predictions_refused_under_the_real_fingerprint(embedded_dataset, tmp_path):
    """The repo's example predictions (ids not in the dataset) under the real fingerprint."""
    import shutil

    from aramega_ssum.predictions import read_predictions

    records = read_predictions(REPO / "benchmark" / "examples" / "predictions.jsonl")
    entry = make_entry(tmp_path, "example", records=records, fingerprint=fingerprint(embedded_dataset))
    report = validate_file(entry, results_dir=None)
    assert any("(id 'asr-001'): id is not in the answer key" in p for p in report.problems), report.problems
    assert not report.ok
    shutil.rmtree(tmp_path / "example")
