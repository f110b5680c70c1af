"""Page bodies in the cache: the ``html`` and ``text`` of parsed pages, kept in pack files apart from the page
cache so that a build loads only the bodies of the outputs it renders again."""
from __future__ import annotations

import dataclasses
import os
import time
import zlib
from pathlib import Path
from typing import Any

class Bodies:
    """The bodies of parsed pages (``html`` and ``text``, the bulk of a page) in pack files under
    ``<cache>/bodies/``, so a build loads only the bodies of the outputs it renders again. Pages elsewhere in the
    build carry empty ``html``/``text`` (see :func:`strip`); an :class:`Entry` records where its body is
    (``Entry.body`` = ``(pack name, offset, html bytes, text bytes, CRC-32)``) and :meth:`read` gets it back.

    A pack is the UTF-8 bytes of html and text of many pages one after another, written once (by the process that
    parsed them, one pack per batch) and never changed; :meth:`prune` deletes packs no entry uses and copies the
    live bodies out of packs that are mostly dead. A missing or damaged body reads as ``None`` (the caller parses
    the source again)."""

    def __init__(self, cache_dir: Path):
        self.dir = cache_dir / "bodies"
        self._out = None
        self._name = ""
        self._offset = 0
        self._files: dict[str, Any] = {}

    def add(self, html: str, text: str) -> tuple:
        """Append a body to this process's current pack; returns its location. Raises ``OSError``."""
        h, t = html.encode("utf-8"), text.encode("utf-8")
        if self._out is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            global _PACKS
            _PACKS += 1
            self._name = f"{os.getpid()}-{time.time_ns():x}-{_PACKS}.pack"
            self._out = open(self.dir / self._name, "wb")
            self._offset = 0
        self._out.write(h)
        self._out.write(t)
        loc = (self._name, self._offset, len(h), len(t), zlib.crc32(t, zlib.crc32(h)))
        self._offset += len(h) + len(t)
        return loc

    def close(self) -> None:
        """Finish the pack being written and close every pack being read. Raises ``OSError``."""
        if self._out is not None:
            self._out.close()
            self._out = None
        for f in self._files.values():
            f.close()
        self._files.clear()

    def read(self, loc) -> tuple[str, str] | None:
        """``(html, text)`` stored at ``loc``, or ``None`` when the pack is missing or the bytes damaged."""
        try:
            name, offset, nh, nt, crc = loc
            if self._out is not None and name == self._name:
                self._out.flush()
            f = self._files.get(name)
            if f is None:
                if "/" in name or name.startswith("."):
                    return None
                f = self._files[name] = open(self.dir / name, "rb")
            data = os.pread(f.fileno(), nh + nt, offset)  # no shared file offset: safe after fork
            if len(data) != nh + nt or zlib.crc32(data) != crc:
                return None
            return data[:nh].decode("utf-8"), data[nh:].decode("utf-8")
        except (OSError, ValueError, TypeError, UnicodeDecodeError):
            return None

    def prune(self, entries: dict) -> dict:
        """Delete the packs none of ``entries`` uses (their bodies and the bodies of the last good pages they keep);
        when more than 24 packs are left, copy the live bodies of the
        packs that are small or mostly dead into one new pack. Returns the entries whose body moved (source →
        new entry, for the caller to put in its cache; entries are immutable). Raises ``OSError``."""
        if not self.dir.is_dir():
            return {}
        live: dict[str, int] = {}
        for e in entries.values():
            for body in (e.body, e.kept[1] if e.kept else None):
                if body:
                    live[body[0]] = live.get(body[0], 0) + body[2] + body[3]
        sizes = {}
        for f in os.scandir(self.dir):
            if f.name not in live and f.name != self._name:
                os.unlink(f.path)
            elif f.name in live:
                sizes[f.name] = f.stat().st_size
        if len(sizes) <= 24:
            return {}
        move = {n for n, size in sizes.items() if size < (1 << 20) or live[n] * 2 < size}
        if len(move) < 2:
            return {}
        moved = {}
        for rel, e in entries.items():
            if e.body and e.body[0] in move:
                body = self.read(e.body)
                e = moved[rel] = dataclasses.replace(e, body=self.add(*body) if body is not None else None)
            if e.kept and e.kept[1] and e.kept[1][0] in move:
                body = self.read(e.kept[1])
                moved[rel] = dataclasses.replace(e, kept=(e.kept[0], self.add(*body)) if body is not None else None)
        self.close()
        for n in move:
            os.unlink(self.dir / n)
        return moved


_PACKS = 0
