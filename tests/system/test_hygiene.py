"""The system tests leave nothing behind: every process a test starts runs in
a process group of its own and is killed with its children when the test
ends, however it ends; a run that is interrupted removes its namespaces, and
a run that was killed outright has its namespaces removed by the next one
(tests/system/conftest.py, netbench.py)."""
import os
import signal
import subprocess
import time

import pytest

import conftest
from netbench import NS_PREFIX, have_root_networking, reclaim_stale_namespaces

needs_netns = pytest.mark.skipif(not have_root_networking(),
                                 reason="needs root, /dev/net/tun, iproute2")


def gone(pid):
    """True once pid has exited (a zombie counts: it runs no more)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def wait_gone(pid, seconds=10):
    deadline = time.time() + seconds
    while not gone(pid) and time.time() < deadline:
        time.sleep(0.05)
    return gone(pid)


def namespaces():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_a_test_process_is_a_group_leader_and_its_grandchildren_die_with_it():
    child = subprocess.Popen(["sh", "-c", "sleep 300 & echo $!; wait"], stdout=subprocess.PIPE,
                             text=True)
    grandchild = int(child.stdout.readline())
    assert os.getpgid(child.pid) == child.pid
    assert os.getpgid(grandchild) == child.pid
    conftest.kill_test_processes()
    child.wait(timeout=10)
    assert wait_gone(grandchild), "the grandchild outlived its test"


@needs_netns
def test_namespaces_of_dead_runs_are_reclaimed_and_live_ones_kept():
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale, live = f"{NS_PREFIX}{dead.pid}-1", f"{NS_PREFIX}{os.getpid()}-999"
    for ns in (stale, live):
        subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        removed = reclaim_stale_namespaces()
        assert stale in removed and stale not in namespaces()
        assert live not in removed and live in namespaces()
    finally:
        for ns in (stale, live):
            subprocess.run(["ip", "netns", "del", ns], check=False, stderr=subprocess.DEVNULL)


@needs_netns
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_run_removes_its_namespace_and_processes(sig):
    # SIGINT as a terminal would deliver it: a run started in the background
    # of a non-interactive shell inherits SIGINT ignored, and Python then
    # leaves it ignored.
    run = subprocess.Popen(["/usr/bin/python3", "-m", "pytest", "-q", "-s", "-p",
                            "no:cacheprovider", "tests/system/interrupt_probe.py"],
                           cwd=conftest.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line, deadline = "", time.time() + 60
    while not line.startswith("NS ") and time.time() < deadline:
        line = run.stdout.readline()
        assert line or run.poll() is None, "the probe run ended early"
    fields = line.split()
    ns, child, grandchild = fields[1], int(fields[3]), int(fields[5])
    assert ns in namespaces()
    run.send_signal(sig)
    rest = run.communicate(timeout=60)[0]
    assert ns not in namespaces(), rest
    assert wait_gone(child) and wait_gone(grandchild), rest
