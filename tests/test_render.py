"""sitegen.render: a site theme overrides one template at a time and falls back to the default; template errors
name ``template:line``; the Chinese date filters and URL filters."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import build_site, make_site, run_cli
from sitegen import config as configmod
from sitegen import render
from sitegen.errors import TemplateError

ARTICLE = "---\ntitle: 甲文章\ndate: 2026-11-28 09:30\ncategory: 工作动态\n---\n\n正文。\n"
THEMED = "title: t\nbase_url: https://a.cn/\ncategories: [{name: 工作动态, slug: gongzuo-dongtai}]\ntheme: mine\n"


def test_theme_overrides_one_template_and_falls_back_for_the_rest(tmp_path):
    root = make_site(tmp_path, {
        "site.yaml": THEMED,
        "content/a.md": ARTICLE,
        "themes/mine/templates/article.html":
            "{% extends 'base.html' %}{% block title %}{{ page.title }}{% endblock %}"
            "{% block content %}<h1 class=\"mine\">{{ page.title }}</h1>{% endblock %}",
    })
    report = build_site(root)
    assert report.ok, report.problems
    article = (root / "output/gongzuo-dongtai/2026/11/a/index.html").read_text("utf-8")
    assert '<h1 class="mine">甲文章</h1>' in article
    assert '<header class="site-header">' in article  # base.html from the default theme
    listing = (root / "output/gongzuo-dongtai/index.html").read_text("utf-8")
    assert '<div class="listing">' in listing and 'class="mine"' not in listing  # list.html from the default


def test_theme_partial_override(tmp_path):
    root = make_site(tmp_path, {
        "site.yaml": THEMED, "content/a.md": ARTICLE,
        "themes/mine/templates/partials/footer.html": '<footer class="my-footer">自定义页脚</footer>'})
    assert build_site(root).ok
    for page in ("index.html", "gongzuo-dongtai/index.html", "gongzuo-dongtai/2026/11/a/index.html"):
        assert '<footer class="my-footer">自定义页脚</footer>' in (root / "output" / page).read_text("utf-8")


def test_theme_dirs_order(tmp_path):
    root = make_site(tmp_path, {"site.yaml": THEMED, "themes/mine/templates/404.html": "x"})
    dirs = render.theme_dirs(configmod.load(root))
    assert dirs[0] == root / "themes/mine"
    assert dirs[-1] == render.PACKAGE_THEME


def test_missing_theme_folder_is_a_config_error(tmp_path):
    root = make_site(tmp_path, {"site.yaml": THEMED})
    code, out, err = run_cli(["build", root])
    assert code == 2
    assert "site.yaml:4: E909: theme：找不到主题文件夹 themes/mine（主题放在 themes/<名称>/templates 中）" in err


def test_template_syntax_error_names_template_and_line(tmp_path):
    root = make_site(tmp_path, {
        "site.yaml": THEMED, "content/a.md": ARTICLE,
        "themes/mine/templates/article.html": "{% extends 'base.html' %}\n{% block content %}\n<h1>{{ page.title }</h1>\n"
                                              "{% endblock %}\n"})
    with pytest.raises(TemplateError) as info:
        build_site(root)
    assert str(info.value) == ("themes/mine/templates/article.html:3: E501: 模板语法错误：unexpected '}'"
                               "（检查模板中的变量名和标签是否成对）")
    code, out, err = run_cli(["build", root], subprocess_=True, cwd=tmp_path)
    assert code == 1
    assert "themes/mine/templates/article.html:3: E501: 模板语法错误" in err and "Traceback" not in err


def test_undefined_variable_names_template_and_line(tmp_path):
    root = make_site(tmp_path, {
        "site.yaml": THEMED, "content/a.md": ARTICLE,
        "themes/mine/templates/article.html": "{% extends 'base.html' %}{% block title %}x{% endblock %}\n"
                                              "{% block content %}\n\n"
                                              "<p>{{ page.no_such_field }}</p>\n{% endblock %}\n"})
    with pytest.raises(TemplateError) as info:
        build_site(root)
    assert str(info.value) == ("themes/mine/templates/article.html:4: E501: 模板中使用了不存在的属性："
                               "Page 没有“no_such_field”（检查拼写；如果它应由子模板提供，请在子模板中定义它，"
                               "或覆盖用到它的 block）")


def test_template_mistakes_read_in_chinese_and_the_cli_says_the_build_failed(tmp_path):
    """A page.html override without the title block: the error is in the base template's `{{ title }}`, in Chinese (Jinja2's
    "'title' is undefined" was shown as is), with a hint pointing at the child template; the CLI ends with a
    summary line, and output/ is untouched."""
    root = make_site(tmp_path, {
        "site.yaml": THEMED, "content/pages/about.md": "---\ntitle: 关于我们\n---\n\n简介。\n",
        "themes/mine/templates/base.html": "<!DOCTYPE html>\n<title>{% block title %}{{ title }}{% endblock %}</title>\n"
                                           "{% block content %}{% endblock %}\n",
        "themes/mine/templates/page.html": "{% extends 'base.html' %}{% block content %}{{ body }}{% endblock %}\n"})
    code, out, err = run_cli(["build", root])
    assert code == 1
    assert err == ("themes/mine/templates/base.html:2: E501: 模板中使用了未定义的变量“title”（检查拼写；如果它应由子"
                   "模板提供，请在子模板中定义它，或覆盖用到它的 block）  [错误]\n")
    assert out == "构建失败：主题模板出错，output/ 保持不变（改正模板后重新构建）\n"
    assert not (root / "output" / "index.html").exists()


def test_cn_date_and_other_filters(tmp_path):
    tz = ZoneInfo("Asia/Shanghai")
    d = datetime(2026, 11, 28, 9, 30, 5, tzinfo=tz)
    assert render.cn_date(d) == "2026年11月28日 09:30"
    assert render.cn_date(d, with_time=False) == "2026年11月28日"
    assert render.cn_date(datetime(2026, 3, 5, 0, 0, tzinfo=tz)) == "2026年03月05日"  # a date without a time
    assert render.iso(d) == "2026-11-28T09:30:05+08:00"
    root = make_site(tmp_path, {"site.yaml": "title: t\nbase_url: https://a.cn/sub/\ncategories: [工作动态]\n"})
    env = render.make_env(configmod.load(root), {"style.css": "assets/style.1234abcd.css"})
    f = env.filters
    assert f["url"]("/gongzuo/") == "/sub/gongzuo/" and f["url"]("https://x.cn/") == "https://x.cn/"
    assert f["url"]("#top") == "#top" and f["url"]("mailto:a@b.cn") == "mailto:a@b.cn"
    assert f["abs_url"]("/a/") == "https://a.cn/sub/a/"
    assert f["ymd"](d) == "2026-11-28" and f["short_date"](d) == "11-28"
    assert env.globals["asset"]("style.css") == "/sub/assets/style.1234abcd.css"
    assert render.render(env, "redirect.html", page=type("P", (), {"url": "/x/", "title": "<b>"})(),
                         site=None).count("&lt;b&gt;") >= 1


def test_autoescape(tmp_path):
    root = make_site(tmp_path, {"site.yaml": "title: t\nbase_url: https://a.cn/\ncategories: [工作动态]\n"})
    env = render.make_env(configmod.load(root))
    env.loader.loaders.insert(0, __import__("jinja2").DictLoader({"t.html": "{{ x }}"}))
    assert render.render(env, "t.html", x="<script>") == "&lt;script&gt;"
