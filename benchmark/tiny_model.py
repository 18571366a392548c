"""The tiny random Qwen2.5-Omni thinker ("tiny-random"): built offline from the embedded corpus, cached.

A seeded random `Qwen2_5OmniThinkerForConditionalGeneration` (hidden 64, 2 layers, a 1-layer audio
encoder whose `proj` maps to the LM hidden size, a 1-block vision encoder), a byte-level BPE tokenizer
trained locally (`tokenizers`) on the embedded corpus text plus the task instructions and labels, with
the Qwen special tokens and chat template, and a 128-bin `WhisperFeatureExtractor`. Built once into
``<cache_dir>/<hash of training text + recipe>/`` (default ``.cache/tiny-qwen2.5-omni``, or
``$ARAMEGA_SSUM_CACHE/tiny-qwen2.5-omni``): the unit tests' model and (at other sizes,
`build_tiny_folder`) pretraining's starting point (`benchmark.pretrain_tiny`).
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import torch

from aramega_ssum.jsonl import iter_jsonl
from benchmark.processor import CHAT_TEMPLATE, EXTRA_TOKENS, SPECIAL_TOKENS

logger = logging.getLogger(__name__)

TINY_RECIPE_VERSION = "1"
TINY_VOCAB_SIZE = 4000
TINY_SIZE = {"hidden": 64, "layers": 2, "audio_layers": 1, "audio_dim": 32, "vocab": TINY_VOCAB_SIZE}
DATA_DIR = Path(__file__).resolve().parent.parent / "aramega_ssum" / "data"


def default_cache_dir() -> Path:
    return Path(os.environ.get("ARAMEGA_SSUM_CACHE", ".cache")) / "tiny-qwen2.5-omni"


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
        random_thinker(tokenizer, seed, size).save_pretrained(tmp, safe_serialization=True)
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


def random_thinker(tokenizer, seed: int, size: dict | None = None):
    """A seeded random thinker of `size` (TINY_SIZE's keys) for `tokenizer`'s vocabulary and special tokens."""
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
