"""Pretrain the embedded default base: a small Qwen2.5-Omni thinker trained on the embedded train split.

Examples:
    python -m builders.pretraining --data aramega-ssum --output-dir aramega-ssum-pretrain
    python -m benchmark.pretrain_tiny --data aramega-ssum --extra-data aramega-ssum-pretrain --output-dir /tmp/base
    python -m benchmark.pretrain_tiny --max-steps 1200 --hidden 128 --layers 3 --output-dir /tmp/base
    python -m benchmark.pretrain_tiny --init-from /tmp/base --max-audio-seconds 22 --output-dir /tmp/base2

The random tiny thinker of `benchmark.tiny_model` cannot hear: fine-tuning LoRA on it only memorizes
label priors. This script trains every weight of a (wider) tiny thinker, same class and code path
(`Qwen2_5OmniThinkerForConditionalGeneration`, the chat prompt of `benchmark.prompting`), on the
TRAIN split only of the built dataset: its rows in the benchmark's own prompt format, an ASR copy of
every audio row (its transcription as target) and, with --extra-data, new espeak utterances of the
train split's words (`builders.pretraining`; without them the model memorizes the train sentences
instead of listening), mixed by TASK_WEIGHTS, with --ctc-weight an auxiliary CTC loss on the audio
tower's frames (`benchmark.audio_ctc`). Deterministic from --seed
(`torch.use_deterministic_algorithms`, fixed thread count). The folder it writes loads with
`benchmark.model.load_model(<folder>)` like any checkpoint. The committed base (`benchmark/tiny_base`,
`make tiny-base`) is two runs: the defaults (12000 steps on clips up to 12 s, about 98 min on one
core), then `--init-from` that base for 6000 steps with long utterances (`builders.pretraining --words
15 45`) and every clip up to 22 s (69 min; its pretrain.json names the folders /tmp/exp/long and
/tmp/exp/long2 that the Makefile calls aramega-ssum-pretrain-long1 and -long2). It hears prosody well
(emotion 0.90 alone), short utterances fairly (CER 0.29) and the news sentences half (CER 0.51):
README, "The embedded benchmark".
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

from aramega_ssum.cli import add_common, cli_main, deprecated, make_parser, setup_logging
from aramega_ssum.outputs import check_output_dir, swap_into_place
from aramega_ssum.metrics import error_counts
from benchmark.audio_ctc import AudioCTC
from benchmark.pretrain_rows import train_rows

logger = logging.getLogger(__name__)

PRETRAIN_MARKER = "pretrain.json"  # only this tool writes it: marks a folder it may replace (--overwrite)

ASR_FIRST = 0.0  # share of the steps spent on ASR rows only, before the mixed phase
# Sampling weight of each task in the mixed phase (rows uniform inside a task): the LM learns to
# align its words with the clip only when ASR gets most steps; tsum/ssum teach the summary format.
TASK_WEIGHTS = {"asr": 0.6, "dialect": 0.2, "emotion": 0.1, "tsum": 0.05, "ssum": 0.05}
LABEL_REPEAT = 2000  # labels repeated in the tokenizer text: each becomes one token


def tokenizer_texts(rows: list[dict]) -> list[str]:
    """The tokenizer's training text: the train rows' targets, prompts and documents, task instructions and labels."""
    from aramega_ssum.tasks import TASK_REGISTRY

    texts = [t for r in rows for t in (r.get("target"), r.get("text")) if t]
    for task in TASK_REGISTRY.values():
        texts.extend(task.instructions)
        for label in task.labels:
            texts.extend([label] * LABEL_REPEAT + list(task.aliases.get(label, ())))
    return texts + ["system", "user", "assistant", "You are a helpful assistant."]


def schedule(rows: list[dict], steps: int, batch: int, seed: int) -> list[list[dict]]:
    """Batches: ASR-only for the first ASR_FIRST of the steps, then all tasks; rows of a batch of similar length."""
    rng = random.Random(seed)
    by_task: dict[str, list[dict]] = {}
    for row in rows:
        by_task.setdefault(row["task"], []).append(row)
    tasks = [t for t in TASK_WEIGHTS if by_task.get(t)]
    weights = [TASK_WEIGHTS[t] for t in tasks]
    out = []
    for step in range(steps):
        if step < int(steps * ASR_FIRST):
            chosen = rng.sample(by_task["asr"], min(batch, len(by_task["asr"])))
        else:
            chosen = [rng.choice(by_task[t]) for t in rng.choices(tasks, weights, k=batch)]
        out.append(sorted(chosen, key=lambda r: float(r.get("duration") or 0.0)))
    return out


def batch_loss(model, processor, rows: list[dict], ctc, recent: dict, *, log: bool) -> torch.Tensor:
    """Mean per-example target loss of `rows` (a 1-token label weighs as much as a transcript), plus
    `ctc` (an (AudioCTC, weight) pair, or None) on their clips; per-task values appended to `recent`."""
    from benchmark.prompting import build_training_batch
    from benchmark.train import target_losses, to_device

    b = build_training_batch(rows, processor)
    sums, counts = target_losses(model, to_device(b, torch.device("cpu")), b["labels"])
    per_example = sums / counts.clamp(min=1)
    for task, value in zip(b["tasks"], per_example.tolist()):
        recent.setdefault(task, []).append(value)
    loss = per_example.mean()
    if ctc is not None and "input_features" in b:
        head, weight = ctc
        said = [r.get("transcription") or "" for r in rows if r.get("audio") is not None]
        ctc_loss = head.loss(said)
        recent.setdefault("ctc", []).append(float(ctc_loss.detach()))
        if log:
            recent.setdefault("ctc_cer", []).append(error_counts(said, head.greedy())["cer"])
        loss = loss + weight * ctc_loss
    return loss


def earlier_base(folder) -> dict:
    """The record (pretrain.json, without its curve) of a base this tool wrote, to continue from."""
    marker = Path(folder) / PRETRAIN_MARKER
    if not marker.is_file():
        raise FileNotFoundError(f"{folder}: not a base written by benchmark.pretrain_tiny (no {PRETRAIN_MARKER})")
    return {k: v for k, v in json.loads(marker.read_text(encoding="utf-8")).items() if k != "curve"}


def initial_model(rows: list[dict], *, seed: int, size: dict, init_from=None):
    """(model, processor, provenance) to start from: `init_from` (an earlier base, its weights and
    tokenizer) when given, else the seeded random thinker with a tokenizer trained on `rows`."""
    from benchmark.model import load_model
    from benchmark.tiny_model import build_tiny_folder

    if init_from is not None:
        earlier = earlier_base(init_from)
        model, processor = load_model(str(init_from), drop_vision=False)
        return model, processor, earlier
    with tempfile.TemporaryDirectory(prefix="tiny-init-") as tmp:  # the seeded random start
        init = build_tiny_folder(Path(tmp) / "init", seed=seed, size=size, texts=tokenizer_texts(rows))
        model, processor = load_model(str(init), drop_vision=False)  # saved whole, like any checkpoint
    return model, processor, None


def pretrain(data_dir, output: Path, *, steps: int, batch: int, lr: float, seed: int, size: dict,
             max_seconds: float, threads: int, extra_data=(), ctc_weight: float = 0.0,
             init_from=None, freeze_audio_tower: bool = False, command: str = "") -> dict:
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    random.seed(seed)
    torch.manual_seed(seed)
    rows = train_rows(data_dir, max_seconds, extra_data)
    model, processor, earlier = initial_model(rows, seed=seed, size=size, init_from=init_from)
    if earlier is not None:
        size = earlier["size"]
    if freeze_audio_tower:  # keep the hearing it has; only the language model learns
        model.model.audio_tower.requires_grad_(False)
    model.train()
    ctc = (AudioCTC(model, [r["transcription"] for r in rows if r.get("transcription")]), ctc_weight) if ctc_weight else None
    params = [p for p in model.parameters() if p.requires_grad] + (list(ctc[0].parameters()) if ctc else [])
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.05, 1 - s / max(1, steps)))
    curve, recent, start = [], {}, time.perf_counter()
    for step, chunk in enumerate(schedule(rows, steps, batch, seed)):
        loss = batch_loss(model, processor, chunk, ctc, recent, log=step % 50 == 0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            tasks = {t: round(sum(v[-40:]) / len(v[-40:]), 3) for t, v in sorted(recent.items())}  # last 40 of each
            curve.append({"step": step, "loss": round(float(loss.detach()), 4), "tasks": tasks,
                          "s": round(time.perf_counter() - start, 1)})
            logger.info("step %d loss %.3f per task %s (%.0f s)", step, float(loss.detach()), tasks, time.perf_counter() - start)
    model.eval()
    info = {"command": command, "steps": steps, "batch": batch, "lr": lr, "seed": seed, "size": size, "max_seconds": max_seconds,
            "ctc_weight": ctc_weight, "freeze_audio_tower": freeze_audio_tower,
            **({"init": earlier} if earlier is not None else {}),
            "train_rows": len(rows), "wall_s": round(time.perf_counter() - start, 1), "curve": curve}
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    model.save_pretrained(tmp, safe_serialization=True)
    processor.tokenizer.save_pretrained(tmp)
    processor.feature_extractor.save_pretrained(tmp)
    (tmp / PRETRAIN_MARKER).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    swap_into_place(tmp, output)
    return info


def command_line(argv=None) -> str:
    """The command as a user would type it (recorded in pretrain.json)."""
    import shlex

    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join(["python -m benchmark.pretrain_tiny", *map(shlex.quote, args)])


def parse_args(argv=None) -> argparse.Namespace:
    p = make_parser("python -m benchmark.pretrain_tiny", __doc__)
    p.add_argument("--data", type=Path, default=Path("aramega-ssum"), help="built dataset folder (train split used)")
    p.add_argument("--extra-data", type=Path, nargs="+", default=[],
                   help="folders of extra speech made of the train split's words (`python -m builders.pretraining`)")
    p.add_argument("--output-dir", type=Path, required=True, help="folder for the base (a new or empty folder)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier output of this tool")
    p.add_argument("--max-steps", type=int, default=12000, help="optimizer steps")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3, help="peak AdamW lr (3e-3 stalls at the label prior)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--audio-layers", type=int, default=4)
    p.add_argument("--audio-dim", type=int, default=160)
    p.add_argument("--vocab", type=int, default=600, help="BPE vocabulary size")
    p.add_argument("--max-audio-seconds", type=float, default=12.0, help="skip longer train clips")
    p.add_argument("--ctc-weight", type=float, default=1.0,
                   help="weight of an auxiliary CTC loss on the audio tower's frames (benchmark.audio_ctc); 0 = none")
    p.add_argument("--freeze-audio-tower", action="store_true",
                   help="train the language model only (with --init-from: the tower already hears)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (tiny matmuls: 1 is fastest)")
    p.add_argument("--init-from", type=Path, default=None,
                   help="continue from an earlier base of this tool (its weights and tokenizer; the size flags are ignored)")
    deprecated(p, "--output", "--output-dir", "output_dir", type=Path)
    deprecated(p, "--steps", "--max-steps", "max_steps", type=int)
    deprecated(p, "--max-seconds", "--max-audio-seconds", "max_audio_seconds", type=float)
    add_common(p)
    args = p.parse_args(argv)
    if args.max_steps < 1 or args.batch < 1 or args.lr <= 0 or args.max_audio_seconds <= 0:
        p.error("--max-steps and --batch must be >= 1, --lr and --max-audio-seconds > 0")
    return args


@cli_main()
def main(argv=None) -> int:
    """CLI: pretrain the embedded base into --output-dir; prints its summary as JSON."""
    args = parse_args(argv)
    setup_logging(args)
    check_output_dir(args.output_dir, PRETRAIN_MARKER, tool="benchmark.pretrain_tiny", overwrite=args.overwrite)
    if args.init_from is not None:
        earlier_base(args.init_from)  # fail before loading the data
    size = {"hidden": args.hidden, "layers": args.layers, "audio_layers": args.audio_layers,
            "audio_dim": args.audio_dim, "vocab": args.vocab}
    info = pretrain(args.data, args.output_dir, steps=args.max_steps, batch=args.batch, lr=args.lr, seed=args.seed,
                    size=size, max_seconds=args.max_audio_seconds, threads=args.threads, extra_data=args.extra_data,
                    ctc_weight=args.ctc_weight, init_from=args.init_from,
                    freeze_audio_tower=args.freeze_audio_tower, command=command_line(argv))
    print(json.dumps({k: v for k, v in info.items() if k != "curve"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
