#!/usr/bin/env python3
"""tools/bench-synflood.py — how long a real client waits for the web server
during a SYN flood, with SYN cookies (the default) and without
(tcp.syncookies=0: a full SYN cache evicts its oldest entry).

Method. Each run boots apps/webserver on a plain tap in a namespace of its
own (tests/system/netbench.py tap_ns: no relay, the host's Linux stack is
the peer) and runs netbench.SYN_FLOOD_CLIENTS there: --syns spoofed SYNs
from random off-link sources, paced over --seconds, and meanwhile --clients
real Linux connections from the namespace's address, evenly spread from
0.3 s to the end of the flood, each timing its connect() (the handshake)
and its GET /about.txt. Every other client is slow (it holds its
handshake's last ACK back 200 ms, as from far away). Runs alternate between
the two settings. Printed per setting: connect() time p50/p99/max over all
clients, request time (connect to the last response byte) p50/p99/max of
the prompt clients, how many slow clients were served, and the cookie
counters from /_stats. Target (issue 17): connect() under 100 ms during
the flood (printed, not asserted; the system test asserts < 0.9 s, below
Linux's 1 s SYN retransmission).

    tools/bench-synflood.py [--runs 2] [--syns 5000] [--seconds 2.5] [--clients 20] [--json]
Needs root (namespaces, tap), scapy and build/webserver.elf32
(make APP=webserver image).
"""
import argparse
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from netbench import (SYN_FLOOD_CLIENTS, WEBSERVER_READY, ConsoleGuest,  # noqa: E402
                      tap_ns, webserver_stats)  # (the test bench)
import zebu_accel  # noqa: E402  (the launcher's accelerator choice)

GUEST_IP, HOST_IP = "10.0.9.2", "10.0.9.1"
IMAGE = os.path.join(ROOT, "build", "webserver.elf32")
SITE = os.path.join(ROOT, "build", "webserver.site")
TARGET_MS = 100


def one_run(a, cookies):
    """One guest, one flood: the clients' records and the /_stats counters."""
    append = f"ip={GUEST_IP}/24 gw={HOST_IP}" + ("" if cookies else " tcp.syncookies=0")
    interval = max(0.01, (a.seconds - 0.4) / a.clients)
    with tap_ns(f"{HOST_IP}/24") as (ns, tap):
        guest = ConsoleGuest(["--kernel", IMAGE, "--module", SITE, "--net", f"tap:{tap}",
                              "--netns", ns, "--append", append, "--timeout", "300"])
        try:
            if not guest.wait_for(WEBSERVER_READY, 120):
                sys.exit("the web server did not come up:\n" + guest.output[-2000:])
            p = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c",
                                SYN_FLOOD_CLIENTS, GUEST_IP, str(a.syns), str(a.seconds),
                                str(a.clients), str(interval)],
                               capture_output=True, text=True, timeout=120)
            if p.returncode != 0:
                sys.exit("the flood failed:\n" + p.stderr[-2000:])
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r["stats"] = webserver_stats(GUEST_IP, 80, ns=ns) or {}
        finally:
            guest.stop()
    return r


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


def summary(runs):
    cl = [c for r in runs for c in r["clients"]]
    ok = [c for c in cl if c.get("status") == "HTTP/1.1 200 OK"]
    conn = [c["connect_s"] * 1000 for c in cl]
    req = [c["total_s"] * 1000 for c in ok if not c["slow"]]
    slow = [c for c in cl if c["slow"]]
    st = [r["stats"] for r in runs]
    return {
        "clients": len(cl), "served": len(ok),
        "connect_ms": [pct(conn, .5), pct(conn, .99), max(conn, default=None)],
        "request_ms": [pct(req, .5), pct(req, .99), max(req, default=None)],
        "slow_served": sum(1 for c in slow if c in ok), "slow": len(slow),
        "flood_seconds": [r["flood_seconds"] for r in runs],
        "cookies": [sum(s.get(f"stack_syncookies_{k}", 0) for s in st)
                    for k in ("sent", "accepted", "rejected")],
    }


def ms3(v):
    return " / ".join("-" if x is None else f"{x:.1f}" for x in v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2, help="runs per setting (alternated)")
    ap.add_argument("--syns", type=int, default=5000, help="spoofed SYNs per run")
    ap.add_argument("--seconds", type=float, default=2.5, help="length of the flood")
    ap.add_argument("--clients", type=int, default=20, help="real clients per run")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = ap.parse_args()
    runs = {True: [], False: []}
    for _ in range(a.runs):
        for cookies in (True, False):
            runs[cookies].append(one_run(a, cookies))
    res = {"cookies": summary(runs[True]), "no_cookies": summary(runs[False])}
    host = f"{platform.node()} {os.cpu_count()} CPUs, QEMU accel {zebu_accel.accel_name()}"
    if a.json:
        print(json.dumps({"host": host, "syns": a.syns, "seconds": a.seconds,
                          "clients": a.clients, "runs": a.runs, **res}, indent=2))
        return
    print(f"# bench-synflood: {host}; {a.syns} spoofed SYNs in {a.seconds:g} s, "
          f"{a.clients} real clients per run (every other one slow), {a.runs} runs each")
    print("| setting | clients served | connect ms p50 / p99 / max | request ms p50 / p99 / max "
          "(prompt clients) | slow clients served | cookies sent / accepted / rejected |")
    print("|---|---|---|---|---|---|")
    for name, s in (("cookies (default)", res["cookies"]),
                    ("tcp.syncookies=0", res["no_cookies"])):
        print(f"| {name} | {s['served']}/{s['clients']} | {ms3(s['connect_ms'])} | "
              f"{ms3(s['request_ms'])} | {s['slow_served']}/{s['slow']} | "
              f"{' / '.join(map(str, s['cookies']))} |")
    worst = res["cookies"]["connect_ms"][2]
    print(f"target: connect() < {TARGET_MS} ms during the flood, with cookies: "
          f"{'met' if worst is not None and worst < TARGET_MS else 'NOT met'} (max {worst} ms)")


if __name__ == "__main__":
    main()
