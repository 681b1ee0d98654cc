#!/usr/bin/env python3
"""tools/bench-peer.py — Zebu's web server against Linux + nginx: the same
files, the same tap, the same QEMU, the same minute.

Method. One network namespace with a plain tap (tests/system/netbench.py's
tap_ns(): no relay), host side 10.0.9.1/24. Two guests take turns on that
tap, each at 10.0.9.2, -m 256M, booted by tools/zebu-run with the same
accelerator (passed explicitly to both) and the same virtio-net-pci device:
  zebu   build/webserver.elf32 with a site archive (tools/mksite.py) of the
         demo site plus bench/4k.bin, bench/64k.bin and bench/1m.bin;
  nginx  Debian's Linux 6.1 and nginx 1.22 (tools/peer/build-nginx-guest.py,
         built into build/peer once) with the very same files in its
         initramfs under /srv/www.
Before a guest is measured, every file is fetched from it and compared
byte for byte with what it must serve, so that a misconfigured peer cannot
win. Then a 1 s warm-up, then wrk (-t THREADS --latency) inside the
namespace for each cell:
  4k-ka-16      GET /bench/4k.bin, keep-alive, 16 connections
  4k-ka-64      GET /bench/4k.bin, keep-alive, 64 connections
  4k-close-16   GET /bench/4k.bin, 'Connection: close', 16 connections
  64k-ka-16     GET /bench/64k.bin, keep-alive, 16 connections
  1m-ka-16      GET /bench/1m.bin, keep-alive, 16 connections
Also reported: the time from launching QEMU to the first check that
found every file right (boot plus one fetch of the site). Each cell
reports requests/s, MB/s (10^6 bytes of responses read per second), p99
latency, and QEMU's CPU time per request: utime+stime of the
QEMU process (/proc/PID/stat; every vCPU and I/O thread) before and after
the wrk run, over the requests wrk completed. Repetitions are interleaved
(zebu, nginx, zebu, nginx, ...), each a fresh boot, at -smp 1 and -smp 2;
the tables give the median of each figure and the zebu/nginx ratio. For
Zebu, /_stats is read before and after each cell, and a second table gives
its own view per request: guest cycles busy (all cores), device kicks
(notifications, each a VM exit) and device interrupts.

    tools/bench-peer.py [--reps 3] [--seconds 10] [--threads 1] [--smp 1,2]
                        [--quick] [--nic-opt KEY=VALUE ...] [--json FILE]
Needs root (namespace, tap), wrk, curl, build/webserver.elf32 (make
APP=webserver image) and the peer guest (built on first use; needs
busybox-static, cpio and Debian's archive for apt-get download).
"""
import argparse
import datetime
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
sys.path.insert(0, os.path.join(ROOT, "tools"))
from netbench import (WEBSERVER_READY, ConsoleGuest, parse_wrk, reclaim_stale_namespaces,  # noqa: E402
                      tap_ns)
import mksite  # noqa: E402
import zebu_accel  # noqa: E402

HOST_IP, GUEST_IP = "10.0.9.1", "10.0.9.2"
MEM = "256M"
IMAGE = os.path.join(ROOT, "build", "webserver.elf32")
SITE = os.path.join(ROOT, "apps", "webserver", "site")
PEER_DIR = os.path.join(ROOT, "build", "peer")
PEER_BUILD = os.path.join(ROOT, "tools", "peer", "build-nginx-guest.py")
EXTRAS = {"bench/4k.bin": "4K", "bench/64k.bin": "64K", "bench/1m.bin": "1M"}
NGINX_READY = r"peer: \d+ CPUs, eth0 [\d./]+, starting nginx"
PYTHON = "/usr/bin/python3"
# name, path, connections, Connection: close
CELLS = (("4k-ka-16", "/bench/4k.bin", 16, False),
         ("4k-ka-64", "/bench/4k.bin", 64, False),
         ("4k-close-16", "/bench/4k.bin", 16, True),
         ("64k-ka-16", "/bench/64k.bin", 16, False),
         ("1m-ka-16", "/bench/1m.bin", 16, False))
GUESTS = ("zebu", "nginx")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass




def run_group(cmd, timeout):
    """cmd in a process group of its own, killed whole on a timeout or an
    interruption; (returncode, stdout, stderr), returncode None on timeout."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        return None, "", f"did not finish within {timeout:g} s"
    finally:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def qemu_pid(launcher_pid):
    """The QEMU child of tools/zebu-run (its only child; `ip netns exec`
    execs QEMU in place)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == launcher_pid and "qemu" in stat.split("(", 1)[1].split(")")[0]:
            return int(entry)
    return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def vcpu_seconds(pid):
    """CPU time of QEMU's vCPU threads alone ("CPU n/TCG" or "CPU n/KVM",
    named by -name debug-threads=on): the guest's own work, emulation
    included. The rest of the process (the main loop: tap reads and writes,
    virtio queues, the host stack's work inside those calls) is the I/O
    side, which both guests pay per frame."""
    total = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                raw = f.read()
        except OSError:
            continue  # a thread that ended meanwhile
        if re.match(r"CPU \d+/", raw.split("(", 1)[1]):
            fields = raw.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def wrk(ns, url, connections, seconds, threads, close=False):
    cmd = ["ip", "netns", "exec", ns, "wrk", "-t", str(min(threads, connections)),
           "-c", str(connections), "-d", f"{seconds:g}s", "--latency", "--timeout", "5s"]
    if close:
        cmd += ["-H", "Connection: close"]
    rc, out, err = run_group(cmd + [url], seconds + 30)
    if rc != 0:
        return {"requests": 0, "rps": 0.0, "mb_s": 0.0, "p99_ms": None, "socket_errors": -1,
                "non_2xx": 0, "error": (err or out).strip()[-300:]}
    return parse_wrk(out)


def zebu_stats(ns):
    """Zebu's /_stats as {name: int} (counters since boot), or {} if unread."""
    rc, out, _ = run_group(["ip", "netns", "exec", ns, "curl", "-s", "--max-time", "5",
                            f"http://{GUEST_IP}/_stats"], 15)
    stats = {}
    for line in out.splitlines() if rc == 0 else ():
        k, _, v = line.partition(" ")
        if v.strip().isdigit():
            stats[k] = int(v)
    return stats


def guest_costs(before, after, requests):
    """Zebu's own view of a cell: busy guest cycles (all cores), device
    notifications (kicks, each a VM exit) and interrupts, per request."""
    if not requests or not before or not after:
        return {}
    d = {k: after.get(k, 0) - before.get(k, 0) for k in ("busy_cycles", "device_kicks",
                                                          "device_irqs")}
    return {"guest_kcycles_per_req": d["busy_cycles"] / requests / 1000,
            "kicks_per_req": d["device_kicks"] / requests,
            "irqs_per_req": d["device_irqs"] / requests}


def site_files():
    """{url path: bytes} for everything both guests serve."""
    files = {"/" + p: data for p, data in mksite.scan(SITE)}
    for name, size in EXTRAS.items():
        files["/" + name] = mksite.generated(mksite.parse_size(size))
    files["/"] = files["/index.html"]
    return files


def write_cpio_site(files, tmp):
    """The site as a gzip'd newc cpio under srv/www, to append to the peer's
    initramfs (Linux unpacks concatenated archives in turn)."""
    root = os.path.join(tmp, "peer-site")
    for path, data in files.items():
        if path.endswith("/"):
            continue
        dest = os.path.join(root, "srv", "www", path.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as f:
            f.write(data)
        os.chmod(dest, 0o644)
    site = os.path.join(tmp, "peer-site.cpio.gz")
    names = subprocess.run(["find", "srv"], cwd=root, check=True, capture_output=True).stdout
    with open(site, "wb") as f:
        cp = subprocess.Popen(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=root,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-1n"], stdin=cp.stdout, stdout=f)
        cp.stdout.close()
        cp.communicate(names)
        if cp.returncode != 0 or gz.wait() != 0:
            raise BenchError("packing the peer's site failed (cpio | gzip)")
    initrd = os.path.join(tmp, "peer-initrd.cpio.gz")
    with open(initrd, "wb") as out:
        for part in (os.path.join(PEER_DIR, "initramfs.cpio.gz"), site):
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out)
    return initrd


class Guest(ConsoleGuest):
    def __init__(self, kind, ns, tap, smp, accel, module, timeout, nic_opts=()):
        args = ["--net", f"tap:{tap}", "--netns", ns, "--mem", MEM, "--smp", str(smp),
                "--accel", accel, "--timeout", str(int(timeout)), "--module", module,
                "--qemu-arg=-name", f"--qemu-arg={kind},debug-threads=on"]
        for opt in nic_opts:
            args += ["--nic-opt", opt]
        if kind == "zebu":
            args += ["--kernel", IMAGE, "--append", f"ip={GUEST_IP}/24 gw={HOST_IP}"]
        else:
            args += ["--kernel", os.path.join(PEER_DIR, "vmlinuz"),
                     "--append", f"console=ttyS0 quiet peer.ip={GUEST_IP}/24"]
        self.kind = kind
        super().__init__(args)

    def qemu(self, seconds=10):
        deadline = time.time() + seconds
        while time.time() < deadline:
            pid = qemu_pid(self.proc.pid)
            if pid is not None:
                return pid
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise BenchError(f"{self.kind}: no QEMU process under zebu-run:\n{self.output[-2000:]}")


def fetch_all(ns, files, tmp):
    """Fetches every file from the guest over one curl (keep-alive); the
    list of paths whose bytes differ, or raises when the guest answers
    nothing."""
    got = os.path.join(tmp, "got")
    shutil.rmtree(got, ignore_errors=True)
    os.makedirs(got)
    # --fail-early: else curl's status is the last transfer's, and a first
    # one refused (the server not listening yet) would pass unnoticed.
    cmd = ["ip", "netns", "exec", ns, "curl", "-sS", "--fail", "--fail-early",
           "--max-time", "60"]
    names = {}
    for i, path in enumerate(sorted(files)):
        names[path] = os.path.join(got, str(i))
        cmd += ["-o", names[path], f"http://{GUEST_IP}{path}"]
    rc, out, err = run_group(cmd, 90)
    if rc != 0:
        raise BenchError(f"curl: {err.strip()[-300:] or 'failed'}")
    bad = []
    for path, want in files.items():
        try:
            with open(names[path], "rb") as f:
                got = f.read()
        except OSError:
            got = None
        if got is None:
            bad.append(f"{path} (nothing)")
        elif got != want:
            at = next((i for i, (x, y) in enumerate(zip(got, want)) if x != y),
                      min(len(got), len(want)))
            bad.append(f"{path} ({len(got)} bytes for {len(want)}, first difference at {at}: "
                       f"{got[at:at + 24]!r})")
    return bad


def wait_serving(g, ns, files, tmp, seconds):
    pattern = WEBSERVER_READY if g.kind == "zebu" else NGINX_READY
    if g.wait_for(pattern, seconds) is None:
        raise BenchError(f"{g.kind} did not come up in {seconds} s:\n{g.output[-3000:]}")
    deadline = time.time() + 30
    while True:
        try:
            bad = fetch_all(ns, files, tmp)
            break
        except BenchError as e:
            if time.time() > deadline or g.proc.poll() is not None:
                raise BenchError(f"{g.kind} does not serve: {e}\n{g.output[-3000:]}")
            time.sleep(0.1)
    if bad:
        raise BenchError(f"{g.kind} served wrong bytes for {', '.join(sorted(bad))}")


def measure_guest(a, kind, ns, tap, smp, accel, module, files, tmp):
    """One boot of one guest: the byte check, a warm-up, then every cell."""
    budget = 180 + len(CELLS) * (a.seconds + 40)
    launched = time.time()
    g = Guest(kind, ns, tap, smp, accel, module, budget, a.nic_opt)
    try:
        wait_serving(g, ns, files, tmp, 120)
        res = {"serving_s": time.time() - launched}
        pid = g.qemu()
        wrk(ns, f"http://{GUEST_IP}/bench/4k.bin", 16, 1, a.threads)  # warm-up
        for name, path, conns, close in CELLS:
            stats0 = zebu_stats(ns) if kind == "zebu" else {}
            before, vbefore = cpu_seconds(pid), vcpu_seconds(pid)
            r = wrk(ns, f"http://{GUEST_IP}{path}", conns, a.seconds, a.threads, close)
            used, vused = cpu_seconds(pid) - before, vcpu_seconds(pid) - vbefore
            r["qemu_cpu_s"] = used
            r["cpu_us_per_req"] = used / r["requests"] * 1e6 if r["requests"] else None
            r["vcpu_us_per_req"] = vused / r["requests"] * 1e6 if r["requests"] else None
            r["io_us_per_req"] = (used - vused) / r["requests"] * 1e6 if r["requests"] else None
            if kind == "zebu":
                r.update(guest_costs(stats0, zebu_stats(ns), r["requests"]))
            res[name] = r
        if g.proc.poll() is not None:
            raise BenchError(f"{kind} ended during the run:\n{g.output[-3000:]}")
        return res
    finally:
        g.stop()


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs):
    """{cell: {figure: median}} over a guest's repetitions."""
    out = {}
    for name, *_ in CELLS:
        cell = [r[name] for r in runs]
        out[name] = {k: median([c.get(k) for c in cell])
                     for k in ("rps", "mb_s", "p99_ms", "cpu_us_per_req", "vcpu_us_per_req",
                               "io_us_per_req",
                               "guest_kcycles_per_req", "kicks_per_req", "irqs_per_req")}
        out[name]["errors"] = sum(max(c.get("socket_errors", 0), 0) + c.get("non_2xx", 0)
                                  for c in cell)
        out[name]["failed_runs"] = sum(1 for c in cell if c.get("error"))
    out["serving_s"] = median([r["serving_s"] for r in runs])
    return out


def fmt(v, spec=".0f"):
    return "-" if v is None else format(v, spec)


def ratio(z, n):
    return f"{z / n:.2f}" if z is not None and n else "-"


def print_table(smp, summary):
    z, n = summary["zebu"], summary["nginx"]
    print(f"\n-smp {smp}:\n")
    print("| cell | Zebu req/s | nginx req/s | ratio | Zebu MB/s | nginx MB/s "
          "| Zebu p99 ms | nginx p99 ms | ratio | Zebu QEMU CPU us/req | nginx QEMU CPU us/req "
          "| ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, *_ in CELLS:
        a, b = z[name], n[name]
        print(f"| {name} | {fmt(a['rps'])} | {fmt(b['rps'])} | {ratio(a['rps'], b['rps'])} "
              f"| {fmt(a['mb_s'], '.1f')} | {fmt(b['mb_s'], '.1f')} "
              f"| {fmt(a['p99_ms'], '.2f')} | {fmt(b['p99_ms'], '.2f')} "
              f"| {ratio(a['p99_ms'], b['p99_ms'])} "
              f"| {fmt(a['cpu_us_per_req'])} | {fmt(b['cpu_us_per_req'])} "
              f"| {ratio(a['cpu_us_per_req'], b['cpu_us_per_req'])} |")
    print("\nQEMU's CPU per request, split: the vCPU threads (the guest's own work, "
          "emulated) and the rest of the process (the main loop: tap I/O and virtio "
          "queues, the host stack inside those calls):\n")
    print("| cell | Zebu vCPU us/req | nginx vCPU us/req | ratio | Zebu I/O us/req "
          "| nginx I/O us/req | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, *_ in CELLS:
        a, b = z[name], n[name]
        print(f"| {name} | {fmt(a['vcpu_us_per_req'])} | {fmt(b['vcpu_us_per_req'])} "
              f"| {ratio(a['vcpu_us_per_req'], b['vcpu_us_per_req'])} "
              f"| {fmt(a['io_us_per_req'])} | {fmt(b['io_us_per_req'])} "
              f"| {ratio(a['io_us_per_req'], b['io_us_per_req'])} |")
    print("\nZebu's own counters (/_stats before and after each cell; the extra /_stats "
          "requests are not counted), per request:\n")
    print("| cell | guest kcycles busy | device kicks | device interrupts |")
    print("|---|---|---|---|")
    for name, *_ in CELLS:
        a = z[name]
        print(f"| {name} | {fmt(a['guest_kcycles_per_req'], '.1f')} "
              f"| {fmt(a['kicks_per_req'], '.2f')} | {fmt(a['irqs_per_req'], '.2f')} |")
    print(f"\nLaunch to serving every file right (boot, then the byte check): Zebu "
          f"{fmt(z['serving_s'], '.2f')} s, nginx {fmt(n['serving_s'], '.2f')} s.")
    for kind in GUESTS:
        errs = {c: (summary[kind][c]["errors"], summary[kind][c]["failed_runs"])
                for c, *_ in CELLS
                if summary[kind][c]["errors"] or summary[kind][c]["failed_runs"]}
        if errs:
            print(f"\n{kind}: wrk errors (socket errors + non-2xx, failed runs) over all "
                  f"repetitions: {errs}")


def qemu_version():
    try:
        out = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                             text=True).stdout
    except OSError:
        return "?"
    m = re.search(r"version (\S+)", out)
    return m.group(1) if m else "?"


def preflight():
    if os.geteuid() != 0:
        raise BenchError("needs root (a network namespace and a tap device)")
    for tool, pkg in (("wrk", "wrk"), ("curl", "curl"), ("ip", "iproute2"),
                      ("cpio", "cpio"), ("gzip", "gzip")):
        if shutil.which(tool) is None:
            raise BenchError(f"needs {tool}: install Debian's {pkg} (tools/deps.sh bench)")
    if not os.path.exists(IMAGE):
        raise BenchError("build/webserver.elf32 is missing: run make APP=webserver image")
    p = subprocess.run([PYTHON, PEER_BUILD], capture_output=True, text=True)
    if p.returncode != 0:
        raise BenchError(f"the peer guest could not be built:\n{p.stderr.strip()}")
    with open(os.path.join(PEER_DIR, "versions.json")) as f:
        return json.load(f)


def pack_zebu_site(tmp):
    out = os.path.join(tmp, "site.bin")
    cmd = [PYTHON, os.path.join(ROOT, "tools", "mksite.py")]
    for name, size in EXTRAS.items():
        cmd += ["--extra", f"{name}={size}"]
    subprocess.run(cmd + [SITE, out], check=True)
    return out


def namespace_tuning(ns):
    """Many short connections in a row: let the client reuse ports."""
    for key, val in (("net.ipv4.tcp_tw_reuse", "1"),
                     ("net.ipv4.ip_local_port_range", "1024 65535")):
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={val}"],
                       check=False)


def bench(a, accel):
    tmp = tempfile.mkdtemp(prefix="zebu-bench-peer-")
    try:
        files = site_files()
        modules = {"zebu": pack_zebu_site(tmp), "nginx": write_cpio_site(files, tmp)}
        runs = {smp: {k: [] for k in GUESTS} for smp in a.smp}
        with tap_ns(tap_addr=f"{HOST_IP}/24") as (ns, tap):
            namespace_tuning(ns)
            for smp in a.smp:
                for rep in range(a.reps):
                    for kind in GUESTS:
                        print(f"bench-peer: -smp {smp}, repetition {rep + 1}/{a.reps}: {kind}",
                              file=sys.stderr, flush=True)
                        runs[smp][kind].append(
                            measure_guest(a, kind, ns, tap, smp, accel, modules[kind],
                                          files, tmp))
        return runs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="boots of each guest per -smp")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each wrk run")
    ap.add_argument("--threads", type=int, default=1, help="wrk -t")
    ap.add_argument("--smp", default="1,2", help="guest CPU counts, comma-separated")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 repetition, 2 s cells")
    ap.add_argument("--nic-opt", action="append", default=[], metavar="KEY=VALUE",
                    help="virtio-net property for both guests (tools/zebu-run --nic-opt), "
                         "e.g. host_tso4=off; repeatable")
    ap.add_argument("--json", metavar="FILE", help="also write every run and median to FILE")
    a = ap.parse_args()
    if a.quick:
        a.reps, a.seconds = 1, 2.0
    a.smp = [int(s) for s in a.smp.split(",")]
    # A SIGTERM unwinds like Ctrl-C, so that guests and the namespace go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench-peer: terminated"))
    try:
        versions = preflight()
        reclaim_stale_namespaces()  # of runs killed before they could clean up
        accel = zebu_accel.accel_name()
        if accel == "none":
            raise BenchError("no usable accelerator (zebu_accel)")
        started = datetime.datetime.now(datetime.timezone.utc)
        runs = bench(a, accel)
    except BenchError as e:
        sys.exit(f"bench-peer: {e}")
    summary = {smp: {k: summarize(runs[smp][k]) for k in GUESTS} for smp in a.smp}
    host = {"hostname": platform.node(), "host_cpus": os.cpu_count(), "accel": accel,
            "qemu": qemu_version(), "date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "reps": a.reps, "seconds": a.seconds, "wrk_threads": a.threads, "mem": MEM,
            "nic_opts": a.nic_opt,
            "peer": versions}
    print(f"# bench-peer: {host['hostname']}, {host['host_cpus']} host CPUs, accel "
          f"{accel}, QEMU {host['qemu']}, {host['date']}")
    print(f"# zebu: build/webserver.elf32; nginx: Debian nginx {versions['nginx_version']} on "
          f"{versions['kernel_package']} {versions['kernel_version']}; both -m {MEM}, "
          f"virtio-net-pci{''.join(',' + o for o in a.nic_opt)} on one plain tap, "
          f"wrk -t{a.threads} in the namespace")
    print(f"# medians of {a.reps} interleaved boots per guest, {a.seconds:g} s per cell; "
          "ratio = Zebu/nginx (req/s: higher is better for Zebu; p99 and CPU: lower)")
    for smp in a.smp:
        print_table(smp, summary[smp])
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"host": host, "cells": [c[0] for c in CELLS],
                       "median": {str(s): v for s, v in summary.items()},
                       "runs": {str(s): v for s, v in runs.items()}}, f, indent=2)


if __name__ == "__main__":
    main()
