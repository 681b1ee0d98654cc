#!/usr/bin/env python3
"""tools/bench-http.py — the web server (apps/webserver) under wrk: requests/s,
MB/s, latency, payload bytes copied per byte served; image size and the
smallest guest memory it serves in.

Method. The site archive is packed into a temporary folder with
tools/mksite.py (the demo site plus --extra bench/4k.bin=4K and
bench/1m.bin=1M). The same wrk commands (-t THREADS -c CONNECTIONS -d SECONDS
--latency) measure, in one run:
  GET /bench/4k.bin with keep-alive          requests/s, latency p50/p99
  GET /bench/4k.bin, Connection: close       requests/s (a connection each)
  GET /bench/1m.bin with keep-alive          MB/s (MiB of responses read/s)
against three targets:
  baseline  a Linux userspace static server (Python's ThreadingHTTPServer,
            HTTP/1.1, keep-alive) serving the same two files on 127.0.0.1
            inside the namespace, wrk in the namespace too: loopback only,
            no tap, no relay, no QEMU;
  relay     Zebu under QEMU (TCG here) behind the test bench's tap
            (tools/netrelay, no faults) in a namespace, ip 10.0.3.2; wrk runs
            in the namespace (tests/system/netbench.py's relay());
  user      Zebu under QEMU user networking, wrk on the host against the
            forwarded port (127.0.0.1:PORT -> guest :80).
The paths differ: the baseline's bytes cross loopback in one kernel, Zebu's
cross the tap, the relay process (or QEMU's slirp) and an emulated CPU and
NIC. A ratio zebu/baseline is therefore "what this whole path delivers
relative to a plain Linux server on this machine in the same minute", not a
like-for-like server comparison; the machine is shared and noisy, so only
same-run ratios mean much.
Copies: /_stats before and after each Zebu target; the delta of
stack_copied_bytes over the delta of body_bytes is the payload copied per
byte served (target 0). Also: the bytes the image loads (tools/imginfo.py;
target <= 100 KB, Toro's static server is 166 KB), and the smallest -m (1 MiB
steps, binary search in 2M..16M) at which the server boots with the demo
site's archive and answers GET / with 200 (target <= 3 MiB). Targets are
printed, not asserted.

    tools/bench-http.py [--seconds 5] [--connections 8] [--threads 1] [--json]
Needs root (namespaces, tap), wrk and build/webserver.elf32
(make APP=webserver image). Writes only into a temporary folder.
"""
import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from netbench import (WEBSERVER_READY, ConsoleGuest, parse_wrk, relay,  # noqa: E402
                      webserver_stats)  # (the test bench)
import imginfo  # noqa: E402
import mksite  # noqa: E402
import zebu_accel  # noqa: E402  (the launcher's accelerator choice)

GUEST_IP, HOST_IP = "10.0.3.2", "10.0.3.1"
BASE_ADDR, BASE_PORT = "127.0.0.1", 8080
IMAGE = os.path.join(ROOT, "build", "webserver.elf32")
SITE = os.path.join(ROOT, "apps", "webserver", "site")
EXTRAS = {"bench/4k.bin": "4K", "bench/1m.bin": "1M"}
PYTHON = "/usr/bin/python3"
IMAGE_TARGET, MEM_TARGET_MIB = 100_000, 3

BASELINE_SERVER = r"""
import functools, http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else header and body writes meet delayed ACKs (40 ms)
    wbufsize = 1 << 16              # header and a small body in one write
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])),
                                      functools.partial(H, directory=sys.argv[3]))
srv.daemon_threads = True
print("ready", flush=True)
srv.serve_forever()
"""





def run_wrk(a, url, close=False, ns=None):
    cmd = ["wrk", "-t", str(a.threads), "-c", str(a.connections), "-d", f"{a.seconds:g}s",
           "--latency", "--timeout", "5s"]
    if close:
        cmd += ["-H", "Connection: close"]
    cmd.append(url)
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns] + cmd
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.seconds + 30)
    except subprocess.TimeoutExpired:  # seen when every connection stalls mid-response
        return {"rps": 0.0, "mib_s": 0.0, "p50_ms": None, "p99_ms": None, "socket_errors": -1,
                "non_2xx": 0, "error": f"wrk did not finish within {a.seconds + 30:g} s"}
    if p.returncode != 0:
        return {"rps": 0.0, "mib_s": 0.0, "p50_ms": None, "p99_ms": None, "socket_errors": -1,
                "non_2xx": 0, "error": p.stderr.strip()[-300:]}
    return parse_wrk(p.stdout)


def measure(a, base_url, ns=None, stats=None):
    """The three wrk runs; with stats (a function returning /_stats), the
    copy figures over the whole run, or over the 4 KiB runs when /_stats no
    longer answers after the 1 MiB one."""
    before = stats() if stats else None
    res = {"4k_keepalive": run_wrk(a, base_url + "/bench/4k.bin", ns=ns),
           "4k_close": run_wrk(a, base_url + "/bench/4k.bin", close=True, ns=ns)}
    mid = stats() if stats else None
    res["1m_keepalive"] = run_wrk(a, base_url + "/bench/1m.bin", ns=ns)
    if stats:
        after = stats()
        res["copies"] = copies(before, after) or copies(before, mid)
        if res["copies"] is not None:
            res["copies"]["over"] = "all runs" if after else "the 4 KiB runs"
    return res


def copies(before, after):
    if not before or not after:
        return None
    body = after["body_bytes"] - before["body_bytes"]
    copied = after["stack_copied_bytes"] - before["stack_copied_bytes"]
    return {"body_bytes": body, "stack_copied_bytes": copied,
            "copied_per_byte": copied / body if body else None}


class Guest(ConsoleGuest):
    """The web server under tools/zebu-run."""

    def __init__(self, archive, net, mem=None, port=None, timeout=600):
        args = ["--kernel", IMAGE, "--module", archive, "--net", net, "--timeout", str(timeout)]
        if net == "user":
            args += ["--hostfwd", f"tcp:127.0.0.1:{port}-:80"]
        else:
            args += ["--append", f"ip={GUEST_IP}/24 gw={HOST_IP}"]
        if mem:
            args += ["--mem", mem]
        super().__init__(args)

    def wait_ready(self, seconds):
        return self.wait_for(WEBSERVER_READY, seconds) is not None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pack(tmp, extras):
    out = os.path.join(tmp, "site-extra.bin" if extras else "site.bin")
    cmd = [PYTHON, os.path.join(ROOT, "tools", "mksite.py")]
    if extras:
        for name, size in EXTRAS.items():
            cmd += ["--extra", f"{name}={size}"]
    subprocess.run(cmd + [SITE, out], check=True)
    return out


def measure_baseline(a, tmp):
    docroot = os.path.join(tmp, "baseline")
    os.makedirs(os.path.join(docroot, "bench"))
    for name, size in (("bench/4k.bin", 4096), ("bench/1m.bin", 1 << 20)):
        with open(os.path.join(docroot, name), "wb") as f:
            f.write(mksite.generated(size))
    with relay(tap_addr=f"{HOST_IP}/24") as (ns, _sockdir, _log):
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        srv = subprocess.Popen(["ip", "netns", "exec", ns, PYTHON, "-c", BASELINE_SERVER,
                                BASE_ADDR, str(BASE_PORT), docroot],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        try:
            if srv.stdout.readline().strip() != b"ready":
                sys.exit("bench-http: the baseline server did not start")
            return measure(a, f"http://{BASE_ADDR}:{BASE_PORT}", ns=ns)
        finally:
            srv.terminate()
            srv.wait()


def measure_relay(a, archive):
    with relay(tap_addr=f"{HOST_IP}/24") as (ns, sockdir, _log):
        g = Guest(archive, f"relay:{sockdir}")
        try:
            if not g.wait_ready(120):
                sys.exit("bench-http: the web server did not come up on the relay:\n" +
                         g.output[-2000:])
            return measure(a, f"http://{GUEST_IP}", ns=ns,
                           stats=lambda: webserver_stats(GUEST_IP, 80, ns=ns))
        finally:
            g.stop()


def measure_user(a, archive):
    port = free_port()
    g = Guest(archive, "user", port=port)
    try:
        if not g.wait_ready(120):
            sys.exit("bench-http: the web server did not come up (user networking):\n" +
                     g.output[-2000:])
        return measure(a, f"http://127.0.0.1:{port}", stats=lambda: webserver_stats("127.0.0.1", port))
    finally:
        g.stop()


def serves_index(archive, mib, seconds):
    port = free_port()
    g = Guest(archive, "user", mem=f"{mib}M", port=port, timeout=int(seconds) + 10)
    try:
        deadline = time.time() + seconds
        while time.time() < deadline and g.proc.poll() is None:
            if g.wait_ready(0.2):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                        return r.status == 200 and len(r.read()) > 0
                except OSError:
                    time.sleep(0.2)
        return False
    finally:
        g.stop()


def smallest_mem(archive, lo=2, hi=16, seconds=20):
    """Binary search for the smallest MiB count that boots and serves /."""
    tried = {}
    if not serves_index(archive, hi, seconds):
        return None, {hi: False}
    tried[hi] = True
    while lo < hi:
        mid = (lo + hi) // 2
        ok = serves_index(archive, mid, seconds)
        tried[mid] = ok
        if ok:
            hi = mid
        else:
            lo = mid + 1
    return hi, tried


def accel():
    return zebu_accel.accel_name()


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(base, zebu, name):
    print(f"{'figure':<34} {'baseline':>10} {name:>10} {'ratio':>7}")
    rows = (("4 KiB keep-alive, requests/s", "4k_keepalive", "rps"),
            ("4 KiB Connection: close, req/s", "4k_close", "rps"),
            ("1 MiB keep-alive, MiB/s", "1m_keepalive", "mib_s"),
            ("4 KiB keep-alive p50 ms", "4k_keepalive", "p50_ms"),
            ("4 KiB keep-alive p99 ms", "4k_keepalive", "p99_ms"),
            ("4 KiB close p50 ms", "4k_close", "p50_ms"),
            ("4 KiB close p99 ms", "4k_close", "p99_ms"))
    for label, run, key in rows:
        b, z = base[run].get(key), zebu[run].get(key)
        ratio = z / b if b and z is not None else None
        print(f"{label:<34} {fmt(b, '10.2f')} {fmt(z, '10.2f')} {fmt(ratio, '7.2f')}")
    errs = {k: v.get("error") or (v.get("socket_errors"), v.get("non_2xx"))
            for k, v in zebu.items()
            if k != "copies" and (v.get("error") or v.get("socket_errors") or v.get("non_2xx"))}
    if errs:
        print(f"  {name}: wrk errors (socket errors, non-2xx) or failures: {errs}")
    c = zebu.get("copies")
    if c:
        print(f"  {name}: payload bytes copied per byte served {fmt(c['copied_per_byte'], '.4f')}"
              f" ({c['stack_copied_bytes']} of {c['body_bytes']}, over {c['over']}; target 0)")
    else:
        print(f"  {name}: copies unknown (/_stats did not answer)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each wrk run")
    ap.add_argument("--connections", type=int, default=8, help="wrk -c")
    ap.add_argument("--threads", type=int, default=1, help="wrk -t")
    ap.add_argument("--skip-mem", action="store_true", help="skip the smallest-memory search")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-http: needs root (network namespaces and a tap device)")
    if shutil.which("wrk") is None:
        sys.exit("bench-http: needs wrk (tools/deps.sh bench)")
    if not os.path.exists(IMAGE):
        sys.exit("bench-http: build/webserver.elf32 is missing: run make APP=webserver image")
    tmp = tempfile.mkdtemp(prefix="zebu-bench-http-")
    try:
        archive = pack(tmp, extras=True)
        plain = pack(tmp, extras=False)
        img = imginfo.info(IMAGE)
        base = measure_baseline(a, tmp)
        rel = measure_relay(a, archive)
        usr = measure_user(a, archive)
        mem, tried = (None, {}) if a.skip_mem else smallest_mem(plain)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    host = f"{platform.node()} {os.cpu_count()} CPUs, QEMU accel {accel()}"
    if a.json:
        print(json.dumps({"host": host, "seconds": a.seconds, "connections": a.connections,
                          "threads": a.threads, "image": img, "smallest_mem_mib": mem,
                          "mem_tries": tried, "baseline": base, "relay": rel, "user": usr},
                         indent=2))
        return
    print(f"# bench-http: {host}; wrk -t{a.threads} -c{a.connections} -d{a.seconds:g}s each")
    print("# baseline: Python ThreadingHTTPServer (HTTP/1.1) on loopback inside the namespace;")
    print("# zebu: tap + netrelay + QEMU (relay) or QEMU user networking (user): the ratio is")
    print("# the whole path against a plain Linux server, not server against server.")
    table(base, rel, "relay")
    print()
    table(base, usr, "user")
    print()
    print(f"image {os.path.relpath(IMAGE, ROOT)}: {img['loaded_bytes']} bytes loaded "
          f"({img['loaded_bytes'] / 1024:.1f} KiB), {img['bss_bytes'] / 1024:.1f} KiB bss; "
          f"target <= {IMAGE_TARGET} bytes (Toro: 166 KB): "
          f"{'met' if img['loaded_bytes'] <= IMAGE_TARGET else 'NOT met'}")
    if not a.skip_mem:
        tries = ", ".join(f"{k}M {'ok' if v else 'no'}" for k, v in sorted(tried.items()))
        print(f"smallest -m that boots and serves / (demo site archive): "
              f"{'>16' if mem is None else mem} MiB ({tries}); target <= {MEM_TARGET_MIB} MiB: "
              f"{'met' if mem is not None and mem <= MEM_TARGET_MIB else 'NOT met'}")


if __name__ == "__main__":
    main()
