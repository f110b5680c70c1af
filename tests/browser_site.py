"""Shared by the browser, accessibility and HTML tests: the sample site (site.yaml and content/ at the repo root)
built once per test session into a temporary folder, served over HTTP on 127.0.0.1, and headless Chromium.

The server sends the Content-Security-Policy the theme promises to live under (no ``'unsafe-inline'``), so any
inline script or style attribute shows up as a console error in the browser tests.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ARTIFACTS = ROOT / "tests" / "artifacts"


@functools.cache
def built_site(out: Path) -> Path:
    """Build the sample site into ``out`` (cached per process) and return it. Fails the test on build errors."""
    from sitegen import build, config as configmod

    cfg = configmod.load(ROOT)
    report = build.build(cfg, build.BuildOptions(out=out))
    assert report.ok and not report.errors, [str(p) for p in report.errors]
    return out


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml",
                      ".js": "text/javascript", ".css": "text/css", ".html": "text/html; charset=utf-8",
                      ".webp": "image/webp", ".wasm": "application/wasm"}

    def end_headers(self):
        path = self.path.split("?")[0]
        if path.endswith(("/", ".html")):  # the policy of the HTML documents (an image opened alone needs none)
            self.send_header("Content-Security-Policy", CSP)
        super().end_headers()

    def log_message(self, *args):  # keep pytest output clean
        pass


class Server:
    """``http.server`` on 127.0.0.1, a free port, one thread per request; ``url(path)`` gives absolute URLs."""

    def __init__(self, directory: Path):
        handler = functools.partial(_Handler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def until(page, script: str, tries: int = 100) -> None:
    """Poll the JS expression ``script`` (evaluated through the DevTools protocol, which the page's CSP allows,
    unlike ``wait_for_function``) until it is truthy; fails after ``tries`` animation frames."""
    for _ in range(tries):
        if page.evaluate(script):
            return
        page.evaluate("new Promise(r => requestAnimationFrame(() => r()))")
    raise AssertionError(f"never true: {script}")


def need_chromium() -> None:
    """Skip with a clear message when the Debian Chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip("需要 Debian 的 chromium（/usr/bin/chromium）：apt-get install chromium fonts-noto-cjk")
    pytest.importorskip("playwright.sync_api", reason="需要 Python 包 playwright")


def site_fixtures():
    """Module-scoped fixtures ``site_dir``, ``server``, ``chromium`` (a Playwright Browser) for a test module (``globals().update(...)``)."""

    @pytest.fixture(scope="session")
    def site_dir(tmp_path_factory) -> Path:
        return built_site(tmp_path_factory.getbasetemp() / "sample-site")

    @pytest.fixture(scope="module")
    def server(site_dir):
        s = Server(site_dir)
        yield s
        s.close()

    @pytest.fixture(scope="module")
    def chromium():
        need_chromium()
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield b
            b.close()

    return {"site_dir": site_dir, "server": server, "chromium": chromium}


def sample_pages(site_dir: Path) -> dict[str, str]:
    """Site-relative URLs of one page of each kind in the built sample site: home, category, article (one with
    photos), article_plain (no photos), gallery, search (absent until the search page exists)."""
    def first(pattern: str, pred=lambda p: True) -> str:
        for f in sorted(site_dir.glob(pattern)):
            if pred(f):
                return "/" + f.parent.relative_to(site_dir).as_posix() + "/"
        raise AssertionError(f"no page matches {pattern}")

    pages = {
        "home": "/",
        "category": "/gongzuo-dongtai/",
        "article": first("gongzuo-dongtai/2026/*/*/index.html", lambda f: "figure class=\"photo\"" in f.read_text("utf-8")),
        "article_plain": first("*/20*/*/*/index.html", lambda f: "figure class=\"photo\"" not in f.read_text("utf-8")
                               and "<picture" not in f.read_text("utf-8")),
        "gallery": first("galleries/*/index.html"),
    }
    if (site_dir / "search" / "index.html").exists():
        pages["search"] = "/search/"
    return pages


def page_kinds(site_dir: Path) -> dict[str, str]:
    """Site-relative URLs of one page of every kind the theme renders (17 in the sample site): the
    :func:`sample_pages` plus a column listing, a tag, the tag index, a month and a year archive, the archive
    index, the newest article of the column 改革进行时, a 图片新闻 article, a static page, the gallery index and the 404
    page."""
    def first(pattern: str, marker: str = "", newest: bool = False) -> str:
        # permalinks are /category/year/month/slug/: the newest is the last by everything after the category
        for f in sorted(site_dir.glob(pattern), key=lambda f: f.relative_to(site_dir).parts[1:], reverse=newest):
            if marker in f.read_text("utf-8"):
                rel = f.relative_to(site_dir).as_posix()
                return "/" + rel.removesuffix("index.html")
        raise AssertionError(f"no page matches {pattern} {marker}")

    return {**sample_pages(site_dir), "column": "/gaige-jinxingshi/", "tag": first("tags/*/index.html"),
            "tags": "/tags/", "archive-month": first("archives/*/*/index.html"),
            "archive-year": first("archives/*/index.html"), "archives": "/archives/",
            "column-article": first("*/20*/*/*/index.html", 'data-column="专栏：改革进行时"', newest=True),
            "photo-article": first("tupian-xinwen/20*/*/*/index.html"), "page": "/about/",
            "galleries": "/galleries/", "404": "/404.html"}


def clean_artifacts() -> Path:
    """``tests/artifacts/`` emptied of old screenshots (git-ignored) and returned."""
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS
