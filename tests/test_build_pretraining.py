"""builders.pretraining: new espeak speech from the train split's words only, deterministic, a dataset folder."""
from __future__ import annotations

import hashlib

import pytest

from aramega_ssum.audio import decode_audio
from aramega_ssum.dataset import load_split
from builders.pretraining import main, train_sentences


def _rows(folder):
    return [dict(r) for r in load_split(folder, "train")]


def _digest(folder) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted((folder / "multitask").glob("*.parquet")))).hexdigest()


def test_speech_is_made_of_train_words_and_loads_as_a_train_split(embedded_dataset, tmp_path):
    assert main(["--data", str(embedded_dataset), "--output-dir", str(tmp_path / "a"), "--utterances", "24", "-q"]) == 0
    rows = _rows(tmp_path / "a")
    texts, by_dialect = train_sentences(embedded_dataset)
    train_words = {w for t in texts for w in t.split()}
    test_texts = {r["transcription"] for r in load_split(embedded_dataset, "test").remove_columns(["audio"])}
    assert len(rows) == 24 and {r["task"] for r in rows} == {"asr", "dialect"}
    for row in rows:
        assert set(row["transcription"].split()) <= train_words
        assert row["transcription"] not in test_texts
        samples, rate = decode_audio(row["audio"])
        assert rate == 16000 and abs(samples.size / rate - row["duration"]) < 0.01 and abs(samples).max() > 0.01
        if row["task"] == "dialect":
            words = set(row["transcription"].split())
            assert row["target"] == row["label"] and words <= {w for s in by_dialect[row["label"]] for w in s.split()}
        else:
            assert row["target"] == row["transcription"] and row["label"] is None


def test_same_seed_same_bytes_other_seed_other_speech(embedded_dataset, tmp_path):
    args = ["--data", str(embedded_dataset), "--utterances", "8", "-q"]
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        assert main([*args, "--seed", seed, "--output-dir", str(tmp_path / name)]) == 0
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")


def test_a_folder_of_user_files_is_refused_and_kept(embedded_dataset, tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep", encoding="utf-8")
    assert main(["--data", str(embedded_dataset), "--output-dir", str(tmp_path / "mine"), "--overwrite"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep"


def test_long_asr_only_speech_on_request(embedded_dataset, tmp_path):
    out = tmp_path / "long"
    assert main(["--data", str(embedded_dataset), "--output-dir", str(out), "--utterances", "6",
                 "--words", "15", "20", "--dialect-share", "0", "-q"]) == 0
    rows = _rows(out)
    assert {r["task"] for r in rows} == {"asr"}
    assert all(15 <= len(r["transcription"].split()) <= 20 for r in rows)
    assert min(r["duration"] for r in rows) > 3.0


def test_bad_word_range_is_one_error_line(embedded_dataset, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--data", str(embedded_dataset), "--output-dir", str(tmp_path / "x"), "--words", "9", "4"])
    assert exit_.value.code == 2
    assert "--words" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_made_up_words_are_spliced_from_train_words(embedded_dataset, tmp_path):
    import random

    from builders.pretraining import novel_word

    texts, _ = train_sentences(embedded_dataset)
    words = [w for t in texts for w in t.split() if len(w) >= 2 and w.isalpha()]
    rng = random.Random(0)
    made = [novel_word(words, rng) for _ in range(200)]
    starts = {w[:k] for w in words for k in range(1, len(w) + 1)}
    ends = {w[k:] for w in words for k in range(1, len(w))}
    assert all(any(m[:i] in starts and m[i:] in ends for i in range(1, len(m))) for m in made)
    assert sum(m not in set(words) for m in made) > 150  # mostly words the train split never says
    out = tmp_path / "novel"
    assert main(["--data", str(embedded_dataset), "--output-dir", str(out), "--utterances", "6",
                 "--dialect-share", "0", "--novel-share", "1", "-q"]) == 0
    rows = _rows(out)
    assert all(r["id"].endswith("-novel-asr") and r["task"] == "asr" and r["target"] == r["transcription"] for r in rows)
    assert not set(words) >= {w for r in rows for w in r["transcription"].split()}
