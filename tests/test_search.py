"""Site search in a real browser: the sample site and the 1,000-article bench corpus are built, served on
127.0.0.1 and searched from the search page (/search/?q=…) in headless Chromium.

Every article containing a query is found and only those, ranked as sitegen/searchindex.py ``query`` ranks them
(the same rules in Python, tests/test_searchindex.py); the page shows 共找到 N 篇, title, category, date and an
excerpt with the match marked; "more" moves focus to the first new result and announces it; 按时间 sorts newest
first; without JavaScript the page offers the listings. On the bench corpus 10 headlines find their article first
and a first page of results transfers under 300 KB."""
from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import threading
import zlib
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import lxml.html
import pytest

from sitegen_sites import SHARED, build, copy_sample_site

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def indexed_text(out: Path) -> dict[str, tuple[str, str]]:
    """URL → (title, indexed text: the data-pagefind-body element minus data-pagefind-ignore parts)."""
    docs = {}
    for f in out.rglob("index.html"):
        tree = lxml.html.fromstring(f.read_bytes())
        body = tree.xpath("//*[@data-pagefind-body]")
        if not body:
            continue
        for ignored in body[0].xpath(".//*[@data-pagefind-ignore]"):
            ignored.getparent().remove(ignored)
        url = "/" + f.parent.relative_to(out).as_posix() + "/"
        docs[url] = (tree.xpath("//h1")[0].text_content().strip(), body[0].text_content())
    return docs


@pytest.fixture(scope="module")
def chromium():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = copy_sample_site(tmp_path_factory.mktemp("sample"))
    report = build(root)
    assert report.ok, report.problems
    server, base = serve(root / "output")
    yield root, base
    server.shutdown()


def search(page, base: str, query: str, section: str = "", show_all: bool = True) -> dict:
    """Open the search page for ``query``; returns {status, results: [{title, url, date, excerpt}]}."""
    url = f"{base}/search/?q={quote(query)}" + (f"&section={quote(section)}" if section else "")
    page.goto(url)
    page.wait_for_selector("#search[data-state=done]", state="attached")
    status = page.text_content("#search-status")  # "more" announces what it added here
    while show_all and page.locator(".search-more:visible").count():
        before = page.locator("#search-results li").count()
        page.click(".search-more")
        page.wait_for_function(f"() => document.querySelectorAll('#search-results li').length > {before}")
    results = page.eval_on_selector_all("#search-results li", """items => items.map(li => ({
        title: li.querySelector('a').textContent, url: li.querySelector('a').getAttribute('href'),
        titleHtml: li.querySelector('a').innerHTML,
        date: li.querySelector('time') ? li.querySelector('time').textContent : '',
        meta: li.querySelector('.search-meta').textContent,
        excerpt: li.querySelector('.summary').innerHTML}))""")
    return {"status": status, "results": results}


def norm(text: str) -> str:
    return re.sub(r"\s+", "", text).translate({c: c + 32 for c in range(65, 91)})


@pytest.mark.parametrize("word", ["妇联", "改革", "家风", "田野", "改革进行时"])
def test_words_find_every_article_containing_them_and_only_those(chromium, sample, word):
    root, base = sample
    docs = indexed_text(root / "output")
    expected = {url for url, (_, text) in docs.items() if word in norm(text)}
    assert expected, f"the sample site has no article with {word}"
    page = chromium.new_page()
    found = search(page, base, word)
    page.close()
    urls = [r["url"] for r in found["results"]]
    assert found["status"] == f"共找到 {len(expected)} 篇包含“{word}”的文章。"
    assert sorted(urls) == sorted(expected)
    for r in found["results"]:
        assert r["title"] == docs[r["url"]][0]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", r["date"])
        assert r["meta"] and f"<mark>{word}</mark>" in r["excerpt"]
        # the excerpt is cut from the body: it never repeats the title and date line shown above it
        assert not re.sub(r"<[^>]+>", "", r["excerpt"]).lstrip("…").startswith(r["title"][:6]), r
        assert "发布时间" not in r["excerpt"], r
        assert (f"<mark>{word}</mark>" in r["titleHtml"]) == (word in norm(r["title"])), r


def test_the_page_ranks_as_the_python_rules_do(chromium, sample):
    """Over random queries drawn from the articles (runs of 1-9 characters, two terms, upper-cased Latin), the
    page lists exactly the articles ``searchindex.query`` returns, in the same order, in both orders."""
    import random

    from sitegen import searchindex

    root, base = sample
    folder = root / "output" / "search-index"
    reader = searchindex.open_blocks({f.relative_to(folder).as_posix(): f.read_bytes()
                                      for f in folder.rglob("*") if f.is_file()})
    urls = [json.loads(zlib.decompress((folder / f"b{b}" / "d" / f"{i}.bin").read_bytes()))["u"]
            for b, r in enumerate(reader) for i in range(r.meta["docs"])]
    texts = [norm(t) for _, t in indexed_text(root / "output").values()]
    rng = random.Random(18)
    page = chromium.new_page()
    for n in range(30):
        text = rng.choice(texts)
        at = rng.randrange(len(text) - 10)
        q = text[at:at + rng.choice([1, 2, 3, 4, 6, 9])]
        if n % 5 == 4:
            q = q[:2] + " " + rng.choice(texts)[at:at + 2]
        newest = n % 3 == 2
        want = [urls[d] for d in searchindex.query(reader, q, newest=newest)]
        url = f"{base}/search/?q={quote(q)}" + ("&order=newest" if newest else "")
        page.goto(url)
        page.wait_for_selector("#search[data-state=done]", state="attached")
        while page.locator(".search-more:visible").count():
            before = page.locator("#search-results li").count()
            page.click(".search-more")
            page.wait_for_function(f"() => document.querySelectorAll('#search-results li').length > {before}")
        got = page.eval_on_selector_all("#search-results li a", "as => as.map(a => a.getAttribute('href'))")
        assert got == want, q
    page.close()


def test_more_results_move_focus_to_the_first_new_one_and_announce_it(chromium, sample):
    root, base = sample
    page = chromium.new_page()
    page.goto(f"{base}/search/?q={quote('妇联')}")
    page.wait_for_selector("#search[data-state=done]", state="attached")
    assert page.locator("#search-results li").count() == 10
    assert page.get_attribute("#search-status", "aria-live") == "polite"
    page.focus(".search-more")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#search-results li').length > 10")
    page.wait_for_selector("#search[data-state=done]", state="attached")
    focused = page.evaluate("() => [...document.querySelectorAll('#search-results li')].indexOf("
                            "document.activeElement.closest('li'))")
    assert focused == 10
    assert page.text_content("#search-status").startswith("已显示第 11–")
    box = page.locator(".search-more").bounding_box() if page.locator(".search-more:visible").count() else None
    assert box is None or box["height"] >= 44
    page.close()


def test_order_by_time_lists_newest_first(chromium, sample):
    root, base = sample
    page = chromium.new_page()
    page.goto(f"{base}/search/?q={quote('妇联')}")
    page.wait_for_selector("#search[data-state=done]", state="attached")
    page.click(".search-sort[data-order=newest]")
    page.wait_for_function("() => location.search.includes('order=newest')")
    page.wait_for_selector("#search[data-state=done]", state="attached")
    while page.locator(".search-more:visible").count():
        before = page.locator("#search-results li").count()
        page.click(".search-more")
        page.wait_for_function(f"() => document.querySelectorAll('#search-results li').length > {before}")
    dates = page.eval_on_selector_all("#search-results li time", "ts => ts.map(t => t.textContent)")
    assert len(dates) > 10 and dates == sorted(dates, reverse=True)
    assert page.get_attribute(".search-sort[data-order=newest]", "aria-pressed") == "true"
    for box in (page.locator(".search-sort").nth(i).bounding_box() for i in range(2)):
        assert box["height"] >= 44 and box["width"] >= 44
    page.close()


def test_column_filter(chromium, sample):
    root, base = sample
    column = {"河北省妇联召开十三届六次常委（扩大）会议，推进妇联组织和妇联工作改革", "正定县村（社区）妇联换届工作全面完成",
              "省妇联部署推进巾帼志愿服务制度化常态化", "全省妇联系统新媒体运用能力提升培训班举办",
              "石家庄市妇联婚姻家庭纠纷调解工作室一年化解纠纷500余件"}
    page = chromium.new_page()
    filtered = search(page, base, "妇联", section="column:改革进行时")
    page.close()
    assert {r["title"] for r in filtered["results"]} == column
    assert all("改革进行时" in r["meta"] for r in filtered["results"])


def test_nonsense_finds_nothing_and_says_so(chromium, sample):
    root, base = sample
    page = chromium.new_page()
    for q in ("qwxzvbnm", "的我"):
        found = search(page, base, q)
        assert found["results"] == []
        assert found["status"].startswith(f"没有找到包含“{q}”的文章。")
    page.close()


def test_without_javascript_the_page_offers_the_listings(chromium, sample):
    root, base = sample
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/search/?q={quote('妇联')}")
    links = page.eval_on_selector_all(".search-listings a", "as => as.map(a => a.getAttribute('href'))")
    assert "/gongzuo-dongtai/" in links and "/tags/" in links and len(links) >= 5
    for href in links:
        assert page.request.get(base + href).status == 200
    context.close()


def test_unchanged_site_writes_no_search_files(sample):
    root, _ = sample
    report = build(root)
    assert report.ok
    assert not [w for w in report.written if w.startswith("search-index/")]
    assert not [r for r in report.removed if r.startswith("search-index/")]


@pytest.mark.slow
def test_bench_corpus_titles_come_first_and_a_first_page_is_small(chromium, tmp_path_factory):
    generator = SHARED / "bench" / "make_corpus.py"
    if not generator.is_file():
        pytest.skip(f"the benchmark kit is not at {generator}")
    root = tmp_path_factory.mktemp("bench")
    subprocess.run([sys.executable, str(generator), str(root), "--articles", "1000", "--flavour", "sitegen",
                    "--force"], check=True, capture_output=True)
    report = build(root)
    assert report.ok, report.problems[:3]
    out = root / "output"
    by_title: dict[str, list[str]] = {}
    for url, (title, _) in indexed_text(out).items():
        by_title.setdefault(title, []).append(url)
    unique = sorted(t for t, urls in by_title.items() if len(urls) == 1)
    queries = [unique[i * len(unique) // 10] for i in range(10)]
    server, base = serve(out)
    try:
        page = chromium.new_page()
        misses = []
        for q in queries:
            top = [r["url"] for r in search(page, base, q, show_all=False)["results"][:3]]
            if by_title[q][0] not in top:
                misses.append((q, top))
        page.close()
        assert not misses, misses
        for query in ("妇联", queries[0], "妇女群众的“最后一公里”"):
            context = chromium.new_context()
            page = context.new_page()
            sizes: list[int] = []
            page.on("response", lambda r: sizes.append(len(r.body())))
            assert search(page, base, query, show_all=False)["results"]
            context.close()
            assert 0 < sum(sizes) < 300_000, (query, sum(sizes))
    finally:
        server.shutdown()


def test_results_link_to_the_articles_under_a_base_path(chromium, tmp_path):
    """base_url https://example.org.cn/funv/: the index and the result links carry the sub-path."""
    from conftest import DEFAULT_SITE_YAML, make_site, run_cli

    article = "---\ntitle: {t}\ndate: 2024-03-0{d}\ncategory: 工作动态\n---\n\n省妇联召开{t}，部署妇联改革。\n"
    root = make_site(tmp_path, {
        "site.yaml": DEFAULT_SITE_YAML.replace("https://www.example.org.cn/", "https://www.example.org.cn/funv/"),
        "content/a.md": article.format(t="座谈会", d=5), "content/b.md": article.format(t="推进会", d=6)})
    served = tmp_path / "www"
    code, out, err = run_cli(["build", root, "-o", served / "funv", "-q"])
    assert code == 0, err
    server, base = serve(served)
    try:
        page = chromium.new_page()
        found = search(page, base + "/funv", "妇联")
        urls = sorted(r["url"] for r in found["results"])
        assert urls == ["/funv/gongzuo-dongtai/2024/03/a/", "/funv/gongzuo-dongtai/2024/03/b/"]
        for url in urls:
            assert page.goto(base + url).status == 200
        page.close()
    finally:
        server.shutdown()
