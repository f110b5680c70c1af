"""The search index's files, made from the articles' texts: character n-grams (1, 2 and 3 UTF-16 code units) with
the articles that contain them, and where in each article the 3-grams are, sharded by a hash of the n-gram so
that a reader's query fetches only the shards of its own n-grams. The format is described in
``docs/search-index.md``; ``themes/default/static/search.js`` reads it in the browser and :func:`query` here (the
same rules, in Python, for tests).

Texts are normalised as the search page normalises a query (:func:`normalize`: whitespace removed, ASCII letters
lower-cased), so a query is found wherever it occurs in an article's indexed text, across spaces and line breaks.
A query of 1 to 3 code units is looked up as one n-gram (exact by construction); a longer one through the
positions of the 3-grams that cover it, so an article counts only when the whole string occurs in it.

Built with NumPy, whole arrays at a time: at 10,000 bench articles (11.7 million characters) the index costs a few
CPU-seconds, where a loop over the characters in Python costs ten times as much.
"""
from __future__ import annotations

import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from sitegen.searchdoc import Doc, shard_count

FORMAT = 2
"""Version of the file format (``docs/search-index.md``); part of ``index.json``."""

_ASCII_UPPER = re.compile(r"[A-Z]+")
_FNV_OFFSET, _FNV_PRIME = 2166136261, 16777619


def normalize(text: str) -> str:
    """``text`` as the index and the search page compare it: Unicode whitespace removed, ``A``–``Z`` lower-cased
    (other letters untouched), NUL removed (it separates articles in the index)."""
    text = "".join(text.split()).replace("\0", "")  # str.split() splits at what \s matches, 3x faster than re
    return _ASCII_UPPER.sub(lambda m: m.group().lower(), text)  # str.translate looks up every character: slower


def fnv1a(units: np.ndarray) -> np.ndarray:
    """32-bit FNV-1a of each row of ``units`` (shape ``(n, 3)``, UTF-16 code units, 0 = none), over the code units'
    6 little-endian bytes; the same function as ``hash()`` in search.js. Returns uint64 values < 2**32."""
    h = np.full(len(units), _FNV_OFFSET, dtype=np.uint64)
    for col in range(3):
        for shift in (0, 8):
            h ^= (units[:, col] >> np.uint64(shift)) & np.uint64(0xFF)
            h = (h * np.uint64(_FNV_PRIME)) & np.uint64(0xFFFFFFFF)
    return h


def units_of(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(units, where, place)`` of normalised ``texts``: their UTF-16 code units joined by NUL (plus 3 NUL, uint16,
    shape ``(U,)``), the indices of the non-NUL units (int64, ``(W,)``), and for each of those its article number
    and offset in its article (int32, ``(2, W)``: half the memory traffic of int64 in :func:`family`)."""
    joined = "\0".join(texts) + "\0\0\0"
    units = np.frombuffer(joined.encode("utf-16-le"), "<u2")
    lens = np.array([len(t.encode("utf-16-le")) // 2 for t in texts], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lens + 1)[:-1])).astype(np.int64)
    where = np.flatnonzero(units[:-3] != 0)
    doc = np.repeat(np.arange(len(texts), dtype=np.int32), lens)
    return units, where, np.stack([doc, (where - starts[doc]).astype(np.int32)])


@dataclass(frozen=True)
class Family:
    """What :func:`family` returns. The n-grams of length ``n``: unique ``keys`` (48 bits: c1<<32 | c2<<16 | c3), per record its entries'
    range, per entry (key, article) its article, count and title flag, and for n == 3 each entry's positions."""

    keys: np.ndarray
    first: np.ndarray  # index of each record's first entry; plus one final bound
    docs: np.ndarray
    counts: np.ndarray
    titled: np.ndarray
    positions: np.ndarray | None  # in entry order, ascending within an entry (n == 3 only)


def family(n: int, units: np.ndarray, where: np.ndarray, place: np.ndarray, title_len: np.ndarray) -> Family:
    """The n-grams of length ``n`` (1-3) of the texts :func:`units_of` made ``units, where, place`` of, their
    records sorted by key and each record's entries by article; ``title_len`` holds each article's title length in
    code units (int64, one more element than articles)."""
    ok = units[where + 1] != 0 if n > 1 else slice(None)
    if n == 3:
        ok &= units[where + 2] != 0
    at = where[ok]
    cols = [units[at + k] for k in range(n)]
    order = np.argsort(cols[-1], kind="stable")  # radix sorts, one per code unit: keep article and position order
    for col in reversed(cols[:-1]):
        order = order[np.argsort(col[order], kind="stable")]
    cols = [col[order] for col in cols]
    doc, rel = place[0][ok][order], place[1][ok][order]
    new_entry = np.ones(len(order), dtype=bool)
    new_rec = np.zeros(len(order), dtype=bool)
    for col in cols:
        new_rec[1:] |= col[1:] != col[:-1]
    new_rec[:1] = True  # none when no text has an n-gram of this length
    new_entry[1:] = new_rec[1:] | (doc[1:] != doc[:-1])
    entry_start = np.flatnonzero(new_entry)
    counts = np.diff(np.append(entry_start, len(order)))
    titled = np.maximum.reduceat((rel + n <= title_len[doc]).astype(np.uint8), entry_start) if len(order) else \
        np.zeros(0, np.uint8)
    rec_at = np.flatnonzero(new_rec)
    key = cols[0][rec_at].astype(np.uint64) << np.uint64(32)
    for k in range(1, n):
        key |= cols[k][rec_at].astype(np.uint64) << np.uint64(32 - 16 * k)
    first = np.append(np.searchsorted(entry_start, rec_at), len(entry_start))
    return Family(key, first, doc[entry_start], counts, titled, rel if n == 3 else None)


def segments(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(int64) Indices ``starts[0] .. starts[0]+lengths[0]-1, starts[1] ..`` as one array (gathers records in a new order)."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)


def deltas(values: np.ndarray, group_first: np.ndarray) -> np.ndarray:
    """``values`` (1-D) as differences from the previous value, restarting at each index in ``group_first`` (valid
    indices into ``values``), same dtype."""
    out = values.copy()
    if len(values) > 1:
        out[1:] = values[1:] - values[:-1]
    out[group_first] = values[group_first]
    return out


def unit_rows(keys: np.ndarray) -> np.ndarray:
    """The 48-bit n-gram ``keys`` (uint64, ``(n,)``) as their code units, uint64 ``(n, 3)``."""
    return np.stack([(keys >> np.uint64(s)) & np.uint64(0xFFFF) for s in (32, 16, 0)], axis=1)


def title_length(doc: Doc, text: str) -> int:
    """Code units of ``doc``'s normalised title when its normalised ``text`` begins with it (a match ending within
    them is a title match), else 0."""
    title = normalize(doc.title)
    return len(title.encode("utf-16-le")) // 2 if text.startswith(title) else 0


def planes(values: np.ndarray) -> bytes:
    """``values`` (non-negative integers below 2**32) as little-endian ``u32`` split into four **byte planes**: the
    lowest byte of every value, then the second byte of every value, and so on (``4 × len(values)`` bytes). The
    high planes of small numbers are runs of zeros that zlib all but removes: on the bench corpus shards are 29 %
    (``s/``) and 17 % (``p/``) smaller than plain ``u32`` and compress faster."""
    return np.ascontiguousarray(values.astype("<u4").view("u1").reshape(-1, 4).T).tobytes()


def positions_file(raw: bytes) -> np.ndarray:
    """The position differences (int64) of an uncompressed ``p/<shard>.bin``: its ``u32`` count, then :func:`planes`."""
    return unplanes(raw, 4, int(np.frombuffer(raw, "<u4", 1)[0]))


def unplanes(raw: bytes, offset: int, n: int) -> np.ndarray:
    """The ``n`` values (int64) that :func:`planes` wrote at byte ``offset`` of ``raw``. Raises ``ValueError``
    when ``raw`` is too short."""
    b = np.frombuffer(raw, "u1", 4 * n, offset).reshape(4, n).astype(np.int64)
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)


def build(docs: Sequence[Doc], *, first: int = 0, level: int = 1, fast: int = 1,
          version: str | None = None) -> dict[str, bytes]:
    """The index files of one block of articles, ``docs``, as ``{path relative to the block's folder: bytes}``.
    An article's number in the site is ``first`` + its position in ``docs`` (give them oldest first, so that the
    highest number is the newest article); inside the block's files it is its position. Files: ``index.json``,
    ``docs.bin``, ``s/<shard>.bin``, ``p/<shard>.bin`` and ``d/<article>.bin`` (``docs/search-index.md``).
    ``level`` is zlib's compression level of what every query fetches (``s/``, ``p/``, ``docs.bin``; on a
    2,048-article bench block level 6 makes shards 12 % smaller than 1 for about three times its time), ``fast``
    that of the articles (``d/``: level 6 saves 4 % for 1.3 times the time).
    ``version`` is ``index.json``'s version (default: a digest of the other files; a caller that knows a digest of
    what the block is made from passes that, and must give the same one whenever the docs are the same). The same
    docs always give the same bytes."""
    texts = [normalize(d.text) for d in docs]
    title_len = np.array([title_length(d, t) for d, t in zip(docs, texts)] + [0], dtype=np.int64)
    units, where, place = units_of(texts)
    families = [family(n, units, where, place, title_len) for n in (1, 2, 3)]
    shards = shard_count(len(docs))
    files: dict[str, bytes] = {}
    keys = np.concatenate([f.keys for f in families])
    fam_of = np.concatenate([np.full(len(f.keys), n, dtype=np.int64) for n, f in enumerate(families, 1)])
    rec_first = np.concatenate([f.first[:-1] + off for f, off in zip(families, _offsets([len(f.docs) for f in families]))])
    rec_len = np.concatenate([np.diff(f.first) for f in families])
    e_doc = np.concatenate([f.docs for f in families])
    e_count = np.concatenate([f.counts for f in families])
    e_title = np.concatenate([f.titled for f in families])
    shard = (fnv1a(unit_rows(keys)) % np.uint64(shards)).astype(np.int64)
    order = np.argsort(shard, kind="stable")
    keys, fam_of, rec_first, rec_len, shard = keys[order], fam_of[order], rec_first[order], rec_len[order], shard[order]
    gather = segments(rec_first, rec_len)
    new_first = np.cumsum(rec_len) - rec_len
    docs_d = deltas(e_doc[gather], new_first)
    tf = e_count[gather].astype(np.uint64) | (e_title[gather].astype(np.uint64) << np.uint64(31))
    records = (fam_of, rec_first, rec_len)
    trigrams = (families[2], np.concatenate(([0], np.cumsum(families[2].counts))),  # entry → its first position
                len(families[0].docs) + len(families[1].docs))  # trigram entries' offset in the entry arrays
    bounds = np.searchsorted(shard, np.arange(shards + 1))
    rows = unit_rows(keys).astype("<u2")
    for s in range(shards):
        a, b = bounds[s], bounds[s + 1]
        head = np.zeros((b - a, 6), dtype="<u2")
        head[:, :3] = rows[a:b]
        head[:, 4] = (rec_len[a:b] & 0xFFFF).astype("<u2")
        head[:, 5] = (rec_len[a:b] >> 16).astype("<u2")
        ea, eb = (int(new_first[a]), int(new_first[b - 1] + rec_len[b - 1])) if b > a else (0, 0)
        raw = b"".join((np.uint32(b - a).tobytes(), head.tobytes(), planes(docs_d[ea:eb]), planes(tf[ea:eb])))
        files[f"s/{s}.bin"] = zlib.compress(raw, level)
        files[f"p/{s}.bin"] = zlib.compress(_positions(a, b, records, trigrams), level)
    files["docs.bin"] = zlib.compress(_doc_table(docs, texts, title_len), level)
    for i, d in enumerate(docs):
        files[f"d/{i}.bin"] = doc_file(d, fast)
    if version is None:
        digest = hashlib.blake2b(digest_size=8)
        for name in sorted(files):
            digest.update(f"{name}\0{len(files[name])}\0".encode())
            digest.update(files[name])
        version = digest.hexdigest()
    files["index.json"] = index_json(manifest(docs, shards, texts, first), version)
    return files


def index_json(meta: dict, version: str) -> bytes:
    """The ``index.json`` bytes of a block: :func:`manifest`'s ``meta`` with ``version`` (UTF-8 JSON, keys
    sorted)."""
    return json.dumps({**meta, "version": version}, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _offsets(lengths: Sequence[int]) -> list[int]:
    out, total = [], 0
    for n in lengths:
        out.append(total)
        total += n
    return out


def _positions(a: int, b: int, records: tuple, trigrams: tuple) -> bytes:
    """The ``p/<shard>.bin`` bytes of the shard whose records are ``a``…``b-1`` of ``records`` (family, first
    entry, entries, in shard order): its 3-gram records in that order, each entry's positions as differences (the
    first from 0, as :func:`planes`). ``trigrams`` is the 3-gram family, each entry's first position in it, and the
    offset of its entries in the concatenated entry arrays."""
    fam_of, rec_first, rec_len = records
    tri, tri_pos_first, base = trigrams
    sel = np.flatnonzero(fam_of[a:b] == 3) + a
    entries = segments(rec_first[sel] - base, rec_len[sel])
    counts = tri.counts[entries]
    pos_idx = segments(tri_pos_first[entries], counts)
    starts = np.cumsum(counts) - counts
    gaps = deltas(tri.positions[pos_idx], starts)
    return np.uint32(len(gaps)).tobytes() + planes(gaps)


def _doc_table(docs: Sequence[Doc], texts: Sequence[str], title_len: np.ndarray) -> bytes:
    length = np.array([len(t.encode("utf-16-le")) // 2 for t in texts], dtype=np.int64)
    return doc_table(length, title_len[:-1], [d.category for d in docs], [d.column for d in docs])


def doc_table(length: np.ndarray, title_len: np.ndarray, categories: Sequence[str], columns: Sequence[str]) -> bytes:
    """The uncompressed ``docs.bin`` of a block from its articles' normalised text and title lengths (code units,
    int64, capped at 65535 here) and category and column names (``""``: none)."""
    cats = {c: i for i, c in enumerate(sorted({c for c in categories if c}), 1)}
    cols = {c: i for i, c in enumerate(sorted({c for c in columns if c}), 1)}
    cat = np.array([cats.get(c, 0) for c in categories], dtype="u1")
    col = np.array([cols.get(c, 0) for c in columns], dtype="u1")
    return (np.minimum(length, 0xFFFF).astype("<u2").tobytes() + np.minimum(title_len, 0xFFFF).astype("<u2").tobytes()
            + cat.tobytes() + col.tobytes())


def doc_file(doc: Doc, level: int = 6) -> bytes:
    """The ``d/<article>.bin`` bytes of ``doc``: zlib-compressed JSON ``{"u", "t", "d", "c", "k", "x", "b"}`` (URL,
    title, date, category, column, text, where its body begins)."""
    data = {"u": doc.url, "t": doc.title, "d": doc.date, "c": doc.category, "k": doc.column, "x": doc.text,
            "b": doc.body}
    return zlib.compress(json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8"), level)


def manifest(docs: Sequence[Doc], shards: int, texts: Sequence[str], first: int = 0) -> dict:
    """The ``index.json`` of a block: format, number of its first article, article and shard counts, category and
    column names (1-based in ``docs.bin``), mean text length in code units."""
    total = sum(len(t.encode("utf-16-le")) // 2 for t in texts)
    return block_meta(first, shards, [d.category for d in docs], [d.column for d in docs], total)


def block_meta(first: int, shards: int, categories: Sequence[str], columns: Sequence[str], total: int) -> dict:
    """:func:`manifest` from its parts: the articles' category and column names (one each, ``""`` = none) and
    ``total``, the sum of their normalised text lengths in code units."""
    docs = len(categories)
    return {"format": FORMAT, "first": first, "docs": docs, "shards": shards,
            "categories": sorted({c for c in categories if c}), "columns": sorted({c for c in columns if c}),
            "avglen": round(total / docs, 1) if docs else 0}


K1, B = 1.2, 0.75
"""BM25's parameters (Robertson & Zaragoza 2009, the usual values), in :func:`query` and search.js alike."""


def cover(length: int) -> list[int]:
    """Offsets of the 3-grams whose positions prove that a string of ``length`` (≥ 4) code units occurs: every third
    code unit, plus the last 3-gram (``cover(8) == [0, 3, 5]``)."""
    return sorted(set(range(0, length - 2, 3)) | {length - 3})


class Reader:
    """The index files (``{relative path: bytes}``, as :func:`build` returns them or as read from ``output/search/``)
    opened for :func:`query`, as the search page reads them."""

    def __init__(self, files: Mapping[str, bytes]):
        self.files = files
        self.meta = json.loads(files["index.json"])
        n = self.meta["docs"]
        table = zlib.decompress(files["docs.bin"])
        self.length = np.frombuffer(table, "<u2", n, 0)
        self.title_len = np.frombuffer(table, "<u2", n, 2 * n)
        self.category = np.frombuffer(table, "u1", n, 4 * n)
        self.column = np.frombuffer(table, "u1", n, 5 * n)

    def record(self, units: Sequence[int], positions: bool = False):
        """``(articles, counts, title flags, positions per entry or None)`` of the n-gram ``units`` (1–3 code units);
        empty arrays when no article has it."""
        key = tuple(units) + (0,) * (3 - len(units))
        s = int(fnv1a(np.array([key], dtype=np.uint64))[0] % self.meta["shards"])
        raw = zlib.decompress(self.files[f"s/{s}.bin"])
        count = int(np.frombuffer(raw, "<u4", 1)[0])
        head = np.frombuffer(raw, "<u2", count * 6, 4).reshape(count, 6)
        ndocs = head[:, 4].astype(np.int64) | (head[:, 5].astype(np.int64) << 16)
        first = np.cumsum(ndocs) - ndocs
        total = int(ndocs.sum())
        base = 4 + 12 * count
        hit = np.flatnonzero((head[:, 0] == key[0]) & (head[:, 1] == key[1]) & (head[:, 2] == key[2]))
        if not len(hit):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty.astype(bool), ([] if positions else None)
        i = int(hit[0])
        a, n = int(first[i]), int(ndocs[i])
        docs = np.cumsum(unplanes(raw, base, total)[a:a + n])
        tf_all = unplanes(raw, base + 4 * total, total)
        tf = tf_all[a:a + n]
        pos = None
        if positions:
            tri = (head[:, 1] != 0) & (head[:, 2] != 0)
            praw = zlib.decompress(self.files[f"p/{s}.bin"])
            counts_all = tf_all & 0x7FFFFFFF
            trig_counts = np.concatenate([counts_all[first[j]:first[j] + ndocs[j]] for j in range(i) if tri[j]] or
                                         [np.zeros(0, np.int64)])
            off = int(trig_counts.sum())
            flat = positions_file(praw)
            pos, own = [], tf & 0x7FFFFFFF
            for c in own:
                pos.append(np.cumsum(flat[off:off + c]))
                off += int(c)
        return docs, tf & 0x7FFFFFFF, (tf >> 31).astype(bool), pos


def open_blocks(files: Mapping[str, bytes]) -> list[Reader]:
    """A :class:`Reader` for each block of an index folder's files (``{"b0/index.json": bytes, …}``, paths relative
    to ``search-index/``), in block order."""
    blocks: dict[str, dict[str, bytes]] = {}
    for rel, data in files.items():
        block, _, rest = rel.partition("/")
        blocks.setdefault(block, {})[rest] = data
    return [Reader(blocks[b]) for b in sorted(blocks, key=lambda b: int(b[1:]))]


def _term(reader: Reader, term: str) -> dict[int, tuple[int, bool]]:
    """``{article: (occurrences, occurs in the title)}`` of the articles containing ``term`` (normalised)."""
    units = list(np.frombuffer(term.encode("utf-16-le"), "<u2"))
    if len(units) <= 3:
        docs, tf, titled, _ = reader.record(units)
        return {int(d): (int(c), bool(t)) for d, c, t in zip(docs, tf, titled)}
    offsets = cover(len(units))
    recs = [reader.record(units[o:o + 3], positions=True) for o in offsets]
    common = set(recs[0][0].tolist())
    for r in recs[1:]:
        common &= set(r[0].tolist())
    out = {}
    for d in common:
        sets = [set(r[3][int(np.searchsorted(r[0], d))].tolist()) for r in recs]
        starts = [p for p in sets[0] if all(p + o in s for o, s in zip(offsets[1:], sets[1:]))]
        if starts:
            out[d] = (len(starts), min(starts) + len(units) <= int(reader.title_len[d]))
    return out


def query(readers: Reader | Sequence[Reader], q: str, *, newest: bool = False, section: str = "") -> list[int]:
    """The articles (numbers in the site, see :func:`build`) that answer ``q`` as the search page ranks them, over
    the index's blocks ``readers``: every whitespace-separated term must occur in the article (:func:`normalize`
    applied to both); ranked by the number of terms found in the title, then BM25 (:data:`K1`, :data:`B`; a
    term's frequency is how often the whole term occurs, its document frequency is counted over all blocks, the
    mean length is the article's block's), then newest first; with ``newest``, newest first only. ``section``
    (``category:名称`` or ``column:名称``) keeps the articles of that category or column."""
    readers = [readers] if isinstance(readers, Reader) else list(readers)
    terms = [t for t in (normalize(x) for x in q.split()) if t]
    if not terms:
        return []
    found = [[_term(r, t) for t in terms] for r in readers]
    dfs = [sum(len(f[k]) for f in found) for k in range(len(terms))]
    ranked = []
    for reader, per_term in zip(readers, found):
        docs = set(per_term[0])
        for f in per_term[1:]:
            docs &= set(f)
        first, n_all, avg = reader.meta["first"], sum(r.meta["docs"] for r in readers), reader.meta["avglen"] or 1.0
        for d in _filtered(reader, docs, section):
            title, score = 0, 0.0
            for f, df in zip(per_term, dfs):
                tf, in_title = f[d]
                idf = np.log(1 + (n_all - df + 0.5) / (df + 0.5))
                score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * int(reader.length[d]) / avg))
                title += in_title
            ranked.append((0, 0, -(first + d)) if newest else (-title, -round(float(score), 6), -(first + d)))
    return [-key[2] for key in sorted(ranked)]


def _filtered(reader: Reader, docs: set[int], section: str) -> set[int]:
    kind, _, name = section.partition(":")
    names = reader.meta["categories"] if kind == "category" else reader.meta["columns"] if kind == "column" else None
    if names is None:
        return docs
    want = names.index(name) + 1 if name in names else -1
    table = reader.category if kind == "category" else reader.column
    return {d for d in docs if int(table[d]) == want}
