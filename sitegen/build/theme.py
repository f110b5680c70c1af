"""Theme analysis for the render stage: the theme's static files (CSS and JS fingerprinted), and what its
templates read (:func:`template_reads_site`, :func:`template_reads_bodies`), which decides what an output depends on."""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from pathlib import Path

from sitegen.versions import code_version
from sitegen import render as rendermod
from sitegen.config import Config
from sitegen.files import write_atomic
from sitegen.sources import IGNORED_NAME

log = logging.getLogger(__name__)


def static_assets(config: Config) -> dict[str, tuple[str, Path]]:
    """Theme static files: name → (output path, source file). CSS and JS are fingerprinted
    (``assets/style.3f2a9c1b.css``), other files keep their path at the site root (``favicon.ico``)."""
    found: dict[str, Path] = {}
    for d in reversed(rendermod.theme_dirs(config)):
        static = d / "static"
        if static.is_dir():
            for f in sorted(static.rglob("*")):
                if f.is_file() and not IGNORED_NAME.match(f.name):
                    found[f.relative_to(static).as_posix()] = f
    assets = {}
    for name, f in found.items():
        if f.suffix in (".css", ".js"):
            stem, dot, ext = name.rpartition(".")
            assets[name] = (f"assets/{stem}.{rendermod.fingerprint(f.read_bytes())}.{ext}", f)
        else:
            assets[name] = (name, f)
    return assets


def theme_fingerprint(dirs: list[Path]) -> str:
    """Hash of every template and static file of the theme folders ``dirs`` (their relative paths and bytes)."""
    h = hashlib.sha256()
    for i, d in enumerate(dirs):
        for path in sorted(p for p in d.rglob("*") if p.is_file()):
            h.update(f"{i}:{path.relative_to(d).as_posix()}\0".encode())
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:16]


_SAFE_SITE_ATTRS = frozenset({"pages", "tag_slug", "section", "config"})
_SECTION_ATTRS = frozenset({"categories", "columns", "category", "column"})


def template_reads_site(env) -> dict[str, bool]:
    """For every template of ``env``: whether it (or a template it extends, includes or imports) reads ``site``
    beyond ``site.pages``, ``site.tag_slug``, ``site.section`` and ``site.config``, or reads the categories and
    columns as a whole (``config.categories``, ``config.columns``, ``config.category(…)``, ``config.column(…)``,
    ``sections``) — such an output depends on every page and every section, and is rendered whenever any of them
    changed. A template that names another dynamically counts as reading ``site``."""
    import jinja2
    from jinja2 import meta, nodes

    direct: dict[str, bool] = {}
    refs: dict[str, set] = {}
    for name in env.list_templates():
        try:
            source = env.loader.get_source(env, name)[0]
            ast = env.parse(source)
        except (jinja2.TemplateError, OSError, UnicodeDecodeError):
            direct[name], refs[name] = True, set()
            continue
        total = sum(1 for n in ast.find_all(nodes.Name) if n.name == "site")
        safe = sum(1 for n in ast.find_all(nodes.Getattr)
                   if isinstance(n.node, nodes.Name) and n.node.name == "site" and n.attr in _SAFE_SITE_ATTRS)
        referenced = set(meta.find_referenced_templates(ast))
        sections = any(n.name == "sections" for n in ast.find_all(nodes.Name)) or any(
            isinstance(n.node, nodes.Name) and n.node.name == "config" and n.attr in _SECTION_ATTRS
            for n in ast.find_all(nodes.Getattr))
        direct[name] = total > safe or None in referenced or sections
        refs[name] = {r for r in referenced if r}
    result = {}
    for name in direct:
        seen, stack, reads = set(), [name], False
        while stack and not reads:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            reads = direct.get(n, True)
            stack.extend(refs.get(n, ()))
        result[name] = reads
    return result


_BODY_ATTRS = frozenset({"html", "text"})


def theme_facts(env, theme_fp: str, cache_dir: Path, memo: dict) -> tuple[dict[str, bool], bool]:
    """``(template_reads_site(env), template_reads_bodies(env))`` for the theme of fingerprint ``theme_fp``,
    remembered in ``memo`` (a preview session's, kept between builds) and in ``<cache>/theme-facts.json``
    (parsing every template takes a tenth of a second)."""
    facts = memo.get(theme_fp)
    if facts is not None:
        return facts
    path = cache_dir / "theme-facts.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):  # else recomputed below
        data = json.loads(path.read_text("utf-8"))
        if data.get("theme") == theme_fp and data.get("code") == code_version():
            reads = data["reads_site"]
            if isinstance(reads, dict) and all(isinstance(v, bool) for v in reads.values()):
                facts = memo[theme_fp] = (reads, bool(data["reads_bodies"]))
                return facts
    facts = memo[theme_fp] = (template_reads_site(env), template_reads_bodies(env))
    try:
        write_atomic(path, json.dumps({"theme": theme_fp, "code": code_version(), "reads_site": facts[0],
                                       "reads_bodies": facts[1]}, ensure_ascii=False))
    except OSError as exc:
        log.warning("无法写入缓存 %s：%s", cache_dir, exc)
    return facts


def template_reads_bodies(env) -> bool:
    """Whether any template of ``env`` may read a page's ``html`` or ``text`` other than through ``body``: an
    attribute or a constant subscript of that name, or a filter given that name (``attr``, ``map``, ``sort`` …).
    Then every page is given its body before rendering; else only the page an output is about gets it (bodies are
    the bulk of the page cache and are read only when needed). An unreadable template counts as reading them."""
    import jinja2
    from jinja2 import nodes

    for name in env.list_templates():
        try:
            ast = env.parse(env.loader.get_source(env, name)[0])
        except (jinja2.TemplateError, OSError, UnicodeDecodeError):
            return True
        for n in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
            if isinstance(n, nodes.Getattr) and n.attr in _BODY_ATTRS:
                return True
            if isinstance(n, nodes.Getitem) and isinstance(n.arg, nodes.Const) and n.arg.value in _BODY_ATTRS:
                return True
            if isinstance(n, nodes.Filter):
                for arg in list(n.args) + [kw.value for kw in n.kwargs]:
                    if (isinstance(arg, nodes.Const) and isinstance(arg.value, str)
                            and arg.value.split(".")[-1] in _BODY_ATTRS):
                        return True
    return False
