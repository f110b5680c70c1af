"""The local preview: build with drafts and future articles, serve ``output/`` over HTTP, rebuild on save, reload the
browser by itself, and show build errors in the page.

- HTTP: :class:`http.server.ThreadingHTTPServer` on ``127.0.0.1`` by default. Paths are percent-decoded as UTF-8
  (Chinese file names), clean URLs map ``/a/b/`` to ``a/b/index.html`` and redirect ``/a/b`` to ``/a/b/``, unknown
  paths get the site's ``404.html`` with status 404, and every response carries the ``Content-Type`` the deploy
  rules give (:func:`sitegen.deploy.content_type`, ``charset=utf-8`` for text) and ``Cache-Control: no-store``.
- Live reload: server-sent events (HTML Living Standard, "Server-sent events") at :data:`EVENTS_PATH`; HTML
  responses, and only responses (files in ``output/`` are never touched), get a ``<link>`` to :data:`STYLE_PATH`
  and an external ``<script>`` :data:`SCRIPT_PATH` carrying the build version it was served at, so a
  Content-Security-Policy without ``unsafe-inline`` still allows it. When a newer build finishes the page reloads.
- Limits: a request line and its headers must arrive within :data:`HEADER_TIMEOUT` seconds (half-open
  connections are closed); a path over :data:`MAX_PATH_BYTES` is 414, a segment over 255 bytes 404.
- Errors: a build with content, template or configuration errors keeps the last good pages (a page whose source
  broke is kept from the previous build, see :class:`Preview`) and every served page gets an overlay listing
  ``path:line: code: message（hint）``; the next clean build removes it.
"""
from __future__ import annotations

import contextlib
import errno
import gc
import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import quote, unquote, urlsplit

from sitegen import build as buildmod
from sitegen import config as configmod
from sitegen.config import Config
from sitegen.deploy import content_type
from sitegen.errors import ConfigError, Location, Problem, SitegenError, UsageError
from sitegen.overlay import EVENTS_PATH, OVERLAY_CSS, RELOAD_JS, SCRIPT_PATH, STYLE_PATH, inject
from sitegen.watch import DEBOUNCE, Change, Watcher

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class BuildOutcome:
    """One preview build: ``version`` (opaque string, new for every build), ``problems`` the errors shown in the
    overlay (empty after a clean build), ``warnings``, the build ``report`` (``None`` when the build raised: a
    template or configuration error, and then ``output/`` is unchanged), the ``change`` that caused it (``None``
    for the first build) and the wall time in ``seconds``."""

    version: str
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    report: buildmod.BuildReport | None = None
    change: Change | None = None
    seconds: float = 0.0

    def as_event(self) -> dict:
        """The JSON sent to browsers: ``{"version": str, "problems": ["path:line: code: message（hint）", …]}``."""
        return {"version": self.version, "problems": [str(p) for p in self.problems]}


FLUSH_DELAY = 1.0
"""Seconds between a preview build and writing its caches to ``.sitegen-cache/``."""


class Preview:
    """Builds the site for preview (``drafts=True, future=True``) into ``out`` and keeps what the server shows.

    One build runs at a time (:meth:`rebuild` holds a lock). After a build that had errors, the files it removed
    (the page of an article whose front matter broke, its images) stay reachable through :meth:`lookup` from a
    hard-linked mirror in ``.sitegen-cache/serve-kept/``, so the editor keeps seeing the last good page; the next
    clean build drops them. ``on_build(BuildOutcome)`` is called after every build (the CLI prints it)."""

    def __init__(self, config: Config, *, out: Path | None = None,
                 on_build: Callable[[BuildOutcome], None] | None = None):
        self.config = config
        self.out = (out or config.root / "output").resolve()
        self.mirror = config.cache_dir / "serve-kept"
        self.on_build = on_build
        self._instance = uuid.uuid4().hex[:8]
        self._count = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._state = BuildOutcome(self._version())
        self._config_broken = False
        self._kept: set[str] = set()
        self._mirrored = False
        self._closed = False
        self._session = buildmod.Session()  # page cache, manifest and templates kept in memory between builds

    def _version(self) -> str:
        return f"{self._instance}-{self._count}"

    @property
    def state(self) -> BuildOutcome:
        """The outcome of the latest build."""
        with self._cond:
            return self._state

    def wait(self, version: str | None, timeout: float) -> BuildOutcome:
        """Block until the state's version differs from ``version`` or ``timeout`` seconds pass (or
        :meth:`close`); returns the current state."""
        with self._cond:
            self._cond.wait_for(lambda: self._state.version != version or self._closed, timeout)
            return self._state

    def close(self) -> None:
        """Wake every waiting event stream so it can end, and write the build caches kept in memory."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.flush()

    def flush(self) -> None:
        """Write the caches the last build kept in memory (the next build, or :meth:`close`, does it anyway)."""
        with self._lock:
            self._session.flush()
            # The session keeps every page of the site in memory; a full collection over them would otherwise run
            # in the middle of the next build (about a fifth of an edit's rebuild at 10,000 articles). Collect the
            # garbage of this build now, then freeze the survivors out of the collector's generations
            # (``gc.freeze``, Python 3.7+); unfreezing first lets cycles among older objects be collected too.
            gc.unfreeze()
            gc.collect()
            gc.freeze()

    def _flush_soon(self) -> None:
        """Write the caches a moment after a build, once the browser has fetched the reloaded page (pickling them
        holds the interpreter for a tenth of a second, which would delay that fetch)."""
        timer = threading.Timer(FLUSH_DELAY, self.flush)
        timer.daemon = True
        timer.start()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- building ----------------------------------------------------------------------------------------------
    def rebuild(self, change: Change | None = None) -> BuildOutcome:
        """Build now (waiting for a running build to end) and publish the outcome. Never raises for content,
        template or configuration errors: they become the outcome's ``problems``."""
        with self._lock:
            t0 = time.perf_counter()
            report = None
            problems: tuple[Problem, ...] = ()
            warnings: tuple[Problem, ...] = ()
            if change is None or "config" in change.kinds or self._config_broken:
                try:
                    self.config = configmod.load(self.config.root)
                    self._config_broken = False
                except ConfigError as exc:
                    self._config_broken = True
                    problems = exc.problems or (Problem(Location(self.config.source_path), "E900", str(exc)),)
            if not self._config_broken:
                changed = change.paths if change is not None and not change.full else None
                # the index takes seconds at 10,000 articles: after the first build it is refreshed by the next one
                options = buildmod.BuildOptions(out=self.out, drafts=True, future=True,
                                                defer_search=change is not None)
                try:
                    report = buildmod.build(self.config, options, changed, session=self._session)
                except SitegenError as exc:
                    problems = exc.problems or (Problem(Location(self.config.source_path), "E999", str(exc)),)
                except Exception as exc:  # the preview must survive a bug too; say so in the page
                    log.exception("preview build failed")
                    problems = (Problem(Location(self.config.source_path), "E999",
                                        f"构建时发生意外错误：{exc.__class__.__name__}: {exc}",
                                        "请把终端中的报错信息发给网站管理员"),)
                else:
                    problems = tuple(report.errors)
                    warnings = tuple(p for p in report.problems if p.severity != "error")
                    self._keep(report)
            self._count += 1
            outcome = BuildOutcome(self._version(), problems, warnings, report, change,
                                   round(time.perf_counter() - t0, 3))
            with self._cond:
                self._state = outcome
                self._cond.notify_all()
            self._flush_soon()
        if self.on_build:
            try:
                self.on_build(outcome)
            except Exception:
                log.exception("on_build callback failed")
        return outcome

    def _keep(self, report: buildmod.BuildReport) -> None:
        """Keep the hard-linked mirror of ``out`` in step with it; after a build with errors, remember the files it
        removed so :meth:`lookup` still finds them."""
        if not self._mirrored:
            shutil.rmtree(self.mirror, ignore_errors=True)
            for dirpath, _dirs, files in os.walk(self.out):
                for name in files:
                    rel = (Path(dirpath) / name).relative_to(self.out).as_posix()
                    _link(self.out / rel, self.mirror / rel)
            self._mirrored = True
            self._kept.clear()
            return
        for rel in report.written:
            _link(self.out / rel, self.mirror / rel)
            self._kept.discard(rel)
        if report.errors:
            self._kept.update(report.removed)
            return
        for rel in set(report.removed) | self._kept:
            with contextlib.suppress(OSError):  # already gone
                (self.mirror / rel).unlink()
        self._kept.clear()

    def lookup(self, rel: str) -> Path | None:
        """The file to serve for output-relative POSIX path ``rel``: in ``out``, else the kept copy of a page the
        last build removed because of an error; ``None`` when neither exists or the file system refuses the name
        (too long, not valid there). ``rel`` must be normalised (no ``..``)."""
        for path in (self.out / rel, self.mirror / rel if rel in self._kept else None):
            try:
                if path is not None and path.is_file():
                    return path
            except (OSError, ValueError):  # ENAMETOOLONG and the like: no such file can exist
                return None
        return None


def _link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        dest.unlink(missing_ok=True)
    except IsADirectoryError:
        shutil.rmtree(dest)
    try:
        os.link(src, dest)
    except OSError:
        with contextlib.suppress(OSError):  # the next build writes it again
            shutil.copyfile(src, dest)


HEADER_TIMEOUT = 10.0
"""Seconds a connection may take to send a request line and its headers (or stay idle between requests) before
the preview closes it, so half-open connections do not hold a thread each for ever."""
MAX_PATH_BYTES = 4096
"""Longest request path served (Linux's PATH_MAX); longer is 414 URI Too Long. A segment over 255 bytes (NAME_MAX)
cannot name a file and is 404."""


class _Handler(BaseHTTPRequestHandler):
    server_version = "sitegen-serve"
    preview: Preview  # set on the subclass made by PreviewServer

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        log.debug("%s - %s", self.address_string(), format % args)

    def handle_one_request(self):
        """Read one request under a deadline of :data:`HEADER_TIMEOUT` seconds for its request line and headers
        (a timer shuts the socket down when it passes; the request is then dropped unanswered)."""
        self._late = False
        self._deadline = threading.Timer(HEADER_TIMEOUT, self._drop)
        self._deadline.daemon = True
        self._deadline.start()
        try:
            super().handle_one_request()
        finally:
            self._deadline.cancel()

    def _drop(self) -> None:
        self._late = True
        self.close_connection = True
        with contextlib.suppress(OSError):  # already closed by the client
            self.connection.shutdown(socket.SHUT_RDWR)

    def parse_request(self) -> bool:
        ok = super().parse_request()  # reads the headers
        self._deadline.cancel()  # the headers are in: the response may take as long as it needs (events)
        if self._late:
            self.close_connection = True
            return False
        return ok

    def do_HEAD(self):
        self._handle(head=True)

    def do_GET(self):
        self._handle(head=False)

    def _handle(self, head: bool) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the browser went away
            self._route(head)

    def _route(self, head: bool) -> None:
        parts = urlsplit(self.path)
        if parts.path == EVENTS_PATH:
            return self._events()
        if parts.path == SCRIPT_PATH:
            return self._send(200, "text/javascript; charset=utf-8", RELOAD_JS.encode(), head)
        if parts.path == STYLE_PATH:
            return self._send(200, "text/css; charset=utf-8", OVERLAY_CSS.encode(), head)
        if len(parts.path) > MAX_PATH_BYTES:
            return self._send(414, "text/plain; charset=utf-8", "网址太长".encode(), head)
        try:
            path = unquote(parts.path, errors="strict")
        except UnicodeDecodeError:
            return self._not_found(head)
        base = self.preview.config.base_path
        if base != "/":
            if path in ("/", base.rstrip("/")):
                return self._redirect(quote(base))
            if not path.startswith(base):
                return self._not_found(head)
            path = "/" + path[len(base):]
        segments = path.split("/")
        if any(s in ("..", ".") or "\\" in s or "\0" in s or len(s.encode()) > 255 for s in segments):
            return self._not_found(head)
        rel = path.lstrip("/")
        if not rel or path.endswith("/"):
            rel += "index.html"
        found = self.preview.lookup(rel)
        if found is None and not path.endswith("/"):
            if self.preview.lookup(rel + "/index.html"):
                query = f"?{parts.query}" if parts.query else ""
                return self._redirect(parts.path + "/" + query)
            found = self.preview.lookup(rel + ".html")
            rel = rel + ".html" if found else rel
        if found is None:
            return self._not_found(head)
        self._file(200, rel, found, head)

    def _file(self, status: int, rel: str, path: Path, head: bool) -> None:
        try:
            data = path.read_bytes()
        except OSError:  # replaced between lookup and read: the next request sees the new file
            return self._send(503, "text/plain; charset=utf-8", "正在重新构建，请稍后刷新".encode(), head)
        ctype = content_type(rel)
        if ctype.startswith("text/html"):
            data = inject(data, self.preview.state)
        self._send(status, ctype, data, head)

    def _not_found(self, head: bool) -> None:
        page = self.preview.lookup("404.html")
        if page:
            return self._file(404, "404.html", page, head)
        body = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>页面不存在</title></head>'
                '<body><h1>页面不存在</h1></body></html>').encode()
        body = inject(body, self.preview.state)
        self._send(404, "text/html; charset=utf-8", body, head)

    def _redirect(self, location: str) -> None:
        self.send_response(301)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _send(self, status: int, ctype: str, data: bytes, head: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        self.wfile.write(b"retry: 1000\n\n")
        self.wfile.flush()
        version = None
        while not self.preview.closed:
            state = self.preview.wait(version, timeout=15)
            if self.preview.closed:
                break
            if state.version != version:
                version = state.version
                data = json.dumps(state.as_event(), ensure_ascii=False)
                self.wfile.write(f"data: {data}\n\n".encode())
            else:
                self.wfile.write(b": ping\n\n")
            self.wfile.flush()


class PreviewServer:
    """``sitegen serve`` as an object: :meth:`start` binds ``host:port`` (port 0 picks a free one), runs the first
    build, starts the watcher and the HTTP thread; :attr:`url` is the address; :meth:`stop` ends everything.

    Raises :class:`UsageError` (exit code 2) when the port is taken or the host cannot be bound."""

    def __init__(self, config: Config, *, host: str = "127.0.0.1", port: int = 8000, poll: bool = False,
                 on_build: Callable[[BuildOutcome], None] | None = None, debounce: float = DEBOUNCE):
        self.preview = Preview(config, on_build=on_build)
        self.host, self.port, self.poll, self.debounce = host, port, poll, debounce
        self.httpd: ThreadingHTTPServer | None = None
        self.watcher: Watcher | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` plus the site's base path."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.preview.config.base_path}"

    def start(self) -> "PreviewServer":
        handler = type("Handler", (_Handler,), {"preview": self.preview})
        try:
            self.httpd = ThreadingHTTPServer((self.host, self.port), handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"端口 {self.port} 已被占用（用 --port 换一个端口，例如 --port 8001）") from None
            raise UsageError(f"无法在 {self.host}:{self.port} 上启动预览服务器：{exc.strerror or exc}") from None
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.watcher = Watcher(self.preview.config, self.preview.rebuild, debounce=self.debounce,
                               poll=self.poll).start()
        self.preview.rebuild(None)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="sitegen-http", daemon=True)
        self._thread.start()
        return self

    def wait(self) -> None:
        """Block until :meth:`stop` is called from another thread or Ctrl-C (``KeyboardInterrupt`` propagates)."""
        while self._thread and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        """Stop watching and serving; returns when the HTTP thread has ended."""
        self.preview.close()
        if self.watcher:
            self.watcher.stop()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
