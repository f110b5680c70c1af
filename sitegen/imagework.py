"""The work on one photo, in a pool worker (or in the build's process): decode with draft mode, EXIF transpose,
convert to 8-bit sRGB, resize to the configured widths (never upscaled), encode JPEG/WebP (or clean a GIF), strip
metadata, and write the variants and their sidecar into the photo's cache entry. Workers take a :class:`Task` and
return an :class:`Outcome`; they never raise across the pool. :mod:`sitegen.images` plans, runs and reports."""
from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

from sitegen import modes
from sitegen.config import ImageSettings
from sitegen.files import write_atomic

log = logging.getLogger(__name__)

#: Bumped whenever the pixels or bytes produced for the same input and settings change (part of every cache key).
PIPELINE_VERSION = 3

#: Output file extension per variant format.
EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "gif": "gif"}

CHAIN_RATIO = 1.5
"""Resize from the previous variant when it is at least this much wider."""

FORMAT_NAMES = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "GIF": "GIF", "WEBP": "WebP", "TIFF": "TIFF",
                 "BMP": "BMP", "HEIF": "HEIC", "AVIF": "AVIF"}


def variant_file(entry_dir: Path, width: int, fmt: str) -> Path:
    return entry_dir / f"{width}.{EXTENSIONS[fmt]}"


def write_cache_file(path: Path, data: bytes) -> None:
    """:func:`sitegen.files.write_atomic` with :data:`sitegen.modes.FILE_BITS` (not the umask's 0600:
    ``output/media/`` hard-links these files)."""
    write_atomic(path, data, mode=modes.FILE_BITS)



@dataclass(frozen=True, slots=True)
class Task:
    key: str
    source: str
    rel: str
    entry_dir: str
    settings: ImageSettings


@dataclass(frozen=True, slots=True)
class Outcome:
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


class TimedOut(BaseException):
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


def process(task: Task) -> Outcome:
    """Make every variant of one source into the cache; always returns an :class:`Outcome`."""
    try:
        return make_variants(task)
    except _Refused as exc:
        return Outcome(task.key, False, code=exc.code, detail=exc.detail, fmt=exc.fmt)
    except MemoryError:
        return Outcome(task.key, False, code="E309", detail="内存不足")
    except Exception as exc:  # never raise across the pool
        log.debug("图片 %s 处理失败", task.rel, exc_info=True)
        return Outcome(task.key, False, code="E309", detail=f"{type(exc).__name__}: {exc}"[:200])


def _open(task: Task):
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


def _decode(im, task: Task, targets_stored: tuple[int, int] | None):
    """Load pixels (with JPEG draft when ``targets_stored`` is given); map decoder failures to problems."""
    if targets_stored and im.format in ("JPEG", "MPO"):
        im.draft("RGB", targets_stored)
    try:
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        text = str(exc)
        fmt = FORMAT_NAMES.get(im.format or "", im.format or "")
        if "truncated" in text or "broken data stream" in text or isinstance(exc, EOFError):
            raise _Refused("E302", fmt=fmt) from None
        raise _Refused("E303", f"（{fmt} 数据损坏：{text[:120]}）", fmt=fmt) from None


_T = Image.Transpose
#: EXIF Orientation -> the operation making the picture upright (the table of ``ImageOps.exif_transpose``).
_TRANSPOSE = {2: _T.FLIP_LEFT_RIGHT, 3: _T.ROTATE_180, 4: _T.FLIP_TOP_BOTTOM, 5: _T.TRANSPOSE, 6: _T.ROTATE_270,
              7: _T.TRANSVERSE, 8: _T.ROTATE_90}


def make_variants(task: Task) -> Outcome:
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
            src = previous if previous is not None and previous.width >= size[0] * CHAIN_RATIO else base
            if size == src.size:
                out = src
            else:
                out = src.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            previous = out
            upright = out.transpose(transpose) if transpose is not None else out  # on the small image: cheaper
            for fmt_name in s.formats:
                data = _encode(upright, fmt_name, s.quality, keep)
                write_cache_file(variant_file(entry, width, fmt_name), data)
                made.append((width, height, fmt_name, len(data)))
        if gif_bytes is not None:
            write_cache_file(variant_file(entry, upright_w, "gif"), gif_bytes)
            made.append((upright_w, upright_h, "gif", len(gif_bytes)))
    made.sort(key=lambda v: (v[2], v[0]))
    sidecar = {"version": PIPELINE_VERSION, "width": upright_w, "height": upright_h, "variants": made,
               "warnings": list(warnings), "source_format": fmt}
    write_cache_file(Path(str(entry) + ".json"), json.dumps(sidecar).encode())
    return Outcome(task.key, True, upright_w, upright_h, tuple(made), warnings=warnings)


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


