"""The build cache and incremental builds: what an edit re-renders, and that an incremental build equals a clean one.

Each test builds a small generated site, changes it the way an editor or a site admin does, rebuilds into the same
output folder with the cache, and compares the whole output tree byte for byte with a clean build of a copy of the
project (no cache) in another folder. No timing is asserted here; speed is measured by ``make bench``.
"""
from __future__ import annotations

import logging
import os
import pickle
import shutil
from pathlib import Path

import pytest

from sitegen import build as buildmod
from sitegen.build import plan as planmod
from sitegen.build import render as build_render
from sitegen.build.render import QR_CACHE, SEARCH_DIR
from sitegen.build.write import output_path
from sitegen import cache as cachemod
from sitegen.versions import code_version
from sitegen import manifest as manifestmod
from sitegen import config as configmod
from sitegen import pool

NOW = "2026-12-31T12:00:00+08:00"

SITE_YAML = """\
title: 测试妇女网
base_url: https://www.example.org.cn/
language: zh-CN
timezone: Asia/Shanghai
paginate: 5
categories:
  - {name: 工作动态, slug: gongzuo-dongtai}
  - {name: 基层动态, slug: jiceng-dongtai}
  - {name: 维权服务, slug: weiquan-fuwu}
columns:
  - {name: 改革进行时, slug: gaige-jinxingshi}
"""

CATEGORIES = ["工作动态", "基层动态", "维权服务"]
TAGS = ["妇联改革", "美丽庭院", "家庭教育", "巾帼建功", "乡村振兴"]


def article(i: int, title: str | None = None) -> str:
    tags = ", ".join(TAGS[j % len(TAGS)] for j in range(i, i + 1 + i % 3))
    column = "column: 改革进行时\n" if i % 4 == 0 else ""
    link = "\n\n参见[上一篇报道](a{:02d}.md)。".format(i - 1) if i % 5 == 0 and i > 0 else ""
    return (f"---\ntitle: {title or f'测试文章第{i}号'}\ndate: 2026-{1 + i % 12:02d}-{1 + i % 27:02d} 09:{i % 60:02d}\n"
            f"category: {CATEGORIES[i % 3]}\n{column}tags: [{tags}]\nauthor: 记者{i}\n---\n\n"
            f"第{i}号文章的正文。各级妇联组织深入基层，倾听妇女群众的心声。\n\n## 一、工作进展\n\n"
            f"- 开展培训 {i} 场\n- 走访家庭 {i * 3} 户{link}\n")


def make_site(root: Path, n: int = 30) -> Path:
    (root / "content" / "news").mkdir(parents=True)
    (root / "content" / "pages").mkdir(parents=True)
    (root / "site.yaml").write_text(SITE_YAML, "utf-8")
    for i in range(n):
        (root / "content" / "news" / f"a{i:02d}.md").write_text(article(i), "utf-8")
    (root / "content" / "pages" / "about.md").write_text("---\ntitle: 关于我们\n---\n\n测试妇女网简介。\n", "utf-8")
    return root


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setenv("SITEGEN_NOW", NOW)


def run(root: Path, out: Path, jobs: int = 1, explain: bool = False):
    report = buildmod.build(configmod.load(root), buildmod.BuildOptions(out=out, jobs=jobs, explain=explain))
    assert report.ok and not report.errors, [str(p) for p in report.problems]
    return report


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def clean_build(root: Path, tmp: Path) -> dict[str, bytes]:
    """A build of a copy of the project without its cache, into a fresh folder."""
    copy = tmp / "clean-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".sitegen-cache", "output"))
    out = tmp / "clean-out"
    shutil.rmtree(out, ignore_errors=True)
    run(copy, out)
    return tree(out)


def assert_same_as_clean(root: Path, out: Path, tmp: Path) -> None:
    got, want = tree(out), clean_build(root, tmp)
    assert sorted(got) == sorted(want)
    different = [rel for rel in want if got[rel] != want[rel]]
    assert not different


def page_of(out: Path, url: str) -> str:
    return (out / output_path(url)).read_text("utf-8")


def site_pages(root: Path):
    config = configmod.load(root)
    from sitegen import content

    parsed = [content.read_source(config, s) for s in content.scan(config)]
    site, _ = content.assemble([p.page for p in parsed if p.page], config)
    return site


def override_partial(root: Path, name: str, old: str, new: str) -> None:
    """Give the site its own copy of the bundled theme's ``partials/<name>`` with ``old`` replaced by ``new``."""
    from sitegen.render import PACKAGE_THEME

    theme = root / "themes" / "default" / "templates" / "partials"
    theme.mkdir(parents=True, exist_ok=True)
    text = (PACKAGE_THEME / "templates" / "partials" / name).read_text("utf-8")
    (theme / name).write_text(text.replace(old, new), "utf-8")


@pytest.fixture
def site(tmp_path):
    root = make_site(tmp_path / "site")
    out = root / "output"
    run(root, out)
    return root, out


def test_no_change_rebuild_renders_nothing(site):
    root, out = site
    before = tree(out)
    report = run(root, out)
    assert report.written == ()
    assert report.skipped == report.pages  # every page skipped, none rendered
    assert tree(out) == before


def test_touching_a_file_without_changing_it_reparses_nothing(site):
    root, out = site
    path = root / "content" / "news" / "a03.md"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    report = run(root, out)
    assert report.written == ()
    assert report.skipped == report.pages


def test_title_edit_updates_every_output_that_shows_it(site, tmp_path):
    root, out = site
    s = site_pages(root)
    # an article with neighbours on both sides, tags, and among the newest of its category
    target = next(a for a in s.articles if all(s.neighbours[a.url]) and a.tags
                  and a in s.by_category[a.category][:5])
    prev, nxt = s.neighbours[target.url]
    old_title = target.title
    path = root / target.source
    path.write_text(path.read_text("utf-8").replace(f"title: {old_title}", "title: 改过的标题：巾帼风采"), "utf-8")

    report = run(root, out, explain=True)
    assert "改过的标题：巾帼风采" in page_of(out, target.url)
    category_url = configmod.load(root).permalink("category").format(slug=target.category)
    assert "改过的标题：巾帼风采" in page_of(out, category_url)
    for tag in target.tags:
        tag_url = configmod.load(root).permalink("tag").format(slug=s.tag_slug(tag))
        listing = page_of(out, tag_url) + "".join(
            (out / r).read_text("utf-8") for r in tree(out) if r.startswith(tag_url.strip("/") + "/page/"))
        assert "改过的标题：巾帼风采" in listing
    assert "改过的标题：巾帼风采" in page_of(out, "/")
    assert "改过的标题：巾帼风采" in page_of(out, prev.url)  # its "next" link
    assert "改过的标题：巾帼风采" in page_of(out, nxt.url)  # its "previous" link
    for rel, data in tree(out).items():  # feeds, sitemap, search data … whatever the build produces
        if rel.endswith((".html", ".xml", ".json", ".txt")):
            assert old_title.encode() not in data, rel
    for name in ("feed.xml", "atom.xml", "index.xml", "rss.xml"):
        if (out / name).is_file():
            assert "改过的标题：巾帼风采" in (out / name).read_text("utf-8")
    # only what shows the article was rendered, and --explain says why
    reasons = dict(report.explained)
    assert output_path(target.url) in reasons
    assert any(target.source in why for why in reasons.values())
    assert report.skipped > 0
    assert "about/index.html" not in reasons
    assert_same_as_clean(root, out, tmp_path)


def test_text_edit_re_renders_the_article_not_the_pages_that_list_it(site, tmp_path):
    """A paragraph added at the end of an article changes neither its title nor its summary: its own page, the
    feeds (they carry the text) and the search index follow, while the listings, neighbours and articles that show
    it as related keep their files; the result equals a clean build."""
    root, out = site
    s = site_pages(root)
    target = next(a for a in s.articles if all(s.neighbours[a.url])
                  and any(a in s.related.get(b.url, ()) for b in s.articles))
    showing = {output_path(b.url) for b in s.articles if target in s.related.get(b.url, ())}
    showing |= {output_path(n.url) for n in s.neighbours[target.url]}
    path = root / target.source
    # a summary of its own (a short article's automatic summary is its whole text)
    path.write_text(path.read_text("utf-8").replace("\ntags:", "\nsummary: 各级妇联组织深入基层。\ntags:", 1), "utf-8")
    run(root, out)
    path.write_text(path.read_text("utf-8") + "\n结尾补充：巾帼志愿服务队走进社区。\n", "utf-8")

    report = run(root, out, explain=True)
    reasons = dict(report.explained)
    own = output_path(target.url)
    assert "结尾补充" in page_of(out, target.url) and own in reasons and target.source in reasons[own]
    assert "feed.xml" in reasons and "结尾补充" in (out / "feed.xml").read_text("utf-8")
    assert showing and not showing & set(reasons), sorted(showing & set(reasons))
    assert not [r for r in reasons if r.endswith("index.html") and r != own and not r.startswith("search/")]
    assert_same_as_clean(root, out, tmp_path)

    # the same article's title, which the others show, re-renders them all
    path.write_text(path.read_text("utf-8").replace(f"title: {target.title}", "title: 改过的标题"), "utf-8")
    reasons = dict(run(root, out, explain=True).explained)
    assert showing <= set(reasons)
    assert_same_as_clean(root, out, tmp_path)


def test_deleting_an_article_removes_its_page_and_every_link_to_it(site, tmp_path):
    root, out = site
    s = site_pages(root)
    target = next(a for a in s.articles if all(s.neighbours[a.url]))
    linked_from = [p for p in s.articles if any(t == target.source for t, _, _ in p.links)]
    (root / target.source).unlink()
    for p in linked_from:  # a link to a deleted article is an error: the editor removes it too
        path = root / p.source
        path.write_text(path.read_text("utf-8").replace(f"]({Path(target.source).name})", "](a00.md)"), "utf-8")
    run(root, out)
    assert not (out / output_path(target.url)).exists()
    for rel, data in tree(out).items():
        if rel.endswith((".html", ".xml", ".json")):
            assert f'href="{target.url}"'.encode() not in data, rel
            assert target.title.encode() not in data, rel
    assert_same_as_clean(root, out, tmp_path)


def test_adding_an_article(site, tmp_path):
    root, out = site
    (root / "content" / "news" / "new.md").write_text(article(99, "新增的文章：家门口的服务站"), "utf-8")
    report = run(root, out, explain=True)
    assert "新增的文章：家门口的服务站" in page_of(out, "/")
    assert ("新输出（new）" in dict(report.explained).values())
    assert_same_as_clean(root, out, tmp_path)


def test_template_edit_rebuilds_what_uses_it(site, tmp_path):
    root, out = site
    override_partial(root, "footer.html", "<footer", "<!-- 新页脚 --><footer")
    report = run(root, out, explain=True)
    assert "<!-- 新页脚 -->" in page_of(out, "/")
    assert report.skipped == 0
    assert all("模板" in why for why in dict(report.explained).values())
    assert_same_as_clean(root, out, tmp_path)


def test_qr_codes_are_drawn_once(site, tmp_path, monkeypatch):
    """A render of every article (here: a template edit) takes each page's QR code from ``qr.cache`` instead of
    encoding it again; a cache made by another zxing-cpp is not used; the output equals a clean build."""
    from sitegen import render

    root, out = site
    monkeypatch.setattr(pool, "THRESHOLD", 0)  # "many pages": the cache is read, in this process (jobs=1)
    monkeypatch.setattr(build_render, "QR_BATCH", 1)
    encoded = []
    real = render.qr_path
    monkeypatch.setattr(render, "qr_path", lambda url: encoded.append(url) or real(url))
    for n in range(3):
        override_partial(root, "footer.html", "</footer>", f"</footer><!-- 改{n} -->")
        encoded.clear()
        run(root, out)
        cache = root / ".sitegen-cache" / QR_CACHE
        version, drawings = cachemod.read(cache, "qr")
        assert len(encoded) == (len(drawings) if n != 1 else 0) and len(drawings) > 20, n
        if n == 1:
            assert_same_as_clean(root, out, tmp_path)
            cachemod.write(cache, "qr", ("0.0-another-zxing-cpp", drawings))
    assert_same_as_clean(root, out, tmp_path)


def test_a_small_rebuild_draws_its_qr_codes_without_the_cache(site, tmp_path):
    """Below QR_BATCH pages to render, the few QR codes needed are drawn afresh: the cache (25 MB at 10,000
    articles) is neither read nor written."""
    root, out = site

    def cache_state():
        cache = root / ".sitegen-cache" / QR_CACHE
        return (cache.stat().st_mtime_ns, cache.stat().st_ino) if cache.exists() else None

    before = cache_state()
    page = root / "content" / "news" / "a07.md"
    page.write_text(page.read_text("utf-8").replace("测试文章第7号", "第七号改过"), "utf-8")
    report = run(root, out)
    assert 0 < report.rendered < build_render.QR_BATCH
    assert cache_state() == before
    assert_same_as_clean(root, out, tmp_path)  # the edited page's QR code included


def test_site_yaml_edit_rebuilds_what_depends_on_it(site, tmp_path):
    root, out = site
    (root / "site.yaml").write_text(SITE_YAML.replace("测试妇女网", "改名的妇女网"), "utf-8")
    report = run(root, out, explain=True)
    assert "改名的妇女网" in page_of(out, "/")
    assert "site.yaml" in " ".join(dict(report.explained).values())
    assert_same_as_clean(root, out, tmp_path)
    (root / "site.yaml").write_text(SITE_YAML.replace("paginate: 5", "paginate: 3"), "utf-8")
    run(root, out)
    assert_same_as_clean(root, out, tmp_path)


def test_corrupt_cache_is_ignored_with_a_warning(site, tmp_path, caplog):
    root, out = site
    cache_dir = root / ".sitegen-cache"
    files = [cache_dir / "pages.cache", *sorted((cache_dir / "manifests").glob("*.cache"))]
    assert len(files) == 2
    for f in files:
        f.write_bytes(os.urandom(4000))
    page = root / "content" / "news" / "a07.md"
    page.write_text(page.read_text("utf-8").replace("测试文章第7号", "第七号改过"), "utf-8")
    with caplog.at_level(logging.WARNING):
        run(root, out)
    assert sum("不可用" in r.getMessage() for r in caplog.records) == 2
    assert_same_as_clean(root, out, tmp_path)
    # truncated: the header's length and checksum catch it
    data = (cache_dir / "pages.cache").read_bytes()
    (cache_dir / "pages.cache").write_bytes(data[: len(data) // 2])
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        run(root, out)
    assert any("校验和不符" in r.getMessage() for r in caplog.records)
    assert_same_as_clean(root, out, tmp_path)


def test_small_changes_are_journaled_and_a_bad_journal_is_not_trusted(site, tmp_path, caplog, monkeypatch):
    """An edit writes only its changes (``pages.cache.journal``, ``manifests/*.cache.journal``) and leaves the
    whole files as they were; the next build reads whole file + journal. A journal made for another whole file (a
    build stopped between the two writes) is ignored, a damaged one makes the build start without a cache, a big
    change rewrites the whole file and drops the journal. Every result equals a clean build."""
    root, out = site
    cache_dir = root / ".sitegen-cache"
    whole = [cache_dir / "pages.cache", *sorted((cache_dir / "manifests").glob("*.cache"))]
    journals = [f.with_name(f.name + ".journal") for f in whole]
    before = [f.read_bytes() for f in whole]
    page = root / "content" / "news" / "a07.md"
    for n in range(3):
        page.write_text(page.read_text("utf-8").replace("第7号", f"第7号（改{n}）"), "utf-8")
        run(root, out)
        assert [f.read_bytes() for f in whole] == before and all(j.is_file() for j in journals)
        assert_same_as_clean(root, out, tmp_path)
    loaded = cachemod.PageCache.load(cache_dir, configmod.load(root).slice_fingerprint("parse"))
    assert "（改2）" in loaded.entries["content/news/a07.md"].page.title
    assert run(root, out).written == ()  # the journaled manifest knows every output
    # a journal of another whole file: ignored (the whole file alone is an older, consistent state)
    stale = journals[0].read_bytes()
    monkeypatch.setattr(cachemod, "write_journaled", _always_whole(cachemod.write_journaled))
    page.write_text(page.read_text("utf-8").replace("第7号", "第七号"), "utf-8")
    run(root, out)
    monkeypatch.undo()
    monkeypatch.setenv("SITEGEN_NOW", NOW)
    assert not any(j.exists() for j in journals) and whole[0].read_bytes() != before[0]
    journals[0].write_bytes(stale)
    with caplog.at_level(logging.WARNING):
        report = run(root, out)
    assert report.written == () and not any("journal" in r.getMessage() for r in caplog.records)
    assert_same_as_clean(root, out, tmp_path)
    # a damaged journal: warned, the build starts without that cache
    page.write_text(page.read_text("utf-8").replace("第七号", "第7号"), "utf-8")
    run(root, out)
    data = journals[1].read_bytes()
    journals[1].write_bytes(data[:-5] + bytes(5))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        report = run(root, out)
    assert any("不可用" in r.getMessage() for r in caplog.records)
    assert_same_as_clean(root, out, tmp_path)


def _always_whole(write_journaled):
    def whole(path, kind, head, maps, base):
        return write_journaled(path, kind, head, maps, None)
    return whole


def test_cache_from_another_version_is_discarded(site, tmp_path, caplog, monkeypatch):
    root, out = site
    path = root / ".sitegen-cache" / "pages.cache"
    monkeypatch.setattr(cachemod, "CACHE_VERSION", cachemod.CACHE_VERSION + 1)
    cachemod.write(path, "pages", ("whatever", {}, {}))
    monkeypatch.undo()
    monkeypatch.setenv("SITEGEN_NOW", NOW)
    assert cachemod.read(path, "pages") is None
    with caplog.at_level(logging.WARNING):
        run(root, out)
    assert any("format" in r.getMessage() for r in caplog.records)
    assert_same_as_clean(root, out, tmp_path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_cache_never_builds_foreign_objects(tmp_path, caplog):
    path = tmp_path / "pages.cache"
    cachemod.write(path, "pages", ("fp", {"x": _Evil()}, {}))  # valid header and checksum, hostile payload
    with caplog.at_level(logging.WARNING):
        assert cachemod.read(path, "pages") is None
    assert any("posix.system" in r.getMessage() or "os.system" in r.getMessage() for r in caplog.records)
    path.write_bytes(b"")
    assert cachemod.read(path, "pages") is None
    assert cachemod.read(tmp_path / "missing.cache", "pages") is None


def test_cache_round_trip_keeps_pages(site):
    root, _ = site
    config = configmod.load(root)
    loaded = cachemod.PageCache.load(config.cache_dir, config.slice_fingerprint("parse"))
    assert len(loaded.entries) == 31
    page = loaded.entries["content/news/a01.md"].page
    assert page.title == "测试文章第1号" and page.date.tzinfo is not None
    assert pickle.loads(pickle.dumps(page)) == page


def test_parallel_render_equals_serial(tmp_path, monkeypatch):
    """Two processes render and index (the search index's blocks on the workers forked when the build began) the
    same bytes as one."""
    from sitegen import search

    root = make_site(tmp_path / "site", n=40)
    monkeypatch.setattr(pool, "THRESHOLD", 0)
    run(root, tmp_path / "serial", jobs=1)
    shutil.rmtree(root / ".sitegen-cache")
    record, real = tmp_path / "indexed-by", search.stage_block

    def spy(*args, **kwargs):
        with open(record, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(search, "stage_block", spy)  # the workers fork after this, and inherit it
    run(root, tmp_path / "parallel", jobs=2)
    assert tree(tmp_path / "parallel") == tree(tmp_path / "serial")
    if pool.default_jobs() > 1:
        assert record.read_text("utf-8").split() and str(os.getpid()) not in record.read_text("utf-8").split()
    # and incrementally on the pool
    page = root / "content" / "news" / "a10.md"
    page.write_text(page.read_text("utf-8").replace("测试文章第10号", "并行改过"), "utf-8")
    run(root, tmp_path / "parallel", jobs=2)
    assert_same_as_clean(root, tmp_path / "parallel", tmp_path)


def test_template_error_in_a_worker_is_reported_and_output_untouched(site, monkeypatch):
    root, out = site
    before = tree(out)
    theme = root / "themes" / "default" / "templates"
    theme.mkdir(parents=True)
    (theme / "article.html").write_text("{% extends 'base.html' %}{% block content %}{{ nope.x }}{% endblock %}",
                                        "utf-8")
    monkeypatch.setattr(pool, "THRESHOLD", 0)
    from sitegen.errors import TemplateError

    with pytest.raises(TemplateError) as info:
        buildmod.build(configmod.load(root), buildmod.BuildOptions(out=out, jobs=2))
    assert info.value.problems and info.value.problems[0].code == "E501"
    assert tree(out) == before


def test_deleted_output_file_is_rendered_again(site):
    root, out = site
    (out / "about" / "index.html").unlink()
    report = run(root, out)
    assert report.written == ("about/index.html",)


def test_cache_of_another_sitegen_version_is_reported_in_chinese(tmp_path, caplog):
    """After an upgrade every cache file is from other code: the warning was half English ("code is '…', this
    sitegen needs '…'")."""
    from sitegen import cache as cachemod

    path = tmp_path / "x.cache"
    cachemod.write(path, "pages", {"a": 1})
    assert cachemod.read(path, "pages") == {"a": 1}
    data = path.read_bytes()
    path.write_bytes(data.replace(code_version().encode(), b"0" * len(code_version()), 1))
    with caplog.at_level(logging.INFO, logger="sitegen.cache"):
        assert cachemod.read(path, "pages") is None
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith(f"缓存 {path} 由另一版本的 sitegen 写入（code 为 '000")
    assert "needs" not in caplog.records[0].getMessage()


def test_missing_or_damaged_page_bodies_are_parsed_again(site, tmp_path):
    root, out = site
    packs = sorted((root / ".sitegen-cache" / "bodies").glob("*.pack"))
    assert packs, "page bodies are kept apart from the page index"
    packs[0].unlink()
    for pack in packs[1:]:
        data = bytearray(pack.read_bytes())
        data[len(data) // 2] ^= 0xFF
        pack.write_bytes(bytes(data))
    override_partial(root, "footer.html", "<footer", "<!-- 改 --><footer")
    run(root, out)  # every page rendered again, bodies from the damaged cache or from their files
    assert_same_as_clean(root, out, tmp_path)


def test_a_theme_reading_other_pages_bodies_gets_them(site, tmp_path):
    root, out = site
    override_partial(root, "item.html", "</li>", "<small>{{ item.text | length }}</small></li>")
    run(root, out)
    listing = page_of(out, configmod.load(root).permalink("category").format(slug="gongzuo-dongtai"))
    assert "<small>" in listing and "<small>0</small>" not in listing
    assert_same_as_clean(root, out, tmp_path)


def test_body_edit_and_date_edit_equal_a_clean_build(site, tmp_path):
    root, out = site
    page = root / "content" / "news" / "a12.md"
    page.write_text(page.read_text("utf-8") + "\n补充一段正文：各地妇联持续推进。\n", "utf-8")
    report = run(root, out)  # same shape: listings reused, only what shows a12 rendered again
    assert 0 < len(report.written) < report.pages
    assert "补充一段正文" in page_of(out, site_pages(root).by_source["content/news/a12.md"].url)
    assert_same_as_clean(root, out, tmp_path)
    page.write_text(page.read_text("utf-8").replace("date: 2026-01-13", "date: 2025-06-01"), "utf-8")
    run(root, out)  # another shape: the article moves in every listing and between other neighbours
    assert_same_as_clean(root, out, tmp_path)


def test_a_session_with_change_hints_equals_clean_builds(site, tmp_path):
    """The preview keeps its caches in memory between builds and names the files that changed."""
    root, out = site
    config = configmod.load(root)
    session = buildmod.Session()

    def build(changed=None):
        report = buildmod.build(config, buildmod.BuildOptions(out=out, jobs=1), changed, session=session)
        assert report.ok and not report.errors, [str(p) for p in report.problems]
        session.flush()
        return report

    build()
    page = root / "content" / "news" / "a05.md"
    page.write_text(page.read_text("utf-8").replace("测试文章第5号", "会话中改过的标题"), "utf-8")
    report = build(["content/news/a05.md"])
    assert "会话中改过的标题" in page_of(out, "/")
    assert 0 < len(report.written) < report.pages
    assert_same_as_clean(root, out, tmp_path)
    (root / "content" / "news" / "new.md").write_text(article(77, "会话中新增的文章"), "utf-8")
    build(["content/news/new.md"])
    assert_same_as_clean(root, out, tmp_path)
    (root / "content" / "news" / "a29.md").unlink()
    build(["content/news/a29.md"])
    assert_same_as_clean(root, out, tmp_path)
    assert build([]).written == ()
    (root / "content" / "news" / "sub").mkdir()
    (root / "content" / "news" / "a11.md").rename(root / "content" / "news" / "sub" / "a11.md")
    build(["content/news/a11.md", "content/news/sub"])  # a folder among the changes: everything is scanned
    assert_same_as_clean(root, out, tmp_path)
    # the caches it wrote serve a later build by another process
    report = run(root, out)
    assert report.written == () and report.skipped == report.pages


def test_build_after_a_preview_with_deferred_search_refreshes_the_index(site, tmp_path):
    """``serve`` defers the search index after its first build; a ``build`` into the same folder afterwards (nothing else
    changed) must re-index, not trip over the search files the preview left, and equal a clean build."""
    root, out = site
    config = configmod.load(root)
    session = buildmod.Session()
    buildmod.build(config, buildmod.BuildOptions(out=out, jobs=1), session=session)
    page = root / "content" / "news" / "a06.md"
    page.write_text(page.read_text("utf-8").replace("测试文章第6号", "预览中改过的标题"), "utf-8")
    report = buildmod.build(config, buildmod.BuildOptions(out=out, jobs=1, defer_search=True),
                            ["content/news/a06.md"], session=session)
    assert report.ok and "预览中改过的标题" in page_of(out, "/")
    session.flush()
    stale = {rel: data for rel, data in tree(out).items() if rel.startswith("search-index/")}
    report = run(root, out)
    fresh = {rel: data for rel, data in tree(out).items() if rel.startswith("search-index/")}
    assert fresh != stale and any(rel.startswith("search-index/") for rel in report.written)
    assert_same_as_clean(root, out, tmp_path)


def test_an_edit_re_indexes_and_answers_as_a_clean_build(tmp_path):
    """Correcting an old article's text rebuilds the search index (its input changed) and the index equals a clean
    build's byte for byte, so both answer every query alike (compared over 300 random queries too); a neighbour's
    new title, shown in the article's footer, changes the neighbour's entry, not the article's."""
    import random

    from sitegen import search, searchindex

    root = make_site(tmp_path / "site")
    out = root / "output"
    run(root, out)
    blocks = search.shards(site_pages(root))
    oldest = blocks["b0"][0]
    path = root / oldest.source
    path.write_text(path.read_text("utf-8") + "\n补充：巾帼志愿服务队走进社区开展家风宣讲。\n", "utf-8")
    report = run(root, out, explain=True)
    assert [rel for rel, _ in report.explained if rel.startswith("search-index/")] == [search.shard_key("b0")]
    assert_same_as_clean(root, out, tmp_path)
    incremental = searchindex.open_blocks({rel[len("search-index/"):]: data for rel, data in tree(out).items()
                                           if rel.startswith("search-index/")})
    clean = searchindex.open_blocks({rel[len("search-index/"):]: data for rel, data in clean_build(root, tmp_path).items()
                                     if rel.startswith("search-index/")})
    texts = [searchindex.normalize(search.text_of(search.essentials(page_of(out, p.url).encode())))
             for p in blocks["b0"]]
    rng = random.Random(18)
    for _ in range(300):
        text = rng.choice(texts)
        at, n = rng.randrange(len(text) - 8), rng.choice([1, 2, 3, 4, 6, 9])
        q = text[at:at + n] if rng.random() < 0.8 else f"{text[at:at + 2]} {rng.choice(texts)[at:at + 3]}"
        assert searchindex.query(incremental, q) == searchindex.query(clean, q), q
        assert searchindex.query(incremental, q, newest=True) == searchindex.query(clean, q, newest=True), q
    assert searchindex.query(clean, "补充：巾帼志愿服务队走进社区开展家风宣讲") == [0]  # the oldest article
    neighbour = blocks["b0"][1]
    path = root / neighbour.source
    path.write_text(path.read_text("utf-8").replace(f"title: {neighbour.title}", "title: 换了标题的邻居"), "utf-8")
    report = run(root, out, explain=True)
    assert "换了标题的邻居" in page_of(out, oldest.url)  # in the oldest article's footer, which is not indexed:
    assert "search-index/b0/d/0.bin" not in report.written and "search-index/b0/d/1.bin" in report.written
    assert_same_as_clean(root, out, tmp_path)


def test_search_input_is_the_indexed_element_without_ignored_parts():
    from sitegen import search

    page = ('<!DOCTYPE html>\n<html lang="zh-CN"><head><title>标题</title></head><body><nav>菜单</nav>'
            '<article class="a" data-pagefind-body data-pagefind-filter="category:工作动态"><h1>标题</h1>'
            '<article>内层</article><!-- 注释 --><p>正文 &amp; <b>Ａ</b></p><footer data-pagefind-ignore="all">相关'
            '<footer>内</footer></footer><p data-search-ignore>字号</p>'
            '<aside data-pagefind-ignore="all" data-pagefind-filter="tag:家风">留</aside></article>'
            '<footer>页脚</footer></body></html>\n').encode()
    got = search.essentials(page)
    assert got == ('<article class="a" data-pagefind-body data-pagefind-filter="category:工作动态"><h1>标题</h1>'
                   '<article>内层</article><p>正文 &amp; <b>Ａ</b></p></article>').encode()
    assert search.text_of(got) == "标题内层正文 & Ａ"
    assert search.essentials(page.replace(b"data-pagefind-body", b"data-search-body")) == \
        got.replace(b"data-pagefind-body", b"data-search-body")
    assert search.essentials(b"<p>no body</p>") == b""


def test_indexed_text_is_what_a_browser_reads(site):
    """The text the index is built from equals the indexed element's ``text_content()`` (lxml) without its ignored
    parts, whitespace removed: the ground truth a reader's search is measured against."""
    import lxml.html

    from sitegen import search, searchindex

    root, out = site
    pages = [p for p in sorted(out.rglob("index.html")) if b"data-pagefind-body" in p.read_bytes()]
    assert len(pages) > 10
    for p in pages:
        body = lxml.html.document_fromstring(p.read_bytes()).xpath("//*[@data-pagefind-body]")[0]
        for ignored in body.xpath(".//*[@data-pagefind-ignore]"):
            ignored.drop_tree()
        want = searchindex.normalize(body.text_content())
        assert searchindex.normalize(search.text_of(search.essentials(p.read_bytes()))) == want, p


def test_feed_groups_cover_every_feed_file(site):
    root, out = site

    s = site_pages(root)
    want = {o.path for o in planmod.plan(s).of_kind("feed", "sitemap")}
    got = {rel for rel in tree(out) if rel.endswith((".xml", ".txt"))}
    assert want and want <= got
    manifest = manifestmod.OutputManifest.load(root / ".sitegen-cache", out)
    grouped = {rel for rel in want if rel in manifest.outputs}
    grouped |= {x for rel in grouped for x in manifest.outputs[rel].extras}
    assert grouped == want


def test_search_folder_is_the_search_bundle():
    from sitegen import search

    assert SEARCH_DIR == search.BUNDLE + "/" == search.shard_folder("")
    assert search.shard_key("b0").startswith(SEARCH_DIR)


def test_feeds_given_their_newest_articles_are_the_same(site):
    root, _ = site
    from sitegen import feeds

    s = site_pages(root)
    limit = s.config.feeds_limit
    for section, _, pages in feeds.feed_scopes(s):
        for n in sorted({1, 3, limit}):
            import heapq

            newest = heapq.nlargest(n, pages, key=lambda p: (p.date, p.url))
            import dataclasses

            site_n = dataclasses.replace(s, config=dataclasses.replace(s.config, feeds_limit=n))
            for kind in ("rss", "atom"):
                assert feeds.feed(site_n, section, kind, newest) == feeds.feed(site_n, section, kind, pages)


def test_body_packs_are_compacted_into_new_entries(tmp_path):
    """More than 24 packs: the live bodies of small packs move into one new pack; the entries pointing to them are
    returned anew (entries are immutable) and still read their bodies; the old packs are gone."""
    from sitegen import bodies as bodiesmod

    entries = {}
    for n in range(30):  # one pack per "build", as thirty small edits leave them
        store = bodiesmod.Bodies(tmp_path)
        where = store.add(f"<p>第{n}篇</p>", f"第{n}篇")
        store.close()
        entries[f"content/a{n}.md"] = cachemod.Entry(1, 1, "", (), None, (), where)
    packs = {e.body[0] for e in entries.values()}
    moved = bodiesmod.Bodies(tmp_path).prune(entries)
    assert set(moved) == set(entries)
    assert all(moved[k] is not entries[k] and moved[k].body[0] not in packs for k in entries)
    reader = bodiesmod.Bodies(tmp_path)
    assert [reader.read(moved[f"content/a{n}.md"].body) for n in range(30)] == [
        (f"<p>第{n}篇</p>", f"第{n}篇") for n in range(30)]
    assert not any((tmp_path / "bodies" / name).exists() for name in packs)


def test_an_added_article_remakes_only_the_feeds_of_its_scopes(site, tmp_path):
    """A new article changes the site's feed and its category's (and column's) feeds; the other categories' feeds
    are not made again. A feed is made again when a page linked from one of its articles moves."""
    root, out = site
    feeds_of = {o.path: dict(o.data).get("section") for o in planmod.plan(site_pages(root)).of_kind("feed")
                if o.path.endswith("feed.xml")}
    (root / "content" / "news" / "a30.md").write_text(article(30).replace("2026-07-04", "2026-12-01"), "utf-8")
    remade = {rel for rel, _ in run(root, out, explain=True).explained if rel in feeds_of}
    mine = {rel for rel, s in feeds_of.items() if s is None or s.name == CATEGORIES[0]}  # a30: no column
    assert remade == mine and len(feeds_of) > len(mine)
    assert_same_as_clean(root, out, tmp_path)
    # a05 (维权服务) links to a04 (基层动态): a04 moving remakes 维权服务's feed too
    a04 = root / "content" / "news" / "a04.md"
    a04.write_text(a04.read_text("utf-8").replace("title:", "slug: moved-a04\ntitle:", 1), "utf-8")
    remade = {rel for rel, _ in run(root, out, explain=True).explained if rel in feeds_of}
    assert any(feeds_of[rel] is not None and feeds_of[rel].name == CATEGORIES[5 % 3] for rel in remade)
    assert_same_as_clean(root, out, tmp_path)
