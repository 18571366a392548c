"""What extractive speech summarization can reach with a run's own hearing: Lead-2 of its transcripts.

For each test document of a run, the run's ASR predictions of the document's first two sentences
(asr rows ``<doc>-s01-asr``, ``<doc>-s02-asr``) are joined and scored as the document's summary
(ROUGE-L F1 against the ssum reference), beside Lead-2 of the reference transcripts (the
``lead-2-oracle-transcript`` baseline). If the first is under a summary target, no summarizer fed
by this model's transcripts reaches it by extraction.

    python -m perf.eval_cascade_lead2                        # the committed embedded-hybrid entry
    python -m perf.eval_cascade_lead2 runs/embedded-all/hybrid/predictions.jsonl
"""
from __future__ import annotations

import argparse
from pathlib import Path

from aramega_ssum.metrics import rouge_f1
from aramega_ssum.predictions import read_predictions

ENTRY = Path(__file__).resolve().parents[1] / "leaderboards/results/embedded-hybrid/predictions.jsonl"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictions", type=Path, nargs="?", default=ENTRY,
                        help="predictions.jsonl of a run or a leaderboard entry (default: %(default)s)")
    args = parser.parse_args()
    references, heard, oracle = lead2_pairs(read_predictions(args.predictions))
    for name, predictions in (("the run's transcripts", heard), ("the reference transcripts", oracle)):
        score = float(rouge_f1(references, predictions)["rougeL"].mean())
        print(f"Lead-2 of {name}: ROUGE-L {score:.4f} over {len(references)} documents")


if __name__ == "__main__":
    main()
