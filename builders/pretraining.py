"""Extra pretraining speech for the embedded base: new espeak utterances made of the TRAIN split's words.

Examples:
    python -m builders.pretraining --data aramega-ssum --output-dir aramega-ssum-pretrain
    python -m builders.pretraining --data aramega-ssum --output-dir /tmp/extra --utterances 500 --seed 1

On the ~1,000 train utterances alone, the tiny base (`benchmark.pretrain_tiny`) memorizes whole
sentences: its train loss falls while its test ASR and dialect stay at chance. New word orders make
memorizing useless, so the model has to listen. Each utterance is one of:

- ASR: 4-12 words of the train rows' transcriptions, half of the time a run of consecutive words
  (across sentence ends), else words drawn in a random order;
- dialect: the first half of one train sentence of a dialect joined to the second half of another of
  the same dialect (its dialect words kept), labelled with that dialect;
- with --novel-share, ASR of made-up words: each the start of one train word spliced to the end of
  another (``novel_word``). Test sentences are full of words the train split never says; a model
  that only ever hears train words learns to write train words, not to spell what it hears.

Spoken by espeak-ng (neutral prosody) with a voice keyed by the new id. Only the train split is read,
so nothing of validation or test leaks. The output is a dataset folder (config ``multitask``, split
``train`` only) that ``python -m benchmark.pretrain_tiny --extra-data DIR`` reads.
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aramega_ssum.audio import encode_flac, resample
from tqdm.auto import tqdm

from aramega_ssum.cli import add_common, cli_main, make_parser, setup_logging
from aramega_ssum.outputs import staged_output
from aramega_ssum.schema import SAMPLING_RATE
from aramega_ssum.tasks import instruction_for

logger = logging.getLogger(__name__)

MARKER = "pretraining_speech.json"  # only this tool writes it: marks a folder it may replace (--overwrite)
DIALECT_SHARE = 0.4  # of the utterances; the rest are ASR
WORDS = (4, 12)


def train_sentences(data_dir) -> tuple[list[str], dict[str, list[str]]]:
    """(every train transcription, the distinct train transcriptions of the dialect-ID rows by dialect)."""
    from aramega_ssum.dataset import load_split

    rows = load_split(data_dir, "train").remove_columns(["audio"])
    texts = sorted({r["transcription"] for r in rows if r["transcription"]})
    by_dialect: dict[str, list[str]] = {}
    for row in rows:
        if row["task"] == "dialect" and row["transcription"]:
            by_dialect.setdefault(row["label"], []).append(row["transcription"])
    joinable = {k: sorted(set(v)) for k, v in sorted(by_dialect.items())}
    return texts, {k: v for k, v in joinable.items() if len(v) >= 2}  # a join needs two sentences


def novel_word(words: list[str], rng: random.Random) -> str:
    """A made-up word: the start of one train word (at least one letter) and the end of another."""
    first, second = rng.choice(words), rng.choice(words)
    return first[:rng.randint(1, max(1, len(first) - 1))] + second[rng.randint(1, max(1, len(second) - 1)):]


def utterances(texts: list[str], by_dialect: dict[str, list[str]], count: int, seed: int, *,
               words_range: tuple[int, int] = WORDS, dialect_share: float = DIALECT_SHARE,
               novel_share: float = 0.0) -> list[dict]:
    """`count` new (id, task, text, label) records, deterministic from `seed`: a `novel_share` of
    made-up words, then a `dialect_share` of dialect joins, the rest ASR of `words_range` train words."""
    rng = random.Random(seed)
    words = [w for t in texts for w in t.split()]
    spliceable = [w for w in words if len(w) >= 2 and w.isalpha()]
    out = []
    for index in range(count):
        uid = f"pre-{seed}-{index:05d}"
        if novel_share and rng.random() < novel_share:
            text = " ".join(novel_word(spliceable, rng) for _ in range(rng.randint(*words_range)))
            out.append({"id": f"{uid}-novel-asr", "task": "asr", "text": text, "label": None})
        elif by_dialect and rng.random() < dialect_share:
            dialect = rng.choice(sorted(by_dialect))
            first, second = (s.split() for s in rng.sample(by_dialect[dialect], 2))
            text = " ".join(first[:max(1, len(first) // 2)] + second[len(second) // 2:])
            out.append({"id": f"{uid}-dialect", "task": "dialect", "text": text, "label": dialect})
        else:
            start, size = rng.randrange(len(words)), rng.randint(*words_range)
            contiguous = rng.random() < 0.5 and start + size <= len(words)  # else words in a random order
            text = " ".join(words[start:start + size] if contiguous else rng.sample(words, size))
            out.append({"id": f"{uid}-asr", "task": "asr", "text": text, "label": None})
    return out


def speak(record: dict, tts, seed: int) -> dict:
    """The dataset row of a record: its espeak audio (16 kHz FLAC) and the schema's fields."""
    voice = tts.speaker(record["id"], seed)
    samples, rate = tts.synthesize(record["text"], voice)
    audio = resample(samples, rate, SAMPLING_RATE)
    label = record["label"]
    return {
        "id": record["id"], "task": record["task"], "audio": {"bytes": encode_flac(audio), "path": f"{record['id']}.flac"},
        "text": None, "instruction": instruction_for(record["task"], record["id"]),
        "target": label or record["text"], "label": label, "transcription": record["text"],
        "source_text": record["text"], "summary": None, "dialect": label, "emotion": None,
        "speaker": voice.name, "source": "pretraining", "duration": round(audio.size / SAMPLING_RATE, 3),
    }


def write(data_dir, output: Path, *, count: int, seed: int, workers: int, overwrite: bool = False,
          words_range: tuple[int, int] = WORDS, dialect_share: float = DIALECT_SHARE, novel_share: float = 0.0) -> dict:
    """Synthesize the utterances into `output` (multitask/train); returns the summary written to MARKER."""
    from builders.espeak import EspeakTTS
    from builders.writer import DatasetWriter

    texts, by_dialect = train_sentences(data_dir)
    records = utterances(texts, by_dialect, count, seed, words_range=words_range, dialect_share=dialect_share,
                         novel_share=novel_share)
    tts = EspeakTTS()
    with staged_output(output, MARKER, tool="builders.pretraining", overwrite=overwrite) as tmp:
        writer = DatasetWriter(tmp, ("multitask",), ("train",))
        with ThreadPoolExecutor(workers) as pool:  # espeak-ng runs as a subprocess: threads suffice
            rows = pool.map(lambda r: speak(r, tts, seed), records)
            for row in tqdm(rows, total=len(records), desc="speak", unit="utt"):
                writer.add("multitask", "train", row)
        writer.close()
        tasks = {t: sum(r["task"] == t for r in records) for t in ("asr", "dialect")}
        summary = {"data": str(data_dir), "utterances": count, "seed": seed, "tasks": tasks,
                   "words": list(words_range), "dialect_share": dialect_share, "novel_share": novel_share,
                   "train_sentences": len(texts)}
        (tmp / MARKER).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary


def parse_args(argv=None) -> argparse.Namespace:
    p = make_parser("python -m builders.pretraining", __doc__)
    p.add_argument("--data", type=Path, default=Path("aramega-ssum"), help="built dataset (its train split is read)")
    p.add_argument("--output-dir", type=Path, required=True, help="a new or empty folder")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier output of this tool")
    p.add_argument("--utterances", type=int, default=12000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--words", type=int, nargs=2, default=list(WORDS), metavar=("MIN", "MAX"),
                   help="words in an ASR utterance (news sentences run 20-40)")
    p.add_argument("--dialect-share", type=float, default=DIALECT_SHARE, help="share of dialect joins (0-1)")
    p.add_argument("--novel-share", type=float, default=0.0,
                   help="share of the utterances made of made-up words (train words spliced), for spelling (0-1)")
    p.add_argument("--workers", type=int, default=2, help="espeak-ng processes at a time")
    add_common(p)
    args = p.parse_args(argv)
    if args.utterances < 1 or args.workers < 1:
        p.error("--utterances and --workers must be >= 1")
    if not 1 <= args.words[0] <= args.words[1] or not 0 <= args.dialect_share <= 1 or not 0 <= args.novel_share <= 1:
        p.error("--words needs 1 <= MIN <= MAX, --dialect-share and --novel-share a value in [0, 1]")
    return args


@cli_main()
def main(argv=None) -> int:
    """CLI: write the extra pretraining speech; prints its summary as JSON."""
    args = parse_args(argv)
    setup_logging(args)
    print(json.dumps(write(args.data, args.output_dir, count=args.utterances, seed=args.seed,
                           workers=args.workers, overwrite=args.overwrite, words_range=tuple(args.words),
                           dialect_share=args.dialect_share, novel_share=args.novel_share)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
