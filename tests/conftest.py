"""Shared test helpers: tiny sites written inline, builds, the CLI, the bundled sample site built once, and the
``shared/`` folder beside the repository (case inputs, real photos, the corpus generator).

Import the plain helpers with ``from conftest import make_site, build_site, run_cli, SHARED, need_shared``.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# A fixed build clock for every test build: the sample content and the inline sites are dated before it.
NOW = "2026-11-30T12:00:00+08:00"

DEFAULT_SITE_YAML = """\
title: 测试站
base_url: https://www.example.org.cn/
categories:
  - {name: 工作动态, slug: gongzuo-dongtai}
  - {name: 基层动态, slug: jiceng-dongtai}
columns:
  - {name: 改革进行时, slug: gaige-jinxingshi}
"""


# Hypothesis profiles (tests/test_fuzz.py): "ci" for `make test` (a few dozen examples, no deadline: no timing in
# tests), "fuzz" for `make fuzz` (10,000 examples, or FUZZ_EXAMPLES, each within 5 s). No example database is kept.
settings.register_profile("ci", max_examples=40, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "10000")), deadline=5000,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


REAL_PHOTOS = "real camera photos (rotated, CMYK, 16-bit, GPS-tagged, animated, MPO, a decompression bomb)"
BENCH_KIT = "the benchmark kit's generator of the 1,000-article corpus"


def need_shared(*parts: str, why: str = "") -> Path:
    """The path ``../shared/<parts…>`` beside the repository; skips the calling test when it is absent, saying
    what it holds (``why``, e.g. :data:`REAL_PHOTOS` or :data:`BENCH_KIT`) and that it is not in the repository."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs ../shared/{'/'.join(parts)} beside the repository: {why or 'shared files'}, "
                    "kept outside the repository")
    return path


def make_site(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """Write a whole tiny site under ``tmp_path/site``: ``files`` maps project-relative paths to text (UTF-8) or
    bytes. A default ``site.yaml`` (title, base_url, two categories, one column) is added unless given."""
    root = tmp_path / "site"
    root.mkdir(parents=True, exist_ok=True)
    files = dict(files)
    files.setdefault("site.yaml", DEFAULT_SITE_YAML)
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_bytes(data.encode("utf-8"))
        else:
            path.write_bytes(data)
    (root / "content").mkdir(exist_ok=True)
    return root


def build_site(path: Path, *, now: str | None = NOW, **kw):
    """Load ``path/site.yaml`` and build it (keywords as :func:`sitegen.build.build`: out, strict, drafts,
    future, jobs) with the build clock at ``now`` (``SITEGEN_NOW``; ``None`` = the real clock). Returns the
    :class:`~sitegen.build.BuildReport`."""
    from sitegen import build, config

    old = os.environ.get("SITEGEN_NOW")
    if now:
        os.environ["SITEGEN_NOW"] = now
    else:
        os.environ.pop("SITEGEN_NOW", None)
    try:
        return build.build(config.load(path), build.BuildOptions(**kw))
    finally:
        if old is None:
            os.environ.pop("SITEGEN_NOW", None)
        else:
            os.environ["SITEGEN_NOW"] = old


def run_cli(argv: list[str], *, subprocess_: bool = False, env: dict | None = None, now: str | None = NOW,
            cwd: Path | None = None) -> tuple[int, str, str]:
    """Run ``sitegen <argv>`` and return ``(exit code, stdout, stderr)``.

    In-process (``sitegen.cli.main``) by default; with ``subprocess_=True`` as ``python -m sitegen`` in a child
    process (so a traceback or an interpreter crash is seen as it would be by a user), with ``env`` added to the
    environment (e.g. ``{"TZ": "UTC"}``)."""
    if subprocess_:
        child_env = dict(os.environ)
        child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), child_env.get("PYTHONPATH")]))
        if now:
            child_env["SITEGEN_NOW"] = now
        child_env.update(env or {})
        proc = subprocess.run([sys.executable, "-m", "sitegen", *map(str, argv)], capture_output=True, text=True,
                              env=child_env, cwd=cwd, timeout=600)
        return proc.returncode, proc.stdout, proc.stderr
    from sitegen import cli

    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in ["SITEGEN_NOW", *(env or {})]}
    if now:
        os.environ["SITEGEN_NOW"] = now
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main([str(a) for a in argv])
            except SystemExit as exc:  # argparse usage errors
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, out.getvalue(), err.getvalue()


@dataclass(frozen=True)
class SampleSite:
    """The repository's own site (site.yaml, content/, themes/) copied to a temporary folder and built once."""

    root: Path
    output: Path
    report: object


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory) -> SampleSite:
    """The bundled sample site built once per test session (read-only for tests: copy it before changing it)."""
    root = tmp_path_factory.mktemp("sample") / "site"
    root.mkdir()
    shutil.copy2(REPO / "site.yaml", root / "site.yaml")
    for name in ("content", "themes"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name)
    images = REPO / ".sitegen-cache" / "images"
    if images.is_dir():  # reuse processed photos of an earlier `make build` (keyed by bytes and settings)
        shutil.copytree(images, root / ".sitegen-cache" / "images", copy_function=_link_or_copy)
    report = build_site(root)
    assert report.ok and not report.errors, "\n".join(map(str, report.errors))
    return SampleSite(root, root / "output", report)


# --- links in built HTML ---------------------------------------------------------------------------------------

_LINK_ATTRS = {"a": ("href",), "link": ("href",), "area": ("href",), "img": ("src", "srcset"),
               "source": ("src", "srcset"), "script": ("src",), "iframe": ("src",), "video": ("src", "poster"),
               "audio": ("src",)}


def html_links(html: bytes | str) -> list[str]:
    """Every ``href``/``src``/``srcset`` URL in an HTML document (srcset split into its URLs), in document order."""
    import lxml.html

    tree = lxml.html.document_fromstring(html)
    out = []
    for el in tree.iter(*_LINK_ATTRS):
        for attr in _LINK_ATTRS[el.tag]:
            value = el.get(attr)
            if not value:
                continue
            if attr == "srcset":
                out.extend(part.strip().split()[0] for part in value.split(",") if part.strip())
            else:
                out.append(value.strip())
    return out


def resolve_link(output: Path, page_rel: str, link: str, base_path: str = "/") -> Path | None | bool:
    """Where an internal ``link`` found in ``output/page_rel`` points: the file under ``output`` (``/x/`` →
    ``x/index.html``, fragments and queries ignored), ``None`` when no such file exists or a root-relative link
    misses the base path, ``False`` for links that are not internal files (external, ``mailto:``, ``#fragment``)."""
    import posixpath
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not parts.path:
        return False
    path = unquote(parts.path)
    if path.startswith("/"):
        if not path.startswith(base_path):
            return None
        rel = path[len(base_path):]
    else:
        here = posixpath.dirname(page_rel)
        rel = posixpath.normpath(posixpath.join(here, path)) + ("/" if path.endswith("/") else "")
        if rel.startswith("../"):
            return None
        rel = "" if rel in (".", "./") else rel
    target = output / rel
    if rel == "" or rel.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None
