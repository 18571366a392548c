"""Performance of the benchmark harness on the tiny model: padding, batched generation, collation.

Examples:
    python perf/perf_harness.py
    python perf/perf_harness.py --data aramega-ssum --steps 60 --micro-batch-size 4
    python perf/perf_harness.py --only generation --gen-examples 32 --max-new-tokens 32 --threads 2

Three measured figures, each printed with PASS/FAIL against the issue's target:

1. Padding efficiency: share of real tokens and real audio frames in the collated micro-batches
   of scheduled global batches (`make_plan`), with duration-aware ordering inside each global
   batch (`benchmark.prompting.micro_batches`: sort by estimated length, cut micro-batches of at
   most --micro-batch-size, closing one early when the next row would push estimated padding past 1 - --min-efficiency)
   and without it (plan order, fixed-size chunks); "sorted only" (fixed-size chunks of the sorted
   batch) is printed too, with the micro-batches each variant needs per step. Target: >= 0.85
   with ordering, and better than without. Also printed: the audio-frame share the stock
   processor would give by padding every clip to 30 s.
2. Batched generation: examples/s of greedy generation (`benchmark.evaluate.generate_texts`,
   length-grouped batches of at most 8) vs batch 1 on the whole test split (every task), best of
   two alternating runs each, with identical outputs; collation (audio decoding, log-mel, tokens)
   included, as `benchmark.evaluate` runs it (prefetched one batch ahead). --max-new-tokens
   defaults to 128 new tokens. Target: >= 3x.
3. Collation throughput (decode audio + features + tokens + labels, examples/s, one process)
   vs the training step rate (LoRA forward + backward per micro-batch, clipping and one AdamW
   step per global batch, examples/s) on the same micro-batches, timed in turn per global batch.
   Target: >= 5x.

Torch runs --threads intra-op threads (default 1: the tiny model's `train.cpu_threads` in
benchmark/configs, faster for tiny matmuls, above all on a shared CPU). The embedded dataset is
built into --data when missing. Exit status 0 (so `make perf` runs every
script); with --strict, 1 if a target is missed.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from benchmark.prompting import build_training_batch, micro_batches, model_inputs  # noqa: E402

logger = logging.getLogger("perf.perf_harness")


def scheduled_batches(rows, strategy: str, batch_size: int, steps: int, seed: int) -> list[list[dict]]:
    """Global batches (lists of rows) from the scheduling strategy's plan."""
    from aramega_ssum.scheduling import ScheduleInput, make_plan

    plan = make_plan(strategy, ScheduleInput.from_rows(rows), batch_size=batch_size, steps=steps, seed=seed)
    return [[rows[i] for i in plan.batch(step)] for step in range(steps)]


def _efficiency(batches: list[dict]) -> dict:
    tok_real = sum(int(b["attention_mask"].sum()) for b in batches)
    tok_all = sum(b["attention_mask"].numel() for b in batches)
    fr = [b["feature_attention_mask"] for b in batches if "feature_attention_mask" in b]
    fr_real = sum(int(m.sum()) for m in fr)
    fr_all = sum(m.numel() for m in fr)
    fr_30s = sum(m.shape[0] * max(3000, m.shape[1]) for m in fr)
    return {"tokens": tok_real / tok_all, "frames": fr_real / fr_all if fr_all else None,
            "combined": (tok_real + fr_real) / (tok_all + fr_all), "frames_pad30s": fr_real / fr_30s if fr else None}


VARIANTS = {  # name: micro_batches options
    "ordered": dict(by_length=True),  # sorted + closed early below --min-efficiency estimated real share
    "sorted only": dict(by_length=True, min_efficiency=None),  # sorted, fixed-size chunks
    "plan order": dict(by_length=False),  # the plan's order, fixed-size chunks
}


def measure_padding(global_batches, processor, micro: int, min_efficiency: float = 0.9) -> dict:
    out = {}
    for name, options in VARIANTS.items():
        if name == "ordered":
            options = {**options, "min_efficiency": min_efficiency}
        mbs = [mb for gb in global_batches for mb in micro_batches(gb, micro, **options)]
        out[name] = _efficiency([build_training_batch(mb, processor) for mb in mbs])
        out[name]["micro_per_step"] = len(mbs) / len(global_batches)
    return out


def measure_generation(model, processor, rows, max_new_tokens: int, repeats: int = 2) -> dict:
    """Examples/s at batch 1 and 8 (best of `repeats` alternating runs: both see the same load)."""
    from benchmark.evaluate import generate_texts

    generate_texts(model, processor, rows[:8], batch_size=8, max_new_tokens=2, progress=False)  # warm-up
    best, texts = {1: 0.0, 8: 0.0}, {}
    for _ in range(repeats):
        for bs in (1, 8):
            start = time.perf_counter()
            texts[bs], _ = generate_texts(model, processor, rows, batch_size=bs, max_new_tokens=max_new_tokens,
                                          progress=False)
            best[bs] = max(best[bs], len(rows) / (time.perf_counter() - start))
    return {"b1": best[1], "b8": best[8], "speedup": best[8] / best[1], "identical": texts[1] == texts[8],
            "n": len(rows)}


def measure_collation(model, processor, global_batches, micro: int) -> dict:
    """Collation examples/s vs training examples/s (LoRA, micro-batch accumulation, clipping, one
    AdamW step per global batch, as `benchmark.train` does) on the same duration-ordered
    micro-batches; the two are timed in turn for each global batch, so both see the same load."""
    from benchmark.model import apply_lora

    peft_model, _ = apply_lora(model)
    peft_model.train()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    n, collate_s, train_s = 0, 0.0, 0.0
    for gb in global_batches:
        start = time.perf_counter()
        batches = [build_training_batch(mb, processor) for mb in micro_batches(gb, micro)]
        mid = time.perf_counter()
        for batch in batches:
            peft_model(**model_inputs(batch)).loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        collate_s, train_s, n = collate_s + mid - start, train_s + time.perf_counter() - mid, n + len(gb)
    peft_model.unload()  # leave the base model as it was
    return {"collate": n / collate_s, "train": n / train_s, "ratio": train_s / collate_s, "n": n}


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report_padding(res: dict) -> bool:
    o, p = res["ordered"], res["plan order"]
    ok = o["tokens"] >= 0.85 and (o["frames"] or 1.0) >= 0.85 and o["combined"] > p["combined"]
    for name, r in res.items():
        print(f"  {name:<11} tokens {r['tokens']:.3f}  audio frames {r['frames']:.3f}  combined {r['combined']:.3f}"
              f"  ({r['micro_per_step']:.2f} micro-batches per step)")
    print(f"  (stock processor padding every clip to 30 s: audio frames {o['frames_pad30s']:.3f})")
    print(f"padding efficiency with ordering {o['combined']:.3f} vs {p['combined']:.3f} without "
          f"(target >= 0.85 and better): {_verdict(ok)}")
    return ok


def parse_args(argv=None):
    doc = __doc__.split("\n\n")
    parser = argparse.ArgumentParser(description=doc[0], epilog="\n\n".join(doc[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(".cache/perf-aramega-ssum"))
    parser.add_argument("--strategy", default="uniform", choices=("uniform", "tpc"))
    parser.add_argument("--steps", type=int, default=40, help="scheduled global batches to collate")
    parser.add_argument("--batch-size", type=int, default=8, help="global (effective) batch size")
    parser.add_argument("--micro-batch-size", type=int, default=4)
    parser.add_argument("--min-efficiency", type=float, default=0.9,
                        help="micro_batches bound on the estimated real-token share (default 0.9)")
    parser.add_argument("--gen-examples", type=int, default=0, help="first N test rows (default 0: all)")
    parser.add_argument("--max-new-tokens", type=int, default=128,
                        help="greedy tokens per example (default 128)")
    parser.add_argument("--only", choices=("padding", "generation", "collation"))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1, as the tiny configs' train.cpu_threads; 0: torch's choice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    from aramega_ssum.dataset import load_split
    from benchmark.model import load_model
    from builders.build import ensure_dataset

    data = ensure_dataset(args.data, seed=args.seed)
    model, processor = load_model("tiny", seed=args.seed)
    train_rows = [dict(r) for r in load_split(data, "train")]
    batches = scheduled_batches(train_rows, args.strategy, args.batch_size, args.steps, args.seed)
    print(f"tiny model, {args.steps} {args.strategy} global batches of {args.batch_size}, "
          f"micro-batches of {args.micro_batch_size}, torch threads {torch.get_num_threads()}")
    ok = True
    if args.only in (None, "padding"):
        ok &= report_padding(measure_padding(batches, processor, args.micro_batch_size, args.min_efficiency))
    if args.only in (None, "generation"):
        test_rows = [dict(r) for r in load_split(data, "test")][: args.gen_examples or None]
        g = measure_generation(model, processor, test_rows, args.max_new_tokens)
        good = g["speedup"] >= 3 and g["identical"]
        print(f"batched generation ({g['n']} examples, {args.max_new_tokens} new tokens): batch 1 {g['b1']:.2f} ex/s, "
              f"batch 8 {g['b8']:.2f} ex/s, speedup {g['speedup']:.2f}x, identical outputs {g['identical']} "
              f"(target >= 3x, identical): {_verdict(good)}")
        ok &= good
    if args.only in (None, "collation"):
        c = measure_collation(model, processor, batches, args.micro_batch_size)
        good = c["ratio"] >= 5
        print(f"collation {c['collate']:.1f} ex/s vs training {c['train']:.1f} ex/s ({c['n']} examples): "
              f"{c['ratio']:.1f}x (target >= 5x): {_verdict(good)}")
        ok &= good
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
