"""Command line: ``sitegen build|serve|check|new|deploy|clean …``; turns :class:`SitegenError` into printed lines and exit codes.

Exit codes: 0 success, 1 content errors (or a failed build/deploy), 2 usage or configuration errors, 130 stopped
by Ctrl-C (one Chinese line). Content problems print as ``path:line: code: message（hint）``, all of a build at once,
never a traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path

from sitegen import __version__
from sitegen import config as configmod
from sitegen.errors import Location, Problem, SitegenError, TemplateError, UsageError


def _print_problems(problems, stream=None) -> None:
    stream = stream or sys.stderr
    for p in problems:
        label = "错误" if p.severity == "error" else "提示"
        print(f"{p}  [{label}]", file=stream)


def _summary(report, strict: bool) -> str:
    errors = len(report.errors)
    warnings = len(report.problems) - errors
    if not report.ok:
        return (f"构建失败：{errors} 个错误，{warnings} 个提示；output/ 保持不变（{report.seconds:.2f} 秒）")
    return (f"完成：{report.pages} 个页面，写入 {len(report.written)} 个文件，未变 {report.unchanged} 个，"
            f"删除 {len(report.removed)} 个过期文件（{report.skipped} 个无需重新生成）；图片 {report.images[0]} 张新处理、{report.images[1]} 张来自缓存"
            f"{f'、{report.images[2]} 张失败' if report.images[2] else ''}；{errors} 个错误，{warnings} 个提示；{report.seconds:.2f} 秒")


def _check_output_dir(config, out: Path) -> None:
    """Refuse an output folder that would overwrite the project: the project folder itself or one above it,
    or a folder inside ``content/`` or ``themes/`` (the next build would read its own output). Raises
    :class:`UsageError` (exit code 2)."""
    root = config.root.resolve()
    inside = [root / "content", root / "themes"]
    if root.is_relative_to(out) or any(out.is_relative_to(d) for d in inside):
        raise UsageError(f"输出目录 {out} 不安全：它是站点目录本身、站点目录的上级，或在 content/、themes/ 中，"
                         f"构建会覆盖那里的文件（请用专门的输出目录，如 -o {root / 'output'}）")


def cmd_build(args) -> int:
    from sitegen import build as buildmod
    from sitegen import clock

    config = configmod.load(args.dir)
    out = Path(args.output).resolve() if args.output else None
    if out is not None:
        _check_output_dir(config, out)
    if args.now:  # for this process and its workers: pages, feeds, sitemap and search see the same moment
        clock.pin(clock.parse(args.now, config.tz))
    try:
        options = buildmod.BuildOptions(out=out, strict=args.strict, drafts=args.drafts, future=args.future,
                                        jobs=args.jobs, progress=not args.quiet and sys.stderr.isatty(),
                                        explain=args.explain)
        report = buildmod.build(config, options)
    except TemplateError as exc:
        _print_problems(exc.problems or (Problem(Location(""), "E501", str(exc)),))
        print("构建失败：主题模板出错，output/ 保持不变（改正模板后重新构建）")
        return 1
    if args.explain and report.config_changed:
        print("site.yaml 中有变化的设置：" + "、".join(report.config_changed))
    for rel, why in report.explained:
        print(f"  {rel}: {why}")
    _print_problems(report.problems)
    print(_summary(report, args.strict))
    if report.upcoming is not None:
        print(report.upcoming.describe())
    if getattr(args, "verbose", False):
        print("各阶段用时（秒）：" + "，".join(f"{name} {seconds:.2f}" for name, seconds in report.stages))
    if report.ok and not args.quiet:
        print(_preview_hint(args.dir))
    return 1 if report.errors else 0


def _preview_hint(site_dir: str) -> str:
    """How to look at a built site: through ``serve`` (or any web server), never from disk: the pages link their
    styles, scripts, photos and each other from the site's root (``/assets/…``), which ``file://`` cannot
    resolve."""
    where = "" if Path(site_dir).resolve() == Path.cwd().resolve() else f" {site_dir}"
    return (f"预览：运行 make serve（或 sitegen serve{where}），再在浏览器中打开它显示的地址\n"
            "提示：不要直接双击打开 output/index.html——从磁盘（file://）打开时没有样式，链接和图片也会失效；"
            "output/ 需要放在网站服务器上访问")


def cmd_check(args) -> int:
    from sitegen import check as checkmod
    from sitegen import clock

    try:
        config = configmod.load(args.dir)
    except SitegenError as exc:
        if args.format != "json":
            raise
        problems = exc.problems or (Problem(Location("site.yaml"), "E900", str(exc)),)
        print(json.dumps([p.as_dict() for p in problems], ensure_ascii=False, indent=1))
        return exc.exit_code
    report = checkmod.check(config, now=clock.parse(args.now, config.tz) if args.now else None)
    errors = len(report.errors)
    if args.format == "json":
        print(json.dumps([p.as_dict() for p in report.problems], ensure_ascii=False, indent=1))
    else:
        _print_problems(report.problems, sys.stdout)
        print(f"检查了 {report.files} 个文件：{errors} 个错误，{len(report.problems) - errors} 个提示")
    return 1 if errors else 0


def cmd_serve(args) -> int:
    from sitegen import serve as servemod

    config = configmod.load(args.dir)
    first = [True]

    def on_build(outcome) -> None:
        stamp = time.strftime("%H:%M:%S")
        shown = list(outcome.problems) + (list(outcome.warnings) if first[0] else [])
        _print_problems(shown, sys.stdout)
        what = "构建" if first[0] else "重新构建"
        first[0] = False
        if outcome.report is None or outcome.problems:
            done = "" if outcome.report is None else f"更新 {len(outcome.report.written)} 个文件，"
            print(f"[{stamp}] {what}：{done}{len(outcome.problems)} 个错误，页面上已显示；"
                  f"改正后自动刷新（{outcome.seconds:.2f} 秒）", flush=True)
        else:
            report = outcome.report
            print(f"[{stamp}] {what}完成：{report.pages} 个页面，更新 {len(report.written)} 个文件，"
                  f"删除 {len(report.removed)} 个（{outcome.seconds:.2f} 秒）", flush=True)

    server = servemod.PreviewServer(config, host=args.host, port=args.port, poll=args.poll, on_build=on_build)
    server.start()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"注意：预览服务器监听 {args.host}，局域网中的其他电脑也能访问（含草稿）", flush=True)
    print(f"预览地址：{server.url}  （包含草稿和定时发布的文章；按 Ctrl-C 停止）", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        print("预览已停止（Ctrl-C）", flush=True)
        return INTERRUPTED
    finally:
        server.stop()
    return 0


def cmd_new(args) -> int:
    from sitegen import scaffold

    config = configmod.load(args.dir)
    if args.kind == "article":
        if not args.category:
            raise UsageError("请用 --category 指定栏目。可选：" + "、".join(s.name for s in config.categories))
        made = scaffold.new_article(config, args.title, args.category, args.column)
    else:
        if args.category or args.column:
            raise UsageError("图集不属于栏目，不需要 --category 或 --column")
        made = scaffold.new_gallery(config, args.title)
    print(f"已创建 {made.rel}")
    return 0


def cmd_deploy(args) -> int:
    from sitegen import deploy as deploymod

    config = configmod.load(args.dir)
    url, options = deploymod.resolve_target(config.deploy_targets, args.dest or args.target)
    out = Path(args.output).resolve() if args.output else config.root / "output"
    report = deploymod.deploy(out, url, dry_run=args.dry_run, project_dir=config.root, s3_options=options,
                              log=print)
    if args.dry_run:
        for rel in report.uploaded:
            print(f"  上传 {rel}")
        for rel in report.deleted:
            print(f"  删除 {rel}")
    print(report.summary_zh())
    return 0


def cmd_clean(args) -> int:
    root = Path(args.dir).resolve()
    for name in ("output", ".sitegen-cache"):
        shutil.rmtree(root / name, ignore_errors=True)
    print("已删除 output/ 和 .sitegen-cache/")
    return 0


#: Chinese for the operating-system errors a user can cause or fix (errno names from errno(3)), with a hint.
_OS_ERRORS_ZH = {
    "EACCES": ("没有权限", "请检查文件和文件夹的权限，或换一个有写权限的目录"),
    "EPERM": ("不允许的操作", "请检查文件和文件夹的权限"),
    "EEXIST": ("已经存在同名的文件", "输出目录的位置上有一个同名文件；请删除它或用 -o 换一个目录"),
    "ENOTDIR": ("路径中有一段不是文件夹", "请检查路径；输出目录的某一级是同名文件"),
    "EISDIR": ("这是一个文件夹，不是文件", "请检查路径"),
    "ENOENT": ("找不到文件或文件夹", "请检查路径"),
    "ENOSPC": ("磁盘空间不足", "请清理磁盘后重试"),
    "EROFS": ("文件系统是只读的", "请换一个可写的目录"),
    "ELOOP": ("符号链接形成了循环", "请删除这个链接"),
    "ENAMETOOLONG": ("文件名太长", "请缩短文件名或标题"),
}


def _os_error_zh(exc: OSError) -> str:
    """``exc`` as one Chinese line ``说明：路径（提示）``; an errno not in :data:`_OS_ERRORS_ZH` keeps the system's
    own text."""
    import errno as errnomod

    name = errnomod.errorcode.get(exc.errno or -1, "")
    what, hint = _OS_ERRORS_ZH.get(name, (exc.strerror or str(exc), ""))
    where = f"：{exc.filename}" if exc.filename else ""
    return f"{what}{where}" + (f"（{hint}）" if hint else "")


def _positive_int(text: str) -> int:
    """argparse type for ``--jobs``: a whole number ≥ 1 (``--jobs 0`` or ``-3`` was accepted and ignored)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为正整数，实际是“{text}”") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"应为正整数（至少 1），实际是 {value}")
    return value


class _ChineseFormatter(argparse.HelpFormatter):
    """argparse's help layout with the usage line introduced in Chinese."""

    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


#: argparse's own error messages (Python 3.11–3.13 wording) and their Chinese; messages sitegen writes itself
#: (``--jobs``) are Chinese already and only get the argument's name in Chinese.
_ERRORS_ZH = (
    (re.compile(r"^the following arguments are required: (.+)$"), "缺少必需的参数：{0}"),
    (re.compile(r"^unrecognized arguments: (.+)$"), "无法识别的参数：{0}（运行 sitegen -h 查看用法）"),
    (re.compile(r"^argument (.+?): invalid choice: (.+?) \(choose from (.+)\)$"), "{0} 不能是 {1}，可选：{2}"),
    (re.compile(r"^argument (.+?): expected one argument$"), "{0} 后面需要写一个值"),
    (re.compile(r"^argument (.+?): expected at most one argument$"), "{0} 后面最多写一个值"),
    (re.compile(r"^argument (.+?): invalid \S+ value: (.+)$"), "{0} 的值 {1} 无效"),
    (re.compile(r"^argument (.+?): ignored explicit argument (.+)$"), "{0} 不接受值 {1}"),
    (re.compile(r"^ambiguous option: (\S+) could match (.+)$"), "选项 {0} 不明确，可能是：{1}"),
    (re.compile(r"^argument (.+?): (.+)$"), "{0}：{1}"),
)


def translate_error(message: str) -> str:
    """An argparse error ``message`` in Chinese (unknown wording is kept as it is)."""
    for pattern, template in _ERRORS_ZH:
        m = pattern.match(message)
        if m:
            return template.format(*(g.replace("command", "命令") for g in m.groups()))
    return message


class ChineseArgumentParser(argparse.ArgumentParser):
    """:class:`argparse.ArgumentParser` that writes every text of its own in Chinese: the usage line (用法：), the
    section titles (位置参数, 选项, from its own argument groups), ``-h/--help`` and the errors (exit code 2, as
    argparse). Sub-command parsers made by :meth:`add_subparsers` are of this class too."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _ChineseFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self.positional_group = self.add_argument_group("位置参数")
        self.option_group = self.add_argument_group("选项")
        self.option_group.add_argument("-h", "--help", action="help", help="显示这份帮助并退出")

    def add_argument(self, *args, **kwargs):
        """Add an argument to the section of its kind (位置参数 or 选项)."""
        group = self.option_group if args and args[0].startswith("-") else self.positional_group
        return group.add_argument(*args, **kwargs)

    def error(self, message):
        """Print the usage and ``sitegen：错误：…`` in Chinese on stderr and exit with code 2."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：错误：{translate_error(message)}\n")


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command (a :class:`ChineseArgumentParser`)."""
    parser = ChineseArgumentParser(prog="sitegen", description="河北妇女网静态网站生成器")
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}", help="显示版本号并退出")
    parser.add_argument("-v", "--verbose", action="store_true", help="显示调试信息")
    sub = parser.add_subparsers(dest="command", required=True, title="命令")
    site_dir = {"nargs": "?", "default": ".", "metavar": "站点目录", "help": "站点目录（含 site.yaml），默认当前目录"}

    p = sub.add_parser("build", help="构建网站到 output/", description="构建网站到输出目录：只重新生成有变化的部分")
    p.add_argument("dir", **site_dir)
    p.add_argument("-o", "--output", metavar="输出目录", help="输出目录，默认为站点目录下的 output")
    p.add_argument("--strict", action="store_true", help="有任何内容错误即失败，不写 output/（CI 使用）")
    p.add_argument("--drafts", action="store_true", help="包含草稿")
    p.add_argument("--future", action="store_true", help="包含定时发布（未来日期）的文章")
    p.add_argument("--now", metavar="时间", help="按这个时刻构建（网站时区，如 \"2026-12-08 09:00\"），用于预览定时发布")
    p.add_argument("--jobs", type=_positive_int, default=None, metavar="进程数", help="并行进程数，默认 CPU 核数")
    p.add_argument("--explain", action="store_true", help="列出每个重新生成的文件及原因（新文件、页面有变化、模板或 site.yaml 有变化）")
    p.add_argument("-q", "--quiet", action="store_true", help="只输出问题和摘要")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("check", help="检查全部内容问题，不写文件", description="检查全部内容问题，不写任何文件")
    p.add_argument("dir", **site_dir)
    p.add_argument("--format", choices=("text", "json"), default="text", metavar="格式",
                   help="输出格式：text（每行“文件:行号: 代码: 说明”）或 json（供 CI 注释使用），默认 text")
    p.add_argument("--now", metavar="时间", help="按这个时刻判断哪些文章已到发布时间（网站时区，如 \"2026-12-08 09:00\"）")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("serve", help="构建并在浏览器中预览，保存后自动刷新",
                       description="构建并在浏览器中预览（含草稿和定时发布的文章），保存后自动刷新")
    p.add_argument("dir", **site_dir)
    p.add_argument("--port", type=int, default=8000, metavar="端口", help="端口，默认 8000（0 表示自动选择空闲端口）")
    p.add_argument("--host", default="127.0.0.1", metavar="地址", help="监听地址，默认 127.0.0.1（仅本机可访问）")
    p.add_argument("--poll", action="store_true", help="用轮询代替文件系统事件（网络盘、虚拟机共享目录）")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("new", help="新建文章或图集的骨架文件", description="新建文章或图集的骨架文件（日期为今天，从不覆盖已有文件）")
    p.add_argument("kind", choices=("article", "gallery"), metavar="类型", help="article 文章，gallery 图集")
    p.add_argument("title", metavar="标题", help="标题")
    p.add_argument("--category", metavar="栏目", help="栏目名称或网址名（文章必填）")
    p.add_argument("--column", metavar="专栏", help="专栏名称或网址名（可选）")
    p.add_argument("--dir", default=".", metavar="站点目录", help="站点目录，默认当前目录")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("deploy", help="发布 output/：只上传有变化的文件，最后删除过期文件",
                       description="发布 output/：只上传有变化的文件，最后删除过期文件")
    p.add_argument("dest", nargs="?", metavar="目标", help="目标：本地目录、user@host:/path 或 s3://bucket/prefix")
    p.add_argument("--target", metavar="名称", help="site.yaml 中 deploy.targets 的名称，默认 production")
    p.add_argument("--dir", default=".", metavar="站点目录", help="站点目录，默认当前目录")
    p.add_argument("-o", "--output", metavar="输出目录", help="要发布的目录，默认为站点目录下的 output")
    p.add_argument("--dry-run", action="store_true", help="只列出将要发生的变化，不做任何改动")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("clean", help="删除 output/ 和缓存", description="删除 output/ 和 .sitegen-cache/")
    p.add_argument("dir", **site_dir)
    p.set_defaults(func=cmd_clean)
    return parser


INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT, what shells report for a command stopped by it)."""

_INTERRUPTED_ZH = {
    "build": "已中断（Ctrl-C）：构建没有完成，请重新运行 sitegen build",
    "serve": "预览已停止（Ctrl-C）",
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sitegen`` command; returns the exit code."""
    parser = make_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return args.func(args)
    except SitegenError as exc:
        if exc.problems:
            _print_problems(exc.problems)
        else:
            print(f"错误：{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while leaving must not print a traceback
        print(_INTERRUPTED_ZH.get(args.command, "已中断（Ctrl-C）"), file=sys.stderr)
        return INTERRUPTED
    except OSError as exc:
        print(f"错误：{_os_error_zh(exc)}", file=sys.stderr)
        return 1


def run() -> None:
    """The ``sitegen`` command (console script and ``python -m sitegen``): :func:`main`, then leave at once. Output
    and logs are flushed first; what is skipped is the interpreter's teardown, which frees every object of the
    build one by one (about 0.1 s after a 10,000-article build, a tenth of an incremental one). Never returns."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (``sitegen build | head``): nothing left to say
        code = code or 1
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()


__all__ = ["main", "run", "make_parser", "ChineseArgumentParser", "translate_error"]
