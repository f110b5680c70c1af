"""Correcting articles of a search index block in place (sitegen/searchpatch.py) gives exactly the bytes of the
block indexed whole: appended, prepended and cut texts, new titles, categories that appear and vanish."""
from __future__ import annotations

import random

import pytest

from sitegen import searchindex as si
from sitegen import searchpatch as sp
from test_searchindex import corpus, draw, truth


def _edit(doc: si.Doc, rng: random.Random) -> si.Doc:
    kind = rng.random()
    text = (doc.text + "\n追加一段文字。\n" if kind < 0.3 else "前言App 12338" + doc.text if kind < 0.6
            else doc.text[:len(doc.text) // 2] if kind < 0.8 else doc.text)
    title = doc.title + "新" if rng.random() < 0.3 else doc.title
    category = rng.choice(["工作动态", "基层动态", "新的分类", ""])
    return si.Doc(doc.url, title, doc.date, category, rng.choice(["", "改革进行时", "新专栏"]), text)


@pytest.mark.parametrize("seed", [1, 2])
def test_patched_blocks_are_the_blocks_indexed_whole(seed):
    docs = corpus(300, seed)
    files = si.build(docs, first=2048, version="v0")
    rng = random.Random(seed)
    for step in range(25):
        changed = {i: _edit(docs[i], rng) for i in rng.sample(range(len(docs)), rng.randint(1, 4))}
        docs = [changed.get(i, d) for i, d in enumerate(docs)]
        want = si.build(docs, first=2048, version=f"v{step + 1}")
        got = sp.patch(files.__getitem__, changed, version=f"v{step + 1}")
        assert set(got) <= set(want) and "index.json" in got
        assert {**files, **got} == want, step
        files = want
    reader = si.Reader(files)
    for _ in range(100):
        q = draw(docs, rng)
        assert sorted(si.query(reader, q)) == sorted(d + 2048 for d in truth(docs, q)), q


def test_appending_a_paragraph_rewrites_few_shards():
    docs = corpus(300, 3)
    files = si.build(docs, version="a")
    doc = docs[0]
    got = sp.patch(files.__getitem__, {0: si.Doc(doc.url, doc.title, doc.date, doc.category, doc.column,
                                                 doc.text + "追加一段文字。")}, version="b")
    shards = [f for f in got if f.startswith("s/")]
    assert 0 < len(shards) <= 30 < si.shard_count(300) * 0.5 and {"docs.bin", "d/0.bin", "index.json"} <= set(got)


def test_a_foreign_article_or_a_capped_length_is_not_patched():
    docs = corpus(20, 4)
    files = si.build(docs, version="a")
    doc = docs[3]
    assert sp.patch(files.__getitem__, {3: si.Doc("/other/", doc.title, doc.date, "", "", "正文")}, version="b") \
        is None
    long = si.Doc(doc.url, doc.title, doc.date, "", "", "长" * 70000)
    assert sp.patch(files.__getitem__, {3: long}, version="b") is None


def test_empty_and_short_texts_are_indexed_and_patched():
    docs = [si.Doc("/a/", "", "2024-01-01", "", "", ""), si.Doc("/b/", "x", "2024-01-02", "", "", "ab")]
    files = si.build(docs, version="a")
    assert si.query(si.Reader(files), "ab") == [1] and si.build(docs[:1])
    changed = {0: si.Doc("/a/", "标题", "2024-01-01", "", "", "标题 正文"), 1: si.Doc("/b/", "", "2024-01-02", "", "", "")}
    assert {**files, **sp.patch(files.__getitem__, changed, version="b")} == si.build(list(changed.values()), version="b")
