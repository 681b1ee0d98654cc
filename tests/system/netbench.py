"""The network test bench for system tests: a network namespace of the
test's own, a tap device in it behind tools/netrelay (the seeded fault
injector), and clean-up that removes both whatever happens. Traffic stays
inside the namespace: the guest talks only to the tap's address there."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RELAY = os.path.join(ROOT, "tools", "netrelay")


def have_root_networking():
    return os.geteuid() == 0 and os.path.exists("/dev/net/tun") and shutil.which("ip")


@contextmanager
def relay(tap_addr="10.0.3.1/24", seed=1, **faults):
    """Yields (netns, sockdir, logpath); faults: drop, dup, reorder, corrupt, delay_ms."""
    ns = f"zebu-test-{os.getpid()}-{int(time.time() * 1000) % 100000}"
    sockdir = tempfile.mkdtemp(prefix="zebu-relay-")
    log = os.path.join(sockdir, "relay.log")
    subprocess.run(["ip", "netns", "add", ns], check=True)
    proc = None
    try:
        args = [RELAY, "--netns", ns, "--tap-addr", tap_addr, "--sock", sockdir,
                "--seed", str(seed), "--log", log]
        for k, v in faults.items():
            args += [f"--{k.replace('_', '-')}", str(v)]
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while not os.path.exists(os.path.join(sockdir, "ready")):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"netrelay did not start: {proc.stdout.read().decode()}")
            time.sleep(0.05)
        yield ns, sockdir, log
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        subprocess.run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(sockdir, ignore_errors=True)


def netns_exec(ns, cmd, **kw):
    return subprocess.run(["ip", "netns", "exec", ns] + cmd, **kw)
