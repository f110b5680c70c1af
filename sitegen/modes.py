"""File modes of what a build publishes: every file readable and every folder listable by any user of the host.

A web server usually reads the site as a user of its own (nginx's workers run as ``www-data`` or ``nobody``; a
container built with ``COPY output/ /usr/share/nginx/html/`` keeps the modes). Left alone, modes would depend on
how a file got into ``output/``: written files get the process umask (0600 under ``umask 077``), and photo
variants are hard links to files of ``.sitegen-cache/images/`` (restored from a CI cache, or written by an older
sitegen with private modes) — a web server then answers 403 for every photo. So the build gives everything it
publishes at least :data:`FILE_BITS` (files, 0644) or :data:`DIR_BITS` (folders, 0755), however it got there:
bits are only added, never taken away. A published hard link shares its inode, so the cache file it comes from
becomes world-readable too (the cache holds nothing secret: the photos are public).
"""
from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

FILE_BITS = 0o644
"""Mode bits every published file has at least: owner read/write, group and others read."""

DIR_BITS = 0o755
"""Mode bits every published folder has at least: owner all, group and others read and enter."""


def ensure(path: Path | str, st: os.stat_result | None = None) -> bool:
    """Add the bits of :data:`FILE_BITS` (a file) or :data:`DIR_BITS` (a folder) that ``path`` lacks; ``st`` is its
    ``lstat``/``stat`` result when the caller has one (saves a system call). Symbolic links and other kinds are
    left alone. True when the mode was changed. Raises ``OSError`` (e.g. ``EPERM`` on a file of another user)."""
    if st is None:
        st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        want = FILE_BITS
    elif stat.S_ISDIR(st.st_mode):
        want = DIR_BITS
    else:
        return False
    mode = stat.S_IMODE(st.st_mode)
    if mode & want == want:
        return False
    os.chmod(path, mode | want)
    return True


def publish_tree(root: Path | str) -> int:
    """:func:`ensure` ``root`` and every folder and file under it (one ``lstat`` each, symbolic links not
    followed); returns how many modes were changed. Raises ``OSError``."""
    changed = int(ensure(root))
    stack = [os.fspath(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                changed += ensure(entry.path, entry.stat(follow_symlinks=False))
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return changed


def umask() -> int:
    """This process's file mode creation mask: from ``/proc/self/status`` (Linux 4.7+, read without changing it),
    else by setting it and putting it back at once."""
    with contextlib.suppress(OSError, ValueError):  # not Linux, or a kernel before 4.7: the system call below
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def publish_made(root: Path | str) -> int:
    """:func:`publish_tree` over ``root``, a folder this process filled with files it created (not links), only
    when the :func:`umask` may have hidden some of the bits: under the usual ``umask 022`` every file and folder
    made here already has them, and walking 13,000 outputs costs a fifth of a second. Returns the number of modes
    changed. Raises ``OSError``."""
    if umask() & DIR_BITS:
        return publish_tree(root)
    return 0


def makedirs(path: Path | str) -> None:
    """Create folder ``path`` and any missing parents, each with at least :data:`DIR_BITS` whatever the umask, and
    give an existing ``path`` those bits (its existing parents are left as they are). Raises ``OSError``."""
    path = Path(path)
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            if not folder.is_dir():  # a file in the way; a folder was made meanwhile by another process
                raise
        ensure(folder)
    if not missing:
        ensure(path)


__all__ = ["DIR_BITS", "FILE_BITS", "ensure", "makedirs", "publish_made", "publish_tree", "umask"]
