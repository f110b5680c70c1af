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
