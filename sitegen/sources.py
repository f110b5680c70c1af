"""The content files of a project: :func:`scan` lists the Markdown files under ``content/`` as :class:`Source`
values (path, kind, size, modification time), :func:`rescan` updates such a list from the paths a file watcher
reports. Kept apart from :mod:`sitegen.content` (which parses them) so that a build can tell whether anything
changed without loading Markdown, YAML or the templates (:mod:`sitegen.build.stamp`)."""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

from sitegen.config import Config

log = logging.getLogger(__name__)

IGNORED_NAME = re.compile(r"^(\..*|.*~|#.*#|4913|.*\.(swp|swx|tmp|bak|part|crdownload)|Thumbs\.db|desktop\.ini)$",
                          re.I)
"""File names editors' tools leave behind (vim swap/backup, emacs locks, vim's ``4913`` probe, temp files)."""


@dataclass(frozen=True, slots=True)
class Source:
    """A Markdown file found by :func:`scan`: ``rel`` project-relative POSIX path, ``kind`` (``article``,
    ``page`` or ``gallery``), ``size`` in bytes and ``mtime`` in ns (cache keys)."""

    rel: str
    kind: str
    size: int = 0
    mtime: int = 0


def scan(config: Config) -> list[Source]:
    """List the Markdown files under ``content/`` in a stable order, skipping hidden and editor temp files.

    ``content/pages/**`` are static pages, ``content/galleries/<name>/index.md`` galleries, every other ``.md`` an
    article (a folder with ``index.md`` is a page bundle).

    Skipped with a logged warning, so one odd entry never stops a build: a symbolic link that is broken, and one
    leading out of the project (its text would be published); folders are followed once (no loops)."""
    found: list[tuple[tuple[str, ...], int, int]] = []
    content = config.content_dir
    prefix = content.relative_to(config.root).as_posix()
    _walk(str(content), (), found, set(), str(config.root.resolve()) + os.sep, prefix)
    found.sort()  # the order of sorted(Path.rglob()): by path components
    out = []
    for rel_parts, size, mtime in found:
        if rel_parts[0] == "pages":
            kind = "page"
        elif rel_parts[0] == "galleries" and len(rel_parts) == 3 and rel_parts[2] == "index.md":
            kind = "gallery"
        elif rel_parts[0] == "galleries":
            continue
        else:
            kind = "article"
        out.append(Source(prefix + "/" + "/".join(rel_parts), kind, size, mtime))
    return out


def rescan(config: Config, sources: list[Source], changed) -> list[Source] | None:
    """:func:`scan` from the result of an earlier one, given the project-relative paths changed since
    (``changed``, as a file watcher reports them): only those files are looked at. ``None`` when the change may
    touch more than those files (a folder, a path outside the project), and the caller must scan."""
    content = config.content_dir.relative_to(config.root).as_posix() + "/"
    by_rel = {s.rel: s for s in sources}
    for rel in changed:
        if not isinstance(rel, str) or ".." in rel.split("/"):
            return None
        if not rel.startswith(content):
            continue  # not a content file (images, templates … are checked by their own stat or hash)
        parts = tuple(rel[len(content):].split("/"))
        path = config.root / rel
        if path.is_dir() or (not rel.endswith(".md") and not path.exists() and "." not in parts[-1]):
            return None  # a folder (or what may have been one) moved: scan everything
        if not rel.endswith(".md"):
            continue
        by_rel.pop(rel, None)
        if any(IGNORED_NAME.match(p) for p in parts) or (parts[0] == "galleries" and not (
                len(parts) == 3 and parts[2] == "index.md")):
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue  # deleted
        if not path.is_file():
            continue
        kind = "page" if parts[0] == "pages" else "gallery" if parts[0] == "galleries" else "article"
        by_rel[rel] = Source(rel, kind, st.st_size, st.st_mtime_ns)
    prefix = len(content)
    return sorted(by_rel.values(), key=lambda s: tuple(s.rel[prefix:].split("/")))


def _walk(path: str, parts: tuple[str, ...], found: list, seen: set, root: str, shown: str) -> None:
    """Collect ``(path components, size, mtime_ns)`` of every ``*.md`` file under ``path`` with ``os.scandir``
    (one ``stat`` per file, none per ignored name); symbolic links to folders are followed once, links that are
    broken or lead outside ``root`` (the resolved project folder, ending in a separator) are skipped with a
    warning naming them as ``shown/…``."""
    try:
        st = os.stat(path)
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return
        seen.add(key)
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if IGNORED_NAME.match(name):
            continue
        rel = "/".join((shown,) + parts + (name,))
        try:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not os.path.exists(target):
                    log.warning("%s: 是损坏的链接，已跳过（请删除它或改成普通文件）", rel)
                    continue
                if not (target + os.sep).startswith(root):
                    log.warning("%s: 链接指向站点目录之外，已跳过（文章须是站点目录中的普通文件）", rel)
                    continue
            if entry.is_dir():
                _walk(entry.path, parts + (name,), found, seen, root, shown)
            elif name.endswith(".md") and entry.is_file():
                st = entry.stat()
                found.append((parts + (name,), st.st_size, st.st_mtime_ns))
        except OSError:
            continue


__all__ = ["IGNORED_NAME", "Source", "scan", "rescan"]
