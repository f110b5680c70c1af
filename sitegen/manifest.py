"""The output manifest of a build (what each output file was made from, for skipping current outputs) and the
assembled site indexes kept between builds; stored with :mod:`sitegen.cache`'s file format and journals."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sitegen import cache as cachemod
from sitegen.cache import Base



@dataclass(slots=True)
class Output:
    """What an output file was made from: ``digest`` of everything it depends on (``None``: not digestible, always
    rendered), ``sources`` the pages it shows (project-relative paths, for ``--explain``; for a search index shard
    the key of its input, :func:`sitegen.search.input_keys`), ``extras`` the other output files it caused to be written (images it shows,
    the files of a search shard), kept when it is skipped."""

    digest: str | None
    sources: tuple = ()
    extras: tuple = ()


@dataclass
class OutputManifest:
    """The outputs of the last build into one folder: ``outputs`` maps output path → :class:`Output`; ``theme`` and
    ``config`` are the fingerprints they were made with, ``pages`` each page's fingerprint then (source → fp),
    ``shape`` the :func:`sitegen.build.assemble.site_shape` of the pages, ``common`` the digest of what every output
    depends on, ``count`` the number of HTML pages, ``templated`` the number of outputs made from templates and
    ``config_keys`` a digest of each ``site.yaml`` setting (to name what changed)."""

    theme: str = ""
    config: str = ""
    pages: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    shape: str = ""
    common: str | None = None
    count: int = 0
    templated: int = 0
    config_keys: dict[str, str] = field(default_factory=dict)
    base: Base | None = field(default=None, repr=False, compare=False)

    @staticmethod
    def path(cache_dir: Path, out: Path) -> Path:
        """Where the manifest of output folder ``out`` lives."""
        return cache_dir / "manifests" / (hashlib.sha1(str(out).encode()).hexdigest()[:12] + ".cache")

    @classmethod
    def load(cls, cache_dir: Path, out: Path) -> "OutputManifest":
        """The manifest of ``out``; empty when missing or unusable."""
        data = cachemod.read_journaled(cls.path(cache_dir, out), "outputs")
        try:
            (theme, config, shape, common, count, templated, keys), (pages, rows), base = data
            manifest = cls(theme, config, pages, {rel: Output(*row) for rel, row in rows.items()}, shape, common,
                           count, templated, dict(keys), base)
        except (TypeError, ValueError, AttributeError):
            return cls()
        return manifest

    def save(self, cache_dir: Path, out: Path, base: Base | None = None) -> None:
        """Write the manifest atomically (as plain tuples, quick to load), as a journal of its changes since
        ``base`` (that of the manifest it replaces) when they are few (:func:`write_journaled`). Raises
        ``OSError``."""
        rows = {rel: (o.digest, o.sources, o.extras) for rel, o in self.outputs.items()}
        self.base = cachemod.write_journaled(self.path(cache_dir, out), "outputs",
                                    (self.theme, self.config, self.shape, self.common, self.count, self.templated,
                                     dict(self.config_keys)),
                                    (dict(self.pages), rows), base)


class SiteIndex:
    """The assembled indexes of the last build (``site.cache``), reused while the pages' shape is the same: the
    file holds the shape and the indexes as positions in the list of published pages (see
    :func:`sitegen.build.assemble.freeze_site`)."""

    FILE = "site.cache"

    @classmethod
    def load(cls, cache_dir: Path, shape: str):
        """The frozen indexes stored for ``shape``, or ``None``."""
        if not (cache_dir / cls.FILE).is_file():
            return None
        data = cachemod.read(cache_dir / cls.FILE, "site")
        if isinstance(data, tuple) and len(data) == 2 and data[0] == shape:
            return data[1]
        return None

    @classmethod
    def save(cls, cache_dir: Path, shape: str, frozen) -> None:
        """Store the frozen indexes of ``shape``. Raises ``OSError``."""
        cachemod.write(cache_dir / cls.FILE, "site", (shape, frozen))
