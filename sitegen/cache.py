"""The build cache in ``.sitegen-cache/``: parsed pages, file hashes and the output manifest, versioned and checked.

Layout (``config.cache_dir``, kept between CI runs, never published)::

    pages.cache                 every parsed content file without its body (see :class:`PageCache`), small
                                enough to load on every build
    bodies/*.pack               the bodies of pages (HTML and plain text, see :class:`sitegen.bodies.Bodies`), read only for
                                the outputs that are rendered again
    manifests/<out-hash>.cache  per output folder: the digest of everything each output depends on
                                (see :class:`OutputManifest`)
    site.cache                  the assembled indexes of the last site shape (see :class:`SiteIndex`)
    checks.cache                the plan's gate and clash results, by a digest of what they read
                                (sitegen.build.plan.checked)
    *.journal                   beside pages.cache and a manifest: the changes since that file was last
                                written whole (see :func:`write_journaled`)
    search/                     the digest of what the search index read of each article (sitegen.search)
    qr.cache                    the QR code drawing of each page's URL (sitegen.build.render.QR_CACHE)
    theme-facts.json            what the theme's templates read, per theme fingerprint (sitegen.build)

Each ``.cache`` file is one header line and one payload: ``SITEGEN-CACHE <json header>\\n`` + pickle. The header carries the
format version (:data:`CACHE_VERSION`), sitegen's version, the fingerprint of sitegen's own code and of the libraries
that shape output (:func:`sitegen.versions.code_version`), the file's kind, and the payload's length and CRC-32. A file whose header
or checksum does not match — written by another sitegen version, truncated, corrupt, or not a cache at all — is
discarded with a logged warning and rebuilt, never trusted. The payload is read with a restricted unpickler that
only builds sitegen's own data classes and the standard types they contain, so a hostile file cannot run code.
Files are written atomically (temporary file + ``os.replace``). Body packs carry no header: each body's CRC-32 is
kept with its location in ``pages.cache``, and a missing or damaged body only makes its page be parsed again.

Rules followed: a source file is re-read when its (size, mtime in ns) changed, or when its mtime is too recent to
vouch for it (:mod:`sitegen.racy`), and re-parsed only when its SHA-256 changed too (the rules git's index uses);
a parsed page is reused only with the same config fingerprint and code
version, and only while every file-exists answer it was parsed with still holds.
"""
from __future__ import annotations

import dataclasses
import gc
import io
import json
import logging
import os
import pickle
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen import __version__, racy
from sitegen.versions import code_version

log = logging.getLogger(__name__)

CACHE_VERSION = 6
"""Bump when the layout of a payload changes."""

MAGIC = b"SITEGEN-CACHE "

# ---------------------------------------------------------------------------------------------------------------
# reading and writing one cache file

_ALLOWED = {
    ("builtins", "frozenset"), ("builtins", "set"), ("builtins", "slice"), ("builtins", "complex"),
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta"),
    ("datetime", "timezone"), ("zoneinfo", "ZoneInfo._unpickle"), ("zoneinfo._zoneinfo", "ZoneInfo._unpickle"),
    ("copyreg", "_reconstructor"), ("builtins", "object"), ("zoneinfo", "ZoneInfo"),
    ("zoneinfo._zoneinfo", "ZoneInfo"),
}
# the modules of the values a parsed page holds (test_plan builds the sample site twice: nothing may be parsed again)
_ALLOWED_MODULES = {"sitegen.content", "sitegen.frontmatter", "sitegen.attachments", "sitegen.errors", "sitegen.cache",
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


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector for the block, then freeze what is alive (``gc.freeze``; a build
    unfreezes it when it ends) and restore the collector, also on errors: loading a cache makes hundreds of
    thousands of objects that hold no cycles and live as long as the build, and every automatic collection would
    walk them, the first one right after the block."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


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
        with collector_paused():  # thousands of new objects, no cycles: a collection would only walk them
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


@dataclass(frozen=True, slots=True)
class Entry:
    """One parsed content file: ``size`` (bytes) and ``mtime`` (ns) when it was read, ``sha`` its SHA-256 (hex),
    ``exists`` the file-exists answers the parse depended on as ``((rel, bool), …)``, and the result: ``page``
    (``None`` when an error stopped it; kept without its body, see :class:`sitegen.bodies.Bodies`), ``problems``, ``body``,
    where the page's body is stored (``None``: not stored), ``shape``, the digest of the page's fields that
    decide where it is listed (:func:`sitegen.build.digest.page_shape`), ``card``, the digest of every field but
    its body (:func:`sitegen.build.digest.page_card`), and ``fp``, the page's whole fingerprint when it shows no
    image (:func:`sitegen.build.digest.fingerprint`; ``""`` when it shows images, whose bytes can change behind the
    entry's back). All three are computed when the file is parsed; an entry is never changed afterwards (a new one
    replaces it). ``kept`` is, for a file whose parse failed, ``(page without body, body location)`` of its last
    parse that succeeded (see :func:`usable_pages`)."""

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
    kept: tuple | None = None


@dataclass
class PageCache:
    """Parsed pages and file hashes of one project, valid for one config fingerprint.

    ``entries`` maps a project-relative source path to its :class:`Entry`; ``files`` maps a project-relative
    path (images, other files pages depend on) to ``(size, mtime_ns, sha256 hex)``. ``previous`` keeps the
    entries as loaded, to explain what changed. ``tag_slugs`` (tag name → slug) is passed to
    :func:`sitegen.content.assemble`, which adds the tags it transliterated (pypinyin takes a third of a second to
    load): a change that adds no tag does not load it. ``looked`` (wall clock, ns) is when the build that recorded these stats began
    looking at files: a size and mtime that match are trusted only for files older than that (:meth:`trusts`,
    :mod:`sitegen.racy`); call :meth:`look` when a build begins.

    On disk the entries are plain tuples (pages as the tuple of their fields, without bodies): unpickling 10,000 of
    them takes a fifth of the time dataclass instances take."""

    config: str
    entries: dict[str, Entry] = field(default_factory=dict)
    files: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    previous: dict[str, Entry] = field(default_factory=dict)
    dirty: bool = False
    tag_slugs: dict[str, str] = field(default_factory=dict)
    looked: int = 0
    _looking: int = 0
    _rows: dict = field(default_factory=dict, repr=False)
    _base: Base | None = field(default=None, repr=False)
    _tags_saved: int = field(default=0, repr=False)

    FILE = "pages.cache"

    @classmethod
    def load(cls, cache_dir: Path, config_fingerprint: str) -> "PageCache":
        """The cache of ``cache_dir`` for this config; empty when missing, unusable or made for another config
        (a changed ``site.yaml`` can change every page: dates' time zone, categories, permalinks)."""
        data = read_journaled(cache_dir / cls.FILE, "pages")
        try:
            (fingerprint, tag_slugs, looked), (rows, files), base = data
            assert isinstance(rows, dict) and isinstance(files, dict) and isinstance(tag_slugs, dict)
            assert isinstance(looked, int)
        except (TypeError, ValueError, AssertionError):
            return cls(config_fingerprint)
        if fingerprint != config_fingerprint:
            log.info("site.yaml 有变化，重新解析全部内容")
            return cls(config_fingerprint, files=files, tag_slugs=tag_slugs, looked=looked, _base=base,
                       _tags_saved=len(tag_slugs))
        from sitegen.content import Page

        try:
            entries = {rel: Entry(size, mtime, sha, exists, _page(Page, page), problems, body, shape, card, fp,
                                  _kept(Page, kept))
                       for rel, (size, mtime, sha, exists, page, problems, body, shape, card, fp, kept) in rows.items()}
        except (TypeError, ValueError) as exc:
            log.warning("缓存 %s 不可用（%s），已忽略并重建", cache_dir / cls.FILE, exc)
            return cls(config_fingerprint)
        cache = cls(config_fingerprint, entries, files, dict(entries), tag_slugs=tag_slugs, looked=looked, _base=base,
                    _tags_saved=len(tag_slugs))
        cache._rows = rows
        return cache

    def changed(self) -> bool:
        """Whether the cache differs from what was loaded (or last saved): a file parsed, touched, added or gone,
        or a tag slug learnt."""
        return (self.dirty or self.entries.keys() != self.previous.keys()
                or len(self.tag_slugs) != self._tags_saved)

    def save(self, cache_dir: Path) -> None:
        """Write the cache (only entries of files that still exist are kept by the caller), as a journal of the
        changes when they are few (:func:`write_journaled`). Raises ``OSError``."""
        from sitegen.content import Page

        names = tuple(f.name for f in dataclasses.fields(Page))  # the order of Page(*values)
        loaded, previous = self._rows, self.previous
        rows = {}
        for rel, e in self.entries.items():
            row = loaded.get(rel)
            if (row is None or previous.get(rel) is not e or row[0] != e.size or row[1] != e.mtime
                    or row[6] != e.body or row[7] != e.shape or row[8] != e.card
                    or row[9] != e.fp or row[10] != _kept_row(e.kept, names)):  # else the one loaded, unchanged
                row = (e.size, e.mtime, e.sha, e.exists,
                       tuple(getattr(e.page, n) for n in names) if e.page is not None else None, e.problems, e.body,
                       e.shape, e.card, e.fp, _kept_row(e.kept, names))
            rows[rel] = row
        head = (self.config, dict(self.tag_slugs), self._looking or self.looked)
        self._base = write_journaled(cache_dir / self.FILE, "pages", head, (rows, dict(self.files)), self._base)
        self._rows, self.previous, self.dirty = rows, dict(self.entries), False
        self._tags_saved = len(self.tag_slugs)

    def look(self, at: int | None = None) -> None:
        """Mark the start of a build's look at the files (call it before scanning them, or give the moment ``at``,
        :func:`sitegen.racy.clock_ns`, taken before the scan): the stats this build records are dated from then,
        and the previous build of a long-running process becomes the reference of :meth:`trusts`."""
        if self._looking:
            self.looked = self._looking
        self._looking = at or racy.clock_ns()

    def trusts(self, entry: Entry, size: int, mtime: int) -> bool:
        """Whether ``entry`` may be reused on the word of its file's ``size`` (bytes) and ``mtime`` (ns) alone:
        both unchanged and the file not racy (:func:`sitegen.racy.is_racy` against :attr:`looked`); else its
        SHA-256 decides."""
        return entry.size == size and entry.mtime == mtime and not racy.is_racy(mtime, self.looked)

    def file_sha(self, root: Path, rel: str) -> str | None:
        """SHA-256 (hex) of project file ``rel``, re-hashed only when its size or mtime changed or it is racy (see
        :meth:`trusts`); ``None`` when the file is missing."""
        try:
            st = os.stat(root / rel)
        except OSError:
            self.files.pop(rel, None)
            return None
        known = self.files.get(rel)
        if (known and known[0] == st.st_size and known[1] == st.st_mtime_ns
                and not racy.is_racy(st.st_mtime_ns, self.looked)):
            return known[2]
        sha = racy.digest(root / rel)
        self.files[rel] = (st.st_size, st.st_mtime_ns, sha)
        self.dirty = True
        return sha


def _page(cls, values):
    return cls(*values) if values is not None else None


def _kept(cls, kept):
    return (cls(*kept[0]), kept[1]) if kept is not None else None


def _kept_row(kept, names: tuple) -> tuple | None:
    return (tuple(getattr(kept[0], n) for n in names), kept[1]) if kept is not None else None


def strip(page):
    """``page`` without its body (empty ``html`` and ``text``), as the page cache keeps it."""
    return dataclasses.replace(page, html="", text="") if page is not None and (page.html or page.text) else page


def stored(entry: Entry, where: tuple | None) -> Entry:
    """``entry`` with its page stripped of its body, which :class:`sitegen.bodies.Bodies` holds at ``where`` (``None``: not
    stored, parsed again when needed)."""
    return dataclasses.replace(entry, page=strip(entry.page), body=where)


def without_body(entry: Entry) -> Entry:
    """``entry`` with no stored body (its pack could not be written)."""
    return dataclasses.replace(entry, body=None)


def touched(entry: Entry, size: int, mtime: int) -> Entry:
    """``entry`` for a file whose bytes are unchanged but whose ``size``/``mtime`` (ns) stat changed."""
    return dataclasses.replace(entry, size=size, mtime=mtime)


KEPT_NOTE = "网站上已保留上次成功生成的版本"
"""Appended to each error of a file whose last good page is published instead (:func:`usable_pages`)."""


def usable_pages(entries: list[Entry], cache: PageCache, cache_dir: Path, *, keep: bool) -> tuple[list, list]:
    """The pages to publish from ``entries`` (one per source, in order, as the build loaded them into ``cache``)
    and every problem of them.

    A file that was published before and now fails to parse (a typo in an edit) is not lost: its entry takes over
    the last good page from the entry the cache had for it (or what that one had kept; the cache's entry is
    replaced by one that records it), and with ``keep`` (a build without ``--strict``) that page — with its body,
    from ``cache_dir`` — is published and each error of the file ends with :data:`KEPT_NOTE`. Without ``keep`` the
    errors stand as they are (``--strict`` fails on them). A new file that fails has nothing to keep and is left
    out."""
    from sitegen.bodies import Bodies

    pages, problems = [], []
    rel_of = {id(e): rel for rel, e in cache.entries.items()}
    for e in entries:
        if e.page is not None:
            pages.append(e.page)
            problems.extend(e.problems)
            continue
        rel = rel_of.get(id(e), "")
        before = cache.previous.get(rel)
        if before is not None and before is not e and e.kept is None and (before.page or before.kept):
            e = cache.entries[rel] = dataclasses.replace(
                e, kept=(before.page, before.body) if before.page is not None else before.kept)
            cache.dirty = True
        body = Bodies(cache_dir).read(e.kept[1]) if keep and e.kept and e.kept[1] else None
        if body is None:
            problems.extend(e.problems)
            continue
        pages.append(dataclasses.replace(e.kept[0], html=body[0], text=body[1]))
        problems.extend(dataclasses.replace(p, message=f"{p.message}；{KEPT_NOTE}") if p.severity == "error" else p
                        for p in e.problems)
    return pages, problems


def exists_still_hold(root: Path, answers: tuple) -> bool:
    """Whether every ``(rel, existed)`` answer recorded while parsing is still true."""
    for rel, existed in answers:
        if os.path.isfile(root / rel) != existed:
            return False
    return True


__all__ = ["CACHE_VERSION", "read", "write", "Base", "JOURNAL_SHARE", "read_journaled",
           "write_journaled", "Entry", "PageCache", "strip", "stored", "without_body", "touched", "exists_still_hold"]
