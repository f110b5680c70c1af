"""What the render stage carries through one build (:class:`RenderState`) and what a long-running preview keeps
between builds (:class:`Session`)."""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

from sitegen import cache as cachemod
from sitegen import bodies as bodiesmod
from sitegen import manifest as manifestmod
from sitegen.build import digest
from sitegen.config import Config
from sitegen.content import Page
from sitegen.sources import Source

log = logging.getLogger(__name__)


class Session:
    """What a long-running process (the preview server) keeps between its builds: the page cache, the file list of
    the last scan, the output manifests, the assembled indexes, the plan's check results, the compiled template
    environment and the theme facts, and the cache writing left for :meth:`flush`. Not thread-safe: one build at a time."""

    def __init__(self):
        self.pages_cache: cachemod.PageCache | None = None
        self.sources: list[Source] | None = None
        self.root: Path | None = None
        self.manifests: dict[Path, manifestmod.OutputManifest] = {}
        self.checks: dict = {}
        self.site_index: tuple[str, tuple] | None = None
        self.envs: dict[tuple, object] = {}
        self.theme_facts: dict[str, tuple] = {}
        self.pending = None

    def flush(self) -> None:
        """Write the caches the last build left in memory (logged, never raised, when they cannot be written)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending()


def is_current(rel: str, before: manifestmod.Output | None, digest_now: str | None, base: str) -> bool:
    """Whether output ``rel``, recorded as ``before`` in the last build's manifest, is current: the same digest
    (not ``None``), and its file and every extra file it caused still exist under ``base`` (the output folder with
    a trailing separator). The one such test of the build (Lektor's ``Artifact.is_current``); it never writes."""
    if digest_now is None or before is None or before.digest != digest_now:
        return False
    isfile = os.path.isfile
    return isfile(base + rel) and all(isfile(base + x) for x in before.extras)


class RenderState:
    """What the render stage needs to render incrementally: the page cache (file hashes and each page's parse
    inputs), the output manifest of the last build into the same folder (``old``) and the one being made
    (``manifest``), ``jobs`` processes, and whether to record ``reasons`` (``(output path, why)``) for
    ``--explain``. ``skipped`` counts outputs not rendered because nothing they depend on changed;
    ``search_inputs`` the digests of what the search indexer reads of the article pages rendered (see
    :func:`sitegen.search.input_keys`) and ``search_texts`` their texts as the indexer reads them (``{URL: Extract}``,
    :func:`sitegen.search.extract`);  ``whole_cards`` whether the theme reads bodies outside ``body`` (then a listed page's card is its whole
    fingerprint).

    Without a page cache every page has a fingerprint made from its own content digest, and without an old
    manifest every output is rendered."""

    def __init__(self, config: Config, pages_cache: cachemod.PageCache | None = None,
                 old: manifestmod.OutputManifest | None = None, *, jobs: int | None = None, explain: bool = False):
        self.config = config
        self.cache = pages_cache or cachemod.PageCache(config.slice_fingerprint("parse"))
        self.old = old or manifestmod.OutputManifest()
        self.manifest = manifestmod.OutputManifest()
        self.jobs = jobs
        self.explain = explain
        self.skipped = 0
        self.rendered = 0
        self.drafts = False
        self.reasons: list[tuple[str, str]] = []
        self.fps: dict[str, str] = {}
        self.sections: dict[tuple, str] = {}
        self.whole_cards = True
        self.search_inputs: dict[str, str] = {}
        self.search_texts: dict[str, tuple[str, int]] = {}
        self.bodies = bodiesmod.Bodies(config.cache_dir)
        self.shape = ""

    def full(self, page: Page) -> Page:
        """``page`` with its body (``html``, ``text``): from the body cache, or parsed again from its file when the
        cached body is missing or damaged. A page that already has a body is returned as it is."""
        if page.html or page.text:
            return page
        entry = self.cache.entries.get(page.source)
        if entry is None or entry.page is None:
            return page
        body = self.bodies.read(entry.body) if entry.body else None
        if body is None:  # the pack was removed or damaged: parse again (the next build stores it)
            from sitegen.build.parse import parse_entry

            log.info("缓存中缺少 %s 的正文，重新解析", page.source)
            parsed = parse_entry(self.config, Source(page.source, page.kind, entry.size, entry.mtime))
            if parsed.page is None:
                return page
            body = (parsed.page.html, parsed.page.text)
        return dataclasses.replace(page, html=body[0], text=body[1])

    def file_sha(self, rel: str) -> str:
        """SHA-256 (hex) of project file ``rel`` (cached by size and mtime); ``""`` when missing."""
        return self.cache.file_sha(self.config.root, rel) or ""

    def page_fp(self, page: Page) -> str:
        """The whole fingerprint of ``page`` (:func:`sitegen.build.digest.fingerprint`): from its cache entry when
        it shows no image, else with the current bytes of its images; its card half also covers its category and
        column as ``site.yaml`` describes them (:func:`sitegen.build.digest.with_sections`), so renaming a category
        re-renders what lists its articles and nothing else. Memoised for the build; never writes."""
        fp = self.fps.get(page.source)
        if fp is None:
            entry = self.cache.entries.get(page.source)
            known = entry is not None and entry.page is page
            if known and entry.fp:
                fp = entry.fp
            else:
                shas = "".join(f"\0{rel}\0{self.file_sha(rel)}" for rel in digest.image_rels(page))
                card = entry.card if known and entry.card else digest.page_card(page)
                parsed = entry if entry is not None and entry.page is not None else None  # not a kept page
                fp = digest.fingerprint(card, parsed.sha if parsed else page.digest, parsed.exists if parsed else (),
                                        shas)
            if page.category or page.column:
                fp = digest.with_sections(fp, self.sections_of(page.category, page.column))
            self.fps[page.source] = fp
        return fp

    def sections_of(self, category: str | None, column: str | None) -> str:
        """The ``repr`` of the category and column named so (Section or None each), memoised: a site has a few
        dozen such pairs and 10,000 pages."""
        text = self.sections.get((category, column))
        if text is None:
            config = self.config
            text = self.sections[(category, column)] = repr((config.category(category) if category else None,
                                                            config.column(column) if column else None))
        return text

    def card_fp(self, page: Page) -> str:
        """The part of :meth:`page_fp` an output that lists ``page`` depends on (all of it with ``whole_cards``)."""
        return self.page_fp(page) if self.whole_cards else self.page_fp(page)[:digest.CARD]
