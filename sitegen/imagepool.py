"""Running the photo pipeline's tasks (:func:`sitegen.imagework.process`): in this process for one photo, else in
a process pool with at most ``workers`` tasks in flight, each with its own time limit — a worker past it is killed
and the pool replaced (E308), a worker that dies is retried once (E309) — and a tqdm progress bar for long runs.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import signal
import threading
import time
from collections import deque

from sitegen.imagework import Outcome, Task, process

_PROGRESS_MIN = 8  # show a progress bar only when at least this many photos need decoding


class TimedOut(BaseException):
    """Raised by the in-process SIGALRM handler (a BaseException so no ``except Exception`` swallows it)."""


def execute(tasks: list[Task], timeout: float, workers: int | None, progress: bool) -> dict[str, Outcome]:
    if not tasks:
        return {}
    bar = None
    if progress and len(tasks) >= _PROGRESS_MIN:
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
                pool = cf.ProcessPoolExecutor(max_workers=workers)
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
                broken = _collect(done, inflight, finish, crashes, pending)
                now = time.monotonic()
                expired = [f for f, (_, d) in inflight.items() if d <= now and not f.done()]
                for future in expired:  # reported as E308 with the photo's lines
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


def _collect(done, inflight: dict, finish, crashes: dict, pending: deque) -> bool:
    """Record the outcome of each finished future of ``done`` (removed from ``inflight``): a task whose worker died
    is queued again once (``pending``), then fails with E309. True when the pool broke."""
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


__all__ = ["execute"]
