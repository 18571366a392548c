"""python -m leaderboards.prepare: turn a harness run or a predictions file into a valid entry."""
from __future__ import annotations

import json

import pytest

from aramega_ssum.metrics import score_predictions
from aramega_ssum.predictions import write_predictions
from aramega_ssum.results import build_results, write_results
from leaderboards.prepare import main
from leaderboards.validate import validate_file
from test_leaderboard_helpers import FINGERPRINT, make_records


def test_from_predictions_zero_shot(tmp_path, capsys):
    preds = write_predictions(tmp_path / "mine.jsonl", make_records(1))
    board = tmp_path / "board"
    args = ["--name", "my-system", "--predictions", str(preds), "--model-id", "org/model",
            "--revision", "abc123", "--fingerprint", FINGERPRINT, "--bootstrap", "100",
            "--results-dir", str(board), "--hardware", "1x test GPU", "--eval-wall-s", "2.5"]
    code = main(args)
    assert code == 0, capsys.readouterr().out
    data = json.loads((board / "my-system.json").read_text("utf-8"))
    assert data["predictions"]["path"] == "my-system/predictions.jsonl"
    assert data["training"] is None and data["model"]["adapter"] is None
    assert data["efficiency"]["hardware"] == "1x test GPU" and data["scoring"]["bootstrap"] == 100
    assert validate_file(board / "my-system.json", results_dir=board).verified
    with pytest.raises(SystemExit, match="exists; pass --force"):
        main(args)


def test_from_harness_run(tmp_path, capsys):
    run = tmp_path / "runs" / "hybrid-seed0"
    preds = write_predictions(run / "predictions.jsonl", make_records(2))
    scores = score_predictions(make_records(2), bootstrap=50, seed=3)
    results = build_results(
        scores, model={"id": "tiny", "revision": "tiny-seed0", "base_model": "tiny", "dtype": "float32",
                       "adapter": None},
        data={"dataset": "aramega-ssum", "config": "multitask", "fingerprint": FINGERPRINT, "split": "test"},
        scoring={"bootstrap": 50, "seed": 3, "bertscore_model": None}, predictions_path=preds,
        training={"strategy": "tpc", "schedule_config_sha256": "ef" * 32, "seed": 0, "steps": 5,
                  "effective_batch": 8})
    write_results(results, run / "results.json")
    assert results["predictions"]["path"] == "predictions.jsonl"
    assert validate_file(run / "results.json", results_dir=None).ok  # valid where the harness wrote it
    board = tmp_path / "board"
    assert main(["--name", "tiny-tpc-smoke", "--run", str(run), "--results-dir", str(board)]) == 0
    assert "valid: every metric recomputed" in capsys.readouterr().out
    # a second copy of the same system is a duplicate
    assert main(["--name", "again", "--run", str(run), "--results-dir", str(board)]) == 1
    assert "duplicate of" in capsys.readouterr().out


def test_bad_name_and_partial_training_refused(tmp_path):
    preds = write_predictions(tmp_path / "p.jsonl", make_records(1))
    with pytest.raises(SystemExit, match="use letters, digits"):
        main(["--name", "../evil", "--predictions", str(preds), "--results-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="go together"):
        main(["--name", "x", "--predictions", str(preds), "--model-id", "m", "--revision", "r",
              "--fingerprint", FINGERPRINT, "--strategy", "hybrid", "--results-dir", str(tmp_path / "b")])
    assert not (tmp_path / "b").exists()  # nothing written
