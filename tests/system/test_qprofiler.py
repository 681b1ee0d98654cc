"""tools/qprofiler against ground truth (tests/apps/proftruth).

proftruth measures, in the guest, how its time splits between three call
chains; the profiler's self and total shares must land within 5 percentage
points of that, every stack must end at a thread entry, the SVG and
speedscope outputs must parse, the QMP fallback must work when the gdbstub
is taken, and a PROFILE=count image must count exact call numbers.
The images are built here (make APP=proftruth, and PROFILE=count).
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import LAUNCHER, ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
from qprofiler_lib import rsp, walk  # noqa: E402
from qprofiler_lib.elfsyms import ElfImage  # noqa: E402

QPROFILER = os.path.join(ROOT, "tools", "qprofiler")
ELF = os.path.join(ROOT, "build", "proftruth.elf")
IMAGE = os.path.join(ROOT, "build", "proftruth.elf32")
COUNT_ELF = os.path.join(ROOT, "build", "count", "proftruth.elf")
COUNT_IMAGE = os.path.join(ROOT, "build", "count", "proftruth.elf32")
ROOTS = set(walk.ROOTS)
TOLERANCE = 5.0   # percentage points (the bound)

TRUTH_RE = re.compile(r"proftruth: truth (\S+) total ([\d.]+)% self (\S+) ([\d.]+)%")


def make(*args):
    subprocess.run(["make", "--no-print-directory", "APP=proftruth", *args], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def images():
    make()
    make("PROFILE=count")


def truth(text):
    """{chain's last function: (total %, self function, self %)} from the guest."""
    out = {}
    for chain, total, fn, self_pct in TRUTH_RE.findall(text):
        out[chain.split(";")[1]] = (float(total), fn, float(self_pct))
    assert set(out) == {"work_a", "work_b", "work_c"}, text
    return out


def flat(part):
    return {r["function"]: r for r in part["flat"]}


class Guest:
    """A guest under tools/zebu-run with a gdbstub and a QMP socket."""

    def __init__(self, image, append, smp=1, timeout=90):
        self.dir = tempfile.mkdtemp(prefix="qprof-test.")
        self.gdb = os.path.join(self.dir, "gdb.sock")
        self.qmp = os.path.join(self.dir, "qmp.sock")
        self.proc = subprocess.Popen(
            [LAUNCHER, "--kernel", image, "--append", append, "--smp", str(smp),
             "--timeout", str(timeout), "--gdb", f"unix:{self.gdb}", "--qmp", self.qmp],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output = ""

    def wait_for(self, marker, timeout=60):
        deadline = time.monotonic() + timeout
        while marker not in self.output:
            line = self.proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                pytest.fail(f"no '{marker}' from the guest:\n{self.output}")
            self.output += line.decode("utf-8", "replace")

    def finish(self, timeout=120):
        rest, _ = self.proc.communicate(timeout=timeout)
        self.output += rest.decode("utf-8", "replace")
        return self.proc.returncode


def qprofiler(*args, timeout=180):
    p = subprocess.run([sys.executable, QPROFILER, *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)
    return p


# ---- the main profile: launched by qprofiler, sampled over the whole mix ----

@pytest.fixture(scope="module")
def mix(images, tmp_path_factory):
    d = tmp_path_factory.mktemp("mix")
    prefix, guest_out = str(d / "p"), str(d / "guest.txt")
    p = qprofiler("--launch", IMAGE, "--append", "duration_ms=5000",
                  "--start-after", "running mix", "--duration", "0", "--rate", "500",
                  "--format", "flat,callgraph,folded,speedscope,svg,json", "-o", prefix,
                  "--guest-output", guest_out)
    assert p.returncode == 0, p.stdout + p.stderr
    with open(guest_out) as f:
        guest = f.read()
    with open(prefix + ".json") as f:
        summary = json.load(f)
    return {"prefix": prefix, "stdout": p.stdout, "stderr": p.stderr, "guest": guest,
            "truth": truth(guest), "json": summary}


def test_enough_samples_and_every_stack_ends_at_a_thread_entry(mix):
    part = mix["json"]["all"]
    assert part["samples"] >= 800, mix["stderr"]
    assert part["statuses"] == {"ok": part["samples"]}, part["statuses"]
    with open(mix["prefix"] + ".folded") as f:
        lines = f.read().splitlines()
    total = 0
    for line in lines:
        stack, count = line.rsplit(" ", 1)
        assert stack.split(";")[0] in ROOTS, line
        total += int(count)
    assert total == part["samples"]


def test_self_and_total_shares_match_the_guests_own_measurement(mix):
    rows = flat(mix["json"]["all"])
    failures = []
    for work, (total, leaf, self_pct) in mix["truth"].items():
        got_total = rows.get(work, {}).get("total_pct", 0.0)
        got_self = rows.get(leaf, {}).get("self_pct", 0.0)
        got_leaf_total = rows.get(leaf, {}).get("total_pct", 0.0)
        for what, got, want in ((f"total {work}", got_total, total),
                                (f"total {leaf}", got_leaf_total, total),
                                (f"self {leaf}", got_self, self_pct)):
            if abs(got - want) > TOLERANCE:
                failures.append(f"{what}: profiled {got:.2f}%, truth {want:.2f}%")
    assert not failures, "\n".join(failures) + "\n" + mix["stdout"]


def test_frameless_leaf_is_attributed_to_its_caller(mix):
    # leaf_b has no frame (gcc omits it for trivial leaves): its caller must
    # come from [rsp], so no stack may show leaf_b without work_b under it.
    with open(mix["prefix"] + ".folded") as f:
        leaf_b = [line for line in f if ";leaf_b " in line]
    assert leaf_b
    assert all(";work_b;leaf_b " in line for line in leaf_b), leaf_b


def test_call_graph_names_callers_and_callees(mix):
    out = mix["stdout"]
    block = out[out.index("Call graph"):]
    entry = re.search(r"\n((?:\s+[\d.]+%\s+\S+\n)*)\s+[\d.]+% total\s+[\d.]+% self\s+work_a\n"
                      r"((?:\s+[\d.]+%\s+\S+\n)*)", block)
    assert entry, block
    assert "run_mix" in entry[1] or "main" in entry[1]
    assert "leaf_a" in entry[2]


def test_svg_flame_graph_is_well_formed(mix):
    tree = ET.parse(mix["prefix"] + ".svg")
    svg = tree.getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    titles = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t.startswith("leaf_a (") for t in titles), titles[:10]
    assert any(t.startswith("thread_start (") for t in titles)
    for rect in svg.iter("{http://www.w3.org/2000/svg}rect"):
        assert float(rect.get("width")) > 0


def test_speedscope_json_is_well_formed(mix):
    with open(mix["prefix"] + ".speedscope.json") as f:
        doc = json.load(f)
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = doc["shared"]["frames"]
    names = [fr["name"] for fr in frames]
    assert "leaf_a" in names and "thread_start" in names
    prof = doc["profiles"][0]
    assert prof["type"] == "sampled"
    assert len(prof["samples"]) == len(prof["weights"]) == mix["json"]["all"]["samples"]
    assert prof["endValue"] >= prof["startValue"]
    for stack in prof["samples"]:
        assert all(0 <= i < len(frames) for i in stack)
        assert names[stack[0]] in ROOTS   # root first


def test_cost_is_measured_and_reported(mix):
    cost = mix["json"]["cost"]
    assert cost["achieved_hz"] > 0 and 0 < cost["paused_fraction"] < 1
    assert re.search(r"\d+ Hz achieved \(500 Hz requested\)", mix["stderr"])
    assert re.search(r"guest paused [\d.]+% of the time", mix["stderr"])
    warned = "WARNING: the guest was paused" in mix["stderr"]
    assert warned == (cost["paused_fraction"] > 0.10), mix["stderr"]


# ---- attach to a running SMP guest, per vCPU ----

def test_attach_per_vcpu_on_two_cores(images, tmp_path):
    g = Guest(IMAGE, "duration_ms=4000 cores=2", smp=2)
    try:
        g.wait_for("running mix")
        prefix = str(tmp_path / "smp")
        p = qprofiler("--gdb", f"unix:{g.gdb}", "--qmp", g.qmp, "--elf", ELF, "--duration", "2",
                      "--rate", "300", "--per-vcpu", "--format", "json,svg,folded", "-o", prefix)
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        assert g.finish() == 0, g.output
    with open(prefix + ".json") as f:
        summary = json.load(f)
    assert summary["meta"]["backend"] == "gdbstub"
    assert summary["meta"]["vcpus_sampled"] == [0, 1]
    vcpu0, vcpu1 = flat(summary["vcpus"]["0"]), flat(summary["vcpus"]["1"])
    assert vcpu1["leaf_d"]["self_pct"] > 80, summary["vcpus"]["1"]["flat"][:5]
    assert vcpu1["side_work"]["total_pct"] > 90
    assert "leaf_d" not in vcpu0 and vcpu0["leaf_a"]["self_pct"] > 30
    for part in summary["vcpus"].values():
        assert set(part["statuses"]) == {"ok"}, part["statuses"]
    for v in (0, 1):
        ET.parse(f"{prefix}.vcpu{v}.svg")
    with open(prefix + ".folded") as f:
        assert all(line.startswith(("vcpu0;", "vcpu1;")) for line in f)


# ---- QMP fallback: the gdbstub is taken by another client ----

def test_qmp_fallback_when_the_gdbstub_is_taken(images, tmp_path):
    g = Guest(IMAGE, "duration_ms=5000")
    holder = rsp.GdbRemote(f"unix:{g.gdb}")
    try:
        g.wait_for("running mix")
        holder.connect()       # QEMU serves one debugger: this one
        holder.resume()
        prefix = str(tmp_path / "qmp")
        p = qprofiler("--gdb", f"unix:{g.gdb}", "--qmp", g.qmp, "--elf", ELF, "--duration", "3",
                      "--rate", "300", "--format", "json", "-o", prefix)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "falling back to QMP" in p.stderr
    finally:
        holder.detach()
        assert g.finish() == 0, g.output
    with open(prefix + ".json") as f:
        summary = json.load(f)
    part = summary["all"]
    assert summary["meta"]["backend"] == "qmp"
    assert part["samples"] >= 150
    assert part["statuses"] == {"leaf-only": part["samples"]}
    rows, t = flat(part), truth(g.output)
    parts = [rows.get(leaf, {}).get("self_pct", 0.0) for _w, (_t, leaf, _s) in t.items()]
    assert sum(parts) > 90, part["flat"][:6]
    for (work, (_total, leaf, self_pct)), got in zip(t.items(), parts):
        assert abs(got - self_pct) < 10, f"{leaf}: {got:.1f}% vs truth {self_pct:.1f}%"


def test_stub_that_does_not_answer_is_reported_busy(tmp_path):
    path = str(tmp_path / "silent.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    try:
        with pytest.raises(rsp.StubBusy):
            rsp.GdbRemote(path).connect(handshake_timeout=0.3)
    finally:
        server.close()


# ---- counting mode ----

def test_counting_mode_counts_exact_calls_per_core(images, tmp_path):
    n = 12345
    g = Guest(COUNT_IMAGE, f"mode=count n={n} hold_ms=20000", smp=2)
    try:
        g.wait_for("proftruth: counted")
        prefix = str(tmp_path / "count")
        p = qprofiler("--gdb", f"unix:{g.gdb}", "--elf", COUNT_ELF, "--count", "--duration", "0",
                      "--format", "flat,json", "-o", prefix)
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        g.proc.kill()
        g.finish()
    with open(prefix + ".json") as f:
        counts = json.load(f)
    total, core0 = counts["total"], counts["per_core"]["0"]
    assert (total["count_f"], total["count_g"], total["count_h"]) == (n, (n + 2) // 3, 11)
    assert (core0["count_f"], core0["count_g"]) == (n, (n + 2) // 3)
    assert "count_f" not in counts["per_core"]["1"]
    assert total["main"] == 1
    assert sum(counts["extra"]["table_full"]) == 0
    assert re.search(rf"\b{n}\b.*count_f", p.stdout)


def test_counting_needs_an_instrumented_image(images):
    g = Guest(IMAGE, "duration_ms=3000")
    try:
        g.wait_for("running mix")
        p = qprofiler("--gdb", f"unix:{g.gdb}", "--elf", ELF, "--count", "--duration", "0")
        assert p.returncode == 1
        assert "PROFILE=count" in p.stderr
    finally:
        assert g.finish() == 0, g.output


# ---- the walker on its own: hostile stacks end cleanly ----

def test_walker_stops_cleanly_on_garbage(images):
    import random
    elf = ElfImage(ELF)
    walker = walk.Walker(elf)
    rng = random.Random(7)
    text = [s for s in elf.symbols if s.size > 16]
    statuses = set()
    for _ in range(2000):
        rsp_ = 0x200000 + rng.randrange(0, 4096, 8)
        data = bytes(rng.randrange(256) for _ in range(1024))
        mem = walk.StackWindow()
        mem.add(rsp_, data)
        sym = rng.choice(text)
        frames, status = walker.walk(sym.addr + rng.randrange(sym.size), rsp_,
                                     rsp_ + rng.randrange(-64, 1024), mem)
        assert status in walk.STATUSES
        assert 1 <= len(frames) <= walker.max_depth
        statuses.add(status)
    assert "ok" not in statuses or len(statuses) > 1


def test_packet_layer_checksums_and_escapes():
    assert rsp.frame(b"g") == b"$g#67"
    assert rsp.frame(b"m100000,400") == b"$m100000,400#" + b"%02x" % (sum(b"m100000,400") % 256)
    assert rsp.unescape(b"a}\x5db") == b"a}b"
    assert rsp.unescape(b"0* ") == b"0000"      # run-length: '0' then 3 more
