"""Load and validate ``site.yaml`` in one pass into a frozen :class:`Config`.

Only ``title``, ``base_url`` and ``categories`` are required; every other key has the default documented in
README.md. Every problem names its key path and file line, unknown keys get a "did you mean", and all problems are
raised together as one :class:`~sitegen.errors.ConfigError` (exit code 2). The schema style follows MkDocs'
``config/base.py``: one pass, each problem naming its key; the typed readers are :class:`sitegen.schema.Checker`.
Values that would be unsafe in every page are refused here, at their ``site.yaml`` line: permalink patterns that
leave ``output/`` (``/../../{slug}/``), menu links with ``javascript:`` or ``data:`` URLs, text values over
:data:`sitegen.schema.MAX_TEXT` characters, and a file over :data:`MAX_BYTES`.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sitegen import yamlsafe
from sitegen import attachments as attachmentsmod
from sitegen.attachments import AttachmentSettings
from sitegen.errors import ConfigError, Location, Problem
from sitegen.schema import Checker, pattern_problem
from sitegen.slugs import slugify


@dataclass(frozen=True, slots=True)
class Section:
    """A category or column: ``name`` shown to readers, ``slug`` used in URLs, optional ``description``; ``home``
    is how the home page shows a category's latest articles: ``list`` (titles and dates) or ``photos`` (thumbnails,
    for a category of photo news such as 图片新闻)."""

    name: str
    slug: str
    description: str = ""
    home: str = "list"


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One main-menu entry: the label and a site-relative URL (``/gongzuo-dongtai/``) or an absolute URL."""

    name: str
    url: str


@dataclass(frozen=True, slots=True)
class ImageSettings:
    """``images:`` — responsive variants. ``widths`` in px (never upscaled), ``formats`` among ``jpeg``/``webp``,
    ``quality`` 1–100, ``max_pixels`` refuses decompression bombs, ``background`` flattens transparency (CSS hex),
    ``keep_exif`` names EXIF tags kept (e.g. ``Copyright``), ``publish_originals`` copies the original too,
    ``timeout`` seconds per image."""

    widths: tuple[int, ...] = (480, 960, 1600)
    formats: tuple[str, ...] = ("jpeg", "webp")
    quality: int = 82
    max_pixels: int = 100_000_000
    background: str = "#ffffff"
    keep_exif: tuple[str, ...] = ()
    publish_originals: bool = False
    timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class Footer:
    """The compliance footer of Chinese government-affiliated sites: 主办单位 ``sponsor``, 承办单位 ``organizer``,
    联系方式 ``contact``, 地址 ``address``, ICP备案号 ``icp`` (linked to the MIIT filing site), 公安备案号
    ``police_record``, 网站标识码 ``site_code``."""

    sponsor: str = ""
    organizer: str = ""
    contact: str = ""
    address: str = ""
    icp: str = ""
    police_record: str = ""
    site_code: str = ""


@dataclass(frozen=True, slots=True)
class Limits:
    """``limits:`` — bounds on one content file, so one pasted or hostile article cannot stall a build or make it
    run out of memory. A file over ``article_warning_kb`` KiB is a warning (W109), over ``article_error_kb`` an
    error (E109, the file is left out); more than ``tags_warning`` tags a warning (W116); reading and rendering one
    file may use ``render_seconds`` of CPU time (E203 past it, the file is left out; see :mod:`sitegen.budget`)."""

    article_warning_kb: int = 256
    article_error_kb: int = 1024
    tags_warning: int = 50
    render_seconds: int = 5


@dataclass(frozen=True, slots=True)
class Config:
    """The validated site configuration. ``root`` is the project folder (absolute); ``base_url`` always ends in
    ``/``; ``base_path`` is its path part (``/`` or ``/sub/``), prefixed to every site-relative URL."""

    root: Path
    title: str
    base_url: str
    base_path: str
    categories: tuple[Section, ...]
    columns: tuple[Section, ...] = ()
    description: str = ""
    language: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    theme: str = "default"
    menu: tuple[MenuItem, ...] = ()
    per_page: int = 20
    summary_length: int = 120
    permalinks: tuple[tuple[str, str], ...] = ()
    images: ImageSettings = field(default_factory=ImageSettings)
    footer: Footer = field(default_factory=Footer)
    attachments: AttachmentSettings = field(default_factory=AttachmentSettings)
    feeds_limit: int = 20
    feeds_full_content: bool = True
    trust_html: bool = False
    deploy_targets: tuple[tuple[tuple[str, str], ...], ...] = ()
    limits: Limits = field(default_factory=Limits)
    source_path: str = "site.yaml"

    @property
    def tz(self) -> ZoneInfo:
        """The site's time zone (naive dates in front matter are in it)."""
        return ZoneInfo(self.timezone)

    @property
    def content_dir(self) -> Path:
        """``<root>/content``."""
        return self.root / "content"

    @property
    def cache_dir(self) -> Path:
        """``<root>/.sitegen-cache`` — kept between CI runs, never published."""
        return self.root / ".sitegen-cache"

    def permalink(self, kind: str) -> str:
        """The permalink pattern for a page kind (``article``, ``page``, ``gallery``, ``category``…)."""
        return dict(self.permalinks)[kind]

    def category(self, key: str) -> Section | None:
        """The category whose name or slug is ``key`` (case-insensitive for slugs), else ``None``."""
        return _find(self.categories, key)

    def column(self, key: str) -> Section | None:
        """The column whose name or slug is ``key``, else ``None``."""
        return _find(self.columns, key)

    def key_digests(self) -> dict[str, str]:
        """A 16-hex-digit digest of each setting (field name → digest), ``root`` left out."""
        data = asdict(self)
        data.pop("root")
        return {k: hashlib.sha256(json.dumps(v, sort_keys=True, default=str).encode()).hexdigest()[:16]
                for k, v in sorted(data.items())}

    def slice_fingerprint(self, name: str) -> str:
        """A 16-hex-digit digest of the settings of slice ``name`` of :data:`SLICES` (cache keys): ``parse`` is
        what parsing a content file reads; ``render`` what every output can show: everything but ``deploy`` and,
        of the categories and columns, only their slugs in order (:meth:`section_kind` answers from those);
        ``sections`` the categories and columns whole (names, descriptions …), which an output depends on only
        when it shows them (the render stage adds them where they are shown)."""
        digests = self.key_digests()
        if SLICES[name]:
            text = "\0".join(f"{k}={digests[k]}" for k in SLICES[name])
        else:
            skip = NOT_RENDERED | set(SLICES["sections"])
            outline = [[s.slug for s in self.categories], [s.slug for s in self.columns]]
            text = "\0".join([f"{k}={digests[k]}" for k in digests if k not in skip] + [repr(outline)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def section_kind(self, slug: str) -> str:
        """``"column"`` when ``slug`` is a column's and no category's, else ``"category"`` (what a page of that
        section links to and how it is labelled); reads only the slugs, so an output asking it does not depend on
        the sections' names."""
        return "column" if self.column(slug) and not self.category(slug) else "category"


SLICES: dict[str, tuple[str, ...]] = {
    "parse": ("attachments", "categories", "columns", "limits", "permalinks", "summary_length", "timezone",
              "trust_html"),
    "render": (),  # every setting but NOT_RENDERED, and of "sections" only the slugs
    "sections": ("categories", "columns"),
}
"""The config slices: which settings each stage reads (the cache key of what it makes)."""

NOT_RENDERED = frozenset({"deploy_targets", "source_path"})
"""Settings no output shows: editing them re-parses and re-renders nothing."""


def _find(sections, key):
    for s in sections:
        if key == s.name or key.lower() == s.slug.lower():
            return s
    return None


DEFAULT_PERMALINKS = {
    "article": "/{category}/{year}/{month}/{slug}/",
    "page": "/{slug}/",
    "gallery": "/galleries/{slug}/",
    "category": "/{slug}/",
    "column": "/{slug}/",
    "tag": "/tags/{slug}/",
}
PERMALINK_FIELDS = {"category", "column", "year", "month", "day", "slug"}
"""Fields of the article, page and gallery patterns; category, column and tag listings have only ``{slug}``."""

MAX_BYTES = 1024 * 1024
"""Largest ``site.yaml`` read, in bytes (the sample is 3 KB)."""

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")

TOP_KEYS = ("title", "base_url", "description", "language", "timezone", "theme", "categories", "columns", "menu",
            "pagination", "paginate", "summary_length", "permalinks", "images", "feeds", "footer", "deploy",
            "markdown", "limits", "attachments")


def load(path: str | Path) -> Config:
    """Read and validate ``site.yaml`` at ``path`` (a file, or a project folder containing one).

    Returns a frozen :class:`Config` whose ``root`` is the file's folder. Raises :class:`ConfigError` with every
    problem found (missing, unreadable or oversized file, YAML syntax, nesting or aliases, unknown keys, wrong
    types, missing required values, unsafe links and permalink patterns), each naming ``site.yaml:line`` and a
    Chinese hint.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "site.yaml"
    shown = path.name
    try:
        loaded = yamlsafe.load(_read(path), shown)
    except yamlsafe.YamlProblem as exc:
        raise ConfigError(str(exc.problem), exc.problems) from None
    data = loaded.value
    if not isinstance(data, dict):
        problem = Problem(Location(shown, 1), "E901", "site.yaml 应为键值映射", "参照 README 中的示例")
        raise ConfigError(str(problem), (problem,))
    c = Checker(shown, loaded.lines)
    c.known(data, (), TOP_KEYS)
    values = _site(c, data) | _sections_and_menu(c, data, path.parent.resolve()) | _output(c, data)
    values.update(limits=_limits(c, c.mapping(data, "limits")), deploy_targets=_deploy_targets(c, data))
    if c.problems:
        raise ConfigError(f"site.yaml 有 {len(c.problems)} 处问题", tuple(c.problems))
    return Config(root=path.parent.resolve(), source_path=shown, **values)


def _problem(where, message: str, hint: str) -> ConfigError:
    return ConfigError(message, (Problem(Location(str(where)), "E900", message, hint),))


def _read(path: Path) -> str:
    """The text of ``site.yaml`` (UTF-8, a BOM and CRLF line ends accepted). Raises :class:`ConfigError` E900 when
    it, or the site folder, is missing, when it is not UTF-8 or when it is over :data:`MAX_BYTES`."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        if not path.parent.is_dir() or (path.name != "site.yaml" and path.suffix not in (".yaml", ".yml")):
            missing = path if path.suffix not in (".yaml", ".yml") else path.parent
            raise _problem(missing, f"站点目录不存在：{missing}", "请检查路径，或在站点目录中运行 sitegen") from None
        raise _problem(path, f"找不到配置文件 {path}", "请在站点目录中运行，或写出站点目录：sitegen build 目录") from None
    if len(data) > MAX_BYTES:
        raise _problem(path.name, f"配置文件大于 {MAX_BYTES // 1024} KB", "site.yaml 只放设置；长文请写成 content/pages/ 中的页面")
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise _problem(path.name, "配置文件不是 UTF-8 编码", "请用 UTF-8 编码保存 site.yaml") from None


def _site(c: Checker, data: dict) -> dict:
    """title, base_url and base_path, description, language, timezone, summary_length."""
    title = c.text(data, "title", required=True)
    base_url = c.text(data, "base_url", required=True)
    if base_url and not re.match(r"^https?://[^/\s]+(/\S*)?$", base_url):
        c.fail(("base_url",), f"不是有效的网址：“{base_url}”", "例如 https://www.example.org.cn/ （可带子路径）",
               "E906")
    base_url = base_url.rstrip("/") + "/"
    base_path = "/" + base_url.split("://", 1)[-1].partition("/")[2]
    timezone = c.text(data, "timezone", default="Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        c.fail(("timezone",), f"未知的时区“{timezone}”", "例如 timezone: Asia/Shanghai", "E906")
        timezone = "Asia/Shanghai"
    return dict(title=title, base_url=base_url, base_path=base_path.rstrip("/") + "/", timezone=timezone,
                description=c.text(data, "description"), language=c.text(data, "language", default="zh-CN"),
                summary_length=c.integer(data, "summary_length", (), 120, (10, 2000)))


def _sections_and_menu(c: Checker, data: dict, root: Path) -> dict:
    """categories, columns (names and slugs unique across both), menu and theme."""
    categories = _sections(c, data, "categories", required=True)
    columns = _sections(c, data, "columns", required=False)
    seen: dict[str, str] = {}
    for kind, sections in (("categories", categories), ("columns", columns)):
        for i, s in enumerate(sections):
            for key in (s.slug.lower(), s.name):
                if key in seen:
                    c.fail((kind, i), f"名称或 slug“{key}”与 {seen[key]} 重复", "每个栏目的名称和 slug 都要唯一",
                           "E907")
                seen[key] = f"{kind}[{i}]"
    theme = c.text(data, "theme", default="default")
    if theme != "default" and not (root / "themes" / theme).is_dir():
        c.fail(("theme",), f"找不到主题文件夹 themes/{theme}", "主题放在 themes/<名称>/templates 中", "E909")
        theme = "default"
    return dict(categories=categories, columns=columns, menu=_menu(c, data, categories, columns), theme=theme)


def _output(c: Checker, data: dict) -> dict:
    """pagination, permalinks, images, feeds, footer and markdown."""
    pagination = c.mapping(data, "pagination")
    c.known(pagination, ("pagination",), ("per_page",))
    per_page = c.integer(pagination, "per_page", ("pagination",), 20, (1, 1000))
    if "paginate" in data:
        per_page = c.integer(data, "paginate", (), per_page, (1, 1000))
    feeds = c.mapping(data, "feeds")
    c.known(feeds, ("feeds",), ("limit", "full_content"))
    footer = c.mapping(data, "footer")
    c.known(footer, ("footer",), Footer.__slots__)
    markdown = c.mapping(data, "markdown")
    c.known(markdown, ("markdown",), ("trust_html",))
    return dict(per_page=per_page, permalinks=_permalinks(c, c.mapping(data, "permalinks")),
                images=_images(c, c.mapping(data, "images")),
                attachments=attachmentsmod.read_settings(c, c.mapping(data, "attachments")),
                footer=Footer(**{k: c.text(footer, k, ("footer",)) for k in Footer.__slots__}),
                feeds_limit=c.integer(feeds, "limit", ("feeds",), 20, (1, 1000)),
                feeds_full_content=c.boolean(feeds, "full_content", ("feeds",), True),
                trust_html=c.boolean(markdown, "trust_html", ("markdown",), False))


def _permalinks(c: Checker, given: dict) -> tuple[tuple[str, str], ...]:
    """The permalink pattern of each page kind: the defaults, replaced by the valid patterns of ``given``; each
    invalid one is E908 at its line (a pattern leaving ``output/`` such as ``/../../{slug}/`` among them)."""
    permalinks = dict(DEFAULT_PERMALINKS)
    c.known(given, ("permalinks",), tuple(DEFAULT_PERMALINKS))
    for kind, pattern in given.items():
        if kind not in DEFAULT_PERMALINKS:
            continue
        fields = PERMALINK_FIELDS if kind in ("article", "page", "gallery") else {"slug"}
        problem = "应为文字" if not isinstance(pattern, str) else pattern_problem(pattern, fields)
        if problem:
            c.fail(("permalinks", kind), f"无效的链接格式“{str(pattern)[:80]}”：{problem}",
                   "以 / 开头和结尾，须含 {slug}，可用 " + "、".join("{%s}" % f for f in sorted(fields)), "E908")
        else:
            permalinks[kind] = pattern
    return tuple(permalinks.items())


def _deploy_targets(c: Checker, data: dict) -> tuple[tuple[tuple[str, str], ...], ...]:
    """``deploy.targets``: a list of mappings, each with text ``name`` and ``url`` (E904 for a list written as a
    string or an item that is no mapping, E903 for a missing name or url) and text options."""
    deploy = c.mapping(data, "deploy")
    c.known(deploy, ("deploy",), ("targets",))
    targets = []
    for i, t in enumerate(c.listing(deploy, "targets", ("deploy",))):
        where = ("deploy", "targets", i)
        if not isinstance(t, dict):
            c.fail(where, "发布目标应为 {name: …, url: …}", "例如 - {name: production, url: user@host:/srv/www}",
                   "E904")
            continue
        values = {str(k): c.text(t, k, where) for k in t}
        if all(values.get(k) for k in ("name", "url")):
            targets.append(tuple(values.items()))
        for key in ("name", "url"):
            if not values.get(key) and isinstance(t.get(key, ""), str):
                c.fail(where + (key,), "发布目标缺少 " + key, "例如 - {name: production, url: user@host:/srv/www}",
                       "E903")
    return tuple(targets)


def _limits(c: Checker, data: dict) -> Limits:
    """``limits:`` (see :class:`Limits`); the error size must not be below the warning size (E905)."""
    c.known(data, ("limits",), Limits.__slots__)
    d = Limits()
    warning = c.integer(data, "article_warning_kb", ("limits",), d.article_warning_kb, (1, 1024 * 1024))
    error = c.integer(data, "article_error_kb", ("limits",), d.article_error_kb, (1, 1024 * 1024))
    if error < warning:
        c.fail(("limits", "article_error_kb"), f"{error} 小于 article_warning_kb（{warning}）",
               "出错的大小应不小于提示的大小", "E905")
        error = max(warning, d.article_error_kb)
    return Limits(warning, error, c.integer(data, "tags_warning", ("limits",), d.tags_warning, (1, 100_000)),
                  c.integer(data, "render_seconds", ("limits",), d.render_seconds, (1, 3600)))


HOME_LAYOUTS = ("list", "photos")
"""How the home page may show a category (``categories[].home``)."""


def _sections(c: Checker, data: dict, key: str, required: bool) -> tuple[Section, ...]:
    items = c.listing(data, key)
    if required and not items:
        c.fail((key,), "至少要有一个栏目", f"例如 {key}: [{{name: 工作动态, slug: gongzuo-dongtai}}]", "E903")
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            c.fail((key, i), "应为 {name: 名称, slug: 英文标识}", code="E904")
            continue
        c.known(item, (key, i), ("name", "slug", "description") + (("home",) if key == "categories" else ()))
        name = c.text(item, "name", (key, i), required=True)
        slug = c.text(item, "slug", (key, i))
        if not slug and name:
            slug = slugify(name)
        if slug and not _SLUG.match(slug):
            c.fail((key, i, "slug"), f"slug“{slug[:80]}”只能含小写字母、数字和连字符", "例如 gongzuo-dongtai", "E908")
        elif name and not slug:
            c.fail((key, i), f"无法从“{name[:40]}”生成 slug", "请写出 slug: 英文或拼音", "E908")
        home = c.text(item, "home", (key, i), "list")
        if home not in HOME_LAYOUTS:
            c.fail((key, i, "home"), f"应为 {' 或 '.join(HOME_LAYOUTS)}", "photos：首页以缩略图显示该栏目的最新文章", "E904")
        if name:
            out.append(Section(name, slug, c.text(item, "description", (key, i)), home))
    return tuple(out)


def _images(c: Checker, data: dict) -> ImageSettings:
    c.known(data, ("images",), ImageSettings.__slots__)
    d = ImageSettings()
    widths = data.get("widths", [str(w) for w in d.widths])
    try:
        if not isinstance(widths, list) or not all(isinstance(w, str) and re.fullmatch(r"\d{1,6}", w.strip())
                                                    for w in widths):
            raise ValueError
        widths = tuple(sorted({int(w) for w in widths}))
        if not widths or min(widths) < 16 or max(widths) > 10000:
            raise ValueError
    except (TypeError, ValueError):
        c.fail(("images", "widths"), "应为 16–10000 之间的像素宽度列表", "例如 widths: [480, 960, 1600]", "E904")
        widths = d.widths
    formats = data.get("formats", list(d.formats))
    if not isinstance(formats, list) or not formats or any(f not in ("jpeg", "webp") for f in formats):
        c.fail(("images", "formats"), "只支持 jpeg 和 webp", "例如 formats: [jpeg, webp]", "E904")
        formats = d.formats
    keep = data.get("keep_exif") or []
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        c.fail(("images", "keep_exif"), "应为 EXIF 标签名列表", "例如 keep_exif: [Copyright]", "E904")
        keep = []
    background = c.text(data, "background", ("images",), d.background)
    if not re.match(r"^#[0-9a-fA-F]{6}$", background):
        c.fail(("images", "background"), f"颜色“{background[:40]}”无效", "例如 background: '#ffffff'", "E904")
        background = d.background
    return ImageSettings(
        widths=widths, formats=tuple(dict.fromkeys(formats)),
        quality=c.integer(data, "quality", ("images",), d.quality, (1, 100)),
        max_pixels=c.integer(data, "max_pixels", ("images",), d.max_pixels, (1, 10**10)),
        background=background.lower(), keep_exif=tuple(keep),
        publish_originals=c.boolean(data, "publish_originals", ("images",), d.publish_originals),
        timeout=float(c.integer(data, "timeout", ("images",), int(d.timeout), (1, 3600))),
    )


def _menu(c: Checker, data: dict, categories, columns) -> tuple[MenuItem, ...]:
    """Menu entries ``{name, url}``, ``{category: 名称或slug}``, ``{column: …}``, ``{page: slug}`` or a bare
    category/column name. Default: 首页, every category, every column. A ``url`` with a ``javascript:``,
    ``data:`` or other unsafe scheme is E910 (it would be on every page)."""
    items = c.listing(data, "menu")
    if not items:
        return ((MenuItem("首页", "/"),) + tuple(MenuItem(s.name, f"/{s.slug}/") for s in categories)
                + tuple(MenuItem(s.name, f"/{s.slug}/") for s in columns))
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            item = {"category": item} if _find(categories, item) else {"column": item}
        if not isinstance(item, dict):
            c.fail(("menu", i), "菜单项应为 {name: …, url: …}", code="E904")
            continue
        c.known(item, ("menu", i), ("name", "url", "category", "column", "page"))
        entry = _menu_item(c, item, i, categories, columns)
        if entry:
            out.append(entry)
    return tuple(out)


def _menu_item(c: Checker, item: dict, i: int, categories, columns) -> MenuItem | None:
    name = c.text(item, "name", ("menu", i))
    if "category" in item or "column" in item:
        kind = "category" if "category" in item else "column"
        sec = _find(categories if kind == "category" else columns, str(item[kind]))
        if sec is None:
            c.fail(("menu", i, kind), f"没有名为“{str(item[kind])[:40]}”的{'栏目' if kind == 'category' else '专栏'}",
                   "请使用 categories / columns 中的名称或 slug", "E907")
            return None
        return MenuItem(name or sec.name, f"/{sec.slug}/")
    if "page" in item:
        page = c.text(item, "page", ("menu", i))
        if not _SLUG.match(page.strip("/")):
            c.fail(("menu", i, "page"), f"页面 slug“{page[:40]}”只能含小写字母、数字和连字符", "例如 page: guanyu-women",
                   "E908")
            return None
        return MenuItem(name or page, f"/{page.strip('/')}/")
    url = c.link(item, "url", ("menu", i))
    if name and url:
        return MenuItem(name, url)
    if "url" not in item or not name:
        c.fail(("menu", i), "菜单项需要 name 和 url（或 category / column / page）", code="E903")
    return None
