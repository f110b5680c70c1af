"""定时发布 (issue 23, point 3): an article dated in the future appears when a build runs at or after its time, and
everywhere at once.

``sitegen build --now`` pins the build clock. Built a minute before the article's time, it is absent from every
page, listing, feed (read with feedparser), the sitemap and the search (searched in headless Chromium); built at
its time, it is present in all of them; the build log names the next article due; and an incremental build across
the moment leaves ``output/`` byte for byte as a clean build at that moment does. The publish workflow's scheduled
run tells "something fell due" from "nothing changed" by a digest of ``output/`` (its own script is run here).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import feedparser
import lxml.etree
import pytest
import yaml

from conftest import REPO, make_site, run_cli
from sitegen.slugs import tag_slug

TITLE = "关于开展“最美家庭”评选的通知"
URL = "/tongzhi-gonggao/2026/12/zuimei-jiating/"
DUE = "2026-12-08 09:00"
BEFORE = "2026-12-08 08:59"
LATER_TITLE = "巾帼建功表彰大会将于月底召开"

SITE_YAML = """\
title: 测试站
base_url: https://www.example.org.cn/
timezone: Asia/Shanghai
categories:
  - {name: 工作动态, slug: gongzuo-dongtai}
  - {name: 通知公告, slug: tongzhi-gonggao}
columns:
  - {name: 改革进行时, slug: gaige-jinxingshi}
"""


def _article(title: str, date: str, category: str, body: str, extra: str = "") -> str:
    return f"---\ntitle: {title}\ndate: {date}\ncategory: {category}\ntags: [家风建设]\n{extra}---\n\n{body}\n"


def _files() -> dict[str, str]:
    files = {"site.yaml": SITE_YAML}
    for day in range(1, 7):
        files[f"content/2026/12/news-{day}.md"] = _article(
            f"基层妇联工作动态第{day}期", f"2026-12-0{day} 10:00", "通知公告" if day % 2 else "工作动态",
            "各地妇联深入开展家庭家教家风建设，组织巾帼志愿服务活动。")
    files["content/2026/12/zuimei-jiating.md"] = _article(
        TITLE, DUE, "通知公告", "各市妇联推荐的家庭中，刺绣非遗传承人家庭占三成。请于十二月底前报送材料。",
        "column: 改革进行时\nslug: zuimei-jiating\n")
    files["content/2026/12/biaozhang.md"] = _article(LATER_TITLE, "2026-12-20 10:00", "工作动态", "表彰先进。")
    return files


def build_at(root: Path, moment: str) -> str:
    code, out, err = run_cli(["build", root, "--now", moment], now=None)
    assert code == 0, out + err
    return out


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def text_files(output: Path) -> dict[str, str]:
    return {rel: data.decode("utf-8") for rel, data in tree(output).items()
            if rel.endswith((".html", ".xml", ".txt", ".json")) and not rel.startswith("pagefind/")}


def feed_titles(output: Path) -> dict[str, list[str]]:
    """Entry titles of every feed (RSS and Atom of the site, the category and the column), as feedparser reads
    them."""
    feeds = {}
    for rel in ("feed.xml", "atom.xml", "tongzhi-gonggao/feed.xml", "tongzhi-gonggao/atom.xml",
                "gaige-jinxingshi/feed.xml", "gaige-jinxingshi/atom.xml"):
        parsed = feedparser.parse((output / rel).read_bytes())
        assert not parsed.bozo, (rel, parsed.bozo_exception)
        feeds[rel] = [e.title for e in parsed.entries]
    return feeds


def sitemap_urls(output: Path) -> set[str]:
    doc = lxml.etree.fromstring((output / "sitemap.xml").read_bytes())
    return {loc.text for loc in doc.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}


def search_titles(output: Path, word: str) -> list[str]:
    """Titles the search page finds for ``word`` in headless Chromium (skips without Chromium)."""
    from test_search import ARGS, CHROMIUM, search, serve

    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    server, base = serve(output)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            found = search(page, base, word)
            browser.close()
    finally:
        server.shutdown()
    return [r["title"] for r in found["results"]]


@pytest.mark.browser
def test_scheduled_article_appears_everywhere_at_its_time(tmp_path):
    root = make_site(tmp_path, _files())
    output = root / "output"

    log = build_at(root, BEFORE)
    assert f"下一篇定时发布：{DUE}《{TITLE}》" in log
    assert not (output / URL.strip("/") / "index.html").exists()
    leaks = [rel for rel, text in text_files(output).items() if TITLE in text or URL in text]
    assert leaks == [], f"the scheduled article shows before its time in {leaks}"
    assert all(TITLE not in titles for titles in feed_titles(output).values())
    assert "https://www.example.org.cn" + URL not in sitemap_urls(output)
    assert search_titles(output, "刺绣") == []

    log = build_at(root, DUE)
    assert f"下一篇定时发布：2026-12-20 10:00《{LATER_TITLE}》" in log
    assert TITLE in (output / URL.strip("/") / "index.html").read_text("utf-8")
    pages = text_files(output)
    for listing in ("index.html", "tongzhi-gonggao/index.html", "gaige-jinxingshi/index.html",
                    f"tags/{tag_slug('家风建设')}/index.html", "archives/2026/12/index.html"):
        assert URL in pages[listing], f"{listing} does not list the article at its time"
    assert all(TITLE in titles for titles in feed_titles(output).values())
    assert "https://www.example.org.cn" + URL in sitemap_urls(output)
    assert search_titles(output, "刺绣") == [TITLE]


def test_incremental_build_across_the_moment_equals_a_clean_one(tmp_path):
    root = make_site(tmp_path / "inc", _files())
    build_at(root, BEFORE)
    build_at(root, DUE)  # the same cache and output, a minute later
    clean = tmp_path / "clean" / "site"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("output", ".sitegen-cache", ".output.staging-*"))
    build_at(clean, DUE)
    incremental, fresh = tree(root / "output"), tree(clean / "output")
    assert incremental.keys() == fresh.keys()
    assert [rel for rel in fresh if incremental[rel] != fresh[rel]] == []
    assert URL.strip("/") + "/index.html" in fresh


def test_now_takes_the_site_time_zone_and_rejects_nonsense(tmp_path):
    root = make_site(tmp_path, _files())
    # 01:00 UTC is 09:00 in Shanghai: due
    assert f"下一篇定时发布：2026-12-20 10:00《{LATER_TITLE}》" in build_at(root, "2026-12-08T01:00:00Z")
    code, out, err = run_cli(["build", root, "--now", "明天上午"], now=None)
    assert code == 2 and "无法识别的时间“明天上午”" in err and "Traceback" not in err
    code, out, err = run_cli(["build", root, "--future", "--now", BEFORE], now=None)
    assert code == 0 and "下一篇定时发布" not in out  # --future publishes everything: nothing is waiting


# --- the publish workflow ----------------------------------------------------------------------------------------------

WORKFLOW = REPO / ".github" / "workflows" / "publish.yml"


def _site_digest(root: Path, tmp_path: Path) -> str:
    """The workflow's own "Digest of the site" step, run with bash in project ``root``."""
    steps = yaml.safe_load(WORKFLOW.read_text("utf-8"))["jobs"]["publish"]["steps"]
    script = next(s["run"] for s in steps if s.get("name") == "Digest of the site")
    out = tmp_path / f"github-output-{root.parent.name}"
    subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=root, check=True,
                   env=dict(os.environ, GITHUB_OUTPUT=str(out)))
    return dict(line.split("=", 1) for line in out.read_text().split())["digest"]


def test_scheduled_runs_publish_only_when_an_article_fell_due(tmp_path):
    """The workflow rebuilds every 10 minutes and publishes when the digest of ``output/`` differs from the last
    published one: two clean builds (other folders, other caches) before the article's time name the same site,
    a build at its time another."""
    workflow = yaml.safe_load(WORKFLOW.read_text("utf-8"))
    assert {"cron": "*/10 * * * *"} in workflow[True]["schedule"]  # YAML 1.1 reads the key "on" as True
    deploy = next(s for s in workflow["jobs"]["publish"]["steps"] if s.get("name") == "Deploy to production")
    assert deploy["if"] == "steps.plan.outputs.publish == 'true'"

    digests = {}
    for name, moment in (("early", "2026-12-08 08:30"), ("later", BEFORE), ("due", DUE)):
        root = make_site(tmp_path / name, _files())
        build_at(root, moment)
        digests[name] = _site_digest(root, tmp_path)
    assert digests["early"] == digests["later"] != digests["due"]
