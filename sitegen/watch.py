"""Watch a project for edits and call back once per settled burst of changes.

The watchdog observer (inotify, FSEvents, …; or, with ``poll=True`` for network and container filesystems where
events never arrive, :class:`sitegen.poller.Poller`, which confirms recently saved files by their content) watches
``content/``, ``themes/``, ``static/`` and ``site.yaml``. ``output/`` and ``.sitegen-cache/`` are never watched, so a build never triggers
another. Editor leftovers (vim swap and backup files, emacs locks, vim's ``4913`` probe, ``*.tmp`` files of atomic
saves; :data:`sitegen.content.IGNORED_NAME`) and read-only events (``opened``, ``closed_no_write``) are dropped.

Events are debounced: a burst ends when no relevant event arrived for ``debounce`` seconds (or, during an endless
storm, after ``max_wait`` seconds). One callback runs at a time in one worker thread; events arriving meanwhile are
collected and delivered together after it returns, so the last state on disk always wins. The pattern follows
MkDocs' ``livereload`` and Lektor's ``watcher.py`` (changes sorted by kind, output and cache ignored).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from sitegen.config import Config
from sitegen.sources import IGNORED_NAME
from sitegen.poller import Poller

log = logging.getLogger(__name__)

DEBOUNCE = 0.1
"""Seconds of quiet that end a burst of events. An editor's atomic save (temp file written, then renamed) arrives
within milliseconds, so a tenth of a second is enough to see it whole and is a tenth of the one-second
save-to-reload budget."""

KINDS = ("config", "theme", "static", "content")
"""Kinds of change, most far-reaching first: ``config`` (``site.yaml``), ``theme`` (templates), ``static`` (theme
and site static files, photos beside articles), ``content`` (Markdown files and content folders)."""

WATCHED_DIRS = ("content", "themes", "static")
_RELEVANT_EVENTS = {"created", "deleted", "modified", "moved", "closed"}


@dataclass(frozen=True, slots=True)
class Change:
    """One settled burst of edits: ``paths`` project-relative POSIX paths (sorted; both ends of a rename),
    ``kinds`` the subset of :data:`KINDS` they touch, ``events`` the number of relevant raw events merged."""

    paths: tuple[str, ...]
    kinds: frozenset[str]
    events: int = 0

    @property
    def full(self) -> bool:
        """True when the whole site must be rebuilt (configuration or templates changed)."""
        return bool(self.kinds & {"config", "theme"})


def classify(rel: str, is_directory: bool = False) -> str | None:
    """The kind of change of project-relative POSIX path ``rel``, or ``None`` when it must be ignored: anything
    under ``output/`` or ``.sitegen-cache/``, any path with a hidden or editor-temp component
    (:data:`~sitegen.content.IGNORED_NAME`), and files outside ``site.yaml``, ``content/``, ``themes/`` and
    ``static/``."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or any(IGNORED_NAME.match(p) for p in parts):
        return None
    top = parts[0]
    if len(parts) == 1:
        if top == "site.yaml":
            return "config"
        if top in WATCHED_DIRS and is_directory:
            return "content" if top == "content" else ("theme" if top == "themes" else "static")
        return None
    if top == "content":
        if is_directory or parts[-1].lower().endswith(".md"):
            return "content"
        return "static"
    if top == "themes":
        return "static" if len(parts) > 2 and parts[2] == "static" else "theme"
    if top == "static":
        return "static"
    return None


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: "Watcher"):
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.watcher._event(event)


class Watcher:
    """Watches ``config.root`` and calls ``on_change(change: Change)`` once per settled burst, in a worker thread,
    never two at a time. Exceptions from ``on_change`` are logged and the watcher goes on.

    ``debounce`` and ``max_wait`` are seconds; ``poll`` selects :class:`sitegen.poller.Poller`, which stats every
    watched file each ``poll_interval`` seconds and digests the recently saved ones. Use :meth:`start` / :meth:`stop`, or the object as a context manager."""

    def __init__(self, config: Config, on_change: Callable[[Change], None], *, debounce: float = DEBOUNCE,
                 max_wait: float = 2.0, poll: bool = False, poll_interval: float = 0.5):
        self.root = Path(config.root).resolve()
        self.on_change = on_change
        self.debounce = debounce
        self.max_wait = max_wait
        self.poll = poll
        self.observer = None if poll else Observer()
        self.poller = Poller(self._polled, self._event, interval=poll_interval) if poll else None
        self._handler = _Handler(self)
        self._scheduled: set[str] = set()
        self._lock = threading.Condition()
        self._pending: dict[str, str] = {}
        self._count = 0
        self._first = 0.0
        self._last = 0.0
        self._stopping = False
        self._busy = False
        self._worker = threading.Thread(target=self._run, name="sitegen-watch", daemon=True)
        self.builds = 0
        """Number of times ``on_change`` was called (for tests and the terminal)."""

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> "Watcher":
        """Schedule the watches and start the observer (or poller) and the worker thread; returns ``self``."""
        if self.poller is not None:
            self.poller.start()
        else:
            self.observer.schedule(self._handler, str(self.root), recursive=False)
            for name in WATCHED_DIRS:
                self._schedule_dir(name)
            self.observer.start()
        self._worker.start()
        return self

    def stop(self) -> None:
        """Stop watching; waits for a running callback to end."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self.poller is not None:
            self.poller.stop()
        else:
            self.observer.stop()
            self.observer.join(timeout=5)
        if self._worker.is_alive():
            self._worker.join(timeout=60)

    def __enter__(self) -> "Watcher":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def idle(self) -> bool:
        """True when no change is pending and no callback is running."""
        with self._lock:
            return not self._pending and not self._busy

    def _polled(self) -> list[Path]:
        """What the poller looks at: ``site.yaml`` and the watched folders (also when created later)."""
        return [self.root / "site.yaml"] + [self.root / name for name in WATCHED_DIRS]

    def _schedule_dir(self, name: str) -> None:
        path = self.root / name
        if self.observer is not None and name not in self._scheduled and path.is_dir():
            self.observer.schedule(self._handler, str(path), recursive=True)
            self._scheduled.add(name)

    # -- events ------------------------------------------------------------------------------------------------
    def _rel(self, path) -> str | None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not path:
            return None
        try:
            return Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return None

    def _event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _RELEVANT_EVENTS:
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's mtime changes whenever a file in it does: the file's own event says more
        found = []
        for path in (event.src_path, getattr(event, "dest_path", "")):
            rel = self._rel(path)
            if rel is None:
                continue
            kind = classify(rel, event.is_directory)
            if kind:
                found.append((rel, kind))
            if event.is_directory and event.event_type in ("created", "moved") and rel in WATCHED_DIRS:
                self._schedule_dir(rel)
        if not found:
            return
        now = time.monotonic()
        with self._lock:
            if not self._pending:
                self._first = now
            for rel, kind in found:
                self._pending[rel] = kind
            self._count += 1
            self._last = now
            self._lock.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                # wait for the burst to settle
                while not self._stopping:
                    now = time.monotonic()
                    quiet_until = self._last + self.debounce
                    deadline = self._first + self.max_wait
                    if now >= quiet_until or now >= deadline:
                        break
                    self._lock.wait(min(quiet_until, deadline) - now)
                if self._stopping:
                    return
                pending, count = self._pending, self._count
                self._pending, self._count = {}, 0
                self._busy = True
            change = Change(tuple(sorted(pending)), frozenset(pending.values()), count)
            try:
                log.debug("文件变化：%s", change)
                self.builds += 1
                self.on_change(change)
            except Exception:  # the preview must survive anything a callback does
                log.exception("rebuild after %s failed", ", ".join(change.paths[:3]))
            finally:
                with self._lock:
                    self._busy = False
                    self._lock.notify_all()
