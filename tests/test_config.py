"""sitegen.config: site.yaml validated in one pass — required keys, unknown keys with "did you mean", wrong types,
the base_url sub-path, and exit code 2 through the CLI with ``site.yaml:LINE:`` on stderr."""
from __future__ import annotations

import pytest

from conftest import make_site, run_cli
from sitegen import config
from sitegen.errors import ConfigError


def load_yaml(tmp_path, text: str):
    return config.load(make_site(tmp_path, {"site.yaml": text}))


def problems_of(tmp_path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path, text)
    return [str(p) for p in info.value.problems]


def test_minimal_config_and_defaults(tmp_path):
    cfg = load_yaml(tmp_path, "title: 测试站\nbase_url: https://www.example.org.cn\ncategories: [工作动态]\n")
    assert cfg.title == "测试站"
    assert cfg.base_url == "https://www.example.org.cn/"
    assert cfg.base_path == "/"
    assert cfg.categories[0].name == "工作动态"
    assert cfg.categories[0].slug == "gong-zuo-dong-tai"  # pinyin when no slug is given
    assert cfg.timezone == "Asia/Shanghai" and cfg.language == "zh-CN"
    assert cfg.per_page == 20 and cfg.summary_length == 120
    assert cfg.permalink("article") == "/{category}/{year}/{month}/{slug}/"
    assert cfg.root == (tmp_path / "site").resolve()
    assert cfg.cache_dir == cfg.root / ".sitegen-cache"
    assert [m.url for m in cfg.menu] == ["/", "/gong-zuo-dong-tai/"]


def test_base_url_with_sub_path(tmp_path):
    cfg = load_yaml(tmp_path, "title: t\nbase_url: https://www.example.org.cn/hebei/fulian\ncategories: [工作动态]\n")
    assert cfg.base_url == "https://www.example.org.cn/hebei/fulian/"
    assert cfg.base_path == "/hebei/fulian/"


def test_repository_site_yaml_is_valid():
    from conftest import REPO

    cfg = config.load(REPO)
    assert cfg.title == "河北妇女网"
    assert "改革进行时" in [c.name for c in cfg.columns]
    assert cfg.footer.icp and cfg.footer.sponsor == "河北省妇女联合会"


def test_required_keys_missing(tmp_path):
    assert problems_of(tmp_path, "description: 只有描述\n") == [
        "site.yaml:1: E903: title：缺少必填项（请在 site.yaml 中写上 title: …）",
        "site.yaml:1: E903: base_url：缺少必填项（请在 site.yaml 中写上 base_url: …）",
        "site.yaml:1: E903: categories：至少要有一个栏目（例如 categories: [{name: 工作动态, slug: gongzuo-dongtai}]）",
    ]


def test_unknown_key_did_you_mean_with_line(tmp_path):
    text = "title: t\nbase_url: https://a.cn/\ncategories: [工作动态]\n\nsumary_length: 80\n"
    assert problems_of(tmp_path, text) == [
        "site.yaml:5: E902: sumary_length：未知的配置项（是不是想写“summary_length”？）"]


def test_unknown_nested_key(tmp_path):
    text = "title: t\nbase_url: https://a.cn/\ncategories: [工作动态]\npagination:\n  perpage: 10\n"
    assert problems_of(tmp_path, text) == [
        "site.yaml:5: E902: pagination.perpage：未知的配置项（是不是想写“per_page”？）"]


def test_wrong_types_all_reported_at_once(tmp_path):
    text = ("title: [a, b]\n"
            "base_url: www.example.org.cn\n"
            "categories: [工作动态]\n"
            "summary_length: 很多\n"
            "pagination: {per_page: 0}\n"
            "feeds: {full_content: maybe}\n"
            "timezone: Mars/Olympus\n")
    found = problems_of(tmp_path, text)
    assert sorted(found) == sorted([
        "site.yaml:1: E904: title：应为文字（请写成 key: 值 的形式）",
        "site.yaml:2: E906: base_url：不是有效的网址：“www.example.org.cn”（例如 https://www.example.org.cn/ （可带子路径））",
        "site.yaml:4: E904: summary_length：应为整数，实际是“很多”（例如 summary_length: 120）",
        "site.yaml:5: E905: pagination.per_page：0 超出范围 1–1000（例如 per_page: 20）",
        "site.yaml:6: E904: feeds.full_content：应为 true 或 false，实际是“maybe”",
        "site.yaml:7: E906: timezone：未知的时区“Mars/Olympus”（例如 timezone: Asia/Shanghai）",
    ])


def test_bad_section_slug_and_duplicates(tmp_path):
    text = ("title: t\nbase_url: https://a.cn/\ncategories:\n"
            "  - {name: 工作动态, slug: Gongzuo_Dongtai}\n"
            "  - {name: 工作动态, slug: other}\n")
    found = problems_of(tmp_path, text)
    assert "site.yaml:4: E908: categories.0.slug：slug“Gongzuo_Dongtai”只能含小写字母、数字和连字符（例如 gongzuo-dongtai）" in found
    assert any(p.startswith("site.yaml:5: E907: categories.1：名称或 slug“工作动态”") for p in found)


def test_category_shown_as_photos_on_the_home_page(tmp_path):
    cfg = load_yaml(tmp_path, "title: t\nbase_url: https://a.cn/\ncategories:\n"
                              "  - {name: 图片新闻, slug: tupian-xinwen, home: photos}\n  - 工作动态\n")
    assert [c.home for c in cfg.categories] == ["photos", "list"]
    found = problems_of(tmp_path, "title: t\nbase_url: https://a.cn/\ncategories:\n"
                                  "  - {name: 图片新闻, home: pictures}\ncolumns:\n  - {name: 改革进行时, home: photos}\n")
    assert found == [
        "site.yaml:4: E904: categories.0.home：应为 list 或 photos（photos：首页以缩略图显示该栏目的最新文章）",
        "site.yaml:6: E902: columns.0.home：未知的配置项（可用的键：name、slug、description）"]


def test_bad_permalink_pattern(tmp_path):
    text = "title: t\nbase_url: https://a.cn/\ncategories: [工作动态]\npermalinks:\n  article: /{year}/{title}/\n"
    found = problems_of(tmp_path, text)
    assert len(found) == 1 and found[0].startswith("site.yaml:5: E908: permalinks.article：无效的链接格式“/{year}/{title}/”")


def test_yaml_syntax_error_names_the_line(tmp_path):
    found = problems_of(tmp_path, "title: t\nbase_url: https://a.cn/\ncategories: [工作动态\n")
    assert len(found) == 1 and found[0].startswith("site.yaml:") and ": E101: YAML 格式错误" in found[0]


def test_missing_site_yaml(tmp_path):
    with pytest.raises(ConfigError) as info:
        config.load(tmp_path)
    assert info.value.problems[0].code == "E900"


def test_cli_exit_code_2_with_line_on_stderr(tmp_path):
    root = make_site(tmp_path, {"site.yaml": "title: t\nbase_url: https://a.cn/\ncategories: [工作动态]\nthem: x\n"})
    code, out, err = run_cli(["build", root])
    assert code == 2
    assert "site.yaml:4: E902: them：未知的配置项（是不是想写“theme”？）" in err
    assert not (root / "output").exists()


def test_cli_subprocess_config_error_is_not_a_traceback(tmp_path):
    root = make_site(tmp_path, {"site.yaml": "title: t\nbase_url: https://a.cn/\ncategories: 工作动态\n"})
    code, out, err = run_cli(["build", root], subprocess_=True)
    assert code == 2
    assert "site.yaml:3: E904: categories：应为列表（例如 categories: [ … ]）" in err
    assert "Traceback" not in err + out


def test_a_missing_site_folder_is_named_as_a_folder(tmp_path):
    """`sitegen build /no/such/dir` said "找不到配置文件 /no/such/dir", as if the folder were the config file."""
    from conftest import run_cli

    missing = tmp_path / "no-such-site"
    code, out, err = run_cli(["build", missing])
    assert code == 2
    assert err == f"{missing}: E900: 站点目录不存在：{missing}（请检查路径，或在站点目录中运行 sitegen）  [错误]\n"
    (tmp_path / "empty").mkdir()
    code, out, err = run_cli(["check", tmp_path / "empty"])
    assert code == 2 and f"找不到配置文件 {tmp_path / 'empty' / 'site.yaml'}" in err


# -- issue 21: values that would be unsafe on every page are refused at their line ------------------------------

SITE = "title: t\nbase_url: https://a.cn/\ncategories: [工作动态]\n"


def test_permalink_pattern_leaving_the_output_folder_is_an_error(tmp_path):
    found = problems_of(tmp_path, SITE + 'permalinks: {article: "/../../{slug}/"}\n')
    assert found == ["site.yaml:4: E908: permalinks.article：无效的链接格式“/../../{slug}/”：含有空的或“..”路径段"
                     "（网址会离开网站目录或无法打开）（以 / 开头和结尾，须含 {slug}，可用 {category}、{column}、{day}、"
                     "{month}、{slug}、{year}）"]


@pytest.mark.parametrize("pattern, reason", [
    ("/a\\\\b/{slug}/", "含有不能用在网址路径中的字符“\\”"),
    ("/{slug}/?x/", "含有不能用在网址路径中的字符“?”"),
    ("/{slug}/\\u202e/", "含有空白或不可见的控制字符 U+202E（从右到左覆盖）"),
    ("/./{slug}/", "含有空的或“.”路径段"),
    ("/a//{slug}/", "含有空的或“//”路径段"),
    ("/{slug.__class__}/", "不能使用“{slug.__class__}”"),
    ("/{slug}/{0}/", "不能使用“{0}”"),
    ("/{slug/", "花括号 { } 不成对"),
    ("/" + "长" * 86 + "/{slug}/", "路径段超过 255 字节"),
])
def test_permalink_pattern_rules(tmp_path, pattern, reason):
    found = problems_of(tmp_path, SITE + f'permalinks: {{page: "{pattern}"}}\n')
    assert len(found) == 1 and found[0].startswith("site.yaml:4: E908: permalinks.page：") and reason in found[0]


def test_listing_permalinks_may_only_use_the_slug(tmp_path):
    # "/{year}/{slug}/" for a category has no year to fill in: refused, not a KeyError while building
    found = problems_of(tmp_path, SITE + 'permalinks: {category: "/{year}/{slug}/"}\n')
    assert "不能使用“{year}”" in found[0] and found[0].startswith("site.yaml:4: E908")


@pytest.mark.parametrize("url, scheme", [("javascript:alert(8)", "javascript"), (" JaVaScRiPt:alert(8)", "javascript"),
                                         ("java\\tscript:alert(8)", "javascript"), ("data:text/html,<b>", "data"),
                                         ("vbscript:x", "vbscript")])
def test_menu_links_with_script_schemes_are_errors(tmp_path, url, scheme):
    found = problems_of(tmp_path, SITE + f'menu:\n  - {{name: 首页, url: /}}\n  - {{name: 点我, url: "{url}"}}\n')
    assert found == [f"site.yaml:6: E910: menu.1.url：不允许的网址协议“{scheme}:”（可能被用来执行脚本）"
                     "（菜单链接应为站内路径（如 /gongzuo-dongtai/）或 http(s)://、mailto:、tel: 网址）"]


def test_menu_links_that_are_fine(tmp_path):
    cfg = load_yaml(tmp_path, SITE + "menu:\n  - {name: 首页, url: /}\n  - {name: 国务院, url: 'https://www.gov.cn/'}\n"
                                     "  - {name: 来信, url: 'mailto:a@b.cn'}\n  - {page: guanyu}\n")
    assert [m.url for m in cfg.menu] == ["/", "https://www.gov.cn/", "mailto:a@b.cn", "/guanyu/"]
    found = problems_of(tmp_path, SITE + "menu:\n  - {name: x, url: '/\\\\evil.example'}\n  - {page: ../x}\n")
    assert [p.split("：")[0] for p in found] == ["site.yaml:5: E910: menu.0.url", "site.yaml:6: E908: menu.1.page"]


def test_deploy_targets_written_as_a_string_or_without_url(tmp_path):
    assert problems_of(tmp_path, SITE + "deploy:\n  targets: production\n") == [
        "site.yaml:5: E904: deploy.targets：应为列表（例如 targets: [ … ]）"]
    assert problems_of(tmp_path, SITE + "deploy:\n  targets:\n    - {name: production}\n") == [
        "site.yaml:6: E903: deploy.targets.0.url：发布目标缺少 url（例如 - {name: production, url: user@host:/srv/www}）"]


def test_a_20_mb_description_is_refused_at_once(tmp_path):
    root = make_site(tmp_path, {"site.yaml": SITE + "description: " + "妇" * 7_000_000 + "\n"})
    with pytest.raises(ConfigError) as info:  # read no further than the limit, never parsed
        config.load(root)
    assert [str(p) for p in info.value.problems] == ["site.yaml: E900: 配置文件大于 1024 KB"
                                                     "（site.yaml 只放设置；长文请写成 content/pages/ 中的页面）"]
    found = problems_of(tmp_path, SITE + "description: " + "妇" * 3000 + "\n")
    assert found == ["site.yaml:4: E905: description：文字过长（3000 个字符，最多 2000 个）（请改短；长文请写成 content/pages/ 中的页面）"]


@pytest.mark.parametrize("depth", [9])
def test_billion_laughs_and_deep_nesting_in_site_yaml(tmp_path, depth):
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, depth)]
    found = problems_of(tmp_path, "\n".join(rows) + "\n" + SITE)
    assert found[0].startswith("site.yaml:5: E108: 别名展开后超过 10000 项")
    found = problems_of(tmp_path, SITE + "menu: " + "[" * 600 + "]" * 600 + "\n")
    assert found[0].startswith("site.yaml:4: E107: 列表或键值的嵌套超过 50 层")


def test_limits_have_defaults_and_are_checked(tmp_path):
    cfg = load_yaml(tmp_path, SITE)
    assert (cfg.limits.article_warning_kb, cfg.limits.article_error_kb, cfg.limits.tags_warning,
            cfg.limits.render_seconds) == (256, 1024, 50, 5)
    found = problems_of(tmp_path, SITE + "limits: {article_warning_kb: 100, article_error_kb: 10, render_seconds: 1e400}\n")
    assert found == ["site.yaml:4: E905: limits.article_error_kb：10 小于 article_warning_kb（100）（出错的大小应不小于提示的大小）",
                     "site.yaml:4: E904: limits.render_seconds：应为整数，实际是“1e400”（例如 render_seconds: 5）"]
