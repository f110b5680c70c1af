"""The Jinja2 environment of the theme: loader with fallback, filters, and template errors as ``template:line``.

A site's theme (``themes/<name>/templates``) overrides the default theme one file at a time; everything it does not
override comes from ``themes/default/templates`` of the project, then from the default theme shipped with sitegen.
Autoescape is on and undefined names fail (``StrictUndefined``). Dates are formatted in Chinese without
``setlocale`` (``2026年11月28日 09:30``).
"""
from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Mapping

import jinja2
from markupsafe import Markup, escape

from sitegen import clock
from sitegen.config import Config
from sitegen.errors import Location, Problem, TemplateError

log = logging.getLogger(__name__)

PACKAGE_THEME = Path(__file__).resolve().parent.parent / "themes" / "default"


def theme_dirs(config: Config) -> list[Path]:
    """Theme folders in lookup order: the site's chosen theme, the site's ``themes/default``, the bundled one."""
    dirs = []
    for d in (config.root / "themes" / config.theme, config.root / "themes" / "default", PACKAGE_THEME):
        if d.is_dir() and d.resolve() not in [x.resolve() for x in dirs]:
            dirs.append(d)
    return dirs


def cn_date(value: datetime, with_time: bool = True) -> str:
    """``2026年11月28日 09:30`` in the value's own time zone; the time is left out when ``with_time`` is false or
    the time is exactly midnight (front matter that gave only a day, ``date: 2026-11-22``)."""
    s = f"{value.year}年{value.month:02d}月{value.day:02d}日"
    if not with_time or (value.hour, value.minute, value.second) == (0, 0, 0):
        return s
    return f"{s} {value:%H:%M}"


def iso(value: datetime) -> str:
    """RFC 3339 with offset, e.g. ``2024-05-30T23:50:12+08:00`` (HTML ``<time datetime>``)."""
    return value.isoformat(timespec="seconds")


def pictured(pages) -> list:
    """The pages (articles, galleries) of ``pages`` that have a cover or front-matter photos, in order: the ones a
    thumbnail can show."""
    return [p for p in pages if p.cover or p.photos]


_DARK_RUN = re.compile(rb"\x00+")  # zxing-cpp's image: 0 is a dark module, 255 a light one


def qr_svg(url: str, label: str = "本页二维码") -> Markup:
    """An inline ``<svg>`` QR code (ISO/IEC 18004, error correction M, 2-module quiet zone) encoding ``url``,
    dark modules on a white square so it scans in dark and high-contrast modes too. It has a ``viewBox`` and no
    size, so CSS sizes it; ``role="img"`` and ``aria-label`` (``label``) give it a text alternative. No style
    attributes, so it passes a Content-Security-Policy without ``'unsafe-inline'``. Templates use the memoised
    :meth:`QrDrawings.svg` of their environment."""
    return QrDrawings().svg(url, label)


class QrDrawings:
    """The QR drawings of one template environment (``{URL: qr_path(URL)}``): each URL is encoded once, drawings
    made elsewhere (a worker process, the cache of an earlier build) can be :meth:`remember`-ed, and the ones made
    here since the last :meth:`take_new` handed back to the build that keeps the cache."""

    def __init__(self):
        self.drawn: dict[str, tuple[int, str]] = {}
        self.new: dict[str, tuple[int, str]] = {}

    def svg(self, url: str, label: str = "本页二维码") -> Markup:
        """:func:`qr_svg` of ``url``, drawn once per URL."""
        drawn = self.drawn.get(url)
        if drawn is None:
            drawn = self.drawn[url] = self.new[url] = qr_path(url)
        size, path = drawn
        return Markup(f'<svg role="img" aria-label="{escape(label)}" focusable="false" viewBox="0 0 {size} {size}" '
                      f'class="qr"><path fill="#fff" d="M0 0h{size}v{size}h-{size}z"/>'
                      f'<path stroke="#000" d="{path}"/></svg>')

    def remember(self, drawings: Mapping[str, tuple[int, str]]) -> None:
        """Take drawings made elsewhere, so :meth:`svg` does not encode those URLs again."""
        self.drawn.update(drawings)

    def take_new(self) -> dict[str, tuple[int, str]]:
        """The drawings made since the last call."""
        new, self.new = self.new, {}
        return new


def qr_drawings(env: jinja2.Environment) -> QrDrawings:
    """The :class:`QrDrawings` of an environment made by :func:`make_env`."""
    return env.globals["qr_svg"].__self__


def qr_path(url: str) -> tuple[int, str]:
    """``(size in modules, SVG path data)`` of the QR code of ``url`` (ISO/IEC 18004, error correction M) with its
    2-module quiet zone. zxing-cpp encodes it (its writer is zint's: the smallest version for the data, segments
    in the cheapest modes, the data mask chosen by the standard's penalty rules), in about 0.4 ms against segno's
    2 ms; the path (one horizontal stroke per run of dark modules, relative moves, the first one absolute on the
    middle of its row) is written here from the code's one-byte-per-module image. Raises :class:`ValueError` for
    data beyond a version-40 code (about 2,300 bytes at level M)."""
    import zxingcpp  # imported here: a build that renders no article does not pay for it

    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = memoryview(code.to_image(scale=1, add_quiet_zones=False))
    width, raw, border = image.shape[1], image.tobytes(), 2
    moves, x, y = [], 0, None
    for row in range(image.shape[0]):
        at = row * width
        for run in _DARK_RUN.finditer(raw, at, at + width):
            start, end = run.start() - at, run.end() - at
            if y is None:  # the first stroke is absolute, on the middle of its row
                moves.append(f"M{border + start} {border + row}.5h{end - start}")
            else:
                moves.append(f"m{start - x} {row - y}h{end - start}")
            x, y = end, row
    return width + 2 * border, "".join(moves)


def make_env(config: Config, assets: dict[str, str] | None = None, *,
             bytecode_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment for ``config``: loader over :func:`theme_dirs`, autoescape, ``StrictUndefined``,
    filters ``cn_date``, ``iso``, ``short_date`` (``11-28``), ``ymd`` (``2026-11-28``), ``pictured`` (see
    :func:`pictured`), ``url`` (prefixes the base path), ``abs_url`` (absolute with ``base_url``), ``category_of`` and
    ``column_of`` (a page's own :class:`sitegen.config.Section`, else None: what an output may show of the sections
    without depending on all of them, see :func:`sitegen.build.theme.template_reads_site`) and the global
    ``asset(name)`` that gives the fingerprinted URL of a theme static file (from ``assets``, a map name → site-relative path), ``now`` (the build clock,
    :func:`sitegen.clock.now`) and ``qr_svg(url, label)`` (see :func:`qr_svg`; memoised per environment,
    :func:`qr_drawings`). With ``bytecode_dir`` (created if missing) compiled templates are
    kept there by Jinja's ``FileSystemBytecodeCache`` (keyed by template and checked against its source), so a
    small rebuild does not compile the theme again (a quarter of a second)."""
    cache = None
    if bytecode_dir is not None:
        try:
            bytecode_dir.mkdir(parents=True, exist_ok=True)
            cache = jinja2.FileSystemBytecodeCache(str(bytecode_dir))
        except OSError as exc:
            log.warning("无法使用模板缓存 %s：%s", bytecode_dir, exc)
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d / "templates")) for d in theme_dirs(config)]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # one environment per build: no stat of every template at every include
        bytecode_cache=cache,
    )
    base = config.base_path

    def url(path: str) -> str:
        if not path or "://" in path or path.startswith(("mailto:", "tel:", "#")):
            return path
        return base + path.lstrip("/")

    def abs_url(path: str) -> str:
        if "://" in path:
            return path
        return config.base_url + path.lstrip("/")

    env.filters.update(cn_date=cn_date, iso=iso, url=url, abs_url=abs_url, pictured=pictured,
                       short_date=lambda d: f"{d:%m-%d}", ymd=lambda d: f"{d:%Y-%m-%d}",
                       # a page's own category and column (part of its fingerprint, unlike config.categories)
                       category_of=lambda p: config.category(p.category) if p.category else None,
                       column_of=lambda p: config.column(p.column) if p.column else None)
    assets = dict(assets or {})
    env.globals.update(asset=lambda name: url(assets.get(name, name)), config=config, now=clock.now(config),
                       qr_svg=QrDrawings().svg)
    return env


def render(env: jinja2.Environment, name: str, **context) -> str:
    """Render template ``name`` with ``context``. Raises :class:`TemplateError` naming ``template:line`` and the
    cause in Chinese (syntax errors, undefined names, missing templates)."""
    config = env.globals.get("config")
    root = config.root if isinstance(config, Config) else Path.cwd()
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise _error(exc.filename or exc.name or name, exc.lineno, f"模板语法错误：{exc.message}", root) from None
    except jinja2.TemplateNotFound as exc:
        raise _error(name, 0, f"找不到模板 {exc.name}", root) from None
    except jinja2.UndefinedError as exc:
        raise _error(*_where(exc, name), _undefined_zh(exc.message or ""), root,
                     "检查拼写；如果它应由子模板提供，请在子模板中定义它，或覆盖用到它的 block") from None
    except Exception as exc:  # a filter or attribute failing inside the template: still name the template
        raise _error(*_where(exc, name), f"模板渲染失败：{exc.__class__.__name__}: {exc}", root) from None


_UNDEFINED = re.compile(r"^'(?P<name>[^']+)' is undefined$")
_NO_ATTRIBUTE = re.compile(r"^'?(?P<obj>.+?)'?(?: object)? has no attribute '(?P<attr>[^']+)'$")


def _undefined_zh(message: str) -> str:
    """Jinja2's ``'x' is undefined`` / ``'sitegen.content.Page object' has no attribute 'y'`` as a Chinese
    message; other text is kept after a Chinese lead."""
    m = _UNDEFINED.match(message)
    if m:
        return f"模板中使用了未定义的变量“{m['name']}”"
    m = _NO_ATTRIBUTE.match(message)
    if m:
        owner = m["obj"].removesuffix(" object").rsplit(".", 1)[-1]
        return f"模板中使用了不存在的属性：{owner} 没有“{m['attr']}”"
    return f"模板中使用了未定义的变量：{message}"


def _where(exc: BaseException, name: str) -> tuple[str, int]:
    tb = exc.__traceback__
    found = (name, 0)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".html") or filename.endswith(".xml"):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _error(filename: str, line: int | None, message: str, root: Path,
           hint: str = "检查模板中的变量名和标签是否成对") -> TemplateError:
    """The error for a template fault, its path shown relative to the project (``themes/x/templates/a.html``),
    or to the bundled theme's parent for sitegen's own templates."""
    path = Path(filename)
    shown = path.as_posix()
    for base in (root, PACKAGE_THEME.parent.parent):
        try:
            shown = path.resolve().relative_to(base.resolve()).as_posix()
            break
        except ValueError:
            continue
    problem = Problem(Location(shown, line or 0), "E501", message, hint)
    return TemplateError(str(problem), (problem,))


def fingerprint(data: bytes) -> str:
    """Short content hash for asset file names (``style.3f2a9c1b.css``): first 8 hex digits of SHA-256."""
    return hashlib.sha256(data).hexdigest()[:8]
