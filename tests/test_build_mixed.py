"""A sources file mixing manifest, sada, label_dirs and text_pairs builds; the summarizer fills summaries."""
from __future__ import annotations

import json

import pytest

from aramega_ssum.audio import decode_audio
from aramega_ssum.dataset import fingerprint, load_split
from aramega_ssum.schema import SPLITS, validate_record
from builders.build import build, parse_args


def _rows(out):
    return [r for s in SPLITS for r in load_split(out, s).to_list()]


def test_mixed_sources_build(mixed_sources, tmp_path):
    out = tmp_path / "out"
    report = build(parse_args(["--sources", str(mixed_sources), "--output", str(out), "--no-progress",
                               "--num-proc", "2"]))
    rows = _rows(out)
    assert {r["source"] for r in rows} == {"man", "sada", "adi", "pairs"}
    for row in rows:
        assert validate_record(row) == []
        if row["audio"] is not None:
            samples, rate = decode_audio(row["audio"])
            assert rate == 16000 and abs(samples.size / rate - row["duration"]) < 0.01
    sada_asr = {r["id"]: r for r in rows if r["source"] == "sada" and r["task"] == "asr"}
    assert abs(sada_asr["sada-s-1-asr"]["duration"] - 3.5) < 0.01  # cut 0.5-4.0 s from the episode
    assert {r["label"] for r in rows if r["source"] == "adi"} == {"EGY", "GLF", "LEV"}
    assert report["skipped"]["by_reason"] == {"missing_summary": 4, "unknown_label": 2}
    pairs = [r for r in rows if r["source"] == "pairs"]
    assert {r["task"] for r in pairs} == {"asr", "ssum", "tsum"}
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "license: other" in card and "`sada` (sada)" in card


def test_mixed_build_is_deterministic(mixed_sources, tmp_path):
    for name, procs in (("a", "1"), ("b", "2")):
        build(parse_args(["--sources", str(mixed_sources), "--output", str(tmp_path / name), "--no-progress",
                          "--num-proc", procs]))
    assert fingerprint(tmp_path / "a", "multitask") == fingerprint(tmp_path / "b", "multitask")
    assert fingerprint(tmp_path / "a", "ssum") == fingerprint(tmp_path / "b", "ssum")


@pytest.fixture(scope="module")
def tiny_causal_lm(tmp_path_factory):
    """A tiny random GPT-2 with a word-level tokenizer trained here on Arabic words (offline)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from fixtures_data import ARABIC

    path = tmp_path_factory.mktemp("tiny_lm")
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(ARABIC * 3 + ["الملخص النص التالي لخص في جملة أو جملتين"],
                            trainers.WordLevelTrainer(special_tokens=["<unk>", "<pad>", "<eos>"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    fast.save_pretrained(path)
    import torch

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(fast), n_positions=512, n_embd=32, n_layer=1, n_head=2,
                                       eos_token_id=2, bos_token_id=2, pad_token_id=1))
    with torch.no_grad():  # tied head: special tokens get logit 0, so greedy emits words
        model.transformer.wte.weight[:3] = 0.0
    model.save_pretrained(path)
    return path


def test_summarizer_is_batched_greedy_and_order_preserving(tiny_causal_lm):
    from builders.summarize import Summarizer

    texts = ["ذهب الطالب إلى المكتبة", "الجو بارد اليوم في المدينة الكبيرة جدا", "قرأت الخبر"]
    summarizer = Summarizer(str(tiny_causal_lm), batch_size=2, max_new_tokens=5, progress=False)
    assert summarizer.tokenizer.padding_side == "left"
    first = summarizer.summarize(texts)
    assert len(first) == 3 and first == summarizer.summarize(texts)  # greedy: deterministic
    single = [Summarizer(str(tiny_causal_lm), batch_size=1, max_new_tokens=5, progress=False).summarize([t])[0]
              for t in texts]
    assert single == first  # left padding: batching does not change the output
    assert any(s.strip() for s in first)


def test_sada_build_with_summarizer(tiny_causal_lm, tmp_path):
    from fixtures_data import make_sada_source

    root = make_sada_source(tmp_path / "sada")
    (tmp_path / "s.yaml").write_text(
        "summarizer_options: {max_new_tokens: 6, progress: false}\n"
        "sources:\n  - {name: sada, format: sada, path: sada, tasks: [asr, ssum, tsum], chunk_seconds: 10}\n")
    report = build(parse_args(["--sources", str(tmp_path / "s.yaml"), "--output", str(tmp_path / "out"),
                               "--no-progress", "--summarizer", str(tiny_causal_lm)]))
    rows = _rows(tmp_path / "out")
    assert report["summarizer"] == str(tiny_causal_lm) and root.exists()
    made = [r for r in rows if r["task"] in ("ssum", "tsum")]
    by_reason = report["skipped"]["by_reason"]
    skipped = sum(by_reason.get(r, 0) for r in ("missing_summary", "summary_cut", "summary_empty"))
    assert sum(report["summaries"].get(k, 0) for k in ("ok", "summary_cut", "summary_empty")) == 3
    assert len(made) + 2 * skipped == 6  # 3 chunks x (ssum, tsum): each either has a summary or is reported
    assert all(r["summary"] and r["target"] == r["summary"] for r in made)
    json.dumps(report)
