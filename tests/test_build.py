"""End to end: the sample site and tiny inline sites built and checked through the parsed HTML — page kinds,
titles and the article meta line, every internal link resolving, listing counts and order, pagination, deleted
pages, drafts, atomic output, --strict, problems printed all at once, and a base_url sub-path."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import lxml.html
import pytest
import yaml

from conftest import REPO, build_site, html_links, make_site, resolve_link, run_cli
from sitegen.errors import TemplateError
from sitegen.slugs import tag_slug


def doc(path: Path):
    return lxml.html.document_fromstring(path.read_bytes())


def text_of(el) -> str:
    return re.sub(r"\s+", " ", el.text_content()).strip()


def title_h1(path: Path) -> tuple[str, str]:
    tree = doc(path)
    return text_of(tree.find(".//title")), text_of(tree.find(".//h1"))


def listing_links(path: Path) -> list[str]:
    """The article links of a listing page, in order."""
    return [a.get("href") for a in doc(path).xpath("//ul[contains(@class, 'list')]/li[contains(@class, 'item')]/a")]


def jpeg(size=(64, 48)) -> bytes:
    """A small real JPEG photo."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 120, 60)).save(buf, "JPEG")
    return buf.getvalue()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def article(title: str, date: str, category: str = "工作动态", body: str = "正文。", **keys) -> str:
    extra = "".join(f"{k}: {v}\n" for k, v in keys.items())
    return f"---\ntitle: {title}\ndate: {date}\ncategory: {category}\n{extra}---\n\n{body}\n"


# --- the sample site ------------------------------------------------------------------------------------------


def sample_front_matter() -> list[tuple[str, dict]]:
    """(path under content/, front matter) of every published article of the repository's sample content, read
    with plain YAML (independently of sitegen)."""
    out = []
    for path in sorted((REPO / "content").rglob("*.md")):
        rel = path.relative_to(REPO / "content").as_posix()
        if rel.startswith(("pages/", "galleries/")):
            continue
        fm = yaml.load(path.read_text("utf-8-sig").split("---\n")[1], Loader=yaml.BaseLoader)
        if fm.get("draft") != "true":
            out.append((rel, fm))
    return out


def test_sample_site_page_kinds(sample_site):
    out = sample_site.output
    expect = {
        "index.html": ("河北妇女网", "河北妇女网"),
        "gongzuo-dongtai/index.html": ("工作动态 - 河北妇女网", "工作动态"),
        "gaige-jinxingshi/index.html": ("改革进行时 - 河北妇女网", "改革进行时"),
        "tags/index.html": ("全部标签 - 河北妇女网", "全部标签"),
        f"tags/{tag_slug('妇联改革')}/index.html": ("标签：妇联改革 - 河北妇女网", "标签：妇联改革"),
        "archives/index.html": ("文章归档 - 河北妇女网", "文章归档"),
        "archives/2026/index.html": ("2026年 - 河北妇女网", "2026年"),
        "archives/2026/11/index.html": ("2026年11月 - 河北妇女网", "2026年11月"),
        "about/index.html": ("关于我们 - 河北妇女网", "关于我们"),
        "contact/index.html": ("联系我们 - 河北妇女网", "联系我们"),
        "galleries/index.html": ("图片库 - 河北妇女网", "图片库"),
        "galleries/meili-tingyuan-2026/index.html": ("燕赵大地美丽庭院掠影 - 河北妇女网", "燕赵大地美丽庭院掠影"),
        "404.html": ("页面未找到 - 河北妇女网", "抱歉，您访问的页面不存在"),
        "gongzuo-dongtai/2026/11/shisanjie-liuci-changwei/index.html": (
            "河北省妇联召开十三届六次常委（扩大）会议，推进妇联组织和妇联工作改革 - 河北妇女网",
            "河北省妇联召开十三届六次常委（扩大）会议，推进妇联组织和妇联工作改革"),
    }
    for rel, (title, h1) in expect.items():
        assert (out / rel).is_file(), rel
        got_title, got_h1 = title_h1(out / rel)
        assert got_title == title, rel
        if h1:
            assert got_h1 == h1, rel
    for cat in ("gongzuo-dongtai", "jiceng-dongtai", "tongzhi-gonggao", "tupian-xinwen", "weiquan-fuwu",
                "jiating-jiaoyu", "jinguo-fengcai", "zhengce-fagui"):
        assert (out / cat / "index.html").is_file()


def test_sample_article_meta_line_and_parts(sample_site):
    page = sample_site.output / "gongzuo-dongtai/2026/11/shisanjie-liuci-changwei/index.html"
    tree = doc(page)
    meta = [text_of(s) for s in tree.xpath("//article//p[@class='meta']/span")]
    assert meta == ["发布时间：2026年11月28日 09:30", "来源：河北妇女网", "作者：省妇联办公室"]
    assert tree.xpath("//p[@class='meta']//time")[0].get("datetime") == "2026-11-28T09:30:00+08:00"
    headings = [text_of(h) for h in tree.xpath("//div[@class='body']//h2")]
    assert len(headings) == 4 and all(h.startswith("强化") for h in headings)
    assert [h.get("id") for h in tree.xpath("//div[@class='body']//h2")][0] == "强化政治意识坚持改革的正确方向"
    credits = " ".join(text_of(f) for f in tree.xpath("//figure"))
    assert "田野 摄" in credits and "深化美丽庭院创建" in credits
    assert "责任编辑：王晓燕" in text_of(tree.xpath("//footer[@class='article-footer']")[0])
    crumbs = text_of(tree.xpath("//main")[0]).split("河北省妇联召开")[0]
    assert "改革进行时" in crumbs  # breadcrumbs lead to the column
    assert tree.xpath("//nav[@class='prev-next']//a[@rel='prev']")


def test_sample_every_internal_link_resolves(sample_site):
    out = sample_site.output
    broken = []
    checked = 0
    for page in sorted(out.rglob("*.html")):
        rel = page.relative_to(out).as_posix()
        for link in html_links(page.read_bytes()):
            target = resolve_link(out, rel, link)
            if target is None:
                broken.append(f"{rel}: {link}")
            elif target:
                checked += 1
    assert not broken, "\n".join(broken[:50])
    assert checked > 500


def test_sample_listing_counts_match_content(sample_site):
    out = sample_site.output
    cfg_yaml = yaml.load((REPO / "site.yaml").read_text("utf-8"), Loader=yaml.BaseLoader)
    slug_of = {c["name"]: c["slug"] for c in cfg_yaml["categories"] + cfg_yaml.get("columns", [])}
    articles = sample_front_matter()
    by_cat = Counter(slug_of[fm["category"]] for _, fm in articles)
    by_col = Counter(slug_of[fm["column"]] for _, fm in articles if fm.get("column"))
    assert sum(by_cat.values()) == len(articles) >= 15
    for slug, count in list(by_cat.items()) + list(by_col.items()):
        tree = doc(out / slug / "index.html")
        assert text_of(tree.xpath("//p[@class='count']")[0]) == f"共 {count} 篇", slug
        assert len(listing_links(out / slug / "index.html")) == min(count, 20), slug
    for cat in cfg_yaml["categories"]:
        if cat["slug"] not in by_cat:
            assert text_of(doc(out / cat["slug"] / "index.html").xpath("//p[@class='count']")[0]) == "共 0 篇"
    tags = Counter(t for _, fm in articles for t in fm.get("tags", []))
    tag_pages = {text_of(doc(p).find(".//h1")).removeprefix("标签："): p for p in (out / "tags").glob("*/index.html")}
    assert set(tag_pages) == set(tags)
    for tag, count in tags.items():
        assert text_of(doc(tag_pages[tag]).xpath("//p[@class='count']")[0]) == f"共 {count} 篇", tag
    months = Counter(fm["date"][:7] for _, fm in articles)
    for ym, count in months.items():
        year, month = ym.split("-")
        page = out / "archives" / year / month / "index.html"
        assert text_of(doc(page).xpath("//p[@class='count']")[0]) == f"共 {count} 篇", ym


def test_sample_draft_not_published(sample_site):
    html = "".join(p.read_text("utf-8") for p in sample_site.output.rglob("*.html"))
    assert "三八红旗手先进事迹展播" not in html


# --- tiny sites -----------------------------------------------------------------------------------------------


def test_pagination_and_order(tmp_path):
    files = {"site.yaml": "title: 小站\nbase_url: https://a.cn/\ncategories: [{name: 工作动态, slug: gz}, "
                          "{name: 基层动态, slug: jc}]\npagination: {per_page: 3}\n"}
    for day in range(1, 8):
        pinned = {"pinned": "true"} if day == 2 else {}
        files[f"content/g{day}.md"] = article(f"工作{day}", f"2024-03-{day:02d} 09:00", tags="[标签甲]", **pinned)
    files["content/j1.md"] = article("基层1", "2024-03-10 09:00", "基层动态", tags="[标签甲]")
    root = make_site(tmp_path, files)
    report = build_site(root)
    assert report.ok and not report.problems
    out = root / "output"
    pages = [out / "gz/index.html", out / "gz/page/2/index.html", out / "gz/page/3/index.html"]
    assert not (out / "gz/page/4").exists() and not (out / "gz/page/1").exists()
    got = [listing_links(p) for p in pages]
    assert got == [["/gz/2024/03/g2/", "/gz/2024/03/g7/", "/gz/2024/03/g6/"],
                   ["/gz/2024/03/g5/", "/gz/2024/03/g4/", "/gz/2024/03/g3/"],
                   ["/gz/2024/03/g1/"]]
    assert title_h1(pages[1]) == ("工作动态（第2页） - 小站", "工作动态")
    pager = doc(pages[1]).xpath("//nav[@class='pager']")[0]
    assert [a.get("href") for a in pager.xpath(".//a[@rel]")] == ["/gz/", "/gz/page/3/"]
    assert text_of(doc(pages[0]).xpath("//p[@class='count']")[0]) == "共 7 篇"
    tag = out / "tags" / tag_slug("标签甲")
    assert len(listing_links(tag / "index.html")) == 3 and (tag / "page/3/index.html").is_file()
    # 8 tagged: 3 + 3 + 2, pinned first then newest
    assert listing_links(tag / "page/3/index.html") == ["/gz/2024/03/g3/", "/gz/2024/03/g1/"]
    assert listing_links(out / "jc/index.html") == ["/jc/2024/03/j1/"]
    assert len(listing_links(out / "archives/2024/03/index.html")) == 3


def test_deleted_article_disappears_after_rebuild(tmp_path):
    root = make_site(tmp_path, {
        "content/keep.md": article("保留", "2024-03-05 09:00", tags="[撤稿]"),
        "content/gone.md": article("将被撤回", "2024-03-06 09:00", tags="[撤稿]"),
    })
    assert build_site(root).ok
    out = root / "output"
    gone = out / "gongzuo-dongtai/2024/03/gone/index.html"
    assert gone.is_file()
    (root / "content/gone.md").unlink()
    report = build_site(root)
    assert report.ok
    assert not gone.exists() and not gone.parent.exists()
    assert "gongzuo-dongtai/2024/03/gone/index.html" in report.removed
    for page in out.rglob("*.html"):
        assert "/gone/" not in page.read_text("utf-8") and "将被撤回" not in page.read_text("utf-8"), page
    assert listing_links(out / "gongzuo-dongtai/index.html") == ["/gongzuo-dongtai/2024/03/keep/"]


def test_files_sitegen_did_not_write_are_kept(tmp_path):
    root = make_site(tmp_path, {"content/a.md": article("甲", "2024-03-05 09:00")})
    assert build_site(root).ok
    (root / "output/google1234.html").write_text("verification", "utf-8")
    assert build_site(root).ok
    assert (root / "output/google1234.html").read_text("utf-8") == "verification"


def test_unchanged_rebuild_writes_nothing(tmp_path):
    root = make_site(tmp_path, {"content/a.md": article("甲", "2024-03-05 09:00")})
    first = build_site(root)
    second = build_site(root)
    assert first.written and second.written == () and second.unchanged == len(first.written)


def test_drafts_excluded_unless_asked(tmp_path):
    root = make_site(tmp_path, {
        "content/a.md": article("正式稿", "2024-03-05 09:00"),
        "content/d.md": article("草稿标题", "2024-03-06 09:00", draft="true"),
    })
    code, out, err = run_cli(["build", root])
    assert code == 0
    assert not (root / "output/gongzuo-dongtai/2024/03/d").exists()
    assert "草稿标题" not in "".join(p.read_text("utf-8") for p in (root / "output").rglob("*.html"))
    code, out, err = run_cli(["build", root, "--drafts", "-o", root / "preview"])
    assert code == 0
    page = (root / "preview/gongzuo-dongtai/2024/03/d/index.html").read_text("utf-8")
    assert "草稿标题" in page and "草稿：不会发布" in page


def test_build_says_to_preview_through_serve_not_from_disk(tmp_path):
    """Pages link their styles and each other from the site root, which file:// cannot resolve (issue 19): the
    build's last words point to serve first and warn against opening output/index.html from disk."""
    root = make_site(tmp_path, {"content/a.md": article("正式稿", "2024-03-05 09:00")})
    code, out, err = run_cli(["build", root])
    assert code == 0
    hint = out.strip().splitlines()[-2:]
    assert hint[0].startswith("预览：运行 make serve（或 sitegen serve ") and str(root) in hint[0]
    assert "不要直接双击打开 output/index.html" in hint[1] and "file://" in hint[1]
    assert 'href="/assets/' in (root / "output/index.html").read_text("utf-8")  # why: root-relative links


def test_future_excluded_unless_asked(tmp_path):
    root = make_site(tmp_path, {
        "content/a.md": article("正式稿", "2024-03-05 09:00"),
        "content/f.md": article("定时稿", "2030-01-01 09:00"),
    })
    code, out, err = run_cli(["build", root])
    assert code == 0
    assert "content/f.md:3: W130: 定时发布：2030-01-01 09:00 +08:00 之后才发布，本次未发布" in err
    assert not (root / "output/gongzuo-dongtai/2030").exists()
    code, _, _ = run_cli(["build", root, "--future"])
    assert code == 0 and (root / "output/gongzuo-dongtai/2030/01/f/index.html").is_file()


def test_template_error_leaves_previous_output_byte_identical(tmp_path):
    root = make_site(tmp_path, {"content/a.md": article("甲", "2024-03-05 09:00")})
    assert build_site(root).ok
    before = snapshot(root / "output")
    (root / "content/b.md").write_text(article("乙", "2024-03-06 09:00"), "utf-8")
    (root / "content/a.md").write_text(article("甲（改）", "2024-03-05 09:00"), "utf-8")
    (root / "themes/default/templates").mkdir(parents=True)
    (root / "themes/default/templates/article.html").write_text("{% extends 'base.html' %}\n{% block content %}\n"
                                                              "{{ page.title }\n{% endblock %}\n", "utf-8")
    with pytest.raises(TemplateError):
        build_site(root)
    assert snapshot(root / "output") == before
    assert not list(tmp_path.glob("site/.output.staging*"))
    code, out, err = run_cli(["build", root], subprocess_=True)
    assert code == 1 and "themes/default/templates/article.html:3: E501" in err and "Traceback" not in err
    assert snapshot(root / "output") == before


def test_strict_with_content_error_exits_1_and_writes_nothing(tmp_path):
    root = make_site(tmp_path, {
        "content/a.md": article("甲", "2024-03-05 09:00"),
        "content/bad.md": article("乙", "2024-03-05 09:00", category="不存在的栏目"),
    })
    code, out, err = run_cli(["build", root, "--strict"], subprocess_=True)
    assert code == 1
    assert "content/bad.md:4: E120: 未知的栏目“不存在的栏目”（可选：工作动态、基层动态）" in err
    assert "构建失败" in out and "Traceback" not in err + out
    assert not (root / "output").exists()
    # with a previous output, --strict leaves it byte-identical
    (root / "content/bad.md").unlink()
    assert run_cli(["build", root])[0] == 0
    before = snapshot(root / "output")
    (root / "content/bad.md").write_text(article("乙", "2024-03-05 09:00", category="不存在的栏目"), "utf-8")
    (root / "content/c.md").write_text(article("丙", "2024-03-07 09:00"), "utf-8")
    assert run_cli(["build", root, "--strict"])[0] == 1
    assert snapshot(root / "output") == before


def test_all_problems_printed_at_once_never_a_traceback(tmp_path):
    root = make_site(tmp_path, {
        "content/good.md": article("好稿", "2024-03-05 09:00"),
        "content/a.md": "---\ntitle: 甲\ndate: 2024-13-45\ncategory: 工作动态\n---\n\n正文。\n",
        "content/b.md": "---\ntitle：乙\ndate: 2024-03-05\ncategory: 工作动态\n---\n",
        "content/c.md": "---\ntitle: 丙\ndate: 2024-03-05\ncategory: 工作动态\ntags:\n\t- x\n---\n",
        "content/d.md": article("丁", "2024-03-05 09:00", body="见[缺失](nowhere.md)。"),
        "content/e.md": b"---\ntitle: x\n---\n\xff\xfe\xfa\n",
        "content/f.md": "没有 front matter\n",
    })
    code, out, err = run_cli(["build", root], subprocess_=True)
    assert code == 1
    assert "Traceback" not in out + err
    lines = [l for l in err.splitlines() if l.strip()]
    assert re.search(r"^content/a\.md:3: E102: 日期不存在：2024 年没有 13 月", err, re.M)
    assert "content/b.md:2:6: E104: 键“title”后面用了全角冒号“：”（请改成半角冒号加空格“: ”）  [错误]" in lines
    assert "content/c.md:6:1: E103: 缩进中有制表符（Tab）（YAML 只能用空格缩进，请把 Tab 换成两个空格）  [错误]" in lines
    assert "content/d.md:7: E201: 链接的文章不存在或未发布：nowhere.md（检查文件路径（相对于本文件））  [错误]" in lines
    assert any(l.startswith("content/e.md:4: E100: ") for l in lines)
    assert any(l.startswith("content/f.md:1: E100: ") for l in lines)
    for line in lines:
        assert re.match(r"^content/[a-f]\.md:\d+(:\d+)?: E\d{3}: \S", line), line
    assert len(lines) == 6
    assert "6 个错误" in out
    # the other pages still build
    assert (root / "output/gongzuo-dongtai/2024/03/good/index.html").is_file()
    assert (root / "output/gongzuo-dongtai/2024/03/d/index.html").is_file()


def test_check_command_reports_without_writing(tmp_path):
    root = make_site(tmp_path, {"content/a.md": article("甲", "2024-03-05 09:00", category="无")})
    code, out, err = run_cli(["check", root])
    assert code == 1 and "content/a.md:4: E120: 未知的栏目“无”" in out
    assert not (root / "output").exists()


def test_base_url_sub_path_prefixes_every_link(tmp_path):
    root = make_site(tmp_path, {
        "site.yaml": "title: 子路径站\nbase_url: https://www.example.org.cn/hebei/fulian/\n"
                     "categories: [{name: 工作动态, slug: gongzuo-dongtai}]\n",
        "content/2024/a.md": article("甲", "2024-03-05 09:00", tags="[妇联]", cover="p.jpg",
                                     body="见[乙](b.md)。\n\n![图](p.jpg)"),
        "content/2024/b.md": article("乙", "2024-03-06 09:00", tags="[妇联]", aliases="[/old/b.html]"),
        "content/2024/p.jpg": jpeg(),
        "content/pages/about.md": "---\ntitle: 关于我们\n---\n\n简介。\n",
    })
    report = build_site(root)
    assert report.ok and not report.problems, report.problems
    out = root / "output"
    checked = 0
    for page in out.rglob("*.html"):
        rel = page.relative_to(out).as_posix()
        html = page.read_text("utf-8")
        for link in html_links(html):
            if link.startswith("/"):
                assert link.startswith("/hebei/fulian/"), f"{rel}: {link}"
            target = resolve_link(out, rel, link, "/hebei/fulian/")
            assert target is not None, f"{rel}: {link}"
            checked += bool(target)
        for m in re.finditer(r'content="0; url=([^"]+)"', html):
            assert m.group(1).startswith("/hebei/fulian/")
        assert 'href="https://www.example.org.cn/hebei/fulian/' in html or rel == "old/b.html"
    assert checked > 20
    a = doc(out / "gongzuo-dongtai/2024/03/a/index.html")
    assert a.xpath("//div[@class='body']//a[@href='/hebei/fulian/gongzuo-dongtai/2024/03/b/']")
    img = a.xpath("//div[@class='body']//img")[0]
    assert img.get("src").startswith("/hebei/fulian/")
    assert all(u.startswith("/hebei/fulian/") for u in html_links(lxml.html.tostring(a)) if u.startswith("/"))


def test_missing_images_are_reported_and_the_page_still_builds(tmp_path):
    root = make_site(tmp_path, {
        "content/a.md": article("甲", "2024-03-05 09:00", cover="missing.jpg", body="正文。\n\n![图](nothere.jpg)"),
        "content/b.md": "---\ntitle: 乙\ndate: 2024-03-06\ncategory: 工作动态\nphotos:\n"
                        "  - {src: gone.jpg, caption: 说明文字, credit: 田野}\n---\n\n正文。\n",
    })
    code, out, err = run_cli(["build", root], subprocess_=True)
    assert code == 1 and "Traceback" not in err
    hint = "（请检查文件名和路径（区分大小写），并确认图片已放进站点目录）  [错误]"
    assert err.splitlines() == [f"content/a.md:5: E301: 找不到图片文件：missing.jpg{hint}",
                                f"content/a.md:10: E301: 找不到图片文件：nothere.jpg{hint}",
                                f"content/b.md:6: E301: 找不到图片文件：gone.jpg{hint}"]
    page = (root / "output/gongzuo-dongtai/2024/03/b/index.html").read_text("utf-8")
    assert "说明文字" in page and "田野 摄" in page
    assert (root / "output/gongzuo-dongtai/2024/03/a/index.html").is_file()
    code, out, err = run_cli(["build", root, "--strict", "-o", root / "strict-out"])
    assert code == 1 and not (root / "strict-out").exists()


def test_output_path_blocked_by_a_file_is_reported_in_chinese(tmp_path):
    """An OS error (here: a file where the output folder should be) is one Chinese line, never English."""
    from conftest import make_site, run_cli

    root = make_site(tmp_path, {"content/a.md": "---\ntitle: 文章\ndate: 2024-03-05\ncategory: 工作动态\n---\n\n正文。\n"})
    blocker = tmp_path / "blocker"
    blocker.write_text("x", "utf-8")
    code, out, err = run_cli(["build", root, "-o", blocker])
    assert code == 1
    assert err == (f"错误：已经存在同名的文件：{blocker}（输出目录的位置上有一个同名文件；请删除它或用 -o 换一个目录）\n")
    assert blocker.read_text("utf-8") == "x"


@pytest.mark.parametrize("where", [".", "content/out", "themes/x", ".."])
def test_output_folder_that_would_overwrite_the_project_is_refused(tmp_path, where):
    """`sitegen build -o .` overwrote the project's own files (an index.html of the admin's was replaced)."""
    from conftest import make_site, run_cli

    root = make_site(tmp_path / "p", {"content/a.md": "---\ntitle: 文章\ndate: 2024-03-05\ncategory: 工作动态\n---\n\n正文。\n",
                                      "index.html": "<p>自己的文件</p>\n"})
    code, out, err = run_cli(["build", root, "-o", root / where])
    assert code == 2
    assert err.startswith(f"错误：输出目录 {(root / where).resolve()} 不安全：")
    assert (root / "index.html").read_text("utf-8") == "<p>自己的文件</p>\n"
    assert not (root / "content" / "out").exists() and not (root / "themes").exists()


@pytest.mark.parametrize("jobs", ["0", "-3", "x"])
def test_jobs_must_be_a_positive_number(tmp_path, jobs):
    """`--jobs 0` and `--jobs -3` were accepted and silently ignored."""
    from conftest import make_site, run_cli

    root = make_site(tmp_path, {})
    code, out, err = run_cli(["build", root, "--jobs", jobs])
    assert code == 2 and "sitegen build：错误：--jobs" in err and "应为正整数" in err
    assert not (root / "output").exists()
