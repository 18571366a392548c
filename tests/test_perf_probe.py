"""perf.probe_audio_tower: a linear CTC probe on the committed base's frozen audio tower reads unseen test sentences, and silence not at all."""
from __future__ import annotations

import pytest

from benchmark.model import load_model
from benchmark.rows import ablate_audio, load_rows
from perf.probe_audio_tower import audio_clips, by_kind, probe_errors


@pytest.mark.slow
def test_the_towers_frames_spell_unseen_sentences_and_silence_spells_nothing(embedded_dataset):
    train = audio_clips(load_rows(embedded_dataset, "train"), 22.0)[:240]
    test = [r for r in load_rows(embedded_dataset, "test") if r["task"] == "asr" and r["id"].startswith("doc-")][:24]
    train_words = {w for r in audio_clips(load_rows(embedded_dataset, "train"), 1e9) for w in r["transcription"].split()}
    assert sum(w not in train_words for r in test for w in r["transcription"].split()) > 50  # words never heard in training
    model, processor = load_model("tiny")
    heard = probe_errors(model, processor, train, test, epochs=15, seed=0)
    assert heard["losses"][-1] < heard["losses"][0] / 3
    real_cer = by_kind(test, heard["heard"])["all"]["cer"]
    assert real_cer < 0.25
    model, processor = load_model("tiny")
    silent = probe_errors(model, processor, ablate_audio(train, "silence"), ablate_audio(test, "silence"), epochs=15, seed=0)
    silent_cer = by_kind(test, silent["heard"])["all"]["cer"]  # a few common letters at most: 0.86-1.0 in repeated runs
    assert silent_cer > 0.75 and silent_cer > 3 * real_cer


@pytest.mark.slow
def test_the_report_sets_the_probe_beside_the_thinker_and_scores_its_lead2(embedded_dataset, capsys):
    import json
    import re
    from pathlib import Path

    from perf.probe_audio_tower import main

    assert main(["--data", str(embedded_dataset), "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^news sentences\s+106\s", out, re.M) and re.search(r"^all\s+320\s", out, re.M)
    oracle = float(re.search(r"of the reference transcripts (\d\.\d+)", out).group(1))
    entry = Path(__file__).resolve().parents[1] / "leaderboards/results/baseline-lead-2-oracle-transcript.json"
    assert oracle == pytest.approx(json.loads(entry.read_text(encoding="utf-8"))["metrics"]["ssum"]["rougeL"], abs=1e-4)
