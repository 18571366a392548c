"""Evaluation: batched greedy generation on the tiny model -> predictions JSONL -> scores, and the CLI."""
from __future__ import annotations

import json

import pyarrow as pa
import torch
import pyarrow.parquet as pq
import pytest

from aramega_ssum.predictions import read_predictions
from aramega_ssum.schema import arrow_schema
from benchmark.evaluate import evaluate, generate_texts, main, parse_output, prediction_records


def test_parse_output_maps_labels_and_keeps_invalid_verbatim():
    assert parse_output("dialect", " Egyptian \n") == "EGY"
    assert parse_output("dialect", "اللهجة المصرية") == "EGY"
    assert parse_output("emotion", "happy\nbecause the voice is bright") == "happy"
    assert parse_output("emotion", "no idea") == "no idea"
    assert parse_output("asr", "  نص  ") == "نص"


def _short(rows):
    return [r for r in rows if (r["duration"] or 0) < 30]


def test_batched_generation_matches_batch_of_one(tiny_model, speech_rows):
    model, processor = tiny_model
    speech_rows = _short(speech_rows)
    one, _ = generate_texts(model, processor, speech_rows, batch_size=1, max_new_tokens=6, progress=False)
    many, _ = generate_texts(model, processor, speech_rows, batch_size=8, max_new_tokens=6, progress=False)
    assert set(one) == {r["id"] for r in speech_rows}
    assert one == many


def test_evaluate_writes_predictions_and_scores(tiny_model, speech_rows, tmp_path):
    model, processor = tiny_model
    speech_rows = _short(speech_rows)
    summary = evaluate(model, processor, speech_rows, tmp_path, batch_size=4, max_new_tokens=4,
                       bootstrap=20, progress=False)
    records = read_predictions(tmp_path / "predictions.jsonl")
    assert [r["id"] for r in records] == [r["id"] for r in speech_rows]
    by_id = {r["id"]: r for r in records}
    for row in speech_rows:
        rec = by_id[row["id"]]
        assert rec["reference"] == row["target"] and "raw_prediction" in rec
        assert rec["prediction"] == parse_output(row["task"], rec["raw_prediction"])
    assert by_id["asr-000"]["dialect"] == "MSA"
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores == summary["scores"]
    assert set(scores["tasks"]) == {"asr", "ssum", "tsum", "dialect", "emotion"}
    assert "per_dialect" in scores["tasks"]["asr"] and "ci95" in scores["tasks"]["dialect"]
    assert summary["n"]["ssum"] == 1 and summary["audio"]["truncated"] == 0
    assert summary["rtfx"] > 0


def test_skipped_audio_is_counted_not_predicted(tiny_model, speech_rows, tmp_path):
    model, processor = tiny_model
    outputs, stats = generate_texts(model, processor, speech_rows, batch_size=8, max_new_tokens=2,
                                    max_audio_seconds=20, over_limit="skip", progress=False)
    assert stats["audio_skipped"] == 1 and len(outputs) == len(speech_rows) - 1
    records = prediction_records(speech_rows, outputs)
    assert stats["skipped_ids"][0] not in {r["id"] for r in records}


def test_cli_on_a_parquet_folder(tiny_model_dir, speech_rows, tmp_path, capsys):
    data = tmp_path / "data"
    (data / "multitask").mkdir(parents=True)
    table = pa.Table.from_pylist(_short(speech_rows), schema=arrow_schema("multitask"))
    pq.write_table(table, data / "multitask" / "test-00000-of-00001.parquet")
    out = tmp_path / "eval"
    code = main(["--model", str(tiny_model_dir), "--data", str(data), "--output-dir", str(out),
                 "--batch-size", "3", "--max-new-tokens", "3", "--bootstrap", "10", "--tasks", "asr", "dialect"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "wer" in printed and "accuracy" in printed
    records = read_predictions(out / "predictions.jsonl")
    assert {r["task"] for r in records} == {"asr", "dialect"}
    with pytest.raises(ValueError, match="unknown task"):
        main(["--model", str(tiny_model_dir), "--data", str(data), "--tasks", "asrr"])


def test_last_position_logits_keeps_greedy_outputs(tiny_model, speech_rows):
    from benchmark.evaluate import last_position_logits
    from benchmark.prompting import build_generation_batch, model_inputs

    model, processor = tiny_model
    batch = model_inputs(build_generation_batch(_short(speech_rows), processor))
    pad = processor.tokenizer.pad_token_id
    plain = model.generate(**batch, max_new_tokens=5, do_sample=False, pad_token_id=pad)
    with last_position_logits(model):
        fast = model.generate(**batch, max_new_tokens=5, do_sample=False, pad_token_id=pad)
        logits = model(**batch).logits
    assert torch.equal(plain, fast)
    assert logits.shape[1] == 1  # only the last position was projected
    assert model(**batch).logits.shape[1] == batch["input_ids"].shape[1]  # hook removed


def test_a_limit_spreads_over_a_label_sorted_split():
    from benchmark.rows import select_rows

    rows = [{"id": f"e{i}", "task": "emotion", "target": label} for label in ("sad", "happy", "angry", "neutral")
            for i in range(10)] + [{"id": "a0", "task": "asr", "target": "x"}]
    kept = select_rows(rows, limit=4)
    assert [r["target"] for r in kept if r["task"] == "emotion"] == ["sad", "happy", "angry", "neutral"]
    assert [r["id"] for r in kept] == [r["id"] for r in rows if r in kept]  # split order kept
    assert select_rows(rows, limit=4) == kept and len(select_rows(rows, ["asr"], limit=4)) == 1


def test_evaluate_on_a_built_dataset(tiny_model, mini_dataset, tmp_path):
    from benchmark.rows import load_rows, select_rows

    model, processor = tiny_model
    rows = select_rows(load_rows(mini_dataset, "test"), limit=2)
    assert {r["task"] for r in rows} == {"asr", "ssum", "tsum", "dialect", "emotion"}
    assert all(isinstance(r["audio"], dict) and r["audio"]["bytes"] for r in rows if r["task"] != "tsum")
    summary = evaluate(model, processor, rows, tmp_path, batch_size=8, max_new_tokens=3, bootstrap=10,
                       progress=False)
    records = read_predictions(summary["predictions_path"])
    assert [r["id"] for r in records] == [r["id"] for r in rows]
    assert all(r["reference"] == row["target"] for r, row in zip(records, rows))
    assert set(summary["scores"]["tasks"]) == {r["task"] for r in rows}


def test_cli_with_a_saved_adapter(tiny_model_dir, speech_rows, tmp_path, capsys):
    from benchmark.model import apply_lora, load_model

    model, _ = load_model(str(tiny_model_dir))
    peft_model, _ = apply_lora(model, r=4, alpha=8)
    peft_model.save_pretrained(tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()
    data = tmp_path / "data"
    (data / "multitask").mkdir(parents=True)
    rows = [r for r in _short(speech_rows) if r["task"] in ("emotion", "tsum")]
    pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema("multitask")),
                   data / "multitask" / "test-00000-of-00001.parquet")
    code = main(["--model", str(tiny_model_dir), "--adapter", str(tmp_path / "adapter"), "--data", str(data),
                 "--output-dir", str(tmp_path / "eval"), "--max-new-tokens", "2", "--bootstrap", "0"])
    assert code == 0 and "emotion" in capsys.readouterr().out
    assert {r["task"] for r in read_predictions(tmp_path / "eval" / "predictions.jsonl")} == {"emotion", "tsum"}


def test_ablate_audio_silence_keeps_each_clip_length_and_zeroes_it(speech_rows):
    import numpy as np

    from aramega_ssum.audio import decode_audio
    from benchmark.rows import ablate_audio

    silent = ablate_audio(speech_rows, "silence")
    assert [r["id"] for r in silent] == [r["id"] for r in speech_rows]
    assert any(r.get("audio") is not None for r in speech_rows)
    for before, after in zip(speech_rows, silent):
        if before.get("audio") is None:  # text-only rows (tsum) pass unchanged
            assert after == before
            continue
        real, rate = decode_audio(before["audio"])
        quiet, quiet_rate = decode_audio(after["audio"])
        assert quiet_rate == rate and len(quiet) == len(real) and np.abs(real).max() > 0
        assert not np.any(quiet) and {k: v for k, v in after.items() if k != "audio"} == \
            {k: v for k, v in before.items() if k != "audio"}
    with pytest.raises(ValueError, match="unknown audio ablation"):
        ablate_audio(speech_rows, "noise")
