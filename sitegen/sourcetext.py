"""The text of a content file as its editor sees it: bytes decoded, invisible characters removed, front matter split.

Files arrive from Windows PCs, Macs and phones, pasted from Word, WPS, WeChat and Typora. What those tools put in a
file that its editor cannot see, or sees differently from a parser, is normalised here with a warning at its line
(each case names the public report it comes from in tests/test_arrival.py):

- UTF-8 with or without BOM; UTF-16 with a BOM (Windows Notepad's "Unicode", PowerShell's ``>``) and GBK/GB18030
  are converted (W100); other bytes are an error (E100);
- CRLF (Windows) and CR alone (classic Mac OS, some chat programs) become LF;
- U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR (web and WeChat copies) become a line break and a blank
  line, as editors show them (W102);
- characters XML 1.0 forbids (C0 controls from Word, case B21) and invisible format characters (U+200B zero width
  space, U+FEFF byte order marks in the middle of a text, U+2060 word joiner) are removed (W101): they split
  words, tags and slugs that look identical;
- in front matter, no-break spaces (U+00A0) and ideographic spaces (U+3000) used as indentation or after a key's
  colon are read as spaces (W107): YAML does not count them as white space, so the block would not parse.
"""
from __future__ import annotations

import re

from sitegen.errors import ContentError, Location, Problem

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_INVISIBLE = re.compile("[\u200b\u2060\ufeff]")
_INVISIBLE_NAMES = {"\u200b": "零宽空格", "\u2060": "零宽不换行符", "\ufeff": "字节顺序标记（BOM）"}
_SEPARATORS = re.compile("[\u2028\u2029]")
_ODD_SPACES = "\u00a0\u3000"
_FM_LEAD = re.compile(f"^([ {_ODD_SPACES}]*)")
_FM_AFTER_COLON = re.compile(f"^(\\s*-?\\s*[A-Za-z_][\\w-]*:)[{_ODD_SPACES}]+")


def decode(data: bytes, rel: str) -> tuple[str, list[Problem]]:
    """Bytes of a content file → text with LF line ends and the characters an editor cannot see removed (see the
    module docstring), plus a warning for each repair (W100 encoding, W101 invisible character, W102 line
    separator).

    Raises :class:`ContentError` (E100) when the bytes are neither UTF-8, UTF-16 with a BOM nor GB18030."""
    text, problems = _decoded(data, rel)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, found = _separators(text, rel)
    problems += found
    for m in _XML_ILLEGAL.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        problems.append(Problem(Location(rel, line), "W101", f"删除了不可见的控制字符 U+{ord(m.group()):04X}",
                                "通常来自 Word 或微信复制，可忽略", "warning"))
    text = _XML_ILLEGAL.sub("", text)
    seen: dict[tuple[int, str], None] = {}
    for m in _INVISIBLE.finditer(text):
        seen.setdefault((text.count("\n", 0, m.start()) + 1, m.group()), None)
    for line, char in seen:
        problems.append(Problem(Location(rel, line), "W101",
                                f"删除了不可见的字符 U+{ord(char):04X}（{_INVISIBLE_NAMES[char]}）",
                                "通常来自网页、微信或 Word 复制；它会让看起来相同的文字、标签变得不同", "warning"))
    return _INVISIBLE.sub("", text), problems


def _decoded(data: bytes, rel: str) -> tuple[str, list[Problem]]:
    """The bytes as text (a leading BOM dropped) and the W100 warning when they were not UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            pass
        else:
            return text.lstrip("\ufeff"), [Problem(Location(rel, 1), "W100", "文件是 UTF-16 编码，已自动转换",
                                                   "Windows 记事本的“Unicode”编码就是 UTF-16；建议另存为 UTF-8",
                                                   "warning")]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            line = data[: exc.start].count(b"\n") + 1
            raise ContentError(Problem(Location(rel, line), "E100", "文件编码无法识别（不是 UTF-8，也不是 GBK）",
                                       "请用 UTF-8 编码另存此文件")) from None
    return text, [Problem(Location(rel, 1), "W100", "文件是 GBK/GB18030 编码，已自动转换", "建议在编辑器中另存为 UTF-8",
                          "warning")]


def _separators(text: str, rel: str) -> tuple[str, list[Problem]]:
    """U+2028 → a line break, U+2029 → a blank line, one W102 per line that had any (the line as it was)."""
    if not _SEPARATORS.search(text):
        return text, []
    lines = sorted({text.count("\n", 0, m.start()) + 1 for m in _SEPARATORS.finditer(text)})
    problems = [Problem(Location(rel, n), "W102", "这一行里有 Unicode 换行符（U+2028/U+2029），已按换行处理",
                        "通常来自网页或微信复制；编辑器里看起来是换行，网页上也按换行显示", "warning") for n in lines]
    return text.replace("\u2028", "\n").replace("\u2029", "\n\n"), problems


_FENCE_OPEN = re.compile(r"^---[ \t]*$")
_FENCE_CLOSE = re.compile(r"^(---|\.\.\.)[ \t]*$")


def split_front_matter(text: str, rel: str) -> tuple[str, str, int]:
    """Split ``---`` fenced YAML front matter from the body: returns ``(yaml_text, body, body_first_line)``.
    A closing fence may carry trailing spaces (case B04). Raises :class:`ContentError` (E100) when the file has
    no front matter or the block is not closed."""
    lines = text.split("\n")
    if not lines or not _FENCE_OPEN.match(lines[0]):
        raise ContentError(Problem(Location(rel, 1), "E100", "文件开头缺少 front matter（以 --- 开始的标题、日期等信息）",
                                   "第一行写 ---，接着写 title: 标题、date: 2026-11-28 09:30，再用 --- 结束"))
    for i in range(1, len(lines)):
        if _FENCE_CLOSE.match(lines[i]):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1:]), i + 2
    raise ContentError(Problem(Location(rel, 1), "E100", "front matter 没有结束的 ---",
                               "在标题、日期等信息之后单独写一行 ---"))


def repair_front_matter(text: str, rel: str, first_line: int) -> tuple[str, list[Problem]]:
    """``text`` (front matter whose first line is file line ``first_line``) with no-break and ideographic spaces
    in the indentation (one column each, two for U+3000) and right after a key's colon read as spaces, and a W107
    warning per line repaired. Tabs are left alone: :func:`sitegen.yamlsafe.load` reports them (E103)."""
    out, problems = [], []
    for i, line in enumerate(text.split("\n")):
        fixed = _FM_LEAD.sub(lambda m: m.group(1).replace("\u3000", "  ").replace("\u00a0", " "), line, count=1)
        fixed = _FM_AFTER_COLON.sub(lambda m: m.group(1) + " ", fixed, count=1)
        if fixed != line:
            chars = "、".join(f"U+{ord(c):04X}" for c in dict.fromkeys(c for c in line if c in _ODD_SPACES))
            problems.append(Problem(Location(rel, first_line + i), "W107", f"这一行用了特殊空格（{chars}），已按普通空格读取",
                                    "常见于从网页、Word 或微信复制的内容；建议换成普通空格", "warning"))
        out.append(fixed)
    return "\n".join(out), problems


__all__ = ["decode", "split_front_matter", "repair_front_matter"]
