"""CPU-time budgets for work on untrusted input: stop one piece of work (reading one article) that has used more
than its share of the processor, in whatever thread it runs, without a process or a signal per piece.

Python-Markdown's inline parser is quadratic in the number of inline tags of one paragraph (600 KB of ``<b>`` tags
take most of a minute), and no size limit alone tells such a body from a long honest one. So the work runs under
:func:`limit`: one watchdog thread per process looks at the CPU clock of every thread working under a budget
(:func:`time.pthread_getcpuclockid`, POSIX; wall time where the platform has no per-thread clock) every
:data:`TICK` seconds and, once the budget is spent, raises :class:`OverBudget` in that thread with
``PyThreadState_SetAsyncExc``, the C API CPython offers for exactly this. The exception arrives at the thread's next
Python bytecode (a long C call, a regular expression or nh3, finishes first) and is raised again every tick until
the work leaves :func:`limit`, so a library's ``except Exception`` cannot swallow it for good (it derives from
``BaseException`` like ``KeyboardInterrupt`` for the same reason). CPU time, not wall time: a build that shares its
cores with other work reaches the same verdict.
"""
from __future__ import annotations

import ctypes
import os
import threading
import time
from contextlib import contextmanager
from typing import Iterator

TICK = 0.05
"""Seconds between two looks of the watchdog at the threads under a budget."""


class OverBudget(BaseException):
    """Raised inside the work of :func:`limit` when it has used ``seconds`` of CPU time (a ``BaseException``, so
    that ``except Exception`` in library code does not catch it). Never escapes :func:`limit` as anything else."""

    def __init__(self, seconds: float = 0.0):
        super().__init__(f"over a budget of {seconds:g} s of CPU time")
        self.seconds = seconds


class _Entry:
    __slots__ = ("clock", "deadline", "seconds", "fired")

    def __init__(self, clock, deadline: float, seconds: float):
        self.clock, self.deadline, self.seconds, self.fired = clock, deadline, seconds, False


# A plain lock (its ``with`` runs no Python code, so an exception arriving cannot leave it held) guards the table of
# threads under a budget; the event wakes the watchdog when the table stops being empty.
_lock = threading.Lock()
_wake = threading.Event()
_active: dict[int, _Entry] = {}
_watchdog: threading.Thread | None = None


def _reset_after_fork() -> None:
    """A forked child has no watchdog thread and must not inherit a lock some parent thread held."""
    global _lock, _wake, _watchdog
    _lock = threading.Lock()
    _wake = threading.Event()
    _active.clear()
    _watchdog = None


os.register_at_fork(after_in_child=_reset_after_fork)


def _clock_of(tid: int):
    try:
        return time.pthread_getcpuclockid(tid)
    except (AttributeError, OSError):  # no per-thread CPU clock here: wall time instead
        return None


def _now(clock) -> float:
    return time.monotonic() if clock is None else time.clock_gettime(clock)


def _set_async(tid: int, exc) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(exc) if exc else None)


def _watch() -> None:
    while True:
        _wake.wait()
        with _lock:
            for tid, entry in list(_active.items()):
                if _now(entry.clock) >= entry.deadline:
                    entry.fired = True
                    _set_async(tid, OverBudget)
            if not _active:
                _wake.clear()
        time.sleep(TICK)


def _leave(tid: int, entry: _Entry) -> None:
    """Take ``tid`` off the table and clear an exception the watchdog set but the thread has not raised yet. An
    exception arriving in the middle is caught and the step repeated: once the entry is gone none is set again."""
    while True:
        try:
            with _lock:
                _active.pop(tid, None)
                if entry.fired:
                    _set_async(tid, None)
            return
        except OverBudget:
            continue


@contextmanager
def limit(seconds: float | None) -> Iterator[None]:
    """Run the body of the ``with`` block on at most ``seconds`` of this thread's CPU time (``None`` or ``0``: no
    limit). Raises :class:`OverBudget` (carrying ``seconds``) when the budget is spent; a budget that ran out just
    as the block ended is forgotten, never raised later. Not nestable within one thread."""
    global _watchdog
    if not seconds or seconds <= 0:
        yield
        return
    tid = threading.get_ident()
    clock = _clock_of(tid)
    entry = _Entry(clock, _now(clock) + seconds, seconds)
    with _lock:
        _active[tid] = entry
        if _watchdog is None or not _watchdog.is_alive():
            _watchdog = threading.Thread(target=_watch, name="sitegen-budget", daemon=True)
            _watchdog.start()
    _wake.set()
    spent = False
    try:
        yield
    except OverBudget:
        spent = True
    finally:
        _leave(tid, entry)
    if spent:
        raise OverBudget(seconds)


__all__ = ["limit", "OverBudget", "TICK"]
