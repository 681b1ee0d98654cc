"""Timeouts on every call that can block, against Linux in a namespace of
the test's own over a plain tap (netbench.tap_ns): tests/apps/timeouts
(accept, receive and send timeouts on TCP, UDP receive, a mailbox, and
keepalive finding a peer that vanished), and the idle_ms= options of
apps/echo and apps/webserver, which close a client that sends nothing.

The guest times its own calls (zebu_time_ns): a timeout must never end
early, and under TCG on a shared machine may end late by up to SLACK_MS.
The mailbox's own race with senders is in test_smp.py."""
import hashlib
import json
import shutil
import subprocess

import pytest

from conftest import image
from netbench import WEBSERVER_READY, ConsoleGuest, have_root_networking, tap_ns

needs_netns = pytest.mark.skipif(not have_root_networking(),
                                 reason="needs root, /dev/net/tun, iproute2")
# The vanishing peer: iptables in the namespace drops what the guest sends.
needs_iptables = pytest.mark.skipif(shutil.which("iptables") is None, reason="needs iptables")

GUEST, HOST = "10.0.9.2", "10.0.9.1"
SLACK_MS = 1500  # how late a timeout may end on a loaded TCG host

# The guest's peer, run in the namespace: one command a line on stdin, one
# JSON answer a line on stdout. Connections are named; socket timeouts of
# 30 s make a stuck step end the script (and so the test) rather than hang.
PEER = r"""
import hashlib, json, random, socket, subprocess, sys, threading
guest = sys.argv[1]
conns = {}

def say(**kw):
    print(json.dumps(kw), flush=True)

for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "udp":  # a datagram the guest echoes, after its timeouts
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(30)
        u.sendto(b"a late datagram", (guest, 9000))
        say(udp=u.recvfrom(2048)[0].decode())
    elif cmd == "connect":  # NAME [small]: small, a 4 KiB receive buffer
        s = socket.socket()
        if args[1:] == ["small"]:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect((guest, 7000))
        conns[args[0]] = s
        say(connected=args[0])
    elif cmd == "echo":  # NAME SIZE: seeded bytes out, the echo back, then our FIN
        s, size = conns[args[0]], int(args[1])
        data = random.Random(7).randbytes(size)
        got = bytearray()
        def reader():
            while len(got) < size:
                b = s.recv(65536)
                if not b:
                    break
                got.extend(b)
        t = threading.Thread(target=reader)
        t.start()
        s.sendall(data)
        t.join(60)
        s.shutdown(socket.SHUT_WR)
        say(same=bytes(got) == data, bytes=len(got), eof=s.recv(1) == b"")
    elif cmd == "drain":  # NAME: everything until the end of the stream
        s, h, n = conns[args[0]], hashlib.sha256(), 0
        while True:
            b = s.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
        say(sha256=h.hexdigest(), bytes=n)
    elif cmd == "hi":  # NAME: two bytes there and back
        s = conns[args[0]]
        s.sendall(b"hi")
        say(hi=s.recv(16).decode())
    elif cmd == "vanish":  # no FIN, no RST: every packet to or from the guest dropped
        for chain, side in (("INPUT", "-s"), ("OUTPUT", "-d")):
            subprocess.run(["iptables", "-A", chain, side, guest, "-j", "DROP"], check=True)
        say(vanished=True)
"""

REPORT = r"timeouts: {} returned (-?\d+) errno (\d+) after (\d+) us"


def send_stream_sha(sent, tail):
    """sha256 of what tests/apps/timeouts sends on its stalled connection:
    `sent` bytes of its 64 KiB pattern, over and over, then `tail`."""
    chunk = bytes((i * 131 + i // 256) & 0xFF for i in range(65536))
    h = hashlib.sha256()
    for _ in range(sent // len(chunk)):
        h.update(chunk)
    h.update(chunk[:sent % len(chunk)])
    h.update(tail)
    return h.hexdigest()


@needs_netns
@needs_iptables
def test_every_blocking_call_times_out_and_the_connection_goes_on():
    wait_ms, idle, intvl, count = 400, 1000, 500, 3
    with tap_ns(f"{HOST}/24") as (ns, tap):
        guest = ConsoleGuest(["--kernel", image("timeouts"), "--net", f"tap:{tap}", "--netns", ns,
                              "--timeout", "300", "--append",
                              f"ip={GUEST}/24 wait_ms={wait_ms} keep_idle_ms={idle} "
                              f"keep_intvl_ms={intvl} keep_count={count}"])
        peer = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", PEER, GUEST],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            def expect(pattern, seconds=120):
                m = guest.wait_for(pattern, seconds)
                assert m, f"no {pattern!r} in:\n" + guest.output[-3000:]
                return m

            def step(cmd):
                peer.stdin.write(cmd + "\n")
                peer.stdin.flush()
                line = peer.stdout.readline()
                assert line, f"the peer failed at {cmd!r}:\n" + guest.output[-3000:]
                return json.loads(line)

            def timed_out(name, asked_ms, r=0):
                """The call NAME failed with ETIMEDOUT (r: what it returned)
                after asked_ms, not before; returns the time in ms."""
                m = expect(REPORT.format(name))
                assert int(m[1]) == r and int(m[2]) in (0, 110), m[0]
                ms = int(m[3]) / 1000
                assert asked_ms <= ms <= asked_ms + SLACK_MS, m[0]
                return ms

            times = {"mailbox": timed_out("mailbox", wait_ms)}
            assert expect(REPORT.format("mailbox"))[2] == "110"
            # UDP: both receives time out; a datagram that comes after
            # more timeouts still reaches the socket and is echoed.
            times["udp_recv_buf"] = timed_out("udp_recv_buf", wait_ms)
            times["udp_recvfrom"] = timed_out("udp_recvfrom", wait_ms, r=-110)
            expect("timeouts: udp ready")
            assert step("udp") == {"udp": "a late datagram"}
            expect(r"timeouts: udp echoed 15 bytes")
            # TCP accept times out; a connection that comes later is taken.
            times["tcp_accept"] = timed_out("tcp_accept", wait_ms)
            assert expect(REPORT.format("tcp_accept"))[2] == "110"
            expect("timeouts: tcp ready")
            step("connect idle")
            # Both receives time out (the timeout came from the listener)
            # and the connection is still open: it echoes 256 KiB intact.
            times["tcp_recv_buf"] = timed_out("tcp_recv_buf", wait_ms)
            times["tcp_recv"] = timed_out("tcp_recv", wait_ms, r=-110)
            expect("timeouts: tcp idle, connection error 0; echoing")
            e = step("echo idle 262144")
            assert e == {"same": True, "bytes": 262144, "eof": True}, e
            m = expect(r"timeouts: tcp echoed (\d+) bytes, (\d+) receive timeouts on the way, "
                       r"end errno (\d+)")
            assert m[1] == "262144" and m[3] == "0", m[0]
            # A peer that does not read: the sends time out, then the
            # connection delivers every byte queued, and a last line.
            expect("timeouts: send ready")
            step("connect stalled small")
            m = expect(REPORT.format("tcp_send"))
            assert int(m[1]) < 65536 and int(m[3]) >= wait_ms * 1000, m[0]
            times["tcp_send"] = int(m[3]) / 1000
            times["tcp_send_buf"] = timed_out("tcp_send_buf", wait_ms, r=-110)
            m = expect(r"timeouts: send stalled after (\d+) bytes, connection error (-?\d+)")
            sent = int(m[1])
            assert m[2] == "0" and sent > 0, m[0]
            tail = b"--end-of-data--\n"
            d = step("drain stalled")
            assert d["bytes"] == sent + len(tail), (d, sent)
            assert d["sha256"] == send_stream_sha(sent, tail), "the stream is not what was sent"
            expect(rf"timeouts: last line sent: {len(tail)}")
            # Keepalive: the peer answers, then vanishes without a word;
            # the connection ends with ETIMEDOUT after idle + interval * count.
            expect("timeouts: keepalive ready")
            step("connect vanishing")
            assert step("hi vanishing") == {"hi": "hi"}
            expect("timeouts: keepalive armed")
            step("vanish")
            m = expect(REPORT.format("keepalive"), 60)
            assert m[2] == "110", m[0]
            ka_ms = int(m[3]) / 1000
            due = idle + intvl * count
            assert due - 100 <= ka_ms <= due + SLACK_MS, m[0]
            expect("timeouts: keepalive connection error -110")
            m = expect(r"timeouts: counters keepalive_probes=(\d+) keepalive_timeouts=(\d+) "
                       r"zero_window_aborts=(\d+)")
            # Exactly one connection ended by keepalive; at least its count
            # of probes (others went to connections that answered them).
            assert int(m[1]) >= count and m[2] == "1" and m[3] == "0", m[0]
            expect("timeouts: done")
            print(f"timeouts asked {wait_ms} ms, took (ms): {times}; keepalive "
                  f"{idle}+{intvl}x{count} = {due} ms, took {ka_ms} ms, probes {m[1]}")
        finally:
            peer.kill()
            peer.wait()
            out = guest.stop()
    assert "panic" not in out.lower(), out[-3000:]


# Two clients of apps/echo (idle_ms=): one says hello and then nothing, and
# times how long until the server closes it; one sends a byte every 0.4 s
# for 3 s (well within idle_ms each time) and must get every byte back.
ECHO_CLIENTS = r"""
import json, socket, sys, time
guest, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((guest, port), timeout=30)
s.sendall(b"hello")
assert s.recv(16) == b"hello"
t0 = time.monotonic()
end = s.recv(16)
idle = {"closed_after": time.monotonic() - t0, "eof": end == b""}
s.close()
s = socket.create_connection((guest, port), timeout=30)
got = b""
for i in range(8):
    s.sendall(bytes([65 + i]))
    got += s.recv(16)
    time.sleep(0.4)
s.shutdown(socket.SHUT_WR)
busy = {"got": got.decode(), "eof": s.recv(16) == b""}
print(json.dumps({"idle": idle, "busy": busy}))
"""


@needs_netns
def test_echo_closes_an_idle_client_and_keeps_a_busy_one():
    idle_ms = 1000
    with tap_ns(f"{HOST}/24") as (ns, tap):
        guest = ConsoleGuest(["--kernel", image("echo"), "--net", f"tap:{tap}", "--netns", ns,
                              "--timeout", "300", "--append",
                              f"ip={GUEST}/24 port=7 limit=2 idle_ms={idle_ms}"])
        try:
            assert guest.wait_for(r"echo: listening on", 120), guest.output[-3000:]
            p = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", ECHO_CLIENTS,
                                GUEST, "7"], capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr[-2000:] + guest.output[-3000:]
            r = json.loads(p.stdout)
            assert r["idle"]["eof"], r  # closed with a FIN: nothing was left unread
            closed_after = r["idle"]["closed_after"]
            assert idle_ms / 1000 - 0.1 <= closed_after <= (idle_ms + SLACK_MS) / 1000, r
            assert r["busy"] == {"got": "ABCDEFGH", "eof": True}, r
            assert guest.wait_for(r"echo: 2 connections", 60), guest.output[-3000:]
        finally:
            out = guest.stop()
    assert out.count(f"echo: client idle for {idle_ms} ms: closed") == 1, out[-3000:]
    assert "echo: 2 connections, 13 bytes echoed, 1 closed idle" in out, out[-3000:]
    print(f"idle client closed after {r['idle']['closed_after']:.3f} s (idle_ms={idle_ms})")


# A client of apps/webserver that connects and sends nothing, timed until
# the server closes it; then a GET, which the server still answers.
WEB_IDLE = r"""
import json, socket, sys, time
guest = sys.argv[1]
s = socket.create_connection((guest, 80), timeout=30)
t0 = time.monotonic()
end = s.recv(16)
closed_after = time.monotonic() - t0
s = socket.create_connection((guest, 80), timeout=30)
s.sendall(b"GET /about.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
head = s.recv(65536).split(b"\r\n", 1)[0].decode()
print(json.dumps({"closed_after": closed_after, "eof": end == b"", "status": head}))
"""


@needs_netns
def test_webserver_closes_a_connection_that_sends_no_request():
    idle_ms = 1500
    with tap_ns(f"{HOST}/24") as (ns, tap):
        guest = ConsoleGuest(["--kernel", image("webserver"), "--module",
                              image("webserver", "site"), "--net", f"tap:{tap}", "--netns", ns,
                              "--timeout", "300", "--append",
                              f"ip={GUEST}/24 limit=2 idle_ms={idle_ms}"])
        try:
            assert guest.wait_for(WEBSERVER_READY, 120), guest.output[-3000:]
            p = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", WEB_IDLE,
                                GUEST], capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr[-2000:] + guest.output[-3000:]
            r = json.loads(p.stdout)
            assert r["eof"] and r["status"] == "HTTP/1.1 200 OK", r
            assert idle_ms / 1000 - 0.1 <= r["closed_after"] <= (idle_ms + SLACK_MS) / 1000, r
            assert guest.wait_for(r"webserver: \d+ requests on 2 connections", 60), \
                guest.output[-3000:]
        finally:
            out = guest.stop()
    assert "panic" not in out.lower(), out[-3000:]
    print(f"connection without a request closed after {r['closed_after']:.3f} s "
          f"(idle_ms={idle_ms})")
