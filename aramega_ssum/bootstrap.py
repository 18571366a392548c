"""Seeded, vectorized bootstrap over per-example statistics.

A metric is a *statistic*: a function ``stat(counts) -> {metric: values}`` that takes a matrix of
resample weights ``counts[b, i]`` (how many times example ``i`` is drawn in resample ``b``) and
returns one value per resample. Corpus-level WER, for example, is
``counts @ edits / counts @ ref_lengths``; a mean of per-example F1 is ``counts @ f1 / n``. The
point estimate is the same function on a row of ones, so the CI and the value share one code path.
Resample weights are drawn in chunks (uniform draws with replacement, counted), so memory stays bounded for any ``n``.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

Statistic = Callable[[np.ndarray], Mapping[str, np.ndarray]]
_CHUNK_CELLS = 4_000_000  # resamples x examples per chunk (32 MB of float64)


def resample_counts(n: int, resamples: int, seed: int):
    """Yield float64 weight matrices [chunk, n] whose rows sum to n; deterministic in `seed`."""
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)


def point(stat: Statistic, n: int) -> dict[str, float | None]:
    """The statistic on the full sample (every example weighted once); NaN becomes None."""
    values = stat(np.ones((1, n)))
    return {k: _finite(v[0]) for k, v in values.items()}


def bootstrap_values(stat: Statistic, n: int, *, resamples: int, seed: int) -> dict[str, np.ndarray]:
    """The statistic on `resamples` bootstrap resamples: {metric: array[resamples]}."""
    parts: dict[str, list[np.ndarray]] = {}
    for counts in resample_counts(n, resamples, seed):
        for name, values in stat(counts).items():
            parts.setdefault(name, []).append(np.asarray(values, dtype=np.float64))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def confidence_intervals(stat: Statistic, n: int, *, resamples: int, seed: int,
                         level: float = 0.95) -> dict[str, list[float] | None]:
    """Percentile bootstrap intervals {metric: [lo, hi]}; None when no resample is defined."""
    if resamples <= 0:
        return {}
    alpha = (1.0 - level) / 2.0
    out: dict[str, list[float] | None] = {}
    for name, values in bootstrap_values(stat, n, resamples=resamples, seed=seed).items():
        values = values[np.isfinite(values)]
        if values.size == 0:
            out[name] = None
            continue
        lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
        out[name] = [float(lo), float(hi)]
    return out


def paired_deltas(stat_a: Statistic, stat_b: Statistic, n: int, metric: str, *,
                  resamples: int, seed: int) -> dict:
    """Paired bootstrap of ``metric(a) - metric(b)`` with the same resamples for both systems.

    The p-value is two-sided, from the shifted bootstrap distribution (the share of resamples whose
    delta moves away from the observed one by at least |delta|; Berg-Kirkpatrick et al. 2012).
    """
    full_a, full_b = stat_a(np.ones((1, n))), stat_b(np.ones((1, n)))
    if metric not in full_a or metric not in full_b:
        raise ValueError(f"metric {metric!r} is not available here; available: {', '.join(sorted(full_a))}")
    delta = _finite(full_a[metric][0] - full_b[metric][0])
    if delta is None:
        raise ValueError(f"metric {metric!r} is undefined on these records")
    deltas = []
    for counts in resample_counts(n, resamples, seed):
        deltas.append(np.asarray(stat_a(counts)[metric]) - np.asarray(stat_b(counts)[metric]))
    d = np.concatenate(deltas)
    d = d[np.isfinite(d)]
    p_value = float(np.mean(np.abs(d - delta) >= abs(delta))) if d.size else None
    lo, hi = (float(x) for x in np.quantile(d, [0.025, 0.975])) if d.size else (None, None)
    return {"metric": metric, "n": n, "delta": delta, "p_value": p_value, "ci95": [lo, hi],
            "resamples": resamples, "seed": seed}


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
