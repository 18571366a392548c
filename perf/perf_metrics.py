"""Metric speed against the bare libraries, measured side by side in one run (issue 2, section 5).

Texts are drawn from a 20,000-word pseudo-Arabic vocabulary (half the words diacritized, some
with punctuation or Arabic-Indic digits) with Zipf-like frequencies, as in real corpora.

1. WER+CER on 20,000 ASR pairs of ~15-word Arabic sentences: `aramega_ssum.metrics.error_counts`
   on the RAW strings (normalization, per-example counts for the bootstrap included) vs
   ``jiwer.wer`` + ``jiwer.cer`` over lists on the same strings already normalized.
2. ROUGE-1/2/L on 2,000 pairs of ~40-token Arabic texts: `aramega_ssum.metrics.rouge_f1`
   (Arabic tokenizer: normalize + split) vs rouge-score with a plain whitespace tokenizer.

Each side runs `--repeats` times, interleaved; the best time of each is compared. Target: ratio
<= 1.5. Also prints (for information) the cost of 1,000 bootstrap resamples over the 20,000 pairs.

    python perf/perf_metrics.py            # or: python -m perf.perf_metrics
    python perf/perf_metrics.py --repeats 5 --pairs 20000
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jiwer  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402

from aramega_ssum.bootstrap import confidence_intervals  # noqa: E402
from aramega_ssum.metrics import asr_statistic, error_counts, rouge_f1  # noqa: E402
from aramega_ssum.text import normalize  # noqa: E402

TARGET = 1.5
_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوية" + "أإآؤئءى"
_HARAKAT = "\u064e\u064f\u0650\u0652\u0651\u064b"
_PUNCT = ["،", ".", "؟", "«", "»", ":", "٪", "!"]


def make_vocabulary(rng: random.Random, size: int) -> list[str]:
    """Pseudo-Arabic words: 2-7 letters, half of them diacritized, some with ال, some digits."""
    vocab = []
    for _ in range(size):
        word = "".join(rng.choice(_LETTERS) + (rng.choice(_HARAKAT) if rng.random() < 0.5 else "")
                       for _ in range(rng.randint(2, 7)))
        roll = rng.random()
        if roll < 0.3:
            word = "ال" + word
        elif roll < 0.35:
            word = str(rng.randint(0, 2025)).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
        elif roll < 0.45:
            word += rng.choice(_PUNCT)
        vocab.append(word)
    return vocab


_VOCAB = make_vocabulary(random.Random(1234), 20_000)
_WEIGHTS = [1.0 / rank for rank in range(1, len(_VOCAB) + 1)]  # Zipf-like word frequencies


def _sentence(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choices(_VOCAB, weights=_WEIGHTS, k=n_words))


def _corrupt(rng: random.Random, text: str) -> str:
    words = text.split()
    for _ in range(rng.randint(0, 3)):
        op, i = rng.random(), rng.randrange(len(words))
        if op < 0.4:
            words[i] = rng.choices(_VOCAB, weights=_WEIGHTS)[0]
        elif op < 0.7 and len(words) > 1:
            del words[i]
        else:
            words.insert(i, rng.choices(_VOCAB, weights=_WEIGHTS)[0])
    return " ".join(words)


def make_pairs(n: int, n_words: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    refs = [_sentence(rng, n_words) for _ in range(n)]
    return refs, [_corrupt(rng, r) for r in refs]


class WhitespaceTokenizer:
    def tokenize(self, text: str) -> list[str]:
        return text.split()


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _side_by_side(ours, theirs, repeats: int) -> tuple[float, float]:
    t_ours, t_theirs = float("inf"), float("inf")
    for _ in range(repeats):  # interleaved, so both sides see the same machine load
        t_theirs = min(t_theirs, _best(theirs, 1))
        t_ours = min(t_ours, _best(ours, 1))
    return t_ours, t_theirs


def _report(name: str, t_ours: float, t_theirs: float) -> bool:
    ratio = t_ours / t_theirs
    ok = ratio <= TARGET
    print(f"{name}: ours {t_ours:.3f}s, baseline {t_theirs:.3f}s, ratio {ratio:.2f}x "
          f"(target <= {TARGET}x) {'PASS' if ok else 'FAIL'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20_000, help="ASR pairs (default 20000)")
    parser.add_argument("--rouge-pairs", type=int, default=2_000, help="ROUGE pairs (default 2000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    refs, hyps = make_pairs(args.pairs, 15, args.seed)
    norm_refs, norm_hyps = [normalize(t) for t in refs], [normalize(t) for t in hyps]
    ours = lambda: error_counts(refs, hyps)  # noqa: E731
    theirs = lambda: (jiwer.wer(norm_refs, norm_hyps), jiwer.cer(norm_refs, norm_hyps))  # noqa: E731
    ok_asr = _report(f"WER+CER on {args.pairs} pairs", *_side_by_side(ours, theirs, args.repeats))

    srefs, spreds = make_pairs(args.rouge_pairs, 40, args.seed + 1)
    plain = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=WhitespaceTokenizer())
    ours = lambda: rouge_f1(srefs, spreds)  # noqa: E731
    theirs = lambda: [plain.score(r, p) for r, p in zip(srefs, spreds)]  # noqa: E731
    ok_rouge = _report(f"ROUGE-1/2/L on {args.rouge_pairs} pairs", *_side_by_side(ours, theirs, args.repeats))

    data = error_counts(refs, hyps)
    t_boot = _best(lambda: confidence_intervals(asr_statistic(data), args.pairs, resamples=1000, seed=0), 1)
    print(f"info: 1000 bootstrap resamples of WER+CER over {args.pairs} pairs: {t_boot:.3f}s")
    return 0 if ok_asr and ok_rouge else 1


if __name__ == "__main__":
    sys.exit(main())
