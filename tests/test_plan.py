"""The plan stage (issue: the build as named stages over one list of outputs): every output once, paths gated,
every clash one E401 at the line that causes it; config slices; the one table of page kinds.

Cases B29 (old-CMS aliases) and B39 (over-long URL segments) are copied from ``../shared/cases/`` into
``tests/cases/``."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import build_site
from sitegen import config as configmod
from sitegen.build import kinds as kindsmod
from sitegen.build import plan as planmod
from sitegen_sites import SITE_YAML, article, make_site

CASES = Path(__file__).resolve().parent / "cases"


def case_site(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(CASES / name, root)
    return root


def lines(report) -> list[str]:
    return [str(p) for p in report.problems]


def test_B29_old_cms_aliases_are_files_and_a_query_string_is_reported(tmp_path):
    root = case_site(tmp_path, "B29")
    report = build_site(root)
    out = root / "output"
    target = "/gongzuo-dongtai/2026/03/qianyi/"
    for alias in ("html/2019-03/05/content_123.htm", "system/2019/03/05/000123.shtml", "art/2019/3/5/art_88_123.html"):
        assert (out / alias).is_file(), alias
        assert target in (out / alias).read_text("utf-8")
    assert not list(out.rglob("*\\?*")) and not (out / "news").exists()
    (problem,) = [p for p in report.problems if "show.asp" in p.message]
    assert str(problem).startswith("content/2026/03/qianyi.md:10: E402: 网址 /news/show.asp?id=123 无法使用：")
    assert "nginx" in problem.hint
    assert (out / "gongzuo-dongtai/2026/03/qianyi/index.html").is_file()  # the article itself is published


def test_B39_overlong_segments_leave_out_only_what_they_name(tmp_path):
    root = case_site(tmp_path, "B39")
    report = build_site(root)
    out = root / "output"
    errors = [str(p) for p in report.errors]
    assert len(errors) == 2, errors
    assert errors[0].startswith("content/2026/03/long-alias.md:6: E402: 网址 /old/aaa")
    assert "超过文件系统允许的 255 字节" in errors[0]
    assert errors[1].startswith("content/2026/03/long-slug.md:5: E402: ")
    listed = sorted(p.name for p in (out / "tongzhi-gonggao/2026/03").iterdir())
    assert "ok" in listed and "long-alias" in listed
    assert any(name.startswith("guan-yu-yin-fa-") for name in listed)  # the 255-byte file name, slug cut short
    for path in out.rglob("*"):
        assert all(len(part.encode()) <= 255 for part in path.relative_to(out).parts)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    strict = build_site(root, strict=True)
    assert not strict.ok and [str(p) for p in strict.errors] == errors
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("slug, generated", [("search", "站内搜索页"), ("tags", "标签索引页"),
                                             ("archives", "归档索引页"), ("galleries", "图片库索引页")])
def test_static_page_on_a_generated_url_is_E401_at_its_slug_line(tmp_path, slug, generated):
    page = f"---\ntitle: 冲突的页面\nslug: {slug}\n---\n\n正文。\n"
    root = make_site(tmp_path / "s", {"content/pages/clash.md": page,
                                      "content/2026/01/a.md": article("文章", "2026-01-05 09:00", "正文。")})
    report = build_site(root)
    assert report.ok
    (problem,) = report.errors
    assert str(problem).startswith(f"content/pages/clash.md:3: E401: 网址 /{slug}/ 与{generated}重复")
    assert "slug" in problem.hint
    shown = root / "output" / slug / "index.html"  # no galleries: no gallery index, and still no page there
    assert not shown.exists() or "冲突的页面" not in shown.read_text("utf-8")


def test_static_page_on_the_feed_url_is_E401_at_its_alias_line(tmp_path):
    """A slug cannot contain a dot (``feed.xml`` becomes ``feed-xml``): the page reaches ``/feed.xml`` through an
    alias, which needs a folder where the feed is a file."""
    page = "---\ntitle: 冲突的页面\naliases:\n  - /feed.xml\n---\n\n正文。\n"
    root = make_site(tmp_path / "s", {"content/pages/clash.md": page,
                                      "content/2026/01/a.md": article("文章", "2026-01-05 09:00", "正文。")})
    report = build_site(root)
    (problem,) = report.errors
    assert str(problem).startswith("content/pages/clash.md:4: E401: 网址 /feed.xml 与“订阅源”（/feed.xml）重复")
    assert "aliases" in problem.hint
    assert (root / "output/feed.xml").is_file() and (root / "output/clash/index.html").is_file()


def test_alias_clashes_are_reported_at_the_alias_entry_and_drop_only_the_alias(tmp_path):
    a = article("甲", "2026-01-05 09:00", "正文。", extra="slug: jia\naliases:\n  - /old/1.html\n")
    b = article("乙", "2026-01-06 09:00", "正文。", extra="slug: yi\naliases:\n  - /x/\n  - /OLD/1.html\n")
    root = make_site(tmp_path / "s", {"content/2026/01/a.md": a, "content/2026/01/b.md": b})
    report = build_site(root)
    assert lines(report) == ["content/2026/01/b.md:8: E401: 网址 /OLD/1.html 与“content/2026/01/a.md”（/old/1.html）"
                             "重复（请修改或删除这一条旧网址（aliases））"]
    out = root / "output"
    assert (out / "gongzuo-dongtai/2026/01/yi/index.html").is_file() and (out / "x/index.html").is_file()
    assert "/jia/" in (out / "old/1.html").read_text("utf-8")


def test_checks_remembered_from_the_last_build_say_the_same_and_follow_every_line_move(tmp_path, monkeypatch):
    """The gate and clash results are kept between builds by what they read: a build that changes nothing they
    read reports the same problems (a preview too); a moved ``slug:`` or alias line moves the problem with it."""
    a = article("甲", "2026-01-05 09:00", "正文。", extra="slug: jia\naliases:\n  - /old/1.html\n")
    b = article("乙", "2026-01-06 09:00", "正文。", extra="slug: yi\naliases:\n  - /x/\n  - /OLD/1.html\n")
    d = article("丁", "2026-01-08 09:00", "正文。", extra="slug: jia\n")
    root = make_site(tmp_path / "s", {"content/2026/01/a.md": a, "content/2026/01/b.md": b,
                                      "content/2026/01/c.md": article("丙", "2026-01-07 09:00", "正文。"),
                                      "content/2026/01/d.md": d})
    first = lines(build_site(root))
    assert [line.split(": ")[:2] for line in first] == [["content/2026/01/b.md:8", "E401"],  # the plan's check
                                                        ["content/2026/01/d.md:5", "E401"]]  # admitting pages
    assert (root / ".sitegen-cache" / "checks.cache").is_file()
    c = root / "content/2026/01/c.md"
    c.write_text(c.read_text("utf-8").replace("正文。", "正文改了。"), "utf-8")
    gated = []
    real_gate = planmod.gate
    monkeypatch.setattr(planmod, "gate", lambda url: gated.append(url) or real_gate(url))
    assert lines(build_site(root)) == first
    assert gated == []  # remembered, not checked again
    (root / "content/2026/01/b.md").write_text(b.replace("slug: yi", "author: 某人\nslug: yi"), "utf-8")
    (root / "content/2026/01/d.md").write_text(d.replace("slug: jia", "author: 某人\nslug: jia"), "utf-8")
    moved = lines(build_site(root))
    assert gated
    assert [line.split(":")[1] for line in moved] == [str(int(line.split(":")[1]) + 1) for line in first]
    (root / ".sitegen-cache" / "checks.cache").write_bytes(b"not a cache")
    assert lines(build_site(root)) == moved


def test_gate_refuses_paths_that_leave_or_confuse_the_output_folder():
    assert planmod.gate("/a/b/") is None and planmod.gate("/system/000123.shtml") is None
    for bad in ("/../../x/", "/a/../b/", "/a?id=1", "/a#b", "/a\\b/", "/a\u202eb/", "/a\x01/", "a/",
                "/" + "长" * 86 + "/"):
        assert planmod.gate(bad), bad


def test_plan_lists_every_output_once_and_the_sitemap_reads_it(tmp_path):
    root = make_site(tmp_path / "s", {f"content/2026/01/a{n}.md": article(f"文章{n}", f"2026-01-0{n} 09:00", "正文。",
                                                                          extra="tags: [妇联]\n")
                                      for n in range(1, 4)})
    report = build_site(root)
    out = root / "output"
    from sitegen import content as contentmod

    config = configmod.load(root)
    pages = [contentmod.read_source(config, s).page for s in contentmod.scan(config)]
    site, _ = contentmod.assemble(pages, config)
    plan = planmod.plan(site)
    paths = [o.path for o in plan.outputs]
    assert len(paths) == len(set(paths))
    assert all((out / p).is_file() for p in paths)
    assert plan.pages == report.pages
    sitemap = (out / "sitemap.xml").read_text("utf-8")
    for url, _ in plan.sitemap():
        assert f"<loc>https://www.example.org.cn{url}</loc>" in sitemap
    assert sitemap.count("<loc>") == len(plan.sitemap())


def test_deploy_target_re_parses_and_re_renders_nothing_and_footer_re_parses_nothing(tmp_path):
    files = {f"content/2026/01/a{n}.md": article(f"文章{n}", f"2026-01-0{n} 09:00", "正文。") for n in range(1, 6)}
    root = make_site(tmp_path / "s", files)
    first = build_site(root)
    assert first.parsed == 5 and first.rendered > 0
    (root / "site.yaml").write_text(SITE_YAML + "deploy:\n  targets:\n    - {name: production, url: /srv/www/}\n",
                                    "utf-8")
    report = build_site(root, explain=True)
    assert report.ok and (report.parsed, report.rendered, report.written) == (0, 0, ())
    assert report.config_changed == ("deploy_targets",)
    (root / "site.yaml").write_text(SITE_YAML.replace("site_code: \"1300000001\"", "site_code: \"1300000002\""),
                                    "utf-8")
    report = build_site(root, explain=True)
    assert report.ok and report.parsed == 0 and report.rendered > 0
    assert "footer" in report.config_changed
    assert "1300000002" in (root / "output/index.html").read_text("utf-8")


SPECIAL = """{% extends "base.html" %}{% block content %}<h1>专题：{{ topic }}</h1>
<ul>{% for p in chosen %}<li><a href="{{ p.url | url }}">{{ p.title }}</a></li>{% endfor %}</ul>{% endblock %}
"""


def test_a_page_kind_added_through_the_table_is_rendered_in_the_sitemap_and_checked(tmp_path, monkeypatch):
    def topics(site):
        chosen = site.articles[:2]
        yield kindsmod.one(site, "/zhuanti/fulian/", "zhuanti", "zhuanti.html", chosen, topic="妇联改革",
                           chosen=chosen, section=None, title="专题")

    kind = kindsmod.Kind("zhuanti", "zhuanti.html", "专题页", topics,
                         reserved=lambda config: iter(("/zhuanti/fulian/",)))
    monkeypatch.setattr(kindsmod, "KINDS", kindsmod.KINDS + (kind,))
    files = {f"content/2026/01/a{n}.md": article(f"文章{n}", f"2026-01-0{n} 09:00", "正文。") for n in range(1, 4)}
    files["themes/default/templates/zhuanti.html"] = SPECIAL
    files["content/pages/clash.md"] = "---\ntitle: 冲突\nslug: fulian\n---\n\n正文。\n"
    root = make_site(tmp_path / "s", files, SITE_YAML + "permalinks: {page: \"/zhuanti/{slug}/\"}\n")
    report = build_site(root)
    out = root / "output"
    html = (out / "zhuanti/fulian/index.html").read_text("utf-8")
    assert "专题：妇联改革" in html and "文章3" in html and "文章2" in html
    assert "https://www.example.org.cn/zhuanti/fulian/" in (out / "sitemap.xml").read_text("utf-8")
    assert [str(p) for p in report.errors] == [
        "content/pages/clash.md:3: E401: 网址 /zhuanti/fulian/ 与专题页重复（请修改 slug（或文件名），换一个网址）"]


def test_parsing_reads_only_the_settings_of_its_config_slice():
    """The page cache is keyed by the ``parse`` slice: a setting that parsing reads but the slice leaves out would
    let a stale page through. Every ``config.<name>`` in the parsing modules must be in the slice (or derived from
    it: ``tz`` from ``timezone``, ``category``/``column`` from the sections, ``permalink`` from ``permalinks``)."""
    import re

    derived = {"tz": "timezone", "category": "categories", "column": "columns", "permalink": "permalinks",
               "root": None, "content_dir": None, "cache_dir": None}
    src = Path(__file__).resolve().parents[1] / "sitegen"
    read = set()
    for name in ("content.py", "frontmatter.py", "markup.py", "slugs.py", "build/parse.py"):
        if (src / name).is_file():
            read |= set(re.findall(r"\bconfig\.([a-z_]+)", (src / name).read_text("utf-8")))
    needed = {derived.get(name, name) for name in read} - {None}
    assert needed <= set(configmod.SLICES["parse"]), needed - set(configmod.SLICES["parse"])


def test_an_alias_out_of_the_site_is_refused_before_anything_is_written(tmp_path):
    """``aliases: ['../../X']`` wrote ``../X/index.html`` beside the site folder, in check and --strict alike."""
    victim = tmp_path / "X"
    victim.mkdir()
    (victim / "index.html").write_text("别人的文件", "utf-8")
    a = article("甲", "2026-01-05 09:00", "正文。", extra="aliases: ['../../X']\n")
    root = make_site(tmp_path / "site" / "s", {"content/2026/01/a.md": a})
    strict = build_site(root, strict=True)
    assert not strict.ok and [p.code for p in strict.errors] == ["E402"]
    assert str(strict.errors[0]).startswith("content/2026/01/a.md:5: E402: 网址 /../../X 无法使用")
    report = build_site(root)
    assert [p.code for p in report.errors] == ["E402"]
    assert (victim / "index.html").read_text("utf-8") == "别人的文件"
    assert not (tmp_path / "site" / "X").exists() and not list((root / "output").rglob("X"))
    from sitegen import check as checkmod

    assert [p.code for p in checkmod.check(configmod.load(root)).problems if p.severity == "error"] == ["E402"]


def test_the_writer_refuses_paths_outside_its_folder(tmp_path):
    from sitegen.build.write import Writer
    from sitegen.errors import SitegenError

    writer = Writer(tmp_path / "output", tmp_path / "manifest.json")
    for bad in ("../x.html", "/etc/x", "a/../../x", "a\\b.html", "a/\x01.html"):
        with pytest.raises(SitegenError, match="内部错误"):
            writer.write(bad, b"x")
    writer.abort()
    assert not (tmp_path / "x.html").exists()


def _sample_copy(tmp_path: Path) -> Path:
    repo = Path(__file__).resolve().parents[1]
    root = tmp_path / "site"
    shutil.copytree(repo / "content", root / "content")
    shutil.copy2(repo / "site.yaml", root / "site.yaml")
    return root


def test_the_sample_site_built_again_parses_nothing(tmp_path):
    """The page cache holds the photos of the front matter (``frontmatter.PhotoRef``): it was refused as
    "unexpected … in cache" and every build parsed every file again."""
    root = _sample_copy(tmp_path)
    assert build_site(root).ok
    again = build_site(root)
    assert again.ok and (again.parsed, again.rendered) == (0, 0)


def test_renaming_a_category_re_renders_only_what_shows_it(tmp_path):
    """Issue 16, point 3: a category's name and description are read only by the outputs that show it — its
    listing, its articles and the lists that show them, and the pages that list every category (home, search).
    Another article is rendered again only when it lists one of the category's articles (related reading). A
    category in the menu is shown on every page: this one is taken out of the menu first."""
    root = _sample_copy(tmp_path)
    site_yaml = root / "site.yaml"
    text = site_yaml.read_text("utf-8").replace("  - {category: 政策法规}\n", "")
    site_yaml.write_text(text, "utf-8")
    ours = []
    for md in sorted((root / "content").rglob("*.md")):
        body = md.read_text("utf-8")
        if "\ncategory: 政策法规\n" in body:  # the articles name the category by its slug, which stays
            md.write_text(body.replace("\ncategory: 政策法规\n", "\ncategory: zhengce-fagui\n"), "utf-8")
            ours.append(md)
    assert len(ours) >= 2 and build_site(root).ok
    site_yaml.write_text(text.replace("{name: 政策法规, slug: zhengce-fagui, description: 与妇女儿童相关的法律法规和政策解读}",
                                      "{name: 法规政策, slug: zhengce-fagui, description: 法律法规与政策解读}"), "utf-8")
    report = build_site(root, explain=True)
    assert report.ok and report.config_changed == ("categories",)
    rendered = {rel for rel, _ in report.explained}
    out = root / "output"
    article_pages = {str(p.relative_to(out)) for p in out.glob("*/20*/*/*/index.html")}
    ours_pages = {p for p in article_pages if p.startswith("zhengce-fagui/")}
    assert len(ours_pages) == len(ours) and ours_pages <= rendered
    sources = [md.relative_to(root).as_posix() for md in ours]
    others = [(rel, why) for rel, why in report.explained if rel in article_pages - ours_pages]
    assert len(others) < len(article_pages - ours_pages) / 4
    assert all(any(s in why for s in sources) for _, why in others), others  # those list one of ours (相关阅读)
    assert {"index.html", "search/index.html", "zhengce-fagui/index.html"} <= rendered
    assert len(rendered) < report.pages / 2
    assert "法规政策" in (out / "zhengce-fagui/index.html").read_text("utf-8")
    assert all("法规政策" in (out / p).read_text("utf-8") for p in ours_pages)
    clean = _sample_copy(tmp_path / "clean")
    for md in ours:
        shutil.copy2(md, clean / md.relative_to(root))
    shutil.copy2(site_yaml, clean / "site.yaml")
    assert build_site(clean).ok
    for path in sorted(out.rglob("*.html")):  # the same pages as a clean build of the renamed site
        assert path.read_bytes() == (clean / "output" / path.relative_to(out)).read_bytes(), path
