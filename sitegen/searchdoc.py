"""What the search index stage and the index's writer share without NumPy: the indexed article (:class:`Doc`) and
the shard count of a block (``docs/search-index.md``). The build imports :mod:`sitegen.searchindex` (and NumPy,
about 0.2 s) only where it indexes or corrects a block, which a worker process may do (:class:`sitegen.pool.Warm`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Doc:
    """One indexed article: ``url`` (site-relative, e.g. ``/gongzuo-dongtai/2024/01/a/``), ``title``, ``date``
    (``YYYY-MM-DD``, site time zone), ``category`` and ``column`` names (``""`` when none), ``text``, the
    indexed element's text with whitespace runs collapsed to one space (what the page shows as an excerpt), and
    ``body``, where in ``text`` (UTF-16 code units) what follows the page's header (title, date line) begins."""

    url: str
    title: str
    date: str
    category: str
    column: str
    text: str
    body: int = 0


def shard_count(docs: int) -> int:
    """Shards of an index of ``docs`` articles: a power of two near ``docs / 3``, from 8 to 4096 (about 4-10 KB a
    shard whatever the size of the site)."""
    n = 8
    while n < 4096 and n * 3 < docs:
        n *= 2
    return n


STATES = Path("search") / "blocks"
"""Where, under the cache folder, each block's state (its articles and their input digests) is kept: what a build
needs to correct a block in place."""


def correctable(cache_dir: Path) -> bool:
    """Whether an earlier build left block states in ``cache_dir`` (the next build may correct blocks in place)."""
    return (cache_dir / STATES).is_dir()
