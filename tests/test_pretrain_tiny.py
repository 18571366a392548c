"""benchmark.pretrain_tiny: deterministic from its seed, train split only, a folder load_model reads back."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from benchmark.model import TINY_BASE_DIR, load_model
from benchmark.pretrain_rows import train_rows
from benchmark.pretrain_tiny import main, tokenizer_texts


def _digest(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def test_pretraining_reproduces_its_weights_from_the_seed(embedded_dataset, tmp_path):
    args = ["--data", str(embedded_dataset), "--max-steps", "3", "--batch", "2", "--hidden", "64", "--threads", "1"]
    assert main([*args, "--output-dir", str(tmp_path / "a")]) == 0
    assert main([*args, "--output-dir", str(tmp_path / "b")]) == 0
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert main([*args, "--seed", "1", "--output-dir", str(tmp_path / "c")]) == 0
    assert _digest(tmp_path / "c") != _digest(tmp_path / "a")
    info = json.loads((tmp_path / "a" / "pretrain.json").read_text(encoding="utf-8"))
    assert info["steps"] == 3 and len(info["curve"]) >= 2
    model, processor = load_model(str(tmp_path / "a"))
    assert type(model).__name__ == "Qwen2_5OmniThinkerForConditionalGeneration"


def test_pretraining_reads_the_train_split_only(embedded_dataset):
    from benchmark.rows import load_rows

    rows = train_rows(embedded_dataset, max_seconds=1e9)
    test_ids = {r["id"] for r in load_rows(embedded_dataset, "test")}
    assert rows and not test_ids & {r["id"] for r in rows}
    test_targets = {r["target"] for r in load_rows(embedded_dataset, "test") if r["task"] == "asr"}
    assert not test_targets & set(tokenizer_texts(rows))


def test_a_folder_of_user_files_is_refused_and_kept(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["--output-dir", str(tmp_path / "x"), "--overwrite"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert (tmp_path / "x" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_the_committed_base_records_how_it_was_made():
    info = json.loads((TINY_BASE_DIR / "pretrain.json").read_text(encoding="utf-8"))
    assert {"steps", "seed", "size", "command", "train_rows", "curve"} <= set(info)
    assert info["command"].startswith("python -m benchmark.pretrain_tiny")


def test_a_continued_base_is_reproducible_and_records_its_start(embedded_dataset, tmp_path):
    common = ["--data", str(embedded_dataset), "--batch", "2", "--hidden", "64", "--threads", "1"]
    assert main([*common, "--max-steps", "2", "--output-dir", str(tmp_path / "first")]) == 0
    more = [*common, "--max-steps", "2", "--init-from", str(tmp_path / "first"), "--max-audio-seconds", "30"]
    assert main([*more, "--output-dir", str(tmp_path / "a")]) == 0
    assert main([*more, "--output-dir", str(tmp_path / "b")]) == 0
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "first")
    info = json.loads((tmp_path / "a" / "pretrain.json").read_text(encoding="utf-8"))
    assert info["init"]["steps"] == 2 and info["init"]["max_seconds"] == 12.0 and info["max_seconds"] == 30.0
    assert info["size"] == info["init"]["size"] and "curve" not in info["init"]
    for name in ("tokenizer.json", "config.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "first" / name).read_bytes()


def test_continuing_from_a_folder_this_tool_did_not_write_is_one_error_line(tmp_path, capsys):
    (tmp_path / "other").mkdir()
    assert main(["--init-from", str(tmp_path / "other"), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "pretrain.json" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_frozen_audio_tower_keeps_its_weights_while_the_language_model_learns(embedded_dataset, tmp_path):
    import torch
    from safetensors.torch import load_file

    common = ["--data", str(embedded_dataset), "--batch", "2", "--hidden", "64", "--threads", "1"]
    assert main([*common, "--max-steps", "2", "--output-dir", str(tmp_path / "first")]) == 0
    more = [*common, "--max-steps", "2", "--init-from", str(tmp_path / "first"), "--freeze-audio-tower", "--ctc-weight", "0"]
    assert main([*more, "--output-dir", str(tmp_path / "frozen")]) == 0
    info = json.loads((tmp_path / "frozen" / "pretrain.json").read_text(encoding="utf-8"))
    assert info["freeze_audio_tower"] and not info["init"]["freeze_audio_tower"]
    old, new = load_file(tmp_path / "first" / "model.safetensors"), load_file(tmp_path / "frozen" / "model.safetensors")
    tower = [k for k in old if "audio_tower" in k]
    assert tower and all(torch.equal(old[k], new[k]) for k in tower)
    assert not all(torch.equal(old[k], new[k]) for k in old if k.startswith("model.layers."))
