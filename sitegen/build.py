"""The build pipeline as a short list of named, timed stages, and the atomic writer of ``output/``.

Stages: ``load`` (scan and parse content) → ``assemble`` (indexes) → ``render`` (every output file into a staging
folder, only the files whose bytes changed) → ``commit`` (staged files moved into ``output/``, files of the previous
build that are no longer produced removed). A build that fails before ``commit`` (``--strict`` with content errors,
a template error) leaves ``output/`` exactly as it was. Only files sitegen wrote (listed in its manifest in
``.sitegen-cache/``) are ever removed.
"""
from __future__ import annotations

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
from typing import Iterator, Mapping

from sitegen import content as contentmod
from sitegen import images
from sitegen import render as rendermod
from sitegen.config import Config
from sitegen.content import Page, Site
from sitegen.errors import Location, Problem, Problems, SitegenError
from sitegen.markup import IMG_LINK, MD_LINK, escape

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did: ``ok`` (False when it wrote nothing because of errors), ``written`` files whose bytes
    changed, ``unchanged`` files, ``removed`` stale files (project-relative to the output folder), ``pages`` HTML
    pages produced, ``problems`` (errors and warnings, sorted), ``seconds`` wall time, per-stage ``stages`` and
    ``images`` as (processed, from cache, failed) photo counts."""

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


class Writer:
    """Writes output files through a staging folder beside ``out`` and commits them at the end.

    ``write(rel, data)`` stages ``data`` only when it differs from ``out/rel``; ``commit()`` moves staged files into
    place with ``os.replace`` and deletes the files of the previous manifest that were not produced; ``abort()``
    drops the staging folder. ``rel`` is a POSIX path relative to ``out``."""

    def __init__(self, out: Path, manifest: Path):
        self.out = out
        self.manifest = manifest
        self.staging = out.parent / f".{out.name}.staging-{os.getpid()}"
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)
        self.produced: set[str] = set()
        self.written: list[str] = []
        self.unchanged = 0

    def write(self, rel: str, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        if rel in self.produced:
            raise SitegenError(f"两个输出文件写到了同一路径 {rel}")
        self.produced.add(rel)
        target = self.out / rel
        try:
            if target.stat().st_size == len(data) and target.read_bytes() == data:
                self.unchanged += 1
                return
        except OSError:
            pass
        staged = self.staging / rel
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_bytes(data)
        self.written.append(rel)

    def link(self, rel: str, source: Path) -> None:
        """Stage ``source`` at ``rel`` as a hard link (a copy across devices) for files named by a hash of their
        content (photo variants): an existing ``out/rel`` of the same size is taken as unchanged."""
        if rel in self.produced:
            return
        self.produced.add(rel)
        try:
            if (self.out / rel).stat().st_size == source.stat().st_size:
                self.unchanged += 1
                return
        except OSError:
            pass
        staged = self.staging / rel
        staged.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, staged)
        except OSError:
            shutil.copyfile(source, staged)
        self.written.append(rel)

    def copy(self, rel: str, source: Path) -> None:
        """Stage a copy of ``source`` (hard link when possible) unless ``out/rel`` already has the same bytes."""
        self.write(rel, source.read_bytes())

    def commit(self) -> list[str]:
        """Move staged files into ``out``, delete stale files of the previous build; returns the removed paths."""
        previous = set(self._read_manifest())
        self.out.mkdir(parents=True, exist_ok=True)
        for rel in self.written:
            dest = self.out / rel
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging / rel, dest)
        removed = sorted(previous - self.produced)
        for rel in removed:
            path = self.out / rel
            try:
                path.unlink()
            except FileNotFoundError:
                pass
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

    def __init__(self, config: Config, results: Mapping[str, images.ImageResult]):
        self.config = config
        self.results = results

    def img(self, rel: str, alt: str, lazy: bool = True, sizes: str = "(max-width: 760px) 100vw, 760px") -> str:
        """``<picture>`` (WebP + JPEG ``srcset``, ``width``/``height`` set) for photo ``rel`` with text ``alt``."""
        result = self.results.get(rel)
        if result is None:
            return ""
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
          future: bool = False, jobs: int | None = None, progress: bool = False) -> BuildReport:
    """Build the site of ``config`` into ``out`` (default ``<root>/output``).

    Never raises for content problems: they are in the report (``ok`` False under ``strict`` with errors, and
    then nothing is written). Raises :class:`TemplateError` when the theme fails (nothing written) and
    :class:`SitegenError` for I/O failures. Writes ``.sitegen-cache/build-status.json`` after every build."""
    t0 = time.perf_counter()
    out = (out or config.root / "output").resolve()
    _status(config, out, BuildReport(False, out), strict)  # a build that dies midway never vouches for output/
    stages: list[tuple[str, float]] = []
    problems = Problems()

    def stage(name, started):
        stages.append((name, round(time.perf_counter() - started, 3)))

    t = time.perf_counter()
    parsed = [contentmod.read_source(config, s) for s in contentmod.scan(config)]
    for p in parsed:
        problems.extend(p.problems)
    pages = [p.page for p in parsed if p.page]
    pages, notes = contentmod.select(pages, now=now_in(config), drafts=drafts, future=future)
    problems.extend(notes)
    stage("load", t)

    t = time.perf_counter()
    site, site_problems = contentmod.assemble(pages, config)
    problems.extend(site_problems)
    stage("assemble", t)

    manifest = config.cache_dir / "manifests" / (hashlib.sha1(str(out).encode()).hexdigest()[:12] + ".json")
    t = time.perf_counter()
    results = images.run(images.plan(image_refs(site), config.root), config.images, config.cache_dir,
                         workers=jobs, progress=progress)
    for result in results.values():
        problems.extend(result.problems)
    stage("images", t)
    if strict and problems.errors:
        report = BuildReport(False, out, problems=tuple(problems.sorted()), seconds=time.perf_counter() - t0,
                             stages=tuple(stages))
        _status(config, out, report, strict)
        return report

    t = time.perf_counter()
    writer = Writer(out, manifest)
    try:
        for result in results.values():
            for variant in (result.variants if result.ok else ()):
                writer.link(variant.url, images.cache_file(config.cache_dir, variant))
        count = render_site(site, writer, Media(config, results), drafts=drafts)
        stage("render", t)
        t = time.perf_counter()
        removed = writer.commit()
        stage("commit", t)
    except BaseException:
        writer.abort()
        _status(config, out, BuildReport(False, out), strict)
        raise
    report = BuildReport(True, out, count, tuple(writer.written), writer.unchanged,
                         tuple(removed), tuple(problems.sorted()), time.perf_counter() - t0, tuple(stages),
                         (sum(r.ok and not r.cached for r in results.values()),
                          sum(r.ok and r.cached for r in results.values()), sum(not r.ok for r in results.values())))
    _status(config, out, report, strict)
    return report


def _status(config: Config, out: Path, report: BuildReport, strict: bool) -> None:
    """Write ``.sitegen-cache/build-status.json`` = {ok, errors, strict, output, finished} for ``deploy``."""
    path = config.cache_dir / "build-status.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"ok": report.ok and not report.errors, "errors": len(report.errors), "strict": strict,
            "output": str(out), "finished": datetime.now().astimezone().isoformat(timespec="seconds")}
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


def render_site(site: Site, writer: Writer, media: Media, *, drafts: bool = False) -> int:
    """Render every output of ``site`` through ``writer``; returns the number of HTML pages. Raises
    :class:`TemplateError`."""
    config = site.config
    assets = static_assets(config)
    for out_rel, src in assets.values():
        writer.copy(out_rel, src)
    env = rendermod.make_env(config, {name: rel for name, (rel, _) in assets.items()})
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

        html = re.sub(r'href="' + MD_LINK + r'([^"]*)"', md, page.html)
        return re.sub(r'<img [^>]*?src="' + IMG_LINK + r'([^"]*)"[^>]*>', img, html)

    sections = {s.slug: s for s in config.categories + config.columns}
    common = {"site": site, "sections": sections, "media": media, "drafts": drafts}
    pages = 0

    def emit(url: str, template: str, **context):
        nonlocal pages
        html = rendermod.render(env, template, page_url=url, **common, **context)
        writer.write(output_path(url), html)
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
        emit(page.url, template, page=page, body=resolve_body(page), prev=prev, next=nxt,
             related=site.related.get(page.url, ()),
             section=sections.get(page.column or page.category))
        for alias in page.aliases:
            target = alias if alias.endswith((".html", ".htm", "/")) else alias + "/"
            writer.write(output_path(target), rendermod.render(env, "redirect.html", page=page, **common))

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
    return pages

