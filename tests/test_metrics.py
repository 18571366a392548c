"""Metrics: hand-computed WER/CER/ROUGE, classification mapping, bootstrap, BERTScore paths."""
from __future__ import annotations

import time

import numpy as np
import pytest

from aramega_ssum.metrics import ArabicTokenizer, error_counts, paired_bootstrap, rouge_f1, score_predictions
from aramega_ssum.predictions import PredictionsError
from aramega_ssum.text import NORMALIZER_VERSION


def rec(i, task, pred, ref, **extra):
    return {"id": f"{task}-{i}", "task": task, "prediction": pred, "reference": ref, **extra}


ASR_REFS = ["ذَهَبَ الوَلَدُ إلى المدرسة", "كتب الدرس"]
ASR_HYPS = ["ذهب الولد الى مدرسة", "كتب الدرس اليوم"]


def test_wer_cer_hand_computed():
    # pair 1: المدرسة -> مدرسة is 1 substitution over 4 words; 2 char deletions over 21 chars
    # pair 2: one inserted word over 2 words; 6 inserted chars (" اليوم") over 9 chars
    out = error_counts(ASR_REFS, ASR_HYPS)
    assert out["wer"] == pytest.approx(2 / 6)
    assert out["cer"] == pytest.approx(8 / 30)
    assert out["word_edits"].tolist() == [1, 1] and out["words"].tolist() == [4, 2]
    assert out["char_edits"].tolist() == [2, 6] and out["chars"].tolist() == [21, 9]


def test_wer_without_normalization_counts_diacritics_and_hamza():
    out = error_counts(ASR_REFS, ASR_HYPS, normalized=False)
    assert out["wer"] == pytest.approx(5 / 6)  # ذهب, الولد, الى, مدرسة differ + 1 insertion


def test_wer_undefined_without_reference_words():
    out = error_counts(["،،"], ["كلمة"])
    assert out["wer"] is None and out["cer"] is None


def test_rouge_default_tokenizer_zero_ours_hand_computed():
    from rouge_score import rouge_scorer

    ref, pred = "ذهب الولد إلى المدرسة", "ذهب الولد الى البيت"
    default = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"]).score(ref, pred)
    assert all(default[k].fmeasure == 0.0 for k in default)
    ours = rouge_f1([ref], [pred])
    assert ours["rouge1"][0] == pytest.approx(3 / 4)
    assert ours["rouge2"][0] == pytest.approx(2 / 3)
    assert ours["rougeL"][0] == pytest.approx(3 / 4)
    assert ArabicTokenizer().tokenize("«إلى» المدرسةِ!") == ["الى", "المدرسة"]


def test_rouge_is_mean_of_per_example_f1():
    refs = ["ذهب الولد إلى المدرسة", "كتب الدرس"]
    preds = ["ذهب الولد الى البيت", "كتب الدرس"]
    scores = score_predictions([rec(i, "tsum", p, r) for i, (p, r) in enumerate(zip(preds, refs))], bootstrap=0)
    assert scores["tasks"]["tsum"]["rouge1"] == pytest.approx((0.75 + 1.0) / 2)


def classification_records():
    pairs = [("EGY", "EGY"), ("مصري", "EGY"), ("Egyptian", "EGY"), ("LEV", "GLF"), ("GLF", "GLF"),
             ("I am not sure", "LEV"), ("الشامية", "LEV"), ("MSA", "MSA")]
    return [rec(i, "dialect", p, r) for i, (p, r) in enumerate(pairs)]


def test_classification_mapping_and_invalids():
    out = score_predictions(classification_records(), bootstrap=0)["tasks"]["dialect"]
    assert out["n"] == 8
    assert out["accuracy"] == pytest.approx(6 / 8)  # one wrong label, one invalid
    assert out["invalid_rate"] == pytest.approx(1 / 8)
    pc = out["per_class"]
    assert pc["EGY"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 3}
    assert pc["GLF"]["recall"] == 0.5 and pc["GLF"]["precision"] == 1.0
    assert pc["LEV"]["precision"] == 0.5 and pc["LEV"]["recall"] == 0.5
    assert "NOR" not in pc  # absent from references and predictions
    # macro over EGY, GLF, LEV, MSA: (1 + 2/3 + 1/2 + 1) / 4
    assert out["macro_f1"] == pytest.approx((1 + 2 / 3 + 0.5 + 1) / 4)
    conf = out["confusion"]
    assert conf["predicted_labels"][-1] == "invalid"
    lev = conf["labels"].index("LEV")
    assert conf["matrix"][lev][-1] == 1 and sum(map(sum, conf["matrix"])) == 8


def test_bad_reference_label_raises_with_id():
    bad = [rec(0, "emotion", "happy", "ecstatic")]
    with pytest.raises(PredictionsError, match="emotion-0") as info:
        score_predictions(bad, bootstrap=0)
    assert info.value.record_id == "emotion-0"


def _asr_records(n=60, seed=0):
    rng = np.random.default_rng(seed)
    words = ["ذهب", "الولد", "إلى", "المدرسة", "كتب", "الدرس", "في", "البيت"]
    out = []
    for i in range(n):
        ref = list(rng.choice(words, size=6))
        hyp = [w if rng.random() > 0.2 else "خطا" for w in ref]
        out.append(rec(i, "asr", " ".join(hyp), " ".join(ref), dialect=["EGY", "LEV"][i % 2]))
    return out


def test_score_predictions_contract_shape():
    records = _asr_records() + classification_records()
    scores = score_predictions(records, bootstrap=200, seed=3)
    assert scores["normalizer"] == NORMALIZER_VERSION
    assert list(scores["tasks"]) == ["asr", "dialect"]
    asr = scores["tasks"]["asr"]
    assert set(asr) == {"n", "wer", "cer", "ci95", "per_dialect"}
    assert set(asr["per_dialect"]) == {"EGY", "LEV"}
    for metric in ("wer", "cer"):
        lo, hi = asr["ci95"][metric]
        assert lo <= asr[metric] <= hi
    assert set(scores["tasks"]["dialect"]["ci95"]) == {"accuracy", "macro_f1", "invalid_rate"}


def test_bootstrap_deterministic_and_seeded():
    records = _asr_records()
    a = score_predictions(records, bootstrap=300, seed=7)["tasks"]["asr"]["ci95"]
    b = score_predictions(records, bootstrap=300, seed=7)["tasks"]["asr"]["ci95"]
    c = score_predictions(records, bootstrap=300, seed=8)["tasks"]["asr"]["ci95"]
    assert a == b and a != c
    assert score_predictions(records, bootstrap=0)["tasks"]["asr"]["ci95"] == {}


def test_paired_bootstrap():
    a = _asr_records(seed=0)
    same = paired_bootstrap(a, a, "asr", "wer", n=200)
    assert same["delta"] == 0.0 and same["p_value"] == 1.0
    perfect = [dict(r, prediction=r["reference"]) for r in a]
    res = paired_bootstrap(perfect, a, "asr", "wer", n=500, seed=1)
    assert res["delta"] < 0 and res["p_value"] < 0.05
    assert res == paired_bootstrap(perfect, a, "asr", "wer", n=500, seed=1)
    with pytest.raises(PredictionsError, match="same asr ids"):
        paired_bootstrap(a[:-1], a, "asr", "wer", n=10)


def test_bertscore_null_with_reason_offline_fast():
    records = [rec(0, "ssum", "ملخص قصير", "ملخص قصير جدا")]
    start = time.perf_counter()
    out = score_predictions(records, bootstrap=50, bertscore_model="no-such-org/no-such-model")["tasks"]["ssum"]
    assert time.perf_counter() - start < 5
    assert out["bertscore_f1"] is None
    assert "HF_HUB_OFFLINE" in out["bertscore_error"]
    assert "bertscore_f1" not in out["ci95"] and out["rouge1"] > 0
    none = score_predictions(records, bootstrap=0)["tasks"]["ssum"]
    assert none["bertscore_f1"] is None and "--bertscore-model" in none["bertscore_error"]


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    """A random 2-layer BERT with a locally built Arabic WordPiece tokenizer."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    path = tmp_path_factory.mktemp("tiny-bert")
    letters = sorted(set("ابتثجحخدذرزسشصضطظعغفقكلمنهويةى0123456789"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *(f"##{c}" for c in letters)]
    BertTokenizer(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=False,
                  model_max_length=64).save_pretrained(path)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(path)
    return str(path)


def test_bertscore_local_model_dir_computes_a_number(tiny_bert_dir):
    refs = ["ذهب الولد إلى المدرسة", "كتب الدرس", "الجو حار اليوم"]
    preds = ["ذهب الولد الى المدرسة", "قرأ الكتاب", "الطقس جميل"]
    records = [rec(i, "ssum", p, r) for i, (p, r) in enumerate(zip(preds, refs))]
    out = score_predictions(records, bootstrap=100, bertscore_model=tiny_bert_dir, bertscore_layer=2)["tasks"]["ssum"]
    assert isinstance(out["bertscore_f1"], float) and 0.0 < out["bertscore_f1"] <= 1.0
    assert "bertscore_error" not in out and len(out["ci95"]["bertscore_f1"]) == 2
    from aramega_ssum.bertscore import bertscore_f1

    f1, error = bertscore_f1(refs, preds, model=tiny_bert_dir, layer=2)
    assert error is None and f1[0] == pytest.approx(1.0, abs=1e-5) and f1[1] < 0.999
    f1, error = bertscore_f1(refs, preds, model=tiny_bert_dir, layer=None)
    assert f1 is None and "--bertscore-layer" in error
    f1, error = bertscore_f1(refs, preds, model=tiny_bert_dir, layer=9)
    assert f1 is None and "out of range" in error


def test_asr_without_reference_words_is_null_with_reason():
    out = score_predictions([rec(0, "asr", "كلمة", "؟!")], bootstrap=20)["tasks"]["asr"]
    assert out["wer"] is None and out["cer"] is None and "no words" in out["wer_error"]
    assert out["ci95"] == {"wer": None, "cer": None}


def test_paired_bootstrap_unknown_metric():
    a = _asr_records(n=10)
    with pytest.raises(ValueError, match="available: cer, wer"):
        paired_bootstrap(a, a, "asr", "rouge1", n=10)


def test_rouge_default_path_equals_arabic_tokenizer_object():
    refs = ["ذَهَبَ الوَلَدُ، إلى المدرسة!", "كتب «الدرس» اليوم"]
    preds = ["ذهب الولد الى البيت", "كتب الدرس"]
    fast = rouge_f1(refs, preds)
    slow = rouge_f1(refs, preds, tokenizer=ArabicTokenizer())
    assert all(np.allclose(fast[k], slow[k]) for k in fast)
