"""The nginx example (sitegen/nginx.conf) serving a site published by ``sitegen deploy`` over rsync.

A real Debian nginx listens on 127.0.0.1 on a free port, serving the folder the deploy writes to; pages are fetched
over HTTP with urllib. Skipped when nginx or rsync is not installed (``.ci/run`` installs ``nginx-light`` and
``rsync``).
"""
from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image

from sitegen.deploy import CACHE_IMMUTABLE, CACHE_SHORT, deploy, nginx_config
from sitegen.slugs import tag_slug
from sitegen.errors import DeployError

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = [
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian package nginx-light)"),
    pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed (Debian package rsync)"),
]

ARTICLE = "gzdt/hebei-fulian-gaige/index.html"
CSS = "body{font-family:'Noto Sans CJK SC',sans-serif;font-size:18px;line-height:1.8}\n" * 20


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 32), (200, 40, 60)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
            f'<link rel="stylesheet" href="/style.3f2a9c1b.css"></head><body>{body}</body></html>\n')


def write_output(output: Path, *, with_article: bool = True) -> None:
    """A small built site: home, one article with a photo, a Chinese-named attachment page, CSS, 404."""
    link = '<a href="/gzdt/hebei-fulian-gaige/">河北省妇联深化改革</a>' if with_article else ""
    files = {
        "index.html": _page("河北妇女网", f"<h1>首页</h1>{link}<a href=\"/附件/通知.html\">通知</a>"),
        "style.3f2a9c1b.css": CSS,
        "附件/通知.html": _page("通知", "<h1>关于举办巾帼宣讲活动的通知</h1>"),
        "404.html": _page("页面不存在", "<h1>页面不存在</h1><p>您要找的页面已删除或移动。</p>"),
    }
    if with_article:
        files[ARTICLE] = _page("河北省妇联深化改革", '<h1>河北省妇联深化改革</h1><img src="/media/abc123-480.jpg" alt="">')
    for rel, text in files.items():
        (output / rel).parent.mkdir(parents=True, exist_ok=True)
        (output / rel).write_text(text, encoding="utf-8")
    (output / "media").mkdir(exist_ok=True)
    (output / "media/abc123-480.jpg").write_bytes(_jpeg())


def write_status(project: Path, output: Path, *, ok: bool = True, errors: int = 0) -> None:
    """The build's record, as ``sitegen build`` writes it."""
    (project / ".sitegen-cache").mkdir(exist_ok=True)
    status = {"ok": ok, "errors": errors, "strict": True, "output": str(output.resolve()),
              "finished": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")}
    (project / ".sitegen-cache/build-status.json").write_text(json.dumps(status), encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _main_conf(run: Path, server_conf: Path) -> str:
    temp = "\n".join(f"    {d}_temp_path {run}/{d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # the tmp folders are not readable by nginx's usual user
    return (f"{user}worker_processes 1;\npid {run}/nginx.pid;\nerror_log {run}/error.log;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            f"    access_log {run}/access.log;\n{temp}\n    include {server_conf};\n}}\n")


@pytest.fixture
def nginx(tmp_path):
    """nginx serving ``tmp_path/www`` on 127.0.0.1; yields ``(base_url, www)``."""
    www = tmp_path / "www"
    www.mkdir()
    run = tmp_path / "nginx"
    run.mkdir()
    port = _free_port()
    (run / "site.conf").write_text(nginx_config(www, listen=f"127.0.0.1:{port}", server_name="localhost"),
                                   encoding="utf-8")
    (run / "nginx.conf").write_text(_main_conf(run, run / "site.conf"), encoding="utf-8")
    argv = [NGINX, "-p", str(run), "-c", str(run / "nginx.conf"), "-e", str(run / "error.log"),
            "-g", "daemon off;"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"nginx exited: {proc.stdout.read().decode()}{_read(run / 'error.log')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"nginx did not listen on port {port}: {_read(run / 'error.log')}")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", www
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(url: str, **headers) -> tuple[int, dict, bytes]:
    """GET without following redirects: ``(status, headers with lower-case names, body bytes)``."""
    opener = urllib.request.build_opener(_NoRedirect)
    req = urllib.request.Request(url, headers={k.replace("_", "-"): v for k, v in headers.items()})
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


@pytest.fixture
def project(tmp_path):
    """A project folder whose ``output/`` holds a successful build."""
    project = tmp_path / "project"
    output = project / "output"
    output.mkdir(parents=True)
    write_output(output)
    write_status(project, output)
    return project


def test_example_passes_nginx_syntax_check(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "site.conf").write_text(nginx_config(tmp_path, listen="127.0.0.1:8080"), encoding="utf-8")
    (run / "nginx.conf").write_text(_main_conf(run, run / "site.conf"), encoding="utf-8")
    proc = subprocess.run([NGINX, "-t", "-p", str(run), "-c", str(run / "nginx.conf"), "-e", str(run / "error.log")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "syntax is ok" in proc.stderr


def test_nginx_config_sets_root_listen_and_server_name():
    text = nginx_config("/srv/www/hebwomen", listen="127.0.0.1:8081", server_name="www.hbwomen.org.cn")
    assert "    root /srv/www/hebwomen;" in text
    assert "    listen 127.0.0.1:8081;" in text
    assert "    server_name www.hbwomen.org.cn;" in text
    with pytest.raises(ValueError):
        nginx_config("relative/output")
    with pytest.raises(ValueError):
        nginx_config("/srv/www; include /etc/passwd")


def test_deployed_site_over_http(nginx, project):
    base, www = nginx
    report = deploy(project / "output", str(www), project_dir=project)
    assert report.uploaded == ("404.html", ARTICLE, "index.html", "media/abc123-480.jpg", "style.3f2a9c1b.css",
                               "附件/通知.html")
    assert report.deleted == () and report.unchanged == ()

    status, headers, body = get(base + "/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "河北省妇联深化改革" in body.decode("utf-8")
    assert headers["cache-control"] == CACHE_SHORT

    # clean URLs: the folder URL, and without the slash a redirect to it
    status, headers, body = get(base + "/gzdt/hebei-fulian-gaige/")
    assert status == 200 and "<h1>河北省妇联深化改革</h1>" in body.decode("utf-8")
    status, headers, _ = get(base + "/gzdt/hebei-fulian-gaige")
    assert status == 301 and headers["location"] == "/gzdt/hebei-fulian-gaige/"

    # a Chinese file name, percent-encoded in UTF-8
    status, headers, body = get(base + quote("/附件/通知.html"))
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "关于举办巾帼宣讲活动的通知" in body.decode("utf-8")

    # the site's own 404 page, with the 404 status
    status, headers, body = get(base + quote("/没有这个页面/"))
    assert status == 404
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "您要找的页面已删除或移动" in body.decode("utf-8")

    # long cache for fingerprinted assets and photos, short for HTML
    status, headers, body = get(base + "/style.3f2a9c1b.css")
    assert status == 200 and body.decode() == CSS
    assert headers["content-type"] == "text/css; charset=utf-8"
    assert headers["cache-control"] == CACHE_IMMUTABLE
    status, headers, body = get(base + "/media/abc123-480.jpg")
    assert status == 200 and headers["content-type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
    assert headers["cache-control"] == CACHE_IMMUTABLE

    # gzip for text
    status, headers, body = get(base + "/style.3f2a9c1b.css", Accept_Encoding="gzip")
    assert headers.get("content-encoding") == "gzip" and gzip.decompress(body).decode() == CSS
    assert "Accept-Encoding" in headers["vary"]

    # security headers on pages and on errors
    for path in ("/", "/style.3f2a9c1b.css", "/missing"):
        _, headers, _ = get(base + path)
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "img-src 'self' data:" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"

    # dotfiles are never served
    (www / ".secret").write_text("x", encoding="utf-8")
    assert get(base + "/.secret")[0] == 404


def test_redeploy_after_deleting_an_article(nginx, project):
    base, www = nginx
    output = project / "output"
    deploy(output, str(www), project_dir=project)
    assert get(base + "/gzdt/hebei-fulian-gaige/")[0] == 200

    # the article is deleted and the site rebuilt: its page is gone and the home page no longer links to it
    shutil.rmtree(output / "gzdt")
    write_output(output, with_article=False)
    write_status(project, output)
    report = deploy(output, str(www), project_dir=project)

    assert report.uploaded == ("index.html",)
    assert report.deleted == (ARTICLE,)
    assert report.unchanged == ("404.html", "media/abc123-480.jpg", "style.3f2a9c1b.css", "附件/通知.html")
    assert (report.uploaded_count, report.deleted_count, report.unchanged_count) == (1, 1, 4)
    status, _, body = get(base + "/gzdt/hebei-fulian-gaige/")
    assert status == 404 and "页面不存在" in body.decode("utf-8")
    status, _, body = get(base + "/")
    assert status == 200 and "hebei-fulian-gaige" not in body.decode("utf-8")

    # nothing changed since: a third deploy transfers nothing
    again = deploy(output, str(www), project_dir=project)
    assert again.uploaded == () and again.deleted == () and again.unchanged_count == 5


def test_deploy_after_failed_build_changes_nothing_on_host(nginx, project):
    base, www = nginx
    output = project / "output"
    deploy(output, str(www), project_dir=project)
    before = {p.relative_to(www).as_posix(): p.read_bytes() for p in www.rglob("*") if p.is_file()}

    # a later build removed the article, changed the home page, then failed under --strict
    shutil.rmtree(output / "gzdt")
    write_output(output, with_article=False)
    write_status(project, output, ok=False, errors=2)
    with pytest.raises(DeployError) as exc:
        deploy(output, str(www), project_dir=project)
    assert str(exc.value) == ("上次构建失败，有 2 个错误，已拒绝发布，网站保持原样"
                              "（请修正错误并重新运行 sitegen build）")

    after = {p.relative_to(www).as_posix(): p.read_bytes() for p in www.rglob("*") if p.is_file()}
    assert after == before
    assert get(base + "/gzdt/hebei-fulian-gaige/")[0] == 200
    assert "hebei-fulian-gaige" in get(base + "/")[2].decode("utf-8")


# --- the real sample site, end to end -----------------------------------------------------------------------------

def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_sample_site_built_deployed_and_served(nginx, sample_site, tmp_path):
    """Build the bundled site, deploy it with rsync to the folder nginx serves, fetch it over HTTP; then delete an
    article, rebuild and redeploy: only the changed files travel, the page is gone and nothing links to it."""
    from conftest import build_site

    base, www = nginx
    root = tmp_path / "site"
    shutil.copytree(sample_site.root, root, ignore=shutil.ignore_patterns("output"))
    report = build_site(root, strict=True)
    assert report.ok and not report.errors
    output = root / "output"
    first = deploy(output, str(www), project_dir=root)
    assert first.uploaded_count == len(_tree(output)) and first.deleted == ()

    article = "gongzuo-dongtai/2026/10/meili-tingyuan/"
    status, headers, body = get(base + "/" + article)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert "全省“美丽庭院”创建工作推进会在邢台召开" in body.decode("utf-8")
    status, headers, _ = get(base + "/gongzuo-dongtai/2026/10/meili-tingyuan")  # without the slash: redirected
    assert status == 301 and headers["location"].endswith("/gongzuo-dongtai/2026/10/meili-tingyuan/")
    css = next(rel for rel in _tree(output) if rel.startswith("assets/style.") and rel.endswith(".css"))
    status, headers, _ = get(base + "/" + css)
    assert status == 200 and headers["cache-control"] == CACHE_IMMUTABLE
    photo = next(rel for rel in _tree(output) if rel.startswith("media/") and rel.endswith(".webp"))
    assert get(base + "/" + photo)[1]["content-type"] == "image/webp"
    status, _, body = get(base + "/no/such/page/")
    assert status == 404 and "页面不存在" in body.decode("utf-8")

    before = _tree(output)
    (root / "content/2026/10/meili-tingyuan.md").unlink()
    (root / "content/2026/11/chudong-meili-tingyuan.md").unlink()  # it links to the deleted article
    report = build_site(root, strict=True)
    assert report.ok and not report.errors, "\n".join(map(str, report.problems))
    after = _tree(output)
    second = deploy(output, str(www), project_dir=root)
    changed = sorted(rel for rel, data in after.items() if before.get(rel) != data)
    assert sorted(second.uploaded) == changed and 0 < len(changed) < len(after)
    assert sorted(second.deleted) == sorted(set(before) - set(after))
    assert get(base + "/" + article)[0] == 404
    for page in ("", "gongzuo-dongtai/", f"tags/{tag_slug('美丽庭院')}/"):
        status, _, body = get(base + "/" + page)
        assert status in (200, 404) and "/" + article not in body.decode("utf-8")
