"""Every core runs: -smp 1, 2, 4 and 8 under TCG."""
import functools
import re

import pytest

from conftest import boot

SMP = [1, 2, 4, 8]


def run(smp, mode, extra_append=""):
    # loglevel=2: the smp and mem info lines the tests read
    return boot("ktest", append=f"mode={mode} loglevel=2 {extra_append}".strip(), timeout=120,
                extra=["--smp", str(smp)])


@pytest.mark.parametrize("smp", SMP)
def test_every_core_online_with_its_apic_id_and_runs_a_thread(smp):
    b = run(smp, "cores")
    assert b.status == 0, b.output
    assert f"ktest: cores: {smp} online" in b.output
    # QEMU numbers the APIC ids of -smp N as 0 .. N-1.
    ids = re.search(r"smp: (\d+) cores? in the (\w+) tables, APIC ids:([\d ]+)", b.output)
    assert ids and int(ids[1]) == smp, b.output
    assert [int(x) for x in ids[3].split()] == list(range(smp))
    for core in range(smp):
        assert f"ktest: core {core}: APIC id {core}, thread ran on core {core}" in b.output
    if smp > 1:
        assert f"smp: {smp} cores online" in b.output
    assert f"mem: {smp} per-core memory pool" in b.output
    assert "did not" not in b.output  # no core skipped


def test_cpus_option_caps_the_cores_started():
    b = run(8, "cores", "cpus=2")
    assert b.status == 0, b.output
    assert "smp: 8 cores in the acpi tables" in b.output
    assert "smp: 2 cores online" in b.output
    assert "ktest: cores: 2 online" in b.output
    assert "ktest: core 2:" not in b.output


@pytest.mark.parametrize("smp", [2, 8])
def test_mailbox_ping_pong_loses_and_duplicates_nothing(smp):
    b = run(smp, "pingpong", "count=100000")
    assert b.status == 0, b.output
    m = re.search(r"pingpong: 100000 messages core 0 -> core (\d+) -> core 0: (\d+) lost, "
                  r"(\d+) duplicated, (\d+) out of order", b.output)
    assert m, b.output
    assert int(m[1]) == smp - 1
    assert (int(m[2]), int(m[3]), int(m[4])) == (0, 0, 0)


@pytest.mark.parametrize("smp", [1, 4])
def test_sleeps_never_wake_early(smp):
    b = run(smp, "sleep")
    assert b.status == 0, b.output
    woke = dict((int(ms), int(us)) for ms, us in
                re.findall(r"sleep (\d+) ms: woke after (\d+) us", b.output))
    assert set(woke) == {1, 10, 100}, b.output
    for ms, us in woke.items():
        assert us >= ms * 1000, f"{ms} ms sleep woke after {us} us"


@pytest.mark.parametrize("smp", [1, 4])
def test_stack_overflow_is_caught_and_names_the_thread(smp):
    b = run(smp, "overflow")
    assert b.status == 127, b.output
    assert "STACK OVERFLOW in thread 'overflower'" in b.output
    assert f"on core {smp - 1} (APIC id {smp - 1}), thread 'overflower'" in b.output
    assert "recurse+0x" in b.output


@pytest.mark.parametrize("smp", [1, 4])
def test_cross_core_frees_return_every_byte(smp):
    b = run(smp, "heap", "count=3000")
    assert b.status == 0, b.output
    m = re.search(r"heap: 3000 blocks per core over (\d+) cores, (\d+) errors, heap in use "
                  r"before (\d+) after (\d+), (\d+) failures", b.output)
    assert m, b.output
    assert int(m[1]) == smp
    assert int(m[2]) == 0 and int(m[5]) == 0
    assert m[3] == m[4]  # in use returns to where it started
    remote = int(re.search(r"\((\d+) from another core\)", b.output)[1])
    # every block was freed on another core (thread structs may add a few)
    assert (remote >= 3000 * smp) if smp > 1 else remote == 0


def test_cores_example_app_gathers_results_from_every_core():
    import subprocess
    from conftest import ROOT
    p = subprocess.run(["make", "--no-print-directory", "APP=cores"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    b = boot("cores", append="limit=100000", timeout=120, extra=["--smp", "4"])
    assert b.status == 0, b.output
    per_core = re.findall(r"core (\d) \(APIC id \d\): (\d+) primes", b.output)
    assert [int(c) for c, _ in per_core] == [0, 1, 2, 3]
    assert all(int(n) > 0 for _, n in per_core)
    assert "9592 primes below 100000, counted on 4 cores" in b.output  # pi(10^5)


@pytest.mark.parametrize("smp", [1, 4])
def test_device_interrupt_through_ioapic_wakes_a_thread_on_core_0(smp):
    b = boot("ktest", append="selftest=ioapic mode=none loglevel=2", timeout=120,
             extra=["--smp", str(smp)])
    assert b.status == 0, b.output
    assert "smp: 1 I/O APIC, 24 interrupt pins" in b.output
    assert (f"selftest: ioapic: 20 PIT interrupts on core {smp - 1} woke a thread on core 0"
            in b.output), b.output
    taken = int(re.search(r"interrupts taken on core \d+: (\d+)", b.output)[1])
    assert taken >= 20


def test_without_acpi_the_mp_tables_are_used():
    b = boot("ktest", append="mode=cores loglevel=2", timeout=120,
             extra=["--smp", "2", "--qemu-arg=-machine", "--qemu-arg=acpi=off"])
    assert b.status == 0, b.output
    assert "in the mptable tables" in b.output, b.output
    assert "ktest: core 0: APIC id 0, thread ran on core 0" in b.output


@functools.lru_cache(maxsize=None)
def events_run(smp):
    """mode=events (timed event waits, then mailbox receives with timeouts),
    booted once per core count for the tests that read it."""
    return run(smp, "events", "count=3000")


@pytest.mark.parametrize("smp", [1, 2])
def test_timed_waits_time_out_and_never_lose_a_signal(smp):
    b = events_run(smp)
    assert b.status == 0, b.output
    m = re.search(r"unsignalled wait returned (-?\d+) after (\d+) us", b.output)
    assert m and int(m[1]) == -110 and int(m[2]) >= 20000  # -ETIMEDOUT, not early
    m = re.search(r"(\d+) signals sent, (\d+) waits woken by them, (\d+) timed out, "
                  r"left over (\S+)", b.output)
    assert m, b.output
    assert m[1] == m[2] == "3000" and m[4] == "none"
    assert int(m[3]) > 0  # the race with timeouts really happened
    # Timeouts too large to convert (UINT64_MAX...) wait for ever rather
    # than wrap around to a wake-up in the past: the signal 20 ms later ends
    # each of them.
    huge = re.findall(r"wait of (0x[0-9a-f]+) ns returned (-?\d+) after (\d+) us", b.output)
    assert len(huge) == 3, b.output
    for ns, r, us in huge:
        assert int(r) == 0 and int(us) >= 20000, (ns, r, us)


@pytest.mark.parametrize("smp", [1, 2])
def test_mailbox_receive_times_out_and_never_loses_a_message(smp):
    b = events_run(smp)
    assert b.status == 0, b.output
    m = re.search(r"mailbox: empty receive returned (\S+) errno (\d+) after (\d+) us", b.output)
    assert m and m[1] == "NULL" and int(m[2]) == 110, b.output  # ETIMEDOUT
    assert 20000 <= int(m[3]) < 20000 + 200000, m[0]  # not early, not much late
    assert "mailbox: receive with no time returned NULL" in b.output
    m = re.search(r"mailbox: (\d+) messages sent, (\d+) received, (\d+) out of order, "
                  r"(\d+) timed out, left over (\S+)", b.output)
    assert m, b.output
    assert m[1] == m[2] == "3000" and m[3] == "0" and m[5] == "none", m[0]
    assert int(m[4]) > 0  # the race with timeouts really happened
