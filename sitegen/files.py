"""Files on disk, the one way sitegen writes and hashes them: :func:`write_atomic` (temporary file in the same
folder + ``os.replace``, so a reader or a killed build never sees half a file), :func:`stage_file` (an output file
staged for the build's commit, by whichever process made it) and :func:`sha256_file`.

Every cache file, status file and staged output goes through :func:`write_atomic`; every content hash of a project
file (page cache, deploy, photos) through :func:`sha256_file`."""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from sitegen import modes

BLOCK = 1 << 20
"""Bytes read at a time when hashing (1 MiB)."""


def write_atomic(path: Path, data: bytes | str, *, mode: int | None = None) -> None:
    """Write ``data`` (``str`` is UTF-8 encoded) to ``path`` through a temporary file in the same folder and
    ``os.replace``: ``path`` holds the old bytes or the new ones, never a mix. Creates missing parent folders.
    ``mode`` (e.g. ``0o644``) is applied before the rename; else the file gets the process's default (umask).
    Raises ``OSError``; the temporary file is removed on failure."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the temporary file may not exist yet
            os.unlink(tmp)
        raise


def sha256_file(path: Path | str) -> str:
    """Hex SHA-256 (64 characters) of a file's bytes, read in :data:`BLOCK` blocks. Raises ``OSError``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def stage_file(out: Path, staging: Path, rel: str, data: bytes, made: set) -> bool:
    """Stage ``data`` for ``out/rel`` unless that file already holds these bytes; True when staged. ``made``
    remembers folders (``str``) already created in ``staging`` (one ``mkdir`` each). Paths are joined as strings:
    a cold build stages 30,000 files, where pathlib's joins cost more than the system calls."""
    target = f"{out}/{rel}"
    with contextlib.suppress(OSError):  # a missing or unreadable output is simply staged
        st = os.stat(target)
        if st.st_size == len(data):
            with open(target, "rb") as f:
                if f.read() == data:
                    modes.ensure(target, st)  # kept as it is: readable by any user all the same
                    return False
    staged = f"{staging}/{rel}"
    parent = staged.rpartition("/")[0]
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    with open(staged, "wb") as f:
        f.write(data)
    return True
