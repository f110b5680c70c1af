"""Every problem once, at its cause, in one run (issue 17, point 5): all tabs of a file, the body's checks on a file
whose front matter has errors, the line and the day of a date that does not exist, an unedited ``sitegen new``
skeleton reported by ``build`` (and fatal under ``--strict``), tags written with Chinese separators."""
from __future__ import annotations

from conftest import build_site, make_site, run_cli
from sitegen import config as configmod
from sitegen import content


def lines_of(report) -> list[str]:
    return [str(p) for p in report.problems]


def test_two_tabs_and_a_broken_link_give_three_problems_in_one_run(tmp_path):
    root = make_site(tmp_path, {
        "content/a.md": "---\ntitle: 一次说全\ndate: 2024-03-05 09:00\ncategory: 工作动态\ntags:\n\t- 妇联\n"
                        "aliases:\n\t- /old/a.html\n---\n\n见[不存在的文章](nowhere.md)。\n",
    })
    report = build_site(root)
    tab = "缩进中有制表符（Tab）（YAML 只能用空格缩进，请把 Tab 换成两个空格）"
    assert lines_of(report) == [f"content/a.md:6:1: E103: {tab}", f"content/a.md:8:1: E103: {tab}",
                                "content/a.md:11: E201: 链接的文章不存在或未发布：nowhere.md（检查文件路径（相对于本文件））"]
    assert not (root / "output/gongzuo-dongtai/2024/03/a").exists()


def test_front_matter_read_past_a_tab_is_checked_too(tmp_path):
    root = make_site(tmp_path, {
        "content/a.md": "---\ntitle: 照片\ndate: 2024-03-05 09:00\ncategory: 工做动态\nphotos:\n\t- {src: a.jpg}\n---\n正文。\n",
    })
    got = sorted((p.location.line, p.code) for p in build_site(root).problems)
    assert got == [(4, "E120"), (6, "E103"), (6, "E301")]


def test_body_checks_run_when_the_front_matter_does_not_parse(tmp_path):
    root = make_site(tmp_path, {
        "content/a.md": "---\ntitle: \"引号没有闭合\ndate: 2024-03-05 09:00\n---\n\n![照片](missing.jpg)\n\n"
                        "[附件](报名表.docx)\n\n[链接](gone.md)\n",
    })
    codes = sorted((p.location.line, p.code) for p in build_site(root).problems)
    assert codes == [(2, "E101"), (6, "E301"), (8, "E205"), (10, "E201")]


def test_a_date_that_does_not_exist_names_the_day_at_its_line(tmp_path):
    cfg = configmod.load(make_site(tmp_path, {}))
    cases = {
        "2026-02-29 09:00": ("日期不存在：2026 年 2 月没有 29 日", "2026 年 2 月只有 28 天，请改成实际的日期，例如 2026-02-28"),
        "2026/4/31": ("日期不存在：2026 年 4 月没有 31 日", "2026 年 4 月只有 30 天，请改成实际的日期，例如 2026-04-30"),
        "2026年13月1日": ("日期不存在：2026 年没有 13 月", "月份应为 1–12，例如 2026-11-28"),
        "2026-11-28 25:10": ("时间不存在：25:10", "小时应为 0–23，分钟应为 0–59，例如 09:30"),
        "下周一": ("日期格式无法识别：\"下周一\"", "应为 2026-11-28 或 2026-11-28 09:30"),
    }
    for written, (message, hint) in cases.items():
        text = f"---\ntitle: 日期\ncategory: 工作动态\nslug: x\ndate: {written}\n---\n正文。\n"
        parsed = content.parse_page(content.Source("content/a.md", "article"), text.encode(), cfg)
        assert [str(p) for p in parsed.problems] == [f"content/a.md:5: E102: {message}（{hint}）"], written
    leap = "---\ntitle: 闰日\ncategory: 工作动态\ndate: ２０２４－０２－２９ ０８：００\n---\n正文。\n"  # full-width, as typed
    page = content.parse_page(content.Source("content/a.md", "article"), leap.encode(), cfg).page
    assert page.date.isoformat() == "2024-02-29T08:00:00+08:00"


def test_build_reports_an_unedited_skeleton_and_strict_fails_on_it(tmp_path):
    root = make_site(tmp_path, {})
    code, out, _ = run_cli(["new", "article", "三八节座谈会", "--category", "工作动态", "--dir", root])
    assert code == 0
    rel = out.split()[-1]
    code, _, err = run_cli(["build", root])
    assert code == 0  # a warning for a local build …
    (line,) = [l for l in err.splitlines() if "W204" in l]
    assert line.startswith(f"{rel}:11: W204: 正文里还是占位文字“在这里写正文。”") and line.endswith("[提示]")
    (root / "output").rename(root / "published")
    code, _, err = run_cli(["build", root, "--strict"])
    assert code == 1 and not (root / "output").exists()  # … an error when CI builds with --strict
    (line,) = [l for l in err.splitlines() if "W204" in l]
    assert "使用 --strict 时这是错误" in line and line.endswith("[错误]")


def test_tags_with_chinese_separators_are_split_with_a_warning(tmp_path):
    cfg = configmod.load(make_site(tmp_path, {}))

    def parse(tags: str):
        text = f"---\ntitle: 标签\ndate: 2024-03-05\ncategory: 工作动态\ntags: {tags}\n---\n正文。\n"
        return content.parse_page(content.Source("content/a.md", "article"), text.encode(), cfg)

    parsed = parse("[妇联改革，基层组织]")
    assert parsed.page.tags == ("妇联改革", "基层组织")
    assert [str(p) for p in parsed.problems] == [
        "content/a.md:5: W111: “妇联改革，基层组织”已拆成 2 个标签：妇联改革、基层组织（标签请写成列表，用半角逗号分隔，"
        "如 tags: [妇联改革, 基层组织]）"]
    parsed = parse("妇联、家风；家教")
    assert parsed.page.tags == ("妇联", "家风", "家教") and [p.code for p in parsed.problems] == ["W111"]
    parsed = parse("[妇联, 家风]")
    assert parsed.page.tags == ("妇联", "家风") and parsed.problems == ()
