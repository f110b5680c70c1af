"""Issue 21, hostile and broken input, with the inputs of the issue: bounded front matter and bodies (point 2), the
5,000-tag article, feeds that carry text as text (point 4), and the values editors' tools paste that used to be
accepted silently (point 6). ``site.yaml``'s side is in test_config.py, YAML's in test_yamlsafe.py, ``serve``'s in
test_serve.py, the property-based fuzz in test_fuzz.py."""
from __future__ import annotations

import re

import pytest

from conftest import build_site, make_site, run_cli
from sitegen import config as configmod
from sitegen import content
from sitegen.slugs import tag_slug

LIMITS = "limits: {render_seconds: 1}\n"


def article(body: str = "正文。", **keys) -> str:
    keys = {"title": "标题", "date": "2026-03-05 09:00", "category": "工作动态", **keys}
    return "---\n" + "".join(f"{k}: {v}\n" for k, v in keys.items()) + "---\n\n" + body + "\n"


def parse(tmp_path, text: str | bytes, rel: str = "content/2026/a.md", site_yaml: str | None = None):
    files = {"site.yaml": site_yaml} if site_yaml else {}
    cfg = configmod.load(make_site(tmp_path, files))
    data = text.encode() if isinstance(text, str) else text
    return content.parse_page(content.Source(rel, "article"), data, cfg)


def messages(parsed) -> list[str]:
    return [str(p) for p in parsed.problems]


# -- point 2: bounded input ---------------------------------------------------------------------------------------

def test_pathological_body_is_an_error_at_its_file_and_the_rest_builds(tmp_path):
    from conftest import DEFAULT_SITE_YAML

    root = make_site(tmp_path, {"site.yaml": DEFAULT_SITE_YAML + LIMITS,
                                "content/2026/bad.md": article("<b>" * 200_000),  # 600 KB of <b> tags
                                "content/2026/good.md": article(title="好文章")})
    code, out, err = run_cli(["build", root])
    assert code == 1
    assert ("content/2026/bad.md:1: E203: 读取和排版本文用了超过 1 秒，本文未发布（正文可能有成千上万个连续的 HTML 标签"
            "或强调符号（多来自网页粘贴）；请清理后保存，或在 site.yaml 的 limits.render_seconds 中放宽）  [错误]") in err
    assert (root / "output/gongzuo-dongtai/2026/03/good/index.html").is_file()
    assert not (root / "output/gongzuo-dongtai/2026/03/bad").exists()
    code, out, err = run_cli(["check", root])  # check is bounded by the same budget
    assert code == 1 and "content/2026/bad.md:1: E203:" in out + err


def test_article_size_limits_warn_then_refuse(tmp_path):
    site = "title: t\nbase_url: https://a.cn/\ncategories: [工作动态]\nlimits: {article_warning_kb: 1, article_error_kb: 4}\n"
    parsed = parse(tmp_path, article("妇联" * 400), site_yaml=site)
    assert parsed.page is not None
    assert messages(parsed) == ["content/2026/a.md:1: W109: 文件有 2 KB，超过 1 KB（长文请分成几篇；表格和图片请用附件或图片文件，"
                                "不要整段粘贴（上限在 site.yaml 的 limits 中））"]
    parsed = parse(tmp_path, article("妇联" * 2000), site_yaml=site)
    assert parsed.page is None and [p.code for p in parsed.problems] == ["E109"]
    assert "超过 4 KB，本文未发布" in messages(parsed)[0]


def test_billion_laughs_and_deep_nesting_in_front_matter(tmp_path):
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 7)]  # seven deep
    parsed = parse(tmp_path, "---\n" + "\n".join(rows) + "\ntitle: x\n---\n正文\n")
    assert parsed.page is None and messages(parsed)[0].startswith("content/2026/a.md:6: E108: 别名展开后超过 10000 项")
    parsed = parse(tmp_path, article(tags="[" * 600 + "]" * 600))
    assert parsed.page is None and messages(parsed)[0].startswith("content/2026/a.md:5: E107: 列表或键值的嵌套超过 50 层")


def test_deep_nesting_does_not_stop_the_rest_of_the_site(tmp_path):
    root = make_site(tmp_path, {"content/2026/deep.md": article(tags="[" * 600 + "]" * 600),
                                "content/2026/good.md": article(title="好文章")})
    code, out, err = run_cli(["build", root], subprocess_=True)
    assert code == 1 and "Traceback" not in err and "RecursionError" not in err
    assert "content/2026/deep.md:5: E107:" in err
    assert (root / "output/gongzuo-dongtai/2026/03/good/index.html").is_file()


def test_five_thousand_tags_warn_and_build(tmp_path):
    tags = "[" + ", ".join(f"标签{i}" for i in range(5000)) + "]"
    root = make_site(tmp_path, {"content/2026/many.md": article(tags=tags),
                                "content/2026/other.md": article(title="另一篇", tags="[标签1, 标签2, 妇联]")})
    report = build_site(root)
    assert [str(p) for p in report.problems if p.code == "W116"] == [
        "content/2026/many.md:5: W116: 标签有 5000 个，超过 50 个（每个标签都会生成一个列表页；请只保留最能说明本文的几个标签）"]
    assert (root / "output/tags" / tag_slug("标签4999") / "index.html").is_file()
    other = (root / "output/gongzuo-dongtai/2026/03/other/index.html").read_text("utf-8")
    assert "/gongzuo-dongtai/2026/03/many/" in other  # still related through the tags they share


# -- point 6: what was accepted silently ---------------------------------------------------------------------------

@pytest.mark.parametrize("weight", ["[1]", "1e400", "'十'", "{a: 1}", "99999999"])
def test_weight_must_be_an_integer(tmp_path, weight):
    parsed = parse(tmp_path, article(weight=weight))
    assert parsed.page is None
    assert [p.code for p in parsed.problems] == ["E114"]
    assert messages(parsed)[0].startswith("content/2026/a.md:5: E114: weight 应为 -1000000 到 1000000 之间的整数")


def test_updated_before_date_is_a_warning_and_ignored(tmp_path):
    parsed = parse(tmp_path, article(updated="2026-03-01 09:00"))
    assert parsed.page.updated is None and parsed.page.lastmod == parsed.page.date
    assert messages(parsed) == ["content/2026/a.md:5: W102: 更新日期 2026-03-01 09:00 早于发布日期 2026-03-05 09:00，已忽略"
                                "（updated 应写最后修改的时间，不早于 date；不需要时删掉这一行）"]


def test_bidi_override_and_zero_width_characters_are_removed_from_titles_and_slugs(tmp_path):
    parsed = parse(tmp_path, article(title="妇联\u202e工作\u200b动态", slug="gai\u200dge\u2066", tags="[妇\u200b联]"))
    page = parsed.page
    assert (page.title, page.slug, page.tags) == ("妇联工作动态", "gaige", ("妇联",))
    assert sorted(messages(parsed)) == [
        "content/2026/a.md:2: W101: 删除了不可见的控制字符 U+200B（零宽空格）（通常来自网页、微信或 Word 复制；这类字符会颠倒或隐藏读者看到的文字，已删除）",
        "content/2026/a.md:2: W101: 删除了不可见的控制字符 U+202E（从右到左覆盖）（通常来自网页、微信或 Word 复制；这类字符会颠倒或隐藏读者看到的文字，已删除）",
        "content/2026/a.md:5: W101: 删除了不可见的控制字符 U+200D（零宽连接符）（通常来自网页、微信或 Word 复制；这类字符会颠倒或隐藏读者看到的文字，已删除）",
        "content/2026/a.md:5: W101: 删除了不可见的控制字符 U+2066（从左到右隔离）（通常来自网页、微信或 Word 复制；这类字符会颠倒或隐藏读者看到的文字，已删除）",
        "content/2026/a.md:6: W101: 删除了不可见的控制字符 U+200B（零宽空格）（通常来自网页、微信或 Word 复制；这类字符会颠倒或隐藏读者看到的文字，已删除）",
    ]


def test_cyrillic_tags_get_a_transliterated_slug_never_one_letter():
    # transliterated, then 6 hex digits of the tag's own digest (two tags that read alike never share a page)
    assert re.fullmatch(r"raural-[0-9a-f]{6}", tag_slug("раураl"))  # was "l"
    assert re.fullmatch(r"moskva-[0-9a-f]{6}", tag_slug("Москва"))
    one = tag_slug("а")  # Cyrillic a: not the Latin tag "a"'s page
    assert one.startswith("a-") and len(one) == 8 and one != tag_slug("a")
    assert re.fullmatch(r"ellada-[0-9a-f]{6}", tag_slug("Ελλάδα"))
    assert re.fullmatch(r"fu-lian-[0-9a-f]{6}", tag_slug("妇联"))


def test_explicit_slug_mixing_scripts_is_a_warning(tmp_path):
    parsed = parse(tmp_path, article(slug="раураl"))
    assert parsed.page is not None
    assert messages(parsed) == ["content/2026/a.md:5: W141: slug“раураl”混用了西里尔字母、拉丁字母，可能被看成别的网址"
                                "（slug 请只用英文字母、数字、连字符或拼音）"]
    assert messages(parse(tmp_path, article(slug="fulian-妇联"))) == []  # Latin with Chinese is fine (UTS #39)


# -- point 1, site.yaml's side: check fails where it passed ------------------------------------------------------

def test_check_fails_on_a_permalink_pattern_leaving_output(tmp_path):
    from conftest import DEFAULT_SITE_YAML

    root = make_site(tmp_path, {"site.yaml": DEFAULT_SITE_YAML + 'permalinks: {article: "/../../{slug}/"}\n',
                                "content/2026/a.md": article()})
    code, out, err = run_cli(["check", root])
    assert code == 2
    assert "site.yaml:8: E908: permalinks.article：无效的链接格式“/../../{slug}/”" in out + err
    assert not (tmp_path / "a").exists() and not (root / "output").exists()
