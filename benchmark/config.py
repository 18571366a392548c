"""Run configuration: `benchmark/configs/<strategy>.yaml` + `key=value` overrides -> a resolved dict.

Every setting has a typed default in `DEFAULTS` (below). A strategy file may change any of them and
carries its own `schedule:` block (the scheduling strategy's settings, passed to `make_plan`).
Command-line overrides use dotted keys (`train.lr=3e-4`, `schedule.stages=2`); values are parsed as
YAML scalars and checked against the type of the default. Unknown keys and wrong types are errors
naming the key (and a close match when there is one).
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
from pathlib import Path

import yaml

from aramega_ssum.registry import did_you_mean

log = logging.getLogger(__name__)
CONFIG_DIR = Path(__file__).parent / "configs"

DEFAULTS: dict = {
    "model": {
        "name": "tiny",  # "tiny" | hub id | local path
        "dtype": None,  # null = bfloat16 on GPU, float32 on CPU
        "gradient_checkpointing": True,  # recompute activations in backward (~3x less memory on the 7B)
        "attn_implementation": None,  # null = flash_attention_2 on CUDA when installed, else sdpa
        "train_aligner": False,  # thinker.audio_tower.proj
        "train_audio_encoder": False,  # thinker.audio_tower
        "extra_trainable": [],  # regexes of base-model parameter names also trained (e.g. "lm_head.weight")
    },
    "lora": {
        "r": 16,
        "alpha": 32,
        "dropout": 0.05,
        "target_regex": r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj)$",  # language model only
    },
    "data": {
        "path": "aramega-ssum",  # built with the embedded default if missing
        "config": "multitask",
        "max_audio_seconds": None,  # null = no bound (long audio is never truncated silently)
        "over_limit": "truncate",  # what happens to a clip over max_audio_seconds: truncate | skip
    },
    "train": {
        "seed": 0,
        "max_steps": 1000,  # optimizer steps (global batches)
        "batch_size": 8,  # effective (global) batch: examples per optimizer step, all ranks together
        "micro_batch_size": 4,  # at most this many examples per forward pass on one rank (gradient accumulation)
        "max_tokens_per_micro_batch": 8192,  # and at most this many padded tokens (audio: 25/s); 0 = no bound
        "lr": 1.0e-4,  # LoRA weights
        "base_lr": None,  # trained base-model weights (aligner, encoder, extra_trainable); null = lr
        "weight_decay": 0.0,
        "betas": [0.9, 0.999],
        "warmup_steps": 5,
        "min_lr_ratio": 0.0,  # cosine decays to lr * min_lr_ratio
        "grad_clip": 1.0,
        "val_every": 10,  # validation per-task loss every N steps (0 = never; also at the end)
        "val_max_per_task": 8,  # validation examples per task for the loss curves (0 = all)
        "checkpoint_every": 20,  # 0 = only at the end
        "keep_checkpoints": 1,
        "cpu_threads": 0,  # torch intra-op threads per process on CPU (0 = torch's default)
    },
    "eval": {
        "split": "test",
        "batch_size": 8,
        "max_new_tokens": 256,
        "max_per_task": 0,  # 0 = the whole split
        "bootstrap": 1000,
        "bertscore_model": None,
        "bertscore_layer": None,
    },
    "output": {
        "dir": None,  # null = runs/<run-id>/
        "plots": True,
    },
    "schedule": {},
    # Dotted-key settings applied when model.name is "tiny" (the embedded CPU demo), unless the same
    # key is given on the command line: a random tiny model needs other settings than a pretrained one.
    "tiny": {},
}
FREE_BLOCKS = ("schedule", "tiny")  # mappings whose keys are not fixed by DEFAULTS

# Types of settings whose default is null (anything else takes the type of its default).
NULLABLE_TYPES: dict[str, tuple[type, ...]] = {
    "model.dtype": (str,),
    "model.attn_implementation": (str,),
    "data.max_audio_seconds": (int, float),
    "train.base_lr": (int, float),
    "eval.bertscore_model": (str,),
    "eval.bertscore_layer": (int,),
    "output.dir": (str,),
}


class ConfigError(ValueError):
    """A bad config file or override; the message names the key."""


def config_path(strategy: str) -> Path | None:
    """The YAML file of a strategy of the registry; None when the strategy has no file (defaults).

    The names come from `aramega_ssum.scheduling` only; an unknown name is an error naming close ones.
    """
    from aramega_ssum.scheduling import strategy_names

    known = strategy_names()
    if strategy not in known:
        hint = did_you_mean(strategy, known)
        raise ConfigError(f"unknown strategy {strategy!r}{'; ' + hint if hint else ''} (known: {', '.join(known)})")
    path = CONFIG_DIR / f"{strategy}.yaml"
    if not path.is_file():
        log.warning("strategy %r has no %s: DEFAULTS and the strategy's own schedule defaults", strategy, path)
        return None
    return path


def load_config(strategy: str, overrides: list[str] | tuple[str, ...] = (), *, path: str | Path | None = None) -> dict:
    """The resolved config of `strategy`: defaults <- YAML file (if any) <- `key=value` overrides."""
    path = Path(path) if path else config_path(strategy)
    try:
        data = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path else {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    config = copy.deepcopy(DEFAULTS)
    named = data.pop("strategy", strategy)  # present in a resolved config.yaml
    if named != strategy:
        raise ConfigError(f"{path}: strategy is {named!r}, not {strategy!r}")
    for block in FREE_BLOCKS:
        value = data.pop(block, None) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: {block!r} must be a mapping")
        config[block] = copy.deepcopy(value)
    _merge(config, data, prefix="", source=str(path or "DEFAULTS"))
    config["strategy"] = strategy
    for item in overrides:
        apply_override(config, item)
    if config["model"]["name"] == "tiny":
        _apply_tiny(config, overrides, source=f"{path or 'DEFAULTS'}: tiny")
    return config


def _apply_tiny(config: dict, overrides, *, source: str) -> None:
    """Apply the `tiny:` block's dotted settings, except keys also given on the command line.

    The block is emptied afterwards: a resolved config holds final values (and loads back unchanged).
    """
    given = {item.split("=", 1)[0].strip() for item in overrides}
    for key, value in config["tiny"].items():
        if key.split(".")[0] in FREE_BLOCKS:
            raise ConfigError(f"{source}: {key!r} cannot be set from the tiny block")
        if key not in given:
            set_value(config, key, value, source=source)
    if config["tiny"]:
        log.info("tiny model: applied %s", ", ".join(f"{k}={v}" for k, v in config["tiny"].items() if k not in given))
    config["tiny"] = {}


def apply_override(config: dict, item: str) -> None:
    """Apply one `dotted.key=value` override in place (value parsed as YAML, type-checked)."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} is not of the form key=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {key}: cannot parse value {raw!r}: {exc}") from exc
    set_value(config, key, value, source="command line")


def set_value(config: dict, key: str, value, *, source: str = "command line") -> None:
    """Set a dotted key, checking that it exists and that the value has the default's type."""
    parts = key.split(".")
    if parts[0] in ("strategy", "tiny") or not all(parts):
        raise ConfigError(f"{source}: cannot set {key!r}")
    node = config
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            _unknown(key, ".".join(parts[: depth + 1]), node, source)
        node = node[part]
    leaf = parts[-1]
    if not isinstance(node, dict) or leaf not in node:
        _unknown(key, key, node, source)
    node[leaf] = check_type(key, node[leaf], value, source=source)


def check_type(key: str, default, value, *, source: str = "command line"):
    """`value` coerced to the type of `default` (int -> float allowed); ConfigError naming `key` otherwise."""
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {key} must be a mapping, got {value!r}")
        out = copy.deepcopy(default)
        _merge(out, value, prefix=key + ".", source=source)
        return out
    if default is None:
        allowed = NULLABLE_TYPES.get(key)
        if value is None or allowed is None:
            return value
        value = _yaml_float(value) if float in allowed else value
        if isinstance(value, bool) or not isinstance(value, allowed):
            names = "/".join(t.__name__ for t in allowed)
            raise ConfigError(f"{source}: {key} must be {names} or null, got {value!r}")
        return value
    if value is None and key in NULLABLE_TYPES:
        return None
    value = _yaml_float(value) if isinstance(default, float) else value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(
            not default or type(v) is type(default[0]) or (isinstance(default[0], float) and isinstance(v, int))
            for v in value
        )
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(
            f"{source}: {key} must be {type(default).__name__} (like the default {default!r}), got {value!r}"
        )
    return value


def _yaml_float(value):
    """YAML 1.1 reads `3e-4` as a string; accept it where a float is expected."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _merge(config: dict, data: dict, *, prefix: str, source: str) -> None:
    """Merge `data` into `config`, key by key, with the checks of `set_value`."""
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key not in config:
            _unknown(full, full, config, source)
        config[key] = check_type(full, config[key], value, source=source)


def _unknown(key: str, missing: str, node, source: str):
    known = sorted(node) if isinstance(node, dict) else []
    last = missing.split(".")[-1]
    hint = did_you_mean(last, known)
    extra = f"; {hint}" if hint else ""
    raise ConfigError(f"{source}: unknown config key {key!r} ({missing!r} is not one of {known}){extra}")


def eval_config(model: str, path: str | Path | None = None) -> dict:
    """The resolved settings a run with `model` evaluates with (its `eval:` and `data:` blocks).

    `path`: a run's config.yaml or a strategy file; default benchmark/configs/uniform.yaml (the four
    strategy files share their eval settings). So `benchmark.evaluate` and `benchmark.run` use one
    generation budget (the tiny block included).
    """
    path = Path(path) if path else config_path("uniform")
    try:
        strategy = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("strategy", path.stem)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    return load_config(str(strategy), [f"model.name={model}"], path=path)


def schedule_sha256(config: dict) -> str:
    """sha256 of the canonical JSON of the `schedule` block (keys sorted), as written to results."""
    block = json.dumps(config.get("schedule", {}), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(block.encode("utf-8")).hexdigest()


def dump_config(config: dict) -> str:
    """The resolved config as YAML text (what `config.yaml` in a run folder holds)."""
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def save_config(config: dict, path: str | Path) -> Path:
    """Write the resolved config to `path`."""
    path = Path(path)
    path.write_text(dump_config(config), encoding="utf-8")
    return path
