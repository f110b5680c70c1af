"""The build pipeline as a short list of named, timed stages, and the atomic writer of ``output/``.

Stages: ``load`` (scan content; parse only files changed since the cache in ``.sitegen-cache/`` was written, on
every core when there are many) → ``assemble`` (indexes) → ``images`` → ``render`` (each output's digest of
everything it depends on — the pages it shows, the config, the theme — is compared with the last build's; only
outputs whose digest changed are rendered, on every core when there are many, and only changed bytes are staged)
→ ``commit`` (staged files moved into ``output/``, files of the previous build that are no longer produced
removed) → ``cache`` (the page cache and output manifest saved, see :mod:`sitegen.cache`). A build that fails before
``commit`` (``--strict`` with content errors, a template error) leaves ``output/`` exactly as it was. Only files
sitegen wrote (listed in its manifest in ``.sitegen-cache/``) are ever removed. An incremental build equals a clean
build byte for byte (tests/test_cache.py).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import html as htmllib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from sitegen import cache as cachemod
from sitegen import content as contentmod
from sitegen import pool
from sitegen import render as rendermod
from sitegen import slugs
from sitegen.config import Config
from sitegen.content import Page, Site
from sitegen.errors import Location, Problem, Problems, SitegenError, TemplateError
from sitegen.markup import IMG_LINK, MD_LINK, escape

if TYPE_CHECKING:  # imported lazily at run time: a no-change build needs neither Pillow nor NumPy
    from sitegen import images

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did: ``ok`` (False when it wrote nothing because of errors), ``written`` files whose bytes
    changed, ``unchanged`` files (rendered to the same bytes, or not rendered at all because nothing they depend on
    changed — ``skipped`` of them), ``removed`` stale files (relative to the output folder), ``pages`` HTML
    pages produced, ``problems`` (errors and warnings, sorted), ``seconds`` wall time, per-stage ``stages`` and, with
    ``explain``, ``explained`` = ``((output path, reason), …)`` for every output rendered; ``images`` as
    (processed, from cache, failed) photo counts."""

    ok: bool
    output: Path
    pages: int = 0
    written: tuple[str, ...] = ()
    unchanged: int = 0
    removed: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    seconds: float = 0.0
    stages: tuple[tuple[str, float], ...] = ()
    images: tuple[int, int, int] = (0, 0, 0)
    skipped: int = 0
    explained: tuple[tuple[str, str], ...] = ()

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity error."""
        return [p for p in self.problems if p.severity == "error"]


def now_in(config: Config) -> datetime:
    """The build clock in the site's time zone: ``SITEGEN_NOW`` (ISO 8601, for tests and previews) or now."""
    forced = os.environ.get("SITEGEN_NOW")
    if forced:
        return contentmod.parse_date(forced, config.tz)
    return datetime.now(config.tz)


def _stage_file(out: Path, staging: Path, rel: str, data: bytes, made: set) -> bool:
    """Stage ``data`` for ``out/rel`` unless that file already holds these bytes; True when staged."""
    target = out / rel
    with contextlib.suppress(OSError):  # a missing or unreadable output is simply staged
        if target.stat().st_size == len(data):
            with open(target, "rb") as f:
                if f.read() == data:
                    return False
    staged = staging / rel
    parent = staged.parent
    if parent not in made:
        parent.mkdir(parents=True, exist_ok=True)
        made.add(parent)
    with open(staged, "wb") as f:
        f.write(data)
    return True


class Writer:
    """Writes output files through a staging folder beside ``out`` and commits them at the end.

    ``write(rel, data)`` stages ``data`` only when it differs from ``out/rel``; ``keep(rel)`` declares an existing
    output produced again without touching it (an output whose inputs did not change); ``commit()`` moves staged
    files into place with ``os.replace`` and deletes the files of the previous manifest that were not produced;
    ``abort()`` drops the staging folder. ``rel`` is a POSIX path relative to ``out``."""

    def __init__(self, out: Path, manifest: Path):
        self.out = out
        self.manifest = manifest
        self.staging = out.parent / f".{out.name}.staging-{os.getpid()}"
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)
        self.produced: set[str] = set()
        self.written: list[str] = []
        self.unchanged = 0
        self._made: set[Path] = set()

    def write(self, rel: str, data: bytes | str) -> None:
        """Stage ``data`` (str is UTF-8 encoded) as output ``rel``. Raises :class:`SitegenError` when ``rel`` was
        already produced by this build."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._claim(rel)
        if _stage_file(self.out, self.staging, rel, data, self._made):
            self.written.append(rel)
        else:
            self.unchanged += 1

    def copy(self, rel: str, source: Path, *, immutable: bool = False) -> None:
        """Stage a copy of ``source`` unless ``out/rel`` already has the same bytes. With ``immutable`` (a path
        named by the content's hash) an existing file of the same size counts as the same bytes."""
        if immutable:
            with contextlib.suppress(OSError):  # no output yet: copied below
                if (self.out / rel).stat().st_size == source.stat().st_size:
                    self.keep(rel)
                    return
        self.write(rel, source.read_bytes())

    def link(self, rel: str, source: Path) -> None:
        """Stage ``source`` at ``rel`` as a hard link (a copy across devices) for files named by a hash of their
        content (photo variants): an existing ``out/rel`` of the same size is taken as unchanged."""
        if rel in self.produced:
            return
        self.produced.add(rel)
        with contextlib.suppress(OSError):  # no output yet: linked below
            if (self.out / rel).stat().st_size == source.stat().st_size:
                self.unchanged += 1
                return
        staged = self.staging / rel
        if staged.parent not in self._made:
            staged.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(staged.parent)
        try:
            os.link(source, staged)
        except OSError:
            shutil.copyfile(source, staged)
        self.written.append(rel)

    def keep(self, rel: str) -> None:
        """Declare ``out/rel`` (which must exist) produced by this build, unchanged; no-op when already produced."""
        if rel not in self.produced:
            self.produced.add(rel)
            self.unchanged += 1

    def adopt(self, rel: str, staged: bool) -> None:
        """Record an output another process of this build wrote into the staging folder (``staged``) or found
        unchanged."""
        self._claim(rel)
        if staged:
            self.written.append(rel)
        else:
            self.unchanged += 1

    def _claim(self, rel: str) -> None:
        if rel in self.produced:
            raise SitegenError(f"两个输出文件写到了同一路径 {rel}")
        self.produced.add(rel)

    def commit(self) -> list[str]:
        """Move staged files into ``out``, delete stale files of the previous build; returns the removed paths."""
        previous = set(self._read_manifest())
        fresh = not previous and (not self.out.exists() or (self.out.is_dir() and not any(self.out.iterdir())))
        if fresh and self.written:
            # first build into an empty folder: one rename instead of one per file
            if self.out.exists():
                self.out.rmdir()
            self.out.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging, self.out)
            self.staging.mkdir()
        self.out.mkdir(parents=True, exist_ok=True)
        if not fresh:
            for rel in self.written:  # replace first: the folder and file usually exist (one system call)
                dest, staged = self.out / rel, self.staging / rel
                try:
                    os.replace(staged, dest)
                except FileNotFoundError:  # a new folder
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged, dest)
                except IsADirectoryError:  # a folder of the last build is a file now
                    shutil.rmtree(dest)
                    os.replace(staged, dest)
        removed = sorted(previous - self.produced)
        for rel in removed:
            path = self.out / rel
            path.unlink(missing_ok=True)
            parent = path.parent
            while parent != self.out and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps(sorted(self.produced), ensure_ascii=False), "utf-8")
        os.replace(tmp, self.manifest)
        shutil.rmtree(self.staging, ignore_errors=True)
        return removed

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def _read_manifest(self) -> list[str]:
        try:
            data = json.loads(self.manifest.read_text("utf-8"))
            return [r for r in data if isinstance(r, str) and ".." not in r.split("/")]
        except (OSError, ValueError):
            return []


def output_path(url: str) -> str:
    """The file under ``output/`` for a site-relative URL: ``/a/b/`` → ``a/b/index.html``, ``/x.xml`` → ``x.xml``."""
    url = url.lstrip("/")
    if not url or url.endswith("/"):
        return url + "index.html"
    return url


def paginate(items, per_page: int, base_url: str) -> Iterator[dict]:
    """Split ``items`` into pages of ``per_page``: yields dicts ``{items, number, total, url, prev, next, urls}``;
    page 1 lives at ``base_url``, page N at ``base_url + 'page/N/'``."""
    items = list(items)
    total = max(1, -(-len(items) // per_page))
    urls = [base_url if n == 1 else f"{base_url}page/{n}/" for n in range(1, total + 1)]
    for n in range(1, total + 1):
        yield {"items": items[(n - 1) * per_page: n * per_page], "number": n, "total": total, "url": urls[n - 1],
               "prev": urls[n - 2] if n > 1 else None, "next": urls[n] if n < total else None, "urls": urls,
               "count": len(items)}


class Media:
    """The photos of the site for templates: responsive ``<picture>`` markup and variant URLs from the image
    pipeline's results (``images.run``), keyed by project-relative source path. A photo whose processing failed
    renders as nothing (its problem is reported with the referencing file's line)."""

    def __init__(self, config: Config, results: Mapping[str, "images.ImageResult"]):
        self.config = config
        self.results = results

    def img(self, rel: str, alt: str, lazy: bool = True, sizes: str = "(max-width: 760px) 100vw, 760px") -> str:
        """``<picture>`` (WebP + JPEG ``srcset``, ``width``/``height`` set) for photo ``rel`` with text ``alt``."""
        result = self.results.get(rel)
        if result is None:
            return ""
        from sitegen import images

        return images.picture_html(result, alt, base_path=self.config.base_path, lazy=lazy, sizes=sizes)

    def src(self, rel: str, largest: bool = True) -> str:
        """Site URL (base path included) of the widest JPEG variant (or the fallback one), ``""`` if none."""
        result = self.results.get(rel)
        variant = result and (result.largest if largest else result.fallback)
        return (self.config.base_path + variant.url) if variant else ""

    def size(self, rel: str) -> tuple[int, int]:
        """Upright ``(width, height)`` in px of the source photo, ``(0, 0)`` if unknown."""
        result = self.results.get(rel)
        return (result.width, result.height) if result and result.ok else (0, 0)


def image_refs(site: Site) -> list[tuple[str, Location]]:
    """Every photo the site uses, as ``(project-relative path, where it is referenced)``: covers, ``photos``
    lists and images in bodies, of every published page."""
    refs = []
    for page in site.all_pages:
        for photo in ((page.cover,) if page.cover else ()) + page.photos:
            if photo.rel:
                refs.append((photo.rel, Location(page.source, photo.line)))
        for rel, _written, line in page.images:
            if rel:
                refs.append((rel, Location(page.source, line)))
    return refs


def build(config: Config, *, out: Path | None = None, strict: bool = False, drafts: bool = False,
          future: bool = False, jobs: int | None = None, progress: bool = False,
          explain: bool = False, defer_search: bool = False, changed: Iterable[str] | None = None,
          session: "Session | None" = None) -> BuildReport:
    """Build the site of ``config`` into ``out`` (default ``<root>/output``), incrementally.

    Parsed pages come from ``.sitegen-cache/`` when their file is unchanged; an output whose dependencies (pages
    shown, config, theme) have the same digest as in the last build into ``out`` is not rendered again; the rest is
    rendered (on ``jobs`` processes when there is enough of it, default: every CPU) and written only when its bytes
    changed. With ``explain`` the report lists why each output was rendered. The result equals a clean build, byte
    for byte, except with ``defer_search`` (for the preview), which keeps an out-of-date search index instead of
    indexing again (see :func:`index_search`).

    A long-running process (the preview server) passes the same :class:`Session` to every build: the page cache,
    the output manifest, the assembled indexes and the compiled templates then stay in memory, the caches are
    written by :meth:`Session.flush` (call it once the result is shown; the next build calls it first), and with
    ``changed`` (the project-relative paths changed since the session's last build) only those files are looked
    at instead of every file under ``content/``.

    Never raises for content problems: they are in the report (``ok`` False under ``strict`` with errors, and
    then nothing is written). Raises :class:`TemplateError` when the theme fails (nothing written) and
    :class:`SitegenError` for I/O failures. Writes ``.sitegen-cache/build-status.json`` after every build."""
    t0 = time.perf_counter()
    out = (out or config.root / "output").resolve()
    _status(config, out, BuildReport(False, out), strict, drafts or future)  # a build that dies midway never vouches for output/
    stages: list[tuple[str, float]] = []
    problems = Problems()

    def stage(name, started):
        stages.append((name, round(time.perf_counter() - started, 3)))

    t = time.perf_counter()
    if session is not None:
        session.flush()
    fingerprint = config.fingerprint()
    if session is not None and session.pages_cache is not None and session.pages_cache.config == fingerprint:
        pages_cache = session.pages_cache
    else:
        pages_cache = cachemod.PageCache.load(config.cache_dir, fingerprint)
        slugs.remember_tag_slugs(pages_cache.tag_slugs)
    sources = None
    if session is not None and changed is not None and session.sources is not None and session.root == config.root:
        sources = contentmod.rescan(config, session.sources, changed)
    if sources is None:
        sources = contentmod.scan(config)
    if session is not None:  # the file list as it is now, whatever happens later in this build
        session.sources, session.root = sources, config.root
    parsed = load_pages(config, sources, pages_cache, jobs)
    for entry in parsed:
        problems.extend(entry.problems)
    pages = [e.page for e in parsed if e.page]
    pages, notes = contentmod.select(pages, now=now_in(config), drafts=drafts, future=future)
    problems.extend(notes)
    stage("load", t)
    t = time.perf_counter()
    shape = site_shape(pages, {e.page.source: e for e in parsed if e.page}, config)
    site, site_problems = assemble_cached(pages, config, shape, session)
    problems.extend(site_problems)
    stage("assemble", t)

    manifest = config.cache_dir / "manifests" / (hashlib.sha1(str(out).encode()).hexdigest()[:12] + ".json")
    t = time.perf_counter()
    refs = image_refs(site)
    if refs:  # the image pipeline (and Pillow) only when the site shows photos
        from sitegen import images

        results = images.run(images.plan(refs, config.root), config.images, config.cache_dir,
                             workers=jobs, progress=progress)
    else:
        results = {}
    for result in results.values():
        problems.extend(result.problems)
    stage("images", t)
    if session is not None:
        session.pages_cache = pages_cache
    if strict and problems.errors:
        _save_cache(config, pages_cache)
        report = BuildReport(False, out, problems=tuple(problems.sorted()), seconds=time.perf_counter() - t0,
                             stages=tuple(stages))
        _status(config, out, report, strict, drafts or future)
        return report

    t = time.perf_counter()
    writer = Writer(out, manifest)
    old = session.manifests.get(out) if session is not None else None
    state = RenderState(config, pages_cache, old or cachemod.OutputManifest.load(config.cache_dir, out), jobs=jobs,
                        explain=explain)
    state.shape = shape
    state.session = session
    try:
        for result in results.values():
            for variant in (result.variants if result.ok else ()):
                writer.link(variant.url, images.cache_file(config.cache_dir, variant))  # imported above
        count = render_site(site, writer, Media(config, results), drafts=drafts, state=state)
        stage("render", t)
        t = time.perf_counter()
        index_search(site, writer, state, defer=defer_search)  # staged with the pages: never half-written
        stage("search", t)
        t = time.perf_counter()
        removed = writer.commit()
        stage("commit", t)
    except BaseException:
        writer.abort()
        _status(config, out, BuildReport(False, out), strict, drafts or future)
        if session is not None:
            session.manifests.pop(out, None)
        raise
    t = time.perf_counter()
    if session is not None:  # saved by session.flush(), after the preview has shown the result
        session.manifests[out] = state.manifest
        session.pending = lambda: _save_cache(config, pages_cache, state.manifest, out, old)
    else:
        _save_cache(config, pages_cache, state.manifest, out)
    stage("cache", t)
    report = BuildReport(True, out, count, tuple(writer.written), writer.unchanged,
                         tuple(removed), tuple(problems.sorted()), time.perf_counter() - t0, tuple(stages),
                         (sum(r.ok and not r.cached for r in results.values()),
                          sum(r.ok and r.cached for r in results.values()), sum(not r.ok for r in results.values())),
                         skipped=state.skipped, explained=tuple(state.reasons))
    _status(config, out, report, strict, drafts or future)
    return report


_SHAPE_FIELDS = ("source", "kind", "url", "slug", "date", "updated", "category", "column", "tags", "links", "aliases", "draft",
                 "headline", "pinned", "cover", "photos", "images")
"""The fields of a page that decide which outputs exist and which pages each one lists (everything
:func:`sitegen.content.assemble` and :func:`render_site` read to choose outputs and contexts); a page's other
fields (title, summary, body …) only change what its outputs show, which page fingerprints cover."""


def site_shape(pages: list[Page], entries: Mapping[str, cachemod.Entry], config: Config) -> str:
    """Digest of the shape of the site made of ``pages`` (published, in order): each page's :data:`_SHAPE_FIELDS`
    (kept in its cache entry once computed) and the config. Two builds with the same shape have the same indexes
    (listings, neighbours, related articles) over the same pages, in the same order."""
    h = hashlib.blake2b(config.fingerprint().encode(), digest_size=16)
    for p in pages:
        e = entries.get(p.source)
        shape = e.shape if e is not None and e.page is p else ""
        if not shape:
            shape = hashlib.blake2b(repr(tuple(getattr(p, f) for f in _SHAPE_FIELDS)).encode(),
                                    digest_size=12).hexdigest()
            if e is not None and e.page is p:
                e.shape = shape
        h.update(shape.encode())
    return h.hexdigest()


def freeze_site(site: Site, pages: list[Page], problems) -> tuple:
    """``site``'s indexes as positions in ``pages`` (picklable, compact), with the problems assembling found."""
    pos = {p.source: i for i, p in enumerate(pages)}

    def ix(seq):
        return [pos[p.source] for p in seq]

    return (ix(site.articles), ix(site.pages), ix(site.galleries),
            {k: ix(v) for k, v in site.by_category.items()}, {k: ix(v) for k, v in site.by_column.items()},
            {k: ix(v) for k, v in site.by_tag.items()}, dict(site.tags), {k: ix(v) for k, v in site.months.items()},
            {u: (pos[a.source] if a else -1, pos[b.source] if b else -1) for u, (a, b) in site.neighbours.items()},
            {u: ix(v) for u, v in site.related.items()}, ix(site.by_source.values()), tuple(problems))


def thaw_site(frozen: tuple, pages: list[Page], config: Config) -> tuple[Site, list[Problem]]:
    """The :class:`Site` and problems :func:`freeze_site` stored, over the same pages (same shape)."""
    (articles, statics, galleries, by_category, by_column, by_tag, tags, months, neighbours, related, kept,
     problems) = frozen
    P = pages

    def tx(ix):
        return tuple([P[i] for i in ix])

    site = Site(config, tx(articles), tx(statics), tx(galleries),
                {k: tx(v) for k, v in by_category.items()}, {k: tx(v) for k, v in by_column.items()},
                {k: tx(v) for k, v in by_tag.items()}, tags, {k: tx(v) for k, v in months.items()},
                {u: (P[a] if a >= 0 else None, P[b] if b >= 0 else None) for u, (a, b) in neighbours.items()},
                {u: tx(v) for u, v in related.items()}, {P[i].source: P[i] for i in kept})
    return site, list(problems)


def assemble_cached(pages: list[Page], config: Config, shape: str,
                    session: "Session | None" = None) -> tuple[Site, list[Problem]]:
    """:func:`sitegen.content.assemble`, or its indexes from the last build when the site's ``shape`` is the same
    (an edit to an article's text or title); stores the indexes of a new shape in the cache (and ``session``)."""
    if session is not None and session.site_index is not None and session.site_index[0] == shape:
        frozen = session.site_index[1]
    else:
        frozen = cachemod.SiteIndex.load(config.cache_dir, shape)
    if frozen is not None:
        try:
            result = thaw_site(frozen, pages, config)
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            log.warning("缓存 %s 不可用（%s），已忽略并重建", config.cache_dir / cachemod.SiteIndex.FILE, exc)
        else:
            if session is not None:
                session.site_index = (shape, frozen)
            return result
    site, problems = contentmod.assemble(pages, config)
    frozen = freeze_site(site, pages, problems)
    if session is not None:
        session.site_index = (shape, frozen)
    try:
        cachemod.SiteIndex.save(config.cache_dir, shape, frozen)
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", config.cache_dir, exc)
    return site, problems


SEARCH_DIR = "search-index/"
"""The folder of the search index and its blocks (``sitegen.search.BUNDLE`` + ``/``)."""


def index_search(site: Site, writer: Writer, state: RenderState, *, defer: bool = False) -> None:
    """Stage the search index (:func:`sitegen.search.index`), indexing again only the blocks
    (:func:`sitegen.search.shards`) whose input changed. A block's digest is made of the digests of its articles'
    outputs (from the manifest being made, not by reading the pages again); when that changed,
    :func:`sitegen.search.input_keys` says whether what the index reads changed too (that key is the record's only
    ``sources`` entry). With ``defer`` (the preview after its first build) a block that is out of date is kept as
    it is and still recorded with its old digest, so the next full build indexes it again."""
    from sitegen import search

    outputs, old = state.manifest.outputs, state.old
    salt = f"{search.INDEX_VERSION}\0{cachemod.code_version()}\0{site.config.base_path}\0{state.config.fingerprint()}"
    base, isfile = str(writer.out) + os.sep, os.path.isfile
    groups = state.search_groups if state.search_groups is not None else search.shards(site)
    pending: dict[str, tuple[str, str | None, cachemod.Output | None]] = {}

    def keep(rel: str, record: cachemod.Output) -> None:
        for x in (rel,) + tuple(record.extras):
            writer.keep(x)
        outputs[rel] = record

    for name, pages in groups.items():
        rel = search.shard_key(name)
        h = hashlib.blake2b(f"{salt}\0{name}".encode(), digest_size=16)
        digest: str | None = None
        for page in pages:
            o = outputs.get(output_path(page.url))
            if o is None or o.digest is None:
                break
            h.update(f"{page.url}\0{o.digest}\0".encode())
        else:
            digest = h.hexdigest()
        before = old.outputs.get(rel)
        present = before is not None and isfile(base + rel) and all(isfile(base + x) for x in before.extras)
        if present and (defer or (digest is not None and before.digest == digest)):
            if before.digest != digest:
                log.info("预览：站内搜索索引暂不更新（正式构建时更新）")
            keep(rel, before)
            continue
        pending[name] = (rel, digest, before if present else None)
    if not pending:
        return

    def output_digest(rel: str) -> str | None:
        o = outputs.get(rel)
        return o.digest if o is not None else None

    # an article re-rendered because of something the index does not read (a neighbour's title in its footer):
    # the shard's input is the same, its bundle stays
    read: dict[str, bytes] = {}
    keys = search.input_keys(site, writer, {name: groups[name] for name in pending}, output_digest, salt, read,
                             state.search_inputs)
    stale = {}
    for name, (rel, digest, before) in pending.items():
        if before is not None and before.sources[:1] == (keys[name],):
            keep(rel, cachemod.Output(digest, (keys[name],), before.extras))
            continue
        if state.explain:
            why = ("新输出（new）" if before is None else "模板有变化（template changed）" if old.theme != state.manifest.theme
                   else "site.yaml 有变化（config changed）" if old.config != state.manifest.config
                   else "文章有变化（article changed）")
            state.reasons.append((rel, why + "：重建这一部分的搜索索引（search index shard）"))
        stale[name] = (rel, digest)
    if not stale:
        return
    made = search.index(site, writer, {name: groups[name] for name in stale}, read=read)
    for name, (rel, digest) in stale.items():
        outputs[rel] = cachemod.Output(digest, (keys[name],), tuple(x for x in made[name] if x != rel))


def _manifest_changed(new, old) -> bool:
    if old is None or (new.theme, new.config, new.shape, new.common, new.count, new.templated) != (
            old.theme, old.config, old.shape, old.common, old.count, old.templated) or new.pages != old.pages:
        return True
    return new.outputs.keys() != old.outputs.keys() or any(o is not old.outputs[k] for k, o in new.outputs.items())


def _save_cache(config: Config, pages_cache: cachemod.PageCache, manifest=None, out: Path | None = None,
                old=None) -> None:
    """Write the caches (the manifest only when it differs from ``old``, default: the one loaded from disk); a
    cache that cannot be written only makes the next build slower (logged)."""
    try:
        known = slugs.known_tag_slugs()
        if known.keys() - pages_cache.tag_slugs.keys():
            pages_cache.tag_slugs = known
            pages_cache.dirty = True
        if pages_cache.changed():
            bodies = cachemod.Bodies(config.cache_dir)
            bodies.prune(pages_cache.entries)
            pages_cache.save(config.cache_dir)
        old = old if old is not None else cachemod.OutputManifest.loaded(config.cache_dir, out)
        if manifest is not None and _manifest_changed(manifest, old):
            manifest.save(config.cache_dir, out, old.base if old is not None else None)
        elif manifest is not None and old is not None:
            manifest.base = old.base  # the file on disk is still old's
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", config.cache_dir, exc)


# ---------------------------------------------------------------------------------------------------------------
# loading pages through the cache


def load_pages(config: Config, sources: list[contentmod.Source], pages_cache: cachemod.PageCache,
               jobs: int | None = None) -> list[cachemod.Entry]:
    """One :class:`~sitegen.cache.Entry` per source, in order: from ``pages_cache`` when the file's size and mtime
    (or else its SHA-256) are unchanged and every file-exists answer still holds, else parsed (in worker processes
    when more than :data:`sitegen.pool.THRESHOLD` files need it). Updates ``pages_cache`` to exactly ``sources``.
    The entries' pages carry no body (see :class:`sitegen.cache.Bodies`): whoever parses a file stores its body in
    the cache folder, so bodies never travel between processes."""
    root = config.root
    entries: dict[str, cachemod.Entry] = {}
    todo: list[contentmod.Source] = []
    isfile = os.path.isfile
    for s in sources:
        e = pages_cache.entries.get(s.rel)
        if e is not None and e.size == s.size and e.mtime == s.mtime and all(
                isfile(root / rel) == existed for rel, existed in e.exists):
            entries[s.rel] = e
            continue
        if e is not None and cachemod.exists_still_hold(root, e.exists):
            try:
                data = (root / s.rel).read_bytes()
            except OSError:
                data = None
            if data is not None and hashlib.sha256(data).hexdigest() == e.sha:  # touched, not changed
                e.size, e.mtime = len(data), s.mtime
                pages_cache.dirty = True
                entries[s.rel] = e
                continue
        todo.append(s)
    if todo:
        log.info("解析 %d 个文件（%d 个来自缓存）", len(todo), len(entries))
        for e, s in zip(pool.run(_parse_chunk, todo, jobs=jobs, shared=config), todo):
            entries[s.rel] = e
        pages_cache.dirty = True
    pages_cache.entries = entries
    return [entries[s.rel] for s in sources]


def _parse_chunk(chunk) -> list[cachemod.Entry]:
    config = pool.state()
    bodies = cachemod.Bodies(config.cache_dir)
    out = [store_body(bodies, parse_entry(config, s)) for s in chunk]
    try:
        bodies.close()
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", bodies.dir, exc)
        for e in out:
            e.body = None
    return out


def store_body(bodies: cachemod.Bodies, entry: cachemod.Entry) -> cachemod.Entry:
    """Append the body of ``entry``'s page to ``bodies`` and return the entry with the page stripped of it,
    recording where the body is (a body that cannot be written is parsed again when needed, logged)."""
    page = entry.page
    if page is None:
        return entry
    try:
        entry.body = bodies.add(page.html, page.text)
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", bodies.dir, exc)
    entry.page = cachemod.strip(page)
    return entry


def parse_entry(config: Config, source: contentmod.Source) -> cachemod.Entry:
    """Read and parse one source into a cache :class:`~sitegen.cache.Entry`, recording the file-exists answers
    the parse depended on. Raises nothing for content problems (an unreadable file is an E100 problem)."""
    root = config.root
    try:
        data = (root / source.rel).read_bytes()
    except OSError as exc:
        problem = Problem(Location(source.rel, 0), "E100", f"无法读取文件：{exc.strerror or exc}", "检查文件权限")
        return cachemod.Entry(source.size, source.mtime, "", (), None, (problem,))
    answers: dict[str, bool] = {}

    def exists(rel: str) -> bool:
        if rel not in answers:
            answers[rel] = os.path.isfile(root / rel)
        return answers[rel]

    parsed = contentmod.parse_page(source, data, config, exists=exists)
    return cachemod.Entry(len(data), source.mtime, hashlib.sha256(data).hexdigest(), tuple(answers.items()),
                          parsed.page, parsed.problems)


def _status(config: Config, out: Path, report: BuildReport, strict: bool, preview: bool = False) -> None:
    """Write ``.sitegen-cache/build-status.json`` = {ok, errors, strict, preview, output, finished} for ``deploy``;
    ``preview`` is true when drafts or future-dated articles were built (never to be published)."""
    path = config.cache_dir / "build-status.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"ok": report.ok and not report.errors, "errors": len(report.errors), "strict": strict,
            "preview": preview, "output": str(out), "finished": datetime.now().astimezone().isoformat(timespec="seconds")}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
    os.replace(tmp, path)


def static_assets(config: Config) -> dict[str, tuple[str, Path]]:
    """Theme static files: name → (output path, source file). CSS and JS are fingerprinted
    (``assets/style.3f2a9c1b.css``), other files keep their path at the site root (``favicon.ico``)."""
    found: dict[str, Path] = {}
    for d in reversed(rendermod.theme_dirs(config)):
        static = d / "static"
        if static.is_dir():
            for f in sorted(static.rglob("*")):
                if f.is_file() and not contentmod.IGNORED_NAME.match(f.name):
                    found[f.relative_to(static).as_posix()] = f
    assets = {}
    for name, f in found.items():
        if f.suffix in (".css", ".js"):
            stem, dot, ext = name.rpartition(".")
            assets[name] = (f"assets/{stem}.{rendermod.fingerprint(f.read_bytes())}.{ext}", f)
        else:
            assets[name] = (name, f)
    return assets


class Lazy:
    """A template context value computed only when the output is rendered; ``key`` (or what ``key()`` returns, when
    callable: it is only needed for outputs whose digest is computed) stands for it in the output's digest (it must
    change whenever the value would)."""

    __slots__ = ("fn", "key")

    def __init__(self, fn, key):
        self.fn = fn
        self.key = key


class Session:
    """What a long-running process (the preview server) keeps between its builds: the page cache, the file list of
    the last scan, the output manifests, the assembled indexes and the compiled template environment, and the
    cache writing left for :meth:`flush`. Not thread-safe: one build at a time."""

    def __init__(self):
        self.pages_cache: cachemod.PageCache | None = None
        self.sources: list[contentmod.Source] | None = None
        self.root: Path | None = None
        self.manifests: dict[Path, cachemod.OutputManifest] = {}
        self.site_index: tuple[str, tuple] | None = None
        self.envs: dict[tuple, object] = {}
        self.pending = None

    def flush(self) -> None:
        """Write the caches the last build left in memory (logged, never raised, when they cannot be written)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending()


class RenderState:
    """What :func:`render_site` needs to render incrementally: the page cache (file hashes and each page's parse
    inputs), the output manifest of the last build into the same folder (``old``) and the one being made
    (``manifest``), ``jobs`` processes, and whether to record ``reasons`` (``(output path, why)``) for
    ``--explain``. ``skipped`` counts outputs not rendered because nothing they depend on changed;
    ``search_groups`` the search index's shards (:func:`sitegen.search.shards`) once the search page is planned;
    ``search_inputs`` the digests of what the search index reads of the article pages rendered (see
    :func:`sitegen.search.input_keys`).

    Without a page cache every page has a fingerprint made from its own content digest, and without an old
    manifest every output is rendered."""

    def __init__(self, config: Config, pages_cache: cachemod.PageCache | None = None,
                 old: cachemod.OutputManifest | None = None, *, jobs: int | None = None, explain: bool = False):
        self.config = config
        self.cache = pages_cache or cachemod.PageCache(config.fingerprint())
        self.old = old or cachemod.OutputManifest()
        self.manifest = cachemod.OutputManifest()
        self.jobs = jobs
        self.explain = explain
        self.skipped = 0
        self.reasons: list[tuple[str, str]] = []
        self._fps: dict[str, str] = {}
        self.whole_cards = True
        self.search_groups: dict[str, list[Page]] | None = None
        self.search_inputs: dict[str, str] = {}
        self.bodies = cachemod.Bodies(config.cache_dir)
        self.shape = ""
        self.session: Session | None = None

    def full(self, page: Page) -> Page:
        """``page`` with its body (``html``, ``text``): from the body cache, or parsed again from its file when the
        cached body is missing or damaged. A page that already has a body is returned as it is."""
        if page.html or page.text:
            return page
        entry = self.cache.entries.get(page.source)
        if entry is None or entry.page is None:
            return page
        body = self.bodies.read(entry.body) if entry.body else None
        if body is None:  # the pack was removed or damaged: parse again (the next build stores it)
            log.info("缓存中缺少 %s 的正文，重新解析", page.source)
            parsed = parse_entry(self.config, contentmod.Source(page.source, page.kind, entry.size, entry.mtime))
            if parsed.page is None:
                return page
            body = (parsed.page.html, parsed.page.text)
        return dataclasses.replace(page, html=body[0], text=body[1])

    def file_sha(self, rel: str) -> str:
        """SHA-256 (hex) of project file ``rel`` (cached by size and mtime); ``""`` when missing."""
        return self.cache.file_sha(self.config.root, rel) or ""

    def page_fp(self, page: Page) -> str:
        """Fingerprint of a page, two halves of 24 hex digits. The first, its *card*, covers what another output
        can show of the page: every field but the body (``html``, ``text`` and their ``digest``) and the bytes of
        every image it shows. The whole string also covers the body: its file's bytes and the file-exists answers
        of its parse. An output showing the page in a list (a listing, related articles, previous/next) depends on
        the card, the page's own output on the whole (see :class:`BodyOf`), so correcting an article's text
        re-renders its page and not the ~70 pages that list it as related. With ``whole_cards`` (a theme that
        reads bodies outside ``body``) the card is the whole fingerprint."""
        fp = self._fps.get(page.source)
        if fp is None:
            entry = self.cache.entries.get(page.source)
            known = entry is not None and entry.page is page
            if known and entry.fp:  # stored by an earlier build: the page shows no image
                fp = self._fps[page.source] = entry.fp
                return fp
            files = hashlib.blake2b(digest_size=12)
            files.update((entry.sha if entry else page.digest).encode())
            if entry:
                files.update(repr(entry.exists).encode())
            rels = [ph.rel for ph in page.photos if ph.rel] + ([page.cover.rel] if page.cover and page.cover.rel
                                                               else []) + [r for r, _, _ in page.images if r]
            shas = "".join(f"\0{rel}\0{self.file_sha(rel)}" for rel in rels)
            files.update(shas.encode())
            card = entry.card if known else ""
            if not card:
                card = hashlib.blake2b(repr(tuple(getattr(page, f.name) for f in dataclasses.fields(page)
                                                  if f.name not in _BODY_FIELDS)).encode(), digest_size=12).hexdigest()
                if known:
                    entry.card = card
                    self.cache.dirty = True
            card = hashlib.blake2b((card + shas).encode(), digest_size=12).hexdigest()
            fp = self._fps[page.source] = card + files.hexdigest()
            if known and not rels:  # no image whose bytes could change behind the entry's back
                entry.fp = fp
                self.cache.dirty = True
        return fp

    def card_fp(self, page: Page) -> str:
        """The part of :meth:`page_fp` an output that lists ``page`` depends on."""
        return self.page_fp(page) if self.whole_cards else self.page_fp(page)[:CARD]


CARD = 24
"""Length of the card half of a page fingerprint (:meth:`RenderState.page_fp`)."""

_BODY_FIELDS = frozenset({"html", "text", "digest"})

BODY = "body:"
"""Prefix of an output's source entry that says it shows the body of that page (``body:content/news/a.md``)."""


class BodyOf:
    """Stands in an output's digest for the body of ``page`` (the article an output is about): the page's whole
    fingerprint, and a ``body:`` source entry so that a change to the text alone re-renders this output only."""

    __slots__ = ("page",)

    def __init__(self, page: Page):
        self.page = page


_SAFE_SITE_ATTRS = frozenset({"pages", "tag_slug", "section", "config"})


def template_reads_site(env) -> dict[str, bool]:
    """For every template of ``env``: whether it (or a template it extends, includes or imports) reads ``site``
    beyond ``site.pages``, ``site.tag_slug``, ``site.section`` and ``site.config`` — such an output depends on every
    page and is rendered whenever any page changed. A template that names another dynamically counts as reading
    ``site``."""
    import jinja2
    from jinja2 import meta, nodes

    direct: dict[str, bool] = {}
    refs: dict[str, set] = {}
    for name in env.list_templates():
        try:
            source = env.loader.get_source(env, name)[0]
            ast = env.parse(source)
        except (jinja2.TemplateError, OSError, UnicodeDecodeError):
            direct[name], refs[name] = True, set()
            continue
        total = sum(1 for n in ast.find_all(nodes.Name) if n.name == "site")
        safe = sum(1 for n in ast.find_all(nodes.Getattr)
                   if isinstance(n.node, nodes.Name) and n.node.name == "site" and n.attr in _SAFE_SITE_ATTRS)
        referenced = set(meta.find_referenced_templates(ast))
        direct[name] = total > safe or None in referenced
        refs[name] = {r for r in referenced if r}
    result = {}
    for name in direct:
        seen, stack, reads = set(), [name], False
        while stack and not reads:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            reads = direct.get(n, True)
            stack.extend(refs.get(n, ()))
        result[name] = reads
    return result


_BODY_ATTRS = frozenset({"html", "text"})
_FACTS: dict[str, tuple[dict[str, bool], bool]] = {}


def theme_facts(env, theme_fp: str, cache_dir: Path) -> tuple[dict[str, bool], bool]:
    """``(template_reads_site(env), template_reads_bodies(env))`` for the theme of fingerprint ``theme_fp``,
    remembered in this process and in ``<cache>/theme-facts.json`` (parsing every template takes a tenth of a
    second)."""
    facts = _FACTS.get(theme_fp)
    if facts is not None:
        return facts
    path = cache_dir / "theme-facts.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):  # else recomputed below
        data = json.loads(path.read_text("utf-8"))
        if data.get("theme") == theme_fp and data.get("code") == cachemod.code_version():
            reads = data["reads_site"]
            if isinstance(reads, dict) and all(isinstance(v, bool) for v in reads.values()):
                facts = _FACTS[theme_fp] = (reads, bool(data["reads_bodies"]))
                return facts
    facts = _FACTS[theme_fp] = (template_reads_site(env), template_reads_bodies(env))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"theme": theme_fp, "code": cachemod.code_version(), "reads_site": facts[0],
                                   "reads_bodies": facts[1]}, ensure_ascii=False), "utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", cache_dir, exc)
    return facts


def template_reads_bodies(env) -> bool:
    """Whether any template of ``env`` may read a page's ``html`` or ``text`` other than through ``body``: an
    attribute or a constant subscript of that name, or a filter given that name (``attr``, ``map``, ``sort`` …).
    Then every page is given its body before rendering; else only the page an output is about gets it (bodies are
    the bulk of the page cache and are read only when needed). An unreadable template counts as reading them."""
    import jinja2
    from jinja2 import nodes

    for name in env.list_templates():
        try:
            ast = env.parse(env.loader.get_source(env, name)[0])
        except (jinja2.TemplateError, OSError, UnicodeDecodeError):
            return True
        for n in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
            if isinstance(n, nodes.Getattr) and n.attr in _BODY_ATTRS:
                return True
            if isinstance(n, nodes.Getitem) and isinstance(n.arg, nodes.Const) and n.arg.value in _BODY_ATTRS:
                return True
            if isinstance(n, nodes.Filter):
                for arg in list(n.args) + [kw.value for kw in n.kwargs]:
                    if (isinstance(arg, nodes.Const) and isinstance(arg.value, str)
                            and arg.value.split(".")[-1] in _BODY_ATTRS):
                        return True
    return False


def _digest_into(value, parts: list, sources: list, fp) -> bool:
    """Append a stable text form of a template context value to ``parts`` (pages by their fingerprint, recorded in
    ``sources``); False when the value has a type whose content cannot be known (the output is then always
    rendered)."""
    return _Digester(fp).into(value, parts, sources)


class _Digester:
    """:func:`_digest_into` with the common types first and the text of frozen dataclasses other than pages
    (sections, photos) remembered: 13,000 outputs' contexts at 10,000 articles in a fraction of a second. ``fp``
    gives a page's fingerprint as a listed page, ``whole`` its whole fingerprint (for :class:`BodyOf`)."""

    def __init__(self, fp, whole=None):
        self.fp = fp
        self.whole = whole or fp
        self._memo: dict[int, tuple[object, str | None]] = {}

    def into(self, value, parts: list, sources: list) -> bool:
        t = type(value)
        if t is Page:
            parts.append("P" + self.fp(value))
            sources.append(value.source)
        elif t is str or t is int or value is None or t is bool or t is float:
            parts.append(repr(value))
        elif t is list or t is tuple:
            parts.append("[")
            fp, append = self.fp, parts.append
            for v in value:
                if type(v) is Page:
                    append("P" + fp(v))
                    sources.append(v.source)
                elif not self.into(v, parts, sources):
                    return False
            append("]")
        elif t is dict:
            parts.append("{")
            for k, v in value.items():
                parts.append(repr(k))
                if not self.into(v, parts, sources):
                    return False
            parts.append("}")
        elif t is Lazy:
            return self.into(value.key() if callable(value.key) else value.key, parts, sources)
        elif t is BodyOf:
            parts.append("B" + self.whole(value.page))
            sources.append(BODY + value.page.source)
        elif t is datetime:
            parts.append(value.isoformat())
        elif isinstance(value, (str, int, float)):
            parts.append(repr(value))
        elif isinstance(value, (list, tuple)):
            return self.into(list(value), parts, sources)
        elif isinstance(value, dict):
            return self.into(dict(value), parts, sources)
        elif isinstance(value, datetime):
            parts.append(value.isoformat())
        elif isinstance(value, (Site, Media)):
            parts.append(type(value).__name__)  # the parts templates may read are in the global digest
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            frozen = type(value).__dataclass_params__.frozen
            known = self._memo.get(id(value)) if frozen else None
            if known is None or known[0] is not value:
                sub: list = [type(value).__name__]
                inner: list = []
                ok = all(self.into(getattr(value, f.name), sub, inner) for f in dataclasses.fields(value))
                known = (value, "".join(sub) if ok and not inner else None)
                if frozen and not inner:
                    self._memo[id(value)] = known
                if known[1] is None:  # holds pages (recorded each time) or something unknowable
                    if not ok:
                        return False
                    parts.extend(sub)
                    sources.extend(inner)
                    return True
            parts.append(known[1])
        elif isinstance(value, (set, frozenset)):
            return self.into(sorted(value, key=repr), parts, sources)
        else:
            return False
        return True


class _Plan:
    """The outputs of one render: each with its template, context and digest; decides which to render, renders
    them (on several processes when there are many) and records the new manifest."""

    def __init__(self, state: RenderState, site: Site, env, common: dict, writer: Writer, theme_fp: str,
                 reads_site: dict[str, bool]):
        self.state, self.site, self.env, self.writer = state, site, env, writer
        config = site.config
        self.theme_fp = theme_fp
        self.config_fp = config.fingerprint()
        self.reads_site = reads_site
        self.digester = _Digester(state.card_fp, state.page_fp)
        parts: list = [self.theme_fp, self.config_fp]
        ok = self.digester.into({k: v for k, v in common.items()}, parts, [])
        ok = ok and self.digester.into(list(site.pages), parts, [])  # the footer lists static pages
        self.global_digest = "\x1f".join(parts) if ok else None
        self.common = common
        self._site_digest: str | None = None
        self.jobs: list[tuple[str, str, dict, str | None, tuple]] = []
        self.files: list[tuple[str, str | None, object]] = []
        manifest, old = state.manifest, state.old
        manifest.theme, manifest.config = self.theme_fp, self.config_fp
        manifest.shape = state.shape
        manifest.common = (hashlib.blake2b(self.global_digest.encode(), digest_size=16).hexdigest()
                           if self.global_digest is not None else None)
        manifest.pages = {p.source: state.page_fp(p) for p in site.all_pages}
        # Same shape (same outputs listing the same pages) and same theme, config and common context as the last
        # build: an output's digest can only have changed if a page it shows did, so the others keep theirs
        # without their context being digested again.
        self.fast = bool(state.shape and manifest.common and old.shape == state.shape and old.common == manifest.common)
        self.dirty = self._dirty(manifest.pages, old.pages) if self.fast else None

    def _dirty(self, pages: Mapping[str, str], before: Mapping[str, str]) -> frozenset:
        """The source entries whose change re-renders an output that recorded them: a page whose card changed
        (every output listing it) and ``body:`` + a page whose fingerprint changed (its own output)."""
        n = None if self.state.whole_cards else CARD
        dirty = set()
        for s, fp in pages.items():
            was = before.get(s)
            if was != fp:
                dirty.add(BODY + s)
                if was is None or was[:n] != fp[:n]:
                    dirty.add(s)
        return frozenset(dirty)

    def add_files(self, rel: str, key: str, make) -> None:
        """Output files not made from a template: ``make()`` yields ``(path, bytes)`` pairs, ``rel`` among them;
        they are made again only when ``key`` (everything they depend on besides the global digest) changed or
        one of them is missing (recorded under ``rel``, the others as its extras)."""
        digest = (hashlib.blake2b(f"{self.global_digest}\x1f{rel}\x1f{key}".encode(), digest_size=16).hexdigest()
                  if self.global_digest is not None else None)
        self.files.append((rel, digest, make))

    def keep_all(self) -> bool:
        """When nothing changed since the last build and every output it made is still there: keep them all and
        return True (nothing to render, not even a context to build)."""
        if not self.fast or self.dirty:
            return False
        old, base, isfile = self.state.old, str(self.writer.out) + os.sep, os.path.isfile
        if not old.outputs or any(o.digest is None for o in old.outputs.values()):
            return False
        for rel, o in old.outputs.items():
            if not isfile(base + rel) or not all(isfile(base + x) for x in o.extras):
                return False
        for rel, o in old.outputs.items():
            if rel.startswith(SEARCH_DIR):
                continue  # index_search decides: a preview may have left the search index out of date
            self.writer.keep(rel)
            for x in o.extras:
                self.writer.keep(x)
        self.state.manifest.outputs = {rel: o for rel, o in old.outputs.items() if not rel.startswith(SEARCH_DIR)}
        self.state.manifest.count, self.state.manifest.templated = old.count, old.templated
        self.state.skipped += old.templated
        return True

    def site_digest(self) -> str:
        if self._site_digest is None:
            h = hashlib.blake2b(digest_size=16)
            fp = self.state.card_fp
            for p in self.site.all_pages:
                h.update(f"{p.source}\0{fp(p)}\0".encode())
            self._site_digest = h.hexdigest()
        return self._site_digest

    def add(self, rel: str, template: str, context: dict) -> None:
        """One output ``rel`` rendered from ``template`` with ``context``."""
        if self.fast:
            before = self.state.old.outputs.get(rel)
            dirty = self.dirty
            if before is not None and before.digest is not None and not (dirty and (
                    self.reads_site.get(template, True) or not dirty.isdisjoint(before.sources))):
                self.jobs.append((rel, template, context, before.digest, before.sources))
                return
        if not self.state.old.outputs:  # a first build: nothing to compare with, digests made by the workers
            self.jobs.append((rel, template, context, _LATER, ()))
            return
        digest, sources = self.digest(template, context)
        self.jobs.append((rel, template, context, digest, sources))

    def digest(self, template: str, context: dict) -> tuple[str | None, tuple]:
        """``(digest, sources)`` of an output: the digest of everything it depends on (``None`` when its context
        holds a value whose content cannot be known) and the pages it shows."""
        digest, sources = None, []
        if self.global_digest is not None:
            parts = [self.global_digest, template]
            if self.reads_site.get(template, True):
                parts.append(self.site_digest())
            common = self.common
            rest = {k: v for k, v in context.items() if not (k in common and common[k] is v)}
            if self.digester.into(rest, parts, sources):
                digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
        return digest, tuple(dict.fromkeys(sources))

    def run(self) -> None:
        """Skip the outputs whose digest is unchanged (and whose files exist), render the others."""
        state, old, writer, out = self.state, self.state.old, self.writer, self.writer.out
        base, isfile = str(out) + os.sep, os.path.isfile
        todo = []
        for i, (rel, template, context, digest, sources) in enumerate(self.jobs):
            before = old.outputs.get(rel)
            if (digest is not None and digest is not _LATER and before is not None and before.digest == digest
                    and isfile(base + rel) and all(isfile(base + x) for x in before.extras)):
                writer.keep(rel)
                for x in before.extras:
                    writer.keep(x)
                state.manifest.outputs[rel] = before
                state.skipped += 1
                continue
            todo.append(i)
            if state.explain:
                state.reasons.append((rel, self._why(rel, template, before, digest, sources)))
        for rel, digest, make in self.files:
            before = old.outputs.get(rel)
            if (digest is not None and before is not None and before.digest == digest
                    and isfile(base + rel) and all(isfile(base + x) for x in before.extras)):
                writer.keep(rel)
                for x in before.extras:
                    writer.keep(x)
                state.manifest.outputs[rel] = before
                continue
            if state.explain:
                state.reasons.append((rel, self._why(rel, "", before, digest, ())))
            made = []
            for path, data in make():
                writer.write(path, data)
                made.append(path)
            state.manifest.outputs[rel] = cachemod.Output(digest, (), tuple(x for x in made if x != rel))
        state.manifest.templated = len(self.jobs)
        if len(todo) > pool.THRESHOLD:  # on the pool: compiled once here, not once per worker process
            if self.global_digest is not None and any(self.reads_site.get(t, True) for t in
                                                      {self.jobs[i][1] for i in todo}):
                self.site_digest()
            for name in self.env.list_templates():
                # a template that fails to compile is reported with its line when rendered
                with contextlib.suppress(Exception):
                    self.env.get_template(name)
        many = len(todo) > pool.THRESHOLD
        qr_file = state.config.cache_dir / QR_CACHE
        if many:  # before the workers fork, so they inherit the drawings
            rendermod.remember_qr(_load_qr(qr_file))
        shared = (self.env, self.jobs, out, writer.staging, state.full, self.digest)
        results = pool.run(_render_chunk, todo, jobs=state.jobs, shared=shared)
        drawn: dict = {}
        for i, result in zip(todo, results):
            if result[0] == "error":
                raise TemplateError(result[1], result[2])
            rel, _, _, digest, sources = self.jobs[i]
            if digest is _LATER:
                digest, sources = result[2], result[3]
            writer.adopt(rel, result[1])
            state.manifest.outputs[rel] = cachemod.Output(digest, sources)
            drawn.update(result[4])
            if result[5] is not None and digest is not None:
                state.search_inputs[f"{self.jobs[i][2]['page_url']}\0{digest}"] = result[5]
        if many and drawn:
            _save_qr(qr_file, drawn, {self.env.filters["abs_url"](p.url) for p in self.site.all_pages})

    def _why(self, rel: str, template: str, before, digest, sources) -> str:
        old = self.state.old
        if before is None:
            return "新输出（new）"
        if not os.path.isfile(self.writer.out / rel):
            return "输出文件缺失（missing）"
        if digest is None or before.digest is None:
            return "每次都生成（always）"
        if old.theme != self.theme_fp:
            return "模板有变化（template changed）"
        if old.config != self.config_fp:
            return "site.yaml 有变化（config changed）"
        dirty = self._dirty({s: self.state._fps[s] for s in (x.removeprefix(BODY) for x in sources)
                             if s in self.state._fps}, old.pages)
        changed = list(dict.fromkeys(s.removeprefix(BODY) for s in sources if s in dirty))
        if changed:
            return "页面有变化（page changed: " + ", ".join(changed[:3]) + (" …" if len(changed) > 3 else "") + "）"
        added = [s for s in sources if s not in before.sources]
        removed = [s for s in before.sources if s not in sources]
        if added or removed:
            return "列表有变化（list changed: " + ", ".join((["+" + s for s in added] + ["-" + s for s in removed])[:3]) + "）"
        if self.reads_site.get(template, True):
            return "全站内容有变化（site changed）"
        return "内容有变化（context changed）"


QR_CACHE = "qr.cache"
"""The QR drawings of the pages' URLs (:func:`sitegen.render.qr_path`), under the cache folder: a render of
every article (a template or ``site.yaml`` edit) then encodes none of them again (1.5 ms each)."""


def _load_qr(path: Path) -> dict:
    """The drawings of :data:`QR_CACHE` (empty when missing, unusable or made by another segno)."""
    data = cachemod.read(path, "qr")
    if isinstance(data, tuple) and len(data) == 2 and data[0] == cachemod.dist_version("segno") and isinstance(data[1], dict):
        return data[1]
    return {}


def _save_qr(path: Path, drawn: dict, live: set) -> None:
    """Add the drawings ``drawn`` to :data:`QR_CACHE`, keeping only the URLs in ``live`` (logged, never raised,
    when it cannot be written)."""
    rendermod.remember_qr(drawn)
    known = {url: d for url, d in rendermod.known_qr().items() if url in live}
    try:
        cachemod.write(path, "qr", (cachemod.dist_version("segno"), known))
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", path, exc)


_LATER: Any = object()
"""The digest of a job whose digest the worker rendering it computes (a first build: nothing to skip)."""


def _render_chunk(indices) -> list:
    from sitegen import search

    env, jobs, out, staging, full, digest_of = pool.state()
    made: set = set()
    results = []
    for i in indices:
        rel, template, context, digest, _ = jobs[i]
        later = digest_of(template, context) if digest is _LATER else (None, None)
        ctx = {k: (v.fn() if isinstance(v, Lazy) else v) for k, v in context.items()}
        if isinstance(ctx.get("page"), Page):
            ctx["page"] = full(ctx["page"])
        try:
            html = rendermod.render(env, template, **ctx)
        except SitegenError as exc:
            return results + [("error", str(exc), exc.problems)]
        data = html.encode("utf-8")
        # what the search index will read of an article, digested here in parallel (the search stage then reads no page
        # whose search input it knows)
        searched = search.input_digest(search.essentials(data)) if template == "article.html" else None
        # with the QR codes this page drew, for the parent to keep (see _Plan.run)
        results.append(("ok", _stage_file(out, staging, rel, data, made)) + later + (rendermod.new_qr(), searched))
    return results


def feed_outputs(plan: "_Plan", site: Site, body) -> None:
    """Add the files of :func:`sitegen.feeds.outputs` to ``plan`` in groups made again only when what they show
    changed: each scope's RSS and Atom feeds when one of its newest ``feeds_limit`` articles changed (or the
    site's shape), the sitemap(s) and ``robots.txt`` when the shape changed (URLs, dates and listings are all in
    it). Each feed is given only its newest articles, picked as :func:`sitegen.feeds.feed` picks them (newest
    ``(date, url)`` first), so it does not sort the whole scope (tested: same bytes)."""
    import heapq

    from sitegen import feeds

    shape = plan.state.shape or "-"
    fps = plan.state.manifest.pages
    limit = site.config.feeds_limit
    for section, folder, pages in feeds.feed_scopes(site):
        rel = folder.strip("/")
        rel = (rel + "/" if rel else "")
        newest = heapq.nlargest(limit, pages, key=_feed_order) if limit > 0 else list(pages)
        key = shape + "".join(fps[p.source] for p in newest)

        def make(section=section, newest=newest, rel=rel):
            return [(rel + name, feeds.feed(site, section, kind, newest, body))
                    for name, kind in (("feed.xml", "rss"), ("atom.xml", "atom"))]

        plan.add_files(rel + "feed.xml", key, make)
    plan.add_files("robots.txt", shape, lambda: [("robots.txt", feeds.robots(site))] + feeds.sitemaps(site))


def _feed_order(page: Page):
    return page.date, page.url


def render_site(site: Site, writer: Writer, media: Media, *, drafts: bool = False,
                state: RenderState | None = None) -> int:
    """Render every output of ``site`` through ``writer``; returns the number of HTML pages. With ``state`` (see
    :class:`RenderState`) outputs whose inputs did not change since the last build are kept, not rendered; pages
    are rendered on ``state.jobs`` processes when there are enough. Raises :class:`TemplateError`."""
    config = site.config
    state = state or RenderState(config)
    assets = static_assets(config)
    for out_rel, src in assets.values():
        writer.copy(out_rel, src)
    theme_fp = cachemod.theme_fingerprint(rendermod.theme_dirs(config))
    asset_urls = {name: rel for name, (rel, _) in assets.items()}
    env_key = (theme_fp, config.fingerprint(), config.root, tuple(sorted(asset_urls.items())))
    envs = state.session.envs if state.session is not None else {}
    env = envs.get(env_key)
    if env is None:
        envs.clear()
        env = envs[env_key] = rendermod.make_env(config, asset_urls, bytecode_dir=config.cache_dir / "templates")
    else:  # the same theme and settings: templates stay compiled; only the clock moves on
        env.globals["now"] = rendermod._clock(config)
    reads_site, reads_bodies = theme_facts(env, theme_fp, config.cache_dir)
    state.whole_cards = reads_bodies
    if reads_bodies and any(not (p.html or p.text) for p in site.all_pages):
        site, _ = contentmod.assemble([state.full(p) for p in site.all_pages], config)  # the theme reads bodies
    urls = {p.source: p.url for p in site.all_pages}

    def resolve_body(page: Page) -> str:
        def md(m):
            target, _, frag = m.group(1).partition("#")
            url = urls.get(target)
            return 'href="' + escape(env.filters["url"](url) + (("#" + frag) if frag else "")) + '"' if url \
                else 'href="#"'

        first = True

        def img(m):
            nonlocal first
            alt = re.search(r'alt="([^"]*)"', m.group(0))
            html = media.img(m.group(1), htmllib.unescape(alt.group(1)) if alt else page.title, lazy=not first)
            first = False
            return html

        html = re.sub(r'href="' + MD_LINK + r'([^"]*)"', md, state.full(page).html)
        return re.sub(r'<img [^>]*?src="' + IMG_LINK + r'([^"]*)"[^>]*>', img, html)

    def body_of(page: Page) -> Lazy:
        return Lazy(lambda: resolve_body(page),
                    lambda: (BodyOf(page), tuple(urls.get(t or "") for t, _, _ in page.links)))

    sections = {s.slug: s for s in config.categories + config.columns}
    common = {"site": site, "sections": sections, "media": media, "drafts": drafts}
    plan = _Plan(state, site, env, common, writer, theme_fp, reads_site)
    if plan.keep_all():
        return state.manifest.count
    pages = 0

    def emit(url: str, template: str, **context):
        nonlocal pages
        plan.add(output_path(url), template, {"page_url": url, **common, **context})
        pages += 1

    home_latest = {s.slug: site.by_category.get(s.slug, ())[:8] for s in config.categories}
    headline = next((a for a in site.articles if a.headline), site.articles[0] if site.articles else None)
    carousel = [a for a in site.articles if (a.cover or a.photos) and a is not headline][:5]
    emit("/", "home.html", headline=headline, latest=home_latest, carousel=carousel,
         columns={s.slug: site.by_column.get(s.slug, ())[:8] for s in config.columns},
         galleries=site.galleries[:4])

    for page in site.articles + site.pages + site.galleries:
        prev, nxt = site.neighbours.get(page.url, (None, None))
        template = {"article": "article.html", "page": "page.html", "gallery": "gallery.html"}[page.kind]
        emit(page.url, template, page=page, body=body_of(page), prev=prev, next=nxt,
             related=site.related.get(page.url, ()),
             section=sections.get(page.column or page.category))
        for alias in page.aliases:
            target = alias if alias.endswith((".html", ".htm", "/")) else alias + "/"
            plan.add(output_path(target), "redirect.html", {"page": page, **common})
    for kind, index in (("category", site.by_category), ("column", site.by_column)):
        for s in (config.categories if kind == "category" else config.columns):
            base = config.permalink(kind).format(slug=s.slug)
            for pager in paginate(index.get(s.slug, ()), config.per_page, base):
                emit(pager["url"], "list.html", kind=kind, section=s, title=s.name, description=s.description,
                     pager=pager)
    for slug, name in sorted(site.tags.items()):
        base = config.permalink("tag").format(slug=slug)
        for pager in paginate(site.by_tag.get(slug, ()), config.per_page, base):
            emit(pager["url"], "list.html", kind="tag", section=None, title=f"标签：{name}", description="",
                 pager=pager)
    emit("/tags/", "tags.html", section=None, title="全部标签",
         tags=sorted(((slug, name, len(site.by_tag[slug])) for slug, name in site.tags.items()),
                     key=lambda t: (-t[2], t[0])))
    years: dict[int, list] = {}
    for (year, month), items in site.months.items():
        years.setdefault(year, []).append((month, items))
        for pager in paginate(items, config.per_page, f"/archives/{year}/{month:02d}/"):
            emit(pager["url"], "list.html", kind="archive", section=None, title=f"{year}年{month}月",
                 description="", pager=pager)
    for year, months in years.items():
        items = [a for _, group in months for a in group]
        items.sort(key=contentmod.sort_key)
        for pager in paginate(items, config.per_page, f"/archives/{year}/"):
            emit(pager["url"], "list.html", kind="archive", section=None, title=f"{year}年", description="",
                 pager=pager)
    emit("/archives/", "archives.html", section=None, title="文章归档", years=years)
    if site.galleries:
        emit("/galleries/", "galleries.html", section=None, title="图片库", galleries=site.galleries)
    emit("/404.html", "404.html", section=None, title="页面未找到")
    from sitegen import search

    state.search_groups = search.shards(site)  # the search stage indexes the same shards
    emit("/search/", "search.html", section=None, title="站内搜索",
         search_shards=tuple(f"{name}/" for name in state.search_groups if name))
    feed_outputs(plan, site, resolve_body)
    state.manifest.count = pages
    plan.run()  # renders the outputs added above whose inputs changed
    return pages

