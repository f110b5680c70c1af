"""Content as it really arrives (issue 17, point 8): what Windows and Mac editors, phones, Word, WPS, WeChat and
Typora put in a file, found in the public issue trackers of other generators and Markdown tools. Each test names its
source; the file is published as its editor sees it, or the problem is reported at its line."""
from __future__ import annotations

import re

import lxml.html
import pytest
from PIL import Image

from conftest import REPO, build_site, make_site
from sitegen import config as configmod
from sitegen import content

FM = "---\ntitle: 来稿\ndate: 2024-03-05 09:00\ncategory: 工作动态\nslug: a\n---\n\n"
PAGE = "output/gongzuo-dongtai/2024/03/a/index.html"


def parse(tmp_path, text: str | bytes, files: dict | None = None):
    root = make_site(tmp_path, files or {})
    data = text.encode("utf-8") if isinstance(text, str) else text
    return content.parse_page(content.Source("content/a.md", "article"), data, configmod.load(root),
                              exists=lambda rel: (root / rel).is_file())


def body_of(root) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring((root / PAGE).read_bytes()).xpath("//div[@class='body']")[0]


def test_no_break_space_after_a_list_marker_still_makes_a_list(tmp_path):
    """https://github.com/Python-Markdown/markdown/issues/428 — a list item whose marker is followed by U+00A0
    (Word, web pages) was read as text inside the previous item; https://github.com/remarkjs/remark/issues/301 —
    a nested list indented with no-break spaces on iOS was flattened. The editor sees a list: so do readers."""
    page = parse(tmp_path, FM + "-\u00a0第一项\n-\u00a0第二项\n\u00a0\u00a0-\u00a0第二项的细节\n\n#\u00a0小标题\n").page
    flat = re.sub(r">\s+<", "><", page.html)
    assert "<ul><li>第一项</li><li>第二项<ul><li>第二项的细节</li></ul></li></ul>" in flat
    assert re.search(r"<h1[^>]*>小标题</h1>", flat)


def test_no_break_spaces_indenting_front_matter_are_read_as_spaces(tmp_path):
    """https://github.com/syntaxfm/website/pull/2179 (and https://github.com/webpack/webpack.js.org/pull/1069): a
    list in front matter indented with U+00A0 broke YAML parsing ("could not find expected ':'") and the page
    was lost. Here it is read as the spaces the editor sees, with a warning at the line."""
    text = "---\ntitle:\u00a0来稿\ndate: 2024-03-05 09:00\ncategory: 工作动态\ntags:\n\u00a0\u00a0- 妇联\n\u3000- 家风\n---\n正文。\n"
    parsed = parse(tmp_path, text)
    assert parsed.page.title == "来稿" and parsed.page.tags == ("妇联", "家风")
    assert [(p.location.line, p.code) for p in parsed.problems] == [(2, "W107"), (6, "W107"), (7, "W107")]


def test_carriage_returns_alone_end_lines(tmp_path):
    """https://github.com/jekyll/jekyll/issues/3304 — files with CR line ends (classic Mac OS editors, chat programs
    built on libpurple) lost their front matter. CR, CRLF and LF all end a line."""
    page = parse(tmp_path, FM.replace("\n", "\r") + "第一段。\r\r第二段。\r").page
    assert page.title == "来稿" and "<p>第二段。</p>" in page.html


def test_utf16_files_from_windows_are_converted(tmp_path):
    """https://github.com/gohugoio/hugo/issues/10747 — a file written by Windows PowerShell's ``>`` (or Notepad's
    "Unicode") is UTF-16 and was refused ("only UTF-8 documents are currently supported"). It is read, with a
    warning."""
    parsed = parse(tmp_path, (FM + "正文。\n").encode("utf-16"))
    assert parsed.page.title == "来稿" and "<p>正文。</p>" in parsed.page.html
    assert [(p.code, p.severity) for p in parsed.problems] == [("W100", "warning")]


def test_capitalised_keys_from_word_processors(tmp_path):
    """https://github.com/getpelican/pelican/pull/241 (and the note asked for in
    https://github.com/getpelican/pelican/pull/1800): metadata keys written ``Title:``/``Date:`` — as Word, WPS and
    phone keyboards capitalise the first letter of a line — were not the keys the generator knew."""
    parsed = parse(tmp_path, "---\nTitle: 来稿\nDate: 2024-03-05 09:00\nCategory: 工作动态\n---\n正文。\n")
    assert parsed.page.title == "来稿" and parsed.page.category == "gongzuo-dongtai"
    assert [(p.location.line, p.code) for p in parsed.problems] == [(2, "W108"), (3, "W108"), (4, "W108")]


def test_byte_order_marks_inside_the_text_are_removed(tmp_path):
    """https://github.com/manubot/rootstock/issues/247 — a U+FEFF left in the middle of a document (files joined
    together, text copied from a file with a BOM) made ``## 1. …`` a paragraph instead of a heading."""
    parsed = parse(tmp_path, FM + "第一段。\n\n\ufeff## 一、工作部署\n\n正文。\n")
    assert re.search(r"<h2[^>]*>一、工作部署</h2>", parsed.page.html)
    assert [(p.location.line, p.code) for p in parsed.problems] == [(10, "W101")]


def test_zero_width_spaces_do_not_split_tags_or_slugs(tmp_path):
    """https://github.com/mdn/content/pull/329 — zero-width spaces pasted into front matter (a ``slug:``) broke the
    build; https://github.com/misskey-dev/misskey/issues/10179 — a tag with a zero-width space is another tag that
    looks the same. They are removed, with a warning at the line."""
    text = "---\ntitle: 来稿\ndate: 2024-03-05 09:00\ncategory: 工作动态\nslug: lai\u200bgao\ntags: [妇\u200b联, 妇联]\n---\n正文。\n"
    parsed = parse(tmp_path, text)
    assert parsed.page.slug == "laigao" and parsed.page.tags == ("妇联",)
    assert [(p.location.line, p.code) for p in parsed.problems] == [(5, "W101"), (6, "W101")]


def test_smart_quotes_in_front_matter(tmp_path):
    """https://github.com/grafana/writers-toolkit/issues/31 — smart quotes typed in front matter broke Hugo builds
    (a curly quote is no YAML quote, so ``: `` inside the title is a syntax error). The title is published as the
    editor typed it; curly quotes around each tag, typed for YAML quotes, are taken off."""
    text = "---\ntitle: “巾帼建功”标兵: 张华\ndate: 2024-03-05 09:00\ncategory: 工作动态\ntags: [“妇联”, 「家风」]\n---\n正文。\n"
    parsed = parse(tmp_path, text)
    assert parsed.page.title == "“巾帼建功”标兵: 张华" and parsed.page.tags == ("妇联", "家风")
    assert sorted(p.code for p in parsed.problems) == ["W105", "W110", "W110"]


def test_ideographic_space_paragraph_indent(tmp_path):
    """https://github.com/commonmark/commonmark.js/issues/261 — U+3000, the way Chinese editors indent a
    paragraph (“　　”, four of them in a row look like Markdown's code indentation), was taken for Markdown
    indentation. It is a paragraph, indented on the page by the theme (two characters, as the editor sees it),
    not twice, and not a code block."""
    page = parse(tmp_path, FM + "\u3000\u3000\u3000\u3000全省妇联系统深入学习。\n\n\u3000\u3000第二段。\n").page
    assert "<p>全省妇联系统深入学习。</p>" in page.html and "<p>第二段。</p>" in page.html and "<pre>" not in page.html
    assert page.summary == "全省妇联系统深入学习。第二段。"
    assert ".body p { text-indent: 2em;" in (REPO / "themes/default/static/style.css").read_text("utf-8")


def test_unicode_line_separators_are_line_breaks(tmp_path):
    """https://github.com/sublimehq/sublime_text/issues/2625 — U+2028, copied from web pages and chat programs, is
    invisible in some editors and a line break in others. It is read as a line break, with a warning."""
    parsed = parse(tmp_path, FM + "第一段。\u2029第二段。\n")
    assert "<p>第一段。</p>" in parsed.page.html and "<p>第二段。</p>" in parsed.page.html
    assert [(p.location.line, p.code) for p in parsed.problems] == [(8, "W103")]


def test_windows_path_of_an_image_on_the_editors_computer(tmp_path):
    """https://github.com/typora/typora-issues/issues/1167 (and
    https://github.com/typora/typora-issues/issues/5056) — Typora writes a dropped picture as its path on the
    Windows PC (``c:\\test\\piano.png``), which no web server has. It is reported at its line; the page is
    published without it."""
    root = make_site(tmp_path, {"content/a.md": FM + "会场照片：\n\n![会场](C:\\Users\\wang\\AppData\\Roaming\\Typora\\"
                                                      "typora-user-images\\image-20240305.png)\n"})
    report = build_site(root)
    assert [str(p) for p in report.problems] == [
        "content/a.md:10: E306: 图片路径是编辑者电脑上的位置，网站上无法显示：C:\\Users\\wang\\AppData\\Roaming\\Typora\\"
        "typora-user-images\\image-20240305.png（把图片放到本文所在的文件夹（或 content/ 中），写相对路径，如 "
        "![说明](图片文件名.jpg)）"]
    assert not body_of(root).xpath(".//img") and (root / PAGE).is_file()


def test_typora_resized_images_are_published(tmp_path):
    """https://github.com/AmazingRise/hugo-theme-diary/issues/100 — Typora writes a resized picture as raw HTML
    (``<img src="…" style="zoom:50%;" />``, its documented way, https://github.com/typora/typora-issues/issues/358),
    and the generator left it out. It is published like any photo: resized variants in a ``<picture>``."""
    root = make_site(tmp_path, {"content/a.md": FM + '<img src="huichang.png" alt="会场" style="zoom:50%;" />\n'})
    Image.new("RGB", (1200, 800), "navy").save(root / "content/huichang.png")
    report = build_site(root)
    assert report.ok and not report.problems
    (img,) = body_of(root).xpath(".//picture//img")
    assert img.get("alt") == "会场" and re.fullmatch(r"/media/\w+/huichang-960\.jpg", img.get("src"))
    assert (root / "output" / img.get("src").lstrip("/")).is_file() and img.get("style") is None


def test_upper_case_extensions_written_in_lower_case(tmp_path):
    """https://github.com/devopsdays/devopsdays-web/pull/3691 (a Hugo site; also
    https://github.com/LearningLocker/docs/pull/69) — ``DSC0001.JPG`` written ``DSC0001.jpg``: the same file on the
    editor's Windows PC or Mac, a missing one on the Linux server. It is published, with a warning at the line."""
    root = make_site(tmp_path, {"content/a.md": FM + "![会场](DSC0001.jpg)\n\n[报名表](报名表.docx)\n"})
    Image.new("RGB", (600, 400), "navy").save(root / "content/DSC0001.JPG", "JPEG")
    (root / "content/报名表.DOCX").write_bytes(b"PK\x03\x04 placeholder")
    report = build_site(root)
    assert [(p.location.line, p.code) for p in report.problems] == [(8, "W303"), (10, "W303")]
    assert body_of(root).xpath(".//picture//img") and (root / "output/gongzuo-dongtai/2024/03/a/报名表.DOCX").is_file()


def test_attachment_names_with_spaces_written_percent_encoded(tmp_path):
    """https://github.com/mkdocs/mkdocs/issues/1670 — a link to a file whose name has a space, written ``%20`` as
    Markdown requires, was not found because the path was not decoded. It is found, and its URL encoded once."""
    root = make_site(tmp_path, {"content/a.md": FM + "[通知全文](通知%20全文.pdf)\n"})
    (root / "content/通知 全文.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    report = build_site(root)
    assert report.ok and not report.problems
    (href,) = body_of(root).xpath(".//a/@href")
    assert href == "/gongzuo-dongtai/2024/03/a/%E9%80%9A%E7%9F%A5%20%E5%85%A8%E6%96%87.pdf"
    assert (root / "output/gongzuo-dongtai/2024/03/a/通知 全文.pdf").read_bytes() == b"%PDF-1.4\n%%EOF\n"


def test_heic_photos_from_phones(tmp_path):
    """https://github.com/gohugoio/hugo/pull/14553 — iPhones save photos as HEIC, which no browser but Safari
    shows; generators could not process them. The photo is published as JPEG and WebP variants."""
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif is a declared dependency of sitegen")
    pillow_heif.register_heif_opener()
    root = make_site(tmp_path, {"content/a.md": FM.replace("slug: a\n", "slug: a\ncover: IMG_0001.HEIC\n") + "正文。\n"})
    try:
        Image.new("RGB", (800, 600), "teal").save(root / "content/IMG_0001.HEIC", format="HEIF")
    except Exception as exc:  # noqa: BLE001 - an encoder missing from this libheif build
        pytest.skip(f"this pillow-heif cannot write HEIC ({exc}); reading is tested in test_images.py")
    report = build_site(root)
    assert report.ok and not report.problems
    html = (root / PAGE).read_text("utf-8")
    assert re.search(r'srcset="/media/\w+/img_0001-480\.webp 480w, /media/\w+/img_0001-800\.webp 800w"', html)
