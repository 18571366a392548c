"""Pluggable summarizer for sources without summaries: a transformers causal LM (hub id or local path).

An Arabic instruction (through the tokenizer's chat template when it has one), greedy decoding,
batches with left padding, inputs sorted by length for fewer pad tokens, outputs in input order.

What the model sees is always the whole instruction: the *document* is cut to a token budget
(``max_input_tokens`` minus the instruction, the chat frame and ``max_new_tokens``), never the
prompt. The chat-formatted prompt is tokenized once, with ``add_special_tokens=False`` (the
template writes its own BOS/markers; a tokenizer that also adds a BOS would double it). Every
summary comes back with a status: ``None`` (the model stopped on its own), ``"summary_cut"``
(it stopped at ``max_new_tokens``: a continuation, not a summary) or ``"summary_empty"``; the build
keeps only the first kind and reports the others.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from tqdm import tqdm

logger = logging.getLogger(__name__)

PROMPT = "لخّص النص التالي في جملة أو جملتين بالعربية الفصحى، دون مقدمات.\n\nالنص:\n{text}\n\nالملخص:"
MIN_DOCUMENT_TOKENS = 16


@dataclass(frozen=True)
class Summary:
    text: str
    problem: str | None  # None, "summary_cut" or "summary_empty"
    truncated: bool      # the document was cut to the token budget


class Summarizer:
    """``Summarizer(model).generate(texts) -> list[Summary]`` (greedy, batched)."""

    def __init__(self, model: str, *, batch_size: int = 8, max_new_tokens: int = 96, device: str = "cpu",
                 max_input_tokens: int = 2048, prompt: str = PROMPT, progress: bool = True):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch, self.device, self.prompt = torch, device, prompt
        self.batch_size, self.max_new_tokens, self.max_input_tokens = batch_size, max_new_tokens, max_input_tokens
        self.progress, self.stats = progress, Counter()
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model).to(device).eval()
        self.eos_ids = self._eos_ids()
        overhead = len(self._encode_prompt(""))
        self.document_budget = max_input_tokens - overhead - max_new_tokens
        if self.document_budget < MIN_DOCUMENT_TOKENS:
            raise ValueError(f"max_input_tokens={max_input_tokens} leaves {self.document_budget} tokens for the "
                             f"document after the instruction ({overhead}) and max_new_tokens ({max_new_tokens})")
        logger.info("summarizer %s loaded (document budget %d tokens)", model, self.document_budget)

    def _eos_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        ids = [] if ids is None else [ids] if isinstance(ids, int) else list(ids)
        if self.tokenizer.eos_token_id is not None:
            ids.append(self.tokenizer.eos_token_id)
        return sorted(set(ids))

    def _encode_prompt(self, text: str) -> list[int]:
        content = self.prompt.format(text=text)
        if getattr(self.tokenizer, "chat_template", None):
            chat = self.tokenizer.apply_chat_template([{"role": "user", "content": content}], tokenize=False,
                                                      add_generation_prompt=True)
            return self.tokenizer(chat, add_special_tokens=False)["input_ids"]
        return self.tokenizer(content)["input_ids"]

    def encode(self, text: str) -> tuple[list[int], bool]:
        """The prompt's token ids for `text` (cut to the document budget) and whether it was cut."""
        document = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        budget, limit = self.document_budget, self.max_input_tokens - self.max_new_tokens
        if len(document) <= budget:
            ids = self._encode_prompt(text)
            if len(ids) <= limit:
                return ids, False
        for _ in range(4):  # decoding a cut can re-tokenize a little longer: shrink until it fits
            ids = self._encode_prompt(self.tokenizer.decode(document[:budget], skip_special_tokens=True))
            if len(ids) <= limit:
                return ids, True
            budget -= len(ids) - limit
        raise ValueError(f"cannot fit the document into {limit} prompt tokens")

    def _batch(self, texts: list[str]) -> list[Summary]:
        encoded = [self.encode(t) for t in texts]
        inputs = self.tokenizer.pad({"input_ids": [ids for ids, _ in encoded]}, padding=True,
                                    return_tensors="pt").to(self.device)
        with self.torch.no_grad():
            output = self.model.generate(**inputs, do_sample=False, max_new_tokens=self.max_new_tokens,
                                         pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.eos_ids)
        results = []
        for (_, truncated), new in zip(encoded, output[:, inputs["input_ids"].shape[1]:].tolist()):
            stopped = any(token in self.eos_ids for token in new)
            text = " ".join(self.tokenizer.decode(new, skip_special_tokens=True).split())
            problem = "summary_empty" if stopped and not text else None if stopped else "summary_cut"
            results.append(Summary(text, problem, truncated))
        return results

    def generate(self, texts: list[str]) -> list[Summary]:
        """A `Summary` per text, in the order of `texts`; counts go to ``self.stats``."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results: list[Summary | None] = [None] * len(texts)
        starts = range(0, len(order), self.batch_size)
        for start in tqdm(starts, desc="summaries", unit="batch", disable=not self.progress):
            chunk = order[start:start + self.batch_size]
            for index, summary in zip(chunk, self._batch([texts[i] for i in chunk])):
                results[index] = summary
                self.stats[summary.problem or "ok"] += 1
                self.stats["documents_truncated"] += summary.truncated
        return results

    def summarize(self, texts: list[str]) -> list[str]:
        """The generated texts only (statuses dropped): for inspection, not for the build."""
        return [s.text for s in self.generate(texts)]
