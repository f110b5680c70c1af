"""The site's own search, built during ``build``: an index of every article's text (character n-grams with their
positions, :mod:`sitegen.searchindex`, format in ``docs/search-index.md``) that the search page
(``themes/default/static/search.js``) fetches shard by shard for each query.

What is indexed is what the reader sees of an article: the element marked ``data-search-body`` (or
``data-pagefind-body``, the attribute ``article.html`` has always carried) without its parts marked
``data-search-ignore`` or ``data-pagefind-ignore`` (tags, previous/next, related articles, the font-size tools), as
:func:`essentials` cuts it from the page this build wrote. So menus, footers and listings never produce hits, and
the index is built from the written pages, whatever the theme.

The index goes through the build's :class:`~sitegen.build.Writer` like every other output (its files are staged
under ``search/`` and committed with the pages they describe; files of an older index are pruned through the
manifest). Its input is digested per article (:func:`input_keys`): when no article's text, title, date, category or
column changed, nothing is indexed again.
"""
from __future__ import annotations

import hashlib
import html as htmllib
import json
import logging
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping, NamedTuple, Protocol, Sequence

from sitegen import pool
from sitegen.content import Page, Site
from sitegen.files import stage_file, write_atomic
from sitegen.searchdoc import STATES, Doc, shard_count

log = logging.getLogger(__name__)

BUNDLE = "search-index"
"""The folder of the index under ``output/``, beside the search page ``search/index.html``."""

INDEX_VERSION = "own-2"
"""Part of every index key: a new version of the indexer or its format makes every site index again."""


class _Writer(Protocol):
    out: Path
    staging: Path
    written: list[str]

    def write(self, rel: str, data: bytes | str) -> None: ...

    def keep(self, rel: str) -> None: ...

    def adopt(self, rel: str, staged: bool) -> None: ...


def _final_bytes(writer: _Writer, rel: str) -> bytes:
    """The bytes ``rel`` will have after the commit: the staged copy if it changed in this build, else the file
    already in the output folder."""
    staged = writer.staging / rel
    return staged.read_bytes() if staged.is_file() else (writer.out / rel).read_bytes()


_BODY_OPEN = re.compile(rb"<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*\sdata-(?:search|pagefind)-body\b[^>]*>")
_IGNORE_OPEN = re.compile(rb"<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*\sdata-(?:search|pagefind)-ignore\b[^>]*>")
_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


def _element_end(html: bytes, m: re.Match) -> int | None:
    """End offset of the element whose opening tag ``m`` matched (group 1: its name), counting nested elements
    of the same name; None when it is not closed."""
    opener = re.compile(rb"<(/?)" + re.escape(m.group(1)) + rb"\b[^>]*>", re.I)
    depth = 0
    for t in opener.finditer(html, m.start()):
        depth += -1 if t.group(1) else 1
        if depth == 0:
            return t.end()
    return None


_BODY_MARKS = (b"data-search-body", b"data-pagefind-body")
_IGNORE_MARKS = (b"data-search-ignore", b"data-pagefind-ignore")


def _marked(html: bytes, marks: tuple[bytes, ...], pattern: re.Pattern) -> Iterator[re.Match]:
    """The matches of ``pattern.finditer(html)`` for a pattern that matches one tag (no ``>`` before its end)
    holding one of ``marks``: each searched from the last ``>`` before the next marker, since no match can begin
    earlier (it would span that ``>``), so the regular expression does not try every tag of the page (it took
    most of the time of :func:`essentials`)."""
    pos = 0
    while True:
        at = [i for i in (html.find(mark, pos) for mark in marks) if i >= 0]
        m = pattern.search(html, max(pos, html.rfind(b">", pos, min(at)) + 1)) if at else None
        if m is None:
            return
        yield m
        pos = m.end()


def essentials(html: bytes) -> bytes:
    """What the index reads of a page: the first element marked ``data-search-body`` (or ``data-pagefind-body``),
    comments removed, without its elements marked ``data-search-ignore`` / ``data-pagefind-ignore`` (whatever
    the attribute's value). ``b""`` when the page has no such element (it is not indexed)."""
    m = next(_marked(html, _BODY_MARKS, _BODY_OPEN), None)
    end = _element_end(html, m) if m else None
    if end is None:
        return b""
    body = _COMMENT.sub(b"", html[m.start():end])
    parts, pos = [], 0
    for ig in _marked(body, _IGNORE_MARKS, _IGNORE_OPEN):
        if ig.start() < pos or ig.start() == 0:
            continue  # inside an ignored element already cut, or the body element itself
        stop = _element_end(body, ig)
        if stop is None:
            continue
        parts.append(body[pos:ig.start()])
        pos = stop
    return b"".join(parts) + body[pos:]


def text_of(essential: bytes) -> str:
    """The text of :func:`essentials` as a reader sees it: tags removed, character references resolved, each run
    of whitespace one space (what ``lxml``'s ``text_content()`` gives, whitespace collapsed)."""
    text = htmllib.unescape(_TAG.sub("", essential.decode("utf-8", "replace")))
    return _SPACES.sub(" ", text).strip()


class Extract(NamedTuple):
    """What the index reads of an article page: ``text`` (:func:`text_of` of its :func:`essentials`) and ``body``,
    the offset in ``text`` (UTF-16 code units, as the search page's script counts) where what follows the indexed
    element's first ``<header>`` begins, 0 when it has none: the search page cuts excerpts from there, so that a
    result does not repeat its title and date line."""

    text: str
    body: int


def extract(essential: bytes) -> Extract:
    """The :class:`Extract` of an article's :func:`essentials`."""
    text = text_of(essential)
    end = essential.find(b"</header>")
    head = text_of(essential[:end]) if end >= 0 else ""
    if not head or not text.startswith(head):
        return Extract(text, 0)
    n = len(head) + (text[len(head):len(head) + 1] == " ")
    return Extract(text, len(text[:n].encode("utf-16-le")) // 2)


def input_digest(essential: bytes) -> str:
    """The digest :func:`input_keys` records of an article's :func:`essentials`."""
    return hashlib.blake2b(essential, digest_size=16).hexdigest()


BLOCK = 2048
"""Articles per full block of the index. Each block is a separate index under ``search-index/b<first>/`` that the
search page queries beside the others: correcting an old article re-indexes its block only (2,048 articles, a fifth
of the 10,000-article bench corpus), while a query fetches one shard per n-gram from each block."""

RECENT = 256
"""The newest articles, past the last full block, are two blocks: the last 1 to :data:`RECENT` articles, and the
ones between them and the last full block. What an editor adds or corrects today is in the recent block, indexed
again in a fraction of a second; every 256th article added moves the recent block into the one before it, which is
then indexed again once."""


def shards(site: Site) -> dict[str, list[Page]]:
    """The articles of ``site`` in the index's blocks, ``{"b0": articles, "b2048": …}``, each named by the number of
    its first article: all articles oldest first (by date, then URL), cut every :data:`BLOCK` articles, the rest
    as :data:`RECENT` says. An article's number in the index is its position in that order, so the newest article
    has the highest number and an article added today changes no other article's number, and no block but the
    recent one (and every :data:`RECENT` articles, the one before it). Empty without articles."""
    ordered = sorted(site.articles, key=lambda p: (p.date, p.url))
    n = len(ordered)
    full = n - n % BLOCK
    starts = list(range(0, full, BLOCK))
    if n > full:
        recent = n - ((n - full - 1) % RECENT + 1)
        starts += [full, recent] if recent > full else [full]
    bounds = starts + [n]
    return {f"b{a}": ordered[a:b] for a, b in zip(bounds, bounds[1:])}


def shard_folder(name: str) -> str:
    """The output folder of block ``name``: ``search-index/b0/``."""
    return f"{BUNDLE}/{name}/" if name else f"{BUNDLE}/"


def shard_key(name: str) -> str:
    """The output under which the build's manifest records block ``name`` (its other files are the record's
    extras): ``search-index/b0/index.json``."""
    return shard_folder(name) + "index.json"


def _output_rel(url: str) -> str:
    url = url.lstrip("/")
    return url + "index.html" if not url or url.endswith("/") else url


@dataclass
class Inputs:
    """What :func:`input_keys` found of the blocks' input: ``keys`` (``{block: key}``), ``digests`` (``{block: each
    article's essentials digest, in block order}``), ``read`` (``{URL: essentials}`` of the pages it read on the
    way) and the ``salt`` the keys were made with; ``texts`` (``{URL: Extract}``, :func:`extract`) holds texts
    extracted elsewhere (by the processes that rendered the pages), which :func:`index` uses as they are."""

    salt: str
    keys: dict[str, str] = field(default_factory=dict)
    digests: dict[str, list[str]] = field(default_factory=dict)
    read: dict[str, bytes] = field(default_factory=dict)
    texts: Mapping[str, Extract] = field(default_factory=dict)

    def extract(self, writer: _Writer, url: str) -> Extract:
        """The indexed text (:func:`extract`) of the article at ``url`` as this build leaves its page."""
        known = self.texts.get(url)
        if known is not None:
            return known
        essential = self.read[url] if url in self.read else essentials(_final_bytes(writer, _output_rel(url)))
        return extract(essential)


def input_keys(site: Site, writer: _Writer, groups: Mapping[str, Sequence[Page]],
               output_digest: Callable[[str], str | None], salt: str,
               known: Mapping[str, str] | None = None) -> Inputs:
    """``{shard name: key}`` for the shards ``groups`` (``{name: its articles}``, from :func:`shards`): a digest
    of exactly what the indexer reads for the shard (each article's URL and :func:`essentials` of its page as
    this build leaves it) and ``salt`` (the index format, code and settings). Two builds with the same key make
    the same files, so an article page re-rendered for a reason the index does not see (a neighbour's title in
    its footer) is not indexed again. The digest of an
    article's essentials is remembered in ``.sitegen-cache/search/inputs.json`` under its URL and
    ``output_digest(output path)`` (what the page was rendered from, None when unknown), so only pages rendered
    from new inputs are read; ``known`` adds such digests made elsewhere (by the processes that rendered the
    pages, see :func:`input_digest`), under the same ``URL\0output digest`` keys. Returns the keys with each
    article's digest and the texts read on the way (for :func:`index`)."""
    path = site.config.cache_dir / "search" / "inputs.json"
    try:
        memo = json.loads(path.read_text("utf-8"))
        memo = memo if isinstance(memo, dict) else {}
    except (OSError, ValueError):
        memo = {}
    found, added = Inputs(salt), dict(known or {})
    memo.update(added)
    for name in groups:
        h = hashlib.blake2b(f"{salt}\0{name}".encode(), digest_size=16)
        digests = found.digests[name] = []
        for page in groups[name]:
            rel = _output_rel(page.url)
            d = output_digest(rel)
            m = f"{page.url}\0{d}" if d else None
            e = memo.get(m) if m else None
            if not isinstance(e, str):
                text = found.read[page.url] = essentials(_final_bytes(writer, rel))
                e = input_digest(text)
                if m:
                    added[m] = e
            h.update(f"{page.url}\0{e}\0".encode())
            digests.append(e)
        found.keys[name] = h.hexdigest()
    if added:
        live = {f"{p.url}\0{output_digest(_output_rel(p.url))}" for p in site.articles}
        memo = {k: v for k, v in memo.items() if k in live}
        memo.update(added)
        try:
            write_atomic(path, json.dumps(memo, ensure_ascii=False))
        except OSError as exc:
            log.warning("无法写入缓存 %s：%s", path, exc)
    return found


def documents(site: Site, pages: Sequence[Page], texts: Mapping[str, Extract]):
    """The :class:`sitegen.searchindex.Doc` of each page in ``pages`` (same order) from ``texts``
    (``{URL: Extract}``, :func:`extract` of the page's :func:`essentials`): URL, title, date (``YYYY-MM-DD``),
    category and column names from the page, text and where its body begins from what the page shows."""
    config = site.config
    docs = []
    for page in pages:
        cat = config.category(page.category) if page.category else None
        col = config.column(page.column) if page.column else None
        docs.append(Doc(page.url, page.title, page.date.strftime("%Y-%m-%d"), cat.name if cat else "",
                        col.name if col else "", texts[page.url].text, texts[page.url].body))
    return docs


PATCH_LIMIT = 32
"""A block with at most this many changed articles is corrected in place (:mod:`sitegen.searchpatch`, the cost of
those articles); with more, it is indexed whole (cheaper then)."""


def block_files(docs: int) -> list[str]:
    """The files of a block of ``docs`` articles, relative to its folder, ``index.json`` last."""
    shards = shard_count(docs)
    return (["docs.bin"] + [f"d/{i}.bin" for i in range(docs)] + [f"p/{s}.bin" for s in range(shards)]
            + [f"s/{s}.bin" for s in range(shards)] + ["index.json"])


def _state_path(site: Site, name: str) -> Path:
    return site.config.cache_dir / STATES / f"{name}.json"


def _changed(site: Site, name: str, pages: Sequence[Page], inputs: Inputs, present: str | None) -> list[int] | None:
    """The numbers in block ``name`` of the articles whose input changed since its files in the output folder
    (made from the input whose key is ``present``) were made, from the block's state in
    ``.sitegen-cache/search/blocks/``; None when that state does not describe those files with this salt and
    these articles, or too many changed."""
    try:
        state = json.loads(_state_path(site, name).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or present is None or state.get("key") != present \
            or state.get("salt") != inputs.salt or state.get("urls") != [p.url for p in pages]:
        return None
    before, now = state.get("digests"), inputs.digests[name]
    if not isinstance(before, list) or len(before) != len(now):
        return None
    changed = [i for i, (a, b) in enumerate(zip(before, now)) if a != b]
    return changed if 0 < len(changed) <= PATCH_LIMIT else None


def _corrections(site: Site, writer: _Writer, name: str, pages: Sequence[Page], inputs: Inputs,
                 present: str | None) -> dict[int, Doc] | None:
    """The articles of block ``name`` to correct in place (``{number in the block: Doc}``), or None when the block
    must be indexed whole."""
    changed = _changed(site, name, pages, inputs, present)
    if changed is None:
        return None
    texts = {pages[i].url: inputs.extract(writer, pages[i].url) for i in changed}
    return dict(zip(changed, documents(site, [pages[i] for i in changed], texts)))


def _corrected(run: Callable, folder: Path, name: str, docs: Mapping[int, Doc], version: str) -> dict | None:
    """The files of block ``name`` (in ``folder``) corrected for ``docs`` by ``run`` (a worker's call, or a
    direct one), or None when it must be indexed whole."""
    try:
        return run("sitegen.searchpatch:patch_folder", str(folder), dict(docs), version)
    except (OSError, ValueError, KeyError, zlib.error) as exc:
        log.info("站内搜索索引 %s 无法就地更新（%s），整块重建", name, exc)
        return None


def _save_state(site: Site, name: str, pages: Sequence[Page], inputs: Inputs) -> None:
    state = {"salt": inputs.salt, "key": inputs.keys[name], "urls": [p.url for p in pages],
             "digests": inputs.digests[name]}
    try:
        write_atomic(_state_path(site, name), json.dumps(state, ensure_ascii=False))
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", _state_path(site, name), exc)


def index(site: Site, writer: _Writer, groups: Mapping[str, Sequence[Page]] | None = None, *,
          inputs: Inputs | None = None, present: Mapping[str, str] | None = None,
          workers: Sequence = ()) -> dict[str, list[str]]:
    """Build the blocks ``groups`` of the index (``{"b<first>": articles, oldest first}``, default: all of
    :func:`shards`) from the articles as rendered by this build and stage their files through ``writer`` under
    :func:`shard_folder`. ``inputs`` (from :func:`input_keys`; None: every block indexed whole, versions digested
    from the files) supplies the texts already extracted, each block's key (its ``index.json`` version) and
    its articles' digests; ``present`` the key of each block's files now in the output folder (``{name: key}``,
    from the build's manifest): a block whose state in the cache says which of its articles changed since is
    corrected in place when few did (:data:`PATCH_LIMIT`), else indexed whole with NumPy, the same bytes either
    way. The work runs on ``workers`` (:class:`sitegen.pool.Warm`, forked small when the build began: the first
    imported :mod:`sitegen.searchpatch` while the pages rendered; whole blocks are spread over all of them, about
    330 MB each at 2,048 articles), else in this process. Call after the pages are rendered and before
    ``writer.commit()``. Returns ``{name: output paths}``."""
    groups = shards(site) if groups is None else groups
    source = inputs or Inputs("")
    files_of: dict[str, dict[str, bytes]] = {}
    for name, pages in groups.items():
        docs = _corrections(site, writer, name, pages, inputs, (present or {}).get(name)) if inputs else None
        files = _corrected(workers[0].call if workers else pool.call_here, writer.out / shard_folder(name), name,
                           docs, inputs.keys[name]) if docs else None
        if files is not None:
            log.info("站内搜索索引 %s：就地更新，%d 个文件", name, len(files))
            files_of[name] = files
    whole = [name for name in groups if name not in files_of]

    def call(name: str) -> tuple[tuple, dict]:
        texts = {p.url: source.extract(writer, p.url) for p in groups[name]}
        return (documents(site, groups[name], texts),), {
            "first": int(name[1:]), "version": inputs.keys[name] if inputs else None,
            "out": str(writer.out), "staging": str(writer.staging), "folder": shard_folder(name)}

    staged_of = dict(zip(whole, pool.spread(workers, "sitegen.search:stage_block", map(call, whole))))
    made: dict[str, list[str]] = {}
    for name, pages in groups.items():
        folder, files, staged = shard_folder(name), files_of.get(name, {}), staged_of.get(name, {})
        if name in staged_of:
            log.info("站内搜索索引 %s：%d 篇文章，%d 个文件", name, len(pages), len(staged))
        made[name] = []
        for sub in block_files(len(pages)):
            rel = folder + sub
            made[name].append(rel)
            if sub in staged:
                writer.adopt(rel, staged[sub])
            elif sub in files:
                writer.write(rel, files[sub])
            else:
                writer.keep(rel)
        if inputs:
            _save_state(site, name, pages, inputs)
    return made


def stage_block(docs: Sequence[Doc], *, first: int, version: str | None, out: str, staging: str,
                folder: str) -> dict[str, bool]:
    """Index one block (:func:`sitegen.searchindex.build` of ``docs``, ``first`` and ``version``) and stage its
    files for the build's commit (:func:`sitegen.files.stage_file` into ``staging``, the build's staging folder,
    under ``folder``, the block's folder, unless the output folder ``out`` already holds the same bytes), in
    whichever process runs it. Returns ``{path relative to the block's folder: staged}``. Raises ``OSError``."""
    from sitegen import searchindex

    made: set[str] = set()
    return {rel: stage_file(Path(out), Path(staging), folder + rel, data, made)
            for rel, data in searchindex.build(docs, first=first, version=version).items()}
