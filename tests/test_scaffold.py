"""``sitegen new article|gallery``: where the skeleton goes, what it contains, and the refusals (exit code 2)."""
from __future__ import annotations

from pathlib import Path

import pytest

from sitegen import cli
from sitegen import config as configmod
from sitegen import content as contentmod
from sitegen import scaffold
from sitegen.errors import UsageError

SITE_YAML = """title: 测试站
base_url: https://news.example.cn/
timezone: Asia/Shanghai
categories:
  - {name: 工作动态, slug: gongzuo-dongtai}
  - {name: 基层动态, slug: jiceng-dongtai}
columns:
  - {name: 改革进行时, slug: gaige-jinxingshi}
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    (tmp_path / "content").mkdir()
    (tmp_path / "site.yaml").write_text(SITE_YAML, "utf-8")
    monkeypatch.setenv("SITEGEN_NOW", "2026-11-28 09:30")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def parse(root: Path, rel: str, kind: str = "article"):
    config = configmod.load(root)
    return contentmod.read_source(config, contentmod.Source(rel, kind))


def test_new_article_cli(site, capsys):
    code = cli.main(["new", "article", "省妇联召开十三届六次常委会议", "--category", "工作动态",
                     "--column", "改革进行时"])
    assert code == 0
    rel = "content/2026/11/sheng-fu-lian-zhao-kai-shi-san-jie-liu-ci-chang-wei-hui-yi.md"
    assert capsys.readouterr().out == f"已创建 {rel}\n"
    text = (site / rel).read_text("utf-8")
    assert text.startswith("---\ntitle: 省妇联召开十三届六次常委会议\ndate: 2026-11-28 09:30\ncategory: 工作动态\n"
                           "column: 改革进行时\ntags: []\n")
    parsed = parse(site, rel)
    assert [p for p in parsed.problems if p.severity == "error"] == []
    page = parsed.page
    assert (page.title, page.category, page.column) == ("省妇联召开十三届六次常委会议", "gongzuo-dongtai",
                                                       "gaige-jinxingshi")
    assert page.date.isoformat() == "2026-11-28T09:30:00+08:00"
    assert page.images == (), "the image hint in the body is not an image reference"


def test_category_by_slug_and_date_in_site_time_zone(site, monkeypatch):
    monkeypatch.setenv("SITEGEN_NOW", "2026-11-30T23:30:00+00:00")  # 2026-12-01 07:30 in Shanghai
    made = scaffold.new_article(configmod.load(site), "年终总结", "jiceng-dongtai")
    assert made.rel == "content/2026/12/nian-zhong-zong-jie.md"
    assert "date: 2026-12-01 07:30\ncategory: 基层动态\n" in made.text


def test_unknown_category_lists_choices(site, capsys):
    code = cli.main(["new", "article", "标题", "--category", "工作动太"])
    assert code == 2
    assert capsys.readouterr().err == "错误：未知的栏目“工作动太”。可选：工作动态、基层动态\n"
    assert list((site / "content").rglob("*.md")) == []


def test_missing_category_lists_choices(site, capsys):
    assert cli.main(["new", "article", "标题"]) == 2
    assert "请用 --category 指定栏目。可选：工作动态、基层动态" in capsys.readouterr().err


def test_unknown_column(site, capsys):
    assert cli.main(["new", "article", "标题", "--category", "工作动态", "--column", "改革"]) == 2
    assert capsys.readouterr().err == "错误：未知的专栏“改革”。可选：改革进行时\n"


def test_never_overwrites(site, capsys):
    assert cli.main(["new", "article", "妇联动态", "--category", "工作动态"]) == 0
    path = site / "content/2026/11/fu-lian-dong-tai.md"
    path.write_text("编辑写了一半的稿子", "utf-8")
    capsys.readouterr()
    assert cli.main(["new", "article", "妇联动态", "--category", "基层动态"]) == 2
    assert capsys.readouterr().err == ("错误：文件已存在，未覆盖：content/2026/11/fu-lian-dong-tai.md"
                                       "（换一个标题，或直接编辑这个文件）\n")
    assert path.read_text("utf-8") == "编辑写了一半的稿子"


def test_titles_needing_quotes_round_trip(site):
    config = configmod.load(site)
    for i, title in enumerate(["会议: 部署 2027 年工作", "“三八”红旗手 #1", "true", "2026", "- 列表"]):
        made = scaffold.new_article(config, title, "工作动态", now=None)
        page = parse(site, made.rel).page
        assert page is not None and page.title == title, made.text
        made.path.unlink()


def test_empty_title_refused(site):
    with pytest.raises(UsageError, match="标题不能为空"):
        scaffold.new_article(configmod.load(site), "   ", "工作动态")


def test_new_gallery(site, capsys):
    assert cli.main(["new", "gallery", "美丽庭院摄影展"]) == 0
    rel = "content/galleries/mei-li-ting-yuan-she-ying-zhan/index.md"
    assert capsys.readouterr().out == f"已创建 {rel}\n"
    parsed = parse(site, rel, "gallery")
    assert [p for p in parsed.problems if p.severity == "error"] == []
    assert parsed.page.title == "美丽庭院摄影展" and parsed.page.photos == ()
    assert cli.main(["new", "gallery", "美丽庭院摄影展"]) == 2
    assert cli.main(["new", "gallery", "图集", "--category", "工作动态"]) == 2


def test_new_respects_dir(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    (site / "site.yaml").write_text(SITE_YAML, "utf-8")
    monkeypatch.setenv("SITEGEN_NOW", "2026-01-05 08:00")
    assert cli.main(["new", "article", "ABC 测试", "--category", "工作动态", "--dir", str(site)]) == 0
    assert (site / "content/2026/01/abc-ce-shi.md").is_file()
