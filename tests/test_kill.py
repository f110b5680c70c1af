"""Builds killed at random moments (issue: hostile and broken input, "no leftovers, no half-written output"): a
2,000-article site is built, then 30 times an article is edited and its build killed with SIGKILL at a random
instant, some of them inside the commit (``SITEGEN_TEST_COMMIT_PAUSE`` makes the writer pause between files, so
the commit is wide enough to hit). After every kill ``output/`` holds the old site or the new one, unless the
commit journal is there (the next build completes it); the next build leaves no staging folder and no journal; at
the end the output equals a clean build byte for byte."""
from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_cache import NOW, SITE_YAML, article, clean_build, tree

ARTICLES = 2000
KILLS = 30


def digest_tree(out: Path) -> dict[str, str]:
    return {rel: hashlib.blake2b(data, digest_size=12).hexdigest() for rel, data in tree(out).items()}


def build_cmd(root: Path) -> list[str]:
    return [sys.executable, "-m", "sitegen", "build", str(root), "-q", "--jobs", "2"]


def env(pause: str = "") -> dict:
    e = dict(os.environ, SITEGEN_NOW=NOW)
    if pause:
        e["SITEGEN_TEST_COMMIT_PAUSE"] = pause
    return e


def journal_of(root: Path) -> bool:
    return any(p.name.endswith("sitegen-commit.json") for p in root.iterdir())


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if ".staging-" in p.name or p.name.endswith("sitegen-commit.json"))


@pytest.mark.slow
def test_builds_killed_at_random_moments_never_leave_output_mixed(tmp_path, monkeypatch):
    monkeypatch.setenv("SITEGEN_NOW", NOW)  # the clean build at the end runs in this process
    root = tmp_path / "site"
    (root / "content" / "news").mkdir(parents=True)
    (root / "site.yaml").write_text(SITE_YAML, "utf-8")
    for i in range(ARTICLES):
        (root / "content" / "news" / f"a{i:02d}.md").write_text(article(i), "utf-8")  # as its links name it
    subprocess.run(build_cmd(root), env=env(), check=True, capture_output=True)
    out = root / "output"
    rng = random.Random(20261207)
    before = digest_tree(out)
    in_commit = 0
    for n in range(KILLS):
        page = root / "content" / "news" / f"a{rng.randrange(ARTICLES):02d}.md"
        text = page.read_text("utf-8")  # a new title: its page, listings, neighbours and feeds change
        page.write_text(text.replace("title: ", f"title: 改{n} ", 1), "utf-8")
        started = time.monotonic()
        proc = subprocess.Popen(build_cmd(root), env=env("0.01"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if n % 3 == 0:  # aimed: once the commit has begun (its journal is written), a moment into it
            deadline = time.monotonic() + 120
            while not journal_of(root) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.3))
        else:  # anywhere: scanning, parsing, rendering, indexing or committing
            time.sleep(rng.uniform(0.05, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        journal = [x for x in leftovers(root) if x.endswith("sitegen-commit.json")]
        killed = None if journal else digest_tree(out)
        in_commit += bool(journal)
        done = subprocess.run(build_cmd(root), env=env(), capture_output=True, text=True)
        assert done.returncode == 0, f"kill {n}: the next build failed:\n{done.stdout}\n{done.stderr}"
        assert leftovers(root) == [], n
        after = digest_tree(out)
        assert killed in (None, before, after), f"kill {n} after {time.monotonic() - started:.2f} s left a mixed output/"
        before = after
    assert in_commit >= 3, "too few kills landed inside the commit to test it"
    got, want = tree(out), clean_build(root, tmp_path)
    assert sorted(got) == sorted(want)
    assert [rel for rel in want if got[rel] != want[rel]] == []
