"""Load and validate ``site.yaml`` in one pass into a frozen :class:`Config`.

Only ``title``, ``base_url`` and ``categories`` are required; every other key has the default documented in
README.md. Every problem names its key path and file line, unknown keys get a "did you mean", and all problems are
raised together as one :class:`~sitegen.errors.ConfigError` (exit code 2). The schema style follows MkDocs'
``config/base.py``: one pass, each problem naming its key.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sitegen import yamlsafe
from sitegen.attachments import DEFAULT_EXTENSIONS, DEFAULT_MAX_MB
from sitegen.slugs import slugify
from sitegen.errors import ConfigError, Location, Problem


@dataclass(frozen=True, slots=True)
class Section:
    """A category or column: ``name`` shown to readers, ``slug`` used in URLs, optional ``description``."""

    name: str
    slug: str
    description: str = ""


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
class AttachmentSettings:
    """``attachments:`` — which linked files are published with their page (``extensions``, lower case without
    the dot; see :mod:`sitegen.attachments`) and above how many MB (1024 × 1024 bytes) one is reported
    (``max_mb``)."""

    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    max_mb: int = DEFAULT_MAX_MB


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

    def fingerprint(self) -> str:
        """A hex digest of every setting that affects output (for cache keys)."""
        data = asdict(self)
        data.pop("root")
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


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

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class _Checker:
    """Collects problems while reading ``site.yaml``; ``lines`` maps key paths to file lines."""

    def __init__(self, path: str, lines: dict):
        self.path = path
        self.lines = lines
        self.problems: list[Problem] = []

    def line(self, keypath) -> int:
        keypath = tuple(keypath)
        while keypath and keypath not in self.lines:
            keypath = keypath[:-1]
        return self.lines.get(keypath, 1)

    def fail(self, keypath, message: str, hint: str = "", code: str = "E901") -> None:
        name = ".".join(str(k) for k in keypath) or "site.yaml"
        self.problems.append(Problem(Location(self.path, self.line(keypath)), code, f"{name}：{message}", hint))

    def known(self, data: dict, keypath, allowed) -> None:
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(key, list(allowed), n=1)
                hint = f"是不是想写“{close[0]}”？" if close else "可用的键：" + "、".join(allowed)
                self.fail(tuple(keypath) + (key,), "未知的配置项", hint, "E902")

    def text(self, data: dict, key: str, keypath=(), default: str = "", required: bool = False) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(tuple(keypath) + (key,), "缺少必填项", f"请在 site.yaml 中写上 {key}: …", "E903")
            return default
        if not isinstance(value, str):
            self.fail(tuple(keypath) + (key,), "应为文字", "请写成 key: 值 的形式", "E904")
            return default
        return value.strip()

    def integer(self, data: dict, key: str, keypath, default: int, low: int, high: int) -> int:
        value = data.get(key)
        if value is None:
            return default
        try:
            number = int(str(value).replace("_", ""))
        except ValueError:
            self.fail(tuple(keypath) + (key,), f"应为整数，实际是“{value}”", f"例如 {key}: {default}", "E904")
            return default
        if not low <= number <= high:
            self.fail(tuple(keypath) + (key,), f"{number} 超出范围 {low}–{high}", f"例如 {key}: {default}", "E905")
            return default
        return number

    def boolean(self, data: dict, key: str, keypath, default: bool) -> bool:
        value = data.get(key)
        if value is None:
            return default
        if str(value).lower() in ("true", "yes", "on"):
            return True
        if str(value).lower() in ("false", "no", "off"):
            return False
        self.fail(tuple(keypath) + (key,), f"应为 true 或 false，实际是“{value}”", code="E904")
        return default

    def mapping(self, data: dict, key: str) -> dict:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail((key,), "应为键值映射", f"例如 {key}: {{子项: 值}}", "E904")
            return {}
        return value

    def listing(self, data: dict, key: str) -> list:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail((key,), "应为列表", f"例如 {key}: [ … ]", "E904")
            return []
        return value


TOP_KEYS = ("title", "base_url", "description", "language", "timezone", "theme", "categories", "columns", "menu",
            "pagination", "paginate", "summary_length", "permalinks", "images", "feeds", "footer", "deploy",
            "markdown", "attachments")


def load(path: str | Path) -> Config:
    """Read and validate ``site.yaml`` at ``path`` (a file, or a project folder containing one).

    Returns a frozen :class:`Config` whose ``root`` is the file's folder. Raises :class:`ConfigError` with every
    problem found (missing file, YAML syntax, unknown keys, wrong types, missing required values), each naming
    ``site.yaml:line`` and a Chinese hint.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "site.yaml"
    root, shown = path.parent.resolve(), path.name
    loaded = _read(path)
    data = loaded.value
    c = _Checker(shown, loaded.lines)
    c.known(data, (), TOP_KEYS)
    title = c.text(data, "title", required=True)
    base_url, base_path = _base_url(c, data)
    timezone = c.text(data, "timezone", default="Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        c.fail(("timezone",), f"未知的时区“{timezone}”", "例如 timezone: Asia/Shanghai", "E906")
        timezone = "Asia/Shanghai"
    categories, columns = _all_sections(c, data)
    pagination = c.mapping(data, "pagination")
    c.known(pagination, ("pagination",), ("per_page",))
    per_page = c.integer(pagination, "per_page", ("pagination",), 20, 1, 1000)
    if "paginate" in data:
        per_page = c.integer(data, "paginate", (), per_page, 1, 1000)
    feeds, markdown, footer_data = (c.mapping(data, key) for key in ("feeds", "markdown", "footer"))
    c.known(feeds, ("feeds",), ("limit", "full_content"))
    c.known(footer_data, ("footer",), Footer.__slots__)
    c.known(markdown, ("markdown",), ("trust_html",))
    theme = c.text(data, "theme", default="default")
    if theme != "default" and not (root / "themes" / theme).is_dir():
        c.fail(("theme",), f"找不到主题文件夹 themes/{theme}", "主题放在 themes/<名称>/templates 中", "E909")
        theme = "default"
    config = Config(
        root=root, title=title, base_url=base_url, base_path=base_path, categories=categories, columns=columns,
        description=c.text(data, "description"), language=c.text(data, "language", default="zh-CN"),
        timezone=timezone, theme=theme, menu=_menu(c, data, categories, columns, base_path), per_page=per_page,
        summary_length=c.integer(data, "summary_length", (), 120, 10, 2000),
        permalinks=tuple(_permalinks(c, data).items()), images=_images(c, c.mapping(data, "images")),
        footer=Footer(**{k: c.text(footer_data, k, ("footer",)) for k in Footer.__slots__}),
        attachments=_attachments(c, c.mapping(data, "attachments")),
        feeds_limit=c.integer(feeds, "limit", ("feeds",), 20, 1, 1000),
        feeds_full_content=c.boolean(feeds, "full_content", ("feeds",), True),
        trust_html=c.boolean(markdown, "trust_html", ("markdown",), False),
        deploy_targets=_deploy_targets(c, data), source_path=shown)
    if c.problems:
        raise ConfigError(f"site.yaml 有 {len(c.problems)} 处问题", tuple(c.problems))
    return config


def _read(path: Path) -> yamlsafe.Loaded:
    """``site.yaml`` read as YAML (a mapping). Raises :class:`ConfigError` (E900 missing or not UTF-8, E90x YAML)."""
    shown = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    except FileNotFoundError:
        if not path.parent.is_dir() or (path.name != "site.yaml" and path.suffix not in (".yaml", ".yml")):
            missing = path if path.suffix not in (".yaml", ".yml") else path.parent
            raise ConfigError(f"找不到 {missing}", (Problem(Location(str(missing)), "E900", f"站点目录不存在：{missing}",
                                                          "请检查路径，或在站点目录中运行 sitegen"),)) from None
        raise ConfigError(f"找不到 {path}", (Problem(Location(str(path)), "E900", f"找不到配置文件 {path}",
                                                   "请在站点目录中运行，或写出站点目录：sitegen build 目录"),)) from None
    except UnicodeDecodeError:
        raise ConfigError("site.yaml 不是 UTF-8", (Problem(Location(shown), "E900", "配置文件不是 UTF-8 编码",
                                                          "请用 UTF-8 编码保存 site.yaml"),)) from None
    try:
        loaded = yamlsafe.load(text, shown)
    except yamlsafe.YamlProblem as exc:
        raise ConfigError(str(exc.problem), exc.problems) from None
    if not isinstance(loaded.value, dict):
        problem = Problem(Location(shown, 1), "E901", "site.yaml 应为键值映射", "参照 README 中的示例")
        raise ConfigError(str(problem), (problem,))
    return loaded


def _base_url(c: _Checker, data: dict) -> tuple[str, str]:
    """``(base_url ending in /, its path part)``."""
    base_url = c.text(data, "base_url", required=True)
    if base_url and not re.match(r"^https?://[^/\s]+(/\S*)?$", base_url):
        c.fail(("base_url",), f"不是有效的网址：“{base_url}”", "例如 https://www.example.org.cn/ （可带子路径）",
               "E906")
    base_url = base_url.rstrip("/") + "/"
    base_path = "/" + base_url.split("://", 1)[-1].partition("/")[2]
    return base_url, base_path.rstrip("/") + "/"


def _all_sections(c: _Checker, data: dict) -> tuple[tuple[Section, ...], tuple[Section, ...]]:
    """Categories and columns, every name and slug unique among them (E907)."""
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
    return categories, columns


def _permalinks(c: _Checker, data: dict) -> dict[str, str]:
    permalinks = dict(DEFAULT_PERMALINKS)
    given = c.mapping(data, "permalinks")
    c.known(given, ("permalinks",), tuple(DEFAULT_PERMALINKS))
    for kind, pattern in given.items():
        if kind not in DEFAULT_PERMALINKS or not isinstance(pattern, str):
            continue
        bad = set(re.findall(r"{(\w+)}", pattern)) - PERMALINK_FIELDS
        if bad or not pattern.startswith("/") or not pattern.endswith("/") or "{slug}" not in pattern:
            c.fail(("permalinks", kind), f"无效的链接格式“{pattern}”",
                   "以 / 开头和结尾，须含 {slug}，可用 " + "、".join("{%s}" % f for f in sorted(PERMALINK_FIELDS)),
                   "E908")
        else:
            permalinks[kind] = pattern
    return permalinks


def _deploy_targets(c: _Checker, data: dict) -> tuple[tuple[tuple[str, str], ...], ...]:
    deploy = c.mapping(data, "deploy")
    c.known(deploy, ("deploy",), ("targets",))
    targets = []
    for i, t in enumerate(deploy.get("targets") or []):
        if not isinstance(t, dict) or not t.get("name") or not t.get("url"):
            c.fail(("deploy", "targets", i), "每个发布目标需要 name 和 url", "例如 - {name: production, url: …}")
            continue
        targets.append(tuple((str(k), str(v)) for k, v in t.items()))
    return tuple(targets)


def _sections(c: _Checker, data: dict, key: str, required: bool) -> tuple[Section, ...]:
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
        c.known(item, (key, i), ("name", "slug", "description"))
        name = c.text(item, "name", (key, i), required=True)
        slug = c.text(item, "slug", (key, i))
        if not slug and name:
            slug = slugify(name)
        if slug and not _SLUG.match(slug):
            c.fail((key, i, "slug"), f"slug“{slug}”只能含小写字母、数字和连字符", "例如 gongzuo-dongtai", "E908")
        if name:
            out.append(Section(name, slug, c.text(item, "description", (key, i))))
    return tuple(out)


def _images(c: _Checker, data: dict) -> ImageSettings:
    c.known(data, ("images",), ImageSettings.__slots__)
    d = ImageSettings()
    widths = data.get("widths", list(d.widths))
    try:
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
    if not isinstance(keep, list):
        c.fail(("images", "keep_exif"), "应为 EXIF 标签名列表", "例如 keep_exif: [Copyright]", "E904")
        keep = []
    background = c.text(data, "background", ("images",), d.background)
    if not re.match(r"^#[0-9a-fA-F]{6}$", background):
        c.fail(("images", "background"), f"颜色“{background}”无效", "例如 background: '#ffffff'", "E904")
        background = d.background
    return ImageSettings(
        widths=widths, formats=tuple(dict.fromkeys(formats)),
        quality=c.integer(data, "quality", ("images",), d.quality, 1, 100),
        max_pixels=c.integer(data, "max_pixels", ("images",), d.max_pixels, 1, 10**10),
        background=background.lower(), keep_exif=tuple(str(k) for k in keep),
        publish_originals=c.boolean(data, "publish_originals", ("images",), d.publish_originals),
        timeout=float(c.integer(data, "timeout", ("images",), int(d.timeout), 1, 3600)),
    )


def _attachments(c: _Checker, data: dict) -> AttachmentSettings:
    c.known(data, ("attachments",), AttachmentSettings.__slots__)
    d = AttachmentSettings()
    extensions = data.get("extensions", list(d.extensions))
    if not isinstance(extensions, list) or not all(isinstance(e, str) and re.fullmatch(r"\.?[A-Za-z0-9]{1,10}", e)
                                                   for e in extensions):
        c.fail(("attachments", "extensions"), "应为文件扩展名列表", "例如 extensions: [pdf, docx, xlsx, wps, ofd]", "E904")
        extensions = d.extensions
    return AttachmentSettings(tuple(dict.fromkeys(e.lower().lstrip(".") for e in extensions)),
                              c.integer(data, "max_mb", ("attachments",), d.max_mb, 1, 10000))


def _menu(c: _Checker, data: dict, categories, columns, base_path: str) -> tuple[MenuItem, ...]:
    """Menu entries ``{name, url}``, ``{category: 名称或slug}``, ``{column: …}``, ``{page: slug}`` or a bare
    category/column name. Default: 首页, every category, every column."""
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
        if "category" in item or "column" in item:
            kind = "category" if "category" in item else "column"
            sec = _find(categories if kind == "category" else columns, str(item[kind]))
            if sec is None:
                c.fail(("menu", i, kind), f"没有名为“{item[kind]}”的{'栏目' if kind == 'category' else '专栏'}",
                       "请使用 categories / columns 中的名称或 slug", "E907")
                continue
            out.append(MenuItem(str(item.get("name") or sec.name), f"/{sec.slug}/"))
        elif "page" in item:
            out.append(MenuItem(str(item.get("name") or item["page"]), f"/{str(item['page']).strip('/')}/"))
        elif item.get("name") and item.get("url"):
            out.append(MenuItem(str(item["name"]), str(item["url"])))
        else:
            c.fail(("menu", i), "菜单项需要 name 和 url（或 category / column / page）", code="E903")
    return tuple(out)
