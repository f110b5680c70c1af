"""Small sites written inline for the feed, sitemap and search tests (shared helpers, not tests)."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

from PIL import Image

from sitegen import build as buildmod
from sitegen import config as configmod

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

SITE_YAML = """\
title: 河北妇女网
base_url: https://www.example.org.cn/
description: 测试站点
language: zh-CN
timezone: Asia/Shanghai
categories:
  - {name: 工作动态, slug: gongzuo-dongtai, description: 省妇联重要会议}
  - {name: 测试, slug: ceshi}
columns:
  - {name: 改革进行时, slug: gaige-jinxingshi}
feeds: {limit: 20, full_content: true}
footer: {sponsor: 河北省妇女联合会, site_code: "1300000001"}
"""


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 60)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def article(title: str, date: str, body: str, category: str = "工作动态", extra: str = "") -> str:
    return f'---\ntitle: "{title}"\ndate: {date}\ncategory: {category}\n{extra}---\n\n{body}\n'


def make_site(root: Path, files: dict[str, str | bytes], site_yaml: str = SITE_YAML) -> Path:
    """Write ``site.yaml`` and ``files`` (path → text or bytes) under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "site.yaml").write_text(site_yaml, "utf-8")
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return root


def build(root: Path, **kwargs):
    """Build the site at ``root`` into ``root/output``; returns the BuildReport."""
    return buildmod.build(configmod.load(root), buildmod.BuildOptions(**kwargs))


def copy_sample_site(dest: Path) -> Path:
    """A copy of the repository's sample site (site.yaml, content/, themes/) at ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "site.yaml", dest / "site.yaml")
    shutil.copytree(REPO / "content", dest / "content")
    return dest
