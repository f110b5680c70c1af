"""Front matter: a content file's bytes decoded (:func:`decode`), its front matter split from the body
(:func:`split_front_matter`), and the YAML mapping of the file (every value still the text written, see
:mod:`sitegen.yamlsafe`) read into the typed :class:`Fields` of a page, with a problem at the file line of each value
that is missing, wrong or suspicious.

Names follow Hugo and Jekyll (README, "Content"). What editors paste gets a hint, not silence: dates that do not
parse (E102) and an ``updated`` before ``date`` (W102, ``updated`` ignored); text that is no text (E111); booleans
(E112); photos without ``src`` (E113); a ``weight`` that is no integer within ±1,000,000 (E114); more tags than
``limits.tags_warning`` (W116); bidi overrides and zero-width characters in a title, slug, tag or name (removed,
W101, as control characters are from the whole file); an explicit slug that mixes scripts, such as ``раураl`` for
``paypal`` (W141, Unicode's UTS #39). A date that does not exist says which day does not exist (case B41).

Slips editors make are read as they meant them, with a warning: ``Title:`` for ``title:`` (W108, word processors
capitalise the first letter of a line), ``tags: 妇联、改革`` or ``tags: [妇联改革，基层组织]`` (W111, a Chinese
enumeration comma or full-width comma between tags), tags wrapped in curly or corner quotes (W110). What the tools
editors use put in a file that they cannot see is normalised by :func:`decode` and :func:`repair_front_matter`
(each case of tests/test_arrival.py names the public report it comes from).
"""
from __future__ import annotations

import contextlib
import difflib
import hashlib
import itertools
import posixpath
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from sitegen.config import Config, Limits, Section
from sitegen.dates import DATE_FORMATS, date_error, parse_date
from sitegen.errors import ContentError, Location, Problem
from sitegen.slugs import slugify
from sitegen.unicodes import describe, mixed_scripts, script_names, strip_invisible

KNOWN_KEYS = {"title", "date", "updated", "category", "column", "tags", "author", "source", "editor", "summary",
              "cover", "photos", "slug", "draft", "headline", "pinned", "aliases", "description", "weight"}
_REMOVED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff\u200b\u2060\ufeff]")
_SEPARATORS = re.compile("[\u2028\u2029]")
_ODD_SPACES = "\u00a0\u3000"
_FM_LEAD = re.compile(f"^([ {_ODD_SPACES}]*)")
_FM_AFTER_COLON = re.compile(f"^(\\s*-?\\s*[A-Za-z_][\\w-]*:)[{_ODD_SPACES}]+")
_TAG_SEPARATORS = re.compile(r"\s*[,，、;；]\s*")
_WIDE_SEPARATORS = re.compile(r"\s*[，、；]\s*")
_QUOTES = {"“": "”", "‘": "’", "「": "」", "『": "』", '"': '"', "'": "'"}
WEIGHT_RANGE = (-1_000_000, 1_000_000)
"""Bounds of ``weight`` (an ordering hint for themes)."""
CLEANED_KEYS = ("title", "slug", "author", "source", "editor", "category", "column")
"""Single-line text keys from which invisible characters are removed (with W101), besides tags and aliases."""


@dataclass(frozen=True, slots=True)
class PhotoRef:
    """A photo named in front matter (``cover`` or ``photos``): ``rel`` project-relative path (``None`` when it
    leaves the project: the problem is reported and the photo left out), ``src`` as written, ``caption``,
    ``credit`` (photographer; rendered "田野 摄"), ``line``."""

    rel: str | None
    src: str
    caption: str = ""
    credit: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class Fields:
    """The typed front matter of one file. ``date``/``updated`` are aware datetimes in the site's time zone
    (``date`` 1970-01-01 when missing: the file then has an error); ``category``/``column`` the sections named;
    ``summary`` the one written (``summary`` or ``description``), else ``""``; ``extra`` the keys sitegen does not
    know; ``slug_line`` the line of an explicit ``slug:`` (0: the file name or title decided), ``alias_lines`` the
    line of each entry of ``aliases``, ``date_line`` and ``tags_line`` those of ``date:`` and ``tags:`` (0: none)."""

    title: str
    date: datetime
    updated: datetime | None
    category: Section | None
    column: Section | None
    slug: str
    tags: tuple[str, ...]
    aliases: tuple[str, ...]
    summary: str
    photos: tuple[PhotoRef, ...]
    cover: PhotoRef | None
    author: str = ""
    source_name: str = ""
    editor: str = ""
    draft: bool = False
    headline: bool = False
    pinned: bool = False
    weight: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)
    slug_line: int = 0
    alias_lines: tuple[int, ...] = ()
    date_line: int = 0
    tags_line: int = 0


@dataclass
class Reader:
    """Reads the values of one front-matter mapping ``fm`` of file ``rel`` (``lines`` maps key paths to file
    lines), collecting ``problems``; ``resolve(src)`` gives the project-relative path of an image path written in
    the file (``None`` when it leaves the project), and image problems go to ``image_problems`` (they do not stop
    the page)."""

    rel: str
    fm: dict
    lines: dict
    resolve: Callable[[str], str | None] = lambda src: None
    problems: list[Problem] = field(default_factory=list)
    image_problems: list[Problem] = field(default_factory=list)

    def lower_keys(self) -> None:
        """Read ``Title:``/``DATE:`` as ``title``/``date`` (W108), unless the key is also written right."""
        for key in [k for k in self.fm if k != k.lower() and k.lower() in KNOWN_KEYS and k.lower() not in self.fm]:
            low = key.lower()
            self.fm[low] = self.fm.pop(key)
            for path, line in list(self.lines.items()):
                if path[:1] == (key,):
                    self.lines[(low,) + path[1:]] = line
            self.add((low,), "W108", f"键“{key}”应写成小写“{low}”，已按 {low} 读取",
                     "front matter 的键区分大小写；Word、WPS 和手机输入法常把行首字母自动改成大写", "warning")

    def at(self, *keypath) -> int:
        """The file line of ``keypath``, else of its key, else of the front matter's first line (2)."""
        return self.lines.get(keypath, self.lines.get(keypath[:1], 2))

    def add(self, keypath: tuple, code: str, message: str, hint: str, severity: str = "error") -> None:
        """Record a problem at ``keypath``'s line."""
        self.problems.append(Problem(Location(self.rel, self.at(*keypath)), code, message, hint, severity))

    def clean(self, text: str, keypath: tuple) -> str:
        """``text`` without invisible characters, each removed one reported as W101 at ``keypath``'s line."""
        text, removed = strip_invisible(text)
        self.problems.extend(invisible_removed(self.rel, self.at(*keypath), ch) for ch in removed)
        return text

    def text(self, key: str) -> str:
        """The stripped text of ``key`` (``""`` when missing; E111 when not text)."""
        value = self.fm.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.add((key,), "E111", f"{key} 应为一段文字", f"写成 {key}: 内容")
            return ""
        return (self.clean(value, (key,)) if key in CLEANED_KEYS else value).strip()

    def boolean(self, key: str) -> bool:
        """``true/yes/on/是`` or ``false/no/off/否`` at ``key`` (``False`` when missing; E112 otherwise)."""
        value = self.fm.get(key)
        if value is None:
            return False
        v = str(value).strip().lower()
        if v in ("true", "yes", "on", "是"):
            return True
        if v not in ("false", "no", "off", "否", ""):
            self.add((key,), "E112", f"{key} 应为 true 或 false，实际是“{str(value)[:40]}”", f"写成 {key}: true")
        return False

    def items(self, key: str) -> list[tuple[str, tuple]]:
        """The text items of the list (or the one string) at ``key`` as ``(text cleaned, key path)``; E111 for an
        item or a value that is no text or list."""
        value = self.fm.get(key)
        items: list[tuple[str, tuple]] = []
        if isinstance(value, str):
            items = [(value, (key,))]
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, str):
                    items.append((v, (key, i)))
                else:
                    self.add((key, i), "E111", f"{key} 的第 {i + 1} 项应为文字", f"例如 {key}: [妇联改革, 美丽庭院]")
        elif value is not None:
            self.add((key,), "E111", f"{key} 应为列表", f"例如 {key}: [妇联改革, 美丽庭院]")
        return [(self.clean(v, kp), kp) for v, kp in items]

    def strings(self, key: str) -> tuple[str, ...]:
        """The items of the list at ``key`` as written (an old URL may hold a comma), or a one-string value split
        at ``,，、;；``; stripped, without duplicates."""
        one_string = isinstance(self.fm.get(key), str)
        parts = [p for v, _ in self.items(key) for p in (_TAG_SEPARATORS.split(v.strip()) if one_string else [v])]
        return tuple(dict.fromkeys(c for c in (p.strip() for p in parts) if c))

    def weight(self) -> int:
        """``weight``: an integer within :data:`WEIGHT_RANGE` (0 when missing; E114 for ``[1]``, ``1e400``…)."""
        value = self.fm.get("weight")
        if value is None:
            return 0
        text = value.strip().replace("_", "") if isinstance(value, str) else ""
        low, high = WEIGHT_RANGE
        if re.fullmatch(r"[+-]?\d{1,7}", text) and low <= int(text) <= high:
            return int(text)
        shown = value[:40] if isinstance(value, str) else "列表或键值"
        self.add(("weight",), "E114", f"weight 应为 {low} 到 {high} 之间的整数，实际是“{shown}”",
                 "weight 决定排序，数字小的在前，例如 weight: 10")
        return 0

    def date(self, key: str, tz) -> datetime | None:
        """The date at ``key`` (see :func:`parse_date`), ``None`` when missing or wrong (E102, saying what is
        wrong: :func:`date_error`)."""
        value = self.fm.get(key)
        if not isinstance(value, str) or not value.strip():
            return None
        try:
            return parse_date(value, tz)
        except ValueError:
            message, hint = date_error(value)
            self.add((key,), "E102", ("更新" if key == "updated" else "") + message, hint)
            return None

    def photo(self, value, keypath: tuple) -> PhotoRef | None:
        """A photo ``{src, caption, credit}`` or a bare path; E113 without ``src``; E306 (an image problem) when
        it leaves the project, and then its ``rel`` is ``None``."""
        line = self.at(*keypath)
        if isinstance(value, str):
            value = {"src": value}
        if not isinstance(value, dict) or not isinstance(value.get("src"), str) or not value["src"].strip():
            self.add(keypath, "E113", "图片项需要 src（图片路径）", "例如 - {src: photo.jpg, caption: 图片说明, credit: 田野}")
            return None
        src = value["src"].strip()
        target = None if is_computer_path(src) else self.resolve(src)
        if target is None:  # the page is published without this photo
            self.image_problems.append(image_path_problem(self.rel, line, src))
        caption = value.get("caption") if isinstance(value.get("caption"), str) else ""
        credit = value.get("credit") if isinstance(value.get("credit"), str) else ""
        return PhotoRef(target, src, caption.strip(), re.sub(r"\s*摄$", "", credit.strip()), line)


def decode(data: bytes, rel: str) -> tuple[str, list[Problem]]:
    """Bytes of a content file → the text its editor sees, with LF line ends: a leading BOM removed; UTF-16 with a
    BOM (Windows Notepad's "Unicode") and GBK/GB18030 decoded (W100); CR alone (classic Mac OS, some chat programs)
    a line end; U+2028/U+2029 (web and WeChat copies) a line break and a blank line (W103); characters XML 1.0
    forbids (case B21) and invisible ones (U+200B, U+2060, U+FEFF in mid-text: they split words, tags and slugs
    that look the same) removed (W101, naming each, at most 20 a file).

    Raises :class:`ContentError` (E100) when the bytes are neither UTF-8, UTF-16 with a BOM nor GB18030."""
    text, problems = _decoded(data, rel)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _SEPARATORS.search(text):
        lines = sorted({text.count("\n", 0, m.start()) + 1 for m in itertools.islice(_SEPARATORS.finditer(text), 20)})
        problems += [Problem(Location(rel, n), "W103", "这一行里有 Unicode 换行符（U+2028/U+2029），已按换行处理",
                             "通常来自网页或微信复制；编辑器里看起来是换行，网页上也按换行显示", "warning") for n in lines]
        text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    line, pos, seen = 1, 0, set()
    for m in _REMOVED.finditer(text):  # lines counted as the matches go: linear in the file
        line += text.count("\n", pos, m.start())
        pos = m.start()
        if len(seen) < 20 and (line, m.group()) not in seen:
            seen.add((line, m.group()))
            problems.append(invisible_removed(rel, line, m.group()))
    return _REMOVED.sub("", text), problems


def invisible_removed(rel: str, line: int, ch: str) -> Problem:
    """The one W101 warning for an invisible or control character ``ch`` removed at ``rel:line`` (the whole
    file's decoding and the front matter's keys say it alike)."""
    return Problem(Location(rel, line), "W101", f"删除了不可见的控制字符 {describe(ch)}",
                   "通常来自网页、微信或 Word 复制；这类字符会颠倒或隐藏读者看到的文字，已删除", "warning")


def _decoded(data: bytes, rel: str) -> tuple[str, list[Problem]]:
    """The bytes as text (a leading BOM dropped) and the W100 warning when they were not UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        with contextlib.suppress(UnicodeDecodeError):  # not really UTF-16: read as UTF-8 or GB18030 below
            return data.decode("utf-16").lstrip("\ufeff"), [Problem(
                Location(rel, 1), "W100", "文件是 UTF-16 编码，已自动转换", "Windows 记事本的“Unicode”编码就是 UTF-16；建议另存为 UTF-8",
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
    warning per line repaired: YAML does not count them as white space. Tabs are left to
    :func:`sitegen.yamlsafe.load` (E103)."""
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


def size_problem(rel: str, size: int, limits: Limits) -> Problem | None:
    """W109 for a file of ``size`` bytes over ``limits.article_warning_kb`` KiB, E109 (the file is left out, unread)
    over ``limits.article_error_kb``, else ``None``."""
    if size <= limits.article_warning_kb * 1024:
        return None
    error = size > limits.article_error_kb * 1024
    return Problem(Location(rel, 1), "E109" if error else "W109",
                   f"文件有 {size / 1024:,.0f} KB，超过 {limits.article_error_kb if error else limits.article_warning_kb} KB"
                   + ("，本文未发布" if error else ""),
                   "长文请分成几篇；表格和图片请用附件或图片文件，不要整段粘贴（上限在 site.yaml 的 limits 中）",
                   "error" if error else "warning")


def image_path_problem(rel: str, line: int, written: str) -> Problem:
    """E306 for an image path that leaves the project or names a file on the editor's own computer
    (``C:\\Users\\…``, ``file:///…``, as Typora and Word write them; the code :mod:`sitegen.images` uses). Missing
    and broken files are reported by the image pipeline (E301–E305) at the same line."""
    if is_computer_path(written):
        return Problem(Location(rel, line), "E306", f"图片路径是编辑者电脑上的位置，网站上无法显示：{written}",
                       "把图片放到本文所在的文件夹（或 content/ 中），写相对路径，如 ![说明](图片文件名.jpg)")
    return Problem(Location(rel, line), "E306", f"图片路径离开了站点目录：{written}", "图片须放在 content/ 中，写相对路径")


def is_computer_path(written: str) -> bool:
    """Whether a path as written names a file on the editor's own computer: a Windows drive (``C:\\…``,
    ``D:/…``), a ``file:`` URL or a home folder (``/Users/…``, ``/home/…``, ``~/…``)."""
    return bool(re.match(r"^(?:[A-Za-z]:[\\/]|file:|~[\\/]|/Users/|/home/)", written.strip()))


def read_fields(r: Reader, config: Config, kind: str) -> Fields:
    """The :class:`Fields` of ``r``'s front matter for a page of ``kind`` (``article``, ``page``, ``gallery``);
    problems go to ``r.problems`` and ``r.image_problems``."""
    r.lower_keys()
    title = r.text("title")
    if not title:
        r.add(("title",), "E110", "缺少标题 title", "在 front matter 中写 title: 标题")
    date, updated = _dates(r, config, kind)
    category, column = _sections(r, config, kind)
    raw_photos = r.fm.get("photos")
    if raw_photos is not None and not isinstance(raw_photos, list):
        r.add(("photos",), "E113", "photos 应为列表", "例如 photos: [{src: a.jpg, caption: 说明, credit: 田野}]")
        raw_photos = []
    photos = tuple(p for p in (r.photo(item, ("photos", i)) for i, item in enumerate(raw_photos or [])) if p)
    tags = _tags(r)
    if len(tags) > config.limits.tags_warning:
        r.add(("tags",), "W116", f"标签有 {len(tags)} 个，超过 {config.limits.tags_warning} 个",
              "每个标签都会生成一个列表页；请只保留最能说明本文的几个标签", "warning")
    aliases = r.strings("aliases")
    return Fields(
        title=title, date=date, updated=updated, category=category, column=column,
        slug=_slug(r, title, date), tags=tags, aliases=tuple(a if a.startswith("/") else "/" + a for a in aliases),
        summary=r.text("summary") or r.text("description"), photos=photos,
        cover=r.photo(r.fm["cover"], ("cover",)) if r.fm.get("cover") else None,
        author=r.text("author"), source_name=r.text("source"), editor=r.text("editor"),
        draft=r.boolean("draft"), headline=r.boolean("headline"), pinned=r.boolean("pinned"), weight=r.weight(),
        extra={k: v for k, v in r.fm.items() if k not in KNOWN_KEYS},
        slug_line=r.at("slug") if isinstance(r.fm.get("slug"), str) and r.fm["slug"].strip() else 0,
        alias_lines=item_lines(r, "aliases", aliases), date_line=r.lines.get(("date",), 0),
        tags_line=r.lines.get(("tags",), 0))


def item_lines(r: Reader, key: str, items: tuple[str, ...]) -> tuple[int, ...]:
    """The file line of each of ``items`` (as :meth:`Reader.strings` returned them) in the list at ``key``."""
    value = r.fm.get(key)
    written = [v.strip() if isinstance(v, str) else None for v in value] if isinstance(value, list) else []
    return tuple(r.at(key, written.index(item)) if item in written else r.at(key) for item in items)


def _dates(r: Reader, config: Config, kind: str) -> tuple[datetime, datetime | None]:
    """``date`` (required except for static pages: E102) and ``updated`` (W102 and ignored when before ``date``)."""
    tz = config.tz
    date = r.date("date", tz)
    written = r.fm.get("date")
    if not (isinstance(written, str) and written.strip()) and kind != "page":
        r.add(("date",), "E102", "缺少发布日期 date", "写 date: 2026-11-28 09:30")
    updated = r.date("updated", tz)
    if date and updated and updated < date:
        r.add(("updated",), "W102", f"更新日期 {updated:%Y-%m-%d %H:%M} 早于发布日期 {date:%Y-%m-%d %H:%M}，已忽略",
              "updated 应写最后修改的时间，不早于 date；不需要时删掉这一行", "warning")
        updated = None
    return date or datetime(1970, 1, 1, tzinfo=tz), updated


def _tags(r: Reader) -> tuple[str, ...]:
    """Tags, one per list item; a one-string value and list items holding Chinese separators (``，、；``) are
    split with a warning (W111), quotes around a tag removed with a warning (W110)."""
    split = _TAG_SEPARATORS if isinstance(r.fm.get("tags"), str) else _WIDE_SEPARATORS
    tags = []
    for value, keypath in r.items("tags"):
        parts = [p for p in split.split(value.strip()) if p]
        if len(parts) > 1:
            r.add(keypath, "W111", f"“{value.strip()[:40]}”已拆成 {len(parts)} 个标签：" + "、".join(parts[:10]),
                  "标签请写成列表，用半角逗号分隔，如 tags: [妇联改革, 基层组织]", "warning")
        for part in parts:
            inner = part[1:-1].strip() if len(part) > 2 and _QUOTES.get(part[0]) == part[-1] else part
            if inner != part:
                r.add(keypath, "W110", f"标签 {part[:40]} 两边的引号已去掉", "标签不需要加引号；手机和 Word 会把直引号自动换成弯引号",
                      "warning")
            tags.append(inner.strip())
    return tuple(dict.fromkeys(t for t in tags if t))


def _sections(r: Reader, config: Config, kind: str) -> tuple[Section | None, Section | None]:
    """The category (required for articles: E120) and the column (E121 when unknown) named in front matter."""
    category = None
    cat_text = r.text("category")
    if kind == "article" and not cat_text:
        r.add(("category",), "E120", "缺少栏目 category", "可选：" + "、".join(s.name for s in config.categories))
    elif cat_text:
        category = config.category(cat_text)
        if category is None and kind == "article":
            r.add(("category",), "E120", f"未知的栏目“{cat_text[:40]}”", _did_you_mean(cat_text, config.categories)
                  + "可选：" + "、".join(s.name for s in config.categories))
    column = None
    col_text = r.text("column")
    if col_text:
        column = config.column(col_text)
        if column is None:
            choices = "、".join(s.name for s in config.columns) or "（site.yaml 中未设专栏）"
            r.add(("column",), "E121", f"未知的专栏“{col_text[:40]}”",
                  _did_you_mean(col_text, config.columns) + "可选：" + choices)
    return category, column


def _slug(r: Reader, title: str, date: datetime) -> str:
    """``slug:`` if given (W141 when it mixes scripts), else from the file or folder name, else from the title,
    else a date and hash (W140)."""
    explicit = r.text("slug")
    if explicit:
        mixed = mixed_scripts(explicit)
        if mixed:
            r.add(("slug",), "W141", f"slug“{explicit[:40]}”混用了{script_names(mixed)}，可能被看成别的网址",
                  "slug 请只用英文字母、数字、连字符或拼音", "warning")
        slug = re.sub(r"[^\w-]+", "-", unicodedata.normalize("NFKC", explicit)).strip("-").lower()
        if slug:
            return slug
    rel = r.rel
    stem = posixpath.basename(posixpath.dirname(rel)) if rel.endswith("/index.md") else posixpath.basename(rel)[:-3]
    slug = slugify(stem) or slugify(title)
    if slug:
        return slug
    fallback = f"{date:%Y%m%d}-{hashlib.sha1(rel.encode()).hexdigest()[:6]}"
    r.add(("slug",), "W140", f"无法从文件名或标题生成网址，已使用 {fallback}", "在 front matter 中写 slug: 英文或拼音",
          "warning")
    return fallback


def _did_you_mean(written: str, sections: tuple[Section, ...]) -> str:
    """``是不是“工作动态”？`` for the section whose name or slug is closest to ``written`` (a typo such as 工做动态,
    a shortened name such as 改革, a slug with a wrong letter), by :func:`difflib.get_close_matches` with ratio ≥
    0.5; ``""`` when none is close."""
    by_key = {}
    for section in sections:
        by_key.setdefault(section.name, section.name)
        by_key.setdefault(section.slug, section.name)
    best = difflib.get_close_matches(written.strip()[:200], list(by_key), n=1, cutoff=0.5)
    return f"是不是“{by_key[best[0]]}”？" if best else ""


__all__ = ["Fields", "PhotoRef", "Reader", "read_fields", "parse_date", "date_error", "image_path_problem",
           "is_computer_path", "size_problem", "decode", "split_front_matter", "repair_front_matter", "DATE_FORMATS",
           "KNOWN_KEYS", "WEIGHT_RANGE"]
