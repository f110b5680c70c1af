"""The one table of page kinds: for each kind of output a build produces, its template, how it is named in
messages, whether it is in the sitemap, and the function that lists its outputs for a site.

Adding a page kind (a 专题 page, say) means adding one :class:`Kind` to :data:`KINDS` (or passing a table with it
to :func:`sitegen.build.plan.plan`): the plan then renders it, puts it in the sitemap and checks it for clashes.
Outputs are listed in table order, which is also the sitemap's order (home, pages, listings, tags, archives)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator

from sitegen.build.write import output_path
from sitegen.content import Page, Site, sort_key
from sitegen.errors import Location


@dataclass(frozen=True, slots=True)
class Output:
    """One output of the build, decided before anything renders.

    ``url`` site-relative (``/gongzuo-dongtai/2026/11/gaige/``, ``/system/2019/03/05/000123.shtml``); ``path``
    the file relative to ``output/`` (checked by the plan's gate); ``kind`` a :data:`KINDS` name; ``template``
    ``None`` for files not made from a template; ``origin`` the ``file:line`` that declared it (a ``slug:``, an
    ``aliases:`` entry, ``site.yaml``); ``deps`` the source paths of the pages it shows; ``lastmod`` for the
    sitemap (``None``: not in it); ``data`` the template context particular to this output, as ``(name, value)``
    pairs (pages, the pager, the section)."""

    url: str
    path: str
    kind: str
    template: str | None
    origin: Location
    deps: tuple[str, ...] = ()
    lastmod: datetime | None = None
    data: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of output: ``name``; ``template`` (``None``: made by code, e.g. feeds); ``label`` its Chinese name in
    messages (``标签索引页``); ``sitemap`` whether its outputs are listed in ``sitemap.xml``; ``html`` whether it
    counts as an HTML page of the site (the build's page count; the context gets ``page_url``); ``outputs(site)``
    its outputs; ``reserved(config)`` the URLs it takes whatever the content (checked before pages are placed),
    each a URL or a ``(URL, label)`` pair."""

    name: str
    template: str | None
    label: str
    outputs: Callable[[Site], Iterator[Output]]
    sitemap: bool = True
    html: bool = True
    reserved: Callable[[Any], Iterator[str]] = lambda config: iter(())


SITE_YAML = Location("site.yaml", 0)


def newest(config, pages) -> datetime:
    """The latest ``lastmod`` of ``pages`` (sitemaps.org ``lastmod``), 1970-01-01 in the site's zone for none."""
    dates = [p.updated or p.date for p in pages]
    return max(dates) if dates else datetime(1970, 1, 1, tzinfo=config.tz)


def paginate(items, per_page: int, base_url: str) -> Iterator[dict]:
    """Split ``items`` into pages of ``per_page``: yields dicts ``{items, number, total, url, prev, next, urls,
    count}``; page 1 lives at ``base_url``, page N at ``base_url + 'page/N/'``. The one pagination of sitegen."""
    items = list(items)
    per_page = max(1, per_page)
    total = max(1, -(-len(items) // per_page))
    urls = [base_url if n == 1 else f"{base_url}page/{n}/" for n in range(1, total + 1)]
    for n in range(1, total + 1):
        yield {"items": items[(n - 1) * per_page: n * per_page], "number": n, "total": total, "url": urls[n - 1],
               "prev": urls[n - 2] if n > 1 else None, "next": urls[n] if n < total else None, "urls": urls,
               "count": len(items)}


def one(site: Site, url: str, of: str, template: str | None, shown=(), **data) -> Output:
    """An output of kind ``of``, a generated page at ``url`` (declared by ``site.yaml``) showing ``shown`` pages,
    with ``data`` as its template context."""
    return Output(url, output_path(url), of, template, SITE_YAML, tuple(p.source for p in shown),
                  newest(site.config, shown), tuple(data.items()))


def listing(site: Site, kind: str, base: str, items, **data) -> Iterator[Output]:
    """The paginated outputs of a listing (``list.html``) of ``items`` at ``base``."""
    for pager in paginate(items, site.config.per_page, base):
        yield one(site, pager["url"], kind, "list.html", pager["items"], kind=kind, pager=pager, **data)


def _home(site: Site) -> Iterator[Output]:
    config = site.config
    headline = next((a for a in site.articles if a.headline), site.articles[0] if site.articles else None)
    carousel = [a for a in site.articles if (a.cover or a.photos) and a is not headline][:5]
    latest = {s.slug: site.by_category.get(s.slug, ())[:8] for s in config.categories}
    columns = {s.slug: site.by_column.get(s.slug, ())[:8] for s in config.columns}
    shown = [p for group in (list(latest.values()) + list(columns.values())) for p in group]
    shown += carousel + list(site.galleries[:4]) + ([headline] if headline else [])
    out = one(site, "/", "home", "home.html", shown, headline=headline, latest=latest, carousel=carousel,
              columns=columns, galleries=site.galleries[:4])
    yield Output(out.url, out.path, out.kind, out.template, out.origin, out.deps, newest(config, site.all_pages),
                 out.data)


def page_origin(page: Page) -> Location:
    """Where ``page``'s URL is declared: its ``slug:`` line, else line 1 (the file name decides)."""
    return Location(page.source, page.slug_line or 1)


def _content(site: Site) -> Iterator[Output]:
    sections = {s.slug: s for s in site.config.categories + site.config.columns}
    neighbours, related_of, alone = site.neighbours, site.related, (None, None)
    for page in site.articles + site.pages + site.galleries:  # 10,000 pages: no generator per page
        prev, nxt = neighbours.get(page.url, alone)
        related = related_of.get(page.url, ())
        deps = [page.source] + [p.source for p in (prev, nxt) if p] + [p.source for p in related]
        yield Output(page.url, output_path(page.url), page.kind, page.kind + ".html", page_origin(page), tuple(deps),
                     page.updated or page.date,
                     (("page", page), ("prev", prev), ("next", nxt), ("related", related),
                      ("section", sections.get(page.column or page.category))))


ALIAS_FILE_EXTENSIONS = (".html", ".htm", ".shtml", ".asp", ".aspx", ".php", ".jsp")
"""An alias ending in one of these is written as a file at exactly that path (old CMS URLs), any other as a
folder with ``index.html``."""


def alias_path(alias: str) -> str:
    """The output file of a redirect from ``alias``: ``/a/b.shtml`` → ``a/b.shtml``, ``/old/x`` →
    ``old/x/index.html``."""
    if alias.lower().endswith(ALIAS_FILE_EXTENSIONS) or alias.endswith("/"):
        return output_path(alias)
    return output_path(alias + "/")


def _aliases(site: Site) -> Iterator[Output]:
    for page in site.articles + site.pages + site.galleries:
        for i, alias in enumerate(page.aliases):
            line = page.alias_lines[i] if i < len(page.alias_lines) else 1
            yield Output(alias, alias_path(alias), "redirect", "redirect.html", Location(page.source, line),
                         (page.source,), None, (("page", page),))


def _sections(site: Site, kind: str) -> Iterator[Output]:
    config = site.config
    index = site.by_category if kind == "category" else site.by_column
    for s in (config.categories if kind == "category" else config.columns):
        base = config.permalink(kind).format(slug=s.slug)
        yield from listing(site, kind, base, index.get(s.slug, ()), section=s, title=s.name,
                           description=s.description)


def _tags(site: Site) -> Iterator[Output]:
    for slug, name in sorted(site.tags.items()):
        base = site.config.permalink("tag").format(slug=slug)
        yield from listing(site, "tag", base, site.by_tag.get(slug, ()), section=None, title=f"标签：{name}",
                           description="")


def _tag_index(site: Site) -> Iterator[Output]:
    tags = sorted(((slug, name, len(site.by_tag[slug])) for slug, name in site.tags.items()),
                  key=lambda t: (-t[2], t[0]))
    out = one(site, "/tags/", "tags", "tags.html", (), section=None, title="全部标签", tags=tags)
    yield Output(out.url, out.path, out.kind, out.template, out.origin, (), newest(site.config, site.articles),
                 out.data)


def years_of(site: Site) -> dict[int, list]:
    """``{year: [(month, articles), …]}`` in the order of ``site.months`` (newest first)."""
    years: dict[int, list] = {}
    for (year, month), items in site.months.items():
        years.setdefault(year, []).append((month, items))
    return years


def _archives(site: Site) -> Iterator[Output]:
    for (year, month), items in site.months.items():
        yield from listing(site, "archive", f"/archives/{year}/{month:02d}/", items, section=None,
                           title=f"{year}年{month}月", description="")
    for year, months in years_of(site).items():
        items = sorted((a for _, group in months for a in group), key=sort_key)
        yield from listing(site, "archive", f"/archives/{year}/", items, section=None, title=f"{year}年",
                           description="")


def _archive_index(site: Site) -> Iterator[Output]:
    out = one(site, "/archives/", "archives", "archives.html", (), section=None, title="文章归档",
              years=years_of(site))
    yield Output(out.url, out.path, out.kind, out.template, out.origin, (), newest(site.config, site.articles),
                 out.data)


def _gallery_index(site: Site) -> Iterator[Output]:
    if site.galleries:
        yield one(site, "/galleries/", "galleries", "galleries.html", site.galleries, section=None, title="图片库",
                  galleries=site.galleries)


def _not_found(site: Site) -> Iterator[Output]:
    out = one(site, "/404.html", "404", "404.html", (), section=None, title="页面未找到")
    yield Output(out.url, out.path, out.kind, out.template, out.origin, (), None, out.data)


def _search(site: Site) -> Iterator[Output]:
    from sitegen import search

    shards = tuple(f"{name}/" for name in search.shards(site) if name)
    out = one(site, "/search/", "search", "search.html", (), section=None, title="站内搜索", search_shards=shards)
    yield Output(out.url, out.path, out.kind, out.template, out.origin, (), None, out.data)


def feed_folders(config) -> Iterator[tuple[str, Any]]:
    """Every feed scope's folder URL and section (``None`` for the whole site): ``/``, then each category and
    column listing."""
    yield "/", None
    for kind, sections in (("category", config.categories), ("column", config.columns)):
        for s in sections:
            yield config.permalink(kind).format(slug=s.slug), s


def _feeds(site: Site) -> Iterator[Output]:
    for folder, section in feed_folders(site.config):
        for name in ("feed.xml", "atom.xml"):
            url = folder + name
            yield Output(url, output_path(url), "feed", None, SITE_YAML, (), None, (("section", section),))


def _site_files(site: Site) -> Iterator[Output]:
    for url in ("/robots.txt", "/sitemap.xml"):
        yield Output(url, output_path(url), "sitemap", None, SITE_YAML)


def _assets(site: Site) -> Iterator[Output]:
    from sitegen.build.theme import static_assets

    for out_rel, source in static_assets(site.config).values():
        url = "/" + out_rel
        yield Output(url, out_rel, "asset", None, SITE_YAML, (), None, (("source", source),))


def _attachments(site: Site) -> Iterator[Output]:
    from sitegen.attachments import output_rel

    root = site.config.root
    for page in site.articles + site.pages + site.galleries:
        for a in page.attachments:
            if a.size >= 0:  # measured: the file is there
                rel = output_rel(a)
                yield Output("/" + rel, rel, "attachment", None, Location(page.source, a.line), (page.source,), None,
                             (("source", root / a.rel),))


def _section_bases(config) -> Iterator[tuple[str, str]]:
    for folder, section in feed_folders(config):
        if section is not None:
            label = "栏目" if section in config.categories else "专栏"
            yield folder, f"{label}“{section.name}”的列表页"


KINDS: tuple[Kind, ...] = (
    Kind("home", "home.html", "首页", _home, reserved=lambda config: iter(("/",))),
    Kind("content", None, "文章", _content),
    Kind("redirect", "redirect.html", "旧网址跳转", _aliases, sitemap=False, html=False),
    Kind("list", "list.html", "列表页", lambda site: (o for k in ("category", "column") for o in _sections(site, k)),
         reserved=_section_bases),
    Kind("tag", "list.html", "标签页", _tags),
    Kind("tags", "tags.html", "标签索引页", _tag_index, reserved=lambda config: iter(("/tags/",))),
    Kind("archive", "list.html", "归档页", _archives),
    Kind("archives", "archives.html", "归档索引页", _archive_index, reserved=lambda config: iter(("/archives/",))),
    Kind("galleries", "galleries.html", "图片库索引页", _gallery_index, reserved=lambda config: iter(("/galleries/",))),
    Kind("404", "404.html", "404 页面", _not_found, sitemap=False, reserved=lambda config: iter(("/404.html",))),
    Kind("search", "search.html", "站内搜索页", _search, sitemap=False, reserved=lambda config: iter(("/search/",))),
    Kind("feed", None, "订阅源", _feeds, sitemap=False, html=False,
         reserved=lambda config: (f + n for f, _ in feed_folders(config) for n in ("feed.xml", "atom.xml"))),
    Kind("sitemap", None, "网站地图", _site_files, sitemap=False, html=False,
         reserved=lambda config: iter(("/robots.txt", "/sitemap.xml"))),
    Kind("asset", None, "主题文件", _assets, sitemap=False, html=False),
    Kind("attachment", None, "附件", _attachments, sitemap=False, html=False),
)
"""The page kinds of a build, in plan order."""
