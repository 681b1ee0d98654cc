"""A network stack per core (issue 13): over a multi_queue tap in a
namespace, with the launcher's defaults (a queue pair per CPU, RSS on),
the guest runs one stack per core. Connections are served on the core
that received them: the per-core counters show every core accepting, and
no socket call crosses cores on the data path (api_forwarded does not move
while wrk runs). Outgoing connections from each core pick a local port
whose RSS hash brings the answers back to that core. The 1,000-connection
load passes on the per-core stacks as it does on one."""
import hashlib
import re
import subprocess

import pytest

from conftest import ROOT, image
from netbench import (WEBSERVER_READY, ConsoleGuest, have_root_networking, parse_wrk, tap_ns,
                      webserver_stats)
from test_tcp import echo_clients, finish, start_echo
from test_webserver import MANY_CLIENT

pytestmark = pytest.mark.skipif(not have_root_networking(),
                                reason="needs root, /dev/net/tun, iproute2")

HOST, GUEST = "10.0.9.1", "10.0.9.2"


def nsrun(ns, cmd, timeout=300):
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def per_core(stats, what, cores):
    return [stats.get(f"core{c}_{what}", -1) for c in range(cores)]


def about_sha():
    with open(f"{ROOT}/apps/webserver/site/about.txt", "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.mark.parametrize("smp", [2, 4])
def test_web_server_serves_on_every_core_with_a_stack_each(smp):
    with tap_ns(f"{HOST}/24", multi_queue=True) as (ns, tap):
        g = ConsoleGuest(["--smp", str(smp), "--kernel", image("webserver"), "--net",
                          f"tap:{tap}", "--netns", ns, "--module", image("webserver", "site"),
                          "--append", f"ip={GUEST}/24", "--timeout", "600"])
        try:
            assert g.wait_for(WEBSERVER_READY, 120), g.output[-3000:]
            # 1,000 connections at once, each a GET checked byte for byte.
            n = 1000
            p = nsrun(ns, ["/usr/bin/python3", "-c", MANY_CLIENT, GUEST, "80", str(n),
                           "about.txt", about_sha()], timeout=300)
            m = re.search(r"ok=(\d+) bad=(\d+) peak_open=(\d+)", p.stdout)
            assert m, p.stdout[-3000:] + p.stderr[-3000:] + g.output[-2000:]
            assert (int(m[1]), int(m[2]), int(m[3])) == (n, 0, n), p.stdout[-3000:]
            s = webserver_stats(GUEST, 80, ns=ns, timeout=60)
            assert s["net_stacks"] == smp, s
            accepted = per_core(s, "accepted", smp)
            requests = per_core(s, "requests", smp)
            print("accepted per core", accepted, "requests per core", requests)
            # RSS spread them: every core's stack accepted some and its
            # threads answered them (a core left out has odds of (1-1/smp)^1000).
            assert all(a > 0 for a in accepted) and sum(accepted) >= n, s
            assert all(r > 0 for r in requests), s
            # Keep-alive load: not one socket call moved between cores.
            before = webserver_stats(GUEST, 80, ns=ns, timeout=60)
            w = parse_wrk(nsrun(ns, ["wrk", "-t2", "-c16", "-d3s",
                                     f"http://{GUEST}/about.txt"]).stdout)
            after = webserver_stats(GUEST, 80, ns=ns, timeout=60)
            assert w["requests"] > 0 and w["socket_errors"] == 0 and w["non_2xx"] == 0, w
            assert after["requests"] - before["requests"] >= w["requests"], (before, after)
            assert after["api_forwarded"] == before["api_forwarded"], (before, after)
            assert after["stack_copied_bytes"] == 0, after
        finally:
            out = g.stop()
    assert "panic" not in out.lower(), out[-3000:]


def test_echo_on_every_core_with_a_stack_each():
    """apps/echo at -smp 2 with its defaults: 16 clients at once, each 256 KiB
    both ways, echoed byte for byte; the exit dump's per-core lines show
    both stacks accepting."""
    size, clients = 256 << 10, 16
    with tap_ns(f"{HOST}/24", multi_queue=True) as (ns, tap):
        proc = start_echo(f"tap:{tap}", f"ip={GUEST}/24 limit={clients} net.stats=1",
                          extra=["--smp", "2", "--netns", ns])
        try:
            echo_clients(ns, GUEST, size, clients)
        finally:
            out = finish(proc)
    assert proc.returncode == 0, out[-3000:]
    assert f"echo: {clients} connections, {clients * size} bytes echoed" in out, out[-3000:]
    cores = {int(m[1]): (int(m[2]), int(m[3])) for m in re.finditer(
        r"core (\d+): rx \d+ packets, tx \d+ packets, connections accepted (\d+), opened \d+, "
        r"interrupts \d+, calls moved here (\d+)", out)}
    assert sorted(cores) == [0, 1], out[-3000:]
    assert all(acc > 0 for acc, _ in cores.values()), cores
    assert sum(acc for acc, _ in cores.values()) == clients, cores
    assert "panic" not in out.lower(), out[-3000:]


# An echo server for lines in the namespace: prints "port=<n>" once
# listening, then answers every connection on a thread of its own.
LINE_ECHO = r"""
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 0))
s.listen(64)
print("port=%d" % s.getsockname()[1], flush=True)
def serve(c):
    with c:
        while True:
            b = c.recv(4096)
            if not b:
                break
            c.sendall(b)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def test_outgoing_connections_stay_on_the_calling_core():
    """Threads on both cores of an -smp 2 guest each open 12 connections to
    the host: every connection lives on its thread's core and its line
    comes back whole. A local port whose hash led elsewhere would have its
    answers land on the other core's stack (a reset, a failed echo)."""
    per = 12
    with tap_ns(f"{HOST}/24", multi_queue=True) as (ns, tap):
        srv = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", LINE_ECHO,
                                HOST], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
        try:
            port = int(re.match(r"port=(\d+)", srv.stdout.readline())[1])
            g = ConsoleGuest(["--smp", "2", "--kernel", image("apitest"), "--net", f"tap:{tap}",
                              "--netns", ns, "--append",
                              f"ip={GUEST}/24 mode=connect peer_ip={HOST} peer={port} "
                              f"count={per}", "--timeout", "300"])
            try:
                assert g.wait_for(r"apitest: done", 240), g.output[-3000:]
            finally:
                out = g.stop()
        finally:
            srv.kill()
            srv.wait()
    conns = re.findall(r"thread core (\d) conn core (\d) port (\d+) echo (\w+)", out)
    assert len(conns) == 2 * per, out[-3000:]
    for thread_core, conn_core, _port, echo in conns:
        assert thread_core == conn_core and echo == "ok", out[-3000:]
    assert sorted({c[0] for c in conns}) == ["0", "1"], conns
    m = re.search(r"apitest: connect: 2 cores, (\d+) stacks, calls moved (\d+)", out)
    assert m and (int(m[1]), int(m[2])) == (2, 0), out[-3000:]


# Sends, from the namespace through raw sockets, a SYN to guest:7 from each
# of N source ports, each SYN in two IPv4 fragments (RSS cannot hash those
# by ports: they land on pair 0), then reports how the guest answered:
# "synack=<n> rst=<n>".
FRAG_SYNS = r"""
import socket, struct, sys, time
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
S, D = socket.inet_aton(src), socket.inet_aton(dst)
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
rx.settimeout(0.2)
ports = list(range(41000, 41000 + n))
for i, p in enumerate(ports):
    tcp = struct.pack("!HHIIBBHHH", p, 7, 1000 + i, 0, 5 << 4, 0x02, 65535, 0, 0)
    c = csum(S + D + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    for off, part, more in ((0, tcp[:16], 1), (16, tcp[16:], 0)):
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(part), 777 + i,
                         (0x2000 if more else 0) | off // 8, 64, 6, 0, S, D)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        tx.sendto(ip + part, (dst, 0))
    time.sleep(0.02)
answers = {}
end = time.time() + 5
while time.time() < end and len(answers) < n:
    try:
        pkt = rx.recv(2048)
    except socket.timeout:
        continue
    if pkt[12:16] != D:
        continue
    t = pkt[(pkt[0] & 15) * 4:]
    sport, dport = struct.unpack("!HH", t[:4])
    if sport == 7 and dport in ports and dport not in answers:
        answers[dport] = t[13]
print("synack=%d rst=%d" % (sum(1 for f in answers.values() if f & 0x12 == 0x12),
                             sum(1 for f in answers.values() if f & 0x04)))
"""


def test_tcp_in_fragments_reaches_the_core_that_owns_the_flow():
    """Fragments carry no ports, so RSS puts them on pair 0 whatever their
    flow. Stack 0 reassembles each SYN and hands those whose flow hashes to
    core 1 over (counted there): kept on core 0, such a connection would
    never see the rest of its segments, which RSS sends to core 1. Every SYN
    is answered with a SYN-ACK, none with a reset."""
    n = 24
    with tap_ns(f"{HOST}/24", multi_queue=True) as (ns, tap):
        proc = start_echo(f"tap:{tap}", f"ip={GUEST}/24 limit=2 net.stats=1", timeout=300,
                          extra=["--smp", "2", "--netns", ns])
        try:
            echo_clients(ns, GUEST, 4096, 1)  # the guest is up
            p = nsrun(ns, ["/usr/bin/python3", "-c", FRAG_SYNS, HOST, GUEST, str(n)], timeout=120)
            echo_clients(ns, GUEST, 4096, 1)  # the second of limit=2: it ends
            assert p.returncode == 0, p.stderr[-3000:]
            m = re.search(r"synack=(\d+) rst=(\d+)", p.stdout)
            assert m and (int(m[1]), int(m[2])) == (n, 0), p.stdout
        finally:
            out = finish(proc)
    handed = {int(c): int(h) for c, h in re.findall(
        r"core (\d+): .* segments from fragments handed here (\d+) \(lost 0\)", out)}
    assert sorted(handed) == [0, 1], out[-3000:]
    assert 0 < handed[1] < n and handed[0] == 0, handed
