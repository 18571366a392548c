"""Hub-faithful replicas in a simulated HF cache (tiny random weights, the hub's own file layout).

- `mms_tts_ara(hf_home)`: ``facebook/mms-tts-ara`` — a tiny random ``VitsModel`` with the hub's
  tokenizer facts (../shared/STACK.md): ``vocab.json`` = the Arabic letters (incl. أ إ آ ؤ ئ ء ى ة),
  space, ``–`` and ``_``; ``tokenizer_config.json`` with ``is_uroman: false``, ``normalize: true``,
  ``phonemize: false``, ``add_blank: true``, ``pad_token: "ا"``.
- `instruct_lm(hf_home)`: an instruct model's tokenizer (byte-level BPE trained here, a BOS the
  tokenizer adds itself, ``<|im_start|>``/``<|im_end|>`` chat template that also writes the BOS) and
  a tiny random ``LlamaForCausalLM``.

``HF_HOME=<hf_home> HF_HUB_OFFLINE=1`` then resolves the hub id offline.
"""
from __future__ import annotations

import json
from pathlib import Path

MMS_LETTERS = "ءآأؤإئابةتثجحخدذرزسشصضطظعغفقكلمنهوىي"
MMS_VOCAB_CHARS = sorted(set(MMS_LETTERS)) + [" ", "–", "_"]
SNAPSHOT = "0" * 39 + "1"


def snapshot_dir(hf_home: Path, repo: str) -> Path:
    """``<hf_home>/hub/models--ORG--NAME/snapshots/<sha>`` (created, with refs/main)."""
    root = Path(hf_home) / "hub" / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(SNAPSHOT)
    path = root / "snapshots" / SNAPSHOT
    path.mkdir(parents=True, exist_ok=True)
    return path


def mms_tts_ara(hf_home: Path) -> Path:
    import torch
    from transformers import VitsConfig, VitsModel

    path = snapshot_dir(hf_home, "facebook/mms-tts-ara")
    vocab = {ch: i for i, ch in enumerate(MMS_VOCAB_CHARS)}
    (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=2), encoding="utf-8")
    (path / "tokenizer_config.json").write_text(json.dumps({
        "add_blank": True, "clean_up_tokenization_spaces": True, "is_uroman": False, "language": "ara",
        "model_max_length": 1000000000000000019884624838656, "normalize": True, "pad_token": "ا",
        "phonemize": False, "tokenizer_class": "VitsTokenizer", "unk_token": "<unk>"}, ensure_ascii=False))
    (path / "special_tokens_map.json").write_text(json.dumps({"pad_token": "ا", "unk_token": "<unk>"},
                                                             ensure_ascii=False))
    config = VitsConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        ffn_dim=32, flow_size=16, spectrogram_bins=33, upsample_initial_channel=16,
                        upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8], resblock_kernel_sizes=[3],
                        resblock_dilation_sizes=[[1, 3]], prior_encoder_num_flows=1,
                        prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1,
                        duration_predictor_num_flows=1, duration_predictor_filter_channels=16,
                        depth_separable_num_layers=1, sampling_rate=16000)
    torch.manual_seed(0)
    VitsModel(config).save_pretrained(path)
    return path


CHAT_TEMPLATE = ("{{ bos_token }}{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                 "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def instruct_lm(hf_home: Path, repo: str = "Qwen/Qwen2.5-7B-Instruct", zero_head: bool = False) -> Path:
    """Tokenizer + chat template of an instruct model and a tiny random Llama; with `zero_head` every
    logit is 0, so greedy decoding emits token 0 (= ``<|im_end|>``, the eos) at once."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = snapshot_dir(hf_home, repo)
    specials = ["<|im_end|>", "<|endoftext|>", "<|im_start|>", "<s>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["لخّص النص التالي في جملة أو جملتين بالعربية الفصحى، دون مقدمات. النص الملخص",
              "ذهب الطالب إلى المكتبة وقرأ الخبر في الجريدة صباح اليوم", "assistant user system"] * 20
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", tok.token_to_id("<s>"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", additional_special_tokens=["<|im_start|>"])
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(path)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                         max_position_embeddings=4096, bos_token_id=fast.bos_token_id,
                                         eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
                                         tie_word_embeddings=False))
    with torch.no_grad():
        if zero_head:
            model.lm_head.weight.zero_()
        else:  # special tokens get logit 0, below the best of ~400 random ones: runs to max_new_tokens
            model.lm_head.weight[:4] = 0.0
    model.generation_config.eos_token_id = fast.eos_token_id
    model.save_pretrained(path)
    return path
