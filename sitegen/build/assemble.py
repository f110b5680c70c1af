"""The assemble stage: the :class:`~sitegen.content.Site` (listings, neighbours, related articles) from the parsed
pages, by :func:`sitegen.content.assemble`, or its indexes from the last build when the site's *shape* (which
pages exist, where they are listed) is the same, e.g. after an edit to an article's text or title."""
from __future__ import annotations

import hashlib
import logging
from typing import Mapping

from sitegen import cache as cachemod
from sitegen import manifest as manifestmod
from sitegen import content as contentmod
from sitegen.build import digest
from sitegen.config import Config
from sitegen.content import Page, Site
from sitegen.errors import Problem

log = logging.getLogger(__name__)


def site_shape(pages: list[Page], entries: Mapping[str, cachemod.Entry], config: Config) -> str:
    """Digest (32 hex digits) of the shape of the site made of ``pages`` (published, in order): each page's
    :data:`sitegen.build.digest.SHAPE_FIELDS` (kept in its cache entry) and the config's ``render`` slice. Two
    builds with the same shape have the same indexes over the same pages, in the same order."""
    h = hashlib.blake2b(config.slice_fingerprint("render").encode(), digest_size=16)
    for p in pages:
        e = entries.get(p.source)
        h.update((e.shape if e is not None and e.page is p and e.shape else digest.page_shape(p)).encode())
    return h.hexdigest()


def freeze_site(site: Site, pages: list[Page], problems) -> tuple:
    """``site``'s indexes as positions in ``pages`` (picklable, compact), with the problems assembling found."""
    pos = {p.source: i for i, p in enumerate(pages)}

    def ix(seq):
        return [pos[p.source] for p in seq]

    return (ix(site.articles), ix(site.pages), ix(site.galleries),
            {k: ix(v) for k, v in site.by_category.items()}, {k: ix(v) for k, v in site.by_column.items()},
            {k: ix(v) for k, v in site.by_tag.items()}, dict(site.tags), {k: ix(v) for k, v in site.months.items()},
            {u: (pos[a.source] if a else -1, pos[b.source] if b else -1) for u, (a, b) in site.neighbours.items()},
            {u: ix(v) for u, v in site.related.items()}, ix(site.by_source.values()), tuple(problems))


def thaw_site(frozen: tuple, pages: list[Page], config: Config) -> tuple[Site, list[Problem]]:
    """The :class:`Site` and problems :func:`freeze_site` stored, over the same pages (same shape). Raises
    ``TypeError``, ``ValueError``, ``IndexError`` or ``KeyError`` for a damaged value."""
    (articles, statics, galleries, by_category, by_column, by_tag, tags, months, neighbours, related, kept,
     problems) = frozen
    P = pages

    def tx(ix):
        return tuple([P[i] for i in ix])

    site = Site(config, tx(articles), tx(statics), tx(galleries),
                {k: tx(v) for k, v in by_category.items()}, {k: tx(v) for k, v in by_column.items()},
                {k: tx(v) for k, v in by_tag.items()}, tags, {k: tx(v) for k, v in months.items()},
                {u: (P[a] if a >= 0 else None, P[b] if b >= 0 else None) for u, (a, b) in neighbours.items()},
                {u: tx(v) for u, v in related.items()}, {P[i].source: P[i] for i in kept})
    return site, list(problems)


def assemble_cached(pages: list[Page], config: Config, shape: str, remembered: tuple[str, tuple] | None = None,
                    tag_slugs: dict | None = None) -> tuple[Site, list[Problem], tuple[str, tuple]]:
    """:func:`sitegen.content.assemble`, or its indexes from the last build when the site's ``shape`` is the same:
    from ``remembered`` (a preview session's ``(shape, frozen)``) or the cache. Returns the site, the problems and
    the ``(shape, frozen)`` to remember; stores the indexes of a new shape in the cache (logged when it cannot).
    ``tag_slugs`` (tag name → slug, the page cache's) is passed to assemble."""
    frozen = remembered[1] if remembered is not None and remembered[0] == shape else \
        manifestmod.SiteIndex.load(config.cache_dir, shape)
    if frozen is not None:
        try:
            site, problems = thaw_site(frozen, pages, config)
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            log.warning("缓存 %s 不可用（%s），已忽略并重建", config.cache_dir / manifestmod.SiteIndex.FILE, exc)
        else:
            return site, problems, (shape, frozen)
    site, problems = contentmod.assemble(pages, config, tag_slugs)
    frozen = freeze_site(site, pages, problems)
    try:
        manifestmod.SiteIndex.save(config.cache_dir, shape, frozen)
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", config.cache_dir, exc)
    return site, problems, (shape, frozen)
