"""Attachments (附件): documents an article links to — 报名表.docx, 汇总表.xlsx, 通知全文.pdf — published beside it.

A link in the body to a relative path whose extension is in ``attachments.extensions`` (``site.yaml``; default
:data:`DEFAULT_EXTENSIONS`) is an attachment. :mod:`sitegen.markup` finds it, :mod:`sitegen.bodyrefs` resolves it
(beside the Markdown file first, then from ``content/``; it must stay inside ``content/``) and records an
:class:`Attachment` on the page, the link then pointing at the copy published in the page's own folder
(``/tongzhi-gonggao/2026/03/baoming-tongzhi/附件1-报名表.docx``, the file name percent-encoded once in the URL,
RFC 3986). A missing file is an error at the link's line (E205), a path outside ``content/`` or on the editor's
own computer (``C:\\Users\\…``) too (E204). This module measures the files (:func:`measure`: size in bytes, W206
above ``attachments.max_mb``); each becomes an output of the build's plan (kind ``attachment``, so the path gate
and the clash checks cover it), whose bytes :func:`stage` hands to the build's writer.
"""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from sitegen import modes
from sitegen.errors import Location, Problem

DEFAULT_EXTENSIONS = ("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "dps", "ofd", "zip", "rar",
                      "7z", "txt", "csv")
"""File extensions (lower case, no dot) that make a linked file an attachment unless ``site.yaml`` says otherwise:
Office and WPS Office documents, OFD (GB/T 33190, China's format for official electronic documents), PDF, archives
and plain-text tables."""

DEFAULT_MAX_MB = 50
"""Attachments above this many MB (1024 × 1024 bytes) are reported (W206): too big for Git and for readers on phones."""

_KINDS = {"pdf": "PDF 文档", "doc": "Word 文档", "docx": "Word 文档", "xls": "Excel 表格", "xlsx": "Excel 表格",
          "ppt": "PowerPoint 演示文稿", "pptx": "PowerPoint 演示文稿", "wps": "WPS 文字", "et": "WPS 表格",
          "dps": "WPS 演示", "ofd": "OFD 版式文件", "zip": "压缩包", "rar": "压缩包", "7z": "压缩包",
          "txt": "文本文件", "csv": "CSV 表格"}


@dataclass(frozen=True, slots=True)
class AttachmentSettings:
    """``attachments:`` — which linked files are published with their page (``extensions``, lower case without
    the dot; see :mod:`sitegen.attachments`) and above how many MB (1024 × 1024 bytes) one is reported
    (``max_mb``)."""

    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    max_mb: int = DEFAULT_MAX_MB


def read_settings(c, data: dict) -> AttachmentSettings:
    """``site.yaml``'s ``attachments:`` read through ``c`` (its :class:`sitegen.schema.Checker`): the extensions
    published as attachments (E904 when not a list of extensions) and ``max_mb`` (1–10000)."""
    c.known(data, ("attachments",), AttachmentSettings.__slots__)
    d = AttachmentSettings()
    extensions = data.get("extensions", list(d.extensions))
    if not isinstance(extensions, list) or not all(isinstance(e, str) and re.fullmatch(r"\.?[A-Za-z0-9]{1,10}", e)
                                                   for e in extensions):
        c.fail(("attachments", "extensions"), "应为文件扩展名列表", "例如 extensions: [pdf, docx, xlsx, wps, ofd]", "E904")
        extensions = d.extensions
    return AttachmentSettings(tuple(dict.fromkeys(e.lower().lstrip(".") for e in extensions)),
                              c.integer(data, "max_mb", ("attachments",), d.max_mb, (1, 10000)))


@dataclass(frozen=True, slots=True)
class Attachment:
    """One published attachment of a page: ``rel`` the project-relative source file, ``url`` the site-relative
    URL of its copy (without the base path, percent-encoded), ``name`` the file name as published (and as the
    reader's browser saves it), ``ext`` its extension in lower case without the dot, ``size`` in bytes (-1 until
    :func:`measure`), ``line`` the file line of the first link to it."""

    rel: str
    url: str
    name: str
    ext: str
    size: int = -1
    line: int = 0

    @property
    def kind(self) -> str:
        """What the file is, for readers: ``Word 文档``, ``Excel 表格``, ``PDF 文档`` … (``DOCX 文件`` for others)."""
        return _KINDS.get(self.ext, f"{self.ext.upper()} 文件")

    @property
    def size_text(self) -> str:
        """The size for readers: ``0.8 KB``, ``356.2 KB``, ``12.5 MB`` (1 KB = 1024 bytes); ``""`` when unknown."""
        return format_size(self.size) if self.size >= 0 else ""


def format_size(size: int) -> str:
    """``size`` bytes as ``x.x KB`` below 1 MB, else ``x.x MB`` (1024-based, one decimal)."""
    if size < 1024 * 1024:
        return f"{max(size, 1) / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def is_attachment(target: str, extensions) -> bool:
    """Whether the link ``target`` (a path as written, without query or fragment) names a document of one of
    ``extensions`` (lower case, no dot); the extension is compared case-insensitively (``通知.PDF``)."""
    ext = posixpath.splitext(target.replace("\\", "/"))[1][1:].lower()
    return bool(ext) and ext in extensions


def make(rel: str, page_url: str, taken: set[str], line: int) -> Attachment:
    """The :class:`Attachment` for source file ``rel`` of the page at ``page_url`` (ending in ``/``): published
    under its own file name, or ``名称-2.docx`` … when another attachment of the page already took that name
    (``taken``, updated)."""
    name = posixpath.basename(rel)
    stem, ext = posixpath.splitext(name)
    n = 1
    while name.lower() in taken:
        n += 1
        name = f"{stem}-{n}{ext}"
    taken.add(name.lower())
    return Attachment(rel, page_url + quote(name), name, ext[1:].lower(), -1, line)


def output_rel(attachment: Attachment) -> str:
    """The path of ``attachment``'s copy under ``output/`` (its URL decoded, without the leading ``/``)."""
    page_dir = attachment.url[: attachment.url.rindex("/") + 1]
    return page_dir.lstrip("/") + attachment.name


def measure(pages, root: Path, max_mb: int) -> tuple[list, list[Problem]]:
    """``pages`` with the size of every attachment read from the file now (pages without attachments are
    returned as they are, the same objects), and a warning W206 at the link's line for each file above
    ``max_mb`` MB. A file that vanished since parsing keeps size -1 and is not published."""
    out, problems = [], []
    for page in pages:
        if not page.attachments:
            out.append(page)
            continue
        sized = []
        for a in page.attachments:
            try:
                size = os.stat(root / a.rel).st_size
            except OSError:
                size = -1
            if size > max_mb * 1024 * 1024:
                problems.append(Problem(Location(page.source, a.line), "W206",
                                        f"附件过大：{format_size(size)}（{a.name}）",
                                        f"超过 site.yaml 中 attachments.max_mb 的 {max_mb} MB；读者用手机下载很慢，"
                                        "请压缩后再上传，或只附上必要的部分", "warning"))
            sized.append(replace(a, size=size))
        out.append(replace(page, attachments=tuple(sized)))
    return out, problems


def stage(writer, rel: str, source: Path) -> None:
    """Stage the bytes of attachment file ``source`` at ``rel`` (under ``output/``) through ``writer`` (the
    build's :class:`sitegen.build.write.Writer`: ``out``, ``staging``, ``keep(rel)``, ``write(rel, data)``). The
    plan (:mod:`sitegen.build.kinds`, kind ``attachment``) has already gated the path and checked it for clashes.

    A copy whose size and modification time (ns) equal the source's is kept without reading either file (the quick
    check rsync uses); a staged copy gets the source's times, so the next build keeps it. Files no page attaches
    any more are removed by the writer's commit like every output it did not produce. A source gone since it was
    measured is skipped."""
    try:
        st = source.stat()
    except OSError:
        return
    try:
        old = (writer.out / rel).stat()
    except OSError:
        old = None
    if old is not None and old.st_size == st.st_size and old.st_mtime_ns == st.st_mtime_ns:
        modes.ensure(writer.out / rel, old)  # kept as it is: readable by any user all the same (an older build's)
        writer.keep(rel)
        return
    writer.write(rel, source.read_bytes())
    staged = writer.staging / rel
    if staged.exists():
        os.utime(staged, ns=(st.st_atime_ns, st.st_mtime_ns))
