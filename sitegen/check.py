"""``sitegen check``: every problem of a project, found without writing anything.

What is checked, with the codes used (see :mod:`sitegen.errors` for the code ranges):

- every content file is read as the build reads it: front matter (E100–E1xx), unknown categories (E120) and
  columns (E121), encoding and YAML slips (W1xx);
- future-dated articles, which a normal build leaves out (W130), and links from published pages to drafts or
  future-dated pages, which are broken on the published site until those appear (W201);
- attachments (附件) that are missing (E205), outside ``content/`` (E204) or above ``attachments.max_mb`` (W206);
- links to ``.md`` files that are no page (E201) and anchors (``page.md#标题``, ``#标题``) that match no heading or
  element id of the target (E202);
- two pages on one URL (E401);
- images, with the codes of :mod:`sitegen.images`: missing file (E301), cut short (E302, found by decoding as the
  build does), not an image Pillow can read (E303), empty file (E304), more pixels than ``images.max_pixels``
  (E305, read from the file header by Pillow before any decoding), larger than :data:`MAX_IMAGE_BYTES` (W302); body images without alt text (W203, GB/T 37668-2019
  requires text alternatives);
- skeletons of ``sitegen new`` left unfinished: the placeholder sentence still in the text (W204, reported by
  parsing, so ``build`` reports it too), a gallery without photos (W205);
- theme templates that do not compile (E501).
"""
from __future__ import annotations

import contextlib
import html as htmllib
import logging
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

from sitegen import attachments
from sitegen import clock
from sitegen import content as contentmod
from sitegen import render as rendermod
from sitegen import sources as sourcesmod
from sitegen.build import plan as planmod
from sitegen.config import Config
from sitegen.errors import Location, Problem, Problems, catalogued
from sitegen.markup import IMG_LINK

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 20 * 1024 * 1024
_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".gif": "GIF", ".webp": "WebP", ".heic": "HEIC"}
"""File suffix → format name in E302 hints (the words the build uses)."""
"""Photos above this size (bytes) are reported: too heavy to keep in Git and slow to process."""

_IMG_TAG = re.compile(r"<img\b[^>]*>", re.I)
_ATTR = re.compile(r'\s([a-zA-Z-]+)="([^"]*)"')
_ID = re.compile(r'\sid="([^"]+)"')
_SELF_ANCHOR = re.compile(r'href="#([^"]+)"')


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The result of :func:`check`: ``files`` content files read and every problem found (sorted by path, line,
    code)."""

    files: int
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity error."""
        return [p for p in self.problems if p.severity == "error"]


class _Texts:
    """Source texts read on demand, to give a file line to problems found in rendered HTML."""

    def __init__(self, root: Path):
        self.root = root
        self.cache: dict[str, list[str]] = {}

    def line_of(self, rel: str, needle: str, default: int = 1) -> int:
        if rel not in self.cache:
            try:
                data = (self.root / rel).read_bytes()
                self.cache[rel] = contentmod.decode(data, rel)[0].split("\n")
            except Exception:  # unreadable: the read problem is reported elsewhere
                self.cache[rel] = []
        for i, line in enumerate(self.cache[rel]):
            if needle in line:
                return i + 1
        return default


def anchor_ids(page: contentmod.Page) -> set[str]:
    """Every fragment a link may target in ``page``: its heading ids (``toc``) and any ``id`` in its body."""
    ids = {entry[1] for entry in page.toc}
    ids.update(htmllib.unescape(m) for m in _ID.findall(page.html))
    return ids


def _image_problems(config: Config, rel: str) -> list[tuple[str, dict]]:
    """Problems of image file ``rel`` as (code, catalogue values) in the words of
    :data:`sitegen.errors.CATALOGUE`; empty when fine."""
    path, shown = config.root / rel, rel.removeprefix("content/")
    if not path.is_file():
        from sitegen.images import similar_image

        guess = similar_image(config.root, rel)
        return [("E301", {"shown": shown, "guess": f"是不是 {guess}？" if guess else ""})]
    size = path.stat().st_size
    if size == 0:
        return [("E304", {"shown": shown})]
    found = []
    if size > MAX_IMAGE_BYTES:
        found.append(("W302", {"shown": shown, "detail": f"{size / 1024 / 1024:.1f} MB",
                               "fmt": f"{MAX_IMAGE_BYTES // 1024 // 1024} MB"}))
    size_px = _image_size(path)
    if size_px is None:
        return found + [("E303", {"shown": shown, "detail": ""})]
    if size_px == BOMB:
        return found + [("E305", {"shown": shown, "detail": "可能是恶意文件"})]
    width, height = size_px
    if width * height > config.images.max_pixels:
        detail = f"{width}×{height}，超过 images.max_pixels 的 {config.images.max_pixels} 像素"
        return found + [("E305", {"shown": shown, "detail": detail})]
    broken = _decode_problem(path)
    if broken:
        found.append(("E302", {"shown": shown, "fmt": _FORMATS.get(path.suffix.lower(), "图片")}) if broken == "truncated"
                     else ("E303", {"shown": shown, "detail": ""}))
    return found


BOMB = (-1, -1)
"""What :func:`_image_size` says of a decompression bomb (more pixels than Pillow's own limit)."""


def _image_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` in px of an image from its header (no pixel decoded), :data:`BOMB`, or ``None`` when it
    is not a readable image."""
    from PIL import Image

    if path.suffix.lower() in (".heic", ".heif"):
        with contextlib.suppress(ImportError):  # a declared dependency; without it HEIC is reported unreadable
            import pillow_heif

            pillow_heif.register_heif_opener()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
    except Image.DecompressionBombError:
        return BOMB
    except Exception:
        return None
    return width, height


def _decode_problem(path: Path) -> str:
    """Decode ``path`` as the build will and say ``"truncated"`` (the data stops early: an interrupted upload, the
    build's E302), ``"corrupt"`` (E303) or ``""``. A JPEG is decoded at 1/8 scale (libjpeg still reads every byte
    of the scan, so a cut file is noticed) to keep ``check`` fast; other formats are decoded whole. The caller has
    already checked the pixel count against ``images.max_pixels``."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.format in ("JPEG", "MPO"):
                    im.draft("RGB", (max(1, im.width // 8), max(1, im.height // 8)))
                im.load()
    except Image.DecompressionBombError:
        return ""  # the pixel count is the caller's rule (images.max_pixels), not Pillow's default
    except EOFError:
        return "truncated"
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the editor's broken file, never a traceback
        text = str(exc)
        return "truncated" if "truncated" in text or "broken data stream" in text else "corrupt"
    return ""


def _check_images(config: Config, page: contentmod.Page, texts: _Texts, problems: Problems, seen: dict) -> None:
    refs = [(target, written, line) for target, written, line in page.images]
    for ref in ((page.cover,) if page.cover else ()) + page.photos:
        refs.append((ref.rel, ref.src, ref.line))
    for target, written, line in refs:
        if target is None:
            continue  # leaves the project: reported by parsing
        if target not in seen:
            seen[target] = _image_problems(config, target)
        for code, values in seen[target]:
            problems.add(catalogued(code, Location(page.source, line), **values))
    local = iter(page.images)
    for tag in _IMG_TAG.findall(page.html):
        attrs = dict(_ATTR.findall(tag))
        src = attrs.get("src", "")
        if src.startswith(IMG_LINK):
            entry = next(local, None)
            line = entry[2] if entry else 1
            shown = entry[1] if entry else src[len(IMG_LINK):]
        else:
            shown = htmllib.unescape(src)
            line = texts.line_of(page.source, shown)
        if not htmllib.unescape(attrs.get("alt", "")).strip():
            problems.add(Problem(Location(page.source, line), "W203", f"图片缺少替代文字（alt）：{shown}",
                                 "写成 ![图片内容的简短说明](图片文件名)，供读屏软件朗读", "warning"))


def _check_links(page: contentmod.Page, site: contentmod.Site, published: set[str], texts: _Texts,
                 problems: Problems) -> None:
    for target, written, line in page.links:
        other = site.by_source.get(target) if target else None
        if other is None:
            continue  # E201, reported by assemble
        frag = unquote(written.partition("#")[2])
        if frag and frag not in anchor_ids(other):
            problems.error(page.source, line, "E202", f"链接的锚点不存在：{written}",
                           f"{other.source} 中没有标题或 id 为“{frag}”的位置")
        if page.source in published and other.source not in published:
            what = "草稿" if other.draft else "定时发布的文章"
            problems.warning(page.source, line, "W201", f"链接到{what}：{written}",
                             "在它发布之前，网站上的这个链接打不开")
    own = anchor_ids(page)
    for frag in dict.fromkeys(_SELF_ANCHOR.findall(page.html)):
        target = unquote(htmllib.unescape(frag))
        if target not in own:
            line = texts.line_of(page.source, "#" + htmllib.unescape(frag))
            problems.error(page.source, line, "E202", f"页内锚点不存在：#{target}",
                           "本文中没有这个标题或 id；标题的锚点就是标题文字本身")


def _check_unfinished(page: contentmod.Page, texts: _Texts, problems: Problems) -> None:
    """Warn about a gallery skeleton from ``sitegen new`` still without photos (W205); its placeholder text (W204)
    is reported by parsing, for ``build`` too."""
    if page.kind == "gallery" and not page.photos:
        problems.warning(page.source, texts.line_of(page.source, "photos:"), "W205", "图集里还没有照片",
                         "把照片放进图集文件夹，并在 photos: 下逐张列出，每张写 src、caption 和 credit")


def _check_templates(config: Config, problems: Problems) -> None:
    import jinja2

    env = rendermod.make_env(config, {})
    for name in env.list_templates(extensions=["html", "xml", "txt"]):
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            where = Path(exc.filename or name)
            try:
                shown = where.resolve().relative_to(config.root.resolve()).as_posix()
            except ValueError:
                shown = where.as_posix()
            problems.error(shown, exc.lineno or 0, "E501", f"模板语法错误：{exc.message}",
                           "检查 {% %} 标签是否成对、括号和引号是否闭合")


def check(config: Config, *, now: datetime | None = None, templates: bool = True) -> CheckReport:
    """Check the project of ``config`` without writing anything; ``now`` (aware) decides which articles are
    future-dated (default :func:`sitegen.clock.now`). Raises nothing for content problems; I/O errors on the
    project folder itself propagate as ``OSError``."""
    now = now or clock.now(config)
    problems = Problems()
    sources = sourcesmod.scan(config)
    parsed = [contentmod.read_source(config, s) for s in sources]
    for p in parsed:
        problems.extend(p.problems)
    pages = [p.page for p in parsed if p.page]
    pages, notes = attachments.measure(pages, config.root, config.attachments.max_mb)
    problems.extend(notes)
    public, notes = contentmod.select(pages, now=now, drafts=False, future=False)
    problems.extend(notes)
    published = {p.source for p in public}
    admitted, url_problems = planmod.admit(pages, config)
    problems.extend(url_problems)
    site, site_problems = contentmod.assemble(admitted, config)
    problems.extend(site_problems)
    problems.extend(planmod.plan(site).problems)
    texts = _Texts(config.root)
    seen: dict = {}
    for page in site.all_pages:
        _check_links(page, site, published, texts, problems)
        _check_images(config, page, texts, problems, seen)
        _check_unfinished(page, texts, problems)
    if templates:
        _check_templates(config, problems)
    return CheckReport(len(sources), tuple(problems.sorted()))


__all__ = ["CheckReport", "MAX_IMAGE_BYTES", "anchor_ids", "check"]
