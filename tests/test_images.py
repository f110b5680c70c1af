"""Tests of the photo pipeline (sitegen.images): real-world files, cases B11/B12/B13/B15, cache, HTML, limits."""
from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageFile, ImageStat

from sitegen import images, imagework
from sitegen.config import ImageSettings
from sitegen.errors import Location
from sitegen.build.write import Writer
from sitegen.images import ImageJob, ImageResult, Variant, picture_html, run


SMALL = ImageSettings(widths=(100, 150, 480))


def real_dir() -> Path:
    from conftest import REAL_PHOTOS, need_shared

    return need_shared("images", "real", why=REAL_PHOTOS)


def job(project: Path, rel: str, *lines: int, md: str = "content/a.md") -> ImageJob:
    return ImageJob(str(project / rel), rel, tuple(Location(md, n) for n in lines))


def outputs(result: ImageResult, cache: Path, fmt: str | None = None) -> list[tuple[Variant, Path]]:
    return [(v, images.cache_file(cache, v)) for v in result.variants if fmt in (None, v.format)]


def opened(path: Path) -> Image.Image:
    im = Image.open(path)
    im.load()
    return im


def mean_diff(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def assert_clean(path: Path) -> None:
    """No EXIF, GPS, XMP, IPTC, maker notes or ICC profile in a published still."""
    im = opened(path)
    data = path.read_bytes()
    assert len(im.getexif()) == 0, path
    assert "icc_profile" not in im.info and "xmp" not in im.info, path
    assert b"Exif\x00\x00" not in data and b"http://ns.adobe.com/xap" not in data and b"Photoshop 3.0" not in data
    if im.format == "JPEG":
        assert im.mode == "RGB" and im.info.get("progressive"), path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "content").mkdir(parents=True)
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "site" / ".sitegen-cache"


# ------------------------------------------------------------------------------------------------ real files

@pytest.fixture(scope="module")
def real_results(tmp_path_factory) -> tuple[dict[str, ImageResult], Path]:
    src = real_dir()
    cache = tmp_path_factory.mktemp("cache")
    jobs = [ImageJob(str(f), f"content/photos/{f.name}", (Location("content/real.md", i + 1),))
            for i, f in enumerate(sorted(f for f in src.iterdir() if f.suffix != ".txt"))]
    return run(jobs, ImageSettings(), cache, workers=2), cache


def test_every_real_file_has_a_result(real_results):
    results, cache = real_results
    expected_fail = {"decompression_bomb.gif": "E305", "truncated_jpeg.jpg": "E302"}
    assert len(results) == len([f for f in real_dir().iterdir() if f.suffix != ".txt"])
    for rel, result in results.items():
        name = rel.rsplit("/", 1)[1]
        if name in expected_fail:
            assert not result.ok and [p.code for p in result.problems] == [expected_fail[name]]
            assert result.variants == () and not any(cache.glob(f"images/*/*/{name}"))
        else:
            assert result.ok, result.problems
            assert result.problems == ()
            for variant, path in outputs(result, cache):
                assert path.stat().st_size == variant.size
                if variant.format != "gif":
                    assert_clean(path)
                    assert opened(path).size == (variant.width, variant.height)


def test_real_bomb_and_truncated_messages(real_results):
    results, _ = real_results
    assert [str(p) for p in results["content/photos/decompression_bomb.gif"].problems] == [
        "content/real.md:2: E305: 图片像素过多（65535×66601，约 4365 百万像素，上限 100 百万像素）：photos/decompression_bomb.gif"
        "（请把图片缩小（例如长边 4000 像素）后再上传，或在 site.yaml 中调大 images.max_pixels）"]
    assert [str(p) for p in results["content/photos/truncated_jpeg.jpg"].problems] == [
        "content/real.md:13: E302: 图片文件不完整（上传中断？）：photos/truncated_jpeg.jpg（请重新导出并上传完整的 JPEG 文件）"]
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_real_orientation_upright(real_results):
    results, cache = real_results
    stills = {}
    for n in (6, 8):
        result = results[f"content/photos/hopper_orientation_{n}.jpg"]
        (variant, path), = outputs(result, cache, "jpeg")
        stills[n] = opened(path)
        raw = opened(real_dir() / f"hopper_orientation_{n}.jpg")
        assert raw.getexif()[0x0112] == n
        assert mean_diff(stills[n], raw) > 30  # the stored pixels were rotated
    # Orientations 6 and 8 store the portrait rotated in opposite directions; upright, both are the same picture.
    assert mean_diff(stills[6], stills[8]) < 6
    # Upright Grace Hopper: her face in the middle, blue background to the upper right, dark uniform at the bottom.
    for still in stills.values():
        r, g, b = still.getpixel((64, 48))
        assert r > 180 and r > b + 40
        r, g, b = still.getpixel((110, 40))
        assert b > r + 50
        assert max(still.getpixel((5, 110))) < 70


def test_real_gps_removed(real_results):
    results, cache = real_results
    assert Image.open(real_dir() / "exif_gps.jpg").getexif().get_ifd(0x8825)  # the source has GPS
    for _, path in outputs(results["content/photos/exif_gps.jpg"], cache):
        exif = opened(path).getexif()
        assert not exif.get_ifd(0x8825) and 0x010F not in exif  # no GPS, no Make


def test_real_cmyk_colours(real_results):
    results, cache = real_results
    source = opened(real_dir() / "pil_sample_cmyk.jpg")
    assert source.mode == "CMYK"
    (_, path), = outputs(results["content/photos/pil_sample_cmyk.jpg"], cache, "jpeg")
    out = opened(path)
    # Reference: the plain CMYK -> RGB formula on the decoded ink values (R = (255 - C)(255 - K) / 255 ...).
    c, m, y, k = source.split()
    ink = [ImageChops.multiply(ImageChops.invert(ch), ImageChops.invert(k)) for ch in (c, m, y)]
    assert mean_diff(out, Image.merge("RGB", ink)) < 10  # JPEG chroma subsampling blurs the red letter edges
    # The sample is red lettering on black, not inverted (cyan on white).
    pixels = [out.getpixel((x, y)) for y in range(out.height) for x in range(out.width)]
    reds = [p for p in pixels if p[0] > 200 and p[1] < 90 and p[2] < 90]
    blacks = [p for p in pixels if max(p) < 40]
    assert len(reds) > 500 and len(blacks) > 3000


def test_real_transparency_flattened_white(real_results):
    results, cache = real_results
    for name in ("transparent.png", "p_trns_single.png"):
        source = Image.open(real_dir() / name).convert("RGBA")
        clear = [(x, y) for y in range(source.height) for x in range(source.width) if source.getpixel((x, y))[3] == 0]
        assert clear, name
        for fmt in ("jpeg", "webp"):
            (_, path), = outputs(results[f"content/photos/{name}"], cache, fmt)
            out = opened(path).convert("RGB")
            # pick clear pixels away from edges (JPEG ringing) and compare with white
            far = [(x, y) for x, y in clear if all(
                source.getpixel((min(max(x + dx, 0), source.width - 1), min(max(y + dy, 0), source.height - 1)))[3] == 0
                for dx in (-3, 0, 3) for dy in (-3, 0, 3))]
            assert far, name
            for x, y in far[:: max(1, len(far) // 50)]:
                assert min(out.getpixel((x, y))) > 235, (name, fmt, x, y)


def test_real_16bit_scaled_not_clipped(real_results):
    results, cache = real_results
    source = Image.open(real_dir() / "16bit.cropped.tif")
    assert source.mode == "I;16"
    (_, path), = outputs(results["content/photos/16bit.cropped.tif"], cache, "jpeg")
    out = opened(path).convert("L")
    lo, hi = out.getextrema()
    assert 20 < ImageStat.Stat(out).mean[0] < 235 and hi - lo > 50  # neither clipped white nor crushed black
    # brighter source pixels stay brighter: compare the darkest and brightest source positions
    values = [source.getpixel((x, y)) for y in range(source.height) for x in range(source.width)]
    dark, bright = values.index(min(values)), values.index(max(values))
    w = source.width
    assert out.getpixel((bright % w, bright // w)) > out.getpixel((dark % w, dark // w)) + 40


def test_real_animated_gif_kept(real_results):
    results, cache = real_results
    result = results["content/photos/iss634.gif"]
    assert result.animated
    (gif, path), = outputs(result, cache, "gif")
    kept = Image.open(path)
    assert kept.is_animated and kept.n_frames == Image.open(real_dir() / "iss634.gif").n_frames == 42
    assert (gif.width, gif.height) == (245, 245)
    assert [v.format for v in result.variants] == ["gif", "jpeg", "webp"]  # still posters too
    html = picture_html(result, "国际空间站")
    assert html.startswith("<img ") and gif.url in html and "<picture>" not in html


def test_real_mpo_first_frame(real_results):
    results, cache = real_results
    source = Image.open(real_dir() / "frozenpond.mpo")
    assert source.n_frames == 2
    # 480 and its own 640 (narrower than the largest width): all the first frame; the widest one is compared
    variant, path = outputs(results["content/photos/frozenpond.mpo"], cache, "jpeg")[-1]
    first = source.convert("RGB").resize((variant.width, variant.height))
    source.seek(1)
    second = source.convert("RGB").resize((variant.width, variant.height))
    out = opened(path)
    assert mean_diff(out, first) < 8 < mean_diff(out, second)


def test_real_xmp_and_icc_gone_colours_converted(real_results):
    results, cache = real_results
    source = Image.open(real_dir() / "xmp_test.jpg")
    assert "xmp" in source.info and b"Adobe RGB" in source.info["icc_profile"]
    result = results["content/photos/xmp_test.jpg"]
    assert [v.width for v in result.of_format("jpeg")] == [480, 960, 1600]
    (_, path), = [(v, p) for v, p in outputs(result, cache, "jpeg") if v.width == 480]
    out = opened(path)
    rgb = source.convert("RGB").resize(out.size)
    srgb = ImageCms.profileToProfile(rgb, ImageCms.ImageCmsProfile(io.BytesIO(source.info["icc_profile"])),
                                     ImageCms.createProfile("sRGB"))
    assert mean_diff(out, srgb) < mean_diff(out, rgb)  # Adobe RGB was converted to sRGB


# ------------------------------------------------------------------------------------------------ cases

def test_case_b11_orientation(project, cache):
    # make_images.py of case B11: 400x200 stored, red band on the stored top row, Orientation=6
    im = Image.new("RGB", (400, 200), "white")
    im.paste((255, 0, 0), (0, 0, 400, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    im.save(project / "content/portrait.jpg", "JPEG", exif=exif)
    result = run([job(project, "content/portrait.jpg", 7, md="content/photo.md")], SMALL, cache)[
        "content/portrait.jpg"]
    assert result.ok and (result.width, result.height) == (200, 400)
    assert [(v.format, v.width, v.height) for v in result.variants] == [
        ("jpeg", 100, 200), ("jpeg", 150, 300), ("jpeg", 200, 400), ("webp", 100, 200), ("webp", 150, 300),
        ("webp", 200, 400)]  # the source's own 200 px as the largest (narrower than the largest width, 480)
    for variant, path in outputs(result, cache):
        out = opened(path).convert("RGB")
        w, h = out.size
        assert (w, h) == (variant.width, variant.height) and h == 2 * w
        assert out.getexif().get(0x0112) in (None, 1)
        r, g, b = out.getpixel((w - 2, h // 2))
        assert r > 200 and g < 80 and b < 80  # red band on the right edge
        assert min(out.getpixel((2, h // 2))) > 230 and min(out.getpixel((w // 2, 2))) > 230
    html = picture_html(result, "竖拍")
    assert 'width="150" height="300"' in html  # the middle JPEG, upright


def b12_source(project: Path) -> Path:
    im = Image.new("RGB", (800, 600), (90, 120, 150))
    exif = Image.Exif()
    exif[0x010F] = "ExampleCam"
    exif[0x0110] = "Model X"
    exif[0x0132] = "2024:03:05 08:59:00"
    exif[0x8298] = "Hebei Women's Federation"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}
    path = project / "content/gps.jpg"
    im.save(path, "JPEG", exif=exif)
    return path


def test_case_b12_gps_and_camera_removed(project, cache):
    path = b12_source(project)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = run([job(project, "content/gps.jpg", 7)], replace(SMALL, publish_originals=True), cache)[
        "content/gps.jpg"]
    assert [v.width for v in result.of_format("jpeg")] == [100, 150, 480, 800]  # + the full-size re-encode
    for _, out in outputs(result, cache):
        exif = opened(out).getexif()
        assert not exif.get_ifd(0x8825) and 0x010F not in exif and 0x0110 not in exif
        assert_clean(out)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # the source is untouched


def test_case_b12_whitelist_keeps_only_listed_tags(project, cache):
    b12_source(project)
    settings = replace(SMALL, keep_exif=("DateTime", "Copyright", "GPSInfo", "Orientation"))
    result = run([job(project, "content/gps.jpg", 7)], settings, cache)["content/gps.jpg"]
    for _, out in outputs(result, cache):
        exif = opened(out).getexif()
        assert dict(exif) == {0x0132: "2024:03:05 08:59:00", 0x8298: "Hebei Women's Federation"}
        assert not exif.get_ifd(0x8825)


def test_case_b13_modes(project, cache):
    # make_images.py of case B13
    d = project / "content"
    p = Image.new("P", (200, 200), 0)
    p.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    ImageDraw.Draw(p).rectangle((50, 50, 150, 150), fill=1)
    p.save(d / "logo-p.png", transparency=0)
    rgba = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).ellipse((20, 20, 180, 180), fill=(0, 100, 200, 128))
    rgba.save(d / "badge-rgba.png")
    la = Image.new("LA", (200, 200), (0, 0))
    ImageDraw.Draw(la).rectangle((40, 40, 160, 160), fill=(80, 255))
    la.save(d / "gray-la.png")
    Image.new("CMYK", (200, 200), (0, 200, 200, 0)).save(d / "print-cmyk.jpg", "JPEG")
    p.save(d / "icon.gif", transparency=0)

    names = ["logo-p.png", "badge-rgba.png", "gray-la.png", "print-cmyk.jpg", "icon.gif"]
    results = run([job(project, f"content/{n}", 7 + i, md="content/modes.md") for i, n in enumerate(names)],
                  SMALL, cache, workers=2)
    for name in names:
        result = results[f"content/{name}"]
        assert result.ok and not result.animated and [v.width for v in result.of_format("jpeg")] == [100, 150, 200]
        for variant, path in outputs(result, cache):
            out = opened(path)
            assert out.mode == "RGB"
            if name != "print-cmyk.jpg":
                assert min(out.getpixel((0, 0))) > 245, (name, variant)  # flattened on white, not black
            else:
                r, g, b = out.getpixel((out.width // 2, out.height // 2))
                assert r > 200 and g < 90 and b < 90  # red-ish, not inverted
    # the opaque parts keep their colour: the logo's red square, the LA grey square
    (_, logo), = [(v, p) for v, p in outputs(results["content/logo-p.png"], cache, "jpeg") if v.width == 100]
    r, g, b = opened(logo).getpixel((50, 50))
    assert r > 170 and g < 40 and b < 40
    (_, grey), = [(v, p) for v, p in outputs(results["content/gray-la.png"], cache, "jpeg") if v.width == 100]
    assert all(abs(c - 80) < 8 for c in opened(grey).getpixel((50, 50)))


def b15_sources(project: Path) -> list[str]:
    # make_images.py of case B15
    buf = io.BytesIO()
    Image.effect_noise((1200, 900), 64).convert("RGB").save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    d = project / "content"
    (d / "truncated.jpg").write_bytes(data[: len(data) * 6 // 10])
    (d / "empty.jpg").write_bytes(b"")
    (d / "notimage.jpg").write_text("<html><body>404 Not Found</body></html>", encoding="utf-8")
    Image.new("RGB", (640, 480), (200, 200, 200)).save(d / "good.jpg")
    return ["truncated.jpg", "empty.jpg", "notimage.jpg", "good.jpg"]


@pytest.mark.parametrize("workers", [1, 2])
def test_case_b15_broken_files_reported_rest_processed(project, cache, workers):
    names = b15_sources(project)
    jobs = [job(project, f"content/{n}", 6 + i, md="content/broken.md") for i, n in enumerate(names)]
    jobs.append(job(project, "content/good.jpg", 3, md="content/other.md"))  # a second reference
    results = run(jobs, ImageSettings(timeout=60), cache, workers=workers)
    messages = [str(p) for n in names for p in results[f"content/{n}"].problems]
    assert messages == [
        "content/broken.md:6: E302: 图片文件不完整（上传中断？）：truncated.jpg（请重新导出并上传完整的 JPEG 文件）",
        "content/broken.md:7: E304: 图片文件是空的（0 字节）：empty.jpg（请重新上传这张图片）",
        "content/broken.md:8: E303: 不是可识别的图片文件：notimage.jpg（文件内容是网页 HTML，不是图片）"
        "（请使用 JPEG、PNG、GIF 或 WebP 格式的图片）",
    ]
    good = results["content/good.jpg"]
    assert good.ok and [(v.format, v.width) for v in good.variants] == [("jpeg", 480), ("jpeg", 640), ("webp", 480),
                                                                         ("webp", 640)]
    # nothing half-decoded was written for the broken ones
    assert sorted(p.name for p in cache.glob("images/*/*/*")) == ["480.jpg", "480.webp", "640.jpg", "640.webp"]
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# ------------------------------------------------------------------------------------------------ other inputs

def test_missing_outside_and_lying_extension(project, cache, tmp_path):
    Image.new("RGB", (300, 200), (0, 128, 0)).save(project / "content/png-named.jpg", "PNG")
    (tmp_path / "secret.jpg").write_bytes((project / "content/png-named.jpg").read_bytes())
    (project / "content/link.jpg").symlink_to(tmp_path / "secret.jpg")
    jobs = [job(project, "content/png-named.jpg", 2), job(project, "content/nope.jpg", 3, 9),
            ImageJob(str(project / "../../etc/passwd"), "../../etc/passwd", (Location("content/a.md", 4),)),
            job(project, "content/link.jpg", 5), job(project, "content", 6)]
    results = run(jobs, SMALL, cache)
    assert results["content/png-named.jpg"].ok  # decided by content: a PNG named .jpg is fine
    assert [str(p) for r in list(results.values())[1:] for p in r.problems] == [
        "content/a.md:3: E301: 找不到图片文件：nope.jpg（请检查文件名和路径（区分大小写），并确认图片已放进站点目录）",
        "content/a.md:9: E301: 找不到图片文件：nope.jpg（请检查文件名和路径（区分大小写），并确认图片已放进站点目录）",
        "content/a.md:4: E306: 图片路径指向站点目录之外：../../etc/passwd"
        "（图片必须放在站点目录中（例如 content/ 下），不能用 ../ 指向别处）",
        "content/a.md:5: E306: 图片路径指向站点目录之外：content/link.jpg"
        "（图片必须放在站点目录中（例如 content/ 下），不能用 ../ 指向别处）",
        "content/a.md:6: E303: 不是可识别的图片文件：content（不是普通文件）（请使用 JPEG、PNG、GIF 或 WebP 格式的图片）",
    ]


def test_bomb_refused_from_header_before_decoding(project, cache, monkeypatch):
    Image.new("L", (3000, 2000)).save(project / "content/big.png")
    limit = Image.MAX_IMAGE_PIXELS
    decoded = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(1) or real_load(self))
    result = run([job(project, "content/big.png", 1)], replace(SMALL, max_pixels=5_000_000), cache, workers=1)[
        "content/big.png"]
    assert [p.code for p in result.problems] == ["E305"] and "3000×2000" in result.problems[0].message
    assert decoded == []
    assert Image.MAX_IMAGE_PIXELS == limit  # Pillow's own limit is restored


def test_heic(project, cache, monkeypatch):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    try:
        Image.new("RGB", (320, 240), (10, 20, 200)).save(project / "content/phone.heic")
    except Exception as exc:  # no HEVC encoder in this libheif build
        pytest.skip(f"cannot write HEIC here: {exc}")
    result = run([job(project, "content/phone.heic", 4)], SMALL, cache, workers=1)["content/phone.heic"]
    assert result.ok and result.width == 320
    # without pillow-heif: a clear message asking for JPEG
    monkeypatch.setattr(imagework, "_register_heif", lambda: False)
    monkeypatch.setattr(Image, "OPEN", {k: v for k, v in Image.OPEN.items() if k not in ("HEIF", "AVIF")})
    monkeypatch.setattr(Image, "ID", [k for k in Image.ID if k not in ("HEIF", "AVIF")])
    result = run([job(project, "content/phone.heic", 4)], replace(SMALL, quality=81), cache, workers=1)[
        "content/phone.heic"]
    assert [str(p) for p in result.problems] == [
        "content/a.md:4: E307: 无法读取 HEIC/HEIF 格式的照片：phone.heic（请在手机或电脑上把照片导出为 JPEG 后再上传）"]


def test_widths_never_upscaled(project, cache):
    Image.new("RGB", (1000, 500), "blue").save(project / "content/mid.jpg")
    Image.new("RGB", (60, 40), "blue").save(project / "content/tiny.png")
    results = run([job(project, "content/mid.jpg"), job(project, "content/tiny.png")],
                  ImageSettings(formats=("webp",)), cache)
    # the source's own width is the largest candidate: 960 alone would be offered for a 1000 px photo
    assert [(v.width, v.height) for v in results["content/mid.jpg"].variants] == [(480, 240), (960, 480),
                                                                               (1000, 500)]
    assert [(v.format, v.width, v.height) for v in results["content/tiny.png"].variants] == [("webp", 60, 40)]


def test_same_bytes_decoded_once_and_refs_merged(project, cache):
    Image.new("RGB", (200, 100), "red").save(project / "content/a.jpg")
    (project / "content/b.jpg").write_bytes((project / "content/a.jpg").read_bytes())
    jobs = [job(project, "content/a.jpg", 1), job(project, "content/b.jpg", 2), job(project, "content/a.jpg", 3)]
    results = run(jobs, SMALL, cache, workers=1)
    assert list(results) == ["content/a.jpg", "content/b.jpg"]
    a, b = results["content/a.jpg"], results["content/b.jpg"]
    assert a.variants[0].url.split("/")[1] == b.variants[0].url.split("/")[1]  # one cache entry
    assert a.variants[0].url.endswith("/a-100.jpg") and b.variants[0].url.endswith("/b-100.jpg")
    assert len(list(cache.glob("images/*/*.json"))) == 1


def test_settings_change_the_key(project, cache):
    Image.new("RGB", (200, 100), "red").save(project / "content/a.jpg")
    first = run([job(project, "content/a.jpg")], SMALL, cache)["content/a.jpg"]
    again = run([job(project, "content/a.jpg")], replace(SMALL, timeout=5), cache)["content/a.jpg"]
    other = run([job(project, "content/a.jpg")], replace(SMALL, quality=50), cache)["content/a.jpg"]
    assert again.cached and again.variants == first.variants
    assert not other.cached and other.variants[0].url != first.variants[0].url


# ------------------------------------------------------------------------------------------------ cache, publish

def publish(results, cache, out) -> list[str]:
    """Publish the variants of ``results`` as the build's write stage does (hard links through the writer)."""
    writer = Writer(out, out.parent / "manifest.json")
    for result in results:
        for variant in result.variants:
            writer.link(variant.url, images.cache_file(cache, variant))
    writer.commit()
    return sorted(writer.produced)


def test_warm_run_decodes_nothing_even_after_output_deleted(project, cache, tmp_path, monkeypatch):
    for i in range(3):
        Image.new("RGB", (700, 500), (i * 60, 100, 200)).save(project / f"content/p{i}.jpg")
    jobs = [job(project, f"content/p{i}.jpg", i + 1) for i in range(3)]
    cold = run(jobs, ImageSettings(), cache, workers=2)
    assert not any(r.cached for r in cold.values())
    out = tmp_path / "output"
    written = publish(cold.values(), cache, out)
    assert len(written) == 3 * 2 * 2 and written == sorted(written)  # 480 and the own 700, JPEG and WebP
    for rel in written:
        assert (out / rel).is_file()

    import shutil
    shutil.rmtree(out)

    def refuse(*args, **kwargs):
        raise AssertionError("a warm run must not open any image")

    monkeypatch.setattr(Image, "open", refuse)
    warm = run(jobs, ImageSettings(), cache, workers=1)
    assert all(r.cached and r.ok for r in warm.values())
    assert [r.variants for r in warm.values()] == [r.variants for r in cold.values()]
    assert publish(warm.values(), cache, out) == written
    variant = warm["content/p0.jpg"].variants[0]
    assert os.path.samefile(out / variant.url, images.cache_file(cache, variant))  # hard link


def test_missing_cache_file_is_rebuilt(project, cache):
    Image.new("RGB", (500, 300), "red").save(project / "content/a.jpg")
    first = run([job(project, "content/a.jpg")], SMALL, cache)["content/a.jpg"]
    images.cache_file(cache, first.variants[0]).unlink()
    second = run([job(project, "content/a.jpg")], SMALL, cache)["content/a.jpg"]
    assert not second.cached and images.cache_file(cache, first.variants[0]).is_file()


def test_changed_source_is_reprocessed(project, cache):
    path = project / "content/a.jpg"
    Image.new("RGB", (500, 300), "red").save(path)
    first = run([job(project, "content/a.jpg")], SMALL, cache)["content/a.jpg"]
    Image.new("RGB", (300, 500), "blue").save(path)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    second = run([job(project, "content/a.jpg")], SMALL, cache)["content/a.jpg"]
    assert not second.cached and (second.width, second.height) == (300, 500) and second.variants != first.variants


# ------------------------------------------------------------------------------------------------ html

def test_picture_html():
    def v(fmt, w):
        return Variant(f"media/abc/x-{w}.{'jpg' if fmt == 'jpeg' else fmt}", w, w * 3 // 4, fmt, 1000)

    result = ImageResult("content/x.jpg", True, 2000, 1500,
                         (v("jpeg", 480), v("jpeg", 960), v("jpeg", 1600), v("webp", 480), v("webp", 960),
                          v("webp", 1600)), False)
    html = picture_html(result, '妇女"代表"<大会> & 合影', base_path="/sub/", css_class='cover "x"')
    assert html == (
        '<picture><source type="image/webp" srcset="/sub/media/abc/x-480.webp 480w, /sub/media/abc/x-960.webp 960w, '
        '/sub/media/abc/x-1600.webp 1600w" sizes="(max-width: 760px) 100vw, 760px">'
        '<img src="/sub/media/abc/x-960.jpg" srcset="/sub/media/abc/x-480.jpg 480w, /sub/media/abc/x-960.jpg 960w, '
        '/sub/media/abc/x-1600.jpg 1600w" sizes="(max-width: 760px) 100vw, 760px" width="960" height="720" '
        'alt="妇女&quot;代表&quot;&lt;大会&gt; &amp; 合影" loading="lazy" decoding="async" '
        'class="cover &quot;x&quot;"></picture>')
    eager = picture_html(result, "", lazy=False, sizes="100vw")
    assert 'loading=' not in eager and 'alt=""' in eager and 'src="/media/abc/x-960.jpg"' in eager
    assert 'sizes="100vw"' in eager
    failed = ImageResult("content/y.jpg", False, 0, 0, (), False)
    assert picture_html(failed, "x") == ""
    only_jpeg = ImageResult("content/x.jpg", True, 500, 375, (v("jpeg", 480),), False)
    assert picture_html(only_jpeg, "a").startswith('<picture><img src="/media/abc/x-480.jpg" srcset=')


def test_picture_html_matches_real_oriented_variant(project, cache):
    im = Image.new("RGB", (1200, 900), "white")
    exif = Image.Exif()
    exif[0x0112] = 8
    im.save(project / "content/side.jpg", exif=exif)
    result = run([job(project, "content/side.jpg")], ImageSettings(), cache)["content/side.jpg"]
    assert (result.width, result.height) == (900, 1200)
    assert [(v.width, v.height) for v in result.of_format("jpeg")] == [(480, 640), (900, 1200)]
    assert 'width="900" height="1200"' in picture_html(result, "x")  # the middle of the two: upright


# ------------------------------------------------------------------------------------------------ time limit

def test_tiny_timeout_reports_and_returns(project, cache):
    for i in range(3):
        Image.effect_noise((1600, 1200), 50).convert("RGB").save(project / f"content/n{i}.jpg", quality=95)
    jobs = [job(project, f"content/n{i}.jpg", i + 1) for i in range(3)]
    results = run(jobs, replace(SMALL, timeout=0.001), cache, workers=2)
    for rel, result in results.items():
        assert [str(p) for p in result.problems] == [
            f"content/a.md:{int(rel[-5]) + 1}: E308: 处理图片超时（超过 0.001 秒）：{rel[8:]}"
            "（图片可能损坏或过大；请重新导出为普通 JPEG，或在 site.yaml 中调大 images.timeout）"]
    single = run(jobs[:1], replace(SMALL, timeout=0.001), cache, workers=1)["content/n0.jpg"]
    assert [p.code for p in single.problems] == ["E308"]


def _hang_on_named(real):
    def slow(task):
        if task.rel.endswith("hang.png"):
            time.sleep(600)
        return real(task)
    return slow


def test_hanging_worker_killed_others_finish(project, cache, monkeypatch):
    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the hanging worker is patched in the parent, which only fork start-up passes to workers")
    for name, colour in (("a.png", "green"), ("hang.png", "red"), ("b.png", "blue")):
        Image.new("RGB", (200, 150), colour).save(project / f"content/{name}")
    (project / "content/c.png").write_bytes(b"\x89PNG junk")
    monkeypatch.setattr(imagework, "make_variants", _hang_on_named(imagework.make_variants))
    jobs = [job(project, f"content/{n}", i + 1) for i, n in enumerate(("a.png", "hang.png", "b.png", "c.png"))]
    results = run(jobs, replace(SMALL, timeout=3), cache, workers=2)  # returns: the hung worker was killed
    assert [p.code for p in results["content/hang.png"].problems] == ["E308"]
    assert results["content/a.png"].ok and results["content/b.png"].ok
    assert [p.code for p in results["content/c.png"].problems] == ["E303"]


def test_hanging_in_process_stopped_by_alarm(project, cache, monkeypatch):
    Image.new("RGB", (200, 150), "green").save(project / "content/hang.png")
    monkeypatch.setattr(imagework, "make_variants", _hang_on_named(imagework.make_variants))
    result = run([job(project, "content/hang.png", 1)], replace(SMALL, timeout=0.5), cache, workers=1)
    assert [p.code for p in result["content/hang.png"].problems] == ["E308"]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_eight_orientations_upright(project, cache, orientation):
    upright = Image.new("RGB", (300, 200), "white")
    upright.paste((255, 0, 0), (0, 0, 60, 40))  # red block top left
    upright.paste((0, 0, 255), (240, 160, 300, 200))  # blue block bottom right
    t = Image.Transpose
    # the stored pixels: the inverse of the transposition EXIF orientation `orientation` asks for
    inverse = {1: None, 2: t.FLIP_LEFT_RIGHT, 3: t.ROTATE_180, 4: t.FLIP_TOP_BOTTOM, 5: t.TRANSPOSE,
               6: t.ROTATE_90, 7: t.TRANSVERSE, 8: t.ROTATE_270}[orientation]
    stored = upright.transpose(inverse) if inverse is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(project / "content/o.jpg", exif=exif, quality=95)
    result = run([job(project, "content/o.jpg")], SMALL, cache)["content/o.jpg"]
    assert (result.width, result.height) == (300, 200)
    for variant, path in outputs(result, cache):
        out = opened(path).convert("RGB")
        assert out.size == (variant.width, variant.height) == (variant.width, round(variant.width * 2 / 3))
        w, h = out.size
        r, g, b = out.getpixel((w // 20, h // 20))
        assert r > 200 and g < 60 and b < 60, (orientation, variant)
        r, g, b = out.getpixel((w - 1 - w // 20, h - 1 - h // 20))
        assert b > 200 and r < 60 and g < 60, (orientation, variant)
        assert min(out.getpixel((w - 1 - w // 20, h // 20))) > 220
        assert min(out.getpixel((w // 20, h - 1 - h // 20))) > 220


def test_plan_groups_references(project, cache):
    Image.new("RGB", (200, 100), "red").save(project / "content/a.jpg")
    refs = [("content/a.jpg", Location("content/x.md", 3)), ("../../etc/passwd", Location("content/x.md", 5)),
            ("content/a.jpg", Location("content/y.md", 1)), ("content/a.jpg", Location("content/x.md", 3))]
    jobs = images.plan(refs, project)
    assert jobs == [
        ImageJob(str(project / "content/a.jpg"), "content/a.jpg",
                 (Location("content/x.md", 3), Location("content/y.md", 1))),
        ImageJob(str(project / "../../etc/passwd"), "../../etc/passwd", (Location("content/x.md", 5),))]
    results = run(jobs, SMALL, cache)
    assert results["content/a.jpg"].ok and [p.code for p in results["../../etc/passwd"].problems] == ["E306"]
