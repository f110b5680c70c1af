"""Publish a built site: publishers keyed by the destination's URL scheme.

``deploy(output_dir, dest, ...)`` refuses to run unless the last build of the project succeeded for that very output
folder (``.sitegen-cache/build-status.json``, written by :mod:`sitegen.build`), then hands the folder to the
publisher for the destination's scheme:

==========================================  ==========================================================
destination                                 publisher
==========================================  ==========================================================
``/srv/www``, ``user@host:/srv/www``,       :func:`rsync_commands` (``rsync --checksum`` over SSH or to
``rsync://host/module/path``, ``file://``   a local folder, run by :func:`publish_rsync`)
``s3://bucket/prefix``                      :func:`publish_s3` (boto3, any S3-compatible store)
==========================================  ==========================================================

Both publishers keep readers from ever seeing a page whose images or styles are not there yet: assets are uploaded
first, then the documents that link to them (HTML, feeds, sitemap), and stale files are removed last. Both upload
only what changed (rsync compares checksums; S3 compares a SHA-256 stored in each object's metadata, because an ETag
is not a content hash for multipart uploads) and both support a dry run that lists what would change.

The table of publishers follows Lektor's ``publisher.py`` (publishers keyed by scheme, commands built as argv and
testable without running them). Credentials never come from ``site.yaml``: rsync uses the SSH agent/keys of the
user running it (``RSYNC_RSH`` to change the ssh command); S3 uses boto3's standard chain (environment variables
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, ``~/.aws/config``, instance roles).
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping
from urllib.parse import unquote, urlsplit

from sitegen import lifetime
from sitegen.deploy_s3 import publish_s3, split_s3_url, upload_order
from sitegen.errors import DeployError, DeployTargetError
from sitegen.hosting import (CACHE_IMMUTABLE, CACHE_SHORT, DOCUMENT_PATTERNS, DeployReport, cache_control,
                             content_type, is_document, is_fingerprinted, local_files)

logger = logging.getLogger(__name__)

#: Where the build records its outcome, relative to the project directory.
BUILD_STATUS_PATH = ".sitegen-cache/build-status.json"

# Keys that hold secrets; a deploy target in site.yaml must never carry one (site.yaml is committed to Git).
_SECRET_KEY = re.compile(r"secret|password|passwd|token|access_key|private_key|credential", re.I)
_S3_OPTIONS = {"endpoint_url", "region", "profile"}


# --- the guard ----------------------------------------------------------------------------------------------------

def check_build_status(project_dir: Path, output_dir: Path) -> dict:
    """Read ``<project_dir>/.sitegen-cache/build-status.json`` and return it when the last build succeeded and
    wrote ``output_dir``.

    The file is ``{"ok": bool, "errors": int, "strict": bool, "preview": bool, "output": "<absolute dir>",
    "finished": "<ISO 8601>"}``.
    Raises :class:`DeployError` (message in Chinese) when it is missing or unreadable, when ``ok`` is false, when
    it records a preview build (drafts or future articles included), or when its ``output`` is not ``output_dir``.
    """
    path = Path(project_dir) / BUILD_STATUS_PATH
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(f"找不到构建记录 {BUILD_STATUS_PATH}，已拒绝发布（请先运行 sitegen build，构建成功后再发布）")
    except (OSError, ValueError) as exc:
        raise DeployError(f"构建记录 {BUILD_STATUS_PATH} 无法读取（{exc}），已拒绝发布（请重新运行 sitegen build）")
    if not isinstance(status, dict) or not isinstance(status.get("ok"), bool) or "output" not in status:
        raise DeployError(f"构建记录 {BUILD_STATUS_PATH} 格式不对，已拒绝发布（请重新运行 sitegen build）")
    if not status["ok"]:
        errors = status.get("errors", 0)
        raise DeployError(f"上次构建失败，有 {errors} 个错误，已拒绝发布，网站保持原样"
                          f"（请修正错误并重新运行 sitegen build）")
    if status.get("preview"):
        raise DeployError("上次构建是包含草稿或定时发布文章的预览（sitegen serve、--drafts 或 --future），已拒绝发布"
                          "（请先运行 sitegen build --strict）")
    built = Path(str(status["output"])).resolve()
    wanted = Path(output_dir).resolve()
    if built != wanted:
        raise DeployError(f"上次构建输出到 {built}，而要发布的是 {wanted}，已拒绝发布"
                          f"（请先把网站构建到 {wanted}）")
    return status


# --- target resolution ------------------------------------------------------------------------------------------

def scheme_of(dest: str) -> str:
    """The publisher key of a destination: the URL scheme in lower case (``"s3"``, ``"file"``, ``"rsync"``), or
    ``"rsync"`` for a plain path or an scp-style ``user@host:/path``."""
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", dest)
    return m.group(1).lower() if m else "rsync"


def resolve_target(targets: Iterable, name_or_dest: str | None) -> tuple[str, dict]:
    """Pick the destination URL and its options from ``site.yaml``'s ``deploy.targets``.

    ``targets`` is a list of mappings ``{"name": str, "url": str, **options}``, or of ``(key, value)`` pair tuples
    as ``Config.deploy_targets`` holds them (options for S3: ``endpoint_url``, ``region``, ``profile``). ``name_or_dest`` is a target name, a destination itself (a path, ``user@host:/path``
    or a URL; returned with no options), or ``None``/``""`` for the only target or the one named ``production``.
    Returns ``(url, options)``.

    Raises :class:`DeployTargetError` (exit code 2) when a target carries a credential (any key like ``aws_secret_access_key``,
    ``password``, ``token``: secrets belong in the environment or the CI secret store, not in Git), when the name is
    unknown, or when an option is not known for the target's scheme.
    """
    targets = [dict(t) for t in targets or ()]
    for t in targets:
        for key in t:
            if _SECRET_KEY.search(str(key)):
                raise DeployTargetError(
                    f"site.yaml 的发布目标 {t.get('name', '?')} 含有密钥项 {key}：密钥不能写进 site.yaml"
                    f"（它会随 Git 仓库公开）。请删掉这一项，改用环境变量（AWS_ACCESS_KEY_ID、AWS_SECRET_ACCESS_KEY）、"
                    f"~/.aws/credentials 或 CI 的密钥库")
    names = [str(t.get("name", "")) for t in targets]
    chosen = None
    if not name_or_dest:
        if len(targets) == 1:
            chosen = targets[0]
        elif "production" in names:
            chosen = targets[names.index("production")]
        elif not targets:
            raise DeployTargetError("没有指定发布目标：site.yaml 里没有 deploy.targets"
                                    "（请写上 deploy: {targets: [{name: production, url: \"user@host:/srv/www\"}]}，"
                                    "或在命令行给出目标，如 sitegen deploy user@host:/srv/www）")
        else:
            raise DeployTargetError(f"site.yaml 里有多个发布目标（{'、'.join(names)}），请用 --target 指定一个")
    elif name_or_dest in names:
        chosen = targets[names.index(name_or_dest)]
    elif "/" in name_or_dest or ":" in name_or_dest or name_or_dest in (".", ".."):
        return name_or_dest, {}
    else:
        known = f"（已有：{'、'.join(names)}）" if names else "（site.yaml 里没有 deploy.targets）"
        raise DeployTargetError(f"没有名为 {name_or_dest} 的发布目标{known}")
    url = chosen.get("url")
    if not url or not isinstance(url, str):
        raise DeployTargetError(f"site.yaml 的发布目标 {chosen.get('name', '?')} 缺少 url（如 user@host:/srv/www 或 s3://桶/前缀）")
    options = {k: v for k, v in chosen.items() if k not in ("name", "url")}
    allowed = _S3_OPTIONS if scheme_of(url) == "s3" else set()
    unknown = sorted(set(options) - allowed)
    if unknown:
        hint = f"可用的有：{'、'.join(sorted(allowed))}" if allowed else "这种目标不需要其他设置"
        raise DeployTargetError(f"site.yaml 的发布目标 {chosen.get('name', '?')} 有不认识的设置：{'、'.join(unknown)}（{hint}）")
    return url, options


# --- the entry point --------------------------------------------------------------------------------------------

def deploy(output_dir: Path, dest: str, *, dry_run: bool = False, project_dir: Path,
           s3_options: Mapping | None = None, log: Callable[[str], None] | None = None) -> DeployReport:
    """Publish ``output_dir`` to ``dest`` after checking the project's last build.

    ``dest``: a local path, ``file:///path``, ``user@host:/path``, ``rsync://host/module/path`` or
    ``s3://bucket/prefix``. ``project_dir`` holds ``.sitegen-cache/build-status.json`` (see
    :func:`check_build_status`). ``s3_options`` (``endpoint_url``, ``region``, ``profile``) apply to S3 only.
    ``log`` receives progress lines in Chinese (default: this module's logger at INFO); the closing summary is the
    caller's to print (:meth:`DeployReport.summary_zh`), so it appears once, after any dry-run listing. With
    ``dry_run`` nothing is changed at the destination and the report lists what would change.

    Raises :class:`DeployError` when the build status refuses the deploy or the transfer fails, and its subclass
    :class:`DeployTargetError` (exit code 2) when the destination is unsafe, malformed or of an unknown kind. A
    refused deploy touches nothing.
    """
    log = log or logger.info
    output_dir = Path(output_dir)
    check_build_status(Path(project_dir), output_dir)
    if not output_dir.is_dir():
        raise DeployError(f"输出目录 {output_dir} 不存在，无法发布（请先运行 sitegen build）")
    scheme = scheme_of(dest)
    publisher = PUBLISHERS.get(scheme)
    if publisher is None:
        raise DeployTargetError(f"不支持的发布目标 {dest}（支持：本地路径、user@host:/路径、rsync://、file://、s3://）")
    if scheme == "s3":
        return publisher(output_dir, dest, dry_run=dry_run, options=dict(s3_options or {}), log=log)
    return publisher(output_dir, dest, dry_run=dry_run, log=log)


# --- rsync ------------------------------------------------------------------------------------------------------

#: The three rsync passes, in order: assets without deleting, then the documents, then deleting stale files.
RSYNC_PASSES = ("assets", "documents", "delete")


def rsync_destination(dest: str) -> str:
    """The rsync form of ``dest`` with a trailing slash (copy the folder's contents): ``file:///srv/www`` →
    ``/srv/www/``, ``user@host:/srv/www`` → ``user@host:/srv/www/``, ``rsync://h/m/p`` unchanged but for the slash."""
    if scheme_of(dest) == "file":
        parts = urlsplit(dest)
        if parts.netloc not in ("", "localhost"):
            raise DeployTargetError(f"file:// 目标只能是本机路径：{dest}（远程主机请用 user@host:/路径）")
        dest = unquote(parts.path)
    return dest if dest.endswith("/") else dest + "/"


def rsync_argv(source: Path | str, dest: str, pass_: str, *, dry_run: bool = False,
               rsync: str = "rsync") -> list[str]:
    """The argv of one rsync pass (see :data:`RSYNC_PASSES`); pure, runs nothing.

    Every pass compares checksums (``--checksum``: equal size and time are not trusted), copies recursively with
    times and web-readable permissions (``--chmod=D755,F644``), prints one itemized line per change (``%i %n``,
    high-bit characters unescaped so Chinese names read back as UTF-8). ``"assets"`` sends everything but the
    documents (:data:`DOCUMENT_PATTERNS`); ``"documents"`` sends only those; both use ``--delay-updates`` so a pass
    lands nearly at once. ``"delete"`` syncs the whole tree with ``--delete`` to remove what the build no longer
    produces. ``dry_run`` adds ``--dry-run``. Raises ``ValueError`` for an unknown pass.
    """
    if pass_ not in RSYNC_PASSES:
        raise ValueError(f"unknown rsync pass {pass_!r}; expected one of {RSYNC_PASSES}")
    argv = [rsync, "--recursive", "--links", "--times", "--checksum", "--perms", "--chmod=D755,F644",
            "--8-bit-output", "--itemize-changes", "--out-format=%i %n", "--timeout=300"]
    if dry_run:
        argv.append("--dry-run")
    if pass_ == "assets":
        argv.append("--delay-updates")
        argv += [f"--exclude={p}" for p in DOCUMENT_PATTERNS]
    elif pass_ == "documents":
        argv += ["--delay-updates", "--include=*/"]
        argv += [f"--include={p}" for p in DOCUMENT_PATTERNS]
        argv += ["--exclude=*", "--prune-empty-dirs"]
    else:
        argv.append("--delete")
    src = str(source)
    argv += ["--", src if src.endswith("/") else src + "/", rsync_destination(dest)]
    return argv


def rsync_commands(source: Path | str, dest: str, *, dry_run: bool = False, rsync: str = "rsync") -> list[list[str]]:
    """The three argvs of a deploy, in the order they run (:data:`RSYNC_PASSES`)."""
    return [rsync_argv(source, dest, p, dry_run=dry_run, rsync=rsync) for p in RSYNC_PASSES]


@dataclass(frozen=True, slots=True)
class RsyncChanges:
    """Files named in rsync's itemized output: ``sent`` (content transferred) and ``deleted``, relative paths."""

    sent: tuple[str, ...]
    deleted: tuple[str, ...]


def parse_itemized(output: str) -> RsyncChanges:
    """Read rsync ``--out-format='%i %n'`` lines (format in rsync(1), ``--itemize-changes``): ``>f…``/``<f…`` are
    files whose content was sent, ``*deleting`` removed entries; directories (names ending in ``/``), links and
    attribute-only updates (``.f..t……``) are ignored."""
    sent, deleted = [], []
    for line in output.splitlines():
        if len(line) < 13:
            continue
        code, name = line[:11], line[12:]
        if code.startswith("*deleting"):
            if not name.endswith("/"):
                deleted.append(name)
        elif code[0] in "<>" and code[1] == "f":
            sent.append(name)
    return RsyncChanges(tuple(sent), tuple(deleted))


def is_local_dest(dest: str) -> bool:
    """True for a destination on this machine: a path or ``file://`` URL (rsync's rule: a colon before any slash
    means a remote host, as in ``user@host:/srv/www``; ``rsync://`` and ``s3://`` are remote)."""
    scheme = scheme_of(dest)
    return scheme == "file" or (scheme == "rsync" and not re.match(r"^[^/]*:", dest))


def _check_local_dest(output_dir: Path, dest: str) -> None:
    """Refuse local destinations where ``--delete`` would do harm: the output folder itself, a folder containing
    it (the project), the filesystem root or the home folder."""
    if not is_local_dest(dest):
        return
    target = Path(rsync_destination(dest)).expanduser().resolve()
    out = output_dir.resolve()
    if target == out or out.is_relative_to(target) or target.is_relative_to(out) or target in (
            Path("/"), Path.home().resolve()):
        raise DeployTargetError(f"发布目标 {dest} 不安全：它是输出目录本身、输出目录的上级（如项目目录）、其中的子目录、"
                                f"根目录或主目录；发布会删除那里的其他文件（请换一个专门放网站的目录）")


def publish_rsync(output_dir: Path, dest: str, *, dry_run: bool = False,
                  log: Callable[[str], None] = logger.info) -> DeployReport:
    """Run the three rsync passes of :func:`rsync_commands` from ``output_dir`` to ``dest`` and report what changed.

    Raises :class:`DeployError` when rsync is not installed or exits non-zero (its last error lines quoted); passes
    already run stay applied, which leaves the host consistent (assets before documents, deletions last).
    """
    _check_local_dest(output_dir, dest)
    rsync = shutil.which("rsync")
    if rsync is None:
        raise DeployError("找不到 rsync 命令，无法发布（请安装 rsync，如 apt-get install rsync）")
    if not dry_run and is_local_dest(dest):
        try:
            Path(rsync_destination(dest)).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeployError(f"无法创建发布目录 {dest}：{exc.strerror}（请检查路径和写权限）") from None
    sent: list[str] = []
    deleted: list[str] = []
    env = dict(os.environ, LC_ALL="C.UTF-8")
    for pass_, argv in zip(RSYNC_PASSES, rsync_commands(output_dir, dest, dry_run=dry_run, rsync=rsync)):
        log(f"rsync（{_PASS_ZH[pass_]}）…")
        logger.debug("运行 %s", argv)
        proc = subprocess.run(argv, capture_output=True, env=env, preexec_fn=lifetime.preexec())  # dies with us
        stdout = proc.stdout.decode("utf-8", "surrogateescape")
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
            raise DeployError(f"rsync 失败（第 {RSYNC_PASSES.index(pass_) + 1} 步“{_PASS_ZH[pass_]}”，退出码 "
                              f"{proc.returncode}）：{' / '.join(err) or '无输出'}"
                              f"（请检查目标地址、SSH 密钥和远程目录的写权限）")
        changes = parse_itemized(stdout)
        if pass_ != "delete" or not dry_run:
            sent += changes.sent  # a dry "delete" pass repeats the sends of the two passes before it
        deleted += changes.deleted
    files = local_files(output_dir)
    uploaded = sorted(set(sent))
    unchanged = sorted(set(files) - set(uploaded))
    report = DeployReport(dest, "rsync", dry_run, tuple(uploaded), tuple(sorted(set(deleted))), tuple(unchanged))
    return report


_PASS_ZH = {"assets": "上传图片、样式等资源", "documents": "上传网页和订阅", "delete": "删除已不存在的文件"}


# --- the web-server example -------------------------------------------------------------------------------------

def nginx_config(root: Path | str, *, listen: str = "80", server_name: str = "_") -> str:
    """The nginx example shipped as ``sitegen/nginx.conf`` (a ``map`` and a ``server`` block, read inside
    ``http {}``) with its ``listen``, ``server_name`` and ``root`` lines set: ``root`` an absolute folder,
    ``listen`` as nginx takes it (``"80"``, ``"127.0.0.1:8080"``). Raises ``ValueError`` for a relative root or a
    value containing ``;``, braces, quotes or a newline."""
    from importlib.resources import files

    root = str(root)
    if not root.startswith("/"):
        raise ValueError(f"nginx root must be an absolute path, got {root!r}")
    for value in (root, listen, server_name):
        if re.search(r"[;{}\n\"'\s]", value):
            raise ValueError(f"unsafe value for an nginx directive: {value!r}")
    text = files("sitegen").joinpath("nginx.conf").read_text(encoding="utf-8")
    for directive, value in (("listen", listen), ("server_name", server_name), ("root", root)):
        text, n = re.subn(rf"^(\s*){directive} [^;]*;", lambda m: f"{m.group(1)}{directive} {value};", text,
                          count=1, flags=re.M)
        if n != 1:
            raise ValueError(f"sitegen/nginx.conf has no {directive} line")
    return text


#: The publishers keyed by scheme (:func:`scheme_of`); each takes ``(output_dir, dest, *, dry_run, log, …)``.
PUBLISHERS: dict[str, Callable[..., DeployReport]] = {
    "rsync": publish_rsync,
    "file": publish_rsync,
    "s3": publish_s3,
}

__all__ = ["BUILD_STATUS_PATH", "CACHE_IMMUTABLE", "CACHE_SHORT", "DOCUMENT_PATTERNS", "DeployReport", "PUBLISHERS",
           "cache_control", "check_build_status", "content_type", "deploy", "is_document", "is_fingerprinted",
           "local_files", "nginx_config", "parse_itemized", "publish_rsync", "publish_s3", "resolve_target",
           "rsync_argv", "rsync_commands", "scheme_of", "split_s3_url", "upload_order"]
