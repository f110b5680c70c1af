"""The index stage: the search index of the pages just rendered, staged with them (never half-written), run only
over the shards (:func:`sitegen.search.shards`) whose input changed."""
from __future__ import annotations

import hashlib
import logging
import os

from sitegen.versions import code_version
from sitegen import manifest as manifestmod
from sitegen.build.state import RenderState
from sitegen.build.write import Writer, output_path
from sitegen.content import Site

log = logging.getLogger(__name__)


def _shard_digest(salt: str, name: str, pages, outputs) -> str | None:
    """Digest of a shard's input as recorded in the manifest being made (its articles' output digests), ``None``
    when one of them has none."""
    h = hashlib.blake2b(f"{salt}\0{name}".encode(), digest_size=16)
    for page in pages:
        o = outputs.get(output_path(page.url))
        if o is None or o.digest is None:
            return None
        h.update(f"{page.url}\0{o.digest}\0".encode())
    return h.hexdigest()


class _Listed:
    """Which files exist under the output folder ``base`` (ending in a separator), each folder listed once
    (``os.scandir``): a block's few folders hold thousands of files, where one ``stat`` each costs far more."""

    def __init__(self, base: str):
        self.base, self.folders = base, {}

    def has(self, rel: str) -> bool:
        """Whether ``rel`` (relative to the output folder) is a file there."""
        folder, _, name = rel.rpartition("/")
        names = self.folders.get(folder)
        if names is None:
            try:
                with os.scandir(self.base + folder) as entries:
                    names = frozenset(e.name for e in entries if e.is_file())
            except OSError:
                names = frozenset()
            self.folders[folder] = names
        return name in names


def _why(state: RenderState, before) -> str:
    old = state.old
    why = ("新输出（new）" if before is None else "模板有变化（template changed）" if old.theme != state.manifest.theme
           else "site.yaml 有变化（config changed）" if old.config != state.manifest.config
           else "文章有变化（article changed）")
    return why + "：重建这一部分的搜索索引（search index shard）"


def index_search(site: Site, writer: Writer, state: RenderState, *, defer: bool = False, workers=()) -> None:
    """Stage the search index (:func:`sitegen.search.index`), running the indexer only over the shards whose
    input changed. A shard's digest is made of the digests of its articles' outputs (from the manifest being made,
    not by reading the pages again); when that changed, :func:`sitegen.search.input_keys` says whether what the
    indexer reads changed too (that key is the record's only ``sources`` entry). With ``defer`` (the preview after
    its first build) a shard that is out of date is kept as it is, still recorded with its old digest, so the next
    full build indexes it again. ``workers``: :class:`sitegen.pool.Warm` workers to index on. Raises SitegenError."""
    from sitegen import search

    outputs, old = state.manifest.outputs, state.old
    salt = (f"{search.INDEX_VERSION}\0{code_version()}\0{site.config.base_path}"
            f"\0{state.config.slice_fingerprint('render')}\0{state.config.slice_fingerprint('sections')}")
    groups = search.shards(site)

    def keep(rel: str, record: manifestmod.Output) -> None:
        for x in (rel,) + tuple(record.extras):
            writer.keep(x)
        outputs[rel] = record

    pending: dict[str, tuple[str, str | None, manifestmod.Output | None]] = {}
    listed = _Listed(str(writer.out) + "/")  # 20,000 files at 10,000 articles, in a few dozen folders
    for name, pages in groups.items():
        rel = search.shard_key(name)
        found = _shard_digest(salt, name, pages, outputs)
        before = old.outputs.get(rel)
        present = before is not None and all(listed.has(x) for x in (rel,) + tuple(before.extras))
        if present and (defer or (found is not None and before.digest == found)):
            if before.digest != found:
                log.info("预览：站内搜索索引暂不更新（正式构建时更新）")
            keep(rel, before)
            continue
        pending[name] = (rel, found, before if present else None)
    if not pending:
        return

    def output_digest(rel: str) -> str | None:
        o = outputs.get(rel)
        return o.digest if o is not None else None

    # an article re-rendered because of something the indexer does not read (a neighbour's title in its footer):
    # the shard's input is the same, its bundle stays
    inputs = search.input_keys(site, writer, {name: groups[name] for name in pending}, output_digest, salt,
                               state.search_inputs)
    inputs.texts = state.search_texts  # extracted by the processes that rendered the pages
    keys, stale, present = inputs.keys, {}, {}
    for name, (rel, found, before) in pending.items():
        if before is not None and before.sources[:1] == (keys[name],):
            keep(rel, manifestmod.Output(found, (keys[name],), before.extras))
            continue
        if state.explain:
            state.reasons.append((rel, _why(state, before)))
        stale[name] = (rel, found)
        if before is not None and before.sources:
            present[name] = before.sources[0]  # what the block's files in the output folder were made from
    if not stale:
        return
    made = search.index(site, writer, {name: groups[name] for name in stale}, inputs=inputs, present=present,
                        workers=workers)
    for name, (rel, found) in stale.items():
        outputs[rel] = manifestmod.Output(found, (keys[name],), tuple(x for x in made[name] if x != rel))
