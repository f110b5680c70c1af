"""Nothing a build or the preview starts outlives it, and Ctrl-C stops them cleanly (issue 23, point 2).

A real ``python -m sitegen build`` of a 1,000-article corpus (``tests/corpus_site.py``) is watched through
``/proc`` while it runs: its worker processes (forked Python) are its descendants. It is killed with SIGKILL while
parsing, while rendering and while indexing the search; 5 seconds later no process that carries the build's marker
in its environment (every child inherits it) may be alive. Ctrl-C
(SIGINT to the whole process group, as a terminal sends it) must end ``build`` and ``serve`` with exit code 130, a
Chinese line and no traceback, with no process left behind. Linux only: it reads ``/proc``.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import NOW, REPO, make_site
from corpus_site import make_corpus

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

MARK = "SITEGEN_TEST_RUN"
ARTICLES = 1000


# --- /proc ---------------------------------------------------------------------------------------------------------

def _stat(pid: int) -> tuple[str, str, int] | None:
    """``(comm, state, ppid)`` of process ``pid``, ``None`` when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    state, ppid = text[text.rindex(")") + 2:].split()[:2]
    return comm, state, int(ppid)


def _pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def descendants(root: int) -> list[tuple[int, str]]:
    """``(pid, comm)`` of every living descendant of ``root``."""
    children: dict[int, list[tuple[int, str]]] = {}
    for pid in _pids():
        info = _stat(pid)
        if info and info[1] not in "ZX":
            children.setdefault(info[2], []).append((pid, info[0]))
    out, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child[0])
    return out


def marked_alive(token: str) -> list[tuple[int, str]]:
    """``(pid, comm)`` of every living process (not a zombie) whose environment carries ``MARK=token``."""
    needle = f"{MARK}={token}".encode() + b"\0"
    found = []
    for pid in _pids():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        info = _stat(pid)
        if needle in environ and info and info[1] not in "ZX":
            found.append((pid, info[0]))
    return found


def _env(token: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", SITEGEN_NOW=NOW)
    env[MARK] = token
    return env


# --- the corpus and its build ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lifetime") / "corpus"
    make_corpus(root, ARTICLES)
    return root


def _fresh(corpus: Path, tmp_path: Path) -> Path:
    """A copy of the corpus without output or cache: the build parses, renders and indexes everything."""
    root = tmp_path / "site"
    shutil.copytree(corpus, root, ignore=shutil.ignore_patterns("output", ".sitegen-cache"))
    return root


def _phase(tree: list[tuple[int, str]], rendered: bool, staging: bool) -> str:
    """What a build with ``--jobs 2`` is doing, judged by its descendants and its staging folder: parsing (Python
    workers, nothing staged yet), rendering (Python workers, pages staged), indexing (after rendering: the search
    index is built in the build's own process, so no worker is left), or ``""`` in between."""
    workers = sum(1 for _, comm in tree if comm.startswith("python"))
    if workers and not staging and not rendered:
        return "parsing"
    if workers and staging:
        return "rendering"
    if rendered and not workers:
        return "indexing"
    return ""


def staged(root: Path) -> bool:
    """Whether the build has staged an output yet (its staging folder has something in it)."""
    for folder in root.glob(".output.staging-*"):
        with contextlib.suppress(OSError):  # the folder may go between the glob and the look
            if any(folder.iterdir()):
                return True
    return False


def _as_from_a_terminal() -> None:
    """Ctrl-C's default disposition in the child, as a shell gives a foreground command: a test run started in the
    background of a script inherits SIGINT ignored, and Python then never turns it into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_build(root: Path, token: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sitegen", "build", str(root), "--jobs", "2"],
                            env=_env(token), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=_as_from_a_terminal)


def wait_for_phase(proc: subprocess.Popen, root: Path, want: str, timeout: float = 600) -> list[tuple[int, str]]:
    """Poll the build's process tree until it is in phase ``want``; returns the tree at that moment."""
    rendered = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the build ended (exit {proc.returncode}) before {want}: {out.decode()}{err.decode()}")
        tree = descendants(proc.pid)
        staging = staged(root)
        phase = _phase(tree, rendered, staging)
        rendered = rendered or phase == "rendering"
        if phase == want:
            return tree
        time.sleep(0.01)
    proc.kill()
    pytest.fail(f"no {want} phase within {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["parsing", "rendering", "indexing"])
def test_sigkill_leaves_no_process(corpus, tmp_path, moment):
    root = _fresh(corpus, tmp_path)
    token = uuid.uuid4().hex
    proc = start_build(root, token)
    tree = wait_for_phase(proc, root, moment)
    children = {pid for pid, _ in tree}
    assert children or moment == "indexing", "the build had started no process to leave behind"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    proc.stderr.close()
    time.sleep(5)
    left = marked_alive(token)
    assert left == [], f"alive 5 s after kill -9 while {moment} (children then: {tree}): {left}"


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["rendering", "indexing"])
def test_ctrl_c_stops_build_cleanly(corpus, tmp_path, moment):
    root = _fresh(corpus, tmp_path)
    token = uuid.uuid4().hex
    proc = start_build(root, token)
    wait_for_phase(proc, root, moment)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the whole foreground process group
    out, err = proc.communicate(timeout=60)
    out, err = out.decode(), err.decode()
    assert proc.returncode == 130, out + err
    assert "已中断（Ctrl-C）" in err
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err
    assert not (root / "output").exists(), "an interrupted first build published something"
    assert not list(root.glob(".output.staging-*")), "the staging folder was left behind"
    time.sleep(1)
    assert marked_alive(token) == []


def test_ctrl_c_just_after_a_fork_is_held_back_from_the_child():
    """Ctrl-C reaches the whole process group; one landing just after a fork, while Python's own after-fork hooks
    run in the child (random's reseeding, seen in a test run), must not interrupt the child with a traceback: it is
    held back around the fork and dropped in the child, which ignores Ctrl-C like every sitegen worker."""
    code = """
import os, signal, sys
os.register_at_fork(after_in_child=lambda: os.kill(os.getpid(), signal.SIGINT))  # runs before sitegen's hook
import sitegen.lifetime
pid = os.fork()
if pid == 0:
    os._exit(0 if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    done = subprocess.run([sys.executable, "-c", code], env=_env(uuid.uuid4().hex), capture_output=True, text=True,
                          timeout=60, preexec_fn=_as_from_a_terminal)
    assert (done.returncode, done.stderr) == (0, "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ctrl_c_stops_serve_cleanly(tmp_path):
    root = make_site(tmp_path, {"content/a.md": "---\ntitle: 预览\ndate: 2026-11-01\ncategory: 工作动态\n---\n\n正文。\n"})
    token = uuid.uuid4().hex
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sitegen", "serve", str(root), "--port", str(port)],
                            env=_env(token), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_as_from_a_terminal)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not listen"
                time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    out, err = out.decode(), err.decode()
    assert proc.returncode == 130, out + err
    assert "预览已停止（Ctrl-C）" in out + err
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err
    assert marked_alive(token) == []


# --- the mechanism itself ------------------------------------------------------------------------------------------

_ORPHAN = """
import os, time
from sitegen import lifetime
parent = os.getpid()
if os.fork() == 0:
    lifetime.{setup}(parent)
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


@pytest.mark.parametrize("setup", ["worker_init", "watch_parent"])
def test_worker_dies_with_its_parent(tmp_path, setup):
    """A forked worker set up by ``lifetime.worker_init`` ends within seconds of its parent's SIGKILL, with the
    kernel's parent-death signal (``worker_init``) and with the re-parenting watch used where there is none
    (``watch_parent``, tried here on Linux too)."""
    token = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-c", _ORPHAN.format(setup=setup)], env=_env(token))
    deadline = time.monotonic() + 30
    while len(marked_alive(token)) < 2:
        assert time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 5
    while marked_alive(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marked_alive(token) == []
