"""The assembled site: every published page and the indexes listings are made of (categories, columns, tags,
months, neighbours, related articles), built once from the parsed pages by :func:`assemble`.

Problems found across pages are reported here with the line of their cause: two pages on one URL (E401, at the
``slug:`` or ``aliases:`` entry), two tags on one tag URL (E402, which the tag slugs of :mod:`sitegen.slugs` make
all but impossible), links to ``.md`` files that are not published pages (E201).
"""
from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from itertools import combinations
from typing import Mapping, MutableMapping

from sitegen.config import Config, Section
from sitegen.errors import Location, Problem
from sitegen.pages import Page
from sitegen.slugs import tag_key, tag_slug


def sort_key(page: Page):
    """Listing order: pinned first, then newest first, then by URL (deterministic)."""
    return (not page.pinned, -page.date.timestamp(), page.url)


@dataclass(frozen=True)
class Site:
    """The assembled site: the config, the published pages, and read-only indexes.

    ``articles`` newest first (pinned first in listings); ``by_category``/``by_column``/``by_tag`` map a slug to
    the listing order; ``tags`` maps tag slug → tag name (the spelling most articles use); ``months`` maps
    ``(year, month)`` → articles; ``neighbours`` maps URL → (previous, next) within the category (older, newer);
    ``related`` URL → pages sharing tags; ``by_source`` project-relative path → page."""

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
            notes.append(Problem(Location(p.source, p.lines.get("date", 1)), "W130",
                                 f"定时发布：{when} 之后才发布，本次未发布", "到时间后重新构建即可发布；预览用 --future",
                                 "warning"))
            continue
        kept.append(p)
    return kept, notes


def generated_urls(config: Config) -> dict[str, str]:
    """Site-relative URLs of the pages sitegen generates itself (home, listings, indexes, 404), each mapped to a
    Chinese description of its owner for E401 messages."""
    urls = {"/": "首页", "/404.html": "404 页面", "/tags/": "标签索引页", "/archives/": "归档页",
            "/galleries/": "图片库索引页"}
    for kind, sections, label in (("category", config.categories, "栏目"), ("column", config.columns, "专栏")):
        for s in sections:
            urls.setdefault(config.permalink(kind).format(slug=s.slug), f"{label}“{s.name}”的列表页")
    return urls


def _unique_urls(pages, config: Config, problems: list) -> list[Page]:
    """The pages whose URL and aliases no page before them (by source path) or generated page has (E401 at the
    ``slug:`` line or the alias entry for the others, naming the owner)."""
    seen: dict[str, str] = {u.lower().rstrip("/"): owner for u, owner in generated_urls(config).items()}
    kept = []
    for p in sorted(pages, key=lambda p: p.source):
        own = [(p.url, p.lines.get("slug", 1))] + [(a, p.lines.get(f"aliases.{i}", 1)) for i, a in enumerate(p.aliases)]
        clash = next(((url, line) for url, line in own if url.lower().rstrip("/") in seen), None)
        if clash:
            url, line = clash
            problems.append(Problem(Location(p.source, line), "E401", f"网址 {url} 与 {seen[url.lower().rstrip('/')]} 重复",
                                    "请修改其中一篇的 slug" if url == p.url else "请删除或修改这个旧网址"))
            continue
        for url, _ in own:
            seen[url.lower().rstrip("/")] = p.source
        kept.append(p)
    return kept


def _tag_index(articles, memo: MutableMapping[str, str], problems: list) -> tuple[dict, dict]:
    """``(tag slug → name, article URL → its tags' slugs)``. The name of a tag is the spelling most articles use
    (then the first in ``articles`` order); ``memo`` (tag name → slug, kept between builds) is used and filled.
    Two different tags on one slug (E402) keep the first tag's page; the other tag is left off its articles."""
    spellings: dict[str, Counter] = {}
    owner: dict[str, tuple[str, str]] = {}
    slugs_of: dict[str, tuple[str, ...]] = {}
    for a in articles:
        own = []
        for t in a.tags:
            slug = memo.get(t) or memo.setdefault(t, tag_slug(t))
            key = tag_key(t)
            first = owner.setdefault(slug, (key, a.source))
            if first[0] != key:
                problems.append(Problem(Location(a.source, a.lines.get("tags", 1)), "E402",
                                        f"标签“{t}”与另一个标签（{first[1]}）的网址都是 /tags/{slug}/",
                                        "请换一种写法，或与那个标签统一"))
                continue
            spellings.setdefault(slug, Counter())[t] += 1
            own.append(slug)
        slugs_of[a.url] = tuple(dict.fromkeys(own))
    names = {slug: min(c, key=lambda t: -c[t]) for slug, c in spellings.items()}
    return names, slugs_of


def assemble(pages, config: Config, tag_slugs: MutableMapping[str, str] | None = None) -> tuple[Site, list[Problem]]:
    """Build the indexes of the site from parsed pages. Returns the :class:`Site` and the problems found across
    pages: two pages on one URL (E401, letter case ignored, naming both files), two tags on one URL (E402),
    links to ``.md`` files that are not published pages (E201). ``tag_slugs`` (tag name → slug, e.g. kept in the
    build cache) spares transliterating known tags again and receives the new ones."""
    problems: list[Problem] = []
    kept = _unique_urls(pages, config, problems)
    stamp = {p.url: p.date.timestamp() for p in kept}  # one timestamp per page, not one per comparison
    articles = tuple(sorted((p for p in kept if p.kind == "article"), key=lambda p: (-stamp[p.url], p.url)))
    statics = tuple(sorted((p for p in kept if p.kind == "page"), key=lambda p: p.url))
    galleries = tuple(sorted((p for p in kept if p.kind == "gallery"), key=lambda p: (-stamp[p.url], p.url)))
    # sort_key (pinned first, newest, URL) as a rank: articles are already newest first, then by URL
    rank = {a.url: (not a.pinned, i) for i, a in enumerate(articles)}

    def group(key_fn):
        out: dict = {}
        for a in articles:
            for k in key_fn(a):
                out.setdefault(k, []).append(a)
        return {k: tuple(sorted(v, key=lambda p: rank[p.url])) for k, v in out.items()}

    tags, slugs_of = _tag_index(articles, tag_slugs if tag_slugs is not None else {}, problems)
    by_tag = group(lambda a: slugs_of[a.url])
    months: dict = {}
    for a in articles:
        local = a.date.astimezone(config.tz)
        months.setdefault((local.year, local.month), []).append(a)
    by_category = group(lambda a: [a.category])
    by_source = {p.source: p for p in kept}
    for p in kept:
        for target, written, line in p.links:
            if target is None or target not in by_source:
                problems.append(Problem(Location(p.source, line), "E201", f"链接的文章不存在或未发布：{written}",
                                        "检查文件路径（相对于本文件）"))
    site = Site(config, articles, statics, galleries, by_category, group(lambda a: [a.column] if a.column else []),
                by_tag, tags, {k: tuple(sorted(v, key=lambda p: rank[p.url])) for k, v in sorted(months.items(),
                                                                                               reverse=True)},
                _neighbours(by_category, stamp), _related(articles, by_tag, slugs_of), by_source)
    return site, problems


def _neighbours(by_category, stamp) -> dict:
    """URL → (older, newer) article of the same category."""
    neighbours = {}
    for items in by_category.values():
        chrono = sorted(items, key=lambda p: (stamp[p.url], p.url))
        for i, a in enumerate(chrono):
            neighbours[a.url] = (chrono[i - 1] if i > 0 else None, chrono[i + 1] if i + 1 < len(chrono) else None)
    return neighbours


def _related(articles, by_tag, slugs_of) -> dict:
    """URL → up to 5 other articles sharing most tags with it, then newest, then by URL.

    Linear in practice: candidates sharing two or more tags come from set intersections, the rest from a lazy
    merge of the tag lists in date order that stops after 5 (a quadratic scan took a minute at 10,000 articles)."""
    pages = {p.url: p for items in by_tag.values() for p in items}
    # articles are newest first, then by URL: their index is the (-date, url) order
    order = {a.url: i for i, a in enumerate(articles)}
    by_order = [a.url for a in articles]
    big = len(articles) + 1
    keys = {url: order[url] for url in pages}
    ordered = {t: sorted((p.url for p in items), key=keys.__getitem__) for t, items in by_tag.items()}
    members = {t: set(urls) for t, urls in ordered.items()}
    common: dict[tuple[str, str], set] = {}  # each pair of tags intersected once, not once per article
    related = {}
    for a in articles:
        tags = list(slugs_of[a.url])
        best: list[str] = []
        # an article in s of the tags lies in s*(s-1)/2 pairwise intersections: that count orders like s
        pairs: Counter = Counter()
        for t1, t2 in combinations(tags, 2):
            pair = (t1, t2) if t1 < t2 else (t2, t1)
            shared = common.get(pair)
            if shared is None:
                shared = common[pair] = members[t1] & members[t2]
            pairs.update(shared)
        pairs.pop(a.url, None)
        if pairs:  # most shared pairs first, then newest: one integer per candidate, the five smallest
            best = [by_order[k % big] for k in heapq.nsmallest(5, [order[u] - n * big for u, n in pairs.items()])]
        if len(best) < 5 and tags:
            chosen = set(best)
            chosen.add(a.url)
            for url in heapq.merge(*(ordered[t] for t in tags), key=keys.__getitem__):
                if url not in chosen:
                    chosen.add(url)
                    best.append(url)
                    if len(best) == 5:
                        break
        related[a.url] = tuple(pages[u] for u in best)
    return related


__all__ = ["Site", "sort_key", "select", "generated_urls", "assemble"]
