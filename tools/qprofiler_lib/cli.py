"""tools/qprofiler's command line: attach to a guest or launch one, sample or
count, write the reports."""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from . import counting, flame, report
from .elfsyms import ElfError, ElfImage, LineTable
from .qmp import Qmp, QmpError
from .rsp import GdbRemote, GuestGone, RspError, StubBusy
from .sampler import GdbSampler, QmpSampler, run
from .walk import Walker

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCHER = os.path.join(TOOLS, "zebu-run")
FORMATS = ("flat", "callgraph", "folded", "speedscope", "svg", "json")
WARN_PAUSED = 0.10


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="qprofiler",
        description="Profile a Zebu guest from the host: stop it briefly at a jittered rate, "
                    "read each vCPU's registers and stack through QEMU's gdbstub, walk the "
                    "frame pointers, and report where the time goes. Or, with --count, read "
                    "the exact call counters of a PROFILE=count image.",
        epilog="Reports: flat (self/total %% with a standard error), callgraph (callers and "
               "callees), folded (flame-graph tools' input), speedscope (JSON for "
               "speedscope.app), svg (a flame graph), json (everything, for scripts). "
               "See docs/profiling.md.")
    g = p.add_argument_group("guest")
    g.add_argument("--gdb", metavar="ADDR",
                   help="gdbstub to attach to: unix:PATH, PATH, or HOST:PORT (zebu-run --gdb)")
    g.add_argument("--qmp", metavar="PATH",
                   help="QMP socket (zebu-run --qmp): the leaf-only fallback when the "
                        "gdbstub is taken or absent")
    g.add_argument("--launch", metavar="IMAGE",
                   help="boot IMAGE (build/APP.elf32) with tools/zebu-run and profile it")
    g.add_argument("--append", default="", help="--launch: guest command line")
    g.add_argument("--smp", type=int, default=1, help="--launch: guest CPUs (default 1)")
    g.add_argument("--mem", default="128M", help="--launch: guest memory (default 128M)")
    g.add_argument("--timeout", type=float, default=300,
                   help="--launch: kill the guest after this many seconds (default 300)")
    g.add_argument("--guest-output", metavar="FILE",
                   help="--launch: write the guest's console here (default: this stderr)")
    g.add_argument("--start-after", metavar="REGEX",
                   help="--launch: start sampling once the guest prints a line matching REGEX")
    g.add_argument("--wait-exit", action="store_true",
                   help="--launch: when sampling ends, let the guest run to its own end "
                        "(default: stop it; with --duration 0 sampling lasts until it ends)")
    g.add_argument("--elf", help="ELF64 image with symbols (build/APP.elf; with --launch, "
                                 "found next to the image)")
    s = p.add_argument_group("sampling")
    s.add_argument("--backend", choices=("auto", "gdb", "qmp"), default="auto",
                   help="auto (default): gdbstub, else QMP; gdb or qmp: only that one")
    s.add_argument("--duration", type=float, default=5.0,
                   help="seconds to sample (default 5; 0: until the guest exits or Ctrl-C)")
    s.add_argument("--rate", type=float, default=200.0,
                   help="samples per second per vCPU (default 200; 0: as fast as possible)")
    s.add_argument("--jitter", type=float, default=0.5,
                   help="interval jitter: each interval is uniform in [1-j, 1+j] x 1/rate "
                        "(default 0.5)")
    s.add_argument("--vcpus", default="all", help="vCPUs to sample: all (default) or 0,2,...")
    s.add_argument("--stack-bytes", type=int, default=1024,
                   help="bytes of stack read from RSP per sample (default 1024, at most 2048); "
                        "a chain that leaves them costs one more read")
    s.add_argument("--max-depth", type=int, default=64, help="deepest stack walked (default 64)")
    s.add_argument("--qmp-stop", action="store_true",
                   help="QMP backend: stop the VM around each register read (exact RIP, but "
                        "about 3 ms paused per sample); default: read it running, as Toro did")
    s.add_argument("--seed", type=int, default=None, help="seed for the interval jitter")
    s.add_argument("--count", action="store_true",
                   help="counting mode: read the call counters of a PROFILE=count image "
                        "(after --duration seconds; 0: now) instead of sampling")
    o = p.add_argument_group("output")
    o.add_argument("--format", default="flat",
                   help=f"comma-separated, from: {', '.join(FORMATS)} (default flat)")
    o.add_argument("-o", "--output", metavar="PREFIX", default=None,
                   help="file prefix: PREFIX.txt, .folded, .speedscope.json, .svg, .json "
                        "(default qprofile)")
    o.add_argument("--per-vcpu", action="store_true",
                   help="also report each vCPU on its own (merged is always reported)")
    o.add_argument("--lines", action="store_true",
                   help="name frames function (file:line) via addr2line, not just function "
                        "(under TCG a sample's PC is a translation block's start)")
    o.add_argument("--quiet", action="store_true", help="print no report on stdout")
    a = p.parse_args(argv)
    a.formats = [f.strip() for f in a.format.split(",") if f.strip()]
    bad = [f for f in a.formats if f not in FORMATS]
    if bad:
        p.error(f"unknown format {', '.join(bad)} (choose from {', '.join(FORMATS)})")
    if not a.launch and not a.gdb and not a.qmp:
        p.error("say which guest: --gdb ADDR and/or --qmp PATH, or --launch IMAGE")
    if a.launch and (a.gdb or a.qmp):
        p.error("--launch makes its own sockets: drop --gdb/--qmp")
    if a.elf is None:
        if a.launch and a.launch.endswith(".elf32"):
            a.elf = a.launch[:-2]
        else:
            p.error("--elf build/APP.elf is needed for symbols")
    if not 1 <= a.stack_bytes <= 2048:
        p.error("--stack-bytes must be 1..2048 (one gdbstub packet)")
    if a.rate < 0 or a.duration < 0:
        p.error("--rate and --duration cannot be negative")
    if a.count and a.backend == "qmp":
        p.error("--count reads guest memory: it needs the gdbstub")
    try:
        a.vcpu_list = None if a.vcpus == "all" else [int(v) for v in a.vcpus.split(",")]
    except ValueError:
        p.error(f"--vcpus: expected 'all' or numbers like 0,2, not '{a.vcpus}'")
    a.files = a.output is not None or any(f in a.formats for f in FORMATS[2:])
    if a.output is None:
        a.output = "qprofile"
    return a


def log(msg):
    print(f"qprofiler: {msg}", file=sys.stderr, flush=True)


class Launched:
    """A guest started through tools/zebu-run, its console copied out."""

    def __init__(self, a):
        self.dir = tempfile.mkdtemp(prefix="qprofiler.")
        self.gdb = os.path.join(self.dir, "gdb.sock")
        self.qmp = os.path.join(self.dir, "qmp.sock")
        self.marker = re.compile(a.start_after) if a.start_after else None
        self.started = threading.Event()
        if self.marker is None:
            self.started.set()
        self.out = open(a.guest_output, "wb") if a.guest_output else sys.stderr.buffer
        cmd = [sys.executable, LAUNCHER, "--kernel", a.launch, "--append", a.append,
               "--smp", str(a.smp), "--mem", a.mem, "--timeout", str(a.timeout),
               "--gdb", f"unix:{self.gdb}", "--qmp", self.qmp]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._copy, daemon=True)
        self.reader.start()

    def _copy(self):
        for line in iter(self.proc.stdout.readline, b""):
            self.out.write(line)
            self.out.flush()
            if self.marker is not None and not self.started.is_set() and \
                    self.marker.search(line.decode("utf-8", "replace")):
                self.started.set()
        self.started.set()

    def wait_sockets(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.gdb) and os.path.exists(self.qmp):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    def finish(self):
        status = self.proc.wait()
        self.reader.join(timeout=5)
        if self.out is not sys.stderr.buffer:
            self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return status

    def kill(self):
        if self.proc.poll() is None:
            self.proc.terminate()


def gdbstub_taken(qmp_path):
    """Asks QMP whether a debugger holds the gdbstub: QEMU serves one client
    and queues any other connection, and a queued connection is accepted
    (and the VM paused, as on every gdb connect) when the first client
    leaves, even if its owner gave up long before. So, with QMP at hand,
    look before connecting. Returns a reason, or None when the stub is free
    (or QMP cannot tell)."""
    try:
        q = Qmp(qmp_path, timeout=3.0)
        q.connect()
        try:
            chardevs = q.execute("query-chardev")
        finally:
            q.close()
    except (QmpError, OSError):
        return None
    for c in chardevs:
        if c.get("label") == "gdb":
            if c.get("filename", "").startswith("disconnected:"):
                return None
            return "another debugger is attached to the gdbstub (QMP query-chardev)"
    return "QEMU has no gdbstub (QMP query-chardev)"


def open_backend(a, gdb_addr, qmp_path, elf):
    """A connected sampler (or, for --count, a GdbRemote); falls back to QMP."""
    why = None
    if a.backend in ("auto", "gdb") and gdb_addr:
        if qmp_path:
            why = gdbstub_taken(qmp_path)
        if why is None:
            remote = GdbRemote(gdb_addr)
            try:
                remote.connect()
                if a.count:
                    return remote
                return GdbSampler(remote, Walker(elf, a.max_depth), a.vcpu_list, a.stack_bytes)
            except (StubBusy, RspError, TimeoutError, OSError) as e:
                remote.detach()   # connected (so stopped) or not: leave it running
                why = str(e)
                if isinstance(e, StubBusy):
                    why += ("; when that debugger leaves, QEMU will accept this attempt's "
                            "queued connection and pause the VM (resume it: QMP 'cont')")
        if a.backend == "gdb" or a.count:
            raise RspError(why)
    elif a.backend == "gdb" or a.count:
        raise RspError("no gdbstub address (--gdb)")
    if not qmp_path:
        raise RspError(why or "no QMP socket (--qmp)")
    if why:
        log(f"gdbstub unusable ({why}); falling back to QMP: leaf-only samples")
    qmp = Qmp(qmp_path)
    qmp.connect()
    return QmpSampler(qmp, elf, a.vcpu_list, live=not a.qmp_stop)


def do_count(a, remote, elf):
    per_core, extra = counting.read_counts(remote, elf)
    first = counting.named(per_core, elf)
    delta, seconds = None, None
    if a.duration > 0:
        remote.resume()
        t0 = time.perf_counter()
        try:
            time.sleep(a.duration)
            remote.stop()
            per_core, extra = counting.read_counts(remote, elf)
        except GuestGone:
            log("the guest exited during the window: reporting the first reading")
            per_core = None
        seconds = time.perf_counter() - t0
        if per_core is not None:
            now = counting.named(per_core, elf)
            a_tot, b_tot = counting.merged(first), counting.merged(now)
            delta = {k: v - a_tot.get(k, 0) for k, v in b_tot.items()}
            first = now
    remote.detach()
    lines = counting.text(first, extra, delta, seconds)
    if not a.quiet:
        print("\n".join(lines))
    if "json" in a.formats:
        report.write_json(a.output + ".json", {
            "meta": {"mode": "count", "elf": a.elf, "window_s": seconds},
            "per_core": {str(c): v for c, v in first.items()},
            "total": counting.merged(first), "window_delta": delta, "extra": extra})
    if a.files:
        with open(a.output + ".txt", "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


def write_reports(a, prof, meta, cost, backend, nvcpus):
    text = report.cost_lines(cost, backend, nvcpus, WARN_PAUSED)
    for line in text:
        print(line, file=sys.stderr)
    parts = [None] + (prof.vcpus if a.per_vcpu else [])
    body = []
    for v in parts:
        if "flat" in a.formats:
            body += report.flat_text(prof, v) + [""]
        if "callgraph" in a.formats:
            body += report.callgraph_text(prof, v) + [""]
    if body and not a.quiet:
        print("\n".join(body))
    written = []
    if body and a.files:
        with open(a.output + ".txt", "w") as f:
            f.write("\n".join(text + [""] + body))
        written.append(a.output + ".txt")
    if "folded" in a.formats:
        with open(a.output + ".folded", "w") as f:
            f.write(prof.folded(vcpu_root=a.per_vcpu))
        written.append(a.output + ".folded")
    if "speedscope" in a.formats:
        report.write_json(a.output + ".speedscope.json",
                          prof.speedscope(meta["name"], per_vcpu=a.per_vcpu), compact=True)
        written.append(a.output + ".speedscope.json")
    if "svg" in a.formats:
        sub = (f"{len(prof.samples)} samples via {backend}, "
               f"{cost['achieved_hz']:.0f} Hz, guest paused {100 * cost['paused_fraction']:.1f}%")
        with open(a.output + ".svg", "w") as f:
            f.write(flame.render(prof.folded_counts(), f"{meta['name']}: all vCPUs", sub))
        written.append(a.output + ".svg")
        if a.per_vcpu:
            for v in prof.vcpus:
                path = f"{a.output}.vcpu{v}.svg"
                with open(path, "w") as f:
                    f.write(flame.render(prof.folded_counts(v), f"{meta['name']}: vCPU {v}", sub))
                written.append(path)
    if "json" in a.formats:
        out = report.summary(prof, meta, cost, a.per_vcpu)
        out["warnings"] = [t for t in text if "WARNING" in t]
        report.write_json(a.output + ".json", out)
        written.append(a.output + ".json")
    if written:
        log("wrote " + ", ".join(written))


def main(argv):
    try:
        return run_main(parse_args(argv))
    except KeyboardInterrupt:
        log("interrupted")
        return 130


def run_main(a):
    try:
        elf = ElfImage(a.elf)
    except (OSError, ElfError) as e:
        log(f"cannot read symbols: {e}")
        return 2
    guest = None
    gdb_addr, qmp_path = a.gdb, a.qmp
    if a.launch:
        if not os.path.exists(a.launch):
            log(f"no image {a.launch} (build it with make APP=...)")
            return 2
        guest = Launched(a)
        if not guest.wait_sockets():
            log("the guest did not start (see its output above)")
            guest.kill()
            guest.finish()
            return 1
        gdb_addr, qmp_path = f"unix:{guest.gdb}", guest.qmp
        guest.started.wait(a.timeout)
        if guest.proc.poll() is not None:
            log("the guest exited before sampling could start")
            guest.finish()
            return 1
    stop_flag = threading.Event()
    old = signal.signal(signal.SIGINT, lambda *_: stop_flag.set())
    try:
        try:
            backend = open_backend(a, gdb_addr, qmp_path, elf)
        except (RspError, QmpError, OSError) as e:
            log(f"cannot attach: {e}")
            return 1
        if a.count:
            try:
                return do_count(a, backend, elf)
            except (counting.CountError, RspError, TimeoutError) as e:
                log(str(e))
                backend.detach()   # connecting stopped the VM: let it go on
                return 1
        duration = a.duration if a.duration > 0 else None
        samples, cost, ended = run(backend, duration, a.rate, a.jitter, a.seed,
                                   should_stop=stop_flag.is_set)
        backend.close()
    finally:
        signal.signal(signal.SIGINT, old)
        if guest is not None:
            if not a.wait_exit:
                try:
                    guest.proc.wait(timeout=1.0)   # it may be on its way out already
                except subprocess.TimeoutExpired:
                    guest.kill()
                    log("stopped the guest (sampling is over; --wait-exit lets it finish)")
            status = guest.finish()
            log(f"the guest exited with status {status}")
    if ended != "duration":
        log(f"sampling ended: {ended}")
    if not samples:
        log("no samples")
        return 1
    name = os.path.basename(a.elf)
    name = name[:-4] if name.endswith(".elf") else name
    meta = {"name": name, "elf": a.elf, "backend": backend.backend,
            "vcpus_sampled": backend.vcpus, "vcpus_total": backend.vcpu_count(),
            "requested_hz": a.rate, "duration_s": a.duration, "stack_bytes": a.stack_bytes,
            "lines": a.lines, "ended": ended}
    prof = report.Profile(samples, LineTable(a.elf) if a.lines else None)
    write_reports(a, prof, meta, cost.summary(), backend.backend, len(backend.vcpus))
    return 0
