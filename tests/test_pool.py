"""The warm worker (sitegen.pool.Warm): a process forked early that imports what a later stage needs (NumPy for
the search index's corrections) and then runs that stage's calls; when it is gone, calls run in this process; calls
spread over several of them (sitegen.pool.spread). Also the process pool (sitegen.pool.run) stopped by Ctrl-C at an
awkward moment."""
from __future__ import annotations

import multiprocessing
import os
import signal
import zlib

import pytest

from sitegen import pool

pytestmark = pytest.mark.skipif(pool.default_jobs() < 2 or "fork" not in multiprocessing.get_all_start_methods(),
                                reason="a warm worker needs the fork start method and two or more CPUs")


def test_calls_run_in_the_worker_and_errors_come_back():
    """A call runs in the worker (its pid), an error raised there is raised here and the worker goes on serving;
    once closed, calls run in this process."""
    warm = pool.Warm(("sitegen.searchpatch",))
    try:
        assert warm.pid not in (None, os.getpid())
        assert warm.call("os:getpid") == warm.pid
        assert warm.call("sys:getrecursionlimit") > 0
        with pytest.raises(zlib.error):
            warm.call("zlib:decompress", b"not deflate")
        assert warm.call("zlib:decompress", zlib.compress(b"ok")) == b"ok"  # still serving after an error
    finally:
        warm.close()
    assert warm.pid is None and warm.call("os:getpid") == os.getpid()


def test_a_dead_worker_means_calls_run_here():
    """A worker killed from outside: the next call runs in this process instead of failing."""
    warm = pool.Warm(())
    pid = warm.pid
    os.kill(pid, signal.SIGKILL)
    try:
        assert warm.call("os:getpid") == os.getpid()
        assert warm.pid is None
    finally:
        warm.close()


def test_one_job_or_one_cpu_starts_none():
    """``--jobs 1`` means one process: no warm worker."""
    assert pool.Warm.start(("json",), 1) is None


def test_an_answer_that_does_not_pickle_or_never_comes_means_the_call_runs_here():
    """A result the worker cannot send back, or no answer within the timeout: the call runs in this process."""
    warm = pool.Warm(())
    try:
        assert warm.call("threading:Lock") is not None  # a lock does not pickle: made here instead
        assert warm.pid is not None  # the worker still serves
        assert warm.call("time:sleep", 1, timeout=0.1) is None  # slept here too, after the worker was stopped
        assert warm.pid is None
    finally:
        warm.close()


def test_spread_runs_calls_on_every_worker_at_once_in_order():
    """Calls are spread over the workers, which run at the same time (two sleeps of 0.6 s end within about 0.6 s),
    each sent its next call when it answers; results come back in the order of the calls, keyword arguments
    included; the calls are made lazily, one per free worker."""
    import time

    team = pool.Warm.team([(), ()], 2)
    made = []

    def calls():
        for n in range(6):
            made.append(n)
            yield ((0.6 if n < 2 else 0.01,), {})

    try:
        assert len(team) == 2 and len({w.pid for w in team}) == 2
        started = time.monotonic()
        assert pool.spread(team, "time:sleep", calls()) == [None] * 6
        assert time.monotonic() - started < 1.1
        assert made == list(range(6))
        pids = pool.spread(team, "os:getpid", [((), {})] * 8)
        assert set(pids) == {w.pid for w in team}
        assert pool.spread(team, "builtins:int", [(("ff",), {"base": 16}), (("10",), {"base": 2})]) == [255, 2]
        assert pool.spread(team, "builtins:int", []) == []
    finally:
        for w in team:
            w.close()


def test_spread_without_workers_or_when_they_fail():
    """Without workers every call runs here; a worker killed from outside, or one that gives no answer in time, has
    its call run here; an error raised by a call is raised here, and the other worker's answer is not left over for
    a later call."""
    here = os.getpid()
    assert pool.spread((), "os:getpid", [((), {})] * 3) == [here] * 3
    assert pool.Warm.team([(), ()], 1) == ()
    team = pool.Warm.team([(), ()], 2)
    try:
        os.kill(team[0].pid, signal.SIGKILL)
        pids = pool.spread(team, "os:getpid", [((), {})] * 4)
        assert here in pids and team[1].pid in pids and len(pids) == 4
        assert pool.spread(team[1:], "time:sleep", [((1,), {})], timeout=0.1) == [None]  # slept here instead
        assert team[1].pid is None
    finally:
        for w in team:
            w.close()
    team = pool.Warm.team([(), ()], 2)
    try:
        with pytest.raises(zlib.error):
            pool.spread(team, "zlib:decompress", [((b"not deflate",), {}), ((zlib.compress(b"ok"),), {})])
        assert all(w.call("os:getpid") in (w.pid, here) for w in team)  # no stale answer taken for this one
    finally:
        for w in team:
            w.close()


def test_ctrl_c_while_the_pool_starts_its_thread_raises_keyboardinterrupt(monkeypatch):
    """Ctrl-C can land while ``submit`` starts the process pool's manager thread (seen in CI: the thread object
    exists, not yet started). The build must stop with KeyboardInterrupt (exit 130), not a RuntimeError from
    joining that thread while the pool is torn down."""
    import concurrent.futures.process as cfp
    import threading

    def interrupted(self):
        self._executor_manager_thread = threading.Thread(target=lambda: None)  # created, never started
        raise KeyboardInterrupt

    monkeypatch.setattr(cfp.ProcessPoolExecutor, "_start_executor_manager_thread", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pool.run(_double, list(range(100)), jobs=2, shared=None, threshold=1)


def _double(chunk):
    return [2 * x for x in chunk]
