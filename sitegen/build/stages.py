"""The stages of one build, as methods of :class:`Run` that :func:`sitegen.build.build` calls in order. Each stage
reads what the earlier ones left on the run and adds its own result; nothing flows backwards."""
from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import time
from pathlib import Path

from sitegen import attachments
from sitegen import cache as cachemod
from sitegen import bodies as bodiesmod
from sitegen import manifest as manifestmod
from sitegen import content as contentmod
from sitegen import render as rendermod
from sitegen import sources as sourcesmod
from sitegen.build import assemble as assemblemod
from sitegen.build import plan as planmod
from sitegen.build import stamp as stampmod
from sitegen.build import theme as thememod
from sitegen.build.index import index_search
from sitegen.build.media import Media, image_refs
from sitegen.build.parse import load_pages
from sitegen.build.render import render_outputs
from sitegen.build.report import BuildOptions, BuildReport, write_status
from sitegen.build.state import RenderState, Session
from sitegen.build.write import Writer, recover
from sitegen import clock, racy
from sitegen.config import Config
from sitegen.errors import Problems

log = logging.getLogger(__name__)

CHECKS = "checks.cache"
"""The plan's gate and clash results of the last build, by a digest of what they read (in the cache folder)."""


class Run:
    """One build in progress: the config, the options, the preview ``session`` if any, the problems found, the
    stage timings, and each stage's result (sources, entries, pages, site, plan, images, writer, state)."""

    def __init__(self, config: Config, options: BuildOptions, session: Session | None, started: float):
        self.config, self.options, self.session, self.started = config, options, session, started
        self.out = options.folder(config)
        self.problems = Problems(strict=options.strict)
        self.stages: list[tuple[str, float]] = []
        self.writer: Writer | None = None
        self.removed: list[str] = []
        self.results: dict = {}
        self.parsed = 0
        self.resumed = False
        self.upcoming = None
        self.checks: dict = {}  # the plan's gate and clash results by what they read (planmod.checked)
        self.checks_before: dict = {}
        self.looked = racy.clock_ns()  # before any stat this build takes; build() may set an earlier moment
        self.scanned = None  # the content files, when build() scanned them already
        self.warm = ()  # workers for the index stage (sitegen.pool.Warm), when build() started them

    def stage(self, name: str, fn, *args) -> None:
        """Run one stage and record its wall time (seconds). What the stage leaves alive is then frozen for the
        cyclic garbage collector (``gc.freeze``; :func:`sitegen.build.build` unfreezes it at the end): the
        collections of later stages walk only their own objects, not the 10,000 pages and their indexes again
        (about a seventh of the plan stage), and forked workers share those pages' memory pages untouched."""
        t = time.perf_counter()
        fn(*args)
        gc.freeze()
        self.stages.append((name, round(time.perf_counter() - t, 3)))

    def load_sources(self, changed) -> None:
        """sources: the content files (``changed`` narrows a preview's rescan) and the page cache for the config's
        ``parse`` slice; finishes a commit a killed build left half done."""
        config, session = self.config, self.session
        self.resumed = recover(self.out)
        if self.resumed:
            log.warning("上次构建在写入 %s 时中断，已先完成那次写入", self.out)
        if session is not None:
            session.flush()
        key = config.slice_fingerprint("parse")
        if session is not None and session.pages_cache is not None and session.pages_cache.config == key:
            self.pages_cache = session.pages_cache
        else:
            self.pages_cache = cachemod.PageCache.load(config.cache_dir, key)
        self.pages_cache.look(self.looked)  # before the scan: its stats are dated from then (sitegen.racy)
        sources = self.scanned
        if session is not None and changed is not None and session.sources is not None and session.root == config.root:
            sources = sourcesmod.rescan(config, session.sources, changed)
        self.sources = sources if sources is not None else sourcesmod.scan(config)
        if session is not None:  # the file list as it is now, whatever happens later in this build
            session.sources, session.root = self.sources, config.root

    def parse(self) -> None:
        """parse: one cache entry per source (parsed only when its file changed; a file that fails now and was
        published before keeps its last good page, :func:`sitegen.cache.usable_pages`); drafts and future articles
        left out unless asked for; the attachments of what is left measured (W206)."""
        self.entries, self.parsed = load_pages(self.config, self.sources, self.pages_cache, self.options.jobs)
        # a broken edit of a published article keeps its last good page (not under --strict)
        pages, found = cachemod.usable_pages(self.entries, self.pages_cache, self.config.cache_dir,
                                             keep=not self.options.strict)
        self.problems.extend(found)
        now, drafts, future = clock.now(self.config), self.options.drafts, self.options.future
        self.upcoming = clock.next_due(pages, now, drafts=drafts, future=future)
        self.pages, notes = contentmod.select(pages, now=now, drafts=drafts, future=future)
        self.problems.extend(notes)
        self.pages, notes = attachments.measure(self.pages, self.config.root, self.config.attachments.max_mb)
        self.problems.extend(notes)
        if self.session is not None:
            self.session.pages_cache = self.pages_cache

    def theme(self) -> None:
        """theme: the template environment (kept by a preview session), what the templates read, the static
        files; a theme that reads bodies outside ``body`` gets every page with its body."""
        config, session = self.config, self.session
        self.assets = thememod.static_assets(config)
        theme_fp = thememod.theme_fingerprint(rendermod.theme_dirs(config))
        asset_urls = {name: rel for name, (rel, _) in self.assets.items()}
        env_key = (theme_fp, config.slice_fingerprint("render"), config.slice_fingerprint("sections"), config.root,
                   tuple(sorted(asset_urls.items())))
        envs = session.envs if session is not None else {}
        env = envs.get(env_key)
        if env is None:
            envs.clear()
            env = envs[env_key] = rendermod.make_env(config, asset_urls, bytecode_dir=config.cache_dir / "templates")
        else:  # the same theme and settings: templates stay compiled; only the clock moves on
            env.globals["now"] = clock.now(config)
        memo = session.theme_facts if session is not None else {}
        reads_site, self.reads_bodies = thememod.theme_facts(env, theme_fp, config.cache_dir, memo)
        self.env_theme = (env, theme_fp, reads_site)
        self.state = self.render_state()
        self.state.whole_cards = self.reads_bodies
        if self.reads_bodies:
            self.pages = [self.state.full(p) for p in self.pages]

    def render_state(self) -> RenderState:
        old = self.session.manifests.get(self.out) if self.session is not None else None
        if old is None and not self.resumed:
            old = manifestmod.OutputManifest.load(self.config.cache_dir, self.out)
        self.old_manifest = old
        state = RenderState(self.config, self.pages_cache, old, jobs=self.options.jobs, explain=self.options.explain)
        state.drafts = self.options.drafts
        return state

    def assemble(self) -> None:
        """assemble: the pages whose URLs the plan admits, and the site's indexes (from the cache when the site's
        shape is unchanged)."""
        self.checks = self.known_checks()
        admitted, problems = planmod.admit(self.pages, self.config, memo=self.checks)
        self.problems.extend(problems)
        entries = {e.page.source: e for e in self.entries if e.page}
        shape = assemblemod.site_shape(admitted, entries, self.config)
        remembered = self.session.site_index if self.session is not None else None
        self.site, problems, remembered = assemblemod.assemble_cached(admitted, self.config, shape, remembered,
                                                                      self.pages_cache.tag_slugs)
        if self.session is not None:
            self.session.site_index = remembered
        self.problems.extend(problems)
        self.state.shape = shape

    def known_checks(self) -> dict:
        """The last build's plan checks (:func:`sitegen.build.plan.checked`): the preview session's, else
        :data:`CHECKS` in the cache folder (an unusable one is ignored)."""
        if self.session is not None:
            return self.session.checks
        data = cachemod.read(self.config.cache_dir / CHECKS, "checks")
        if isinstance(data, dict):
            self.checks_before = {name: v for name, v in data.items() if isinstance(v, tuple) and len(v) == 3
                                  and isinstance(v[1], frozenset) and isinstance(v[2], tuple)}
        return dict(self.checks_before)

    def plan(self) -> None:
        """plan: every output of the site, once, gated and checked for clashes."""
        self.planned = planmod.plan(self.site, memo=self.checks)
        self.problems.extend(self.planned.problems)

    def images(self) -> None:
        """images: responsive variants of every photo the site shows (Pillow only when there are photos)."""
        refs = image_refs(self.site)
        if refs:
            from sitegen import images

            jobs = images.plan(refs, self.config.root)
            self.results = images.run(jobs, self.config.images, self.config.cache_dir, workers=self.options.jobs,
                                      progress=self.options.progress, sha=self.state.file_sha)
        for result in self.results.values():
            self.problems.extend(result.problems)

    def render(self) -> None:
        """render: the theme's static files, the photo variants, and every output that is not current."""
        config = self.config
        manifest = config.cache_dir / "manifests" / (hashlib.sha1(str(self.out).encode()).hexdigest()[:12] + ".json")
        self.writer = writer = Writer(self.out, manifest)
        for o in self.planned.of_kind("asset"):
            writer.copy(o.path, dict(o.data)["source"])
        for o in self.planned.of_kind("attachment"):  # 附件 beside their pages
            attachments.stage(writer, o.path, dict(o.data)["source"])
        if self.results:
            from sitegen import images

            for result in self.results.values():
                for variant in (result.variants if result.ok else ()):
                    writer.link(variant.url, images.cache_file(config.cache_dir, variant))
        self.state.manifest.config_keys = config.key_digests()
        self.count = render_outputs(self.planned, self.site, writer, Media(config, self.results), self.state,
                                    self.env_theme)

    def index(self) -> None:
        """index: the search index of the rendered pages (only shards whose input changed)."""
        index_search(self.site, self.writer, self.state, defer=self.options.defer_search, workers=self.warm)

    def commit(self) -> None:
        """commit: staged files into ``output/``, stale ones removed (see :mod:`sitegen.build.write`)."""
        self.removed = self.writer.commit()

    def save(self) -> None:
        """cache: the page cache and the output manifest (a preview session writes them once the result shows)."""
        config, state, out, session = self.config, self.state, self.out, self.session
        if session is not None:
            session.manifests[out] = state.manifest
            old = self.old_manifest
            session.pending = lambda: save_caches(config, self.pages_cache, (state.manifest, old), out)
        else:
            save_caches(config, self.pages_cache, (state.manifest, self.old_manifest), out)
            if self.checks != self.checks_before:
                with contextlib.suppress(OSError):  # the next build checks again
                    cachemod.write(config.cache_dir / CHECKS, "checks", self.checks)

    def fail(self) -> BuildReport:
        """End a ``--strict`` build with errors before anything is written."""
        save_caches(self.config, self.pages_cache)
        report = BuildReport(False, self.out, problems=tuple(self.problems.sorted()),
                             seconds=time.perf_counter() - self.started, stages=tuple(self.stages),
                             parsed=self.parsed)
        write_status(self.config, report, self.options)
        return report

    def abort(self) -> None:
        """Drop what was staged after a failure; ``output/`` is as it was."""
        if self.writer is not None:
            self.writer.abort()
        if self.session is not None:
            self.session.manifests.pop(self.out, None)

    def report(self) -> BuildReport:
        """The report of a finished build (also written as the status file)."""
        results, state = self.results.values(), self.state
        report = BuildReport(True, self.out, self.count, tuple(self.writer.written), self.writer.unchanged,
                             tuple(self.removed), tuple(self.problems.sorted()), time.perf_counter() - self.started,
                             tuple(self.stages),
                             (sum(r.ok and not r.cached for r in results), sum(r.ok and r.cached for r in results),
                              sum(not r.ok for r in results)),
                             skipped=state.skipped, explained=tuple(state.reasons), parsed=self.parsed,
                             rendered=state.rendered, config_changed=self.config_changed(),
                             upcoming=self.upcoming)
        write_status(self.config, report, self.options)
        return report

    def stamp(self, report: BuildReport) -> None:
        """Record what this finished build read and wrote (:mod:`sitegen.build.stamp`) for the next one to replay."""
        root, cache = self.config.root, self.pages_cache
        files = {root / rel for rel in cache.files}
        files.update(root / rel for e in cache.entries.values() for rel, _ in e.exists)
        files.update(Path(dict(o.data)["source"]) for o in self.planned.of_kind("asset", "attachment"))
        themes = [root / "themes", rendermod.PACKAGE_THEME]
        stampmod.record(self.config, self.options, report, {"looked": self.looked, "sources": self.sources,
                                                            "files": files, "themes": themes,
                                                            "outputs": self.writer.produced})

    def config_changed(self) -> tuple[str, ...]:
        """The ``site.yaml`` settings whose value changed since the last build (for ``--explain``)."""
        old = self.old_manifest.config_keys if self.old_manifest is not None else {}
        now = self.state.manifest.config_keys
        return tuple(k for k in now if old and old.get(k) != now[k])


def save_caches(config: Config, pages_cache: cachemod.PageCache, manifests=None, out: Path | None = None) -> None:
    """Write the page cache and, given ``(manifest, old)``, the output manifest of ``out`` when it differs from
    ``old`` (the one loaded); a cache that cannot be written only makes the next build slower (logged)."""
    try:
        if pages_cache.changed():
            bodies = bodiesmod.Bodies(config.cache_dir)
            pages_cache.entries.update(bodies.prune(pages_cache.entries))
            pages_cache.save(config.cache_dir)
        if manifests is not None:
            manifest, old = manifests
            if manifest_changed(manifest, old):
                manifest.save(config.cache_dir, out, old.base if old is not None else None)
            elif old is not None:
                manifest.base = old.base  # the file on disk is still old's
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", config.cache_dir, exc)


def manifest_changed(new: manifestmod.OutputManifest, old: manifestmod.OutputManifest | None) -> bool:
    """Whether ``new`` differs from ``old`` (``None``: never saved)."""
    if old is None or (new.theme, new.config, new.shape, new.common, new.count, new.templated, new.config_keys) != (
            old.theme, old.config, old.shape, old.common, old.count, old.templated, old.config_keys) \
            or new.pages != old.pages:
        return True
    return new.outputs.keys() != old.outputs.keys() or any(o is not old.outputs[k] for k, o in new.outputs.items())
