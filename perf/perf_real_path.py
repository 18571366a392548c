"""The real-checkpoint path, measured on the `Qwen/Qwen2.5-Omni-7B` replica (tests/fixtures_replica.py), offline.

Examples:
    python perf/perf_real_path.py
    python perf/perf_real_path.py --only table          # the 7B memory table (README), seconds
    python perf/perf_real_path.py --only memory eval --work /tmp/perf-real

Four figures:
1. memory: the peak-memory estimate `benchmark.run` prints before step 1 (`benchmark.memory`) vs
   the measured peak of one training micro-batch (forward + backward + AdamW step) on the replica,
   CPU, as the rise of the process's peak RSS from just before loading the model; with and without
   gradient checkpointing. Target: estimate within 1.5x of measured.
2. eval: `benchmark.evaluate --model Qwen/Qwen2.5-Omni-7B` wall time of generation, 1 process vs
   `torchrun --nproc_per_node=2` (gloo, CPU, one thread each), same predictions. Target: >= 1.6x
   (needs two free cores: the script prints how many this machine has).
3. stop: greedy generation with the stop tokens (<|im_end|>, <|endoftext|>) vs without (the hub
   checkpoint's generation config), after a short `benchmark.run` on the replica with the tiny
   model's settings (so the model has learned to end its answers): new tokens per example and time.
4. table: the 7B (bf16) memory table from the real thinker configuration on the meta device:
   training 4 x 60 s and 1 x 60 s, with and without gradient checkpointing, evaluation batch 8, and
   whether each fits 24 / 80 / 141 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
REPO_ID = "Qwen/Qwen2.5-Omni-7B"
CLIP_TOKENS = 60 * 25 + 125  # a 60 s clip: 1,500 audio tokens + instruction, template and target


def env_for(hf_home: Path, threads: int = 1) -> dict:
    return {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(threads)}


def prepare(work: Path) -> tuple[Path, Path]:
    """The replica cache and a small built dataset under `work`."""
    from fixtures_replica import build_omni_replica

    hf_home, data = work / "hf-home", work / "data"
    build_omni_replica(hf_home)
    if not data.exists():
        subprocess.run([sys.executable, "-m", "builders.build", "--output-dir", str(data), "--corpus-dir",
                        str(ROOT / "tests/data/builders/mini_corpus"), "--seed", "0", "--no-progress", "--num-proc", "1"],
                       cwd=ROOT, env=env_for(hf_home), check=True, capture_output=True)
    return hf_home, data


# ------------------------------------------------------------------------------------------ 1. memory
def measure_memory(data: Path, checkpointing: bool, clips: int) -> dict:
    """(run in a fresh process) estimate vs measured peak RSS rise of one training step."""
    import resource

    import torch

    from benchmark.rows import load_rows
    from benchmark.memory import estimate_training
    from benchmark.model import apply_lora, load_model
    from benchmark.prompting import build_training_batch
    from benchmark.train import target_losses, target_tokens, to_device

    torch.set_num_threads(1)
    rows = sorted((r for r in load_rows(data, "train") if r["audio"]), key=lambda r: -r["duration"])[:1]
    long_row = dict(rows[0], audio={"bytes": _long_audio(rows[0], seconds=60.0), "path": "long.flac"}, duration=60.0)
    batch = build_training_batch([long_row] * clips, load_model(REPO_ID)[1])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    model, _ = load_model(REPO_ID, gradient_checkpointing=checkpointing)
    model, _ = apply_lora(model)
    model.train()
    tokens, targets = int(batch["input_ids"].numel()), target_tokens(batch)
    estimate = estimate_training(model, tokens=tokens, target_tokens=targets, checkpointing=checkpointing)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    inputs = to_device({k: v for k, v in batch.items() if k != "labels"}, torch.device("cpu"))
    sums, counts = target_losses(model, inputs, batch["labels"])
    (sums.sum() / counts.sum()).backward()
    optimizer.step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"checkpointing": checkpointing, "clips": clips, "tokens": tokens, "estimate": estimate["total"],
            "measured": peak - before}


def _long_audio(row: dict, seconds: float) -> bytes:
    """The row's clip repeated to `seconds`, as FLAC bytes."""
    import io

    import numpy as np
    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="float32")
    reps = int(np.ceil(seconds * rate / len(samples)))
    buf = io.BytesIO()
    sf.write(buf, np.tile(samples, reps)[: int(seconds * rate)], rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def figure_memory(hf_home: Path, data: Path) -> bool:
    ok = True
    for checkpointing in (False, True):
        proc = subprocess.run([sys.executable, __file__, "--measure-memory", str(data), str(int(checkpointing))],
                              cwd=ROOT, env=env_for(hf_home), capture_output=True, text=True, check=True)
        m = json.loads(proc.stdout.strip().splitlines()[-1])
        ratio = m["estimate"] / m["measured"]
        ok &= 1 / 1.5 <= ratio <= 1.5
        print(f"memory, 4 x 60 s micro-batch ({m['tokens']} tokens), checkpointing {'on ' if checkpointing else 'off'}: "
              f"estimate {m['estimate'] / 1e6:.0f} MB, measured peak RSS rise {m['measured'] / 1e6:.0f} MB, "
              f"estimate/measured {ratio:.2f} (target within 1.5x) {'PASS' if 1 / 1.5 <= ratio <= 1.5 else 'FAIL'}")
    return ok


# ------------------------------------------------------------------------------------------ 2. eval
def figure_eval(hf_home: Path, data: Path, work: Path, limit: int) -> bool:
    args = ["-m", "benchmark.evaluate", "--model", REPO_ID, "--data", str(data), "--limit", str(limit),
            "--bootstrap", "0", "--device", "cpu", "--max-new-tokens", "128", "--batch-size", "4"]
    walls, preds = [], []
    for n, launcher in ((1, [sys.executable]), (2, [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                                    "--nproc_per_node=2"])):
        out = work / f"eval-{n}"
        proc = subprocess.run([*launcher, *args, "--output-dir", str(out)], cwd=ROOT, env=env_for(hf_home),
                              capture_output=True, text=True, check=True)
        walls.append(float(re.search(r"examples in ([0-9.]+) s", proc.stdout).group(1)))
        preds.append([json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()])
    same = [(p["id"], p["raw_prediction"]) for p in preds[0]] == [(p["id"], p["raw_prediction"]) for p in preds[1]]
    speedup, ceiling = walls[0] / walls[1], two_process_ceiling()
    print(f"evaluation, {len(preds[0])} examples: 1 process {walls[0]:.2f} s, 2 processes (gloo) {walls[1]:.2f} s, "
          f"speed-up {speedup:.2f}x (target >= 1.6x), same predictions: {same} "
          f"{'PASS' if speedup >= 1.6 and same else 'FAIL'}; this machine's two-process ceiling now "
          f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}): {ceiling:.2f}x, efficiency {speedup / ceiling:.0%}")
    return speedup >= 1.6 and same


_BURN = "import time\nt = time.perf_counter()\nx = 0\nfor i in range(12_000_000): x += i * i\n"


def two_process_ceiling() -> float:
    """Two copies of pure single-threaded Python work vs one: the best 2-process speed-up possible right now."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _BURN], check=True)
    one = time.perf_counter() - started
    started = time.perf_counter()
    for proc in [subprocess.Popen([sys.executable, "-c", _BURN]) for _ in range(2)]:
        proc.wait()
    return 2 * one / (time.perf_counter() - started)


# ------------------------------------------------------------------------------------------ 3. stop tokens
def figure_stop(hf_home: Path, data: Path, work: Path, steps: int) -> None:
    run = work / "stop-run"
    if not (run / "adapter").is_dir():
        subprocess.run([sys.executable, "-m", "benchmark.run", "--strategy", "uniform", "--model", REPO_ID, "--data",
                        str(data), "--output-dir", str(run), "--max-steps", str(steps), "train.lr=3e-3",
                        "train.base_lr=1e-2", r"model.extra_trainable=['lm_head\.weight','model\.language_model\.embed_tokens\.weight']",
                        "model.gradient_checkpointing=false", "train.val_every=0", "train.cpu_threads=1",
                        "eval.max_per_task=1", "eval.bootstrap=0", "output.plots=false", "-q"],
                       cwd=ROOT, env=env_for(hf_home), check=True, capture_output=True)
    proc = subprocess.run([sys.executable, __file__, "--measure-stop", str(data), str(run / "adapter")], cwd=ROOT,
                          env=env_for(hf_home), capture_output=True, text=True, check=True)
    m = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"generation on {m['n']} test examples after {steps} training steps, budget {m['budget']}: with stop tokens "
          f"{m['with']['tokens']:.1f} new tokens/example in {m['with']['s']:.2f} s; without (the hub's generation "
          f"config) {m['without']['tokens']:.1f} in {m['without']['s']:.2f} s ({m['without']['s'] / m['with']['s']:.1f}x "
          f"the time); outputs that leak text after <|im_end|> without them: {m['leaks']}")


def measure_stop(data: Path, adapter: Path, budget: int = 64) -> dict:
    import torch

    from benchmark.rows import load_rows, select_rows
    from benchmark.model import load_adapter, load_model
    from benchmark.processor import stop_tokens
    from benchmark.prompting import build_generation_batch, model_inputs

    torch.set_num_threads(1)
    model, processor = load_model(REPO_ID)
    model = load_adapter(model, adapter).eval()
    rows = select_rows(load_rows(data, "test"), limit=2)
    stops, tok, out = stop_tokens(processor.tokenizer), processor.tokenizer, {}
    batches = [model_inputs(build_generation_batch(rows[i:i + 4], processor)) for i in range(0, len(rows), 4)]
    for mode in ("with", "without"):
        model.generation_config.eos_token_id = stops["eos_token_id"] if mode == "with" else None
        start, new, texts = time.perf_counter(), 0, []
        with torch.no_grad():
            for batch in batches:
                kwargs = {"eos_token_id": stops["eos_token_id"]} if mode == "with" else {}
                gen = model.generate(**batch, max_new_tokens=budget, do_sample=False, pad_token_id=stops["pad_token_id"],
                                     **kwargs)[:, batch["input_ids"].shape[1]:]
                new += int((gen != stops["pad_token_id"]).sum())
                texts += tok.batch_decode(gen, skip_special_tokens=False)
        out[mode] = {"tokens": new / len(rows), "s": time.perf_counter() - start, "texts": texts}
    leaks = sum(bool(t.split("<|im_end|>", 1)[1].replace("<|endoftext|>", "").strip())
                for t in out["without"]["texts"] if "<|im_end|>" in t)
    return {"n": len(rows), "budget": budget, "leaks": leaks,
            **{m: {"tokens": out[m]["tokens"], "s": out[m]["s"]} for m in out}}


# ------------------------------------------------------------------------------------------ 4. 7B table
def figure_table() -> str:
    from benchmark.memory import GB, estimate_generation, estimate_training, meta_model, seven_b_thinker_config

    model = meta_model(seven_b_thinker_config())
    rows = []
    for label, clips, ckpt in (("train 4 x 60 s, checkpointing off", 4, False), ("train 4 x 60 s, checkpointing on", 4, True),
                               ("train 1 x 60 s, checkpointing off", 1, False), ("train 1 x 60 s, checkpointing on", 1, True)):
        rows.append((label, estimate_training(model, tokens=clips * CLIP_TOKENS, target_tokens=clips * 60,
                                              checkpointing=ckpt)["total"]))
    rows.append(("evaluate, batch 8 x 60 s, 256 new tokens",
                 estimate_generation(model, batch=8, prompt_tokens=CLIP_TOKENS, new_tokens=256)["total"]))
    lines = ["| Qwen2.5-Omni-7B thinker, bf16, LoRA r=16 (vision tower dropped) | peak GB / process | 24 GB | 80 GB | 141 GB |",
             "|---|---:|:---:|:---:|:---:|"]
    for label, total in rows:
        fits = ["yes" if total < cap * GB * 0.92 else "no" for cap in (24, 80, 141)]  # ~8% for the CUDA allocator
        lines.append(f"| {label} | {total / GB:.1f} | " + " | ".join(fits) + " |")
    table = "\n".join(lines)
    print(table)
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=["memory", "eval", "stop", "table"])
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--limit", type=int, default=10, help="examples per task for the eval figure")
    parser.add_argument("--steps", type=int, default=60, help="training steps before the stop-token figure")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--measure-memory", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--measure-stop", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_memory:
        print(json.dumps(measure_memory(Path(args.measure_memory[0]), bool(int(args.measure_memory[1])), clips=4)))
        return 0
    if args.measure_stop:
        print(json.dumps(measure_stop(Path(args.measure_stop[0]), Path(args.measure_stop[1]))))
        return 0
    only = set(args.only or ["memory", "eval", "stop", "table"])
    ok = True
    with tempfile.TemporaryDirectory(prefix="perf-real-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if only & {"memory", "eval", "stop"}:
            hf_home, data = prepare(work)
        if "memory" in only:
            ok &= figure_memory(hf_home, data)
        if "eval" in only:
            ok &= figure_eval(hf_home, data, work, args.limit)
        if "stop" in only:
            figure_stop(hf_home, data, work, args.steps)
        if "table" in only:
            figure_table()
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
