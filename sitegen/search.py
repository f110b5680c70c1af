"""The site's own search: a static Pagefind index of every article, built during ``build``.

Pagefind's *extended* build (PyPI ``pagefind[extended]``, version pinned in ``pyproject.toml``) segments Chinese
text into words, so two-character words (妇联, 改革, 家风) and names (田野) match whole words rather than single
characters. Only article pages are given to Pagefind, and inside them only the ``<article data-pagefind-body>``
element minus its ``data-pagefind-ignore`` footer (tags, previous/next, related) is indexed, so menus, footers and
listings never produce hits. Filters ``category`` and ``column`` and the metadata ``title``/``date`` come from
``data-pagefind-*`` attributes in ``article.html``.

The index goes through the build's :class:`~sitegen.build.write.Writer` like every other output: Pagefind writes its
bundle into a temporary folder, and each file is staged as ``pagefind/<name>``. So the index is committed into
``output/`` together with the pages it describes (a failed build leaves ``output/`` as it was), and files of an
older index are pruned through the manifest. Bundle file names are content hashes, so an unchanged index writes
nothing.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Mapping, Protocol, Sequence

from sitegen import lifetime
from sitegen.cache import dist_version
from sitegen.files import write_atomic
from sitegen.content import Page, Site
from sitegen.errors import SitegenError

log = logging.getLogger(__name__)

PAGEFIND_DIST = "pagefind_bin_extended"
"""The PyPI package of the Pagefind binary (its version is part of every search bundle's key)."""

BUNDLE = "pagefind"
"""The folder of the search bundle under ``output/`` (the search page loads ``/pagefind/pagefind.js``)."""


_UI_FILE = re.compile(r"^pagefind-(?:component-|modular-)?ui\.(?:js|css)$|^pagefind-highlight\.js$")


class _Writer(Protocol):
    out: Path
    staging: Path
    written: list[str]

    def write(self, rel: str, data: bytes | str) -> None: ...


def build_index(pages: Iterable[tuple[str, bytes]], cache: Path | None = None,
                service: "Pagefind | None" = None, *, saved_as: str = "bundle") -> dict[str, bytes]:
    """Index HTML pages with Pagefind (``service``, a running :class:`Pagefind`, else one started for this call).
    ``pages`` yields ``(site URL such as "/sub/a/b/", HTML bytes)``; returns the bundle as ``{path relative to the
    bundle folder: bytes}`` (``pagefind.js``, ``pagefind-entry.json``, ``index/*.pf_index``,
    ``fragment/*.pf_fragment`` …) without Pagefind's ready-made UI files, which the theme does not use. The pages
    are written into a temporary folder and indexed as a folder, as the ``pagefind --site`` CLI does (same
    bundle, byte for byte). Pagefind's filter and metadata files are not byte-stable between runs (upstream issue
    #638), so with ``cache`` (a folder) the bundle of identical input is reused from ``cache/<saved_as>.json``: an
    unchanged site writes no new search files. Raises :class:`SitegenError` (message in Chinese) when the Pagefind
    binary is missing or fails."""
    pages = list(pages)
    key = hashlib.sha256()
    key.update(repr((dist_version(PAGEFIND_DIST), "service")).encode())
    for url, html in pages:
        key.update(f"{len(url)}:{url}{len(html)}:".encode())
        key.update(html)
    digest = key.hexdigest()
    saved = cache / f"{saved_as}.json" if cache else None
    if saved:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # no usable saved bundle: index
            data = json.loads(saved.read_text("utf-8"))
            if data.get("key") == digest:
                return {name: base64.b64decode(b) for name, b in data["files"].items()}
    with tempfile.TemporaryDirectory(prefix="sitegen-pagefind-") as tmp:
        site_dir = Path(tmp)
        for url, html in pages:
            path = site_dir / (url.strip("/") or ".") / "index.html" if url.endswith("/") else site_dir / url.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(html)
        if service is None:
            with Pagefind() as own:
                bundle = own.index_folder(site_dir)
        else:
            bundle = service.index_folder(site_dir)
    files = {name: data for name, data in sorted(bundle.items()) if not _UI_FILE.match(name.rpartition("/")[2])}
    if saved:
        saved.parent.mkdir(parents=True, exist_ok=True)
        tmp_file = saved.with_suffix(".tmp")
        tmp_file.write_text(json.dumps({"key": digest, "files": {n: base64.b64encode(b).decode("ascii")
                                                                  for n, b in files.items()}}), "utf-8")
        os.replace(tmp_file, saved)
    return files


def pagefind_command() -> list[str]:
    """The Pagefind CLI to run: the extended binary that ``pagefind_bin_extended.get_executable()`` finds (what
    ``python -m pagefind`` would exec, without starting Python first: 60 ms off every run), else
    ``python -m pagefind``."""
    try:
        from pagefind_bin_extended import get_executable

        return [str(get_executable())]
    except (ImportError, OSError):
        return [sys.executable, "-m", "pagefind"]


REPLY_TIMEOUT = 1800
"""Seconds to wait for one reply of Pagefind (indexing 2,500 articles takes about 15 s here) before giving up."""

_WARM_TEXT = "河北省妇联召开全省妇联改革工作推进会，部署家庭家教家风建设。"


class Pagefind:
    """One Pagefind process in service mode (``pagefind --service``: the protocol of Pagefind's own Node and Python
    APIs, base64-encoded JSON messages ended by a comma on stdin/stdout), indexing one folder after another.

    Why not the CLI or the ``pagefind`` Python API: the extended build's Chinese segmenter loads its dictionary on
    the first Chinese text a process sees (0.35 s here, on every CLI run), and the Python API polls for each
    reply with a 0.1 s sleep. With ``warm`` the constructor starts a thread that feeds the process a Chinese
    sentence in a throw-away index, so the dictionary loads on another core while the build renders; a shard of
    a few dozen articles then indexes in about 0.15 s instead of 0.5 s. Folders are indexed with ``AddDir``, the
    CLI's own code path: the bundle is the CLI's, byte for byte (checked). Use as a context manager or call
    :meth:`close`. The process dies with this one, even when this one is killed (:mod:`sitegen.lifetime`; on Linux
    it is killed when the thread that started it ends: start it from a thread that outlives its use). Not
    thread-safe: one caller at a time (the warm-up is waited for first). Raises :class:`SitegenError` (Chinese
    message) when the binary cannot start or fails."""

    def __init__(self, command: Sequence[str] | None = None, *, warm: bool = False):
        argv = list(command or pagefind_command()) + ["--service"]
        log.debug("运行 %s", argv)
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, preexec_fn=lifetime.preexec())
        except OSError as exc:
            raise SitegenError(f"无法运行 Pagefind，站内搜索索引没有生成：{exc}"
                               "（请安装 pagefind[extended]：pip install -e .）") from exc
        self._last = 0
        self._buffer = b""
        self._replies: dict[int, dict] = {}
        self._warming: threading.Thread | None = None
        if warm:
            self._warming = threading.Thread(target=self._warm, name="pagefind-warm", daemon=True)
            self._warming.start()

    def _warm(self) -> None:
        with contextlib.suppress(SitegenError, OSError, ValueError):
            index = self._call({"type": "NewIndex", "config": None})["index_id"]
            self._call({"type": "AddRecord", "index_id": index, "url": "/warm/", "content": _WARM_TEXT,
                        "language": "zh-cn", "meta": None, "filters": None, "sort": None})
            self._call({"type": "DeleteIndex", "index_id": index})

    def _call(self, payload: dict) -> dict:
        """Send one request and wait for its reply's payload. Raises :class:`SitegenError`."""
        self._last += 1
        sent = self._last
        message = base64.b64encode(json.dumps({"message_id": sent, "payload": payload}).encode("utf-8"))
        try:
            self._proc.stdin.write(message + b",")
            self._proc.stdin.flush()
        except (OSError, ValueError) as exc:
            raise self._failed(str(exc)) from exc
        while sent not in self._replies:
            if b"," not in self._buffer:  # a reply can be megabytes (GetFiles): join the reads once
                parts = [self._buffer]
                while True:
                    fd = self._proc.stdout.fileno()
                    if not select.select([fd], [], [], REPLY_TIMEOUT)[0]:
                        self._proc.kill()
                        raise self._failed(f"{REPLY_TIMEOUT} 秒内没有响应")
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        raise self._failed("进程意外退出")
                    parts.append(chunk)
                    if b"," in chunk:
                        break
                self._buffer = b"".join(parts)
            raw, _, self._buffer = self._buffer.partition(b",")
            reply = json.loads(base64.b64decode(raw))
            if isinstance(reply, dict) and isinstance(reply.get("payload"), dict):
                self._replies[reply.get("message_id") or sent] = reply["payload"]
        answer = self._replies.pop(sent)
        if answer.get("type") == "Error":
            raise self._failed(str(answer.get("message", "")))
        return answer

    def _failed(self, detail: str) -> SitegenError:
        return SitegenError(f"Pagefind 生成站内搜索索引失败：{detail}（请确认安装的是 pagefind[extended]）")

    def index_folder(self, folder: Path) -> dict[str, bytes]:
        """Index every ``*.html`` under ``folder`` (URLs from the paths, as ``pagefind --site folder``) and return
        the bundle ``{relative path: bytes}``. Raises :class:`SitegenError` when Pagefind fails or finds no page."""
        if self._warming is not None:
            self._warming.join()
            self._warming = None
        index = self._call({"type": "NewIndex", "config": None})["index_id"]
        done = self._call({"type": "AddDir", "index_id": index, "path": str(Path(folder).resolve()), "glob": None})
        if not done.get("page_count"):
            raise self._failed("没有找到要索引的页面")
        files = self._call({"type": "GetFiles", "index_id": index}).get("files") or []
        self._call({"type": "DeleteIndex", "index_id": index})
        return {f["path"]: base64.b64decode(f["content"]) for f in files}

    def close(self) -> None:
        """End the process (waits up to 5 s, then kills it)."""
        if self._warming is not None:
            self._warming.join()
            self._warming = None
        with contextlib.suppress(OSError, ValueError):
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()

    def kill(self) -> None:
        """End the process at once (``SIGKILL``); :meth:`close` is still called afterwards."""
        with contextlib.suppress(OSError):  # already gone
            self._proc.kill()
        self._proc.wait()

    def __enter__(self) -> "Pagefind":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _final_bytes(writer: _Writer, rel: str) -> bytes:
    """The bytes ``rel`` will have after the commit: the staged copy if it changed in this build, else the file
    already in the output folder."""
    staged = writer.staging / rel
    return staged.read_bytes() if staged.is_file() else (writer.out / rel).read_bytes()


_BODY_OPEN = re.compile(rb"<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*\sdata-pagefind-body\b[^>]*>")
_IGNORE_ALL_OPEN = re.compile(rb"<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*\sdata-pagefind-ignore=[\"']?all\b[^>]*>")
_HTML_OPEN = re.compile(rb"<html\b[^>]*>", re.I)
_HEAD = re.compile(rb"<head\b[^>]*>.*?</head>", re.S | re.I)


def _element_end(html: bytes, m: re.Match) -> int | None:
    """End offset of the element whose opening tag ``m`` matched (group 1: its name), counting nested elements
    of the same name; None when it is not closed."""
    opener = re.compile(rb"<(/?)" + re.escape(m.group(1)) + rb"\b[^>]*>", re.I)
    depth = 0
    for t in opener.finditer(html, m.start()):
        depth += -1 if t.group(1) else 1
        if depth == 0:
            return t.end()
    return None


def essentials(html: bytes) -> bytes:
    """The part of a page Pagefind reads, in a minimal document: the ``<html>`` tag (its ``lang``), the element
    marked ``data-pagefind-body`` without its ``data-pagefind-ignore="all"`` parts, and the ``<head>`` only when it
    carries ``data-pagefind-*`` attributes (Pagefind takes the title from the body's first heading, not from
    ``<title>``). Pagefind makes the same bundle from it as from the whole page, byte for byte (checked on 1,000
    bench articles and in the tests), about a third faster. The whole page is returned when it has no such
    element, or ``data-pagefind-*`` attributes outside it and the head."""
    m = _BODY_OPEN.search(html)
    head = _HEAD.search(html)
    opening = _HTML_OPEN.search(html)
    end = _element_end(html, m) if m and head and opening else None
    if end is None:
        return html
    body = html[m.start():end]
    head_bytes = head.group(0) if b"data-pagefind" in head.group(0) else b"<head></head>"
    if html.count(b"data-pagefind") != body.count(b"data-pagefind") + head.group(0).count(b"data-pagefind"):
        return html
    parts, pos = [], 0
    for ig in _IGNORE_ALL_OPEN.finditer(body):
        if ig.start() < pos:
            continue  # inside an ignored element already cut
        stop = _element_end(body, ig)
        if stop is None or body.count(b"data-pagefind", ig.start(), stop) != 1:
            continue  # keep an ignored part that still carries filters or metadata
        parts.append(body[pos:ig.start()])
        pos = stop
    body = b"".join(parts) + body[pos:]
    return b"<!DOCTYPE html>\n" + opening.group(0) + head_bytes + b"<body>" + body + b"</body></html>\n"


ARCHIVE = "archive"
"""The folder, under ``pagefind/``, of the shards of articles older than the newest week."""

SHARD_ARTICLES = 2500
"""The most articles an archive shard holds, unless one calendar month alone has more. 2,500 keeps each Pagefind
process near 300 MB and 10 s (bench corpus), while a reader's query fetches one index chunk (30–80 KB) per shard:
five archive shards at 10,000 articles."""


def shards(site: Site) -> dict[str, list[Page]]:
    """The articles of ``site`` split into the search index's shards, ``{name: articles}``, each a separate
    Pagefind bundle that the search page merges (Pagefind's multisite ``mergeIndex``, what upstream suggests for
    large sites; it has no incremental indexing, upstream issue #71). The primary shard ``""`` holds the articles
    of the newest article's ISO week (Monday to Sunday, site time zone): what an editor's new or corrected article
    usually changes, so that edit re-runs Pagefind over a few dozen articles (0.5 s; Pagefind's Chinese
    segmenter alone takes 0.3 s to start). The primary shard is loaded first by the search page, with Pagefind's
    code. Older articles are grouped by calendar month and the months, oldest first, packed whole into archive
    shards of at most :data:`SHARD_ARTICLES` articles, named ``archive/YYYY-MM`` after their
    first month: a week that leaves the primary shard joins the newest archive shard or opens a new one, so
    older shards keep their names and bundles. Each shard depends only on its own articles, so an edit re-runs
    Pagefind over one shard, and a cold build runs several Pagefind processes at once. Empty without articles."""
    if not site.articles:
        return {}
    newest_week = max(a.date for a in site.articles).isocalendar()[:2]
    groups: dict[str, list[Page]] = {"": []}
    months: dict[tuple[int, int], list[Page]] = {}
    for page in site.articles:
        if page.date.isocalendar()[:2] == newest_week:
            groups[""].append(page)
        else:
            months.setdefault((page.date.year, page.date.month), []).append(page)
    current: list[Page] | None = None
    for year, month in sorted(months):
        pages = months[(year, month)]
        if current is None or len(current) + len(pages) > SHARD_ARTICLES:
            current = groups[f"{ARCHIVE}/{year:04d}-{month:02d}"] = []
        current.extend(pages)
    return groups


def shard_folder(name: str) -> str:
    """The output folder of shard ``name``: ``pagefind/`` for the primary shard, ``pagefind/archive/2021-03/``."""
    return f"{BUNDLE}/{name}/" if name else f"{BUNDLE}/"


def shard_key(name: str) -> str:
    """The output under which the build's manifest records shard ``name`` (its other files are the record's
    extras): ``pagefind/pagefind.js`` for the primary shard, ``pagefind/archive/2021-03/pagefind-entry.json``."""
    return shard_folder(name) + ("pagefind-entry.json" if name else "pagefind.js")


_PRIMARY_ONLY = re.compile(r"^pagefind\.js$|^wasm\.[^/]+\.pagefind$")
"""Files only the primary shard publishes: the merged shards run on the primary's code and WebAssembly."""


def _output_rel(url: str) -> str:
    url = url.lstrip("/")
    return url + "index.html" if not url or url.endswith("/") else url


def input_digest(essential: bytes) -> str:
    """The digest :func:`input_keys` records of an article's :func:`essentials`."""
    return hashlib.blake2b(essential, digest_size=16).hexdigest()


def input_keys(site: Site, writer: _Writer, groups: Mapping[str, Sequence[Page]],
               output_digest: Callable[[str], str | None], salt: str,
               known: Mapping[str, str] | None = None) -> tuple[dict[str, str], dict[str, bytes]]:
    """``{shard name: key}`` for the shards ``groups`` (``{name: its articles}``, from :func:`shards`): a digest
    of exactly what Pagefind would read for the shard (each article's URL and :func:`essentials` of its page as
    this build leaves it) and ``salt`` (the Pagefind version and settings). Two builds with the same key make the same bundle, so an article page re-rendered for
    a reason Pagefind does not see (a neighbour's title in its footer) does not re-run Pagefind. The digest of an
    article's essentials is remembered in ``.sitegen-cache/search/inputs.json`` under its URL and
    ``output_digest(output path)`` (what the page was rendered from, None when unknown), so only pages rendered
    from new inputs are read; ``known`` adds such digests made elsewhere (by the processes that rendered the
    pages, see :func:`input_digest`), under the same ``URL\0output digest`` keys. Returns the keys and the texts
    read on the way (``{URL: essentials}``, for :func:`index`)."""
    path = site.config.cache_dir / "search" / "inputs.json"
    try:
        memo = json.loads(path.read_text("utf-8"))
        memo = memo if isinstance(memo, dict) else {}
    except (OSError, ValueError):
        memo = {}
    keys, added, read = {}, dict(known or {}), {}
    memo.update(added)
    for name in groups:
        h = hashlib.blake2b(f"{salt}\0{name}".encode(), digest_size=16)
        for page in groups[name]:
            rel = _output_rel(page.url)
            d = output_digest(rel)
            m = f"{page.url}\0{d}" if d else None
            e = memo.get(m) if m else None
            if not isinstance(e, str):
                text = read[page.url] = essentials(_final_bytes(writer, rel))
                e = input_digest(text)
                if m:
                    added[m] = e
            h.update(f"{page.url}\0{e}\0".encode())
        keys[name] = h.hexdigest()
    if added:
        live = {f"{p.url}\0{output_digest(_output_rel(p.url))}" for p in site.articles}
        memo = {k: v for k, v in memo.items() if k in live}
        memo.update(added)
        try:
            write_atomic(path, json.dumps(memo, ensure_ascii=False))
        except OSError as exc:
            log.warning("无法写入缓存 %s：%s", path, exc)
    return keys, read


def on_processes(names: Sequence[str], work: Callable[[str, Pagefind], dict[str, bytes]], processes: int,
                 service: Pagefind | None = None) -> list[dict[str, bytes]]:
    """``[work(name, a Pagefind) for name in names]``, in that order, on ``processes`` Pagefind processes at once
    (``service`` is one of them; the others are started and closed here). Ctrl-C or a failing ``work`` kills every
    one of them at once (``service`` too: its owner only closes it), so the others' shards are not waited for."""
    idle = [service] if service is not None else []
    started: list[Pagefind] = []
    lock = threading.Lock()

    def run(name: str) -> dict[str, bytes]:
        with lock:
            worker = idle.pop()  # one process per thread: never empty
        try:
            return work(name, worker)
        finally:
            with lock:
                idle.append(worker)

    try:
        # started by this thread, which outlives them (see sitegen.lifetime), not by the pool's threads
        while len(idle) + len(started) < processes:
            started.append(Pagefind(warm=True))
        idle.extend(started)
        threads = ThreadPoolExecutor(max_workers=processes)  # each thread waits on a process
        try:
            return list(threads.map(run, names))
        except BaseException:
            for worker in started + ([service] if service is not None else []):
                worker.kill()
            raise
        finally:
            threads.shutdown(wait=True)
    finally:
        for worker in started:
            worker.close()


def index(site: Site, writer: _Writer, groups: Mapping[str, Sequence[Page]] | None = None, *,
          jobs: int = 1, read: Mapping[str, bytes] | None = None,
          service: Pagefind | None = None) -> dict[str, list[str]]:
    """Index the shards ``groups`` (``{name: its articles}``, default: all of :func:`shards`) of ``site`` as
    rendered by this build, on ``jobs`` :class:`Pagefind` processes (``service``, already started and warming,
    is one of them; the others are started here and closed at the end), largest shard first, and stage each
    bundle through ``writer`` under :func:`shard_folder`. ``read`` holds texts :func:`input_keys` already extracted
    (``{URL: bytes}``). Call after the pages are rendered and before ``writer.commit()``. Returns
    ``{name: output paths staged or unchanged}``. Raises :class:`SitegenError` when Pagefind fails (the build then
    commits nothing)."""
    groups = shards(site) if groups is None else groups
    names = sorted(groups, key=lambda name: -len(groups[name]))
    read = read or {}

    def inputs(name: str) -> list[tuple[str, bytes]]:
        pages = []
        for page in groups[name]:
            url, rel = page.url.lstrip("/"), _output_rel(page.url)
            # site-relative: pagefind.js prefixes the folder it is loaded from (``/funv/pagefind/pagefind.js`` →
            # ``/funv/``), so adding the base path here gave ``/funv/funv/…`` under a sub-path
            text = read.get(page.url)
            pages.append(("/" + url, text if text is not None else essentials(_final_bytes(writer, rel))))
        return pages

    cache = site.config.cache_dir / "search"
    bundles = on_processes(names, lambda name, worker: build_index(inputs(name), cache, worker,
                                                                    saved_as=name or "primary"),
                           max(1, min(jobs, len(names))), service)
    made: dict[str, list[str]] = {}
    for name, bundle in zip(names, bundles):
        folder = shard_folder(name)
        made[name] = []
        for file, data in bundle.items():
            if name and _PRIMARY_ONLY.match(file):
                continue
            writer.write(folder + file, data)
            made[name].append(folder + file)
        log.info("站内搜索索引 %s：%d 篇文章", name or "本周", len(groups[name]))
    return made
