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
    search/                     the last Pagefind bundle of each search shard (sitegen.search)
    qr.cache                    the QR code drawing of each page's URL (sitegen.build.QR_CACHE)
    theme-facts.json            what the theme's templates read, per theme fingerprint (sitegen.build)

Each ``.cache`` file is versioned and checksummed, and discarded with a warning when it does not match (see
:mod:`sitegen.cachefile`, whose names are re-exported here). Body packs carry no header: each body's CRC-32 is
kept with its location in ``pages.cache``, and a missing or damaged body only makes its page be parsed again.

Rules followed: a source file is re-read when its (size, mtime in ns) changed and re-parsed only when its SHA-256
changed too (the rule git's index uses); a parsed page is reused only with the same config fingerprint and code
version, and only while every file-exists answer it was parsed with still holds.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen.cachefile import (CACHE_VERSION, JOURNAL_SHARE, Base, code_version, dist_version, read, read_journaled,
                               write, write_journaled)

log = logging.getLogger(__name__)


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
    :meth:`sitegen.build.RenderState.page_fp`; each ``""`` until computed). ``kept`` is, for a file whose parse
    failed, ``(page without body, body location)`` of its last parse that succeeded (see :func:`usable_pages`)."""

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
    :func:`sitegen.site.assemble`, which adds the tags it transliterated (pypinyin takes a third of a second to
    load): a change that adds no tag does not load it.

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
    _tags_saved: int = field(default=0, repr=False)

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
            return cls(config_fingerprint, files=files, tag_slugs=tag_slugs, _base=base, _tags_saved=len(tag_slugs))
        from sitegen.content import Page

        try:
            entries = {rel: Entry(size, mtime, sha, exists, Page(*page) if page is not None else None, problems, body,
                                  shape, card, fp, (Page(*kept[0]), kept[1]) if kept is not None else None)
                       for rel, (size, mtime, sha, exists, page, problems, body, shape, card, fp, kept)
                       in rows.items()}
        except (TypeError, ValueError) as exc:
            log.warning("缓存 %s 不可用（%s），已忽略并重建", cache_dir / cls.FILE, exc)
            return cls(config_fingerprint)
        cache = cls(config_fingerprint, entries, files, dict(entries), tag_slugs=tag_slugs, _base=base,
                    _tags_saved=len(tag_slugs))
        cache._rows = rows
        return cache

    def changed(self) -> bool:
        """Whether the cache differs from what was loaded (or last saved): a file parsed, touched, added or gone."""
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
                    or row[9] != e.fp):  # else the one loaded, unchanged
                row = (e.size, e.mtime, e.sha, e.exists,
                       tuple(getattr(e.page, n) for n in names) if e.page is not None else None, e.problems, e.body,
                       e.shape, e.card, e.fp,
                       (tuple(getattr(e.kept[0], n) for n in names), e.kept[1]) if e.kept is not None else None)
            rows[rel] = row
        self._base = write_journaled(cache_dir / self.FILE, "pages", (self.config, dict(self.tag_slugs)),
                                     (rows, dict(self.files)), self._base)
        self._rows, self.previous, self.dirty = rows, dict(self.entries), False
        self._tags_saved = len(self.tag_slugs)

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
            for body in (e.body, e.kept[1] if e.kept else None):
                if body:
                    live[body[0]] = live.get(body[0], 0) + body[2] + body[3]
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
                e.body = self.add(*body) if body is not None else None
            if e.kept and e.kept[1] and e.kept[1][0] in move:
                body = self.read(e.kept[1])
                e.kept = (e.kept[0], self.add(*body)) if body is not None else None
        self.close()
        for n in move:
            os.unlink(self.dir / n)


_PACKS = 0


def strip(page):
    """``page`` without its body (empty ``html`` and ``text``), as the page cache keeps it."""
    return dataclasses.replace(page, html="", text="") if page is not None and (page.html or page.text) else page


KEPT_NOTE = "网站上已保留上次成功生成的版本"
"""Appended to each error of a file whose last good page is published instead (:func:`usable_pages`)."""


def usable_pages(entries: list[Entry], cache: PageCache, cache_dir: Path, *, keep: bool) -> tuple[list, list]:
    """The pages to publish from ``entries`` (one per source, in order, as the build loaded them) and every
    problem of them.

    A file that was published before and now fails to parse (a typo in an edit) is not lost: its entry takes over
    the last good page from the entry the cache had for it (or what that one had kept), and with ``keep`` (a build
    without ``--strict``) that page — with its body, from ``cache_dir`` — is published and each error of the file
    ends with :data:`KEPT_NOTE`. Without ``keep`` the errors stand as they are (``--strict`` fails on them). A new
    file that fails has nothing to keep and is left out."""
    pages, problems = [], []
    rel_of = {id(e): rel for rel, e in cache.entries.items()}
    for e in entries:
        if e.page is not None:
            pages.append(e.page)
            problems.extend(e.problems)
            continue
        before = cache.previous.get(rel_of.get(id(e), ""))
        if before is not None and before is not e and e.kept is None:
            e.kept = (before.page, before.body) if before.page is not None else before.kept
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


# ---------------------------------------------------------------------------------------------------------------
# the output manifest


@dataclass(slots=True)
class Output:
    """What an output file was made from: ``digest`` of everything it depends on (``None``: not digestible, always
    rendered), ``sources`` the pages it shows (project-relative paths, for ``--explain``; for a search index shard
    the key of its Pagefind input), ``extras`` the other output files it caused to be written (images it shows,
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
           "OutputManifest", "theme_fingerprint", "usable_pages", "KEPT_NOTE"]
