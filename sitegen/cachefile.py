"""One cache file of ``.sitegen-cache/``: a versioned, checksummed header and a pickled payload, read by a restricted
unpickler; and journaled files, whose small changes are appended instead of rewriting them whole.

Each ``.cache`` file is one header line and one payload: ``SITEGEN-CACHE <json header>\\n`` + pickle. The header
carries the format version (:data:`CACHE_VERSION`), sitegen's version, the fingerprint of sitegen's own code and of
the libraries that shape output (:func:`code_version`), the file's kind, and the payload's length and CRC-32. A file
whose header or checksum does not match — written by another sitegen version, truncated, corrupt, or not a cache at
all — is discarded with a logged warning and rebuilt, never trusted. The payload is read with a restricted
unpickler that only builds sitegen's own data classes and the standard types they contain, so a hostile file cannot
run code. Files are written atomically (temporary file + ``os.replace``). What the files hold is
:mod:`sitegen.cache`'s.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitegen import __version__

log = logging.getLogger(__name__)

CACHE_VERSION = 5
"""Bump when the layout of a payload changes."""

MAGIC = b"SITEGEN-CACHE "

_PACKAGE = Path(__file__).resolve().parent
_code_version: str | None = None


def dist_version(dist: str) -> str:
    """The installed version of distribution ``dist`` (PyPI name) without importing it, ``"none"`` when it is not
    installed."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "none"


def code_version() -> str:
    """A 16-hex-digit fingerprint of sitegen's Python sources and the versions of the libraries whose output ends
    up in pages (Markdown, nh3, pypinyin, PyYAML, Jinja2): a cache written by other code is never reused."""
    global _code_version
    if _code_version is None:
        h = hashlib.sha256(__version__.encode())
        for path in sorted(_PACKAGE.glob("*.py")):
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        for dist in ("Markdown", "nh3", "pypinyin", "PyYAML", "Jinja2"):
            h.update(f"{dist}={dist_version(dist)};".encode())
        _code_version = h.hexdigest()[:16]
    return _code_version


# ---------------------------------------------------------------------------------------------------------------
# reading and writing one cache file

_ALLOWED = {
    ("builtins", "frozenset"), ("builtins", "set"), ("builtins", "slice"), ("builtins", "complex"),
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta"),
    ("datetime", "timezone"), ("zoneinfo", "ZoneInfo._unpickle"), ("zoneinfo._zoneinfo", "ZoneInfo._unpickle"),
    ("copyreg", "_reconstructor"), ("builtins", "object"), ("zoneinfo", "ZoneInfo"),
    ("zoneinfo._zoneinfo", "ZoneInfo"),
}
_ALLOWED_MODULES = {"sitegen.content", "sitegen.pages", "sitegen.attachments", "sitegen.errors", "sitegen.cache",
                    "sitegen.config"}


def _safe_getattr(obj, name):
    """``getattr`` as pickle uses it for class methods, limited to ``ZoneInfo._unpickle`` (aware datetimes)."""
    from zoneinfo import ZoneInfo

    if obj is ZoneInfo and name == "_unpickle":
        return ZoneInfo._unpickle
    raise pickle.UnpicklingError(f"unexpected attribute {name} in cache")


class _SafeUnpickler(pickle.Unpickler):
    """Builds only sitegen's data classes and plain standard types; anything else is a corrupt cache."""

    def find_class(self, module, name):
        if (module, name) == ("builtins", "getattr"):
            return _safe_getattr
        if (module, name) in _ALLOWED or (module in _ALLOWED_MODULES and "." not in name and name[:1].isupper()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in cache")


def read(path: Path, kind: str) -> Any | None:
    """The payload of cache file ``path`` written by :func:`write` with the same ``kind``, or ``None`` when the file
    is missing (silently) or unusable (with a warning in Chinese naming the reason: another sitegen version or code,
    not a cache file, corrupt)."""
    got = _read(path, kind)
    return got[0] if got is not None else None


def _read(path: Path, kind: str) -> tuple[Any, int] | None:
    """:func:`read`, with the payload's CRC-32 (what a journal names its base by)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("缓存 %s 无法读取（%s），已忽略并重建", path, exc)
        return None
    try:
        if not data.startswith(MAGIC):
            raise ValueError("不是 sitegen 的缓存文件")
        end = data.index(b"\n")
        header = json.loads(data[len(MAGIC):end])
        payload = memoryview(data)[end + 1:]
        expected = {"format": CACHE_VERSION, "sitegen": __version__, "code": code_version(), "kind": kind}
        for key, value in expected.items():
            if header.get(key) != value:
                log.warning("缓存 %s 由另一版本的 sitegen 写入（%s 为 %r，现在是 %r），已重建", path, key,
                         header.get(key), value)
                return None
        if header.get("length") != len(payload) or header.get("crc32") != zlib.crc32(payload):
            raise ValueError("校验和不符（文件不完整或已损坏）")
        return _SafeUnpickler(io.BytesIO(payload)).load(), header["crc32"]
    except Exception as exc:  # anything wrong with a cache file only costs a full rebuild
        log.warning("缓存 %s 不可用（%s），已忽略并重建", path, exc)
        return None


def write(path: Path, kind: str, payload: Any) -> int:
    """Write ``payload`` (picklable sitegen data) to cache file ``path`` atomically; returns the payload's CRC-32.
    Raises ``OSError``."""
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    header = {"format": CACHE_VERSION, "sitegen": __version__, "code": code_version(), "kind": kind,
              "length": len(body), "crc32": zlib.crc32(body)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n")
        f.write(body)
    os.replace(tmp, path)
    return header["crc32"]


@dataclass(frozen=True)
class Base:
    """A journaled cache file as last written in full: its payload's CRC-32 and its maps (never mutated)."""

    crc: int
    maps: tuple


JOURNAL_SHARE = 16
"""A journal is rewritten in full once it holds more than one entry in this many of its file's (or 256)."""


def _journal(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def read_journaled(path: Path, kind: str) -> tuple[Any, tuple, Base] | None:
    """``(head, maps, base)`` of a file written by :func:`write_journaled`: its last full copy at ``path`` with the
    changes of its journal ``<path>.journal`` applied (a journal made for another full copy, left by a build
    that stopped between the two writes, is ignored). ``None`` when the file is missing or unusable, or when its
    journal is unusable (warned: the cache is then rebuilt rather than half-trusted)."""
    got = _read(path, kind)
    if got is None or not (isinstance(got[0], tuple) and len(got[0]) == 2 and isinstance(got[0][1], tuple)):
        return None
    (head, maps), crc = got
    base = Base(crc, maps)
    if not _journal(path).exists():
        return head, tuple(dict(m) for m in maps), base
    delta = read(_journal(path), kind + "-journal")
    try:
        base_crc, head2, changes = delta
        if base_crc != crc:
            return head, tuple(dict(m) for m in maps), base
        merged = []
        for m, (upserts, deleted) in zip(maps, changes, strict=True):
            m = dict(m)
            m.update(upserts)
            for k in deleted:
                m.pop(k, None)
            merged.append(m)
        return head2, tuple(merged), base
    except (TypeError, ValueError, AttributeError):
        if delta is not None:
            log.warning("缓存 %s 不可用（journal），已忽略并重建", _journal(path))
        return None


_MISSING = object()


def write_journaled(path: Path, kind: str, head: Any, maps: tuple, base: Base | None) -> Base:
    """Save ``head`` (small) and ``maps`` (a tuple of large dicts) to cache file ``path``: when ``base`` (what
    :func:`read_journaled` or the last call returned) is the file on disk and fewer than one entry in
    :data:`JOURNAL_SHARE` differs from it, only the differences are written, to ``<path>.journal``; otherwise
    the whole file, and the journal is removed. An edit of one article thus rewrites a few kilobytes instead of
    the 8 MB page cache and 7 MB manifest of a 10,000-article site. Returns the base to pass next time. Raises
    ``OSError``."""
    if base is not None and len(base.maps) == len(maps):
        changes, count = [], 0
        limit = max(256, sum(map(len, base.maps)) // JOURNAL_SHARE)
        for old, new in zip(base.maps, maps):
            upserts = {}
            for k, v in new.items():
                was = old.get(k, _MISSING)
                if was is not v and was != v:
                    upserts[k] = v
            deleted = tuple(k for k in old if k not in new)
            changes.append((upserts, deleted))
            count += len(upserts) + len(deleted)
            if count > limit:
                break
        else:
            write(_journal(path), kind + "-journal", (base.crc, head, tuple(changes)))
            return base
    crc = write(path, kind, (head, maps))
    _journal(path).unlink(missing_ok=True)
    return Base(crc, tuple(dict(m) for m in maps))


__all__ = ["CACHE_VERSION", "MAGIC", "dist_version", "code_version", "read", "write", "Base", "JOURNAL_SHARE",
           "read_journaled", "write_journaled"]
