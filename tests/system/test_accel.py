"""The launcher's accelerator choice (tools/zebu_accel.py, used by
tools/zebu-run and so by make run, the tests and the benches): hardware KVM
only when it is hardware and a probe boots, TCG on a software KVM such as
kvm-pvm, one line saying which and why, and a pinned choice that cannot work
is an error that names the option."""
import os
import subprocess
import sys

import pytest

from conftest import LAUNCHER, ROOT, image

sys.path.insert(0, os.path.join(ROOT, "tools"))
import zebu_accel  # noqa: E402

CPUINFO = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse {extra} sse sse2\n"


def test_cpu_virtualization_flag_is_read_from_cpuinfo():
    assert zebu_accel.cpu_virt_flag(CPUINFO.format(extra="svm")) == "svm"
    assert zebu_accel.cpu_virt_flag(CPUINFO.format(extra="vmx")) == "vmx"
    assert zebu_accel.cpu_virt_flag(CPUINFO.format(extra="hypervisor")) is None
    assert zebu_accel.cpu_virt_flag("") is None


def test_kvm_kind_tells_pvm_software_and_hardware_apart(tmp_path):
    dev = tmp_path / "kvm"
    dev.write_text("")
    mods = tmp_path / "module"
    mods.mkdir()
    hw, sw = CPUINFO.format(extra="svm"), CPUINFO.format(extra="hypervisor")
    assert zebu_accel.kvm_kind(str(tmp_path / "absent"), str(mods), hw) == "none"
    assert zebu_accel.kvm_kind(str(dev), str(mods), hw) == "hardware"
    assert zebu_accel.kvm_kind(str(dev), str(mods), sw) == "software"
    (mods / "kvm_pvm").mkdir()
    assert zebu_accel.kvm_kind(str(dev), str(mods), hw) == "pvm"  # even with svm listed


@pytest.mark.parametrize("kind", ["pvm", "software"])
def test_a_software_kvm_gets_tcg_and_pinning_it_is_an_error(monkeypatch, kind):
    monkeypatch.setattr(zebu_accel, "kvm_kind", lambda *a, **k: kind)
    c = zebu_accel.choose("auto")
    assert c.accel == "tcg" and "software" in c.reason
    assert ("kvm-pvm" in c.reason) == (kind == "pvm")
    with pytest.raises(zebu_accel.AccelError, match="kvm: .*use tcg"):
        zebu_accel.choose("kvm")
    assert zebu_accel.choose("tcg").accel == "tcg"


def test_hardware_kvm_is_used_with_the_model_that_passed_the_probe(monkeypatch):
    monkeypatch.setattr(zebu_accel, "kvm_kind", lambda *a, **k: "hardware")
    monkeypatch.setattr(zebu_accel, "cpu_virt_flag", lambda *a: "svm")
    monkeypatch.setattr(zebu_accel, "probe_kvm", lambda: {"cpu": "host,-arch-capabilities"})
    c = zebu_accel.choose("auto")
    assert (c.accel, c.cpu) == ("kvm", "host,-arch-capabilities")
    assert c.line() == ("accel kvm, -cpu host,-arch-capabilities: "
                        "hardware KVM (svm), probe boot passed")
    # a model the user names is kept as given
    assert zebu_accel.choose("auto", cpu="max").cpu == "max"
    # a failed probe: TCG when choosing, an error when pinned
    monkeypatch.setattr(zebu_accel, "probe_kvm",
                        lambda: {"cpu": None, "why": "-cpu host: failed to set MSR 0x10a"})
    c = zebu_accel.choose("auto")
    assert c.accel == "tcg" and "MSR 0x10a" in c.reason
    with pytest.raises(zebu_accel.AccelError, match="failed the probe boot"):
        zebu_accel.choose("kvm")


def test_probe_image_builds_and_passes_its_sse_check_under_tcg(tmp_path):
    img = zebu_accel.build_probe(str(tmp_path))
    assert zebu_accel.probe_cpu(img, "qemu64", accel="tcg") is None
    # a CPU without SSE2 cannot run it: the probe says so instead of passing
    assert zebu_accel.probe_cpu(img, "486", accel="tcg") is not None


def run_launcher(*args, env=None):
    return subprocess.run([LAUNCHER, "--kernel", image("hello"), "--timeout", "60", *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                          env=env)


def test_launcher_says_in_one_line_which_accelerator_and_why():
    p = run_launcher()
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("zebu-run: accel ")]
    assert len(lines) == 1, p.stderr
    want = zebu_accel.choose("auto")
    assert lines[0] == f"zebu-run: {want.line()}"


def test_accel_can_be_pinned_by_option_environment_and_make():
    p = run_launcher("--accel", "tcg")
    assert p.returncode == 0 and "zebu-run: accel tcg: pinned" in p.stderr, p.stderr
    p = run_launcher(env={**os.environ, "ZEBU_ACCEL": "tcg"})
    assert p.returncode == 0 and "zebu-run: accel tcg: pinned" in p.stderr, p.stderr
    p = subprocess.run(["make", "--no-print-directory", "APP=hello", "run", "ACCEL=tcg",
                        "ARGS=count=1"], cwd=ROOT, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "zebu-run: accel tcg: pinned" in p.stderr, p.stdout + p.stderr
    p = subprocess.run(["make", "--no-print-directory", "APP=hello", "run", "ACCEL=fast"],
                       cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert p.returncode != 0 and "ACCEL=fast: expected kvm, tcg or auto" in p.stderr


@pytest.mark.skipif(zebu_accel.kvm_kind() == "hardware", reason="this host has hardware KVM")
def test_pinned_kvm_that_cannot_work_is_a_clear_error():
    p = run_launcher("--accel", "kvm")
    assert p.returncode == 125, p.stdout + p.stderr
    assert "zebu-run: --accel kvm: " in p.stderr, p.stderr
    assert "Zebu" not in p.stdout  # nothing booted


@pytest.mark.parametrize("args,named", [
    (["--net", "tap:"], "--net tap: needs the tap device's name"),
    (["--net", "bridge0"], "--net: 'bridge0' is not none, user, tap:IFNAME or relay:DIR"),
    (["--net", "user", "--nic-opt", "csum"], "--nic-opt: 'csum' is not one KEY=VALUE"),
    (["--nic-opt", "csum=off"], "--nic-opt needs a network (--net)"),
    (["--net", "tap:zt0", "--hostfwd", "tcp::1-:2"], "--hostfwd needs --net user"),
])
def test_bad_network_options_are_refused_by_name(args, named):
    p = run_launcher("--accel", "tcg", "--dry-run", *args)
    assert p.returncode == 125 and named in p.stderr, p.stderr
