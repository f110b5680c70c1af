"""Every page of the built sample site is valid HTML (the Nu HTML checker, vnu-jar from npm, run with Java) and
keeps the theme's promises without a browser: lang, alt text, no inline script or style (a strict CSP works),
fingerprinted CSS/JS, a favicon and a web manifest, the compliance footer, and a QR code of the page's URL."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from browser_site import ROOT, built_site

VNU_VERSION = "26.9.27"
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    return built_site(tmp_path_factory.getbasetemp() / "sample-site")


def _vnu() -> Path:
    """The checker's jar, installed from npm into the repo's node_modules/ (git-ignored) when missing."""
    if not shutil.which("java"):
        pytest.skip("需要 Java 运行 Nu HTML 检查器：apt-get install default-jre-headless")
    if not VNU_JAR.exists():
        if not shutil.which("npm"):
            pytest.skip(f"需要 npm 安装 vnu-jar@{VNU_VERSION}")
        subprocess.run(["npm", "i", "-E", "--no-save", "--no-audit", "--no-fund", f"vnu-jar@{VNU_VERSION}"],
                       cwd=ROOT, check=True, capture_output=True, timeout=600)
    return VNU_JAR


def test_nu_html_checker_finds_no_errors(site_dir):
    jar = _vnu()
    result = subprocess.run(["java", "-jar", str(jar), "--skip-non-html", "--errors-only", "--format", "json",
                             str(site_dir)], capture_output=True, text=True, timeout=600)
    report = json.loads(result.stderr or result.stdout)
    assert report["version"].startswith(VNU_VERSION)
    messages = report["messages"]
    errors = [f"{m.get('url', '').rsplit(str(site_dir), 1)[-1]}:{m.get('lastLine')}: {m.get('message')}"
              for m in messages if m.get("type") in ("error", "non-document-error")]
    assert errors == []
    assert result.returncode == 0
    assert len(list(site_dir.rglob("*.html"))) > 30


def _documents(site_dir: Path):
    for f in sorted(site_dir.rglob("*.html")):
        yield f.relative_to(site_dir).as_posix(), f.read_text("utf-8")


def test_every_page_keeps_the_accessibility_basics(site_dir):
    for rel, text in _documents(site_dir):
        doc = lxml_html.document_fromstring(text)
        assert doc.get("lang") == "zh-CN", rel
        for img in doc.iter("img"):
            assert img.get("alt") is not None, f"{rel}: <img> without alt"
            if not img.get("alt"):  # empty alt only for decoration beside text that says the same
                holder = next(img.iterancestors("a", "figure"), None)
                assert holder is not None and holder.text_content().strip(), f"{rel}: decorative image alone"
        if 'http-equiv="refresh"' in text:
            continue
        assert doc.xpath("//a[@class='skip-link' and @href='#main']"), rel
        assert doc.xpath("//main[@id='main']") and doc.xpath("//header") and doc.xpath("//footer"), rel
        assert doc.xpath("//nav[@aria-label='主菜单']"), rel
        assert len(doc.xpath("//h1")) == 1, rel


def test_no_inline_script_or_style_so_a_strict_csp_works(site_dir):
    for rel, text in _documents(site_dir):
        doc = lxml_html.document_fromstring(text)
        for script in doc.iter("script"):
            assert script.get("src") and not (script.text or "").strip(), f"{rel}: inline script"
        assert not doc.xpath("//style"), f"{rel}: <style> element"
        assert not doc.xpath("//*[@style]"), f"{rel}: style attribute"
        assert not [a for el in doc.iter() if isinstance(el.tag, str) for a in el.attrib if a.startswith("on")], rel


def test_assets_fingerprinted_with_favicon_and_manifest(site_dir):
    text = (site_dir / "index.html").read_text("utf-8")
    doc = lxml_html.document_fromstring(text)
    for url in doc.xpath("//link[@rel='stylesheet']/@href") + doc.xpath("//script/@src"):
        assert re.fullmatch(r"/assets/[\w-]+\.[0-9a-f]{8}\.(css|js)", url), url
        assert (site_dir / url.lstrip("/")).is_file(), url
    head_scripts = doc.xpath("//head/script")
    blocking = [s.get("src") for s in head_scripts if s.get("defer") is None and s.get("async") is None]
    assert len(blocking) == 1 and "/prefs." in blocking[0], "only the tiny settings script may block rendering"
    assert (site_dir / blocking[0].lstrip("/")).stat().st_size < 1024
    icon = doc.xpath("//link[@rel='icon']/@href")[0]
    assert (site_dir / icon.lstrip("/")).is_file()
    manifest_url = doc.xpath("//link[@rel='manifest']/@href")[0]
    manifest = json.loads((site_dir / manifest_url.lstrip("/")).read_text("utf-8"))
    assert manifest["name"] and manifest["lang"] == "zh-CN"
    for entry in manifest["icons"]:
        assert (site_dir / Path(manifest_url.lstrip("/")).parent / entry["src"]).is_file()


def test_footer_carries_the_filing_numbers(site_dir):
    doc = lxml_html.document_fromstring((site_dir / "index.html").read_text("utf-8"))
    footer = doc.xpath("//footer[@class='site-footer']")[0]
    text = footer.text_content()
    for label in ("主办单位：河北省妇女联合会", "承办单位：", "联系方式：", "网站标识码：", "冀公网安备"):
        assert label in text, label
    assert footer.xpath(".//a[@href='https://beian.miit.gov.cn/']")[0].text_content().startswith("冀ICP备")
    police = footer.xpath(".//a[starts-with(@href, 'https://beian.mps.gov.cn/')]")[0]  # the linked badge
    assert police.text_content().startswith("冀公网安备") and police.xpath("./img[@class='beian-icon'][@alt='']")
    assert (site_dir / police.xpath("./img/@src")[0].lstrip("/")).is_file()
    menu = footer.xpath(".//nav[@id='footer-menu']//a/@href")
    assert "/gongzuo-dongtai/" in menu and "/" in menu


def test_article_shows_meta_tools_credits_and_a_qr_code_of_its_url(site_dir):
    from sitegen.render import qr_svg

    article = next(f for f in sorted(site_dir.glob("gongzuo-dongtai/2026/*/*/index.html"))
                   if 'class="photo"' in f.read_text("utf-8"))
    doc = lxml_html.document_fromstring(article.read_text("utf-8"))
    canonical = doc.xpath("//link[@rel='canonical']/@href")[0]
    assert canonical.startswith("https://www.example.org.cn/")
    meta = doc.xpath("//article//p[@class='meta']")[0].text_content()
    assert "发布时间：2026年" in meta and "来源：" in meta
    tools = doc.xpath("//p[contains(@class, 'article-tools')]")[0]
    assert [b.text_content() for b in tools.xpath(".//button")] == ["字号大", "字号中", "字号小", "打印"]
    assert any(c.text_content().endswith(" 摄") for c in doc.xpath("//figcaption/span[@class='credit']"))
    assert doc.xpath("//nav[@aria-label='上一篇和下一篇']") and doc.xpath("//a[@rel='next' or @rel='prev']")
    assert doc.xpath("//nav[@class='breadcrumbs']//a[@href='/']")
    svg = doc.xpath("//figure[@class='qr-share']/svg")[0]
    assert svg.get("role") == "img" and canonical in svg.get("aria-label")
    # the drawn modules are a QR code of the canonical URL, as a reader decodes it
    assert decoded(svg.get("viewbox"), [p.get("d") for p in svg.iter("path") if p.get("stroke")]) == canonical
    assert str(qr_svg(canonical, "x")).count("<svg") == 1


def decoded(view_box: str, strokes: list[str]) -> str:
    """The text a QR reader (zxing-cpp's, whose code is apart from the writer's) finds in an SVG drawn by qr_svg:
    the strokes are put back into modules, drawn 8 px each on white, and read as a QR code of level M."""
    import zxingcpp
    from PIL import Image, ImageDraw

    size = int(view_box.split()[2])
    image = Image.new("L", (size * 8, size * 8), 255)
    draw = ImageDraw.Draw(image)
    for d in strokes:
        x = y = 0.0
        for move, dx, dy, run in re.findall(r"([Mm])(-?\d+) (-?[\d.]+)h(\d+)", d):
            x, y = (int(dx), float(dy)) if move == "M" else (x + int(dx), y + float(dy))
            draw.rectangle([x * 8, int(y) * 8, (x + int(run)) * 8 - 1, int(y) * 8 + 7], fill=0)
            x += int(run)
    found = zxingcpp.read_barcode(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert found is not None and found.ec_level == "M"
    return found.text


@pytest.mark.parametrize("path", ["", "a/", "gongzuo-dongtai/2026/11/sheng-fulian-zhaokai-dahui/",
                                  "tags/" + "jia-feng-" * 40, "?" + "x" * 900, "%E5%A6%87%E8%81%94/?q=12338"])
def test_qr_code_reads_back_as_its_url(path):
    """qr_svg's drawing is a QR code of the URL, level M, with a 2-module quiet zone, no bigger than segno (an
    encoder of its own, bytes only) makes it (versions 3 to 25 here); one stroke per run of dark modules."""
    import segno

    from sitegen.render import qr_svg

    url = "https://www.example.org.cn/" + path
    svg = lxml_html.fragment_fromstring(str(qr_svg(url, "扫码")))
    assert (svg.get("role"), svg.get("aria-label"), svg.get("class"), svg.get("focusable")) == ("img", "扫码", "qr",
                                                                                                  "false")
    size = int(svg.get("viewbox").split()[2])
    assert 21 + 4 <= size <= segno.make(url, error="m", micro=False).symbol_size(border=2)[0]
    white, dark = svg.findall("path")
    assert white.get("d") == f"M0 0h{size}v{size}h-{size}z" and white.get("fill") == "#fff"
    assert dark.get("stroke") == "#000" and not re.search(r"h0|h-", dark.get("d"))
    assert decoded(svg.get("viewbox"), [dark.get("d")]) == url


def test_print_url_and_listing_dates(site_dir):
    listing = lxml_html.document_fromstring((site_dir / "gongzuo-dongtai" / "index.html").read_text("utf-8"))
    rows = listing.xpath("//ul[@class='list']/li")
    assert rows and all(r.xpath("./time[@datetime]") and r.xpath("./p[@class='summary']") for r in rows)
    doc = lxml_html.document_fromstring((site_dir / "index.html").read_text("utf-8"))
    assert "本页网址：https://www.example.org.cn/" in doc.xpath("//p[contains(@class, 'print-url')]")[0].text_content()
    for block in ("头条", "焦点图", "改革进行时", "工作动态", "图片新闻", "图片库"):
        assert block in doc.text_content(), block


def _current(doc) -> tuple[list[str], list[str]]:
    """(names of the menu entries marked current, the breadcrumb trail) of a parsed page."""
    return ([a.text_content() for a in doc.xpath("//nav[@id='site-menu']//a[@aria-current='page']")],
            [e.text_content() for e in doc.xpath("//nav[@class='breadcrumbs']/*[not(@class='crumbs-label')]")])


def test_menu_and_breadcrumbs_agree_and_galleries_have_one_name(site_dir):
    """A 改革进行时 article marks 改革进行时 in the menu, as its breadcrumbs say (not its category); an article
    of a category marks the category; a gallery marks 图片库, the one name galleries have everywhere."""
    pages = {}
    for f in site_dir.rglob("*.html"):
        pages[f.relative_to(site_dir).as_posix()] = f.read_text("utf-8")
    column = next(rel for rel, html in pages.items() if 'data-column="专栏：改革进行时"' in html)
    assert not column.startswith("gaige-jinxingshi/")  # its URL is under its category
    assert _current(lxml_html.document_fromstring(pages[column])) == (["改革进行时"], ["首页", "改革进行时", "正文"])
    plain = next(rel for rel, html in pages.items() if rel.startswith("gongzuo-dongtai/20") and "data-column" not in html)
    assert _current(lxml_html.document_fromstring(pages[plain])) == (["工作动态"], ["首页", "工作动态", "正文"])
    gallery = next(rel for rel in pages if rel.startswith("galleries/") and rel != "galleries/index.html")
    menu, trail = _current(lxml_html.document_fromstring(pages[gallery]))
    assert menu == ["图片库"] and trail[:2] == ["首页", "图片库"]
    assert _current(lxml_html.document_fromstring(pages["galleries/index.html"]))[0] == ["图片库"]
    assert [rel for rel, html in pages.items() if "图集" in html] == []


def test_home_shows_photo_news_as_thumbnails(site_dir):
    """site.yaml gives 图片新闻 `home: photos`: its home block is thumbnails with photos, the others stay lists."""
    doc = lxml_html.document_fromstring((site_dir / "index.html").read_text("utf-8"))
    photos = doc.xpath("//section[@aria-labelledby='cat-tupian-xinwen']")[0]
    thumbs = photos.xpath(".//ul[@class='thumbs']/li")
    assert 1 <= len(thumbs) <= 4 and all(li.xpath(".//img[@srcset]") and li.xpath(".//time") for li in thumbs)
    news = doc.xpath("//section[@aria-labelledby='cat-gongzuo-dongtai']")[0]
    assert news.xpath(".//ul[@class='list']/li") and not news.xpath(".//img")
