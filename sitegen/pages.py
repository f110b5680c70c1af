"""The content model: immutable values for one source file, one photo reference and one published page.

Made by :mod:`sitegen.content` (scanning and parsing), read by everything after it (site assembly, rendering,
feeds, search, the cache, which stores pages as the tuple of their fields).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from sitegen.attachments import Attachment
from sitegen.errors import Problem


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
    """A Markdown file found by :func:`sitegen.content.scan`: ``rel`` project-relative POSIX path, ``kind``
    (``article``, ``page`` or ``gallery``), ``size`` in bytes and ``mtime`` in ns (cache keys)."""

    rel: str
    kind: str
    size: int = 0
    mtime: int = 0


@dataclass(frozen=True, slots=True)
class Page:
    """One published page (article, static page or gallery), immutable.

    ``date``/``updated`` are aware datetimes in the site's time zone. ``html`` is the sanitized body with
    ``sitegen-md:``/``sitegen-img:`` placeholders that the build resolves. ``links`` and ``images`` record
    ``(target rel, as written, file line)``. ``category``/``column`` are slugs. ``attachments`` are the documents
    its body links to (:class:`sitegen.attachments.Attachment`), published beside the page. ``extra`` keeps
    front-matter keys sitegen does not know, for themes. ``lines`` maps ``date``, ``slug``, ``tags`` and
    ``aliases.N`` to their file lines, so problems found later (a duplicate URL, a future date) name them.
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
    attachments: tuple[Attachment, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict)

    @property
    def lastmod(self) -> datetime:
        """``updated`` if given, else ``date`` (sitemaps.org ``lastmod``)."""
        return self.updated or self.date


@dataclass(frozen=True, slots=True)
class Parsed:
    """What :func:`sitegen.content.parse_page` returns: the page (``None`` when an error stopped it) and every
    problem found."""

    page: Page | None
    problems: tuple[Problem, ...]


__all__ = ["PhotoRef", "Source", "Page", "Parsed", "Attachment"]
