"""Child processes that never outlive the process that started them.

A build starts worker processes (:mod:`sitegen.pool`: pages, and photos for :mod:`sitegen.images`); ``deploy``
runs rsync (:mod:`sitegen.deploy`). When the build ends normally it stops them itself; when it is killed
(``kill -9``, the OOM killer, a cancelled CI job, a closed terminal) nothing in it runs any more, so each child
must end by itself. Every child sitegen starts calls :func:`worker_init` first: as a pool ``initializer``
(:func:`pool_options`) or as the ``preexec_fn`` of ``subprocess.Popen`` (:func:`preexec`). It also leaves Ctrl-C
to the parent, which stops its children itself and reports.

- **Linux**: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (prctl(2)) through ctypes: the kernel kills the child the moment
  the thread that forked it ends, which includes the whole parent process dying by any signal. The setting
  survives ``exec`` (a program started with :func:`preexec` keeps it). A parent that died between the fork and the ``prctl`` is caught
  by comparing ``getppid()`` with the parent's pid.
- **Elsewhere** (macOS, the BSDs): a Python worker starts a daemon thread that checks every
  :data:`POLL_SECONDS` whether it was re-parented (``getppid()`` changed) and then exits at once. A program run
  with :func:`preexec` gets no thread: it should end by itself when its stdin reaches end of file.

Ctrl-C that lands between a fork and the child's :func:`worker_init` is held back: around every fork in a sitegen
process the forking thread blocks SIGINT, the child starts with it ignored, the parent gets it after the fork.

Because the Linux signal follows the forking *thread*, a child must be started from a thread that outlives it
(the pools are started and stopped by the same thread of a build).
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import sys
import threading
import time
from typing import Callable

PR_SET_PDEATHSIG = 1
"""``prctl`` option of ``<linux/prctl.h>``: the signal the child gets when its parent (thread) dies."""

POLL_SECONDS = 0.5
"""How often a worker without ``PR_SET_PDEATHSIG`` checks that its parent is alive."""


def _load_prctl():
    """libc's ``prctl`` (resolved in the parent, before any fork), or ``None`` off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        # the symbols the interpreter is linked with, libc's among them (ctypes.util.find_library would run
        # ldconfig: a quarter of a second at every start)
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PRCTL = _load_prctl()


def supported() -> bool:
    """Whether the kernel kills children when their parent dies (Linux ``PR_SET_PDEATHSIG``); else the
    re-parenting check of :func:`die_with_parent` (Python children only) is what ends them."""
    return _PRCTL is not None


def die_with_parent(parent: int, *, watch: bool = True) -> None:
    """Make the calling (child) process end when process ``parent`` (its parent's pid, read before the fork)
    dies. On Linux asks the kernel for ``SIGKILL`` on the parent's death; elsewhere, with ``watch``, starts a
    daemon thread that exits the process within :data:`POLL_SECONDS` of being re-parented (``watch=False`` for a
    ``preexec_fn``, where a thread would not survive ``exec``). Exits at once (status 1) when the parent is already
    gone. Never raises."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    elif watch:
        watch_parent(parent)
    if os.getppid() != parent:
        os._exit(1)


def watch_parent(parent: int) -> None:
    """Start a daemon thread that exits this process (status 1, no clean-up) within :data:`POLL_SECONDS` of it
    being re-parented away from ``parent``: the fallback of :func:`die_with_parent` where the kernel offers no
    parent-death signal."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="sitegen-parent-watch", daemon=True).start()


def worker_init(parent: int, *, watch: bool = True) -> None:
    """Start of every child sitegen runs: :func:`die_with_parent` (``parent`` and ``watch`` as there), and Ctrl-C
    ignored: the terminal sends it to the whole process group, and the parent, which gets it too, stops its
    children and reports (the ignored disposition survives ``exec``, so this holds for programs they run as well)."""
    die_with_parent(parent, watch=watch)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def preexec() -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen``: the program it runs ignores Ctrl-C and ends when this process
    dies (:func:`worker_init` without the watching thread, which would not survive ``exec``)."""
    return functools.partial(worker_init, os.getpid(), watch=False)


def pool_options() -> dict:
    """Keyword arguments for ``concurrent.futures.ProcessPoolExecutor`` that run :func:`worker_init` in every
    worker: ``{"initializer": worker_init, "initargs": (this pid,)}``."""
    return {"initializer": worker_init, "initargs": (os.getpid(),)}


_saved_mask: set = set()


def _before_fork() -> None:
    global _saved_mask
    _saved_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _after_fork_in_parent() -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, _saved_mask)  # a Ctrl-C that came meanwhile is raised now


def _after_fork_in_child() -> None:
    with contextlib.suppress(ValueError):  # not the main thread: signal() refuses, the mask alone holds it back
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C pending since the fork is dropped with it
    signal.pthread_sigmask(signal.SIG_SETMASK, _saved_mask)


if hasattr(os, "register_at_fork") and hasattr(signal, "pthread_sigmask"):
    # Ctrl-C reaches the whole process group: one that lands just after a fork, before the child has run
    # worker_init, would interrupt the child's start-up (Python's own after-fork hooks) and print a traceback.
    # Around every fork in a sitegen process Ctrl-C is held back; the child starts with it ignored (as
    # worker_init leaves it; a preexec_fn may set it again), the parent gets it right after the fork.
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


__all__ = ["die_with_parent", "watch_parent", "worker_init", "preexec", "pool_options", "supported", "PR_SET_PDEATHSIG",
           "POLL_SECONDS"]
