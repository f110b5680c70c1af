"""Running the photo tasks of :mod:`sitegen.imagework`: in this process (with a best-effort ``SIGALRM`` limit) or
on a process pool where a task past its deadline gets ``E308`` and the pool is killed and replaced; workers ignore
Ctrl-C and die with the build (:mod:`sitegen.lifetime`)."""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import os
import signal
import threading
import time
from collections import deque

from sitegen import lifetime
from sitegen.imagework import Outcome, Task, TimedOut, process

log = logging.getLogger(__name__)

PROGRESS_MIN = 8
"""Show a progress bar only when at least this many photos need decoding."""


def execute(tasks: list[Task], timeout: float, workers: int | None, progress: bool) -> dict[str, Outcome]:
    """Run ``tasks`` and return their outcomes by key: in this process when there is one task or ``workers`` is 1,
    else on a pool of ``workers`` processes (default: every core); each task has ``timeout`` seconds. ``progress``
    shows a tqdm bar when at least :data:`PROGRESS_MIN` tasks run. Never raises for a bad photo."""
    if not tasks:
        return {}
    bar = None
    if progress and len(tasks) >= PROGRESS_MIN:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(tasks), unit="图", desc="图片", leave=False)
        except ImportError:
            bar = None
    workers = workers or os.cpu_count() or 1
    try:
        if workers == 1 or len(tasks) == 1:
            outcomes = {}
            for task in tasks:
                outcomes[task.key] = _in_process(task, timeout)
                if bar:
                    bar.update()
            return outcomes
        return _pooled(tasks, timeout, min(workers, len(tasks)), bar)
    finally:
        if bar:
            bar.close()


def _in_process(task: Task, timeout: float) -> Outcome:
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not use_alarm:
        return process(task)

    def alarm(signum, frame):
        raise TimedOut()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return process(task)
    except TimedOut:
        return Outcome(task.key, False, code="E308", detail=f"{timeout:g}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _pooled(tasks: list[Task], timeout: float, workers: int, bar) -> dict[str, Outcome]:
    """Run tasks in a process pool, at most ``workers`` in flight so each starts when submitted; a task past its
    deadline gets ``E308`` and the pool is killed and replaced (its other in-flight tasks are resubmitted)."""
    outcomes: dict[str, Outcome] = {}
    pending = deque(tasks)
    crashes: dict[str, int] = {}
    inflight: dict[cf.Future, tuple[Task, float]] = {}
    pool: cf.ProcessPoolExecutor | None = None

    def finish(task: Task, outcome: Outcome) -> None:
        outcomes[task.key] = outcome
        if bar:
            bar.update()

    try:
        while pending or inflight:
            if pool is None:
                pool = cf.ProcessPoolExecutor(max_workers=workers, **lifetime.pool_options())
            broken = False
            while pending and len(inflight) < workers:
                task = pending.popleft()
                try:
                    inflight[pool.submit(process, task)] = (task, time.monotonic() + timeout)
                except cf.process.BrokenProcessPool:
                    pending.appendleft(task)
                    broken = True
                    break
            if not broken and inflight:
                wait_for = max(0.0, min(d for _, d in inflight.values()) - time.monotonic())
                done, _ = cf.wait(list(inflight), timeout=wait_for, return_when=cf.FIRST_COMPLETED)
                broken = _collect(done, inflight, crashes, finish, pending)
                now = time.monotonic()
                expired = [f for f, (_, d) in inflight.items() if d <= now and not f.done()]
                for future in expired:
                    task, _ = inflight.pop(future)
                    finish(task, Outcome(task.key, False, code="E308", detail=f"{timeout:g}"))
                broken = broken or bool(expired)
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
            if inflight:
                _kill(pool)
            else:
                pool.shutdown(wait=True)
    return outcomes


def _collect(done, inflight: dict, crashes: dict[str, int], finish, pending: deque) -> bool:
    """Take the finished futures ``done`` out of ``inflight`` and ``finish`` their tasks; a task whose worker
    died is tried once more (back on ``pending``), then reported E309. True when the pool broke."""
    broken = False
    for future in done:
        task, _deadline = inflight.pop(future)
        try:
            finish(task, future.result())
        except cf.process.BrokenProcessPool:
            broken = True
            crashes[task.key] = crashes.get(task.key, 0) + 1
            if crashes[task.key] >= 2:
                finish(task, Outcome(task.key, False, code="E309", detail="处理进程意外退出"))
            else:
                pending.appendleft(task)
        except Exception as exc:  # e.g. an unpicklable result; should not happen
            finish(task, Outcome(task.key, False, code="E309", detail=f"{type(exc).__name__}: {exc}"))
    return broken


def _kill(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a pool whose workers may hang (``kill_workers`` on Python 3.14+, else its process table)."""
    if hasattr(pool, "kill_workers"):
        pool.kill_workers()
    else:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, AttributeError):  # already gone
                proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)
