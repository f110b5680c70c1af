"""YAML read the way editors mean it: every scalar stays the exact source text, with the line of every key.

PyYAML's YAML 1.1 implicit typing turns ``NO``/``On`` into booleans and ``1.10`` into a float (case B07). Here no
implicit resolver runs: every plain scalar is returned as the string written in the file, and the caller types the
few keys that are not text (dates, booleans, numbers). Duplicate keys are an error. The slips editors make are
diagnosed with the file line: a tab in the indentation, a full-width colon ``：`` after a key, and an unquoted
``: `` inside a value (read as part of the value, with a warning). A ``：`` is only taken for a mistyped key
separator where the document breaks after it, where the whole block is one string, or where ``author：张三``
was swallowed into the plain value above; in values, list items and block text it is ordinary Chinese prose. The
grammar is YAML 1.1 as implemented by PyYAML.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from sitegen.errors import Location, Problem

KeyPath = tuple[Any, ...]


class _TextLoader(yaml.SafeLoader):
    """SafeLoader without implicit resolvers: every plain scalar is tagged ``str``."""


_TextLoader.yaml_implicit_resolvers = {}

if getattr(yaml, "__with_libyaml__", False):
    class _FastTextLoader(yaml.CSafeLoader):
        """The same loader on libyaml's C parser (about 10× faster). Used first; any error is re-diagnosed with
        the pure-Python parser, whose messages and marks the editor-facing problems are written for."""

    _FastTextLoader.yaml_implicit_resolvers = {}
else:  # pragma: no cover - PyYAML built without libyaml
    _FastTextLoader = None


@dataclass(frozen=True, slots=True)
class Loaded:
    """Result of :func:`load`: ``value`` (dicts, lists and ``str`` only), ``lines`` mapping a key path such as
    ``("photos", 0, "src")`` to its 1-based file line, and ``warnings`` about slips that were read right."""

    value: Any
    lines: dict
    warnings: tuple[Problem, ...] = ()


class YamlProblem(Exception):
    """Raised by :func:`load` with the :class:`~sitegen.errors.Problem` that stops the document being read
    (``problem``), every such problem found (``problems``: all the tabs of the document, not only the first) and,
    when the document could still be read with the faults repaired, what it says (``partial``, a
    :class:`Loaded`), so the caller can report the problems that follow from it in the same run."""

    def __init__(self, problem: Problem, problems: tuple[Problem, ...] = (), partial: "Loaded | None" = None):
        super().__init__(str(problem))
        self.problem = problem
        self.problems = tuple(problems) or (problem,)
        self.partial = partial


_FULLWIDTH_KEY = re.compile(r"^(\s*(?:-\s*)?)([^\s:：#'\"][^:：]*?)：")  # linear: one way to split the indent
_KEY_VALUE = re.compile(r"^(\s*(?:-\s+)?[A-Za-z_][\w-]*:[ \t]+)(.*\S)\s*$")

MAX_DEPTH = 50
"""Deepest nesting of lists and mappings a document may have (front matter uses 3, ``site.yaml`` 4); deeper is
E107. Bounds the recursion of the composer and of :func:`_build`."""
MAX_ALIAS_NODES = 10_000
"""Most nodes that aliases (``*name``) may add to a document once expanded; more is E108. Anchors nested nine
deep with nine aliases each ("billion laughs") would otherwise expand to 9⁹ nodes."""


_UNREADABLE = object()
"""What the fast composer gives for text it cannot read (the slow path then explains why)."""


def load(text: str, path: str, first_line: int = 1) -> Loaded:
    """Parse one YAML document ``text`` (from file ``path``, whose first line is file line ``first_line``).

    Returns a :class:`Loaded`. Raises :class:`YamlProblem` (codes E103 tab, E104 full-width colon, E106 duplicate
    key, E107 nesting deeper than :data:`MAX_DEPTH`, E108 aliases expanding to more than :data:`MAX_ALIAS_NODES`
    nodes or referring to themselves, E101 other YAML syntax errors), each with the file line of the fault and a
    Chinese hint. Every tab in the indentation is reported at once, with what the document says when its tabs are
    read as 2 (or 4) spaces. The bounds are checked on the event stream before anything is built, so any document
    is answered in time linear in its size and never with a ``RecursionError``.
    """
    lines = text.split("\n")
    tabs = _tabs(lines, path, first_line)
    if tabs:
        raise YamlProblem(tabs[0], tabs, _untabbed(lines, path, first_line))
    fullwidth = _fullwidth_lines(lines)
    try:
        check_bounds(text, path, first_line)
        if _FastTextLoader is not None and not fullwidth:  # a full-width colon needs the slow path's diagnosis
            try:
                fast = yaml.compose(text, Loader=_FastTextLoader)
            except yaml.YAMLError:  # the slow path below reports it with a hint
                fast = _UNREADABLE
            if fast is not _UNREADABLE:
                where: dict = {}
                return Loaded(_build(fast, (), where, path, first_line) if fast is not None else None, where, ())
        node, warnings = _compose_repairing(lines, fullwidth, path, first_line)
        where = {}
        value = _build(node, (), where, path, first_line) if node is not None else None
    except RecursionError:  # pragma: no cover - check_bounds keeps documents far below the interpreter's limit
        raise _too_deep(path, first_line) from None
    return Loaded(value, where, tuple(warnings))


def _too_deep(path: str, line: int) -> YamlProblem:
    return YamlProblem(Problem(Location(path, line), "E107", f"列表或键值的嵌套超过 {MAX_DEPTH} 层",
                               "检查方括号、花括号和缩进是否成对；front matter 一般只需两三层"))


def _fullwidth_lines(lines: list[str]) -> list[tuple[int, re.Match]]:
    """The lines that may have a full-width colon after a key, as ``(index, match)``."""
    fullwidth: list[tuple[int, re.Match]] = []
    for i, line in enumerate(lines):
        m = _FULLWIDTH_KEY.match(line) if "：" in line else None
        if m and ":" not in line[: m.end()] and not line.lstrip().startswith(("#", "'", '"')):
            fullwidth.append((i, m))
    return fullwidth


def _fullwidth_problem(path: str, first_line: int, i: int, m: re.Match) -> YamlProblem:
    return YamlProblem(Problem(Location(path, first_line + i, m.end()), "E104",
                               f"键“{m.group(2).strip()}”后面用了全角冒号“：”", "请改成半角冒号加空格“: ”"))


def check_bounds(text: str, path: str, first_line: int = 1) -> None:
    """Walk the YAML event stream of ``text`` (libyaml's parser when PyYAML has it; no recursion, nothing built)
    and raise :class:`YamlProblem` E107 at the first list or mapping nested deeper than :data:`MAX_DEPTH`, E108 at
    the alias that makes the expanded document exceed :data:`MAX_ALIAS_NODES` extra nodes or that refers to the
    node it is inside. Syntax errors are left to the composer, which reports them with a hint."""
    stack: list[list] = []  # [anchor, nodes so far] of each open list or mapping
    sizes: dict[str, int] = {}  # anchor -> nodes of its value, aliases expanded
    added = 0
    try:
        for event in yaml.parse(text, Loader=_FastTextLoader or _TextLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise _too_deep(path, first_line + event.start_mark.line)
                stack.append([event.anchor, 1])
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, count = stack.pop()
            elif isinstance(event, yaml.ScalarEvent):
                anchor, count = event.anchor, 1
            elif isinstance(event, yaml.AliasEvent):
                anchor, count = None, sizes.get(event.anchor, 1)
                if event.anchor not in sizes and any(a == event.anchor for a, _ in stack):
                    raise _alias_problem(path, first_line + event.start_mark.line, event.anchor, True)
                added += count
                if added > MAX_ALIAS_NODES:
                    raise _alias_problem(path, first_line + event.start_mark.line, event.anchor, False)
            else:
                continue
            if anchor:
                sizes[anchor] = count
            if stack:
                stack[-1][1] += count
    except yaml.YAMLError:
        return


def _alias_problem(path: str, line: int, anchor: str, recursive: bool) -> YamlProblem:
    what = f"别名“*{anchor}”引用了包含它自身的内容" if recursive else f"别名展开后超过 {MAX_ALIAS_NODES} 项（到“*{anchor}”为止）"
    return YamlProblem(Problem(Location(path, line), "E108", what,
                               "不要用 & 锚点和 * 别名层层引用；请直接写出需要的值"))


def _compose_repairing(lines: list[str], fullwidth: list, path: str, first_line: int):
    """Compose with the pure-Python parser, quoting a value with an unquoted ``: `` inside it (W105) until the
    document parses; returns ``(node, warnings)``. Raises :class:`YamlProblem` E104 or E101."""
    warnings: list[Problem] = []
    for _ in range(20):
        try:
            text = "\n".join(lines)
            check_bounds(text, path, first_line)
            node = yaml.compose(text, Loader=_TextLoader)
            break
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            row = mark.line if mark else 0
            before = [(i, m) for i, m in fullwidth if i <= row]
            if before:  # "key：value" is not a key, so the lines after it no longer fit
                raise _fullwidth_problem(path, first_line, *before[0]) from None
            fixed = _quote_value(lines, row) if "mapping values are not allowed" in str(exc.problem) else None
            if fixed is None:
                raise _syntax_problem(exc, path, first_line) from None
            lines[fixed] = _quoted_line(lines[fixed])
            key = lines[fixed].split(":", 1)[0].strip(" -")
            warnings.append(Problem(Location(path, first_line + fixed), "W105",
                                    f"“{key}”的值中含有未加引号的“: ”，已按原文读作文字", "建议给整个值加上引号", "warning"))
        except yaml.YAMLError as exc:
            raise YamlProblem(Problem(Location(path, first_line), "E101", f"YAML 格式错误：{exc}",
                                      "检查引号和缩进")) from None
    else:  # pragma: no cover - more than 20 repairs means something else is wrong
        raise YamlProblem(Problem(Location(path, first_line), "E101", "YAML 格式错误", "检查引号和缩进"))
    if fullwidth and isinstance(node, yaml.ScalarNode):
        raise _fullwidth_problem(path, first_line, *fullwidth[0])  # the whole block is one string (case B06 fullwidth-all)
    spans = [(n.start_mark.line, n.end_mark.line) for n in _plain_scalars(node)]
    for i, m in fullwidth:
        # "author：张三" swallowed into the plain value of the line above (a Chinese "会议指出：" is prose)
        if re.fullmatch(r"[A-Za-z_][\w-]*", m.group(2).strip()) and any(start < i <= end for start, end in spans):
            raise _fullwidth_problem(path, first_line, i, m)
    return node, warnings


def _syntax_problem(exc: yaml.MarkedYAMLError, path: str, first_line: int) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark is not None and str(exc.context).startswith(_UNCLOSED):
        mark = exc.context_mark  # where the quote or bracket opened; the parser stops lines later
    return YamlProblem(Problem(Location(path, first_line + mark.line if mark else first_line,
                                        (mark.column + 1) if mark else 0),
                               "E101", f"YAML 格式错误：{_describe(exc)}",
                               "检查引号是否成对、缩进是否对齐；值里有冒号或 # 时请加引号"))


def _lead(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _tabs(lines: list[str], path: str, first_line: int) -> tuple[Problem, ...]:
    """E103 for every line whose indentation holds a tab."""
    return tuple(Problem(Location(path, first_line + i, _lead(line).index("\t") + 1), "E103", "缩进中有制表符（Tab）",
                         "YAML 只能用空格缩进，请把 Tab 换成两个空格")
                 for i, line in enumerate(lines) if "\t" in _lead(line))


def _untabbed(lines: list[str], path: str, first_line: int) -> "Loaded | None":
    """The document read with each tab of the indentation as 2 spaces, else as 4; ``None`` when neither reads."""
    for width in (2, 4):
        try:
            return load("\n".join(_lead(line).replace("\t", " " * width) + line[len(_lead(line)):] for line in lines),
                        path, first_line)
        except YamlProblem:
            continue
    return None


def _plain_scalars(node):
    """Every plain (unquoted, not block) scalar node under ``node``."""
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            stack.extend(x for pair in n.value for x in pair)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, yaml.ScalarNode) and n.style is None:
            yield n


def is_scalar(text: str) -> bool:
    """Whether ``text`` parses (as written, without repairs) to a single scalar, i.e. no ``key: value`` at all
    (``title：标题`` with a full-width colon is one string); ``False`` on any YAML error."""
    try:
        check_bounds(text, "")
        return isinstance(yaml.compose(text, Loader=_TextLoader), yaml.ScalarNode)
    except (yaml.YAMLError, YamlProblem):
        return False


def _quote_value(lines: list[str], row: int) -> int | None:
    """Index of the line to repair when an unquoted ``: `` sits inside a plain value on line ``row``."""
    for r in (row, row - 1):
        if 0 <= r < len(lines):
            m = _KEY_VALUE.match(lines[r])
            if m and ": " in m.group(2) and m.group(2)[0] not in "'\"[{|>&*!":
                return r
    return None


def _quoted_line(line: str) -> str:
    m = _KEY_VALUE.match(line)
    value = m.group(2).replace("'", "''")
    return f"{m.group(1)}'{value}'"


#: Parser contexts of a quote or bracket left open: the error is reported where it opened (``context_mark``).
_UNCLOSED = ("while scanning a quoted scalar", "while parsing a flow sequence", "while parsing a flow mapping")


def _describe(exc: yaml.MarkedYAMLError) -> str:
    text = f"{exc.context or ''} {exc.problem or ''}".strip()
    known = {
        "found character that cannot start any token": "出现了不能作为开头的字符（如 @、` 或 Tab）",
        "expected ',' or ']'": "方括号“[”没有闭合，或列表项之间缺少逗号",
        "expected ',' or '}'": "花括号“{”没有闭合，或各项之间缺少逗号",
        "could not find expected ':'": "缺少冒号“:”",
        "found unexpected end of stream": "引号或括号没有闭合",
        "expected <block end>, but found": "缩进不一致",
        "did not find expected key": "缩进不一致或缺少冒号",
        "found unknown escape character": "双引号字符串中有无法识别的反斜杠转义",
        "found unacceptable character": "包含不允许的控制字符",
    }
    for en, zh in known.items():
        if en in text:
            return zh
    return f"无法解析（{text}）"


def _build(node, keypath: KeyPath, where: dict, path: str, first_line: int):
    where[keypath] = first_line + node.start_mark.line
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                raise YamlProblem(Problem(Location(path, first_line + knode.start_mark.line), "E101",
                                          "键必须是简单文字", "请检查这一行的写法"))
            key = knode.value
            if key == "<<":
                raise YamlProblem(Problem(Location(path, first_line + knode.start_mark.line), "E101",
                                          "不支持 YAML 合并键“<<”", "请直接写出各个键"))
            if key in out:
                raise YamlProblem(Problem(Location(path, first_line + knode.start_mark.line), "E106",
                                          f"键“{key}”重复出现（第 {where[keypath + (key,)]} 行已有）",
                                          "删除其中一个"))
            where[keypath + (key,)] = first_line + knode.start_mark.line
            out[key] = _build(vnode, keypath + (key,), where, path, first_line)
            where[keypath + (key,)] = first_line + knode.start_mark.line
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, keypath + (i,), where, path, first_line) for i, item in enumerate(node.value)]
    if node.tag == "tag:yaml.org,2002:null" or (not node.style and node.value in ("", "~", "null", "Null",
                                                                                      "NULL")):
        return None
    return node.value
