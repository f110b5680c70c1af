"""Publishing ``output/`` to ``s3://bucket/prefix`` (AWS S3 or an S3-compatible store) through boto3: only objects
whose bytes, ``Content-Type`` or ``Cache-Control`` changed are uploaded, assets before documents and documents
deepest first, so a reader never gets a page that links to something not yet there; objects the build no longer
produces are deleted last."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from sitegen.hosting import DeployReport, cache_control, content_type, is_document, local_files
from sitegen.errors import DeployError, DeployTargetError
from sitegen.files import sha256_file

logger = logging.getLogger(__name__)


def split_s3_url(dest: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix/")``; ``s3://bucket`` → ``("bucket", "")``.
    Raises :class:`DeployTargetError` when the bucket is missing."""
    parts = urlsplit(dest)
    if parts.scheme.lower() != "s3" or not parts.netloc:
        raise DeployTargetError(f"S3 目标格式不对：{dest}（应为 s3://桶名/前缀）")
    prefix = parts.path.strip("/")
    return parts.netloc, (prefix + "/" if prefix else "")


@dataclass(frozen=True, slots=True)
class S3Object:
    """One object to publish: ``relpath`` under the output folder, its ``key`` in the bucket, ``size`` in bytes,
    hex ``sha256``, and the ``content_type``/``cache_control`` it is stored with."""

    relpath: str
    key: str
    size: int
    sha256: str
    content_type: str
    cache_control: str


def upload_order(relpaths: Iterable[str]) -> list[str]:
    """Paths in the order to upload them: assets first, then documents deepest first (articles before the
    listings and the home page that link to them), each group sorted by name."""
    paths = sorted(relpaths)
    assets = [p for p in paths if not is_document(p)]
    docs = sorted((p for p in paths if is_document(p)), key=lambda p: (-p.count("/"), p))
    return assets + docs


def _s3_client(options: Mapping):
    try:
        import boto3
        from botocore.config import Config as BotoConfig
    except ImportError:
        raise DeployError("发布到 S3 需要 boto3，当前环境没有安装（请运行 pip install boto3）") from None
    session = boto3.session.Session(profile_name=options.get("profile") or None,
                                    region_name=options.get("region") or None)
    return session.client("s3", endpoint_url=options.get("endpoint_url") or None,
                          config=BotoConfig(retries={"max_attempts": 5, "mode": "standard"},
                                            max_pool_connections=16))


class S3Publisher:
    """One publish run to ``bucket``/``prefix`` with a boto3 ``client``: what is local, what is remote, what to
    upload and delete, and the uploads themselves on ``workers`` threads."""

    def __init__(self, client, dest: str, output_dir: Path, workers: int):
        self.client, self.output_dir, self.workers = client, output_dir, workers
        self.bucket, self.prefix = split_s3_url(dest)
        self.local = {rel: S3Object(rel, self.prefix + rel, (output_dir / rel).stat().st_size,
                                    sha256_file(output_dir / rel), content_type(rel), cache_control(rel))
                      for rel in local_files(output_dir)}
        self.remote: dict[str, int] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                self.remote[obj["Key"]] = obj["Size"]

    def is_current(self, obj: S3Object) -> bool:
        """Whether the remote object has the local size, ``sha256`` metadata, type and cache policy."""
        if self.remote.get(obj.key) != obj.size:
            return False
        head = self.client.head_object(Bucket=self.bucket, Key=obj.key)
        return (head.get("Metadata", {}).get("sha256") == obj.sha256 and head.get("ContentType") == obj.content_type
                and head.get("CacheControl") == obj.cache_control)

    def upload(self, rel: str) -> None:
        """Upload one local file with its metadata."""
        obj = self.local[rel]
        self.client.upload_file(str(self.output_dir / rel), self.bucket, obj.key, ExtraArgs={
            "ContentType": obj.content_type, "CacheControl": obj.cache_control, "Metadata": {"sha256": obj.sha256}})

    def delete(self, keys: list[str]) -> None:
        """Delete ``keys``, 1,000 per request (the S3 limit). Raises :class:`DeployError` on a refused key."""
        for i in range(0, len(keys), 1000):
            resp = self.client.delete_objects(Bucket=self.bucket, Delete={
                "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
            if resp.get("Errors"):
                e = resp["Errors"][0]
                raise DeployError(f"S3 删除失败：{e.get('Key')}：{e.get('Message')}")

    def run(self, dry_run: bool, log: Callable[[str], None]) -> DeployReport:
        """Compare, then (unless ``dry_run``) upload assets, documents deepest level first, and delete."""
        with ThreadPoolExecutor(self.workers) as pool:
            current = dict(zip(self.local, pool.map(self.is_current, self.local.values())))
            to_upload = [rel for rel in upload_order(self.local) if not current[rel]]
            wanted = {o.key for o in self.local.values()}
            stale = sorted(k for k in self.remote if k not in wanted)
            if not dry_run:
                assets = [r for r in to_upload if not is_document(r)]
                docs = [r for r in to_upload if is_document(r)]
                if assets:
                    log(f"上传 {len(assets)} 个资源文件…")
                    list(pool.map(self.upload, assets))
                for depth in sorted({r.count("/") for r in docs}, reverse=True):  # a listing never precedes its articles
                    group = [r for r in docs if r.count("/") == depth]
                    log(f"上传 {len(group)} 个网页和订阅（第 {depth + 1} 层目录）…")
                    list(pool.map(self.upload, group))
                if stale:
                    log(f"删除 {len(stale)} 个已不存在的文件…")
                    self.delete(stale)
        deleted = tuple(k[len(self.prefix):] for k in stale)
        return DeployReport(f"s3://{self.bucket}/{self.prefix}", "s3", dry_run, tuple(sorted(to_upload)), deleted,
                            tuple(sorted(r for r in self.local if current[r])))


def publish_s3(output_dir: Path, dest: str, *, dry_run: bool = False, options: Mapping | None = None,
               log: Callable[[str], None] = logger.info, workers: int = 8) -> DeployReport:
    """Publish ``output_dir`` to ``s3://bucket/prefix`` through boto3 and report what changed.

    Remote objects under the prefix are listed; an object is unchanged when its size, its ``sha256`` user metadata,
    its ``Content-Type`` (:func:`sitegen.hosting.content_type`) and its ``Cache-Control`` all match the local file.
    Changed objects are uploaded in :func:`upload_order`, then objects the build no longer produces are deleted.
    ``options``: ``endpoint_url`` (S3-compatible stores), ``region``, ``profile``; credentials come from boto3's
    standard chain only. ``workers`` threads upload in parallel within a group.

    Raises :class:`DeployError` when boto3 is missing, no credentials are found, or a request fails."""
    client = _s3_client(dict(options or {}))
    bucket = split_s3_url(dest)[0]
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        report = S3Publisher(client, dest, Path(output_dir), workers).run(dry_run, log)
    except NoCredentialsError:
        raise DeployError("找不到 S3 凭据，无法发布（请设置环境变量 AWS_ACCESS_KEY_ID 和 AWS_SECRET_ACCESS_KEY，"
                          "或 AWS_PROFILE / ~/.aws/credentials；CI 中请从密钥库注入）") from None
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise DeployError(f"S3 请求失败（{err.get('Code', '?')}）：{err.get('Message', exc)}"
                          f"（请检查桶名 {bucket}、endpoint_url 和访问权限）") from None
    except S3UploadFailedError as exc:
        raise DeployError(f"S3 上传失败：{exc}（请检查桶名 {bucket} 和写权限）") from None
    except BotoCoreError as exc:
        raise DeployError(f"S3 连接失败：{exc}（请检查 endpoint_url 和网络）") from None
    return DeployReport(dest, "s3", dry_run, report.uploaded, report.deleted, report.unchanged)
