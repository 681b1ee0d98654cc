"""tools/boottime runs end to end on every path and prints a well-formed
table and JSON (no timing assertions: this machine is shared and noisy), and
its device-access counts, which do not depend on the machine's load, hold
hello's boot on microvm to a budget."""
import json
import os
import subprocess

from conftest import ROOT

PATHS = ["multiboot", "qboot", "microvm-pvh", "pc-pvh", "iso-bios", "iso-uefi"]


def test_boottime_table_and_json():
    out = os.path.join(ROOT, "build", "boottime", "test.json")
    p = subprocess.run([os.path.join(ROOT, "tools", "boottime"), "--runs", "1", "--json", out],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    rows = [l for l in p.stdout.splitlines() if l.startswith("| ") and "---" not in l]
    assert rows[0].startswith("| path | floor ms | kernel_main ms | ratio")
    assert rows[0].endswith("| exits | floor exits | ratio |")
    assert [r.split("|")[1].strip() for r in rows[1:]] == PATHS
    with open(out) as f:
        data = json.load(f)
    assert [r["path"] for r in data["paths"]] == PATHS
    for r in data["paths"]:
        for key in ("floor_ms", "kernel_main_ms", "ready_ms"):
            s = r[key]
            assert 0 < s["min"] <= s["median"] <= s["max"]
        assert r["ready_ms"]["median"] >= r["kernel_main_ms"]["median"]
        g = r["guest_to_kernel_main_ms"]
        assert g is not None and 0 < g["median"] < r["guest_to_ready_ms"]["median"]
        e = r["exits"]
        assert e["floor"]["total"] > 0 and e["app"]["total"] > 0, r["path"]
        # UEFI's own device accesses (over a million, and they vary with how
        # long it polls its timer) drown the kernel's few thousand: compare
        # app and floor only where the firmware is quiet.
        if r["path"] != "iso-uefi":
            assert e["floor"]["total"] < e["app"]["total"], r["path"]
        assert sum(e["app"]["by_region"].values()) == e["app"]["total"]
        assert e["app"]["reads"] + e["app"]["writes"] == e["app"]["total"]


def test_boottime_refuses_an_unknown_path():
    p = subprocess.run([os.path.join(ROOT, "tools", "boottime"), "--paths", "floppy"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "unknown path 'floppy'" in p.stderr


def device_accesses(app, paths):
    """tools/boottime's count of emulated-device accesses (VM exits under
    KVM) for one boot of the app and of the floor kernel per path."""
    p = subprocess.run([os.path.join(ROOT, "tools", "boottime"), "--runs", "0", "--app", app,
                        "--paths", ",".join(paths), "--json", "-"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return {r["path"]: r["exits"] for r in json.loads(p.stdout)["paths"]}


# Zebu's default console on hello: the banner (62 bytes on microvm), the app's
# two lines (45) and a CR per line. The floor prints 13 bytes.
HELLO_CONSOLE_BYTES = 62 + 45 + 3


def test_hello_on_microvm_touches_few_devices():
    """The counts are deterministic (no polling loop decides them), so they
    are asserted. On microvm the console is a virtio console found before
    the banner (a notification per line, not an access per byte), and the
    whole boot is held to twice the floor's."""
    e = device_accesses("hello", ["microvm-pvh", "pc-pvh"])
    app, floor = e["microvm-pvh"]["app"], e["microvm-pvh"]["floor"]
    # The default log level prints no info line: only the banner and hello's output.
    assert app["console_bytes"] == HELLO_CONSOLE_BYTES, app
    assert app["total"] <= 2 * floor["total"], (app, floor)
    # Nothing went through the UART: the virtio console came up first, and
    # the UART is programmed only on its first byte.
    assert app["by_region"].get("serial", 0) == 0, app
    # Its setup (about 22) and one notification per write (3 here).
    assert app["by_region"]["virtio-mmio"] <= 30, app
    # microvm has no PCI bus and no VGA: the PCI probes are the firmware's (the
    # floor makes them too) and the VGA is one register read that finds nothing.
    assert app["by_device"]["pci-config"] == floor["by_device"]["pci-config"], app
    assert app["by_device"]["vga"] == {"reads": 1, "writes": 0}, app
    # pc (serial console) without -vga: no VGA either, so no cursor writes
    # there, and the UART: its bytes, about a status read per 16, its
    # presence probe and setup (13).
    pc = e["pc-pvh"]["app"]
    assert pc["by_device"]["vga"]["writes"] == 0, pc
    assert pc["by_region"]["serial"] <= pc["console_bytes"] + pc["console_bytes"] // 16 + 14, pc
