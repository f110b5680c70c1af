"""Slugs: the ASCII path segments of URLs, from explicit slugs, file names or Chinese titles and tags.

Chinese is transliterated with pypinyin (tone-less syllables joined by ``-``), so a slug is stable across builds and
machines; ``〇`` becomes ``ling`` (case B02). Letters of other scripts (Cyrillic, Greek, accented Latin, Mongolian,
Tibetan…) are transliterated with anyascii (``Москва`` → ``moskva``, ``café`` → ``cafe``) instead of being dropped:
dropping them slugged the tag ``раураl`` to ``l``.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

from sitegen.unicodes import scripts

_ASCII_SLUG = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=65536)
def slugify(text: str, max_length: int = 80) -> str:
    """A URL slug: ASCII letters and digits kept (lower-cased), Chinese characters transliterated to pinyin
    syllables (pypinyin, tone-less, ``〇`` → ``ling``), letters of other scripts to ASCII (anyascii), everything
    else a single ``-``; no leading, trailing or doubled ``-``; cut at a ``-`` to at most ``max_length`` characters.
    May return ``""``.

    Memoised (tags and categories repeat across thousands of pages); pure ASCII text skips pypinyin."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        slug = _ASCII_SLUG.sub("-", text.lower()).strip("-")
    else:
        from pypinyin import Style, lazy_pinyin

        words = lazy_pinyin(text, style=Style.NORMAL, errors=lambda s: [_romanize(s)])
        slug = "-".join(w.lower() for w in words)
        slug = _ASCII_SLUG.sub("-", slug.replace("ü", "v")).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug


def _romanize(run: str) -> str:
    """The letters of a run pypinyin left alone (no Chinese in it) in ASCII; other characters stay (and become
    ``-`` in the slug)."""
    from anyascii import anyascii

    return "".join(anyascii(ch) if unicodedata.category(ch)[0] in "LM" else ch for ch in run)


_TAG_SLUGS: dict[str, str] = {}


def tag_slug(name: str) -> str:
    """URL slug of a tag: :func:`slugify`; a short hash when the name has no letters, digits or Chinese, and added
    to a slug of fewer than 3 characters transliterated from a script other than Latin or Chinese (the Cyrillic tag
    ``а`` is ``a-`` and a hash, never the Latin tag ``a``'s slug). Memoised for the process, and seeded by
    :func:`remember_tag_slugs` from the build cache (transliterating a tag needs pypinyin, whose import alone takes
    a third of a second)."""
    slug = _TAG_SLUGS.get(name)
    if slug is None:
        slug = slugify(name)
        if not slug or (len(slug) < 3 and not name.isascii() and scripts(name) - {"Latin", "Han"}):
            slug = (slug or "t") + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]
        _TAG_SLUGS[name] = slug
    return slug


def known_tag_slugs() -> dict[str, str]:
    """Every tag name → slug computed (or remembered) in this process."""
    return dict(_TAG_SLUGS)


def remember_tag_slugs(slugs: dict[str, str]) -> None:
    """Seed :func:`tag_slug` with name → slug pairs it computed earlier with the same code (the build cache is
    discarded when sitegen or pypinyin changes)."""
    for name, slug in slugs.items():
        if isinstance(name, str) and isinstance(slug, str):
            _TAG_SLUGS.setdefault(name, slug)
