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


@lru_cache(maxsize=65536)
def tag_slug(name: str) -> str:
    """URL slug of a tag: :func:`slugify`, or a short hash when the name has no letters, digits or Chinese."""
    return slugify(name) or "t-" + hashlib.sha1(name.encode()).hexdigest()[:8]
