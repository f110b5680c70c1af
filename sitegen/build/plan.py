"""The plan stage: every output of the build, once, as a value (:class:`Plan` of
:class:`~sitegen.build.kinds.Output`), before anything renders. Rendering, feeds, the sitemap, search, pruning,
``check`` and the URL-clash check all read it.

Two gates guard it:

* :func:`gate`: every output path stays inside ``output/`` — no ``..``, no absolute path, no ``?``/``#`` (a static
  host cannot answer a query string), no control, bidi-override or zero-width character, no backslash, each
  segment at most 255 bytes in UTF-8 (the file-name limit of Linux file systems);
* clashes: two outputs on one file (letter case ignored, as case-insensitive file systems and hosts see them) are
  one ``E401`` at the line that causes the later one — the ``slug:`` line, the ``aliases:`` entry, or line 1 where
  the file name decides — naming both sides. Generated pages (home, listings, ``/search/``, feeds …) win over
  content; a page wins over an alias.

A page whose own URL fails is left out before the site is assembled (:func:`admit`, so no listing links to it);
an alias that fails is left out alone. In a non-strict build everything else is built."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from sitegen.build import kinds as kindsmod
from sitegen.build.kinds import Kind, Output, page_origin
from sitegen.build.write import output_path
from sitegen.config import Config
from sitegen.content import Page, Site
from sitegen.errors import Location, Problem

SEGMENT_BYTES = 255
"""Longest path segment (file or folder name) in UTF-8 bytes."""

_FORBIDDEN = {"?": "问号 ?", "#": "井号 #", "\\": "反斜杠 \\"}
# control characters (Unicode category Cc: C0, DEL, C1) and the invisible ones editors paste (zero-width, bidi)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
# what nearly every URL is: ASCII segments that do not start with a dot, well under the segment limit
_PLAIN = re.compile(r"/(?:[A-Za-z0-9_~+-][A-Za-z0-9._~+-]{0,199}/)*(?:[A-Za-z0-9_~+-][A-Za-z0-9._~+-]{0,199})?")


def gate(url: str) -> str | None:
    """Why the site-relative ``url`` cannot be an output path (a Chinese phrase), or ``None`` when it can."""
    if _PLAIN.fullmatch(url):
        return None
    if not url.startswith("/"):
        return "网址必须以 / 开头"
    for ch, name in _FORBIDDEN.items():
        if ch in url:
            return f"网址含有{name}（静态网站无法按查询参数或锚点响应）"
    control = _CONTROL.search(url)
    if control:
        return f"网址含有不可见的控制字符 U+{ord(control.group()):04X}"
    for segment in output_path(url).split("/"):
        if segment in ("", ".", ".."):
            if segment:
                return "网址含有 .. 或 .（会写到输出文件夹以外）"
            continue
        size = len(segment.encode("utf-8"))
        if size > SEGMENT_BYTES:
            return f"网址中的一段长 {size} 字节，超过文件系统允许的 {SEGMENT_BYTES} 字节"
    return None


def _key(path: str) -> str:
    return path.lower()


def reserved(config: Config, kinds: Iterable[Kind] | None = None) -> dict[str, str]:
    """The output paths generated pages take whatever the content (lower-cased path → Chinese label); ``kinds``
    defaults to :data:`sitegen.build.kinds.KINDS` as it is when called."""
    taken: dict[str, str] = {}
    for kind in kinds if kinds is not None else kindsmod.KINDS:
        for url in kind.reserved(config):
            url, label = url if isinstance(url, tuple) else (url, kind.label)
            taken.setdefault(_key(output_path(url)), label)
    return taken


def _clash(where: Location, url: str, other: str, hint: str) -> Problem:
    return Problem(where, "E401", f"网址 {url} 与{other}重复", hint)


class Claims:
    """Output paths claimed so far (lower-cased, as case-insensitive file systems see them): a path clashes with
    the same path, and with a file where it needs a folder or a folder where it needs a file
    (``feed.xml`` against ``feed.xml/index.html``)."""

    def __init__(self):
        self.owners: dict[str, object] = {}
        self.folders: dict[str, object] = {}

    def claim(self, path: str, owner) -> object | None:
        """Claim ``path`` for ``owner``; returns the owner it clashes with (nothing claimed), else ``None``."""
        key, owners, folders = _key(path), self.owners, self.folders
        found = owners.get(key) or folders.get(key)
        parent = key.rfind("/")
        # a known folder has no file at it nor at any folder above it (claims keep the two apart): no need to look
        cut = -1 if found is not None or parent == -1 or key[:parent] in folders else key.find("/")
        while found is None and cut != -1:  # a file where this path needs a folder
            found = owners.get(key[:cut])
            cut = key.find("/", cut + 1)
        if found is not None:
            return found
        owners[key] = owner
        cut = parent
        while cut != -1 and key[:cut] not in folders:  # a folder known has its own folders known
            folders[key[:cut]] = owner
            cut = key.rfind("/", 0, cut)
        return None


def checked(memo: dict | None, name: str, items: Iterable[str], check) -> tuple[frozenset, tuple[Problem, ...]]:
    """``check()`` → ``(dropped, problems)``, or the result ``memo`` (the last build's, kept by the caller) holds
    under ``name`` for the same ``items`` (the text of everything the check reads); stores the result in
    ``memo``. The gate and the clash checks of 23,000 outputs cost more than digesting their text."""
    key = hashlib.blake2b("\x1f".join(items).encode(), digest_size=16).hexdigest()
    known = memo.get(name) if memo is not None else None
    if known is not None and known[0] == key:
        return known[1], known[2]
    dropped, problems = check()
    result = (frozenset(dropped), tuple(problems))
    if memo is not None:
        memo[name] = (key,) + result
    return result


def admit(pages: Iterable[Page], config: Config, kinds: Iterable[Kind] | None = None,
          memo: dict | None = None) -> tuple[list[Page], list[Problem]]:
    """The pages whose own URL passes :func:`gate` and clashes with no generated page and no earlier page (in
    source order), and a problem for each page left out (E402 for the gate, E401 for a clash, at the ``slug:``
    line or line 1). ``memo``: see :func:`checked`."""
    taken = reserved(config, kinds)
    ordered = sorted(pages, key=lambda p: p.source)

    def check():
        claims = Claims()
        for path, label in taken.items():
            claims.claim(path, ("site.yaml", label))
        dropped, problems = set(), []
        for p in ordered:
            why = gate(p.url)
            if why:
                hint = "请把 slug 改短或改为拼音、英文" if p.slug_line else "请在 front matter 中写一个简短的 slug"
                problems.append(Problem(page_origin(p), "E402", f"网址 {p.url} 无法使用：{why}", hint))
                dropped.add(p.source)
                continue
            first = claims.claim(output_path(p.url), (p.source, ""))
            if first is not None:
                source, label = first
                generated = source == "site.yaml"
                other = label if generated else f" {source} "
                hint = "请修改 slug（或文件名），换一个网址" if generated else "请修改其中一篇的 slug"
                problems.append(_clash(page_origin(p), p.url, other, hint))
                dropped.add(p.source)
        return dropped, problems

    items = [f"{path}\x1e{label}" for path, label in taken.items()]
    items += [f"{p.source}\x1e{p.url}\x1e{p.slug_line}" for p in ordered]
    dropped, problems = checked(memo, "admit", items, check)
    return [p for p in ordered if p.source not in dropped], list(problems)


@dataclass(frozen=True, slots=True)
class Plan:
    """Every output of a build in plan order (:data:`~sitegen.build.kinds.KINDS` order) and the problems the plan
    found. ``kinds`` maps a kind name to its :class:`~sitegen.build.kinds.Kind`."""

    outputs: tuple[Output, ...]
    problems: tuple[Problem, ...]
    kinds: Mapping[str, Kind]

    def of_kind(self, *names: str) -> list[Output]:
        """The outputs of the kinds ``names``, in plan order."""
        return [o for o in self.outputs if o.kind in names]

    def sitemap(self) -> list[tuple[str, object]]:
        """``(url, lastmod)`` of every output listed in the sitemap, in plan order, each URL once."""
        seen, urls = set(), []
        for o in self.outputs:
            kind = self.kinds.get(o.kind)
            if o.lastmod is not None and (kind is None or kind.sitemap) and o.url not in seen:
                seen.add(o.url)
                urls.append((o.url, o.lastmod))
        return urls

    @property
    def pages(self) -> int:
        """How many HTML pages the plan makes (every output of a kind with ``html``)."""
        return sum(1 for o in self.outputs if getattr(self.kinds.get(o.kind), "html", True))


def _label(kinds: Mapping[str, Kind], o: Output) -> str:
    if o.origin.path != "site.yaml":
        return o.origin.path
    kind = kinds.get(o.kind)
    return kind.label if kind else o.kind


def plan(site: Site, kinds: Iterable[Kind] | None = None, memo: dict | None = None) -> Plan:
    """Every output of ``site``: generated ones first, then pages, then aliases (so content never displaces a
    generated page and an alias never displaces a page), each checked by :func:`gate` and for clashes. Outputs
    that fail are left out with a problem at their origin; the plan keeps table order. ``kinds`` defaults to
    :data:`sitegen.build.kinds.KINDS` as it is when called; ``memo``: see :func:`checked`."""
    kinds = tuple(kinds if kinds is not None else kindsmod.KINDS)
    table = {k.name: k for k in kinds}
    for name in ("article", "page", "gallery"):
        table.setdefault(name, table.get("content"))
    listed = [(k, o) for k in kinds for o in k.outputs(site)]
    items = [f"{name}\x1e{getattr(k, 'label', '')}" for name, k in table.items()]
    items += [f"{k.name}\x1e{o.kind}\x1e{o.url}\x1e{o.path}\x1e{o.origin.path}\x1e{o.origin.line}" for k, o in listed]
    dropped, problems = checked(memo, "plan", items, lambda: _check(listed, table))
    outputs = tuple(o for i, (_, o) in enumerate(listed) if i not in dropped)
    return Plan(outputs, problems, table)


def _check(listed: list[tuple[Kind, Output]], table: Mapping[str, Kind]) -> tuple[set[int], list[Problem]]:
    """The positions in ``listed`` of the outputs the gate or a clash leaves out, and their problems."""
    def claim_order(i: int) -> tuple:  # generated pages, then pages, then aliases; content in source order
        kind, o = listed[i]
        if kind.name == "redirect":
            return (2, o.origin.path, i)
        return (0, "", i) if o.origin.path == "site.yaml" else (1, o.origin.path, i)

    order = sorted(range(len(listed)), key=claim_order)
    claims = Claims()
    dropped: set[int] = set()
    problems: list[Problem] = []
    for i in order:
        o = listed[i][1]
        why = gate(o.url)
        if why:
            dropped.add(i)
            problems.append(Problem(o.origin, "E402", f"网址 {o.url} 无法使用：{why}", _gate_hint(o)))
            continue
        first = claims.claim(o.path, o)
        if first is not None:
            dropped.add(i)
            hint = {"redirect": "请修改或删除这一条旧网址（aliases）", "attachment": "请给附件文件改一个名字，并修改正文里的链接"}.get(
                o.kind, "请修改 slug（或文件名），换一个网址")
            problems.append(_clash(o.origin, o.url, f"“{_label(table, first)}”（{first.url}）", hint))
            continue
    return dropped, problems


def _gate_hint(o: Output) -> str:
    if o.kind == "attachment":
        return "请给附件文件改一个不含 ? # \\ 等符号、较短的名字，并修改正文里的链接"
    if o.kind == "redirect":
        if "?" in o.url or "#" in o.url:
            return "静态网站无法按查询参数跳转；请删除这一条，改在网站服务器上设置跳转（见 README 中 nginx 的 map 写法）"
        return "请删除或改短这一条旧网址（aliases）"
    return "请把 slug 改短或改为拼音、英文"
