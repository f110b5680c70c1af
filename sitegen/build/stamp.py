"""The build stamp: what the last finished build read and wrote, so that a build with nothing to do ends after
looking (``make``'s rule, with git's racy-file care), without loading Markdown, YAML stacks, templates or caches.

After a successful command-line build, :func:`record` writes ``.sitegen-cache/build.stamp`` (a cache file,
:func:`sitegen.cache.write`: it is void for other sitegen code or library versions) holding

* a key: the ``render`` and ``sections`` slices of ``site.yaml`` (every setting but ``deploy``), the output
  folder, the options that change output (``--strict``, ``--drafts``, ``--future``) and a pinned clock
  (``--now``/``SITEGEN_NOW``);
* every file the build read, with its size (bytes) and modification time (ns): the Markdown sources as
  :func:`sitegen.sources.scan` lists them, every other project file the pages use or whose existence they
  checked (photos, attachments, linked files), and every file under ``themes/`` and the bundled theme (templates,
  static files; a theme folder that appears counts too);
* every file the build vouches for in the output folder, and the report it printed;
* the caches it wrote beside the stamp (the page cache, the output manifests): a cache removed or restored from
  elsewhere (CI) makes the next build run its stages, as it would without the stamp.

:func:`replay` answers the next build: when the key is the same, no recorded file changed size or time, no file
appeared in or left ``content/`` or a theme folder, every output file still exists, no recorded time is racy (see
:mod:`sitegen.racy`: within two seconds of the moment the build looked) and no article held back for its date has
come due, it returns the last report again (0 written); else ``None`` and the build runs its stages, which decide
output by output. Any build that may change ``output/`` (including a preview's) removes the stamp first
(:func:`forget`), so a stamp never outlives the output it describes."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sitegen import cache as cachemod
from sitegen import clock, racy
from sitegen import sources as sourcesmod
from sitegen.build.report import BuildOptions, BuildReport
from sitegen.config import Config

FILE = "build.stamp"
_KIND = "stamp"
_MISSING = (-1, -1)


def key(config: Config, options: BuildOptions, out: Path) -> str:
    """The 16-hex-digit key of a build's settings: what a replayed report must share with the build asked for."""
    text = json.dumps([config.slice_fingerprint("render"), config.slice_fingerprint("sections"), str(out),
                       options.strict, options.drafts, options.future, os.environ.get(clock.ENV, "")])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def forget(config: Config) -> None:
    """Remove the stamp (before a build that may change ``output/``); a stamp that cannot be removed is left to
    the key check of the next build, which it then fails."""
    with contextlib.suppress(OSError):
        os.unlink(config.cache_dir / FILE)


def _stat(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return _MISSING
    return (st.st_size, st.st_mtime_ns)


def _tree(folder: str) -> dict[str, tuple[int, int]]:
    """``{path: (size, mtime_ns)}`` of every file under ``folder`` (absolute paths, links followed)."""
    found = {}
    for top, _, names in os.walk(folder, followlinks=True):
        for name in names:
            path = os.path.join(top, name)
            found[path] = _stat(path)
    return found


def record(config: Config, options: BuildOptions, report: BuildReport, inputs: dict) -> None:
    """Write the stamp of a finished build: ``report`` (what it printed) and ``inputs`` = ``{"looked": ns before
    the first stat, "sources": [Source], "files": [absolute paths of the other files read], "themes": [folders
    whose every file counts, present or not: the project's ``themes/`` and the bundled theme], "outputs": [paths
    relative to the output folder]}``. A stamp that cannot be written is removed; the next build then runs its
    stages."""
    themes = {}
    for folder in inputs["themes"]:
        themes[str(folder)] = _tree(str(folder))
    files = {str(p): _stat(str(p)) for p in inputs["files"]}
    sources = [(s.rel, s.kind, s.size, s.mtime) for s in inputs["sources"]]
    made, cached, failed = report.images
    shown = replace(report, output=str(report.output), written=(), removed=(), seconds=0.0, stages=(),
                    explained=(), skipped=report.pages, parsed=0, rendered=0, config_changed=(),
                    unchanged=len(inputs["outputs"]), upcoming=None, images=(0, made + cached, failed))
    upcoming = report.upcoming
    due = (upcoming.date.isoformat(), upcoming.title, upcoming.source) if upcoming is not None else None
    data = {"key": key(config, options, report.output), "looked": inputs["looked"], "sources": sources,
            "files": files, "themes": themes, "outputs": list(inputs["outputs"]), "report": _fields(shown),
            "due": due, "caches": _caches(config)}
    try:
        cachemod.write(config.cache_dir / FILE, _KIND, data)
    except OSError:
        forget(config)


def _caches(config: Config) -> dict[str, tuple[int, int]]:
    """Size and time of the caches a build leaves for the next (written by sitegen itself: never racy-checked)."""
    cache_dir = str(config.cache_dir)
    found = _tree(os.path.join(cache_dir, "manifests"))
    for name in ("pages.cache", "pages.cache.journal", "site.cache"):
        found[os.path.join(cache_dir, name)] = _stat(os.path.join(cache_dir, name))
    return found


def _fields(report: BuildReport) -> dict:
    return {name: getattr(report, name) for name in report.__dataclass_fields__}


def replay(config: Config, options: BuildOptions, out: Path, started: float,
           scanned: list[sourcesmod.Source]) -> BuildReport | None:
    """The last build's report again (``seconds`` from ``started``, a ``time.perf_counter()`` value) when nothing
    it read or wrote has changed since (see the module docstring; ``scanned`` is :func:`sitegen.sources.scan` as
    of now), else ``None``. Never writes; never raises for a missing or damaged stamp (``None``)."""
    if options.explain:
        return None
    data = cachemod.read(config.cache_dir / FILE, _KIND)  # None, silently, when there is none
    if not isinstance(data, dict) or data.get("key") != key(config, options, out):
        return None
    if not _inputs_hold(data, scanned) or not _due_later(config, data.get("due")) or _caches(config) != {
            path: tuple(stat) for path, stat in data["caches"].items()}:
        return None
    base = str(out) + os.sep
    isfile = os.path.isfile
    if not all(isfile(base + rel) for rel in data["outputs"]):
        return None
    due = data.get("due")
    if due is not None:
        due = clock.Scheduled(datetime.fromisoformat(due[0]), due[1], due[2])
    seconds = time.perf_counter() - started
    return BuildReport(**dict(data["report"], output=out, upcoming=due, seconds=seconds,
                              stages=(("stamp", round(seconds, 3)),)))


def _inputs_hold(data: dict, scanned: list[sourcesmod.Source]) -> bool:
    """Whether every recorded input is as it was, and none of the recorded times is racy."""
    looked = data["looked"]
    recorded = [m for *_, m in data["sources"]] + [m for _, m in data["files"].values()]
    recorded += [m for tree in data["themes"].values() for _, m in tree.values()]
    if any(racy.is_racy(m, looked) for m in recorded):
        return False
    if any(_stat(path) != tuple(stat) for path, stat in data["files"].items()):
        return False
    if any(_tree(folder) != {p: tuple(s) for p, s in tree.items()} for folder, tree in data["themes"].items()):
        return False
    now = [(s.rel, s.kind, s.size, s.mtime) for s in scanned]
    return now == [tuple(s) for s in data["sources"]]


def _due_later(config: Config, due) -> bool:
    """Whether the article held back for its date (``(iso date, title, source)`` or ``None``) is still not due."""
    if due is None:
        return True
    return clock.now(config) < datetime.fromisoformat(due[0])


__all__ = ["FILE", "key", "forget", "record", "replay"]
