"""The Qwen2.5-Omni processor for audio + text: token facts, chat template, stop tokens.

- `AudioOnlyQwenOmniProcessor`: `Qwen2_5OmniProcessor` without image/video processors, whose audio
  features come from `aramega_ssum.features.log_mel` (padded to the batch's longest clip, never truncated).
- `load_processor(path)`: tokenizer + WhisperFeatureExtractor of a hub id or folder, with `CHAT_TEMPLATE`.
- `stop_tokens(tokenizer)` / `set_stop_tokens(model, tokenizer)`: eos ``<|im_end|>`` and ``<|endoftext|>``,
  pad ``<|endoftext|>``, looked up by name (the hub checkpoint's generation config has no eos).
"""
from __future__ import annotations

from transformers import Qwen2_5OmniProcessor
from transformers.processing_utils import ProcessorMixin

from aramega_ssum.features import audio_token_counts, log_mel, uses_whisper_recipe

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

    Log-mel features are computed clip by clip (`aramega_ssum.features.log_mel`: each clip zero-padded
    by one window, rounded to a hop) and then padded to the longest clip of the batch, not to 30 s,
    and never truncated: the thinker only reads frames under `feature_attention_mask`, and the values
    there equal those of the stock 30 s padding for clips under 30 s, while no work is spent on
    padding and clips over 30 s keep all their frames (25 audio tokens per second). A feature
    extractor that is not Whisper's recipe (dither) is called clip by clip instead.
    """

    def __init__(self, feature_extractor=None, tokenizer=None, chat_template=None):
        ProcessorMixin.__init__(self, feature_extractor, tokenizer, chat_template=chat_template)
        for kind, default in EXTRA_TOKENS.items():
            setattr(self, kind, getattr(tokenizer, kind, None) or default)
        for kind in ("image_token", "audio_token", "video_token"):
            setattr(self, f"{kind}_id", tokenizer.convert_tokens_to_ids(getattr(self, kind)))

    def _process_audio(self, audio, **kwargs):
        if uses_whisper_recipe(self.feature_extractor):
            features, mask = log_mel(list(audio), self.feature_extractor)
        else:
            features, mask = self._extract_clip_by_clip(audio, kwargs)
        inputs = {"input_features": features, "feature_attention_mask": mask}
        inputs["num_audio_tokens"] = audio_token_counts(mask.sum(-1)).tolist()
        return inputs, [self.replace_audio_token(inputs, audio_idx=i) for i in range(len(audio))]

    def _extract_clip_by_clip(self, audio, kwargs):
        """The feature extractor on each clip (padded by one window), then padded to the longest clip."""
        import torch

        fe = self.feature_extractor
        kwargs.update(padding="max_length", truncation=False, return_tensors="pt", return_attention_mask=True)
        outs = [fe([clip], **{**kwargs, "max_length": -(-(len(clip) + fe.n_fft) // fe.hop_length) * fe.hop_length})
                for clip in audio]
        frames = max(o["input_features"].shape[-1] for o in outs)
        features = torch.zeros(len(outs), outs[0]["input_features"].shape[1], frames)
        mask = torch.zeros(len(outs), frames, dtype=outs[0]["attention_mask"].dtype)
        for i, out in enumerate(outs):
            features[i, :, : out["input_features"].shape[-1]] = out["input_features"][0]
            mask[i, : out["attention_mask"].shape[-1]] = out["attention_mask"][0]
        return features, mask

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

__all__ = ["AudioOnlyQwenOmniProcessor", "load_processor", "stop_tokens", "set_stop_tokens", "CHAT_TEMPLATE",
           "EXTRA_TOKENS", "SPECIAL_TOKENS", "EOS_TOKENS", "PAD_TOKEN"]
