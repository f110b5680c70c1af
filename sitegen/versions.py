"""Which code made a cache: :func:`code_version`, a fingerprint of sitegen's own sources and of the libraries whose
output ends up in pages, and :func:`dist_version`, an installed library's version read without importing it (a
build whose stamp holds loads neither Markdown nor Jinja2, :mod:`sitegen.build.stamp`)."""
from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
from pathlib import Path

from sitegen import __version__

_PACKAGE = Path(__file__).resolve().parent


def _normal(name: str) -> str:
    """A distribution name as PEP 503 compares it: runs of ``-``, ``_``, ``.`` as one ``-``, lower case."""
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _installed() -> dict[str, str]:
    """``{normalised name: version}`` of every distribution on ``sys.path``, from the names of its
    ``{name}-{version}.dist-info`` (PEP 376, wheels: PEP 427) or ``.egg-info`` folders; the first on the path wins,
    as it does for imports."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if dot and suffix in ("dist-info", "egg-info") and "-" in stem:
                dist, _, version = stem.partition("-")
                found.setdefault(_normal(dist), version)
    return found


def dist_version(dist: str) -> str:
    """The installed version of distribution ``dist`` (PyPI name, e.g. ``PyYAML``) without importing it (one
    listing of each ``sys.path`` folder per process), ``"none"`` when it is not installed."""
    return _installed().get(_normal(dist), "none")


@functools.cache
def code_version() -> str:
    """A 16-hex-digit fingerprint of sitegen's Python sources and the versions of the libraries whose output ends
    up in pages (Markdown, nh3, pypinyin, PyYAML, Jinja2): a cache written by other code is never reused."""
    h = hashlib.sha256(__version__.encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for dist in ("Markdown", "nh3", "pypinyin", "PyYAML", "Jinja2"):
        h.update(f"{dist}={dist_version(dist)};".encode())
    return h.hexdigest()[:16]


__all__ = ["code_version", "dist_version"]
