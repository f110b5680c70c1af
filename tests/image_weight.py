"""First-load image bytes of the built site on a phone: Chromium at 390 × 844 CSS px and a device pixel ratio of 3
(a typical 3× phone), the page opened and left alone until the network is idle (no scrolling, so only what the
browser fetches by itself counts: the photos in view, the lazy ones near enough for Chromium to prefetch, and
anything off-screen that was not lazy). A 1280 × 800 desktop at DPR 1 is measured for reference.

Pages: the home page, the newest article of the 图片新闻 category, the newest 改革进行时 (first column) article
and the newest gallery. Prints a table of bytes (1 KB = 1024 bytes) and exits 1 when the home page or the
图片新闻 article loads more than ``BUDGET`` on the phone.

Not a test (it measures, it does not decide the design): ``make audit-images`` builds the site and runs it, and
``make audit`` runs it before Lighthouse. Usage: ``python tests/image_weight.py [SITE_DIR]`` (default ``.``; reads
``SITE_DIR/site.yaml`` and ``SITE_DIR/output``). Needs Playwright and Debian's Chromium.
"""
from __future__ import annotations

import functools
import http.server
import sys
import threading
from pathlib import Path

from browser_site import CHROMIUM, CHROMIUM_ARGS
from lighthouse_audit import Handler

BUDGET = 150 * 1024
"""bytes of images the home page and a 图片新闻 article may load on a 390 px phone at DPR 3 (issue 19)"""

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}


def newest(out: Path, pattern: str) -> str | None:
    """Site-relative URL of the newest page matching ``pattern`` under ``out`` (permalinks sort by date)."""
    found = sorted(out.glob(pattern))
    return "/" + found[-1].parent.relative_to(out).as_posix() + "/" if found else None


def pages_to_measure(site: Path, out: Path) -> dict[str, str]:
    """``{label: site-relative URL}`` of the pages measured (a page kind missing from the site is left out)."""
    from sitegen import config as configmod

    cfg = configmod.load(site)
    photo_news = next((s for s in cfg.categories if s.name == "图片新闻"), None)
    pages = {"home": "/"}
    if photo_news:
        pages["图片新闻 article"] = newest(out, f"{photo_news.slug}/20*/*/*/index.html")
    if cfg.columns:
        column = cfg.columns[0]
        marker = f'data-column="专栏：{column.name}"'
        urls = [u for f in sorted(out.glob("*/20*/*/*/index.html")) if marker in f.read_text("utf-8")
                for u in ["/" + f.parent.relative_to(out).as_posix() + "/"]]
        pages[f"{column.name} article"] = max(urls, key=lambda u: u.split("/")[2:4]) if urls else None
    pages["gallery"] = newest(out, "galleries/*/index.html")
    return {k: v for k, v in pages.items() if v}


def image_bytes(browser, url: str, device: dict) -> tuple[int, int]:
    """``(bytes, count)`` of the images ``url`` loads on ``device`` until the network is idle."""
    context = browser.new_context(locale="zh-CN", **device)
    page = context.new_page()
    seen: list[int] = []

    def on_response(response):
        if response.request.resource_type == "image" and response.ok:
            seen.append(len(response.body()))

    page.on("response", on_response)
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(500)  # a lazy image whose fetch starts after the first layout
    context.close()
    return sum(seen), len(seen)


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    site = Path(argv[0] if argv else ".").resolve()
    out = site / "output"
    if not (out / "index.html").is_file():
        print(f"{out} 中没有构建好的网站：先运行 make build", file=sys.stderr)
        return 2
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    over = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            print(f"{'390 px DPR 3':>16} {'1280 px DPR 1':>16}  page")
            for label, path in pages_to_measure(site, out).items():
                url = f"http://127.0.0.1:{server.server_address[1]}{path}"
                phone, n_phone = image_bytes(browser, url, PHONE)
                desk, n_desk = image_bytes(browser, url, DESKTOP)
                budgeted = label == "home" or label.startswith("图片新闻")
                flag = "  over budget" if budgeted and phone > BUDGET else ""
                print(f"{phone / 1024:8.1f} KB ({n_phone:2}) {desk / 1024:8.1f} KB ({n_desk:2})  {label} {path}{flag}")
                if flag:
                    over.append(label)
            browser.close()
    finally:
        server.shutdown()
    if over:
        print(f"over {BUDGET // 1024} KB on a 390 px DPR 3 phone: {', '.join(over)}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
