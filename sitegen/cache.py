"""The build cache in ``.sitegen-cache/``: parsed pages, file hashes and the output manifest, versioned and checked.

Layout (``config.cache_dir``, kept between CI runs, never published)::

    pages.cache                 every parsed content file without its body (see :class:`PageCache`), small
                                enough to load on every build
    bodies/*.pack               the bodies of pages (HTML and plain text, see :class:`Bodies`), read only for
                                the outputs that are rendered again
    manifests/<out-hash>.cache  per output folder: the digest of everything each output depends on
                                (see :class:`OutputManifest`)
    site.cache                  the assembled indexes of the last site shape (see :class:`SiteIndex`)
    *.journal                   beside pages.cache and a manifest: the changes since that file was last
                                written whole (see :func:`write_journaled`)
    search/                     the digest of what the search index read of each article (sitegen.search)
    qr.cache                    the QR code drawing of each page's URL (sitegen.build.QR_CACHE)
    theme-facts.json            what the theme's templates read, per theme fingerprint (sitegen.build)

Each ``.cache`` file is one header line and one payload: ``SITEGEN-CACHE <json header>\\n`` + pickle. The header carries the
format version (:data:`CACHE_VERSION`), sitegen's version, the fingerprint of sitegen's own code and of the libraries
that shape output (:func:`code_version`), the file's kind, and the payload's length and CRC-32. A file whose header
or checksum does not match — written by another sitegen version, truncated, corrupt, or not a cache at all — is
discarded with a logged warning and rebuilt, never trusted. The payload is read with a restricted unpickler that
only builds sitegen's own data classes and the standard types they contain, so a hostile file cannot run code.
Files are written atomically (temporary file + ``os.replace``). Body packs carry no header: each body's CRC-32 is
kept with its location in ``pages.cache``, and a missing or damaged body only makes its page be parsed again.

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

CACHE_VERSION = 4
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
            raise ValueError("not a sitegen cache file")
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
            raise ValueError("checksum mismatch (truncated or corrupt)")
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


# ---------------------------------------------------------------------------------------------------------------
# parsed pages and file hashes


@dataclass(slots=True)
class Entry:
    """One parsed content file: ``size`` (bytes) and ``mtime`` (ns) when it was read, ``sha`` its SHA-256 (hex),
    ``exists`` the file-exists answers the parse depended on as ``((rel, bool), …)``, and the result: ``page``
    (``None`` when an error stopped it; kept without its body, see :class:`Bodies`), ``problems``, ``body``,
    where the page's body is stored (``None``: not stored), ``shape``, the digest of the page's fields that
    decide where it is listed (see :func:`sitegen.build.site_shape`), ``card``, the digest of every field but
    its body, and ``fp``, the page's whole fingerprint when it shows no image (see
    :meth:`sitegen.build.RenderState.page_fp`; each ``""`` until computed)."""

    size: int
    mtime: int
    sha: str
    exists: tuple
    page: Any
    problems: tuple
    body: tuple | None = None
    shape: str = ""
    card: str = ""
    fp: str = ""


@dataclass
class PageCache:
    """Parsed pages and file hashes of one project, valid for one config fingerprint.

    ``entries`` maps a project-relative source path to its :class:`Entry`; ``files`` maps a project-relative
    path (images, other files pages depend on) to ``(size, mtime_ns, sha256 hex)``. ``previous`` keeps the
    entries as loaded, to explain what changed. ``tag_slugs`` (tag name → slug) seeds
    :func:`sitegen.slugs.tag_slug`.

    On disk the entries are plain tuples (pages as the tuple of their fields, without bodies): unpickling 10,000 of
    them takes a fifth of the time dataclass instances take."""

    config: str
    entries: dict[str, Entry] = field(default_factory=dict)
    files: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    previous: dict[str, Entry] = field(default_factory=dict)
    dirty: bool = False
    tag_slugs: dict[str, str] = field(default_factory=dict)
    _rows: dict = field(default_factory=dict, repr=False)
    _base: Base | None = field(default=None, repr=False)

    FILE = "pages.cache"

    @classmethod
    def load(cls, cache_dir: Path, config_fingerprint: str) -> "PageCache":
        """The cache of ``cache_dir`` for this config; empty when missing, unusable or made for another config
        (a changed ``site.yaml`` can change every page: dates' time zone, categories, permalinks)."""
        data = read_journaled(cache_dir / cls.FILE, "pages")
        try:
            (fingerprint, tag_slugs), (rows, files), base = data
            assert isinstance(rows, dict) and isinstance(files, dict) and isinstance(tag_slugs, dict)
        except (TypeError, ValueError, AssertionError):
            return cls(config_fingerprint)
        if fingerprint != config_fingerprint:
            log.info("site.yaml 有变化，重新解析全部内容")
            return cls(config_fingerprint, files=files, tag_slugs=tag_slugs, _base=base)
        from sitegen.content import Page

        try:
            entries = {rel: Entry(size, mtime, sha, exists, Page(*page) if page is not None else None, problems, body,
                                  shape, card, fp)
                       for rel, (size, mtime, sha, exists, page, problems, body, shape, card, fp) in rows.items()}
        except (TypeError, ValueError) as exc:
            log.warning("缓存 %s 不可用（%s），已忽略并重建", cache_dir / cls.FILE, exc)
            return cls(config_fingerprint)
        cache = cls(config_fingerprint, entries, files, dict(entries), tag_slugs=tag_slugs, _base=base)
        cache._rows = rows
        return cache

    def changed(self) -> bool:
        """Whether the cache differs from what was loaded (or last saved): a file parsed, touched, added or gone."""
        return self.dirty or self.entries.keys() != self.previous.keys()

    def save(self, cache_dir: Path) -> None:
        """Write the cache (only entries of files that still exist are kept by the caller), as a journal of the
        changes when they are few (:func:`write_journaled`). Raises ``OSError``."""
        import dataclasses

        from sitegen.content import Page

        names = tuple(f.name for f in dataclasses.fields(Page))  # the order of Page(*values)
        loaded, previous = self._rows, self.previous
        rows = {}
        for rel, e in self.entries.items():
            row = loaded.get(rel)
            if (row is None or previous.get(rel) is not e or row[0] != e.size or row[1] != e.mtime
                    or row[6] != e.body or row[7] != e.shape or row[8] != e.card
                    or row[9] != e.fp):  # else the one loaded, unchanged
                row = (e.size, e.mtime, e.sha, e.exists,
                       tuple(getattr(e.page, n) for n in names) if e.page is not None else None, e.problems, e.body,
                       e.shape, e.card, e.fp)
            rows[rel] = row
        self._base = write_journaled(cache_dir / self.FILE, "pages", (self.config, dict(self.tag_slugs)),
                                     (rows, dict(self.files)), self._base)
        self._rows, self.previous, self.dirty = rows, dict(self.entries), False

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
    rendered), ``sources`` the pages it shows (project-relative paths, for ``--explain``; for a search index shard
    the key of its input), ``extras`` the other output files it caused to be written (images it shows,
    the files of a search shard), kept when it is skipped."""

    digest: str | None
    sources: tuple = ()
    extras: tuple = ()


@dataclass
class OutputManifest:
    """The outputs of the last build into one folder: ``outputs`` maps output path → :class:`Output`; ``theme`` and
    ``config`` are the fingerprints they were made with, ``pages`` each page's fingerprint then (source → fp),
    ``shape`` the :func:`sitegen.build.site_shape` of the pages, ``common`` the digest of what every output
    depends on, ``count`` the number of HTML pages and ``templated`` the number of outputs made from templates."""

    theme: str = ""
    config: str = ""
    pages: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    shape: str = ""
    common: str | None = None
    count: int = 0
    templated: int = 0
    base: Base | None = field(default=None, repr=False, compare=False)

    @staticmethod
    def path(cache_dir: Path, out: Path) -> Path:
        """Where the manifest of output folder ``out`` lives."""
        return cache_dir / "manifests" / (hashlib.sha1(str(out).encode()).hexdigest()[:12] + ".cache")

    @classmethod
    def load(cls, cache_dir: Path, out: Path) -> "OutputManifest":
        """The manifest of ``out``; empty when missing or unusable."""
        data = read_journaled(cls.path(cache_dir, out), "outputs")
        try:
            (theme, config, shape, common, count, templated), (pages, rows), base = data
            manifest = cls(theme, config, pages, {rel: Output(*row) for rel, row in rows.items()}, shape, common,
                           count, templated, base)
        except (TypeError, ValueError, AttributeError):
            return cls()
        _LOADED[cls.path(cache_dir, out)] = manifest
        return manifest

    @classmethod
    def loaded(cls, cache_dir: Path, out: Path) -> "OutputManifest | None":
        """The manifest :meth:`load` returned in this process for ``out``, if any (to skip rewriting it)."""
        return _LOADED.get(cls.path(cache_dir, out))

    def save(self, cache_dir: Path, out: Path, base: Base | None = None) -> None:
        """Write the manifest atomically (as plain tuples, quick to load), as a journal of its changes since
        ``base`` (that of the manifest it replaces) when they are few (:func:`write_journaled`). Raises
        ``OSError``."""
        rows = {rel: (o.digest, o.sources, o.extras) for rel, o in self.outputs.items()}
        self.base = write_journaled(self.path(cache_dir, out), "outputs",
                                    (self.theme, self.config, self.shape, self.common, self.count, self.templated),
                                    (dict(self.pages), rows), base)


_LOADED: dict[Path, OutputManifest] = {}


class SiteIndex:
    """The assembled indexes of the last build (``site.cache``), reused while the pages' shape is the same: the
    file holds the shape and the indexes as positions in the list of published pages (see
    :func:`sitegen.build.freeze_site`)."""

    FILE = "site.cache"

    @classmethod
    def load(cls, cache_dir: Path, shape: str):
        """The frozen indexes stored for ``shape``, or ``None``."""
        if not (cache_dir / cls.FILE).is_file():
            return None
        data = read(cache_dir / cls.FILE, "site")
        if isinstance(data, tuple) and len(data) == 2 and data[0] == shape:
            return data[1]
        return None

    @classmethod
    def save(cls, cache_dir: Path, shape: str, frozen) -> None:
        """Store the frozen indexes of ``shape``. Raises ``OSError``."""
        write(cache_dir / cls.FILE, "site", (shape, frozen))


def theme_fingerprint(dirs: list[Path]) -> str:
    """Hash of every template and static file of the theme folders ``dirs`` (their relative paths and bytes)."""
    h = hashlib.sha256()
    for i, d in enumerate(dirs):
        for path in sorted(p for p in d.rglob("*") if p.is_file()):
            h.update(f"{i}:{path.relative_to(d).as_posix()}\0".encode())
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:16]


__all__ = ["CACHE_VERSION", "dist_version", "code_version", "read", "write", "Base", "JOURNAL_SHARE", "read_journaled",
           "write_journaled", "Entry", "PageCache", "Bodies", "strip", "exists_still_hold", "Output", "SiteIndex",
           "OutputManifest", "theme_fingerprint"]
