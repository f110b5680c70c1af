"""``sitegen check``: every kind of problem in one tiny site, printed as ``path:line: code: message（hint）`` and as
JSON, exit codes, and that nothing is written."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sitegen import check as checkmod
from sitegen import cli
from sitegen import config as configmod

SITE_YAML = """title: 检查测试站
base_url: https://news.example.cn/
timezone: Asia/Shanghai
categories:
  - {name: 工作动态, slug: gongzuo-dongtai}
columns:
  - {name: 改革进行时, slug: gaige-jinxingshi}
images: {max_pixels: 5000}
permalinks:
  article: "/{year}/{month}/{day}/{slug}/"
"""

FILES = {
    "content/2024/good.md": "---\ntitle: 好文章\ndate: 2024-03-05 09:00\ncategory: 工作动态\n---\n\n"
                            "## 一、工作部署\n\n正文。[跳到部署](#一工作部署)[^1]\n\n[^1]: 脚注。\n",
    "content/2024/links.md": "---\ntitle: 链接\ndate: 2024-03-05 10:00\ncategory: 工作动态\n---\n\n"
                             "见[好文章](good.md#一工作部署)。\n\n见[锚点坏了](good.md#二总结)。\n\n"
                             "见[不存在](nope.md)。\n\n[页内](#没有这个)\n\n见[草稿](draft.md)。\n",
    "content/2024/draft.md": "---\ntitle: 草稿\ndate: 2024-03-05 11:00\ncategory: 工作动态\ndraft: true\n---\n\n草稿。\n",
    "content/2024/future.md": "---\ntitle: 未来\ndate: 2030-01-01 08:00\ncategory: 工作动态\n---\n\n以后。\n",
    "content/2024/badcat.md": "---\ntitle: 栏目错\ndate: 2024-03-05 12:00\ncategory: 工作动太\ncolumn: 改革\n---\n\n正文。\n",
    "content/2024/baddate.md": "---\ntitle: 日期错\ndate: 2024-13-01\ncategory: 工作动态\n---\n\n正文。\n",
    "content/2024/dup1.md": "---\ntitle: 重复一\ndate: 2024-03-06 09:00\ncategory: 工作动态\nslug: same\n---\n\n正文。\n",
    "content/2024/dup2.md": "---\ntitle: 重复二\ndate: 2024-03-06 10:00\ncategory: 工作动态\nslug: same\n---\n\n正文。\n",
    "content/2024/bundle/index.md": "---\ntitle: 图片\ndate: 2024-03-07 09:00\ncategory: 工作动态\n"
                                    "cover: missing-cover.jpg\n---\n\n![](small.jpg)\n\n![大图](big.png)\n\n"
                                    "![坏图](fake.jpg)\n\n![不存在](gone.jpg)\n",
}

EXPECTED = """\
content/2024/badcat.md:4: E120: 未知的栏目“工作动太”（是不是“工作动态”？可选：工作动态）  [错误]
content/2024/badcat.md:5: E121: 未知的专栏“改革”（是不是“改革进行时”？可选：改革进行时）  [错误]
content/2024/baddate.md:3: E102: 日期不存在：2024 年没有 13 月（月份应为 1–12，例如 2026-11-28）  [错误]
content/2024/bundle/index.md:5: E301: 找不到图片文件：2024/bundle/missing-cover.jpg（请检查文件名和路径（区分大小写），并确认图片已放进站点目录）  [错误]
content/2024/bundle/index.md:8: W203: 图片缺少替代文字（alt）：small.jpg（写成 ![图片内容的简短说明](图片文件名)，供读屏软件朗读）  [提示]
content/2024/bundle/index.md:10: E305: 图片像素过多（100×100，超过 images.max_pixels 的 5000 像素）：2024/bundle/big.png（请把图片缩小（例如长边 4000 像素）后再上传，或在 site.yaml 中调大 images.max_pixels）  [错误]
content/2024/bundle/index.md:12: E303: 不是可识别的图片文件：2024/bundle/fake.jpg（请使用 JPEG、PNG、GIF 或 WebP 格式的图片）  [错误]
content/2024/bundle/index.md:14: E301: 找不到图片文件：2024/bundle/gone.jpg（请检查文件名和路径（区分大小写），并确认图片已放进站点目录）  [错误]
content/2024/dup2.md:5: E401: 网址 /2024/03/06/same/ 与 content/2024/dup1.md 重复（请修改其中一篇的 slug）  [错误]
content/2024/future.md:3: W130: 定时发布：2030-01-01 08:00 +08:00 之后才发布，本次未发布（到时间后重新构建即可发布；预览用 --future）  [提示]
content/2024/links.md:9: E202: 链接的锚点不存在：good.md#二总结（content/2024/good.md 中没有标题或 id 为“二总结”的位置）  [错误]
content/2024/links.md:11: E201: 链接的文章不存在或未发布：nope.md（检查文件路径（相对于本文件））  [错误]
content/2024/links.md:13: E202: 页内锚点不存在：#没有这个（本文中没有这个标题或 id；标题的锚点就是标题文字本身）  [错误]
content/2024/links.md:15: W201: 链接到草稿：draft.md（在它发布之前，网站上的这个链接打不开）  [提示]
检查了 9 个文件：11 个错误，3 个提示
"""


def snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*")}


@pytest.fixture
def site(tmp_path, monkeypatch):
    from PIL import Image

    root = tmp_path / "site"
    (root / "content" / "2024" / "bundle").mkdir(parents=True)
    (root / "site.yaml").write_text(SITE_YAML, "utf-8")
    for rel, text in FILES.items():
        (root / rel).write_text(text, "utf-8")
    Image.new("RGB", (40, 30)).save(root / "content/2024/bundle/small.jpg")
    Image.new("RGB", (100, 100)).save(root / "content/2024/bundle/big.png")
    (root / "content/2024/bundle/fake.jpg").write_bytes(b"not an image")
    monkeypatch.setenv("SITEGEN_NOW", "2026-11-28 09:30")
    return root


def test_every_problem_in_text_form(site, capsys):
    before = snapshot(site)
    assert cli.main(["check", str(site)]) == 1
    assert capsys.readouterr().out == EXPECTED
    assert snapshot(site) == before, "check writes nothing"


def test_json_format(site, capsys):
    assert cli.main(["check", str(site), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 14
    assert data[0] == {"path": "content/2024/badcat.md", "line": 4, "column": 0, "code": "E120", "severity": "error",
                       "message": "未知的栏目“工作动太”", "hint": "是不是“工作动态”？可选：工作动态"}
    assert [d["code"] for d in data if d["severity"] == "warning"] == ["W203", "W130", "W201"]


def test_clean_site_passes(site, capsys):
    for rel in list(FILES):
        if rel != "content/2024/good.md":
            (site / rel).unlink()
    assert cli.main(["check", str(site)]) == 0
    assert capsys.readouterr().out == "检查了 1 个文件：0 个错误，0 个提示\n"


def test_oversized_file(site, monkeypatch):
    monkeypatch.setattr(checkmod, "MAX_IMAGE_BYTES", 100)
    report = checkmod.check(configmod.load(site))
    lines = [str(p) for p in report.problems if p.code == "W302"]
    assert lines[0].startswith("content/2024/bundle/index.md:8: W302: 图片文件过大：0.0 MB（2024/bundle/small.jpg）")


def test_decompression_bomb_header_only():
    from conftest import REAL_PHOTOS, need_shared

    real = need_shared("images", "real", "decompression_bomb.gif", why=REAL_PHOTOS)
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "content").mkdir()
        (root / "site.yaml").write_text(SITE_YAML.replace("max_pixels: 5000", "max_pixels: 1000000"), "utf-8")
        shutil.copy(real, root / "content" / "bomb.gif")
        (root / "content" / "a.md").write_text(
            "---\ntitle: 炸弹\ndate: 2024-03-05\ncategory: 工作动态\n---\n\n![炸弹图](bomb.gif)\n", "utf-8")
        report = checkmod.check(configmod.load(root))
    assert [p.code for p in report.problems] == ["E305"]


def test_template_syntax_error(site, capsys):
    for rel in list(FILES):
        if rel != "content/2024/good.md":
            (site / rel).unlink()
    templates = site / "themes" / "default" / "templates"
    templates.mkdir(parents=True)
    (templates / "article.html").write_text("{% extends 'base.html' %}\n{% block content %}\n{{ x }\n", "utf-8")
    assert cli.main(["check", str(site)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("themes/default/templates/article.html:3: E501: 模板语法错误：")


def test_config_error_as_json(tmp_path, capsys):
    (tmp_path / "site.yaml").write_text("title: x\n", "utf-8")
    assert cli.main(["check", str(tmp_path), "--format", "json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data and all(d["path"] == "site.yaml" for d in data)


def test_truncated_photos_are_found_as_the_build_finds_them(tmp_path):
    """A photo cut short by an interrupted upload: the build reports E302, so check must too (it used to read only
    the header and pass the file)."""
    import io

    from PIL import Image

    def encoded(fmt: str) -> bytes:
        buf = io.BytesIO()
        Image.radial_gradient("L").convert("RGB").resize((640, 480)).save(buf, fmt)
        return buf.getvalue()

    jpeg, png = encoded("JPEG"), encoded("PNG")
    root = tmp_path / "site"
    (root / "content").mkdir(parents=True)
    (root / "site.yaml").write_text(SITE_YAML.replace("max_pixels: 5000", "max_pixels: 1000000"), "utf-8")
    (root / "content" / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (root / "content" / "cut.png").write_bytes(png[: len(png) // 2])
    (root / "content" / "whole.jpg").write_bytes(jpeg)
    (root / "content" / "a.md").write_text(
        "---\ntitle: 照片\ndate: 2024-03-05\ncategory: 工作动态\nphotos:\n  - {src: cut.jpg, caption: 一}\n"
        "  - {src: whole.jpg, caption: 二}\n---\n\n![三](cut.png)\n", "utf-8")
    report = checkmod.check(configmod.load(root))
    assert [str(p) for p in report.problems] == [
        "content/a.md:6: E302: 图片文件不完整（上传中断？）：cut.jpg（请重新导出并上传完整的 JPEG 文件）",
        "content/a.md:10: E302: 图片文件不完整（上传中断？）：cut.png（请重新导出并上传完整的 PNG 文件）"]


def test_missing_photo_hint_names_the_closest_existing_file(tmp_path):
    """A typo in a photo path: check and build both suggest the file the editor most likely meant."""
    import io

    from PIL import Image

    from conftest import run_cli

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), "white").save(buf, "JPEG")
    root = tmp_path / "site"
    (root / "content" / "photos" / "2026").mkdir(parents=True)
    (root / "content" / "2026").mkdir()
    (root / "site.yaml").write_text(SITE_YAML, "utf-8")
    (root / "content" / "photos" / "2026" / "20261125_jiafeng-jiangtan.jpg").write_bytes(buf.getvalue())
    (root / "content" / "2026" / "Huiyi.JPG").write_bytes(buf.getvalue())
    (root / "content" / "2026" / "a.md").write_text(
        "---\ntitle: 照片\ndate: 2024-03-05\ncategory: 工作动态\nphotos:\n"
        "  - {src: photos/2026/20261125_jiafeng-jiangtam.jpg, caption: 一}\n---\n\n"
        "![二](huiyi.jpg)\n\n![三](unrelated.png)\n", "utf-8")
    hints = [p.hint for p in checkmod.check(configmod.load(root)).problems]
    same = "请检查文件名和路径（区分大小写），并确认图片已放进站点目录"  # the one wording of E301, as build says it
    assert hints == ["是不是 photos/2026/20261125_jiafeng-jiangtan.jpg？" + same, "是不是 2026/Huiyi.JPG？" + same, same]
    code, out, err = run_cli(["build", root, "-q"])
    assert code == 1
    assert "（是不是 photos/2026/20261125_jiafeng-jiangtan.jpg？请检查文件名和路径" in err
    assert "（是不是 2026/Huiyi.JPG？请检查文件名和路径" in err
    assert "unrelated.png（请检查文件名和路径" in err


def test_unfinished_skeletons_are_warned_about(tmp_path):
    """`sitegen new` writes a placeholder sentence and an empty photo list; published as is, readers saw
    "在这里写正文。" and an empty gallery. check warns (warnings never fail a build)."""
    from conftest import run_cli

    root = tmp_path / "site"
    (root / "content").mkdir(parents=True)
    (root / "site.yaml").write_text(SITE_YAML, "utf-8")
    assert run_cli(["new", "article", "三八红旗手表彰大会召开", "--category", "工作动态", "--dir", root])[0] == 0
    assert run_cli(["new", "gallery", "美丽庭院图集", "--dir", root])[0] == 0
    report = checkmod.check(configmod.load(root))
    assert [(p.code, p.location.line, p.severity) for p in report.problems] == [
        ("W204", 11, "warning"), ("W205", 5, "warning"), ("W204", 10, "warning")]
    assert report.problems[0].message == "正文里还是占位文字“在这里写正文。”"
