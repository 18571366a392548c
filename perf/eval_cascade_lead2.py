"""What extractive speech summarization can reach with a run's own hearing: Lead-2 of its transcripts.

For each test document of a run, the run's ASR predictions of the document's first two sentences
(asr rows ``<doc>-s01-asr``, ``<doc>-s02-asr``) are joined and scored as the document's summary
(ROUGE-L F1 against the ssum reference), beside Lead-2 of the reference transcripts (the
``lead-2-oracle-transcript`` baseline). If the first is under a summary target, no summarizer fed
by this model's transcripts reaches it by extraction. It also prints the run's WER/CER on those
sentences, and what the same extraction scores when a share of the reference transcripts' words is
replaced by wrong ones (a seeded simulation, substitutions only): the word error rate a model's
hearing must reach before extraction passes a target.

    python -m perf.eval_cascade_lead2                        # the committed embedded-hybrid entry
    python -m perf.eval_cascade_lead2 runs/embedded-all/hybrid/predictions.jsonl
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

from aramega_ssum.metrics import error_counts, rouge_f1
from aramega_ssum.predictions import read_predictions

ENTRY = Path(__file__).resolve().parents[1] / "leaderboards/results/embedded-hybrid/predictions.jsonl"
SIMULATED_WER = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def lead2_pairs(records: list[dict]) -> tuple[list[str], list[str], list[str]]:
    """(summary references, Lead-2 of the run's transcripts, Lead-2 of the reference transcripts)."""
    by_id = {r["id"]: r for r in records}
    references, heard, oracle = [], [], []
    for record in records:
        if record["task"] != "ssum":
            continue
        doc = record["id"].removesuffix("-ssum")
        first, second = by_id[f"{doc}-s01-asr"], by_id[f"{doc}-s02-asr"]
        references.append(record["reference"])
        heard.append(f"{first['prediction']} {second['prediction']}")
        oracle.append(f"{first['reference']} {second['reference']}")
    return references, heard, oracle


def substitute_words(texts: list[str], share: float, seed: int = 0) -> list[str]:
    """Each word replaced, with probability `share`, by a token that matches no Arabic word."""
    rng = random.Random(seed)
    return [" ".join(f"x{rng.randrange(10**6)}" if rng.random() < share else w for w in t.split()) for t in texts]


def rouge_l(references: list[str], predictions: list[str]) -> float:
    return float(rouge_f1(references, predictions)["rougeL"].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictions", type=Path, nargs="?", default=ENTRY,
                        help="predictions.jsonl of a run or a leaderboard entry (default: %(default)s)")
    args = parser.parse_args()
    references, heard, oracle = lead2_pairs(read_predictions(args.predictions))
    for name, predictions in (("the run's transcripts", heard), ("the reference transcripts", oracle)):
        print(f"Lead-2 of {name}: ROUGE-L {rouge_l(references, predictions):.4f} over {len(references)} documents")
    errors = error_counts(oracle, heard)
    print(f"the run's transcripts of those sentences: WER {errors['wer']:.3f}, CER {errors['cer']:.3f}")
    print("Lead-2 of the reference transcripts with a share of their words wrong (simulated WER):")
    for share in SIMULATED_WER:
        print(f"  WER {share:.1f}: ROUGE-L {rouge_l(references, substitute_words(oracle, share)):.4f}")


if __name__ == "__main__":
    main()
