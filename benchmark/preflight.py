"""Everything `benchmark.run` and `benchmark.evaluate` can check before loading a weight, in seconds.

`check_run(config, ...)` / `check_evaluate(...)` collect every problem (model, device, dtype,
numeric ranges, data folder and each split the command will read, output folder) and raise ONE
`PreflightError` listing them all, so a 7B run never fails after training on a typo.

`--resume` may change only the keys in `RESUME_MAY_CHANGE` (they affect neither the data order nor
the optimisation nor the results' meaning): any other override differing from the run's saved
config.yaml is refused, naming the key and both values.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from aramega_ssum.cli import Interrupted, UsageError

log = logging.getLogger("benchmark.run")

DTYPES = ("float32", "bfloat16", "float16")
RESUME_MAY_CHANGE = ("eval.batch_size", "eval.bertscore_model", "eval.bertscore_layer", "output.plots",
                     "output.dir", "train.cpu_threads", "train.checkpoint_every", "train.keep_checkpoints",
                     "model.attn_implementation")

# (key, lowest allowed, inclusive?) for numbers; None values pass where the setting is nullable.
RANGES = (
    ("lora.r", 1, True), ("lora.alpha", 0, False), ("lora.dropout", 0, True),
    ("train.max_steps", 1, True), ("train.batch_size", 1, True), ("train.micro_batch_size", 1, True),
    ("train.max_tokens_per_micro_batch", 0, True), ("train.lr", 0, False), ("train.base_lr", 0, False),
    ("train.weight_decay", 0, True), ("train.warmup_steps", 0, True), ("train.min_lr_ratio", 0, True),
    ("train.grad_clip", 0, True), ("train.val_every", 0, True), ("train.val_max_per_task", 0, True),
    ("train.checkpoint_every", 0, True), ("train.keep_checkpoints", 1, True), ("train.cpu_threads", 0, True),
    ("train.seed", 0, True), ("eval.batch_size", 1, True), ("eval.max_new_tokens", 1, True),
    ("eval.max_per_task", 0, True), ("eval.bootstrap", 0, True), ("data.max_audio_seconds", 0, False),
)


class PreflightError(UsageError):
    """Every problem found before the run; the message lists them all."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(problems[0] if len(problems) == 1 else
                         f"{len(problems)} problems found before loading the model: " + "; ".join(problems))


def _get(config: dict, key: str):
    node = config
    for part in key.split("."):
        node = node[part]
    return node


def check_numbers(config: dict) -> list[str]:
    """Range problems of the numeric settings (`RANGES`), plus the few closed sets."""
    problems = []
    for key, low, inclusive in RANGES:
        value = _get(config, key)
        if value is None:
            continue
        if value < low or (not inclusive and value == low):
            problems.append(f"{key}={value!r} must be {'>=' if inclusive else '>'} {low}")
    if not _get(config, "lora.dropout") < 1:
        problems.append(f"lora.dropout={config['lora']['dropout']!r} must be < 1")
    if config["data"]["over_limit"] not in ("truncate", "skip"):
        problems.append(f"data.over_limit={config['data']['over_limit']!r} must be truncate or skip")
    if config["train"]["micro_batch_size"] > config["train"]["batch_size"]:
        problems.append(f"train.micro_batch_size={config['train']['micro_batch_size']} exceeds "
                        f"train.batch_size={config['train']['batch_size']}")
    return problems


def check_schedule(strategy: str, block: dict) -> list[str]:
    """The `schedule:` block parses as the strategy's settings; hybrid's switch is strictly inside (0, 1)."""
    from aramega_ssum.scheduling import get_strategy
    from aramega_ssum.registry import parse_options as parse_config

    block = {k: v for k, v in (block or {}).items() if k != "strategy"}
    try:
        parse_config(get_strategy(strategy).config_cls, block, where=f"schedule ({strategy})")
    except (ValueError, TypeError, KeyError) as exc:
        return [str(exc).strip("'\"")]
    switch = block.get("switch")
    if strategy == "hybrid" and switch is not None and not 0 < switch < 1:
        return [f"schedule.switch={switch!r} must be > 0 and < 1 (0 is ads, 1 is tpc: use that strategy)"]
    return []


def check_model(name: str) -> list[str]:
    if name == "tiny":
        return []
    from benchmark.hub import ModelNotFoundError, resolve_model

    try:
        resolve_model(name)
    except ModelNotFoundError as exc:
        return [str(exc)]
    return []


def check_device(device: str | None) -> list[str]:
    import torch

    if device is None:
        return []
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        return [f"--device {device!r}: not a torch device (cpu, cuda, cuda:N)"]
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            return [f"--device {device}: no CUDA GPU is visible on this machine (use --device cpu)"]
        if dev.index is not None and dev.index >= count:
            return [f"--device {device}: only {count} CUDA device(s) visible"]
    elif dev.type != "cpu":
        return [f"--device {device}: only cpu and cuda are supported"]
    return []


def check_dtype(dtype: str | None, key: str = "model.dtype") -> list[str]:
    if dtype is None or dtype in DTYPES:
        return []
    return [f"{key}={dtype!r} is not one of {', '.join(DTYPES)}"]


def check_data(path, config_name: str, splits: list[str], *, option: str = "--data",
               split_key: str = "--split") -> list[str]:
    """The data folder exists (a missing one names the build command) and each split has rows."""
    import pyarrow.parquet as pq

    from aramega_ssum.schema import CONFIGS, SPLITS

    path = Path(path)
    if config_name not in CONFIGS:
        return [f"data.config={config_name!r} is not one of {', '.join(CONFIGS)}"]
    problems = [f"{split_key}={s!r} is not one of {', '.join(SPLITS)}" for s in splits if s not in SPLITS]
    splits = [s for s in splits if s in SPLITS]
    if not path.exists():
        return problems + [f"{option} {path}: no such folder; build it with `python -m builders.build --output-dir {path}`"]
    for split in dict.fromkeys(splits):
        files = sorted((path / config_name).glob(f"{split}-*.parquet"))
        if not files:
            problems.append(f"{path}/{config_name}: no {split}-*.parquet")
            continue
        try:
            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        except Exception as exc:  # noqa: BLE001 - a corrupt shard is a user-facing problem here
            problems.append(f"{files[0].parent}: cannot read the {split} parquet ({exc})")
            continue
        if rows == 0:
            problems.append(f"{path}/{config_name}: the {split} split is empty (0 rows)")
    return problems


def raise_if(problems: list[str]) -> None:
    if problems:
        raise PreflightError(problems)


def flat(config: dict, prefix: str = "") -> dict:
    """{dotted key: value} of a resolved config's settings (`schedule` as one value; `sources` left out)."""
    out = {}
    for key, value in config.items():
        if key == "sources" and not prefix:
            continue
        if isinstance(value, dict) and key != "schedule":
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def resume_config(strategy: str, overrides: list[str], run_dir: Path) -> tuple[dict | None, list[str]]:
    """The run's saved config.yaml with the overrides applied, and the refused changes (if any)."""
    from benchmark.config import ConfigError, load_config

    saved_path = run_dir / "config.yaml"
    if not saved_path.is_file():
        return None, [f"--resume: {saved_path} missing (not a benchmark.run folder)"]
    try:
        saved = load_config(strategy, [], path=saved_path)
        config = load_config(strategy, overrides, path=saved_path)
    except ConfigError as exc:
        return None, [str(exc)]
    before, after = flat(saved), flat(config)
    refused = [f"--resume: {key} was {before[key]!r} in {saved_path}, given {after[key]!r} (only "
               f"{', '.join(RESUME_MAY_CHANGE)} may change on resume; start a new run for other changes)"
               for key in after if after[key] != before.get(key) and key not in RESUME_MAY_CHANGE]
    return config, refused


def check_run_dir(run_dir: Path | None, *, resume: bool, overwrite: bool) -> list[str]:
    """The run folder is usable: a checkpointed run for --resume, else new/empty/an old run with --overwrite."""
    from aramega_ssum.outputs import OutputError, check_output_dir
    from benchmark.checkpoint import latest_checkpoint

    if run_dir is None:
        return []
    if resume:
        return [] if run_dir.is_dir() and latest_checkpoint(run_dir) else [
            f"--resume: {run_dir} holds no checkpoint to resume from"]
    try:
        check_output_dir(run_dir, "train_log.jsonl", tool="benchmark.run", overwrite=overwrite)
    except OutputError as exc:
        return [str(exc).replace("pass --overwrite", "pass --resume to continue it or --overwrite")]
    return []


def check_run(config: dict, *, device: str | None, run_dir: Path | None, resume: bool, overwrite: bool,
              extra: list[str] = ()) -> None:
    """Every check of a run before any weight is loaded; one PreflightError listing all problems."""
    problems = list(extra)
    problems += check_numbers(config)
    problems += check_schedule(config["strategy"], config["schedule"])
    problems += check_dtype(config["model"]["dtype"])
    problems += check_device(device)
    splits = ["train"] + (["validation"] if config["train"]["val_every"] else []) + [config["eval"]["split"]]
    problems += check_data(config["data"]["path"], config["data"]["config"], splits, option="data.path",
                           split_key="eval.split")
    problems += check_run_dir(run_dir, resume=resume, overwrite=overwrite)
    problems += check_model(config["model"]["name"])  # last: a hub lookup may take a moment
    raise_if(problems)


def prepare_run(strategy: str, args, overrides: list[str], find_run_dir) -> dict:
    """benchmark.run's resolved config (the saved one on --resume), checked before any weight loads.

    With --overwrite an earlier run is moved aside (config["_replaced"]); the run deletes it at the end.
    """
    from benchmark.config import load_config

    config = load_config(strategy, overrides, path=args.config)
    run_dir, refused = find_run_dir(config, args.resume), []
    if args.resume and run_dir is not None:
        if args.config:
            log.warning("--resume: --config %s ignored; the run continues with %s", args.config, run_dir / "config.yaml")
        saved, refused = resume_config(strategy, overrides, run_dir)
        config = saved or config
    check_run(config, device=args.device, run_dir=run_dir, resume=args.resume, overwrite=args.overwrite,
              extra=refused)
    if args.overwrite and not args.resume and run_dir is not None and (run_dir / "train_log.jsonl").exists() \
            and int(os.environ.get("RANK", "0")) == 0:
        aside = run_dir.with_name(f".{run_dir.name}.old-{os.getpid()}")
        run_dir.rename(aside)  # deleted once the new run has finished; kept if it fails
        log.warning("--overwrite: the earlier run %s moved to %s until this run finishes", run_dir, aside)
        config["_replaced"] = str(aside)
    return config


def interrupted(state) -> Interrupted:
    """The one line printed on Ctrl-C: the step reached, the last checkpoint and the resume command."""
    from benchmark.checkpoint import latest_checkpoint

    ckpt = latest_checkpoint(state.run_dir)
    last = f"last checkpoint {ckpt.name}" if ckpt else "no checkpoint yet (a resume starts over)"
    step = getattr(state.trainer, "step", None)
    command = f"python -m benchmark.run --strategy {state.config['strategy']} --output-dir {state.run_dir} --resume"
    return Interrupted(f"stopped during training{f' at step {step}' if step is not None else ''}; {last}; "
                       f"resume with: {command}")
