"""Correcting articles of a search index block in place: the files of a block (``docs/search-index.md``) made
again for a few changed articles from the block's current files, without the other articles' texts. Only the
shards whose records of those articles change are decoded and written again (an n-gram's shard never moves),
with ``docs.bin``, ``index.json`` and the articles' ``d/`` files; the bytes are exactly those
:func:`sitegen.searchindex.build` makes of the corrected block (tested), so a clean and an incremental build
answer every query alike.

The cost follows the article, not its block: appending a paragraph touches the shards of the n-grams it adds or
counts again; an edit near the top of a long article moves the positions of most of its 3-grams and so touches
most shards of the block, still a fraction of indexing 2,048 articles again.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from sitegen.searchindex import (Doc, block_meta, deltas, doc_file, doc_table, family, fnv1a, index_json, normalize,
                                 planes, positions_file, segments, title_length, unit_rows, units_of, unplanes)

_TITLE = np.uint64(1 << 31)


@dataclass(frozen=True)
class Entries:
    """Flat entries of a shard (or of one article), in record order: per entry its n-gram ``key`` (uint64, 48 bits
    ``c1<<32 | c2<<16 | c3``), ``doc`` (int64, article number in the block), ``tf`` (uint64: count, bit 31 the
    title flag) and ``npos`` (int64, how many positions it has: its count for a 3-gram, else 0); ``pos`` (int64)
    the positions of all entries in entry order."""

    key: np.ndarray
    doc: np.ndarray
    tf: np.ndarray
    npos: np.ndarray
    pos: np.ndarray

    def take(self, index: np.ndarray) -> Entries:
        """The entries at ``index`` (int64 or bool), in that order, with their positions."""
        index = np.flatnonzero(index) if index.dtype == bool else index
        starts = np.cumsum(self.npos) - self.npos
        return Entries(self.key[index], self.doc[index], self.tf[index], self.npos[index],
                       self.pos[segments(starts[index], self.npos[index])])


def _join(parts: list[Entries]) -> Entries:
    return Entries(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("key", "doc", "tf", "npos", "pos")))


def _n_of(key: np.ndarray) -> np.ndarray:
    """The length (1-3) of each n-gram ``key``."""
    return 1 + ((key >> np.uint64(16)) & np.uint64(0xFFFF) != 0) + (key & np.uint64(0xFFFF) != 0)


def article_entries(doc: Doc, number: int) -> Entries:
    """The entries ``doc`` (article ``number`` of its block) gives its block's index, ordered by n-gram length
    and key, exactly as :func:`sitegen.searchindex.build` counts them."""
    text = normalize(doc.text)
    units, where, place = units_of([text])
    title_len = np.array([title_length(doc, text), 0], dtype=np.int64)
    fams = [family(n, units, where, place, title_len) for n in (1, 2, 3)]
    key = np.concatenate([f.keys for f in fams])  # one entry per record: a single article
    tf = np.concatenate([f.counts.astype(np.uint64) | (f.titled.astype(np.uint64) << np.uint64(31)) for f in fams])
    npos = np.concatenate([np.zeros(len(fams[0].keys) + len(fams[1].keys), np.int64), fams[2].counts])
    return Entries(key, np.full(len(key), number, dtype=np.int64), tf, npos.astype(np.int64),
                   fams[2].positions.astype(np.int64))


def decode_shard(s_raw: bytes, p_raw: bytes) -> Entries:
    """The entries of one shard from its uncompressed ``s/<shard>.bin`` and ``p/<shard>.bin``."""
    count = int(np.frombuffer(s_raw, "<u4", 1)[0])
    head = np.frombuffer(s_raw, "<u2", count * 6, 4).reshape(count, 6).astype(np.uint64)
    ndocs = (head[:, 4] | (head[:, 5] << np.uint64(16))).astype(np.int64)
    total = int(ndocs.sum())
    key = np.repeat((head[:, 0] << np.uint64(32)) | (head[:, 1] << np.uint64(16)) | head[:, 2], ndocs)
    base = 4 + 12 * count
    gaps = unplanes(s_raw, base, total)
    tf = unplanes(s_raw, base + 4 * total, total).astype(np.uint64)
    run = np.cumsum(gaps)
    rec_first = np.cumsum(ndocs) - ndocs
    before = np.concatenate(([0], run))[rec_first]  # the running sum before each record
    doc = run - np.repeat(before, ndocs)
    npos = np.where(_n_of(key) == 3, (tf & np.uint64(0x7FFFFFFF)).astype(np.int64), 0)
    pgaps = positions_file(p_raw)
    prun = np.cumsum(pgaps)
    pstart = np.cumsum(npos) - npos
    pbefore = np.concatenate(([0], prun))[pstart]
    return Entries(key, doc, tf, npos, prun - np.repeat(pbefore, npos))


def encode_shard(e: Entries) -> tuple[bytes, bytes]:
    """The uncompressed ``(s/<shard>.bin, p/<shard>.bin)`` of entries ``e`` (any order: sorted here by n-gram
    length, key and article, as :func:`sitegen.searchindex.build` writes them)."""
    e = e.take(np.lexsort((e.doc, e.key, _n_of(e.key))))
    new_rec = np.ones(len(e.key), dtype=bool)
    new_rec[1:] = e.key[1:] != e.key[:-1]
    rec_first = np.flatnonzero(new_rec)
    rec_len = np.diff(np.append(rec_first, len(e.key)))
    head = np.zeros((len(rec_first), 6), dtype="<u2")
    head[:, :3] = unit_rows(e.key[rec_first])
    head[:, 4] = (rec_len & 0xFFFF).astype("<u2")
    head[:, 5] = (rec_len >> 16).astype("<u2")
    s_raw = b"".join((np.uint32(len(rec_first)).tobytes(), head.tobytes(),
                      planes(deltas(e.doc, rec_first)), planes(e.tf)))
    starts = (np.cumsum(e.npos) - e.npos)[e.npos > 0]
    gaps = deltas(e.pos, starts)
    return s_raw, np.uint32(len(gaps)).tobytes() + planes(gaps)


def _changes(old: Entries, new: Entries) -> np.ndarray:
    """The keys (uint64) whose entry differs between two entry lists of one article (count, title flag or
    positions), or that only one of them has."""
    def table(e: Entries) -> dict:
        starts = np.cumsum(e.npos) - e.npos
        pos = e.pos.tobytes()
        return {k: (t, pos[8 * s:8 * (s + n)]) for k, t, s, n in zip(e.key.tolist(), e.tf.tolist(),
                                                                         starts.tolist(), e.npos.tolist())}
    a, b = table(old), table(new)
    return np.array([k for k in a.keys() | b.keys() if a.get(k) != b.get(k)], dtype=np.uint64)


def _docs_bin(raw: bytes, meta: dict, changed: Mapping[int, Doc]) -> tuple[bytes, int, tuple[list, list]] | None:
    """The new uncompressed ``docs.bin``, the new total text length and the category and column names of every
    article, or None when a length was capped at
    65535 (the total cannot be known from the file)."""
    n = meta["docs"]
    length = np.frombuffer(raw, "<u2", n, 0).astype(np.int64)
    tlen = np.frombuffer(raw, "<u2", n, 2 * n).astype(np.int64)
    cat_names, col_names = [""] + meta["categories"], [""] + meta["columns"]
    cats = [cat_names[i] for i in np.frombuffer(raw, "u1", n, 4 * n).tolist()]
    cols = [col_names[i] for i in np.frombuffer(raw, "u1", n, 5 * n).tolist()]
    for i, doc in changed.items():
        text = normalize(doc.text)
        length[i], tlen[i] = len(text.encode("utf-16-le")) // 2, title_length(doc, text)
        cats[i], cols[i] = doc.category, doc.column
    if (length >= 0xFFFF).any():
        return None
    return doc_table(length, tlen, cats, cols), int(length.sum()), (cats, cols)


def patch(old: Callable[[str], bytes], changed: Mapping[int, Doc], *, version: str, level: int = 1,
          fast: int = 1) -> dict[str, bytes] | None:
    """The files of a block that change when its articles ``changed`` (``{number in the block: new Doc}``) are
    corrected, as ``{path relative to the block's folder: bytes}`` (always ``index.json``), made from ``old(path)``,
    the bytes of the block's current files (which must have been written by :func:`sitegen.searchindex.build`
    or this function with the same ``level`` and ``fast``). ``version`` is the new ``index.json`` version. None
    when the block cannot be corrected in place (an article's URL is not the one at its number, or a text is
    65,535 code units or longer): then index it whole. Raises ``OSError``, ``zlib.error``, ``ValueError`` and
    ``KeyError`` on unreadable or foreign files."""
    meta = json.loads(old("index.json"))
    olds, news = [], []
    for i, doc in sorted(changed.items()):
        was = json.loads(zlib.decompress(old(f"d/{i}.bin")))
        if was["u"] != doc.url:
            return None
        before = Doc(was["u"], was["t"], was["d"], was["c"], was["k"], was["x"], was["b"])
        olds.append(article_entries(before, i))
        news.append(article_entries(doc, i))
    table = _docs_bin(zlib.decompress(old("docs.bin")), meta, changed)
    if table is None:
        return None
    raw_docs, total, (cats, cols) = table
    shards = meta["shards"]
    keys = np.concatenate([_changes(a, b) for a, b in zip(olds, news)])
    touched = sorted(set((fnv1a(unit_rows(keys)) % np.uint64(shards)).tolist()))
    fresh = _join(news)
    fresh_shard = (fnv1a(unit_rows(fresh.key)) % np.uint64(shards)).astype(np.int64)
    gone = np.array(sorted(changed), dtype=np.int64)
    files: dict[str, bytes] = {}
    for s in touched:
        e = decode_shard(zlib.decompress(old(f"s/{s}.bin")), zlib.decompress(old(f"p/{s}.bin")))
        e = _join([e.take(~np.isin(e.doc, gone)), fresh.take(fresh_shard == s)])
        s_raw, p_raw = encode_shard(e)
        files[f"s/{s}.bin"] = zlib.compress(s_raw, level)
        files[f"p/{s}.bin"] = zlib.compress(p_raw, level)
    files["docs.bin"] = zlib.compress(raw_docs, level)
    for i, doc in changed.items():
        files[f"d/{i}.bin"] = doc_file(doc, fast)
    files["index.json"] = index_json(block_meta(meta["first"], shards, cats, cols, total), version)
    return files


def patch_folder(folder: str, changed: Mapping[int, Doc], version: str) -> dict[str, bytes] | None:
    """:func:`patch` of the block whose files are in ``folder`` (a path): what the build runs, in a worker process
    when it has one (:class:`sitegen.pool.Warm`)."""
    return patch(lambda rel: (Path(folder) / rel).read_bytes(), changed, version=version)
