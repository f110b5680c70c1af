"""What the body of a content file refers to, checked while the file is parsed (:mod:`sitegen.content`), every
problem at its line, all of a file in one run:

- images named by a path on the editor's computer or leaving the project (E306), attachments named by such a path
  or outside ``content/`` (E204) or missing (E205): the page is published without them (``--strict`` fails);
- images and attachments whose name, as written, differs from the file's in letter case (W303): the same file on
  the editor's Windows or Mac computer, two names on the web server;
- the placeholder sentence of an unedited ``sitegen new`` skeleton (W204, an error under ``build --strict``);
- for a file that is not published (errors in its front matter), what assembling and the image pipeline would have
  reported of it, as far as the files on disk tell: links to ``.md`` files that do not exist (E201) and missing
  photos (E301).

Attachment links are pointed at the published copies (:func:`attachment_links`, see :mod:`sitegen.attachments`).
"""
from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote

from sitegen import attachments, markup
from sitegen.attachments import Attachment
from sitegen.errors import Location, Problem, catalogued
from sitegen.frontmatter import image_path_problem

ARTICLE_PLACEHOLDER = "在这里写正文。"
GALLERY_PLACEHOLDER = "在这里写图集的简短介绍。"
"""The placeholder sentences of ``sitegen new``'s skeletons: a page whose text still holds one is reported (W204,
an error under ``build --strict``: an unedited skeleton is never published by CI)."""


def check_body(rel: str, exists, rendered: markup.Rendered, problems: list, refs: list) -> list:
    """Check the images and attachments of ``rendered`` (the body of ``rel``; ``exists(rel)`` tells whether a
    project-relative file exists): W303 go to ``problems``, E306/E204/E205 to ``refs`` (the page is published
    without them). Returns the attachment links as ``(target or None, line)`` in the order of their
    ``sitegen-file:N`` placeholders (``None``: not published)."""
    for target, written, line in rendered.images:
        if target is None:
            refs.append(image_path_problem(rel, line, written))
    for written, line, kind in rendered.computer_paths:
        if kind == "image":
            refs.append(image_path_problem(rel, line, written))
        else:
            refs.append(Problem(Location(rel, line), "E204", f"附件路径是编辑者电脑上的位置，网站上无法下载：{written}",
                                "把附件放到本文所在的文件夹，链接写文件名，如 [报名表](报名表.docx)"))
    files = [_attachment_target(rel, exists, refs, *f) for f in rendered.files]
    case_warnings(rel, list(rendered.images) + [f for f, ok in zip(rendered.files, files) if ok[0]], problems)
    return files


def placeholders(rel: str, body: str, body_line: int, problems: list) -> None:
    """W204 at the line of each skeleton placeholder still in ``body`` (whose first line is file line
    ``body_line``)."""
    for placeholder in (ARTICLE_PLACEHOLDER, GALLERY_PLACEHOLDER):
        at = body.find(placeholder)
        if at >= 0:
            problems.append(Problem(Location(rel, body_line + body.count("\n", 0, at)), "W204",
                                    f"正文里还是占位文字“{placeholder}”", "请写上正文，或在写完之前加上 draft: true",
                                    "warning"))


def _attachment_target(rel: str, exists, refs: list, target: str | None, written: str,
                       line: int) -> tuple[str | None, int]:
    if target is None or not target.startswith("content/"):
        refs.append(Problem(Location(rel, line), "E204", f"附件路径指向 content/ 之外：{written}",
                            "附件须放在 content/ 中（最好在本文旁边），写相对路径"))
        return None, line
    if not exists(target):
        refs.append(Problem(Location(rel, line), "E205", f"附件文件不存在：{written}",
                            "检查文件名（包括扩展名）；附件应放在本文所在的文件夹中，与 .md 文件在一起"))
        return None, line
    return target, line


def case_warnings(rel: str, found, problems: list) -> None:
    """W303 for each of ``found`` (``(target, as written, line)``: images, photos, attachments) whose file name,
    as written, differs from the file's in letter case."""
    for target, written, line in found:
        name = posixpath.basename(unquote(written.partition("#")[0].partition("?")[0]).replace("\\", "/"))
        real = posixpath.basename(target) if target else ""
        if real and real != name and real.lower() == name.lower():
            problems.append(Problem(Location(rel, line), "W303", f"文件名的大小写与实际文件不同：写的是 {name}，文件是 {real}",
                                    "在 Windows 和苹果电脑上看不出区别，网站服务器上却是两个名字；已按实际文件发布，建议改成一致",
                                    "warning"))


def check_unpublished(rel: str, exists, rendered: markup.Rendered, photos, problems: list) -> None:
    """For a file that is not published: links of its body to ``.md`` files that do not exist (E201) and photos
    of its body or of ``photos``/``cover`` (:class:`sitegen.frontmatter.PhotoRef`) that are missing (E301)."""
    for target, written, line in rendered.links:
        if target is not None and not exists(target):
            problems.append(Problem(Location(rel, line), "E201", f"链接的文章不存在或未发布：{written}",
                                    "检查文件路径（相对于本文件）"))
    for target, _written, line in list(rendered.images) + [(p.rel, p.src, p.line) for p in photos]:
        if target is not None and not exists(target):
            problems.append(catalogued("E301", Location(rel, line), shown=target.removeprefix("content/")))


def attachment_links(html: str, files: list, url: str) -> tuple[str, tuple[Attachment, ...]]:
    """``html`` with each ``sitegen-file:N`` link pointing at its attachment's published copy beside the page at
    ``url`` as ``sitegen-file:`` + the copy's site-relative URL, which the build resolves like other internal links
    (the base path is no input of parsing); the link left without a target when the file is missing. Returns it
    and the attachments, one per file, in order of first link."""
    made: dict[str, Attachment] = {}
    taken: set[str] = set()
    for target, line in files:
        if target and target not in made:
            made[target] = attachments.make(target, url, taken, line)

    def link(m: re.Match) -> str:
        target = files[int(m.group(1))][0]
        return f' href="{markup.escape(markup.FILE_LINK + made[target].url)}"' if target else ""

    return re.sub(r'\shref="' + markup.FILE_LINK + r'(\d+)"', link, html), tuple(made.values())


__all__ = ["ARTICLE_PLACEHOLDER", "GALLERY_PLACEHOLDER", "check_body", "placeholders", "case_warnings",
           "check_unpublished", "attachment_links"]
