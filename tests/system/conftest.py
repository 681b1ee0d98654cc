"""Shared helpers for the system tests: boot real Zebu images under QEMU.

Images are built by `make test` before pytest runs (build/hello.elf32,
build/ktest.elf32, build/hello.iso); a test that needs another app builds it.
Every boot goes through tools/zebu-run, the same launcher `make run` uses.
"""
import os
import re
import subprocess
from dataclasses import dataclass

import pytest

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
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return body, out, proc.returncode
