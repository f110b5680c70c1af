"""The search index's query rules, in Python (sitegen/searchindex.py ``query``; search.js applies the same rules in
the browser, tests/test_search.py): every article containing every term is found and no other, whitespace and
ASCII case ignored; title matches first, then relevance, then newest; 按时间 newest first; the same input gives
the same bytes."""
from __future__ import annotations

import os
import random

import pytest

from sitegen import searchindex as si

WORDS = ["妇联", "改革", "家风", "巾帼", "志愿", "服务", "社区", "建设", "美丽庭院", "执委", "培训", "维权", "12338",
         "热线", "App", "2026年", "儿童", "之家", "家庭", "教育", "的", "了", "和", "推进", "会议"]


def corpus(n: int, seed: int) -> list[si.Doc]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        title = "".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5)))
        body = "".join(rng.choice(WORDS) + rng.choice(["", "，", "。", " ", "\n"]) for _ in range(rng.randint(5, 80)))
        docs.append(si.Doc(f"/a/{i}/", title, f"2024-01-{i % 28 + 1:02d}", rng.choice(["工作动态", "基层动态"]),
                           rng.choice(["", "", "改革进行时"]), f"{title} 发布时间：2024年 {body}"))
    return docs


def truth(docs: list[si.Doc], q: str) -> set[int]:
    terms = [si.normalize(t) for t in q.split()]
    return {i for i, d in enumerate(docs) if terms and all(t in si.normalize(d.text) for t in terms)}


def draw(docs: list[si.Doc], rng: random.Random) -> str:
    text = si.normalize(rng.choice(docs).text)
    at, n = rng.randrange(len(text)), rng.choice([1, 2, 3, 4, 5, 7, 9, 12])
    q = text[at:at + n]
    kind = rng.random()
    if kind < 0.15:
        return q.upper()
    if kind < 0.3:
        return " ".join(q)[:3] + " " + si.normalize(rng.choice(docs).text)[:2]
    if kind < 0.4:
        return rng.choice("的了和") + rng.choice("执委维权")
    return q


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_article_containing_the_query_is_found_and_only_those(seed):
    docs = corpus(300, seed)
    reader = si.Reader(si.build(docs))
    rng = random.Random(seed)
    for _ in range(300):
        q = draw(docs, rng)
        got = si.query(reader, q)
        assert len(got) == len(set(got))
        assert set(got) == truth(docs, q), q
        assert si.query(reader, q, newest=True) == sorted(truth(docs, q), reverse=True)


def test_whitespace_and_ascii_case_are_ignored_and_terms_are_anded():
    docs = [si.Doc("/a/", "标题", "2024-01-01", "", "", "拨打 12338 热线，下载 APP 参加培训"),
            si.Doc("/b/", "另一篇", "2024-01-02", "", "", "12338热线 开通"),
            si.Doc("/c/", "第三篇", "2024-01-03", "", "", "热线 电话 app")]
    reader = si.Reader(si.build(docs))
    assert sorted(si.query(reader, "12338热线")) == [0, 1]
    assert sorted(si.query(reader, "App")) == [0, 2]
    assert si.query(reader, "app 培训") == [0]
    assert si.query(reader, "  ") == [] and si.query(reader, "不存在的词") == []
    assert sorted(si.query(reader, "热")) == [0, 1, 2]


def test_sharing_single_characters_is_not_a_match():
    docs = [si.Doc("/a/", "甲", "2024-01-01", "", "", "妇女联合会推进改革"),
            si.Doc("/b/", "乙", "2024-01-02", "", "", "妇联改革")]
    reader = si.Reader(si.build(docs))
    assert si.query(reader, "妇联") == [1]
    assert si.query(reader, "联合会推进改") == [0]
    assert si.query(reader, "妇联合") == []


def test_title_matches_come_first_then_relevance_then_newest():
    docs = [si.Doc("/old-title/", "家风建设", "2024-01-01", "", "", "家风建设 正文一次家风"),
            si.Doc("/many/", "会议", "2024-01-02", "", "", "会议 家风家风家风家风 家风"),
            si.Doc("/once/", "通知", "2024-01-03", "", "", "通知 家风"),
            si.Doc("/once-newer/", "通知", "2024-01-04", "", "", "通知 家风"),
            si.Doc("/new-title/", "谈家风", "2024-01-05", "", "", "谈家风 其他内容很长很长很长很长很长很长")]
    reader = si.Reader(si.build(docs))
    ranked = si.query(reader, "家风")
    assert set(ranked[:2]) == {0, 4}  # found in the title
    assert ranked[2:] == [1, 3, 2]  # more occurrences first; equal scores: newest first
    assert si.query(reader, "家风", newest=True) == [4, 3, 2, 1, 0]


def test_long_terms_in_the_title_are_found_by_position():
    docs = [si.Doc("/a/", "美丽庭院创建推进会", "2024-01-01", "", "", "美丽庭院创建推进会 今天"),
            si.Doc("/b/", "会议", "2024-01-02", "", "", "会议 美丽庭院创建推进会 美丽庭院创建推进会")]
    reader = si.Reader(si.build(docs))
    assert si.query(reader, "美丽庭院创建推进") == [0, 1]


def test_category_and_column_filters():
    docs = corpus(120, 9)
    reader = si.Reader(si.build(docs))
    for section, field in (("category:基层动态", "category"), ("column:改革进行时", "column")):
        want = {i for i in truth(docs, "妇联") if getattr(docs[i], field) == section.split(":")[1]}
        assert set(si.query(reader, "妇联", section=section)) == want and want


def test_the_same_articles_give_the_same_bytes():
    docs = corpus(200, 4)
    assert si.build(docs) == si.build(list(docs))
    files = si.build(docs)
    assert set(files) >= {"index.json", "docs.bin"} and len([f for f in files if f.startswith("d/")]) == 200


def test_shard_count_grows_with_the_site():
    assert si.shard_count(20) == 8 and si.shard_count(1000) == 512 and si.shard_count(10_000) == 4096
    assert si.cover(4) == [0, 1] and si.cover(8) == [0, 3, 5] and si.cover(9) == [0, 3, 6]


def test_blocks_answer_as_one_index_would_find():
    """An index cut into blocks (sitegen.search.BLOCK articles each) finds the same articles, numbered in the site,
    and lists them newest first for 按时间."""
    docs = corpus(250, 5)
    blocks = [si.Reader(si.build(docs[k:k + 100], first=k)) for k in range(0, 250, 100)]
    rng = random.Random(5)
    for _ in range(150):
        q = draw(docs, rng)
        assert sorted(si.query(blocks, q)) == sorted(truth(docs, q)), q
        assert si.query(blocks, q, newest=True) == sorted(truth(docs, q), reverse=True)


def test_clean_and_incremental_builds_answer_every_query_alike(tmp_path, monkeypatch):
    """Issue 18, target 3: a site built, then edited (an old article's text, a title, one article removed, one
    added) and built again, has the same index as a clean build of the edited site: the same files byte for byte,
    and 300 random queries answered alike. Blocks of 16 articles (the newest 1 to 4 in a block of their own), so that an
    edit re-indexes one block of several. Then a second round of corrections only (one article's text moved by a
    prepended sentence, another's title), which the build makes in place (sitegen/searchpatch.py), compared with
    a clean build again."""
    import shutil

    from conftest import build_site
    from sitegen import pool, search, searchpatch
    from sitegen_sites import article, make_site

    monkeypatch.setattr(search, "BLOCK", 16)
    monkeypatch.setattr(search, "RECENT", 4)
    record = tmp_path / "patched.txt"  # the build corrects blocks in a worker process: the spy writes a file
    real_patch = searchpatch.patch

    def spy(*args, **kw):
        files = real_patch(*args, **kw)
        with open(record, "a", encoding="utf-8") as f:
            f.write(f"{'1' if files is not None else '0'} {os.getpid()}\n")
        return files

    def patched() -> str:
        lines = record.read_text("utf-8").split() if record.exists() else []
        if pool.default_jobs() > 1:  # on a worker forked while the pages rendered (sitegen.pool.Warm)
            assert lines and str(os.getpid()) not in lines[1::2]
        return "".join(lines[0::2])

    monkeypatch.setattr(searchpatch, "patch", spy)
    docs = corpus(60, 11)
    files = {f"content/2025/{i:02d}.md": article(d.title, f"2025-{i // 28 + 1:02d}-{i % 28 + 1:02d} 09:00",
                                                 d.text.split(" ", 2)[-1]) for i, d in enumerate(docs)}
    root = make_site(tmp_path / "inc", files)
    assert build_site(root).ok
    content = root / "content" / "2025"
    (content / "03.md").write_text(article(docs[3].title, "2025-01-04 09:00", "妇联执委更正后的正文，维权热线12338。"),
                                   "utf-8")
    (content / "40.md").write_text(article("新的标题巾帼建功", "2025-02-13 09:00", docs[40].text), "utf-8")
    (content / "20.md").unlink()
    (content / "60.md").write_text(article("新增文章", "2025-03-05 09:00", "基层妇联组织改革推进会。"), "utf-8")
    assert build_site(root).ok
    clean = tmp_path / "clean"
    shutil.copytree(root / "content", clean / "content")
    shutil.copy2(root / "site.yaml", clean / "site.yaml")
    assert build_site(clean).ok

    def index_of(site):
        folder = site / "output" / search.shard_folder("b0").split("/")[0]
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    inc, fresh = index_of(root), index_of(clean)
    assert len({rel.split("/")[0] for rel in fresh}) >= 4 and inc == fresh
    _same_answers(inc, fresh, content, 3)
    assert patched() and "0" not in patched()  # 03.md's block kept its articles: corrected in place

    record.unlink()
    (content / "05.md").write_text(article(docs[5].title, "2025-01-06 09:00", "前言移动了位置。" + docs[5].text),
                                   "utf-8")
    (content / "33.md").write_text(article("改过的标题家风", "2025-02-06 09:00", docs[33].text), "utf-8")
    assert build_site(root).ok
    shutil.rmtree(clean)
    shutil.copytree(root / "content", clean / "content")
    shutil.copy2(root / "site.yaml", clean / "site.yaml")
    assert build_site(clean).ok
    inc, fresh = index_of(root), index_of(clean)
    assert inc == fresh and patched() == "11"
    _same_answers(inc, fresh, content, 4)


def _same_answers(inc: dict, fresh: dict, content, seed: int) -> None:
    """300 random queries drawn from the articles in ``content`` are answered alike by two index folders."""
    readers_inc, readers_fresh = si.open_blocks(inc), si.open_blocks(fresh)
    texts = [si.Doc("", "", "", "", "", (content / name).read_text("utf-8")) for name in sorted(
        p.name for p in content.glob("*.md"))]
    rng = random.Random(seed)
    found = 0
    for _ in range(300):
        q = draw(texts, rng)
        answer = si.query(readers_inc, q)
        assert answer == si.query(readers_fresh, q), q
        found += bool(answer)
    assert found > 150  # most queries find articles: the comparison is not of empty answers
