"""Feeds, sitemaps and ``robots.txt``: what feed readers and search engines read. Pure functions returning bytes.

* **Feeds** — RSS 2.0 (https://www.rssboard.org/rss-specification) and Atom (RFC 4287), built with feedgen, for
  the whole site (``/feed.xml``, ``/atom.xml``) and for every category and column (``/<slug>/feed.xml``,
  ``/<slug>/atom.xml``, following the ``category``/``column`` permalink patterns). Each holds the newest
  ``config.feeds_limit`` articles, newest first, with the full body (``config.feeds_full_content``) or the summary.
  Every URL is absolute, also inside the body HTML (``href``, ``src``, ``srcset``, ``poster`` resolved against the
  article's own absolute URL, so ``/media/x.jpg`` and ``../x/`` both work). An article with photos (``cover``,
  ``photos`` or images in its body) carries its lead photo as the item's RSS ``<enclosure>`` (url, length in
  bytes, type) and ``<media:content>`` (Media RSS, https://www.rssboard.org/media-rss) and as an Atom
  ``<link rel="enclosure">``, and the full content shows every front-matter photo as an ``<img>`` of its widest
  published JPEG with its caption and credit (as the article page does), so readers and WeChat tools that show
  feeds have the pictures of a 图片新闻 (case B44). Dates keep the site's offset: RFC 822
  in RSS (``Sat, 28 Nov 2026 09:30:00 +0800``), RFC 3339 in Atom (``2026-11-28T09:30:00+08:00``).
* **Entry ids** — a tag URI (RFC 4151) made of the site's host, the publication date and the article's source
  path: ``tag:www.example.org.cn,2026-11-28:content/2026/11/gaige.md``. It is the RSS ``<guid
  isPermaLink="false">`` and the Atom ``<id>``. Unlike the permalink it does not change when the title (and so the
  slug or URL) changes, so readers do not show an edited article twice; it changes only when the file is renamed or
  its date is changed, which is a new article for readers too. Feed ids are the feed's own absolute URL.
* **Text stays text** — RSS ``<description>`` is entity-encoded HTML (RSS 2.0 spec), so a summary (plain text)
  is HTML-escaped before it goes in, and titles follow the RSS Best Practices Profile (:func:`rss_text`); Atom
  marks them ``type="text"``. Only the article body is HTML, and it is sanitised (:func:`sitegen.markup.sanitize`).
* **XML 1.0 forbidden characters** (C0 controls other than tab, LF, CR; U+FFFE, U+FFFF; lone surrogates; case B21)
  are removed from every string that goes into a feed or sitemap.
* **Sitemaps** — https://www.sitemaps.org/protocol.html: one ``sitemap.xml`` with every public page (home,
  articles, pages, galleries, every page of each listing, tags, archives) and ``lastmod`` (the page's ``lastmod``,
  else ``updated``, else ``date``; for a listing its newest entry). Past ``limit`` (50,000) URLs ``sitemap.xml``
  becomes a sitemap index of ``sitemap-1.xml``, ``sitemap-2.xml``…
* **robots.txt** — allows everything and names the sitemap's absolute URL.

Output is deterministic (no build clock): a build with unchanged content writes identical bytes.
"""
from __future__ import annotations

import re
from datetime import datetime
from html import escape
from typing import Callable, Iterable
from urllib.parse import quote, urljoin, urlsplit

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from sitegen.config import Config, Section
from sitegen.content import Page, Site

SITEMAP_LIMIT = 50_000
"""Most URLs one sitemap file may list (sitemaps.org)."""

_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_URL_ATTR = re.compile(r"""(\s(?:href|src|poster|cite)\s*=\s*)(["'])(.*?)\2""", re.I | re.S)
_SRCSET_ATTR = re.compile(r"""(\ssrcset\s*=\s*)(["'])(.*?)\2""", re.I | re.S)
_EPOCH = datetime(2000, 1, 1)


def xml_clean(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (§2.2 Char: C0 controls except tab/LF/CR, U+FFFE/U+FFFF,
    surrogates). Everything else, Chinese included, is kept."""
    return _XML_FORBIDDEN.sub("", text or "")


def absolutize(html: str, base: str) -> str:
    """Rewrite the ``href``, ``src``, ``poster``, ``cite`` and ``srcset`` URLs of ``html`` to absolute URLs,
    resolved against ``base`` (an absolute URL, normally the page's own). Absolute URLs and other schemes
    (``mailto:``, ``data:``) are left as they are; entities in attribute values are kept escaped."""

    def one(url: str) -> str:
        url = url.strip()
        if not url or re.match(r"^[a-z][a-z0-9+.-]*:", url, re.I):
            return url
        return urljoin(base, url)

    def attr(m):
        return f"{m.group(1)}{m.group(2)}{one(m.group(3))}{m.group(2)}"

    def srcset(m):
        items = []
        for candidate in m.group(3).split(","):
            parts = candidate.strip().split(None, 1)
            if parts:
                items.append(" ".join([one(parts[0])] + parts[1:]))
        return f"{m.group(1)}{m.group(2)}{', '.join(items)}{m.group(2)}"

    return _SRCSET_ATTR.sub(srcset, _URL_ATTR.sub(attr, html))


def entry_id(config: Config, page: Page) -> str:
    """The stable id of ``page`` in feeds: ``tag:<host>,<YYYY-MM-DD>:<source path>`` (RFC 4151), the source path
    percent-encoded where it is not ASCII. See the module docstring for why not the permalink."""
    host = urlsplit(config.base_url).hostname or "localhost"
    return f"tag:{host},{page.date:%Y-%m-%d}:{quote(page.source, safe='/')}"


def lastmod(page: Page) -> datetime:
    """When ``page`` last changed: its ``lastmod`` if the model has one, else ``updated``, else ``date``."""
    return getattr(page, "lastmod", None) or page.updated or page.date


def _abs(config: Config, path: str) -> str:
    return config.base_url + path.lstrip("/")


def _newest(config: Config, pages: Iterable[Page]) -> datetime:
    dates = [lastmod(p) for p in pages]
    return max(dates) if dates else _EPOCH.replace(tzinfo=config.tz)


def feed_scopes(site: Site) -> list[tuple[Section | None, str, tuple[Page, ...]]]:
    """Every feed scope: ``(section or None for the whole site, site-relative folder URL, articles)``."""
    config = site.config
    scopes: list[tuple[Section | None, str, tuple[Page, ...]]] = [(None, "/", site.articles)]
    for kind, sections, index in (("category", config.categories, site.by_category),
                                  ("column", config.columns, site.by_column)):
        for s in sections:
            scopes.append((s, config.permalink(kind).format(slug=s.slug), index.get(s.slug, ())))
    return scopes


def feed(site: Site, section: Section | None, kind: str, pages: Iterable[Page] | None = None,
         body: Callable[[Page], str] | None = None, media=None) -> bytes:
    """One feed as UTF-8 XML bytes. ``kind`` is ``"rss"`` (RSS 2.0) or ``"atom"`` (RFC 4287); ``section`` a
    category or column, or ``None`` for the whole site; ``pages`` the articles in scope (default: those of the
    section); ``body(page)`` gives the article HTML with site-relative links resolved (default ``page.html``);
    ``media`` the published photos (anything with ``results``, project-relative path →
    :class:`sitegen.images.ImageResult`, such as :class:`sitegen.build.media.Media`; ``None``: no photos).
    Takes the newest ``feeds_limit`` articles. Titles and summaries are text in both kinds (see
    :func:`rss_text`). Raises ``ValueError`` for an unknown ``kind``."""
    if kind not in ("rss", "atom"):
        raise ValueError(f"unknown feed kind {kind!r}")
    config = site.config
    scopes = feed_scopes(site)
    if pages is None:
        pages = dict((s.slug if s else None, p) for s, _, p in scopes).get(section.slug if section else None, ())
    folder = "/" if section is None else next(f for s, f, _ in scopes if s and s.slug == section.slug)
    items = sorted(pages, key=lambda p: (p.date, p.url), reverse=True)[:config.feeds_limit]
    home = _abs(config, folder)
    self_url = home + ("feed.xml" if kind == "rss" else "atom.xml")
    title = config.title if section is None else f"{section.name} - {config.title}"
    description = (section.description if section else config.description) or title
    as_html = escape if kind == "rss" else str  # RSS <description> is HTML; Atom says type="text"

    fg = FeedGenerator()
    fg.load_extension("media")
    fg.register_extension("atom_enclosure", BaseExtension, AtomEnclosure, atom=True, rss=False)
    fg.id(self_url)
    fg.title(xml_clean(title))
    fg.subtitle(as_html(xml_clean(description)))  # RSS <description>, Atom <subtitle>
    fg.link(href=self_url, rel="self", type="application/rss+xml" if kind == "rss" else "application/atom+xml")
    fg.link(href=home, rel="alternate")  # last: feedgen makes the last link RSS's <link>
    fg.language(config.language)
    fg.author(name=xml_clean(config.footer.sponsor or config.title))
    fg.generator("sitegen")
    fg.updated(_newest(config, items))
    if config.footer.sponsor:
        fg.rights(xml_clean(f"版权所有 {config.footer.sponsor}"))
    for page in items:
        _entry(fg.add_entry(order="append"), config, page, kind, (body, getattr(media, "results", {})))
    return rss_text(fg.rss_str(pretty=True)) if kind == "rss" else fg.atom_str(pretty=True)


def _entry(e, config: Config, page: Page, kind: str, sources: tuple) -> None:
    """Fill feedgen entry ``e`` for ``page``; ``sources`` is ``(body function or None, photo results)``. A plain
    text goes into RSS ``<description>`` as entity-encoded HTML, into Atom as ``type="text"``."""
    body, results = sources
    as_html = escape if kind == "rss" else str
    url = _abs(config, page.url)
    e.guid(entry_id(config, page), permalink=False)  # also the Atom <id>
    e.title(xml_clean(page.title))
    e.link(href=url, rel="alternate")
    e.published(page.date)
    e.pubDate(page.date)
    e.updated(lastmod(page))
    if page.author:
        e.author(name=xml_clean(page.author))
    cat = config.category(page.category)
    for name in ([cat.name] if cat else []) + ([config.column(page.column).name]
                                               if page.column and config.column(page.column) else []):
        e.category(term=xml_clean(name))
    summary = xml_clean(page.summary)
    if summary:
        e.summary(as_html(summary))
    _enclose(e, config, page, results, kind)
    if config.feeds_full_content:
        before, after = _photos_html(config, page, results)
        html = absolutize(before + (body(page) if body else page.html) + after, url)
        e.content(xml_clean(html), type="html")  # the sanitised body, HTML on purpose
        if summary:
            e.description(as_html(summary), isSummary=True)
    elif not summary:
        e.summary(as_html(xml_clean(page.title)))


def _widest_jpeg(results, rel: str | None):
    """The widest still variant of photo ``rel`` (JPEG preferred), ``None`` when it was not published."""
    result = results.get(rel) if rel else None
    return result.largest if result is not None and result.ok else None


class AtomEnclosure(BaseEntryExtension):
    """feedgen entry extension writing ``<link rel="enclosure" href type length>`` into an Atom entry (RFC 4287
    §4.2.7.2): feedgen 1.0 writes only the ``href`` of an Atom entry's links, which would make an enclosure
    another ``alternate`` link. ``link`` is ``(href, type, length in bytes)`` or ``None``."""

    def __init__(self):
        self.link: tuple[str, str, str] | None = None

    def extend_atom(self, entry):
        """Append the enclosure link to the entry element (feedgen calls this when writing Atom)."""
        if self.link is not None:
            href, mime, length = self.link
            xml_elem("link", entry, href=href, rel="enclosure", type=mime, length=length)
        return entry


def _enclose(entry, config: Config, page: Page, results, kind: str) -> None:
    """Add the lead photo of ``page`` (its cover, else its first photo, else the first image of its body) as an
    enclosure (RSS ``<enclosure>``, Atom ``<link rel="enclosure">``) and a ``media:content`` of ``entry``."""
    refs = [page.cover.rel if page.cover else None] + [p.rel for p in page.photos] + [r for r, _, _ in page.images]
    variant = next((v for v in (_widest_jpeg(results, rel) for rel in refs) if v is not None), None)
    if variant is None:
        return
    url = _abs(config, variant.url)
    mime = {"jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}[variant.format]
    if kind == "rss":
        entry.enclosure(url, str(variant.size), mime)
    else:
        entry.atom_enclosure.link = (url, mime, str(variant.size))
    entry.media.content(url=url, type=mime, medium="image", fileSize=str(variant.size), width=str(variant.width),
                        height=str(variant.height), group=None)


def _photos_html(config: Config, page: Page, results) -> tuple[str, str]:
    """HTML for the front-matter photos of ``page`` in a feed's full content: ``(before the body, after it)`` —
    the cover before it when the page has no ``photos`` (as the article template shows it), the photos after."""

    def figure(photo) -> str:
        variant = _widest_jpeg(results, photo.rel)
        if variant is None:
            return ""
        credit = f" {escape(photo.credit)} 摄" if photo.credit else ""
        caption = f"<figcaption>{escape(photo.caption)}{credit}</figcaption>" if photo.caption or credit else ""
        return (f'<figure><img src="{escape(_abs(config, variant.url))}" alt="{escape(photo.caption or page.title)}"'
                f' width="{variant.width}" height="{variant.height}">{caption}</figure>')

    before = figure(page.cover) if page.cover and not page.photos else ""
    return before, "".join(figure(p) for p in page.photos)


_TEXT_ELEMENT = re.compile(rb"(<(title|category|author|dc:creator|copyright|generator)>)(.*?)(</\2>)", re.S)


def rss_text(data: bytes) -> bytes:
    """RSS 2.0 bytes with the text of its plain-text elements (``title``, ``category``, ``author``…) written the
    way the RSS Advisory Board's Best Practices Profile asks ("Character Data": ``&``, ``<`` and ``>`` as the
    hexadecimal references ``&#x26;``, ``&#x3C;``, ``&#x3E;``), which aggregators read as literal text. The XML
    means the same; only ``<description>`` (HTML, here the summary escaped as HTML text) and
    ``<content:encoded>`` (the sanitised body) carry markup. A summary of ``</script><script>alert(8)</script>``
    is thus shown as those characters by every reader, never run."""
    def one(m: re.Match) -> bytes:
        text = m.group(3).replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;").replace(b"&gt;", b"&#x3E;")
        return m.group(1) + text + m.group(4)

    return _TEXT_ELEMENT.sub(one, data)


def _urlset(config: Config, urls: list[tuple[str, datetime]]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for url, when in urls:
        loc = _abs(config, quote(url, safe="/-._~%!$&'()*+,;=:@"))
        lines.append(f"<url><loc>{escape(xml_clean(loc), quote=False)}</loc>"
                     f"<lastmod>{when.isoformat(timespec='seconds')}</lastmod></url>")
    lines.append("</urlset>\n")
    return "\n".join(lines).encode("utf-8")


def sitemaps(config: Config, urls: list[tuple[str, datetime]], limit: int = SITEMAP_LIMIT) -> list[tuple[str, bytes]]:
    """The sitemap files for ``urls`` (``(site-relative URL, lastmod)``, from the plan: every public HTML page) as
    ``(path relative to output/, bytes)``: ``[("sitemap.xml", urlset)]`` for at most ``limit`` URLs, else
    ``sitemap.xml`` as a ``<sitemapindex>`` of ``sitemap-1.xml``… (each at most ``limit`` URLs; sitemaps.org
    protocol, URLs percent-encoded, ``lastmod`` RFC 3339 with offset)."""
    if len(urls) <= limit:
        return [("sitemap.xml", _urlset(config, urls))]
    files, index = [], ['<?xml version="1.0" encoding="UTF-8"?>',
                        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for n, start in enumerate(range(0, len(urls), limit), 1):
        chunk = urls[start:start + limit]
        name = f"sitemap-{n}.xml"
        files.append((name, _urlset(config, chunk)))
        newest = max(when for _, when in chunk)
        index.append(f"<sitemap><loc>{escape(_abs(config, name), quote=False)}</loc>"
                     f"<lastmod>{newest.isoformat(timespec='seconds')}</lastmod></sitemap>")
    index.append("</sitemapindex>\n")
    return [("sitemap.xml", "\n".join(index).encode("utf-8"))] + files


def robots(site: Site) -> bytes:
    """``robots.txt`` (https://www.rfc-editor.org/rfc/rfc9309): every crawler may fetch everything; names the
    sitemap's absolute URL."""
    config = site.config
    return ("User-agent: *\nDisallow:\n\n"
            f"Sitemap: {_abs(config, 'sitemap.xml')}\n").encode("utf-8")
