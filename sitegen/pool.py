"""Running a stage's work on every core: chunks of plain data to forked worker processes, results in order.

The parent puts the stage's read-only state (config, site, templates) in a module global *before* the pool
starts; workers are forked (``multiprocessing`` "fork" start method, Linux and macOS) so they inherit it without
pickling, take a chunk of plain items (paths, indices) and return plain, picklable results. Workers ignore
Ctrl-C and die with the parent however it dies, ``kill -9`` included (:mod:`sitegen.lifetime`); the parent, on
``KeyboardInterrupt`` or any error, cancels pending chunks, terminates the workers and re-raises — no orphan
processes, no half-written output (the build's writer only commits at the end).

Below :data:`THRESHOLD` items, or with one job, the work runs in-process: starting workers costs more than it saves.
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
from typing import Any, Callable, Sequence

from sitegen import lifetime

log = logging.getLogger(__name__)

THRESHOLD = 200
"""Fewest pending items worth a process pool."""

_STATE: Any = None


def state() -> Any:
    """The read-only state the parent set for this stage (in a worker: inherited at fork)."""
    return _STATE


def default_jobs() -> int:
    """Number of worker processes when ``--jobs`` is not given: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run(fn: Callable[[Sequence], list], items: Sequence, *, jobs: int | None, shared: Any,
        threshold: int | None = None) -> list:
    """``fn(chunk)`` over chunks of ``items`` and the concatenated results, in the order of ``items``.

    ``fn`` must be a module-level function returning a list with one result per item; ``shared`` is made
    available through :func:`state`. Uses ``jobs`` forked processes (default :func:`default_jobs`) when there are
    more than ``threshold`` items (default :data:`THRESHOLD`), else runs in this process. Exceptions raised by ``fn``
    propagate."""
    global _STATE
    threshold = THRESHOLD if threshold is None else threshold
    jobs = default_jobs() if not jobs or jobs < 1 else jobs
    _STATE = shared
    try:
        if jobs == 1 or len(items) <= threshold or "fork" not in multiprocessing.get_all_start_methods():
            return fn(items)
        # several chunks per worker so an unlucky chunk of long articles does not leave a core idle
        n = min(len(items), jobs * 8)
        size = -(-len(items) // n)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                                      **lifetime.pool_options())
        try:
            futures = [pool.submit(fn, c) for c in chunks]
            out: list = []
            for f in futures:
                out.extend(f.result())
        except BaseException:
            procs = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
            pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                if p.is_alive():
                    p.terminate()
            for p in procs:
                p.join(5)
            raise
        pool.shutdown(wait=True)
        log.debug("%d 项分成 %d 批，用 %d 个进程", len(items), len(chunks), jobs)
        return out
    finally:
        _STATE = None


__all__ = ["run", "state", "default_jobs", "THRESHOLD"]
