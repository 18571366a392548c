"""Evaluate a model on the test split of every task: batched greedy generation -> predictions -> scores.

Examples:
    python -m benchmark.evaluate --model tiny
    python -m benchmark.evaluate --model Qwen/Qwen2.5-Omni-7B --data aramega-ssum --batch-size 16
    torchrun --nproc_per_node=4 -m benchmark.evaluate --model Qwen/Qwen2.5-Omni-7B --data /data/aramega-ssum
    python -m benchmark.evaluate --model Qwen/Qwen2.5-Omni-7B --adapter runs/x/adapter --config runs/x/config.yaml
    python -m benchmark.evaluate --model tiny --adapter runs/hybrid/adapter --output-dir runs/hybrid/eval
    python -m benchmark.evaluate --model /models/omni-thinker --tasks asr ssum --max-new-tokens 256
    python -m benchmark.evaluate --model tiny --adapter runs/hybrid/adapter --ablate-audio silence
    python -m benchmark.evaluate --model tiny eval.max_new_tokens=32 eval.batch_size=4

Writes ``predictions.jsonl`` (one record per example: id, task, prediction, reference,
raw_prediction, + dialect for ASR rows when known) and ``scores.json`` (exactly what
``python -m benchmark.score predictions.jsonl`` prints) and ``generation.json`` (budget, stop tokens,
empty / budget-hitting outputs per task) into --output-dir, and prints a table. Every setting
comes from the run's layers (benchmark.config): benchmark/configs/base.yaml, tiny.yaml for the
tiny model, --config FILE (e.g. a run's config.yaml), then `key=value` overrides
(``eval.max_new_tokens=32``) and the flags, which win; so zero-shot and fine-tuned rows share one
generation budget, split, batch size, audio bound and bootstrap.
Under torchrun each process generates its share of the rows; rank 0 writes.
Generation is greedy with LEFT padding; rows are grouped by length (at most --batch-size, fewer
when lengths differ much) so batches carry little padding,
and predictions are written in the split's order. Classification outputs are mapped to the label
inventory by `aramega_ssum.tasks.parse_output` (whole output, then its first line); an output
that maps to no label is kept verbatim and scored as invalid. Clips longer than
--max-audio-seconds are truncated (or skipped with --skip-long-audio) and counted; by default no
audio is ever cut. --ablate-audio silence replaces every clip by silence of the same length (does the
model hear, or only guess priors?).
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from tqdm.auto import tqdm

from aramega_ssum.audio import AudioError
from aramega_ssum.cli import cli_main, setup_logging
from aramega_ssum.predictions import write_json_atomic, write_predictions
from aramega_ssum.tasks import parse_output
from benchmark.config import ConfigError
from benchmark.prompting import build_generation_batch, estimate_length, length_groups, model_inputs
from benchmark.rows import ABLATIONS, ablate_audio, load_rows, select_rows, shard_rows

logger = logging.getLogger(__name__)
OUTPUT_MARKER = "generation.json"  # only benchmark.evaluate writes it: marks a folder it may replace (--overwrite)


@contextlib.contextmanager
def last_position_logits(model):
    """During generation, compute the LM head on the last position only.

    The thinker's forward has no `logits_to_keep`: it projects every prompt position onto the
    vocabulary, which `generate` then discards (for the 7B model, batch 8 x 1,500 prompt tokens
    x 152k vocabulary is ~7 GB of float32 logits). A forward hook on the inner model keeps only
    the last hidden state; greedy outputs are unchanged.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model

    def keep_last(module, args, output):
        output.last_hidden_state = output.last_hidden_state[:, -1:, :]
        return output

    handle = base.model.register_forward_hook(keep_last)
    try:
        yield model
    finally:
        handle.remove()


@torch.inference_mode()
def generate_texts(model, processor, rows: list[dict], *, batch_size: int = 8, max_new_tokens: int = 256,
                   max_audio_seconds: float | None = None, over_limit: str = "truncate",
                   min_efficiency: float | None = 0.8, progress: bool = True) -> tuple[dict[str, str], dict]:
    """Greedy outputs {id: text} for `rows`, and counts {audio_truncated, audio_skipped, skipped_ids,
    hit_budget_ids}. Generation stops at `benchmark.processor.stop_tokens` (<|im_end|>, <|endoftext|>).

    Batches hold at most `batch_size` rows of similar length (`length_groups`: sorted by estimated
    length, a batch closed early when padding would exceed 1 - `min_efficiency`; None: fixed-size
    batches of the sorted rows).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    from benchmark.processor import stop_tokens

    chunks = length_groups([estimate_length(r) for r in rows], batch_size, min_efficiency)
    tok, stops = processor.tokenizer, stop_tokens(processor.tokenizer)
    outputs, stats = {}, {"audio_truncated": 0, "audio_skipped": 0, "skipped_ids": [], "hit_budget_ids": []}
    device = next(model.parameters()).device

    def collate(chunk):
        return build_generation_batch([rows[i] for i in chunk], processor,
                                      max_audio_seconds=max_audio_seconds, over_limit=over_limit)

    # collate the next batch (audio decoding, log-mel features) while the model generates this one
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(collate, chunks[0]) if chunks else None
        for k in tqdm(range(len(chunks)), desc="generate", unit="batch", disable=not progress):
            batch = pending.result()
            pending = pool.submit(collate, chunks[k + 1]) if k + 1 < len(chunks) else None
            for key in ("audio_truncated", "audio_skipped", "skipped_ids"):
                stats[key] += batch[key]
            if batch["ids"]:
                texts, hit = _generate(model, batch, device, tok, max_new_tokens, stops)
                outputs.update(zip(batch["ids"], texts))
                stats["hit_budget_ids"] += [i for i, h in zip(batch["ids"], hit) if h]
    return outputs, stats


def _generate(model, batch: dict, device, tok, max_new_tokens: int, stops: dict) -> tuple[list[str], list[bool]]:
    """Greedy generation for one collated batch: the decoded new text of each row, and whether it
    ran to `max_new_tokens` without a stop token."""
    inputs = {k: v.to(device) for k, v in model_inputs(batch).items()}
    if "input_features" in inputs:
        inputs["input_features"] = inputs["input_features"].to(model.dtype)
    with last_position_logits(model):
        generated = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                                   eos_token_id=stops["eos_token_id"], pad_token_id=stops["pad_token_id"],
                                   use_cache=True)
    new = generated[:, inputs["input_ids"].shape[1]:]
    stopped = torch.isin(new, torch.tensor(stops["eos_token_id"], device=new.device)).any(dim=-1)
    hit = [(not bool(s)) and new.shape[1] >= max_new_tokens for s in stopped.cpu()]
    return tok.batch_decode(new, skip_special_tokens=True), hit


def prediction_records(rows: list[dict], outputs: dict[str, str]) -> list[dict]:
    """Contract-3 records in the rows' order (rows without an output, i.e. skipped, are left out)."""
    records = []
    for row in rows:
        if row["id"] not in outputs:
            continue
        raw = outputs[row["id"]]
        rec = {"id": row["id"], "task": row["task"], "prediction": parse_output(row["task"], raw),
               "reference": row["target"], "raw_prediction": raw}
        if row["task"] == "asr" and row.get("dialect"):
            rec["dialect"] = row["dialect"]
        records.append(rec)
    return records


def gather_outputs(outputs: dict, stats: dict, process) -> tuple[dict, dict]:
    """Every rank's outputs and counts, merged (identity for a single process)."""
    from accelerate.utils import gather_object

    if process is None or not process.use_distributed:
        return outputs, stats
    merged_out, merged = {}, {k: ([] if isinstance(v, list) else 0) for k, v in stats.items()}
    for out, st in gather_object([(outputs, stats)]):
        merged_out.update(out)
        for key, value in st.items():
            merged[key] += value
    return merged_out, merged


def generation_report(records: list[dict], hit_budget_ids, max_new_tokens: int, stops: dict,
                      batch_size: int, *, threshold: float = 0.5) -> dict:
    """Per-task counts of empty outputs and outputs that hit the budget; a loud warning above `threshold`."""
    hit = set(hit_budget_ids)
    report = {"max_new_tokens": max_new_tokens, "batch_size": batch_size, "greedy": True,
              "eos": stops["names"]["eos"], "pad": stops["names"]["pad"], "empty": {}, "hit_budget": {}}
    for task in dict.fromkeys(r["task"] for r in records):
        mine = [r for r in records if r["task"] == task]
        empty = sum(not r["raw_prediction"].strip() for r in mine)
        budget = sum(r["id"] in hit for r in mine)
        report["empty"][task], report["hit_budget"][task] = empty, budget
        for what, n in (("EMPTY", empty), (f"HIT THE {max_new_tokens}-TOKEN BUDGET (no stop token)", budget)):
            if n > threshold * len(mine):
                logger.warning("!!! %s: %d of %d predictions %s: check the stop tokens, eval.max_new_tokens "
                               "and the model before trusting these scores", task, n, len(mine), what)
    return report


def evaluate(model, processor, rows: list[dict], output_dir, *, batch_size: int = 8, max_new_tokens: int = 256,
             max_audio_seconds: float | None = None, over_limit: str = "truncate", bootstrap: int = 1000,
             seed: int = 0, bertscore_model: str | None = None, bertscore_layer: int | None = None,
             progress: bool = True, process=None) -> dict | None:
    """Generate, write predictions.jsonl and scores.json into `output_dir`; return a summary dict.

    With `process` (accelerate's `PartialState` of several processes) each rank generates its share
    (`shard_rows`) and rank 0 gathers, writes and scores; the other ranks return None. The
    predictions equal those of one process.
    Summary: scores, predictions_path, scores_path, n (per task), audio {truncated, skipped,
    max_audio_seconds, skipped_ids}, generation (`generation_report`), eval_wall_s, audio_seconds,
    rtfx (audio seconds per wall second).
    """
    from aramega_ssum.metrics import score_predictions
    from benchmark.processor import stop_tokens

    if not rows:
        raise ValueError("no rows to evaluate")
    output_dir = Path(output_dir)
    if process is not None:
        process.wait_for_everyone()  # every rank starts together: eval_wall_s is the evaluation's, not the load skew's
    start = time.perf_counter()
    sharded = process is not None and process.use_distributed
    mine = shard_rows(rows, process.process_index, process.num_processes) if sharded else rows
    outputs, stats = generate_texts(model, processor, mine, batch_size=batch_size, max_new_tokens=max_new_tokens,
                                    max_audio_seconds=max_audio_seconds, over_limit=over_limit,
                                    progress=progress and (process is None or process.is_main_process))
    outputs, stats = gather_outputs(outputs, stats, process)
    wall = time.perf_counter() - start
    if process is not None and not process.is_main_process:
        return None
    records = prediction_records(rows, outputs)
    if stats["audio_skipped"]:
        logger.warning("%d example(s) skipped (audio over %s s): %s", stats["audio_skipped"], max_audio_seconds,
                       ", ".join(map(str, stats["skipped_ids"][:10])))
    generation = generation_report(records, stats["hit_budget_ids"], max_new_tokens, stop_tokens(processor.tokenizer),
                                   batch_size)
    predictions_path = write_predictions(output_dir / "predictions.jsonl", records)
    scores = score_predictions(records, bootstrap=bootstrap, seed=seed, bertscore_model=bertscore_model,
                               bertscore_layer=bertscore_layer)
    scores_path = write_json_atomic(output_dir / "scores.json", scores)
    audio_seconds = sum(float(r.get("duration") or 0.0) for r in rows if r["id"] in outputs and r.get("audio"))
    n = {}
    for rec in records:
        n[rec["task"]] = n.get(rec["task"], 0) + 1
    return {
        "scores": scores, "predictions_path": str(predictions_path), "scores_path": str(scores_path), "n": n,
        "audio": {"truncated": stats["audio_truncated"], "skipped": stats["audio_skipped"],
                  "max_audio_seconds": max_audio_seconds, "skipped_ids": stats["skipped_ids"]},
        "generation": generation, "eval_wall_s": round(wall, 3), "audio_seconds": round(audio_seconds, 3),
        "rtfx": round(audio_seconds / wall, 3) if wall > 0 and audio_seconds > 0 else None,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from aramega_ssum.cli import add_common, deprecated, make_parser

    parser = make_parser("python -m benchmark.evaluate", __doc__)
    parser.add_argument("--model", help='"tiny", a hub id or a local path (model.name; default tiny)')
    parser.add_argument("--adapter", type=Path, help="a saved LoRA adapter folder to apply")
    parser.add_argument("--data", type=Path, help="dataset folder (data.path; python -m builders.build "
                        "--output-dir aramega-ssum)")
    parser.add_argument("--dataset-config", dest="config_name", help="dataset config (data.config)")
    deprecated(parser, "--data-config", "--dataset-config", "config_name")
    parser.add_argument("--split", help="split to evaluate (eval.split)")
    parser.add_argument("--tasks", nargs="+", help="only these tasks (default: every task in the split)")
    parser.add_argument("--limit", type=int, help="at most N examples per task, spread evenly over its rows; 0 = all (eval.max_per_task)")
    parser.add_argument("--output-dir", type=Path, help="where to write (default runs/eval-<model>)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier evaluate output in --output-dir")
    parser.add_argument("--config", type=Path, help="a settings layer over base.yaml (and tiny.yaml), e.g. a run's "
                        "config.yaml")
    parser.add_argument("--batch-size", type=int, help="eval.batch_size")
    parser.add_argument("--max-new-tokens", type=int, help="eval.max_new_tokens (one budget with benchmark.run)")
    parser.add_argument("--max-audio-seconds", type=float, help="bound on audio length (default data.max_audio_seconds)")
    parser.add_argument("--skip-long-audio", action="store_true", help="skip clips over the bound instead")
    parser.add_argument("--device", help="cpu | cuda | cuda:N (default: cuda:LOCAL_RANK when available)")
    parser.add_argument("--dtype", help="float32 | bfloat16 | float16 (model.dtype; default: bfloat16 on CUDA for "
                        "real models, else float32)")
    parser.add_argument("--attn-implementation", help="sdpa | flash_attention_2 | eager (default model.attn_implementation)")
    parser.add_argument("--ablate-audio", choices=ABLATIONS,
                        help="replace every clip before generation: silence = zeros of the same length")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tiny model's weights")
    parser.add_argument("--bootstrap", type=int, help="bootstrap resamples for the CIs, 0 = none (eval.bootstrap)")
    parser.add_argument("--bootstrap-seed", type=int, help="seed of the bootstrap (default: --seed)")
    parser.add_argument("--bertscore-model", help="local model directory for BERTScore (eval.bertscore_model)")
    parser.add_argument("--bertscore-layer", type=int, help="eval.bertscore_layer")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="settings, e.g. eval.max_new_tokens=32")
    add_common(parser)
    args = parser.parse_intermixed_args(argv)  # key=value overrides may come before or after flags
    if args.tasks:  # `--tasks asr eval.x=1`: task names have no "="
        args.overrides += [t for t in args.tasks if "=" in t]
        args.tasks = [t for t in args.tasks if "=" not in t] or None
    if (args.batch_size is not None and args.batch_size < 1) or (args.max_new_tokens is not None and args.max_new_tokens < 1):
        parser.error("--batch-size and --max-new-tokens must be >= 1")
    if (args.limit is not None and args.limit < 0) or (args.bootstrap is not None and args.bootstrap < 0):
        parser.error("--limit and --bootstrap must be >= 0")
    if args.max_audio_seconds is not None and args.max_audio_seconds <= 0:
        parser.error(f"--max-audio-seconds must be > 0, got {args.max_audio_seconds:g}")
    if args.bootstrap_seed is None:
        args.bootstrap_seed = args.seed
    return args


def preflight(args: argparse.Namespace, opts: dict) -> Path:
    """Every check before a weight is loaded (one error listing all problems); returns the output folder."""
    from aramega_ssum.outputs import OutputError, check_output_dir
    from benchmark import preflight as pf

    output_dir = args.output_dir or Path("runs") / f"eval-{Path(str(args.model)).name}"
    problems = pf.check_dtype(args.dtype, "--dtype") + pf.check_device(args.device)
    problems += pf.check_data(args.data, args.config_name, [args.split])
    problems += [f"{key}={opts[key]!r} must be >= 1" for key in ("batch_size", "max_new_tokens") if opts[key] < 1]
    problems += [f"bootstrap={opts['bootstrap']!r} must be >= 0"] if opts["bootstrap"] < 0 else []
    if opts["max_audio_seconds"] is not None and opts["max_audio_seconds"] <= 0:
        problems.append(f"max_audio_seconds={opts['max_audio_seconds']!r} must be > 0")
    if args.adapter is not None and not (args.adapter / "adapter_config.json").is_file():
        problems.append(f"--adapter {args.adapter}: no adapter_config.json (not a saved LoRA adapter)")
    try:
        check_output_dir(output_dir, OUTPUT_MARKER, tool="benchmark.evaluate", overwrite=args.overwrite)
    except OutputError as exc:
        problems.append(str(exc))
    problems += pf.check_model(args.model)
    pf.raise_if(problems)
    return output_dir


# the flags that set a setting of the layers: (argparse dest, dotted key); the flags win over key=value
SETTING_FLAGS = (("model", "model.name"), ("dtype", "model.dtype"), ("attn_implementation", "model.attn_implementation"),
                 ("data", "data.path"), ("config_name", "data.config"), ("max_audio_seconds", "data.max_audio_seconds"),
                 ("split", "eval.split"), ("batch_size", "eval.batch_size"), ("max_new_tokens", "eval.max_new_tokens"),
                 ("limit", "eval.max_per_task"), ("bootstrap", "eval.bootstrap"),
                 ("bertscore_model", "eval.bertscore_model"), ("bertscore_layer", "eval.bertscore_layer"))


def settings(args: argparse.Namespace) -> dict:
    """The settings of this evaluation from the layers (`benchmark.config.eval_config`): base.yaml,
    tiny.yaml (tiny model), --config, key=value, then the flags. Keys are `args` attribute names."""
    from benchmark.config import eval_config

    import json

    quoted = lambda v: json.dumps(str(v)) if isinstance(v, (str, Path)) else v  # noqa: E731 - a YAML string
    given = [f"{key}={quoted(getattr(args, dest))}" for dest, key in SETTING_FLAGS if getattr(args, dest) is not None]
    config = eval_config(path=args.config, overrides=[*args.overrides, *given,
                                                      *(["data.over_limit=skip"] if args.skip_long_audio else [])])
    mc, dc, ec = config["model"], config["data"], config["eval"]
    return {"model": mc["name"], "dtype": mc["dtype"], "attn_implementation": mc["attn_implementation"],
            "data": Path(dc["path"]), "config_name": dc["config"], "max_audio_seconds": dc["max_audio_seconds"],
            "over_limit": dc["over_limit"], "split": ec["split"], "batch_size": ec["batch_size"],
            "max_new_tokens": ec["max_new_tokens"], "limit": ec["max_per_task"] or None, "bootstrap": ec["bootstrap"],
            "bertscore_model": ec["bertscore_model"], "bertscore_layer": ec["bertscore_layer"]}


@cli_main(ConfigError, AudioError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args, default=logging.WARNING)
    from benchmark.train import close_distributed, init_distributed

    opts = settings(args)
    args = argparse.Namespace(**{**vars(args), **opts})  # the resolved settings, read below as args.*
    output_dir = preflight(args, opts)
    process = init_distributed(args.device)
    try:
        return _evaluate_cli(args, opts, process, output_dir)
    finally:
        close_distributed()


def _evaluate_cli(args: argparse.Namespace, opts: dict, process, output_dir: Path) -> int:
    from aramega_ssum.outputs import staging_dir, swap_into_place
    from benchmark.model import load_adapter, load_model
    from benchmark.score import format_table

    rows = select_rows(load_rows(args.data, args.split, args.config_name), args.tasks, args.limit)
    if args.ablate_audio:
        rows = ablate_audio(rows, args.ablate_audio)
    model, processor = load_model(args.model, dtype=args.dtype, device=process.device, seed=args.seed,
                                  attn_implementation=opts["attn_implementation"])
    if args.adapter:
        model = load_adapter(model, args.adapter).eval()
    final_dir = output_dir.resolve()
    output_dir = staging_dir(final_dir) if process.is_main_process else final_dir  # written aside, swapped in when complete
    try:
        summary = _generate_and_write(args, opts, process, model, processor, rows, output_dir)
    except BaseException:
        if process.is_main_process:
            shutil.rmtree(output_dir, ignore_errors=True)
        raise
    if summary is None:  # not rank 0
        return 0
    swap_into_place(output_dir, final_dir)
    print(format_table(summary["scores"]))
    audio, gen = summary["audio"], summary["generation"]
    print(f"\n{sum(summary['n'].values())} examples in {summary['eval_wall_s']:.1f} s (RTFx {summary['rtfx']}); "
          f"audio truncated {audio['truncated']}, skipped {audio['skipped']}; budget {gen['max_new_tokens']} new tokens, "
          f"hit by {sum(gen['hit_budget'].values())}, empty {sum(gen['empty'].values())}")
    print(f"predictions: {final_dir / 'predictions.jsonl'}\nscores: {final_dir / 'scores.json'}")
    return 0


def _generate_and_write(args, opts: dict, process, model, processor, rows, output_dir: Path) -> dict | None:
    """Generate, score and write predictions/scores/generation.json into `output_dir` (rank 0)."""
    summary = evaluate(model, processor, rows, output_dir, batch_size=opts["batch_size"],
                       max_new_tokens=opts["max_new_tokens"], max_audio_seconds=opts["max_audio_seconds"],
                       over_limit=opts["over_limit"], bootstrap=args.bootstrap, seed=args.bootstrap_seed,
                       bertscore_model=args.bertscore_model, bertscore_layer=args.bertscore_layer, process=process)
    if summary is None:  # not rank 0
        return None
    write_json_atomic(output_dir / OUTPUT_MARKER, {**summary["generation"], "model": args.model,
                                                   "ablate_audio": args.ablate_audio,
                                                   "revision": model.get_base_model().source.revision
                                                   if args.adapter else model.source.revision})
    return summary


if __name__ == "__main__":
    sys.exit(main())
