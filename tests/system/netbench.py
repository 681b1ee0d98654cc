"""The network test bench for system tests: a network namespace of the
test's own, a tap device in it behind tools/netrelay (the seeded fault
injector), and clean-up that removes both whatever happens. Traffic stays
inside the namespace: the guest talks only to the tap's address there."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RELAY = os.path.join(ROOT, "tools", "netrelay")
LAUNCHER = os.path.join(ROOT, "tools", "zebu-run")

# What apps/webserver prints once it listens: the file count and its address.
WEBSERVER_READY = r"webserver: serving (\d+) files on http://([\d.]+):80/"

# One GET (argv: host, path, port, timeout, "raw" or "status") run as a
# separate process, so that it can run inside a network namespace: prints
# the raw response, or its status line and length.
# The start of a script that fetches with Connection: close: get(s, path)
# sends the request on connected socket s and returns the whole response.
GET_ALL = r"""
def get(s, path):
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    buf = b""
    while True:
        b = s.recv(65536)
        if not b:
            return buf
        buf += b
"""

HTTP_GET = GET_ALL + r"""
import socket, sys
host, path, port, timeout, out = sys.argv[1:6]
s = socket.create_connection((host, int(port)), timeout=float(timeout))
buf = get(s, path)
if out == "raw":
    sys.stdout.write(buf.decode())
else:
    print(buf.split(b"\r\n", 1)[0].decode(), len(buf))
"""


def http_get_cmd(host, path, port=80, timeout=20, raw=False):
    """argv for HTTP_GET (prefix it with `ip netns exec NS` as needed)."""
    return ["/usr/bin/python3", "-c", HTTP_GET, host, path, str(port), str(timeout),
            "raw" if raw else "status"]


def webserver_stats(host, port, ns=None, timeout=20):
    """The web server's /_stats counters as {name: int}, fetched from inside
    namespace ns when given; None when the page could not be read."""
    cmd = http_get_cmd(host, "/_stats", port, timeout, raw=True)
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns] + cmd
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if p.returncode != 0:
        return None
    text = p.stdout.partition("\n\n")[2]  # text mode turned CRLF into LF
    return {k: int(v) for k, v in re.findall(r"^(\w+) (\d+)$", text, re.M)}


class ConsoleGuest:
    """A guest under tools/zebu-run (args: its options) whose console a
    thread collects, so the caller can wait for a line and show all of it
    when something fails. Used by the system tests and the benchmarks."""

    def __init__(self, args):
        self.proc = subprocess.Popen([LAUNCHER, *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.chunks = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            self.chunks.append(chunk)

    @property
    def output(self):
        return b"".join(self.chunks).decode("utf-8", "replace").replace("\r\n", "\n")

    def wait_for(self, pattern, seconds):
        """The match of pattern in the console, or None once seconds pass or
        the guest ends."""
        deadline = time.time() + seconds
        while True:
            m = re.search(pattern, self.output)
            if m or time.time() >= deadline or self.proc.poll() is not None:
                return m
            time.sleep(0.05)

    def stop(self):
        """Ends the guest (zebu-run kills QEMU's process group); returns the
        console."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        return self.output


_WRK_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024 ** 2, "MB": 1024 ** 2,
              "G": 1024 ** 3, "GB": 1024 ** 3, "T": 1024 ** 4, "TB": 1024 ** 4}


def _to_ms(v, unit):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[unit]


def parse_wrk(out):
    """The figures of one wrk run (--latency for the percentiles): requests,
    seconds, bytes_read, rps, mb_s (10^6 bytes/s), mib_s, p50_ms, p99_ms
    (None without --latency), socket_errors and non_2xx; raw_tail for
    reports."""
    r = {"requests": 0, "seconds": None, "bytes_read": 0.0, "raw_tail": out[-600:]}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w*) read", out)
    if m:
        r["requests"] = int(m.group(1))
        r["seconds"] = _to_ms(m.group(2), m.group(3)) / 1e3
        r["bytes_read"] = float(m.group(4)) * _WRK_UNITS[m.group(5)]
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else 0.0
    per_s = r["bytes_read"] / r["seconds"] if r["seconds"] else 0.0
    r["mb_s"], r["mib_s"] = per_s / 1e6, per_s / 2 ** 20
    for p in ("50", "99"):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        r[f"p{p}_ms"] = _to_ms(m.group(1), m.group(2)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(map(int, m.groups())) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non_2xx"] = int(m.group(1)) if m else 0
    return r


def have_root_networking():
    return os.geteuid() == 0 and os.path.exists("/dev/net/tun") and shutil.which("ip")


# Every namespace a test makes is named zebu-test-PID-N, PID the process that
# made it, so that one left behind by a run that was killed can be told from
# one a running test still uses.
NS_PREFIX = "zebu-test-"
_ns_serial = 0


def new_namespace():
    """Makes and returns a fresh network namespace (loopback up)."""
    global _ns_serial
    _ns_serial += 1
    ns = f"{NS_PREFIX}{os.getpid()}-{_ns_serial}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
    return ns


def reclaim_stale_namespaces():
    """Deletes the namespaces of earlier runs whose process is gone; returns
    their names."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        return []
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    stale = []
    for m in re.finditer(rf"^({re.escape(NS_PREFIX)}(\d+)-\S+)", out, re.M):
        pid = int(m.group(2))
        if pid != os.getpid() and not os.path.exists(f"/proc/{pid}"):
            subprocess.run(["ip", "netns", "del", m.group(1)], check=False)
            stale.append(m.group(1))
    return stale


@contextmanager
def tap_ns(tap_addr="10.0.9.1/24", multi_queue=False):
    """A plain tap in a namespace of the test's own, as a user or libvirt
    sets one up, with no relay: yields (netns, tap name). Boot QEMU inside
    the namespace (zebu-run --netns NS --net tap:NAME); the host's own stack
    at tap_addr is the guest's peer. multi_queue: a tap QEMU may open
    several queues of (zebu-run --queues N). Removed whatever happens."""
    ns = new_namespace()
    tap = "zt0"
    mq = ["multi_queue"] if multi_queue else []
    try:
        for cmd in (["ip", "tuntap", "add", "dev", tap, "mode", "tap", *mq],
                    ["ip", "addr", "add", tap_addr, "dev", tap],
                    ["ip", "link", "set", tap, "up"]):
            subprocess.run(["ip", "netns", "exec", ns] + cmd, check=True)
        yield ns, tap
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


@contextmanager
def relay(tap_addr="10.0.3.1/24", seed=1, **faults):
    """Yields (netns, sockdir, logpath); faults: drop, dup, reorder, corrupt, delay_ms."""
    ns = new_namespace()
    sockdir = tempfile.mkdtemp(prefix="zebu-relay-")
    log = os.path.join(sockdir, "relay.log")
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


# A SYN flood with real clients in it (test_tcp_hostile.py,
# tools/bench-synflood.py), run in a plain-tap namespace with arguments
# GUEST N SECONDS CLIENTS INTERVAL: N spoofed SYNs (scapy builds them, a raw
# socket paces them) from random off-link sources over SECONDS, and while
# they flow CLIENTS real connections from the namespace's own address, one
# every INTERVAL s from 0.3 s on: each times its connect() (the handshake)
# and fetches /about.txt. Every other client is slow: TCP_DEFER_ACCEPT on a
# connecting socket makes Linux hold the handshake's last ACK back (for its
# delayed-ACK maximum, 200 ms) and the request waits 0.3 s, as from a
# client far away; by then hundreds of newer SYNs have come. Prints one
# JSON line: flood_seconds, and per client slow, at, connect_s, status,
# bytes, total_s.
SYN_FLOOD_CLIENTS = GET_ALL + r"""
import json, random, socket, sys, threading, time
from scapy.all import IP, TCP
guest, n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
clients, interval = int(sys.argv[4]), float(sys.argv[5])
rng = random.Random(17)
syns = [bytes(IP(src=f"198.18.{rng.randrange(256)}.{rng.randrange(1, 255)}", dst=guest) /
              TCP(sport=rng.randrange(1024, 65536), dport=80, flags="S", seq=rng.getrandbits(32),
                  options=[("MSS", 1460)]))
        for _ in range(n)]
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
flood = {}

def send_flood(t0):
    for i, p in enumerate(syns):
        ahead = t0 + seconds * i / n - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        raw.sendto(p, (guest, 0))
    flood["seconds"] = round(time.monotonic() - t0, 2)

def client(i, due, out):
    slow = i % 2 == 1
    time.sleep(max(0.0, due - time.monotonic()))
    s = socket.socket()
    s.settimeout(10)
    if slow:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
    t = time.monotonic()
    c = {"slow": slow, "at": round(t - start, 3)}
    try:
        s.connect((guest, 80))
        c["connect_s"] = round(time.monotonic() - t, 4)
        if slow:
            time.sleep(0.3)
        buf = get(s, "/about.txt")
        c["status"] = buf.split(b"\r\n", 1)[0].decode("latin-1")
        c["bytes"] = len(buf)
        c["total_s"] = round(time.monotonic() - t, 4)
    except OSError as e:
        c.setdefault("connect_s", round(time.monotonic() - t, 4))
        c["status"] = repr(e)
    s.close()
    out[i] = c

start = time.monotonic()
threads = [threading.Thread(target=send_flood, args=(start,))]
conns = [None] * clients
threads += [threading.Thread(target=client, args=(i, start + 0.3 + interval * i, conns))
            for i in range(clients)]
for th in threads:
    th.start()
for th in threads:
    th.join()
print(json.dumps({"flood_seconds": flood["seconds"], "clients": conns}))
"""
