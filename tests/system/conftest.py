"""Shared helpers for the system tests: boot real Zebu images under QEMU.

Images are built by `make test` before pytest runs (build/hello.elf32,
build/ktest.elf32, build/hello.iso); a test that needs another app builds it.
Every boot goes through tools/zebu-run, the same launcher `make run` uses.

Nothing a test starts outlives it: every child process (subprocess.Popen,
and so subprocess.run) starts in a process group of its own, and after each
test, and when the run ends or is interrupted (Ctrl-C, SIGTERM, SIGHUP),
every group still alive is killed, grandchildren included (make's QEMU, say).
Network namespaces left by an earlier run that was killed outright are
removed when the next run starts (netbench.reclaim_stale_namespaces).
"""
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netbench  # noqa: E402

_live_groups = set()
_PlainPopen = subprocess.Popen


class _GroupPopen(_PlainPopen):
    """subprocess.Popen that starts each child as the leader of a new
    process group (its own session) and remembers the group."""

    def __init__(self, *args, **kwargs):
        if not kwargs.get("process_group") and not kwargs.get("start_new_session"):
            kwargs["start_new_session"] = True
        super().__init__(*args, **kwargs)
        _live_groups.add(self.pid)


def kill_test_processes():
    """Kills every process group a test started that is still alive."""
    for pgid in list(_live_groups):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        _live_groups.discard(pgid)


def kill_group(proc):
    """Kills proc's whole process group (make, zebu-run and QEMU alike) and
    reaps proc."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    _live_groups.discard(proc.pid)


def _interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds every test's clean-up


def pytest_configure(config):
    subprocess.Popen = _GroupPopen
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGHUP, _interrupted)
    stale = netbench.reclaim_stale_namespaces()
    if stale:
        print(f"conftest: removed {len(stale)} namespace(s) left by an earlier run: "
              f"{' '.join(stale)}", file=sys.stderr)


def pytest_unconfigure(config):
    kill_test_processes()
    subprocess.Popen = _PlainPopen


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test():
    yield
    kill_test_processes()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
LAUNCHER = os.path.join(ROOT, "tools", "zebu-run")

BANNER_RE = re.compile(
    r"Zebu (?P<version>\S+): booted via (?P<proto>\S+)(?: \((?P<loader>[^)]*)\))?, "
    r"app \"(?P<app>[^\"]+)\", (?P<mib>\d+) MiB usable")


@dataclass
class Boot:
    status: int
    output: str

    def banner(self):
        m = BANNER_RE.search(self.output)
        assert m, f"no banner in output:\n{self.output}"
        return m


def image(app, kind="elf32"):
    path = os.path.join(BUILD, f"{app}.{kind}")
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: run the tests through 'make test'")
    return path


def boot(app="hello", append="", mem="128M", timeout=60, iso=False, extra=(), kind="elf32"):
    """Boots build/<app>.<kind> (elf32 or pvh), or the ISO, and returns its
    status and output."""
    cmd = [LAUNCHER, "--mem", mem, "--timeout", str(timeout)]
    if iso:
        cmd += ["--iso", image(app, "iso")]
    else:
        cmd += ["--kernel", image(app, kind)]
        if append:
            cmd += ["--append", append]
    cmd += list(extra)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout + 30)
    out = p.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
    return Boot(p.returncode, out)


def fetch_while_running(cmd, url, wait=240, cwd=ROOT):
    """Starts cmd (a guest that serves HTTP), fetches url until it answers
    or the guest ends, then waits for the guest to exit. Returns (body or
    None, console output, exit status)."""
    import time
    import urllib.request
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        body, deadline = None, time.time() + wait
        while body is None and time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    body = r.read()
            except OSError:
                time.sleep(0.3)
        out = proc.communicate(timeout=120)[0].decode("utf-8", "replace")
    finally:
        kill_group(proc)
    return body, out, proc.returncode
