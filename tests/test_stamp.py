"""The build stamp (sitegen/build/stamp.py): a build with nothing changed replays the last report after looking;
any change to what the last build read or wrote makes it run its stages, and the result equals a clean build.

Files are dated a minute back before the first build: a file written within two seconds of a build's look is racy
(sitegen/racy.py) and never trusted by its time alone, which one test shows. No timing is asserted; the speed of a
no-change build is measured by ``make bench``."""
from __future__ import annotations

import io
import json
import os
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from conftest import make_site
from sitegen import build as buildmod
from sitegen import config as configmod

NOW = "2026-11-30T12:00:00+08:00"


def photo(color: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "JPEG")
    return buf.getvalue()


def article(i: int, extra: str = "") -> str:
    return (f"---\ntitle: 测试文章第{i}号\ndate: 2026-11-{10 + i:02d} 09:00\ncategory: 工作动态\ntags: [妇联改革]\n"
            f"---\n\n第{i}号文章的正文。{extra}\n")


FILES = {
    "content/news/a1.md": article(1, "\n\n![会场](../photos/hall.jpg)\n\n附件：[通知](../files/notice.pdf)"),
    "content/news/a2.md": article(2, "参见[规划](../files/plan.pdf)。"),
    "content/news/a3.md": article(3),
    "content/photos/hall.jpg": photo("red"),
    "content/files/notice.pdf": b"%PDF-1.4\n% notice\n",
    "content/pages/about.md": "---\ntitle: 关于我们\n---\n\n简介。\n",
}


def age(root: Path, seconds: float = 60) -> None:
    """Date every project file ``seconds`` back (output and cache aside), as files saved a while ago are."""
    past = time.time() - seconds
    for path in root.rglob("*"):
        if path.is_file() and not {".sitegen-cache", "output"} & set(path.relative_to(root).parts):
            os.utime(path, (past, past))


def run(root: Path, **options):
    report = buildmod.build(configmod.load(root), buildmod.BuildOptions(out=root / "output", jobs=1, **options))
    assert report.ok, [str(p) for p in report.problems]
    return report


def replayed(report) -> bool:
    return [name for name, _ in report.stages] == ["stamp"]


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def assert_same_as_clean(root: Path, tmp: Path) -> None:
    copy = tmp / "clean"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".sitegen-cache", "output"))
    run(copy)
    assert tree(root / "output") == tree(copy / "output")


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setenv("SITEGEN_NOW", NOW)


@pytest.fixture
def site(tmp_path):
    root = make_site(tmp_path, FILES)
    age(root)
    first = run(root)
    assert not replayed(first)
    return root, first


def test_a_build_with_nothing_changed_replays_the_last_report(site):
    root, first = site
    before = tree(root / "output")
    again = run(root)
    assert replayed(again)
    assert again.pages == first.pages and again.problems == first.problems and again.problems
    assert again.written == () and again.removed == () and again.parsed == 0 and again.rendered == 0
    assert again.unchanged == len(before) == len(first.written) + first.unchanged
    assert tree(root / "output") == before
    status = json.loads((root / ".sitegen-cache" / "build-status.json").read_text("utf-8"))
    assert status["errors"] == len(first.errors) == 1 and status["ok"] is False  # E205: plan.pdf is missing
    assert replayed(run(root))  # and again


def _edit(root: Path, rel: str, text: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    past = time.time() - 30  # saved a while ago, with a time of its own
    os.utime(path, (past, past))


CHANGES = {
    "article edited": lambda root: _edit(root, "content/news/a3.md", article(3, "补充一段新的内容。")),
    "article added": lambda root: _edit(root, "content/news/a4.md", article(4)),
    "article removed": lambda root: (root / "content/news/a3.md").unlink(),
    "photo replaced": lambda root: _edit(root, "content/photos/hall.jpg", photo("blue")),
    "attachment replaced": lambda root: _edit(root, "content/files/notice.pdf", b"%PDF-1.4\n% changed\n"),
    "linked file appears": lambda root: _edit(root, "content/files/plan.pdf", b"%PDF-1.4\n% plan\n"),
    "template added": lambda root: _edit(root, "themes/default/templates/404.html",
                                         "{% extends 'base.html' %}{% block main %}<p>新的 404</p>{% endblock %}"),
    "site.yaml edited": lambda root: _edit(root, "site.yaml", (root / "site.yaml").read_text("utf-8").replace(
        "测试站", "改名后的测试站")),
    "output file removed": lambda root: (root / "output/about/index.html").unlink(),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_runs_the_stages_and_equals_a_clean_build(site, tmp_path, change):
    root, _ = site
    CHANGES[change](root)
    report = run(root)
    assert not replayed(report)
    assert_same_as_clean(root, tmp_path)
    assert replayed(run(root))


def test_a_deploy_setting_keeps_the_replay(site):
    root, _ = site
    _edit(root, "site.yaml", (root / "site.yaml").read_text("utf-8")
          + "deploy:\n  targets:\n    - {name: 备份, url: /srv/backup/}\n")
    assert replayed(run(root))


def test_other_options_or_clock_do_not_replay(site, monkeypatch):
    root, _ = site
    assert not replayed(run(root, drafts=True))
    assert not replayed(run(root))  # the stamp of a --drafts build does not answer a plain one
    monkeypatch.setenv("SITEGEN_NOW", "2026-12-01T12:00:00+08:00")
    assert not replayed(run(root))
    assert not replayed(run(root, explain=True))  # --explain always says why each output was made


def test_a_file_saved_within_two_seconds_of_the_build_is_not_trusted(tmp_path):
    root = make_site(tmp_path, FILES)  # just written: racy at the first build's look
    run(root)
    assert not replayed(run(root))


def test_a_preview_build_into_the_same_folder_voids_the_stamp(site):
    root, _ = site
    _edit(root, "content/news/a5.md", article(5).replace("tags:", "draft: true\ntags:"))
    report = buildmod.build(configmod.load(root), buildmod.BuildOptions(out=root / "output", jobs=1, drafts=True),
                            session=buildmod.Session())
    assert report.ok and report.pages > 0
    drafted = [rel for rel in tree(root / "output") if "a5" in rel]
    assert drafted
    report = run(root)
    assert not replayed(report)
    assert not [rel for rel in tree(root / "output") if "a5" in rel]


def test_an_article_held_back_for_its_date_is_published_when_due(tmp_path, monkeypatch):
    monkeypatch.delenv("SITEGEN_NOW")
    due = datetime.now().astimezone() + timedelta(seconds=3)
    text = article(6).replace("2026-11-16 09:00", "'" + due.isoformat(timespec="seconds") + "'")
    root = make_site(tmp_path, dict(FILES, **{"content/news/a6.md": text}))
    age(root)
    first = run(root)
    assert first.upcoming is not None and first.upcoming.source.endswith("a6.md")
    again = run(root)
    assert replayed(again) and again.upcoming == first.upcoming
    time.sleep(max(0.0, (due - datetime.now().astimezone()).total_seconds()) + 0.5)
    later = run(root)
    assert not replayed(later) and later.upcoming is None
    assert any("a6" in rel for rel in later.written)


def test_a_cache_removed_or_replaced_voids_the_stamp(site):
    root, _ = site
    shutil.rmtree(root / ".sitegen-cache" / "manifests")
    assert not replayed(run(root))
    assert replayed(run(root))
    pages = root / ".sitegen-cache" / "pages.cache"
    pages.write_bytes(pages.read_bytes())  # restored from elsewhere: another time
    os.utime(pages, (time.time() - 600, time.time() - 600))
    assert not replayed(run(root))
