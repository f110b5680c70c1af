"""sitegen.content: front matter typing, dates and time zones, slugs, duplicate URLs, the editors' usual slips
(GBK, tabs, full-width colons, unquoted colons, BOM/CRLF), tags as one string, summaries, select and assemble."""
from __future__ import annotations

import re

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import make_site
from sitegen import config as configmod
from sitegen.build import plan as planmod
from sitegen import content
from sitegen.slugs import slugify, tag_slug

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def cfg(tmp_path):
    return configmod.load(make_site(tmp_path, {}))


def parse(cfg, rel: str, text: str | bytes, kind: str = "article", exists=lambda rel: False) -> content.Parsed:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return content.parse_page(content.Source(rel, kind), data, cfg, exists)


def fm(body: str = "正文。", **keys) -> str:
    keys = {"title": "标题", "date": "2024-03-05 09:00", "category": "工作动态", **keys}
    lines = [f"{k}: {v}" for k, v in keys.items() if v is not None]
    return "---\n" + "\n".join(lines) + "\n---\n\n" + body + "\n"


def ok(parsed: content.Parsed) -> content.Page:
    assert parsed.page is not None, [str(p) for p in parsed.problems]
    assert not [p for p in parsed.problems if p.severity == "error"], [str(p) for p in parsed.problems]
    return parsed.page


def messages(parsed) -> list[str]:
    return [str(p) for p in parsed.problems]


# --- front matter typing -------------------------------------------------------------------------------------


def test_front_matter_fields_are_typed(cfg):
    page = ok(parse(cfg, "content/2024/a.md", fm(
        title="2024", column="改革进行时", tags="[NO, ON, 1.10, 2024, 妇联]", author="01", source="河北妇女网",
        editor="王晓燕", summary="yes", draft="false", headline="true", pinned="yes", aliases="[/old/1.html]",
        subtitle="副标题")))
    assert page.title == "2024"
    assert page.column == "gaige-jinxingshi" and page.category == "gongzuo-dongtai"
    assert page.tags == ("NO", "ON", "1.10", "2024", "妇联")
    assert page.author == "01" and page.source_name == "河北妇女网" and page.editor == "王晓燕"
    assert page.summary == "yes"
    assert (page.draft, page.headline, page.pinned) == (False, True, True)
    assert page.aliases == ("/old/1.html",)
    assert page.extra == {"subtitle": "副标题"}
    assert page.kind == "article" and page.slug == "a"


def test_page_is_immutable(cfg):
    page = ok(parse(cfg, "content/a.md", fm()))
    with pytest.raises(AttributeError):
        page.title = "x"  # type: ignore[misc]


def test_tags_as_a_single_string(cfg):
    assert ok(parse(cfg, "content/a.md", fm(tags="妇联"))).tags == ("妇联",)
    assert ok(parse(cfg, "content/b.md", fm(tags="妇联改革，美丽庭院、家风建设"))).tags == ("妇联改革", "美丽庭院", "家风建设")


def test_wrong_types_are_reported(cfg):
    parsed = parse(cfg, "content/a.md", fm(title="[a, b]", draft="maybe"))
    assert parsed.page is None
    assert "content/a.md:2: E111: title 应为一段文字（写成 title: 内容）" in messages(parsed)
    assert "content/a.md:5: E112: draft 应为 true 或 false，实际是“maybe”（写成 draft: true）" in messages(parsed)


def test_missing_title_date_category(cfg):
    parsed = parse(cfg, "content/a.md", "---\nauthor: 某人\n---\n\n正文。\n")
    assert messages(parsed) == [
        "content/a.md:2: E110: 缺少标题 title（在 front matter 中写 title: 标题）",
        "content/a.md:2: E102: 缺少发布日期 date（写 date: 2026-11-28 09:30）",
        "content/a.md:2: E120: 缺少栏目 category（可选：工作动态、基层动态）",
    ]


def test_unknown_category_and_column(cfg):
    parsed = parse(cfg, "content/a.md", fm(category="时政", column="两会观察"))
    assert messages(parsed) == [
        "content/a.md:4: E120: 未知的栏目“时政”（可选：工作动态、基层动态）",
        "content/a.md:5: E121: 未知的专栏“两会观察”（可选：改革进行时）",
    ]


def test_unknown_category_hint_names_the_closest_one(cfg):
    """A typo (工做动态), a slug with a wrong letter or a shortened column name: the hint says which one was meant
    before listing the choices."""
    parsed = parse(cfg, "content/a.md", fm(category="工做动态", column="改革"))
    assert messages(parsed) == [
        "content/a.md:4: E120: 未知的栏目“工做动态”（是不是“工作动态”？可选：工作动态、基层动态）",
        "content/a.md:5: E121: 未知的专栏“改革”（是不是“改革进行时”？可选：改革进行时）",
    ]
    parsed = parse(cfg, "content/a.md", fm(category="jiceng-dontai"))
    assert messages(parsed) == ["content/a.md:4: E120: 未知的栏目“jiceng-dontai”（是不是“基层动态”？可选：工作动态、基层动态）"]


def test_category_by_slug_and_static_page_without_category(cfg):
    assert ok(parse(cfg, "content/a.md", fm(category="JICENG-dongtai"))).category == "jiceng-dongtai"
    page = ok(parse(cfg, "content/pages/about.md", "---\ntitle: 关于我们\n---\n\n简介。\n", kind="page"))
    assert page.url == "/about/" and page.category == ""


def test_duplicate_keys_are_an_error(cfg):
    parsed = parse(cfg, "content/a.md", "---\ntitle: 一\ndate: 2024-03-05\ntitle: 二\ncategory: 工作动态\n---\n")
    assert parsed.page is None
    assert messages(parsed) == ["content/a.md:4: E106: 键“title”重复出现（第 2 行已有）（删除其中一个）"]


# --- dates ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("written, expected", [
    ("2026-11-28", datetime(2026, 11, 28, 0, 0, tzinfo=SHANGHAI)),
    ("2026-11-28 09:30", datetime(2026, 11, 28, 9, 30, tzinfo=SHANGHAI)),
    ("2026-11-28 09:30:15", datetime(2026, 11, 28, 9, 30, 15, tzinfo=SHANGHAI)),
    ("2026-11-28T09:30:15", datetime(2026, 11, 28, 9, 30, 15, tzinfo=SHANGHAI)),
    ("2026/11/28 09:30", datetime(2026, 11, 28, 9, 30, tzinfo=SHANGHAI)),
    ("2026年11月28日", datetime(2026, 11, 28, tzinfo=SHANGHAI)),
    ("2026-11-28 09:30:00+08:00", datetime(2026, 11, 28, 9, 30, tzinfo=SHANGHAI)),
    ("2026-11-28T01:30:00Z", datetime(2026, 11, 28, 9, 30, tzinfo=SHANGHAI)),
    ("2026-11-27 20:30:00-05:00", datetime(2026, 11, 28, 9, 30, tzinfo=SHANGHAI)),
    ("2026-11-28 09:30+0800", datetime(2026, 11, 28, 9, 30, tzinfo=SHANGHAI)),
])
def test_parse_date(written, expected):
    got = content.parse_date(written, SHANGHAI)
    assert got == expected
    assert got.utcoffset().total_seconds() == 8 * 3600  # always shown in the site's zone


def test_naive_date_is_in_site_zone_and_url_day_does_not_shift(tmp_path):
    site = make_site(tmp_path, {"site.yaml": "title: t\nbase_url: https://a.cn/\ncategories: [{name: 快讯, slug: kx}]\n"
                                             "permalinks: {article: '/{year}/{month}/{day}/{slug}/'}\n"})
    cfg = configmod.load(site)
    page = ok(parse(cfg, "content/a.md", fm(category="快讯", date="2024-05-30 23:50:12", slug="late-news")))
    assert page.date.isoformat() == "2024-05-30T23:50:12+08:00"
    assert page.url == "/2024/05/30/late-news/"
    # an offset date is moved into the site's zone: 16:30 UTC is 00:30 next day in Beijing
    page = ok(parse(cfg, "content/b.md", fm(category="快讯", date="2024-02-29T16:30:00Z", slug="b")))
    assert page.url == "/2024/03/01/b/"


def test_bad_date_is_reported_with_line(cfg):
    parsed = parse(cfg, "content/a.md", fm(date="下周一"))
    assert messages(parsed) == ['content/a.md:3: E102: 日期格式无法识别："下周一"（应为 2026-11-28 或 2026-11-28 09:30）']


# --- slugs ---------------------------------------------------------------------------------------------------


def test_slug_from_ascii_stem(cfg):
    page = ok(parse(cfg, "content/2026/11/Meili-Tingyuan_2026.md", fm(title="美丽庭院")))
    assert page.slug == "meili-tingyuan-2026"
    assert page.url == "/gongzuo-dongtai/2024/03/meili-tingyuan-2026/"


def test_slug_from_bundle_folder(cfg):
    assert ok(parse(cfg, "content/2026/11/nongbohui-shougong/index.md", fm())).slug == "nongbohui-shougong"


def test_slug_from_chinese_stem_is_pinyin(cfg):
    page = ok(parse(cfg, "content/2026/10/广阳区妇女议事会让大事小情有商有量.md", fm()))
    assert page.slug == "guang-yang-qu-fu-nv-yi-shi-hui-rang-da-shi-xiao-qing-you-shang-you-liang"


def test_explicit_slug_wins(cfg):
    assert ok(parse(cfg, "content/abc.md", fm(slug="Shisanjie Liuci"))).slug == "shisanjie-liuci"


def test_empty_slug_falls_back_to_date_and_hash_with_warning(cfg):
    parsed = parse(cfg, "content/!!!.md", fm(title="'！！！'"))
    page = ok(parsed)
    assert page.slug.startswith("20240305-") and len(page.slug) == len("20240305-") + 6
    assert [p.code for p in parsed.problems] == ["W140"]
    assert f"已使用 {page.slug}" in str(parsed.problems[0])
    again = ok(parse(cfg, "content/!!!.md", fm(title="'！！！'")))
    assert again.slug == page.slug  # stable


def test_slugify_rules():
    assert slugify("〇〇后的选择：二〇二四年度观察") == "ling-ling-hou-de-xuan-ze-er-ling-er-si-nian-du-guan-cha"
    assert slugify("【快讯】沪指收涨1.2%，成交额超万亿元！") == "kuai-xun-hu-zhi-shou-zhang-1-2-cheng-jiao-e-chao-wan-yi-yuan"
    assert slugify("〇") == "ling"
    assert slugify("！！！") == ""
    assert slugify("绿色") == "lv-se"
    long = slugify("妇联" * 60)
    assert len(long) <= 80 and not long.endswith("-")
    # a tag the slug keeps whole has the plain slug; any other gets six hex digits of its own hash (case B33)
    assert tag_slug("NO") == "no" and tag_slug("Open  Source") == "open-source"
    assert re.fullmatch(r"1-10-[0-9a-f]{6}", tag_slug("1.10")) and re.fullmatch(r"t-[0-9a-f]{6}", tag_slug("★"))


# --- duplicate URLs ------------------------------------------------------------------------------------------


def test_duplicate_urls_name_both_files(cfg):
    a = ok(parse(cfg, "content/2024/a.md", fm()))
    b = ok(parse(cfg, "content/other/a.md", fm()))
    kept, problems = planmod.admit([a, b], cfg)
    assert [str(p) for p in problems] == [
        "content/other/a.md:1: E401: 网址 /gongzuo-dongtai/2024/03/a/ 与 content/2024/a.md 重复（请修改其中一篇的 slug）"]
    assert [p.source for p in kept] == ["content/2024/a.md"]


def test_duplicate_urls_differing_only_by_letter_case(cfg):
    a = ok(parse(cfg, "content/a.md", fm(slug="x", aliases="[/Old/News/]")))
    b = ok(parse(cfg, "content/b.md", fm(slug="y", aliases="[/old/news/]")))
    kept, problems = planmod.admit([a, b], cfg)
    assert problems == []
    site, _ = content.assemble(kept, cfg)
    problems = planmod.plan(site).problems  # an alias clash drops the alias, not the page
    assert [str(p) for p in problems] == [
        f"content/b.md:{b.alias_lines[0]}: E401: 网址 /old/news/ 与“content/a.md”（/Old/News/）重复"
        "（请修改或删除这一条旧网址（aliases））"]
    upper = ok(parse(cfg, "content/X.md", fm()))
    lower = ok(parse(cfg, "content/x.md", fm()))
    _, problems = planmod.admit([upper, lower], cfg)
    assert len(problems) == 1 and "content/X.md" in str(problems[0]) and "content/x.md" in str(problems[0])


# --- editors' slips ------------------------------------------------------------------------------------------


def test_gbk_file_is_decoded_with_warning(cfg):
    parsed = parse(cfg, "content/gbk.md", fm(title="河北省妇联召开会议", body="妇联工作。").encode("gbk"))
    page = ok(parsed)
    assert page.title == "河北省妇联召开会议" and "妇联工作。" in page.html
    assert messages(parsed) == ["content/gbk.md:1: W100: 文件是 GBK/GB18030 编码，已自动转换（建议在编辑器中另存为 UTF-8）"]
    assert parsed.problems[0].severity == "warning"


def test_undecodable_bytes(cfg):
    parsed = parse(cfg, "content/bin.md", b"---\ntitle: x\n---\n\xff\xfe\xfa\n")
    assert parsed.page is None and parsed.problems[-1].code == "E100"


def test_bom_and_crlf(cfg):
    page = ok(parse(cfg, "content/bom.md", b"\xef\xbb\xbf" + fm(title="春运首日").encode()))
    assert page.title == "春运首日"
    page = ok(parse(cfg, "content/crlf.md", fm(title="春运返程", body="第一段。\n\n第二段。").replace("\n", "\r\n")
                    .replace("---\r\n\r\n", "--- \r\n\r\n").encode()))
    assert page.title == "春运返程" and "\r" not in page.html and "<p>第二段。</p>" in page.html


def test_tab_in_indentation(cfg):
    parsed = parse(cfg, "content/tab.md", "---\ntitle: 制表符\ndate: 2024-03-05\ntags:\n\t- 两会\n---\n")
    # the front matter is still read (the tab as spaces): the missing category is reported in the same run
    assert messages(parsed) == ["content/tab.md:5:1: E103: 缩进中有制表符（Tab）（YAML 只能用空格缩进，请把 Tab 换成两个空格）",
                                "content/tab.md:2: E120: 缺少栏目 category（可选：工作动态、基层动态）"]


def test_full_width_colon_after_key(cfg):
    parsed = parse(cfg, "content/fw.md", "---\ntitle: 两会\ndate：2024-03-05\ncategory: 工作动态\n---\n")
    assert messages(parsed) == ["content/fw.md:3:5: E104: 键“date”后面用了全角冒号“：”（请改成半角冒号加空格“: ”）"]


def test_full_width_colon_inside_value_is_fine(cfg):
    assert ok(parse(cfg, "content/a.md", fm(title="两会观察：代表委员谈民生"))).title == "两会观察：代表委员谈民生"


def test_unquoted_colon_in_value_is_read_with_warning(cfg):
    parsed = parse(cfg, "content/colon.md", fm(title="两会观察: 代表委员谈民生"))
    assert ok(parsed).title == "两会观察: 代表委员谈民生"
    assert messages(parsed) == [
        "content/colon.md:2: W105: “title”的值中含有未加引号的“: ”，已按原文读作文字（建议给整个值加上引号）"]


def test_missing_and_unclosed_front_matter(cfg):
    assert [p.code for p in parse(cfg, "content/a.md", "正文。\n").problems] == ["E100"]
    assert messages(parse(cfg, "content/b.md", "---\ntitle: x\n")) == [
        "content/b.md:1: E100: front matter 没有结束的 ---（在标题、日期等信息之后单独写一行 ---）"]


def test_control_characters_removed_with_warning(cfg):
    parsed = parse(cfg, "content/a.md", fm(body="正文\x08内容。"))
    assert "\x08" not in ok(parsed).html
    assert [p.code for p in parsed.problems] == ["W101"]


# --- summaries -----------------------------------------------------------------------------------------------


def test_summary_from_text_without_markup(cfg):
    page = ok(parse(cfg, "content/a.md", fm(body="## 小标题\n\n第一句**加粗**，[链接](http://a.cn)<br>。第二句。")))
    assert page.summary == "第一句加粗，链接。第二句。"


def test_summary_cut_at_sentence_end_in_characters(tmp_path):
    site = make_site(tmp_path, {"site.yaml": "title: t\nbase_url: https://a.cn/\ncategories: [工作动态]\n"
                                             "summary_length: 20\n"})
    cfg = configmod.load(site)
    body = "一二三四五六七八九十一二。" + "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉。"
    assert ok(parse(cfg, "content/a.md", fm(body=body))).summary == "一二三四五六七八九十一二。"
    no_stop = "一二三四五六七八九十一二三四五六七八九十一二三四五六"
    assert ok(parse(cfg, "content/b.md", fm(body=no_stop))).summary == no_stop[:19] + "…"


def test_explicit_summary_wins(cfg):
    assert ok(parse(cfg, "content/a.md", fm(summary="编辑写的摘要"))).summary == "编辑写的摘要"


# --- select and assemble -------------------------------------------------------------------------------------


def test_select_drafts_and_future(cfg):
    now = datetime(2024, 5, 31, 1, 37, 2, tzinfo=SHANGHAI)
    past = ok(parse(cfg, "content/past.md", fm(date="2024-05-30 23:50:12")))
    future = ok(parse(cfg, "content/future.md", fm(date="2024-05-31 09:00:00")))
    draft = ok(parse(cfg, "content/draft.md", fm(draft="true")))
    kept, notes = content.select([past, future, draft], now=now, drafts=False, future=False)
    assert kept == [past]
    assert [str(n) for n in notes] == [
        "content/future.md:3: W130: 定时发布：2024-05-31 09:00 +08:00 之后才发布，本次未发布（到时间后重新构建即可发布；预览用 --future）"]
    kept, _ = content.select([past, future, draft], now=now, drafts=True, future=True)
    assert kept == [past, future, draft]


def test_assemble_indexes_and_order(cfg):
    a = ok(parse(cfg, "content/a.md", fm(date="2024-03-01", tags="[妇联, 家风]")))
    b = ok(parse(cfg, "content/b.md", fm(date="2024-03-03", tags="[妇联]", column="改革进行时")))
    c = ok(parse(cfg, "content/c.md", fm(date="2024-02-01", pinned="true", category="基层动态")))
    d = ok(parse(cfg, "content/d.md", fm(date="2024-03-02", pinned="true", tags="[家风]")))
    site, problems = content.assemble([a, b, c, d], cfg)
    assert problems == []
    assert [p.slug for p in site.articles] == ["b", "d", "a", "c"]  # newest first
    assert [p.slug for p in site.by_category["gongzuo-dongtai"]] == ["d", "b", "a"]  # pinned first, then newest
    assert [p.slug for p in site.by_column["gaige-jinxingshi"]] == ["b"]
    fulian, jiafeng = tag_slug("妇联"), tag_slug("家风")
    assert site.tags == {fulian: "妇联", jiafeng: "家风"} and fulian.startswith("fu-lian-")
    assert [p.slug for p in site.by_tag[fulian]] == ["b", "a"]
    assert sorted(site.months) == [(2024, 2), (2024, 3)]
    prev, nxt = site.neighbours[a.url]
    assert prev is None and nxt.slug == "d"
    assert [p.slug for p in site.related[a.url]] == ["b", "d"]


def test_broken_md_link_is_a_content_error_with_line(cfg):
    a = ok(parse(cfg, "content/a.md", fm(body="第一段。\n\n见[另一篇](b.md)和[缺失](missing.md)。"),
                 exists=lambda rel: rel == "content/b.md"))
    b = ok(parse(cfg, "content/b.md", fm()))
    _, problems = content.assemble([a, b], cfg)
    assert [str(p) for p in problems] == [
        "content/a.md:9: E201: 链接的文章不存在或未发布：missing.md（检查文件路径（相对于本文件））"]


def test_page_on_a_generated_url_is_an_error(cfg):
    page = ok(parse(cfg, "content/pages/gongzuo-dongtai.md", "---\ntitle: 冲突\n---\n\n正文。\n", kind="page"))
    tags = ok(parse(cfg, "content/pages/tags.md", "---\ntitle: 标签\n---\n\n正文。\n", kind="page"))
    kept, problems = planmod.admit([page, tags], cfg)
    assert [str(p) for p in problems] == [
        "content/pages/gongzuo-dongtai.md:1: E401: 网址 /gongzuo-dongtai/ 与栏目“工作动态”的列表页重复（请修改 slug（或文件名），换一个网址）",
        "content/pages/tags.md:1: E401: 网址 /tags/ 与标签索引页重复（请修改 slug（或文件名），换一个网址）"]
    assert kept == []


def test_scan_skips_odd_entries_instead_of_stopping_the_build(tmp_path, caplog):
    """A folder named like an article, broken or looping links and a link out of the project used to stop check
    and build with an OS error ("Is a directory", "Too many levels of symbolic links") or publish a file from
    outside the project."""
    from conftest import run_cli

    good = "---\ntitle: 好文章\ndate: 2024-03-05\ncategory: 工作动态\n---\n\n正文。\n"
    outside = tmp_path / "outside.md"
    outside.write_text(good.replace("好文章", "外部文件"), "utf-8")
    site = make_site(tmp_path, {"content/a.md": good})
    content_dir = site / "content"
    (content_dir / "folder.md").mkdir()
    (content_dir / "loop1.md").symlink_to("loop2.md")
    (content_dir / "loop2.md").symlink_to("loop1.md")
    (content_dir / "broken.md").symlink_to("nowhere.md")
    (content_dir / "out.md").symlink_to(outside)
    with caplog.at_level("WARNING", logger="sitegen.content"):
        sources = content.scan(configmod.load(site))
    assert [s.rel for s in sources] == ["content/a.md"]
    assert "content/out.md: 链接指向站点目录之外，已跳过（文章须是站点目录中的普通文件）" in caplog.messages
    code, out, err = run_cli(["build", site, "-q"])
    assert code == 0, err
    assert "Traceback" not in err and "外部文件" not in "".join(
        p.read_text("utf-8") for p in (site / "output").rglob("*.html"))


def test_windows_backslashes_in_image_and_link_paths(cfg):
    """An editor on Windows types photos\\2026\\a.jpg: it was looked up as one odd file name (E301)."""
    existing = {"content/photos/2026/a.jpg", "content/photos/2026/b.jpg", "content/2024/other.md"}
    page = ok(parse(cfg, "content/2024/x.md",
                    "---\ntitle: 标题\ndate: 2024-03-05\ncategory: 工作动态\ncover: photos\\2026\\a.jpg\n---\n\n"
                    "![图](photos\\2026\\b.jpg)\n\n见[另一篇](.\\other.md)。\n", exists=existing.__contains__))
    assert page.cover.rel == "content/photos/2026/a.jpg"
    assert [target for target, _, _ in page.images] == ["content/photos/2026/b.jpg"]
    assert [target for target, _, _ in page.links] == ["content/2024/other.md"]


# --- tags (case B33 is in test_cases.py) ---------------------------------------------------------------------


def test_tag_slugs_are_stable_and_distinct():
    # a function of the tag alone: the same in any site, whatever other tags exist
    assert tag_slug("政治") != tag_slug("整治") and tag_slug("政治").startswith("zheng-zhi-")
    assert {tag_slug(t) for t in ("C", "C++", "C#", "c plus plus")} == {
        "c", tag_slug("C++"), tag_slug("C#"), "c-plus-plus"}
    assert tag_slug("C++").startswith("c-plus-plus-") and tag_slug("C#").startswith("c-sharp-")
    # one tag whatever the letter case, width or spacing
    assert tag_slug("WiFi") == tag_slug("wifi") == tag_slug("ＷｉＦｉ") == "wifi"


def test_tags_differing_in_case_are_one_tag_named_as_most_articles_write_it(cfg):
    pages = [ok(parse(cfg, f"content/{n}.md", fm(date=f"2024-03-0{i + 1}", tags=f"[{t}]")))
             for i, (n, t) in enumerate((("a", "wifi"), ("b", "WiFi"), ("c", "WiFi")))]
    site, problems = content.assemble(pages, cfg)
    assert problems == [] and site.tags == {"wifi": "WiFi"} and len(site.by_tag["wifi"]) == 3
    assert site.tag_slug("WIFI") == "wifi"


def test_two_tags_on_one_url_are_reported(cfg):
    # a tag written as another tag's slug (never by accident): the later article's tag is reported, not merged
    taken = tag_slug("政治")
    first = ok(parse(cfg, "content/a.md", fm(date="2024-03-02", tags="[政治]")))
    second = ok(parse(cfg, "content/b.md", fm(date="2024-03-01", tags=f"[{taken}]")))
    site, problems = content.assemble([first, second], cfg)
    assert [str(p) for p in problems] == [
        f"content/b.md:5: E403: 标签“{taken}”与另一个标签（content/a.md）的网址都是 /tags/{taken}/（请换一种写法，或与那个标签统一）"]
    assert site.tags == {taken: "政治"} and [p.source for p in site.by_tag[taken]] == ["content/a.md"]


def test_known_tag_slugs_are_passed_along_and_filled(cfg):
    memo = {"妇联": "remembered-slug"}
    page = ok(parse(cfg, "content/a.md", fm(tags="[妇联, 家风]")))
    site, _ = content.assemble([page], cfg, memo)
    assert set(site.tags) == {"remembered-slug", tag_slug("家风")} and memo["家风"] == tag_slug("家风")


def test_aliases_list_items_are_kept_whole(cfg):
    page = ok(parse(cfg, "content/a.md", fm(aliases="['/news/show.asp?id=1,2', /old/a.html]")))
    assert page.aliases == ("/news/show.asp?id=1,2", "/old/a.html")
    page = ok(parse(cfg, "content/b.md", fm(aliases="/old/b.html, /old/c.html")))  # one string: split as before
    assert page.aliases == ("/old/b.html", "/old/c.html")
