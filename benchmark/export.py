"""Export a run's LoRA adapter for the full Qwen2.5-Omni model: a hub-named PEFT adapter and a merged checkpoint.

Examples:
    python -m benchmark.export runs/hybrid --output-dir exports/hybrid
    python -m benchmark.export runs/hybrid --output-dir exports/hybrid --base /models/Qwen2.5-Omni-7B
    python -m benchmark.export runs/hybrid --output-dir exports/hybrid --no-merged   # the adapter only

Writes
- ``OUT/adapter/``: ``adapter_model.safetensors`` with the hub's names for the FULL model
  (``base_model.model.thinker.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight``) and
  ``adapter_config.json`` with ``target_modules`` a list of plain names and ``base_model_name_or_path``
  set: what vLLM's LoRA loader (thinker language model only) and PEFT on
  ``Qwen2_5OmniForConditionalGeneration`` expect. transformers 5 renames the thinker's text model
  to ``thinker.model.language_model``: load it with PEFT through `load_exported_adapter` (it passes
  `FULL_OMNI_KEY_MAPPING`; without it PEFT silently leaves lora_B at zero). Modules the run trained
  whole (PEFT ``modules_to_save``: an aligner, the LM head) stay ``modules_to_save`` of the full
  model (``thinker.`` + the run's name), their tensors in hub names; vLLM does not load those: serve
  the merged checkpoint then.
- ``OUT/merged/``: the base checkpoint in the hub's layout (full-Omni ``config.json``, same shards and
  index) with W + scale * B @ A in every adapted thinker projection (scale = alpha / r), every other
  tensor (talker, token2wav, audio and vision towers) copied unchanged, tokenizer, processor,
  chat-template and speaker files alongside, and a ``generation_config.json`` with the stop tokens.
- ``OUT/export.json``: what was exported from what (run, base, revision, scale, tensor counts).
The base defaults to the run's ``model.name`` (config.yaml); it must be a full Qwen2.5-Omni checkpoint.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import sys
from aramega_ssum.cli import add_common, cli_main, deprecated, make_parser, setup_logging
from pathlib import Path

logger = logging.getLogger(__name__)

FULL_OMNI_KEY_MAPPING = {r"^thinker\.model\.(?!language_model\.)": "thinker.model.language_model.",
                         r"^thinker\.audio_tower\.": "thinker.model.audio_tower."}
_V5_TO_HUB = [("model.language_model.", "thinker.model."), ("model.audio_tower.", "thinker.audio_tower."),
              ("model.visual.", "thinker.visual."), ("lm_head.", "thinker.lm_head.")]
_LORA_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<ab>[AB])\.weight$")
COPIED_SUFFIXES = (".json", ".txt", ".jinja", ".pt", ".model", ".py")
MARKER = "export.json"


class ExportError(ValueError):
    """A run or base that cannot be exported (message names the file)."""


def hub_name(name: str) -> str:
    """transformers-5 thinker parameter/module name -> the hub's full-Omni name (``thinker.model...``)."""
    name = name.removeprefix("base_model.model.")
    for v5, hub in _V5_TO_HUB:
        if name.startswith(v5):
            return hub + name[len(v5):]
    raise ExportError(f"{name}: not a thinker name this exporter knows (model.language_model/audio_tower/visual, lm_head)")


def read_adapter(adapter_dir: Path) -> tuple[dict, dict, dict]:
    """(adapter_config, {hub module name: (A, B)}, {hub parameter name: tensor of a modules_to_save}) of a run's adapter."""
    from safetensors.torch import load_file

    cfg_path, weights_path = adapter_dir / "adapter_config.json", adapter_dir / "adapter_model.safetensors"
    for path in (cfg_path, weights_path):
        if not path.is_file():
            raise ExportError(f"{path}: missing (is {adapter_dir.parent} a finished benchmark.run folder?)")
    config = json.loads(cfg_path.read_text(encoding="utf-8"))
    if config.get("peft_type") != "LORA" or config.get("use_dora"):
        raise ExportError(f"{cfg_path}: only plain LoRA adapters can be exported (peft_type {config.get('peft_type')})")
    pairs: dict[str, dict] = {}
    whole = tuple(f"base_model.model.{m}." for m in config.get("modules_to_save") or ())
    extra = {}
    for key, tensor in load_file(str(weights_path)).items():
        match = _LORA_KEY.match(key)
        if match is None and key.startswith(whole):
            extra[hub_name(key)] = tensor
        elif match is None:
            raise ExportError(f"{weights_path}: unexpected tensor {key}")
        else:
            pairs.setdefault(hub_name(match["module"]), {})[match["ab"]] = tensor
    incomplete = [m for m, ab in pairs.items() if set(ab) != {"A", "B"}]
    if incomplete:
        raise ExportError(f"{weights_path}: lora_A/lora_B missing for {incomplete[:3]}")
    return config, {m: (ab["A"], ab["B"]) for m, ab in pairs.items()}, extra


def lora_scale(config: dict) -> float:
    r, alpha = config["r"], config["lora_alpha"]
    return alpha / r ** 0.5 if config.get("use_rslora") else alpha / r


def write_adapter(out: Path, config: dict, pairs: dict, base_name: str, extra: dict) -> None:
    """OUT/adapter: hub-named tensors, plain target_modules, base_model_name_or_path; the modules the
    run trained whole as the full model's modules_to_save."""
    from safetensors.torch import save_file

    out.mkdir(parents=True)
    tensors = {f"base_model.model.{name}": tensor.contiguous() for name, tensor in sorted(extra.items())}
    for module, (a, b) in sorted(pairs.items()):
        tensors[f"base_model.model.{module}.lora_A.weight"] = a.contiguous()
        tensors[f"base_model.model.{module}.lora_B.weight"] = b.contiguous()
    save_file(tensors, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    targets = sorted({m.rsplit(".", 1)[-1] for m in pairs})
    whole = sorted(f"thinker.{m}" for m in config.get("modules_to_save") or ()) or None
    config = {**config, "target_modules": targets, "base_model_name_or_path": base_name,
              "layers_to_transform": None, "layers_pattern": None, "modules_to_save": whole}
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if whole:
        logger.warning("the run also trained %s whole: in the adapter as modules_to_save (PEFT loads them, vLLM "
                       "does not); the merged checkpoint has them", ", ".join(whole))


def shard_files(base: Path) -> list[str]:
    index = base / "model.safetensors.index.json"
    if index.is_file():
        return sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
    if (base / "model.safetensors").is_file():
        return ["model.safetensors"]
    raise ExportError(f"{base}: no model.safetensors or model.safetensors.index.json")


def write_merged(out: Path, base: Path, pairs: dict, scale: float, extra: dict) -> dict:
    """OUT/merged: the base's shards with the LoRA merged (and the modules trained whole replaced); other files copied."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    out.mkdir(parents=True)
    todo, merged, copied = {f"{m}.weight" for m in pairs} | set(extra), 0, 0
    for shard in shard_files(base):
        tensors = {}
        with safe_open(str(base / shard), framework="pt") as fh:
            metadata = fh.metadata() or {"format": "pt"}
            for key in fh.keys():
                tensor = fh.get_tensor(key)
                module = key.removesuffix(".weight")
                if module in pairs and key.endswith(".weight"):
                    a, b = pairs[module]
                    if (b.shape[0], a.shape[1]) != tuple(tensor.shape):
                        raise ExportError(f"{base / shard}: {key} {tuple(tensor.shape)} does not fit LoRA "
                                          f"B{tuple(b.shape)} @ A{tuple(a.shape)}")
                    tensor = (tensor.float() + scale * (b.float() @ a.float())).to(tensor.dtype)
                    merged += 1
                elif key in extra:
                    tensor = extra[key].to(tensor.dtype)
                    merged += 1
                else:
                    copied += 1
                todo.discard(key)
                tensors[key] = tensor.contiguous()
        save_file(tensors, str(out / shard), metadata=metadata)
    if todo:
        raise ExportError(f"{base}: the adapter adapts {sorted(todo)[:3]}, which the base checkpoint does not hold")
    for path in sorted(base.iterdir()):
        if path.is_file() and path.name.endswith(COPIED_SUFFIXES) and not (out / path.name).exists():
            shutil.copy2(path, out / path.name)
    return {"merged_tensors": merged, "copied_tensors": copied}


def write_generation_config(out: Path, base: Path) -> None:
    """generation_config.json with the stop tokens by name (the hub's has no eos)."""
    from benchmark.processor import load_processor, stop_tokens

    path = out / "generation_config.json"
    config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    config.pop("_from_model_config", None)
    stops = stop_tokens(load_processor(str(base)).tokenizer)
    config.update(eos_token_id=stops["eos_token_id"], pad_token_id=stops["pad_token_id"])
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def load_exported_adapter(full_model, adapter_dir, **kwargs):
    """PEFT on a transformers-5 `Qwen2_5OmniForConditionalGeneration` with the exported (hub-named) adapter."""
    from peft import PeftModel

    return PeftModel.from_pretrained(full_model, str(adapter_dir), key_mapping=FULL_OMNI_KEY_MAPPING, **kwargs)


def base_of(run_dir: Path, base: str | None) -> str:
    """--base, else the run's model.name (config.yaml)."""
    import yaml

    if base:
        return base
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise ExportError(f"{path}: missing; give --base")
    return str(yaml.safe_load(path.read_text(encoding="utf-8"))["model"]["name"])


def prepare_output(out: Path) -> None:
    """Refuse to write into a folder that is not empty and not a previous export; clear a previous export."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise ExportError(f"{out}: exists and is not an earlier benchmark.export output ({MARKER} missing)")
        for name in ("adapter", "merged", MARKER):
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def export(run_dir, output_dir, *, base: str | None = None, merged: bool = True) -> dict:
    """Write OUT/adapter, OUT/merged (unless `merged` is False) and OUT/export.json; returns the latter."""
    from benchmark.hub import resolve_model

    run_dir, out = Path(run_dir), Path(output_dir)
    adapter_dir = run_dir / "adapter"
    config, pairs, extra = read_adapter(adapter_dir)
    base_name = base_of(run_dir, base)
    if base_name == "tiny":
        raise ExportError("the tiny model is a thinker-only checkpoint; export needs a full Qwen2.5-Omni base (--base)")
    source = resolve_model(base_name)
    base_config = json.loads((source.path / "config.json").read_text(encoding="utf-8"))
    if base_config.get("model_type") != "qwen2_5_omni":
        raise ExportError(f"{source.path}/config.json: model_type {base_config.get('model_type')!r}; the export "
                          "needs the full Qwen2.5-Omni checkpoint (model_type qwen2_5_omni)")
    prepare_output(out)
    (out / MARKER).write_text(json.dumps({"run": str(run_dir), "complete": False}) + "\n", encoding="utf-8")
    scale = lora_scale(config)
    write_adapter(out / "adapter", config, pairs, base_name, extra)
    info = {"run": str(run_dir), "base": base_name, "revision": source.revision, "scale": scale,
            "adapted_modules": len(pairs), "targets": sorted({m.rsplit(".", 1)[-1] for m in pairs}),
            "extra_trained": sorted(extra), "adapter": str(out / "adapter"), "complete": True}
    if merged:
        info.update(write_merged(out / "merged", source.path, pairs, scale, extra), merged=str(out / "merged"))
        write_generation_config(out / "merged", source.path)
    (out / MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def parse_args(argv=None) -> argparse.Namespace:
    parser = make_parser("python -m benchmark.export", __doc__)
    parser.add_argument("run_dir", type=Path, help="a benchmark.run folder (holds adapter/ and config.yaml)")
    parser.add_argument("--output-dir", "--output", dest="output_dir", type=Path, required=True,
                        help="where to write adapter/, merged/ and export.json")
    parser.add_argument("--base", help="the full Qwen2.5-Omni checkpoint (hub id or folder); default the run's model")
    parser.add_argument("--no-merged", action="store_true", help="write the adapter only")
    add_common(parser)
    return parser.parse_args(argv)


@cli_main(ExportError)
def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args, default=logging.WARNING)
    info = export(args.run_dir, args.output_dir, base=args.base, merged=not args.no_merged)
    print(f"adapter: {info['adapter']} ({info['adapted_modules']} modules, targets {info['targets']}, "
          f"scale {info['scale']:g})")
    if "merged" in info:
        print(f"merged: {info['merged']} ({info['merged_tensors']} tensors merged, {info['copied_tensors']} copied)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
