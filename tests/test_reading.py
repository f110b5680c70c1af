"""Readers on small phones, in large text, in high contrast and without JavaScript (issue 19), in headless Chromium
over every kind of page of the built sample site: nothing scrolls sideways at 320 px in any size and scheme, no
text under 18 px or target under 44 × 44 px on a phone, every text at least 7:1 in every scheme, three real root
sizes, the 字号 and 高对比 choices without JavaScript, the date line, the carousel's photos and the masthead."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from browser_site import DESKTOP, PHONE, page_kinds, site_fixtures, until

pytestmark = pytest.mark.browser
globals().update(site_fixtures())

SMALL_PHONE = {"width": 320, "height": 640}
LARGE = "localStorage.setItem('sitegen-font', 'l');"
HIGH = "localStorage.setItem('sitegen-contrast', 'high');"

# Text nodes a reader can see: not blank, drawn (a client rect bigger than the 1 px of .visually-hidden), not in
# a subtree CSS hides or skips (content-visibility). Returns [element, text] pairs.
VISIBLE_TEXT = """() => {
    const out = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement, text = n.nodeValue.trim();
        if (!text || !el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
        const range = document.createRange(); range.selectNodeContents(n);
        if (![...range.getClientRects()].some(r => r.width > 1 && r.height > 1)) continue;
        out.push([el, text]);
    }
    return out;
}"""

SMALL_TEXT = f"""() => ({VISIBLE_TEXT})()
    .map(([el, text]) => [text.slice(0, 20), parseFloat(getComputedStyle(el).fontSize)])
    .filter(([text, size]) => size < 17.95)"""

# Everything a finger can tap that is drawn on the page, except links inside an article's running text (.body):
# its box must be at least 44 × 44 CSS px (WCAG 2.5.5, the 适老化 rules).
SMALL_TARGETS = """() => [...document.querySelectorAll(
        'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])')]
    .filter(e => e.checkVisibility({checkVisibilityCSS: true}) && !e.closest('.body, dialog:not([open])'))
    .map(e => [e, e.getBoundingClientRect()])
    .filter(([e, r]) => r.width > 1 && r.height > 1 && r.bottom + scrollY > 0)
    .filter(([e, r]) => r.width < 43.9 || r.height < 43.9)
    .map(([e, r]) => [(e.textContent || e.value || e.getAttribute('aria-label') || e.tagName).trim().slice(0, 20),
                      Math.round(r.width), Math.round(r.height)])"""

# WCAG 2.x contrast of each visible text against what is behind it: the colours of the element and of its
# ancestors' backgrounds, translucent ones composited down to the first opaque one (the page's own background).
LOW_CONTRAST = f"""() => {{
    const rgba = c => (c.match(/[\\d.]+/g) || [0, 0, 0, 0]).map(Number).concat([1]).slice(0, 4);
    const over = (top, under) => top.slice(0, 3).map((v, i) => v * top[3] + under[i] * (1 - top[3])).concat([1]);
    const lum = c => c.slice(0, 3).map(v => v / 255).map(v => v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const behind = el => {{
        const layers = [];
        for (let e = el; e; e = e.parentElement) {{
            const c = rgba(getComputedStyle(e).backgroundColor);
            if (c[3] > 0) layers.push(c);
            if (c[3] >= 1) break;
        }}
        return layers.reduceRight((under, top) => over(top, under), [255, 255, 255, 1]);
    }};
    return ({VISIBLE_TEXT})().map(([el, text]) => {{
        const bg = behind(el), fg = over(rgba(getComputedStyle(el).color), bg);
        const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
        return [text.slice(0, 20), Math.round((hi + 0.05) / (lo + 0.05) * 100) / 100];
    }}).filter(([text, ratio]) => ratio < 7);
}}"""

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def kinds(site_dir):
    found = page_kinds(site_dir)
    assert len(found) >= 16, found
    return found


def _visit_all(chromium, server, kinds, check, *, viewport) -> dict:
    """Open every kind of page in one browser context and call ``check(page)`` on it; returns {kind: result} of
    the non-empty results."""
    ctx = chromium.new_context(viewport=viewport, locale="zh-CN")
    page = ctx.new_page()
    found = {}
    for name, url in kinds.items():
        page.goto(server.url(url), wait_until="domcontentloaded")  # a photo's box is there before the photo
        result = check(page)
        if result:
            found[name] = result
    ctx.close()
    return found


def _set(page, font: str = "m", contrast: str = "", scheme: str = "light") -> None:
    """Switch the open page to a size, 高对比 or not, and a colour scheme, as the reader's stored choice does
    (prefs.js sets the same attributes before the first paint)."""
    page.emulate_media(color_scheme=scheme)
    page.evaluate("""([font, contrast]) => { const root = document.documentElement;
        if (font === 'm') root.removeAttribute('data-font'); else root.setAttribute('data-font', font);
        if (contrast) root.setAttribute('data-contrast', contrast); else root.removeAttribute('data-contrast'); }""",
                  [font, contrast])


def test_nothing_scrolls_sideways_at_320_px(chromium, server, kinds):
    """WCAG 1.4.10 Reflow: every kind of page at 320 × 640 in 小/中/大, with and without 高对比."""
    def check(page):
        overflow = {}
        for font in ("s", "m", "l"):
            for contrast in ("", "high"):
                _set(page, font, contrast)
                overflow[font + contrast] = page.evaluate(OVERFLOW)
        return {k: v for k, v in overflow.items() if v > 0}

    assert _visit_all(chromium, server, kinds, check, viewport=SMALL_PHONE) == {}


def test_phone_text_is_18_px_or_more_and_targets_44_px(chromium, server, kinds):
    """At 390 px in the default size: no visible text under 18 px (computed), no tap target under 44 × 44 px
    except links inside running text."""
    script = f"() => [...({SMALL_TEXT})(), ...({SMALL_TARGETS})()]"
    assert _visit_all(chromium, server, kinds, lambda page: page.evaluate(script), viewport=PHONE) == {}


def test_every_text_contrast_is_7_to_1(chromium, server, kinds):
    """WCAG 1.4.6 (AAA) for all text, in the light and dark colour schemes and in 高对比, at 390 px."""
    def check(page):
        low = {}
        for scheme, contrast in (("light", ""), ("dark", ""), ("light", "high"), ("dark", "high")):
            _set(page, contrast=contrast, scheme=scheme)
            low[scheme + contrast] = page.evaluate(LOW_CONTRAST)
        return {k: v for k, v in low.items() if v}

    assert _visit_all(chromium, server, kinds, check, viewport=PHONE) == {}


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_small_medium_large_give_three_root_sizes(chromium, server, kinds, viewport):
    ctx = chromium.new_context(viewport=PHONE if viewport == "phone" else DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    page.goto(server.url(kinds["article_plain"]))
    sizes = {}
    for font, label in (("s", "小"), ("m", "中"), ("l", "大")):
        page.locator(".prefs .choice", has_text=label).click()
        sizes[font] = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert page.is_checked(f"#pref-font-{font}")
    ctx.close()
    assert sizes["s"] < sizes["m"] < sizes["l"], sizes
    assert sizes["m"] >= 18, sizes  # the default is the size the 适老化 rules ask for


def test_size_and_contrast_work_without_javascript(chromium, server, kinds):
    """The choices are offered and work with JavaScript off (CSS reads the radio buttons and the checkbox), by
    pointer and keyboard; the page keeps them when the reader comes back to it (the browser restores the form);
    大 + 高对比 still reflows at 320 px with 44 px targets."""
    ctx = chromium.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    page = ctx.new_page()
    page.goto(server.url(kinds["column-article"]))
    root_size = "parseFloat(getComputedStyle(document.documentElement).fontSize)"
    text_size = "parseFloat(getComputedStyle(document.querySelector('.body p')).fontSize)"
    background = "getComputedStyle(document.body).backgroundColor"
    for label in ("大", "中", "小", "高对比"):
        assert page.locator(".prefs .choice", has_text=label).is_visible(), label
    before = (page.evaluate(root_size), page.evaluate(text_size))
    page.locator(".prefs .choice", has_text="小").click()
    assert page.evaluate(root_size) < before[0]
    page.locator(".prefs .choice", has_text="大").click()
    assert page.evaluate(root_size) > before[0] and page.evaluate(text_size) > before[1] * 1.15
    assert page.evaluate(background) == "rgb(255, 255, 255)"
    page.locator("#pref-font-l").focus()  # the keyboard works too: arrows move between the sizes
    page.keyboard.press("ArrowRight")
    assert page.is_checked("#pref-font-m")
    page.keyboard.press("ArrowLeft")
    page.locator("#pref-contrast").focus()
    page.keyboard.press("Space")
    assert page.evaluate(background) == "rgb(0, 0, 0)"
    assert page.evaluate("getComputedStyle(document.querySelector('.body p')).color") == "rgb(255, 255, 255)"
    large = page.evaluate(root_size)
    page.locator(".breadcrumbs a").first.click()
    page.wait_for_url(server.url("/"))
    page.go_back()
    assert page.evaluate(root_size) == large and page.evaluate(background) == "rgb(0, 0, 0)"
    page.set_viewport_size(SMALL_PHONE)
    assert page.evaluate(OVERFLOW) <= 0
    assert page.evaluate(f"({SMALL_TARGETS})()") == []
    ctx.close()


def test_date_line_is_today_in_the_site_time_zone_and_moves_nothing(chromium, server):
    """今天是… comes from the reader's clock in Asia/Shanghai (not the build's, not the browser's zone); without
    JavaScript a greeting stands in its place; filling it in, and the carousel's later photos, shift no layout."""
    for zone in ("Asia/Shanghai", "America/New_York"):  # the reader's clock at the site's offset, and not
        ctx = chromium.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id=zone)
        page = ctx.new_page()
        page.clock.install(time=datetime(2026, 11, 30, 17, 30, tzinfo=timezone.utc))  # 12-01 01:30 in Beijing
        page.goto(server.url("/"))
        assert page.locator(".today").inner_text() == "今天是 2026年12月1日 星期二", zone
        ctx.close()
    ctx = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    page.clock.install(time=datetime(2026, 11, 30, 17, 30, tzinfo=timezone.utc))
    page.add_init_script("""window.__shift = 0; new PerformanceObserver(l => l.getEntries().forEach(
        e => { window.__shift += e.value; })).observe({type: 'layout-shift', buffered: true});""")
    # site.js arrives late, as on a slow network, so the page is painted before the date is written
    page.route("**/assets/site.*.js", lambda route: (time.sleep(0.5), route.continue_()))
    page.goto(server.url("/"), wait_until="networkidle")
    page.clock.run_for(13_000)  # the carousel fetches the next photo and moves on, twice
    until(page, "document.querySelector('#slide-3 img').complete")
    assert page.get_attribute(".slide-nav a:nth-child(3)", "aria-current") == "true"
    line = page.locator(".today")
    assert line.inner_text() == "今天是 2026年12月1日 星期二"
    assert page.evaluate("window.__shift") == 0
    box = line.bounding_box()
    assert box["height"] < 50, box  # one line
    ctx.close()
    ctx = chromium.new_context(viewport=DESKTOP, locale="zh-CN", java_script_enabled=False)
    page = ctx.new_page()
    page.goto(server.url("/"))
    assert page.locator(".today").inner_text() == "欢迎访问河北妇女网"
    ctx.close()


def test_carousel_fetches_hidden_slides_only_when_they_come_near(chromium, server):
    """The off-screen slides' photos are not part of the first load; they come when the reader moves on. A portrait
    photo is shown whole; the caption sits under the photo (it never covers it, even in 大 + 高对比)."""
    ctx = chromium.new_context(viewport=PHONE, locale="zh-CN", reduced_motion="reduce")
    ctx.add_init_script(LARGE + HIGH)
    page = ctx.new_page()
    page.goto(server.url("/"), wait_until="networkidle")
    fetched = "[...document.querySelectorAll('.slide img')].map(i => i.currentSrc)"
    shown = page.evaluate(fetched)
    assert len(shown) >= 3 and shown[0], shown
    assert shown[1:] == [""] * (len(shown) - 1), shown
    page.locator("[data-action=next]").click()
    until(page, "document.querySelector('#slide-2 img').complete && document.querySelector('#slide-2 img').naturalWidth")
    portrait = page.locator(".slide-media.portrait img")
    assert portrait.count() >= 1 and portrait.first.evaluate("i => getComputedStyle(i).objectFit") == "contain"
    for i in range(1, len(shown) + 1):
        media = page.locator(f"#slide-{i} .slide-media").bounding_box()
        caption = page.locator(f"#slide-{i} .slide-caption").bounding_box()
        assert caption["y"] >= media["y"] + media["height"] - 1, i
    ctx.close()


def test_phone_masthead_is_short_and_the_article_starts_on_the_first_screen(chromium, server, kinds):
    """In 大 on a 390 × 844 phone the banner takes under a sixth of the screen and the column article's first
    paragraph starts on the first screen."""
    ctx = chromium.new_context(viewport=PHONE, locale="zh-CN")
    ctx.add_init_script(LARGE)
    page = ctx.new_page()
    page.goto(server.url(kinds["column-article"]))
    assert page.locator(".site-header").bounding_box()["height"] < PHONE["height"] / 6
    assert page.locator(".body p").first.bounding_box()["y"] < PHONE["height"] - 60
    ctx.close()
