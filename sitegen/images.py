"""The photo pipeline: responsive JPEG/WebP variants of every photo, cached by content, published without metadata.

One :class:`ImageJob` per source file (the build collects them with the Markdown locations that reference them);
:func:`run` turns them into :class:`ImageResult` values, :func:`publish` hard-links the variants into ``output/`` and
:func:`picture_html` writes the ``<picture>`` element. Everything that crosses a process boundary is a frozen,
picklable dataclass; workers return an outcome for every task and never raise across the pool.

What a worker does with one photo (Pillow; the rules follow the Pillow handbook and the issue "Photos and galleries"):

* **Decode by content, not by extension.** A PNG named ``.jpg`` is fine; an HTML page named ``.jpg``, an empty file,
  a truncated file (``ImageFile.LOAD_TRUNCATED_IMAGES`` is never switched on) or a corrupt one is an ``E3xx``
  problem. The pixel count is checked from the header before decoding (``images.max_pixels``, default 100 MP).
  HEIC/HEIF is read through ``pillow_heif`` when it is importable, else a clear error asks for a JPEG.
* **JPEG draft mode**: ``Image.draft`` lets libjpeg decode at 1/2, 1/4 or 1/8 scale, the smallest scale still at
  least as large as the biggest variant.
* **Orientation**: all 8 EXIF values, with the transposition table of ``ImageOps.exif_transpose``, applied to each
  resized variant (cheaper than to the full image); sizes reported are the upright ones.
* **Colour**: an embedded ICC profile other than sRGB is converted to sRGB with ``ImageCms``; CMYK without a
  profile is converted by Pillow's formula; palette, ``LA``, ``RGBA`` and ``transparency`` images are flattened on
  ``images.background`` (white by default — transparency is not kept, also not in WebP); 16-bit and 32-bit
  greyscale is scaled to 8 bits by its bit depth (the smallest of 8…16 bits that holds the brightest value, so a
  10- or 12-bit scan stored in 16 bits is not clipped to white nor crushed to black); MPO (two-frame camera files)
  gives its first frame.
* **Animated GIF** is never frozen silently: the original file is published as a ``gif`` variant (its comment and
  application blocks other than the loop count removed, pixels untouched, not resized) and the JPEG/WebP variants
  are a still poster of the first frame. :func:`picture_html` shows the GIF. Other animated formats (APNG,
  animated WebP) keep their first frame and the result carries a ``W301`` warning.
* **Sizes**: one variant per configured width not above the source's width (never upscaled); a source narrower
  than the smallest width gives one variant at its own width; ``publish_originals`` adds a full-size re-encoded
  variant (never the original bytes: they carry GPS). Each width is resized (Lanczos, ``reducing_gap=3``) from the
  previous, larger variant when that one is at least 1.5× as wide, else from the decoded image.
* **Encoding**: JPEG progressive, optimized, RGB; WebP with libwebp ``method=2`` (on 4000×3000 photos about a
  third of the default method 4's time for files ~2 % larger); quality from ``images.quality``. No EXIF, GPS, XMP, IPTC,
  maker notes or ICC profile is written (untagged output means sRGB to browsers), except the EXIF tags named in
  ``images.keep_exif`` (Orientation, maker notes and the GPS/Exif/Interop IFD pointers are never copied).

Cache layout (``cache_dir`` is the project's ``.sitegen-cache``)::

    images/<key[:2]>/<key>/<width>.<ext>      the variant files
    images/<key[:2]>/<key>.json               sidecar: upright size, variants (width, height, format, bytes)

``key`` is 10 hex digits of SHA-256 over the source bytes' SHA-256, the output-affecting settings and
:data:`PIPELINE_VERSION`, so a warm run (even after ``output/`` is deleted) only hashes and stats files. Files are
written to a temporary name and moved into place with ``os.replace``; the sidecar is written last.

Problem codes (one :class:`~sitegen.errors.Problem` per referencing Markdown location, message in Chinese):
``E301`` missing file, ``E302`` truncated, ``E303`` not an image / unreadable / not a regular file, ``E304`` empty
file, ``E305`` too many pixels (decompression bomb), ``E306`` path outside the project, ``E307`` HEIC without
pillow-heif, ``E308`` time limit exceeded, ``E309`` any other processing failure; warning ``W301`` animation frozen.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import difflib
import hashlib
import html
import json
import logging
import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


from sitegen.config import ImageSettings
from sitegen.errors import Location, Problem, catalogued
from sitegen.files import sha256_file
from sitegen.imagepool import execute
from sitegen.imagework import EXTENSIONS, PIPELINE_VERSION, Task, variant_file

log = logging.getLogger(__name__)


#: MIME type per variant format (for ``<source type>``).
MIME_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}

_KEY_LEN = 10


@dataclass(frozen=True, slots=True)
class ImageJob:
    """One source photo to process.

    ``source`` is the absolute path of the original file; ``rel`` its path relative to the project root (POSIX,
    e.g. ``content/photos/2026/a.jpg``; a ``rel`` that climbs out with ``..`` is refused); ``refs`` the Markdown
    or front-matter locations that reference it (every problem is reported once per ref).
    """

    source: str
    rel: str
    refs: tuple[Location, ...] = ()


@dataclass(frozen=True, slots=True)
class Variant:
    """One published file: ``url`` is site-relative without a leading slash
    (``media/3fa9c01b2e/a-960.webp``, the folder being the cache key), ``width``/``height`` in px (upright),
    ``format`` ``jpeg`` | ``webp`` | ``gif`` (the kept animated original), ``size`` in bytes."""

    url: str
    width: int
    height: int
    format: str
    size: int


@dataclass(frozen=True, slots=True)
class ImageResult:
    """The outcome for one source (keyed by ``rel``).

    ``ok`` is False when no variant could be made (then ``width``/``height`` are 0 and ``variants`` empty).
    ``width``/``height`` are the upright size of the source in px (after EXIF orientation). ``variants`` are
    sorted by format, then width. ``cached`` is True when no pixel was decoded (everything came from the cache).
    ``problems`` holds errors (``E3xx``, when not ok) or warnings (``W301``), one per referencing location.
    """

    rel: str
    ok: bool
    width: int
    height: int
    variants: tuple[Variant, ...]
    cached: bool
    problems: tuple[Problem, ...] = ()

    @property
    def animated(self) -> bool:
        """True when the original animation is kept as a ``gif`` variant."""
        return any(v.format == "gif" for v in self.variants)

    def of_format(self, fmt: str) -> tuple[Variant, ...]:
        """The variants of one format (``jpeg``, ``webp``, ``gif``), narrowest first."""
        return tuple(v for v in self.variants if v.format == fmt)

    @property
    def fallback(self) -> Variant | None:
        """The variant for ``<img src>``: the middle-width JPEG (else WebP), or the GIF when animated."""
        if self.animated:
            return self.of_format("gif")[0]
        for fmt in ("jpeg", "webp"):
            found = self.of_format(fmt)
            if found:
                return found[len(found) // 2]
        return None

    @property
    def largest(self) -> Variant | None:
        """The widest still variant (JPEG preferred) — e.g. for ``og:image`` or a lightbox link."""
        for fmt in ("jpeg", "webp"):
            found = self.of_format(fmt)
            if found:
                return found[-1]
        return None


# --------------------------------------------------------------------------------------------------- messages




def _shown(rel: str) -> str:
    return rel[len("content/"):] if rel.startswith("content/") else rel


def _problems(code: str, rel: str, refs: tuple[Location, ...], detail: str = "", fmt: str = "") -> tuple[Problem, ...]:
    fmt = fmt or _format_from_name(rel)
    return tuple(catalogued(code, ref, shown=_shown(rel), rel=rel, detail=detail, fmt=fmt, guess="")
                 for ref in (refs or (Location(rel),)))


def _format_from_name(rel: str) -> str:
    ext = posixpath.splitext(rel)[1].lower().lstrip(".")
    return {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WebP", "heic": "HEIC",
            "tif": "TIFF", "tiff": "TIFF"}.get(ext, "图片")


# --------------------------------------------------------------------------------------------------- keys, cache

def settings_fingerprint(settings: ImageSettings) -> str:
    """A hex digest of the settings that change output bytes (not ``max_pixels`` nor ``timeout``)."""
    data = asdict(settings)
    data.pop("max_pixels")
    data.pop("timeout")
    data["pipeline"] = PIPELINE_VERSION
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _key(source_sha: str, fingerprint: str) -> str:
    return hashlib.sha256(f"{source_sha}:{fingerprint}".encode()).hexdigest()[:_KEY_LEN]


def _entry_dir(cache_dir: Path, key: str) -> Path:
    return cache_dir / "images" / key[:2] / key


def _sidecar(cache_dir: Path, key: str) -> Path:
    return cache_dir / "images" / key[:2] / f"{key}.json"


def cache_file(cache_dir: Path, variant: Variant) -> Path:
    """Where :func:`run` stored ``variant`` inside ``cache_dir`` (its URL's second segment is the cache key)."""
    key = variant.url.split("/")[1]
    return variant_file(_entry_dir(Path(cache_dir), key), variant.width, variant.format)


def _read_sidecar(cache_dir: Path, key: str) -> dict | None:
    """The sidecar of ``key`` when it and every variant file it lists (with the recorded size) exist."""
    try:
        data = json.loads(_sidecar(cache_dir, key).read_text("utf-8"))
        if data.get("version") != PIPELINE_VERSION:
            return None
        entry = _entry_dir(cache_dir, key)
        for width, _height, fmt, size in data["variants"]:
            if variant_file(entry, width, fmt).stat().st_size != size:
                return None
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --------------------------------------------------------------------------------------------------- run

def plan(refs: Iterable[tuple[str, Location]], root: Path) -> list[ImageJob]:
    """Group references into jobs: one :class:`ImageJob` per distinct project-relative path (POSIX, e.g.
    ``content/photos/a.jpg``; a path leaving the project such as ``../../etc/passwd`` is kept as written so
    :func:`run` reports ``E306`` against every reference), in first-seen order, refs deduplicated."""
    root = Path(root)
    grouped: dict[str, list[Location]] = {}
    for rel, location in refs:
        rel = rel.replace("\\", "/")
        locations = grouped.setdefault(rel, [])
        if location not in locations:
            locations.append(location)
    return [ImageJob(str(root / rel), rel, tuple(locations)) for rel, locations in grouped.items()]


def run(jobs: Sequence[ImageJob], settings: ImageSettings, cache_dir: Path, *, workers: int | None = None,
        progress: bool = False, sha: Callable[[str], str | None] | None = None) -> dict[str, ImageResult]:
    """Process every job into ``cache_dir`` and return one :class:`ImageResult` per distinct ``rel``.

    Jobs with the same ``rel`` are merged (their refs joined); sources with identical bytes are decoded once.
    Sources whose variants are all in the cache are not decoded (``cached=True``). The others are decoded in a
    ``ProcessPoolExecutor`` of ``workers`` processes (default ``os.cpu_count()``) when more than one needs it and
    ``workers != 1``, else in this process. Each photo has ``settings.timeout`` seconds: a worker over the limit
    is killed, the pool recycled and the photo reported as ``E308`` (in-process, the limit is a best-effort
    ``SIGALRM`` that only works on the main thread). Workers ignore Ctrl-C and die with this process, even when it
    is killed (:mod:`sitegen.lifetime`). Never raises for a bad photo: problems are in the results.
    ``progress`` shows a tqdm bar on stderr when at least 8 photos need decoding. ``sha(rel)`` gives a source's
    SHA-256 (hex; None or "" when it cannot be read) from the caller's table of file hashes (the build passes the
    page cache's, :meth:`sitegen.build.state.RenderState.file_sha`: one table for pages and photos); without it
    each source is hashed. Not safe to call from several threads at once.
    """
    cache_dir = Path(cache_dir)
    merged = _merge(jobs)
    results: dict[str, ImageResult] = {}
    keyed = _keyed(merged, settings_fingerprint(settings), sha, results)

    tasks: list[Task] = []
    for key, group in keyed.items():
        data = _read_sidecar(cache_dir, key)
        if data is not None:
            for job in group:
                results[job.rel] = _result(job, key, data, cached=True)
        else:
            first = group[0]
            tasks.append(Task(key, first.source, first.rel, str(_entry_dir(cache_dir, key)), settings))

    outcomes = execute(tasks, settings.timeout, workers, progress)
    for task in tasks:
        outcome = outcomes[task.key]
        for job in keyed[task.key]:
            if outcome.ok:
                data = {"width": outcome.width, "height": outcome.height, "variants": outcome.variants,
                        "warnings": outcome.warnings}
                results[job.rel] = _result(job, task.key, data, cached=False)
            else:
                results[job.rel] = _failed(job, outcome.code, outcome.detail, outcome.fmt)
    done = sum(1 for t in tasks if outcomes[t.key].ok)
    log.info("图片：%d 张新处理，%d 张来自缓存，%d 张失败", done,
             sum(1 for r in results.values() if r.cached), sum(1 for r in results.values() if not r.ok))
    return {rel: results[rel] for rel in merged}


def _merge(jobs: Sequence[ImageJob]) -> dict[str, ImageJob]:
    """The jobs by ``rel``, those of one photo merged (their refs joined)."""
    merged: dict[str, ImageJob] = {}
    for job in jobs:
        if job.rel in merged:
            old = merged[job.rel]
            merged[job.rel] = ImageJob(old.source, old.rel, old.refs + tuple(r for r in job.refs if r not in old.refs))
        else:
            merged[job.rel] = job
    return merged


def _keyed(merged: dict[str, ImageJob], fingerprint: str, sha: Callable[[str], str | None] | None,
           results: dict[str, ImageResult]) -> dict[str, list[ImageJob]]:
    """The jobs grouped by cache key (source bytes + settings ``fingerprint``); a source that cannot be used or
    hashed is reported into ``results`` instead. ``sha(rel)`` gives a source's SHA-256 from the build's one table of
    file hashes (:meth:`sitegen.cache.PageCache.file_sha`, trusted by size and mtime); without it every source is
    hashed (on threads: the hashing releases the GIL)."""
    keyed: dict[str, list[ImageJob]] = {}
    usable = []
    for job in merged.values():
        problem, _ = _check_source(job)
        if problem:
            results[job.rel] = _failed(job, *problem)
        else:
            usable.append(job)
    if sha is not None:
        digests = [sha(job.rel) or None for job in usable]
    else:
        with cf.ThreadPoolExecutor(max_workers=max(1, min(8, len(usable)))) as pool:
            digests = list(pool.map(lambda job: _safe_hash(job.source), usable))
    for job, digest in zip(usable, digests):
        if digest is None:
            results[job.rel] = _failed(job, "E301")
        else:
            keyed.setdefault(_key(digest, fingerprint), []).append(job)
    return keyed


def _check_source(job: ImageJob) -> tuple[tuple[str, ...] | None, os.stat_result | None]:
    rel = job.rel.replace("\\", "/")
    norm = posixpath.normpath(rel) if rel else ""
    if not rel or rel.startswith("/") or re.match(r"^[A-Za-z]:", rel) or norm == ".." or norm.startswith("../"):
        return ("E306",), None
    source = Path(job.source)
    parts = Path(norm).parts
    if len(source.parts) > len(parts) and source.parts[-len(parts):] == parts:
        root = Path(*source.parts[:-len(parts)])
        with contextlib.suppress(OSError, RuntimeError):  # unresolvable (a symlink loop): the stat below reports it
            if not source.resolve().is_relative_to(root.resolve()):
                return ("E306",), None  # a symlink leading out of the project
    try:
        st = source.stat()
    except (FileNotFoundError, NotADirectoryError):
        return ("E301",), None
    except OSError as exc:
        return ("E309", str(exc)), None
    if not stat.S_ISREG(st.st_mode):
        return ("E303", "（不是普通文件）"), None
    if st.st_size == 0:
        return ("E304",), None
    return None, st


def _safe_hash(path: str) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def _failed(job: ImageJob, code: str, detail: str = "", fmt: str = "") -> ImageResult:
    problems = _problems(code, job.rel, job.refs, detail, fmt)
    if code == "E301":
        parts = len(Path(job.rel).parts)
        source = Path(job.source)
        guess = similar_image(source.parents[parts - 1], job.rel) if len(source.parts) > parts else None
        if guess:
            problems = tuple(catalogued("E301", p.location, shown=_shown(job.rel), guess=f"是不是 {guess}？")
                             for p in problems)
    return ImageResult(job.rel, False, 0, 0, (), False, problems)


#: File suffixes :func:`similar_image` considers (lower case).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".heif", ".tif", ".tiff", ".bmp",
                            ".avif"})


def similar_image(root: Path, rel: str, *, limit: int = 20000) -> str | None:
    """The image under ``root/content`` whose file name is closest to the missing ``rel``'s (a typo, a changed
    extension or letter case), as a path relative to ``content/`` (which resolves from any article), or ``None``.

    Names are compared case-insensitively with :func:`difflib.get_close_matches` (ratio ≥ 0.8); among equal names
    the one in the folder ``rel`` points into wins. At most ``limit`` files are looked at."""
    content = root / "content"
    name = posixpath.basename(rel).lower()
    if not name or not content.is_dir():
        return None
    found: dict[str, list[Path]] = {}
    for i, path in enumerate(content.rglob("*")):
        if i >= limit:
            break
        if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
            found.setdefault(path.name.lower(), []).append(path)
    best = difflib.get_close_matches(name, list(found), n=1, cutoff=0.8)
    if not best:
        return None
    wanted = (root / posixpath.dirname(rel)).resolve()
    paths = sorted(found[best[0]], key=lambda p: (p.parent.resolve() != wanted, p.as_posix()))
    return paths[0].relative_to(content).as_posix()


def _slug(rel: str) -> str:
    stem = posixpath.splitext(posixpath.basename(rel))[0].lower()
    stem = re.sub(r"[^a-z0-9_-]+", "-", stem).strip("-_")[:60]
    return stem or "img"


def _result(job: ImageJob, key: str, data: dict, cached: bool) -> ImageResult:
    stem = _slug(job.rel)
    variants = tuple(Variant(f"media/{key}/{stem}-{w}.{EXTENSIONS[fmt]}", w, h, fmt, size)
                     for w, h, fmt, size in data["variants"])
    variants = tuple(sorted(variants, key=lambda v: (v.format, v.width)))
    problems: tuple[Problem, ...] = ()
    for code in data.get("warnings", ()):
        problems += _problems(code, job.rel, job.refs)
    return ImageResult(job.rel, True, data["width"], data["height"], variants, cached, problems)


# --------------------------------------------------------------------------------------------------- publish, html


def picture_html(result: ImageResult, alt: str, *, base_path: str = "/",
                 sizes: str = "(max-width: 760px) 100vw, 760px", lazy: bool = True, css_class: str = "") -> str:
    """The HTML for one photo: ``<picture>`` with a WebP ``<source>`` and a JPEG ``<img>`` (``srcset`` narrowest
    first, ``src`` the middle JPEG, ``width``/``height`` of that variant so the browser reserves the upright
    aspect ratio, ``alt`` escaped, ``loading="lazy"`` unless ``lazy`` is False, ``decoding="async"``).

    An animated result gives a plain ``<img>`` of the kept GIF. URLs are prefixed with ``base_path`` (``/`` or
    ``/sub/``). Returns ``""`` for a failed result (its problems are reported elsewhere).
    """
    fallback = result.fallback if result.ok else None
    if fallback is None:
        return ""
    prefix = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"

    def url(v: Variant) -> str:
        return html.escape(prefix + v.url)

    def srcset(found: Iterable[Variant]) -> str:
        return ", ".join(f"{url(v)} {v.width}w" for v in found)

    attrs = [f'src="{url(fallback)}"']
    if not result.animated:
        attrs.append(f'srcset="{srcset(result.of_format(fallback.format))}"')
        attrs.append(f'sizes="{html.escape(sizes)}"')
    attrs += [f'width="{fallback.width}"', f'height="{fallback.height}"', f'alt="{html.escape(alt)}"']
    if lazy:
        attrs.append('loading="lazy"')
    attrs.append('decoding="async"')
    if css_class:
        attrs.append(f'class="{html.escape(css_class)}"')
    img = f"<img {' '.join(attrs)}>"
    if result.animated:
        return img
    webp = result.of_format("webp")
    if not webp or fallback.format == "webp":
        return f"<picture>{img}</picture>"
    source = f'<source type="image/webp" srcset="{srcset(webp)}" sizes="{html.escape(sizes)}">'
    return f"<picture>{source}{img}</picture>"
