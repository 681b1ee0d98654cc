"""The network on the real wire: DHCP under QEMU user networking, a UDP echo
through a forwarded port, and ping from the Linux stack in a namespace of the
test's own (static address), including fragmented sizes."""
import os
import random
import re
import select
import socket
import subprocess
import time

import pytest

from conftest import LAUNCHER, ROOT, boot, image
from netbench import have_root_networking, netns_exec, relay


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_dhcp_under_user_networking_gets_10_0_2_15():
    b = boot("udp-echo", append="limit=0 net.stats=1 loglevel=2", extra=["--net", "user"],
             timeout=20)
    assert "net: eth0 10.0.2.15/24 gw 10.0.2.2 (dhcp)" in b.output, b.output
    assert "udp-echo: listening on 10.0.2.15:7" in b.output


def test_bad_static_address_is_refused_by_name():
    b = boot("udp-echo", append="ip=300.1.2.3/24", extra=["--net", "user"])
    assert "'ip=300.1.2.3/24' is not a usable IPv4 configuration" in b.output, b.output
    assert b.status == 2


def test_udp_echo_of_10000_datagrams_of_mixed_sizes():
    port = free_udp_port()
    n = 10000
    # The guest stops after `limit` datagrams. Probes and resends make it
    # see more than n, so it gets room, and fillers use up the rest at the
    # end: it must not stop while the test still waits for an echo.
    limit = n + 2000
    proc = subprocess.Popen([LAUNCHER, "--kernel", image("udp-echo"), "--net", "user",
                             "--hostfwd", f"udp:127.0.0.1:{port}-:7", "--append",
                             f"limit={limit} net.stats=1", "--timeout", "600"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        rng = random.Random(3)
        sizes = [rng.choice([1, 8, 64, 512, 1000, 1472]) if i % 3 else rng.randint(1, 1472)
                 for i in range(n)]
        payloads = [(b"%08d" % i + bytes((i + k) & 0xFF for k in range(sz)))[:max(sz, 8)]
                    for i, sz in enumerate(sizes)]
        got, sent, window = {}, 0, 32
        deadline = time.time() + 500
        # Wait for the guest: probe until the first echo comes back.
        while not got and time.time() < deadline:
            assert proc.poll() is None, proc.communicate()[0].decode()[-3000:]
            s.sendto(payloads[0], ("127.0.0.1", port))
            r, _, _ = select.select([s], [], [], 0.5)
            if r:
                data = s.recv(4096)
                got[int(data[:8])] = data
        sent = 1
        while len(got) < n and time.time() < deadline:
            while sent < n and sent - len(got) < window:
                s.sendto(payloads[sent], ("127.0.0.1", port))
                sent += 1
            r, _, _ = select.select([s], [], [], 2.0)
            assert proc.poll() is None, proc.communicate()[0].decode()[-3000:]
            if not r:
                # a datagram lost on the way in slirp: resend what is missing
                for i in range(sent):
                    if i not in got:
                        s.sendto(payloads[i], ("127.0.0.1", port))
                continue
            while True:
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    break
                got[int(data[:8])] = data
        assert len(got) == n, f"{len(got)} of {n} echoed"
        bad = [i for i in range(n) if got[i] != payloads[i]]
        assert bad == [], f"{len(bad)} datagrams came back altered, e.g. #{bad[:3]}"
        while proc.poll() is None and time.time() < deadline:
            for _ in range(100):
                s.sendto(b"filler", ("127.0.0.1", port))
            time.sleep(0.05)
        out = proc.communicate(timeout=120)[0].decode()
        assert proc.returncode == 0, out[-2000:]
        assert re.search(r"copied 0 bytes", out), out[-2000:]  # zero-copy echo
        # The app read the counters as data (zebu_net_counters) and they add up.
        m = re.search(r"udp-echo: (\d+) datagrams echoed, (\d+) frames in, (\d+) out", out)
        assert m, out[-2000:]
        assert int(m.group(1)) == limit and int(m.group(2)) >= limit, m.group(0)
        assert int(m.group(3)) >= n, m.group(0)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait()


@pytest.mark.skipif(not have_root_networking(), reason="needs root, /dev/net/tun, iproute2")
def test_ping_from_the_namespace_including_fragmented_sizes():
    with relay(tap_addr="10.0.3.1/24") as (ns, sockdir, log):
        proc = subprocess.Popen([LAUNCHER, "--kernel", image("udp-echo"), "--net",
                                 f"relay:{sockdir}", "--append", "ip=10.0.3.2/24 gw=10.0.3.1",
                                 "--timeout", "120"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            ok = False
            for _ in range(60):  # wait for the guest to come up
                p = netns_exec(ns, ["ping", "-c", "1", "-W", "1", "10.0.3.2"],
                               capture_output=True, text=True)
                if p.returncode == 0:
                    ok = True
                    break
            assert ok, "guest never answered ping"
            p = netns_exec(ns, ["ping", "-c", "5", "-i", "0.2", "-W", "2", "10.0.3.2"],
                           capture_output=True, text=True)
            assert " 0% packet loss" in p.stdout, p.stdout
            for size in (1472, 2000, 8000):  # 2000 and 8000 arrive in fragments
                p = netns_exec(ns, ["ping", "-c", "3", "-i", "0.3", "-W", "3", "-s", str(size),
                                    "10.0.3.2"], capture_output=True, text=True)
                assert " 0% packet loss" in p.stdout, (size, p.stdout)
                assert f"{size + 8} bytes from 10.0.3.2" in p.stdout
        finally:
            proc.terminate()
            proc.wait()


@pytest.mark.skipif(not have_root_networking(), reason="needs root, /dev/net/tun, iproute2")
def test_malformed_frame_flood_is_counted_and_the_guest_still_answers():
    flood = os.path.join(ROOT, "tests", "system", "flood_frames.py")
    with relay(tap_addr="10.0.3.1/24") as (ns, sockdir, log):
        proc = subprocess.Popen([LAUNCHER, "--kernel", image("udp-echo"), "--net",
                                 f"relay:{sockdir}", "--append",
                                 "ip=10.0.3.2/24 limit=1 net.stats=1", "--timeout", "120"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            for _ in range(60):
                if netns_exec(ns, ["ping", "-c", "1", "-W", "1", "10.0.3.2"],
                              capture_output=True).returncode == 0:
                    break
            p = netns_exec(ns, ["python3", flood, "ztap0", "52:54:00:12:34:56", "3000", "9"],
                           capture_output=True, text=True)
            assert p.returncode == 0, p.stderr
            assert int(p.stdout) > 2500
            # The emulated guest may still be working through the flood
            # (slowly, on a loaded machine): give it time to drain, then it
            # must answer every ping.
            for _ in range(30):
                if netns_exec(ns, ["ping", "-c", "1", "-W", "1", "10.0.3.2"],
                              capture_output=True).returncode == 0:
                    break
            p = netns_exec(ns, ["ping", "-c", "3", "-i", "0.3", "-W", "2", "10.0.3.2"],
                           capture_output=True, text=True)
            assert " 0% packet loss" in p.stdout, p.stdout
            # One good datagram ends the app, which prints its counters.
            netns_exec(ns, ["python3", "-c", "import socket; s=socket.socket(socket.AF_INET,"
                            "socket.SOCK_DGRAM); s.sendto(b'bye', ('10.0.3.2', 7))"], check=True)
            out = proc.communicate(timeout=60)[0].decode().replace("\r\n", "\n")
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
    assert proc.returncode == 0, out[-3000:]
    report = out.split("udp-echo: listening", 1)[1].split("stack:", 1)[0]
    total = int(re.search(r"drops (\d+)", report)[1])
    drops = dict((k, int(v)) for k, v in re.findall(r"^  ([a-z0-9_]+) (\d+)$", report, re.M))
    # Under a flood the emulated device may drop some frames before the guest
    # sees them (its ring is full); every frame that reaches the stack is
    # malformed and must be counted under a reason.
    assert total >= 1000 and sum(drops.values()) == total, report
    for reason in ("ip_bad_checksum", "udp_bad_checksum", "ip_bad_total_len", "ip_bad_hdr_len",
                   "ip_short", "arp_bad_format", "icmp_bad_checksum"):
        assert drops.get(reason, 0) > 0, (reason, drops)


@pytest.mark.skipif(not have_root_networking(), reason="needs root, /dev/net/tun, iproute2")
def test_udp_through_10_percent_loss_gets_exactly_the_surviving_datagrams():
    """Each datagram crosses the relay twice (request in, echo out), each time
    with a 10% chance of being dropped. The relay logs every decision with
    the first payload bytes, so the test knows which echoes must come back:
    exactly those whose echo frame it passed, each byte-identical; and every
    request that reached the guest must have produced an echo."""
    n = 1500
    rng = random.Random(11)
    payloads = {}
    for i in range(n):
        size = rng.choice([8, 100, 512, 1000, 1472])
        payloads[b"%08d" % i] = (b"%08d" % i + rng.randbytes(size))[:size]
    with relay(tap_addr="10.0.3.1/24", seed=4, drop=0.1) as (ns, sockdir, log):
        proc = subprocess.Popen([LAUNCHER, "--kernel", image("udp-echo"), "--net",
                                 f"relay:{sockdir}", "--append",
                                 "ip=10.0.3.2/24 gw=10.0.3.1 net.stats=1", "--timeout", "300"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            client = subprocess.run(
                ["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", UDP_LOSS_CLIENT],
                input=b"".join(len(p).to_bytes(2, "big") + p for p in payloads.values()),
                capture_output=True, timeout=240)
            assert client.returncode == 0, client.stderr.decode()[-2000:]
        finally:
            proc.terminate()
            out = proc.communicate(timeout=30)[0].decode()
        with open(log) as f:
            lines = f.read().splitlines()
    # What came back: "<8-byte tag><payload>" records from the client.
    got, data = {}, client.stdout
    while data:
        size = int.from_bytes(data[:2], "big")
        got.setdefault(data[2:10], []).append(data[2:2 + size])
        data = data[2 + size:]
    decided = {"in": {}, "out": {}}  # tag -> last decision (the probe repeats #0)
    for line in lines:
        if line.startswith("#") or " udp " not in line or ":7 " not in line and ":7>" not in line:
            continue
        head, what = line.split(" | ")
        direction, action = head.split()[0], head.split()[3]
        tag = bytes.fromhex(what.split("p=")[1])
        if tag in payloads:
            decided[direction].setdefault(tag, []).append(action)
    reached_guest = {t for t, acts in decided["in"].items() if "pass" in acts or "hold" in acts}
    echoed = set(decided["out"])
    lost_in_guest = sorted(reached_guest - echoed)
    assert lost_in_guest == [], f"the guest dropped {len(lost_in_guest)}: {lost_in_guest[:5]}"
    expect = {t for t, acts in decided["out"].items() if "pass" in acts or "hold" in acts}
    assert len(expect) < n * 0.9, "the relay dropped too little: is loss on?"
    assert set(got) == expect, (sorted(set(got) - expect)[:5], sorted(expect - set(got))[:5])
    bad = [t for t in got if any(p != payloads[t] for p in got[t])]
    assert bad == [], f"{len(bad)} echoes altered, e.g. {bad[:3]}"
    assert re.search(r"udp-echo: listening", out), out[-2000:]


# Runs inside the namespace: waits for the guest, sends each datagram of stdin
# once (paced), collects the echoes for a while after the last, and writes
# them to stdout as length-prefixed records.
UDP_LOSS_CLIENT = r"""
import select, socket, sys, time
data = sys.stdin.buffer.read()
msgs = []
while data:
    size = int.from_bytes(data[:2], "big"); msgs.append(data[2:2 + size]); data = data[2 + size:]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# Room for every echo: the client drains only between sends, and on a
# loaded host a burst of echoes would overflow the default receive buffer
# after the relay passed them (lost here, not by the guest). Root may
# exceed rmem_max.
try:
    s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
except OSError:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("10.0.3.1", 0))
got = []
deadline = time.time() + 120
while time.time() < deadline:  # wait for the guest: probe with the first datagram
    s.sendto(msgs[0], ("10.0.3.2", 7))
    if select.select([s], [], [], 0.5)[0]:
        got.append(s.recv(4096))
        break
else:
    sys.exit("the guest never echoed")
def drain(wait):
    while select.select([s], [], [], wait)[0]:
        got.append(s.recv(4096))
        wait = 0
for i, m in enumerate(msgs[1:], 1):
    s.sendto(m, ("10.0.3.2", 7))
    drain(0.002 if i % 8 == 0 else 0)
# Collect until the echoes stop: 4 s of quiet (a loaded machine delays the
# guest and the relay, not the outcome), 120 s at most.
end, last = time.time() + 120, time.time()
while time.time() < min(end, last + 4):
    before = len(got)
    drain(0.2)
    if len(got) > before:
        last = time.time()
for g in got:
    sys.stdout.buffer.write(len(g).to_bytes(2, "big") + g)
"""
