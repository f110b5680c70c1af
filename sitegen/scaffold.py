"""``sitegen new``: write the skeleton of a new article or photo gallery.

An article goes to ``content/YYYY/MM/<slug>.md`` and a gallery to ``content/galleries/<slug>/index.md``, where
``YYYY/MM`` is today's date in the site's time zone (``SITEGEN_NOW`` overrides the clock, see
:func:`sitegen.clock.now`) and the slug is the pinyin of the title (:func:`sitegen.slugs.slugify`). The front
matter uses the names of README "Front matter". An existing file is never overwritten.
"""
from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sitegen import clock, yamlsafe
from sitegen.config import Config, Section
from sitegen.content import ARTICLE_PLACEHOLDER, GALLERY_PLACEHOLDER
from sitegen.errors import UsageError
from sitegen.slugs import slugify

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Skeleton:
    """A file :func:`new_article` or :func:`new_gallery` wrote: ``path`` absolute, ``rel`` project-relative POSIX
    path, ``text`` what was written, ``date`` the date put in it (aware, site time zone)."""

    path: Path
    rel: str
    text: str
    date: datetime


def _yaml_text(value: str) -> str:
    """``value`` as a YAML scalar: as is when YAML reads it back as the same string, else double-quoted (JSON
    strings are valid YAML double-quoted scalars)."""
    with contextlib.suppress(yamlsafe.YamlProblem):  # not plain YAML: quoted below
        loaded = yamlsafe.load(f"k: {value}", "<new>").value
        if isinstance(loaded, dict) and loaded.get("k") == value and "#" not in value:
            return value
    return json.dumps(value, ensure_ascii=False)


def _title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise UsageError("标题不能为空：sitegen new article \"标题\" --category 栏目")
    return title


def _slug(title: str, now: datetime) -> str:
    return slugify(title) or f"{now:%Y%m%d-%H%M}"


def _choose(sections: tuple[Section, ...], given: str, what: str, config: Config) -> Section:
    found = config.category(given) if what == "栏目" else config.column(given)
    if found is None:
        choices = "、".join(s.name for s in sections) or "（site.yaml 中没有设置）"
        raise UsageError(f"未知的{what}“{given}”。可选：{choices}")
    return found


def _write(config: Config, rel: str, text: str, now: datetime) -> Skeleton:
    path = config.root / rel
    if path.exists():
        raise UsageError(f"文件已存在，未覆盖：{rel}（换一个标题，或直接编辑这个文件）")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8", newline="\n") as f:  # "x": never overwrite, even in a race
            f.write(text)
    except FileExistsError:
        raise UsageError(f"文件已存在，未覆盖：{rel}") from None
    log.info("已写入 %s", rel)
    return Skeleton(path, rel, text, now)


def new_article(config: Config, title: str, category: str, column: str | None = None, *,
                now: datetime | None = None) -> Skeleton:
    """Write ``content/YYYY/MM/<slug>.md`` with front matter (title, date to the minute, category and column by
    their names, empty tags/author/source/editor) and a placeholder body.

    ``category``/``column`` may be a name or a slug from ``site.yaml``. Raises :class:`UsageError` (exit code 2)
    for an empty title, an unknown category or column (the message lists the choices) or an existing file."""
    title = _title(title)
    section = _choose(config.categories, category, "栏目", config)
    col = _choose(config.columns, column, "专栏", config) if column else None
    now = now or clock.now(config)
    slug = _slug(title, now)
    rel = f"content/{now:%Y}/{now:%m}/{slug}.md"
    lines = ["---", f"title: {_yaml_text(title)}", f"date: {now:%Y-%m-%d %H:%M}",
             f"category: {_yaml_text(section.name)}"]
    if col:
        lines.append(f"column: {_yaml_text(col.name)}")
    lines += ["tags: []", "author: ", "source: ", "editor: ", "---", "",
              ARTICLE_PLACEHOLDER + "插入图片：把图片放在本文件旁边，写 `![图片说明](图片文件名.jpg)`", ""]
    return _write(config, rel, "\n".join(lines), now)


def new_gallery(config: Config, title: str, *, now: datetime | None = None) -> Skeleton:
    """Write ``content/galleries/<slug>/index.md`` with front matter (title, date, an example ``photos`` list in
    comments). Raises :class:`UsageError` for an empty title or an existing gallery."""
    title = _title(title)
    now = now or clock.now(config)
    slug = _slug(title, now)
    rel = f"content/galleries/{slug}/index.md"
    lines = ["---", f"title: {_yaml_text(title)}", f"date: {now:%Y-%m-%d %H:%M}",
             "# 把照片放在本文件所在的文件夹，按顺序列出：",
             "photos:",
             "#  - {src: 01.jpg, caption: 图片说明, credit: 摄影者姓名}",
             "#  - {src: 02.jpg, caption: 图片说明, credit: 摄影者姓名}",
             "---", "", GALLERY_PLACEHOLDER, ""]
    return _write(config, rel, "\n".join(lines), now)


__all__ = ["ARTICLE_PLACEHOLDER", "GALLERY_PLACEHOLDER", "Skeleton", "new_article", "new_gallery"]
