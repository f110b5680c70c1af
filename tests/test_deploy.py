"""sitegen.deploy: the build-status guard, target resolution, the rsync argv, real rsync to a local folder, and S3
against moto's standalone server on 127.0.0.1. (Serving the deployed folder with nginx is in test_nginx.py.)"""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image

from sitegen.deploy import (
    DeployReport,
    check_build_status,
    deploy,
    parse_itemized,
    resolve_target,
    rsync_argv,
    rsync_commands,
    scheme_of,
    split_s3_url,
)
from sitegen.errors import DeployError
from sitegen.httprules import CACHE_IMMUTABLE, CACHE_SHORT, cache_control, content_type, upload_order

needs_rsync = pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed (Debian package rsync)")

ARTICLE = "gzdt/hebei-fulian-gaige/index.html"
ALL = ("404.html", "feed.xml", ARTICLE, "index.html", "media/abc123-480.jpg", "style.3f2a9c1b.css", "附件/通知.html")


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 32), (200, 40, 60)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def write_output(output: Path, *, with_article: bool = True) -> None:
    """A small built site: home, one article with a photo, a Chinese-named page, CSS, a feed, 404."""
    link = '<a href="/gzdt/hebei-fulian-gaige/">河北省妇联深化改革</a>' if with_article else ""
    files = {
        "index.html": f'<!doctype html><meta charset="utf-8"><title>河北妇女网</title>{link}',
        "style.3f2a9c1b.css": "body{font-size:18px}\n",
        "附件/通知.html": '<!doctype html><meta charset="utf-8"><title>通知</title>',
        "404.html": '<!doctype html><meta charset="utf-8"><title>页面不存在</title>',
        "feed.xml": f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{link and "<item/>"}</channel></rss>',
    }
    if with_article:
        files[ARTICLE] = '<!doctype html><meta charset="utf-8"><img src="/media/abc123-480.jpg" alt="">'
    for rel, text in files.items():
        (output / rel).parent.mkdir(parents=True, exist_ok=True)
        (output / rel).write_text(text, encoding="utf-8")
    (output / "media").mkdir(exist_ok=True)
    (output / "media/abc123-480.jpg").write_bytes(_jpeg())


def write_status(project: Path, output: Path, *, ok: bool = True, errors: int = 0, strict: bool = False) -> None:
    (project / ".sitegen-cache").mkdir(exist_ok=True)
    status = {"ok": ok, "errors": errors, "strict": strict, "output": str(output.resolve()),
              "finished": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")}
    (project / ".sitegen-cache/build-status.json").write_text(json.dumps(status), encoding="utf-8")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def project(tmp_path):
    project = tmp_path / "project"
    (project / "output").mkdir(parents=True)
    write_output(project / "output")
    write_status(project, project / "output")
    return project


# --- pure rules -------------------------------------------------------------------------------------------------

def test_rsync_argv_three_passes():
    assets, documents, delete = rsync_commands("/p/output", "deploy@web1:/srv/www")
    for argv in (assets, documents, delete):
        assert argv[0] == "rsync"
        assert "--checksum" in argv and "--recursive" in argv and "--itemize-changes" in argv
        assert "--out-format=%i %n" in argv
        assert "--dry-run" not in argv
        assert argv[-3:] == ["--", "/p/output/", "deploy@web1:/srv/www/"]
    assert "--exclude=*.html" in assets and "--exclude=*.xml" in assets and "--delete" not in assets
    assert documents[documents.index("--include=*/"):documents.index("--exclude=*") + 1] == [
        "--include=*/", "--include=*.html", "--include=*.htm", "--include=*.xml", "--exclude=*"]
    assert "--delete" not in documents
    assert "--delete" in delete and not any(a.startswith(("--include", "--exclude")) for a in delete)


def test_rsync_argv_dry_run_and_destinations():
    assert "--dry-run" in rsync_argv("out", "/srv/www", "delete", dry_run=True)
    assert rsync_argv("out/", "file:///srv/www%20site", "assets")[-2:] == ["out/", "/srv/www site/"]
    assert rsync_argv("out", "rsync://mirror/site/", "assets", rsync="/usr/bin/rsync")[0] == "/usr/bin/rsync"
    assert rsync_argv("out", "rsync://mirror/site/", "assets")[-1] == "rsync://mirror/site/"
    with pytest.raises(ValueError):
        rsync_argv("out", "/srv/www", "everything")
    with pytest.raises(DeployError):
        rsync_argv("out", "file://otherhost/srv/www", "assets")


def test_parse_itemized():
    out = ("cd+++++++++ 附件/\n>f+++++++++ 附件/通知.html\n<f.st...... index.html\n.f..t...... 404.html\n"
           ".d..t...... ./\n*deleting   gzdt/hebei-fulian-gaige/index.html\n*deleting   gzdt/hebei-fulian-gaige/\n"
           "cL+++++++++ link -> target\n")
    changes = parse_itemized(out)
    assert changes.sent == ("附件/通知.html", "index.html")
    assert changes.deleted == ("gzdt/hebei-fulian-gaige/index.html",)


def test_content_type_and_cache_control():
    assert content_type("index.html") == "text/html; charset=utf-8"
    assert content_type("附件/通知.HTML") == "text/html; charset=utf-8"
    assert content_type("style.3f2a9c1b.css") == "text/css; charset=utf-8"
    assert content_type("app.js") == "text/javascript; charset=utf-8"
    assert content_type("feed.xml") == "application/xml; charset=utf-8"
    assert content_type("search.json") == "application/json; charset=utf-8"
    assert content_type("logo.svg") == "image/svg+xml; charset=utf-8"
    assert content_type("media/abc123-480.webp") == "image/webp"
    assert content_type("media/abc123-480.jpg") == "image/jpeg"
    assert content_type("pagefind/wasm.zh.pagefind") == "application/octet-stream"
    assert content_type("README") == "application/octet-stream"
    assert cache_control("style.3f2a9c1b.css") == CACHE_IMMUTABLE == "public, max-age=31536000, immutable"
    assert cache_control("media/abc123-480.jpg") == CACHE_IMMUTABLE
    assert cache_control("pagefind/fragment/zh_1a2b3c4d5e.pf_fragment") == CACHE_IMMUTABLE
    assert cache_control("index.html") == CACHE_SHORT == "public, max-age=300"
    assert cache_control("feed.xml") == CACHE_SHORT
    assert cache_control("style.css") == CACHE_SHORT
    assert cache_control("附件/report-20261130.pdf") == CACHE_SHORT  # a date, not a hash


def test_upload_order_assets_first_then_documents_deepest_first():
    assert upload_order(ALL) == ["media/abc123-480.jpg", "style.3f2a9c1b.css", ARTICLE, "附件/通知.html",
                                 "404.html", "feed.xml", "index.html"]


def test_scheme_and_s3_url():
    assert [scheme_of(d) for d in ("/srv/www", "u@h:/srv", "rsync://h/m", "FILE:///x", "s3://b/p")] == [
        "rsync", "rsync", "rsync", "file", "s3"]
    assert split_s3_url("s3://site-bucket/www/") == ("site-bucket", "www/")
    assert split_s3_url("s3://site-bucket") == ("site-bucket", "")
    with pytest.raises(DeployError):
        split_s3_url("s3:///www")


def test_report_summary():
    r = DeployReport("u@h:/srv/www", "rsync", False, ("a",), ("b", "c"), ("d",))
    assert (r.uploaded_count, r.deleted_count, r.unchanged_count, r.changed) == (1, 2, 1, True)
    assert r.summary_zh() == "已发布到 u@h:/srv/www：上传 1 个，删除 2 个，未变 1 个"


# --- target resolution ------------------------------------------------------------------------------------------

TARGETS = [{"name": "production", "url": "deploy@web1:/srv/www"},
           {"name": "cdn", "url": "s3://site/www", "endpoint_url": "https://oss.example.com", "region": "cn-north-1"}]


def test_resolve_target():
    assert resolve_target(TARGETS, "production") == ("deploy@web1:/srv/www", {})
    assert resolve_target(TARGETS, "cdn") == ("s3://site/www", {"endpoint_url": "https://oss.example.com",
                                                                 "region": "cn-north-1"})
    assert resolve_target(TARGETS, None) == ("deploy@web1:/srv/www", {})  # "production" when several
    assert resolve_target(TARGETS[1:], "") == ("s3://site/www", {"endpoint_url": "https://oss.example.com",
                                                                 "region": "cn-north-1"})
    assert resolve_target(TARGETS, "/tmp/preview") == ("/tmp/preview", {})
    assert resolve_target([], "s3://other/x") == ("s3://other/x", {})
    # Config.deploy_targets holds (key, value) pairs
    assert resolve_target([(("name", "production"), ("url", "u@h:/srv"))], "production") == ("u@h:/srv", {})


def test_resolve_target_errors():
    with pytest.raises(DeployError) as exc:
        resolve_target(TARGETS, "staging")
    assert str(exc.value) == "没有名为 staging 的发布目标（已有：production、cdn）"
    with pytest.raises(DeployError) as exc:
        resolve_target([], None)
    assert "site.yaml 里没有 deploy.targets" in str(exc.value)
    with pytest.raises(DeployError) as exc:
        resolve_target([{"name": "a", "url": "/x"}, {"name": "b", "url": "/y"}], None)
    assert str(exc.value) == "site.yaml 里有多个发布目标（a、b），请用 --target 指定一个"
    with pytest.raises(DeployError) as exc:
        resolve_target([{"name": "production", "url": "/x", "region": "cn"}], "production")
    assert str(exc.value) == "site.yaml 的发布目标 production 有不认识的设置：region（这种目标不需要其他设置）"


def test_credentials_in_site_yaml_are_refused():
    targets = TARGETS + [{"name": "oss", "url": "s3://b", "aws_secret_access_key": "abc"}]
    with pytest.raises(DeployError) as exc:
        resolve_target(targets, "production")  # refused whichever target is chosen: the secret is in Git already
    assert str(exc.value).startswith("site.yaml 的发布目标 oss 含有密钥项 aws_secret_access_key：密钥不能写进 site.yaml")


# --- the build-status guard -------------------------------------------------------------------------------------

def test_build_status_guard(tmp_path):
    output = tmp_path / "output"
    output.mkdir()
    with pytest.raises(DeployError) as exc:
        check_build_status(tmp_path, output)
    assert str(exc.value) == ("找不到构建记录 .sitegen-cache/build-status.json，已拒绝发布"
                              "（请先运行 sitegen build，构建成功后再发布）")
    write_status(tmp_path, output, ok=False, errors=3)
    with pytest.raises(DeployError) as exc:
        check_build_status(tmp_path, output)
    assert str(exc.value) == "上次构建失败，有 3 个错误，已拒绝发布，网站保持原样（请修正错误并重新运行 sitegen build）"
    write_status(tmp_path, tmp_path / "elsewhere")
    with pytest.raises(DeployError) as exc:
        check_build_status(tmp_path, output)
    assert str(exc.value) == (f"上次构建输出到 {(tmp_path / 'elsewhere').resolve()}，而要发布的是 {output.resolve()}，"
                              f"已拒绝发布（请先把网站构建到 {output.resolve()}）")
    (tmp_path / ".sitegen-cache/build-status.json").write_text("{", encoding="utf-8")
    with pytest.raises(DeployError, match="构建记录 .sitegen-cache/build-status.json 无法读取"):
        check_build_status(tmp_path, output)
    write_status(tmp_path, output)
    assert check_build_status(tmp_path, output)["ok"] is True


# --- rsync to a local folder ------------------------------------------------------------------------------------

@needs_rsync
def test_rsync_passes_land_in_order(project, tmp_path):
    """Each pass on its own: assets without pages, then pages, then deletions."""
    output, host = project / "output", tmp_path / "host"
    host.mkdir()
    (host / "old.html").write_text("stale", encoding="utf-8")
    assets, documents, delete = rsync_commands(output, str(host))
    subprocess.run(assets, check=True, capture_output=True)
    assert sorted(snapshot(host)) == ["media/abc123-480.jpg", "old.html", "style.3f2a9c1b.css"]
    subprocess.run(documents, check=True, capture_output=True)
    assert sorted(snapshot(host)) == sorted(ALL + ("old.html",))
    subprocess.run(delete, check=True, capture_output=True)
    assert snapshot(host) == snapshot(output)


@needs_rsync
def test_rsync_deploy_counts_and_dry_run(project, tmp_path):
    output, host = project / "output", tmp_path / "host"
    dry = deploy(output, str(host), dry_run=True, project_dir=project)
    assert dry.dry_run and dry.uploaded == ALL and dry.deleted == ()
    assert not host.exists() or snapshot(host) == {}

    first = deploy(output, str(host), project_dir=project)
    assert first.uploaded == ALL and first.unchanged == ()
    assert snapshot(host) == snapshot(output)

    second = deploy(output, f"file://{host}", project_dir=project)
    assert second.uploaded == () and second.deleted == () and second.unchanged == ALL

    # same bytes, new mtime: --checksum sends nothing
    (output / "index.html").touch()
    assert deploy(output, str(host), project_dir=project).uploaded == ()

    shutil.rmtree(output / "gzdt")
    write_output(output, with_article=False)
    write_status(project, output)
    before = snapshot(host)
    dry = deploy(output, str(host), dry_run=True, project_dir=project)
    assert dry.uploaded == ("feed.xml", "index.html") and dry.deleted == (ARTICLE,)
    assert dry.summary_zh() == f"试运行（未做任何改动）到 {host}：上传 2 个，删除 1 个，未变 4 个"
    assert snapshot(host) == before

    real = deploy(output, str(host), project_dir=project)
    assert (real.uploaded, real.deleted) == (dry.uploaded, dry.deleted)
    assert snapshot(host) == snapshot(output)
    assert not (host / "gzdt/hebei-fulian-gaige").exists() or not any((host / "gzdt").rglob("*.html"))


@needs_rsync
def test_refused_deploys_touch_nothing(project, tmp_path):
    output, host = project / "output", tmp_path / "host"
    deploy(output, str(host), project_dir=project)
    before = snapshot(host)
    (output / "index.html").write_text("broken", encoding="utf-8")
    write_status(project, output, ok=False, errors=1, strict=True)
    with pytest.raises(DeployError, match="^上次构建失败，有 1 个错误，已拒绝发布"):
        deploy(output, str(host), project_dir=project)
    (project / ".sitegen-cache/build-status.json").unlink()
    with pytest.raises(DeployError, match="^找不到构建记录"):
        deploy(output, str(host), project_dir=project)
    assert snapshot(host) == before

    write_status(project, output)
    for unsafe in (str(project), str(output), str(output / "sub"), "/"):
        with pytest.raises(DeployError, match="不安全"):
            deploy(output, unsafe, project_dir=project)
    assert sorted(snapshot(project)) == sorted(["output/" + p for p in ALL] + [".sitegen-cache/build-status.json"])
    with pytest.raises(DeployError, match="^不支持的发布目标 ftp://h/x"):
        deploy(output, "ftp://h/x", project_dir=project)


@needs_rsync
def test_rsync_failure_is_a_deploy_error(project, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(DeployError) as exc:
        deploy(project / "output", str(blocker / "www"), project_dir=project)
    assert str(exc.value) == f"无法创建发布目录 {blocker / 'www'}：Not a directory（请检查路径和写权限）"
    with pytest.raises(DeployError, match="^rsync 失败（第 1 步“上传图片、样式等资源”，退出码 10）：.*127.0.0.1"):
        deploy(project / "output", "rsync://127.0.0.1:1/site", project_dir=project)


# --- S3 against moto --------------------------------------------------------------------------------------------

@pytest.fixture
def s3(monkeypatch, tmp_path):
    """A moto S3 server on 127.0.0.1 with bucket ``site``; yields ``(client, endpoint_url)``. Credentials come from
    the environment only, as in CI."""
    boto3 = pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket="site")
        yield client, endpoint
    finally:
        server.stop()


def _objects(client, prefix="www/") -> dict[str, dict]:
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="site").get("Contents", [])]
    return {k[len(prefix):]: client.head_object(Bucket="site", Key=k) for k in keys if k.startswith(prefix)}


def test_s3_deploy(project, s3):
    client, endpoint = s3
    output = project / "output"
    opts = {"endpoint_url": endpoint, "region": "us-east-1"}
    client.put_object(Bucket="site", Key="www/old/page.html", Body=b"stale")
    client.put_object(Bucket="site", Key="elsewhere/keep.txt", Body=b"not ours")

    dry = deploy(output, "s3://site/www", dry_run=True, project_dir=project, s3_options=opts)
    assert dry.uploaded == ALL and dry.deleted == ("old/page.html",)
    assert set(_objects(client)) == {"old/page.html"}

    report = deploy(output, "s3://site/www", project_dir=project, s3_options=opts)
    assert report.method == "s3"
    assert report.uploaded == ALL and report.deleted == ("old/page.html",) and report.unchanged == ()
    objects = _objects(client)
    assert set(objects) == set(ALL)
    assert client.head_object(Bucket="site", Key="elsewhere/keep.txt")["ContentLength"] == 8
    expected = {
        "index.html": ("text/html; charset=utf-8", CACHE_SHORT),
        "附件/通知.html": ("text/html; charset=utf-8", CACHE_SHORT),
        "feed.xml": ("application/xml; charset=utf-8", CACHE_SHORT),
        "style.3f2a9c1b.css": ("text/css; charset=utf-8", CACHE_IMMUTABLE),
        "media/abc123-480.jpg": ("image/jpeg", CACHE_IMMUTABLE),
    }
    for rel, (ctype, cache) in expected.items():
        assert (objects[rel]["ContentType"], objects[rel]["CacheControl"]) == (ctype, cache), rel
    for rel in ALL:
        data = (output / rel).read_bytes()
        assert objects[rel]["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert client.get_object(Bucket="site", Key="www/" + rel)["Body"].read() == data

    again = deploy(output, "s3://site/www/", project_dir=project, s3_options=opts)
    assert again.uploaded == () and again.deleted == () and again.unchanged == ALL

    # the article deleted and the site rebuilt
    shutil.rmtree(output / "gzdt")
    write_output(output, with_article=False)
    write_status(project, output)
    after = deploy(output, "s3://site/www", project_dir=project, s3_options=opts)
    assert after.uploaded == ("feed.xml", "index.html") and after.deleted == (ARTICLE,)
    assert set(_objects(client)) == set(ALL) - {ARTICLE}


def test_s3_same_size_change_and_stale_headers_are_uploaded(project, s3):
    client, endpoint = s3
    output = project / "output"
    opts = {"endpoint_url": endpoint}
    deploy(output, "s3://site", project_dir=project, s3_options=opts)
    # same size, different bytes: found by the stored sha256, not by size
    css = output / "style.3f2a9c1b.css"
    css.write_text(css.read_text(encoding="utf-8").replace("18", "20"), encoding="utf-8")
    # an object whose headers were changed by hand is put right
    client.copy_object(Bucket="site", Key="404.html", CopySource={"Bucket": "site", "Key": "404.html"},
                       MetadataDirective="REPLACE", ContentType="text/plain", Metadata={})
    report = deploy(output, "s3://site", project_dir=project, s3_options=opts)
    assert report.uploaded == ("404.html", "style.3f2a9c1b.css")
    assert client.head_object(Bucket="site", Key="404.html")["ContentType"] == "text/html; charset=utf-8"


def test_s3_without_credentials_or_bucket(project, s3, monkeypatch):
    client, endpoint = s3
    with pytest.raises(DeployError, match="^S3 请求失败（NoSuchBucket）"):
        deploy(project / "output", "s3://nobucket/www", project_dir=project, s3_options={"endpoint_url": endpoint})
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(DeployError, match="^找不到 S3 凭据"):
        deploy(project / "output", "s3://site/www", project_dir=project, s3_options={"endpoint_url": endpoint})


def test_s3_without_boto3(project, monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if boto3 were not installed
    with pytest.raises(DeployError) as exc:
        deploy(project / "output", "s3://site/www", project_dir=project)
    assert str(exc.value) == "发布到 S3 需要 boto3，当前环境没有安装（请运行 pip install boto3）"


def test_deploy_refuses_a_preview_build(tmp_path):
    """A build with drafts or future articles (what `sitegen serve` writes) is never published."""
    from conftest import make_site

    from sitegen import build as buildmod
    from sitegen import config as configmod

    root = make_site(tmp_path / "site", {"content/a.md": "---\ntitle: 草稿\ndate: 2024-03-05\ncategory: 工作动态\n"
                                                         "draft: true\n---\n\n正文。\n"})
    config = configmod.load(root)
    buildmod.build(config, drafts=True)
    with pytest.raises(DeployError) as exc:
        check_build_status(root, root / "output")
    assert str(exc.value) == ("上次构建是包含草稿或定时发布文章的预览（sitegen serve、--drafts 或 --future），已拒绝发布"
                              "（请先运行 sitegen build --strict）")
    buildmod.build(config, strict=True)
    assert check_build_status(root, root / "output")["preview"] is False


@needs_rsync
def test_cli_deploy_prints_the_summary_once_after_the_listing(tmp_path):
    """`sitegen deploy DEST [--dry-run]` ends with one summary line (it used to be printed twice)."""
    from conftest import make_site, run_cli

    root = make_site(tmp_path / "site", {"content/a.md": "---\ntitle: 文章\ndate: 2024-03-05\ncategory: 工作动态\n"
                                                         "---\n\n正文。\n"})
    host = tmp_path / "host"
    assert run_cli(["build", root, "-q"])[0] == 0
    code, out, err = run_cli(["deploy", host, "--dir", root, "--dry-run"])
    assert code == 0, err
    lines = out.splitlines()
    summaries = [line for line in lines if line.startswith("试运行（未做任何改动）到")]
    assert len(summaries) == 1 and lines[-1] == summaries[0], out
    assert "  上传 index.html" in lines
    code, out, err = run_cli(["deploy", host, "--dir", root])
    assert code == 0, err
    assert [line for line in out.splitlines() if line.startswith("已发布到")] == [out.splitlines()[-1]], out
    assert (host / "index.html").is_file()


@needs_rsync
@pytest.mark.parametrize("argv, message", [
    (["--target", "staging"], "错误：没有名为 staging 的发布目标（已有：production）"),
    (["ftp://example.org/www"], "错误：不支持的发布目标 ftp://example.org/www"),
    (["s3://"], "错误：S3 目标格式不对：s3://（应为 s3://桶名/前缀）"),
])
def test_cli_deploy_target_mistakes_are_usage_errors(tmp_path, argv, message):
    """A wrong target is a usage or configuration error: exit code 2 as the README says, not 1 (a failed deploy)."""
    from conftest import DEFAULT_SITE_YAML, make_site, run_cli

    root = make_site(tmp_path / "site", {
        "site.yaml": DEFAULT_SITE_YAML + "deploy: {targets: [{name: production, url: /srv/never-used}]}\n",
        "content/a.md": "---\ntitle: 文章\ndate: 2024-03-05\ncategory: 工作动态\n---\n\n正文。\n"})
    assert run_cli(["build", root, "-q"])[0] == 0
    code, out, err = run_cli(["deploy", *argv, "--dir", root])
    assert (code, err.startswith(message)) == (2, True), err
