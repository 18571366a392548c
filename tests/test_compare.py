"""benchmark.compare and benchmark.plots on two small run folders (real scoring, real bootstrap)."""
from __future__ import annotations

import json

import pytest

from benchmark.compare import main as compare_main
from benchmark.compare import run_compare

REFS = {
    "asr": ["ذهب الولد إلى المدرسة صباحا", "أعلنت الوزارة خطة جديدة للتعليم", "الجو مشمس في القاهرة اليوم"],
    "dialect": ["EGY", "GLF", "LEV", "NOR", "MSA", "EGY"],
}


def _write_run(run_dir, predict, losses):
    from aramega_ssum.metrics import score_predictions
    from aramega_ssum.predictions import write_predictions
    from aramega_ssum.results import build_results, write_results

    run_dir.mkdir(parents=True)
    records = [{"id": f"{task}-{i}", "task": task, "prediction": predict(task, i, ref), "reference": ref}
               for task, refs in REFS.items() for i, ref in enumerate(refs)]
    path = write_predictions(run_dir / "predictions.jsonl", records)
    scores = score_predictions(records, bootstrap=50)
    results = build_results(scores, model={"id": run_dir.name, "revision": "r", "base_model": "tiny", "dtype": "float32",
                                           "adapter": None},
                            data={"dataset": "d", "config": "multitask", "fingerprint": "0" * 64, "split": "test"},
                            predictions_path=path, results_dir=run_dir)
    write_results(results, run_dir / "results.json")
    with (run_dir / "train_log.jsonl").open("w", encoding="utf-8") as fh:
        for step, loss in enumerate(losses, 1):
            fh.write(json.dumps({"type": "train", "step": step, "stage": "s", "loss": loss,
                                 "task_loss": {"asr": loss, "dialect": loss - 1}}) + "\n")
        fh.write(json.dumps({"type": "validation", "step": len(losses), "loss": losses[-1],
                             "task_loss": {"asr": losses[-1]}}) + "\n")


@pytest.fixture
def runs(tmp_path):
    good = tmp_path / "good"
    bad = tmp_path / "bad"
    _write_run(good, lambda task, i, ref: ref, [8.0, 7.0, 6.0, 5.5, 5.0, 4.8])
    _write_run(bad, lambda task, i, ref: ref if i % 2 else ("MSA" if task == "dialect" else "كلام آخر"),
               [8.0, 7.8, 7.7, 7.6, 7.5, 7.5])
    return good, bad


def test_table_has_every_metric_with_significance(runs, tmp_path):
    good, bad = runs
    text = run_compare([good, bad], tmp_path / "cmp", bootstrap=200)
    lines = text.splitlines()
    assert "good (base)" in lines[0] and "bad" in lines[0]
    for task, metric in [("asr", "wer"), ("asr", "cer"), ("dialect", "accuracy"), ("dialect", "macro_f1")]:
        assert any(line.split()[:2] == [task, metric] for line in lines), (task, metric)
    payload = json.loads((tmp_path / "cmp" / "compare.json").read_text(encoding="utf-8"))
    rows = {(r["task"], r["metric"]): r for r in payload["rows"]}
    wer = rows[("asr", "wer")]
    assert wer["values"] == {"good": 0.0, "bad": pytest.approx(wer["values"]["bad"])} and wer["values"]["bad"] > 0
    sig = wer["vs_first"]["bad"]
    assert sig["delta"] == pytest.approx(wer["values"]["bad"] - wer["values"]["good"])  # later run minus base
    assert 0.0 <= sig["p_value"] <= 1.0
    acc = rows[("dialect", "accuracy")]["vs_first"]["bad"]
    assert acc["delta"] < 0
    assert (tmp_path / "cmp" / "compare.md").read_text(encoding="utf-8").startswith("| task | metric |")
    for name in ("compare_loss_train.png", "compare_loss_validation.png"):
        assert (tmp_path / "cmp" / name).read_bytes()[:4] == b"\x89PNG"


def test_cli_prints_the_table(runs, tmp_path, capsys):
    good, bad = runs
    assert compare_main([str(good), str(bad), "--output-dir", str(tmp_path / "c"), "--bootstrap", "50"]) == 0
    out = capsys.readouterr().out
    assert "paired-bootstrap" in out and "wer" in out


def test_missing_results_is_an_error_naming_the_folder(tmp_path, runs):
    with pytest.raises(FileNotFoundError, match="nope"):
        run_compare([runs[0], tmp_path / "nope"], tmp_path / "c")


def test_plot_run_writes_both_pngs(runs):
    from benchmark.plots import plot_run

    paths = plot_run(runs[0])
    assert [p.name for p in paths] == ["loss_train.png", "loss_validation.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
