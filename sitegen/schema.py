"""Typed reading of a YAML mapping with the file line of every key: the validation helpers of ``site.yaml``.

:class:`Checker` reads values of the types ``site.yaml`` uses (text of bounded length, integers in a range, booleans,
mappings, lists, URLs) and collects a :class:`~sitegen.errors.Problem` naming the key path and its line for each
that is missing or wrong, so every problem of the file is reported at once (the style of MkDocs'
``config/base.py``). :func:`url_problem` and :func:`pattern_problem` say what is wrong with a link or a permalink
pattern; :mod:`sitegen.config` turns the checked values into its frozen dataclasses.
"""
from __future__ import annotations

import difflib
import re
import string
import unicodedata

from sitegen.errors import Location, Problem
from sitegen.unicodes import INVISIBLE, describe

MAX_TEXT = 2000
"""Most characters of one text value in ``site.yaml`` (a name, a description, a footer line): a longer one (a 20 MB
``description`` pasted by mistake) would be copied into every page."""

LINK_SCHEMES = ("http", "https", "mailto", "tel")
"""URL schemes a menu link may use; anything else (``javascript:``, ``data:``, ``vbscript:``…) is an error."""

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_VISIBLE_ONLY = re.compile(f"{_CONTROL.pattern}|{INVISIBLE.pattern}")  # what a message must not echo as is


class Checker:
    """Collects problems while reading ``site.yaml`` (shown as ``path``); ``lines`` maps key paths (tuples of keys
    and list indices) to 1-based file lines, as :func:`sitegen.yamlsafe.load` gives them."""

    def __init__(self, path: str, lines: dict):
        self.path = path
        self.lines = lines
        self.problems: list[Problem] = []

    def line(self, keypath) -> int:
        """The line of ``keypath``, else of its nearest parent that has one, else 1."""
        keypath = tuple(keypath)
        while keypath and keypath not in self.lines:
            keypath = keypath[:-1]
        return self.lines.get(keypath, 1)

    def fail(self, keypath, message: str, hint: str = "", code: str = "E901") -> None:
        """Record an error at ``keypath``'s line; the message starts with the dotted key path."""
        name = ".".join(str(k) for k in keypath) or self.path
        message = _VISIBLE_ONLY.sub(lambda m: f"<U+{ord(m.group()):04X}>", f"{name}：{message}")
        self.problems.append(Problem(Location(self.path, self.line(keypath)), code, message, hint))

    def known(self, data: dict, keypath, allowed) -> None:
        """E902 for every key of ``data`` not in ``allowed``, with a "did you mean"."""
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(key, list(allowed), n=1)
                hint = f"是不是想写“{close[0]}”？" if close else "可用的键：" + "、".join(allowed)
                self.fail(tuple(keypath) + (key,), "未知的配置项", hint, "E902")

    def text(self, data: dict, key: str, keypath=(), default: str = "", required: bool = False) -> str:
        """The stripped text at ``data[key]``; E903 when ``required`` and missing, E904 when not text, E905 when
        longer than :data:`MAX_TEXT` characters (then ``default``)."""
        value = data.get(key)
        where = tuple(keypath) + (key,)
        if value is None:
            if required:
                self.fail(where, "缺少必填项", f"请在 site.yaml 中写上 {key}: …", "E903")
            return default
        if not isinstance(value, str):
            self.fail(where, "应为文字", "请写成 key: 值 的形式", "E904")
            return default
        if len(value) > MAX_TEXT:
            self.fail(where, f"文字过长（{len(value)} 个字符，最多 {MAX_TEXT} 个）", "请改短；长文请写成 content/pages/ 中的页面",
                      "E905")
            return default
        return value.strip()

    def integer(self, data: dict, key: str, keypath, default: int, bounds: tuple[int, int]) -> int:
        """The integer at ``data[key]`` (``1_000`` allowed) within ``bounds`` (low, high), else ``default`` with
        E904 (not an integer) or E905 (out of range)."""
        value = data.get(key)
        if value is None:
            return default
        low, high = bounds
        where = tuple(keypath) + (key,)
        text = str(value).replace("_", "").strip() if isinstance(value, str) else ""
        if not re.fullmatch(r"[+-]?\d{1,19}", text):
            shown = value if isinstance(value, str) else "列表或键值"
            self.fail(where, f"应为整数，实际是“{str(shown)[:40]}”", f"例如 {key}: {default}", "E904")
            return default
        number = int(text)
        if not low <= number <= high:
            self.fail(where, f"{number} 超出范围 {low}–{high}", f"例如 {key}: {default}", "E905")
            return default
        return number

    def boolean(self, data: dict, key: str, keypath, default: bool) -> bool:
        """``true``/``yes``/``on`` or ``false``/``no``/``off`` at ``data[key]``, else ``default`` with E904."""
        value = data.get(key)
        if value is None:
            return default
        if str(value).lower() in ("true", "yes", "on"):
            return True
        if str(value).lower() in ("false", "no", "off"):
            return False
        self.fail(tuple(keypath) + (key,), f"应为 true 或 false，实际是“{str(value)[:40]}”", code="E904")
        return default

    def mapping(self, data: dict, key: str, keypath=()) -> dict:
        """The mapping at ``data[key]`` (``{}`` when missing, or with E904 when not a mapping)."""
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(tuple(keypath) + (key,), "应为键值映射", f"例如 {key}: {{子项: 值}}", "E904")
            return {}
        return value

    def listing(self, data: dict, key: str, keypath=()) -> list:
        """The list at ``data[key]`` (``[]`` when missing, or with E904 when not a list)."""
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(tuple(keypath) + (key,), "应为列表", f"例如 {key}: [ … ]", "E904")
            return []
        return value

    def link(self, data: dict, key: str, keypath) -> str | None:
        """The link at ``data[key]`` when it is text, safe and short (see :func:`url_problem`), else ``None``
        with E904/E905 or E910 (unsafe scheme or characters)."""
        value = self.text(data, key, keypath)
        if not value:
            return None
        problem = url_problem(value)
        if problem:
            self.fail(tuple(keypath) + (key,), problem, "菜单链接应为站内路径（如 /gongzuo-dongtai/）或 "
                      "http(s)://、mailto:、tel: 网址", "E910")
            return None
        return value


def url_problem(url: str) -> str | None:
    """What is wrong with a link written in ``site.yaml``, in Chinese, or ``None``. Read the way a browser reads an
    ``href`` (WHATWG URL Standard: leading and trailing controls and spaces dropped, tabs and line breaks removed,
    scheme case-insensitive), so ``" JaVa\\tScript:…"`` is seen as the ``javascript:`` it is. Refused: a scheme
    other than :data:`LINK_SCHEMES`, control or invisible characters, and backslashes (``/\\evil.example`` is
    ``//evil.example`` to a browser)."""
    for ch in url:
        if INVISIBLE.match(ch) or (_CONTROL.match(ch) and ch not in "\t\n\r"):
            return f"网址含有不可见的控制字符 {describe(ch)}"
    seen = re.sub(r"[\t\n\r]", "", url).strip(" ")
    if "\\" in seen:
        return f"网址含有反斜杠“\\”：{seen[:80]}"
    m = _SCHEME.match(seen)
    if m and m.group(1).lower() not in LINK_SCHEMES:
        return f"不允许的网址协议“{m.group(1).lower()}:”（可能被用来执行脚本）"
    return None


def pattern_problem(pattern: str, fields: set[str]) -> str | None:
    """What is wrong with a permalink pattern such as ``/{category}/{year}/{month}/{slug}/`` whose ``{…}`` may be
    the names in ``fields``, in Chinese, or ``None``. The rules of the output-path gate (no ``.``/``..`` segment, no
    backslash, no control or bidi character, segments of at most 255 bytes) plus: starts and ends with ``/``,
    holds ``{slug}``, no empty segment, no ``?``, ``#``, ``%`` or white space (they would end or escape the URL
    path), and each field plain (no ``{slug.attr}``, ``{0}`` or format spec, which ``str.format`` would act on)."""
    for ch in pattern:
        if INVISIBLE.match(ch) or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or ch.isspace():
            return f"含有空白或不可见的控制字符 {describe(ch)}"
        if ch in "\\?#%":
            return f"含有不能用在网址路径中的字符“{ch}”"
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError:
        return "花括号 { } 不成对"
    for _, name, spec, conversion in parsed:
        if name is not None and (name not in fields or spec or conversion):
            return f"不能使用“{{{name}}}”"
    if not pattern.startswith("/") or not pattern.endswith("/") or "{slug}" not in pattern:
        return "须以 / 开头和结尾，并含有 {slug}"
    for segment in pattern.strip("/").split("/"):
        if segment in ("", ".", ".."):
            return f"含有空的或“{segment or '//'}”路径段（网址会离开网站目录或无法打开）"
        if len(re.sub(r"{\w+}", "", segment).encode()) > 255:
            return "路径段超过 255 字节"
    return None


__all__ = ["Checker", "url_problem", "pattern_problem", "MAX_TEXT", "LINK_SCHEMES"]
