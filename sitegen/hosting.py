"""How the published site is served, shared by every publisher and the nginx example: the ``Content-Type`` and
``Cache-Control`` of each output file, which files are documents (uploaded after what they link to), the list of
files to publish, and the :class:`DeployReport` a publisher returns."""
from __future__ import annotations

import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: Glob patterns of the "documents": files that link to other files and so go up after everything they link to.
DOCUMENT_PATTERNS = ("*.html", "*.htm", "*.xml")

#: Cache-Control for files whose name changes when their content does (fingerprinted assets, resized photos).
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
#: Cache-Control for everything else (HTML, feeds, sitemap, search entry points): five minutes.
CACHE_SHORT = "public, max-age=300"

# A content hash of at least 8 hex digits (at least one of them a letter, so "report-20261130.pdf" is not taken for
# one) right before the extension: "style.3f2a9c1b.css", "app-5d41402abc4b.js", "en_1a2b3c4d5e.pf_fragment".
_FINGERPRINT = re.compile(r"[._-](?=[0-9]*[a-f])[0-9a-f]{8,}\.[A-Za-z0-9_]+$")

# Content types by extension. A fixed table, so the same file gets the same type on every machine (the mimetypes
# module reads /etc/mime.types, which differs between hosts); text types carry their charset.
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",  # RFC 9239
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".webmanifest": "application/manifest+json; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",  # feeds and sitemap.xml: shown, not downloaded, by browsers
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".xsl": "application/xslt+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".wps": "application/vnd.ms-works",  # the IANA type of .wps; WPS Office opens it (attachments, 附件)
    ".et": "application/vnd.ms-excel",  # WPS 表格, read by Excel and WPS as a spreadsheet
    ".dps": "application/vnd.ms-powerpoint",  # WPS 演示
    ".ofd": "application/ofd",  # GB/T 33190 fixed-layout documents (official documents, e-invoices)
    ".rar": "application/vnd.rar",
    ".7z": "application/x-7z-compressed",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".mp3": "audio/mpeg",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}
_BUILTIN_TYPES = mimetypes.MimeTypes()  # Python's built-in table only; no system files read

@dataclass(frozen=True, slots=True)
class DeployReport:
    """What a deploy did (or, with ``dry_run``, would do).

    ``dest`` is the destination as given; ``method`` ``"rsync"`` or ``"s3"``. ``uploaded``, ``deleted`` and
    ``unchanged`` are sorted paths relative to the output folder (POSIX slashes, e.g. ``"附件/通知.html"``): files
    whose content was (or would be) transferred, remote files removed because the build no longer produces them,
    and files already up to date. Directories are not counted.
    """

    dest: str
    method: str
    dry_run: bool
    uploaded: tuple[str, ...]
    deleted: tuple[str, ...]
    unchanged: tuple[str, ...]

    @property
    def uploaded_count(self) -> int:
        """Number of files uploaded."""
        return len(self.uploaded)

    @property
    def deleted_count(self) -> int:
        """Number of remote files deleted."""
        return len(self.deleted)

    @property
    def unchanged_count(self) -> int:
        """Number of files already up to date."""
        return len(self.unchanged)

    @property
    def changed(self) -> bool:
        """True when anything was (or would be) uploaded or deleted."""
        return bool(self.uploaded or self.deleted)

    def summary_zh(self) -> str:
        """One line in Chinese for the CLI, e.g. ``已发布到 user@host:/srv/www：上传 3 个，删除 1 个，未变 120 个``."""
        verb = "试运行（未做任何改动）" if self.dry_run else "已发布"
        return (f"{verb}到 {self.dest}：上传 {self.uploaded_count} 个，删除 {self.deleted_count} 个，"
                f"未变 {self.unchanged_count} 个")


def content_type(relpath: str) -> str:
    """The ``Content-Type`` to serve ``relpath`` with (a path relative to the output folder), with
    ``charset=utf-8`` for text types; ``application/octet-stream`` when the extension is unknown (the search
    index's ``.bin`` files among them)."""
    suffix = PurePosixPath(relpath).suffix.lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    guessed, _ = _BUILTIN_TYPES.guess_type("x" + suffix, strict=False) if suffix else (None, None)
    if not guessed:
        return "application/octet-stream"
    if guessed.startswith("text/"):
        guessed += "; charset=utf-8"
    return guessed


def is_fingerprinted(relpath: str) -> bool:
    """True when ``relpath`` (relative to the output folder) never changes content under the same name: anything
    under ``media/`` (resized photos are named by a hash of their inputs) or a name carrying a hash of at least 8
    hex digits before the extension (``style.3f2a9c1b.css``)."""
    return relpath.startswith("media/") or bool(_FINGERPRINT.search(PurePosixPath(relpath).name))


def cache_control(relpath: str) -> str:
    """The ``Cache-Control`` for ``relpath``: :data:`CACHE_IMMUTABLE` (one year) for fingerprinted files,
    :data:`CACHE_SHORT` (300 seconds) for HTML, feeds and everything else. The nginx example applies the same rule."""
    return CACHE_IMMUTABLE if is_fingerprinted(relpath) else CACHE_SHORT


def is_document(relpath: str) -> bool:
    """True for files that link to others (:data:`DOCUMENT_PATTERNS`): they are uploaded after the assets."""
    return any(PurePosixPath(relpath).match(p) for p in DOCUMENT_PATTERNS)


def local_files(output_dir: Path) -> list[str]:
    """Every regular file under ``output_dir`` as sorted POSIX paths relative to it (symlinks followed as rsync
    ``--links`` would copy them: counted as files)."""
    out = []
    for root, _dirs, files in os.walk(output_dir):
        for name in files:
            out.append((Path(root) / name).relative_to(output_dir).as_posix())
    return sorted(out)


