"""sitegen.markup: tables, footnotes, Chinese heading ids, 2-space nested lists, CJK soft breaks, .md links and
image paths, the sanitizer, plain text and summaries."""
from __future__ import annotations

import lxml.html
import pytest

from conftest import build_site, make_site
from sitegen import markup


def render(text: str, *, source: str = "content/2024/a.md", first_line: int = 6, exists=lambda rel: False,
           trust_html: bool = False) -> markup.Rendered:
    return markup.render_markdown(text, source=source, first_line=first_line, exists=exists, trust_html=trust_html)


def test_table():
    html = render("| 名称 | 数量 |\n|---|---:|\n| 妇联 | 3 |\n").html
    tree = lxml.html.fragment_fromstring(html, create_parent="div")
    assert [th.text for th in tree.iter("th")] == ["名称", "数量"]
    assert [td.text for td in tree.iter("td")] == ["妇联", "3"]


def test_footnotes():
    html = render("正文[^1]。\n\n[^1]: 注释内容。\n").html
    assert '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup>' in html
    assert '<li id="fn:1">' in html and "注释内容。" in html and 'title="返回正文"' in html


def test_fenced_code_keeps_line_breaks():
    html = render("```\n第一行\n第二行\n```\n").html
    assert "第一行\n第二行" in html


def test_toc_ids_for_chinese_headings():
    r = render("## 强化政治意识，坚持改革的正确方向\n\n正文。\n\n### 一是坚持思想政治引领\n\n## 强化政治意识，坚持改革的正确方向\n")
    assert r.toc == (
        (2, "强化政治意识坚持改革的正确方向", "强化政治意识，坚持改革的正确方向"),
        (3, "一是坚持思想政治引领", "一是坚持思想政治引领"),
        (2, "强化政治意识坚持改革的正确方向_1", "强化政治意识，坚持改革的正确方向"),
    )
    assert '<h2 id="强化政治意识坚持改革的正确方向">' in r.html
    assert 'id="_1"' not in r.html


def test_nested_lists_indented_by_two_spaces():
    html = render("1. 稳就业\n2. 保民生\n  - 养老\n  - 医疗\n3. 促消费\n\n- 一级\n  - 二级\n    - 三级\n").html
    flat = html.replace("\n", "")
    assert "<ol><li>稳就业</li><li>保民生<ul><li>养老</li><li>医疗</li></ul></li><li>促消费</li></ol>" in flat
    assert "<ul><li>一级<ul><li>二级<ul><li>三级</li></ul></li></ul></li></ul>" in flat


def test_indent_nested_lists_leaves_code_alone():
    text = "```\n- a\n  - b\n```\n"
    assert markup.indent_nested_lists(text) == text


@pytest.mark.parametrize("written, expected", [
    ("妇联工作\n改革进行时", "<p>妇联工作改革进行时</p>"),
    ("全省共有\n2024个妇女之家", "<p>全省共有2024个妇女之家</p>"),
    ("他说\n“好”", "<p>他说“好”</p>"),
    ("“四个意识”\n提高站位", "<p>“四个意识”提高站位</p>"),
    ("first line\nsecond line", "<p>first line\nsecond line</p>"),
    ("妇联工作\n**改革**进行时", "<p>妇联工作<strong>改革</strong>进行时</p>"),
    ("**改革**\n进行时", "<p><strong>改革</strong>进行时</p>"),
    ("见[链接](https://a.cn/)\n下一行", '<p>见<a href="https://a.cn/">链接</a>下一行</p>'),
    ("plain **bold**\nnext", "<p>plain <strong>bold</strong>\nnext</p>"),
])
def test_cjk_soft_breaks(written, expected):
    assert render(written).html == expected


def test_md_links_rewritten_to_placeholders_and_recorded_with_lines():
    r = render("第一段。\n\n见[另一篇](../b.md#part)和[专题](/2024/c.md)，[外链](https://www.women.org.cn/a.md)。\n",
               exists=lambda rel: rel in ("content/b.md", "content/2024/c.md"))
    assert 'href="sitegen-md:content/b.md#part"' in r.html
    assert 'href="sitegen-md:content/2024/c.md"' in r.html
    assert 'href="https://www.women.org.cn/a.md"' in r.html
    assert r.links == (("content/b.md", "../b.md#part", 8), ("content/2024/c.md", "/2024/c.md", 8))


def test_images_resolved_beside_the_file_then_from_content():
    exists = {"content/2024/x.jpg", "content/photos/2024/y.jpg"}.__contains__
    r = render("![一](x.jpg)\n\n![二](photos/2024/y.jpg)\n\n![三](/photos/2024/y.jpg)\n\n![四](https://a.cn/z.jpg)\n",
               exists=exists)
    assert r.images == (("content/2024/x.jpg", "x.jpg", 6), ("content/photos/2024/y.jpg", "photos/2024/y.jpg", 8),
                        ("content/photos/2024/y.jpg", "/photos/2024/y.jpg", 10))
    assert 'src="sitegen-img:content/2024/x.jpg"' in r.html
    assert 'src="https://a.cn/z.jpg"' in r.html


def test_image_path_leaving_the_project_is_an_error(tmp_path):
    root = make_site(tmp_path, {"content/a.md": "---\ntitle: 图\ndate: 2024-03-05\ncategory: 工作动态\n---\n\n"
                                                "正文。\n\n![外面](../../../etc/passwd.jpg)\n"})
    report = build_site(root)
    assert [str(p) for p in report.errors] == [
        "content/a.md:9: E306: 图片路径离开了站点目录：../../../etc/passwd.jpg（图片须放在 content/ 中，写相对路径）"]


def test_broken_md_link_is_E201_at_its_line(tmp_path):
    root = make_site(tmp_path, {
        "content/a.md": "---\ntitle: 甲\ndate: 2024-03-05\ncategory: 工作动态\n---\n\n第一段。\n\n第二段[乙](b.md)。\n\n"
                        "第三段[丢了](gone.md)。\n",
        "content/b.md": "---\ntitle: 乙\ndate: 2024-03-04\ncategory: 工作动态\n---\n\n正文。\n"})
    report = build_site(root)
    assert [str(p) for p in report.errors] == [
        "content/a.md:11: E201: 链接的文章不存在或未发布：gone.md（检查文件路径（相对于本文件））"]
    html = (root / "output/gongzuo-dongtai/2024/03/a/index.html").read_text("utf-8")
    assert '<a href="/gongzuo-dongtai/2024/03/b/">乙</a>' in html


def test_sanitizer_removes_script_handlers_and_javascript_urls():
    html = render('正文<script>alert(1)</script>\n\n<img src="x.png" onerror="alert(2)">\n\n[点我](javascript:alert(3))\n\n'
                  '<a href="JaVaScRiPt:alert(4)" onclick="alert(5)">x</a>\n\n<p style="color:red" onmouseover="y()">样式</p>\n\n'
                  '<table><tr><td colspan="2">允许的表格</td></tr></table>\n\n<iframe src="https://v.qq.com/x"></iframe>\n').html
    low = html.lower()
    assert "<script" not in low and "alert(1)" not in low
    assert "onerror" not in low and "onclick" not in low and "onmouseover" not in low
    assert "javascript:" not in low
    assert '<td colspan="2">允许的表格</td>' in html
    assert '<iframe src="https://v.qq.com/x"></iframe>' in html


def test_trust_html_keeps_raw_html():
    html = render('<script>track()</script>\n\n<p onclick="x()">段落</p>\n', trust_html=True).html
    assert "<script>track()</script>" in html and 'onclick="x()"' in html


def test_trust_html_from_site_yaml(tmp_path):
    root = make_site(tmp_path, {
        "site.yaml": "title: t\nbase_url: https://a.cn/\ncategories: [工作动态]\nmarkdown: {trust_html: true}\n",
        "content/a.md": "---\ntitle: 甲\ndate: 2024-03-05\ncategory: 工作动态\n---\n\n<div data-x=\"1\" onclick=\"go()\">嵌入</div>\n"})
    report = build_site(root)
    assert report.ok
    html = next((root / "output").rglob("a/index.html")).read_text("utf-8")
    assert '<div data-x="1" onclick="go()">嵌入</div>' in html


def test_html_to_text_and_lead():
    html = render("## 标题\n\n第一段**加粗**文字[^1]。\n\n- 列表项\n\n| 表 |\n|---|\n| 格 |\n\n[^1]: 脚注。\n").html
    # blocks are separated, but no space is left between two Chinese characters; footnotes are dropped
    assert markup.html_to_text(html) == "标题第一段加粗文字。列表项表格"
    assert markup.lead_text(html) == "第一段加粗文字。列表项"
    assert markup.html_to_text("<p>5G 网络</p><p>abc</p><p>def</p>") == "5G 网络 abc def"


def test_summarize():
    assert markup.summarize("短文。", 80) == "短文。"
    text = "甲" * 30 + "。" + "乙" * 60
    assert markup.summarize(text, 40) == "甲" * 30 + "。"  # keeps at least half of the limit: cut at the sentence
    text = "甲" * 10 + "。" + "乙" * 60
    # a sentence end too early: cut at the limit, the "…" counted in it
    assert markup.summarize(text, 40) == "甲" * 10 + "。" + "乙" * 28 + "…"
    assert markup.summarize("😀" * 50, 10) == "😀" * 9 + "…"
    assert markup.summarize("第一，第二，" * 20, 9) == "第一，第二，第一…"
    assert len(markup.summarize("字" * 500, 120)) == 120


def test_link_lines_skip_prose_mentions_and_count_repeats():
    r = render("文件 nope.md 已删除。\n\n见[这里](nope.md)。\n\n再见[那里](nope.md)。\n\n![图](a.jpg)与![图](a.jpg)\n\n"
               "[参考][1]\n\n[1]: ref.md\n")
    assert [line for _, _, line in r.links] == [8, 10, 16]
    assert [line for _, _, line in r.images] == [12, 12]
