"""Slugs: the ASCII path segments of URLs, from explicit slugs, file names or Chinese titles and tags.

Chinese is transliterated with pypinyin (tone-less syllables joined by ``-``), so a slug is stable across builds and
machines; ``〇`` becomes ``ling`` (case B02). Letters of other scripts (Cyrillic, Greek, accented Latin, Mongolian,
Tibetan…) are transliterated with anyascii (``Москва`` → ``moskva``, ``café`` → ``cafe``) instead of being dropped:
dropping them slugged the tag ``раураl`` to ``l``; a Cyrillic tag ``а`` is ``a-`` and a hash, never the Latin tag
``a``'s slug (below).

Tag slugs are a function of the tag alone, so adding a tag never changes another tag's URL, and two different tags
never share one (case B33). A tag whose letters are all kept by the slug (``nongcun``, ``AI``, ``Open Source``:
ASCII letters and digits, spaces or hyphens, any letter case) has the plain slug (``nongcun``, ``ai``,
``open-source``). Any other tag loses something in its plain slug — the characters of a Chinese tag (政治 and 整治
are both ``zheng-zhi``), or punctuation (``C++``, ``C#`` and ``C``) — and gets the plain slug followed by six hex
digits of the SHA-1 of the tag (``zheng-zhi-9a1b2c``, ``c-plus-plus-5f3e10``). Tags that differ only in letter
case, full-width/half-width form or spacing are one tag (:func:`tag_key`).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import MutableMapping

from sitegen.errors import Location, Problem

_ASCII_SLUG = re.compile(r"[^a-z0-9]+")
_FAITHFUL = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SYMBOL_WORDS = {"+": " plus ", "#": " sharp ", "&": " and ", "@": " at "}


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


@lru_cache(maxsize=65536)
def tag_key(name: str) -> str:
    """The identity of a tag: NFKC (full-width letters and digits as half-width), case-folded, every run of white
    space, ``_`` and ``-`` one ``-``, trimmed. Tags with the same key are one tag (``WiFi`` and ``wifi``). Memoised
    in this process (a site uses a few hundred tags on tens of thousands of articles)."""
    return re.sub(r"[\s_-]+", "-", unicodedata.normalize("NFKC", name).casefold()).strip("-")


@lru_cache(maxsize=65536)
def tag_slug(name: str) -> str:
    """The URL slug of tag ``name`` (see the module docstring): its :func:`tag_key` when that is ASCII letters and
    digits in ``-``-separated words, else the :func:`slugify` of the tag (``+`` read as ``plus``, ``#`` as
    ``sharp``) and ``-`` + the first 6 hex digits of SHA-1 of the key (``t-`` + those digits when nothing is left
    to transliterate, ``★``). Stable across builds and machines; memoised in this process."""
    key = tag_key(name)
    if _FAITHFUL.fullmatch(key):
        return key
    readable = slugify("".join(_SYMBOL_WORDS.get(c, c) for c in key), 60)
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:6]
    return f"{readable}-{digest}" if readable else f"t-{digest}"


def tag_index(articles, memo: MutableMapping[str, str], problems: list) -> tuple[dict, dict]:
    """The tags of ``articles`` (pages with ``tags``, ``tags_line``, ``url`` and ``source``) as ``(tag slug →
    name, article URL → its tags' slugs)``. Tags with the same :func:`tag_key`
    are one tag, named by the spelling most articles use (then the first in ``articles`` order); ``memo`` (tag
    name → slug, kept between builds) is used and filled. Two different tags on one slug (E403) keep the first
    tag's page; the other tag is left off its articles."""
    spellings: dict[str, Counter] = {}
    owner: dict[str, tuple[str, str]] = {}
    slugs_of: dict[str, tuple[str, ...]] = {}
    for a in articles:
        own = []
        for t in a.tags:
            slug = memo.get(t) or memo.setdefault(t, tag_slug(t))
            key = tag_key(t)
            first = owner.setdefault(slug, (key, a.source))
            if first[0] != key:
                problems.append(Problem(Location(a.source, a.tags_line or 1), "E403",
                                        f"标签“{t}”与另一个标签（{first[1]}）的网址都是 /tags/{slug}/",
                                        "请换一种写法，或与那个标签统一"))
                continue
            counts = spellings.get(slug)
            if counts is None:
                counts = spellings[slug] = Counter()
            counts[t] += 1
            own.append(slug)
        slugs_of[a.url] = tuple(dict.fromkeys(own))
    return {slug: min(c, key=lambda t: -c[t]) for slug, c in spellings.items()}, slugs_of


__all__ = ["slugify", "tag_key", "tag_slug", "tag_index"]
