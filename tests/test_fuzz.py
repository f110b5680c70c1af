"""Property-based fuzz of front matter and ``site.yaml`` (Hypothesis): whatever an editor, a broken tool or an
attacker writes, sitegen answers with problems at ``file:line`` (a code, a message, a hint for errors) and never a
traceback, and a configuration it accepts can be used (every permalink pattern fills in).

Inputs are made two ways: mutations of a valid file (a line replaced, removed, doubled, re-indented, a value swapped
for one of the issue-21 payloads) and files written from scratch out of YAML's punctuation, anchors and aliases,
CJK text, control and bidi characters. The suite runs a few dozen examples (``ci`` profile, seconds); ``make fuzz``
runs 10,000 per property with a 5-second deadline per example (``fuzz`` profile; both in conftest.py) and prints the
slowest."""
from __future__ import annotations

import re
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitegen import config as configmod
from sitegen.build import plan as planmod
from sitegen import content
from sitegen.errors import ConfigError
from sitegen.frontmatter import KNOWN_KEYS

REPO = Path(__file__).resolve().parents[1]
SITE_YAML = (REPO / "site.yaml").read_text("utf-8")
ARTICLE = """---
title: 河北省妇联召开十三届六次常委（扩大）会议
date: 2026-11-28 09:30
updated: 2026-11-29
category: 工作动态
column: 改革进行时
tags: [妇联改革, 基层组织]
author: 省妇联办公室
slug: changwei-huiyi
weight: 10
photos:
  - {src: photos/2026/a.jpg, caption: 会议现场, credit: 田野}
aliases: [/old/1.html]
---

会议指出：要**深化**妇联改革。<b>加粗</b> [链接](other.md)
"""

PAYLOADS = ["javascript:alert(8)", "</script><script>alert(8)</script>", "/../../{slug}/", "[1]", "1e400",
            "раураl", "妇联\u202e工作", "a\u200bb", "2026-13-01", "1999-01-01", "&a [1, 2]", "*a", "*b", "&a [*a]",
            "[" * 60 + "]" * 60, "{a: " * 55 + "1" + "}" * 55, "'", '"', "|", ">", "~", "- x", "：", "title：x", "\t",
            "null", "yes", "{slug.__class__}", "/{year}/{slug}/", "data:text/html,x", "\\\\evil", "<<: *a",
            "!!python/object:os.system", "%YAML 1.1", "---", "...", "# 注释", "? x", "{", "}", "[", "]", "@", "`",
            "\x00", "\x08", "\ud800", "\ufeff", "🙂", "〇", "C++", "政治", "Москва", "а"]
ALPHABET = st.sampled_from(list("abcxyz019 -_:：，。,.#&*!|>'\"[]{}()<>/\\\t\n妇联改革〇\u202e\u200bабв\x00\x08%?@`~"))
slowest = {"wall": 0.0, "cpu": 0.0}  # seconds of the slowest example, printed (the fuzz profile's deadline: 5 s)


def _text(max_size: int = 30):
    return st.one_of(st.text(ALPHABET, max_size=max_size), st.sampled_from(PAYLOADS), st.text(max_size=max_size))


@st.composite
def mutated(draw, base: str) -> str:
    """``base`` with a few lines replaced, removed, doubled or re-indented, or a value swapped for a payload."""
    lines = base.split("\n")
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["value", "value", "line", "drop", "dup", "indent", "insert"]))
        if op == "value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {draw(_text())}"
        elif op == "line":
            lines[i] = draw(_text(60))
        elif op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip()
        else:
            lines.insert(i, f"{draw(st.sampled_from(['tags', 'menu', 'x', 'permalinks', 'limits', 'deploy']))}: "
                            f"{draw(_text())}")
    return "\n".join(lines)


@st.composite
def scratch_yaml(draw) -> str:
    """A YAML-looking document written from nothing: keys, flow and block collections, anchors and aliases."""
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        indent = " " * draw(st.sampled_from([0, 0, 0, 2, 4, 1]))
        key = draw(st.one_of(st.sampled_from(sorted(KNOWN_KEYS) + list(configmod.TOP_KEYS)),
                             st.text(ALPHABET, min_size=1, max_size=8)))
        lead = draw(st.sampled_from(["", "- ", "-", "? "]))
        rows.append(f"{indent}{lead}{key}: {draw(_text())}")
    return "\n".join(rows)


def check_problems(problems, path: str) -> None:
    """Every problem is at ``path:line`` with a line, a code from the catalogue, a message; errors have a hint."""
    for p in problems:
        shown = str(p)
        assert p.location.path == path and p.location.line >= 1, shown
        assert re.fullmatch(r"[EW]\d{3}", p.code) and p.message, shown
        assert p.severity == "warning" or p.hint, shown
        assert p.code.startswith("W") == (p.severity == "warning"), shown


@pytest.fixture(scope="module", autouse=True)
def report_slowest():
    yield
    print(f"\nfuzz: slowest example {slowest['wall']:.3f} s wall, {slowest['cpu']:.3f} s CPU")


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "site.yaml").write_text(SITE_YAML, "utf-8")
    return configmod.load(root)


def timed(fn):
    """``fn()``, its wall and CPU time kept if the slowest so far (CPU time: other work on a shared machine does
    not count)."""
    start, cpu = time.perf_counter(), time.process_time()
    try:
        return fn()
    finally:
        slowest["wall"] = max(slowest["wall"], time.perf_counter() - start)
        slowest["cpu"] = max(slowest["cpu"], time.process_time() - cpu)


@given(st.one_of(mutated(ARTICLE), scratch_yaml().map(lambda y: f"---\n{y}\n---\n\n正文"),
                 st.tuples(mutated(ARTICLE), _text(200)).map(lambda t: t[0] + "\n" + t[1]),
                 st.binary(max_size=300)))
def test_front_matter_never_raises_and_reports_at_file_line(cfg, text):
    rel = "content/2026/11/fuzz.md"
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    parsed = timed(lambda: content.parse_page(content.Source(rel, "article"), data, cfg))
    check_problems(parsed.problems, rel)
    if parsed.page is not None:
        page = parsed.page
        assert page.url.startswith("/") and page.url.endswith("/") and "/../" not in page.url
        assert isinstance(page.date, datetime) and page.title
    else:
        assert any(p.severity == "error" for p in parsed.problems)


@given(st.one_of(mutated(SITE_YAML), mutated(SITE_YAML), scratch_yaml(), st.binary(max_size=300)))
def test_site_yaml_never_raises_and_reports_at_file_line(text):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "site.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            config = timed(lambda: configmod.load(path))
        except ConfigError as exc:
            assert exc.problems
            for p in exc.problems:  # a file-level problem (not UTF-8) has no line
                assert p.location.path == "site.yaml" and (p.location.line >= 1 or p.code == "E900"), str(p)
                assert re.fullmatch(r"E9\d\d|E10\d", p.code) and p.message and p.hint, str(p)
            return
    when = datetime(2026, 11, 28, 9, 30, tzinfo=config.tz)
    for kind in configmod.DEFAULT_PERMALINKS:
        url = content.permalink(config, kind, "slug", when, config.categories[0], None)
        assert url.startswith("/") and ".." not in url.split("/")
    assert all(".." not in path.split("/") for path in planmod.reserved(config))  # the plan's own URLs stay inside
    for item in config.menu:
        assert not re.match(r"\s*(javascript|data|vbscript):", item.url, re.I)
