"""Scheduling performance: ADS planning at scale, and ADS batch diversity on the embedded corpus.

  python perf/perf_scheduling.py                      # both checks, PASS/FAIL lines
  python perf/perf_scheduling.py --skip-diversity     # only the 1M-example planning check
  python perf/perf_scheduling.py --examples 200000 --steps 2000

1. ADS planning for 1,000,000 synthetic examples (5 tasks; 5 labels in each classification task;
   64-dim embeddings) over 10,000 steps of batch 32, in a subprocess pinned to one core with
   one BLAS thread: wall time of make_plan (k-means included) + materializing every batch, and
   the subprocess's peak RSS (resource.getrusage). Targets: <= 60 s, <= 4 GB.
2. On the embedded corpus's train split with the tiny model's aligner: mean pairwise embedding
   distance inside ADS batches / inside uniform batches (same seed, size, steps). Target >= 1.2x.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TIME_LIMIT_S, RSS_LIMIT_GB, DIVERSITY_TARGET = 60.0, 4.0, 1.2


def child(n: int, steps: int, batch_size: int) -> None:
    """Runs in the pinned subprocess: build the inputs, then time planning; prints one JSON line."""
    import resource

    import numpy as np

    from aramega_ssum.scheduling import ScheduleInput, make_plan

    rng = np.random.default_rng(0)
    tasks = np.array(["asr", "ssum", "tsum", "dialect", "emotion"], dtype=object)[rng.integers(0, 5, n)]
    labels = np.full(n, None, dtype=object)
    for task, names in (("dialect", ["EGY", "GLF", "LEV", "NOR", "MSA"]),
                        ("emotion", ["neutral", "happy", "sad", "angry", "surprise"])):
        mask = tasks == task
        labels[mask] = np.array(names, dtype=object)[rng.choice(5, mask.sum(), p=[.4, .25, .15, .12, .08])]
    inputs = ScheduleInput([f"ex{i:07d}" for i in range(n)], tasks, labels,
                           rng.normal(size=(n, 64)).astype(np.float32))
    start = time.perf_counter()
    plan = make_plan("ads", inputs, batch_size=batch_size, steps=steps, seed=0)
    built = time.perf_counter()
    total = sum(len(b) for b in plan)
    done = time.perf_counter()
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # Linux: KiB
    print(json.dumps({"build_s": built - start, "iterate_s": done - built, "total_s": done - start,
                      "rss_gb": rss_gb, "indices": total}))


def check_planning(n: int, steps: int, batch_size: int) -> bool:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--child", "--examples", str(n), "--steps", str(steps),
           "--batch-size", str(batch_size)]
    if hasattr(os, "sched_setaffinity"):
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd] if _has("taskset") else cmd
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        print(out.stderr[-3000:])
        print("FAIL ads planning: the subprocess failed")
        return False
    r = json.loads(out.stdout.strip().splitlines()[-1])
    ok = r["total_s"] <= TIME_LIMIT_S and r["rss_gb"] <= RSS_LIMIT_GB
    print(f"ads planning, {n:,} examples x {steps:,} steps x batch {batch_size}, one core: "
          f"{r['total_s']:.1f} s (make_plan incl. k-means {r['build_s']:.1f} s + all batches {r['iterate_s']:.1f} s), "
          f"peak RSS {r['rss_gb']:.2f} GB")
    print(f"{'PASS' if ok else 'FAIL'} ads planning: {r['total_s']:.1f} s <= {TIME_LIMIT_S:.0f} s and "
          f"{r['rss_gb']:.2f} GB <= {RSS_LIMIT_GB:.0f} GB")
    return ok


def _has(program: str) -> bool:
    from shutil import which

    return which(program) is not None


def check_diversity(data: str | None, steps: int, batch_size: int) -> bool:
    from aramega_ssum.dataset import fingerprint, load_split
    from aramega_ssum.scheduling import ScheduleInput, make_plan
    from aramega_ssum.scheduling.diversity import diversity_vs_uniform
    from aramega_ssum.scheduling.embeddings import aligner_embeddings, embedding_cache_key
    from benchmark.model import load_model
    from builders.build import ensure_dataset

    data_dir = Path(data) if data else ensure_dataset()
    rows = load_split(data_dir, "train", "multitask")
    model, processor = load_model("tiny")
    key = embedding_cache_key(model, fingerprint(data_dir, "multitask") + ":train")
    emb = aligner_embeddings(model, processor, rows, batch_size=8, cache_dir=ROOT / ".cache" / "embeddings",
                             cache_key=key)
    inputs = ScheduleInput.from_rows(rows, emb)
    plan = make_plan("ads", inputs, batch_size=batch_size, steps=steps, seed=0)
    d = diversity_vs_uniform(plan, inputs)
    ok = d["ratio"] >= DIVERSITY_TARGET
    print(f"batch diversity on {data_dir} train ({len(inputs)} examples, tiny aligner, {steps} steps x batch "
          f"{batch_size}): ads {d['plan']:.4f} vs uniform {d['uniform']:.4f}")
    print(f"{'PASS' if ok else 'FAIL'} ads diversity ratio: {d['ratio']:.2f}x >= {DIVERSITY_TARGET}x")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data", help="built dataset folder (default: the embedded corpus, built if missing)")
    parser.add_argument("--diversity-steps", type=int, default=200)
    parser.add_argument("--diversity-batch-size", type=int, default=16)
    parser.add_argument("--skip-diversity", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.examples, args.steps, args.batch_size)
        return 0
    ok = check_planning(args.examples, args.steps, args.batch_size)
    if not args.skip_diversity:
        ok = check_diversity(args.data, args.diversity_steps, args.diversity_batch_size) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
