"""tools/zebu_accel.py — which QEMU accelerator Zebu runs under, and why.

One decision for every tool that starts a guest (tools/zebu-run, and
through it make run, make test, the benches and qprofiler):

  kvm  when /dev/kvm is usable, the CPU has hardware virtualization (vmx or
       svm in /proc/cpuinfo), and a probe guest (tools/accel-probe.asm, SSE
       included) boots under it with a CPU model QEMU accepts; the model
       that passed is used (host; host without arch-capabilities, which
       nested KVM on AMD refuses to set; then max);
  tcg  otherwise: no /dev/kvm, a software KVM such as kvm-pvm (no vmx/svm:
       it emulates instruction batches, cannot run SSE and was measured
       hundreds of times slower than TCG, docs/boot.md), or a failed probe.

choose() returns the decision with a one-line reason. A pinned choice
(--accel, ACCEL= in make, ZEBU_ACCEL in the environment) that cannot work
raises AccelError with the reason. Probe results are cached per boot of the
host and QEMU binary in $XDG_CACHE_HOME/zebu/accel.json (~/.cache by
default), so only the first launch after a reboot pays for the probe.
"""
import json
import os
import shutil
import subprocess
import tempfile

QEMU = "qemu-system-x86_64"
QEMU_DATA = "/usr/share/qemu"
HERE = os.path.dirname(os.path.abspath(__file__))
PROBE_SRC = os.path.join(HERE, "accel-probe.asm")
PROBE_PASS = 42  # the probe's isa-debug-exit status when its SSE code ran right
CPU_CANDIDATES = ("host", "host,-arch-capabilities", "max")
PROBE_TIMEOUT_S = 20


class AccelError(Exception):
    """A pinned accelerator that cannot work; str() is the reason."""


class Choice:
    def __init__(self, accel, cpu, reason):
        self.accel, self.cpu, self.reason = accel, cpu, reason

    def line(self):
        cpu = f", -cpu {self.cpu}" if self.cpu else ""
        return f"accel {self.accel}{cpu}: {self.reason}"


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def cpu_virt_flag(cpuinfo=None):
    """'vmx' or 'svm' when the CPU offers hardware virtualization, else None."""
    text = _read("/proc/cpuinfo") if cpuinfo is None else cpuinfo
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            for f in ("vmx", "svm"):
                if f in flags:
                    return f
            return None
    return None


def kvm_kind(dev="/dev/kvm", sys_module="/sys/module", cpuinfo=None):
    """What dev is: 'none' (missing or not ours to use), 'pvm' (the kvm_pvm
    software hypervisor), 'software' (some other KVM with no vmx/svm under
    it) or 'hardware'."""
    if not (os.path.exists(dev) and os.access(dev, os.R_OK | os.W_OK)):
        return "none"
    if os.path.exists(os.path.join(sys_module, "kvm_pvm")):
        return "pvm"
    if cpu_virt_flag(cpuinfo) is None:
        return "software"
    return "hardware"


def _cache_path():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "zebu", "accel.json")


def _cache_key():
    qemu = shutil.which(QEMU) or QEMU
    try:
        st = os.stat(qemu)
        qemu_id = f"{qemu}:{st.st_size}:{int(st.st_mtime)}"
    except OSError:
        qemu_id = qemu
    return {"boot_id": _read("/proc/sys/kernel/random/boot_id").strip(), "qemu": qemu_id}


def _cache_load():
    try:
        with open(_cache_path(), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if data.get("key") == _cache_key() else None


def _cache_store(result):
    path = _cache_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"key": _cache_key(), **result}, f)
        os.replace(tmp, path)
    except OSError:
        pass  # an uncached probe is only slower


def build_probe(workdir):
    if shutil.which("nasm") is None:
        raise OSError("nasm not found (Debian's nasm; tools/deps.sh build)")
    out = os.path.join(workdir, "accel-probe.bin")
    subprocess.run(["nasm", "-f", "bin", PROBE_SRC, "-o", out], check=True,
                   capture_output=True)
    return out


def probe_cpu(image, cpu, accel="kvm"):
    """Boots the probe with -cpu cpu: None when it passed, else why not."""
    cmd = [QEMU, "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
           "-machine", "pc", "-m", "16M", "-accel", accel, "-cpu", cpu,
           "-bios", os.path.join(QEMU_DATA, "qboot.rom"), "-kernel", image,
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=PROBE_TIMEOUT_S, start_new_session=True)
    except subprocess.TimeoutExpired:
        return f"-cpu {cpu}: the probe did not finish in {PROBE_TIMEOUT_S} s"
    if p.returncode == (PROBE_PASS << 1) | 1:
        return None
    last = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
    return f"-cpu {cpu}: {last[:160]}"


def probe_kvm():
    """{'cpu': model} for the first CPU model whose probe passed, or
    {'cpu': None, 'why': ...}; cached per host boot and QEMU binary."""
    cached = _cache_load()
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory(prefix="zebu-probe-") as d:
        try:
            image = build_probe(d)
        except (OSError, subprocess.CalledProcessError) as e:
            return {"cpu": None, "why": f"could not build the probe: {e}"}
        whys = []
        for cpu in CPU_CANDIDATES:
            why = probe_cpu(image, cpu)
            if why is None:
                result = {"cpu": cpu}
                break
            whys.append(why)
        else:
            result = {"cpu": None, "why": "; ".join(whys)}
    _cache_store(result)
    return result


def _software_kvm_reason(kind):
    if kind == "pvm":
        return ("/dev/kvm is kvm-pvm, a software hypervisor (no vmx/svm): it cannot run "
                "SSE in guests and runs Zebu hundreds of times slower than TCG")
    return ("/dev/kvm has no hardware virtualization under it (no vmx/svm in "
            "/proc/cpuinfo): a software KVM, slower than TCG")


def choose(pinned="auto", cpu=None):
    """The accelerator to use. pinned: 'auto', 'kvm' or 'tcg'; cpu: a model
    the user named (kept, and not probed). Raises AccelError for a pinned
    choice that cannot work."""
    pinned = pinned or "auto"
    if pinned not in ("auto", "kvm", "tcg"):
        raise AccelError(f"accelerator '{pinned}' is not auto, kvm or tcg")
    if pinned == "tcg":
        return Choice("tcg", cpu, "pinned")
    kind = kvm_kind()
    if kind == "none":
        if pinned == "kvm":
            raise AccelError("kvm: /dev/kvm is missing or not readable and writable")
        return Choice("tcg", cpu, "no usable /dev/kvm")
    if kind in ("pvm", "software"):
        why = _software_kvm_reason(kind)
        if pinned == "kvm":
            raise AccelError(f"kvm: {why}; use tcg")
        return Choice("tcg", cpu, why)
    flag = cpu_virt_flag()
    if cpu is not None:
        return Choice("kvm", cpu, f"hardware KVM ({flag}), CPU model as given")
    result = probe_kvm()
    if result.get("cpu") is None:
        why = f"hardware KVM ({flag}) failed the probe boot: {result.get('why')}"
        if pinned == "kvm":
            raise AccelError(f"kvm: {why}")
        return Choice("tcg", None, why)
    return Choice("kvm", result["cpu"], f"hardware KVM ({flag}), probe boot passed")


def accel_name():
    """The accelerator a plain launch would pick now, for benchmark headers."""
    try:
        return choose(os.environ.get("ZEBU_ACCEL", "auto")).accel
    except AccelError:
        return "none"
