"""Run configuration in layers, each value in one file; later layers win:

    base.yaml           the run recipe (benchmark/configs/): every setting but `schedule:`
    tiny.yaml           the overlay for the embedded model, only when model.name is "tiny"
    <strategy>.yaml     the launch command (header) and the strategy's `schedule:` block
    --config FILE       a user's own layer (any keys; a run's resolved config.yaml works too)
    command line        flags and `dotted.key=value` overrides (`train.lr=3e-4`, `schedule.switch=0.3`)

`SCHEMA` below holds the types only (the values are in base.yaml). Values are YAML, checked against
the type (`aramega_ssum.registry.check_value`); unknown keys and wrong types are errors naming the
layer and the key, with a close match when there is one. The resolved config records in `sources`
which layer set each value (dotted key -> layer name). A resolved config (a file with a top-level
`strategy:` or `sources:`, e.g. a run's config.yaml) loaded as a layer keeps the names it records and
its `schedule:` block stands whole, so `--resume` continues a run unchanged; any other file's
`schedule:` keys merge into the strategy file's.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import yaml

from aramega_ssum.registry import check_value, did_you_mean

log = logging.getLogger(__name__)
CONFIG_DIR = Path(__file__).parent / "configs"
BASE, TINY, COMMAND_LINE = "base.yaml", "tiny.yaml", "command line"
SCHEDULE = "schedule"  # the strategy's block: its keys are the strategy's (checked by its options class)

SCHEMA: dict[str, dict[str, Any]] = {
    "model": {"name": str, "dtype": str | None, "gradient_checkpointing": bool, "attn_implementation": str | None,
              "train_aligner": bool, "train_audio_encoder": bool, "extra_trainable": list[str]},
    "lora": {"r": int, "alpha": int, "dropout": float, "target_regex": str},
    "data": {"path": str, "config": str, "max_audio_seconds": float | None, "over_limit": str},
    "train": {"seed": int, "max_steps": int, "batch_size": int, "micro_batch_size": int,
              "max_tokens_per_micro_batch": int, "lr": float, "base_lr": float | None, "weight_decay": float,
              "betas": list[float], "warmup_steps": int, "min_lr_ratio": float, "grad_clip": float,
              "val_every": int, "val_max_per_task": int, "checkpoint_every": int, "keep_checkpoints": int,
              "cpu_threads": int},
    "eval": {"split": str, "batch_size": int, "max_new_tokens": int, "max_per_task": int, "bootstrap": int,
             "bertscore_model": str | None, "bertscore_layer": int | None},
    "output": {"dir": str | None, "plots": bool},
}
RESERVED = ("strategy", "sources")  # top-level keys of a resolved config, not settings


class ConfigError(ValueError):
    """A bad config file or override; the message names the layer and the key."""


class Layer:
    """One layer: its name, its values by dotted key, and (for a resolved config) the layers it recorded."""

    def __init__(self, name: str, values: dict, recorded: dict | None = None):
        self.name, self.values, self.recorded = name, values, recorded


def config_path(strategy: str) -> Path | None:
    """The YAML file of a strategy of the registry; None when the strategy has no file.

    The names come from `aramega_ssum.scheduling` only; an unknown name is an error naming close ones.
    """
    from aramega_ssum.scheduling import strategy_names

    known = strategy_names()
    if strategy not in known:
        hint = did_you_mean(strategy, known)
        raise ConfigError(f"unknown strategy {strategy!r}{'; ' + hint if hint else ''} (known: {', '.join(known)})")
    path = CONFIG_DIR / f"{strategy}.yaml"
    if f"{strategy}.yaml" in (BASE, TINY):
        raise ConfigError(f"strategy name {strategy!r} is taken by {path} (a layer, not a strategy file)")
    if not path.is_file():
        log.warning("strategy %r has no %s: base.yaml and the strategy's own schedule defaults", strategy, path)
        return None
    return path


def load_config(strategy: str, overrides: list[str] | tuple[str, ...] = (), *, path: str | Path | None = None) -> dict:
    """The resolved config of `strategy`: base <- tiny (model "tiny") <- strategy file <- `path` <- overrides."""
    files = [CONFIG_DIR / BASE, config_path(strategy), Path(path) if path else None]
    layers = [read_layer(f, strategy=strategy) for f in files if f is not None]
    return resolve(layers + [parse_overrides(overrides)], strategy=strategy)


def eval_config(model: str | None = None, path: str | Path | None = None, overrides=()) -> dict:
    """The settings `benchmark.evaluate` uses: base <- tiny (model "tiny") <- `path` <- overrides <- `model`.

    The same layers as a run without the strategy file, so evaluate and run share one generation
    budget; `path` may be a run's config.yaml (its `strategy` and `schedule` are not used).
    """
    files = [CONFIG_DIR / BASE, Path(path) if path else None]
    layers = [read_layer(f, strategy=None) for f in files if f is not None]
    given = list(overrides) + ([f"model.name={model}"] if model is not None else [])
    return resolve(layers + [parse_overrides(given)], strategy=None)


def read_layer(path: Path, *, strategy: str | None) -> Layer:
    """A YAML layer file by dotted key; its `strategy` (a resolved config's) must be `strategy`."""
    name = path.name if path.parent == CONFIG_DIR else str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    resolved = "strategy" in data or "sources" in data  # a resolved config (a run's config.yaml)
    named, recorded = data.pop("strategy", strategy), data.pop("sources", None) or {}
    if data.pop("tiny", None):  # an emptied `tiny: {}` is in the config.yaml of runs made before the layers
        raise ConfigError(f"{path}: a 'tiny:' block is no longer read: the tiny model's overlay is "
                          f"{CONFIG_DIR / TINY} (and a value in this file wins over it)")
    if strategy is None:
        data.pop(SCHEDULE, None)  # evaluate: no schedule
    elif named != strategy:
        raise ConfigError(f"{path}: strategy is {named!r}, not {strategy!r}")
    if not isinstance(recorded, dict):
        raise ConfigError(f"{path}: 'sources' must be a mapping of dotted keys to layer names")
    return Layer(name, flatten(data, source=name), recorded if resolved else None)


def parse_overrides(items) -> Layer:
    """The command-line layer from `dotted.key=value` items (values parsed as YAML; the last one wins)."""
    values: dict = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = (part.strip() for part in item.split("=", 1))
        try:
            value = yaml.safe_load(raw) if raw else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {key}: cannot parse value {raw!r}: {exc}") from exc
        values.update(flatten({key: value}, source=COMMAND_LINE))
    return Layer(COMMAND_LINE, values)


def flatten(data: dict, *, source: str, prefix: str = "") -> dict:
    """{dotted key: value} of nested mappings (an empty mapping sets nothing)."""
    out = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, source=source, prefix=full + "."))
        elif full in out:
            raise ConfigError(f"{source}: {full!r} is set twice")
        else:
            out[full] = value
    return out


def resolve(layers: list[Layer], *, strategy: str | None) -> dict:
    """Merge the layers in order (tiny.yaml inserted after base.yaml for model "tiny"); every key set."""
    model = next((lay.values["model.name"] for lay in reversed(layers) if "model.name" in lay.values), None)
    if model == "tiny":
        layers = layers[:1] + [read_layer(CONFIG_DIR / TINY, strategy=strategy)] + layers[1:]
    log.info("config layers: %s", " -> ".join(layer.name for layer in layers if layer.values))
    values: dict = {}
    sources: dict = {}
    for layer in layers:
        _check_layer_scope(layer)
        if layer.recorded is not None:  # a resolved config: its schedule block is complete
            for key in [k for k in values if k.startswith(SCHEDULE + ".")]:
                del values[key], sources[key]
        for key, value in layer.values.items():
            value = checked_value(key, value, values, layer)
            for other in [k for k in values if k.startswith(key + ".") or key.startswith(k + ".")]:
                del values[other], sources[other]  # a mapping replaced by a value, or the reverse
            values[key] = value
            sources[key] = layer.recorded.get(key, layer.name) if layer.recorded is not None else layer.name
    missing = [f"{block}.{key}" for block, keys in SCHEMA.items() for key in keys if f"{block}.{key}" not in values]
    if missing:
        raise ConfigError(f"{', '.join(missing)}: set by no layer (add {'it' if len(missing) == 1 else 'them'} "
                          f"to {CONFIG_DIR / BASE})")
    config = {block: {key: values[f"{block}.{key}"] for key in keys} for block, keys in SCHEMA.items()}
    if strategy is not None:
        config[SCHEDULE] = _nest({k[len(SCHEDULE) + 1:]: v for k, v in values.items() if k.startswith(SCHEDULE + ".")})
        config["strategy"] = strategy
    config["sources"] = {key: sources[key] for key in values}
    return config


def _check_layer_scope(layer: Layer) -> None:
    """base.yaml and tiny.yaml hold no `schedule:`; tiny.yaml does not choose the model."""
    if layer.name in (BASE, TINY):
        for key in layer.values:
            if key.split(".")[0] == SCHEDULE or (layer.name == TINY and key == "model.name"):
                raise ConfigError(f"{CONFIG_DIR / layer.name}: {key!r} cannot be set in {layer.name} "
                                  f"({'the strategy files hold schedule' if key != 'model.name' else 'it applies to the tiny model'})")


def checked_value(key: str, value, values: dict, layer: Layer):
    """`value` for dotted `key` from `layer`, type-checked against `SCHEMA` (or, in `schedule`, against
    the value it replaces; only files may add schedule keys, the strategy's options class checks them)."""
    parts = key.split(".")
    if parts[0] in RESERVED or not all(parts):
        raise ConfigError(f"{layer.name}: cannot set {key!r}")
    if parts[0] == SCHEDULE:
        hint = _schedule_type(key, values, layer)
    elif parts[0] not in SCHEMA:
        _unknown(key, parts[0], [*SCHEMA, SCHEDULE], layer.name)
    elif len(parts) != 2 or parts[1] not in SCHEMA[parts[0]]:
        _unknown(key, key if len(parts) == 2 else ".".join(parts[:2]), SCHEMA[parts[0]], layer.name)
    else:
        hint = SCHEMA[parts[0]][parts[1]]
    if isinstance(value, str) and hint in (float, float | None):
        value = _yaml_float(value)
    try:
        return check_value(value, hint, where=f"{layer.name}: {key}")
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def _schedule_type(key: str, values: dict, layer: Layer):
    """The type a schedule value must keep: that of the value it replaces (Any for a new key from a file)."""
    if key in values:
        old = values[key]
        return Any if old is None else float if isinstance(old, float) else type(old)
    if layer.name != COMMAND_LINE:
        return Any
    parent = key.rsplit(".", 1)[0] + "."
    siblings = sorted({k[len(parent):].split(".")[0] for k in values if k.startswith(parent)})
    _unknown(key, key, siblings, layer.name)


def _yaml_float(value):
    """YAML 1.1 reads `3e-4` as a string; accept it where a float is expected."""
    try:
        return float(value)
    except ValueError:
        return value


def _nest(flat: dict) -> dict:
    out: dict = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = copy.deepcopy(value)
    return out


def _unknown(key: str, missing: str, known, source: str):
    known = sorted(known)
    hint = did_you_mean(missing.split(".")[-1], known)
    extra = f"; {hint}" if hint else ""
    raise ConfigError(f"{source}: unknown config key {key!r} ({missing!r} is not one of {known}){extra}")


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
