"""How the web server is to send each output file: its ``Content-Type`` and ``Cache-Control``, the order in which a
publisher uploads files so readers never meet a page before what it links to, and the nginx example that applies
the same rules (``sitegen/nginx.conf``). Shared by :mod:`sitegen.deploy`'s publishers (rsync, S3), which re-exports
these names.
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from pathlib import Path, PurePosixPath
from typing import Iterable

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
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".wps": "application/vnd.ms-works",  # the IANA type of .wps; WPS Office opens it (attachments, 附件)
    ".et": "application/vnd.ms-excel",  # WPS 表格, read by Excel and WPS as a spreadsheet
    ".dps": "application/vnd.ms-powerpoint",  # WPS 演示
    ".ofd": "application/ofd",  # GB/T 33190 fixed-layout documents (official documents, e-invoices)
    ".rar": "application/vnd.rar",
    ".7z": "application/x-7z-compressed",
    ".mp3": "audio/mpeg",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}
_BUILTIN_TYPES = mimetypes.MimeTypes()  # Python's built-in table only; no system files read


def content_type(relpath: str) -> str:
    """The ``Content-Type`` to serve ``relpath`` with (a path relative to the output folder), with
    ``charset=utf-8`` for text types; ``application/octet-stream`` when the extension is unknown (Pagefind's
    ``.pf_*`` files among them)."""
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


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def upload_order(relpaths: Iterable[str]) -> list[str]:
    """Paths in the order to upload them: assets first, then documents deepest first (articles before the
    listings and the home page that link to them), each group sorted by name."""
    paths = sorted(relpaths)
    assets = [p for p in paths if not is_document(p)]
    docs = sorted((p for p in paths if is_document(p)), key=lambda p: (-p.count("/"), p))
    return assets + docs


def nginx_config(root: Path | str, *, listen: str = "80", server_name: str = "_") -> str:
    """The nginx example shipped as ``sitegen/nginx.conf`` (a ``map`` and a ``server`` block, read inside
    ``http {}``) with its ``listen``, ``server_name`` and ``root`` lines set: ``root`` an absolute folder,
    ``listen`` as nginx takes it (``"80"``, ``"127.0.0.1:8080"``). Raises ``ValueError`` for a relative root or a
    value containing ``;``, braces, quotes or a newline."""
    from importlib.resources import files

    root = str(root)
    if not root.startswith("/"):
        raise ValueError(f"nginx root must be an absolute path, got {root!r}")
    for value in (root, listen, server_name):
        if re.search(r"[;{}\n\"'\s]", value):
            raise ValueError(f"unsafe value for an nginx directive: {value!r}")
    text = files("sitegen").joinpath("nginx.conf").read_text(encoding="utf-8")
    for directive, value in (("listen", listen), ("server_name", server_name), ("root", root)):
        text, n = re.subn(rf"^(\s*){directive} [^;]*;", lambda m: f"{m.group(1)}{directive} {value};", text,
                          count=1, flags=re.M)
        if n != 1:
            raise ValueError(f"sitegen/nginx.conf has no {directive} line")
    return text


__all__ = ["DOCUMENT_PATTERNS", "CACHE_IMMUTABLE", "CACHE_SHORT", "content_type", "is_fingerprinted", "cache_control",
           "is_document", "local_files", "file_sha256", "upload_order", "nginx_config"]
