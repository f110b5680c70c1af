"""RSS 2.0 and Atom feeds: parsed by feedparser (bozo 0) and checked for what feedparser lets through — required
elements, absolute URLs inside content, dates with the +08:00 offset, ids stable across builds and title changes,
XML-forbidden characters (case B21) and relative URLs in bodies (case B22's kind)."""
from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest

from sitegen import config as configmod
from sitegen import content as contentmod
from sitegen import feeds
from sitegen_sites import REPO, article, build, jpeg, make_site

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$")
RFC822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                    r"\d{4} \d\d:\d\d:\d\d \+0800$")
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

BODY = ("见[另一篇](b.md)、[附件](files/tongzhi.pdf)和[栏目](/gongzuo-dongtai/)。\n\n![会议现场](photo.jpg)\n\n"
        '<a href="../b/">上一级</a><img src="photo.jpg" srcset="photo.jpg 1x, ../x.jpg 2x" alt="图">')


def small_site(root: Path, title: str = "省妇联召开改革推进会") -> Path:
    return make_site(root, {
        "content/2026/11/gaige.md": article(title, "2026-11-20 09:30", BODY,
                                            extra="column: 改革进行时\nauthor: 田野\n"),
        "content/2026/11/b.md": article("家风建设讲坛走进衡水", "2026-11-21 10:00", "家风正文。"),
        "content/2026/11/photo.jpg": jpeg(),
        "content/2026/11/files/tongzhi.pdf": b"%PDF-1.4\n%%EOF\n",
    })


def all_feeds(out: Path) -> list[Path]:
    return sorted(out.rglob("feed.xml")) + sorted(out.rglob("atom.xml"))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = small_site(tmp_path_factory.mktemp("feeds"))
    assert build(root).ok
    return root / "output"


def test_every_feed_parses_with_feedparser(built):
    files = all_feeds(built)
    rels = {f.relative_to(built).as_posix() for f in files}
    assert {"feed.xml", "atom.xml", "gongzuo-dongtai/feed.xml", "gongzuo-dongtai/atom.xml", "ceshi/feed.xml",
            "gaige-jinxingshi/feed.xml", "gaige-jinxingshi/atom.xml"} <= rels
    for f in files:
        parsed = feedparser.parse(f.read_bytes())
        assert parsed.bozo == 0, (f, parsed.get("bozo_exception"))
        assert parsed.version == ("rss20" if f.name == "feed.xml" else "atom10")


def test_rss_required_elements_and_dates(built):
    channel = ET.parse(built / "feed.xml").getroot().find("channel")
    assert channel.findtext("title") == "河北妇女网"
    assert channel.findtext("link") == "https://www.example.org.cn/"
    assert channel.findtext("description") == "测试站点"
    assert channel.findtext("language") == "zh-CN"
    assert channel.find(f"{ATOM}link[@rel='self']").get("href") == "https://www.example.org.cn/feed.xml"
    assert RFC822.match(channel.findtext("lastBuildDate"))
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ["家风建设讲坛走进衡水", "省妇联召开改革推进会"]
    for item in items:
        for tag in ("title", "link", "description", "guid", "pubDate"):
            assert item.findtext(tag), tag
        assert item.find("guid").get("isPermaLink") == "false"
        assert RFC822.match(item.findtext("pubDate")), item.findtext("pubDate")
        assert item.findtext("link").startswith("https://www.example.org.cn/gongzuo-dongtai/2026/11/")
    assert parsedate_to_datetime(items[1].findtext("pubDate")).isoformat() == "2026-11-20T09:30:00+08:00"


def test_atom_required_elements_and_dates(built):
    feed = ET.parse(built / "gaige-jinxingshi" / "atom.xml").getroot()
    assert feed.findtext(f"{ATOM}id") == "https://www.example.org.cn/gaige-jinxingshi/atom.xml"
    assert feed.findtext(f"{ATOM}title") == "改革进行时 - 河北妇女网"
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == feed.findtext(f"{ATOM}id")
    assert feed.find(f"{ATOM}link[@rel='alternate']").get("href") == "https://www.example.org.cn/gaige-jinxingshi/"
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == "河北省妇女联合会"
    assert RFC3339.match(feed.findtext(f"{ATOM}updated"))
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["省妇联召开改革推进会"]  # only the column's article
    entry = entries[0]
    assert entry.findtext(f"{ATOM}id") == "tag:www.example.org.cn,2026-11-20:content/2026/11/gaige.md"
    assert entry.findtext(f"{ATOM}updated") == "2026-11-20T09:30:00+08:00"
    assert entry.findtext(f"{ATOM}published") == "2026-11-20T09:30:00+08:00"
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "田野"
    links = [link for link in entry.findall(f"{ATOM}link") if link.get("rel", "alternate") == "alternate"]
    assert [link.get("href") for link in links] == ["https://www.example.org.cn/gongzuo-dongtai/2026/11/gaige/"]
    assert {c.get("term") for c in entry.findall(f"{ATOM}category")} == {"工作动态", "改革进行时"}
    assert entry.find(f"{ATOM}content").get("type") == "html"
    assert entry.findtext(f"{ATOM}summary")


def test_relative_urls_in_content_become_absolute(built):
    """B22's kind: links and images inside the body, whatever their form, are absolute in every feed."""
    page = "https://www.example.org.cn/gongzuo-dongtai/2026/11/gaige/"
    for f in (built / "feed.xml", built / "atom.xml"):
        parsed = feedparser.parse(f.read_bytes(), resolve_relative_uris=False, sanitize_html=False)
        entry = next(e for e in parsed.entries if e.title == "省妇联召开改革推进会")
        html = entry.content[0].value
        urls = re.findall(r'(?:href|src)="([^"]*)"', html)
        urls += [u.split()[0] for s in re.findall(r'srcset="([^"]*)"', html) for u in s.split(",")]
        assert urls and all(u.startswith("https://www.example.org.cn/") for u in urls), urls
        assert 'href="https://www.example.org.cn/gongzuo-dongtai/2026/11/b/"' in html  # b.md resolved
        assert f'href="{page}tongzhi.pdf"' in html  # an attachment, published beside its page
        assert 'href="https://www.example.org.cn/gongzuo-dongtai/"' in html             # root-relative
        assert re.search(r'src="https://www\.example\.org\.cn/media/[0-9a-f]+/photo[^"]*\.jpg"', html)
        assert "https://www.example.org.cn/gongzuo-dongtai/2026/11/x.jpg 2x" in html   # srcset with ../


def test_absolutize_unit():
    base = "https://x.cn/sub/a/b/"
    html = ('<a href="c/">1</a><a href="/sub/d/">2</a><a href="#s">3</a><a href="mailto:a@x.cn">4</a>'
            "<img src='../e.jpg' srcset=\"f.jpg 480w, /sub/g.jpg 960w\"><a href=\"https://o.cn/\">5</a>")
    assert feeds.absolutize(html, base) == (
        '<a href="https://x.cn/sub/a/b/c/">1</a><a href="https://x.cn/sub/d/">2</a>'
        '<a href="https://x.cn/sub/a/b/#s">3</a><a href="mailto:a@x.cn">4</a>'
        "<img src='https://x.cn/sub/a/e.jpg' srcset=\"https://x.cn/sub/a/b/f.jpg 480w, https://x.cn/sub/g.jpg 960w\">"
        '<a href="https://o.cn/">5</a>')


def test_base_path_in_feed_urls(tmp_path):
    root = small_site(tmp_path / "s")
    yaml = (root / "site.yaml").read_text("utf-8").replace("https://www.example.org.cn/",
                                                           "https://www.example.org.cn/fulian/")
    (root / "site.yaml").write_text(yaml, "utf-8")
    assert build(root).ok
    text = (root / "output" / "feed.xml").read_text("utf-8")
    assert "<link>https://www.example.org.cn/fulian/gongzuo-dongtai/2026/11/gaige/</link>" in text
    assert "https://www.example.org.cn/fulian/media/" in text
    assert "fulian/fulian" not in text
    assert "Sitemap: https://www.example.org.cn/fulian/sitemap.xml" in (root / "output" / "robots.txt").read_text()


def ids(out: Path) -> dict[str, str]:
    found = {}
    for f in all_feeds(out):
        root = ET.parse(f).getroot()
        for item in root.iter("item"):
            found[f"{f.name}:{item.findtext('link')}"] = item.findtext("guid")
        for entry in root.iter(f"{ATOM}entry"):
            found[f"{f.name}:{entry.find(f'{ATOM}link').get('href')}"] = entry.findtext(f"{ATOM}id")
    return found


def test_ids_stable_across_builds_and_title_change(tmp_path):
    root = small_site(tmp_path / "s")
    assert build(root).ok
    first = {f.relative_to(root).as_posix(): f.read_bytes() for f in all_feeds(root / "output")}
    shutil.rmtree(root / "output")
    assert build(root).ok
    second = {f.relative_to(root).as_posix(): f.read_bytes() for f in all_feeds(root / "output")}
    assert first == second  # no build clock in feeds: identical bytes
    before = {f: i for f, i in ids(root / "output").items() if "gaige" in f}
    small_site(root, title="省妇联召开深化改革推进会（更新）")
    assert build(root).ok
    after = {f: i for f, i in ids(root / "output").items() if "gaige" in f}
    assert set(before.values()) == set(after.values()) == {
        "tag:www.example.org.cn,2026-11-20:content/2026/11/gaige.md"}
    assert "省妇联召开深化改革推进会（更新）" in (root / "output" / "atom.xml").read_text("utf-8")


def test_limit_and_summary_only(tmp_path):
    files = {f"content/2026/10/a{n:02d}.md": article(f"文章{n:02d}", f"2026-10-{n:02d} 08:00", f"第{n}篇正文。" * 3)
             for n in range(1, 26)}
    root = make_site(tmp_path / "s", files)
    yaml = (root / "site.yaml").read_text("utf-8").replace("{limit: 20, full_content: true}",
                                                           "{limit: 5, full_content: false}")
    (root / "site.yaml").write_text(yaml, "utf-8")
    assert build(root).ok
    rss = feedparser.parse((root / "output" / "feed.xml").read_bytes())
    assert [e.title for e in rss.entries] == ["文章25", "文章24", "文章23", "文章22", "文章21"]
    assert all("content" not in e for e in rss.entries)
    assert rss.entries[0].summary == "第25篇正文。第25篇正文。第25篇正文。"
    atom = ET.parse(root / "output" / "atom.xml").getroot()
    assert len(atom.findall(f"{ATOM}entry")) == 5
    assert atom.find(f"{ATOM}entry/{ATOM}content") is None


def test_b21_control_characters_removed(tmp_path):
    """Case B21 (input copied into tests/data/B21): U+0008, U+000B, U+001C and U+FFFE never reach a feed or
    the sitemap; tab, LF and CR would stay."""
    case = REPO / "tests" / "data" / "B21"
    root = tmp_path / "b21"
    shutil.copytree(case / "content", root / "content")
    make_site(root, {}, "title: 测试\nbase_url: https://news.example.cn\ntimezone: Asia/Shanghai\n"
                        "language: zh-CN\ncategories:\n  - {name: 测试, slug: ceshi}\n"
                        "permalinks: {article: '/{year}/{month}/{day}/{slug}/'}\n")
    report = build(root)
    assert report.ok, report.problems
    out = root / "output"
    checked = all_feeds(out) + [out / "sitemap.xml"]
    for f in checked:
        text = f.read_text("utf-8")
        assert not FORBIDDEN.search(text), f
        ET.fromstring(f.read_bytes())  # well-formed XML 1.0
        if f.name.endswith(".xml") and f.name != "sitemap.xml":
            assert feedparser.parse(f.read_bytes()).bozo == 0
    rss = feedparser.parse((out / "feed.xml").read_bytes())
    assert rss.entries[0].title == "校对稿件"
    assert "第一段换行。" in rss.entries[0].content[0].value
    assert "第二段含分隔符。" in rss.entries[0].content[0].value


def test_xml_clean_keeps_tab_newline_and_chinese():
    assert feeds.xml_clean("a\tb\nc\rd\x08e\x0bf\x1cg\ufffeh\uffff妇联😀") == "a\tb\nc\rdefgh妇联😀"


def test_feed_function_and_unknown_kind(built):
    config = configmod.load(built.parent)
    pages = [contentmod.read_source(config, s).page for s in contentmod.scan(config)]
    site, _ = contentmod.assemble([p for p in pages if p], config)
    data = feeds.feed(site, config.column("改革进行时"), "rss")
    assert feedparser.parse(data).entries[0].title == "省妇联召开改革推进会"
    with pytest.raises(ValueError):
        feeds.feed(site, None, "json")
    assert feeds.entry_id(config, site.articles[0]).startswith("tag:www.example.org.cn,2026-11-21:")


def test_head_links_feeds_and_meta(built):
    html = (built / "gongzuo-dongtai" / "2026" / "11" / "gaige" / "index.html").read_text("utf-8")
    assert '<link rel="alternate" type="application/rss+xml" title="河北妇女网" href="/feed.xml">' in html
    assert 'href="/gaige-jinxingshi/atom.xml"' in html  # the column's own feed
    assert '<meta property="og:locale" content="zh_CN">' in html
    assert '<meta property="og:title" content="省妇联召开改革推进会">' in html
    assert '<meta property="og:url" content="https://www.example.org.cn/gongzuo-dongtai/2026/11/gaige/">' in html
    assert '<meta name="twitter:card"' in html
    assert '<meta name="SiteIDCode" content="1300000001">' in html
    assert '<meta name="ColumnName" content="改革进行时">' in html
    assert '<meta name="ArticleTitle" content="省妇联召开改革推进会">' in html
    assert '<meta name="PubDate" content="2026-11-20 09:30">' in html
    assert '<meta name="SiteDomain" content="www.example.org.cn">' in html
    home = (built / "index.html").read_text("utf-8")
    assert 'href="/atom.xml"' in home and "ArticleTitle" not in home


SCRIPT = "</script><script>alert(8)</script>"


def test_titles_and_summaries_are_text_for_rss_readers(tmp_path):
    # issue 21: a summary of </script><script>alert(8)</script> was a live script to a reader rendering HTML
    root = make_site(tmp_path, {"content/2026/11/x.md": article(
        f"妇联 & 家风 {SCRIPT}", "2026-11-20 09:30", "正文。", extra=f"summary: '{SCRIPT}'\n")})
    assert build(root).ok
    from lxml import html as lxml_html

    for name in ("feed.xml", "gongzuo-dongtai/feed.xml", "atom.xml"):
        data = (root / "output" / name).read_bytes()
        entry = feedparser.parse(data).entries[0]
        assert entry.title == f"妇联 & 家风 {SCRIPT}" and entry.title_detail.type == "text/plain"
        assert entry.summary_detail.type in ("text/html", "text/plain")
        # what an HTML-rendering reader shows: the characters, and no element at all
        shown = lxml_html.fragment_fromstring(entry.summary, create_parent="div") \
            if entry.summary_detail.type == "text/html" else None
        assert (shown.text_content() if shown is not None else entry.summary) == SCRIPT
        assert shown is None or not shown.xpath("//script")
    rss = ET.fromstring((root / "output/feed.xml").read_bytes())
    assert rss.find("channel/item/description").text == "&lt;/script&gt;&lt;script&gt;alert(8)&lt;/script&gt;"
    assert "<title>妇联 &#x26; 家风 &#x3C;/script&#x3E;".encode() in (root / "output/feed.xml").read_bytes()


def test_sample_site_feeds_carry_the_photos_of_its_photo_stories(sample_site):
    """Issue 17: every feed of the sample site passes feedparser, and each 图片新闻 item carries its lead photo as
    an enclosure and every front-matter photo as an ``<img>`` of a published variant (case B44 on real content)."""
    out, base = sample_site.output, "https://www.example.org.cn/"
    config = configmod.load(sample_site.root)
    stories = {}
    for source in contentmod.scan(config):
        page = contentmod.read_source(config, source).page
        if page and page.category == "tupian-xinwen" and not page.draft:
            stories[page.title] = page
    assert len(stories) >= 2
    for f in all_feeds(out):
        parsed = feedparser.parse(f.read_bytes())
        assert parsed.bozo == 0, (f, parsed.get("bozo_exception"))
        for entry in parsed.entries:
            page = stories.get(entry.title)
            if page is None:
                continue
            (enclosure,) = entry.enclosures
            assert enclosure.type == "image/jpeg" and enclosure.href.startswith(base + "media/")
            assert int(enclosure.length) == (out / enclosure.href.removeprefix(base)).stat().st_size
            images = re.findall(r'<img [^>]*src="([^"]+)"', entry.content[0].value)
            names = [p.rel.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower() for p in page.photos]
            assert all(any(n in src for src in images) for n in names), (f, entry.title, images)
            for src in images:
                assert src.startswith(base) and (out / src.removeprefix(base)).is_file(), src
