"""The build as named, timed stages over one list of outputs (see ``docs/architecture.md``):

``sources`` (scan ``content/``) → ``parse`` (pure, cached by file bytes and the config's ``parse`` slice) →
``theme`` (template environment, what the templates read, static files) → ``assemble`` (the site's indexes) →
``plan`` (every output once, paths gated, clashes found) → ``images`` → ``render`` (only outputs that are not
current) → ``index`` (search) → ``commit`` (staged files moved into ``output/`` under a journal, stale ones removed)
→ ``cache``. A build that fails before ``commit`` (``--strict`` with errors, a template error) leaves ``output/``
exactly as it was; an incremental build equals a clean build byte for byte (tests/test_cache.py)."""
from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Iterable

from sitegen import pool, racy, searchdoc
from sitegen import sources as sourcesmod
from sitegen.build import stamp as stampmod
from sitegen.build.report import BuildOptions, BuildReport, write_status
from sitegen.config import Config

if TYPE_CHECKING:
    from sitegen.build.state import Session

__all__ = ["build", "BuildOptions", "BuildReport", "Session"]


def build(config: Config, options: BuildOptions = BuildOptions(), changed: Iterable[str] | None = None, *,
          session: Session | None = None) -> BuildReport:
    """Build the site of ``config`` as ``options`` say, incrementally, and report what was done.

    ``changed`` (project-relative paths changed since ``session``'s last build) lets a preview look at those files
    only instead of scanning ``content/``. A long-running process passes the same :class:`Session` to every build:
    caches stay in memory and are written by :meth:`Session.flush` (the next build calls it first). A build
    without a session whose inputs and outputs are as the last one left them ends after looking, with the last
    report (:mod:`sitegen.build.stamp`).

    Never raises for content problems: they are in the report (``ok`` False under ``strict`` with errors, and then
    nothing is written). Raises :class:`~sitegen.errors.TemplateError` when the theme fails (nothing written) and
    :class:`~sitegen.errors.SitegenError` for I/O failures. Writes ``.sitegen-cache/build-status.json``."""
    started, looked, scanned = time.perf_counter(), racy.clock_ns(), None
    if session is None and changed is None:
        scanned = sourcesmod.scan(config)
        report = stampmod.replay(config, options, options.folder(config), started, scanned)
        if report is not None:
            write_status(config, report, options)
            return report
    stampmod.forget(config)
    # the index stage runs on two workers forked now, small: a block may be corrected in place (NumPy imported on
    # the other core while this process works) or indexed whole (a third of a gigabyte each, not on top of this
    # process's pages)
    warm = () if session is not None else pool.Warm.team(
        [("sitegen.searchpatch",), ()] if searchdoc.correctable(config.cache_dir) else [("sitegen.searchindex",)] * 2,
        options.jobs)
    from sitegen.build.stages import Run  # the stages load Markdown, the templates and the caches

    run = Run(config, options, session, started)
    run.looked, run.scanned, run.warm = looked, scanned, warm  # the look began before that scan (sitegen.racy)
    write_status(config, BuildReport(False, run.out), options)  # a build that dies midway never vouches for output/
    try:
        run.stage("sources", run.load_sources, changed)  # each stage ends with gc.freeze (Run.stage)
        run.stage("parse", run.parse)
        run.stage("theme", run.theme)
        run.stage("assemble", run.assemble)
        run.stage("plan", run.plan)
        run.stage("images", run.images)
        if options.strict and run.problems.errors:
            return run.fail()
        run.stage("render", run.render)
        run.stage("index", run.index)
        run.stage("commit", run.commit)
        run.stage("cache", run.save)
    except BaseException:
        run.abort()
        raise
    finally:
        gc.unfreeze()
        for worker in warm:
            worker.close()
    report = run.report()
    if session is None and report.ok:
        run.stamp(report)
    return report


def __getattr__(name: str):
    """``Session`` on first use (PEP 562): it brings the build's modules, which a build that replays its stamp
    never loads."""
    if name == "Session":
        from sitegen.build.state import Session

        return Session
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
