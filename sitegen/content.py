"""Content: scan ``content/``, read each Markdown file into an immutable :class:`Page`, assemble the :class:`Site`.

``parse_page`` is a pure function of the file's bytes and the config (Zola's ``parse`` vs ``from_file``);
``read_source`` is the thin wrapper that reads the file. Front matter follows Hugo/Jekyll names (README
"Front matter"). Every problem is a :class:`~sitegen.errors.Problem` with the file line; one bad file never stops
the others.
"""
from __future__ import annotations

import difflib
import hashlib
import logging
import os
import posixpath
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from sitegen import markup, yamlsafe
from sitegen.slugs import slugify, tag_slug
from sitegen.config import Config, Section
from sitegen.errors import ContentError, Location, Problem

log = logging.getLogger(__name__)

IGNORED_NAME = re.compile(r"^(\..*|.*~|#.*#|4913|.*\.(swp|swx|tmp|bak|part|crdownload)|Thumbs\.db|desktop\.ini)$",
                          re.I)
"""File names editors' tools leave behind (vim swap/backup, emacs locks, vim's ``4913`` probe, temp files)."""

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


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
class Source:
    """A Markdown file found by :func:`scan`: ``rel`` project-relative POSIX path, ``kind`` (``article``,
    ``page`` or ``gallery``), ``size`` in bytes and ``mtime`` in ns (cache keys)."""

    rel: str
    kind: str
    size: int = 0
    mtime: int = 0


@dataclass(frozen=True, slots=True)
class Page:
    """One published page (article, static page or gallery), immutable.

    ``date``/``updated`` are aware datetimes in the site's time zone. ``html`` is the sanitized body with
    ``sitegen-md:``/``sitegen-img:`` placeholders that the build resolves. ``links`` and ``images`` record
    ``(target rel, as written, file line)``. ``category``/``column`` are slugs. ``extra`` keeps front-matter keys
    sitegen does not know, for themes. ``slug_line`` is the line of an explicit ``slug:`` (0: the file name or
    title decided the slug); ``alias_lines`` the line of each entry of ``aliases``.
    """

    source: str
    kind: str
    url: str
    slug: str
    title: str
    date: datetime
    updated: datetime | None
    category: str
    column: str | None
    tags: tuple[str, ...]
    summary: str
    html: str
    text: str
    toc: tuple
    links: tuple
    images: tuple
    photos: tuple[PhotoRef, ...]
    cover: PhotoRef | None
    author: str = ""
    source_name: str = ""
    editor: str = ""
    draft: bool = False
    headline: bool = False
    pinned: bool = False
    aliases: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    digest: str = ""
    line: int = 1
    slug_line: int = 0
    alias_lines: tuple[int, ...] = ()

    @property
    def lastmod(self) -> datetime:
        """``updated`` if given, else ``date`` (sitemaps.org ``lastmod``)."""
        return self.updated or self.date


@dataclass(frozen=True, slots=True)
class Parsed:
    """What :func:`parse_page` returns: the page (``None`` when an error stopped it) and every problem found."""

    page: Page | None
    problems: tuple[Problem, ...]


# ---------------------------------------------------------------------------------------------------------------
# scanning and decoding


def scan(config: Config) -> list[Source]:
    """List the Markdown files under ``content/`` in a stable order, skipping hidden and editor temp files.

    ``content/pages/**`` are static pages, ``content/galleries/<name>/index.md`` galleries, every other ``.md`` an
    article (a folder with ``index.md`` is a page bundle).

    Skipped with a logged warning, so one odd entry never stops a build: a symbolic link that is broken, and one
    leading out of the project (its text would be published); folders are followed once (no loops)."""
    found: list[tuple[tuple[str, ...], int, int]] = []
    content = config.content_dir
    prefix = content.relative_to(config.root).as_posix()
    _walk(str(content), (), found, set(), str(config.root.resolve()) + os.sep, prefix)
    found.sort()  # the order of sorted(Path.rglob()): by path components
    out = []
    for rel_parts, size, mtime in found:
        if rel_parts[0] == "pages":
            kind = "page"
        elif rel_parts[0] == "galleries" and len(rel_parts) == 3 and rel_parts[2] == "index.md":
            kind = "gallery"
        elif rel_parts[0] == "galleries":
            continue
        else:
            kind = "article"
        out.append(Source(prefix + "/" + "/".join(rel_parts), kind, size, mtime))
    return out


def rescan(config: Config, sources: list[Source], changed) -> list[Source] | None:
    """:func:`scan` from the result of an earlier one, given the project-relative paths changed since
    (``changed``, as a file watcher reports them): only those files are looked at. ``None`` when the change may
    touch more than those files (a folder, a path outside the project), and the caller must scan."""
    content = config.content_dir.relative_to(config.root).as_posix() + "/"
    by_rel = {s.rel: s for s in sources}
    for rel in changed:
        if not isinstance(rel, str) or ".." in rel.split("/"):
            return None
        if not rel.startswith(content):
            continue  # not a content file (images, templates … are checked by their own stat or hash)
        parts = tuple(rel[len(content):].split("/"))
        path = config.root / rel
        if path.is_dir() or (not rel.endswith(".md") and not path.exists() and "." not in parts[-1]):
            return None  # a folder (or what may have been one) moved: scan everything
        if not rel.endswith(".md"):
            continue
        by_rel.pop(rel, None)
        if any(IGNORED_NAME.match(p) for p in parts) or (parts[0] == "galleries" and not (
                len(parts) == 3 and parts[2] == "index.md")):
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue  # deleted
        if not path.is_file():
            continue
        kind = "page" if parts[0] == "pages" else "gallery" if parts[0] == "galleries" else "article"
        by_rel[rel] = Source(rel, kind, st.st_size, st.st_mtime_ns)
    prefix = len(content)
    return sorted(by_rel.values(), key=lambda s: tuple(s.rel[prefix:].split("/")))


def _walk(path: str, parts: tuple[str, ...], found: list, seen: set, root: str, shown: str) -> None:
    """Collect ``(path components, size, mtime_ns)`` of every ``*.md`` file under ``path`` with ``os.scandir``
    (one ``stat`` per file, none per ignored name); symbolic links to folders are followed once, links that are
    broken or lead outside ``root`` (the resolved project folder, ending in a separator) are skipped with a
    warning naming them as ``shown/…``."""
    try:
        st = os.stat(path)
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return
        seen.add(key)
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if IGNORED_NAME.match(name):
            continue
        rel = "/".join((shown,) + parts + (name,))
        try:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not os.path.exists(target):
                    log.warning("%s: 是损坏的链接，已跳过（请删除它或改成普通文件）", rel)
                    continue
                if not (target + os.sep).startswith(root):
                    log.warning("%s: 链接指向站点目录之外，已跳过（文章须是站点目录中的普通文件）", rel)
                    continue
            if entry.is_dir():
                _walk(entry.path, parts + (name,), found, seen, root, shown)
            elif name.endswith(".md") and entry.is_file():
                st = entry.stat()
                found.append((parts + (name,), st.st_size, st.st_mtime_ns))
        except OSError:
            continue


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
    for m in _XML_ILLEGAL.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
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


# ---------------------------------------------------------------------------------------------------------------
# typing front matter

DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y/%m/%d", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")
KNOWN_KEYS = {"title", "date", "updated", "category", "column", "tags", "author", "source", "editor", "summary",
              "cover", "photos", "slug", "draft", "headline", "pinned", "aliases", "description", "weight"}


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


def _text(fm: dict, key: str, rel: str, lines: dict, problems: list) -> str:
    value = fm.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(Problem(Location(rel, lines.get((key,), 1)), "E111", f"{key} 应为一段文字",
                                f"写成 {key}: 内容"))
        return ""
    return value.strip()


def _bool(fm: dict, key: str, rel: str, lines: dict, problems: list) -> bool:
    value = fm.get(key)
    if value is None:
        return False
    v = str(value).strip().lower()
    if v in ("true", "yes", "on", "是"):
        return True
    if v in ("false", "no", "off", "否", ""):
        return False
    problems.append(Problem(Location(rel, lines.get((key,), 1)), "E112", f"{key} 应为 true 或 false，实际是“{value}”",
                            f"写成 {key}: true"))
    return False


def _strings(fm: dict, key: str, rel: str, lines: dict, problems: list) -> tuple[str, ...]:
    value = fm.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        items = re.split(r"\s*[,，、;；]\s*", value.strip())
    elif isinstance(value, list):
        items = []
        for i, v in enumerate(value):
            if isinstance(v, str):
                items.append(v)
            else:
                problems.append(Problem(Location(rel, lines.get((key, i), 1)), "E111", f"{key} 的第 {i + 1} 项应为文字",
                                        f"例如 {key}: [妇联改革, 美丽庭院]"))
    else:
        problems.append(Problem(Location(rel, lines.get((key,), 1)), "E111", f"{key} 应为列表",
                                f"例如 {key}: [妇联改革, 美丽庭院]"))
        return ()
    return tuple(dict.fromkeys(i.strip() for i in items if i and i.strip()))


def _image_problem(rel: str, line: int, written: str, target: str | None) -> Problem | None:
    """E306 for an image path leaving the project (the code :mod:`sitegen.images` uses), else ``None``. Missing
    and broken files are reported by the image pipeline (E301–E305) at the same line."""
    if target is None:
        return Problem(Location(rel, line), "E306", f"图片路径离开了站点目录：{written}",
                       "图片须放在 content/ 中，写相对路径")
    return None


def _photo(value, keypath, rel: str, lines: dict, problems: list, resolve,
           image_problems: list) -> PhotoRef | None:
    line = lines.get(keypath, 1)
    if isinstance(value, str):
        value = {"src": value}
    if not isinstance(value, dict) or not isinstance(value.get("src"), str) or not value["src"].strip():
        problems.append(Problem(Location(rel, line), "E113", "图片项需要 src（图片路径）",
                                "例如 - {src: photo.jpg, caption: 图片说明, credit: 田野}"))
        return None
    src = value["src"].strip()
    target = resolve(src)
    problem = _image_problem(rel, line, src, target)
    if problem:
        image_problems.append(problem)
        target = None  # the page is published without this photo
    caption = value.get("caption") if isinstance(value.get("caption"), str) else ""
    credit = value.get("credit") if isinstance(value.get("credit"), str) else ""
    credit = re.sub(r"\s*摄$", "", credit.strip())
    return PhotoRef(target, src, caption.strip(), credit, line)


def parse_page(source: Source, data: bytes, config: Config, exists=lambda rel: False) -> Parsed:
    """Parse one content file's bytes into a :class:`Page` (pure: ``exists(rel)`` only tells whether a
    project-relative file exists, for resolving image and link paths).

    Returns :class:`Parsed` with the page (``None`` when an error stops it) and every problem: codes E100–E1xx
    front matter, W1xx warnings; never raises for bad content."""
    rel = source.rel
    problems: list[Problem] = []
    try:
        text, warnings = decode(data, rel)
        problems.extend(warnings)
        fm_text, body, body_line = split_front_matter(text, rel)
        loaded = yamlsafe.load(fm_text, rel, first_line=2)
    except ContentError as exc:
        return Parsed(None, tuple(problems) + (exc.problem,))
    except yamlsafe.YamlProblem as exc:
        problem = exc.problem
        if problem.code == "E104" and yamlsafe.is_scalar(fm_text):
            # every key written with "：" — the block is one string, not a mapping (case B06 fullwidth-all)
            problem = Problem(Location(rel, problem.location.line), "E100", "front matter 不是“键: 值”的形式",
                              f"{problem.message}，{problem.hint}")
        return Parsed(None, tuple(problems) + (problem,))
    problems.extend(loaded.warnings)
    fm, lines = loaded.value, loaded.lines
    if fm is None:
        fm = {}
    if not isinstance(fm, dict):
        problems.append(Problem(Location(rel, 2), "E100", "front matter 不是“键: 值”的形式",
                                "每行写一项，如 title: 标题（注意用半角冒号加空格）"))
        return Parsed(None, tuple(problems))

    def at(key):
        return lines.get((key,), 1)

    title = _text(fm, "title", rel, lines, problems)
    if not title:
        problems.append(Problem(Location(rel, at("title") if "title" in fm else 2), "E110", "缺少标题 title",
                                "在 front matter 中写 title: 标题"))
    tz = config.tz
    date = None
    date_text = fm.get("date")
    if isinstance(date_text, str) and date_text.strip():
        try:
            date = parse_date(date_text, tz)
        except ValueError:
            problems.append(Problem(Location(rel, at("date")), "E102", f"日期格式无法识别：\"{date_text}\"",
                                    "应为 2026-11-28 或 2026-11-28 09:30"))
    elif source.kind != "page":
        problems.append(Problem(Location(rel, at("date") if "date" in fm else 2), "E102", "缺少发布日期 date",
                                "写 date: 2026-11-28 09:30"))
    updated = None
    if isinstance(fm.get("updated"), str) and fm["updated"].strip():
        try:
            updated = parse_date(fm["updated"], tz)
        except ValueError:
            problems.append(Problem(Location(rel, at("updated")), "E102", f"更新日期格式无法识别：\"{fm['updated']}\"",
                                    "应为 2026-11-28 或 2026-11-28 09:30"))
    if date is None:
        date = datetime(1970, 1, 1, tzinfo=tz)

    category: Section | None = None
    cat_text = _text(fm, "category", rel, lines, problems)
    if source.kind == "article":
        if not cat_text:
            problems.append(Problem(Location(rel, at("category") if "category" in fm else 2), "E120",
                                    "缺少栏目 category", "可选：" + "、".join(s.name for s in config.categories)))
        else:
            category = config.category(cat_text)
            if category is None:
                problems.append(Problem(Location(rel, at("category")), "E120", f"未知的栏目“{cat_text}”",
                                        _did_you_mean(cat_text, config.categories)
                                        + "可选：" + "、".join(s.name for s in config.categories)))
    elif cat_text:
        category = config.category(cat_text)
    column = None
    col_text = _text(fm, "column", rel, lines, problems)
    if col_text:
        column = config.column(col_text)
        if column is None:
            choices = "、".join(s.name for s in config.columns) or "（site.yaml 中未设专栏）"
            problems.append(Problem(Location(rel, at("column")), "E121", f"未知的专栏“{col_text}”",
                                    _did_you_mean(col_text, config.columns) + "可选：" + choices))

    def resolve(src: str) -> str | None:
        ctx = markup._Context("", rel, 1, exists)
        return ctx.resolve(src)

    # an image path leaving the project is an error (--strict fails) but the page is still published without it
    image_problems: list[Problem] = []
    photos = []
    raw_photos = fm.get("photos")
    if raw_photos is not None and not isinstance(raw_photos, list):
        problems.append(Problem(Location(rel, at("photos")), "E113", "photos 应为列表",
                                "例如 photos: [{src: a.jpg, caption: 说明, credit: 田野}]"))
        raw_photos = []
    for i, item in enumerate(raw_photos or []):
        ref = _photo(item, ("photos", i), rel, lines, problems, resolve, image_problems)
        if ref:
            photos.append(ref)
    cover = (_photo(fm["cover"], ("cover",), rel, lines, problems, resolve, image_problems)
             if fm.get("cover") else None)

    rendered = markup.render_markdown(body, source=rel, first_line=body_line, exists=exists,
                                      trust_html=config.trust_html)
    for target, written, line in rendered.images:
        problem = _image_problem(rel, line, written, target)
        if problem:
            image_problems.append(problem)
    summary = _text(fm, "summary", rel, lines, problems) or _text(fm, "description", rel, lines, problems)
    summary = summary or markup.summarize(rendered.lead, config.summary_length)

    explicit_slug = _text(fm, "slug", rel, lines, problems)
    slug = _slug_for(rel, explicit_slug, title, date, problems, at("slug"))
    tags = _strings(fm, "tags", rel, lines, problems)
    aliases = _strings(fm, "aliases", rel, lines, problems)
    extra = {k: v for k, v in fm.items() if k not in KNOWN_KEYS}
    author, source_name, editor = (_text(fm, k, rel, lines, problems) for k in ("author", "source", "editor"))
    draft, headline, pinned = (_bool(fm, k, rel, lines, problems) for k in ("draft", "headline", "pinned"))
    if any(p.severity == "error" for p in problems):
        return Parsed(None, tuple(problems + image_problems))
    problems.extend(image_problems)
    url = permalink(config, source.kind, slug, date, category, column)
    page = Page(
        source=rel, kind=source.kind, url=url, slug=slug, title=title, date=date, updated=updated,
        category=category.slug if category else "", column=column.slug if column else None, tags=tags,
        summary=summary, html=rendered.html, text=rendered.text, toc=rendered.toc, links=rendered.links,
        images=rendered.images, photos=tuple(photos), cover=cover,
        author=author, source_name=source_name, editor=editor, draft=draft, headline=headline, pinned=pinned,
        aliases=tuple(a if a.startswith("/") else "/" + a for a in aliases), extra=extra,
        digest=hashlib.sha256(data).hexdigest()[:16], line=1,
        slug_line=at("slug") if explicit_slug else 0, alias_lines=_item_lines(fm, "aliases", aliases, lines),
    )
    return Parsed(page, tuple(problems))


def _item_lines(fm: dict, key: str, items: tuple[str, ...], lines: dict) -> tuple[int, ...]:
    """The line of each of ``items`` (as :func:`_strings` returned them) in the list at ``key``."""
    value = fm.get(key)
    written = [v.strip() if isinstance(v, str) else None for v in value] if isinstance(value, list) else []
    return tuple(lines.get((key, written.index(item)), lines.get((key,), 1)) if item in written
                 else lines.get((key,), 1) for item in items)


def _slug_for(rel: str, explicit: str, title: str, date: datetime, problems: list, line: int) -> str:
    if explicit:
        slug = re.sub(r"[^\w-]+", "-", unicodedata.normalize("NFKC", explicit)).strip("-").lower()
        if slug:
            return slug
    stem = posixpath.basename(posixpath.dirname(rel)) if rel.endswith("/index.md") else posixpath.basename(rel)[:-3]
    slug = slugify(stem) or slugify(title)
    if slug:
        return slug
    fallback = f"{date:%Y%m%d}-{hashlib.sha1(rel.encode()).hexdigest()[:6]}"
    problems.append(Problem(Location(rel, line), "W140", f"无法从文件名或标题生成网址，已使用 {fallback}",
                            "在 front matter 中写 slug: 英文或拼音", "warning"))
    return fallback


def permalink(config: Config, kind: str, slug: str, date: datetime, category: Section | None,
              column: Section | None) -> str:
    """The site-relative URL (starting and ending with ``/``, without the base path) of a page of ``kind``
    from the ``permalinks`` pattern; ``{year}``/``{month}``/``{day}`` are the local date in the site's time zone."""
    pattern = config.permalink(kind)
    local = date.astimezone(config.tz)
    values = {"slug": slug, "year": f"{local:%Y}", "month": f"{local:%m}", "day": f"{local:%d}",
              "category": category.slug if category else "page",
              "column": column.slug if column else (category.slug if category else "page")}
    return re.sub(r"/+", "/", pattern.format(**values))


def _did_you_mean(written: str, sections: tuple[Section, ...]) -> str:
    """``是不是“工作动态”？`` for the section whose name or slug is closest to ``written`` (a typo such as 工做动态,
    a shortened name such as 改革, a slug with a wrong letter), by :func:`difflib.get_close_matches` with ratio ≥
    0.5; ``""`` when none is close."""
    by_key = {}
    for section in sections:
        by_key.setdefault(section.name, section.name)
        by_key.setdefault(section.slug, section.name)
    best = difflib.get_close_matches(written.strip(), list(by_key), n=1, cutoff=0.5)
    return f"是不是“{by_key[best[0]]}”？" if best else ""


def read_source(config: Config, source: Source) -> Parsed:
    """Read ``source`` from disk and :func:`parse_page` it. Raises nothing for content problems."""
    data = (config.root / source.rel).read_bytes()
    return parse_page(source, data, config, exists=lambda rel: (config.root / rel).is_file())


# ---------------------------------------------------------------------------------------------------------------
# the assembled site


def sort_key(page: Page):
    """Listing order: pinned first, then newest first, then by URL (deterministic)."""
    return (not page.pinned, -page.date.timestamp(), page.url)


@dataclass(frozen=True)
class Site:
    """The assembled site: the config, the published pages, and read-only indexes.

    ``articles`` newest first (pinned first in listings); ``by_category``/``by_column``/``by_tag`` map a slug to
    the listing order; ``tags`` maps tag slug → tag name; ``months`` maps ``(year, month)`` → articles;
    ``neighbours`` maps URL → (previous, next) within the category (older, newer); ``related`` URL → pages sharing
    tags; ``by_source`` project-relative path → page."""

    config: Config
    articles: tuple[Page, ...]
    pages: tuple[Page, ...]
    galleries: tuple[Page, ...]
    by_category: Mapping[str, tuple[Page, ...]]
    by_column: Mapping[str, tuple[Page, ...]]
    by_tag: Mapping[str, tuple[Page, ...]]
    tags: Mapping[str, str]
    months: Mapping[tuple[int, int], tuple[Page, ...]]
    neighbours: Mapping[str, tuple[Page | None, Page | None]]
    related: Mapping[str, tuple[Page, ...]]
    by_source: Mapping[str, Page]

    @property
    def all_pages(self) -> tuple[Page, ...]:
        """Articles, static pages and galleries."""
        return self.articles + self.pages + self.galleries

    def tag_slug(self, name: str) -> str:
        """The URL slug of tag ``name``."""
        return tag_slug(name)

    def section(self, slug: str) -> Section | None:
        """The category or column with this slug."""
        return self.config.category(slug) or self.config.column(slug)


def select(pages, *, now: datetime, drafts: bool, future: bool) -> tuple[list[Page], list[Problem]]:
    """Drop drafts (unless ``drafts``) and pages dated after ``now`` (unless ``future``); report each future page
    as a warning W130 "scheduled for …"."""
    kept, notes = [], []
    for p in pages:
        if p.draft and not drafts:
            continue
        if p.date > now and not future:
            offset = f"{p.date:%z}"
            when = f"{p.date:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"
            notes.append(Problem(Location(p.source, 1), "W130", f"定时发布（scheduled for {when}），本次未发布",
                                 "到时间后重新构建即可发布；预览用 --future", "warning"))
            continue
        kept.append(p)
    return kept, notes


def assemble(pages, config: Config) -> tuple[Site, list[Problem]]:
    """Build the indexes of the site from parsed pages whose URLs the plan admitted
    (:func:`sitegen.build.plan.admit`). Returns the :class:`Site` and the problems found across pages: links to
    ``.md`` files that are not published pages (E201)."""
    problems: list[Problem] = []
    kept = sorted(pages, key=lambda p: p.source)
    stamp = {p.url: p.date.timestamp() for p in kept}  # one timestamp per page, not one per comparison
    articles = tuple(sorted((p for p in kept if p.kind == "article"), key=lambda p: (-stamp[p.url], p.url)))
    statics = tuple(sorted((p for p in kept if p.kind == "page"), key=lambda p: p.url))
    galleries = tuple(sorted((p for p in kept if p.kind == "gallery"), key=lambda p: (-stamp[p.url], p.url)))
    # sort_key (pinned first, newest, URL) as a rank: articles are already newest first, then by URL
    rank = {a.url: (not a.pinned, i) for i, a in enumerate(articles)}
    listed = rank.__getitem__

    def group(key_fn):
        out: dict = {}
        for a in articles:
            for k in key_fn(a):
                out.setdefault(k, []).append(a)
        return {k: tuple(sorted(v, key=lambda p: listed(p.url))) for k, v in out.items()}

    by_category = group(lambda a: [a.category])
    by_column = group(lambda a: [a.column] if a.column else [])
    tags: dict[str, str] = {}
    for a in articles:
        for t in a.tags:
            tags.setdefault(tag_slug(t), t)
    by_tag = group(lambda a: dict.fromkeys(tag_slug(t) for t in a.tags))
    months: dict = {}
    tz = config.tz
    for a in articles:
        local = a.date.astimezone(tz)
        months.setdefault((local.year, local.month), []).append(a)
    neighbours = {}
    for cat, items in by_category.items():
        chrono = sorted(items, key=lambda p: (stamp[p.url], p.url))
        for i, a in enumerate(chrono):
            neighbours[a.url] = (chrono[i - 1] if i > 0 else None, chrono[i + 1] if i + 1 < len(chrono) else None)
    related = _related(articles, by_tag)
    by_source = {p.source: p for p in kept}
    for p in kept:
        for target, written, line in p.links:
            if target is None or target not in by_source:
                problems.append(Problem(Location(p.source, line), "E201", f"链接的文章不存在或未发布：{written}",
                                        "检查文件路径（相对于本文件）"))
    site = Site(config, articles, statics, galleries, by_category, by_column, by_tag, tags,
                {k: tuple(sorted(v, key=lambda p: listed(p.url))) for k, v in sorted(months.items(), reverse=True)},
                neighbours, related, by_source)
    return site, problems


def _related(articles, by_tag) -> dict:
    """URL → up to 5 other articles sharing most tags with it, then newest, then by URL.

    Linear in practice: candidates sharing two or more tags come from set intersections, the rest from a lazy
    merge of the tag lists in date order that stops after 5 (a quadratic scan took a minute at 10,000 articles)."""
    import heapq
    from collections import Counter
    from itertools import combinations

    pages = {p.url: p for items in by_tag.values() for p in items}
    # articles are newest first, then by URL: their index is the (-date, url) order
    order = {a.url: i for i, a in enumerate(articles)}
    by_order = [a.url for a in articles]
    big = len(articles) + 1
    keys = {url: order[url] for url in pages}
    ordered = {t: sorted((p.url for p in items), key=keys.__getitem__) for t, items in by_tag.items()}
    members = {t: set(urls) for t, urls in ordered.items()}
    common: dict[tuple[str, str], set] = {}  # each pair of tags intersected once, not once per article
    related = {}
    for a in articles:
        tags = list(dict.fromkeys(tag_slug(t) for t in a.tags))
        best: list[str] = []
        # an article in s of the tags lies in s*(s-1)/2 pairwise intersections: that count orders like s
        pairs: Counter = Counter()
        for t1, t2 in combinations(tags, 2):
            pair = (t1, t2) if t1 < t2 else (t2, t1)
            shared = common.get(pair)
            if shared is None:
                shared = common[pair] = members[t1] & members[t2]
            pairs.update(shared)
        pairs.pop(a.url, None)
        if pairs:  # most shared pairs first, then newest: one integer per candidate, the five smallest
            best = [by_order[k % big] for k in heapq.nsmallest(5, [order[u] - n * big for u, n in pairs.items()])]
        if len(best) < 5 and tags:
            chosen = set(best)
            chosen.add(a.url)
            for url in heapq.merge(*(ordered[t] for t in tags), key=keys.__getitem__):
                if url not in chosen:
                    chosen.add(url)
                    best.append(url)
                    if len(best) == 5:
                        break
        related[a.url] = tuple(pages[u] for u in best)
    return related


__all__ = ["Source", "Page", "PhotoRef", "Parsed", "Site", "scan", "decode", "split_front_matter", "parse_date",
           "slugify", "tag_slug", "parse_page", "read_source", "rescan", "permalink", "select", "assemble",
           "sort_key", "IGNORED_NAME"]
