"""tools/boottime runs end to end on every path and prints a well-formed
table and JSON (no timing assertions: this machine is shared and noisy)."""
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
        assert 0 < e["floor"]["total"] < e["app"]["total"], r["path"]
        assert sum(e["app"]["by_region"].values()) == e["app"]["total"]
        assert e["app"]["reads"] + e["app"]["writes"] == e["app"]["total"]


def test_boottime_refuses_an_unknown_path():
    p = subprocess.run([os.path.join(ROOT, "tools", "boottime"), "--paths", "floppy"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "unknown path 'floppy'" in p.stderr
