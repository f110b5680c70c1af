"""The exception tree and the collector of content problems.

Every problem an editor or a site admin can cause is a :class:`Problem`: a location (``path:line``, the path
relative to the project), a stable code (``E1xx`` front matter, ``E2xx`` Markdown and links, ``E3xx`` images,
``E4xx`` URLs, ``E5xx`` templates, ``E9xx`` configuration; ``W…`` for warnings), a message in plain Chinese and a hint.
Problems are collected across files (:class:`Problems`) and reported together; the CLI prints them as
``path:line: code: message（hint）`` and never a traceback.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a project file: ``path`` relative to the project root (POSIX slashes), ``line`` 1-based or 0 when
    the whole file is meant, ``column`` 1-based or 0."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        s = self.path
        if self.line:
            s += f":{self.line}"
            if self.column:
                s += f":{self.column}"
        return s


@dataclass(frozen=True, slots=True)
class Problem:
    """One content or configuration problem.

    ``severity`` is ``"error"`` or ``"warning"``; ``code`` like ``E102``; ``message`` and ``hint`` in Chinese.
    ``str(problem)`` gives the printed form ``path:line: E102: message（hint）``.
    """

    location: Location
    code: str
    message: str
    hint: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        hint = f"（{self.hint}）" if self.hint else ""
        return f"{self.location}: {self.code}: {self.message}{hint}"

    def as_dict(self) -> dict:
        """Plain-data form for ``--format json``: keys path, line, column, code, severity, message, hint."""
        return {"path": self.location.path, "line": self.location.line, "column": self.location.column,
                "code": self.code, "severity": self.severity, "message": self.message, "hint": self.hint}


class SitegenError(Exception):
    """Base of every error sitegen raises on purpose; the CLI turns it into printed lines and an exit code."""

    exit_code = 1

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()):
        super().__init__(message)
        self.problems = tuple(problems)


class ConfigError(SitegenError):
    """``site.yaml`` is missing or invalid; ``problems`` names each key path and line. Exit code 2."""

    exit_code = 2


class UsageError(SitegenError):
    """Wrong command-line use (unknown category in ``new``, missing folder…). Exit code 2."""

    exit_code = 2


class ContentError(SitegenError):
    """One content problem raised inside parsing; caught per file and turned into a :class:`Problem`."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem), (problem,))
        self.problem = problem


class TemplateError(SitegenError):
    """A theme template failed to load or render; the message names ``template:line``."""


class ImageError(SitegenError):
    """A photo could not be read or processed; reported against the Markdown file that references it."""


class DeployError(SitegenError):
    """Publishing failed or was refused (no successful build, target unreachable). Exit code 1."""


class DeployTargetError(DeployError):
    """The deploy target itself is wrong: unknown name, none or several to choose from, a malformed or unsupported
    URL, an unsafe local folder, a credential or unknown option in ``site.yaml``. A usage or configuration error:
    exit code 2 (README, "Exit codes")."""

    exit_code = 2


class BuildFailed(SitegenError):
    """The build could not produce a site (``--strict`` with errors, or a template error); ``output/`` is left as
    it was."""


STRICT_ERRORS = frozenset({"W204"})
"""Warnings that ``build --strict`` counts as errors: an unedited ``sitegen new`` skeleton must never reach the
published site from CI, while a local build only warns about it."""


@dataclass
class Problems:
    """Thread-safe collector of :class:`Problem` objects for one build or check.

    With ``strict`` (``build --strict``) the warnings of :data:`STRICT_ERRORS` are recorded as errors (same code,
    the hint saying why), so a strict build fails on them.
    """

    items: list[Problem] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    strict: bool = False

    def add(self, problem: Problem) -> None:
        """Record one problem (duplicates of the same printed line are kept once)."""
        if self.strict and problem.severity == "warning" and problem.code in STRICT_ERRORS:
            problem = replace(problem, severity="error", hint=f"{problem.hint}；使用 --strict 时这是错误")
        with self._lock:
            if not any(str(p) == str(problem) and p.severity == problem.severity for p in self.items):
                self.items.append(problem)

    def error(self, path: str, line: int, code: str, message: str, hint: str = "") -> None:
        """Record an error at ``path:line``."""
        self.add(Problem(Location(path, line), code, message, hint, "error"))

    def warning(self, path: str, line: int, code: str, message: str, hint: str = "") -> None:
        """Record a warning at ``path:line``."""
        self.add(Problem(Location(path, line), code, message, hint, "warning"))

    def extend(self, problems) -> None:
        """Record every problem of an iterable."""
        for p in problems:
            self.add(p)

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity ``error``, sorted by path and line."""
        return sorted((p for p in self.items if p.severity == "error"), key=_key)

    @property
    def warnings(self) -> list[Problem]:
        """The problems of severity ``warning``, sorted by path and line."""
        return sorted((p for p in self.items if p.severity == "warning"), key=_key)

    def sorted(self) -> list[Problem]:
        """All problems, errors and warnings together, sorted by path, line and code."""
        return sorted(self.items, key=_key)


def _key(p: Problem):
    return (p.location.path, p.location.line, p.location.column, p.code)
