"""Model loading: the embedded tiny Qwen2.5-Omni thinker or a real one; LoRA and its trained modules.

`load_model(name="tiny" | "tiny-random" | hub id | local path) -> (model, processor)`:

- "tiny": the committed embedded base `benchmark/tiny_base/` (a small thinker whose every weight
  `python -m benchmark.pretrain_tiny` trained on the embedded train split; its revision is
  ``tiny-<content hash>``), loaded through the same `from_pretrained` path as a real checkpoint.
- "tiny-random": the seeded random thinker of `benchmark.tiny_model` (built once into a cache).
- hub id / local path: resolved by `benchmark.hub.resolve_model` (cache snapshot + sha, or folder +
  content hash); safetensors only, no `trust_remote_code`; a full Qwen2.5-Omni checkpoint
  (model_type ``qwen2_5_omni``, the hub's layout) has its thinker loaded alone (``thinker.*`` keys,
  renamed to transformers 5's names on load); bf16 on CUDA; the vision tower dropped.
- every model gets the stop tokens by name (`benchmark.processor.set_stop_tokens`).

`apply_lora(model, r=16, alpha=32, dropout=0.05, ...)` adapts only the language model's q/k/v/o
projections; the audio encoder and its aligner (`audio_tower.proj`) stay frozen unless asked.
Base-model modules trained besides LoRA (an unfrozen aligner or encoder, `model.extra_trainable`)
are PEFT's `modules_to_save`: saved in the adapter folder by `save_pretrained` and loaded back by
plain `PeftModel.from_pretrained` (`load_adapter` adds the check that every tensor lands).
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import torch

from aramega_ssum.results import ADAPTER_WEIGHTS
from benchmark.processor import load_processor, set_stop_tokens
from benchmark.tiny_model import build_tiny

logger = logging.getLogger(__name__)

TINY_BASE_DIR = Path(__file__).resolve().parent / "tiny_base"  # committed: weights + tokenizer + pretrain.json
RANDOM_TINY = "tiny-random"  # the seeded random thinker (unit tests' fixture, pretraining's initialization)
TINY_NAMES = ("tiny", RANDOM_TINY)
LORA_TARGET_REGEX = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj)$"


def tiny_base_dir() -> Path:
    """The committed embedded base ("tiny"): the folder `benchmark.pretrain_tiny` wrote (see its README note)."""
    path = TINY_BASE_DIR
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: the pretrained tiny base is missing; rebuild it with "
                                f"`make tiny-base` (the command is in {path}/pretrain.json)")
    return path


def load_model(name: str = "tiny", *, dtype=None, device="cpu", seed: int = 0, cache_dir=None,
               gradient_checkpointing: bool = False, attn_implementation: str | None = None,
               drop_vision: bool = True):
    """(model, processor) for "tiny", a hub id or a local path; the model is in eval mode on `device`.

    The weights are placed on `device` by `from_pretrained` itself (``device_map``), the vision tower
    (unused: 0.68B parameters on the 7B) is dropped unless `drop_vision` is False, the stop tokens
    (`set_stop_tokens`) are set, and ``model.source`` holds the `benchmark.hub.ModelSource` (folder
    and revision). `attn_implementation` None picks flash_attention_2 on CUDA when flash-attn is
    installed, else sdpa.
    """
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration as Thinker

    device = torch.device(device)
    if dtype is None:
        dtype = torch.bfloat16 if (device.type == "cuda" and name not in TINY_NAMES) else torch.float32
    elif isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    source = model_source(name, cache_dir=cache_dir, seed=seed)
    kwargs = dict(dtype=dtype, use_safetensors=True, trust_remote_code=False,
                  attn_implementation=attn_implementation or default_attn_implementation(device))
    if device.type != "cpu":
        kwargs["device_map"] = {"": str(device)}
    config = _thinker_config(source.path)
    if config is not None:  # a full Omni checkpoint: take the thinker's weights only
        kwargs.update(config=config, key_mapping={r"^thinker\.": ""})
    model = Thinker.from_pretrained(str(source.path), **kwargs)
    model.to(device)
    model.eval()
    if drop_vision and getattr(model.model, "visual", None) is not None:
        model.model.visual = None  # audio + text only: free the vision tower's memory
    if source.kind == "hub":
        model.config._commit_hash = source.revision  # None after loading by hub id
    model.source = source
    if gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    processor = load_processor(str(source.path))
    set_stop_tokens(model, processor.tokenizer)
    logger.info("loaded %s (%s, revision %s, %.1fM parameters, %s) on %s", name, dtype, source.revision,
                num_params(model) / 1e6, kwargs["attn_implementation"], device)
    return model, processor


def model_source(name: str, *, cache_dir=None, seed: int = 0):
    """The `benchmark.hub.ModelSource` (folder, revision, kind) of "tiny", "tiny-random", a hub id or a folder."""
    from benchmark.hub import ModelSource, content_sha256, resolve_model

    if name == "tiny":
        path = tiny_base_dir()
        return ModelSource(name, path, f"tiny-{content_sha256(path)[:16]}", "tiny")
    if name == RANDOM_TINY:
        path = build_tiny(cache_dir=cache_dir, seed=seed)
        return ModelSource(name, path, f"tiny-random-{path.name}", "tiny")
    return resolve_model(name)


def default_attn_implementation(device) -> str:
    """flash_attention_2 on CUDA when the flash-attn package is installed, else sdpa."""
    import importlib.util

    if torch.device(device).type == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _thinker_config(path):
    """The thinker sub-config when `path` holds a full Qwen2.5-Omni checkpoint, else None."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(path), trust_remote_code=False)
    if config.model_type == "qwen2_5_omni":
        return config.thinker_config
    if config.model_type != "qwen2_5_omni_thinker":
        raise ValueError(f"{path}: model_type {config.model_type!r} is not a Qwen2.5-Omni (thinker) checkpoint")
    return None


def num_params(model, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# ---------------------------------------------------------------------------------------------
# LoRA, the modules trained besides it, adapters
# ---------------------------------------------------------------------------------------------

def apply_lora(model, r: int = 16, alpha: int = 32, dropout: float = 0.05, *,
               train_aligner: bool = False, train_audio_encoder: bool = False,
               extra_trainable: list[str] | tuple = (), target_regex: str = LORA_TARGET_REGEX):
    """Wrap `model` with LoRA on the LM's attention projections; returns (peft_model, info).

    The aligner (`train_aligner`), the rest of the audio encoder (`train_audio_encoder`) and the
    modules holding the parameters that `extra_trainable` (regexes of parameter names) matches are
    trained whole, as PEFT's `modules_to_save`. info: {"r", "alpha", "dropout", "targets" (regex),
    "adapted_modules" (names), "modules_to_save", "extra_modules" (those of `extra_trainable`),
    "trainable_params", "total_params", "train_aligner", "train_audio_encoder"}. Raises if any
    adapted module lies in the audio or vision tower, or inside a module trained whole.
    """
    from peft import LoraConfig, get_peft_model

    candidates = [n for n, _ in model.named_modules() if re.fullmatch(target_regex, n)]
    if not candidates:
        raise ValueError(f"LoRA target regex {target_regex!r} matches no module of {type(model).__name__}")
    extra = extra_modules(model, extra_trainable)
    trained = outermost(audio_modules(model, train_aligner, train_audio_encoder) + extra)
    clash = [c for c in candidates if any(c == t or c.startswith(t + ".") for t in trained)]
    if clash:
        raise ValueError(f"modules trained whole {trained} hold LoRA targets {clash[:3]}")
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_regex,
                        bias="none", task_type="CAUSAL_LM", modules_to_save=trained or None)
    peft_model = get_peft_model(model, config)
    adapted = sorted({n.rsplit(".lora_A", 1)[0].removeprefix("base_model.model.")
                      for n, _ in peft_model.named_modules() if n.endswith(".lora_A")})
    bad = [n for n in adapted if "audio_tower" in n or "visual" in n]
    if bad:
        raise RuntimeError(f"LoRA hit modules outside the language model: {bad[:5]}")
    info = {
        "r": r, "alpha": alpha, "dropout": dropout, "targets": target_regex, "adapted_modules": adapted,
        "modules_to_save": trained, "extra_modules": extra,
        "trainable_params": num_params(peft_model, trainable_only=True), "total_params": num_params(peft_model),
        "train_aligner": train_aligner, "train_audio_encoder": train_audio_encoder,
    }
    logger.info("LoRA r=%d alpha=%d on %d modules%s; %d trainable of %d parameters", r, alpha, len(adapted),
                f", training {', '.join(trained)}" if trained else "", info["trainable_params"], info["total_params"])
    return peft_model, info


def audio_modules(model, train_aligner: bool, train_audio_encoder: bool) -> list[str]:
    """Names of the audio tower's modules to train: its aligner `proj`, and/or every other part
    (the encoder layers one by one: PEFT cannot wrap a ModuleList)."""
    if not (train_aligner or train_audio_encoder):
        return []
    tower = model.model.audio_tower
    prefix = next(n for n, m in model.named_modules() if m is tower)
    names = [f"{prefix}.proj"] if train_aligner else []
    if train_audio_encoder:
        for child, module in tower.named_children():
            if child == "proj" or not any(True for _ in module.parameters()):
                continue
            if isinstance(module, torch.nn.ModuleList):
                names += [f"{prefix}.{child}.{i}" for i in range(len(module))]
            else:
                names.append(f"{prefix}.{child}")
    return names


def extra_modules(model, patterns) -> list[str]:
    """The modules owning the parameters whose names fully match one of `patterns` (model.extra_trainable)."""
    names = [n for n, _ in model.named_parameters() if any(re.fullmatch(pat, n) for pat in patterns)]
    unused = [pat for pat in patterns if not any(re.fullmatch(pat, n) for n in names)]
    if unused:
        raise ValueError(f"model.extra_trainable: {unused} match no parameter of {type(model).__name__}")
    return sorted({n.rsplit(".", 1)[0] for n in names if "." in n})


def outermost(names: list[str]) -> list[str]:
    """`names` without duplicates and without modules that lie inside another of them, sorted."""
    unique = sorted(set(names))
    return [n for n in unique if not any(n.startswith(o + ".") for o in unique)]


def load_adapter(model, adapter_dir, *, is_trainable: bool = False):
    """Attach a saved PEFT adapter (LoRA and its `modules_to_save`) to a loaded base model.

    Plain `PeftModel.from_pretrained`, plus the check PEFT leaves to a warning: every tensor of the
    adapter's weights file must land on a parameter of the same shape (else a ValueError naming the
    file and the tensor), so the adapted model is the one the run evaluated.
    """
    from peft import PeftModel
    from peft.utils import get_peft_model_state_dict
    from safetensors import safe_open

    path = Path(adapter_dir) / ADAPTER_WEIGHTS
    old = Path(adapter_dir) / "extra_trainable.safetensors"  # the side file of runs before modules_to_save
    if old.is_file():
        raise ValueError(f"{old}: base weights in the old side-file format, which PEFT does not load; "
                         "re-run the training (its weights now live in the adapter as modules_to_save)")
    with safe_open(str(path), framework="pt") as fh:
        shapes = {key: tuple(fh.get_slice(key).get_shape()) for key in fh.keys()}
    try:
        peft_model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=is_trainable)
    except RuntimeError as exc:  # torch's size-mismatch report
        peft_model = None
        reason = str(exc).strip().splitlines()[-1].strip()
    if peft_model is not None:
        expected = {k: tuple(v.shape) for k, v in get_peft_model_state_dict(peft_model).items()}
        wrong = [k for k in shapes if expected.get(k) != shapes[k]]
        reason = None if not wrong else (f"{wrong[0]} {shapes[wrong[0]]} does not fit the model "
                                         f"({'no such parameter' if wrong[0] not in expected else expected[wrong[0]]})")
    if reason:
        raise ValueError(f"{path}: {reason}")
    return peft_model


__all__ = ["load_model", "apply_lora", "load_adapter", "LORA_TARGET_REGEX", "num_params", "TINY_BASE_DIR",
           "RANDOM_TINY"]
