"""Content: scan ``content/`` and read each Markdown file into an immutable :class:`~sitegen.pages.Page`.

``parse_page`` is a pure function of the file's bytes and the config (Zola's ``parse`` vs ``from_file``);
``read_source`` is the thin wrapper that reads the file. The steps have their own modules: :mod:`sitegen.sourcetext`
(bytes to the text the editor sees, front matter split off), :mod:`sitegen.yamlsafe` (YAML as written),
:mod:`sitegen.frontmatter` (typed front matter), :mod:`sitegen.markup` (the body). Every problem is a
:class:`~sitegen.errors.Problem` with the file line of its cause, all of a file in one run: a file whose front
matter has errors is not published, but its body is still checked (links, photos, attachments) as far as the file
could be read. One bad file never stops the others. The model (:mod:`sitegen.pages`) and the assembled site
(:mod:`sitegen.site`) are re-exported here.
"""
from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from sitegen import attachments, frontmatter, markup, yamlsafe
from sitegen.attachments import Attachment
from sitegen.config import Config, Section
from sitegen.errors import ContentError, Location, Problem
from sitegen.frontmatter import DATE_FORMATS, KNOWN_KEYS, parse_date
from sitegen.pages import Page, Parsed, PhotoRef, Source
from sitegen.site import Site, assemble, generated_urls, select, sort_key
from sitegen.slugs import slugify, tag_slug
from sitegen.sourcetext import decode, repair_front_matter, split_front_matter

log = logging.getLogger(__name__)

IGNORED_NAME = re.compile(r"^(\..*|.*~|#.*#|4913|.*\.(swp|swx|tmp|bak|part|crdownload)|Thumbs\.db|desktop\.ini)$",
                          re.I)
"""File names editors' tools leave behind (vim swap/backup, emacs locks, vim's ``4913`` probe, temp files)."""

ARTICLE_PLACEHOLDER = "在这里写正文。"
GALLERY_PLACEHOLDER = "在这里写图集的简短介绍。"
"""The placeholder sentences of ``sitegen new``'s skeletons: a page whose text still holds one is reported (W204,
an error under ``build --strict``: an unedited skeleton is never published by CI)."""


# ---------------------------------------------------------------------------------------------------------------
# scanning


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


# ---------------------------------------------------------------------------------------------------------------
# parsing


@dataclass
class _Doc:
    """One file being parsed: its source, the config, the file-exists question, the digest of its bytes and the
    problems found so far (``ref_problems``: errors about photos and attachments the page is published without;
    ``--strict`` still fails on them)."""

    source: Source
    config: Config
    exists: object
    digest: str = ""
    problems: list = field(default_factory=list)
    ref_problems: list = field(default_factory=list)

    @property
    def rel(self) -> str:
        return self.source.rel

    def add(self, line: int, code: str, message: str, hint: str, severity: str = "error") -> None:
        self.problems.append(Problem(Location(self.rel, line), code, message, hint, severity))

    def add_ref(self, line: int, code: str, message: str, hint: str) -> None:
        """An error about a reference (photo, attachment) the page is published without."""
        self.ref_problems.append(Problem(Location(self.rel, line), code, message, hint))


def parse_page(source: Source, data: bytes, config: Config, exists=lambda rel: False) -> Parsed:
    """Parse one content file's bytes into a :class:`Page` (pure: ``exists(rel)`` only tells whether a
    project-relative file exists, for resolving image, link and attachment paths).

    Returns :class:`Parsed` with the page (``None`` when an error stops it) and every problem: E1xx front matter,
    E2xx body (links, attachments), E306 paths, W1xx–W3xx slips read right; never raises for bad content."""
    doc = _Doc(source, config, exists, hashlib.sha256(data).hexdigest()[:16])
    try:
        text, warnings = decode(data, source.rel)
    except ContentError as exc:
        return Parsed(None, (exc.problem,))
    doc.problems += warnings
    try:
        fm_text, body, body_line = split_front_matter(text, source.rel)
    except ContentError as exc:
        doc.problems.append(exc.problem)
        if not text.startswith("---"):  # no front matter at all: the whole file is the body
            _check_failed_body(doc, _render(doc, text, 1), ())
        return Parsed(None, tuple(doc.problems))
    fm, lines = _front_matter(doc, fm_text)
    typed = frontmatter.read(fm, lines, source, config, _resolver(doc)) if fm is not None else None
    photos = ()
    if typed is not None:
        doc.problems += typed.problems
        doc.ref_problems += typed.photo_problems
        photos = ((typed.front.cover,) if typed.front.cover else ()) + typed.front.photos
    rendered = _render(doc, body, body_line)
    files = _check_body(doc, rendered, body, body_line)
    _case_warnings(doc, [(p.rel, p.src, p.line) for p in photos])
    if typed is None or any(p.severity == "error" for p in doc.problems):
        _check_failed_body(doc, rendered, photos)
        return Parsed(None, tuple(doc.problems + doc.ref_problems))
    return Parsed(_page(doc, typed.front, lines, rendered, files), tuple(doc.problems + doc.ref_problems))


def _front_matter(doc: _Doc, fm_text: str) -> tuple[dict | None, dict]:
    """The front matter mapping and its lines, as far as it could be read (``None`` when it could not: its
    problems are in ``doc``)."""
    fm_text, repairs = repair_front_matter(fm_text, doc.rel, 2)
    doc.problems += repairs
    try:
        loaded = yamlsafe.load(fm_text, doc.rel, first_line=2)
    except yamlsafe.YamlProblem as exc:
        found = list(exc.problems)
        if exc.problem.code == "E104" and yamlsafe.is_scalar(fm_text):
            # every key written with "：" — the block is one string, not a mapping (case B06 fullwidth-all)
            found[0] = Problem(Location(doc.rel, exc.problem.location.line), "E100", "front matter 不是“键: 值”的形式",
                               f"{exc.problem.message}，{exc.problem.hint}")
        doc.problems += found
        loaded = exc.partial
        if loaded is None:
            return None, {}
    doc.problems += loaded.warnings
    value = {} if loaded.value is None else loaded.value
    if not isinstance(value, dict):
        doc.add(2, "E100", "front matter 不是“键: 值”的形式", "每行写一项，如 title: 标题（注意用半角冒号加空格）")
        return None, {}
    return value, loaded.lines


def _resolver(doc: _Doc):
    return lambda src: markup.resolve_path(src, doc.rel, doc.exists)


def _render(doc: _Doc, body: str, body_line: int) -> markup.Rendered:
    return markup.render_markdown(body, source=doc.rel, first_line=body_line, exists=doc.exists,
                                  trust_html=doc.config.trust_html,
                                  attachments=frozenset(doc.config.attachments.extensions))


def _check_body(doc: _Doc, rendered: markup.Rendered, body: str, body_line: int) -> list:
    """Problems of the body every page gets checked for: image paths leaving the project or on the editor's
    computer (E306), attachments missing (E203) or outside ``content/`` (E204), names whose letter case differs
    from the file's (W303), an unedited skeleton (W204). Returns the attachment links as ``(target or None,
    line)`` in the order of their ``sitegen-file:N`` placeholders (``None``: not published)."""
    for target, written, line in rendered.images:
        if target is None:
            doc.ref_problems.append(frontmatter.image_path_problem(doc.rel, line, written))
    for written, line, kind in rendered.computer_paths:
        if kind == "image":
            doc.ref_problems.append(frontmatter.image_path_problem(doc.rel, line, written))
        else:
            doc.add_ref(line, "E204", f"附件路径是编辑者电脑上的位置，网站上无法下载：{written}",
                        "把附件放到本文所在的文件夹，链接写文件名，如 [报名表](报名表.docx)")
    files = [_attachment_target(doc, *f) for f in rendered.files]
    _case_warnings(doc, list(rendered.images) + [f for f, ok in zip(rendered.files, files) if ok[0]])
    for placeholder in (ARTICLE_PLACEHOLDER, GALLERY_PLACEHOLDER):
        at = body.find(placeholder)
        if at >= 0:
            doc.add(body_line + body.count("\n", 0, at), "W204", f"正文里还是占位文字“{placeholder}”",
                    "请写上正文，或在写完之前加上 draft: true", "warning")
    return files


def _attachment_target(doc: _Doc, target: str | None, written: str, line: int) -> tuple[str | None, int]:
    if target is None or not target.startswith("content/"):
        doc.add_ref(line, "E204", f"附件路径指向 content/ 之外：{written}", "附件须放在 content/ 中（最好在本文旁边），写相对路径")
        return None, line
    if not doc.exists(target):
        doc.add_ref(line, "E203", f"附件文件不存在：{written}",
                    "检查文件名（包括扩展名）；附件应放在本文所在的文件夹中，与 .md 文件在一起")
        return None, line
    return target, line


def _case_warnings(doc: _Doc, refs) -> None:
    """W303 for each image or attachment whose file name, as written, differs from the file's in letter case."""
    from urllib.parse import unquote

    for target, written, line in refs:
        name = posixpath.basename(unquote(written.partition("#")[0].partition("?")[0]).replace("\\", "/"))
        if target and posixpath.basename(target) != name and posixpath.basename(target).lower() == name.lower():
            doc.add(line, "W303", f"文件名的大小写与实际文件不同：写的是 {name}，文件是 {posixpath.basename(target)}",
                    "在 Windows 和苹果电脑上看不出区别，网站服务器上却是两个名字；已按实际文件发布，建议改成一致", "warning")


def _check_failed_body(doc: _Doc, rendered: markup.Rendered, photos) -> None:
    """For a file that is not published (errors in its front matter): what assembling and the image pipeline
    would have reported of it, as far as files on disk tell — links to ``.md`` files that do not exist (E201) and
    photos of the body or of ``photos``/``cover`` that are missing (E301)."""
    for target, written, line in rendered.links:
        if target is not None and not doc.exists(target):
            doc.add(line, "E201", f"链接的文章不存在或未发布：{written}", "检查文件路径（相对于本文件）")
    refs = list(rendered.images) + [(p.rel, p.src, p.line) for p in photos]
    for target, written, line in refs:
        if target is not None and not doc.exists(target):
            message, hint = frontmatter.MISSING_IMAGE
            doc.add(line, "E301", message.format(shown=target.removeprefix("content/")), hint)


def _page(doc: _Doc, front: frontmatter.FrontMatter, lines: dict, rendered: markup.Rendered, files: list) -> Page:
    """The :class:`Page` of a file whose front matter has no error."""
    source, config = doc.source, doc.config
    date = front.date or datetime(1970, 1, 1, tzinfo=config.tz)
    slug, problem = frontmatter.slug_for(source.rel, front, date, lines.get(("slug",), 1))
    if problem:
        doc.problems.append(problem)
    url = permalink(config, source.kind, slug, date, front.category, front.column)
    html, found = _attachment_links(rendered.html, files, url, config.base_path)
    at = {"date": lines.get(("date",), 1), "slug": lines.get(("slug",), 1), "tags": lines.get(("tags",), 1)}
    at.update({f"aliases.{i}": lines.get(("aliases", i), lines.get(("aliases",), 1)) for i in range(len(front.aliases))})
    return Page(
        source=source.rel, kind=source.kind, url=url, slug=slug, title=front.title, date=date,
        updated=front.updated, category=front.category.slug if front.category else "",
        column=front.column.slug if front.column else None, tags=front.tags,
        summary=front.summary or markup.summarize(rendered.lead, config.summary_length), html=html,
        text=rendered.text, toc=rendered.toc, links=rendered.links, images=rendered.images, photos=front.photos,
        cover=front.cover, author=front.author, source_name=front.source_name, editor=front.editor,
        draft=front.draft, headline=front.headline, pinned=front.pinned,
        aliases=tuple(a if a.startswith("/") else "/" + a for a in front.aliases), extra=front.extra,
        digest=doc.digest, attachments=found, lines=at)


def _attachment_links(html: str, files: list, url: str, base_path: str) -> tuple[str, tuple[Attachment, ...]]:
    """``html`` with each ``sitegen-file:N`` link pointing at its attachment's published copy (the link left
    without a target when the file is missing), and the attachments, one per file, in order of first link."""
    made: dict[str, Attachment] = {}
    taken: set[str] = set()
    for target, line in files:
        if target and target not in made:
            made[target] = attachments.make(target, url, taken, line)

    def link(m: re.Match) -> str:
        target = files[int(m.group(1))][0]
        return f' href="{markup.escape(base_path + made[target].url.lstrip("/"))}"' if target else ""

    html = re.sub(r'\shref="' + markup.FILE_LINK + r'(\d+)"', link, html)
    return html, tuple(made.values())


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


def read_source(config: Config, source: Source) -> Parsed:
    """Read ``source`` from disk and :func:`parse_page` it. Raises nothing for content problems."""
    data = (config.root / source.rel).read_bytes()
    return parse_page(source, data, config, exists=lambda rel: (config.root / rel).is_file())


def with_html(page: Page, html: str) -> Page:
    """A copy of ``page`` with another body (pages are immutable)."""
    return replace(page, html=html)


__all__ = ["Source", "Page", "PhotoRef", "Attachment", "Parsed", "Site", "scan", "decode", "split_front_matter",
           "parse_date", "slugify", "tag_slug", "parse_page", "read_source", "rescan", "permalink", "select",
           "generated_urls", "assemble", "sort_key", "with_html", "IGNORED_NAME", "ARTICLE_PLACEHOLDER",
           "GALLERY_PLACEHOLDER", "DATE_FORMATS", "KNOWN_KEYS"]
