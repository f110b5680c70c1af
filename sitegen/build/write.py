"""The write stage: the only code that touches ``output/``.

Files are staged in a folder beside ``output/`` (``.output.staging-<pid>``), then committed: a journal naming the
staged files and the stale ones is written first, the moves and deletions follow, the journal is removed last. A
build killed during the commit leaves the journal; the next build (or ``sitegen clean``) completes it before doing
anything else (roll forward), so ``output/`` is never left half old and half new once a build has started again.
Staging folders of processes that no longer run are removed. Every published file is readable by every user of
the host (0644 under the usual umask 022, however it got there: written, copied or hard-linked from the cache)."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path

from sitegen import modes
from sitegen.errors import SitegenError
from sitegen.files import stage_file, write_atomic

_CONTROL = re.compile(r"[\x00-\x1f]")

JOURNAL = ".sitegen-commit.json"
"""The commit journal, beside ``output/`` as ``.<output name>.sitegen-commit.json``."""

PUBLIC_FILE = 0o644
"""Mode of every published file: readable by the web server's user, whoever that is."""


def output_path(url: str) -> str:
    """The file under ``output/`` for a site-relative URL: ``/a/b/`` → ``a/b/index.html``, ``/x.xml`` → ``x.xml``."""
    url = url.lstrip("/")
    if not url or url.endswith("/"):
        return url + "index.html"
    return url


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(out: Path) -> list[Path]:
    """Remove the staging folders beside ``out`` left by builds whose process is gone (killed); returns them."""
    removed = []
    with contextlib.suppress(OSError):
        for p in out.parent.glob(f".{out.name}.staging-*"):
            pid = p.name.rpartition("-")[2]
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def journal_path(out: Path) -> Path:
    """Where the commit journal of ``out`` lives (beside it)."""
    return out.parent / f".{out.name}{JOURNAL}"


def _move(staged: Path, dest: Path) -> None:
    try:
        os.replace(staged, dest)
    except FileNotFoundError:  # a new folder (or, when resuming, a file already moved)
        if not staged.exists():
            return
        modes.makedirs(dest.parent)
        os.replace(staged, dest)
    except (IsADirectoryError, OSError) as exc:
        if not dest.is_dir():
            raise SitegenError(f"无法写入输出文件 {dest}：{exc}") from exc
        shutil.rmtree(dest)  # a folder of the last build is a file now
        os.replace(staged, dest)


def _remove(out: Path, rel: str) -> None:
    path = out / rel
    path.unlink(missing_ok=True)
    parent = path.parent
    while parent != out and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def recover(out: Path) -> bool:
    """Complete a commit into ``out`` that was interrupted (its journal is still there): move the staged files
    that are left, delete the stale ones, write the file list, drop the staging folder. True when there was one
    (the caller then trusts no recorded output digest: the files hold the interrupted build's bytes)."""
    path = journal_path(out)
    try:
        data = json.loads(path.read_text("utf-8"))
        staging, written, removed = Path(data["staging"]), data["written"], data["removed"]
        manifest, produced = Path(data["manifest"]), data["produced"]
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)  # a journal cut short: its commit never started
        return False
    for rel in written:
        if _inside(rel):
            _move(staging / rel, out / rel)
    for rel in removed:
        if _inside(rel):
            _remove(out, rel)
    if produced is not None:  # None: the file list did not change
        write_atomic(manifest, json.dumps(produced, ensure_ascii=False))
    shutil.rmtree(staging, ignore_errors=True)
    path.unlink(missing_ok=True)
    return True


def _inside(rel: str) -> bool:
    return isinstance(rel, str) and bool(rel) and not rel.startswith("/") and "\\" not in rel \
        and (".." not in rel or ".." not in rel.split("/"))  # split only the rare path with two dots in it


class Writer:
    """Writes output files through a staging folder beside ``out`` and commits them at the end.

    ``write(rel, data)`` stages ``data`` only when it differs from ``out/rel``; ``keep(rel)`` declares an existing
    output produced again without touching it (an output whose inputs did not change); ``commit()`` moves staged
    files into place and deletes the files of the previous manifest that were not produced, under a journal (see
    the module docstring); ``abort()`` drops the staging folder. ``rel`` is a POSIX path relative to ``out``; the
    plan stage has checked it, and the writer refuses (:class:`SitegenError`, an internal error) any path that
    would leave ``out`` all the same."""

    def __init__(self, out: Path, manifest: Path):
        self.out = out
        self.manifest = manifest
        remove_stale_staging(out)
        self.staging = out.parent / f".{out.name}.staging-{os.getpid()}"
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)
        self.produced: set[str] = set()
        self.written: list[str] = []
        self.unchanged = 0
        self._made: set[str] = set()

    def write(self, rel: str, data: bytes | str) -> None:
        """Stage ``data`` (str is UTF-8 encoded) as output ``rel``. Raises :class:`SitegenError` when ``rel`` was
        already produced by this build (the plan rules that out) or leaves the output folder."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._claim(rel)
        if stage_file(self.out, self.staging, rel, data, self._made):
            self.written.append(rel)
        else:
            self.unchanged += 1

    def copy(self, rel: str, source: Path, *, immutable: bool = False) -> None:
        """Stage a copy of ``source`` unless ``out/rel`` already has the same bytes. With ``immutable`` (a path
        named by the content's hash) an existing file of the same size counts as the same bytes."""
        if immutable:
            with contextlib.suppress(OSError):  # no output yet: copied below
                if (self.out / rel).stat().st_size == source.stat().st_size:
                    self.keep(rel)
                    return
        self.write(rel, source.read_bytes())

    def link(self, rel: str, source: Path) -> None:
        """Stage ``source`` at ``rel`` as a hard link (a copy across devices) for files named by a hash of their
        content (photo variants): an existing ``out/rel`` of the same size is taken as unchanged. The file is made
        world-readable (0644) whatever mode the cache gave it."""
        if rel in self.produced:
            return
        self._check(rel)
        self.produced.add(rel)
        with contextlib.suppress(OSError):  # no output yet: linked below
            st = (self.out / rel).stat()
            if st.st_size == source.stat().st_size:
                modes.ensure(self.out / rel, st)  # may share a private cache file's inode
                self.unchanged += 1
                return
        staged = self.staging / rel
        if str(staged.parent) not in self._made:
            staged.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(str(staged.parent))
        try:
            os.link(source, staged)
            modes.ensure(staged)  # a cache file restored or written with private modes
        except OSError:  # across devices, or another user's cache file that cannot be made readable: a copy
            staged.unlink(missing_ok=True)
            shutil.copyfile(source, staged)
        self.written.append(rel)

    def keep(self, rel: str) -> None:
        """Declare ``out/rel`` (which must exist) produced by this build, unchanged; no-op when already produced."""
        if rel not in self.produced:
            self.produced.add(rel)
            self.unchanged += 1

    def adopt(self, rel: str, staged: bool) -> None:
        """Record an output another process of this build wrote into the staging folder (``staged``) or found
        unchanged."""
        self._claim(rel)
        if staged:
            self.written.append(rel)
        else:
            self.unchanged += 1

    def _check(self, rel: str) -> None:
        if not _inside(rel) or _CONTROL.search(rel):
            raise SitegenError(f"内部错误：输出路径 {rel!r} 不在输出文件夹内，已拒绝写入")

    def _claim(self, rel: str) -> None:
        self._check(rel)
        if rel in self.produced:
            raise SitegenError(f"内部错误：两个输出文件写到了同一路径 {rel}")
        self.produced.add(rel)

    def commit(self) -> list[str]:
        """Move staged files into ``out``, delete stale files of the previous build; returns the removed paths."""
        previous = set(self._read_manifest())
        modes.publish_made(self.staging)  # files and folders readable by any user, whatever the umask
        # None: the usual edit, the file list stays (33,000 paths at 10,000 articles) and is not written again
        produced = None if self.produced == previous else sorted(self.produced)
        removed = sorted(previous - self.produced)
        fresh = not previous and (not self.out.exists() or (self.out.is_dir() and not any(self.out.iterdir())))
        if fresh and self.written:  # first build into an empty folder: one rename instead of one per file
            if self.out.exists():
                self.out.rmdir()
            self.out.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging, self.out)
            write_atomic(self.manifest, json.dumps(produced, ensure_ascii=False))
            return removed
        modes.makedirs(self.out)
        journal = journal_path(self.out)
        write_atomic(journal, json.dumps({"staging": str(self.staging), "written": self.written, "removed": removed,
                                          "manifest": str(self.manifest), "produced": produced},
                                         ensure_ascii=False))
        pause = float(os.environ.get("SITEGEN_TEST_COMMIT_PAUSE", "0") or 0)  # kill tests: a wide commit window
        for rel in self.written:  # replace first: the folder and file usually exist (one system call)
            _move(self.staging / rel, self.out / rel)
            if pause:
                import time

                time.sleep(pause)
        for rel in removed:
            _remove(self.out, rel)
        if produced is not None:
            write_atomic(self.manifest, json.dumps(produced, ensure_ascii=False))
        shutil.rmtree(self.staging, ignore_errors=True)
        journal.unlink(missing_ok=True)
        return removed

    def abort(self) -> None:
        """Drop the staging folder; ``output/`` is untouched."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def _read_manifest(self) -> list[str]:
        try:
            data = json.loads(self.manifest.read_text("utf-8"))
            return [r for r in data if _inside(r)]
        except (OSError, ValueError):
            return []
