"""python -m leaderboards.validate: a valid entry passes; malformed submissions are each rejected
with their own message naming the key path, and validation writes nothing."""
from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leaderboards.validate import MAX_BYTES, main, validate_file
from test_leaderboard_helpers import make_entry

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """sub/: a valid entry to mutate; board/: an existing leaderboard with another model;
    dup/: a leaderboard already holding the same system as sub/entry.json."""
    root = tmp_path_factory.mktemp("validate")
    entry = make_entry(root / "sub")
    make_entry(root / "board", "other", model_id="other-model", level=3)
    (root / "dup").mkdir()
    shutil.copy(entry, root / "dup" / "same-system.json")
    shutil.copytree(root / "sub" / "entry", root / "dup" / "entry")
    return root


def snapshot(folder: Path) -> dict:
    """Every path under folder with its size, mtime and content hash."""
    out = {}
    for path in sorted(folder.rglob("*")):
        stat = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and stat.st_size < 1e6 else ""
        out[str(path)] = (stat.st_size, stat.st_mtime_ns, digest)
    return out


def load(world: Path) -> dict:
    return json.loads((world / "sub" / "entry.json").read_text("utf-8"))


def dump(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1)


def predictions_lines(world: Path) -> list[str]:
    return (world / "sub" / "entry" / "predictions.jsonl").read_text("utf-8").splitlines()


def with_predictions(world: Path, name: str, body: bytes, *, update_sha: bool) -> dict:
    """The valid entry pointing at a new predictions file sub/<name>.jsonl holding body."""
    (world / "sub" / f"{name}.jsonl").write_bytes(body)
    data = load(world)
    data["predictions"]["path"] = f"{name}.jsonl"
    if update_sha:
        data["predictions"]["sha256"] = hashlib.sha256(body).hexdigest()
    return data


def tampered_lines(world: Path) -> bytes:
    lines = predictions_lines(world)
    rec = json.loads(lines[0])
    rec["prediction"] = "كلام مختلف تماما"
    lines[0] = json.dumps(rec, ensure_ascii=False)
    return ("\n".join(lines) + "\n").encode()


def edit(fn):
    """A case that edits the parsed valid entry in place."""
    def make(world: Path, name: str) -> str:
        data = load(world)
        fn(data)
        return dump(data)
    return make


def put(path: str, value):
    def fn(data):
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    return edit(fn)


def drop(path: str):
    def fn(data):
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        del node[last]
    return edit(fn)


def raw(text_fn):
    """A case that rewrites the valid entry's JSON text."""
    return lambda world, name: text_fn((world / "sub" / "entry.json").read_text("utf-8"))


def preds(body_fn, *, update_sha: bool = True):
    return lambda world, name: dump(with_predictions(world, name, body_fn(world), update_sha=update_sha))


def _drop_asr(data):
    for key in ("metrics", "breakdown"):
        del data[key]["asr"]
    del data["data"]["n"]["asr"]


def _symlink_outside(world: Path, name: str) -> str:
    outside = world / "outside.jsonl"
    shutil.copy(world / "sub" / "entry" / "predictions.jsonl", outside)
    link = world / "sub" / f"{name}.jsonl"
    link.unlink(missing_ok=True)
    link.symlink_to(outside)
    data = load(world)
    data["predictions"]["path"] = f"{name}.jsonl"
    return dump(data)


def _python_file_as_predictions(world: Path, name: str) -> str:
    code = f"open({str(world / 'PWNED')!r}, 'w').write('x')\n"
    return dump(with_predictions(world, name, code.encode(), update_sha=True))


def _long_prediction(world: Path) -> bytes:
    lines = predictions_lines(world)
    rec = json.loads(lines[1])
    rec["prediction"] = "ب" * 30_000
    lines[1] = json.dumps(rec, ensure_ascii=False)
    return ("\n".join(lines) + "\n").encode()


def _bertscore_in_submission(world: Path) -> str:
    data = load(world)
    data["scoring"]["bertscore_model"] = str(world / "sub" / "entry")
    return dump(data)


def _first_ci(field, index, value):
    def fn(data):
        data["metrics"]["asr"]["ci95"][field][index] = value
    return edit(fn)


CASES = {  # name: (make results text, expected message fragment)
    "missing-top-level-key": (drop("metrics"), "metrics: required key is missing"),
    "missing-nested-key": (drop("model.revision"), "model.revision: required key is missing"),
    "missing-metric": (drop("metrics.asr.wer"), "metrics.asr.wer: required key is missing"),
    "missing-ci95": (drop("metrics.emotion.ci95"), "metrics.emotion.ci95: required key is missing"),
    "wrong-type-string-for-int": (put("model.adapter.r", "16"), "model.adapter.r: expected integer, got string"),
    "wrong-type-float-n": (put("metrics.asr.n", 6.5), "metrics.asr.n: expected integer, got number"),
    "wrong-type-bool-metric": (put("metrics.dialect.accuracy", True), "metrics.dialect.accuracy: expected number, got boolean"),
    "wrong-type-metrics-array": (put("metrics", []), "metrics: expected object, got array"),
    "nan": (raw(lambda t: t.replace('"wer": 0.1,', '"wer": NaN,', 1)), "metrics.asr.wer: NaN is not allowed"),
    "infinity": (raw(lambda t: t.replace('"rtfx": 40.0', '"rtfx": Infinity', 1)), "efficiency.rtfx: Infinity is not allowed"),
    "overflowing-number": (raw(lambda t: t.replace('"peak_mem_gb": 1.5', '"peak_mem_gb": 1e999', 1)), "efficiency.peak_mem_gb: number overflows"),
    "fraction-above-one": (put("metrics.ssum.rougeL", 1.5), "metrics.ssum.rougeL: 1.5 is greater than the maximum of 1"),
    "negative-wer": (put("metrics.asr.cer", -0.1), "metrics.asr.cer: -0.1 is less than the minimum of 0"),
    "zero-n": (put("metrics.tsum.n", 0), "metrics.tsum.n: 0 is less than the minimum of 1"),
    "ci-low-above-high": (_first_ci("wer", 0, 0.9), "metrics.asr.ci95.wer: low 0.9 is above high"),
    "ci-out-of-range": (_first_ci("cer", 0, -0.5), "metrics.asr.ci95.cer: [-0.5,"),
    "count-disagrees": (put("data.n.emotion", 7), "data.n.emotion: 7 disagrees with metrics.emotion.n = 6"),
    "unknown-task": (put("metrics.translation", {"n": 3}), "metrics.translation: unknown key"),
    "unknown-task-in-predictions": (preds(lambda w: (predictions_lines(w)[0].replace('"task": "asr"', '"task": "translation"') + "\n").encode()), "unknown task 'translation'"),
    "unknown-strategy": (put("training.strategy", "curriculum-x"), "training.strategy: unknown strategy 'curriculum-x'"),
    "misspelled-strategy": (put("training.strategy", "hybird"), "unknown strategy 'hybird'; did you mean 'hybrid'?"),
    "tampered-predictions-hash-mismatch": (preds(tampered_lines, update_sha=False), "predictions.sha256: recorded"),
    "tampered-predictions-rehashed": (preds(tampered_lines), "metrics.asr.wer: recorded 0.1 but the predictions give"),
    "metric-not-matching-predictions": (put("metrics.dialect.macro_f1", 0.99), "metrics.dialect.macro_f1: recorded 0.99 but the predictions give"),
    "ci-not-matching-predictions": (_first_ci("wer", 1, 0.5), "metrics.asr.ci95.wer[1]: recorded 0.5"),
    "breakdown-not-matching": (put("breakdown.asr.per_dialect_wer.EGY", 0.7), "breakdown.asr.per_dialect_wer.EGY: recorded 0.7"),
    "task-missing-from-metrics": (edit(_drop_asr), "metrics.asr: missing; recomputing from the predictions gives"),
    "predictions-missing": (put("predictions.path", "nowhere/predictions.jsonl"), "does not exist or is not a regular file"),
    "predictions-path-escapes": (put("predictions.path", "../board/other/predictions.jsonl"), "predictions.path: \"../board/other/predictions.jsonl\" is not a relative path inside the results folder"),
    "predictions-absolute-path": (put("predictions.path", "/etc/passwd"), "predictions.path: \"/etc/passwd\" is not a relative path inside"),
    "predictions-symlink-outside": (_symlink_outside, "points outside the results file's folder"),
    "predictions-is-python-code": (_python_file_as_predictions, ":1: malformed JSON"),
    "predictions-text-too-long": (preds(lambda w: _long_prediction(w)), "prediction is 30,000 characters, over the 20,000 limit"),
    "predictions-deeply-nested": (preds(lambda w: (predictions_lines(w)[0][:-1] + ', "x": ' + "[" * 100000 + "]" * 100000 + "}\n").encode()), "holds JSON nested too deeply"),
    "bertscore-model-from-submission": (lambda w, n: _bertscore_in_submission(w), "lies inside the submission's folder; BERTScore must use"),
    "predictions-empty": (preds(lambda w: b"\n"), "no predictions (empty file)"),
    "predictions-not-utf8": (preds(lambda w: predictions_lines(w)[0].encode("utf-8")[:-3] + b"\xff\xfe}\n"), "predictions.path: not valid UTF-8"),
    "results-not-utf8": (lambda w, n: dump(load(w)).replace("tiny-seed0", "tiny-se\udcffd0"), "(file): not valid UTF-8"),
    "not-json": (lambda w, n: "{'schema_version': '1.0'}", "(file): not valid JSON"),
    "top-level-array": (lambda w, n: "[1, 2, 3]", "(root): expected object, got array"),
    "duplicate-json-key": (raw(lambda t: t.replace('"wer": 0.1,', '"wer": 0.1, "wer": 0.0,', 1)), "duplicate key 'wer'"),
    "deeply-nested-junk": (put("model.id", json.loads("[" * 60 + "]" * 60)), "nested deeper than 32 levels"),
    "pathologically-deep-junk": (lambda w, n: '{"model": ' + "[" * 200000 + "]" * 200000 + "}", "(file): JSON nested too deeply"),
    "extra-key": (put("model.sneaky", "x"), "model.sneaky: unknown key"),
    "control-characters": (put("model.id", "tiny\u202e\u0007"), "model.id: \"tiny\\u202e\\u0007\" contains control or bidirectional-override characters"),
    "self-verified": (put("verified", True), "verified: must be false, got true"),
    "wrong-schema-version": (put("schema_version", "2.0"), 'schema_version: must be "1.0", got "2.0"'),
    "malformed-sha256": (put("predictions.sha256", "abc123"), "predictions.sha256: \"abc123\" is not a sha256"),
    "created-in-future": (put("created_at", "2999-01-01T00:00:00Z"), "created_at: 2999-01-01T00:00:00Z lies in the future"),
    "created-at-impossible-date": (put("created_at", "2026-13-45T00:00:00Z"), "created_at: '2026-13-45T00:00:00Z' is not a valid date-time"),
    "validation-split": (put("data.split", "validation"), "data.split: leaderboard entries are scored on the test split"),
    "bertscore-null-unexplained": (drop("metrics.tsum.bertscore_error"), "metrics.tsum.bertscore_f1: null without"),
    "normalizer-mismatch": (put("normalizer.version", "ar-norm-0"), "normalizer.version: recorded 'ar-norm-0'"),
    "bootstrap-too-large": (put("scoring.bootstrap", 10**9), "scoring.bootstrap: 1000000000 is greater than the maximum of 10000"),
    "unknown-class-label": (put("breakdown.dialect.per_class_f1.XYZ", 0.5), "breakdown.dialect.per_class_f1.XYZ: not a dialect label"),
    "zero-shot-with-training-time": (put("training", None), "efficiency.train_wall_s: set although training is null"),
}


def write_case(world: Path, name: str) -> Path:
    text = CASES[name][0](world, name)
    path = world / "sub" / f"case-{name}.json"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    return path


def test_enough_distinct_cases():
    assert len(CASES) >= 30
    assert len({expected for _, expected in CASES.values()}) == len(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_submission_rejected(world, name, keys_dir):
    path = write_case(world, name)
    before = snapshot(world)
    report = validate_file(path, results_dir=world / "board", keys_dir=keys_dir)
    assert snapshot(world) == before, "validation must not write anything"
    assert not report.ok and not report.verified
    expected = CASES[name][1]
    assert any(expected in p for p in report.problems), f"{expected!r} not in {report.problems}"
    assert not (world / "PWNED").exists()


def test_duplicate_entry_rejected(world, keys_dir):
    before = snapshot(world)
    report = validate_file(world / "sub" / "entry.json", results_dir=world / "dup", keys_dir=keys_dir)
    assert snapshot(world) == before
    assert len(report.problems) == 1
    assert report.problems[0].startswith("identity (model.id, model.revision, model.adapter.sha256, "
                                         "training.strategy/seed/steps, data.fingerprint): duplicate of ")
    assert "same-system.json" in report.problems[0] and "tiny@tiny-seed0" in report.problems[0]
    # the same file inside the leaderboard is not its own duplicate
    assert validate_file(world / "dup" / "same-system.json", results_dir=world / "dup", keys_dir=keys_dir).ok


@pytest.mark.parametrize("which", ["results", "predictions"])
def test_oversized_file_refused_without_reading(world, which, keys_dir):
    folder = world / f"big-{which}"
    folder.mkdir(exist_ok=True)
    big = folder / ("entry.json" if which == "results" else "predictions.jsonl")
    with open(big, "wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: nothing is really written to disk
    results = big
    if which == "predictions":
        data = load(world)
        data["predictions"]["path"] = "predictions.jsonl"
        results = folder / "entry.json"
        results.write_text(dump(data), encoding="utf-8")
    before = snapshot(folder)
    report = validate_file(results, results_dir=None, keys_dir=keys_dir)
    assert snapshot(folder) == before
    where = "(file)" if which == "results" else "predictions.path"
    assert any(p.startswith(f"{where}: ") and "over the 52,428,800-byte (50 MB) limit" in p
               for p in report.problems), report.problems


def test_cli_exit_codes_and_messages(world, keys_dir):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    bad = write_case(world, "metric-not-matching-predictions")
    good = world / "sub" / "entry.json"
    run = subprocess.run([sys.executable, "-m", "leaderboards.validate", str(good), str(bad),
                          "--results-dir", str(world / "board"), "--keys-dir", str(keys_dir)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    assert f"OK {good}" in run.stdout and f"INVALID {bad}: 1 problem(s)" in run.stdout
    assert "  - metrics.dialect.macro_f1: recorded 0.99" in run.stdout
    assert main([str(good), "--results-dir", str(world / "board"), "--keys-dir", str(keys_dir)]) == 0


def test_strategy_names_come_from_the_registry():
    from leaderboards.checks import known_strategies

    assert {"uniform", "tpc", "ads", "hybrid"} <= set(known_strategies())


def test_unreadable_other_entries_do_not_break_duplicate_check(world, tmp_path, keys_dir):
    (tmp_path / "junk.json").write_bytes(b"\xff not json")
    (tmp_path / "list.json").write_text("[]")
    report = validate_file(world / "sub" / "entry.json", results_dir=tmp_path, keys_dir=keys_dir)
    assert report.ok, report.problems
    data = copy.deepcopy(load(world))
    assert data["verified"] is False
