"""Running a stage's work on every core, the one place that starts and stops worker processes: :func:`run` sends
chunks of plain data to forked workers and returns the results in order (parsing, rendering); :func:`run_each`
runs one task at a time per worker with a deadline each (photos, where one hostile file may hang a decoder).

The parent puts the stage's read-only state (config, site, templates) in a module global *before* the pool
starts; workers are forked (``multiprocessing`` "fork" start method, Linux and macOS) so they inherit it without
pickling, take a chunk of plain items (paths, indices) and return plain, picklable results. Workers ignore
Ctrl-C and die with the parent however it dies, ``kill -9`` included (:mod:`sitegen.lifetime`); the parent, on
``KeyboardInterrupt`` or any error, cancels pending chunks, terminates the workers and re-raises — no orphan
processes, no half-written output (the build's writer only commits at the end).

Below :data:`THRESHOLD` items, or with one job, the work runs in-process: starting workers costs more than it saves.
:class:`Warm` is a single worker forked early that imports what a later stage needs while this process works;
:func:`spread` sends calls to a team of them, one at a time each (the index stage's blocks).
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

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
            _kill(pool)
            raise
        pool.shutdown(wait=True)
        log.debug("%d 项分成 %d 批，用 %d 个进程", len(items), len(chunks), jobs)
        return out
    finally:
        _STATE = None


@dataclass(frozen=True)
class Failed:
    """What :func:`run_each` hands ``finish`` instead of a result: ``why`` is ``"timeout"`` (the task ran past its
    deadline; its worker was killed), ``"crash"`` (its worker died twice running it) or ``"error"`` (the result could
    not be returned; ``detail`` says why)."""

    why: str
    detail: str = ""


def run_each(fn: Callable[[Any], Any], tasks: Sequence, *, workers: int, timeout: float,
             finish: Callable[[Any, Any], None]) -> None:
    """Run ``fn(task)`` for every task on ``workers`` processes, at most ``workers`` in flight so that each starts
    when submitted, and call ``finish(task, result)`` in this process as each ends (in the order they end). A task
    past ``timeout`` seconds gets ``finish(task, Failed("timeout"))``; its pool is killed and replaced, and the
    other tasks in flight are run again. A task whose worker dies is run once more, then gets ``Failed("crash")``.
    ``fn`` must be a module-level function and should not raise (an exception raised by ``fn`` is re-raised here)."""
    pending = deque(tasks)
    inflight: dict[cf.Future, tuple[Any, float]] = {}
    crashes: dict[int, int] = {}
    pool: cf.ProcessPoolExecutor | None = None
    try:
        while pending or inflight:
            if pool is None:
                pool = cf.ProcessPoolExecutor(max_workers=workers, **lifetime.pool_options())
            broken = _submit(pool, fn, pending, inflight, (workers, timeout))
            if not broken and inflight:
                wait_for = max(0.0, min(d for _, d in inflight.values()) - time.monotonic())
                done, _ = cf.wait(list(inflight), timeout=wait_for, return_when=cf.FIRST_COMPLETED)
                broken = _collect(done, inflight, crashes, finish, pending)
                now = time.monotonic()
                for future in [f for f, (_, d) in inflight.items() if d <= now and not f.done()]:
                    finish(inflight.pop(future)[0], Failed("timeout"))
                    broken = True
            if broken:
                for future, (task, _) in list(inflight.items()):
                    if future.done() and not future.exception():
                        finish(task, future.result())
                    else:
                        pending.appendleft(task)
                inflight.clear()
                _kill(pool)
                pool = None
    finally:
        if pool is not None:
            _kill(pool) if inflight else pool.shutdown(wait=True)


def _submit(pool, fn, pending: deque, inflight: dict, limits: tuple[int, float]) -> bool:
    """Submit pending tasks until ``limits[0]`` are in flight, each with its deadline; True when the pool broke."""
    workers, timeout = limits
    while pending and len(inflight) < workers:
        task = pending.popleft()
        try:
            inflight[pool.submit(fn, task)] = (task, time.monotonic() + timeout)
        except cf.process.BrokenProcessPool:
            pending.appendleft(task)
            return True
    return False


def _collect(done, inflight: dict, crashes: dict, finish, pending: deque) -> bool:
    """Take the finished futures ``done`` out of ``inflight`` and ``finish`` their tasks; a task whose worker
    died is tried once more (back on ``pending``), then finished as :class:`Failed` ``"crash"``. True when the
    pool broke."""
    broken = False
    for future in done:
        task, _deadline = inflight.pop(future)
        try:
            result = future.result()
        except cf.process.BrokenProcessPool:
            broken = True
            crashes[id(task)] = crashes.get(id(task), 0) + 1  # the same object comes back from pending
            if crashes[id(task)] >= 2:
                finish(task, Failed("crash"))
            else:
                pending.appendleft(task)
            continue
        except (OSError, TypeError, ValueError, AttributeError) as exc:  # e.g. a result that could not be pickled
            result = Failed("error", f"{type(exc).__name__}: {exc}")
        finish(task, result)
    return broken


class Warm:
    """One worker process, forked now, that imports ``modules`` at once and then runs the calls it is sent: a later
    stage's imports (NumPy for the search index, about 0.2 s) happen on another core while this process works.
    Uses a pipe, no thread in this process (a later fork stays safe); the worker ignores Ctrl-C and dies with this
    process (:func:`sitegen.lifetime.worker_init`). One call at a time; not thread-safe."""

    def __init__(self, modules: Sequence[str]):
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._proc = context.Process(target=_warm_main, args=(child, os.getpid(), tuple(modules)), daemon=True,
                                     name="sitegen-warm")
        self._proc.start()
        child.close()

    @classmethod
    def start(cls, modules: Sequence[str], jobs: int | None) -> Warm | None:
        """A warm worker, or None where it cannot help: ``jobs`` 1, one CPU, no ``fork``, or the fork failed."""
        if jobs == 1 or default_jobs() < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return None
        try:
            return cls(modules)
        except OSError as exc:
            log.debug("预热进程未能启动：%s", exc)
            return None

    @classmethod
    def team(cls, modules: Sequence[Sequence[str]], jobs: int | None) -> tuple[Warm, ...]:
        """Up to ``len(modules)`` warm workers, the i-th importing ``modules[i]``, no more than ``jobs`` (default
        :func:`default_jobs`); none where :meth:`start` gives none."""
        most = jobs or default_jobs()
        return tuple(w for w in (cls.start(m, jobs) for m in modules[:most]) if w is not None)

    @property
    def pid(self) -> int | None:
        """The worker's process id; None once closed."""
        return self._proc.pid if self._proc is not None else None

    def call(self, target: str, *args, timeout: float = 300, **kwargs) -> Any:
        """``module:function`` called with ``args`` and ``kwargs`` in the worker and its result; re-raises what the
        function raised. Runs in this process instead when the worker is gone, gives no answer within ``timeout``
        seconds (it is then stopped) or could not send its answer back (one that does not pickle)."""
        if self._send(target, args, kwargs) and self._conn.poll(timeout):
            return self._answer(target, args, kwargs)
        self.close()
        return call_here(target, *args, **kwargs)

    def _send(self, target: str, args: tuple, kwargs: dict) -> bool:
        """Send a call; False when the worker is gone (then closed)."""
        if self._proc is None:
            return False
        try:
            self._conn.send((target, args, kwargs))
        except (OSError, ValueError) as exc:
            log.debug("预热进程没有答复（%s），在本进程中运行", exc)
            self.close()
            return False
        return True

    def _answer(self, target: str, args: tuple, kwargs: dict) -> Any:
        """The answer to the call just sent (waited for), or the call run here when none comes back."""
        try:
            ok, value = self._conn.recv()
        except (OSError, EOFError) as exc:
            log.debug("预热进程没有答复（%s），在本进程中运行", exc)
            self.close()
        else:
            if ok:
                return value
            if value is not None:
                raise value
        return call_here(target, *args, **kwargs)

    def close(self) -> None:
        """Stop the worker (killed: it may still be importing); calls after this run in this process."""
        proc, self._proc = self._proc, None
        if proc is not None:
            self._conn.close()
            with contextlib.suppress(OSError, ValueError):
                proc.kill()
                proc.join()


def call_here(target: str, *args, **kwargs) -> Any:
    """``module:function`` (e.g. ``"sitegen.searchpatch:patch_folder"``) called with ``args`` and ``kwargs`` in this
    process."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args, **kwargs)


def spread(workers: Sequence[Warm], target: str, calls: Iterable[tuple[tuple, dict]], *,
           timeout: float = 300) -> list:
    """``module:function`` called once for each ``(args, kwargs)`` of ``calls`` on the :class:`Warm` ``workers``
    (each runs one call at a time and is sent the next as soon as it answers; ``calls`` is read one item at a time,
    so what it makes is made only when a worker is free), and the results in the order of ``calls``. A call whose
    worker is gone, or gives no answer within ``timeout`` seconds of the last answer, runs in this process (all of
    them without workers); re-raises what a call raised."""
    results: dict[int, Any] = {}
    busy: dict[Warm, tuple[int, tuple, dict]] = {}
    todo = iter(enumerate(calls))
    free = [w for w in workers if w.pid is not None]
    try:
        while True:
            _send_more(free, busy, todo, target, results)
            if not busy:
                break
            ready = multiprocessing.connection.wait([w._conn for w in busy], timeout)
            if not ready:  # no answer in time: the busy workers are stopped, their calls run here
                for w, (i, args, kwargs) in busy.items():
                    w.close()
                    results[i] = call_here(target, *args, **kwargs)
                busy.clear()
            for w in [w for w in busy if w._conn in ready]:
                i, args, kwargs = busy.pop(w)
                results[i] = w._answer(target, args, kwargs)
                free.append(w)
    except BaseException:
        for w in busy:  # their answers would be taken for the next call's
            w.close()
        raise
    for i, (args, kwargs) in todo:  # left when no worker was ever free
        results[i] = call_here(target, *args, **kwargs)
    return [results[i] for i in range(len(results))]


def _send_more(free: list, busy: dict, todo, target: str, results: dict) -> None:
    """Send the next calls of ``todo`` to the ``free`` workers (now ``busy``); a worker gone: the call runs here."""
    while free:
        item = next(todo, None)
        if item is None:
            return
        i, (args, kwargs) = item
        w = free.pop()
        if w._send(target, args, kwargs):
            busy[w] = (i, args, kwargs)
        else:
            results[i] = call_here(target, *args, **kwargs)


WARM_NAME = "sitegen-warm"
"""The process name (``/proc/<pid>/comm``, what ``ps`` and ``top`` show) of a :class:`Warm` worker on Linux."""


def _warm_main(conn, parent: int, modules: tuple[str, ...]) -> None:
    lifetime.worker_init(parent)
    with contextlib.suppress(OSError):  # not Linux: the name stays python's
        with open("/proc/self/comm", "w", encoding="ascii") as f:
            f.write(WARM_NAME)
    for name in modules:
        with contextlib.suppress(ImportError):  # the call will raise it, in context
            importlib.import_module(name)
    while True:
        try:
            target, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = (True, call_here(target, *args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, which decides
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception:  # noqa: BLE001 - an answer that does not pickle: the caller runs the call itself
            conn.send((False, None))


def _kill(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a pool whose workers may hang (``kill_workers`` on Python 3.14+, else its process table, which
    ``shutdown`` would forget). Safe when Ctrl-C interrupted ``submit`` while it started the pool's manager
    thread: ``shutdown`` then cannot join that thread (``RuntimeError``), the workers are killed all the same."""
    if hasattr(pool, "kill_workers"):
        pool.kill_workers()
    else:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, AttributeError, ValueError):  # already gone
                proc.kill()
    with contextlib.suppress(RuntimeError):  # "cannot join thread before it is started"
        pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["run", "run_each", "Warm", "call_here", "Failed", "state", "default_jobs", "THRESHOLD"]
