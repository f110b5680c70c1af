"""The render stage: the plan's outputs turned into bytes, skipping those that are current.

Each output's digest covers everything it depends on (the theme, the config's ``render`` slice, the pages it
shows — by card or, for its own page, whole — and the rest of its context; :mod:`sitegen.build.digest`). An output
whose digest matches the last build's and whose file exists is kept as it is; the others are rendered, on
``jobs`` processes when there are many, and staged only when their bytes changed."""
from __future__ import annotations

import contextlib
import hashlib
import heapq
import html as htmllib
import re
from typing import Any, Mapping

from sitegen import cache as cachemod
from sitegen.versions import dist_version
from sitegen import manifest as manifestmod
from sitegen import pool
from sitegen import render as rendermod
from sitegen.build import digest
from sitegen.build.media import Media
from sitegen.build.kinds import Output
from sitegen.build.plan import Plan
from sitegen.build.state import RenderState, is_current
from sitegen.build.write import Writer
from sitegen.files import stage_file
from sitegen.content import Page, Site
from sitegen.errors import SitegenError, TemplateError
from sitegen.markup import FILE_LINK, IMG_LINK, MD_LINK, escape

SEARCH_DIR = "search-index/"
"""The folder of the search bundle and its shards, whose outputs the index stage decides."""

QR_CACHE = "qr.cache"
"""The QR drawings of the pages' URLs (:func:`sitegen.render.qr_path`), under the cache folder: a render of
every article (a template or ``site.yaml`` edit) then encodes none of them again (1.5 ms each)."""

QR_BATCH = 200
"""Pages to render from which the build reads and writes :data:`QR_CACHE` (about 25 MB at 10,000 articles:
reading and writing it costs what drawing some 200 codes does); fewer are drawn afresh."""

LATER: Any = object()
"""The digest of a job whose digest the worker rendering it computes (a first build: nothing to skip)."""

CONTENT_KINDS = frozenset({"article", "page", "gallery"})


class Contexts:
    """The template context of each output (``contexts(output)`` → dict): the common values (``common``: the
    site, the sections, the media), ``page_url`` for HTML pages, the output's own data, and the body of the page
    it is about. Made when an output's digest or bytes are needed, not for the outputs kept as they are."""

    def __init__(self, common: dict, bodies: "Bodies", kinds: Mapping):
        self.common, self.bodies, self.kinds = common, bodies, kinds

    def __call__(self, o: Output) -> dict:
        kind = self.kinds.get(o.kind)
        context = {"page_url": o.url} if kind is None or kind.html else {}
        context.update(self.common)
        context.update(o.data)
        if o.kind in CONTENT_KINDS:
            context["body"] = self.bodies.of(context["page"])
        return context


class Renderer:
    """The outputs of one render: each with its template, context and digest; decides which to render, renders
    them (on several processes when there are many) and records the new manifest in ``state``."""

    def __init__(self, state: RenderState, site: Site, env, contexts: Contexts, writer: Writer,
                 theme: tuple[str, dict]):
        self.state, self.site, self.env, self.writer = state, site, env, writer
        common = contexts.common
        self.theme_fp, self.reads_site = theme
        self.config_fp = site.config.slice_fingerprint("render")
        self.digester = digest.Digester(state.card_fp, state.page_fp, (Site, Media))
        parts: list = [self.theme_fp, self.config_fp]
        # the sections whole are in the site digest (templates that read them read the site, see theme.py)
        ok = self.digester.into({k: v for k, v in common.items() if k != "sections"}, parts, [])
        ok = ok and self.digester.into(list(site.pages), parts, [])  # the footer lists static pages
        self.global_digest = "\x1f".join(parts) if ok else None
        self.common, self.contexts = common, contexts
        self._site_digest: str | None = None
        self.jobs: list[tuple[str, str, Output, str | None, tuple]] = []
        self.files: list[tuple[str, str | None, object]] = []
        manifest, old = state.manifest, state.old
        manifest.theme, manifest.config, manifest.shape = self.theme_fp, self.config_fp, state.shape
        self.sections_fp = site.config.slice_fingerprint("sections")
        manifest.common = (hashlib.blake2b(f"{self.global_digest}\x1f{self.sections_fp}".encode(),
                                           digest_size=16).hexdigest() if self.global_digest is not None else None)
        manifest.pages = {p.source: state.page_fp(p) for p in site.all_pages}
        # Same shape (same outputs listing the same pages) and same theme, config and common context as the last
        # build: an output's digest can only have changed if a page it shows did, so the others keep theirs
        # without their context being digested again.
        self.fast = bool(state.shape and manifest.common and old.shape == state.shape and old.common == manifest.common)
        self.dirty = self.changed_sources(manifest.pages, old.pages) if self.fast else None

    def changed_sources(self, pages: Mapping[str, str], before: Mapping[str, str]) -> frozenset:
        """The source entries whose change re-renders an output that recorded them: a page whose card changed
        (every output listing it) and ``body:`` + a page whose fingerprint changed (its own output)."""
        n = None if self.state.whole_cards else digest.CARD
        dirty = set()
        for s, fp in pages.items():
            was = before.get(s)
            if was != fp:
                dirty.add(digest.BODY + s)
                if was is None or was[:n] != fp[:n]:
                    dirty.add(s)
        return frozenset(dirty)

    def add_files(self, rel: str, key: str, make) -> None:
        """Output files not made from a template: ``make()`` yields ``(path, bytes)`` pairs, ``rel`` among them;
        they are made again only when ``key`` (everything they depend on besides the global digest) changed or
        one of them is missing (recorded under ``rel``, the others as its extras)."""
        digest_now = (hashlib.blake2b(f"{self.global_digest}\x1f{rel}\x1f{key}".encode(), digest_size=16).hexdigest()
                      if self.global_digest is not None else None)
        self.files.append((rel, digest_now, make))

    def keep_all(self) -> bool:
        """When nothing changed since the last build and every output it made is still there: keep them all and
        return True (nothing to render, not even a context to build)."""
        if not self.fast or self.dirty:
            return False
        old, base = self.state.old, str(self.writer.out) + "/"
        if not old.outputs or not all(is_current(rel, o, o.digest, base) for rel, o in old.outputs.items()):
            return False
        kept = {rel: o for rel, o in old.outputs.items() if not rel.startswith(SEARCH_DIR)}
        for rel, o in kept.items():  # the index stage decides on the search outputs
            self.keep(rel, o)
        self.state.manifest.count, self.state.manifest.templated = old.count, old.templated
        self.state.skipped += old.templated
        return True

    def keep(self, rel: str, before: manifestmod.Output) -> None:
        """Keep output ``rel`` (and its extras) as the last build made it."""
        self.writer.keep(rel)
        for x in before.extras:
            self.writer.keep(x)
        self.state.manifest.outputs[rel] = before

    def site_digest(self) -> str:
        """Digest of every page's card and of the categories and columns as ``site.yaml`` describes them: what an
        output whose template reads the whole site depends on."""
        if self._site_digest is None:
            h = hashlib.blake2b(self.sections_fp.encode(), digest_size=16)
            fp = self.state.card_fp
            for p in self.site.all_pages:
                h.update(f"{p.source}\0{fp(p)}\0".encode())
            self._site_digest = h.hexdigest()
        return self._site_digest

    def add(self, o: Output) -> None:
        """Output ``o``, rendered from its template with its context (:class:`Contexts`) unless it is current."""
        rel, template = o.path, o.template
        if self.fast:
            before = self.state.old.outputs.get(rel)
            dirty = self.dirty
            if before is not None and before.digest is not None and not (dirty and (
                    self.reads_site.get(template, True) or not dirty.isdisjoint(before.sources))):
                self.jobs.append((rel, template, o, before.digest, before.sources))
                return
        if not self.state.old.outputs:  # a first build: nothing to compare with, digests made by the workers
            self.jobs.append((rel, template, o, LATER, ()))
            return
        self.jobs.append((rel, template, o) + self.digest(template, o))

    def digest(self, template: str, o: Output) -> tuple[str | None, tuple]:
        """``(digest, sources)`` of output ``o``: the digest of everything it depends on (``None`` when its context
        holds a value whose content cannot be known) and the pages it shows."""
        found, sources = None, []
        if self.global_digest is not None:
            context = self.contexts(o)
            parts = [self.global_digest, template]
            if self.reads_site.get(template, True):
                parts.append(self.site_digest())
            common = self.common
            rest = {k: v for k, v in context.items() if not (k in common and common[k] is v)}
            if self.digester.into(rest, parts, sources):
                found = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
        return found, tuple(dict.fromkeys(sources))

    def run(self) -> None:
        """Skip the outputs that are current, render the others."""
        state, old, writer = self.state, self.state.old, self.writer
        base = str(writer.out) + "/"
        todo = []
        for i, (rel, template, _, found, sources) in enumerate(self.jobs):
            before = old.outputs.get(rel)
            if found is not LATER and is_current(rel, before, found, base):
                self.keep(rel, before)
                state.skipped += 1
                continue
            todo.append(i)
            if state.explain:
                state.reasons.append((rel, self.why(rel, template, before, found, sources)))
        for rel, found, make in self.files:
            self.make_files(rel, found, make, base)
        state.manifest.templated = len(self.jobs)
        state.rendered += len(todo)
        self.render_jobs(todo)

    def make_files(self, rel: str, found: str | None, make, base: str) -> None:
        """Make the files of one :meth:`add_files` group unless they are current."""
        state = self.state
        before = state.old.outputs.get(rel)
        if is_current(rel, before, found, base):
            self.keep(rel, before)
            return
        if state.explain:
            state.reasons.append((rel, self.why(rel, "", before, found, ())))
        state.rendered += 1
        made = []
        for path, data in make():
            self.writer.write(path, data)
            made.append(path)
        state.manifest.outputs[rel] = manifestmod.Output(found, (), tuple(x for x in made if x != rel))

    def render_jobs(self, todo: list[int]) -> None:
        """Render the jobs ``todo`` (indices), on the pool when there are many; records their manifest entries."""
        state, writer = self.state, self.writer
        many = len(todo) > pool.THRESHOLD
        if many:  # on the pool: compiled once here, not once per worker process
            if self.global_digest is not None and any(self.reads_site.get(self.jobs[i][1], True) for i in todo):
                self.site_digest()
            for name in self.env.list_templates():
                with contextlib.suppress(Exception):  # a template that fails is reported with its line when rendered
                    self.env.get_template(name)
        pages = sum(1 for i in todo if self.jobs[i][2].kind in CONTENT_KINDS)
        if pages >= QR_BATCH:  # inherited by the workers
            rendermod.qr_drawings(self.env).remember(load_qr(state.config.cache_dir / QR_CACHE))
        shared = (self.env, self.jobs, writer.out, writer.staging, (state.full, self.contexts), self.digest)
        drawn: dict = {}
        for i, result in zip(todo, pool.run(render_chunk, todo, jobs=state.jobs, shared=shared)):
            if result[0] == "error":
                raise TemplateError(result[1], result[2])
            rel, _, o, found, sources = self.jobs[i]
            if found is LATER:
                found, sources = result[2], result[3]
            writer.adopt(rel, result[1])
            state.manifest.outputs[rel] = manifestmod.Output(found, sources)
            drawn.update(result[4])
            if result[5] is not None:
                state.search_texts[o.url] = result[5][1]
                if found is not None:
                    state.search_inputs[f"{o.url}\0{found}"] = result[5][0]
        if pages >= QR_BATCH and drawn:
            qr = rendermod.qr_drawings(self.env)
            qr.remember(drawn)
            save_qr(state.config.cache_dir / QR_CACHE, qr.drawn,
                    {self.env.filters["abs_url"](p.url) for p in self.site.all_pages})

    def why(self, rel: str, template: str, before, found, sources) -> str:
        """Why output ``rel`` is rendered, for ``--explain`` (Chinese, with the English term)."""
        old = self.state.old
        if before is None:
            return "新输出（new）"
        if not (self.writer.out / rel).is_file():
            return "输出文件缺失（missing）"
        if found is None or before.digest is None:
            return "每次都生成（always）"
        if old.theme != self.theme_fp:
            return "模板有变化（template changed）"
        if old.config != self.config_fp:
            return "site.yaml 有变化（config changed）"
        fps = self.state.fps
        dirty = self.changed_sources({s: fps[s] for s in (x.removeprefix(digest.BODY) for x in sources)
                                      if s in fps}, old.pages)
        changed = list(dict.fromkeys(s.removeprefix(digest.BODY) for s in sources if s in dirty))
        if changed:
            return "页面有变化（page changed: " + ", ".join(changed[:3]) + (" …" if len(changed) > 3 else "") + "）"
        added = [s for s in sources if s not in before.sources]
        removed = [s for s in before.sources if s not in sources]
        if added or removed:
            return "列表有变化（list changed: " + ", ".join((["+" + s for s in added] + ["-" + s for s in removed])[:3]) + "）"
        if self.reads_site.get(template, True):
            return "全站内容有变化（site changed）"
        return "内容有变化（context changed）"


def load_qr(path) -> dict:
    """The drawings of :data:`QR_CACHE` (empty when missing, unusable or made by another zxing-cpp)."""
    data = cachemod.read(path, "qr")
    if isinstance(data, tuple) and len(data) == 2 and data[0] == dist_version("zxing-cpp") \
            and isinstance(data[1], dict):
        return data[1]
    return {}


def save_qr(path, drawn: dict, live: set) -> None:
    """Write the drawings ``drawn`` to :data:`QR_CACHE`, keeping only the URLs in ``live`` (logged, never raised,
    when it cannot be written)."""
    import logging

    known = {url: d for url, d in drawn.items() if url in live}
    try:
        cachemod.write(path, "qr", (dist_version("zxing-cpp"), known))
    except OSError as exc:
        logging.getLogger(__name__).warning("无法写入缓存 %s：%s", path, exc)


def render_chunk(indices) -> list:
    """Render the jobs ``indices`` in a pool worker (the renderer's shared state); each result is
    ``("ok", staged, [digest, sources,] qr drawings, (search input digest, indexed text) or None)`` or ``("error", message, problems)``."""
    from sitegen import search

    env, jobs, out, staging, (full, contexts), digest_of = pool.state()
    made: set = set()
    results = []
    for i in indices:
        rel, template, o, found, _ = jobs[i]
        later = digest_of(template, o) if found is LATER else (None, None)
        ctx = {k: (v.fn() if isinstance(v, digest.Lazy) else v) for k, v in contexts(o).items()}
        if isinstance(ctx.get("page"), Page):
            ctx["page"] = full(ctx["page"])
        try:
            html = rendermod.render(env, template, **ctx)
        except SitegenError as exc:
            return results + [("error", str(exc), exc.problems)]
        data = html.encode("utf-8")
        # what the search indexer will read of an article, digested and extracted here in parallel
        searched = None
        if template == "article.html":
            essential = search.essentials(data)
            searched = (search.input_digest(essential), search.extract(essential))
        results.append(("ok", stage_file(out, staging, rel, data, made)) + later + (rendermod.qr_drawings(env).take_new(), searched))
    return results


class Bodies:
    """Article bodies as the theme shows them: sitegen's internal ``.md`` links resolved to permalinks, attachment
    links to their copies' URLs (with the base path), and body images turned into responsive ``<picture>`` markup (the first one eager, the rest lazy)."""

    def __init__(self, site: Site, env, media: Media, state: RenderState):
        self.urls = {p.source: p.url for p in site.all_pages}
        self.url = env.filters["url"]
        self.media = media
        self.state = state

    def resolve(self, page: Page) -> str:
        """The HTML body of ``page`` ready for a template or a feed."""
        urls, url = self.urls, self.url

        def md(m):
            target, _, frag = m.group(1).partition("#")
            found = urls.get(target)
            return 'href="' + escape(url(found) + (("#" + frag) if frag else "")) + '"' if found else 'href="#"'

        first = True

        def img(m):
            nonlocal first
            alt = re.search(r'alt="([^"]*)"', m.group(0))
            html = self.media.img(m.group(1), htmllib.unescape(alt.group(1)) if alt else page.title, lazy=not first)
            first = False
            return html

        html = re.sub(r'href="' + MD_LINK + r'([^"]*)"', md, self.state.full(page).html)
        html = re.sub(r'href="' + FILE_LINK + r'(/[^"]*)"', lambda m: 'href="' + escape(url(htmllib.unescape(m.group(1))))
                      + '"', html)  # attachments (sitegen.bodyrefs)
        return re.sub(r'<img [^>]*?src="' + IMG_LINK + r'([^"]*)"[^>]*>', img, html)

    def of(self, page: Page) -> digest.Lazy:
        """The body of ``page`` for a template context: rendered when the output is, digested as the page's whole
        fingerprint and the URLs of the pages it links to."""
        urls = self.urls
        return digest.Lazy(lambda: self.resolve(page),
                           lambda: (digest.BodyOf(page), tuple(urls.get(t or "") for t, _, _ in page.links)))


def add_outputs(renderer: Renderer, plan: Plan) -> None:
    """Hand every output of ``plan`` to ``renderer``: those from templates, the feeds, ``robots.txt`` and the
    sitemap."""
    for o in plan.outputs:
        if o.template is not None:
            renderer.add(o)
    add_feeds(renderer, plan, renderer.contexts.bodies)
    site = renderer.site

    def site_files():
        from sitegen import feeds

        return [("robots.txt", feeds.robots(site))] + feeds.sitemaps(site.config, plan.sitemap())

    renderer.add_files("robots.txt", renderer.state.shape or "-", site_files)


def add_feeds(renderer: Renderer, plan: Plan, bodies: Bodies) -> None:
    """Each feed scope's RSS and Atom files, made again only when its section, one of its newest ``feeds_limit``
    articles or the URL of a page one of them links to changed (adding an article to one category leaves the
    other categories' feeds alone). Each feed is given only its newest articles, picked as
    :func:`sitegen.feeds.feed` picks them (newest ``(date, url)`` first), and the published photos (enclosures and
    the front-matter photos of photo stories)."""
    from sitegen import feeds

    site, state = renderer.site, renderer.state
    fps, limit, urls = state.manifest.pages, site.config.feeds_limit, bodies.urls
    scopes = {(s.slug if s else None): pages for s, _, pages in feeds.feed_scopes(site)}
    for o in plan.of_kind("feed"):
        if not o.path.endswith("feed.xml"):
            continue  # the scope's atom.xml is made with its feed.xml
        section = dict(o.data).get("section")
        pages = scopes.get(section.slug if section else None, ())
        newest = heapq.nlargest(limit, pages, key=lambda p: (p.date, p.url)) if limit > 0 else list(pages)
        folder = o.path[:-len("feed.xml")]

        def make(section=section, newest=newest, folder=folder):
            return [(folder + name, feeds.feed(site, section, kind, newest, bodies.resolve, bodies.media))
                    for name, kind in (("feed.xml", "rss"), ("atom.xml", "atom"))]

        shown = "".join(fps[p.source] + repr([urls.get(t or "") for t, _, _ in p.links]) for p in newest)
        renderer.add_files(o.path, repr(section) + shown, make)


def render_outputs(plan: Plan, site: Site, writer: Writer, media: Media, state: RenderState, env_theme) -> int:
    """Render every output of ``plan`` through ``writer`` (``env_theme`` = ``(env, theme fingerprint, what each
    template reads)``); returns the number of HTML pages. Outputs whose inputs did not change since the last
    build are kept, not rendered. Raises :class:`TemplateError`."""
    env, theme_fp, reads_site = env_theme
    config = site.config
    sections = {s.slug: s for s in config.categories + config.columns}
    common = {"site": site, "sections": sections, "media": media, "drafts": state.drafts}
    contexts = Contexts(common, Bodies(site, env, media, state), plan.kinds)
    renderer = Renderer(state, site, env, contexts, writer, (theme_fp, reads_site))
    if renderer.keep_all():
        return state.manifest.count
    add_outputs(renderer, plan)
    state.manifest.count = pages = plan.pages
    renderer.run()
    return pages
