"""The 1000-article benchmark corpus (shared/bench/make_corpus.py --flavour sitegen) builds with exit 0, and every
article is reachable from the home page by following links (breadth-first over internal links of the HTML)."""
from __future__ import annotations

import subprocess
import sys
from collections import deque

import pytest

from conftest import BENCH_KIT, html_links, need_shared, resolve_link, run_cli

ARTICLES = 1000


@pytest.mark.slow
def test_corpus_builds_and_every_article_is_reachable_from_home(tmp_path):
    generator = need_shared("bench", "make_corpus.py", why=BENCH_KIT)
    root = tmp_path / "corpus"
    subprocess.run([sys.executable, str(generator), str(root), "--flavour", "sitegen", "--articles", str(ARTICLES)],
                   check=True, capture_output=True, timeout=300)
    sources = [p for p in (root / "content").rglob("*.md")]
    assert len(sources) == ARTICLES

    code, stdout, stderr = run_cli(["build", root, "-q"])
    assert code == 0, stderr
    assert "0 个错误" in stdout and "Traceback" not in stderr

    # the published articles, as sitegen itself lists them (one per source file)
    from sitegen import config as configmod
    from sitegen import content

    cfg = configmod.load(root)
    pages = [content.read_source(cfg, s).page for s in content.scan(cfg)]
    articles = {p.url.lstrip("/") + "index.html" for p in pages if p and p.kind == "article"}
    assert len(articles) == ARTICLES

    out = root / "output"
    seen = {"index.html"}
    queue = deque(["index.html"])
    while queue:
        rel = queue.popleft()
        for link in html_links((out / rel).read_bytes()):
            target = resolve_link(out, rel, link)
            assert target is not None, f"{rel}: broken link {link}"
            if not target or target.suffix != ".html":
                continue
            found = target.relative_to(out).as_posix()
            if found not in seen:
                seen.add(found)
                queue.append(found)
    missing = sorted(articles - seen)
    assert not missing, f"{len(missing)} articles not reachable from the home page, e.g. {missing[:5]}"
