"""The power button and soft-off (drivers/acpi_pm.c, kernel/power.c): what an
operator's `virsh shutdown` or QEMU's system_powerdown does to a running
app, and how the VM ends where QEMU's isa-debug-exit device is not there
(libvirt, Nomad, bare metal): by ACPI S5, which QEMU reports on QMP as a
SHUTDOWN event of reason "guest-shutdown" (a reset would be "guest-reset")."""
import json
import os
import shlex
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager

import pytest

from conftest import LAUNCHER, image


class Qmp:
    """A QMP connection that keeps the events it reads."""

    def __init__(self, path, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.settimeout(timeout)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.f = self.s.makefile("rw")
        self.events = []
        json.loads(self.f.readline())  # greeting
        self.execute("qmp_capabilities")

    def execute(self, cmd):
        self.f.write(json.dumps({"execute": cmd}) + "\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "event" in r:
                self.events.append(r)
            elif "return" in r or "error" in r:
                return r

    def wait_event(self, name, timeout):
        self.s.settimeout(timeout)
        for e in self.events:
            if e["event"] == name:
                return e
        while True:
            try:
                line = self.f.readline()
            except OSError:  # QEMU gone (isa-debug-exit ends it without an event)
                return None
            if not line:
                return None
            r = json.loads(line)
            if "event" in r:
                self.events.append(r)
                if r["event"] == name:
                    return r

    def close(self):
        self.s.close()


def wait_for_line(proc, text, timeout):
    """Reads proc's output until a line contains text; returns all read."""
    out, deadline = [], time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out.append(line.decode("latin-1"))
        if text in out[-1]:
            return "".join(out), True
    return "".join(out), False


def start(app_args, qmp_path, without_debug_exit=False):
    """QEMU for ktest, stopped before its first instruction (-S) so that
    the test's QMP connection is there before the guest can end."""
    cmd = [LAUNCHER, "--kernel", image("ktest"), "--append", app_args, "--qmp", qmp_path,
           "--timeout", "120", "--qemu-arg=-S"]
    if without_debug_exit:
        # QEMU as libvirt would run it: the launcher's command without the
        # isa-debug-exit device, so only ACPI can end the VM.
        line = subprocess.run(cmd + ["--dry-run"], capture_output=True, text=True,
                              check=True).stdout.strip()
        argv = shlex.split(line)
        i = argv.index("isa-debug-exit,iobase=0xf4,iosize=0x04")
        cmd = argv[:i - 1] + argv[i + 1:]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


@contextmanager
def vm(app_args, without_debug_exit=False):
    """ktest under QEMU with a QMP socket: yields (proc, qmp_path); the QEMU
    process is gone afterwards, however the test ends."""
    with tempfile.TemporaryDirectory() as d:
        sock = os.path.join(d, "qmp")
        p = start(app_args, sock, without_debug_exit)
        try:
            yield p, sock
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.parametrize("debug_exit", [True, False], ids=["isa-debug-exit", "acpi-soft-off"])
def test_power_button_stops_the_app_and_powers_off(debug_exit):
    with vm("mode=wait loglevel=2", without_debug_exit=not debug_exit) as (p, sock):
        q = Qmp(sock)
        assert "return" in q.execute("cont")
        out, ok = wait_for_line(p, "ktest: waiting", 60)
        assert ok, out
        assert "power button armed" in out, out
        assert "return" in q.execute("system_powerdown")
        shutdown = q.wait_event("SHUTDOWN", 30)
        out += p.communicate(timeout=30)[0].decode("latin-1")
        q.close()
    assert "power button: stopping the app, then powering off" in out, out[-3000:]
    if debug_exit:
        # The app's exit status through the debug device, which ends QEMU
        # at once (no SHUTDOWN event): 0.
        assert p.returncode == 0, out[-3000:]
    else:
        # No device to carry a status: ACPI S5, which QEMU calls a guest
        # shutdown (QEMU exits 0; zebu-run is not in between here).
        assert shutdown is not None and shutdown["data"]["reason"] == "guest-shutdown", \
            (shutdown, out[-3000:])
        assert p.returncode == 0, out[-3000:]


def test_exit_without_the_debug_device_powers_off_by_acpi():
    """An app that returns, on a VM with no isa-debug-exit device, powers
    the VM off (S5) instead of halting for ever."""
    with vm("mode=none loglevel=2", without_debug_exit=True) as (p, sock):
        q = Qmp(sock)
        assert "return" in q.execute("cont")
        shutdown = q.wait_event("SHUTDOWN", 60)
        out = p.communicate(timeout=30)[0].decode("latin-1")
        q.close()
    assert "ktest: still running" in out, out[-3000:]
    assert shutdown is not None and shutdown["data"]["reason"] == "guest-shutdown", \
        (shutdown, out[-3000:])
