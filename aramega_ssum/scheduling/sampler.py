"""Building blocks shared by the strategies: per-stratum streams, share apportionment, batch
interleaving, and the `torch.utils.data` batch sampler.

A *stratum* (a task, or a (task, label) pair) is read as an endless stream: epoch `e` is a
permutation of its members drawn from a numpy Generator seeded with (seed, stratum key, e), so
draw number `p` of any stratum is computable in O(1) from `p` alone: no state, exact resume.
A stream's `window` is the most draws one batch takes from it: any `window` consecutive draws are
distinct (see `StratumStream.epoch_order`), so a batch never holds an example twice.
"""
from __future__ import annotations

import logging
import os
from collections import OrderedDict
from typing import Iterator

import numpy as np

from aramega_ssum.scheduling.base import Plan, check_world

logger = logging.getLogger(__name__)


class StratumStream:
    """Endless draws without replacement from `members`, reshuffled each epoch.

    With `clusters` (one cluster id per member) an epoch visits clusters round-robin: cluster
    order and the order inside each cluster are shuffled, then draw i of the epoch takes the
    (i // k)-th member of the (i % k)-th cluster, skipping exhausted clusters.
    """

    def __init__(self, members: np.ndarray, *, seed: int, key: int, clusters: np.ndarray | None = None,
                 window: int = 1, cache_epochs: int = 2):
        if len(members) == 0:
            raise ValueError("a stratum stream needs at least one member")
        self.members = np.asarray(members, dtype=np.int64)
        self.seed, self.key = int(seed), int(key)
        self.clusters = None if clusters is None else np.asarray(clusters, dtype=np.int64)
        self.window = int(window)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_epochs = cache_epochs

    def set_window(self, window: int) -> None:
        """At most `window` draws of this stream go into one batch (before the first draw)."""
        if self._cache and window != self.window:
            raise RuntimeError("a stream's window is fixed once it has been drawn from")
        self.window = int(window)
        if self.window > len(self.members):
            logger.warning("a stratum of %d examples gives %d draws to one batch: some batches repeat an "
                           "example", len(self.members), self.window)

    def __len__(self) -> int:
        return len(self.members)

    def _shuffled(self, epoch: int) -> np.ndarray:
        """Epoch `epoch`'s permutation (round-robin over clusters when there are clusters)."""
        rng = np.random.default_rng([self.seed, self.key, epoch])
        if self.clusters is None:
            return self.members[rng.permutation(len(self.members))]
        return self.members[_round_robin(self.clusters, rng)]

    def epoch_order(self, epoch: int) -> np.ndarray:
        """Member indices in the order epoch `epoch` draws them (cached for the last few epochs).

        The permutation, except that a member among the last `window - 1` draws of the previous
        epoch that would come back within `window` draws is swapped with one from the middle of
        the epoch (`_space_out_repeats`). The last `window - 1` positions never move, so the
        previous epoch's tail is that of its permutation: any epoch comes from two permutations.
        """
        if epoch in self._cache:
            self._cache.move_to_end(epoch)
            return self._cache[epoch]
        order = self._shuffled(epoch)
        if epoch > 0 and 1 < self.window <= len(self.members):
            previous_tail = self._shuffled(epoch - 1)[len(order) - self.window + 1:]
            order = _space_out_repeats(order, previous_tail, self.window)
        self._cache[epoch] = order
        if len(self._cache) > self._cache_epochs:
            self._cache.popitem(last=False)
        return order

    def take(self, start: int, count: int) -> np.ndarray:
        """Draws number start .. start+count-1 of the stream."""
        n = len(self.members)
        out, pos = [], start
        while pos < start + count:
            epoch, offset = divmod(pos, n)
            chunk = self.epoch_order(epoch)[offset:offset + start + count - pos]
            out.append(chunk)
            pos += len(chunk)
        return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def _space_out_repeats(order: np.ndarray, previous_tail: np.ndarray, window: int) -> np.ndarray:
    """`order` with no member of `previous_tail` (the previous epoch's last `window - 1` draws)
    within `window` draws of its previous place; only positions in [0, n - window + 1) move."""
    n, head = len(order), window - 1
    gap = {int(m): len(previous_tail) - i for i, m in enumerate(previous_tail)}  # draws since its last one
    order = order.copy()
    candidate = head
    for j in range(head):
        if gap.get(int(order[j]), window) + j >= window:
            continue
        while candidate < n - head and gap.get(int(order[candidate]), window) + j < window:
            candidate += 1
        if candidate >= n - head:
            logger.warning("a stratum of %d examples is too small to keep %d consecutive draws distinct", n, window)
            break
        order[j], order[candidate] = order[candidate], order[j]
        candidate += 1
    return order


def _round_robin(clusters: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions 0..n-1 ordered round-robin across shuffled clusters, shuffled inside each."""
    n = len(clusters)
    ids, inverse = np.unique(clusters, return_inverse=True)
    cluster_rank = rng.permutation(len(ids))[inverse]
    by_cluster = np.lexsort((rng.random(n), inverse))
    starts = np.searchsorted(inverse[by_cluster], np.arange(len(ids)))
    within = np.empty(n, dtype=np.int64)
    within[by_cluster] = np.arange(n) - starts[inverse[by_cluster]]
    return np.lexsort((cluster_rank, within))


def apportion(weights: np.ndarray, steps: int, batch_size: int) -> np.ndarray:
    """Per-step draw counts [steps, S] that follow `weights` as evenly as integers allow.

    Slot j of the run goes to the stratum whose next Webster position (i + 0.5) / p_s comes next
    (ties to the lower stratum), so every prefix of the run tracks the shares within one draw.
    """
    p = np.asarray(weights, dtype=np.float64)
    if (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"share weights must be >= 0 with a positive sum, got {p.tolist()}")
    p = p / p.sum()
    total = steps * batch_size
    pos, owner = [], []
    for s, share in enumerate(p):
        if share > 0:
            count = int(np.ceil(total * share)) + 1
            pos.append((np.arange(count) + 0.5) / share)
            owner.append(np.full(count, s, dtype=np.int64))
    pos, owner = np.concatenate(pos), np.concatenate(owner)
    first = np.argsort(pos, kind="stable")[:total]  # slot k of the run = k-th smallest position
    flat = (np.arange(total) // batch_size) * len(p) + owner[first]
    return np.bincount(flat, minlength=steps * len(p)).reshape(steps, len(p))


def equal_split(total: np.ndarray, parts: int) -> np.ndarray:
    """Cumulative draws of each of `parts` equal-share strata after `total` round-robin draws."""
    total = np.asarray(total, dtype=np.int64)[..., None]
    lanes = np.arange(parts)
    return total // parts + (lanes < total % parts)


def interleave(draws: list[np.ndarray]) -> np.ndarray:
    """One batch from per-stratum draws, interleaved round-robin across strata.

    Interleaving makes every contiguous rank part a mix of the strata rather than one stratum.
    """
    draws = [d for d in draws if len(d)]
    if not draws:
        return np.empty(0, dtype=np.int64)
    flat = np.concatenate(draws)
    lane = np.concatenate([np.full(len(d), s) for s, d in enumerate(draws)])
    turn = np.concatenate([np.arange(len(d)) for d in draws])
    return flat[np.lexsort((lane, turn))]


def _distributed_defaults(rank: int | None, world_size: int | None) -> tuple[int, int]:
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return (dist.get_rank() if rank is None else rank,
                    dist.get_world_size() if world_size is None else world_size)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return (int(os.environ.get("RANK", 0)) if rank is None else rank,
            int(os.environ.get("WORLD_SIZE", 1)) if world_size is None else world_size)


try:
    from torch.utils.data import Sampler as _Sampler
except ImportError:  # pragma: no cover
    _Sampler = object


class ScheduledBatchSampler(_Sampler):
    """A `batch_sampler` for `torch.utils.data.DataLoader` yielding this rank's part of each batch.

    The sampler owns the cursor (`step`, the next step to yield); the plan it walks is stateless.
    rank / world_size default to torch.distributed (torchrun) or the RANK / WORLD_SIZE variables.
    With `accelerate`, either pass rank=accelerator.process_index, world_size=num_processes and
    do not `prepare` the DataLoader, or use world_size=1 with `split_batches=True` (accelerate then
    cuts the same contiguous parts). A DataLoader with workers pulls batches ahead of training, so
    checkpoint `plan.state_at(optimizer steps done)` rather than this sampler's live cursor.
    """

    def __init__(self, plan: Plan, rank: int | None = None, world_size: int | None = None):
        self.plan = plan
        self.step = 0
        self.rank, self.world_size = _distributed_defaults(rank, world_size)
        check_world(plan.batch_size, self.rank, self.world_size)
        self.batch_size = plan.batch_size // self.world_size  # read by accelerate's BatchSamplerShard
        self.drop_last = False

    def __iter__(self) -> Iterator[list[int]]:
        while self.step < self.plan.steps:
            step = self.step
            self.step += 1
            yield self.plan.rank_batch(step, self.rank, self.world_size)

    def __len__(self) -> int:
        return self.plan.steps - self.step

    def state_dict(self) -> dict:
        return self.plan.state_at(self.step)

    def load_state_dict(self, state: dict) -> None:
        self.step = self.plan.resume_step(state)


class StreamMix:
    """Batches drawn from per-stratum streams following a per-step count table [steps, S]."""

    def __init__(self, streams: list[StratumStream], counts: np.ndarray):
        if counts.shape[1] != len(streams):
            raise ValueError(f"count table has {counts.shape[1]} columns for {len(streams)} streams")
        self.streams = streams
        self.counts = counts
        self.starts = np.cumsum(counts, axis=0) - counts
        for stream, most in zip(streams, counts.max(axis=0, initial=0)):
            stream.set_window(max(stream.window, int(most)))

    def batch(self, step: int) -> np.ndarray:
        return interleave([stream.take(int(a), int(c)) for stream, a, c
                         in zip(self.streams, self.starts[step], self.counts[step])])
