"""sitemap.xml and robots.txt of the built sample site: valid against a small sitemaps.org schema
(tests/sitemap.xsd), every URL in it is a page in output/, every public page is in it; a sitemap index past the
URL limit; alias redirect pages (meta refresh + canonical) stay out of it."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import lxml.etree as etree
import lxml.html
import pytest

from sitegen import config as configmod
from sitegen.build import plan as planmod
from sitegen import content as contentmod
from sitegen import feeds
from sitegen_sites import article, build, copy_sample_site, make_site

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("sitemap.xsd"))))


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    root = copy_sample_site(tmp_path_factory.mktemp("sample"))
    report = build(root)
    assert report.ok, report.problems
    return root


def to_file(out: Path, loc: str, base_path: str = "/") -> Path:
    path = unquote(urlsplit(loc).path)[len(base_path):]
    return out / (path + "index.html" if path.endswith("/") or not path else path)


def public_pages(out: Path) -> set[Path]:
    """HTML pages a search engine may index: not noindex (404, alias redirects, the search page)."""
    found = set()
    for f in out.rglob("*.html"):
        if "search-index" in f.relative_to(out).parts or f.name == "404.html":
            continue
        robots = lxml.html.fromstring(f.read_bytes()).xpath("//meta[@name='robots']/@content")
        if not any("noindex" in r for r in robots):
            found.add(f)
    return found


def test_sitemap_validates_and_matches_output(sample):
    out = sample / "output"
    doc = etree.parse(str(out / "sitemap.xml"))
    SCHEMA.assertValid(doc)
    locs = doc.xpath("//s:url/s:loc/text()", namespaces=NS)
    assert len(locs) == len(set(locs))
    files = {to_file(out, loc) for loc in locs}
    missing = [f for f in files if not f.is_file()]
    assert not missing, missing
    assert files == public_pages(out)
    for lastmod in doc.xpath("//s:lastmod/text()", namespaces=NS):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", lastmod)


def test_lastmod_from_updated_or_date(tmp_path):
    root = make_site(tmp_path / "s", {
        "content/2026/11/a.md": article("甲", "2026-11-20 09:30", "正文", extra="updated: 2026-11-25 18:00\n"),
        "content/2026/11/b.md": article("乙", "2026-11-21 10:00", "正文"),
    })
    assert build(root).ok
    doc = etree.parse(str(root / "output" / "sitemap.xml"))
    SCHEMA.assertValid(doc)
    lastmod = {u.findtext("s:loc", namespaces=NS): u.findtext("s:lastmod", namespaces=NS)
               for u in doc.xpath("//s:url", namespaces=NS)}
    assert lastmod["https://www.example.org.cn/gongzuo-dongtai/2026/11/a/"] == "2026-11-25T18:00:00+08:00"
    assert lastmod["https://www.example.org.cn/gongzuo-dongtai/2026/11/b/"] == "2026-11-21T10:00:00+08:00"
    assert lastmod["https://www.example.org.cn/"] == "2026-11-25T18:00:00+08:00"


def test_sitemap_index_past_the_limit(tmp_path):
    files = {f"content/2026/10/a{n:02d}.md": article(f"文章{n:02d}", f"2026-10-{n:02d} 08:00", "正文")
             for n in range(1, 13)}
    root = make_site(tmp_path / "s", files)
    config = configmod.load(root)
    pages = [contentmod.read_source(config, s).page for s in contentmod.scan(config)]
    site, _ = contentmod.assemble([p for p in pages if p], config)
    urls = planmod.plan(site).sitemap()
    total = len(urls)
    assert [name for name, _ in feeds.sitemaps(config, urls)] == ["sitemap.xml"]
    parts = feeds.sitemaps(config, urls, limit=10)
    assert [name for name, _ in parts] == ["sitemap.xml"] + [f"sitemap-{n}.xml" for n in range(1, -(-total // 10) + 1)]
    index = etree.fromstring(parts[0][1])
    SCHEMA.assertValid(index)
    assert index.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    assert index.xpath("//s:loc/text()", namespaces=NS) == [
        f"https://www.example.org.cn/{name}" for name, _ in parts[1:]]
    locs = []
    for _, data in parts[1:]:
        doc = etree.fromstring(data)
        SCHEMA.assertValid(doc)
        assert len(doc) <= 10
        locs += doc.xpath("//s:loc/text()", namespaces=NS)
    assert len(locs) == total == len(set(locs))


def test_robots_points_to_sitemap(sample):
    text = (sample / "output" / "robots.txt").read_text("utf-8")
    assert text == "User-agent: *\nDisallow:\n\nSitemap: https://www.example.org.cn/sitemap.xml\n"


def test_alias_redirect_pages(tmp_path):
    root = make_site(tmp_path / "s", {
        "content/2026/11/a.md": article("新地址的文章", "2026-11-20 09:30", "正文",
                                        extra="aliases: [/html/2026/1120/123.html, /old/gaige/]\n"),
    })
    assert build(root).ok
    out = root / "output"
    for rel in ("html/2026/1120/123.html", "old/gaige/index.html"):
        doc = lxml.html.fromstring((out / rel).read_bytes())
        assert doc.xpath("//link[@rel='canonical']/@href") == ["https://www.example.org.cn/gongzuo-dongtai/2026/11/a/"]
        assert doc.xpath("//meta[@http-equiv='refresh']/@content") == ["0; url=/gongzuo-dongtai/2026/11/a/"]
        assert doc.xpath("//meta[@name='robots']/@content") == ["noindex"]
    sitemap = (out / "sitemap.xml").read_text("utf-8")
    assert "/old/gaige/" not in sitemap and "123.html" not in sitemap
