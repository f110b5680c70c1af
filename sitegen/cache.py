"""The build cache in ``.sitegen-cache/``: parsed pages, file hashes and the output manifest, versioned and checked.

Layout (``config.cache_dir``, kept between CI runs, never published)::

    pages.cache                 every parsed content file without its body (see :class:`PageCache`), small
                                enough to load on every build
    bodies/*.pack               the bodies of pages (HTML and plain text, see :class:`Bodies`), read only for
                                the outputs that are rendered again
    manifests/<out-hash>.cache  per output folder: the digest of everything each output depends on
                                (see :class:`OutputManifest`)

Each file is one header line and one payload: ``SITEGEN-CACHE <json header>\\n`` + pickle. The header carries the
format version (:data:`CACHE_VERSION`), sitegen's version, the fingerprint of sitegen's own code and of the libraries
that shape output (:func:`code_version`), the file's kind, and the payload's length and CRC-32. A file whose header
or checksum does not match — written by another sitegen version, truncated, corrupt, or not a cache at all — is
discarded with a logged warning and rebuilt, never trusted. The payload is read with a restricted unpickler that
only builds sitegen's own data classes and the standard types they contain, so a hostile file cannot run code.
Files are written atomically (temporary file + ``os.replace``).

Rules followed: a source file is re-read when its (size, mtime in ns) changed and re-parsed only when its SHA-256
changed too (the rule git's index uses); a parsed page is reused only with the same config fingerprint and code
version, and only while every file-exists answer it was parsed with still holds.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen import __version__

log = logging.getLogger(__name__)

CACHE_VERSION = 2
"""Bump when the layout of a payload changes."""

MAGIC = b"SITEGEN-CACHE "

_PACKAGE = Path(__file__).resolve().parent
_code_version: str | None = None


def code_version() -> str:
    """A 16-hex-digit fingerprint of sitegen's Python sources and the versions of the libraries whose output ends
    up in pages (Markdown, nh3, pypinyin, PyYAML, Jinja2): a cache written by other code is never reused."""
    global _code_version
    if _code_version is None:
        h = hashlib.sha256(__version__.encode())
        for path in sorted(_PACKAGE.glob("*.py")):
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        for mod in ("markdown", "nh3", "pypinyin", "yaml", "jinja2"):
            try:
                module = __import__(mod)
                h.update(f"{mod}={getattr(module, '__version__', '?')};".encode())
            except ImportError:  # pragma: no cover - every one is a dependency
                h.update(f"{mod}=none;".encode())
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
_ALLOWED_MODULES = {"sitegen.content", "sitegen.errors", "sitegen.cache", "sitegen.config"}


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
    is missing (silently) or unusable (with a warning naming the reason: foreign, other version, corrupt)."""
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
            raise ValueError("not a sitegen cache file")
        end = data.index(b"\n")
        header = json.loads(data[len(MAGIC):end])
        payload = memoryview(data)[end + 1:]
        expected = {"format": CACHE_VERSION, "sitegen": __version__, "code": code_version(), "kind": kind}
        for key, value in expected.items():
            if header.get(key) != value:
                raise ValueError(f"{key} is {header.get(key)!r}, this sitegen needs {value!r}")
        if header.get("length") != len(payload) or header.get("crc32") != zlib.crc32(payload):
            raise ValueError("checksum mismatch (truncated or corrupt)")
        return _SafeUnpickler(io.BytesIO(payload)).load()
    except Exception as exc:  # anything wrong with a cache file only costs a full rebuild
        log.warning("缓存 %s 不可用（%s），已忽略并重建", path, exc)
        return None


def write(path: Path, kind: str, payload: Any) -> None:
    """Write ``payload`` (picklable sitegen data) to cache file ``path`` atomically. Raises ``OSError``."""
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    header = {"format": CACHE_VERSION, "sitegen": __version__, "code": code_version(), "kind": kind,
              "length": len(body), "crc32": zlib.crc32(body)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n")
        f.write(body)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------------------------
# parsed pages and file hashes


@dataclass(slots=True)
class Entry:
    """One parsed content file: ``size`` (bytes) and ``mtime`` (ns) when it was read, ``sha`` its SHA-256 (hex),
    ``exists`` the file-exists answers the parse depended on as ``((rel, bool), …)``, and the result: ``page``
    (``None`` when an error stopped it; kept without its body, see :class:`Bodies`), ``problems`` and ``body``,
    where the page's body is stored (``None``: not stored)."""

    size: int
    mtime: int
    sha: str
    exists: tuple
    page: Any
    problems: tuple
    body: tuple | None = None


@dataclass
class PageCache:
    """Parsed pages and file hashes of one project, valid for one config fingerprint.

    ``entries`` maps a project-relative source path to its :class:`Entry`; ``files`` maps a project-relative
    path (images, other files pages depend on) to ``(size, mtime_ns, sha256 hex)``. ``previous`` keeps the
    entries as loaded, to explain what changed."""

    config: str
    entries: dict[str, Entry] = field(default_factory=dict)
    files: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    previous: dict[str, Entry] = field(default_factory=dict)
    dirty: bool = False

    FILE = "pages.cache"

    @classmethod
    def load(cls, cache_dir: Path, config_fingerprint: str) -> "PageCache":
        """The cache of ``cache_dir`` for this config; empty when missing, unusable or made for another config
        (a changed ``site.yaml`` can change every page: dates' time zone, categories, permalinks)."""
        data = read(cache_dir / cls.FILE, "pages")
        if not (isinstance(data, tuple) and len(data) == 3 and isinstance(data[1], dict)):
            return cls(config_fingerprint)
        fingerprint, entries, files = data
        if fingerprint != config_fingerprint:
            log.info("site.yaml 有变化，重新解析全部内容")
            return cls(config_fingerprint, files=files if isinstance(files, dict) else {})
        return cls(config_fingerprint, entries, files if isinstance(files, dict) else {}, dict(entries))

    def save(self, cache_dir: Path) -> None:
        """Write the cache (only entries of files that still exist are kept by the caller). Raises ``OSError``."""
        write(cache_dir / self.FILE, "pages", (self.config, self.entries, self.files))

    def file_sha(self, root: Path, rel: str) -> str | None:
        """SHA-256 (hex) of project file ``rel``, re-hashed only when its size or mtime changed; ``None`` when the
        file is missing."""
        try:
            st = os.stat(root / rel)
        except OSError:
            self.files.pop(rel, None)
            return None
        known = self.files.get(rel)
        if known and known[0] == st.st_size and known[1] == st.st_mtime_ns:
            return known[2]
        h = hashlib.sha256()
        with open(root / rel, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        sha = h.hexdigest()
        self.files[rel] = (st.st_size, st.st_mtime_ns, sha)
        self.dirty = True
        return sha


class Bodies:
    """The bodies of parsed pages (``html`` and ``text``, the bulk of a page) in pack files under
    ``<cache>/bodies/``, so a build loads only the bodies of the outputs it renders again. Pages elsewhere in the
    build carry empty ``html``/``text`` (see :func:`strip`); an :class:`Entry` records where its body is
    (``Entry.body`` = ``(pack name, offset, html bytes, text bytes, CRC-32)``) and :meth:`read` gets it back.

    A pack is the UTF-8 bytes of html and text of many pages one after another, written once (by the process that
    parsed them, one pack per batch) and never changed; :meth:`prune` deletes packs no entry uses and copies the
    live bodies out of packs that are mostly dead. A missing or damaged body reads as ``None`` (the caller parses
    the source again)."""

    def __init__(self, cache_dir: Path):
        self.dir = cache_dir / "bodies"
        self._out = None
        self._name = ""
        self._offset = 0
        self._files: dict[str, Any] = {}

    def add(self, html: str, text: str) -> tuple:
        """Append a body to this process's current pack; returns its location. Raises ``OSError``."""
        h, t = html.encode("utf-8"), text.encode("utf-8")
        if self._out is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            global _PACKS
            _PACKS += 1
            self._name = f"{os.getpid()}-{time.time_ns():x}-{_PACKS}.pack"
            self._out = open(self.dir / self._name, "wb")
            self._offset = 0
        self._out.write(h)
        self._out.write(t)
        loc = (self._name, self._offset, len(h), len(t), zlib.crc32(t, zlib.crc32(h)))
        self._offset += len(h) + len(t)
        return loc

    def close(self) -> None:
        """Finish the pack being written and close every pack being read. Raises ``OSError``."""
        if self._out is not None:
            self._out.close()
            self._out = None
        for f in self._files.values():
            f.close()
        self._files.clear()

    def read(self, loc) -> tuple[str, str] | None:
        """``(html, text)`` stored at ``loc``, or ``None`` when the pack is missing or the bytes damaged."""
        try:
            name, offset, nh, nt, crc = loc
            if self._out is not None and name == self._name:
                self._out.flush()
            f = self._files.get(name)
            if f is None:
                if "/" in name or name.startswith("."):
                    return None
                f = self._files[name] = open(self.dir / name, "rb")
            data = os.pread(f.fileno(), nh + nt, offset)  # no shared file offset: safe after fork
            if len(data) != nh + nt or zlib.crc32(data) != crc:
                return None
            return data[:nh].decode("utf-8"), data[nh:].decode("utf-8")
        except (OSError, ValueError, TypeError, UnicodeDecodeError):
            return None

    def prune(self, entries: dict) -> None:
        """Delete the packs none of ``entries`` uses; when more than 24 packs are left, copy the live bodies of the
        packs that are small or mostly dead into one new pack (updating the entries). Raises ``OSError``."""
        if not self.dir.is_dir():
            return
        live: dict[str, int] = {}
        for e in entries.values():
            if e.body:
                live[e.body[0]] = live.get(e.body[0], 0) + e.body[2] + e.body[3]
        sizes = {}
        for f in os.scandir(self.dir):
            if f.name not in live and f.name != self._name:
                os.unlink(f.path)
            elif f.name in live:
                sizes[f.name] = f.stat().st_size
        if len(sizes) <= 24:
            return
        move = {n for n, size in sizes.items() if size < (1 << 20) or live[n] * 2 < size}
        if len(move) < 2:
            return
        for e in entries.values():
            if e.body and e.body[0] in move:
                body = self.read(e.body)
                if body is not None:
                    e.body = self.add(*body)
                else:
                    e.body = None
        self.close()
        for n in move:
            os.unlink(self.dir / n)


_PACKS = 0


def strip(page):
    """``page`` without its body (empty ``html`` and ``text``), as the page cache keeps it."""
    import dataclasses

    return dataclasses.replace(page, html="", text="") if page is not None and (page.html or page.text) else page


def exists_still_hold(root: Path, answers: tuple) -> bool:
    """Whether every ``(rel, existed)`` answer recorded while parsing is still true."""
    for rel, existed in answers:
        if os.path.isfile(root / rel) != existed:
            return False
    return True


# ---------------------------------------------------------------------------------------------------------------
# the output manifest


@dataclass(slots=True)
class Output:
    """What an output file was made from: ``digest`` of everything it depends on (``None``: not digestible, always
    rendered), ``sources`` the pages it shows (project-relative paths, for ``--explain``), ``extras`` the other
    output files it caused to be written (images it shows), kept when it is skipped."""

    digest: str | None
    sources: tuple = ()
    extras: tuple = ()


@dataclass
class OutputManifest:
    """The outputs of the last build into one folder: ``outputs`` maps output path → :class:`Output`; ``theme`` and
    ``config`` are the fingerprints they were made with, ``pages`` each page's fingerprint then (source → fp)."""

    theme: str = ""
    config: str = ""
    pages: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)

    @staticmethod
    def path(cache_dir: Path, out: Path) -> Path:
        """Where the manifest of output folder ``out`` lives."""
        return cache_dir / "manifests" / (hashlib.sha1(str(out).encode()).hexdigest()[:12] + ".cache")

    @classmethod
    def load(cls, cache_dir: Path, out: Path) -> "OutputManifest":
        """The manifest of ``out``; empty when missing or unusable."""
        data = read(cls.path(cache_dir, out), "outputs")
        if isinstance(data, cls):
            _LOADED[cls.path(cache_dir, out)] = data
            return data
        return cls()

    @classmethod
    def loaded(cls, cache_dir: Path, out: Path) -> "OutputManifest | None":
        """The manifest :meth:`load` returned in this process for ``out``, if any (to skip rewriting it)."""
        return _LOADED.get(cls.path(cache_dir, out))

    def save(self, cache_dir: Path, out: Path) -> None:
        """Write the manifest atomically. Raises ``OSError``."""
        write(self.path(cache_dir, out), "outputs", self)


_LOADED: dict[Path, OutputManifest] = {}


def theme_fingerprint(dirs: list[Path]) -> str:
    """Hash of every template and static file of the theme folders ``dirs`` (their relative paths and bytes)."""
    h = hashlib.sha256()
    for i, d in enumerate(dirs):
        for path in sorted(p for p in d.rglob("*") if p.is_file()):
            h.update(f"{i}:{path.relative_to(d).as_posix()}\0".encode())
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:16]


__all__ = ["CACHE_VERSION", "code_version", "read", "write", "Entry", "PageCache", "Bodies", "strip",
           "exists_still_hold", "Output",
           "OutputManifest", "theme_fingerprint"]
