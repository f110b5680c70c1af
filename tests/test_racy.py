"""Change detection by content (issue 23, point 4): size and modification time never vouch alone for a file saved
too recently (git's racy rule, ``sitegen.racy``), in the build's page cache, its photo hashes and the poller of
``serve --poll``; files saved longer ago are trusted by their stat, so a build or poll that finds nothing changed
reads no file. Same-size saves that keep the modification time are made with ``os.utime``, as a share with 1-second
timestamps records two saves in one second."""
from __future__ import annotations

import io
import os
import time
from pathlib import Path

from PIL import Image

from conftest import build_site, make_site
from sitegen import cache as cachemod
from sitegen import config as configmod
from sitegen import poller, racy

OLD_NS = 1_600_000_000 * 10**9  # September 2020


def _article(title: str, extra: str = "") -> str:
    return f"---\ntitle: {title}\ndate: 2026-11-20 10:00\ncategory: 工作动态\nslug: racy\n{extra}---\n\n正文。\n"


def rewrite_keeping_stat(path: Path, data: bytes) -> None:
    """Replace ``path``'s bytes in place with ``data`` of the same size and give it back its modification time."""
    before = path.stat()
    assert len(data) == before.st_size
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


def test_racy_rule():
    looked = 1_700_000_000 * 10**9
    assert racy.is_racy(looked, looked) and racy.is_racy(looked + 5 * 10**9, looked)  # same step, or later
    assert racy.is_racy(looked - racy.WINDOW_NS, looked)
    assert not racy.is_racy(looked - racy.WINDOW_NS - 1, looked)
    assert racy.is_racy(OLD_NS, 0)  # never looked: nothing is trusted


def test_same_size_save_in_the_same_second_as_a_build_is_rebuilt(tmp_path):
    root = make_site(tmp_path, {"content/racy.md": _article("第一稿标题")})
    page = root / "output" / "gongzuo-dongtai" / "2026" / "11" / "racy" / "index.html"
    assert build_site(root).ok and "第一稿标题" in page.read_text("utf-8")
    rewrite_keeping_stat(root / "content/racy.md", _article("第二稿标题").encode())
    assert build_site(root).ok
    assert "第二稿标题" in page.read_text("utf-8")


def test_no_change_rebuild_trusts_old_files_by_stat(tmp_path):
    root = make_site(tmp_path, {"content/old.md": _article("旧文章"), "content/new.md": _article("新文章").replace(
        "slug: racy", "slug: fresh")})
    os.utime(root / "content/old.md", ns=(OLD_NS, OLD_NS))
    assert build_site(root).ok
    config = configmod.load(root)
    cache = cachemod.PageCache.load(config.cache_dir, config.slice_fingerprint("parse"))
    cache.look()
    stats = {rel: (root / rel).stat() for rel in cache.entries}
    trusted = {rel for rel, e in cache.entries.items() if cache.trusts(e, stats[rel].st_size, stats[rel].st_mtime_ns)}
    assert trusted == {"content/old.md"}  # the one saved just before the build is confirmed by its hash


def _jpeg(comment: bytes) -> bytes:
    """A small JPEG with a comment segment (COM, ITU T.81 B.2.4.5) right after SOI: same size for comments of the
    same length, other bytes and hash."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 60)).save(buf, "JPEG", quality=80)
    data = buf.getvalue()
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    return data[:2] + segment + data[2:]


def test_photo_replaced_by_same_size_in_the_same_second_is_processed_again(tmp_path):
    root = make_site(tmp_path, {"content/racy/index.md": _article("带图的文章") + "\n![现场](photo.jpg)\n",
                                "content/racy/photo.jpg": _jpeg(b"first")})
    page = root / "output" / "gongzuo-dongtai" / "2026" / "11" / "racy" / "index.html"
    assert build_site(root).ok
    before = page.read_text("utf-8")
    rewrite_keeping_stat(root / "content/racy/photo.jpg", _jpeg(b"other"))
    assert build_site(root).ok
    after = page.read_text("utf-8")
    assert before != after and "/media/" in after  # the variants are named by the new bytes


# --- the poller ------------------------------------------------------------------------------------------------------

def _count_digests(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = racy.digest

    def counting(path):
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(racy, "digest", counting)
    return calls


def test_poll_sees_a_same_stat_save_of_a_recent_file(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(_article("甲稿"), "utf-8")
    first = poller.Snapshot.take([tmp_path])
    rewrite_keeping_stat(path, _article("乙稿").encode())
    events = first.events(poller.Snapshot.take([tmp_path], first))
    assert [(e.event_type, e.src_path) for e in events] == [("modified", str(path))]


def test_poll_reads_no_old_file_and_confirms_a_racy_one_once(tmp_path, monkeypatch):
    old, recent = tmp_path / "old.md", tmp_path / "recent.md"
    old.write_text(_article("旧稿"), "utf-8")
    recent.write_text(_article("新稿"), "utf-8")
    os.utime(old, ns=(OLD_NS, OLD_NS))
    almost = time.time_ns() - racy.WINDOW_NS + 300_000_000  # racy for another 0.3 s
    os.utime(recent, ns=(almost, almost))
    calls = _count_digests(monkeypatch)
    a = poller.Snapshot.take([tmp_path])
    assert calls == [str(recent)]
    time.sleep(0.5)
    rewrite_keeping_stat(recent, _article("改稿").encode())
    calls.clear()
    b = poller.Snapshot.take([tmp_path], a)
    assert calls == [str(recent)]  # no longer racy: compared once more, with the digest of the last poll
    assert [e.src_path for e in a.events(b)] == [str(recent)]
    calls.clear()
    c = poller.Snapshot.take([tmp_path], b)
    assert calls == [] and b.events(c) == []  # an idle poll reads nothing
