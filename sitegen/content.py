"""Content: scan ``content/``, read each Markdown file into an immutable :class:`Page`, assemble the :class:`Site`.

``parse_page`` is a pure function of the file's bytes and the config (Zola's ``parse`` vs ``from_file``);
``read_source`` is the thin wrapper that reads the file. Front matter follows Hugo/Jekyll names (README
"Front matter"). Every problem is a :class:`~sitegen.errors.Problem` with the line of its cause, all of a file in
one run: a file whose front matter has errors is not published, but its body is still checked (links, photos,
attachments, :mod:`sitegen.bodyrefs`) as far as the file could be read. One bad file never stops the others.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Mapping, MutableMapping

from sitegen import bodyrefs, budget, frontmatter, markup, yamlsafe
from sitegen.attachments import Attachment
from sitegen.bodyrefs import ARTICLE_PLACEHOLDER, GALLERY_PLACEHOLDER
from sitegen.config import Config, Section
from sitegen.errors import ContentError, Location, Problem
from sitegen.frontmatter import PhotoRef, decode, parse_date, split_front_matter
from sitegen.slugs import slugify, tag_index, tag_key, tag_slug
from sitegen.sources import IGNORED_NAME, Source, rescan, scan  # the file list this module parses




@dataclass(frozen=True, slots=True)
class Page:
    """One published page (article, static page or gallery), immutable.

    ``date``/``updated`` are aware datetimes in the site's time zone. ``html`` is the sanitized body with
    ``sitegen-md:``/``sitegen-img:`` placeholders that the build resolves. ``links`` and ``images`` record
    ``(target rel, as written, file line)``. ``category``/``column`` are slugs. ``extra`` keeps front-matter keys
    sitegen does not know, for themes. ``slug_line`` is the line of an explicit ``slug:`` (0: the file name or
    title decided the slug); ``alias_lines`` the line of each entry of ``aliases``; ``date_line`` and ``tags_line``
    those of ``date:`` and ``tags:`` (0: none), so problems found later (a future date, a tag clash) name them.
    ``attachments`` are the documents its body links to (:class:`sitegen.attachments.Attachment`), published
    beside the page.
    """

    source: str
    kind: str
    url: str
    slug: str
    title: str
    date: datetime
    updated: datetime | None
    category: str
    column: str | None
    tags: tuple[str, ...]
    summary: str
    html: str
    text: str
    toc: tuple
    links: tuple
    images: tuple
    photos: tuple[PhotoRef, ...]
    cover: PhotoRef | None
    author: str = ""
    source_name: str = ""
    editor: str = ""
    draft: bool = False
    headline: bool = False
    pinned: bool = False
    aliases: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    digest: str = ""
    line: int = 1
    slug_line: int = 0
    alias_lines: tuple[int, ...] = ()
    date_line: int = 0
    tags_line: int = 0
    attachments: tuple[Attachment, ...] = ()

    @property
    def lastmod(self) -> datetime:
        """``updated`` if given, else ``date`` (sitemaps.org ``lastmod``)."""
        return self.updated or self.date


@dataclass(frozen=True, slots=True)
class Parsed:
    """What :func:`parse_page` returns: the page (``None`` when an error stopped it) and every problem found."""

    page: Page | None
    problems: tuple[Problem, ...]


# ---------------------------------------------------------------------------------------------------------------
# parsing


def parse_page(source: Source, data: bytes, config: Config, exists=lambda rel: False) -> Parsed:
    """Parse one content file's bytes into a :class:`Page` (pure: ``exists(rel)`` only tells whether a
    project-relative file exists, for resolving image and link paths).

    Returns :class:`Parsed` with the page (``None`` when an error stops it) and every problem: codes E100–E1xx
    front matter, W1xx warnings, E109/W109 a file over ``limits.article_error_kb``/``article_warning_kb``, E203 a
    file whose reading and rendering used more than ``limits.render_seconds`` of CPU time (:mod:`sitegen.budget`),
    E2xx/E306/W2xx–W3xx its body's links, photos and attachments (:mod:`sitegen.bodyrefs`); never raises for bad
    content."""
    rel, limits = source.rel, config.limits
    size = frontmatter.size_problem(rel, len(data), limits)
    problems: list[Problem] = [size] if size else []
    if size and size.severity == "error":
        return Parsed(None, (size,))
    try:
        with budget.limit(limits.render_seconds):
            return _parse(source, data, config, exists, problems)
    except budget.OverBudget:
        return Parsed(None, tuple(problems) + (Problem(
            Location(rel, 1), "E203", f"读取和排版本文用了超过 {limits.render_seconds} 秒，本文未发布",
            "正文可能有成千上万个连续的 HTML 标签或强调符号（多来自网页粘贴）；请清理后保存，"
            "或在 site.yaml 的 limits.render_seconds 中放宽"),))


def _front_matter(rel: str, fm_text: str, problems: list) -> yamlsafe.Loaded | None:
    """The front matter as far as it could be read (``None`` when it could not); its problems, all of them (every
    tab, not only the first), go to ``problems``."""
    fm_text, repairs = frontmatter.repair_front_matter(fm_text, rel, 2)
    problems.extend(repairs)
    try:
        loaded = yamlsafe.load(fm_text, rel, first_line=2)
    except yamlsafe.YamlProblem as exc:
        found = list(exc.problems)
        if exc.problem.code == "E104" and yamlsafe.is_scalar(fm_text):
            # every key written with "：" — the block is one string, not a mapping (case B06 fullwidth-all)
            found[0] = Problem(Location(rel, exc.problem.location.line), "E100", "front matter 不是“键: 值”的形式",
                               f"{exc.problem.message}，{exc.problem.hint}")
        problems.extend(found)
        loaded = exc.partial
        if loaded is None:
            return None
    problems.extend(loaded.warnings)
    if loaded.value is not None and not isinstance(loaded.value, dict):
        problems.append(Problem(Location(rel, 2), "E100", "front matter 不是“键: 值”的形式",
                                "每行写一项，如 title: 标题（注意用半角冒号加空格）"))
        return None
    return loaded


def _render(config: Config, rel: str, exists, body: str, body_line: int) -> markup.Rendered:
    return markup.render_markdown(body, source=rel, first_line=body_line, exists=exists, trust_html=config.trust_html,
                                  attachments=frozenset(config.attachments.extensions))


def _parse(source: Source, data: bytes, config: Config, exists, problems: list) -> Parsed:
    rel = source.rel
    try:
        text, warnings = decode(data, rel)
    except ContentError as exc:
        return Parsed(None, tuple(problems) + (exc.problem,))
    problems.extend(warnings)
    try:
        fm_text, body, body_line = split_front_matter(text, rel)
    except ContentError as exc:
        problems.append(exc.problem)
        if not text.startswith("---"):  # no front matter at all: the whole file is the body
            bodyrefs.check_unpublished(rel, exists, _render(config, rel, exists, text, 1), (), problems)
        return Parsed(None, tuple(problems))
    loaded = _front_matter(rel, fm_text, problems)
    refs: list[Problem] = []  # errors about photos and attachments the page is published without
    f = None
    if loaded is not None:
        reader = frontmatter.Reader(rel, dict(loaded.value or {}), dict(loaded.lines),
                                    lambda src: markup.resolve_path(src, rel, exists), problems, refs)
        f = frontmatter.read_fields(reader, config, source.kind)
    photos = (((f.cover,) if f.cover else ()) + f.photos) if f else ()
    rendered = _render(config, rel, exists, body, body_line)
    files = bodyrefs.check_body(rel, exists, rendered, problems, refs)
    bodyrefs.case_warnings(rel, [(p.rel, p.src, p.line) for p in photos], problems)
    bodyrefs.placeholders(rel, body, body_line, problems)
    if f is None or any(p.severity == "error" for p in problems):
        bodyrefs.check_unpublished(rel, exists, rendered, photos, problems)
        return Parsed(None, tuple(problems + refs))
    url = permalink(config, source.kind, f.slug, f.date, f.category, f.column)
    html, found = bodyrefs.attachment_links(rendered.html, files, url)
    page = Page(
        source=rel, kind=source.kind, url=url, slug=f.slug, title=f.title, date=f.date, updated=f.updated,
        category=f.category.slug if f.category else "", column=f.column.slug if f.column else None, tags=f.tags,
        summary=f.summary or markup.summarize(rendered.lead, config.summary_length), html=html,
        text=rendered.text, toc=rendered.toc, links=rendered.links, images=rendered.images,
        author=f.author, source_name=f.source_name, editor=f.editor, draft=f.draft, headline=f.headline,
        pinned=f.pinned, aliases=f.aliases, extra=f.extra, digest=hashlib.sha256(data).hexdigest()[:16], line=1,
        photos=f.photos, cover=f.cover, slug_line=f.slug_line, alias_lines=f.alias_lines, date_line=f.date_line,
        tags_line=f.tags_line, attachments=found)
    return Parsed(page, tuple(problems + refs))


def permalink(config: Config, kind: str, slug: str, date: datetime, category: Section | None,
              column: Section | None) -> str:
    """The site-relative URL (starting and ending with ``/``, without the base path) of a page of ``kind``
    from the ``permalinks`` pattern; ``{year}``/``{month}``/``{day}`` are the local date in the site's time zone."""
    pattern = config.permalink(kind)
    local = date.astimezone(config.tz)
    values = {"slug": slug, "year": f"{local:%Y}", "month": f"{local:%m}", "day": f"{local:%d}",
              "category": category.slug if category else "page",
              "column": column.slug if column else (category.slug if category else "page")}
    return re.sub(r"/+", "/", pattern.format(**values))


def read_source(config: Config, source: Source) -> Parsed:
    """Read ``source`` from disk and :func:`parse_page` it. Raises nothing for content problems."""
    data = (config.root / source.rel).read_bytes()
    return parse_page(source, data, config, exists=lambda rel: (config.root / rel).is_file())


# ---------------------------------------------------------------------------------------------------------------
# the assembled site


def sort_key(page: Page):
    """Listing order: pinned first, then newest first, then by URL (deterministic)."""
    return (not page.pinned, -page.date.timestamp(), page.url)


@dataclass(frozen=True)
class Site:
    """The assembled site: the config, the published pages, and read-only indexes.

    ``articles`` newest first (pinned first in listings); ``by_category``/``by_column``/``by_tag`` map a slug to
    the listing order; ``tags`` maps tag slug → tag name; ``months`` maps ``(year, month)`` → articles;
    ``neighbours`` maps URL → (previous, next) within the category (older, newer); ``related`` URL → pages sharing
    tags; ``by_source`` project-relative path → page."""

    config: Config
    articles: tuple[Page, ...]
    pages: tuple[Page, ...]
    galleries: tuple[Page, ...]
    by_category: Mapping[str, tuple[Page, ...]]
    by_column: Mapping[str, tuple[Page, ...]]
    by_tag: Mapping[str, tuple[Page, ...]]
    tags: Mapping[str, str]
    months: Mapping[tuple[int, int], tuple[Page, ...]]
    neighbours: Mapping[str, tuple[Page | None, Page | None]]
    related: Mapping[str, tuple[Page, ...]]
    by_source: Mapping[str, Page]

    @property
    def all_pages(self) -> tuple[Page, ...]:
        """Articles, static pages and galleries."""
        return self.articles + self.pages + self.galleries

    @cached_property
    def _slug_of_key(self) -> dict[str, str]:
        return {tag_key(name): slug for slug, name in self.tags.items()}

    def tag_slug(self, name: str) -> str:
        """The URL slug of tag ``name`` (any spelling of a tag of the site is found without transliterating it
        again; see :func:`sitegen.slugs.tag_slug`)."""
        return self._slug_of_key.get(tag_key(name)) or tag_slug(name)

    def section(self, slug: str) -> Section | None:
        """The category or column with this slug."""
        return self.config.category(slug) or self.config.column(slug)


def select(pages, *, now: datetime, drafts: bool, future: bool) -> tuple[list[Page], list[Problem]]:
    """Drop drafts (unless ``drafts``) and pages dated after ``now`` (unless ``future``); report each future page
    as a warning W130 at its ``date:`` line."""
    kept, notes = [], []
    for p in pages:
        if p.draft and not drafts:
            continue
        if p.date > now and not future:
            offset = f"{p.date:%z}"
            when = f"{p.date:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"
            notes.append(Problem(Location(p.source, p.date_line or 1), "W130", f"定时发布：{when} 之后才发布，本次未发布",
                                 "到时间后重新构建即可发布；预览用 --future", "warning"))
            continue
        kept.append(p)
    return kept, notes


def assemble(pages, config: Config, tag_slugs: MutableMapping[str, str] | None = None) -> tuple[Site, list[Problem]]:
    """Build the indexes of the site from parsed pages whose URLs the plan admitted
    (:func:`sitegen.build.plan.admit`). Returns the :class:`Site` and the problems found across pages: two tags
    on one URL (E403), links to ``.md`` files that are not published pages (E201). ``tag_slugs`` (tag name →
    slug, kept in the build cache) spares transliterating known tags again and receives the new ones."""
    problems: list[Problem] = []
    kept = sorted(pages, key=lambda p: p.source)
    stamp = {p.url: p.date.timestamp() for p in kept}  # one timestamp per page, not one per comparison
    articles = tuple(sorted((p for p in kept if p.kind == "article"), key=lambda p: (-stamp[p.url], p.url)))
    statics = tuple(sorted((p for p in kept if p.kind == "page"), key=lambda p: p.url))
    galleries = tuple(sorted((p for p in kept if p.kind == "gallery"), key=lambda p: (-stamp[p.url], p.url)))
    # sort_key (pinned first, newest, URL) as a rank: articles are already newest first, then by URL
    rank = {a.url: (not a.pinned, i) for i, a in enumerate(articles)}
    listed = rank.__getitem__

    def group(key_fn):
        out: dict = {}
        for a in articles:
            for k in key_fn(a):
                out.setdefault(k, []).append(a)
        return {k: tuple(sorted(v, key=lambda p: listed(p.url))) for k, v in out.items()}

    by_category = group(lambda a: [a.category])
    by_column = group(lambda a: [a.column] if a.column else [])
    tags, slugs_of = tag_index(articles, tag_slugs if tag_slugs is not None else {}, problems)
    by_tag = group(lambda a: slugs_of[a.url])
    months: dict = {}
    tz = config.tz
    for a in articles:
        local = a.date.astimezone(tz)
        months.setdefault((local.year, local.month), []).append(a)
    neighbours = _neighbours(by_category, stamp)
    related = _related(articles, by_tag, slugs_of)
    by_source = {p.source: p for p in kept}
    for p in kept:
        for target, written, line in p.links:
            if target is None or target not in by_source:
                problems.append(Problem(Location(p.source, line), "E201", f"链接的文章不存在或未发布：{written}",
                                        "检查文件路径（相对于本文件）"))
    site = Site(config, articles, statics, galleries, by_category, by_column, by_tag, tags,
                {k: tuple(sorted(v, key=lambda p: listed(p.url))) for k, v in sorted(months.items(), reverse=True)},
                neighbours, related, by_source)
    return site, problems


def _neighbours(by_category, stamp) -> dict:
    """URL → (previous, next) article within its category, in date order (``stamp``: URL → timestamp)."""
    neighbours = {}
    for items in by_category.values():
        chrono = sorted(items, key=lambda p: (stamp[p.url], p.url))
        for i, a in enumerate(chrono):
            neighbours[a.url] = (chrono[i - 1] if i > 0 else None, chrono[i + 1] if i + 1 < len(chrono) else None)
    return neighbours


RELATED_TAGS = 50
"""Tags of one article (its first ones) whose pairs rank related articles: the pairs of all 5,000 tags of one
article were 12.5 million set intersections (4 GB, half a minute)."""


def _related(articles, by_tag, slugs_of) -> dict:
    """URL → up to 5 other articles sharing most tags with it, then newest, then by URL.

    Linear in practice: candidates sharing two or more of an article's first :data:`RELATED_TAGS` tags come from
    set intersections (at most 1,225 pairs an article), the rest from a lazy merge of the tag lists in date order
    that stops after 5 (a quadratic scan took a minute at 10,000 articles)."""
    import heapq
    from collections import Counter
    from itertools import combinations

    # articles are newest first, then by URL: an article's index is its place in the (-date, url) order, and the
    # index stands for the article below (integers hash and compare faster than URLs)
    order = {a.url: i for i, a in enumerate(articles)}
    big = len(articles) + 1
    ordered = {t: sorted(order[p.url] for p in items) for t, items in by_tag.items()}
    members = {t: set(ixs) for t, ixs in ordered.items()}
    common: dict[tuple[str, str], set] = {}  # each pair of tags intersected once, not once per article
    related = {}
    for me, a in enumerate(articles):
        tags = slugs_of[a.url]
        best: list[int] = []
        # an article in s of the tags lies in s*(s-1)/2 pairwise intersections: that count orders like s
        pairs: Counter = Counter()
        for t1, t2 in combinations(tags[:RELATED_TAGS], 2):
            pair = (t1, t2) if t1 < t2 else (t2, t1)
            shared = common.get(pair)
            if shared is None:
                shared = common[pair] = members[t1] & members[t2]
            pairs.update(shared)
        pairs.pop(me, None)
        if pairs:  # most shared pairs first, then newest: one integer per candidate, the five smallest
            best = [k % big for k in heapq.nsmallest(5, [i - n * big for i, n in pairs.items()])]
        if len(best) < 5 and tags:
            chosen = set(best)
            chosen.add(me)
            for i in heapq.merge(*(ordered[t] for t in tags)):
                if i not in chosen:
                    chosen.add(i)
                    best.append(i)
                    if len(best) == 5:
                        break
        related[a.url] = tuple(articles[i] for i in best)
    return related


__all__ = ["Source", "Page", "PhotoRef", "Attachment", "Parsed", "Site", "scan", "decode", "split_front_matter",
           "parse_date", "slugify", "tag_slug", "parse_page", "read_source", "rescan", "permalink", "select",
           "assemble", "sort_key", "IGNORED_NAME", "ARTICLE_PLACEHOLDER", "GALLERY_PLACEHOLDER"]
