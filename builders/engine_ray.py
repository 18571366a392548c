"""The ``--engine ray`` stages: the build's audio and summary work as a Ray Data pipeline.

Pipeline (the same stages as the local pool, same functions, so the same bytes):

    read sources (driver: items are metadata)  ->  text front-end (driver, builders/frontend.py)
    -> from_items(jobs)  ->  map_batches(_Renderer: TTS or decode + resample -> FLAC; one backend
       per actor, ``num_gpus``/``concurrency`` settable)  ->  in input order back to the driver's
       streaming parquet writer (size-capped shards)  ->  the final commit (folder renamed into place)

The summarizer is an actor stage too (`RaySummarizer`: the model is loaded once per actor).
Determinism: every item's voice and noise are seeded from the item (never from a worker), results
are consumed in input order (``preserve_order``), so the shards, their assignment and their bytes
do not depend on the engine or the number of workers. ``--ray-address`` joins a running cluster
(whose workers must have this package installed); by default a local Ray is started for the build
and shut down after it. A Ray already initialized by the caller (e.g. a test session) is reused.
"""
from __future__ import annotations

import contextlib
import logging
import pickle
from collections import Counter
from typing import Iterable, Iterator

import numpy as np

logger = logging.getLogger(__name__)

RENDER_BATCH = 4


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None):
    """Connect to `address`, reuse an initialized Ray, or start a local one for the block."""
    import ray

    if ray.is_initialized():
        yield ray
        return
    options = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **options)
    else:
        ray.init(num_cpus=num_cpus, object_store_memory=512 << 20, **options)
    try:
        yield ray
    finally:
        ray.shutdown()


class _Renderer:
    """Ray actor: the worker settings (and the TTS backend, on first use) once per actor."""

    def __init__(self, initargs: tuple):
        from builders.render import init_worker

        init_worker(*initargs)

    def __call__(self, batch: dict) -> dict:
        from builders.render import render_job

        results = [pickle.dumps(render_job(*pickle.loads(job))) for job in batch["job"]]
        return {"index": batch["index"], "result": np.array(results, dtype=object)}


def _unwrap(err: Exception) -> Exception:
    """The user-facing error inside a Ray task failure (e.g. the TTS backend's BackendError)."""
    cause = getattr(err, "cause", None)
    return cause if isinstance(cause, Exception) else err


def ray_map(jobs: Iterable[tuple], initargs: tuple, *, concurrency: int = 1, num_gpus: float = 0,
            address: str | None = None) -> Iterator:
    """``render_job(*job)`` for each job through Ray Data, yielded in input order."""
    jobs = list(jobs)
    with ray_session(address, max(concurrency, 1)) as ray:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        rows = [{"index": i, "job": pickle.dumps(job)} for i, job in enumerate(jobs)]
        ds = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows), 8 * concurrency)))
        ds = ds.map_batches(_Renderer, fn_constructor_args=(initargs,), batch_size=RENDER_BATCH,
                            batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=concurrency),
                            num_gpus=num_gpus or None, num_cpus=1)
        expected = 0
        try:
            for row in ds.iter_rows():
                if int(row["index"]) != expected:
                    raise RuntimeError(f"ray returned item {row['index']} where {expected} was due")
                expected += 1
                yield pickle.loads(row["result"])
        except ray.exceptions.RayError as err:
            raise _unwrap(err) from None
        if expected != len(jobs):
            raise RuntimeError(f"ray returned {expected} of {len(jobs)} results")


class _SummaryActor:
    def __init__(self, model: str, options: dict):
        from builders.summarize import Summarizer

        self.summarizer = Summarizer(model, **{**options, "progress": False})

    def __call__(self, batch: dict) -> dict:
        out = self.summarizer.generate([str(t) for t in batch["text"]])
        return {"index": batch["index"], "summary": np.array([pickle.dumps(s) for s in out], dtype=object)}


class RaySummarizer:
    """`Summarizer`'s interface (``generate``, ``stats``) run as a Ray actor stage."""

    def __init__(self, model: str, *, batch_size: int = 8, concurrency: int = 1, num_gpus: float = 0,
                 address: str | None = None, **options):
        self.model, self.batch_size, self.options = model, batch_size, {**options, "batch_size": batch_size}
        self.concurrency, self.num_gpus, self.address = concurrency, num_gpus, address
        self.max_new_tokens = options.get("max_new_tokens", 96)
        self.stats: Counter = Counter()

    def generate(self, texts: list[str]) -> list:
        with ray_session(self.address, max(self.concurrency, 1)) as ray:
            ray.data.DataContext.get_current().execution_options.preserve_order = True
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # the local batching, exactly
            ds = ray.data.from_items([{"index": i, "text": texts[i]} for i in order])
            ds = ds.map_batches(_SummaryActor, fn_constructor_args=(self.model, self.options),
                                batch_size=self.batch_size, batch_format="numpy", num_gpus=self.num_gpus or None,
                                compute=ray.data.ActorPoolStrategy(size=self.concurrency))
            results: list = [None] * len(texts)
            for row in ds.iter_rows():
                results[int(row["index"])] = pickle.loads(row["summary"])
        for summary in results:
            self.stats[summary.problem or "ok"] += 1
            self.stats["documents_truncated"] += summary.truncated
        return results
