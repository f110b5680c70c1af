"""The photo pipeline's cache in ``.sitegen-cache/images/``: the key of a source (its bytes' hash, the settings that
change output and :data:`~sitegen.imagework.PIPELINE_VERSION`), the entry folder of its variants, the sidecar
recording them, and the remembered hashes of source files (re-hashed only when their size or mtime changes).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from sitegen.config import ImageSettings
from sitegen.imagework import PIPELINE_VERSION, variant_file, write_atomic

log = logging.getLogger(__name__)

_KEY_LEN = 10


def settings_fingerprint(settings: ImageSettings) -> str:
    """A hex digest of the settings that change output bytes (not ``max_pixels`` nor ``timeout``)."""
    data = asdict(settings)
    data.pop("max_pixels")
    data.pop("timeout")
    data["pipeline"] = PIPELINE_VERSION
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def key_of(source_sha: str, fingerprint: str) -> str:
    return hashlib.sha256(f"{source_sha}:{fingerprint}".encode()).hexdigest()[:_KEY_LEN]


def entry_dir(cache_dir: Path, key: str) -> Path:
    return cache_dir / "images" / key[:2] / key


def sidecar_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / "images" / key[:2] / f"{key}.json"


def read_sidecar(cache_dir: Path, key: str) -> dict | None:
    """The sidecar of ``key`` when it and every variant file it lists (with the recorded size) exist."""
    try:
        data = json.loads(sidecar_path(cache_dir, key).read_text("utf-8"))
        if data.get("version") != PIPELINE_VERSION:
            return None
        entry = entry_dir(cache_dir, key)
        for width, _height, fmt, size in data["variants"]:
            if variant_file(entry, width, fmt).stat().st_size != size:
                return None
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None


class SourceHashes:
    """``images/sources.json``: the SHA-256 of each source, trusted while its size and mtime_ns are unchanged."""

    def __init__(self, cache_dir: Path):
        self.path = cache_dir / "images" / "sources.json"
        try:
            self.known = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            self.known = {}
        self.fresh: dict[str, list] = {}

    def lookup(self, source: str, st: os.stat_result) -> str | None:
        entry = self.known.get(source)
        if entry and entry[0] == st.st_size and entry[1] == st.st_mtime_ns:
            self.fresh[source] = entry
            return entry[2]
        return None

    def remember(self, source: str, st: os.stat_result, sha: str) -> None:
        self.fresh[source] = [st.st_size, st.st_mtime_ns, sha]

    def save(self) -> None:
        merged = {**self.known, **self.fresh}
        if merged != self.known:
            try:
                write_atomic(self.path, json.dumps(merged, ensure_ascii=False, sort_keys=True).encode())
            except OSError as exc:  # the cache is an optimisation
                log.warning("无法写入缓存 %s：%s", self.path, exc)


def hash_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


__all__ = ["settings_fingerprint", "key_of", "entry_dir", "sidecar_path", "read_sidecar", "SourceHashes", "hash_file"]
