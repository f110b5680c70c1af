"""Digests for incremental builds: a page's fingerprint (its *card*, what a listing shows of it, and its whole),
and the digest of a template context (:class:`Digester`), so the render stage can tell which outputs are current.

A page's card covers every field but the body (``html``, ``text`` and their ``digest``) and the bytes of every
image it shows; the whole fingerprint also covers the body (its file's bytes and the file-exists answers of its
parse). An output showing a page in a list depends on its card, the page's own output on the whole (see
:class:`BodyOf`), so correcting an article's text re-renders its page and not the ~70 pages that list it."""
from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime
from typing import Callable

from sitegen.content import Page

CARD = 24
"""Length of the card half of a page fingerprint (hex digits)."""

BODY = "body:"
"""Prefix of an output's source entry that says it shows the body of that page (``body:content/news/a.md``)."""

BODY_FIELDS = frozenset({"html", "text", "digest"})

SHAPE_FIELDS = ("source", "kind", "url", "slug", "date", "updated", "category", "column", "tags", "links", "aliases",
                "draft", "headline", "pinned", "cover", "photos", "images")
"""The fields of a page that decide which outputs exist and which pages each one lists (everything assembling and
planning read to choose outputs and contexts); a page's other fields (title, summary, body …) only change what its
outputs show, which page fingerprints cover."""


def _blake(text: str, size: int = 12) -> str:
    return hashlib.blake2b(text.encode(), digest_size=size).hexdigest()


def page_shape(page: Page) -> str:
    """Digest (24 hex digits) of ``page``'s :data:`SHAPE_FIELDS`."""
    return _blake(repr(tuple(getattr(page, f) for f in SHAPE_FIELDS)))


def page_card(page: Page) -> str:
    """Digest (24 hex digits) of every field of ``page`` but its body (:data:`BODY_FIELDS`)."""
    return _blake(repr(tuple(getattr(page, f.name) for f in dataclasses.fields(page) if f.name not in BODY_FIELDS)))


def image_rels(page: Page) -> list[str]:
    """Project-relative paths of every image ``page`` shows (photos, cover, images in the body)."""
    return ([ph.rel for ph in page.photos if ph.rel] + ([page.cover.rel] if page.cover and page.cover.rel else [])
            + [r for r, _, _ in page.images if r])


def fingerprint(card: str, sha: str, exists: tuple, image_shas: str) -> str:
    """A page's whole fingerprint (two halves of :data:`CARD` hex digits) from its ``card`` (:func:`page_card`),
    its file's ``sha``, the file-exists answers of its parse and ``image_shas`` (``"\\0rel\\0sha…"`` of every
    image it shows, ``""`` for none)."""
    files = hashlib.blake2b(digest_size=12)
    files.update(sha.encode())
    files.update(repr(exists).encode())
    files.update(image_shas.encode())
    return _blake(card + image_shas) + files.hexdigest()


def with_sections(fp: str, sections: str) -> str:
    """``fp`` (a page fingerprint) whose card half also covers ``sections``, the ``repr`` of the page's category and
    column (:class:`sitegen.config.Section` values or None) as ``site.yaml`` describes them now."""
    return _blake(fp[:CARD] + sections) + fp[CARD:]


class Lazy:
    """A template context value computed only when the output is rendered; ``key`` (or what ``key()`` returns, when
    callable: it is only needed for outputs whose digest is computed) stands for it in the output's digest (it must
    change whenever the value would)."""

    __slots__ = ("fn", "key")

    def __init__(self, fn, key):
        self.fn = fn
        self.key = key


class BodyOf:
    """Stands in an output's digest for the body of ``page`` (the article an output is about): the page's whole
    fingerprint, and a ``body:`` source entry so that a change to the text alone re-renders this output only."""

    __slots__ = ("page",)

    def __init__(self, page: Page):
        self.page = page


_PLAIN = (str, int, float, bool, type(None))


class Digester:
    """Appends a stable text form of template context values to a list of parts, recording the pages they show.

    ``fp(page)`` gives a page's fingerprint as a listed page, ``whole(page)`` its whole fingerprint (for
    :class:`BodyOf`); ``opaque`` are types stood for by their name alone (the site and media objects, whose
    readable parts are in the global digest). The text of frozen dataclasses other than pages (sections, photos) is
    remembered: 13,000 outputs' contexts at 10,000 articles take a fraction of a second."""

    def __init__(self, fp: Callable[[Page], str], whole: Callable[[Page], str] | None = None, opaque: tuple = ()):
        self.fp = fp
        self.whole = whole or fp
        self.opaque = opaque
        self._memo: dict[int, tuple[object, str | None]] = {}
        self._cards: dict[str, str] = {}  # source → "P" + fp(page): a page is listed by ~12 outputs

    def card(self, page: Page) -> str:
        """``"P"`` + ``fp(page)``, memoised by source for the life of this digester (a build)."""
        text = self._cards.get(page.source)
        if text is None:
            text = self._cards[page.source] = "P" + self.fp(page)
        return text

    def into(self, value, parts: list, sources: list) -> bool:
        """Append ``value``'s text to ``parts`` (pages by fingerprint, their sources to ``sources``); False when
        the value has a type whose content cannot be known (the output is then always rendered)."""
        t = type(value)
        if t is Page:
            parts.append(self.card(value))
            sources.append(value.source)
        elif t in _PLAIN:
            parts.append(repr(value))
        elif t is list or t is tuple:
            return self._sequence(value, parts, sources)
        elif t is dict:
            return self._mapping(value, parts, sources)
        elif t is Lazy:
            return self.into(value.key() if callable(value.key) else value.key, parts, sources)
        elif t is BodyOf:
            parts.append("B" + self.whole(value.page))
            sources.append(BODY + value.page.source)
        else:
            return self._other(value, parts, sources)
        return True

    def _sequence(self, value, parts: list, sources: list) -> bool:
        parts.append("[")
        cards, append = self._cards, parts.append
        for v in value:
            t = type(v)
            if t is Page:
                append(cards.get(v.source) or self.card(v))
                sources.append(v.source)
            elif t is str:  # a pager's list of page URLs: 100 pages of a listing hold 100 each
                append(repr(v))
            elif not self.into(v, parts, sources):
                return False
        append("]")
        return True

    def _mapping(self, value, parts: list, sources: list) -> bool:
        append = parts.append
        append("{")
        for k, v in value.items():
            append(repr(k))
            t = type(v)
            if t is Page:
                append(self.card(v))
                sources.append(v.source)
            elif t is str or v is None:
                append(repr(v))
            elif not self.into(v, parts, sources):
                return False
        append("}")
        return True

    def _other(self, value, parts: list, sources: list) -> bool:
        if isinstance(value, datetime):
            parts.append(value.isoformat())
        elif isinstance(value, (str, int, float)):
            parts.append(repr(value))
        elif isinstance(value, (list, tuple)):
            return self._sequence(list(value), parts, sources)
        elif isinstance(value, dict):
            return self._mapping(dict(value), parts, sources)
        elif isinstance(value, self.opaque):
            parts.append(type(value).__name__)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._dataclass(value, parts, sources)
        elif isinstance(value, (set, frozenset)):
            return self._sequence(sorted(value, key=repr), parts, sources)
        else:
            return False
        return True

    def _dataclass(self, value, parts: list, sources: list) -> bool:
        frozen = type(value).__dataclass_params__.frozen
        known = self._memo.get(id(value)) if frozen else None
        if known is None or known[0] is not value:
            sub: list = [type(value).__name__]
            inner: list = []
            ok = all(self.into(getattr(value, f.name), sub, inner) for f in dataclasses.fields(value))
            known = (value, "".join(sub) if ok and not inner else None)
            if frozen and not inner:
                self._memo[id(value)] = known
            if known[1] is None:  # holds pages (recorded each time) or something unknowable
                if not ok:
                    return False
                parts.extend(sub)
                sources.extend(inner)
                return True
        parts.append(known[1])
        return True
