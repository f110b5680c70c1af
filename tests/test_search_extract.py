"""What the search index reads of a page (sitegen/search.py ``essentials``): the first element marked
``data-search-body``/``data-pagefind-body`` without its parts marked ``…-ignore``; the markers are looked for before
the tag patterns are tried, which must find exactly the tags a plain regular-expression search finds."""
from __future__ import annotations

import re

import pytest

from sitegen import search

PAGES = [
    b"<p>data-pagefind-body</p><div data-pagefind-body>x<p data-search-ignore>a</p>b<i data-search-ignorex>c</i>"
    b"<q data-search-ignore>d</q></div>",
    b"<a x='>' data-search-bodyx><b data-pagefind-body>y<i>z</i>data-search-ignore<s data-pagefind-ignore=all>w</s></b>",
    b"<div>xdata-search-body</div><p class=a data-search-body>t</p>",
    b"nothing",
    b"<i data-pagefind-body></i>",
    b"<div data-search-body data-search-ignore>x<p data-search-ignore>y</p></div>",
    b"<div data-search-body><p data-search-ignore>x<span data-search-ignore>y</span>z</p>w<!-- data-search-ignore --></div>",
    b"<header data-search-body=\"1\"><h1>t</h1><nav data-pagefind-ignore=\"all\"><a>m</a></nav>text</header>",
]


_BODY = re.compile(rb"<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*\sdata-(?:search|pagefind)-body\b[^>]*>")
_IGNORE = re.compile(rb"<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*\sdata-(?:search|pagefind)-ignore\b[^>]*>")


def _end(html: bytes, m: re.Match) -> int | None:
    depth = 0
    for t in re.finditer(rb"<(/?)" + re.escape(m.group(1)) + rb"\b[^>]*>", html[m.start():], re.I):
        depth += -1 if t.group(1) else 1
        if depth == 0:
            return m.start() + t.end()
    return None


def reference(html: bytes) -> bytes:
    """essentials() as first written: every tag tried by the regular expressions."""
    m = _BODY.search(html)
    end = _end(html, m) if m else None
    if end is None:
        return b""
    body = re.sub(rb"<!--.*?-->", b"", html[m.start():end], flags=re.S)
    parts, pos = [], 0
    for ig in _IGNORE.finditer(body):
        if ig.start() < pos or ig.start() == 0:
            continue
        stop = _end(body, ig)
        if stop is None:
            continue
        parts.append(body[pos:ig.start()])
        pos = stop
    return b"".join(parts) + body[pos:]


@pytest.mark.parametrize("html", PAGES)
def test_markers_find_what_trying_every_tag_finds(html):
    assert search.essentials(html) == reference(html)


def test_essentials_cut_the_ignored_parts():
    assert search.text_of(search.essentials(PAGES[0])) == "xbc"
    assert search.text_of(search.essentials(PAGES[6])) == "w"
    assert search.text_of(search.essentials(PAGES[7])) == "ttext"
    assert search.essentials(PAGES[3]) == b""


def test_built_pages_read_as_before(sample_site):
    pages = [p.read_bytes() for p in sorted(sample_site.output.rglob("*.html"))]
    assert pages and sum(bool(reference(p)) for p in pages) > 5
    assert [search.essentials(p) for p in pages] == [reference(p) for p in pages]


@pytest.mark.parametrize("html, text, body, rest", [
    # the body begins after the header's text and the space that separates them, counted in UTF-16 code units
    # (what the search page's script counts): 𠀀 (U+20000) is two of them
    (b"<article data-search-body><header><h1>\xf0\xa0\x80\x80\xe6\xa0\x87\xe9\xa2\x98</h1>\n<p>2026-12-07</p></header>"
     b"\n<div><p>\xe6\xad\xa3\xe6\x96\x87</p></div></article>", "𠀀标题 2026-12-07 正文", 16, "正文"),
    (b"<div data-search-body><p>no header</p></div>", "no header", 0, "no header"),
    (b"<div data-search-body><header></header><p>empty header</p></div>", "empty header", 0, "empty header"),
])
def test_extract_says_where_the_body_begins(html, text, body, rest):
    got = search.extract(search.essentials(html))
    assert got == (text, body)
    assert got.text.encode("utf-16-le")[2 * got.body:].decode("utf-16-le") == rest
