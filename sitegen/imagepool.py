"""Running the photo tasks of :mod:`sitegen.imagework`: in this process (with a best-effort ``SIGALRM`` limit) or
on the build's process pool (:func:`sitegen.pool.run_each`), where a task past its deadline gets ``E308`` and its
worker is killed; workers ignore Ctrl-C and die with the build (:mod:`sitegen.lifetime`)."""
from __future__ import annotations

import logging
import signal
import threading

from sitegen import pool
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
    workers = workers or pool.default_jobs()
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
    """Run tasks on :func:`sitegen.pool.run_each`: a task past its deadline gets ``E308``, one whose worker died
    twice ``E309``."""
    outcomes: dict[str, Outcome] = {}

    def finish(task: Task, result) -> None:
        if isinstance(result, pool.Failed):
            code, detail = ("E308", f"{timeout:g}") if result.why == "timeout" else \
                ("E309", result.detail or "处理进程意外退出")
            result = Outcome(task.key, False, code=code, detail=detail)
        outcomes[task.key] = result
        if bar:
            bar.update()

    pool.run_each(process, tasks, workers=workers, timeout=timeout, finish=finish)
    return outcomes
