"""The default theme in headless Chromium over the built sample site: screenshots for people to look at, no
console errors or failed requests under a strict Content-Security-Policy, keyboard-only use (menu, search,
carousel, lightbox, focus never lost), reader settings that persist without a flash, phones, print, sharing, and
every article and listing readable with JavaScript off."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from browser_site import DESKTOP, PHONE, clean_artifacts, page_kinds, site_fixtures, until

pytestmark = pytest.mark.browser
globals().update(site_fixtures())


def _watch(page) -> list[str]:
    """Collect console errors/warnings, page errors and failed requests of ``page``."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    # a request the next navigation cancels (net::ERR_ABORTED, e.g. the favicon) is not a fault of the page
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url} {r.failure}")
            if "ERR_ABORTED" not in (r.failure or "") else None)
    return problems


def _load_all_images(page) -> None:
    """Scroll through the page so lazy images load before a full-page screenshot."""
    page.evaluate("""async () => {
        for (let y = 0; y < document.body.scrollHeight; y += innerHeight / 2) {
            scrollTo(0, y); await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        }
        scrollTo(0, 0);
        // lazy photos in the carousel's hidden slides never load until shown: wait for the others, 5 s at most
        const pending = [...document.images].filter(i => !i.complete && !i.closest('.slide[inert]'));
        await Promise.race([new Promise(r => setTimeout(r, 5000)),
                            Promise.all(pending.map(i => new Promise(r => { i.onload = i.onerror = r; })))]);
    }""")


@pytest.fixture(scope="module")
def pages(site_dir):
    return page_kinds(site_dir)


@pytest.fixture(scope="module")
def artifacts():
    return clean_artifacts()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_screenshots_without_console_errors(chromium, server, pages, artifacts, viewport):
    size = PHONE if viewport == "phone" else DESKTOP
    # reduced motion keeps the carousel on its first slide, so the pictures are comparable run to run
    context = chromium.new_context(viewport=size, locale="zh-CN", reduced_motion="reduce")
    page = context.new_page()
    problems = _watch(page)
    shown = ["home", "category", "article", "column-article", "gallery"] + (["search"] if "search" in pages else [])
    for name in shown:
        page.goto(server.url(pages[name]), wait_until="networkidle")
        _load_all_images(page)
        page.screenshot(path=str(artifacts / f"{name}-{size['width']}x{size['height']}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {size['width']}px"
        broken = page.evaluate("[...document.images].filter(i => i.getAttribute('src') && i.complete && !i.naturalWidth).map(i => i.src)")
        assert broken == [], f"{name}: images that did not load: {broken}"
    context.close()
    assert problems == []
    for name in shown:
        assert (artifacts / f"{name}-{size['width']}x{size['height']}.png").stat().st_size > 10_000


def test_phone_text_lines_are_spaced(chromium, server, pages):
    """Line height at least 1.5 × the text (WCAG 1.4.12); sizes and tap targets are checked on every page kind in
    test_reading.py."""
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url(pages["article"]))
    for selector in ("body", ".body p", ".list a"):
        size, line = page.eval_on_selector(
            selector, "e => [parseFloat(getComputedStyle(e).fontSize), parseFloat(getComputedStyle(e).lineHeight)]")
        assert line >= 1.5 * size, (selector, line, size)
    context.close()


def test_font_size_and_contrast_persist_and_apply_before_first_paint(chromium, server, pages):
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url(pages["article_plain"]))
    base = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.body p')).fontSize)")
    page.locator(".article-tools [data-font=l]").click()
    assert page.get_attribute("html", "data-font") == "l"
    assert page.get_attribute(".article-tools [data-font=l]", "aria-pressed") == "true"
    assert page.is_checked("#pref-font-l") and not page.is_checked("#pref-font-m")
    bigger = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.body p')).fontSize)")
    assert bigger > base * 1.15
    page.locator(".prefs .choice", has_text="高对比").click()
    assert page.get_attribute("html", "data-contrast") == "high" and page.is_checked("#pref-contrast")

    # on the next page the settings are there in the very first frame: no flash of the default style
    page.add_init_script("""requestAnimationFrame(() => { window.__firstFrame = [
        document.documentElement.getAttribute('data-font'), document.documentElement.getAttribute('data-contrast')]; });""")
    page.goto(server.url("/"))
    assert page.evaluate("window.__firstFrame") == ["l", "high"]
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(0, 0, 0)"
    assert page.is_checked("#pref-font-l") and page.is_checked("#pref-contrast")
    page.locator(".prefs .choice", has_text="中").click()
    page.locator(".prefs .choice", has_text="高对比").click()
    page.reload()
    assert page.get_attribute("html", "data-font") is None
    assert page.get_attribute("html", "data-contrast") is None
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    context.close()


def _tab_until(page, selector: str, limit: int = 200) -> list[dict]:
    """Press Tab until the focused element is inside (or is) an element matching the CSS ``selector``; returns
    what was focused. Fails if focus ever falls back to <body> (lost), shows no focus ring, or the limit is
    reached."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate("""sel => { const e = document.activeElement; const s = getComputedStyle(e);
            return {tag: e.tagName, text: (e.textContent || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 40),
                    id: e.id, cls: e.className, href: e.getAttribute('href'), menu: !!e.closest('#site-menu'),
                    carousel: !!e.closest('[data-carousel]'), outline: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth),
                    hit: !!e.closest(sel)}; }""", selector)
        assert info["tag"] not in ("BODY", "HTML"), f"focus lost after {seen[-1:]}"
        assert info["outline"] != "none" and info["outlineWidth"] >= 2, f"no visible focus ring on {info}"
        seen.append(info)
        if info["hit"]:
            return seen
    raise AssertionError(f"not reached by Tab: {selector}")


def test_keyboard_only_home(chromium, server, pages):
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url("/"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.goto(server.url("/"))
    seen = _tab_until(page, '#q')                      # search box, after the reader settings
    assert any(s["tag"] == "INPUT" and s["id"] == "pref-contrast" for s in seen)
    page.keyboard.type("妇联")
    seen = _tab_until(page, '#site-menu a')          # main menu
    seen = _tab_until(page, '[data-action=next]')       # carousel controls
    page.keyboard.press("Enter")
    assert page.get_attribute(".slide-nav a:nth-child(2)", "aria-current") == "true"
    page.keyboard.press("ArrowRight")
    assert page.get_attribute(".slide-nav a:nth-child(3)", "aria-current") == "true"
    seen = _tab_until(page, '.slide a')             # a slide's link
    seen = _tab_until(page, '.block .list a')       # an article in a block
    href = page.evaluate("document.activeElement.getAttribute('href')")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(href) + "$"))
    assert page.locator("article h1").is_visible()
    context.close()


def test_carousel_pause_and_reduced_motion(chromium, server):
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN", reduced_motion="reduce")
    page = context.new_page()
    page.goto(server.url("/"))
    pause = page.locator("[data-carousel] [data-action=pause]")
    assert pause.get_attribute("aria-pressed") == "true", "auto-advance must not start under reduced motion"
    assert pause.inner_text() == "播放"
    context.close()
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url("/"))
    pause = page.locator("[data-carousel] [data-action=pause]")
    assert pause.get_attribute("aria-pressed") == "false"
    pause.focus()
    page.keyboard.press("Enter")
    assert pause.get_attribute("aria-pressed") == "true"
    assert pause.inner_text() == "播放"
    page.keyboard.press("Space")
    assert pause.get_attribute("aria-pressed") == "false"
    # the numbered links scroll the strip to their slide without moving the page
    dot = page.locator(".slide-nav a").nth(3)
    dot.scroll_into_view_if_needed()
    before = page.evaluate("scrollY")
    dot.click()
    until(page, "Math.abs(document.querySelector('.slides').scrollLeft - document.querySelector('#slide-4').offsetLeft"
                " + document.querySelector('.slides').offsetLeft) < 2")
    assert page.get_attribute(".slide-nav a:nth-child(4)", "aria-current") == "true"
    assert page.evaluate("scrollY") == before
    context.close()


def test_phone_menu_button_by_keyboard(chromium, server):
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", has_touch=True)
    page = context.new_page()
    page.goto(server.url("/"))
    button = page.locator(".menu-button")
    nav = page.locator("#site-menu")
    assert button.is_visible() and not nav.is_visible()
    assert not page.locator(".menu-link").is_visible()
    _tab_until(page, '.menu-button')
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "true"
    assert nav.is_visible()
    assert page.evaluate("!!document.activeElement.closest('#site-menu')")
    page.keyboard.press("Escape")
    assert button.get_attribute("aria-expanded") == "false"
    assert not nav.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('menu-button')")
    page.keyboard.press("Space")
    assert nav.is_visible() and button.get_attribute("aria-expanded") == "true"
    context.close()


def test_lightbox_keyboard_swipe_and_focus(chromium, server, pages, artifacts):
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    problems = _watch(page)
    page.goto(server.url(pages["gallery"]))
    total = page.locator("a.lb-link").count()
    assert total >= 3
    _tab_until(page, 'a.lb-link')
    opener = page.evaluate("document.activeElement.getAttribute('href')")
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.lightbox")
    assert dialog.is_visible()
    assert page.evaluate("!!document.activeElement.closest('dialog.lightbox')")
    assert dialog.locator(".lb-counter").inner_text() == f"第 1 张，共 {total} 张"
    assert "摄" in dialog.locator(".lb-caption").inner_text()
    until(page, "document.querySelector('.lb-img').complete && document.querySelector('.lb-img').naturalWidth > 0")
    page.screenshot(path=str(artifacts / "gallery-lightbox-1280x800.png"))
    page.keyboard.press("ArrowRight")
    assert dialog.locator(".lb-counter").inner_text() == f"第 2 张，共 {total} 张"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert dialog.locator(".lb-counter").inner_text() == f"第 {total} 张，共 {total} 张"
    for _ in range(7):  # focus stays inside the dialog
        page.keyboard.press("Tab")
        assert page.evaluate("!!document.activeElement.closest('dialog.lightbox')")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("!!document.activeElement.closest('dialog.lightbox')")
    # a swipe to the left shows the next photo
    box = dialog.locator(".lb-figure").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.7, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, y, steps=5)
    page.mouse.up()
    assert dialog.locator(".lb-counter").inner_text() == f"第 1 张，共 {total} 张"
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert page.evaluate("document.activeElement.getAttribute('href')") == opener
    # 关闭 by keyboard too
    page.keyboard.press("Enter")
    assert dialog.is_visible()
    page.evaluate("document.querySelector('.lb-close').focus()")
    page.keyboard.press("Enter")
    assert not dialog.is_visible()
    assert page.evaluate("document.activeElement.getAttribute('href')") == opener
    assert problems == []
    context.close()


def _html_pages(site_dir: Path, kinds: tuple[str, ...]) -> list[str]:
    """Site-relative URLs of built pages: 'article' (dated permalinks), 'listing' (categories, columns, tags,
    archives with their pages), 'other' (static pages, galleries)."""
    urls = []
    for f in sorted(site_dir.rglob("index.html")):
        rel = f.parent.relative_to(site_dir).as_posix()
        url = "/" if rel == "." else f"/{rel}/"
        html = f.read_text("utf-8")
        if 'http-equiv="refresh"' in html:
            continue
        kind = "article" if 'class="article"' in html else "listing" if 'class="listing"' in html else "other"
        if kind in kinds:
            urls.append(url)
    return urls


def test_without_javascript_every_article_and_listing_reads(chromium, server, site_dir):
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    problems = _watch(page)
    articles = _html_pages(site_dir, ("article",))
    listings = _html_pages(site_dir, ("listing",))
    assert len(articles) >= 20 and len(listings) >= 10
    for url in articles + listings + ["/"]:
        page.goto(server.url(url))
        assert page.locator("h1").first.is_visible() or url == "/", url
        assert page.locator("main").inner_text().strip(), url
        if url in articles:
            assert page.locator("article .body").is_visible(), url
            assert page.locator("article .meta").is_visible(), url
        # controls that need JavaScript are not shown
        assert page.locator(".js-only:visible, .menu-button:visible").count() == 0, url
        # the menu is a link away: 栏目导航 jumps to the full list in the footer
        link = page.locator(".menu-link")
        assert link.is_visible() and link.get_attribute("href") == "#footer-menu", url
    page.goto(server.url("/"))
    page.locator(".menu-link").click()
    assert page.evaluate("location.hash") == "#footer-menu"
    menu = page.locator("#footer-menu a")
    assert menu.count() >= 5 and menu.first.is_visible()
    assert menu.nth(1).is_visible() and menu.nth(1).bounding_box()["y"] >= 0
    # listings page with real links; the gallery opens each photo as a plain link
    page.goto(server.url(listings[0]))
    assert page.locator(".list a").count() > 0
    gallery = next(u for u in _html_pages(site_dir, ("other",)) if u.startswith("/galleries/") and u != "/galleries/")
    page.goto(server.url(gallery))
    href = page.locator("a.lb-link").first.get_attribute("href")
    response = page.goto(server.url(href))
    assert response.status == 200 and response.headers["content-type"].startswith("image/")
    assert problems == []
    context.close()


def test_share_button_replaces_qr_on_phones_with_web_share(chromium, server, pages, site_dir):
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", has_touch=True, is_mobile=True)
    context.add_init_script("""navigator.share = data => { window.__shared = data; return Promise.resolve(); };""")
    page = context.new_page()
    page.goto(server.url(pages["article_plain"]))
    assert not page.locator(".qr-share").is_visible()
    page.locator("[data-share]").click()
    canonical = page.get_attribute('link[rel="canonical"]', "href")
    assert page.evaluate("window.__shared.url") == canonical
    context.close()
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    context.add_init_script("delete Navigator.prototype.share; delete navigator.share;")
    page = context.new_page()
    page.goto(server.url(pages["article_plain"]))
    assert page.locator(".qr-share svg").is_visible()
    assert not page.locator("[data-share]").is_visible()
    context.close()


def test_print_style_drops_menus_and_prints_the_url(chromium, server, pages):
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url(pages["article"]))
    page.emulate_media(media="print")
    for hidden in (".site-header", ".main-nav", ".site-footer", ".breadcrumbs", ".article-tools", ".share", ".prev-next"):
        assert not page.locator(hidden).is_visible(), hidden
    url = page.locator(".print-url")
    assert url.is_visible()
    assert page.get_attribute('link[rel="canonical"]', "href") in url.inner_text()
    assert page.locator("article .body").is_visible()
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF")
    context.close()


def test_article_without_photos_is_under_50_kb_gzip(site_dir, pages):
    html_file = site_dir / pages["article_plain"].strip("/") / "index.html"
    html = html_file.read_text("utf-8")
    assets = re.findall(r'<(?:link rel="stylesheet"|script)[^>]*(?:href|src)="/([^"]+)"', html)
    assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets)
    total = len(gzip.compress(html.encode())) + sum(len(gzip.compress((site_dir / a).read_bytes())) for a in assets)
    assert total < 50 * 1024, f"{total} bytes gzip"


def test_gallery_on_a_phone_loads_phone_sized_photos(chromium, server, pages):
    """Issue 3: at 390 px every grid photo loads (naturalWidth > 0) and neither the grid nor the lightbox picks the
    largest variant; the lightbox is driven by keyboard."""
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url(pages["gallery"]), wait_until="networkidle")
    _load_all_images(page)
    shown = page.evaluate("[...document.querySelectorAll('a.lb-link img')].map(i => [i.naturalWidth, i.currentSrc])")
    assert len(shown) >= 3
    for width, src in shown:
        assert width > 0, src
        assert "-1600." not in src, src
    _tab_until(page, "a.lb-link")
    page.keyboard.press("Enter")
    until(page, "document.querySelector('.lb-img').complete && document.querySelector('.lb-img').naturalWidth > 0")
    first = page.evaluate("document.querySelector('.lb-img').currentSrc")
    assert "-1600." not in first and "/media/" in first
    page.keyboard.press("ArrowRight")
    until(page, "document.querySelector('.lb-img').complete && document.querySelector('.lb-img').naturalWidth > 0")
    second = page.evaluate("document.querySelector('.lb-img').currentSrc")
    assert second != first and "-1600." not in second
    page.keyboard.press("Escape")
    assert not page.locator("dialog.lightbox").is_visible()
    context.close()
