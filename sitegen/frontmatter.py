"""Front matter typed: the mapping :func:`sitegen.yamlsafe.load` read (every scalar a string) → a :class:`FrontMatter`.

Names follow Hugo/Jekyll (README "Content"). Every problem names the line of its key or list item and a hint that
fixes it; a date that does not exist says which day does not exist (case B41). Slips editors make are read as they
meant them, with a warning: ``Title:`` for ``title:`` (word processors capitalise the first letter of a line),
``tags: 妇联、改革`` or ``tags: [妇联改革，基层组织]`` (a Chinese enumeration comma or full-width comma between tags),
tags wrapped in curly or corner quotes (``[“妇联”, “改革”]``, typed with smart punctuation on).
"""
from __future__ import annotations

import calendar
import difflib
import hashlib
import posixpath
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from sitegen.config import Config, Section
from sitegen.errors import Location, Problem
from sitegen.pages import PhotoRef, Source
from sitegen.slugs import slugify

DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d", "%Y年%m月%d日 %H:%M:%S",
                "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")
"""The date forms accepted (after NFKC, so full-width digits typed with a Chinese input method count)."""

KNOWN_KEYS = {"title", "date", "updated", "category", "column", "tags", "author", "source", "editor", "summary",
              "cover", "photos", "slug", "draft", "headline", "pinned", "aliases", "description", "weight"}

_DATE_PARTS = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                         r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?\s*(?:Z|[+-]\d{2}:?\d{2})?$")
_TAG_SEPARATORS = re.compile(r"\s*[,，、;；]\s*")
_WIDE_SEPARATORS = re.compile(r"\s*[，、；]\s*")
_QUOTES = {"“": "”", "‘": "’", "「": "」", "『": "』", '"': '"', "'": "'"}


def parse_date(value: str, tz) -> datetime:
    """Parse a front-matter date: ``2026-11-28``, ``2026-11-28 09:30``, with seconds, ``T`` separator, ``/``,
    ``.`` or ``年月日``, full-width digits, and an optional offset (``+08:00``, ``Z``). A naive time is in ``tz``
    (the site's time zone). Raises ``ValueError`` whose message says what is wrong (see :func:`date_error`)."""
    s = unicodedata.normalize("NFKC", value).strip().replace("T", " ", 1)
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    m = re.match(r"^(.*?\d)\s*([+-]\d{2}):?(\d{2})$", s)
    try:
        if m and re.search(r"\d:\d\d", m.group(1)):
            return datetime.fromisoformat(f"{m.group(1)}{m.group(2)}:{m.group(3)}").astimezone(tz)
    except ValueError:
        raise ValueError(date_error(value)[0]) from None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise ValueError(date_error(value)[0])


def date_error(value: str) -> tuple[str, str]:
    """``(message, hint)`` in Chinese for a date :func:`parse_date` refused: a day or month that does not exist
    (``2026 年 2 月没有 29 日`` and the last day of that month), an hour or minute out of range, or else the
    forms accepted."""
    m = _DATE_PARTS.match(unicodedata.normalize("NFKC", value).strip())
    if m:
        year, month, day = (int(x) for x in m.group(1, 2, 3))
        if not 1 <= month <= 12:
            return f"日期不存在：{year} 年没有 {month} 月", "月份应为 1–12，例如 2026-11-28"
        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            return (f"日期不存在：{year} 年 {month} 月没有 {day} 日",
                    f"{year} 年 {month} 月只有 {last} 天，请改成实际的日期，例如 {year}-{month:02d}-{last:02d}")
        hour, minute, second = (int(x or 0) for x in m.group(4, 5, 6))
        if hour > 23 or minute > 59 or second > 59:
            return f"时间不存在：{m.group(4)}:{m.group(5)}", "小时应为 0–23，分钟应为 0–59，例如 09:30"
    return f"日期格式无法识别：\"{value}\"", "应为 2026-11-28 或 2026-11-28 09:30"


@dataclass(frozen=True, slots=True)
class FrontMatter:
    """The typed front matter of one file. Text fields are stripped (``""`` when absent or not text); ``date``
    is ``None`` when missing or wrong; ``category``/``column`` are the sections named (``None`` when absent or
    unknown); ``slug`` the explicit ``slug:`` as written; ``extra`` the keys sitegen does not know."""

    title: str = ""
    date: datetime | None = None
    updated: datetime | None = None
    category: Section | None = None
    column: Section | None = None
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    summary: str = ""
    slug: str = ""
    author: str = ""
    source_name: str = ""
    editor: str = ""
    draft: bool = False
    headline: bool = False
    pinned: bool = False
    photos: tuple[PhotoRef, ...] = ()
    cover: PhotoRef | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Typed:
    """What :func:`read` returns: the :class:`FrontMatter`, the ``problems`` that stop the page (errors) or
    accompany it (warnings), and ``photo_problems``: errors about a photo path that the page is published
    without (``--strict`` fails on them)."""

    front: FrontMatter
    problems: tuple[Problem, ...]
    photo_problems: tuple[Problem, ...] = ()


class _Reader:
    """Reads typed values out of one front-matter mapping, collecting problems with their lines."""

    def __init__(self, fm: dict, lines: dict, rel: str, tz):
        self.fm, self.lines, self.rel, self.tz = dict(fm), dict(lines), rel, tz
        self.problems: list[Problem] = []
        self.photo_problems: list[Problem] = []

    def lower_keys(self) -> None:
        """Read ``Title:``/``DATE:`` as ``title``/``date`` (W108), unless the key is also written right."""
        for key in list(self.fm):
            low = key.lower()
            if key == low or low not in KNOWN_KEYS or low in self.fm:
                continue
            self.fm[low] = self.fm.pop(key)
            for path, line in list(self.lines.items()):
                if path[:1] == (key,):
                    self.lines[(low,) + path[1:]] = line
            self.add((low,), "W108", f"键“{key}”应写成小写“{low}”，已按 {low} 读取",
                     "front matter 的键区分大小写；Word、WPS 和手机输入法常把行首字母自动改成大写", "warning")

    def at(self, *keypath) -> int:
        """File line of a key path, else of its key, else 2 (the first line of the front matter)."""
        return self.lines.get(keypath, self.lines.get(keypath[:1], 2))

    def add(self, keypath: tuple, code: str, message: str, hint: str, severity: str = "error") -> None:
        self.problems.append(Problem(Location(self.rel, self.at(*keypath)), code, message, hint, severity))

    def text(self, key: str) -> str:
        value = self.fm.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.add((key,), "E111", f"{key} 应为一段文字", f"写成 {key}: 内容")
            return ""
        return value.strip()

    def boolean(self, key: str) -> bool:
        value = self.fm.get(key)
        if value is None:
            return False
        v = str(value).strip().lower()
        if v in ("true", "yes", "on", "是"):
            return True
        if v not in ("false", "no", "off", "否", ""):
            self.add((key,), "E112", f"{key} 应为 true 或 false，实际是“{value}”", f"写成 {key}: true")
        return False

    def date(self, key: str, required: bool) -> datetime | None:
        value = self.fm.get(key)
        if isinstance(value, str) and value.strip():
            try:
                return parse_date(value, self.tz)
            except ValueError:
                message, hint = date_error(value)
                self.add((key,), "E102", ("更新" if key == "updated" else "") + message, hint)
        elif required:
            self.add((key,), "E102", "缺少发布日期 date", "写 date: 2026-11-28 09:30")
        return None

    def items(self, key: str) -> list[tuple[str, int]]:
        """A list (or one string) of text items with their lines; other values are E111."""
        value = self.fm.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            return [(value, self.at(key))]
        if not isinstance(value, list):
            self.add((key,), "E111", f"{key} 应为列表", f"例如 {key}: [妇联改革, 美丽庭院]")
            return []
        out = []
        for i, v in enumerate(value):
            if isinstance(v, str):
                out.append((v, self.at(key, i)))
            else:
                self.add((key, i), "E111", f"{key} 的第 {i + 1} 项应为文字", f"例如 {key}: [妇联改革, 美丽庭院]")
        return out


def read(fm: dict, lines: dict, source: Source, config: Config, resolve: Callable[[str], str | None]) -> Typed:
    """Type the front matter ``fm`` of ``source`` (``lines``: key path → file line, from
    :func:`sitegen.yamlsafe.load`). ``resolve(src)`` gives a photo path's project-relative target (``None``
    when it leaves the project). Never raises for content problems: they are in the result (E102 dates, E110
    title, E111–E113 types, E120/E121 sections; W108–W110 slips read right)."""
    r = _Reader(fm, lines, source.rel, config.tz)
    r.lower_keys()
    title = r.text("title")
    if not title:
        r.add(("title",), "E110", "缺少标题 title", "在 front matter 中写 title: 标题")
    date = r.date("date", required=source.kind != "page")
    updated = r.date("updated", required=False)
    category, column = _sections(r, config, source.kind)
    photos, cover = _photos(r, resolve)
    front = FrontMatter(
        title=title, date=date, updated=updated, category=category, column=column, tags=_tags(r),
        aliases=tuple(dict.fromkeys(_split(r.items("aliases"), isinstance(r.fm.get("aliases"), str)))),
        summary=r.text("summary") or r.text("description"), slug=r.text("slug"),
        author=r.text("author"), source_name=r.text("source"), editor=r.text("editor"),
        draft=r.boolean("draft"), headline=r.boolean("headline"), pinned=r.boolean("pinned"),
        photos=photos, cover=cover, extra={k: v for k, v in r.fm.items() if k not in KNOWN_KEYS})
    return Typed(front, tuple(r.problems), tuple(r.photo_problems))


def _sections(r: _Reader, config: Config, kind: str) -> tuple[Section | None, Section | None]:
    category = None
    cat_text = r.text("category")
    choices = "可选：" + "、".join(s.name for s in config.categories)
    if cat_text:
        category = config.category(cat_text)
        if category is None and kind == "article":
            r.add(("category",), "E120", f"未知的栏目“{cat_text}”", did_you_mean(cat_text, config.categories) + choices)
    elif kind == "article":
        r.add(("category",), "E120", "缺少栏目 category", choices)
    column = None
    col_text = r.text("column")
    if col_text:
        column = config.column(col_text)
        if column is None:
            names = "、".join(s.name for s in config.columns) or "（site.yaml 中未设专栏）"
            r.add(("column",), "E121", f"未知的专栏“{col_text}”", did_you_mean(col_text, config.columns) + "可选：" + names)
    return category, column


def _photos(r: _Reader, resolve) -> tuple[tuple[PhotoRef, ...], PhotoRef | None]:
    photos = []
    raw = r.fm.get("photos")
    if raw is not None and not isinstance(raw, list):
        r.add(("photos",), "E113", "photos 应为列表", "例如 photos: [{src: a.jpg, caption: 说明, credit: 田野}]")
        raw = []
    for i, item in enumerate(raw or []):
        ref = _photo(r, item, ("photos", i), resolve)
        if ref:
            photos.append(ref)
    cover = _photo(r, r.fm["cover"], ("cover",), resolve) if r.fm.get("cover") else None
    return tuple(photos), cover


def _photo(r: _Reader, value, keypath: tuple, resolve) -> PhotoRef | None:
    line = r.at(*keypath)
    if isinstance(value, str):
        value = {"src": value}
    if not isinstance(value, dict) or not isinstance(value.get("src"), str) or not value["src"].strip():
        r.add(keypath, "E113", "图片项需要 src（图片路径）", "例如 - {src: photo.jpg, caption: 图片说明, credit: 田野}")
        return None
    src = value["src"].strip()
    target = resolve(src)
    if target is None:  # the page is published without this photo
        r.photo_problems.append(image_path_problem(r.rel, line, src))
    caption = value.get("caption") if isinstance(value.get("caption"), str) else ""
    credit = value.get("credit") if isinstance(value.get("credit"), str) else ""
    return PhotoRef(target, src, caption.strip(), re.sub(r"\s*摄$", "", credit.strip()), line)


MISSING_IMAGE = ("找不到图片文件：{shown}", "请检查文件名和路径（区分大小写），并确认图片已放进站点目录")
"""E301's message (``{shown}``: the path without ``content/``) and hint, the same from parsing and from the image
pipeline."""


def image_path_problem(rel: str, line: int, written: str) -> Problem:
    """E306 for an image path that leaves the project or names a file on the editor's own computer
    (``C:\\Users\\…``, ``file:///…``, as Typora and Word write them). Missing and broken files are reported by
    the image pipeline (E301–E305) at the same line."""
    if is_computer_path(written):
        return Problem(Location(rel, line), "E306", f"图片路径是编辑者电脑上的位置，网站上无法显示：{written}",
                       "把图片放到本文所在的文件夹（或 content/ 中），写相对路径，如 ![说明](图片文件名.jpg)")
    return Problem(Location(rel, line), "E306", f"图片路径离开了站点目录：{written}", "图片须放在 content/ 中，写相对路径")


def is_computer_path(written: str) -> bool:
    """Whether a path as written names a file on the editor's own computer: a Windows drive (``C:\\…``,
    ``D:/…``), a ``file:`` URL or a home folder (``/Users/…``, ``/home/…``, ``~/…``)."""
    return bool(re.match(r"^(?:[A-Za-z]:[\\/]|file:|~[\\/]|/Users/|/home/)", written.strip()))


def _split(items: list[tuple[str, int]], one_string: bool) -> list[str]:
    """The items of a list key as written (an old URL may hold a comma), or a one-string value split at commas,
    enumeration commas and semicolons."""
    if not one_string:
        return [v.strip() for v, _line in items if v.strip()]
    return [v for value, _line in items for v in _TAG_SEPARATORS.split(value.strip()) if v]


def _tags(r: _Reader) -> tuple[str, ...]:
    """Tags, one per list item; a one-string value and list items holding Chinese separators (``，、；``) are
    split with a warning (W109), quotes around a tag removed with a warning (W110)."""
    raw = r.fm.get("tags")
    tags = []
    for value, line in r.items("tags"):
        parts = [p for p in (_TAG_SEPARATORS if isinstance(raw, str) else _WIDE_SEPARATORS).split(value.strip()) if p]
        if len(parts) > 1:
            r.problems.append(Problem(Location(r.rel, line), "W109", f"“{value.strip()}”已拆成 {len(parts)} 个标签："
                                      + "、".join(parts), "标签请写成列表，用半角逗号分隔，如 tags: [妇联改革, 基层组织]",
                                      "warning"))
        for part in parts:
            inner = part[1:-1].strip() if len(part) > 2 and _QUOTES.get(part[0]) == part[-1] else part
            if inner != part:
                r.problems.append(Problem(Location(r.rel, line), "W110", f"标签 {part} 两边的引号已去掉",
                                          "标签不需要加引号；手机和 Word 会把直引号自动换成弯引号", "warning"))
            tags.append(inner)
    return tuple(dict.fromkeys(t for t in tags if t))


def did_you_mean(written: str, sections: tuple[Section, ...]) -> str:
    """``是不是“工作动态”？`` for the section whose name or slug is closest to ``written`` (a typo such as 工做动态,
    a shortened name such as 改革, a slug with a wrong letter), by :func:`difflib.get_close_matches` with ratio ≥
    0.5; ``""`` when none is close."""
    by_key = {}
    for section in sections:
        by_key.setdefault(section.name, section.name)
        by_key.setdefault(section.slug, section.name)
    best = difflib.get_close_matches(written.strip(), list(by_key), n=1, cutoff=0.5)
    return f"是不是“{by_key[best[0]]}”？" if best else ""


def slug_for(rel: str, front: FrontMatter, date: datetime, line: int) -> tuple[str, Problem | None]:
    """The slug of a page: its ``slug:`` (NFKC, punctuation to ``-``, lower case), else the ASCII or pinyin
    slug of the file name (the folder's name for a bundle's ``index.md``), else of the title, else
    ``YYYYMMDD-<hash of the path>`` with a warning W140 at ``line``."""
    if front.slug:
        slug = re.sub(r"[^\w-]+", "-", unicodedata.normalize("NFKC", front.slug)).strip("-").lower()
        if slug:
            return slug, None
    stem = posixpath.basename(posixpath.dirname(rel)) if rel.endswith("/index.md") else posixpath.basename(rel)[:-3]
    slug = slugify(stem) or slugify(front.title)
    if slug:
        return slug, None
    fallback = f"{date:%Y%m%d}-{hashlib.sha1(rel.encode()).hexdigest()[:6]}"
    return fallback, Problem(Location(rel, line), "W140", f"无法从文件名或标题生成网址，已使用 {fallback}",
                             "在 front matter 中写 slug: 英文或拼音", "warning")


__all__ = ["DATE_FORMATS", "KNOWN_KEYS", "FrontMatter", "Typed", "parse_date", "date_error", "read", "slug_for",
           "did_you_mean", "image_path_problem", "is_computer_path", "MISSING_IMAGE"]
