"""Model loading: the tiny random Qwen2.5-Omni thinker (built offline, cached) or the real one; LoRA.

`load_model(name="tiny" | "tiny-random" | hub id | local path) -> (model, processor)`:

- "tiny": the committed embedded base `benchmark/tiny_base/` (a small thinker whose every weight
  `python -m benchmark.pretrain_tiny` trained on the embedded train split; its revision is
  ``tiny-<content hash>``), loaded through the same `from_pretrained` path as a real checkpoint.
- "tiny-random": a seeded random `Qwen2_5OmniThinkerForConditionalGeneration` (hidden 64, 2 layers, a
  1-layer audio encoder whose `proj` maps to the LM hidden size, a 1-block vision encoder), a
  byte-level BPE tokenizer trained locally (`tokenizers`) on the embedded corpus text plus the task
  instructions and labels, with the Qwen special tokens and chat template, and a 128-bin
  `WhisperFeatureExtractor`. Built once into ``<cache_dir>/<hash of training text + recipe>/``
  (default ``.cache/tiny-qwen2.5-omni``, or ``$ARAMEGA_SSUM_CACHE/tiny-qwen2.5-omni``): the unit
  tests' model and (at other sizes, `build_tiny_folder`) pretraining's starting point.
- hub id / local path: resolved by `benchmark.hub.resolve_model` (cache snapshot + sha, or folder +
  content hash); safetensors only, no `trust_remote_code`; a full Qwen2.5-Omni checkpoint
  (model_type ``qwen2_5_omni``, the hub's layout) has its thinker loaded alone (``thinker.*`` keys,
  renamed to transformers 5's names on load); bf16 on CUDA; the vision tower dropped.
- every model gets the stop tokens by name: eos ``<|im_end|>`` and ``<|endoftext|>``, pad
  ``<|endoftext|>`` (the hub checkpoint's generation config has no eos).

`apply_lora(model, r=16, alpha=32, dropout=0.05, ...)` adapts only the language model's q/k/v/o
projections; the audio encoder and its aligner (`audio_tower.proj`) stay frozen unless asked.
Base-model weights trained besides LoRA (`model.extra_trainable`, an unfrozen aligner) are saved next to
the adapter as ``extra_trainable.safetensors`` and loaded back by `load_adapter`.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import Qwen2_5OmniProcessor
from transformers.processing_utils import ProcessorMixin

from aramega_ssum.jsonl import iter_jsonl
from aramega_ssum.results import EXTRA_WEIGHTS

logger = logging.getLogger(__name__)

TINY_RECIPE_VERSION = "1"
TINY_VOCAB_SIZE = 4000
TINY_SIZE = {"hidden": 64, "layers": 2, "audio_layers": 1, "audio_dim": 32, "vocab": TINY_VOCAB_SIZE}
DATA_DIR = Path(__file__).resolve().parent.parent / "aramega_ssum" / "data"
TINY_BASE_DIR = Path(__file__).resolve().parent / "tiny_base"  # committed: weights + tokenizer + pretrain.json
RANDOM_TINY = "tiny-random"  # the seeded random thinker (unit tests' fixture, pretraining's initialization)
TINY_NAMES = ("tiny", RANDOM_TINY)
LORA_TARGET_REGEX = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj)$"
EXTRA_TOKENS = {
    "audio_token": "<|AUDIO|>", "audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>",
    "image_token": "<|IMAGE|>", "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>", "vision_eos_token": "<|vision_eos|>",
}


EOS_TOKENS = ("<|im_end|>", "<|endoftext|>")  # generation stops at either
PAD_TOKEN = "<|endoftext|>"
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", *EXTRA_TOKENS.values())
# Qwen2.5-Omni's chat template (audio and text parts; images/videos kept for completeness).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'audio' %}<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif content['type'] == 'image' %}<|vision_bos|><|IMAGE|><|vision_eos|>"
    "{% elif content['type'] == 'video' %}<|vision_bos|><|VIDEO|><|vision_eos|>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class AudioOnlyQwenOmniProcessor(Qwen2_5OmniProcessor):
    """`Qwen2_5OmniProcessor` without image/video processors (audio + text only).

    Log-mel features are computed clip by clip (each zero-padded by one window, rounded to a hop)
    and then padded to the longest clip of the batch, not to 30 s, and never truncated: the
    thinker only reads frames under `feature_attention_mask`, and the values there equal those of
    the stock 30 s padding for clips under 30 s, while no work is spent on padding and clips over
    30 s keep all their frames (25 audio tokens per second).
    """

    def __init__(self, feature_extractor=None, tokenizer=None, chat_template=None):
        ProcessorMixin.__init__(self, feature_extractor, tokenizer, chat_template=chat_template)
        for kind, default in EXTRA_TOKENS.items():
            setattr(self, kind, getattr(tokenizer, kind, None) or default)
        for kind in ("image_token", "audio_token", "video_token"):
            setattr(self, f"{kind}_id", tokenizer.convert_tokens_to_ids(getattr(self, kind)))

    def _process_audio(self, audio, **kwargs):
        from transformers.models.qwen2_5_omni.processing_qwen2_5_omni import _get_feat_extract_output_lengths

        fe = self.feature_extractor
        kwargs.update(padding="max_length", truncation=False, return_tensors="pt", return_attention_mask=True)
        feats, masks = [], []
        for clip in audio:  # one clip at a time: measured faster than one padded batch (cache-friendly)
            length = -(-(len(clip) + fe.n_fft) // fe.hop_length) * fe.hop_length  # >= one window of zeros
            out = fe([clip], **{**kwargs, "max_length": length})
            feats.append(out["input_features"][0])
            masks.append(out["attention_mask"][0])
        frames = max(f.shape[-1] for f in feats)
        features = torch.zeros(len(feats), feats[0].shape[0], frames, dtype=feats[0].dtype)
        mask = torch.zeros(len(feats), frames, dtype=masks[0].dtype)
        for i, (f, m) in enumerate(zip(feats, masks)):
            features[i, :, : f.shape[-1]] = f
            mask[i, : m.shape[-1]] = m
        inputs = {"input_features": features, "feature_attention_mask": mask}
        inputs["num_audio_tokens"] = _get_feat_extract_output_lengths(mask.sum(-1)).tolist()
        return inputs, [self.replace_audio_token(inputs, audio_idx=i) for i in range(len(audio))]

    @property
    def model_input_names(self):
        names = self.tokenizer.model_input_names + self.feature_extractor.model_input_names
        return list(dict.fromkeys(names + ["feature_attention_mask"]))


def load_processor(path: str) -> AudioOnlyQwenOmniProcessor:
    """Tokenizer + WhisperFeatureExtractor from `path` (hub id or folder) with the Qwen chat template."""
    from transformers import AutoTokenizer, WhisperFeatureExtractor

    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    feature_extractor = WhisperFeatureExtractor.from_pretrained(path)
    return AudioOnlyQwenOmniProcessor(feature_extractor, tokenizer, chat_template=CHAT_TEMPLATE)


def tiny_base_dir() -> Path:
    """The committed embedded base ("tiny"): the folder `benchmark.pretrain_tiny` wrote (see its README note)."""
    path = TINY_BASE_DIR
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: the pretrained tiny base is missing; rebuild it with "
                                f"`python -m benchmark.pretrain_tiny --output {path}` (see {path}/pretrain.json)")
    return path


def default_cache_dir() -> Path:
    return Path(os.environ.get("ARAMEGA_SSUM_CACHE", ".cache")) / "tiny-qwen2.5-omni"


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

    from benchmark.hub import ModelSource, content_sha256, resolve_model

    device = torch.device(device)
    if dtype is None:
        dtype = torch.bfloat16 if (device.type == "cuda" and name not in TINY_NAMES) else torch.float32
    elif isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    if name == "tiny":
        path = tiny_base_dir()
        source = ModelSource(name, path, f"tiny-{content_sha256(path)[:16]}", "tiny")
    elif name == RANDOM_TINY:
        path = build_tiny(cache_dir=cache_dir, seed=seed)
        source = ModelSource(name, path, f"tiny-random-{path.name}", "tiny")
    else:
        source = resolve_model(name)
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


def default_attn_implementation(device) -> str:
    """flash_attention_2 on CUDA when the flash-attn package is installed, else sdpa."""
    import importlib.util

    if torch.device(device).type == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def stop_tokens(tokenizer) -> dict:
    """{"eos_token_id": [ids of <|im_end|>, <|endoftext|>], "pad_token_id": id of <|endoftext|>, "names": ...}.

    Looked up by name in `tokenizer` (never hard-coded ids); a tokenizer without them is an error.
    """
    ids = {}
    for name in (*EOS_TOKENS, PAD_TOKEN):
        token_id = tokenizer.convert_tokens_to_ids(name)
        if token_id is None or tokenizer.convert_ids_to_tokens(token_id) != name:
            raise ValueError(f"the tokenizer has no {name} token: cannot set the stop tokens")
        ids[name] = int(token_id)
    return {"eos_token_id": [ids[n] for n in EOS_TOKENS], "pad_token_id": ids[PAD_TOKEN],
            "names": {"eos": list(EOS_TOKENS), "pad": PAD_TOKEN}}


def set_stop_tokens(model, tokenizer) -> dict:
    """Write the stop tokens into `model.generation_config` (the hub's full-Omni checkpoint has no eos)."""
    stops = stop_tokens(tokenizer)
    model.generation_config.eos_token_id = stops["eos_token_id"]
    model.generation_config.pad_token_id = stops["pad_token_id"]
    return stops


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
# The tiny model
# ---------------------------------------------------------------------------------------------

def tokenizer_training_text() -> list[str]:
    """Every string of the embedded corpus (aramega_ssum/data/*.jsonl) plus task instructions/labels."""
    from aramega_ssum.tasks import TASK_REGISTRY

    texts = []
    for path in sorted(DATA_DIR.glob("*.jsonl")):
        for _, record in iter_jsonl(path):
            texts.extend(v for v in record.values() if isinstance(v, str))
    for task in TASK_REGISTRY.values():
        texts.extend(task.instructions)
        for label in task.labels:
            texts.extend((label, *task.aliases.get(label, ())))
    texts.extend(["system", "user", "assistant", "You are a helpful assistant."])
    return texts


def tiny_key(texts: list[str], seed: int) -> str:
    digest = hashlib.sha256(f"recipe={TINY_RECIPE_VERSION};seed={seed};vocab={TINY_VOCAB_SIZE}\n".encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\x00")
    return digest.hexdigest()[:16]


def build_tiny(cache_dir=None, seed: int = 0) -> Path:
    """Build (once) and return the folder of the tiny model; rebuilt when the corpus text changes."""
    texts = tokenizer_training_text()
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = root / tiny_key(texts, seed)
    if (target / "config.json").exists():
        return target
    return build_tiny_folder(target, seed=seed, texts=texts)


def build_tiny_folder(target, *, seed: int = 0, size: dict | None = None, texts: list[str] | None = None) -> Path:
    """Write a random tiny thinker of `size` (TINY_SIZE's keys) into `target` (atomically) unless it exists."""
    target = Path(target)
    if (target / "config.json").exists():
        return target
    texts = tokenizer_training_text() if texts is None else texts
    size = {**TINY_SIZE, **(size or {})}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        tokenizer = train_tiny_tokenizer(texts, size["vocab"])
        _tiny_model(tokenizer, seed, size).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        _feature_extractor().save_pretrained(tmp)
        try:
            os.rename(tmp, target)  # atomic; loses gracefully to a concurrent builder
        except OSError:
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("built tiny Qwen2.5-Omni thinker in %s (%d training strings)", target, len(texts))
    return target


def train_tiny_tokenizer(texts: list[str], vocab_size: int = TINY_VOCAB_SIZE):
    """A byte-level BPE tokenizer with the Qwen special tokens and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        extra_special_tokens=dict(EXTRA_TOKENS), model_max_length=32768,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _feature_extractor():
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(feature_size=128, sampling_rate=16000, return_attention_mask=True)


def _tiny_model(tokenizer, seed: int, size: dict | None = None):
    from transformers import Qwen2_5OmniThinkerConfig, Qwen2_5OmniThinkerForConditionalGeneration

    size = {**TINY_SIZE, **(size or {})}
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    hidden, adim = size["hidden"], size["audio_dim"]
    heads = max(4, hidden // 32)
    half = hidden // heads // 2  # mrope_section sums to head_dim / 2
    config = Qwen2_5OmniThinkerConfig(
        audio_config=dict(num_mel_bins=128, encoder_layers=size["audio_layers"], encoder_attention_heads=2,
                          encoder_ffn_dim=2 * adim, d_model=adim, output_dim=hidden, n_window=100, max_source_positions=1500),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=32, num_heads=2, out_hidden_size=hidden,
                           fullatt_block_indexes=[0]),
        text_config=dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=size["layers"], num_attention_heads=heads, num_key_value_heads=heads // 2,
                         max_position_embeddings=32768, tie_word_embeddings=False,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                          "mrope_section": [half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]},
                         pad_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"]),
        audio_token_index=ids["<|AUDIO|>"], image_token_index=ids["<|IMAGE|>"],
        video_token_index=ids["<|VIDEO|>"], audio_start_token_id=ids["<|audio_bos|>"],
        audio_end_token_id=ids["<|audio_eos|>"], user_token_id=ids["<|im_start|>"],
    )
    config.vision_start_token_id = ids["<|vision_bos|>"]  # read by get_rope_index
    config.pad_token_id = ids["<|endoftext|>"]
    config.eos_token_id = ids["<|im_end|>"]
    torch.manual_seed(seed)
    model = Qwen2_5OmniThinkerForConditionalGeneration(config)
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    return model


# ---------------------------------------------------------------------------------------------
# LoRA and freezing
# ---------------------------------------------------------------------------------------------

def apply_lora(model, r: int = 16, alpha: int = 32, dropout: float = 0.05, *,
               train_aligner: bool = False, train_audio_encoder: bool = False,
               target_regex: str = LORA_TARGET_REGEX):
    """Wrap `model` with LoRA on the LM's attention projections; returns (peft_model, info).

    info: {"r", "alpha", "dropout", "targets" (regex), "adapted_modules" (names), "trainable_params",
    "total_params", "train_aligner", "train_audio_encoder"}. Raises if any adapted module lies in
    the audio or vision tower.
    """
    from peft import LoraConfig, get_peft_model

    candidates = [n for n, _ in model.named_modules() if re.fullmatch(target_regex, n)]
    if not candidates:
        raise ValueError(f"LoRA target regex {target_regex!r} matches no module of {type(model).__name__}")
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_regex,
                        bias="none", task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    adapted = sorted({n.rsplit(".lora_A", 1)[0].removeprefix("base_model.model.")
                      for n, _ in peft_model.named_modules() if n.endswith(".lora_A")})
    bad = [n for n in adapted if "audio_tower" in n or "visual" in n]
    if bad:
        raise RuntimeError(f"LoRA hit modules outside the language model: {bad[:5]}")
    tower = peft_model.get_base_model().model.audio_tower
    for name, param in tower.named_parameters():
        is_aligner = name.startswith("proj.")
        param.requires_grad = (train_aligner and is_aligner) or (train_audio_encoder and not is_aligner)
    info = {
        "r": r, "alpha": alpha, "dropout": dropout, "targets": target_regex,
        "adapted_modules": adapted, "trainable_params": num_params(peft_model, trainable_only=True),
        "total_params": num_params(peft_model), "train_aligner": train_aligner,
        "train_audio_encoder": train_audio_encoder,
    }
    logger.info("LoRA r=%d alpha=%d on %d modules; %d trainable of %d parameters", r, alpha, len(adapted),
                info["trainable_params"], info["total_params"])
    return peft_model, info


def load_adapter(model, adapter_dir, *, is_trainable: bool = False):
    """Attach a saved PEFT adapter (safetensors) to a loaded base model, with its extra trained weights.

    `<adapter_dir>/extra_trainable.safetensors` (written by `benchmark.run` when base-model weights
    were trained besides LoRA: the tiny demo's LM head, an unfrozen aligner or audio encoder) is
    loaded too, so the adapted model is the one the run evaluated. Its names are those of the
    PEFT model's parameters; an unknown name or a shape mismatch is an error naming the file.
    """
    from peft import PeftModel
    from safetensors.torch import load_file

    peft_model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=is_trainable)
    path = Path(adapter_dir) / EXTRA_WEIGHTS
    if path.is_file():
        params, weights = dict(peft_model.named_parameters()), load_file(str(path))
        with torch.no_grad():
            for name, value in weights.items():
                param = params.get(name, params.get(f"base_model.model.{name}"))
                if param is None or param.shape != value.shape:
                    got = "no such parameter" if param is None else f"shape {tuple(param.shape)}"
                    raise ValueError(f"{path}: {name} {tuple(value.shape)} does not fit the model ({got})")
                param.copy_(value.to(param.dtype))
                param.requires_grad = is_trainable
        logger.info("loaded %s (%s)", path, ", ".join(weights))
    return peft_model


__all__ = ["load_model", "apply_lora", "load_adapter", "build_tiny", "AudioOnlyQwenOmniProcessor", "stop_tokens",
           "set_stop_tokens",
           "LORA_TARGET_REGEX", "num_params"]
