"""The parse stage: one :class:`~sitegen.cache.Entry` per source file, from the page cache when the file did not
change, else parsed by :func:`sitegen.content.parse_page` (a pure function of the file's bytes and the config's
``parse`` slice, :meth:`sitegen.config.Config.slice_fingerprint`), on every core when there are many files."""
from __future__ import annotations

import hashlib
import logging
import os

from sitegen import cache as cachemod
from sitegen import bodies as bodiesmod
from sitegen import content as contentmod
from sitegen import pool
from sitegen.build import digest
from sitegen.config import Config
from sitegen.errors import Location, Problem
from sitegen.sources import Source

log = logging.getLogger(__name__)


def load_pages(config: Config, sources: list[Source], pages_cache: cachemod.PageCache,
               jobs: int | None = None) -> tuple[list[cachemod.Entry], int]:
    """One :class:`~sitegen.cache.Entry` per source, in order, and how many files were parsed: from ``pages_cache``
    when the file's size and mtime (unless too recent to vouch for it, :meth:`~sitegen.cache.PageCache.trusts`),
    or else its SHA-256, are unchanged and every file-exists answer still holds, else parsed (in worker processes
    when more than :data:`sitegen.pool.THRESHOLD` files need it). Updates ``pages_cache`` to exactly ``sources``.
    The entries' pages carry no body (see :class:`sitegen.bodies.Bodies`): whoever parses a file stores its body in
    the cache folder, so bodies never travel between processes."""
    root = config.root
    entries: dict[str, cachemod.Entry] = {}
    todo: list[Source] = []
    isfile = os.path.isfile
    for s in sources:
        e = pages_cache.entries.get(s.rel)
        if e is not None and pages_cache.trusts(e, s.size, s.mtime) and all(
                isfile(root / rel) == existed for rel, existed in e.exists):
            entries[s.rel] = e
            continue
        if e is not None and _touched_only(root, s, e):
            entries[s.rel] = cachemod.touched(e, s.size, s.mtime)
            pages_cache.dirty = True
            continue
        todo.append(s)
    if todo:
        log.info("解析 %d 个文件（%d 个来自缓存）", len(todo), len(entries))
        for e, s in zip(pool.run(parse_chunk, todo, jobs=jobs, shared=config), todo):
            entries[s.rel] = e
        pages_cache.dirty = True
    pages_cache.entries = entries
    return [entries[s.rel] for s in sources], len(todo)


def _touched_only(root, source: Source, entry: cachemod.Entry) -> bool:
    """Whether a file whose size or mtime changed still has the bytes ``entry`` was parsed from."""
    if not cachemod.exists_still_hold(root, entry.exists):
        return False
    try:
        data = (root / source.rel).read_bytes()
    except OSError:
        return False
    return len(data) == source.size and hashlib.sha256(data).hexdigest() == entry.sha


def parse_chunk(chunk) -> list[cachemod.Entry]:
    """Parse a chunk of sources in a pool worker (the config is the pool's shared state); bodies go to the body
    cache of this process."""
    config = pool.state()
    bodies = bodiesmod.Bodies(config.cache_dir)
    out = [store_body(bodies, parse_entry(config, s)) for s in chunk]
    try:
        bodies.close()
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", bodies.dir, exc)
        out = [cachemod.without_body(e) for e in out]
    return out


def store_body(bodies: bodiesmod.Bodies, entry: cachemod.Entry) -> cachemod.Entry:
    """Append the body of ``entry``'s page to ``bodies`` and return the entry with the page stripped of it,
    recording where the body is (a body that cannot be written is parsed again when needed, logged)."""
    page = entry.page
    if page is None:
        return entry
    where = None
    try:
        where = bodies.add(page.html, page.text)
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", bodies.dir, exc)
    return cachemod.stored(entry, where)


def parse_entry(config: Config, source: Source) -> cachemod.Entry:
    """Read and parse one source into a cache :class:`~sitegen.cache.Entry`, recording the file-exists answers
    the parse depended on. Raises nothing for content problems (an unreadable file is an E100 problem)."""
    root = config.root
    try:
        data = (root / source.rel).read_bytes()
    except OSError as exc:
        problem = Problem(Location(source.rel, 0), "E100", f"无法读取文件：{exc.strerror or exc}", "检查文件权限")
        return cachemod.Entry(source.size, source.mtime, "", (), None, (problem,))
    answers: dict[str, bool] = {}

    def exists(rel: str) -> bool:
        if rel not in answers:
            answers[rel] = os.path.isfile(root / rel)
        return answers[rel]

    parsed = contentmod.parse_page(source, data, config, exists=exists)
    sha, found, page = hashlib.sha256(data).hexdigest(), tuple(answers.items()), parsed.page
    if page is None:
        return cachemod.Entry(len(data), source.mtime, sha, found, None, parsed.problems)
    card = digest.page_card(page)
    whole = "" if digest.image_rels(page) else digest.fingerprint(card, sha, found, "")
    return cachemod.Entry(len(data), source.mtime, sha, found, page, parsed.problems, None,
                          digest.page_shape(page), card, whole)
