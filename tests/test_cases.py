"""The cases of shared/cases/ that concern the core (B01 B02 B04 B06 B07 B09 B18 B19 B25 B33 B38 B41 B43 B44), each
asserting the right value from its CASE.md. Inputs are copied byte-exact into tests/cases/<case>/ with site.yaml mapped
to sitegen's schema (title and the categories used added; ``permalink:`` → ``permalinks: {article: …}``); a case's
``make_images.py`` writes its photos or attachments into the copy before the build."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest
from PIL import Image

from conftest import build_site, html_links, resolve_link, run_cli
from sitegen.slugs import tag_slug

CASES = Path(__file__).resolve().parent / "cases"


def case_site(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(CASES / name, root)
    if (root / "make_images.py").is_file():  # run from the case folder, as its CASE.md says
        subprocess.run([sys.executable, "make_images.py"], cwd=root, check=True)
        (root / "make_images.py").unlink()
    return root


BINARY = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".ico")


def all_output(out: Path) -> dict[str, bytes]:
    """Every text output file: all but the search index (zlib-compressed binary files under search-index/) and
    images (the theme's beian.png, photos)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.relative_to(out).as_posix().startswith("search-index/")
            and p.suffix.lower() not in BINARY}


def doc(path: Path):
    return lxml.html.document_fromstring(path.read_bytes())


def text_of(el) -> str:
    return re.sub(r"\s+", " ", el.text_content()).strip()


def summaries(listing: Path) -> list[str]:
    return [text_of(p) for p in doc(listing).xpath("//p[@class='summary']")]


def test_B01_cjk_summary_respects_the_length_in_characters(tmp_path):
    root = case_site(tmp_path, "B01")
    report = build_site(root)
    # the case's link to ../专题/两会.md points at no file: a content error at its line, the page still builds
    assert [str(p) for p in report.problems] == [
        "content/2024/03/两会民生.md:10: E201: 链接的文章不存在或未发布：../专题/两会.md（检查文件路径（相对于本文件））"]
    out = root / "output"
    expected = ("全国两会期间，多位代表委员围绕就业、养老、医疗等民生议题建言献策。就业方面，有代表建议进一步扩大高校毕业生见习"
                "岗位规模，并对吸纳就业较多的中小企业给予稳岗补贴。")
    assert len(expected) == 80
    assert summaries(out / "shizheng/index.html") == [expected]
    assert summaries(out / "lianghui-guancha/index.html") == [expected]
    page = out / "2024/03/05/liang-hui-min-sheng/index.html"
    assert page.is_file()  # the Chinese file name gives a pinyin slug
    assert doc(page).xpath("//meta[@name='description']")[0].get("content") == expected
    (five_g,) = summaries(out / "keji/index.html")
    assert five_g != "5G…" and len(five_g) <= 80
    assert five_g.startswith("5G 网络覆盖持续扩大，截至二月底全国累计建成基站超过三百五十万个") and five_g.endswith("…")


def test_B02_slugs_are_never_empty_and_transliterate_ling(tmp_path):
    # sitegen's slug mode is pinyin: explicit slug, else the ASCII file stem, else pinyin of the stem/title;
    # 〇 → "ling", punctuation → a single "-"; a title with nothing to transliterate falls back to date+hash.
    root = case_site(tmp_path, "B02")
    assert build_site(root).ok
    out = root / "output"
    for slug in ("a", "b", "c"):
        assert (out / f"2024/03/05/{slug}/index.html").is_file()
    # the same articles saved under their titles, as editors do: the slug comes from the Chinese name
    titled = tmp_path / "titled"
    shutil.copytree(CASES / "B02", titled)
    for src, name in (("a", "〇〇后的选择：二〇二四年度观察"), ("b", "〇"), ("c", "【快讯】沪指收涨1.2%，成交额超万亿元！")):
        (titled / "content" / f"{src}.md").rename(titled / "content" / f"{name}.md")
    report = build_site(titled)
    assert report.ok and not report.problems
    out = titled / "output"
    for slug in ("ling-ling-hou-de-xuan-ze-er-ling-er-si-nian-du-guan-cha", "ling",
                 "kuai-xun-hu-zhi-shou-zhang-1-2-cheng-jiao-e-chao-wan-yi-yuan"):
        assert (out / f"2024/03/05/{slug}/index.html").is_file(), slug
    for path in out.rglob("*"):
        rel = path.relative_to(out).as_posix()
        assert "//" not in rel and "/-/" not in f"/{rel}/" and not re.search(r"(^|/)-|-($|/)|--", rel), rel
    for page in out.rglob("*.html"):
        for link in html_links(page.read_bytes()):
            if link.startswith("/"):
                assert "//" not in link and "/-/" not in link, link


def test_B02_title_without_letters_gets_documented_fallback(tmp_path):
    root = case_site(tmp_path, "B02")
    (root / "content/b.md").rename(root / "content/！！！.md")
    (root / "content/！！！.md").write_text("---\ntitle: 【】！\ndate: 2024-03-05 10:00:00\ncategory: 社会\n---\n\n正文。\n",
                                          "utf-8")
    report = build_site(root)
    (warning,) = [p for p in report.problems if p.code == "W140"]
    slug = re.search(r"已使用 (\S+?)（", str(warning)).group(1)
    assert re.fullmatch(r"20240305-[0-9a-f]{6}", slug)
    assert (root / f"output/2024/03/05/{slug}/index.html").is_file()


def test_B04_bom_and_crlf_files_keep_their_front_matter(tmp_path):
    root = case_site(tmp_path, "B04")
    assert (root / "content/bom.md").read_bytes().startswith(b"\xef\xbb\xbf---\n")
    assert b"--- \r\n" in (root / "content/crlf.md").read_bytes()
    report = build_site(root)
    assert report.ok and not report.problems
    out = root / "output"
    for path, title in (("2024/01/26/bom", "春运首日客流平稳"), ("2024/02/17/crlf", "春运返程高峰来临")):
        tree = doc(out / path / "index.html")
        assert text_of(tree.find(".//h1")) == title
        assert text_of(tree.find(".//title")) == f"{title} - B04 编码"
        assert "社会" in text_of(tree.find(".//main"))
    assert text_of(doc(out / "2024/02/17/crlf/index.html").xpath("//div[@class='body']")[0]) == "返程客流明显增加。"
    for rel, data in all_output(out).items():
        assert b"\r" not in data and "\ufeff".encode() not in data, rel


def test_B06_colons_full_width_colons_and_tabs(tmp_path):
    root = case_site(tmp_path, "B06")
    report = build_site(root)
    got = [str(p) for p in report.problems]
    assert got == [
        "content/colon.md:2: W105: “title”的值中含有未加引号的“: ”，已按原文读作文字（建议给整个值加上引号）",
        "content/fullwidth-all.md:2: E100: front matter 不是“键: 值”的形式（键“title”后面用了全角冒号“：”，请改成半角冒号加空格“: ”）",
        "content/fullwidth-title.md:2:6: E104: 键“title”后面用了全角冒号“：”（请改成半角冒号加空格“: ”）",
        # the front matter is read with the tab as spaces, so the file's other problem shows in the same run
        "content/tab.md:2: E120: 缺少栏目 category（可选：时政）",
        "content/tab.md:5:1: E103: 缩进中有制表符（Tab）（YAML 只能用空格缩进，请把 Tab 换成两个空格）",
    ]
    out = root / "output"
    assert text_of(doc(out / "2024/03/05/colon/index.html").find(".//h1")) == "两会观察: 代表委员谈民生"
    assert sorted(p.parent.name for p in (out / "2024").rglob("index.html") if p.parent.parent.name == "05") == ["colon"]
    code, stdout, stderr = run_cli(["build", root, "--strict"], subprocess_=True)
    assert code == 1 and "Traceback" not in stderr
    assert "content/fullwidth-title.md:2:6: E104:" in stderr and "content/tab.md:5:1: E103:" in stderr


def test_B07_strings_stay_strings(tmp_path):
    root = case_site(tmp_path, "B07")
    report = build_site(root, now="2025-01-01T00:00:00+08:00")
    assert report.ok and not report.problems
    out = root / "output"
    page = doc(out / "2024/12/31/norway/index.html")
    assert text_of(page.find(".//h1")) == "2024"
    assert [text_of(a) for a in page.xpath("//p[@class='tags']/a")] == ["挪威", "NO", "ON", "1.10"]
    assert text_of(page.xpath("//p[@class='meta']")[0]).endswith("作者：本报驻外记者")
    assert summaries(out / "guoji/index.html") == ["yes"]
    assert summaries(out / "on/index.html") == ["yes"]  # column "On" is a column, not True
    # tag pages at the slug of each tag (sitegen.slugs: 1.10 and 挪威 lose characters in their slug, so they carry
    # a hash of the tag)
    assert [tag_slug(t)[:-7] for t in ("1.10", "挪威")] == ["1-10", "nuo-wei"]
    for slug, name in (("no", "NO"), ("on", "ON"), (tag_slug("1.10"), "1.10"), (tag_slug("挪威"), "挪威")):
        tag = doc(out / "tags" / slug / "index.html")
        assert text_of(tag.find(".//h1")) == f"标签：{name}"
    for wrong in ("false", "true", "1-1", "1.1"):
        assert not (out / "tags" / wrong).exists()


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Shanghai"])
def test_B09_naive_dates_in_site_zone_whatever_the_host_zone(tmp_path, tz):
    root = case_site(tmp_path, "B09")
    code, stdout, stderr = run_cli(["build", root], subprocess_=True, now="2024-05-31T01:37:02+08:00", env={"TZ": tz})
    assert code == 0, stderr
    assert stderr.splitlines() == [
        "content/future.md:3: W130: 定时发布：2024-05-31 09:00 +08:00 之后才发布，本次未发布"
        "（到时间后重新构建即可发布；预览用 --future）  [提示]"]
    out = root / "output"
    past = out / "2024/05/30/late-news/index.html"
    assert past.is_file()
    assert '<time datetime="2024-05-30T23:50:12+08:00">2024年05月30日 23:50</time>' in past.read_text("utf-8")
    assert (out / "2024/03/01/half-past-midnight/index.html").is_file()
    assert not (out / "2024/05/31").exists()
    for rel, data in all_output(out).items():
        text = data.decode("utf-8", "replace")
        assert "预约发布的稿件" not in text and "/scheduled/" not in text, rel
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("2024/*/*/*/index.html")) == [
        "2024/03/01/half-past-midnight/index.html", "2024/05/30/late-news/index.html"]


def test_B09_future_flag_publishes_the_scheduled_post(tmp_path):
    root = case_site(tmp_path, "B09")
    code, _, _ = run_cli(["build", root, "--future"], now="2024-05-31T01:37:02+08:00")
    assert code == 0 and (root / "output/2024/05/31/scheduled/index.html").is_file()


def test_B18_two_space_nested_lists_nest(tmp_path):
    root = case_site(tmp_path, "B18")
    assert build_site(root).ok
    html = (root / "output/2024/03/05/list/index.html").read_text("utf-8")
    flat = re.sub(r">\s+<", "><", html)
    assert "<ol><li>稳就业</li><li>保民生<ul><li>养老</li><li>医疗</li></ul></li><li>促消费</li></ol>" in flat
    assert "<ul><li>一级<ul><li>二级<ul><li>三级</li></ul></li></ul></li></ul>" in flat


def test_B19_raw_script_is_removed_everywhere(tmp_path):
    root = case_site(tmp_path, "B19")
    report = build_site(root)
    assert report.ok and not report.errors
    out = root / "output"
    for rel, data in all_output(out).items():
        text = data.decode("utf-8", "replace").lower()
        # the theme's own scripts (fingerprinted files, no inline code) are the only scripts allowed
        text = re.sub(r'<script (?:type="module" )?src="/assets/[\w-]+\.[0-9a-f]{8}\.js"(?: defer)?></script>', "", text)
        assert "<script" not in text, rel
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", text), rel
        assert "javascript:" not in text, rel
    page = out / "2024/03/05/xss/index.html"
    html = page.read_text("utf-8")
    assert "<title>&lt;b&gt;加粗标题&lt;/b&gt; - B19 脚本</title>" in html
    assert "<h1>&lt;b&gt;加粗标题&lt;/b&gt;</h1>" in html
    assert "<table><tbody><tr><td>允许的表格</td></tr></tbody></table>" in html
    assert summaries(out / "ceshi/index.html") == ["摘要<script>alert(0)</script>"]  # shown as text, escaped


def test_B25_stale_pages_removed_after_delete_and_slug_change(tmp_path):
    # The same project built twice into the same output/: step 1's content, then step 2's (b.md deleted, a.md's
    # slug changed). Only files sitegen wrote (its manifest in .sitegen-cache/) are removed.
    root = tmp_path / "site"
    root.mkdir()
    shutil.copy(CASES / "B25/site.yaml", root / "site.yaml")
    shutil.copytree(CASES / "B25/step1/content", root / "content")
    code, _, _ = run_cli(["build", root])
    out = root / "output"
    assert code == 0
    assert (out / "2024/03/05/old-slug/index.html").is_file() and (out / "2024/03/05/retracted/index.html").is_file()
    (out / "keep-me.txt").write_text("not ours", "utf-8")
    shutil.rmtree(root / "content")
    shutil.copytree(CASES / "B25/step2/content", root / "content")
    code, stdout, stderr = run_cli(["build", root])
    assert code == 0, stderr
    removed = int(re.search(r"删除 (\d+) 个过期文件", stdout).group(1))
    assert removed >= 2  # the two pages, plus the search index chunks that changed with them
    assert not (out / "2024/03/05/old-slug").exists() and not (out / "2024/03/05/retracted").exists()
    assert (out / "2024/03/05/new-slug/index.html").is_file()
    assert (out / "keep-me.txt").read_text("utf-8") == "not ours"
    tag = (out / "tags" / tag_slug("撤稿测试") / "index.html").read_text("utf-8")
    assert "new-slug" in tag and "old-slug" not in tag and "retracted" not in tag and "将被撤回的稿件" not in tag
    for rel, data in all_output(out).items():
        assert b"old-slug" not in data and b"retracted" not in data, rel
    for page in out.rglob("*.html"):
        rel = page.relative_to(out).as_posix()
        for link in html_links(page.read_bytes()):
            assert resolve_link(out, rel, link) is not None, f"{rel}: {link}"


def srcset_widths(srcset: str) -> list[tuple[str, int]]:
    return [(url, int(w[:-1])) for url, w in (c.strip().split() for c in srcset.split(","))]


def test_B38_photos_narrower_than_the_widths_offer_their_own_width(tmp_path):
    root = case_site(tmp_path, "B38")
    report = build_site(root)
    assert report.ok and not report.problems
    out = root / "output"
    page = doc(out / "tupian-xinwen/2026/03/chicun/index.html")
    expected = {"small": (300, 200), "w800": (800, 600), "mid": (1000, 750), "exact": (960, 540),
                "big": (1600, 1200)}
    seen = set()
    for picture in page.xpath("//picture"):
        img = picture.find(".//img")
        name = re.search(r"/(small|w800|mid|exact|big)-", img.get("src")).group(1)
        seen.add(name)
        largest, source_h = expected[name]
        for srcset in [img.get("srcset")] + [s.get("srcset") for s in picture.findall(".//source")]:
            candidates = srcset_widths(srcset)
            widths = [w for _, w in candidates]
            assert len(set(widths)) == len(widths) and max(widths) == largest, (name, srcset)
            for url, w in candidates:  # each descriptor is the width of the file it names
                with Image.open(out / url.lstrip("/")) as im:
                    assert im.width == w and im.width <= {"big": 2000}.get(name, largest)
        # width/height keep the source's aspect ratio
        w, h = int(img.get("width")), int(img.get("height"))
        assert abs(w / h - largest / source_h) < 0.01, name
    assert seen == set(expected)


def test_B33_different_tags_get_their_own_pages_at_stable_urls(tmp_path):
    root = case_site(tmp_path, "B33")
    report = build_site(root)
    assert report.ok and not report.problems
    out = root / "output"
    pages = {"c": "C", "cpp": "C++", "csharp": "C#", "zhengzhi": "政治", "zhengzhi2": "整治"}
    urls = set()
    for slug, tag in pages.items():
        article = out / "gongzuo-dongtai/2026/03" / slug / "index.html"
        (link,) = doc(article).xpath("//p[@class='tags']/a")
        assert text_of(link) == tag
        target = resolve_link(out, f"gongzuo-dongtai/2026/03/{slug}/index.html", link.get("href"))
        listing = doc(target)
        assert text_of(listing.find(".//h1")) == f"标签：{tag}"  # titled with its own tag
        listed = {a.get("href") for a in listing.xpath("//ul[contains(@class, 'list')]//a")}
        assert listed == {f"/gongzuo-dongtai/2026/03/{slug}/"}, tag  # and only its own article
        urls.add(link.get("href"))
    assert len(urls) == 5 and "/tags/c/" in urls  # the tag its slug keeps whole has the plain slug
    # stable: a site with only one tag of each colliding group gives it the same URL as the site with all of them
    alone = case_site(tmp_path / "alone", "B33")
    for slug in ("c", "zhengzhi2"):
        (alone / "content/2026/03" / f"{slug}.md").unlink()
    assert build_site(alone).ok
    for slug in ("cpp", "csharp", "zhengzhi"):
        path = f"gongzuo-dongtai/2026/03/{slug}/index.html"
        assert (doc(alone / "output" / path).xpath("//p[@class='tags']/a/@href")
                == doc(out / path).xpath("//p[@class='tags']/a/@href"))


def test_B41_dates_that_do_not_exist_name_the_day(tmp_path):
    root = case_site(tmp_path, "B41")
    code, stdout, stderr = run_cli(["build", root], subprocess_=True)
    assert code == 1 and "Traceback" not in stdout + stderr
    errors = [line for line in stderr.splitlines() if "E102" in line]
    assert errors == [
        "content/2026/02/feb29.md:3: E102: 日期不存在：2026 年 2 月没有 29 日（2026 年 2 月只有 28 天，请改成实际的日期，例如 "
        "2026-02-28）  [错误]",
        "content/2026/04/apr31.md:4: E102: 日期不存在：2026 年 4 月没有 31 日（2026 年 4 月只有 30 天，请改成实际的日期，例如 "
        "2026-04-30）  [错误]"]
    out = root / "output"
    leap = (out / "gongzuo-dongtai/2024/02/leap/index.html").read_text("utf-8")
    assert 'datetime="2024-02-29T08:00:00+08:00"' in leap
    assert (out / "gongzuo-dongtai/2026/02/ok/index.html").is_file()
    assert not list(out.rglob("feb29")) and not list(out.rglob("apr31"))
    strict = case_site(tmp_path / "strict", "B41")
    code, _, stderr = run_cli(["build", strict, "--strict"])
    assert code != 0 and "E102" in stderr and not (strict / "output").exists()


def test_B43_attachments_published_beside_the_notice(tmp_path):
    root = case_site(tmp_path, "B43")
    code, stdout, stderr = run_cli(["build", root])
    missing = ("content/2026/03/baoming-tongzhi/index.md:16: E205: 附件文件不存在：pingfen-xize.pdf"
               "（检查文件名（包括扩展名）；附件应放在本文所在的文件夹中，与 .md 文件在一起）")
    assert code == 1 and missing + "  [错误]" in stderr.splitlines()
    out = root / "output"
    page_rel = "tongzhi-gonggao/2026/03/baoming-tongzhi/index.html"
    page = doc(out / page_rel)
    source = root / "content/2026/03/baoming-tongzhi"
    for text, name in (("大赛报名表（Word）", "附件1-报名表.docx"), ("参赛人员汇总表（Excel）", "fujian2-huizongbiao.xlsx"),
                       ("通知全文（PDF）", "通知全文.pdf")):
        (href,) = page.xpath(f"//div[@class='body']//a[.='{text}']/@href")
        assert "%25" not in href and href.isascii()  # percent-encoded once
        target = resolve_link(out, page_rel, href)
        assert target == out / page_rel.replace("index.html", name)
        assert target.read_bytes() == (source / name).read_bytes()
    assert not page.xpath("//div[@class='body']//a[.='评分细则']/@href")  # no link to a file that is not there
    listed = [text_of(li) for li in page.xpath("//section[@class='attachments']//li")]
    # the files make_images.py writes are 1,092, 1,092 and 1,061 bytes
    assert listed == ["附件1-报名表.docx（Word 文档，1.1 KB）", "fujian2-huizongbiao.xlsx（Excel 表格，1.1 KB）",
                      "通知全文.pdf（PDF 文档，1.0 KB）"]
    assert sorted(p.name for p in out.rglob("*") if p.suffix in (".pdf", ".docx", ".xlsx")) == sorted(
        ["附件1-报名表.docx", "fujian2-huizongbiao.xlsx", "通知全文.pdf"])
    code, stdout, _ = run_cli(["check", root])
    assert code == 1 and missing + "  [错误]" in stdout.splitlines()


def test_B44_photo_story_feeds_carry_its_photos(tmp_path):
    import feedparser

    root = case_site(tmp_path, "B44")
    assert build_site(root).ok
    out = root / "output"
    for rel in ("feed.xml", "atom.xml", "tupian-xinwen/feed.xml", "tupian-xinwen/atom.xml"):
        parsed = feedparser.parse((out / rel).read_bytes())
        assert not parsed.bozo, (rel, parsed.get("bozo_exception"))
        (entry,) = parsed.entries
        (enclosure,) = entry.enclosures
        assert re.fullmatch(r"https://news\.example\.cn/media/\w+/tu1-1600\.jpg", enclosure.href), rel
        path = out / enclosure.href.removeprefix("https://news.example.cn/")
        assert int(enclosure.length) == path.stat().st_size and enclosure.type == "image/jpeg"
        if rel.endswith("feed.xml"):
            assert entry.media_content[0]["url"] == enclosure.href and entry.media_content[0]["medium"] == "image"
        content = lxml.html.fragment_fromstring(entry.content[0].value, create_parent="div")
        images = content.xpath("//img/@src")
        assert [re.search(r"/(tu\d)-", src).group(1) for src in images] == ["tu1", "tu2"], rel
        for src in images:
            assert src.startswith("https://news.example.cn/media/")
            assert (out / src.removeprefix("https://news.example.cn/")).is_file()
        captions = [text_of(f) for f in content.xpath("//figcaption")]
        assert captions == ["女农民在田间查看麦苗长势 田野 摄", "巾帼农机手驾驶播种机 田野 摄"]
