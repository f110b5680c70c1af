"""Front matter: a content file's bytes decoded (:func:`decode`), its front matter split from the body
(:func:`split_front_matter`), and the YAML mapping of the file (every value still the text written, see
:mod:`sitegen.yamlsafe`) read into the typed :class:`Fields` of a page, with a problem at the file line of each value
that is missing, wrong or suspicious.

Names follow Hugo and Jekyll (README, "Content"). What editors paste gets a hint, not silence: dates that do not
parse (E102) and an ``updated`` before ``date`` (W102, ``updated`` ignored); text that is no text (E111); booleans
(E112); photos without ``src`` (E113); a ``weight`` that is no integer within ±1,000,000 (E114); more tags than
``limits.tags_warning`` (W116); bidi overrides and zero-width characters in a title, slug, tag or name (removed,
W101, as control characters are from the whole file); an explicit slug that mixes scripts, such as ``раураl`` for
``paypal`` (W141, Unicode's UTS #39).
"""
from __future__ import annotations

import difflib
import hashlib
import posixpath
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from sitegen.config import Config, Limits, Section
from sitegen.errors import ContentError, Location, Problem
from sitegen.slugs import slugify
from sitegen.unicodes import describe, mixed_scripts, script_names, strip_invisible

DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y/%m/%d", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")
KNOWN_KEYS = {"title", "date", "updated", "category", "column", "tags", "author", "source", "editor", "summary",
              "cover", "photos", "slug", "draft", "headline", "pinned", "aliases", "description", "weight"}
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
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
    line of each entry of ``aliases``."""

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

    def at(self, *keypath) -> int:
        """The file line of ``keypath``, else of the front matter's first line (2)."""
        return self.lines.get(keypath, 2)

    def add(self, keypath: tuple, code: str, message: str, hint: str, severity: str = "error") -> None:
        """Record a problem at ``keypath``'s line."""
        self.problems.append(Problem(Location(self.rel, self.at(*keypath)), code, message, hint, severity))

    def clean(self, text: str, keypath: tuple) -> str:
        """``text`` without invisible characters, each removed one reported as W101 at ``keypath``'s line."""
        text, removed = strip_invisible(text)
        for ch in removed:
            self.add(keypath, "W101", f"删除了不可见的控制字符 {describe(ch)}",
                     "通常来自网页或微信复制；这类字符会颠倒或隐藏读者看到的文字", "warning")
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

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of texts at ``key`` (one string is split at ``,，、;；``), stripped, cleaned, without duplicates;
        E111 for an item or a value that is no text or list."""
        value = self.fm.get(key)
        if value is None:
            return ()
        items: list[tuple[str, tuple]] = []
        if isinstance(value, str):
            items = [(v, (key,)) for v in re.split(r"\s*[,，、;；]\s*", value.strip())]
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, str):
                    items.append((v, (key, i)))
                else:
                    self.add((key, i), "E111", f"{key} 的第 {i + 1} 项应为文字", f"例如 {key}: [妇联改革, 美丽庭院]")
        else:
            self.add((key,), "E111", f"{key} 应为列表", f"例如 {key}: [妇联改革, 美丽庭院]")
        return tuple(dict.fromkeys(c for c in (self.clean(v, kp).strip() for v, kp in items) if c))

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

    def date(self, key: str, tz, label: str) -> datetime | None:
        """The date at ``key`` (see :func:`parse_date`), ``None`` when missing or wrong (E102)."""
        value = self.fm.get(key)
        if not isinstance(value, str) or not value.strip():
            return None
        try:
            return parse_date(value, tz)
        except ValueError:
            self.add((key,), "E102", f"{label}格式无法识别：\"{value[:40]}\"", "应为 2026-11-28 或 2026-11-28 09:30")
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
        target = self.resolve(src)
        problem = image_problem(self.rel, line, src, target)
        if problem:
            self.image_problems.append(problem)
        caption = value.get("caption") if isinstance(value.get("caption"), str) else ""
        credit = value.get("credit") if isinstance(value.get("credit"), str) else ""
        return PhotoRef(target, src, caption.strip(), re.sub(r"\s*摄$", "", credit.strip()), line)


def decode(data: bytes, rel: str) -> tuple[str, list[Problem]]:
    """Bytes of a content file → text with LF line ends, a leading UTF-8 BOM removed, GBK/GB18030 files decoded
    (with a warning), and characters XML 1.0 forbids removed (with a warning naming each, case B21).

    Raises :class:`ContentError` (E100) when the bytes are neither UTF-8 nor GB18030."""
    problems: list[Problem] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            line = data[: exc.start].count(b"\n") + 1
            raise ContentError(Problem(Location(rel, line), "E100", "文件编码无法识别（不是 UTF-8，也不是 GBK）",
                                       "请用 UTF-8 编码另存此文件")) from None
        problems.append(Problem(Location(rel, 1), "W100", "文件是 GBK/GB18030 编码，已自动转换",
                                "建议在编辑器中另存为 UTF-8", "warning"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    line, pos, seen = 1, 0, set()
    for m in _XML_ILLEGAL.finditer(text):  # lines counted as the matches go: linear in the file
        line += text.count("\n", pos, m.start())
        pos = m.start()
        if len(seen) < 20 and (line, m.group()) not in seen:
            seen.add((line, m.group()))
            problems.append(Problem(Location(rel, line), "W101", f"删除了不可见的控制字符 U+{ord(m.group()):04X}",
                                    "通常来自 Word 或微信复制，可忽略", "warning"))
    return _XML_ILLEGAL.sub("", text), problems


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


def image_problem(rel: str, line: int, written: str, target: str | None) -> Problem | None:
    """E306 for an image path leaving the project (the code :mod:`sitegen.images` uses), else ``None``. Missing
    and broken files are reported by the image pipeline (E301–E305) at the same line."""
    if target is None:
        return Problem(Location(rel, line), "E306", f"图片路径离开了站点目录：{written}",
                       "图片须放在 content/ 中，写相对路径")
    return None


def parse_date(value: str, tz) -> datetime:
    """Parse a front-matter date: ``2026-11-28``, ``2026-11-28 09:30``, with seconds, ``T`` separator, and an
    optional offset (``+08:00``, ``Z``). A naive time is in ``tz`` (the site's time zone). Raises ``ValueError``."""
    s = value.strip().replace("T", " ", 1)
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    m = re.match(r"^(.*?\d)\s*([+-]\d{2}):?(\d{2})$", s)
    if m and re.search(r"\d:\d\d", m.group(1)):
        d = datetime.fromisoformat(f"{m.group(1)}{m.group(2)}:{m.group(3)}")
        return d.astimezone(tz)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise ValueError(value)


def read_fields(r: Reader, config: Config, kind: str) -> Fields:
    """The :class:`Fields` of ``r``'s front matter for a page of ``kind`` (``article``, ``page``, ``gallery``);
    problems go to ``r.problems`` and ``r.image_problems``."""
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
    tags = r.strings("tags")
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
        alias_lines=item_lines(r, "aliases", aliases))


def item_lines(r: Reader, key: str, items: tuple[str, ...]) -> tuple[int, ...]:
    """The file line of each of ``items`` (as :meth:`Reader.strings` returned them) in the list at ``key``."""
    value = r.fm.get(key)
    written = [v.strip() if isinstance(v, str) else None for v in value] if isinstance(value, list) else []
    return tuple(r.at(key, written.index(item)) if item in written else r.at(key) for item in items)


def _dates(r: Reader, config: Config, kind: str) -> tuple[datetime, datetime | None]:
    """``date`` (required except for static pages: E102) and ``updated`` (W102 and ignored when before ``date``)."""
    tz = config.tz
    date = r.date("date", tz, "日期")
    written = r.fm.get("date")
    if not (isinstance(written, str) and written.strip()) and kind != "page":
        r.add(("date",), "E102", "缺少发布日期 date", "写 date: 2026-11-28 09:30")
    updated = r.date("updated", tz, "更新日期")
    if date and updated and updated < date:
        r.add(("updated",), "W102", f"更新日期 {updated:%Y-%m-%d %H:%M} 早于发布日期 {date:%Y-%m-%d %H:%M}，已忽略",
              "updated 应写最后修改的时间，不早于 date；不需要时删掉这一行", "warning")
        updated = None
    return date or datetime(1970, 1, 1, tzinfo=tz), updated


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


__all__ = ["Fields", "PhotoRef", "Reader", "read_fields", "parse_date", "image_problem", "size_problem", "decode", "split_front_matter",
           "DATE_FORMATS",
           "KNOWN_KEYS", "WEIGHT_RANGE"]
