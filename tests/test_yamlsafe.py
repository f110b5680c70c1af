"""sitegen.yamlsafe: strings stay strings, lines of keys, duplicate keys, and the editors' slips (tabs, full-width
colons as key separators, unquoted ``: ``) told apart from ordinary Chinese punctuation in values."""
from __future__ import annotations

import pytest

from sitegen import yamlsafe


def load(text: str):
    return yamlsafe.load(text, "content/a.md", first_line=2)


def problem(text: str) -> str:
    with pytest.raises(yamlsafe.YamlProblem) as info:
        load(text)
    return str(info.value.problem)


def test_scalars_stay_exact_text_with_lines():
    got = load("title: 1.10\ntags: [NO, On, 2024, ~]\ndraft: yes\nphotos:\n  - src: a.jpg\n    caption: 说明\n")
    assert got.value == {"title": "1.10", "tags": ["NO", "On", "2024", None], "draft": "yes",
                         "photos": [{"src": "a.jpg", "caption": "说明"}]}
    assert got.lines[("title",)] == 2 and got.lines[("photos", 0, "caption")] == 7
    assert got.warnings == ()


def test_duplicate_key():
    assert problem("title: a\nauthor: b\ntitle: c\n") == "content/a.md:4: E106: 键“title”重复出现（第 2 行已有）（删除其中一个）"


@pytest.mark.parametrize("text, value", [
    ("tags:\n  - 主题：妇联\n  - 家风\n", {"tags": ["主题：妇联", "家风"]}),
    ("summary: |\n  会议指出：要加强基层组织建设。\n", {"summary": "会议指出：要加强基层组织建设。\n"}),
    ("summary: >\n  会议指出：要加强\n  第二行\n", {"summary": "会议指出：要加强 第二行\n"}),
    ("title:\n  两会观察：代表委员谈民生\n", {"title": "两会观察：代表委员谈民生"}),
    ("caption: 会议现场：代表发言\n", {"caption": "会议现场：代表发言"}),
    ("# 注释：说明\ntitle: x\n", {"title": "x"}),
    ("summary: 省妇联召开会议。\n  会议指出：要加强。\n", {"summary": "省妇联召开会议。 会议指出：要加强。"}),
])
def test_full_width_colons_in_values_are_prose(text, value):
    assert load(text).value == value


@pytest.mark.parametrize("text, expected", [
    ("title：两会\n", "content/a.md:2:6: E104: 键“title”后面用了全角冒号“：”（请改成半角冒号加空格“: ”）"),
    ("title: x\nauthor：张三\ndate: 2024-03-05\n", "content/a.md:3:7: E104: 键“author”后面用了全角冒号“：”（请改成半角冒号加空格“: ”）"),
    ("title: 两会\n  author：张三\n", "content/a.md:3:9: E104: 键“author”后面用了全角冒号“：”（请改成半角冒号加空格“: ”）"),
    ("photos:\n  - src: a.jpg\n    caption：说明\n",
     "content/a.md:4:12: E104: 键“caption”后面用了全角冒号“：”（请改成半角冒号加空格“: ”）"),
    ("title: x\ntags:\n\t- a\n", "content/a.md:4:1: E103: 缩进中有制表符（Tab）（YAML 只能用空格缩进，请把 Tab 换成两个空格）"),
])
def test_slips_are_reported_at_their_line(text, expected):
    assert problem(text) == expected


def test_unquoted_colon_is_read_with_warning():
    got = load("title: 两会观察: 代表委员谈民生\nauthor: 记者\n")
    assert got.value == {"title": "两会观察: 代表委员谈民生", "author": "记者"}
    assert [str(w) for w in got.warnings] == [
        "content/a.md:2: W105: “title”的值中含有未加引号的“: ”，已按原文读作文字（建议给整个值加上引号）"]


def test_other_syntax_errors_are_E101_with_line():
    assert problem("title: x\ntags: [a, b\n").startswith("content/a.md:")
    assert ": E101: YAML 格式错误：" in problem("title: x\ntags: [a, b\n")


@pytest.mark.parametrize("text, expected", [
    # the parser only notices at the end of the block; the editor needs the line where the quote or bracket opened
    ('title: "两会观察\ndate: 2024-03-05\ncategory: 工作动态\n',
     "content/a.md:2:8: E101: YAML 格式错误：引号或括号没有闭合"),
    ("title: x\ntags: [妇联, 基层\ndate: 2024-03-05\n",
     "content/a.md:3:7: E101: YAML 格式错误：方括号“[”没有闭合，或列表项之间缺少逗号"),
    ("title: x\nphotos:\n  - {src: a.jpg, caption: 说明\ndate: 2024-03-05\n",
     "content/a.md:4:5: E101: YAML 格式错误：花括号“{”没有闭合，或各项之间缺少逗号"),
])
def test_unclosed_quotes_and_brackets_are_reported_where_they_open(text, expected):
    assert problem(text).startswith(expected)


def laughs(depth: int) -> str:
    """The "billion laughs" document of issue 21: anchors nested ``depth`` deep, nine aliases each."""
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, depth)]
    return "\n".join(rows + ["title: 标题"]) + "\n"


@pytest.mark.parametrize("depth", [7, 9])
def test_alias_expansion_is_bounded(depth):
    # nine deep would be 9**9 nodes; refused at the alias that passes the bound, at once
    assert problem(laughs(depth)) == ("content/a.md:6: E108: 别名展开后超过 10000 项（到“*a3”为止）"
                                      "（不要用 & 锚点和 * 别名层层引用；请直接写出需要的值）")


def test_small_aliases_still_work_and_self_reference_is_refused():
    assert load("a: &x 妇联\nb: *x\nc: [*x, *x]\n").value == {"a": "妇联", "b": "妇联", "c": ["妇联", "妇联"]}
    assert problem("a: &a [1, *a]\n").startswith("content/a.md:2: E108: 别名“*a”引用了包含它自身的内容")


@pytest.mark.parametrize("text, line", [
    ("tags: " + "[" * 600 + "]" * 600 + "\n", 2),
    ("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 600)) + "  " * 600 + "v\n", 52),
    ("x: " + "{a: " * 51 + "1" + "}" * 51 + "\n", 2),
])
def test_deep_nesting_is_an_error_at_its_line_not_a_recursion_error(text, line):
    assert problem(text) == (f"content/a.md:{line}: E107: 列表或键值的嵌套超过 50 层"
                             "（检查方括号、花括号和缩进是否成对；front matter 一般只需两三层）")


def test_nesting_up_to_the_limit_is_read():
    value = load("x: " + "[" * 49 + "1" + "]" * 49 + "\n").value["x"]
    for _ in range(48):
        value = value[0]
    assert value == ["1"]
