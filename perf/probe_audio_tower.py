"""Where the embedded base's hearing is lost: in its audio tower, or in its language model.

A linear CTC probe (`benchmark.audio_ctc.AudioCTC`, the head the base was pretrained with, then
dropped) is trained on the frozen audio tower's frames of the TRAIN split's clips, then decodes the
TEST split's ASR clips greedily. Its CER/WER beside the thinker's own (its generated transcripts,
from a run's predictions) says which half to grow: a probe that reads the test sentences far better
than the thinker means the tower hears and the 2-layer LM fails to write it down. It also scores
Lead-2 of the probe's transcripts as the test documents' summaries (`perf.eval_cascade_lead2`): what
extraction would reach from the tower's hearing, were the LM to write down what the tower hears.

    python -m perf.probe_audio_tower                       # the committed embedded-hybrid entry
    python -m perf.probe_audio_tower --predictions runs/embedded-all/hybrid/predictions.jsonl
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `make perf` runs it as a file

import torch  # noqa: E402

from aramega_ssum.metrics import error_counts  # noqa: E402
from aramega_ssum.predictions import read_predictions  # noqa: E402
from benchmark.audio_ctc import AudioCTC  # noqa: E402
from benchmark.prompting import build_training_batch  # noqa: E402
from benchmark.rows import load_rows  # noqa: E402
from perf.eval_cascade_lead2 import lead2_pairs, rouge_l  # noqa: E402

ENTRY = Path(__file__).resolve().parents[1] / "leaderboards/results/embedded-hybrid/predictions.jsonl"


def audio_clips(rows: list[dict], max_seconds: float) -> list[dict]:
    """One row per distinct clip with a transcription (ASR rows and the clips of other tasks), up to `max_seconds`."""
    seen, out = set(), []
    for row in rows:
        if row.get("audio") is None or not row.get("transcription") or float(row["duration"]) > max_seconds:
            continue
        key = row["audio"]["bytes"]
        if key not in seen:
            seen.add(key)
            out.append({**row, "task": "asr", "target": row["transcription"]})
    return out


@torch.no_grad()
def tower_frames(model, processor, probe: AudioCTC, rows: list[dict], batch: int = 16) -> list[torch.Tensor]:
    """The audio tower's output frames of each row's clip, in order (one forward pass per batch)."""
    frames = []
    for start in range(0, len(rows), batch):
        b = build_training_batch(rows[start:start + batch], processor)
        model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], input_features=b["input_features"],
              feature_attention_mask=b["feature_attention_mask"])
        frames.extend(f.detach().clone() for f in probe._captured)
    return frames


def train_probe(probe: AudioCTC, frames, texts, *, epochs: int, seed: int, batch: int = 32) -> list[float]:
    """Fit the probe's linear head by CTC on fixed frames; the mean loss of each epoch."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(probe.head.parameters(), lr=3e-3)
    losses = []
    for _ in range(epochs):
        order, total = torch.randperm(len(frames), generator=gen).tolist(), 0.0
        for start in range(0, len(order), batch):
            chosen = order[start:start + batch]
            probe._captured = [frames[i] for i in chosen]
            loss = probe.loss([texts[i] for i in chosen])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(chosen)
        losses.append(total / len(frames))
    return losses


def decode(probe: AudioCTC, frames) -> list[str]:
    probe._captured = list(frames)
    return probe.greedy()


def kind(row_id: str) -> str:
    """news sentence (doc-*), dialect utterance (dia-*) or code-switched (cs-*)."""
    return {"doc": "news sentences", "dia": "dialect utterances", "cs": "code-switched"}.get(row_id.split("-")[0], "other")


def probe_errors(model, processor, train: list[dict], test: list[dict], *, epochs: int, seed: int) -> dict:
    """Fit the probe on `train`'s frozen tower frames; {"losses", "train_cer", "heard"} with `test` decoded."""
    for param in model.parameters():
        param.requires_grad_(False)
    probe = AudioCTC(model, [r["transcription"] for r in train])
    train_frames = tower_frames(model, processor, probe, train)
    test_frames = tower_frames(model, processor, probe, test)
    losses = train_probe(probe, train_frames, [r["transcription"] for r in train], epochs=epochs, seed=seed)
    train_cer = error_counts([r["transcription"] for r in train], decode(probe, train_frames))["cer"]
    return {"losses": losses, "train_cer": train_cer, "heard": decode(probe, test_frames)}


def by_kind(rows: list[dict], heard: list[str]) -> dict[str, dict]:
    """error_counts of `heard` against the rows' transcriptions, per kind of clip and for "all"."""
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(kind(row["id"]), []).append(i)
    groups["all"] = list(range(len(rows)))
    return {name: error_counts([rows[i]["transcription"] for i in idx], [heard[i] for i in idx])
            for name, idx in groups.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m perf.probe_audio_tower", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("aramega-ssum"))
    p.add_argument("--model", default="tiny")
    p.add_argument("--predictions", type=Path, default=ENTRY, help="a run's predictions.jsonl: the thinker's own transcripts")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--max-audio-seconds", type=float, default=22.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from benchmark.model import load_model

    torch.manual_seed(args.seed)
    model, processor = load_model(args.model)
    train = audio_clips(load_rows(args.data, "train"), args.max_audio_seconds)
    test = [r for r in load_rows(args.data, "test") if r["task"] == "asr"]
    start = time.perf_counter()
    result = probe_errors(model, processor, train, test, epochs=args.epochs, seed=args.seed)
    print(f"probe: {len(train)} train clips, {args.epochs} epochs, CTC loss {result['losses'][0]:.3f} -> "
          f"{result['losses'][-1]:.3f} ({time.perf_counter() - start:.0f} s); train CER {result['train_cer']:.3f}")
    run = read_predictions(args.predictions)
    thinker = {r["id"]: r["prediction"] for r in run}
    ours, theirs = by_kind(test, result["heard"]), by_kind(test, [thinker.get(r["id"], "") for r in test])
    print(f"{'test ASR clips':<22}{'n':>5}{'probe CER':>11}{'probe WER':>11}{'thinker CER':>13}{'thinker WER':>13}")
    for name in ours:
        n = len(ours[name]["chars"])
        print(f"{name:<22}{n:>5}{ours[name]['cer']:>11.3f}{ours[name]['wer']:>11.3f}"
              f"{theirs[name]['cer']:>13.3f}{theirs[name]['wer']:>13.3f}")
    records = [{"id": r["id"], "task": "asr", "prediction": h, "reference": r["transcription"]}
               for r, h in zip(test, result["heard"])]
    records += [{"id": r["id"], "task": "ssum", "reference": r["target"]} for r in load_rows(args.data, "test") if r["task"] == "ssum"]
    references, heard, oracle = lead2_pairs(records)
    print(f"Lead-2 as ssum, ROUGE-L over {len(references)} test documents: of the probe's transcripts "
          f"{rouge_l(references, heard):.4f}, of the thinker's {rouge_l(*lead2_pairs(run)[:2]):.4f}, "
          f"of the reference transcripts {rouge_l(references, oracle):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
