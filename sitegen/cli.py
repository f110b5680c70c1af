"""Command line: ``sitegen build|check|clean …``; turns :class:`SitegenError` into printed lines and exit codes.

Exit codes: 0 success, 1 content errors (or a failed build/deploy), 2 usage or configuration errors. Content
problems print as ``path:line: code: message（hint）``, all of a build at once, never a traceback.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from sitegen import __version__
from sitegen import config as configmod
from sitegen.errors import Problem, SitegenError


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


def cmd_build(args) -> int:
    from sitegen import build as buildmod

    config = configmod.load(args.dir)
    out = Path(args.output).resolve() if args.output else None
    report = buildmod.build(config, out=out, strict=args.strict, drafts=args.drafts, future=args.future,
                            jobs=args.jobs, progress=not args.quiet and sys.stderr.isatty(), explain=args.explain)
    for rel, why in report.explained:
        print(f"  {rel}: {why}")
    _print_problems(report.problems)
    print(_summary(report, args.strict))
    if report.ok and not args.quiet:
        index = report.output / "index.html"
        print(f"打开 {index} 查看，或运行 sitegen serve 在浏览器中预览")
    return 1 if report.errors else 0


def cmd_check(args) -> int:
    from sitegen import content as contentmod
    from sitegen.build import now_in

    config = configmod.load(args.dir)
    problems: list[Problem] = []
    parsed = [contentmod.read_source(config, s) for s in contentmod.scan(config)]
    for p in parsed:
        problems.extend(p.problems)
    pages, notes = contentmod.select([p.page for p in parsed if p.page], now=now_in(config), drafts=True,
                                     future=True)
    _, site_problems = contentmod.assemble(pages, config)
    problems.extend(site_problems)
    problems.sort(key=lambda p: (p.location.path, p.location.line, p.code))
    _print_problems(problems, sys.stdout)
    errors = sum(p.severity == "error" for p in problems)
    print(f"检查了 {len(parsed)} 个文件：{errors} 个错误，{len(problems) - errors} 个提示")
    return 1 if errors else 0


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


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="sitegen", description="河北妇女网静态网站生成器")
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="显示调试信息")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="构建网站到 output/")
    p.add_argument("dir", nargs="?", default=".", help="站点目录（含 site.yaml），默认当前目录")
    p.add_argument("-o", "--output", help="输出目录，默认 DIR/output")
    p.add_argument("--strict", action="store_true", help="有任何内容错误即失败，不写 output/（CI 使用）")
    p.add_argument("--drafts", action="store_true", help="包含草稿")
    p.add_argument("--future", action="store_true", help="包含定时发布（未来日期）的文章")
    p.add_argument("--jobs", type=int, default=None, help="并行进程数，默认 CPU 核数")
    p.add_argument("--explain", action="store_true", help="列出每个重新生成的文件及原因（新文件、页面有变化、模板或 site.yaml 有变化）")
    p.add_argument("-q", "--quiet", action="store_true", help="只输出问题和摘要")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("check", help="检查全部内容问题，不写文件")
    p.add_argument("dir", nargs="?", default=".")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("deploy", help="发布 output/：只上传有变化的文件，最后删除过期文件")
    p.add_argument("dest", nargs="?", help="目标：本地目录、user@host:/path 或 s3://bucket/prefix")
    p.add_argument("--target", help="site.yaml 中 deploy.targets 的名称，默认 production")
    p.add_argument("--dir", default=".", help="站点目录，默认当前目录")
    p.add_argument("-o", "--output", help="要发布的目录，默认 DIR/output")
    p.add_argument("--dry-run", action="store_true", help="只列出将要发生的变化，不做任何改动")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("clean", help="删除 output/ 和缓存")
    p.add_argument("dir", nargs="?", default=".")
    p.set_defaults(func=cmd_clean)
    return parser


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
        print("已中断", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"错误：{exc.strerror or exc}：{exc.filename or ''}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["main", "make_parser"]
