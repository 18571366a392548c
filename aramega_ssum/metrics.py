"""Arabic-correct metrics and `score_predictions`, the function behind ``python -m benchmark.score``.

- WER / CER: jiwer over lists on normalized text, corpus-level (total edits / total reference
  words or characters; CER counts spaces, as jiwer does).
- ROUGE-1/2/L F1: rouge-score with `ArabicTokenizer` (normalize, split on whitespace); the value
  is the mean of per-example F1. rouge-score's default tokenizer keeps only [a-z0-9] and scores
  every Arabic pair 0.0.
- BERTScore F1: `aramega_ssum.bertscore` (a configured model or null with the reason).
- Which of these a task gets is its metric specs' `family` (`aramega_ssum.tasks`); every
  prediction is first parsed with `Task.parse_output` (as `benchmark.evaluate` does).
- Classification: free-text outputs mapped by `aramega_ssum.tasks.canonical_label` (whole output,
  then its first line); unmapped outputs are "invalid" and count as wrong. Accuracy, macro-F1 (over the labels that occur in
  the references or the valid predictions), per-class P/R/F1, confusion, invalid rate.
- Every metric gets a seeded percentile-bootstrap 95% CI (`aramega_ssum.bootstrap`).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Iterable

import numpy as np

from aramega_ssum.bootstrap import confidence_intervals, paired_deltas, point
from aramega_ssum.classification import classification_report, classification_statistic
from aramega_ssum.predictions import PredictionsError, validate_predictions
from aramega_ssum.results import BREAKDOWN_KEYS
from aramega_ssum.schema import TASKS
from aramega_ssum.tasks import canonical_label, get_task
from aramega_ssum.text import normalize, normalize_many, normalizer_version

log = logging.getLogger(__name__)

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def _words(texts: list[str]) -> list[list[str]]:
    return [t.split() for t in texts]


def _chars(texts: list[str]) -> list[list[str]]:
    return [list(t) for t in texts]


def _per_example_edits(output) -> np.ndarray:
    edits = np.zeros(len(output.alignments), dtype=np.float64)
    for i, chunks in enumerate(output.alignments):
        e = 0
        for c in chunks:
            if c.type == "insert":
                e += c.hyp_end_idx - c.hyp_start_idx
            elif c.type != "equal":
                e += c.ref_end_idx - c.ref_start_idx
        edits[i] = e
    return edits


def error_counts(references: list[str], hypotheses: list[str], *, normalized: bool = True) -> dict:
    """Per-example edit counts and reference lengths for WER and CER (one jiwer call each).

    Returns {"wer", "cer", "word_edits", "words", "char_edits", "chars"}; WER/CER are None when
    the references hold no words at all (undefined, never 0.0).
    """
    import jiwer

    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if normalized:
        cache: dict[str, str] = {}
        references = normalize_many(references, cache=cache)
        hypotheses = normalize_many(hypotheses, cache=cache)
    else:
        references = [" ".join(t.split()) for t in references]
        hypotheses = [" ".join(t.split()) for t in hypotheses]
    words = jiwer.process_words(references, hypotheses, reference_transform=_words, hypothesis_transform=_words)
    chars = jiwer.process_characters(references, hypotheses, reference_transform=_chars, hypothesis_transform=_chars)
    n_words = np.array([len(r) for r in words.references], dtype=np.float64)
    n_chars = np.array([len(r) for r in chars.references], dtype=np.float64)
    return {
        "wer": float(words.wer) if n_words.sum() else None,
        "cer": float(chars.cer) if n_chars.sum() else None,
        "word_edits": _per_example_edits(words), "words": n_words,
        "char_edits": _per_example_edits(chars), "chars": n_chars,
    }


def _ratio(num: np.ndarray, den: np.ndarray, counts: np.ndarray) -> np.ndarray:
    d = counts @ den
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, (counts @ num) / np.where(d > 0, d, 1.0), np.nan)


def asr_statistic(counts_data: dict):
    """Bootstrap statistic for corpus-level WER and CER from `error_counts` output."""
    def stat(counts: np.ndarray) -> dict[str, np.ndarray]:
        return {"wer": _ratio(counts_data["word_edits"], counts_data["words"], counts),
                "cer": _ratio(counts_data["char_edits"], counts_data["chars"], counts)}
    return stat


def _mean_statistic(columns: dict[str, np.ndarray]):
    def stat(counts: np.ndarray) -> dict[str, np.ndarray]:
        return {name: counts @ col / col.shape[0] for name, col in columns.items()}
    return stat


class ArabicTokenizer:
    """rouge-score tokenizer: `normalize` (with `options`), then split on whitespace."""

    def __init__(self, **options: bool) -> None:
        self.options = options
        self._cache: dict[str, str] = {}  # token -> normalized token, shared across calls

    def tokenize(self, text: str) -> list[str]:
        return normalize_many([text], cache=self._cache, **self.options)[0].split()


class _SplitTokenizer:
    def tokenize(self, text: str) -> list[str]:
        return text.split()


def rouge_f1(references: list[str], predictions: list[str], *, tokenizer=None) -> dict[str, np.ndarray]:
    """Per-example ROUGE-1/2/L F1 arrays with rouge-score.

    Default: the `ArabicTokenizer` profile, applied to the whole corpus at once with
    `normalize_many` and then split on whitespace (same tokens, less per-call overhead).
    """
    from rouge_score import rouge_scorer

    if tokenizer is None:
        cache: dict[str, str] = {}
        references = normalize_many(references, cache=cache)
        predictions = normalize_many(predictions, cache=cache)
        tokenizer = _SplitTokenizer()
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=tokenizer)
    out = {name: np.empty(len(references)) for name in ROUGE_TYPES}
    for i, (ref, pred) in enumerate(zip(references, predictions)):
        scores = scorer.score(ref, pred)
        for name in ROUGE_TYPES:
            out[name][i] = scores[name].fmeasure
    return out


def _error_rates(recs: list[dict], options: dict):
    """Corpus WER/CER ("error_rate" metrics), with per-dialect WER when records carry a dialect."""
    data = error_counts([r["reference"] for r in recs], [r["prediction"] for r in recs])
    extra = {}
    if data["wer"] is None:
        extra["wer_error"] = "the references hold no words after normalization (WER/CER undefined)"
    if any("dialect" in r for r in recs):
        extra["per_dialect"] = per_dialect_wer(recs, data)
    return asr_statistic(data), extra


def _rouge(recs: list[dict], options: dict):
    return _mean_statistic(rouge_f1([r["reference"] for r in recs], [r["prediction"] for r in recs])), {}


def _bertscore(recs: list[dict], options: dict):
    """Mean BERTScore F1, or a null value with the reason (never 0.0)."""
    from aramega_ssum.bertscore import bertscore_f1

    bert, error = bertscore_f1([r["reference"] for r in recs], [r["prediction"] for r in recs],
                               model=options["bertscore_model"], layer=options["bertscore_layer"])
    if bert is None:
        return None, {"bertscore_f1": None, "bertscore_error": error}
    return _mean_statistic({"bertscore_f1": bert}), {}


def _classification(recs: list[dict], options: dict):
    return classification_statistic(options["task"], recs), classification_report(options["task"], recs)


# Metric.family (aramega_ssum.tasks) -> fn(records, options) -> (statistic or None, extra fields)
FAMILIES = {"error_rate": _error_rates, "rouge": _rouge, "bertscore": _bertscore,
            "classification": _classification}


def _merged(stats: list, names: tuple[str, ...]):
    """One statistic from several, keeping only the metrics `names` (in their order)."""
    def stat(counts: np.ndarray) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for part in stats:
            out.update(part(counts))
        return {name: out[name] for name in names if name in out}
    return stat


def per_dialect_wer(recs: list[dict], data: dict) -> dict[str, float | None]:
    """Corpus WER per value of the optional "dialect" field (records without it are skipped)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(recs):
        if "dialect" in r:  # aliases ("egyptian") join their label's bucket (EGY)
            groups[canonical_label("dialect", str(r["dialect"])) or str(r["dialect"])].append(i)
    out = {}
    for dialect, idx in sorted(groups.items()):
        words = data["words"][idx].sum()
        out[dialect] = float(data["word_edits"][idx].sum() / words) if words else None
    return out


def task_statistic(task: str, recs: list[dict], *, bertscore_model=None, bertscore_layer=None):
    """(statistic, extra fields) for one task's records: the families of the task's metric specs.

    Predictions are parsed first with `Task.parse_output`, so raw model outputs score exactly like
    the predictions `benchmark.evaluate` writes.
    """
    spec = get_task(task)
    recs = [{**r, "prediction": spec.parse_output(r["prediction"])} for r in recs]
    options = {"task": task, "bertscore_model": bertscore_model, "bertscore_layer": bertscore_layer}
    stats, extra = [], {}
    for family in dict.fromkeys(m.family for m in spec.metrics):
        stat, more = FAMILIES[family](recs, options)
        if stat is not None:
            stats.append(stat)
        extra.update(more)
    return _merged(stats, tuple(m.name for m in spec.metrics)), extra


def score_task(task: str, recs: list[dict], *, bootstrap: int = 1000, seed: int = 0,
               bertscore_model=None, bertscore_layer=None) -> dict:
    """{"n", <metrics>, ..., "ci95": {metric: [lo, hi]}} for one task."""
    stat, extra = task_statistic(task, recs, bertscore_model=bertscore_model, bertscore_layer=bertscore_layer)
    values = point(stat, len(recs))
    result = {"n": len(recs), **values}
    for key, value in extra.items():
        if key not in BREAKDOWN_KEYS:
            result[key] = value
    result["ci95"] = confidence_intervals(stat, len(recs), resamples=bootstrap, seed=seed)
    for key in BREAKDOWN_KEYS:
        if key in extra:
            result[key] = extra[key]
    return result


def score_predictions(records: Iterable[dict], *, bootstrap: int = 1000, seed: int = 0,
                      bertscore_model: str | None = None, bertscore_layer: int | None = None) -> dict:
    """Score validated prediction records; exactly what ``python -m benchmark.score`` prints."""
    records = validate_predictions(records)
    by_task: dict[str, list[dict]] = defaultdict(list)
    for rec in records:
        by_task[rec["task"]].append(rec)
    tasks = {}
    for task in TASKS:
        if by_task.get(task):
            log.info("scoring %s: %d records", task, len(by_task[task]))
            tasks[task] = score_task(task, by_task[task], bootstrap=bootstrap, seed=seed,
                                     bertscore_model=bertscore_model, bertscore_layer=bertscore_layer)
    return {"normalizer": normalizer_version(), "tasks": tasks}


def paired_bootstrap(records_a: Iterable[dict], records_b: Iterable[dict], task: str, metric: str, *,
                     n: int = 1000, seed: int = 0, bertscore_model=None, bertscore_layer=None) -> dict:
    """Paired bootstrap of metric(a) - metric(b) on the same references: {"delta", "p_value", ...}."""
    a = {r["id"]: r for r in validate_predictions(records_a, "records_a") if r["task"] == task}
    b = {r["id"]: r for r in validate_predictions(records_b, "records_b") if r["task"] == task}
    if not a or set(a) != set(b):
        only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        raise PredictionsError(f"paired bootstrap needs the same {task} ids in both sets: "
                               f"{len(a)} vs {len(b)}; only in a: {only_a[:3]}, only in b: {only_b[:3]}")
    ids = sorted(a)
    for i in ids:
        if normalize(a[i]["reference"]) != normalize(b[i]["reference"]):
            raise PredictionsError(f"paired bootstrap: id {i!r} has different references in the two sets")
    opts = {"bertscore_model": bertscore_model, "bertscore_layer": bertscore_layer}
    stat_a, _ = task_statistic(task, [a[i] for i in ids], **opts)
    stat_b, _ = task_statistic(task, [b[i] for i in ids], **opts)
    return paired_deltas(stat_a, stat_b, len(ids), metric, resamples=n, seed=seed)
