"""The app calls of issue 14, checked inside the guest by tests/apps/apitest:
the mutex across cores, zebu_random, the wall clock, floating-point printf
and the local address of sockets. Numbers are parsed and compared, not just
seen."""
import re

import pytest

from conftest import boot


def apitest(mode, smp=1, append="", extra=(), timeout=120):
    b = boot("apitest", append=f"mode={mode} {append}".strip(), timeout=timeout,
             extra=["--smp", str(smp)] + list(extra))
    assert b.status == 0, b.output
    assert "apitest: done" in b.output, b.output
    return b


@pytest.mark.parametrize("smp", [2, 4])
def test_mutex_counts_every_increment_from_threads_on_every_core(smp):
    b = apitest("mutex", smp, "count=20000 threads=3")
    m = re.search(r"apitest: mutex: (\d+) threads on (\d+) cores, (\d+) increments each: "
                  r"total (\d+) of (\d+), (\d+) waits", b.output)
    assert m, b.output
    threads, cores, each, total, expect = (int(m[i]) for i in range(1, 6))
    assert (threads, cores, each) == (3 * smp, smp, 20000)
    assert total == expect == threads * each
    # The same loop without the mutex loses increments: the test can fail.
    lost = re.search(r"without the mutex (\d+) of (\d+) increments", b.output)
    assert lost and int(lost[1]) < int(lost[2]), b.output
    # trylock from another core: -EBUSY (-16) while held, 0 once free.
    t = re.search(r"trylock on core (\d+): held (-?\d+), free (-?\d+)", b.output)
    assert t and (int(t[1]), int(t[2]), int(t[3])) == (smp - 1, -16, 0), b.output
    # A waiter on another core sleeps: its core ran its neighbour meanwhile.
    w = re.search(r"waiter on core (\d+): done while held (\d), its neighbour ran (\d+) times "
                  r"meanwhile, waits (\d+)", b.output)
    assert w, b.output
    assert int(w[1]) == smp - 1 and int(w[2]) == 0
    assert int(w[3]) > 100 and int(w[4]) == 1


def random_boot(cpu=None):
    b = apitest("random", 2, extra=["--cpu", cpu] if cpu else [])
    src = re.search(r"apitest: random: source (.+)", b.output)
    first = re.search(r"apitest: random: first ([0-9a-f]{64})", b.output)
    second = re.search(r"apitest: random: second ([0-9a-f]{64})", b.output)
    spread = re.search(r"apitest: random: 65536 bytes, each value seen (\d+) to (\d+) times",
                       b.output)
    cores = re.search(r"apitest: random: 2 cores drew 16 bytes each, (\d+) equal pairs", b.output)
    assert src and first and second and spread and cores, b.output
    assert first[1] != second[1]
    assert len(set(bytes.fromhex(first[1]))) > 1  # not all one byte value
    # 64 KiB: every value, each near its 256 expected (a binomial's spread
    # stays well inside 128..512).
    assert 128 < int(spread[1]) and int(spread[2]) < 512
    assert int(cores[1]) == 0
    return src[1], first[1]


def test_random_without_rdrand_uses_the_seeded_generator_and_differs_per_boot():
    """QEMU's default TCG CPU (qemu64) has neither RDRAND nor RDSEED: the
    ChaCha20 generator, seeded from TSC jitter, must still give each boot
    its own bytes."""
    src1, bytes1 = random_boot()
    src2, bytes2 = random_boot()
    assert src1 == src2 == "chacha20 seeded from tsc jitter"
    assert bytes1 != bytes2


def test_random_with_rdrand_uses_it():
    src1, bytes1 = random_boot("max")
    src2, bytes2 = random_boot("max")
    assert src1 == src2 == "rdrand"
    assert bytes1 != bytes2


def test_wall_time_matches_the_host_clock():
    """QEMU's RTC starts at the host's UTC time: the guest's wall clock,
    read from it and carried by the TSC, must agree with time.time() to
    within a few seconds (the RTC counts whole seconds), and run at the
    monotonic clock's rate."""
    import time
    before = time.time()
    b = apitest("walltime")
    after = time.time()
    m = re.search(r"apitest: walltime: (\d+)\.(\d{9})\n", b.output)
    assert m, b.output
    guest = int(m[1]) + int(m[2]) / 1e9
    assert before - 3 <= guest <= after + 3, (before, guest, after)
    r = re.search(r"over a 200 ms sleep wall (\d+) ns, monotonic (\d+) ns, skew (-?\d+) ns",
                  b.output)
    assert r, b.output
    assert int(r[1]) >= 200_000_000 and abs(int(r[3])) < 1_000_000


def test_printf_formats_doubles_inside_the_guest():
    """printf("%.3f") and friends in the unikernel, checked against
    Python's own correctly rounded formatting (the host tests compare with
    glibc over many more values). Doubles past the eighth come from the
    stack; an app's variadic function hands its va_list to vsnprintf; every
    core prints."""
    import math
    b = apitest("printf", 2)
    pi = math.pi
    lines = [f"%.3f {'%.3f' % pi}",
             f"%10.4e [{'%10.4e' % -2.5e-7}]",
             f"%g {'%g %g %g' % (1e300, 0.0001234, 100000.0)}",
             f"%+08.2f {'%+08.2f' % -pi} %-9.1E| {'%-9.1E' % pi}|",
             "%f inf inf nan -NAN",  # x86's default NaN (inf * 0) has its sign bit set
             f"vsnprintf 11 [7 {'%.3f' % (2 / 3)} end]"]
    for line in lines:
        assert f"apitest: printf: {line}\n" in b.output, (line, b.output)
    per_core = " ".join("%.1f" % v for v in (0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.25))
    for core in range(2):
        assert (f"apitest: printf: core {core}: {per_core} {'%.17g' % (1 / 3)}\n"
                in b.output), b.output


VEC_RE = re.compile(r"%[xyz]mm\d+")


def test_kernel_objects_touch_no_vector_registers():
    """The kernel, drivers and libc are built without SSE (interrupts save
    no vector state). The one exception, libc/printf_sse.o, may touch XMM
    registers only in printf's and snprintf's prologues, saving the
    argument registers after `test %al,%al` (the kernel's calls set %al to
    0, so they skip it)."""
    import glob
    import os
    import subprocess
    from conftest import BUILD
    objs = sorted(glob.glob(os.path.join(BUILD, "obj", "**", "*.o"), recursive=True))
    if not objs:
        pytest.skip("no kernel objects built")
    offenders = []
    for obj in objs:
        dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", obj], capture_output=True,
                             text=True, check=True).stdout
        uses = [line for line in dis.splitlines() if VEC_RE.search(line)]
        if obj.endswith(os.path.join("libc", "printf_sse.o")):
            assert "test   %al,%al" in dis
            uses = [u for u in uses if not re.search(r"\smovaps %xmm[0-7],-?0x[0-9a-f]+\(%r[bs]p\)",
                                                     u)]
        offenders += [f"{os.path.relpath(obj, BUILD)}: {u.strip()}" for u in uses]
    assert offenders == []


def test_local_addresses_of_tcp_and_udp_sockets():
    """zebu_tcp_local / zebu_udp_local under QEMU user networking (guest
    10.0.2.15, host 10.0.2.2): a connection the guest opens to a listener
    here reports the guest's address and an ephemeral port (the guest also
    sends that view over the connection), one the guest accepts reports the
    listening port; a listener and UDP sockets report address 0 and their
    port. zebu_tcp_send and zebu_udp_sendto return the byte count."""
    import socket
    import subprocess
    import time
    from conftest import LAUNCHER, image, kill_group
    from test_deploy import free_port
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(120)
    peer = srv.getsockname()[1]
    fwd = free_port()
    proc = subprocess.Popen([LAUNCHER, "--kernel", image("apitest"), "--net", "user",
                             "--hostfwd", f"tcp:127.0.0.1:{fwd}-:7777", "--timeout", "150",
                             "--append", f"mode=net peer={peer}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        conn, _ = srv.accept()
        conn.settimeout(60)
        said = b""
        while not said.endswith(b"\n"):
            chunk = conn.recv(100)
            if not chunk:
                break
            said += chunk
        conn.close()
        # The guest now waits in accept on 7777: connect through the forward.
        deadline = time.time() + 60
        while True:
            try:
                c = socket.create_connection(("127.0.0.1", fwd), timeout=10)
                break
            except OSError:
                assert time.time() < deadline
                time.sleep(0.2)
        c.sendall(b"hello")
        c.close()
        out = proc.communicate(timeout=120)[0].decode("utf-8", "replace").replace("\r\n", "\n")
    finally:
        kill_group(proc)
        srv.close()
    assert proc.returncode == 0 and "apitest: done" in out, out
    assert "apitest: net: address 10.0.2.15\n" in out, out
    u = re.search(r"udp bind\(0\) local (\S+):(\d+)\n", out)
    assert u and u[1] == "0.0.0.0" and int(u[2]) > 0, out
    assert "apitest: net: udp bind(5353) local 0.0.0.0:5353\n" in out, out
    assert "apitest: net: udp sendto returned 4\n" in out, out
    assert "apitest: net: listener local 0.0.0.0:7777 peer 0.0.0.0:0\n" in out, out
    m = re.search(r"apitest: net: connected local 10\.0\.2\.15:(\d+) peer 10\.0\.2\.2:(\d+)\n", out)
    assert m and int(m[2]) == peer, out
    # What the guest sent over the connection is what it printed: its end.
    assert said == f"local 10.0.2.15:{m[1]}\n".encode(), (said, out)
    assert int(m[1]) >= 1024
    n = len(said)
    assert f"apitest: net: tcp send of {n} bytes returned {n}\n" in out, out
    a = re.search(r"apitest: net: accepted local 10\.0\.2\.15:7777 peer 10\.0\.2\.2:(\d+)\n", out)
    assert a, out
    assert "apitest: net: tcp recv returned 5\n" in out, out
