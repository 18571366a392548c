"""Pluggable summarizer for real-speech sources: a transformers causal LM (hub id or local path).

An Arabic prompt (through the tokenizer's chat template when it has one), greedy decoding,
batches with left padding, inputs sorted by length for fewer pad tokens, outputs in input order.
Used by the build for items that need a summary (``ssum``/``tsum``) but whose source has none.
"""
from __future__ import annotations

import logging

from tqdm import tqdm

logger = logging.getLogger(__name__)

PROMPT = "لخّص النص التالي في جملة أو جملتين بالعربية الفصحى، دون مقدمات.\n\nالنص:\n{text}\n\nالملخص:"


class Summarizer:
    """``Summarizer(model).summarize(texts) -> list[str]`` (greedy, batched)."""

    def __init__(self, model: str, *, batch_size: int = 8, max_new_tokens: int = 96, device: str = "cpu",
                 max_input_tokens: int = 2048, prompt: str = PROMPT, progress: bool = True):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch, self.device, self.prompt = torch, device, prompt
        self.batch_size, self.max_new_tokens, self.max_input_tokens = batch_size, max_new_tokens, max_input_tokens
        self.progress = progress
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model).to(device).eval()
        logger.info("summarizer %s loaded", model)

    def _prompt(self, text: str) -> str:
        content = self.prompt.format(text=text)
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template([{"role": "user", "content": content}], tokenize=False,
                                                      add_generation_prompt=True)
        return content

    def _batch(self, texts: list[str]) -> list[str]:
        encoded = self.tokenizer([self._prompt(t) for t in texts], return_tensors="pt", padding=True,
                                 truncation=True, max_length=self.max_input_tokens).to(self.device)
        with self.torch.no_grad():
            output = self.model.generate(**encoded, do_sample=False, max_new_tokens=self.max_new_tokens,
                                         pad_token_id=self.tokenizer.pad_token_id)
        new = output[:, encoded["input_ids"].shape[1]:]
        return [" ".join(s.split()) for s in self.tokenizer.batch_decode(new, skip_special_tokens=True)]

    def summarize(self, texts: list[str]) -> list[str]:
        """Summaries in the order of `texts` (empty string where the model produced nothing)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results: list[str] = [""] * len(texts)
        starts = range(0, len(order), self.batch_size)
        for start in tqdm(starts, desc="summaries", unit="batch", disable=not self.progress):
            chunk = order[start:start + self.batch_size]
            for index, summary in zip(chunk, self._batch([texts[i] for i in chunk])):
                results[index] = summary
        return results
