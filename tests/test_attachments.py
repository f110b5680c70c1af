"""Attachments (附件, issue 17 point 1): published beside their page with the same bytes, listed under the body,
reported when missing, outside ``content/`` or too big, kept up to date by incremental builds, removed when no page
links them any more, and served with the right Content-Type. Case B43 is in test_cases.py."""
from __future__ import annotations

import os

import lxml.html
import pytest

from conftest import build_site, make_site, run_cli
from sitegen import config as configmod
from sitegen.hosting import content_type
from sitegen.errors import ConfigError

NOTICE = ("---\ntitle: 报名通知\ndate: 2024-03-05 09:00\ncategory: 工作动态\nslug: tongzhi\n---\n\n"
          "请填写[报名表](报名表.docx)，汇总后报送[汇总表](../shared/汇总表.XLSX)。\n")
PAGE = "gongzuo-dongtai/2024/03/tongzhi/"


def listed(root) -> list[str]:
    tree = lxml.html.document_fromstring((root / "output" / PAGE / "index.html").read_bytes())
    return [" ".join(li.text_content().split()) for li in tree.xpath("//section[@class='attachments']//li")]


@pytest.fixture
def site(tmp_path):
    root = make_site(tmp_path, {"content/2024/tongzhi.md": NOTICE})
    (root / "content/2024/报名表.docx").write_bytes(b"PK\x03\x04" + b"x" * 2000)
    (root / "content/shared").mkdir()
    (root / "content/shared/汇总表.XLSX").write_bytes(b"PK\x03\x04" + b"y" * 3 * 1024 * 1024)
    return root


def test_published_listed_and_kept_up_to_date(site):
    report = build_site(site)
    assert report.ok and not report.problems
    out = site / "output" / PAGE
    assert (out / "报名表.docx").read_bytes() == (site / "content/2024/报名表.docx").read_bytes()
    assert (out / "汇总表.XLSX").stat().st_size == 3 * 1024 * 1024 + 4
    assert listed(site) == ["报名表.docx（Word 文档，2.0 KB）", "汇总表.XLSX（Excel 表格，3.0 MB）"]
    # a no-change build rewrites nothing
    again = build_site(site)
    assert again.written == ()
    # a new version of the form: the copy and the size shown are updated
    form = site / "content/2024/报名表.docx"
    form.write_bytes(b"PK\x03\x04" + b"z" * 5000)
    os.utime(form, ns=(form.stat().st_atime_ns, form.stat().st_mtime_ns + 10**9))
    report = build_site(site)
    assert f"{PAGE}报名表.docx" in report.written and f"{PAGE}index.html" in report.written
    assert (out / "报名表.docx").read_bytes() == form.read_bytes()
    assert listed(site)[0] == "报名表.docx（Word 文档，4.9 KB）"
    # the link removed: the copy is removed with the next build
    (site / "content/2024/tongzhi.md").write_text(NOTICE.replace("请填写[报名表](报名表.docx)，", ""), "utf-8")
    report = build_site(site)
    assert f"{PAGE}报名表.docx" in report.removed and not (out / "报名表.docx").exists()
    assert listed(site) == ["汇总表.XLSX（Excel 表格，3.0 MB）"]


def test_too_big_is_a_warning_and_the_limit_is_in_site_yaml(site):
    yaml = (site / "site.yaml").read_text("utf-8") + "attachments: {max_mb: 2}\n"
    (site / "site.yaml").write_text(yaml, "utf-8")
    report = build_site(site, strict=True)
    assert report.ok
    assert [str(p) for p in report.problems] == [
        "content/2024/tongzhi.md:8: W206: 附件过大：3.0 MB（汇总表.XLSX）（超过 site.yaml 中 attachments.max_mb 的 2 MB；"
        "读者用手机下载很慢，请压缩后再上传，或只附上必要的部分）"]
    code, out, _ = run_cli(["check", site])
    assert code == 0 and "W206" in out


def test_paths_outside_content_or_on_the_editors_computer(tmp_path):
    root = make_site(tmp_path, {
        "content/a.md": "---\ntitle: 附件\ndate: 2024-03-05 09:00\ncategory: 工作动态\nslug: a\n---\n\n"
                        "[配置](../site.yaml.txt)\n\n[桌面上的表](C:\\Users\\li\\Desktop\\报名表.xlsx)\n",
        "site.yaml.txt": "不该发布的文件",
    })
    report = build_site(root)
    assert [(p.location.line, p.code) for p in report.problems] == [(8, "E204"), (10, "E204")]
    assert report.ok and (root / "output/gongzuo-dongtai/2024/03/a/index.html").is_file()
    assert not list((root / "output").rglob("site.yaml.txt")) and not list((root / "output").rglob("*.xlsx"))


def test_default_extensions_cover_office_wps_and_ofd():
    from sitegen.attachments import DEFAULT_EXTENSIONS

    assert {"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "dps", "ofd", "zip", "rar", "7z", "txt",
            "csv"} == set(DEFAULT_EXTENSIONS)


def test_site_yaml_attachments_schema(tmp_path):
    root = make_site(tmp_path, {"site.yaml": "title: 站\nbase_url: https://a.cn/\ncategories: [工作动态]\n"
                                             "attachments: {extensions: [PDF, .ofd], max_mb: 5}\n"})
    settings = configmod.load(root).attachments
    assert settings.extensions == ("pdf", "ofd") and settings.max_mb == 5
    (root / "site.yaml").write_text("title: 站\nbase_url: https://a.cn/\ncategories: [工作动态]\n"
                                    "attachments: {extension: [pdf], max_mb: 很大}\n", "utf-8")
    with pytest.raises(ConfigError) as exc:
        configmod.load(root)
    assert sorted(p.code for p in exc.value.problems) == ["E902", "E904"]


@pytest.mark.parametrize("name, expected", [
    ("a/报名表.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("a/汇总表.XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("a/通知.wps", "application/vnd.ms-works"),
    ("a/通知.ofd", "application/ofd"),
    ("a/表.et", "application/vnd.ms-excel"),
    ("a/材料.rar", "application/vnd.rar"),
])
def test_deploy_content_types(name, expected):
    assert content_type(name) == expected
