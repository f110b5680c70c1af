"""Save-to-reload latency of ``sitegen serve``: the time from saving one article to the browser having the reloaded
page, i.e. the server-sent reload event received and the article's page fetched with the new title.

    python bench/serve_latency.py CORPUS_DIR [-n 7] [--article content/…/x.md] [--port 0] [--pause 0.5]

Starts ``python -m sitegen serve CORPUS_DIR`` on 127.0.0.1 (its first, full build is timed separately), then saves
the article N times with an atomic rename (temp file + ``os.replace``, as editors do), each time with a new title,
and measures. Prints one line per save, then the median, min and max in seconds, and a JSON summary line. The
article is restored at the end. Standard library only (plus sitegen itself, to find the article's URL).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sitegen import config as configmod  # noqa: E402
from sitegen import content as contentmod  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, timeout: float = 60) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError:
        return 0, ""


def events(port: int, out: "queue.Queue[tuple[float, dict]]") -> None:
    """Read the server-sent events of the preview forever, putting (arrival time, message) on ``out``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=None)
    conn.request("GET", "/__sitegen/events")
    resp = conn.getresponse()
    while True:
        line = resp.fp.readline()
        if not line:
            return
        if line.startswith(b"data: "):
            out.put((time.perf_counter(), json.loads(line[6:])))


def save(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.bench-tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path, help="site folder (site.yaml, content/)")
    ap.add_argument("-n", type=int, default=7, help="number of saves (default 7)")
    ap.add_argument("--article", help="project-relative path of the article to save (default: the first)")
    ap.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    ap.add_argument("--pause", type=float, default=0.5, help="seconds between saves (default 0.5)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the first build")
    args = ap.parse_args(argv)

    root = args.corpus.resolve()
    config = configmod.load(root)
    sources = {s.rel: s for s in contentmod.scan(config)}
    rel = args.article or next(r for r, s in sources.items() if s.kind == "article")
    page = contentmod.read_source(config, sources[rel]).page
    if page is None:
        print(f"{rel} does not parse; choose another with --article", file=sys.stderr)
        return 2
    path = root / rel
    original = path.read_text("utf-8")
    port = args.port or free_port()
    page_url = f"http://127.0.0.1:{port}{config.base_path}{urllib.parse.quote(page.url.lstrip('/'))}"

    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sitegen", "serve", str(root), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    samples: list[float] = []
    try:
        while fetch(f"http://127.0.0.1:{port}/", timeout=5)[0] != 200:
            if proc.poll() is not None:
                print("sitegen serve exited", file=sys.stderr)
                return 1
            if time.perf_counter() - t0 > args.timeout:
                print("first build did not finish in time", file=sys.stderr)
                return 1
            time.sleep(0.2)
        first = time.perf_counter() - t0
        print(f"first build and server ready: {first:.2f} s ({len(sources)} content files)")
        got: queue.Queue = queue.Queue()
        threading.Thread(target=events, args=(port, got), daemon=True).start()
        _, state = got.get(timeout=60)
        version = state["version"]
        for i in range(args.n):
            title = f"延迟测试第{i + 1}次 {os.getpid()}"
            text = re.sub(r"(?m)^title:.*$", f"title: {title}", original, count=1)
            start = time.perf_counter()
            save(path, text)
            while True:
                _, state = got.get(timeout=args.timeout)
                if state["version"] != version:
                    version = state["version"]
                    break
            status, html = fetch(page_url)
            took = time.perf_counter() - start
            ok = status == 200 and title in html and not state["problems"]
            print(f"save {i + 1}: {took:.3f} s{'' if ok else '  (page not updated or errors: ' + str(state['problems'][:1]) + ')'}")
            if ok:
                samples.append(took)
            time.sleep(args.pause)
    finally:
        save(path, original)
        time.sleep(1.0)
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    if not samples:
        print("no successful sample", file=sys.stderr)
        return 1
    median = statistics.median(samples)
    print(f"save → reloaded page: median {median:.3f} s, min {min(samples):.3f} s, max {max(samples):.3f} s "
          f"over {len(samples)} saves")
    print(json.dumps({"bench": "serve_latency", "articles": len(sources), "first_build_s": round(first, 3),
                      "median_s": round(median, 3), "min_s": round(min(samples), 3), "max_s": round(max(samples), 3),
                      "samples": [round(s, 3) for s in samples]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
