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

    images/sources.json                       absolute source path -> [size, mtime_ns, sha256, looked_ns] (skips
                                              re-hashing unless the mtime is racy, see sitegen.racy)
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
import io
import json
import logging
import os
import posixpath
import re
import signal
import stat
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

from sitegen import lifetime, modes, racy
from sitegen.config import ImageSettings
from sitegen.errors import Location, Problem, catalogued
from sitegen.files import sha256_file, write_atomic

log = logging.getLogger(__name__)

#: Bumped whenever the pixels or bytes produced for the same input and settings change (part of every cache key).
PIPELINE_VERSION = 3

#: Output file extension per variant format.
EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "gif": "gif"}
#: MIME type per variant format (for ``<source type>``).
MIME_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}

_KEY_LEN = 10
_CHAIN_RATIO = 1.5  # resize from the previous variant when it is at least this much wider
_PROGRESS_MIN = 8  # show a progress bar only when at least this many photos need decoding


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


_FORMAT_NAMES = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "GIF": "GIF", "WEBP": "WebP", "TIFF": "TIFF",
                 "BMP": "BMP", "HEIF": "HEIC", "AVIF": "AVIF"}


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


def _variant_file(entry_dir: Path, width: int, fmt: str) -> Path:
    return entry_dir / f"{width}.{EXTENSIONS[fmt]}"


def cache_file(cache_dir: Path, variant: Variant) -> Path:
    """Where :func:`run` stored ``variant`` inside ``cache_dir`` (its URL's second segment is the cache key)."""
    key = variant.url.split("/")[1]
    return _variant_file(_entry_dir(Path(cache_dir), key), variant.width, variant.format)


def _write_atomic(path: Path, data: bytes) -> None:
    """:func:`sitegen.files.write_atomic` with :data:`sitegen.modes.FILE_BITS` (not the umask's 0600:
    ``output/media/`` hard-links these files)."""
    write_atomic(path, data, mode=modes.FILE_BITS)


def _read_sidecar(cache_dir: Path, key: str) -> dict | None:
    """The sidecar of ``key`` when it and every variant file it lists (with the recorded size) exist."""
    try:
        data = json.loads(_sidecar(cache_dir, key).read_text("utf-8"))
        if data.get("version") != PIPELINE_VERSION:
            return None
        entry = _entry_dir(cache_dir, key)
        for width, _height, fmt, size in data["variants"]:
            if _variant_file(entry, width, fmt).stat().st_size != size:
                return None
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None


class _SourceHashes:
    """``images/sources.json``: the SHA-256 of each source, trusted while its size and mtime_ns are unchanged and
    the mtime is older than the look that recorded them (:func:`sitegen.racy.is_racy`)."""

    def __init__(self, cache_dir: Path):
        self.looking = racy.clock_ns()  # before the sources are stat'ed
        self.path = cache_dir / "images" / "sources.json"
        try:
            self.known = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            self.known = {}
        self.fresh: dict[str, list] = {}

    def lookup(self, source: str, st: os.stat_result) -> str | None:
        entry = self.known.get(source)
        if (entry and len(entry) == 4 and entry[0] == st.st_size and entry[1] == st.st_mtime_ns
                and not racy.is_racy(st.st_mtime_ns, entry[3])):
            self.fresh[source] = entry
            return entry[2]
        return None

    def remember(self, source: str, st: os.stat_result, sha: str) -> None:
        self.fresh[source] = [st.st_size, st.st_mtime_ns, sha, self.looking]

    def save(self) -> None:
        merged = {**self.known, **self.fresh}
        if merged != self.known:
            try:
                _write_atomic(self.path, json.dumps(merged, ensure_ascii=False, sort_keys=True).encode())
            except OSError as exc:  # the cache is an optimisation
                log.warning("无法写入缓存 %s：%s", self.path, exc)


def _hash_file(path: str) -> str:
    return sha256_file(path)


# --------------------------------------------------------------------------------------------------- worker

@dataclass(frozen=True, slots=True)
class _Task:
    key: str
    source: str
    rel: str
    entry_dir: str
    settings: ImageSettings


@dataclass(frozen=True, slots=True)
class _Outcome:
    key: str
    ok: bool
    width: int = 0
    height: int = 0
    variants: tuple[tuple[int, int, str, int], ...] = ()  # (width, height, format, bytes)
    code: str = ""
    detail: str = ""
    fmt: str = ""
    warnings: tuple[str, ...] = ()


class _Refused(Exception):
    """A source the worker refuses, with its problem code and detail."""

    def __init__(self, code: str, detail: str = "", fmt: str = ""):
        super().__init__(code, detail)
        self.code, self.detail, self.fmt = code, detail, fmt


class _TimedOut(BaseException):
    """Raised by the in-process SIGALRM handler (a BaseException so no ``except Exception`` swallows it)."""


_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")
_heif_registered = None


def _register_heif() -> bool:
    """Register pillow-heif's opener once per process; False when it is not importable."""
    global _heif_registered
    if _heif_registered is None:
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_registered = True
        except Exception:  # ImportError, or a broken native library
            _heif_registered = False
    return _heif_registered


def _process(task: _Task) -> _Outcome:
    """Make every variant of one source into the cache; always returns an :class:`_Outcome`."""
    try:
        return _make_variants(task)
    except _Refused as exc:
        return _Outcome(task.key, False, code=exc.code, detail=exc.detail, fmt=exc.fmt)
    except MemoryError:
        return _Outcome(task.key, False, code="E309", detail="内存不足")
    except Exception as exc:  # never raise across the pool
        log.debug("图片 %s 处理失败", task.rel, exc_info=True)
        return _Outcome(task.key, False, code="E309", detail=f"{type(exc).__name__}: {exc}"[:200])


def _open(task: _Task):
    with open(task.source, "rb") as f:
        head = f.read(64)
    if not head:
        raise _Refused("E304")
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # the pixel limit is checked below, from the header, with our own setting
    try:
        try:
            im = Image.open(task.source)
        except UnidentifiedImageError:
            if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
                if not _register_heif():
                    raise _Refused("E307") from None
                try:
                    im = Image.open(task.source)
                except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
                    raise _Refused("E303", f"（HEIC 无法解码：{exc}）") from None
            else:
                raise _Refused("E303", _sniff(head)) from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise _Refused("E303", _sniff(head) or f"（{exc}）") from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    width, height = im.size
    if width * height > task.settings.max_pixels:
        im.close()
        raise _Refused("E305", f"{width}×{height}，约 {width * height / 1e6:.0f} 百万像素，上限 "
                               f"{task.settings.max_pixels / 1e6:g} 百万像素")
    if width < 1 or height < 1:
        im.close()
        raise _Refused("E303", "（宽或高为 0）")
    return im


def _sniff(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "（文件内容是网页 HTML，不是图片）"
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "（文件是 SVG 矢量图，不能生成照片尺寸）"
    if text.startswith(b"%pdf"):
        return "（文件是 PDF 文档）"
    if text.startswith(b"<") or (head and all(32 <= b < 127 or b in b"\t\r\n" for b in head)):
        return "（文件内容是文本，不是图片）"
    return ""


def _decode(im, task: _Task, targets_stored: tuple[int, int] | None):
    """Load pixels (with JPEG draft when ``targets_stored`` is given); map decoder failures to problems."""
    if targets_stored and im.format in ("JPEG", "MPO"):
        im.draft("RGB", targets_stored)
    try:
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        text = str(exc)
        fmt = _FORMAT_NAMES.get(im.format or "", im.format or "")
        if "truncated" in text or "broken data stream" in text or isinstance(exc, EOFError):
            raise _Refused("E302", fmt=fmt) from None
        raise _Refused("E303", f"（{fmt} 数据损坏：{text[:120]}）", fmt=fmt) from None


_T = Image.Transpose
#: EXIF Orientation -> the operation making the picture upright (the table of ``ImageOps.exif_transpose``).
_TRANSPOSE = {2: _T.FLIP_LEFT_RIGHT, 3: _T.ROTATE_180, 4: _T.FLIP_TOP_BOTTOM, 5: _T.TRANSPOSE, 6: _T.ROTATE_270,
              7: _T.TRANSVERSE, 8: _T.ROTATE_90}


def _make_variants(task: _Task) -> _Outcome:
    s = task.settings
    warnings: tuple[str, ...] = ()
    im = _open(task)
    with im:
        fmt = im.format or ""
        animated_gif = fmt == "GIF" and getattr(im, "is_animated", False)
        if getattr(im, "is_animated", False) and fmt not in ("GIF", "MPO"):
            warnings = ("W301",)
        orientation = 1
        try:
            orientation = int(im.getexif().get(0x0112) or 1)
        except Exception:  # unreadable EXIF: leave the pixels as stored
            orientation = 1
        if orientation not in _TRANSPOSE:
            orientation = 1
        stored_w, stored_h = im.size
        upright_w, upright_h = (stored_h, stored_w) if orientation in (5, 6, 7, 8) else (stored_w, stored_h)
        widths = _widths(s, upright_w)
        big_w = widths[-1]
        big_h = max(1, round(upright_h * big_w / upright_w))
        draft = (big_h, big_w) if orientation in (5, 6, 7, 8) else (big_w, big_h)
        _decode(im, task, draft)
        keep = _kept_exif(im, s.keep_exif) if s.keep_exif else None
        base = _to_srgb(im, s.background)  # per-pixel work only: geometry is still as stored
        transpose = _TRANSPOSE.get(orientation)
        gif_bytes = _clean_gif(Path(task.source).read_bytes()) if animated_gif else None
        entry = Path(task.entry_dir)
        made: list[tuple[int, int, str, int]] = []
        previous = None  # the last, larger variant, as stored
        for width in reversed(widths):
            height = max(1, round(upright_h * width / upright_w))
            size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
            src = previous if previous is not None and previous.width >= size[0] * _CHAIN_RATIO else base
            if size == src.size:
                out = src
            else:
                out = src.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            previous = out
            upright = out.transpose(transpose) if transpose is not None else out  # on the small image: cheaper
            for fmt_name in s.formats:
                data = _encode(upright, fmt_name, s.quality, keep)
                _write_atomic(_variant_file(entry, width, fmt_name), data)
                made.append((width, height, fmt_name, len(data)))
        if gif_bytes is not None:
            _write_atomic(_variant_file(entry, upright_w, "gif"), gif_bytes)
            made.append((upright_w, upright_h, "gif", len(gif_bytes)))
    made.sort(key=lambda v: (v[2], v[0]))
    sidecar = {"version": PIPELINE_VERSION, "width": upright_w, "height": upright_h, "variants": made,
               "warnings": list(warnings), "source_format": fmt}
    _write_atomic(Path(str(entry) + ".json"), json.dumps(sidecar).encode())
    return _Outcome(task.key, True, upright_w, upright_h, tuple(made), warnings=warnings)


def _widths(s: ImageSettings, upright_w: int) -> list[int]:
    """The widths in px to make (ascending, never above the source): the configured widths up to the source's,
    plus the source's own width when it is narrower than the largest configured width (an 800 px photo with
    widths 480/960/1600 gets 480 and 800, not only 480: the browser would show a 480 px file blurred in a 760 px
    column, case B38) or when ``publish_originals``."""
    widths = sorted(w for w in set(s.widths) if w <= upright_w)
    if (upright_w < max(s.widths) or s.publish_originals) and (not widths or widths[-1] != upright_w):
        widths.append(upright_w)
    return widths


def _to_srgb(im, background: str):
    """An 8-bit RGB image in sRGB: ICC converted, CMYK and high-bit-depth mapped, transparency flattened."""
    icc = im.info.get("icc_profile")
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        im = _to_8bit(im)
        mode = im.mode
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode in ("P", "L", "RGB") and
                                                                "transparency" in im.info)
    if mode == "P":
        im = im.convert("RGBA" if has_alpha else "RGB")
    elif mode in ("RGBa", "La"):
        im = im.convert("RGBA")
    if icc and not _is_srgb(icc) and im.mode in ("RGB", "RGBA", "CMYK", "L", "LA"):
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out_mode = "RGBA" if im.mode in ("RGBA", "LA") else "RGB"
            src = im.convert("RGBA") if im.mode == "LA" else im
            im = ImageCms.profileToProfile(src, profile, _srgb_profile(), outputMode=out_mode)
        except Exception as exc:  # a broken or unsupported profile: fall back to Pillow's conversion
            log.debug("ICC 色彩转换失败：%s", exc)
    if has_alpha or im.mode in ("RGBA", "LA"):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, background)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        im = flat
    elif im.mode != "RGB":
        im = im.convert("RGB")
    return im


def _to_8bit(im):
    """Scale a 16/32-bit or float greyscale image to ``L`` by the bit depth its brightest value needs."""
    lo, hi = im.getextrema()
    if im.mode == "F" and hi <= 1.0:
        scale = 255.0
    elif hi <= 255:
        scale = 1.0
    else:
        bits = max(8, min(32, int(hi).bit_length()))
        scale = 255.0 / ((1 << bits) - 1)
    if im.mode != "F":
        im = im.convert("I")
    return im.point(lambda v: v * scale).convert("L")


_SRGB = None


def _srgb_profile():
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.createProfile("sRGB")
    return _SRGB


def _is_srgb(icc: bytes) -> bool:
    """True for the common sRGB profiles (converting them would only cost time)."""
    head = icc[:2048]
    return b"sRGB" in head or b"s\x00R\x00G\x00B" in head


def _kept_exif(im, names: tuple[str, ...]) -> bytes | None:
    """EXIF bytes holding only the whitelisted tags of ``im`` (IFD0 and the Exif IFD), or None when none is set."""
    wanted = {ExifTags.Base[name].value for name in names if name in ExifTags.Base.__members__}
    wanted -= {0x0112, 0x8769, 0x8825, 0xA005, 0x927C}  # orientation, IFD pointers, maker notes
    if not wanted:
        return None
    try:
        exif = im.getexif()
        sub = exif.get_ifd(0x8769)
    except Exception:
        return None
    out = Image.Exif()
    for tag in wanted:
        if tag in exif:
            out[tag] = exif[tag]
    nested = {tag: sub[tag] for tag in wanted if tag in sub and tag not in exif}
    if nested:
        out[0x8769] = nested
    return out.tobytes() if len(out) else None


def _encode(im, fmt: str, quality: int, exif: bytes | None) -> bytes:
    im.info = {}  # no metadata (ICC, XMP, EXIF) travels from the source to the encoders
    buf = io.BytesIO()
    extra = {"exif": exif} if exif else {}
    if fmt == "jpeg":
        im.save(buf, "JPEG", quality=quality, optimize=True, progressive=True, **extra)
    elif fmt == "webp":
        im.save(buf, "WEBP", quality=quality, method=2, **extra)
    else:
        raise ValueError(f"unknown image format {fmt!r}")
    return buf.getvalue()


_GIF_KEPT_APPS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")


def _clean_gif(data: bytes) -> bytes:
    """The GIF ``data`` without comment, XMP and other application blocks (loop count kept); pixels untouched.

    Follows the GIF89a block structure (header, logical screen, colour tables, extension and image blocks made of
    length-prefixed sub-blocks). Raises :class:`_Refused` (``E302``) when the stream ends early.
    """
    out = bytearray(data[:13])
    packed = data[10]
    pos = 13 + (3 * (2 << (packed & 7)) if packed & 0x80 else 0)
    out += data[13:pos]

    def blocks_end(p: int) -> int:
        while True:
            size = data[p]
            p += 1 + size
            if size == 0:
                return p

    try:
        while True:
            kind = data[pos]
            if kind == 0x3B:  # trailer
                out.append(0x3B)
                return bytes(out)
            if kind == 0x21:
                label = data[pos + 1]
                end = blocks_end(pos + 2)
                keep = label in (0xF9, 0x01) or (label == 0xFF and data[pos + 3:pos + 14] in _GIF_KEPT_APPS)
                if keep:
                    out += data[pos:end]
                pos = end
            elif kind == 0x2C:
                packed = data[pos + 9]
                p = pos + 10 + (3 * (2 << (packed & 7)) if packed & 0x80 else 0)
                end = blocks_end(p + 1)  # after the LZW minimum code size byte
                out += data[pos:end]
                pos = end
            else:
                raise IndexError("unknown GIF block")
    except IndexError:
        raise _Refused("E302", fmt="GIF") from None


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
        progress: bool = False) -> dict[str, ImageResult]:
    """Process every job into ``cache_dir`` and return one :class:`ImageResult` per distinct ``rel``.

    Jobs with the same ``rel`` are merged (their refs joined); sources with identical bytes are decoded once.
    Sources whose variants are all in the cache are not decoded (``cached=True``). The others are decoded in a
    ``ProcessPoolExecutor`` of ``workers`` processes (default ``os.cpu_count()``) when more than one needs it and
    ``workers != 1``, else in this process. Each photo has ``settings.timeout`` seconds: a worker over the limit
    is killed, the pool recycled and the photo reported as ``E308`` (in-process, the limit is a best-effort
    ``SIGALRM`` that only works on the main thread). Workers ignore Ctrl-C and die with this process, even when it
    is killed (:mod:`sitegen.lifetime`). Never raises for a bad photo: problems are in the results.
    ``progress`` shows a tqdm bar on stderr when at least 8 photos need decoding. Not safe to call from several
    threads at once.
    """
    cache_dir = Path(cache_dir)
    merged: dict[str, ImageJob] = {}
    for job in jobs:
        if job.rel in merged:
            old = merged[job.rel]
            merged[job.rel] = ImageJob(old.source, old.rel, old.refs + tuple(r for r in job.refs if r not in old.refs))
        else:
            merged[job.rel] = job
    fingerprint = settings_fingerprint(settings)
    hashes = _SourceHashes(cache_dir)
    results: dict[str, ImageResult] = {}
    keyed: dict[str, list[ImageJob]] = {}
    to_hash: list[tuple[ImageJob, os.stat_result]] = []

    for job in merged.values():
        problem, st = _check_source(job)
        if problem:
            results[job.rel] = _failed(job, *problem)
            continue
        sha = hashes.lookup(job.source, st)
        if sha is None:
            to_hash.append((job, st))
        else:
            keyed.setdefault(_key(sha, fingerprint), []).append(job)
    if to_hash:
        with cf.ThreadPoolExecutor(max_workers=min(8, len(to_hash))) as pool:
            digests = list(pool.map(lambda item: _safe_hash(item[0].source), to_hash))
        for (job, st), sha in zip(to_hash, digests):
            if sha is None:
                results[job.rel] = _failed(job, "E301")
            else:
                hashes.remember(job.source, st, sha)
                keyed.setdefault(_key(sha, fingerprint), []).append(job)
    hashes.save()

    tasks: list[_Task] = []
    for key, group in keyed.items():
        data = _read_sidecar(cache_dir, key)
        if data is not None:
            for job in group:
                results[job.rel] = _result(job, key, data, cached=True)
        else:
            first = group[0]
            tasks.append(_Task(key, first.source, first.rel, str(_entry_dir(cache_dir, key)), settings))

    outcomes = _execute(tasks, settings.timeout, workers, progress)
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
        return _hash_file(path)
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


def _execute(tasks: list[_Task], timeout: float, workers: int | None, progress: bool) -> dict[str, _Outcome]:
    if not tasks:
        return {}
    bar = None
    if progress and len(tasks) >= _PROGRESS_MIN:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(tasks), unit="图", desc="图片", leave=False)
        except ImportError:
            bar = None
    workers = workers or os.cpu_count() or 1
    try:
        if workers == 1 or len(tasks) == 1:
            outcomes = {}
            for task in tasks:
                outcomes[task.key] = _in_process(task, timeout)
                if bar:
                    bar.update()
            return outcomes
        return _pooled(tasks, timeout, min(workers, len(tasks)), bar)
    finally:
        if bar:
            bar.close()


def _in_process(task: _Task, timeout: float) -> _Outcome:
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not use_alarm:
        return _process(task)

    def alarm(signum, frame):
        raise _TimedOut()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return _process(task)
    except _TimedOut:
        return _Outcome(task.key, False, code="E308", detail=f"{timeout:g}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _pooled(tasks: list[_Task], timeout: float, workers: int, bar) -> dict[str, _Outcome]:
    """Run tasks in a process pool, at most ``workers`` in flight so each starts when submitted; a task past its
    deadline gets ``E308`` and the pool is killed and replaced (its other in-flight tasks are resubmitted)."""
    outcomes: dict[str, _Outcome] = {}
    pending = deque(tasks)
    crashes: dict[str, int] = {}
    inflight: dict[cf.Future, tuple[_Task, float]] = {}
    pool: cf.ProcessPoolExecutor | None = None

    def finish(task: _Task, outcome: _Outcome) -> None:
        outcomes[task.key] = outcome
        if bar:
            bar.update()

    try:
        while pending or inflight:
            if pool is None:
                pool = cf.ProcessPoolExecutor(max_workers=workers, **lifetime.pool_options())
            broken = False
            while pending and len(inflight) < workers:
                task = pending.popleft()
                try:
                    inflight[pool.submit(_process, task)] = (task, time.monotonic() + timeout)
                except cf.process.BrokenProcessPool:
                    pending.appendleft(task)
                    broken = True
                    break
            if not broken and inflight:
                wait_for = max(0.0, min(d for _, d in inflight.values()) - time.monotonic())
                done, _ = cf.wait(list(inflight), timeout=wait_for, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    task, _deadline = inflight.pop(future)
                    try:
                        finish(task, future.result())
                    except cf.process.BrokenProcessPool:
                        broken = True
                        crashes[task.key] = crashes.get(task.key, 0) + 1
                        if crashes[task.key] >= 2:
                            finish(task, _Outcome(task.key, False, code="E309", detail="处理进程意外退出"))
                        else:
                            pending.appendleft(task)
                    except Exception as exc:  # e.g. an unpicklable result; should not happen
                        finish(task, _Outcome(task.key, False, code="E309", detail=f"{type(exc).__name__}: {exc}"))
                now = time.monotonic()
                expired = [f for f, (_, d) in inflight.items() if d <= now and not f.done()]
                for future in expired:
                    task, _ = inflight.pop(future)
                    finish(task, _Outcome(task.key, False, code="E308", detail=f"{timeout:g}"))
                broken = broken or bool(expired)
            if broken:
                for future, (task, _) in list(inflight.items()):
                    if future.done() and not future.exception():
                        finish(task, future.result())
                    else:
                        pending.appendleft(task)
                inflight.clear()
                _kill(pool)
                pool = None
    finally:
        if pool is not None:
            if inflight:
                _kill(pool)
            else:
                pool.shutdown(wait=True)
    return outcomes


def _kill(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a pool whose workers may hang (``kill_workers`` on Python 3.14+, else its process table)."""
    if hasattr(pool, "kill_workers"):
        pool.kill_workers()
    else:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, AttributeError):  # already gone
                proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)


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
