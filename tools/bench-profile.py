#!/usr/bin/env python3
"""tools/bench-profile.py — where the web server's time goes under wrk load:
a sampled profile (tools/qprofiler) of apps/webserver serving a 4 KiB file
(and optionally a 1 MiB file) with keep-alive, the share of samples in memory
copies, a flame graph.

Method. The site archive is packed into a temporary folder with
tools/mksite.py (the demo site plus --extra bench/4k.bin=4K and
bench/1m.bin=1M) and the server boots under tools/zebu-run with QEMU user
networking (host 127.0.0.1:PORT -> guest :80), one vCPU, a gdbstub and a QMP
socket. After a short warm-up, for each file:
  1. wrk -t1 -c8 --latency for --seconds without the profiler: the baseline;
  2. wrk again for --seconds + 2 s; 1 s after it starts, tools/qprofiler
     attaches to the gdbstub and samples for --seconds at --rate Hz (jittered
     interval, full frame-pointer stacks); about 2 s of that wrk run are
     unprofiled, which makes the "while profiled" figure slightly optimistic.
/_stats is read before and after each profiled run: stack_copied_bytes over
body_bytes is the payload the stack copied per byte served, the server's own
count, a check on the sampled share.

A sample is "in a copy" (self) when its innermost frame is one of COPY, and
counts towards the copy total when a COPY function is anywhere on its stack.
COPY is every byte-copying routine in the image: libc's memcpy, memmove and
their shared worker copy_forward (copy_backward is inlined into memmove),
strcpy/strncpy/strlcpy, and net/'s nbuf_copy_out (reads a payload out of a
netbuf chain; it calls memcpy). Functions that touch every payload byte
without copying it, the Internet checksum (net_csum_*, nbuf_csum_finish), are
reported apart as CHECKSUM, because a zero-copy stack still has to sum its
payload when the device does not (net_csum_chain in the profile under QEMU
user networking shows the sum done in software).

Limits. QEMU runs the guest under TCG here: every guest instruction is
emulated, so absolute times and requests/s say little about real hardware;
the shares are what matters, and even they are skewed where TCG's cost per
instruction differs from a CPU's (a word copy loop emulates relatively
cheaply, a trap or device access dearly). Under TCG a sample's PC is a
translation block's start. With user networking, QEMU's slirp and the host
side of wrk share the host's 2 CPUs with the vCPU. Sampling pauses the guest
(qprofiler prints the paused share); the profile is of a slowed server.
Samples where the vCPU halts waiting for the next packet show up as the idle
loop; the shares are of all samples, idle included, with busy-only shares
alongside.

    tools/bench-profile.py [--seconds 10] [--rate 200] [--big] [--out build/profile]
Needs wrk, QEMU and build/webserver.elf32 + build/webserver.elf
(make APP=webserver image). Writes into --out: webserver-4k.{svg,folded,json,txt}
(and webserver-1m.* with --big) and summary.json.
"""
import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = os.path.join(ROOT, "build", "webserver.elf32")
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from netbench import WEBSERVER_READY, ConsoleGuest, webserver_stats  # noqa: E402  (the test bench's guest)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zebu_accel  # noqa: E402  (the launcher's accelerator choice)
ELF = os.path.join(ROOT, "build", "webserver.elf")
QPROFILER = os.path.join(ROOT, "tools", "qprofiler")
SITE = os.path.join(ROOT, "apps", "webserver", "site")
PYTHON = "/usr/bin/python3"

COPY = ("memcpy", "memmove", "copy_forward", "copy_backward", "strcpy", "strncpy",
        "strlcpy", "nbuf_copy_out")
CHECKSUM = ("net_csum_add", "net_csum_chain", "net_csum_pseudo", "net_csum_update16",
            "nbuf_csum_finish")
# The innermost frames of a vCPU with nothing to do (checked in summary()).
IDLE = ("sched_run_idle", "platform_halt")

def log(*a):
    print("bench-profile:", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def parse_wrk(out):
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    mult = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}
    r["mib_s"] = float(m.group(1)) * mult.get(m.group(2), 1) / 2 ** 20 if m else 0.0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(map(int, m.groups())) if m else 0
    m = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    r["p50_ms"] = float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)] if m else None
    return r


def wrk(url, seconds, a):
    # wrk takes whole seconds only ("-d 1.5s" prints its usage and fails)
    cmd = ["wrk", "-t", str(a.threads), "-c", str(a.connections), "-d", f"{int(seconds)}s",
           "--latency", "--timeout", "5s", url]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        return {"rps": 0.0, "mib_s": 0.0, "error": "wrk did not finish"}
    r = parse_wrk(p.stdout)
    if p.returncode != 0:
        r["error"] = p.stderr.strip()[-300:]
    return r


class Guest(ConsoleGuest):
    def __init__(self, archive, port, gdb, qmp, timeout):
        super().__init__(["--kernel", IMAGE, "--module", archive, "--net", "user",
                          "--hostfwd", f"tcp:127.0.0.1:{port}-:80", "--gdb", f"unix:{gdb}",
                          "--qmp", qmp, "--timeout", str(timeout)])

    def wait_ready(self, seconds):
        return self.wait_for(WEBSERVER_READY, seconds) is not None


def read_folded(path):
    counts = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, n = line.rpartition(" ")
            counts[tuple(stack.split(";"))] = counts.get(tuple(stack.split(";")), 0) + int(n)
    return counts


def summary(counts):
    """Copy, checksum and idle shares from folded stacks."""
    n = sum(counts.values())
    leaf = {}
    s = {"samples": n, "copy_self": 0, "copy_total": 0, "csum_self": 0, "csum_total": 0,
         "idle": 0, "copy_self_by_fn": {}, "copy_callers": {}}
    for stack, c in counts.items():
        lf = stack[-1]
        leaf[lf] = leaf.get(lf, 0) + c
        if lf in COPY:
            s["copy_self"] += c
            s["copy_self_by_fn"][lf] = s["copy_self_by_fn"].get(lf, 0) + c
        if any(f in COPY for f in stack):
            s["copy_total"] += c
            # the first non-copy frame below the outermost copy frame: who copies
            i = next(i for i, f in enumerate(stack) if f in COPY)
            caller = stack[i - 1] if i > 0 else "?"
            s["copy_callers"][caller] = s["copy_callers"].get(caller, 0) + c
        if lf in CHECKSUM:
            s["csum_self"] += c
        if any(f in CHECKSUM for f in stack):
            s["csum_total"] += c
        if lf in IDLE:
            s["idle"] += c
    s["leaf"] = leaf
    return s


def pct(x, n):
    return 100.0 * x / n if n else 0.0


def profile_run(a, name, url, port, gdb, qmp):
    """Baseline wrk, then wrk under qprofiler; returns the figures."""
    res = {"url": url}
    if not a.no_baseline:
        log(f"{name}: wrk {a.seconds:g} s without the profiler")
        res["wrk_plain"] = wrk(url, a.seconds, a)
    before = webserver_stats("127.0.0.1", port)
    prefix = os.path.join(a.out, f"webserver-{name}")
    log(f"{name}: wrk {a.seconds + 2:g} s, qprofiler {a.seconds:g} s at {a.rate:g} Hz")
    box = {}
    t = threading.Thread(target=lambda: box.update(r=wrk(url, a.seconds + 2, a)))
    t.start()
    time.sleep(1.0)
    q = subprocess.run([PYTHON, QPROFILER, "--gdb", f"unix:{gdb}", "--qmp", qmp, "--elf", ELF,
                        "--backend", "gdb", "--duration", f"{a.seconds:g}", "--rate",
                        f"{a.rate:g}", "--format", "flat,callgraph,folded,svg,json",
                        "-o", prefix, "--quiet"],
                       capture_output=True, text=True, timeout=a.seconds + 120)
    t.join()
    after = webserver_stats("127.0.0.1", port)
    res["wrk_profiled"] = box.get("r")
    res["qprofiler_stderr"] = q.stderr.strip().splitlines()
    if q.returncode != 0:
        sys.exit(f"bench-profile: qprofiler failed ({q.returncode}):\n{q.stderr}")
    with open(prefix + ".json") as f:
        qj = json.load(f)
    res["cost"] = qj["cost"]
    res["statuses"] = qj["all"]["statuses"]
    res["flat_top"] = qj["all"]["flat"][:15]
    s = summary(read_folded(prefix + ".folded"))
    res["shares"] = {k: v for k, v in s.items() if k != "leaf"}
    if before and after and after.get("body_bytes", 0) > before.get("body_bytes", 0):
        body = after["body_bytes"] - before["body_bytes"]
        copied = after["stack_copied_bytes"] - before["stack_copied_bytes"]
        res["stats"] = {"body_bytes": body, "stack_copied_bytes": copied,
                        "copied_per_byte": copied / body}
    res["files"] = [prefix + ext for ext in (".svg", ".folded", ".json", ".txt")]
    return res


def report(name, r):
    s, c = r["shares"], r["cost"]
    n = s["samples"]
    busy = n - s["idle"]
    print(f"== {name}: {r['url']} ==")
    if "wrk_plain" in r:
        w = r["wrk_plain"]
        print(f"wrk without profiler: {w['rps']:.0f} requests/s, {w['mib_s']:.2f} MiB/s"
              + (f"  [{w['error']}]" if w.get("error") else ""))
    w = r["wrk_profiled"] or {}
    print(f"wrk while profiled:   {w.get('rps', 0):.0f} requests/s, {w.get('mib_s', 0):.2f} MiB/s"
          + (f"  [{w['error']}]" if w.get("error") else ""))
    print(f"qprofiler: {c['ticks']} samples in {c['wall_s']:.2f} s: {c['achieved_hz']:.0f} Hz "
          f"achieved ({c['requested_hz']:g} requested); guest paused "
          f"{100 * c['paused_fraction']:.1f}% (at most {100 * c['paused_fraction_max']:.1f}%), "
          f"median stop {c['pause_us_median']:.0f} us; stacks {r['statuses']}")
    print(f"samples: {n}, idle (vCPU halted) {pct(s['idle'], n):.1f}%")
    print(f"memory copies ({', '.join(COPY)}):")
    print(f"  self {pct(s['copy_self'], n):.2f}%  total {pct(s['copy_total'], n):.2f}% of all "
          f"samples; self {pct(s['copy_self'], busy):.2f}% total {pct(s['copy_total'], busy):.2f}% "
          f"of busy samples")
    if s["copy_self_by_fn"]:
        print("  self by function: " + ", ".join(
            f"{k} {v}" for k, v in sorted(s["copy_self_by_fn"].items(), key=lambda x: -x[1])))
    if s["copy_callers"]:
        print("  called from: " + ", ".join(
            f"{k} {v}" for k, v in sorted(s["copy_callers"].items(), key=lambda x: -x[1])[:8]))
    print(f"checksum ({', '.join(CHECKSUM)}): self {pct(s['csum_self'], n):.2f}%  "
          f"total {pct(s['csum_total'], n):.2f}%")
    if "stats" in r:
        st = r["stats"]
        print(f"/_stats: stack copied {st['stack_copied_bytes']} payload bytes of "
              f"{st['body_bytes']} served ({st['copied_per_byte']:.4f} per byte)")
    print("top 10 by self%:")
    print(f"  {'self%':>6} {'+-':>5} {'total%':>7}  function")
    for row in r["flat_top"][:10]:
        print(f"  {row['self_pct']:6.2f} {row['self_se']:5.2f} {row['total_pct']:7.2f}  "
              f"{row['function']}")
    print("files: " + ", ".join(os.path.relpath(p, ROOT) for p in r["files"] if os.path.exists(p)))
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10, help="seconds profiled per file")
    ap.add_argument("--rate", type=float, default=200.0, help="qprofiler --rate (Hz)")
    ap.add_argument("--connections", type=int, default=8, help="wrk -c")
    ap.add_argument("--threads", type=int, default=1, help="wrk -t")
    ap.add_argument("--big", action="store_true", help="also profile the 1 MiB file")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the wrk run without the profiler")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "profile"),
                    help="output folder (default build/profile)")
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench-profile: needs wrk (tools/deps.sh bench)")
    for f in (IMAGE, ELF):
        if not os.path.exists(f):
            sys.exit(f"bench-profile: {f} is missing: run make APP=webserver image")
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="zebu-bench-profile-")
    runs = {}
    g = None
    try:
        archive = os.path.join(tmp, "site.bin")
        subprocess.run([PYTHON, os.path.join(ROOT, "tools", "mksite.py"), "--extra",
                        "bench/4k.bin=4K", "--extra", "bench/1m.bin=1M", SITE, archive],
                       check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        gdb, qmp = os.path.join(tmp, "gdb.sock"), os.path.join(tmp, "qmp.sock")
        g = Guest(archive, port, gdb, qmp, timeout=int(6 * a.seconds + 300))
        if not g.wait_ready(120):
            sys.exit("bench-profile: the web server did not come up:\n" + g.output[-2000:])
        base = f"http://127.0.0.1:{port}"
        log("warm-up: wrk 2 s")
        wrk(base + "/bench/4k.bin", 2, a)
        runs["4k"] = profile_run(a, "4k", base + "/bench/4k.bin", port, gdb, qmp)
        if a.big:
            runs["1m"] = profile_run(a, "1m", base + "/bench/1m.bin", port, gdb, qmp)
    finally:
        if g:
            g.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    host = (f"{platform.node()}, {os.cpu_count()} CPUs, QEMU accel "
            f"{zebu_accel.accel_name()}")
    print(f"host: {host}; wrk -t{a.threads} -c{a.connections}, keep-alive")
    for name, r in runs.items():
        report(name, r)
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump({"host": host, "copy_symbols": COPY, "checksum_symbols": CHECKSUM,
                   "seconds": a.seconds, "rate": a.rate, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
