"""Hub-faithful replica of `Qwen/Qwen2.5-Omni-7B` in a simulated Hugging Face cache (tiny random weights).

`build_omni_replica(hf_home)` writes, like the hub repository (see STACK.md, "Real checkpoints"):
``$HF_HOME/hub/models--Qwen--Qwen2.5-Omni-7B/snapshots/<40-hex sha>/`` holding
- ``config.json``: the FULL Omni config (`architectures: ["Qwen2_5OmniModel"]`, `model_type:
  "qwen2_5_omni"`, `enable_audio_output`, `thinker_config` with tiny text/audio/vision configs and
  NO eos/pad token ids, complete tiny `talker_config` / `token2wav_config`);
- ``model-0000N-of-0000M.safetensors`` + ``model.safetensors.index.json`` in bf16 with the hub's
  transformers-4 tensor names (``thinker.model.layers...``, ``thinker.audio_tower...``,
  ``thinker.visual...``, ``thinker.lm_head``, ``talker.*``, ``token2wav.*``);
- ``generation_config.json`` without eos (upstream QwenLM/Qwen2.5-Omni issue 371);
- the tokenizer (``tokenizer.json``, ``tokenizer_config.json``) with the real special-token names
  and the chat template, also as ``chat_template.json``;
- ``preprocessor_config.json``: the hub's Whisper settings (128 mel bins, 300 s cap);
- ``spk_dict.pt`` (the full Omni class refuses to load without it);
plus ``refs/main`` holding the sha. With ``HF_HOME`` pointing there and ``HF_HUB_OFFLINE=1``,
``from_pretrained("Qwen/Qwen2.5-Omni-7B")`` and the README's commands resolve offline.

The tokenizer and the thinker are those of the tiny embedded model (`benchmark.model`), so the
replica's vocabulary covers the corpus; the token ids are not the real ones (nothing may hard-code them).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

__all__ = ["REPO_ID", "build_omni_replica", "omni_replica", "replica_env"]

REPO_ID = "Qwen/Qwen2.5-Omni-7B"
HUB_PREPROCESSOR = {  # the hub's preprocessor_config.json: Whisper extractor (300 s cap) + the image processor's keys
    "chunk_length": 300, "dither": 0.0, "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 128,
    "hop_length": 160, "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "Qwen2VLImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711], "max_pixels": 12845056, "merge_size": 2, "min_pixels": 3136,
    "n_fft": 400, "n_samples": 4800000, "nb_max_frames": 30000, "padding_side": "right", "padding_value": 0.0,
    "patch_size": 14, "processor_class": "Qwen2_5OmniProcessor", "return_attention_mask": True,
    "sampling_rate": 16000, "temporal_patch_size": 2,
}
TINY_TALKER = dict(embedding_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                   num_key_value_heads=1, head_dim=16,
                   rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]})
TINY_TOKEN2WAV = dict(
    dit_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, head_dim=16, ff_mult=1, emb_dim=16,
                    enc_emb_dim=8, enc_dim=8, enc_channels=[16, 16, 16, 16, 48], enc_attention_channels=8,
                    enc_se_channels=8, look_ahead_layers=[0], look_backward_layers=[0], block_size=4),
    bigvgan_config=dict(upsample_initial_channel=16, resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3, 5]],
                        upsample_rates=[2], upsample_kernel_sizes=[4]),
)
_NO_STOP_KEYS = ("eos_token_id", "pad_token_id", "bos_token_id")


def repo_folder(hf_home: Path, repo_id: str = REPO_ID) -> Path:
    return Path(hf_home) / "hub" / f"models--{repo_id.replace('/', '--')}"


def build_omni_replica(hf_home, *, seed: int = 0, repo_id: str = REPO_ID) -> Path:
    """Write the replica into `hf_home`'s hub cache (once); returns its snapshot folder."""
    import torch
    from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

    from benchmark.processor import CHAT_TEMPLATE
    from benchmark.tiny_model import random_thinker, tokenizer_training_text, train_tiny_tokenizer

    repo = repo_folder(hf_home, repo_id)
    if (repo / "refs" / "main").is_file():
        return repo / "snapshots" / (repo / "refs" / "main").read_text().strip()
    staging = repo / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer = train_tiny_tokenizer(tokenizer_training_text())
    thinker = random_thinker(tokenizer, seed).config.to_dict()
    config = Qwen2_5OmniConfig(thinker_config=thinker, talker_config=TINY_TALKER, token2wav_config=TINY_TOKEN2WAV)
    torch.manual_seed(seed)
    model = Qwen2_5OmniForConditionalGeneration(config).to(torch.bfloat16)
    model.save_pretrained(staging, safe_serialization=True, max_shard_size="3MB")  # saved in the hub's (v4) names
    tokenizer.save_pretrained(staging)
    _write_json(staging / "chat_template.json", {"chat_template": CHAT_TEMPLATE})
    _write_json(staging / "preprocessor_config.json", HUB_PREPROCESSOR)
    _write_json(staging / "generation_config.json", {"_from_model_config": True, "transformers_version": "4.50.0.dev0"})
    _hubify_config(staging / "config.json")
    torch.save({name: {"cond": torch.randn(1, 192, generator=torch.Generator().manual_seed(i)),
                       "ref_mel": torch.zeros(1, 8, 80), "bos_token": 8293 + i}
                for i, name in enumerate(("Chelsie", "Ethan"))}, staging / "spk_dict.pt")
    sha = _content_sha(staging)
    snapshot = repo / "snapshots" / sha
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(snapshot)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(sha)
    return snapshot


def _hubify_config(path: Path) -> None:
    """config.json as on the hub: architectures Qwen2_5OmniModel, no stop ids in the thinker's configs."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["architectures"] = ["Qwen2_5OmniModel"]
    config["enable_audio_output"] = True
    for block in (config["thinker_config"], config["thinker_config"]["text_config"]):
        for key in _NO_STOP_KEYS:
            block.pop(key, None)
    _write_json(path, config)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _content_sha(folder: Path) -> str:
    digest = hashlib.sha1()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def replica_env(hf_home) -> dict:
    """Environment for a subprocess that must resolve the replica by its hub id, offline."""
    import os

    return {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="session")
def omni_replica(tmp_path_factory):
    """(hf_home, snapshot folder, sha) of the `Qwen/Qwen2.5-Omni-7B` replica."""
    hf_home = tmp_path_factory.mktemp("hf-home")
    snapshot = build_omni_replica(hf_home)
    return hf_home, snapshot, snapshot.name
