#!/usr/bin/env python3
"""tools/bench-smp.py — SMP figures from the ktest app's bench mode.

Boots build/ktest.elf32 with -smp 1 and -smp 8 (RUNS times each) and reports
medians of: guest time from entry to kernel_main (and the share spent
starting the other cores), the time to bring the cores online, a
cooperative thread switch on one core, a cross-core wake-up (half a mailbox
round trip between core 0 and the last core), and malloc+free operations
per second on one core and on all cores at once. Under TCG every figure is
host time of an emulated CPU: compare them with each other, not with
hardware. Runs under KVM too, when tools/zebu-run picks it (tools/zebu_accel.py).

Usage: bench-smp.py [--runs N] [--json FILE]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zebu_accel  # noqa: E402  (the launcher's accelerator choice)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
RUN = os.path.join(ROOT, "tools", "zebu-run")
IMAGE = os.path.join(ROOT, "build", "ktest.elf32")


def one(smp):
    p = subprocess.run([RUN, "--kernel", IMAGE, "--smp", str(smp), "--append", "mode=bench loglevel=2",
                        "--timeout", "300"], capture_output=True, text=True, cwd=ROOT)
    out = p.stdout
    entry = re.search(r"entry to kernel_main took (\d+) us \(starting the other cores: (\d+) us\)",
                      out)
    online = re.search(r"smp: \d+ cores online in (\d+) us", out)
    b = re.search(r"bench: cores=(\d+) switch_ns=(\d+) wake_ns=(\d+) alloc_ops_1core=(\d+) "
                  r"alloc_ops_allcores=(\d+)", out)
    if not (entry and b):
        raise SystemExit(f"bench-smp: unexpected output for -smp {smp}:\n{out}\n{p.stderr}")
    return {"entry_us": int(entry[1]), "ap_start_us": int(entry[2]),
            "online_us": int(online[1]) if online else 0, "switch_ns": int(b[2]),
            "wake_ns": int(b[3]), "alloc_1core": int(b[4]), "alloc_all": int(b[5])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", metavar="FILE")
    a = ap.parse_args()
    accel = zebu_accel.accel_name()
    rows = {}
    for smp in (1, 8):
        runs = [one(smp) for _ in range(a.runs)]
        rows[smp] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"# SMP benchmark: medians of {a.runs} runs, {os.cpu_count()} host CPUs, accel {accel}")
    print()
    print("| figure | -smp 1 | -smp 8 |")
    print("|---|---|---|")
    labels = [("entry_us", "entry to kernel_main (us, guest TSC)"),
              ("ap_start_us", "  of which: sending INIT/SIPI to the APs (us)"),
              ("online_us", "releasing the parked APs until all online (us)"),
              ("switch_ns", "thread switch, same core (ns)"),
              ("wake_ns", "cross-core wake-up, core 0 <-> last core (ns)"),
              ("alloc_1core", "malloc+free ops/s, one core"),
              ("alloc_all", "malloc+free ops/s, all cores at once")]
    for key, label in labels:
        print(f"| {label} | {rows[1][key]:.0f} | {rows[8][key]:.0f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"accel": accel, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
