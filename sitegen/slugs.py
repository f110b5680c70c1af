"""Slugs: the ASCII path segments of URLs, from explicit slugs, file names or Chinese titles and tags.

Chinese is transliterated with pypinyin (tone-less syllables joined by ``-``), so a slug is stable across builds and
machines; ``〇`` becomes ``ling`` (case B02).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

_ASCII_SLUG = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=65536)
def slugify(text: str, max_length: int = 80) -> str:
    """A URL slug: ASCII letters and digits kept (lower-cased), Chinese characters transliterated to pinyin
    syllables (pypinyin, tone-less, ``〇`` → ``ling``), everything else a single ``-``; no leading, trailing or
    doubled ``-``; cut at a ``-`` to at most ``max_length`` characters. May return ``""``.

    Memoised (tags and categories repeat across thousands of pages); pure ASCII text skips pypinyin."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        slug = _ASCII_SLUG.sub("-", text.lower()).strip("-")
    else:
        from pypinyin import Style, lazy_pinyin

        words = lazy_pinyin(text, style=Style.NORMAL, errors=lambda s: [s])
        slug = "-".join(w.lower() for w in words)
        slug = _ASCII_SLUG.sub("-", slug.replace("ü", "v")).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug


_TAG_SLUGS: dict[str, str] = {}


def tag_slug(name: str) -> str:
    """URL slug of a tag: :func:`slugify`, or a short hash when the name has no letters, digits or Chinese.
    Memoised for the process, and seeded by :func:`remember_tag_slugs` from the build cache (transliterating a
    tag needs pypinyin, whose import alone takes a third of a second)."""
    slug = _TAG_SLUGS.get(name)
    if slug is None:
        slug = _TAG_SLUGS[name] = slugify(name) or "t-" + hashlib.sha1(name.encode()).hexdigest()[:8]
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
