"""axe-core (through axe-playwright-python) on the home, category, article, gallery and search pages, at phone and
desktop widths, in the normal, high-contrast and dark schemes: no violation of impact serious or critical. In
high-contrast mode the WCAG AAA contrast rule (7:1) is enforced as well."""
from __future__ import annotations

import pytest

from browser_site import DESKTOP, PHONE, sample_pages, site_fixtures

pytestmark = pytest.mark.browser
globals().update(site_fixtures())

MODES = {
    "normal": {},
    "high-contrast": {"init": "localStorage.setItem('sitegen-contrast', 'high')"},
    "dark": {"color_scheme": "dark"},
}


@pytest.fixture(scope="module")
def axe():
    module = pytest.importorskip("axe_playwright_python.sync_playwright", reason="需要 Python 包 axe-playwright-python")
    return module.Axe()


def _serious(results) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:5])
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_no_serious_axe_violations(chromium, server, site_dir, axe, mode, viewport):
    pages = sample_pages(site_dir)
    settings = MODES[mode]
    context = chromium.new_context(viewport=PHONE if viewport == "phone" else DESKTOP, locale="zh-CN",
                                  color_scheme=settings.get("color_scheme", "light"))
    if "init" in settings:
        context.add_init_script(settings["init"])
    page = context.new_page()
    options = {"resultTypes": ["violations"]}
    if mode == "high-contrast":
        options["rules"] = {"color-contrast-enhanced": {"enabled": True}}
    found = {}
    for name in ("home", "category", "article", "gallery", "search"):
        if name not in pages:
            continue
        page.goto(server.url(pages[name]), wait_until="networkidle")
        if mode == "high-contrast":
            assert page.get_attribute("html", "data-contrast") == "high"
        problems = _serious(axe.run(page, options=options))
        if problems:
            found[name] = problems
    context.close()
    assert found == {}


def test_lightbox_and_open_menu_pass_axe(chromium, server, site_dir, axe):
    pages = sample_pages(site_dir)
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url(pages["gallery"]))
    page.locator("a.lb-link").first.click()
    page.wait_for_selector("dialog.lightbox[open]")
    assert _serious(axe.run(page)) == []
    page.keyboard.press("Escape")
    page.locator(".menu-button").click()
    assert _serious(axe.run(page)) == []
    context.close()
