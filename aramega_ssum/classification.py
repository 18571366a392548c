"""Classification metrics over free-text outputs: accuracy, macro-F1, per-class P/R/F1, confusion.

Outputs and references map to the task's label inventory with `canonical_label` (normalized
exact match on a label or a declared alias). An output that does not map is "invalid": it counts
as wrong (a false negative for the reference's class, a false positive for no class). A reference
that does not map is a data error and raises.
"""
from __future__ import annotations

import numpy as np

from aramega_ssum.predictions import PredictionsError
from aramega_ssum.tasks import canonical_label, get_task

INVALID = "invalid"


def encode(task: str, recs: list[dict]) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(labels, gold indices, predicted indices with len(labels) meaning invalid)."""
    labels = get_task(task).labels
    index = {label: i for i, label in enumerate(labels)}
    gold = np.empty(len(recs), dtype=np.int64)
    pred = np.empty(len(recs), dtype=np.int64)
    for i, rec in enumerate(recs):
        g = canonical_label(task, rec["reference"])
        if g is None:
            raise PredictionsError(f"record id {rec['id']!r}: reference {rec['reference']!r} is not a valid "
                                   f"{task} label (expected one of {', '.join(labels)} or an alias)",
                                   record_id=rec["id"])
        gold[i] = index[g]
        p = canonical_label(task, rec["prediction"])
        pred[i] = len(labels) if p is None else index[p]
    return labels, gold, pred


def _counts_per_class(gold, pred, k: int, counts: np.ndarray):
    """tp, fp, fn [B, k] and correct/invalid weights [B] under resample weights counts [B, n]."""
    gold_onehot = np.eye(k + 1)[gold][:, :k]  # [n, k]
    pred_onehot = np.eye(k + 1)[pred][:, :k]  # invalid column dropped
    hit = (gold == pred)[:, None] * gold_onehot
    tp = counts @ hit
    return tp, counts @ pred_onehot - tp, counts @ gold_onehot - tp


def classification_statistic(task: str, recs: list[dict]):
    """Bootstrap statistic: accuracy, macro_f1, invalid_rate per resample."""
    labels, gold, pred = encode(task, recs)
    k, n = len(labels), len(recs)
    correct = (gold == pred).astype(np.float64)
    invalid = (pred == k).astype(np.float64)

    def stat(counts: np.ndarray) -> dict[str, np.ndarray]:
        tp, fp, fn = _counts_per_class(gold, pred, k, counts)
        present = (tp + fp + fn) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(present, 2 * tp / np.where(present, 2 * tp + fp + fn, 1.0), 0.0)
            macro = f1.sum(axis=1) / present.sum(axis=1)
        return {"accuracy": counts @ correct / n, "macro_f1": macro, "invalid_rate": counts @ invalid / n}
    return stat


def classification_report(task: str, recs: list[dict]) -> dict:
    """{"per_class": {label: {precision, recall, f1, support}}, "confusion": {...}}."""
    labels, gold, pred = encode(task, recs)
    k = len(labels)
    tp, fp, fn = (x[0] for x in _counts_per_class(gold, pred, k, np.ones((1, len(recs)))))
    per_class = {}
    for i, label in enumerate(labels):
        support = int(tp[i] + fn[i])
        if support == 0 and fp[i] == 0:
            continue  # label absent from references and predictions: not part of macro-F1 either
        precision = float(tp[i] / (tp[i] + fp[i])) if tp[i] + fp[i] else None  # no predictions: undefined
        recall = float(tp[i] / support) if support else None  # no references: undefined
        f1 = float(2 * tp[i] / (2 * tp[i] + fp[i] + fn[i]))
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    matrix = np.zeros((k, k + 1), dtype=np.int64)
    np.add.at(matrix, (gold, pred), 1)
    confusion = {"rows": "reference", "columns": "prediction", "labels": list(labels),
                 "predicted_labels": [*labels, INVALID], "matrix": matrix.tolist()}
    return {"per_class": per_class, "confusion": confusion}
