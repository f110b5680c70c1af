"""When a file's size and modification time may be trusted to say it has not changed: git's "racy" rule.

A cache (or a poller) that remembers ``(size, mtime)`` from when it last looked at a file is fooled by a save of
the same size whose modification time reads the same: the file system keeps times in coarse steps (FAT 2 s; ext3,
HFS+, many network and container shares 1 s), so two saves within one step, or a save in the same step as the
look, leave the recorded pair unchanged. Git calls such an index entry *racy* (Documentation/technical/racy-git.txt)
and compares its content. Here, a file whose recorded modification time is within :data:`WINDOW_NS` of the moment
the stats were taken (or later) is racy: it is confirmed by a digest of its bytes. Files edited longer ago than
that are trusted by their stat alone, so a build or a poll that finds nothing changed still reads no file.
"""
from __future__ import annotations

import time
from pathlib import Path

from sitegen.files import sha256_file

WINDOW_NS = 2_000_000_000
"""Two seconds, in ns: the coarsest timestamp step in use (FAT's 2 s) and more than a 1-second step plus the time
a scan or poll takes to stat every file."""


def clock_ns() -> int:
    """The wall clock in ns since the epoch, the scale of ``st_mtime_ns``: take it *before* the stats it vouches for."""
    return time.time_ns()


def is_racy(mtime_ns: int, looked_ns: int) -> bool:
    """Whether a file with modification time ``mtime_ns`` (ns), recorded by a look that began at ``looked_ns``
    (:func:`clock_ns`; 0 = unknown), could have been rewritten since without its size and time changing."""
    return mtime_ns >= looked_ns - WINDOW_NS


def digest(path: Path | str) -> str:
    """SHA-256 (hex) of the file at ``path`` (:func:`sitegen.files.sha256_file`). Raises ``OSError``."""
    return sha256_file(path)


__all__ = ["WINDOW_NS", "clock_ns", "digest", "is_racy"]
