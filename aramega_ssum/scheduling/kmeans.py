"""Vectorized, seeded k-means (greedy k-means++ init, a few Lloyd iterations, chunked distances)."""
from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

INIT_SAMPLE = 16_384  # k-means++ seeds from at most this many points


def assign(x: np.ndarray, centers: np.ndarray, chunk: int = 65536, x_sq: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """(nearest center, squared distance to it) for each row of `x`, computed by chunks."""
    x_sq = np.einsum("ij,ij->i", x, x) if x_sq is None else x_sq
    c_sq = np.einsum("ij,ij->i", centers, centers)
    arg = np.empty(len(x), dtype=np.int64)
    best = np.empty(len(x), dtype=np.float64)
    for lo in range(0, len(x), chunk):
        d = c_sq[None, :] - 2.0 * (x[lo:lo + chunk] @ centers.T)  # + |x|^2, which argmin ignores
        a = d.argmin(1)
        arg[lo:lo + chunk] = a
        best[lo:lo + chunk] = d[np.arange(len(a)), a]
    best += x_sq
    return arg, np.maximum(best, 0.0)


def _init_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding: of 2 + log(k) D^2-weighted candidates, keep the one that most
    lowers the potential (as scikit-learn does)."""
    trials = 2 + int(np.log(k))
    x_sq = np.einsum("ij,ij->i", x, x)
    first = x[rng.integers(len(x))]
    d2 = np.maximum(x_sq - 2.0 * (x @ first) + first @ first, 0.0)
    centers = [first]
    for _ in range(1, k):
        total = d2.sum()
        if total <= 0:  # fewer distinct points than k: repeat a point, its cluster stays empty
            centers.append(x[rng.integers(len(x))])
            continue
        picks = np.minimum(np.searchsorted(np.cumsum(d2), rng.random(trials) * total, side="right"), len(x) - 1)
        cand = x[picks]  # [trials, D]
        d_new = np.maximum(x_sq[:, None] - 2.0 * (x @ cand.T) + np.einsum("ij,ij->i", cand, cand)[None, :], 0.0)
        pot = np.minimum(d2[:, None], d_new)
        best = int(pot.sum(0).argmin())
        centers.append(cand[best])
        d2 = pot[:, best]
    return np.asarray(centers)


def kmeans(x: np.ndarray, k: int, *, seed: int, iters: int = 10, chunk: int = 65536) -> np.ndarray:
    """Cluster ids (int64, one per row of `x`) from k-means with `k` = min(k, len(x)) clusters.

    Deterministic for a given seed; an emptied cluster keeps its previous center. Float64
    throughout, so near-ties resolve the same way on machines with different BLAS kernels.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"kmeans needs a non-empty [N, D] array, got shape {x.shape}")
    if not np.isfinite(x).all():
        row = int(np.flatnonzero(~np.isfinite(x).all(1))[0])
        raise ValueError(f"kmeans: embedding row {row} is not finite")
    k = max(1, min(int(k), len(x)))
    rng = np.random.default_rng([seed, k, len(x)])
    sample = x if len(x) <= INIT_SAMPLE else x[np.sort(rng.choice(len(x), INIT_SAMPLE, replace=False))]
    centers = _init_plus_plus(sample, k, rng)
    x_sq = np.einsum("ij,ij->i", x, x)
    labels, _ = assign(x, centers, chunk, x_sq)
    for _ in range(iters):
        counts = np.bincount(labels, minlength=k)
        filled = counts > 0
        centers[filled] = _center_sums(x, labels, k, chunk)[filled] / counts[filled, None]
        new_labels, _ = assign(x, centers, chunk, x_sq)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return labels


def _center_sums(x: np.ndarray, labels: np.ndarray, k: int, chunk: int) -> np.ndarray:
    """Sum of the rows of each cluster, as one-hot matrix products by chunks."""
    sums = np.zeros((k, x.shape[1]))
    for lo in range(0, len(x), chunk):
        part = labels[lo:lo + chunk]
        onehot = np.zeros((k, len(part)))
        onehot[part, np.arange(len(part))] = 1.0
        sums += onehot @ x[lo:lo + chunk]
    return sums
