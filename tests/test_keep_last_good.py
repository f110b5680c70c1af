"""Nothing published is lost to a typo (issue 17, point 6): a broken edit to a published article keeps its last good
page in a build without ``--strict`` (and says so), fails ``--strict``, and a new article that fails is left out."""
from __future__ import annotations

from conftest import make_site, run_cli

GOOD = "---\ntitle: 三八节座谈会\ndate: 2024-03-05 09:00\ncategory: 工作动态\ntags: [妇联]\n---\n\n座谈会正文。\n"
OTHER = "---\ntitle: 家风讲堂\ndate: 2024-03-04 09:00\ncategory: 工作动态\ntags: [妇联]\n---\n\n讲堂正文。\n"
NOTE = "网站上已保留上次成功生成的版本"


def test_a_broken_edit_keeps_the_last_good_page(tmp_path):
    root = make_site(tmp_path, {"content/a.md": GOOD, "content/b.md": OTHER})
    out = root / "output"
    page = out / "gongzuo-dongtai/2024/03/a/index.html"
    assert run_cli(["build", root])[0] == 0
    published = page.read_bytes()
    (root / "content/a.md").write_text(GOOD.replace("2024-03-05 09:00", "2024-02-30 09:00")
                                       .replace("座谈会正文。", "改了一半的正文。"), "utf-8")
    code, _, err = run_cli(["build", root])
    assert code == 1
    assert (f"content/a.md:3: E102: 日期不存在：2024 年 2 月没有 30 日；{NOTE}（2024 年 2 月只有 29 天，"
            "请改成实际的日期，例如 2024-02-29）  [错误]") in err.splitlines()
    assert page.read_bytes() == published  # the last good page, not the half-edited text
    assert "三八节座谈会" in (out / "gongzuo-dongtai/index.html").read_text("utf-8")
    # and again in the next build, from the cache, while the file stays broken
    code, _, err = run_cli(["build", root])
    assert code == 1 and NOTE in err and page.read_bytes() == published
    # --strict fails, writes nothing, and does not claim to keep anything
    code, _, err = run_cli(["build", root, "--strict"])
    assert code == 1 and "E102" in err and NOTE not in err and page.read_bytes() == published
    # fixed: the new text is published
    (root / "content/a.md").write_text(GOOD.replace("座谈会正文。", "修好的正文。"), "utf-8")
    code, _, err = run_cli(["build", root])
    assert code == 0 and "修好的正文" in page.read_text("utf-8")


def test_a_new_article_that_fails_is_left_out(tmp_path):
    root = make_site(tmp_path, {"content/b.md": OTHER})
    assert run_cli(["build", root])[0] == 0
    (root / "content/a.md").write_text(GOOD.replace("2024-03-05 09:00", "2024-02-30 09:00"), "utf-8")
    code, _, err = run_cli(["build", root])
    assert code == 1 and "content/a.md:3: E102:" in err and NOTE not in err
    assert not (root / "output/gongzuo-dongtai/2024/03/a").exists()
