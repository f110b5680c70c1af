"""One language (issue 17, point 7): ``sitegen --help``, every sub-command's help, the usage line and argparse's own
errors are in Chinese; exit codes stay (2 for usage errors)."""
from __future__ import annotations

import re

import pytest

from conftest import run_cli
from sitegen import cli

COMMANDS = ("build", "check", "serve", "new", "deploy", "clean")
# what may stay in Latin letters: the program, its commands and options, choices, file and URL examples
_ALLOWED = re.compile(r"--?[a-z][\w-]*|\{[^}]*\}|[\w.@/:-]*[/.@:][\w.@/:-]*|\b(?:sitegen|site\.yaml|output|text|json|"
                      r"article|gallery|production|CPU|CI|DIR|Tab)\b")


def english_sentences(text: str) -> list[str]:
    """Runs of two or more English words left once options, commands, choices and paths are taken out."""
    rest = _ALLOWED.sub(" ", text)
    return re.findall(r"[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,})+", rest)


@pytest.mark.parametrize("argv", [["--help"]] + [[c, "--help"] for c in COMMANDS])
def test_help_has_no_english_sentence(argv):
    code, out, err = run_cli(argv)
    assert code == 0 and err == ""
    assert out.startswith("用法：sitegen")
    assert english_sentences(out) == [], out
    for word in ("usage", "positional arguments", "options:", "show this help", "show program"):
        assert word not in out


def test_top_level_help_lists_every_command_in_chinese():
    code, out, _ = run_cli(["--help"])
    for command in COMMANDS:
        (line,) = [l for l in out.splitlines() if l.split()[:1] == [command]]
        assert re.search(r"[\u4e00-\u9fff]", line), line
    assert "选项:" in out and "命令:" in out and "-h, --help" in out and "显示这份帮助并退出" in out


@pytest.mark.parametrize("argv, message", [
    (["bulid"], "sitegen：错误：命令 不能是 'bulid'，可选："),
    (["new"], "sitegen new：错误：缺少必需的参数：类型, 标题"),
    (["build", "--frob"], "sitegen：错误：无法识别的参数：--frob（运行 sitegen -h 查看用法）"),
    (["build", "--jobs", "0"], "sitegen build：错误：--jobs：应为正整数（至少 1），实际是 0"),
    (["serve", "--port"], "sitegen serve：错误：--port 后面需要写一个值"),
    (["check", "--format", "xml"], "sitegen check：错误：--format 不能是 'xml'，可选：'text', 'json'"),
    (["serve", "--port", "八千"], "sitegen serve：错误：--port 的值 '八千' 无效"),
])
def test_usage_errors_in_chinese_exit_2(argv, message):
    code, out, err = run_cli(argv)
    assert code == 2 and out == ""
    assert err.startswith("用法：sitegen"), err
    assert message in err, err
    assert english_sentences(err) == [], err


def test_unknown_argparse_wording_is_kept_rather_than_lost():
    assert cli.translate_error("something new from a later Python") == "something new from a later Python"
