"""Multiqueue virtio-net at the driver level (selftest=vnet-mq in ktest):
at -smp 2 over a multi_queue tap with mq=on the driver sets two queue pairs
through the control queue, each pair's interrupt routed to its own core,
and UDP datagrams the host sends from many source ports arrive on both
receive queues; with rss=on each one arrives on the queue the Toeplitz hash
under the driver's key names. Without mq=on the same guest uses one pair;
with too few vectors one interrupt serves both pairs."""
import re
import subprocess
import time

import pytest

from conftest import image
from netbench import ConsoleGuest, have_root_networking, tap_ns

pytestmark = pytest.mark.skipif(not have_root_networking(),
                                reason="needs root, /dev/net/tun, iproute2")

GUEST, HOST = "10.0.9.2", "10.0.9.1"
GUEST_MAC = "52:54:00:12:34:56"
FRAMES = 64

# argv: guest address, count: one datagram to port 9 from each of count
# source ports (40000 on), paced a little so the guest is not flooded.
SEND = r"""
import socket, sys, time
guest, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 40000 + i))
    s.sendto(b"zebu-mq %d" % i, (guest, 9))
    s.close()
    time.sleep(0.01)
"""

PAIR_RE = re.compile(r"vnet-mq: pair (\d+): rx (\d+) tx_done (\d+) irqs (\d+) irq_core (-?\d+) "
                     r"\(routed to apic (\d+)\) off_queue (\d+)")


def run_mq(queues, nic_opts=()):
    """Boots ktest selftest=vnet-mq at -smp 2 on a tap (multi_queue when
    queues > 1), sends FRAMES datagrams once the guest is ready; returns
    (console, {pair: (rx, tx_done, irqs, irq_core, apic, off_queue)})."""
    with tap_ns(f"{HOST}/24", multi_queue=queues > 1) as (ns, tap):
        subprocess.run(["ip", "netns", "exec", ns, "ip", "neigh", "replace", GUEST, "lladdr",
                        GUEST_MAC, "dev", tap, "nud", "permanent"], check=True)
        args = ["--kernel", image("ktest"), "--net", f"tap:{tap}", "--netns", ns, "--smp", "2",
                "--append", "selftest=vnet-mq loglevel=2", "--timeout", "120"]
        if queues > 1:
            args += ["--queues", str(queues)]
        for o in nic_opts:
            args += ["--nic-opt", o]
        g = ConsoleGuest(args)
        try:
            assert g.wait_for(r"vnet-mq: .* ready", 60), g.output
            time.sleep(0.2)
            subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", SEND, GUEST,
                            str(FRAMES)], check=True, timeout=60)
            assert g.wait_for(r"vnet-mq: \d+ datagrams", 60), g.output
            g.proc.wait(timeout=30)
        finally:
            out = g.stop()
    pairs = {int(m[1]): tuple(int(x) for x in m.groups()[1:]) for m in PAIR_RE.finditer(out)}
    return out, pairs


@pytest.mark.parametrize("rss", [False, True], ids=["tap_steering", "rss"])
def test_two_pairs_receive_on_both_queues(rss):
    out, pairs = run_mq(2, ["rss=on"] if rss else ["rss=off"])
    negotiated = re.search(r"virtio-net: negotiated:(.*)", out)[1].split()
    assert "MQ" in negotiated and "CTRL_VQ" in negotiated, out
    assert ("RSS" in negotiated) == rss, out
    assert re.search(r"2 queue pairs in use \(device has 2\), a vector per pair, RSS "
                     + ("on" if rss else "off"), out), out
    assert "control commands " + ("2" if rss else "1") + ", failed 0" in out, out
    assert sorted(pairs) == [0, 1], out
    total = sum(p[0] for p in pairs.values())
    assert total == FRAMES, out
    for i, (rx, tx_done, irqs, irq_core, apic, off_queue) in pairs.items():
        assert rx > 0, f"pair {i} received nothing\n{out}"
        assert tx_done == 1, out
        assert irqs >= 1 and irq_core == i, out  # each pair's vector fires on its own core
        assert off_queue == 0, out  # with RSS: every datagram where the hash says


def test_without_mq_one_pair_takes_everything():
    out, pairs = run_mq(1)
    negotiated = re.search(r"virtio-net: negotiated:(.*)", out)[1].split()
    assert "MQ" not in negotiated and "CTRL_VQ" not in negotiated, out
    assert "1 queue pair in use (device has 1)" in out, out
    assert list(pairs) == [0], out
    rx, tx_done, irqs, irq_core, _apic, _off = pairs[0]
    assert rx == FRAMES and tx_done == 1 and irqs >= 1 and irq_core == 0, out


def test_too_few_vectors_one_interrupt_serves_both_pairs():
    """vectors=1: no MSI-X table for a vector per pair (nor for MSI-X at
    all), so the line interrupt on core 0 notifies both pairs, and both
    still receive."""
    out, pairs = run_mq(2, ["vectors=1"])
    assert "line interrupts" in out, out
    assert "2 queue pairs in use (device has 2), one vector for all" in out, out
    assert sorted(pairs) == [0, 1], out
    assert sum(p[0] for p in pairs.values()) == FRAMES, out
    for i, (rx, _tx, irqs, irq_core, _apic, _off) in pairs.items():
        assert rx > 0 and irqs >= 1 and irq_core == 0, out
