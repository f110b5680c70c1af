"""The watcher (sitegen/watch.py): what it ignores, how it classifies, and case B23 — editor atomic saves, swap
files and event storms — run with the case's own simulate_save.py against a real watchdog observer and real
builds.

The waits below only let the debounce settle; the assertions are on counts of rebuilds and on the built output.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sitegen import build as buildmod
from sitegen import config as configmod
from sitegen.watch import Change, Watcher, classify

CASE = Path(__file__).resolve().parent / "cases" / "B23"
DEBOUNCE = 0.25


@pytest.mark.parametrize("rel, kind", [
    ("content/2024/a.md", "content"),
    ("content/2024/bundle/photo.jpg", "static"),
    ("site.yaml", "config"),
    ("themes/default/templates/article.html", "theme"),
    ("themes/default/static/style.css", "static"),
    ("static/favicon.ico", "static"),
    ("output/index.html", None),
    ("output/2024/03/05/watched/index.html", None),
    (".sitegen-cache/build-status.json", None),
    (".output.staging-123/index.html", None),
    ("content/.watched.md.swp", None),
    ("content/.watched.md.swx", None),
    ("content/watched.md~", None),
    ("content/.watched.md.tmp123", None),
    ("content/#watched.md#", None),
    ("content/.#watched.md", None),
    ("content/4913", None),
    ("content/.DS_Store", None),
    ("content/.git/index", None),
    ("README.md", None),
    ("other.yaml", None),
])
def test_classify(rel, kind):
    assert classify(rel) == kind


def test_classify_folders():
    assert classify("content/2024/03", is_directory=True) == "content"
    assert classify("content", is_directory=True) == "content"
    assert classify("themes", is_directory=True) == "theme"
    assert classify("output", is_directory=True) is None


def test_change_full_for_config_and_theme():
    assert Change(("site.yaml",), frozenset({"config"})).full
    assert Change(("themes/default/templates/base.html",), frozenset({"theme"})).full
    assert not Change(("content/a.md",), frozenset({"content"})).full


class Recorder:
    """A watcher callback that runs a real build of the project and records every change it was given."""

    def __init__(self, config):
        self.config = config
        self.changes: list[Change] = []
        self.lock = threading.Lock()

    def __call__(self, change: Change) -> None:
        with self.lock:
            self.changes.append(change)
        buildmod.build(self.config, buildmod.BuildOptions(drafts=True, future=True))


def settle(watcher: Watcher, expect_at_least: int = 1, timeout: float = 20.0) -> None:
    """Wait until ``watcher`` ran at least ``expect_at_least`` callbacks and stayed idle for four debounce periods."""
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        if watcher.builds >= expect_at_least and watcher.idle():
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 4 * DEBOUNCE:
                return
        else:
            quiet_since = None
        time.sleep(0.02)


@pytest.fixture(params=[False, True], ids=["events", "poll"])
def case_b23(request, tmp_path):
    """The B23 project copied to ``tmp_path``, built once, with a running watcher (inotify or polling)."""
    root = tmp_path / "site"
    shutil.copytree(CASE, root)
    config = configmod.load(root)
    buildmod.build(config, buildmod.BuildOptions(drafts=True, future=True))
    recorder = Recorder(config)
    watcher = Watcher(config, recorder, debounce=DEBOUNCE, poll=request.param, poll_interval=0.1).start()
    time.sleep(0.3)  # let the observer take its first snapshot (polling) before anything changes
    try:
        yield root, watcher, recorder
    finally:
        watcher.stop()


def simulate(root: Path, mode: str) -> None:
    subprocess.run([sys.executable, str(root / "simulate_save.py"), mode], cwd=root, check=True)


def page(root: Path, slug: str) -> str:
    return (root / "output" / "2024" / "03" / "05" / slug / "index.html").read_text("utf-8")


def test_b23_vim_save_rebuilds_once(case_b23):
    root, watcher, recorder = case_b23
    simulate(root, "vim")
    settle(watcher)
    assert watcher.builds == 1, recorder.changes
    assert recorder.changes[0].paths == ("content/watched.md",)
    assert "版本二。" in page(root, "watched")
    assert not any("swp" in p.name or p.name.endswith("~") for p in (root / "output").rglob("*"))


def test_b23_replace_save_rebuilds_once(case_b23):
    root, watcher, recorder = case_b23
    simulate(root, "replace")
    settle(watcher)
    assert watcher.builds == 1, recorder.changes
    assert recorder.changes[0].kinds == {"content"}
    assert "版本三。" in page(root, "watched")
    assert not any("tmp" in p.name for p in (root / "output").rglob("*"))


def test_b23_storm_at_most_two_rebuilds(case_b23):
    root, watcher, recorder = case_b23
    simulate(root, "storm")
    settle(watcher)
    assert 1 <= watcher.builds <= 2, [c.events for c in recorder.changes]
    for i in range(30):
        assert f"批量{i:02d}" in page(root, f"storm-{i:02d}")
    assert "批量29" in (root / "output" / "index.html").read_text("utf-8")


def test_b23_temp_and_swap_files_never_rebuild(case_b23):
    root, watcher, recorder = case_b23
    content = root / "content"
    for name in (".watched.md.swp", ".watched.md.swx", "watched.md~", ".watched.md.tmp123", "#watched.md#",
                 ".#watched.md", "4913", ".DS_Store", "a.md.part", "Thumbs.db"):
        (content / name).write_bytes(b"\0" * 64)
        (content / name).unlink()
        (content / name).write_text("---\ntitle: 不应出现\n---\n", "utf-8")
    (root / "output" / "junk.txt").write_text("x", "utf-8")
    (root / ".sitegen-cache" / "junk.txt").write_text("x", "utf-8")
    time.sleep(6 * DEBOUNCE)
    assert watcher.builds == 0, recorder.changes
    assert watcher.idle()


def test_delete_and_folder_rename_rebuild(case_b23):
    root, watcher, recorder = case_b23
    folder = root / "content" / "2024"
    folder.mkdir()
    (folder / "moved.md").write_text(
        "---\ntitle: 搬家的文章\ndate: 2024-03-05 11:00\ncategory: 测试\nslug: moved\n---\n\n正文。\n", "utf-8")
    settle(watcher)
    assert "搬家的文章" in page(root, "moved")
    before = watcher.builds
    os.rename(folder, root / "content" / "2024-renamed")
    settle(watcher, before + 1)
    assert watcher.builds == before + 1
    assert "搬家的文章" in page(root, "moved")  # same slug: the page survives the folder rename
    before = watcher.builds
    (root / "content" / "2024-renamed" / "moved.md").unlink()
    settle(watcher, before + 1)
    assert not (root / "output" / "2024" / "03" / "05" / "moved").exists()


def test_config_and_template_changes_are_full(case_b23):
    root, watcher, recorder = case_b23
    text = (root / "site.yaml").read_text("utf-8").replace("监视测试站", "改名后的站")
    (root / "site.yaml").write_text(text, "utf-8")
    settle(watcher)
    assert recorder.changes[-1].kinds == {"config"} and recorder.changes[-1].full
    before = watcher.builds
    templates = root / "themes" / "default" / "templates"
    templates.mkdir(parents=True)
    (templates / "404.html").write_text("{% extends 'base.html' %}{% block content %}没有{% endblock %}\n", "utf-8")
    settle(watcher, before + 1)
    assert "theme" in recorder.changes[-1].kinds and recorder.changes[-1].full


def test_callback_errors_do_not_stop_the_watcher(tmp_path):
    root = tmp_path / "site"
    shutil.copytree(CASE, root)
    config = configmod.load(root)
    calls = []

    def boom(change):
        calls.append(change)
        raise RuntimeError("boom")

    with Watcher(config, boom, debounce=0.1):
        time.sleep(0.2)
        (root / "content" / "a.md").write_text("x", "utf-8")
        deadline = time.monotonic() + 10
        while not calls and time.monotonic() < deadline:
            time.sleep(0.02)
        (root / "content" / "b.md").write_text("x", "utf-8")
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert [c.paths for c in calls] == [("content/a.md",), ("content/b.md",)]
