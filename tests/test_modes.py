"""Output any user of the host can read (issue 23, point 1): published files at least 0644, folders 0755, however
they got there — written under a private umask, hard-linked from a photo cache restored with private modes, or left
by an older build — and a real nginx whose workers run as ``nobody`` serves every page, stylesheet and photo the
sample site links from a ``cp -a`` copy of ``output/`` (modes kept)."""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import pytest

from conftest import NOW, REPO, html_links
from sitegen import modes

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def unreadable(folder: Path) -> list[str]:
    """Everything under ``folder`` (and itself) that a user other than the owner cannot read: files without
    0644, folders without 0755."""
    bad = []
    for path in [folder, *folder.rglob("*")]:
        st = path.lstat()
        want = modes.DIR_BITS if stat.S_ISDIR(st.st_mode) else modes.FILE_BITS
        if stat.S_IMODE(st.st_mode) & want != want:
            bad.append(f"{path.relative_to(folder).as_posix() or '.'} {stat.S_IMODE(st.st_mode):o}")
    return bad


def build_cli(root: Path, *, umask: int = 0o077) -> None:
    """``python -m sitegen build root`` in a child process running under ``umask``."""
    env = dict(os.environ, PYTHONPATH=str(REPO), SITEGEN_NOW=NOW)
    proc = subprocess.run([sys.executable, "-m", "sitegen", "build", str(root), "-q"], env=env, capture_output=True,
                          text=True, timeout=600, preexec_fn=lambda: os.umask(umask))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def site(sample_site, tmp_path) -> Path:
    """A copy of the built sample site with its cache (photos already processed), without ``output/``."""
    root = tmp_path / "site"
    shutil.copytree(sample_site.root, root, ignore=shutil.ignore_patterns("output", ".output.staging-*"))
    return root


# --- the rules -------------------------------------------------------------------------------------------------------

def test_ensure_adds_missing_bits_only(tmp_path):
    private, shared, folder = tmp_path / "a.jpg", tmp_path / "b.sh", tmp_path / "d"
    private.write_bytes(b"x")
    shared.write_bytes(b"x")
    folder.mkdir()
    os.chmod(private, 0o600)
    os.chmod(shared, 0o775)
    os.chmod(folder, 0o700)
    link = tmp_path / "link"
    link.symlink_to(private)
    assert modes.ensure(private) and modes.ensure(folder)
    assert not modes.ensure(shared) and not modes.ensure(link)
    assert stat.S_IMODE(private.stat().st_mode) == 0o644
    assert stat.S_IMODE(shared.stat().st_mode) == 0o775  # bits are added, never taken away
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_publish_tree_and_makedirs_under_a_private_umask(tmp_path):
    old = os.umask(0o077)
    try:
        (tmp_path / "out/a/b").mkdir(parents=True)
        (tmp_path / "out/a/b/index.html").write_text("页面", "utf-8")
        modes.makedirs(tmp_path / "new/x/y")
    finally:
        os.umask(old)
    assert unreadable(tmp_path / "out") != []
    assert modes.publish_tree(tmp_path / "out") == 4  # out, a, b and the page
    assert unreadable(tmp_path / "out") == []
    assert unreadable(tmp_path / "new") == []


# --- builds ----------------------------------------------------------------------------------------------------------

def test_build_under_umask_077_publishes_readable_files(site):
    build_cli(site)
    output = site / "output"
    assert any(output.joinpath("media").rglob("*.webp"))
    assert unreadable(output) == []


def test_photo_cache_restored_with_private_modes(site):
    """A CI cache restored with 0600 files (or written by an older sitegen): the published links are readable,
    and so is the cache file they share an inode with."""
    variants = [p for p in (site / ".sitegen-cache" / "images").rglob("*") if p.suffix in (".jpg", ".webp")]
    assert variants
    for path in variants:
        os.chmod(path, 0o600)
    build_cli(site)
    output = site / "output"
    assert unreadable(output) == []
    linked = [p for p in output.joinpath("media").rglob("*") if p.is_file() and p.stat().st_nlink > 1]
    assert linked, "photo variants are published as hard links to the cache"


def test_outputs_of_an_older_build_are_fixed(site):
    """Files an older build left with private modes and a cache that no longer vouches for them (another code
    version): the next build rewrites none of the unchanged ones, yet all become readable."""
    build_cli(site, umask=0o022)
    output = site / "output"
    for path in output.rglob("*"):
        if path.is_file():
            os.chmod(path, 0o600)
    shutil.rmtree(site / ".sitegen-cache" / "manifests")
    build_cli(site)
    assert unreadable(output) == []


# --- nginx as nobody -------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nginx_conf(run: Path, site_conf: Path, user: str, group: str) -> str:
    temp = "\n".join(f"    {d}_temp_path {run}/{d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"user {user} {group};\nworker_processes 1;\npid {run}/nginx.pid;\nerror_log {run}/error.log;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            f"    access_log {run}/access.log;\n{temp}\n    include {site_conf};\n}}\n")


@pytest.fixture
def nobody_nginx(tmp_path):
    """nginx whose workers run as ``nobody``, serving ``<fresh temp folder>/www`` on a free loopback port; yields
    ``(base URL, www)``. The folder above ``www`` is 0755 so that ``nobody`` may enter it."""
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian package nginx-light)")
    if os.geteuid() != 0:
        pytest.skip("only root can start nginx with its workers running as another user (nobody)")
    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("this system has no user nobody")
    group = grp.getgrgid(user.pw_gid).gr_name
    prefix = Path(tempfile.mkdtemp(prefix="sitegen-www-"))
    os.chmod(prefix, 0o755)
    run = tmp_path / "nginx"
    run.mkdir()
    port = _free_port()
    from sitegen.deploy import nginx_config

    (run / "site.conf").write_text(nginx_config(prefix / "www", listen=f"127.0.0.1:{port}", server_name="localhost"),
                                   "utf-8")
    (run / "nginx.conf").write_text(_nginx_conf(run, run / "site.conf", "nobody", group), "utf-8")
    proc = subprocess.Popen([NGINX, "-p", str(run), "-c", str(run / "nginx.conf"), "-e", str(run / "error.log"),
                             "-g", "daemon off;"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() + _read(run / "error.log")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, _read(run / "error.log")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", prefix / "www"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(prefix, ignore_errors=True)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def test_nginx_as_nobody_serves_everything_the_site_links(site, nobody_nginx):
    """Built under umask 077 from a photo cache with private modes, copied with ``cp -a``: every page, stylesheet,
    script and photo reachable from the home page answers 200 to nginx's unprivileged workers."""
    from test_nginx import get

    for path in (site / ".sitegen-cache" / "images").rglob("*"):
        if path.is_file():
            os.chmod(path, 0o600)
    build_cli(site)
    base, www = nobody_nginx
    subprocess.run(["cp", "-a", str(site / "output"), str(www)], check=True)

    seen, failed, kinds = {"/"}, [], {}
    queue = deque(["/"])
    while queue:
        url = queue.popleft()
        status, headers, body = get(base + url)
        kind = headers.get("content-type", "").split(";")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
        if status != 200:
            failed.append(f"{url} {status}")
            continue
        if kind != "text/html":
            continue
        for link in html_links(body):
            parts = urlsplit(urljoin(base + url, link))
            if f"{parts.scheme}://{parts.netloc}" != base:
                continue  # another site, mailto:, data: …
            target = quote(unquote(parts.path), safe="/")
            if target not in seen:
                seen.add(target)
                queue.append(target)
    assert failed == [], f"{len(failed)} of {len(seen)} URLs refused: {failed[:10]}"
    assert kinds.get("text/html", 0) > 50 and kinds.get("text/css", 0) >= 1
    assert kinds.get("image/jpeg", 0) > 10 and kinds.get("image/webp", 0) > 10
