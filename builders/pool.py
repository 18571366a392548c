"""An ordered, bounded-window process map: results in input order, at most `window` in flight.

Unlike ``Pool.imap`` (whose feeder thread drains the whole input), this never reads more than
`window` items ahead, so memory stays flat however long the input is.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from typing import Callable, Iterable, Iterator


def _context():
    """Fork when safe (fast start); spawn once torch is loaded: a forked child of a process whose
    torch/OpenMP threads ran can deadlock. ``ARAMEGA_MP_START`` overrides."""
    method = os.environ.get("ARAMEGA_MP_START")
    if method is None:
        method = "spawn" if "torch" in sys.modules or sys.platform != "linux" else "fork"
    return multiprocessing.get_context(method)


def ordered_map(func: Callable, jobs: Iterable[tuple], *, num_proc: int = 1,
                initializer: Callable | None = None, initargs: tuple = (),
                window: int | None = None) -> Iterator:
    """Yield ``func(*job)`` for each job, in order, computed by `num_proc` processes."""
    if num_proc <= 1:
        if initializer is not None:
            initializer(*initargs)
        for job in jobs:
            yield func(*job)
        return
    window = window or 4 * num_proc
    with _context().Pool(num_proc, initializer=initializer, initargs=initargs) as pool:
        pending: deque = deque()
        for job in jobs:
            pending.append(pool.apply_async(func, job))
            if len(pending) >= window:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
