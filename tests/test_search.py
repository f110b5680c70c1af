"""Site search in a real browser: the sample site and the 1,000-article bench corpus are built, served on
127.0.0.1 and searched from the search page (/search/?q=…) in headless Chromium.

Chinese two-character words (妇联, 改革, 家风) and a name (田野) must find every article that contains them, the
column name 改革进行时 its articles, a nonsense Latin word nothing; on the bench corpus 10 headlines find their
article in the top 3 and a reader's query downloads under 300 KB."""
from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import threading
import tomllib
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import lxml.html
import pytest

from sitegen_sites import REPO, build, copy_sample_site

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
    """URL → (title, text Pagefind indexes: the data-pagefind-body element minus data-pagefind-ignore parts)."""
    docs = {}
    for f in out.rglob("index.html"):
        if "pagefind" in f.relative_to(out).parts:
            continue
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
    while show_all and page.locator(".search-more").count():
        before = page.locator("#search-results li").count()
        page.click(".search-more")
        page.wait_for_function(f"() => document.querySelectorAll('#search-results li').length > {before}")
    results = page.eval_on_selector_all("#search-results li", """items => items.map(li => ({
        title: li.querySelector('a').textContent, url: li.querySelector('a').getAttribute('href'),
        date: li.querySelector('time') ? li.querySelector('time').textContent : '',
        excerpt: li.querySelector('.summary').innerHTML}))""")
    return {"status": page.text_content("#search-status"), "results": results}


@pytest.mark.parametrize("word", ["妇联", "改革", "家风", "田野"])
def test_chinese_words_find_every_article_containing_them(chromium, sample, word):
    root, base = sample
    docs = indexed_text(root / "output")
    expected = {url for url, (_, text) in docs.items() if word in text}
    assert expected, f"the sample site has no article with {word}"
    page = chromium.new_page()
    found = search(page, base, word)
    page.close()
    urls = [r["url"] for r in found["results"]]
    assert found["status"] == f"找到 {len(urls)} 篇与“{word}”相关的文章。"
    assert expected <= set(urls), {docs[u][0] for u in expected - set(urls)}
    # anything beyond the exact word (Pagefind matches word prefixes) comes after every exact hit
    assert set(urls[:len(expected)]) == expected
    for r in found["results"][:len(expected)]:
        assert r["title"] == docs[r["url"]][0]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", r["date"])
        assert "<mark>" in r["excerpt"]


def test_many_archive_bundles_are_merged_in_the_browser(chromium, tmp_path, monkeypatch):
    """With archive bundles of at most 5 articles the sample site's search index is seven Pagefind bundles; the
    search page merges them all: every article containing 妇联 or 家风 is found, in the same order of relevance
    as from one index, and the column filter still applies across bundles."""
    from sitegen import search as searchmod

    monkeypatch.setattr(searchmod, "SHARD_ARTICLES", 5)
    root = copy_sample_site(tmp_path / "site")
    assert build(root).ok
    out = root / "output"
    shards = lxml.html.fromstring((out / "search" / "index.html").read_bytes()).xpath("//*[@data-shards]/@data-shards")
    assert len(shards[0].split()) >= 5, shards
    docs = indexed_text(out)
    server, base = serve(out)
    try:
        page = chromium.new_page()
        for word in ("妇联", "家风"):
            expected = {url for url, (_, text) in docs.items() if word in text}
            urls = [r["url"] for r in search(page, base, word)["results"]]
            assert set(urls[:len(expected)]) == expected, word
        filtered = search(page, base, "妇联", section="column:改革进行时")["results"]
        assert len(filtered) == 5
        page.close()
    finally:
        server.shutdown()


def test_name_finds_the_author(chromium, sample):
    root, base = sample
    page = chromium.new_page()
    found = search(page, base, "田野")
    page.close()
    assert "初冬时节庭院美" in [r["title"] for r in found["results"]]  # author: 田野
    assert "<mark>田野" in found["results"][0]["excerpt"]


def test_column_name_finds_the_column(chromium, sample):
    root, base = sample
    column = {"河北省妇联召开十三届六次常委（扩大）会议，推进妇联组织和妇联工作改革", "正定县村（社区）妇联换届工作全面完成",
              "省妇联部署推进巾帼志愿服务制度化常态化", "全省妇联系统新媒体运用能力提升培训班举办",
              "石家庄市妇联婚姻家庭纠纷调解工作室一年化解纠纷500余件"}
    page = chromium.new_page()
    found = search(page, base, "改革进行时")
    filtered = search(page, base, "妇联", section="column:改革进行时")
    page.close()
    assert {r["title"] for r in found["results"][:5]} == column
    assert {r["title"] for r in filtered["results"]} == column


def test_nonsense_word_finds_nothing(chromium, sample):
    root, base = sample
    page = chromium.new_page()
    found = search(page, base, "qwxzvbnm")
    page.close()
    assert found["results"] == []
    assert found["status"] == "没有找到与“qwxzvbnm”相关的文章。"


def test_only_article_bodies_are_indexed(chromium, sample):
    root, base = sample
    articles = set(indexed_text(root / "output"))
    page = chromium.new_page()
    page.goto(f"{base}/search/")
    found = page.evaluate("""async () => { const pf = await import('/pagefind/pagefind.js'); await pf.init();
        const shards = document.getElementById('search').dataset.shards.split(' ').filter(Boolean);
        for (const s of shards) await pf.mergeIndex('/pagefind/' + s);
        const s = await pf.search(null, {filters: {}});   // every indexed page, in every shard
        const all = await Promise.all(s.results.map(r => r.data()));
        return {pages: all.map(d => [d.url, d.content, d.meta.title, d.meta.date || '']),
                filters: await pf.filters()}; }""")
    page.close()
    assert {url for url, *_ in found["pages"]} == articles
    for url, text, title, date in found["pages"]:
        for chrome in ("网站标识码", "跳到正文", "栏目导航", "上一篇", "相关文章"):  # footer, header, article footer
            assert chrome not in text, (url, chrome)
        assert title and re.fullmatch(r"\d{4}-\d\d-\d\d", date)
    assert set(found["filters"]["category"]) <= {"工作动态", "基层动态", "通知公告", "图片新闻", "维权服务",
                                                 "家庭教育", "巾帼风采", "政策法规"}
    assert found["filters"]["column"] == {"改革进行时": 5}


def test_bundle_built_by_the_pinned_pagefind(sample):
    root, _ = sample
    pinned = next(d for d in tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
                  if d.startswith("pagefind"))
    entry = json.loads((root / "output" / "pagefind" / "pagefind-entry.json").read_text("utf-8"))
    assert pinned.endswith("==" + entry["version"]), (
        f"the index was built by Pagefind {entry['version']}; install the pinned {pinned}")
    assert list(entry["languages"]) == ["zh-cn"]


def test_unchanged_site_writes_no_search_files(sample):
    root, _ = sample
    report = build(root)
    assert report.ok
    assert not [w for w in report.written if w.startswith("pagefind/")]
    assert not [r for r in report.removed if r.startswith("pagefind/")]


@pytest.mark.slow
def test_bench_corpus_titles_rank_in_top_3_and_download_is_small(chromium, tmp_path_factory):
    from conftest import BENCH_KIT, need_shared

    generator = need_shared("bench", "make_corpus.py", why=BENCH_KIT)
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

        # one typical reader's query (a two-character word found in hundreds of articles) stays under 300 KB;
        # a whole headline fetches one index chunk per word and is only bounded loosely
        for query, budget in (("妇联", 300_000), (queries[0], 450_000)):
            context = chromium.new_context()
            page = context.new_page()
            sizes: list[tuple[int, str]] = []
            page.on("response", lambda r: sizes.append((len(r.body()), r.url.rsplit("/pagefind/", 1)[-1]))
                    if "/pagefind/" in r.url else None)
            assert search(page, base, query, show_all=False)["results"]
            page.wait_for_load_state("networkidle")
            context.close()
            total = sum(size for size, _ in sizes)
            assert 0 < total < budget, (query, total, sorted(sizes, reverse=True))
    finally:
        server.shutdown()


def test_results_link_to_the_articles_under_a_base_path(chromium, tmp_path):
    """base_url https://example.org.cn/funv/: result links were /funv/funv/… (Pagefind adds the folder the bundle is
    loaded from to the URLs it indexed, which already carried the base path)."""
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


def test_a_pagefind_that_fails_or_hangs_is_reported_in_chinese(tmp_path, monkeypatch):
    """The build's Pagefind process dying, or not answering within ``REPLY_TIMEOUT``, is an error with a Chinese
    message (the build then commits nothing), never a hang or a traceback."""
    from sitegen import search
    from sitegen.errors import SitegenError

    folder = tmp_path / "site" / "a"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text('<html lang="zh-CN"><body><p data-pagefind-body>妇联</p></body></html>')
    with search.Pagefind(["false"]) as dead, pytest.raises(SitegenError, match="Pagefind 生成站内搜索索引失败"):
        dead.index_folder(tmp_path / "site")
    monkeypatch.setattr(search, "REPLY_TIMEOUT", 0.5)
    with search.Pagefind(["sh", "-c", "sleep 30", "sh"]) as stuck, pytest.raises(SitegenError, match="秒内没有响应"):
        stuck.index_folder(tmp_path / "site")
