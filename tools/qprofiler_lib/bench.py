#!/usr/bin/env python3
"""What profiling costs the guest: achieved rate and slowdown, measured.

    python3 tools/qprofiler_lib/bench.py [--runs 3] [--json out.json]

Needs build/proftruth.elf32 and build/count/proftruth.elf32 (make APP=proftruth,
and PROFILE=count). Each configuration boots proftruth mode=fixed (a fixed
number of work chunks) and times, on the host, the span from the guest's
"fixed start" line to its exit; a profiled run is launched by qprofiler,
which starts sampling at that line and samples until the exit, so its own
wall time is the span. The guest's clock for the work is printed by the
guest (it stops while QEMU has the VM stopped, so it shows what the guest
itself perceives). Slowdown is wall time per chunk against the
unprofiled baseline, measured in the same run; runs of the configurations
alternate so that load on the host hits them alike. Counting mode's cost is
the guest-timed duration of proftruth mode=count (calls of tiny functions,
the worst case for instrumentation) on the counting and the normal image.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.path.join(ROOT, "tools", "zebu-run")
QPROFILER = os.path.join(ROOT, "tools", "qprofiler")
IMAGE = os.path.join(ROOT, "build", "proftruth.elf32")
ELF = os.path.join(ROOT, "build", "proftruth.elf")
COUNT_IMAGE = os.path.join(ROOT, "build", "count", "proftruth.elf32")

CONFIGS = [  # (name, qprofiler arguments or None, work scale)
    ("no profiler", None, 1.0),
    ("gdbstub 100 Hz", ["--rate", "100"], 1.0),
    ("gdbstub 1 kHz", ["--rate", "1000"], 1.0),
    ("gdbstub max", ["--rate", "0"], 0.1),
    ("QMP live 100 Hz", ["--backend", "qmp", "--rate", "100"], 1.0),
    ("QMP live max", ["--backend", "qmp", "--rate", "0"], 1.0),
    ("QMP stop 100 Hz", ["--backend", "qmp", "--qmp-stop", "--rate", "100"], 0.5),
]


def one_run(chunks, prof_args, tmp):
    """(wall seconds from "fixed start" to the guest's exit, guest-clock
    seconds of the work, the profiler's cost summary or None)."""
    append = f"mode=fixed chunks={chunks}"
    if prof_args is None:
        guest = subprocess.Popen([LAUNCHER, "--kernel", IMAGE, "--timeout", "600",
                                  "--append", append], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        t_start, out = None, ""
        for line in iter(guest.stdout.readline, b""):
            out += line.decode("utf-8", "replace")
            if t_start is None and "proftruth: fixed start" in out:
                t_start = time.perf_counter()
        guest.wait()
        wall, cost = time.perf_counter() - t_start, None
    else:
        # qprofiler launches the guest and starts sampling at the marker; it
        # samples until the guest exits, so its own wall time is the span.
        out_file = os.path.join(tmp, "guest.txt")
        subprocess.run([sys.executable, QPROFILER, "--launch", IMAGE, "--append", append,
                        "--start-after", "proftruth: fixed start", "--duration", "0",
                        "--guest-output", out_file, "--format", "json",
                        "-o", os.path.join(tmp, "p"), "--quiet", *prof_args],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out_file) as f:
            out = f.read()
        with open(os.path.join(tmp, "p.json")) as f:
            cost = json.load(f)["cost"]
        wall = cost["wall_s"]
    m = re.search(r"fixed done: \d+ chunks in (\d+) us", out)
    if m is None:
        raise RuntimeError("the guest did not report its work:\n" + out)
    return wall, int(m[1]) / 1e6, cost


ACCURACY = [("gdbstub 100 Hz", ["--rate", "100"]), ("gdbstub 1 kHz", ["--rate", "1000"]),
            ("gdbstub max", ["--rate", "0"]), ("QMP live 200 Hz", ["--backend", "qmp", "--rate", "200"])]
TRUTH_RE = re.compile(r"proftruth: truth \S+;(\w+)(?:;\S+)? total ([\d.]+)% self (\S+) ([\d.]+)%")


def accuracy(name, args, tmp, seconds):
    """Largest |profiled - truth| over self and total of the three chains."""
    out_file, prefix = os.path.join(tmp, "guest.txt"), os.path.join(tmp, "acc")
    subprocess.run([sys.executable, QPROFILER, "--launch", IMAGE,
                    "--append", f"duration_ms={int(seconds * 1000)}",
                    "--start-after", "running mix", "--duration", "0", "--guest-output", out_file,
                    "--format", "json", "-o", prefix, "--quiet", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out_file) as f:
        truth = TRUTH_RE.findall(f.read())
    with open(prefix + ".json") as f:
        summary = json.load(f)
    rows = {r["function"]: r for r in summary["all"]["flat"]}
    leaf_only = summary["meta"]["backend"] == "qmp"   # no totals to compare
    worst = 0.0
    for work, total, leaf, self_pct in truth:
        pairs = [(rows.get(leaf, {}).get("self_pct", 0.0), float(self_pct))]
        if not leaf_only:
            pairs.append((rows.get(work, {}).get("total_pct", 0.0), float(total)))
        worst = max([worst] + [abs(got - want) for got, want in pairs])
    st = summary["all"]["statuses"]
    bad = sum(v for k, v in st.items() if k not in ("ok", "leaf-only"))
    return worst, summary["all"]["samples"], bad


def count_cost(image, n):
    out = subprocess.run([LAUNCHER, "--kernel", image, "--timeout", "300",
                          "--append", f"mode=count n={n}"], capture_output=True,
                         text=True).stdout
    return int(re.search(r"counted .* in (\d+) us", out)[1]) / 1e6


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--chunks", type=int, default=300000,
                   help="work chunks of the full-size runs (about 1.3 s unprofiled here)")
    p.add_argument("--json", help="write the raw figures here")
    p.add_argument("--accuracy", type=float, default=0, metavar="SECONDS",
                   help="also profile proftruth's mix for SECONDS per run at several rates "
                        "and compare with the guest's own measurement")
    a = p.parse_args(argv)
    results = {name: [] for name, _a, _s in CONFIGS}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(a.runs):
            for name, args, scale in CONFIGS:
                chunks = int(a.chunks * scale)
                wall, gclock, cost = one_run(chunks, args, tmp)
                results[name].append({"chunks": chunks, "wall_s": wall, "guest_s": gclock,
                                      "cost": cost})
                print(f"run {run + 1} {name:18s} wall {wall:7.3f} s guest {gclock:7.3f} s" +
                      (f" {cost['achieved_hz']:6.0f} Hz paused {100 * cost['paused_fraction']:5.1f}%"
                       if cost else ""), file=sys.stderr, flush=True)
    base = statistics.median(r["wall_s"] / r["chunks"] for r in results["no profiler"])
    base_guest = statistics.median(r["guest_s"] / r["chunks"] for r in results["no profiler"])
    # The host's span includes the exit and console latency: what it exceeds
    # the guest's clock by in unprofiled runs is subtracted before reading
    # the paused share off the guest's clock.
    offset = statistics.median(r["wall_s"] - r["guest_s"] for r in results["no profiler"])
    print("| configuration | achieved rate | paused: qprofiler's estimate (at most) | "
          "paused: by the guest's clock | wall-clock slowdown | slowdown by the guest's clock |")
    print("|---|---|---|---|---|---|")
    for name, _args, _s in CONFIGS:
        rs = results[name]
        wall = statistics.median(r["wall_s"] / r["chunks"] for r in rs)
        gc = statistics.median(r["guest_s"] / r["chunks"] for r in rs)
        frozen = statistics.median(max(0.0, 1 - r["guest_s"] / (r["wall_s"] - offset)) for r in rs)
        rate = paused = "-"
        if rs[0]["cost"]:
            rate = f"{statistics.median(r['cost']['achieved_hz'] for r in rs):.0f} Hz"
            lo = statistics.median(r["cost"]["paused_fraction"] for r in rs)
            hi = statistics.median(r["cost"]["paused_fraction_max"] for r in rs)
            paused = f"{100 * lo:.1f}% ({100 * hi:.1f}%)" if hi else "0 (not stopped)"
        print(f"| {name} | {rate} | {paused} | {100 * frozen:.1f}% | "
              f"{100 * (wall / base - 1):+.1f}% | {100 * (gc / base_guest - 1):+.1f}% |")
    n = 2000000
    plain = [count_cost(IMAGE, n) for _ in range(a.runs)]
    counted = [count_cost(COUNT_IMAGE, n) for _ in range(a.runs)]
    per_call = (statistics.median(counted) - statistics.median(plain)) / (n + n // 3 + 11) * 1e9
    print(f"\ncounting: {n} calls of count_f (+{n // 3 + 1} of count_g): "
          f"{statistics.median(plain) * 1e3:.1f} ms plain, "
          f"{statistics.median(counted) * 1e3:.1f} ms counted "
          f"({statistics.median(counted) / statistics.median(plain):.1f}x; "
          f"about {per_call:.0f} ns per instrumented call, guest clock)")
    acc = {}
    if a.accuracy:
        print("\n| sampling | samples | malformed stacks | worst error against the truth "
              "(percentage points, self and total) |")
        print("|---|---|---|---|")
        with tempfile.TemporaryDirectory() as tmp:
            for name, args in ACCURACY:
                acc[name] = [accuracy(name, args, tmp, a.accuracy) for _ in range(a.runs)]
                rs = acc[name]
                print(f"| {name} | {statistics.median(r[1] for r in rs):.0f} | "
                      f"{sum(r[2] for r in rs)} of {sum(r[1] for r in rs)} | "
                      f"{', '.join(f'{r[0]:.1f}' for r in rs)} |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"configs": results, "count_plain_s": plain, "count_counted_s": counted,
                       "accuracy": acc}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
