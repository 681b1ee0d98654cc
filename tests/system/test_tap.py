"""Zebu on a plain tap, the way a user or libvirt connects a VM: a tap device
in a namespace of the test's own, QEMU's default tap backend (virtio-net
header, offloads on), and the host's own Linux stack at 10.0.9.1 as the
peer. No relay in between, so what the device offers reaches the guest
unchanged: with GUEST_CSUM the host's TCP and UDP arrive with a partial
checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM), which once made every TCP connection
time out. Each offload combination the device can offer is covered:

  default         CSUM and GUEST_CSUM: partial checksums both ways
  guest_csum=off  the host completes every checksum before the guest sees it
  csum=off        the guest computes every transmit checksum itself

against real clients: curl and wrk against the web server, a 64 MiB echo
each way, UDP echo datagram by datagram, and DHCP from dnsmasq."""
import os
import re
import subprocess

import pytest

from conftest import ROOT, image
from netbench import (WEBSERVER_READY, ConsoleGuest, have_root_networking, parse_wrk, tap_ns,
                      webserver_stats)
from test_tcp import ECHO_CLIENT, check_echo, check_zero_copy, echo_clients, finish

pytestmark = pytest.mark.skipif(not have_root_networking(),
                                reason="needs root, /dev/net/tun, iproute2")

GUEST, HOST = "10.0.9.2", "10.0.9.1"
OFFLOADS = {"default": [], "guest_csum_off": ["guest_csum=off"], "csum_off": ["csum=off"]}
SITE = os.path.join(ROOT, "apps", "webserver", "site")
CSUM_RE = re.compile(r"rx checksums: (\d+) verified by the device, (\d+) partial")
SEGS_RE = re.compile(r"tcp segments by payload: sent <=mss (\d+), <=16K (\d+), <=64K (\d+); "
                     r"received <=mss (\d+), <=16K (\d+), <=64K (\d+)")
CHAINS_RE = re.compile(r"chained frames in place (\d+), linearized (\d+)")


def launcher_args(app, ns, tap, offload, append, timeout=300, site=None):
    args = ["--kernel", image(app), "--net", f"tap:{tap}", "--netns", ns,
            "--append", append, "--timeout", str(timeout)]
    for opt in OFFLOADS[offload]:
        args += ["--nic-opt", opt]
    if app == "webserver":
        args += ["--module", site or image("webserver", "site")]
    return args


BIG = "big.bin"  # a generated file large enough for 64 KiB TSO frames


def site_with_big_file(tmp_path):
    """The web server's site plus BIG (256 KiB), packed; returns the
    archive's path and BIG's expected bytes."""
    out = tmp_path / "site.archive"
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "mksite.py"), "--extra",
                    f"{BIG}=256K", SITE, str(out)], check=True)
    return str(out)


def nsrun(ns, cmd, timeout=300):
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def check_partial_checksums(offload, partial):
    """The host's stack sends partial checksums exactly when the guest
    accepted them (GUEST_CSUM); they must then have been seen and taken."""
    if offload == "guest_csum_off":
        assert partial == 0, f"{partial} partial checksums without GUEST_CSUM"
    else:
        assert partial > 0, "no partial checksum arrived: the NEEDS_CSUM path was not exercised"


def check_tso(offload, frames):
    """HOST_TSO4 comes with CSUM (QEMU offers it exactly then): frames of
    more than one segment leave the guest for the device to cut up when the
    device can checksum the segments, and never without."""
    if offload == "csum_off":
        assert frames == 0, f"{frames} TSO frames sent without CSUM"
    else:
        assert frames > 0, "no TSO frame sent: segmentation offload was not used"


def console_tso_frames(out):
    m = SEGS_RE.findall(out)
    assert m, out[-3000:]
    return int(m[-1][1]) + int(m[-1][2])


def console_large_received(out):
    """Received TCP segments above the MSS, and chained frames the stack
    took in place / linearized."""
    m, c = SEGS_RE.findall(out), CHAINS_RE.findall(out)
    assert m and c, out[-3000:]
    return int(m[-1][4]) + int(m[-1][5]), int(c[-1][0]), int(c[-1][1])


def check_large_received(offload, append, out):
    """GUEST_TSO4 (taken with GUEST_CSUM and MRG_RXBUF unless
    virtio_net.rx_tso=off): the host's stack sends the guest segments up to
    64 KiB, spread over several receive buffers that go up as one chain
    and are queued in place. In the default combination they must have
    come; without GUEST_CSUM or with the option off, never."""
    large, chains, linearized = console_large_received(out)
    if offload == "guest_csum_off" or "virtio_net.rx_tso=off" in append:
        assert large == 0 and chains == 0, (large, chains)
    elif offload == "default":
        assert large > 0 and chains > 0, out[-3000:]
    assert linearized == 0, out[-3000:]


def console_partials(out):
    m = CSUM_RE.findall(out)
    assert m, out[-3000:]
    return int(m[-1][1])


@pytest.mark.parametrize("offload", list(OFFLOADS))
def test_web_server_over_a_plain_tap_with_curl_and_wrk(offload, tmp_path):
    with tap_ns(f"{HOST}/24") as (ns, tap):
        site = site_with_big_file(tmp_path)
        guest = ConsoleGuest(launcher_args("webserver", ns, tap, offload, f"ip={GUEST}/24",
                                           site=site))
        try:
            assert guest.wait_for(WEBSERVER_READY, 120), guest.output[-3000:]
            big = tmp_path / BIG
            p = nsrun(ns, ["curl", "-sS", "--max-time", "20", "-o", str(big), "-w",
                           "%{http_code}", f"http://{GUEST}/{BIG}"])
            assert p.stdout == "200" and big.stat().st_size == 256 << 10, (p.stdout, p.stderr)
            for name in sorted(os.listdir(SITE)):
                out = tmp_path / name
                p = nsrun(ns, ["curl", "-sS", "--max-time", "20", "-o", str(out),
                               "-w", "%{http_code}", f"http://{GUEST}/{name}"])
                assert p.stdout == "200", (name, p.stdout, p.stderr, guest.output[-2000:])
                with open(os.path.join(SITE, name), "rb") as f:
                    assert out.read_bytes() == f.read(), f"{name} differs"
            p = nsrun(ns, ["wrk", "-t1", "-c4", "-d2s", f"http://{GUEST}/about.txt"])
            assert p.returncode == 0, p.stdout + p.stderr
            w = parse_wrk(p.stdout)
            assert w["requests"] > 0 and w["socket_errors"] == 0 and w["non_2xx"] == 0, p.stdout
            stats = webserver_stats(GUEST, 80, ns=ns)
            assert stats is not None, guest.output[-3000:]
            assert stats["stack_copied_bytes"] == 0, stats
            check_partial_checksums(offload, stats["rx_csum_partial"])
            check_tso(offload, stats["stack_tso_frames_sent"])
        finally:
            out = guest.stop()
    assert "panic" not in out.lower(), out[-3000:]


@pytest.mark.parametrize("offload,append", [(o, "") for o in OFFLOADS] +
                         [("default", "virtio_net.rx_tso=off")])
def test_echo_64_mib_each_way_over_a_plain_tap(offload, append):
    size = 64 << 20
    with tap_ns(f"{HOST}/24") as (ns, tap):
        proc = subprocess.Popen(["tools/zebu-run", *launcher_args(
            "echo", ns, tap, offload, f"ip={GUEST}/24 limit=1 net.stats=1 {append}")], cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            p = nsrun(ns, ["/usr/bin/python3", "-c", ECHO_CLIENT, GUEST, "7", str(size), "5"],
                      timeout=600)
            assert p.returncode == 0, p.stderr[-2000:]
            check_echo(p.stdout, size)
        finally:
            out = finish(proc)
    assert proc.returncode == 0, out[-3000:]
    assert f"echo: 1 connections, {size} bytes echoed" in out, out[-3000:]
    check_zero_copy(out)
    check_partial_checksums(offload, console_partials(out))
    check_tso(offload, console_tso_frames(out))
    check_large_received(offload, append, out)


def test_web_server_serves_from_every_core_with_one_stack(tmp_path):
    """apps/webserver at -smp 2 with all_cores=1: connection threads (the
    HTTP work) on both cores, their socket calls moved to core 0. Files come
    back byte for byte, wrk sees no error, and /_stats counts every request
    that the threads on both cores answered."""
    with tap_ns(f"{HOST}/24") as (ns, tap):
        site = site_with_big_file(tmp_path)
        guest = ConsoleGuest(["--smp", "2", *launcher_args(
            "webserver", ns, tap, "default", f"ip={GUEST}/24 all_cores=1", site=site)])
        try:
            assert guest.wait_for(WEBSERVER_READY, 120), guest.output[-3000:]
            big = tmp_path / BIG
            for _ in range(4):  # four connections: two on each core
                p = nsrun(ns, ["curl", "-sS", "--max-time", "30", "-o", str(big), "-w",
                               "%{http_code}", f"http://{GUEST}/{BIG}"])
                assert p.stdout == "200" and big.stat().st_size == 256 << 10, (p.stdout, p.stderr)
            before = webserver_stats(GUEST, 80, ns=ns)
            p = nsrun(ns, ["wrk", "-t1", "-c8", "-d2s", f"http://{GUEST}/about.txt"])
            w = parse_wrk(p.stdout)
            assert w["requests"] > 0 and w["socket_errors"] == 0 and w["non_2xx"] == 0, p.stdout
            after = webserver_stats(GUEST, 80, ns=ns)
            assert after["requests"] - before["requests"] >= w["requests"], (before, after, w)
            # threads on core 1 served some: their calls were moved to core 0
            assert after["api_forwarded"] > before["api_forwarded"], (before, after)
            assert after["stack_copied_bytes"] == 0, after
        finally:
            out = guest.stop()
    assert "panic" not in out.lower(), out[-3000:]


def test_echo_serves_from_every_core_with_one_stack():
    """apps/echo at -smp 2 with all_cores=1: half the connection threads
    live on core 1, and every socket call they make runs on core 0, where
    the one network stack is (kernel/net_api.c knet_enter). Four clients at
    once, each 4 MiB both ways, all echoed byte for byte; the kernel
    counts the calls it moved."""
    size, clients = 4 << 20, 4
    with tap_ns(f"{HOST}/24") as (ns, tap):
        proc = subprocess.Popen(["tools/zebu-run", "--smp", "2", *launcher_args(
            "echo", ns, tap, "default",
            f"ip={GUEST}/24 limit={clients} all_cores=1 net.stats=1")], cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            echo_clients(ns, GUEST, size, clients)
        finally:
            out = finish(proc)
    assert proc.returncode == 0, out[-3000:]
    assert f"echo: {clients} connections, {clients * size} bytes echoed" in out, out[-3000:]
    m = re.search(r"cores: 1 stack; socket calls moved to another core (\d+)", out)
    assert m and int(m.group(1)) > 0, out[-3000:]
    assert "panic" not in out.lower(), out[-3000:]


# Sends N datagrams of mixed sizes to the guest's UDP echo one window at a
# time, resending what goes unanswered, and prints "ok=<n> bad=<n>": echoes
# matched byte for byte against what was sent, and echoes that differ.
UDP_CLIENT = r"""
import random, select, socket, sys, time
host, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
rng = random.Random(11)
want = {}
for i in range(n):
    size = rng.choice([8, 100, 1000, 1472, rng.randint(8, 1472)])
    want[i] = (b"%08d" % i + bytes((i * 7 + k) & 0xFF for k in range(size)))[:size]
got, bad, deadline, nxt = set(), 0, time.time() + 240, 0
while len(got) < n and time.time() < deadline:
    pending = [i for i in range(n) if i not in got][:32]
    for i in pending:
        s.sendto(want[i], (host, 7))
    t_end = time.time() + 0.5
    while time.time() < t_end and len(got) < n:
        r, _, _ = select.select([s], [], [], 0.05)
        if not r:
            continue
        data, _ = s.recvfrom(2048)
        i = int(data[:8]) if data[:8].isdigit() else -1
        if i in want and data == want[i]:
            got.add(i)
        else:
            bad += 1
print(f"ok={len(got)} bad={bad}")
"""


@pytest.mark.parametrize("offload", list(OFFLOADS))
def test_udp_echo_over_a_plain_tap(offload):
    n = 2000
    with tap_ns(f"{HOST}/24") as (ns, tap):
        # The guest stops after `limit` datagrams: room for resends, then
        # fillers use up the rest so that it prints its counters and exits.
        limit = 3 * n
        proc = subprocess.Popen(["tools/zebu-run", *launcher_args(
            "udp-echo", ns, tap, offload, f"ip={GUEST}/24 limit={limit} net.stats=1")],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        try:
            p = nsrun(ns, ["/usr/bin/python3", "-c", UDP_CLIENT, GUEST, str(n)])
            assert p.returncode == 0, p.stderr[-2000:]
            m = re.search(r"ok=(\d+) bad=(\d+)", p.stdout)
            assert m and int(m.group(1)) == n and int(m.group(2)) == 0, p.stdout
            filler = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                      f"[s.sendto(b'x',('{GUEST}',7)) for _ in range({limit})]")
            while proc.poll() is None:
                nsrun(ns, ["/usr/bin/python3", "-c", filler], timeout=60)
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            out = finish(proc)
    assert proc.returncode == 0, out[-3000:]
    # (The fillers arrive as a flood that may fill the socket queue and the
    # receive ring: copies and queue drops then are theirs, not the echo's.)
    check_partial_checksums(offload, console_partials(out))


# Sends one datagram to HOST:7 and prints what came back.
UDP_ONCE = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for _ in range(30):
    try:
        s.sendto(b"leased", (sys.argv[1], 7))
        print(s.recvfrom(64)[0].decode())
        break
    except OSError:  # a timeout, or EHOSTUNREACH: ARP for the new address
        pass         # failed while it was still being leased (dnsmasq pings it)
"""


@pytest.mark.skipif(not os.path.exists("/usr/sbin/dnsmasq"),
                    reason="needs dnsmasq (Debian dnsmasq-base)")
@pytest.mark.parametrize("offload", list(OFFLOADS))
def test_dhcp_from_dnsmasq_in_the_namespace(offload, tmp_path):
    leases = tmp_path / "leases"
    with tap_ns(f"{HOST}/24") as (ns, tap):
        dns = subprocess.Popen(
            ["ip", "netns", "exec", ns, "/usr/sbin/dnsmasq", "--no-daemon", "--conf-file=/dev/null",
             f"--interface={tap}", "--bind-interfaces", "--port=0", "--no-resolv",
             "--dhcp-range=10.0.9.50,10.0.9.60,255.255.255.0,1h",
             "--dhcp-option=option:router,10.0.9.1", f"--dhcp-leasefile={leases}",
             f"--pid-file={tmp_path / 'pid'}", "--log-dhcp"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        guest = ConsoleGuest(launcher_args("udp-echo", ns, tap, offload, "limit=1 net.stats=1",
                                           timeout=120))
        p = None
        try:
            m = guest.wait_for(r"udp-echo: listening on (10\.0\.9\.\d+):7", 90)
            if m:
                p = nsrun(ns, ["/usr/bin/python3", "-c", UDP_ONCE, m.group(1)], timeout=60)
                guest.proc.wait(timeout=60)
        finally:
            out = guest.stop()
            dns.terminate()
            dns_log = dns.communicate(timeout=10)[0].decode("utf-8", "replace")
    assert m, out[-3000:] + dns_log[-2000:]
    assert p.stdout.strip() == "leased", p.stdout + p.stderr + out[-3000:] + dns_log[-3000:]
    addr = m.group(1)
    assert 50 <= int(addr.rsplit(".", 1)[1]) <= 60, out[-3000:]
    assert f"DHCPACK({tap}) {addr}" in dns_log, dns_log[-2000:]
    assert addr in leases.read_text()
    assert guest.proc.returncode == 0, out[-3000:]
