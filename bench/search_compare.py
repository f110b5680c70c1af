#!/usr/bin/env python3
"""Side by side, on one built site: (a) Pagefind fed with text split into overlapping character pairs (bigrams)
and (b) sitegen's own index (sitegen/searchindex.py), on the same articles in the same run.

Usage:  search_compare.py OUTPUT --pagefind PAGEFIND_BINARY [--work DIR] [--edit-runs 3]

For each engine it prints the CPU-seconds (user + system, of this process for (b), of the Pagefind process for (a))
to index every article of OUTPUT, the same after one old article's text is corrected (Pagefind cannot update an
index, so it indexes everything again; sitegen re-indexes the article's block), and the index size. It also writes
WORK/a (a copy of OUTPUT whose search page answers from the Pagefind bigram bundle) and leaves OUTPUT's own search
for (b), so that ``../shared/search/recall.py`` measures recall, R-precision and first-page bytes of both through
a browser:  recall.py WORK/a  and  recall.py OUTPUT.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sitegen import search, searchindex  # noqa: E402

A_SCRIPT = """// (a) Pagefind over bigram-split text: the query is split the same way; Pagefind ANDs the pairs.
const root = document.getElementById("search"), list = document.getElementById("search-results");
const more = root.querySelector(".search-more"), status = document.getElementById("search-status");
const norm = (t) => t.replace(/\\s+/gu, "").replace(/[A-Z]/g, (c) => c.toLowerCase());
const pairs = (t) => { const u = [...t]; if (u.length < 2) return u; const o = [];
  for (let i = 0; i + 1 < u.length; i++) o.push(u[i] + u[i + 1]); return o; };
async function main() {
  root.dataset.state = "busy";
  const q = new URLSearchParams(location.search).get("q") || "";
  const pf = await import("/pagefind/pagefind.js");
  await pf.init();
  const terms = q.split(/\\s+/u).map(norm).filter(Boolean).flatMap(pairs);
  const s = await pf.search(terms.join(" "));
  status.textContent = `共找到 ${s.results.length} 篇`;
  let shown = 0;
  async function next() {
    const batch = await Promise.all(s.results.slice(shown, shown + 10).map((r) => r.data()));
    for (const d of batch) { const li = document.createElement("li"), a = document.createElement("a");
      a.href = d.meta.url; a.textContent = d.meta.title; li.append(a); list.append(li); }
    shown += batch.length; more.hidden = shown >= s.results.length;
  }
  more.addEventListener("click", next);
  await next();
  root.dataset.state = "done";
}
main();
"""


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def articles(out: Path) -> list[tuple[str, str, bytes]]:
    """(URL, title, what the index reads of the page) of every page of ``out`` with an indexed element."""
    docs = []
    for p in sorted(out.rglob("index.html")):
        if "search-index" in p.parts:
            continue
        ess = search.essentials(p.read_bytes())
        if not ess:
            continue
        url = "/" + p.parent.relative_to(out).as_posix() + "/"
        title = search.text_of(ess.split(b"</h1>")[0] + b"</h1>") if b"</h1>" in ess else url
        docs.append((url, title, ess))
    return docs


def bigram_page(url: str, title: str, text: str) -> str:
    norm = searchindex.normalize(text)
    pairs = " ".join(norm[i:i + 2] for i in range(len(norm) - 1))
    return (f'<!DOCTYPE html><html><head><title>{escape(title)}</title></head><body>'
            f'<main data-pagefind-body><h1 data-pagefind-meta="title">{escape(title)}</h1>'
            f'<span data-pagefind-meta="url:{escape(url)}" hidden></span><p>{escape(pairs)}</p></main></body></html>')


def run_pagefind(binary: str, docs, bundle: Path) -> float:
    """Index ``docs`` (bigram pages) with the Pagefind CLI into ``bundle``; CPU-seconds of the Pagefind process."""
    with tempfile.TemporaryDirectory() as tmp:
        for i, (url, title, text) in enumerate(docs):
            page = Path(tmp) / f"p{i}" / "index.html"
            page.parent.mkdir()
            page.write_text(bigram_page(url, title, search.text_of(text)), "utf-8")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([binary, "--site", tmp, "--output-path", str(bundle), "--quiet"], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_own(docs) -> tuple[float, int]:
    """CPU-seconds and bytes of sitegen's index of ``docs``, in blocks of ``search.BLOCK`` as the build makes it,
    the extraction of each page's text included (what the build's search stage does besides)."""
    t = cpu_self()
    size = 0
    for k in range(0, len(docs), search.BLOCK):
        block = [searchindex.Doc(u, ti, "2024-01-01", "", "", search.text_of(ess)) for u, ti, ess in docs[k:k + search.BLOCK]]
        size += sum(len(b) for b in searchindex.build(block, first=k).values())
    return cpu_self() - t, size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--pagefind", required=True)
    ap.add_argument("--work", type=Path, default=Path("bench/work/search-compare"))
    ap.add_argument("--edit-runs", type=int, default=1)
    a = ap.parse_args()
    docs = articles(a.out)
    print(f"{len(docs)} articles")
    site_a = a.work / "a"
    shutil.rmtree(site_a, ignore_errors=True)
    shutil.copytree(a.out, site_a, ignore=shutil.ignore_patterns("search-index"))
    cpu_a = run_pagefind(a.pagefind, docs, site_a / "pagefind")
    page = site_a / "search" / "index.html"
    html = page.read_text("utf-8")
    start = html.index('<script type="module"')
    end = html.index("</script>", start) + len("</script>")
    page.write_text(html[:start] + '<script type="module" src="/search-a.js"></script>' + html[end:], "utf-8")
    (site_a / "search-a.js").write_text(A_SCRIPT, "utf-8")
    size_a = sum(f.stat().st_size for f in (site_a / "pagefind").rglob("*") if f.is_file())
    cpu_b, size_b = run_own(docs)
    print(f"(a) Pagefind bigrams: index {cpu_a:.2f} CPU-s, {size_a / 1e6:.1f} MB")
    print(f"(b) own index:        index {cpu_b:.2f} CPU-s, {size_b / 1e6:.1f} MB")
    edited = list(docs)
    url, title, text = edited[0]
    edited[0] = (url, title, text + "<p>更正：本文第二段数字有误，已改正。</p>".encode())
    for run in range(a.edit_runs):
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            e_a = run_pagefind(a.pagefind, edited, Path(tmp) / "pf")
        e_b, _ = run_own(edited[:search.BLOCK])
        print(f"one old article corrected, run {run + 1}: (a) {e_a:.2f} CPU-s (whole index again), "
              f"(b) {e_b:.2f} CPU-s (its block of {min(len(docs), search.BLOCK)} articles again) "
              f"[{time.perf_counter() - t0:.1f} s wall]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
