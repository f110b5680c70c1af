"""Feeds, sitemaps and ``robots.txt``: what feed readers and search engines read. Pure functions returning bytes.

* **Feeds** — RSS 2.0 (https://www.rssboard.org/rss-specification) and Atom (RFC 4287), built with feedgen, for
  the whole site (``/feed.xml``, ``/atom.xml``) and for every category and column (``/<slug>/feed.xml``,
  ``/<slug>/atom.xml``, following the ``category``/``column`` permalink patterns). Each holds the newest
  ``config.feeds_limit`` articles, newest first, with the full body (``config.feeds_full_content``) or the summary.
  Every URL is absolute, also inside the body HTML (``href``, ``src``, ``srcset``, ``poster`` resolved against the
  article's own absolute URL, so ``/media/x.jpg`` and ``../x/`` both work). Dates keep the site's offset: RFC 822
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
from typing import Callable, Iterable
from urllib.parse import quote, urljoin, urlsplit
from html import escape as html_escape
from xml.sax.saxutils import escape as xml_escape

from feedgen.feed import FeedGenerator

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
         body: Callable[[Page], str] | None = None) -> bytes:
    """One feed as UTF-8 XML bytes. ``kind`` is ``"rss"`` (RSS 2.0) or ``"atom"`` (RFC 4287); ``section`` a
    category or column, or ``None`` for the whole site; ``pages`` the articles in scope (default: those of the
    section); ``body(page)`` gives the article HTML with site-relative links resolved (default ``page.html``).
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
    as_html = html_escape if kind == "rss" else str  # RSS <description> is HTML; Atom says type="text"

    fg = FeedGenerator()
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
        _entry(fg.add_entry(order="append"), config, page, body, as_html)
    return rss_text(fg.rss_str(pretty=True)) if kind == "rss" else fg.atom_str(pretty=True)


def _entry(e, config: Config, page: Page, body: Callable[[Page], str] | None, as_html) -> None:
    """Fill feedgen entry ``e`` for ``page``; ``as_html`` turns a plain text into what RSS ``<description>``
    carries (entity-encoded HTML) or leaves it for Atom's ``type="text"``."""
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
    if config.feeds_full_content:
        html = absolutize(body(page) if body else page.html, url)
        e.content(xml_clean(html), type="html")  # the sanitised body, HTML on purpose
        if summary:
            e.description(as_html(summary), isSummary=True)
    elif not summary:
        e.summary(as_html(xml_clean(page.title)))


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
        lines.append(f"<url><loc>{xml_escape(xml_clean(loc))}</loc>"
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
        index.append(f"<sitemap><loc>{xml_escape(_abs(config, name))}</loc>"
                     f"<lastmod>{newest.isoformat(timespec='seconds')}</lastmod></sitemap>")
    index.append("</sitemapindex>\n")
    return [("sitemap.xml", "\n".join(index).encode("utf-8"))] + files


def robots(site: Site) -> bytes:
    """``robots.txt`` (https://www.rfc-editor.org/rfc/rfc9309): every crawler may fetch everything; names the
    sitemap's absolute URL."""
    config = site.config
    return ("User-agent: *\nDisallow:\n\n"
            f"Sitemap: {_abs(config, 'sitemap.xml')}\n").encode("utf-8")
