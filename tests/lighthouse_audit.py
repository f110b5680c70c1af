"""Lighthouse (npm ``lighthouse@12.2.3``, mobile emulation) on the home page, an article and the search page with a
query (``/search/?q=妇联``: the index is fetched and the results drawn after load) of the built site, served on
127.0.0.1 by a threaded ``http.server``. Prints the four category scores of each page and exits 1 when
accessibility, best practices or SEO is below 100, performance below 95 (for the search page, which is noindex
by design: performance below 90, SEO not counted, issue 18), or the cumulative layout shift is 0.1 or more.

Usage: ``python tests/lighthouse_audit.py [OUTPUT_DIR]`` (default ``output/``; build it first). Needs Node's
``npx`` and Chromium (``CHROME_PATH``, default ``/usr/bin/chromium``). Reports are written to
``tests/artifacts/lighthouse-*.json``.
"""
from __future__ import annotations

import functools
import gzip
import http.server
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

LIGHTHOUSE = "lighthouse@12.2.3"
ROOT = Path(__file__).resolve().parents[1]
MINIMUM = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}
SEARCH_MINIMUM = {**MINIMUM, "performance": 90, "seo": 0}  # noindex by design: Lighthouse's is-crawlable fails
MAX_CLS = 0.1


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml",
                      ".js": "text/javascript", ".css": "text/css", ".html": "text/html; charset=utf-8"}

    def end_headers(self):
        if "/assets/" in self.path:  # fingerprinted: cache for a year, as the nginx example does
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        super().end_headers()

    def send_head(self):
        """Text compressed with gzip when the client asks for it, as a production server does."""
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        text = path.suffix in (".html", ".css", ".js", ".svg", ".webmanifest", ".json", ".xml")
        if not (text and path.is_file() and "gzip" in self.headers.get("Accept-Encoding", "")) or \
                not self.path.split("?")[0].endswith(("/", path.name)):
            return super().send_head()
        body = gzip.compress(path.read_bytes())
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, *args):
        pass


def pick_article(out: Path) -> str:
    """The first article with photos under the first category, as a site-relative URL."""
    for f in sorted(out.glob("*/20*/*/*/index.html")):
        if 'class="photo"' in f.read_text("utf-8"):
            return "/" + f.parent.relative_to(out).as_posix() + "/"
    raise SystemExit(f"no article page in {out}")


def audit(url: str, report: Path) -> dict[str, int]:
    """Run Lighthouse on ``url`` (mobile), save the JSON report, return scores 0–100 by category id."""
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    subprocess.run(["npx", "--yes", LIGHTHOUSE, url, "--output=json", f"--output-path={report}", "--quiet",
                    "--only-categories=performance,accessibility,best-practices,seo",
                    "--chrome-flags=--headless=new --no-sandbox --disable-gpu"], check=True, env=env, timeout=600)
    data = json.loads(report.read_text("utf-8"))
    return {k: round((v["score"] or 0) * 100) for k, v in data["categories"].items()}


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else ROOT / "output").resolve()
    if not (out / "index.html").is_file():
        print(f"{out} 中没有构建好的网站：先运行 make build", file=sys.stderr)
        return 2
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    failed = False
    try:
        pages = (("home", "/", MINIMUM), ("article", pick_article(out), MINIMUM),
                 ("search", "/search/?q=" + quote("妇联"), SEARCH_MINIMUM))
        for name, path, minimum in pages:
            url = f"http://127.0.0.1:{server.server_address[1]}{path}"
            scores = audit(url, artifacts / f"lighthouse-{name}.json")
            low = {k: v for k, v in scores.items() if v < minimum[k]}
            cls = json.loads((artifacts / f"lighthouse-{name}.json").read_text("utf-8"))["audits"][
                "cumulative-layout-shift"]["numericValue"]
            if cls >= MAX_CLS:
                low["CLS"] = round(cls, 3)
            failed |= bool(low)
            print(f"{name:8} {path}: " + "  ".join(f"{k} {v}" for k, v in scores.items()) + f"  CLS {cls:.3f}"
                  + (f"   below target: {low}" if low else ""))
            if low:
                data = json.loads((artifacts / f"lighthouse-{name}.json").read_text("utf-8"))
                for cat in (c for c in low if c in data["categories"]):
                    for ref in data["categories"][cat]["auditRefs"]:
                        a = data["audits"][ref["id"]]
                        if ref.get("weight") and a.get("score") is not None and a["score"] < 1:
                            print(f"    {cat}: {a['id']}: {a['title']} ({a.get('displayValue', a['score'])})")
    finally:
        server.shutdown()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
