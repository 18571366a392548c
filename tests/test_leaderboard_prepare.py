"""python -m leaderboards.prepare: turn a harness run or a predictions file into a valid entry."""
from __future__ import annotations

import json

from aramega_ssum.metrics import score_predictions
from aramega_ssum.predictions import write_predictions
from aramega_ssum.results import build_results, write_results
from leaderboards.prepare import main
from leaderboards.validate import validate_file
from test_leaderboard_helpers import FINGERPRINT, make_records


def test_from_predictions_zero_shot(tmp_path, capsys, keys_dir):
    preds = write_predictions(tmp_path / "mine.jsonl", make_records(1))
    board = tmp_path / "board"
    args = ["--name", "my-system", "--predictions", str(preds), "--model-id", "org/model",
            "--revision", "abc123", "--fingerprint", FINGERPRINT, "--bootstrap", "100",
            "--results-dir", str(board), "--hardware", "1x test GPU", "--eval-wall-s", "2.5",
            "--keys-dir", str(keys_dir)]
    code = main(args)
    assert code == 0, capsys.readouterr().out
    data = json.loads((board / "my-system.json").read_text("utf-8"))
    assert data["predictions"]["path"] == "my-system/predictions.jsonl"
    assert data["training"] is None and data["model"]["adapter"] is None
    assert data["efficiency"]["hardware"] == "1x test GPU" and data["scoring"]["bootstrap"] == 100
    assert validate_file(board / "my-system.json", results_dir=board, keys_dir=keys_dir).verified
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "exists; pass --force" in err


def _harness_run(tmp_path, seed: int = 0):
    run = tmp_path / "runs" / f"hybrid-seed{seed}"
    preds = write_predictions(run / "predictions.jsonl", make_records(2))
    scores = score_predictions(make_records(2), bootstrap=50, seed=3)
    results = build_results(
        scores, model={"id": "tiny", "revision": "tiny-seed0", "base_model": "tiny", "dtype": "float32",
                       "adapter": None},
        data={"dataset": "aramega-ssum", "config": "multitask", "fingerprint": FINGERPRINT, "split": "test"},
        scoring={"bootstrap": 50, "seed": 3, "bertscore_model": None}, predictions_path=preds,
        training={"strategy": "tpc", "schedule_config_sha256": "ef" * 32, "seed": seed, "steps": 5,
                  "effective_batch": 8})
    write_results(results, run / "results.json")
    return run, results


def test_from_harness_run(tmp_path, capsys, keys_dir):
    run, results = _harness_run(tmp_path)
    assert results["predictions"]["path"] == "predictions.jsonl"
    assert validate_file(run / "results.json", results_dir=None, keys_dir=keys_dir).ok  # valid where written
    board = tmp_path / "board"
    keys = ["--results-dir", str(board), "--keys-dir", str(keys_dir)]
    assert main(["--name", "tiny-tpc-smoke", "--run", str(run), *keys]) == 0
    assert "valid: every metric recomputed" in capsys.readouterr().out
    # a second copy of the same run is a duplicate, naming the existing entry
    assert main(["--name", "again", "--run", str(run), *keys]) == 1
    out = capsys.readouterr().out
    assert "duplicate of" in out and "tiny-tpc-smoke.json" in out
    # the same recipe with another training seed is a new entry
    seed1, _ = _harness_run(tmp_path, seed=1)
    assert main(["--name", "tiny-tpc-seed1", "--run", str(seed1), *keys]) == 0


def test_run_honours_model_flags(tmp_path, capsys, keys_dir):
    run, _ = _harness_run(tmp_path)
    board = tmp_path / "board"
    assert main(["--name", "mine", "--run", str(run), "--model-id", "my-org/omni", "--revision", "3f2a9c1",
                 "--base-model", "Qwen/Qwen2.5-Omni-7B", "--dtype", "bfloat16", "--hardware", "1x H100",
                 "--dataset", "my-copy", "--results-dir", str(board), "--keys-dir", str(keys_dir)]) == 0
    data = json.loads((board / "mine.json").read_text("utf-8"))
    assert data["model"]["id"] == "my-org/omni" and data["model"]["revision"] == "3f2a9c1"
    assert data["model"]["base_model"] == "Qwen/Qwen2.5-Omni-7B" and data["model"]["dtype"] == "bfloat16"
    assert data["efficiency"]["hardware"] == "1x H100" and data["data"]["dataset"] == "my-copy"
    capsys.readouterr()
    assert main(["--name", "x", "--run", str(run), "--strategy", "hybrid", "--steps", "9",
                 "--results-dir", str(tmp_path / "b2")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --strategy, --steps: not used with --run") and not (tmp_path / "b2").exists()


def test_bad_name_and_partial_training_refused(tmp_path, capsys):
    preds = write_predictions(tmp_path / "p.jsonl", make_records(1))
    assert main(["--name", "../evil", "--predictions", str(preds), "--results-dir", str(tmp_path)]) == 2
    assert "error: --name '../evil': use letters, digits" in capsys.readouterr().err
    assert main(["--name", "x", "--predictions", str(preds), "--model-id", "m", "--revision", "r",
                 "--fingerprint", FINGERPRINT, "--strategy", "hybrid", "--results-dir", str(tmp_path / "b")]) == 2
    assert "go together" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()  # nothing written
