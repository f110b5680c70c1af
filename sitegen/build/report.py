"""What a build is asked to do (:class:`BuildOptions`) and what it did (:class:`BuildReport`), and the status file
``deploy`` reads."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sitegen.config import Config
from sitegen.errors import Problem
from sitegen.files import write_atomic

if TYPE_CHECKING:
    from sitegen.clock import Scheduled


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """How to build: ``out`` the output folder (default ``<root>/output``); ``strict`` fails on any error (CI);
    ``drafts``/``future`` include drafts and future-dated articles (the preview); ``jobs`` worker processes
    (default: every core); ``progress`` shows a progress bar; ``explain`` records why each output was rendered;
    ``defer_search`` keeps an out-of-date search index (the preview after its first build)."""

    out: Path | None = None
    strict: bool = False
    drafts: bool = False
    future: bool = False
    jobs: int | None = None
    progress: bool = False
    explain: bool = False
    defer_search: bool = False

    def folder(self, config: Config) -> Path:
        """The output folder, absolute: ``out``, else ``<root>/output``."""
        return (self.out or config.root / "output").resolve()

    @property
    def preview(self) -> bool:
        """Whether drafts or future-dated articles are built (never to be published)."""
        return self.drafts or self.future


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did: ``ok`` (False when it wrote nothing because of errors), ``written`` files whose bytes
    changed, ``unchanged`` files (rendered to the same bytes, or not rendered at all because nothing they depend on
    changed — ``skipped`` of them), ``removed`` stale files (relative to the output folder), ``pages`` HTML
    pages produced, ``problems`` (errors and warnings, sorted), ``seconds`` wall time, per-stage ``stages``
    (name, seconds) and, with ``explain``, ``explained`` = ``((output path, reason), …)`` for every output
    rendered; ``config_changed`` the ``site.yaml`` settings changed since the last build; ``images`` as (processed,
    from cache, failed) photo counts; ``parsed`` how many content files were parsed (not from the cache),
    ``rendered`` how many outputs were rendered or made (not kept as the last build left them); ``upcoming`` the
    next article held back for its date (:func:`sitegen.clock.next_due`), if any."""

    ok: bool
    output: Path
    pages: int = 0
    written: tuple[str, ...] = ()
    unchanged: int = 0
    removed: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    seconds: float = 0.0
    stages: tuple[tuple[str, float], ...] = ()
    images: tuple[int, int, int] = (0, 0, 0)
    skipped: int = 0
    explained: tuple[tuple[str, str], ...] = ()
    parsed: int = 0
    rendered: int = 0
    config_changed: tuple[str, ...] = ()
    upcoming: Scheduled | None = None

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity error."""
        return [p for p in self.problems if p.severity == "error"]


def write_status(config: Config, report: BuildReport, options: BuildOptions) -> None:
    """Write ``.sitegen-cache/build-status.json`` = {ok, errors, strict, preview, output, finished} for ``deploy``;
    ``preview`` is true when drafts or future-dated articles were built (never to be published)."""
    data = {"ok": report.ok and not report.errors, "errors": len(report.errors), "strict": options.strict,
            "preview": options.preview, "output": str(report.output),
            "finished": datetime.now().astimezone().isoformat(timespec="seconds")}
    write_atomic(config.cache_dir / "build-status.json", json.dumps(data, ensure_ascii=False, indent=1))
