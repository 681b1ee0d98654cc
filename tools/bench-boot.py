#!/usr/bin/env python3
"""tools/bench-boot.py — launch-to-banner time for Zebu against a floor.

For each boot path (QEMU -kernel with SeaBIOS, the GRUB ISO) it boots the app
image and a do-nothing multiboot kernel (tests/floor/floor.asm) alternately,
RUNS times each, and measures wall time from starting QEMU to the first line
of the banner (Zebu) or marker (floor) on the serial console. Alternating
spreads the machine's noise over both. It prints a table with median, min and
max, and the ratio of the medians (Zebu / floor), plus the image size.

Usage: bench-boot.py [--runs N] [--app hello] [--json FILE]
"""
import argparse
import json
import os
import platform
import select
import shlex
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.join(ROOT, "build")
RUN = os.path.join(ROOT, "tools", "zebu-run")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def build_floor():
    out = os.path.join(BUILD, "floor")
    os.makedirs(out, exist_ok=True)
    obj, elf = os.path.join(out, "floor.o"), os.path.join(out, "floor.elf32")
    sh(["nasm", "-f", "elf32", "tests/floor/floor.asm", "-o", obj])
    sh(["ld", "-m", "elf_i386", "-n", "--no-warn-rwx-segments", "-Ttext=0x100000", "-o", elf, obj])
    iso = os.path.join(out, "floor.iso")
    sh(["tools/mkiso.sh", elf, iso, "floor", ""], stdout=subprocess.DEVNULL)
    return elf, iso


def qemu_command(kind, path, extra=()):
    flag = "--kernel" if kind == "kernel" else "--iso"
    out = subprocess.run([RUN, flag, path, "--dry-run", *extra], check=True,
                         capture_output=True, text=True, cwd=ROOT).stdout
    return shlex.split(out.strip())


def time_to_marker(cmd, marker, timeout=60.0):
    """Seconds from starting QEMU to the first serial line containing marker."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    buf = b""
    found = None
    try:
        while found is None and time.perf_counter() - t0 < timeout:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if not r:
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            if marker in buf:
                found = time.perf_counter() - t0
    finally:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if found is None:
        raise RuntimeError(f"marker {marker!r} not seen: {shlex.join(cmd)}\n{buf[-2000:]!r}")
    return found


def summarize(xs):
    return {"median_ms": statistics.median(xs) * 1e3, "min_ms": min(xs) * 1e3,
            "max_ms": max(xs) * 1e3, "runs": len(xs)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--app", default="hello")
    ap.add_argument("--json", metavar="FILE")
    a = ap.parse_args()

    floor_elf, floor_iso = build_floor()
    app_elf = os.path.join(BUILD, f"{a.app}.elf32")
    app_iso = os.path.join(BUILD, f"{a.app}.iso")
    size = json.loads(subprocess.run([sys.executable, "tools/imginfo.py", app_elf, "--json"],
                                     check=True, capture_output=True, text=True,
                                     cwd=ROOT).stdout)
    paths = [("-kernel (SeaBIOS)", "kernel", app_elf, floor_elf),
             ("GRUB ISO (BIOS)", "iso", app_iso, floor_iso)]
    results = []
    for label, kind, zebu_img, floor_img in paths:
        zcmd, fcmd = qemu_command(kind, zebu_img), qemu_command(kind, floor_img)
        zt, ft = [], []
        for _ in range(a.runs):
            zt.append(time_to_marker(zcmd, b": booted via "))  # the banner, not GRUB's menu
            ft.append(time_to_marker(fcmd, b"FLOOR-READY"))
        z, f = summarize(zt), summarize(ft)
        results.append({"path": label, "zebu": z, "floor": f,
                        "ratio": z["median_ms"] / f["median_ms"]})

    accel = "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg"
    machine = f"{platform.node()} ({os.cpu_count()} CPUs), QEMU accel {accel}"
    print(f"# Boot benchmark: app {a.app}, {a.runs} runs per cell, {machine}")
    print(f"Image {os.path.basename(app_elf)}: {size['loaded_bytes']} bytes loaded "
          f"({size['loaded_bytes'] / 1024:.1f} KiB), {size['bss_bytes'] / 1024:.1f} KiB bss, "
          f"file {size['file_bytes']} bytes")
    print()
    print("| path | Zebu median (min-max) ms | floor median (min-max) ms | ratio |")
    print("|---|---|---|---|")
    for r in results:
        z, f = r["zebu"], r["floor"]
        print(f"| {r['path']} | {z['median_ms']:.1f} ({z['min_ms']:.1f}-{z['max_ms']:.1f}) | "
              f"{f['median_ms']:.1f} ({f['min_ms']:.1f}-{f['max_ms']:.1f}) | "
              f"{r['ratio']:.2f}x |")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"app": a.app, "machine": machine, "image": size, "paths": results}, fh,
                      indent=2)


if __name__ == "__main__":
    main()
