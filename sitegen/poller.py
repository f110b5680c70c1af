"""Polling for changes where file-system events never arrive (network drives, VM and container shares):
``sitegen serve --poll``.

Every ``interval`` seconds the watched paths are listed and stat'ed (a :class:`Snapshot`); a path that appeared,
vanished, or changed size, modification time or inode is reported. Size and time alone would miss a save of the
same size within the same timestamp step (1 s on many shares, 2 s on FAT): a file whose modification time is racy
(:mod:`sitegen.racy`: within two seconds of when its stat was taken, or later) is also digested, and compared by
digest at the next poll while its stat stays the same. Files saved longer ago are never read, so an idle poll
costs one ``stat`` a file, like watchdog's ``PollingObserver`` that this replaces.

Changes are delivered as watchdog events (``FileModifiedEvent`` …) to the callback, in the poller's thread, so
:class:`sitegen.watch.Watcher` treats them as it treats the events of inotify or FSEvents.
"""
from __future__ import annotations

import logging
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from watchdog.events import (DirCreatedEvent, DirDeletedEvent, FileCreatedEvent, FileDeletedEvent,
                             FileModifiedEvent, FileSystemEvent)

from sitegen import racy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class State:
    """What a poll saw of one path: ``folder`` or file, ``size`` (bytes), ``mtime`` (ns), ``inode`` and, for a
    racy file, ``digest`` (SHA-256 hex; ``None`` when not computed or unreadable)."""

    folder: bool
    size: int
    mtime: int
    inode: int
    digest: str | None = None

    def same_stat(self, other: "State") -> bool:
        """Same kind, size, modification time and inode."""
        return (self.folder, self.size, self.mtime, self.inode) == (other.folder, other.size, other.mtime,
                                                                     other.inode)


class Snapshot:
    """The :class:`State` of every watched path (absolute path → state) at one poll, taken at ``taken`` (ns,
    :func:`sitegen.racy.clock_ns`, read before the first stat); ``confirm`` holds the digests of files that were
    racy at the previous poll and are not any more (compared once, not kept)."""

    def __init__(self, states: dict[str, State], taken: int, confirm: dict[str, str | None] | None = None):
        self.states = states
        self.taken = taken
        self.confirm = confirm or {}

    @classmethod
    def take(cls, paths: Iterable[Path], previous: "Snapshot | None" = None) -> "Snapshot":
        """Stat ``paths`` (files, or folders walked recursively without following links); digest each file that
        is racy now (kept in its state), or was racy in ``previous`` with the same stat (it must be compared once
        more)."""
        taken = racy.clock_ns()
        states: dict[str, State] = {}
        confirm: dict[str, str | None] = {}
        before = previous.states if previous is not None else {}
        for top in paths:
            for path, st in _walk(os.fspath(top)):
                folder = stat.S_ISDIR(st.st_mode)
                state = State(folder, st.st_size, st.st_mtime_ns, st.st_ino)
                if not folder and racy.is_racy(state.mtime, taken):
                    state = State(False, state.size, state.mtime, state.inode, _digest(path))
                elif not folder:
                    old = before.get(path)
                    if old is not None and old.digest is not None and old.same_stat(state):
                        confirm[path] = _digest(path)
                states[path] = state
        return cls(states, taken, confirm)

    def events(self, newer: "Snapshot") -> list[FileSystemEvent]:
        """The watchdog events that lead from this snapshot to ``newer``: created and deleted files and folders,
        and modified files (stat changed, or same stat and another digest)."""
        out: list[FileSystemEvent] = []
        old, new = self.states, newer.states
        for path in old.keys() - new.keys():
            out.append(DirDeletedEvent(path) if old[path].folder else FileDeletedEvent(path))
        for path, state in new.items():
            was = old.get(path)
            if was is not None and was.folder != state.folder:
                out.append(DirDeletedEvent(path) if was.folder else FileDeletedEvent(path))
                was = None
            if was is None:
                out.append(DirCreatedEvent(path) if state.folder else FileCreatedEvent(path))
            elif not state.folder and (not was.same_stat(state) or (
                    was.digest is not None and was.digest != newer.confirm.get(path, state.digest))):
                out.append(FileModifiedEvent(path))
        return out


def _walk(top: str):
    """``(path, stat)`` of ``top`` and, for a folder, everything under it; vanished entries are skipped."""
    try:
        st = os.stat(top)
    except OSError:
        return
    yield top, st
    if not os.path.isdir(top):
        return
    stack = [top]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:  # removed while listing: the next poll sees it gone
                        continue
                    yield entry.path, st
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:  # a folder removed while listing
            continue


def _digest(path: str) -> str | None:
    try:
        return racy.digest(path)
    except OSError:  # removed or unreadable between stat and read: its stat tells the next poll
        return None


class Poller:
    """Polls ``paths`` every ``interval`` seconds in a daemon thread and passes each change to ``emit`` as a
    watchdog event. :meth:`start` takes the first snapshot before returning, so every change made after it is
    reported; :meth:`stop` ends the thread."""

    def __init__(self, paths: Callable[[], list[Path]], emit: Callable[[FileSystemEvent], None], *,
                 interval: float = 0.5):
        self.paths = paths
        self.emit = emit
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sitegen-poll", daemon=True)
        self._snapshot: Snapshot | None = None

    def start(self) -> "Poller":
        """Take the first snapshot and start polling; returns ``self``."""
        self._snapshot = Snapshot.take(self.paths())
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling (waits for a poll in progress)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            newer = Snapshot.take(self.paths(), self._snapshot)
            for event in self._snapshot.events(newer):
                try:
                    self.emit(event)
                except Exception:  # the watcher must go on polling whatever a handler does
                    log.exception("poll event %s failed", event)
            self._snapshot = newer


__all__ = ["Poller", "Snapshot", "State"]
