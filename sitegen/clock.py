"""The build clock and the schedule of articles dated in the future (定时发布).

A build publishes the articles dated at or before *now* (:func:`sitegen.content.select`); everything that shows
articles — pages, listings, feeds, sitemap, search — is made from that one selection, so they agree at every
moment. *Now* is :func:`now`: the moment pinned with ``sitegen build --now "2026-12-08 09:00"`` or the
``SITEGEN_NOW`` environment variable (the same thing: ``--now`` sets it for the build and its worker processes),
else the system clock, in the site's time zone. Nothing publishes a scheduled article by itself: the site is
rebuilt on a schedule (``.github/workflows/publish.yml`` every 10 minutes), and :func:`next_due` tells the build
log when the next one falls due.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Iterable

from sitegen.config import Config
from sitegen.dates import parse_date
from sitegen.errors import UsageError

if TYPE_CHECKING:  # only named in annotations: the clock loads without the Markdown stack
    from sitegen.content import Page

ENV = "SITEGEN_NOW"
"""Environment variable holding the pinned build clock (ISO 8601, or ``2026-12-08 09:00`` in the site's zone)."""


def parse(text: str, tz: tzinfo) -> datetime:
    """The moment ``text`` names, aware: ``2026-12-08 09:00`` (or a date, with seconds, ``T``, an offset such as
    ``+08:00`` or ``Z``; front matter's formats, :func:`sitegen.content.parse_date`), naive times in ``tz``.
    Raises :class:`UsageError` (exit code 2) with a Chinese message when it is not a date."""
    try:
        return parse_date(text, tz)
    except ValueError:
        raise UsageError(f"无法识别的时间“{text}”（应为 2026-12-08 09:00 这样的格式，按网站时区）") from None


def pin(moment: datetime | None) -> None:
    """Make :func:`now` return ``moment`` in this process and the processes it starts from now on (through
    :data:`ENV`); ``None`` unpins it."""
    if moment is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = moment.isoformat()


def now(config: Config, override: str | datetime | None = None) -> datetime:
    """The build clock, aware, in ``config``'s time zone: ``override`` (a datetime, or text as :func:`parse`
    takes) if given, else :data:`ENV` if set, else the system clock. Raises :class:`UsageError` for an override
    that is not a date."""
    if override is None:
        override = os.environ.get(ENV) or None
    if override is None:
        return datetime.now(config.tz)
    if isinstance(override, datetime):
        return override.astimezone(config.tz) if override.tzinfo else override.replace(tzinfo=config.tz)
    return parse(override, config.tz).astimezone(config.tz)


@dataclass(frozen=True, slots=True)
class Scheduled:
    """An article held back until ``date`` (aware, site time zone): its ``title`` and ``source`` (project-relative
    path of its Markdown file)."""

    date: datetime
    title: str
    source: str

    def describe(self) -> str:
        """The build log's line: ``下一篇定时发布：2026-12-08 09:00《标题》``."""
        return f"下一篇定时发布：{self.date:%Y-%m-%d %H:%M}《{self.title}》"


def next_due(pages: Iterable[Page], at: datetime, *, drafts: bool = False,
             future: bool = False) -> Scheduled | None:
    """The first of ``pages`` that a build at ``at`` holds back only because of its date and that falls due
    next (earliest date, then source path), or ``None`` when none is waiting; with ``future`` nothing is held
    back. Drafts count only with ``drafts`` (the same rules as :func:`sitegen.content.select`)."""
    if future:
        return None
    waiting = [p for p in pages if p.date > at and (drafts or not p.draft)]
    if not waiting:
        return None
    first = min(waiting, key=lambda p: (p.date, p.source))
    return Scheduled(first.date.astimezone(at.tzinfo), first.title, first.source)


__all__ = ["ENV", "Scheduled", "next_due", "now", "parse", "pin"]
