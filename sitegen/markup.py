"""Markdown → HTML for one article body, with sitegen's processors; one converter per process, reset before each document.

Python-Markdown (CommonMark-ish, see its docs) with ``tables``, ``fenced_code``, ``footnotes``, ``attr_list``,
``sane_lists`` and ``toc``, plus:

- nested lists indented by 2 spaces (as Typora and GitHub write them) are re-indented to the 4 spaces
  Python-Markdown needs (case B18);
- heading ids keep Chinese characters (``toc.slugify_unicode``), not ``_1``, ``_2``;
- a soft line break between two CJK characters produces no space;
- links to other ``.md`` files and relative image paths — in Markdown or in raw ``<img>`` tags, as Typora
  writes a resized image (``<img src="a.png" style="zoom:50%;">``) — are recorded and replaced by placeholders
  (``sitegen-md:`` / ``sitegen-img:`` + project-relative path) which the build resolves once every page's URL and
  every image's variants are known; links to documents (attachments, see :mod:`sitegen.attachments`) are recorded
  and point to ``sitegen-file:N`` (the N-th), which :mod:`sitegen.content` replaces with the published copy's URL;
- a no-break or ideographic space right after a list marker or ``#`` (pasted from Word or a web page) counts as
  a space, so the list or heading the editor sees is one (Python-Markdown needs U+0020);
- the HTML is sanitized with nh3 (``<script>``, ``on*=`` handlers and ``javascript:`` URLs removed, case B19) unless
  the site trusts raw HTML.
"""
from __future__ import annotations

import html as htmllib
import posixpath
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import TocExtension, slugify_unicode
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from sitegen.attachments import is_attachment

MD_LINK = "sitegen-md:"
IMG_LINK = "sitegen-img:"
FILE_LINK = "sitegen-file:"

_CJK = "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_WIDE = re.compile(f"[{_CJK}\u2018\u2019\u201c\u201d]")  # Chinese characters, punctuation and curly quotes
_INLINE_TAG = r"</?(?:a|abbr|b|cite|code|del|em|i|ins|kbd|mark|q|s|samp|small|span|strong|sub|sup|time|u)(?:\s[^<>]*)?>"
# a line break with the visible characters on each side (inline tags such as <strong> skipped), written as
# groups: left character, tags before the break, tags after it, right character
_SOFT_BREAK = re.compile(f"([^\\s<>])((?:{_INLINE_TAG})*)\\n[ \\t]*((?:{_INLINE_TAG})*)(?=([^\\s<]))")
_LIST_ITEM = re.compile(r"^( *)([-*+]|\d{1,9}[.)])(\s+|$)")
_ODD_MARKER_SPACE = re.compile("^([ \u00a0\u3000]*)([-*+]|\\d{1,9}[.)]|#{1,6})[\u00a0\u3000]+")
_RAW_IMG = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*(["'])(.*?)\1[^>]*>""", re.I | re.S)
_FENCE = re.compile(r"^\s*(```|~~~)")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "iframe", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "picture", "pre", "q", "s", "samp", "small", "source", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "video",
    "audio",
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang", "dir"},
    "a": {"href", "name", "target"},
    "img": {"src", "alt", "width", "height", "loading", "decoding", "srcset", "sizes"},
    "source": {"src", "srcset", "sizes", "type", "media"},
    "iframe": {"src", "width", "height", "allowfullscreen", "frameborder", "allow"},
    "video": {"src", "controls", "width", "height", "poster", "preload"},
    "audio": {"src", "controls", "preload"},
    "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align", "scope"},
    "col": {"span"}, "colgroup": {"span"}, "ol": {"start", "type", "reversed"}, "li": {"value"},
    "time": {"datetime"}, "table": {"summary"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel", MD_LINK[:-1], IMG_LINK[:-1], FILE_LINK[:-1]}


@dataclass(frozen=True, slots=True)
class Rendered:
    """Result of :func:`render_markdown`: ``html`` (sanitized, with placeholders), ``toc`` as tuples
    ``(level, id, text)``, ``links`` and ``images`` as tuples ``(project-relative target, file line)`` (the target
    is ``None`` when the path leaves the project), the plain ``text`` of the whole body, and ``lead``, the text of
    its paragraphs and list items only (no headings, captions, tables or footnotes) from which summaries are cut.
    ``files`` are the attachment links as ``(target, as written, line)``, the N-th written ``sitegen-file:N`` in
    ``html``; ``computer_paths`` the images and documents named by a path on the editor's computer
    (``C:\\Users\\…``), as ``(as written, line, "image" | "file")``, left out of the page."""

    html: str
    toc: tuple[tuple[int, str, str], ...]
    links: tuple[tuple[str | None, str, int], ...]
    images: tuple[tuple[str | None, str, int], ...]
    text: str
    lead: str
    files: tuple[tuple[str | None, str, int], ...] = ()
    computer_paths: tuple[tuple[str, int, str], ...] = ()


def indent_nested_lists(text: str) -> str:
    """Re-indent nested Markdown lists written with 2-space (or any smaller-than-4) steps to 4 spaces per level,
    leaving fenced code untouched; a no-break or ideographic space before or after a list marker or ``#`` is read
    as a space (Python-Markdown issue #428). Pure function of the text."""
    out, stack, fenced = [], [], False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        if fenced or not line.strip():
            out.append(line)
            continue
        line = _ODD_MARKER_SPACE.sub(lambda m: " " * len(m.group(1)) + m.group(2) + " ", line, count=1)
        m = _LIST_ITEM.match(line)
        if m:
            ind = len(m.group(1))
            while stack and ind < stack[-1]:
                stack.pop()
            if not stack or ind > stack[-1]:
                stack.append(ind)
            out.append(" " * (4 * (len(stack) - 1)) + line.lstrip(" "))
        elif line[0] != " ":
            stack = [] if not stack or not out or out[-1].strip() == "" else stack
            out.append(line)
        elif stack:
            out.append(" " * (4 * len(stack)) + line.lstrip(" "))
        else:
            out.append(line)
    return "\n".join(out)


class _ListIndent(Preprocessor):
    def run(self, lines):
        return indent_nested_lists("\n".join(lines)).split("\n")


class _Links(Treeprocessor):
    """Rewrites ``.md`` links and relative image paths to placeholders and records them with their lines; an
    image alone in its paragraph becomes a ``<figure>`` whose caption is its title or alt text."""

    def __init__(self, md, owner):
        super().__init__(md)
        self.owner = owner

    @property
    def ctx(self):
        return self.owner.ctx

    def run(self, root):
        ctx = self.ctx
        for el in root.iter():
            if el.tag == "a":
                href = el.get("href", "")
                target, frag = _split(href)
                if _computer_path(href):
                    if is_attachment(target, ctx.extensions):
                        ctx.computer_paths.append((href, ctx.line_of(href), "file"))
                        el.attrib.pop("href")
                elif target and _is_local(href) and target.lower().endswith(".md"):
                    rel = ctx.resolve(target)
                    ctx.links.append((rel, href, ctx.line_of(href)))
                    el.set("href", MD_LINK + (rel or "") + (("#" + frag) if frag else ""))
                elif target and _is_local(href) and is_attachment(target, ctx.extensions):
                    el.set("href", ctx.file_link(href, target))
        parents = {child: parent for parent in root.iter() for child in parent}
        for el in list(root.iter("img")):  # document order
            src = ctx.image_link(el.get("src", ""))
            if src is None:
                _remove(parents[el], el)
            else:
                el.set("src", src)
        for p in list(root.iter("p")):
            if len(p) == 1 and p[0].tag == "img" and not (p.text or "").strip() and not (p[0].tail or "").strip():
                caption = p[0].get("title") or p[0].get("alt") or ""
                p.tag = "figure"
                p.set("class", "photo")
                p[0].tail = None
                if caption:
                    etree.SubElement(p, "figcaption").text = caption


class _Context:
    def __init__(self, text: str, source: str, first_line: int, exists, extensions=frozenset()):
        self.text, self.source, self.first_line, self.exists = text, source, first_line, exists
        self.extensions = extensions
        self.links: list = []
        self.images: list = []
        self.files: list = []
        self.computer_paths: list = []
        self._after: dict[str, int] = {}

    def image_link(self, src: str) -> str | None:
        """The ``src`` to write for an image written as ``src``: a placeholder for a local path (recorded),
        ``None`` (leave the image out) for a path on the editor's computer (recorded), else ``src`` as it is."""
        if _computer_path(src):
            self.computer_paths.append((src, self.line_of(src), "image"))
            return None
        if src and _is_local(src) and not src.startswith(IMG_LINK):
            rel = self.resolve(_split(src)[0])
            self.images.append((rel, src, self.line_of(src)))
            return IMG_LINK + (rel or "")
        return src

    def file_link(self, href: str, target: str) -> str:
        """``sitegen-file:N`` for the N-th attachment link (recorded with its resolved target and line)."""
        self.files.append((self.resolve(target), href, self.line_of(href)))
        return f"{FILE_LINK}{len(self.files) - 1}"

    def line_of(self, target: str) -> int:
        """File line of the next use of ``target`` as a link or image destination (``](x.md``, ``: x.md``,
        ``"x.md"``…), searching after the previous use of the same target so repeated links get their own lines;
        a bare mention in the prose does not count unless nothing else matches."""
        start = self._after.get(target, 0)
        found = [p for p in (self.text.find(pre + target, start) for pre in ("](", "]: ", "(", '"', "'", "<"))
                 if p >= 0]
        pos = min(found) if found else self.text.find(target, start)
        if pos < 0:
            return self.first_line
        self._after[target] = pos + len(target)
        return self.first_line + self.text.count("\n", 0, pos)

    def resolve(self, target: str) -> str | None:
        """:func:`resolve_path` of ``target`` written in this document."""
        return resolve_path(target, self.source, self.exists)


def resolve_path(target: str, source: str, exists) -> str | None:
    """Project-relative POSIX path of ``target`` (a path as written, percent-encoded or not) in file ``source``:
    beside the file first, then from ``content/``; ``None`` when it leaves the project. Windows backslashes
    (``photos\\2026\\a.jpg``, typed by editors on Windows) count as slashes. When no such file exists but one whose
    name differs only in letter case does (``DSC0001.JPG`` written ``DSC0001.jpg``: the same file on the Windows or
    Mac computer of the editor), that one is returned; else the first candidate (the caller reports it
    missing). ``exists(rel)`` tells whether a project-relative file exists."""
    from urllib.parse import unquote

    target = unquote(target).replace("\\", "/")
    if target.startswith("/"):
        candidates = [posixpath.normpath("content" + target)]
    else:
        here = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
        candidates = [here, posixpath.normpath(posixpath.join("content", target))]
    candidates = [c for c in candidates if c != ".." and not c.startswith("../")]
    if not candidates:
        return None
    for c in candidates:
        if exists(c):
            return c
    for c in candidates:
        folder, name = posixpath.split(c)
        stem, ext = posixpath.splitext(name)
        for variant in dict.fromkeys((stem + ext.lower(), stem + ext.upper(), name.lower(), name.upper())):
            if variant != name and exists(posixpath.join(folder, variant)):
                return posixpath.join(folder, variant)
    return candidates[0]


def _split(url: str) -> tuple[str, str]:
    target, _, frag = url.partition("#")
    return target.partition("?")[0], frag


def _is_local(url: str) -> bool:
    return bool(url) and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//|^#", url)


def _remove(parent, el) -> None:
    """Remove ``el`` from ``parent`` keeping the text after it."""
    tail = el.tail or ""
    index = list(parent).index(el)
    if tail:
        if index:
            prev = parent[index - 1]
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _computer_path(url: str) -> bool:
    """A Windows drive path (``C:\\Users\\…``, ``D:/…``) or a ``file:`` URL: a file on the editor's computer."""
    return bool(re.match(r"^\s*(?:[A-Za-z]:[\\/]|file:)", url))


class _RawImages(Postprocessor):
    """Raw HTML ``<img src="local">`` (Typora writes one for every resized image) treated like a Markdown image,
    unless it has its own ``srcset``."""

    def __init__(self, md, owner):
        super().__init__(md)
        self.owner = owner

    def run(self, text):
        ctx = self.owner.ctx

        def one(m):
            quote, src = m.group(1), m.group(2)
            if re.search(r"\ssrcset\s*=", m.group(0), re.I):
                return m.group(0)  # written responsive by hand: left as the editor wrote it
            new = ctx.image_link(htmllib.unescape(src))
            if new is None:
                return ""
            if new == htmllib.unescape(src):
                return m.group(0)
            return m.group(0).replace(f"{quote}{src}{quote}", f'"{htmllib.escape(new)}"', 1)

        return _RAW_IMG.sub(one, text)


class _SitegenExtension(Extension):
    """Registers sitegen's processors; ``ctx`` is the :class:`_Context` of the document being converted."""

    def __init__(self, ctx=None):
        super().__init__()
        self.ctx = ctx

    def extendMarkdown(self, md):
        md.preprocessors.register(_ListIndent(md), "sitegen_lists", 35)
        md.treeprocessors.register(_Links(md, self), "sitegen_links", 1)
        md.postprocessors.register(_RawImages(md, self), "sitegen_raw_images", 5)


_CONVERTER = None


def _converter():
    """The converter of this process, built once (building one costs as much as converting a short article);
    :func:`render_markdown` resets it before each document. Not thread-safe (the build uses processes)."""
    global _CONVERTER
    if _CONVERTER is None:
        ext = _SitegenExtension()
        # instances, not names: a name makes Markdown look its extension up among every installed package's
        # entry points (importlib.metadata, tens of milliseconds a process)
        md = markdown.Markdown(
            extensions=[TableExtension(), FencedCodeExtension(), FootnoteExtension(BACKLINK_TITLE="返回正文"),
                        AttrListExtension(), SaneListExtension(), TocExtension(slugify=slugify_unicode, permalink=False),
                        ext],
            output_format="html",
        )
        _CONVERTER = (md, ext)
    return _CONVERTER


def render_markdown(text: str, *, source: str, first_line: int = 1, exists=lambda rel: False,
                    trust_html: bool = False, attachments=frozenset()) -> Rendered:
    """Render Markdown ``text`` (the body of ``source``, a project-relative path, whose first body line is file
    line ``first_line``). ``exists(rel)`` tells whether a project-relative file exists (for resolving images and
    links beside the file first); ``attachments`` are the file extensions (lower case, no dot) of documents whose
    links are attachments. Pure apart from ``exists``; never raises for bad Markdown."""
    global _CONVERTER
    ctx = _Context(text, source, first_line, exists, attachments)
    md, ext = _converter()
    ext.ctx = ctx
    try:
        md.reset()
        body = md.convert(text)
    except BaseException:  # stopped half-way (a CPU budget, Ctrl-C): build a fresh converter for the next one
        _CONVERTER = None
        raise
    finally:
        ext.ctx = None
    body = _join_cjk_lines(body)
    if not trust_html:
        body = sanitize(body)
    toc = tuple(_flatten_toc(md.toc_tokens))
    images = tuple(sorted(ctx.images, key=lambda i: i[2]))  # raw <img> tags were found after the others
    return Rendered(body, toc, tuple(ctx.links), images, html_to_text(body), lead_text(body),
                    tuple(ctx.files), tuple(ctx.computer_paths))


def sanitize(html: str) -> str:
    """Remove scripts, event handlers, ``javascript:`` URLs and unknown tags with nh3 (ammonia), keeping the
    allow-listed editorial markup (tables, figures, embeds)."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel=None, clean_content_tags={"script", "style"})


def _join_cjk_lines(html: str) -> str:
    parts = re.split(r"(<pre[\s>].*?</pre>)", html, flags=re.S)
    return "".join(p if p.startswith("<pre") else _SOFT_BREAK.sub(_join, p) for p in parts)


def _join(m: re.Match) -> str:
    """Drop a soft line break when the character on either side is Chinese (a browser would show a space)."""
    left, before, after, right = m.groups()
    if _WIDE.match(left) or _WIDE.match(right):
        return left + before + after
    return m.group(0)


def _flatten_toc(tokens):
    for t in tokens:
        yield (t["level"], t["id"], htmllib.unescape(t["name"]))
        yield from _flatten_toc(t.get("children", []))


_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(p|h[1-6]|li|tr|blockquote|figcaption|pre|div|table)>|<br\s*/?>", re.I)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags removed, entities decoded, footnotes dropped, whitespace collapsed
    (no space is kept between two CJK characters)."""
    html = re.sub(r'<div class="footnote">.*?</div>', "", html, flags=re.S)
    html = re.sub(r"<sup[^>]*>.*?</sup>", "", html, flags=re.S)
    text = _TAG.sub("", _BLOCK_END.sub(" ", html))
    text = htmllib.unescape(text)
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(f"(?<=[{_CJK}]) (?=[{_CJK}])", "", text)


def lead_text(html: str) -> str:
    """Plain text of the paragraphs and list items of an HTML fragment, footnotes excluded."""
    html = re.sub(r'<div class="footnote">.*?</div>', "", html, flags=re.S)
    return html_to_text(" ".join(re.findall(r"<(?:p|li)[\s>].*?</(?:p|li)>", html, flags=re.S)))


_SENTENCE_END = "。！？；!?;…"


def summarize(text: str, length: int) -> str:
    """CJK-aware excerpt of plain ``text``: at most ``length`` characters (each CJK character counts one).

    Cut at the last sentence end (。！？；!?;) inside the limit when that keeps at least half of it, else cut
    before the limit and append ``…`` so that the result, ``…`` included, is at most ``length`` characters (rule
    of case B01). Never splits a surrogate pair or a combining sequence."""
    text = text.strip()
    if len(text) <= length:
        return text
    cut = text[:length]
    end = max(cut.rfind(ch) for ch in _SENTENCE_END)
    if end + 1 >= length / 2:
        return cut[: end + 1]
    import unicodedata

    cut = cut[: length - 1]
    while cut and (unicodedata.combining(cut[-1]) or "\ud800" <= cut[-1] <= "\udbff"):
        cut = cut[:-1]
    return cut.rstrip("，、：,:（(“‘《 ") + "…"


def escape(text: str) -> str:
    """HTML-escape text (``&``, ``<``, ``>``, quotes)."""
    return htmllib.escape(text, quote=True)


__all__ = ["Rendered", "render_markdown", "sanitize", "html_to_text", "summarize", "indent_nested_lists", "escape",
           "resolve_path", "MD_LINK", "IMG_LINK", "FILE_LINK"]
