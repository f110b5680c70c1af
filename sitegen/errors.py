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
    _seen: set = field(default_factory=set, repr=False)

    def __post_init__(self):
        self._seen = {(str(p), p.severity) for p in self.items}

    def add(self, problem: Problem) -> None:
        """Record one problem (duplicates of the same printed line are kept once; constant time, so thousands of
        problems cost no more than their number)."""
        if self.strict and problem.severity == "warning" and problem.code in STRICT_ERRORS:
            problem = replace(problem, severity="error", hint=f"{problem.hint}；使用 --strict 时这是错误")
        key = (str(problem), problem.severity)
        with self._lock:
            if key not in self._seen:
                self._seen.add(key)
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


# --------------------------------------------------------------------------------------------------- the catalogue

CATALOGUE: dict[str, tuple[str, str]] = {
    "E301": ("找不到图片文件：{shown}", "{guess}请检查文件名和路径（区分大小写），并确认图片已放进站点目录"),
    "E302": ("图片文件不完整（上传中断？）：{shown}", "请重新导出并上传完整的 {fmt} 文件"),
    "E303": ("不是可识别的图片文件：{shown}{detail}", "请使用 JPEG、PNG、GIF 或 WebP 格式的图片"),
    "E304": ("图片文件是空的（0 字节）：{shown}", "请重新上传这张图片"),
    "E305": ("图片像素过多（{detail}）：{shown}", "请把图片缩小（例如长边 4000 像素）后再上传，或在 site.yaml 中调大 "
                                              "images.max_pixels"),
    "E306": ("图片路径指向站点目录之外：{rel}", "图片必须放在站点目录中（例如 content/ 下），不能用 ../ 指向别处"),
    "E307": ("无法读取 HEIC/HEIF 格式的照片：{shown}", "请在手机或电脑上把照片导出为 JPEG 后再上传"),
    "E308": ("处理图片超时（超过 {detail} 秒）：{shown}", "图片可能损坏或过大；请重新导出为普通 JPEG，或在 site.yaml 中调大 "
                                                  "images.timeout"),
    "E309": ("处理图片失败：{shown}（{detail}）", "请重新导出为普通 JPEG 后再上传"),
    "W302": ("图片文件过大：{detail}（{shown}）", "请先压缩到 {fmt} 以下再提交"),
    "W301": ("动画图片只发布了第一帧：{shown}", "网站只保留 GIF 动画；如需动画请导出为 GIF，或改用静态图片"),
}
"""The one wording of each problem code that ``build``, ``check`` and ``serve`` all report: message and hint
templates (``str.format`` fields: ``shown`` the path as the editor wrote it, ``rel``, ``detail``, ``fmt``,
``guess``)."""


def catalogued(code: str, where: Location, **values: str) -> Problem:
    """The :class:`Problem` of ``code`` at ``where`` in the words of :data:`CATALOGUE` (a ``W`` code is a
    warning). Raises ``KeyError`` for a code not in the catalogue or a missing field."""
    message, hint = CATALOGUE[code]
    values = {"shown": "", "rel": "", "detail": "", "fmt": "", "guess": "", **values}
    return Problem(where, code, message.format(**values), hint.format(**values),
                   "warning" if code.startswith("W") else "error")
