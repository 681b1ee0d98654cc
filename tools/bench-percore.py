#!/usr/bin/env python3
"""tools/bench-percore.py — the web server on a network stack per core:
requests/s and guest cycles per request per core, from the same wrk run.

Method. Three configurations of apps/webserver (all_cores=1), each booted in
a network namespace of its own behind a tap (tests/system/netbench.py
tap_ns), with the launcher's defaults otherwise (tools/zebu-run):
  smp1      -smp 1, plain tap: one queue pair, one stack;
  smp2-one  -smp 2, plain tap: one queue pair, one stack on core 0;
            connection threads on both cores, so every socket call of a
            core-1 thread moves to core 0 and back (api_forwarded);
  smp2-mq   -smp 2, multi_queue tap: a queue pair per core with RSS, a
            stack per core, each connection served on the core that
            received it.
For each boot and each path (/about.txt and a generated 4 KiB file,
/bench/4k.bin, packed into the site with tools/mksite.py --extra), a short
wrk warms up, then /_stats is read, ONE keep-alive wrk runs (-t THREADS
-c CONNECTIONS -d DURATION), and /_stats is read again. From the deltas:
  req/s                 wrk's Requests/sec;
  per core              requests answered there, busy cycles (guest TSC
                        cycles not idle), cycles per request (that core's
                        busy cycles / that core's requests) and its share
                        of the requests; busy % (busy cycles over the guest
                        TSC cycles of the host time between the two reads);
  cycles/request        all cores' busy cycles / all requests;
  cross-core/request    delta api_forwarded / delta requests: socket calls
                        moved between cores, each a move there and back
                        (target 0 on the per-core stacks).
The /_stats read before the run is itself one request in the deltas.
Each configuration is booted --runs times, in turn (smp1, smp2-one,
smp2-mq, then again), and the tables give medians; the ratios against
smp1 are taken within each round first, then the median.

Prediction. With per-core cost c cycles/request (smp2-mq's total cycles per
request) and no cross-core messages, N cores of guest CPU could serve
N x tsc_hz / c requests/s. That is a prediction from the per-core cost,
not a measurement: it assumes the host gives each vCPU a CPU of its own,
and wrk, QEMU's device threads and main loop CPUs besides.

Under TCG the guest TSC runs at host time, so busy cycles include the time
a vCPU thread waited for a host CPU; on a host with fewer CPUs than vCPUs
plus wrk plus QEMU's own threads, the per-core cost is inflated and req/s
is host-bound. Compare the rows with each other, not with hardware.

    tools/bench-percore.py [--duration 10] [--runs 3] [--connections 32]
                           [--threads 2] [--warmup 2] [--json FILE]
Needs root (namespaces, taps), wrk, QEMU and build/webserver.elf32
(make APP=webserver image). Writes only into a temporary folder.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from netbench import (WEBSERVER_READY, ConsoleGuest, parse_wrk,  # noqa: E402
                      reclaim_stale_namespaces, tap_ns, webserver_stats)  # (the test bench)

PYTHON = "/usr/bin/python3"
IMAGE = os.path.join(ROOT, "build", "webserver.elf32")
SITE = os.path.join(ROOT, "apps", "webserver", "site")
HOST_IP, GUEST_IP = "10.0.9.1", "10.0.9.2"
PATHS = ("/about.txt", "/bench/4k.bin")
# name, -smp, multi_queue tap, stacks the guest must report
CONFIGS = (("smp1", 1, False, 1), ("smp2-one", 2, False, 1), ("smp2-mq", 2, True, 2))
LABELS = {"smp1": "-smp 1, one stack",
          "smp2-one": "-smp 2, plain tap: one stack, calls moved to core 0",
          "smp2-mq": "-smp 2, multi_queue tap: a stack per core"}
QEMU_DEFAULT_CPU = "QEMU's default (qemu64)"
ACCEL_LINE = r"zebu-run: accel (\w+)(?:, -cpu (\S+))?: ([^\n]*)"


def fail(msg):
    sys.exit(f"bench-percore: {msg}")


def _interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds the guest's and namespace's clean-up


def check_prerequisites():
    if os.geteuid() != 0:
        fail("needs root (network namespaces and tap devices)")
    for tool in ("wrk", "ip", "qemu-system-x86_64"):
        if shutil.which(tool) is None:
            fail(f"needs {tool} (tools/deps.sh bench)")
    if not os.path.exists("/dev/net/tun"):
        fail("needs /dev/net/tun for the taps")
    if not os.path.exists(IMAGE):
        fail("build/webserver.elf32 is missing: run make APP=webserver image")


def pack_site(tmp):
    """The demo site plus bench/4k.bin (the site has no 4 KiB file)."""
    out = os.path.join(tmp, "site-4k.bin")
    p = subprocess.run([PYTHON, os.path.join(ROOT, "tools", "mksite.py"), "--extra",
                        "bench/4k.bin=4K", SITE, out], capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"tools/mksite.py failed: {p.stderr.strip()[-500:]}")
    return out


def wrk(a, ns, path, seconds):
    cmd = ["ip", "netns", "exec", ns, "wrk", f"-t{a.threads}", f"-c{a.connections}",
           f"-d{seconds:g}s", "--timeout", "5s", f"http://{GUEST_IP}{path}"]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        fail(f"wrk on {path} did not finish within {seconds + 30:g} s")
    if p.returncode != 0:
        fail(f"wrk on {path} failed: {p.stderr.strip()[-500:]}")
    return parse_wrk(p.stdout)


def stats(ns, g):
    s = webserver_stats(GUEST_IP, 80, ns=ns, timeout=30)
    if s is None:
        fail("/_stats did not answer; console tail:\n" + g.output[-2000:])
    for key in ("requests", "busy_cycles", "tsc_khz", "api_forwarded", "net_stacks"):
        if key not in s:
            fail(f"/_stats has no {key}: this build's web server predates the per-core "
                 "counters (rebuild: make APP=webserver image)")
    return s


def deltas(before, after, cores, wall_s, w):
    """The figures of one bracketed wrk run."""
    d = {k: after[k] - before[k] for k in ("requests", "busy_cycles", "api_forwarded")}
    tsc_hz = after["tsc_khz"] * 1000
    r = {"rps": w["rps"], "wrk_requests": w["requests"], "requests": d["requests"],
         "busy_cycles": d["busy_cycles"], "tsc_khz": after["tsc_khz"],
         "cycles_per_request": d["busy_cycles"] / d["requests"] if d["requests"] else None,
         "api_forwarded": d["api_forwarded"],
         "cross_core_per_request": d["api_forwarded"] / d["requests"] if d["requests"] else None,
         "errors": w["socket_errors"] + w["non_2xx"], "core": []}
    for c in range(cores):
        req = after.get(f"core{c}_requests", 0) - before.get(f"core{c}_requests", 0)
        busy = after.get(f"core{c}_busy_cycles", 0) - before.get(f"core{c}_busy_cycles", 0)
        r["core"].append({"requests": req, "busy_cycles": busy,
                          "cycles_per_request": busy / req if req else None,
                          "share": req / d["requests"] if d["requests"] else None,
                          "busy_pct": 100.0 * busy / (tsc_hz * wall_s) if tsc_hz else None})
    return r


def boot_and_measure(a, archive, name, smp, multi_queue, want_stacks):
    """One boot of a configuration: {path: figures}, plus the accelerator."""
    with tap_ns(f"{HOST_IP}/24", multi_queue=multi_queue) as (ns, tap):
        g = ConsoleGuest(["--smp", str(smp), "--kernel", IMAGE, "--net", f"tap:{tap}",
                          "--netns", ns, "--module", archive, "--append",
                          f"ip={GUEST_IP}/24 all_cores=1", "--timeout", "1800"])
        try:
            if not g.wait_for(WEBSERVER_READY, 180):
                fail(f"{name}: the web server did not come up:\n{g.output[-2000:]}")
            m = re.search(ACCEL_LINE, g.output)
            accel = {"accel": m[1] if m else "unknown",
                     "cpu": (m[2] or QEMU_DEFAULT_CPU) if m else "unknown",
                     "why": m[3] if m else ""}
            res = {}
            for path in PATHS:
                if a.warmup > 0:
                    wrk(a, ns, path, a.warmup)
                before = stats(ns, g)
                if before["net_stacks"] != want_stacks:
                    fail(f"{name}: the guest runs {before['net_stacks']} network stacks, "
                         f"{want_stacks} expected (multi_queue tap: {multi_queue})")
                t0 = time.monotonic()
                w = wrk(a, ns, path, a.duration)
                after = stats(ns, g)
                wall = time.monotonic() - t0
                if w["requests"] == 0:
                    fail(f"{name}: wrk on {path} completed no request:\n{w['raw_tail']}")
                res[path] = deltas(before, after, smp, wall, w)
            return res, accel
        finally:
            out = g.stop()
            if "panic" in out.lower():
                fail(f"{name}: the guest panicked:\n{out[-3000:]}")


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(runs, path):
    """Medians over the rounds for one path: {config: figures}, with the
    ratios against smp1 taken within each round."""
    out = {}
    for name, smp, _mq, _st in CONFIGS:
        rs = [r[name][path] for r in runs]
        s = {k: median(r[k] for r in rs) for k in ("rps", "requests", "busy_cycles",
                                                     "cycles_per_request", "api_forwarded",
                                                     "cross_core_per_request", "errors",
                                                     "tsc_khz")}
        s["core"] = [{k: median(r["core"][c][k] for r in rs) for k in rs[0]["core"][c]}
                     for c in range(smp)]
        base = [r["smp1"][path] for r in runs]
        s["rps_ratio"] = median(r["rps"] / b["rps"] if b["rps"] else None
                                for r, b in zip(rs, base))
        s["cpr_ratio"] = median(r["cycles_per_request"] / b["cycles_per_request"]
                                if r["cycles_per_request"] and b["cycles_per_request"] else None
                                for r, b in zip(rs, base))
        out[name] = s
    return out


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(path, s):
    print(f"## GET {path}, keep-alive")
    print()
    print("| configuration | req/s | vs -smp 1 | core | requests | share | busy cycles "
          "| busy % | cycles/request | total cycles/request | vs -smp 1 | cross-core/request |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, _smp, _mq, _st in CONFIGS:
        r = s[name]
        for c, pc in enumerate(r["core"]):
            head = (f"| {LABELS[name]} | {fmt(r['rps'], '.0f')} | {fmt(r['rps_ratio'], '.2f')} "
                    if c == 0 else "| | | ")
            tail = (f"| {fmt(r['cycles_per_request'], '.0f')} | {fmt(r['cpr_ratio'], '.2f')} "
                    f"| {fmt(r['cross_core_per_request'], '.3f')} |" if c == 0 else "| | | |")
            print(f"{head}| {c} | {fmt(pc['requests'], '.0f')} | "
                  f"{fmt(None if pc['share'] is None else 100 * pc['share'], '.0f')}% "
                  f"| {fmt(pc['busy_cycles'], '.3g')} | {fmt(pc['busy_pct'], '.0f')} "
                  f"| {fmt(pc['cycles_per_request'], '.0f')} {tail}")
    errs = {n: s[n]["errors"] for n, *_ in CONFIGS if s[n]["errors"]}
    if errs:
        print()
        print(f"wrk socket errors or non-2xx responses (median per run): {errs}")
    mq, one = s["smp2-mq"], s["smp1"]
    c, khz = mq["cycles_per_request"], mq["tsc_khz"]
    print()
    if c and khz:
        per_core = khz * 1000 / c
        print(f"Predicted on a larger host (not measured): at {c:.0f} cycles/request per core "
              f"(-smp 2, a stack per core; guest TSC {khz / 1e6:.3f} GHz) and "
              f"{fmt(mq['cross_core_per_request'], '.3f')} cross-core messages per request, "
              f"N cores with a host CPU each would serve N x {per_core:.0f} req/s of guest "
              "CPU: " + ", ".join(f"{n} cores {n * per_core:.0f}" for n in (2, 4, 8)) + ".")
        c1 = one["cycles_per_request"]
        if c1:
            print(f"At -smp 1's {c1:.0f} cycles/request (one vCPU, less contention for the "
                  f"host): N x {khz * 1000 / c1:.0f} req/s.")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of each wrk run")
    ap.add_argument("--runs", type=int, default=3, help="boots of each configuration")
    ap.add_argument("--connections", type=int, default=32, help="wrk -c")
    ap.add_argument("--threads", type=int, default=2, help="wrk -t")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of wrk before each run")
    ap.add_argument("--json", metavar="FILE", help="also write every run's figures here")
    a = ap.parse_args()
    if a.runs < 1 or a.duration <= 0 or a.connections < 1 or a.threads < 1:
        fail("--runs, --duration, --connections and --threads must be positive")
    if a.connections < a.threads:
        fail("wrk needs --connections >= --threads")
    check_prerequisites()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupted)
    reclaim_stale_namespaces()
    tmp = tempfile.mkdtemp(prefix="zebu-bench-percore-")
    runs, accels = [], set()
    try:
        archive = pack_site(tmp)
        for i in range(a.runs):
            rnd = {}
            for name, smp, mq, stacks in CONFIGS:
                print(f"bench-percore: round {i + 1}/{a.runs}: {name}", file=sys.stderr)
                rnd[name], acc = boot_and_measure(a, archive, name, smp, mq, stacks)
                accels.add((acc["accel"], acc["cpu"], acc["why"]))
            runs.append(rnd)
    except KeyboardInterrupt as e:
        fail(f"interrupted ({e or 'SIGINT'}); guest and namespace removed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = {p: summarize(runs, p) for p in PATHS}
    acc = "; ".join(f"{x} (-cpu {cpu}; {why})" for x, cpu, why in sorted(accels))
    host = f"{platform.node()}, {os.cpu_count()} host CPUs ({cpu_model()})"
    print(f"# Web server on a network stack per core: medians of {a.runs} runs")
    print()
    print(f"Accelerator: {acc}. Host: {host}, shared with wrk and QEMU's own threads. "
          f"wrk -t{a.threads} -c{a.connections} -d{a.duration:g}s keep-alive per row, "
          f"after {a.warmup:g} s of warm-up; apps/webserver all_cores=1.")
    print()
    for p in PATHS:
        table(p, summary[p])
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"accel": sorted(accels), "host": host, "args": vars(a), "runs": runs,
                       "summary": summary}, f, indent=2)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
        return m[1].strip() if m else platform.machine()
    except OSError:
        return platform.machine()


if __name__ == "__main__":
    main()
