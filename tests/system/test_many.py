"""Many connections, few threads: tests/apps/httplib with many=1
(zebu_http_serve_many over zebu_poll_*) in a 64 MiB guest, over a plain
tap. 10,000 keep-alive connections from the namespace, all open at once;
each sends a request and gets its answer, twice; the guest's own heap
figure, read while all are open, says what an idle connection costs."""
import json
import subprocess

import pytest

from conftest import image
from netbench import ConsoleGuest, have_root_networking, tap_ns

pytestmark = pytest.mark.skipif(not have_root_networking(),
                                reason="needs root, /dev/net/tun, iproute2")

GUEST, HOST = "10.0.9.2", "10.0.9.1"
READY = r"httplib: serving on http://"
CONNS = 10000
PER_CONN_MAX = 6 * 1024  # issue 14: 10,000 idle keep-alive connections in 64 MiB

# Runs in the namespace: opens N connections (a few hundred connects in
# flight at a time), then sends one request on every one and reads every
# answer, twice, with /stats read between the rounds on a connection of its
# own. Prints one JSON report.
CLIENT = r"""
import json, resource, selectors, socket, sys, time, http.client
host, n = sys.argv[1], int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1000, n + 1000))
sel = selectors.DefaultSelector()
REQ = b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
WANT = b"hello from zebu_http\n"

def stats():
    c = http.client.HTTPConnection(host, 80, timeout=30)
    c.request("GET", "/stats")
    r = c.getresponse()
    data = json.loads(r.read())
    c.close()
    return data

out = {"before": stats()}
socks, pending, t0 = [], 0, time.time()
while len(socks) < n or pending:
    while len(socks) < n and pending < 200:
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((host, 80))
        sel.register(s, selectors.EVENT_WRITE)
        socks.append(s)
        pending += 1
    for key, _ in sel.select(timeout=30):
        err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sys.exit(f"connect failed: {err} after {len(socks)}")
        sel.unregister(key.fileobj)
        pending -= 1
    if time.time() - t0 > 600:
        sys.exit("connecting took too long")
out["connect_s"] = round(time.time() - t0, 1)

def round_trip():
    got = {}
    for s in socks:
        s.sendall(REQ)
        sel.register(s, selectors.EVENT_READ)
        got[s] = b""
    left, ok, deadline = len(socks), 0, time.time() + 600
    while left and time.time() < deadline:
        for key, _ in sel.select(timeout=30):
            s = key.fileobj
            data = s.recv(4096)
            if not data:
                sys.exit("a connection closed")
            got[s] += data
            head, sep, body = got[s].partition(b"\r\n\r\n")
            if sep and len(body) >= len(WANT):
                ok += head.startswith(b"HTTP/1.1 200") and body == WANT
                sel.unregister(s)
                left -= 1
    return ok

t1 = time.time()
out["round1_ok"] = round_trip()
out["round1_s"] = round(time.time() - t1, 1)
out["open"] = stats()
out["round2_ok"] = round_trip()
for s in socks:
    s.close()
print(json.dumps(out))
"""


def test_ten_thousand_keepalive_connections_in_64_mib():
    with tap_ns(f"{HOST}/24") as (ns, tap):
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
                        "net.ipv4.ip_local_port_range=1024 65535"], check=False)
        guest = ConsoleGuest(["--kernel", image("httplib"), "--net", f"tap:{tap}", "--netns", ns,
                              "--mem", "64M", "--timeout", "900", "--append",
                              f"ip={GUEST}/24 many=1 idle_ms=600000 tcp.max_conns=12000"])
        try:
            assert guest.wait_for(READY, 120), guest.output[-3000:]
            p = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", CLIENT, GUEST,
                                str(CONNS)], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=1500)
            assert p.returncode == 0, (p.stderr[-3000:], guest.output[-3000:])
            r = json.loads(p.stdout)
            assert r["round1_ok"] == CONNS and r["round2_ok"] == CONNS, r
            before, held = r["before"], r["open"]
            assert held["total_bytes"] <= 64 << 20, held
            per_conn = (held["heap_in_use"] - before["heap_in_use"]) / CONNS
            print(f"{CONNS} connections: {per_conn:.0f} heap bytes each while open and idle; "
                  f"connect {r['connect_s']} s, first round {r['round1_s']} s; "
                  f"free {held['free_bytes'] >> 20} MiB of {held['total_bytes'] >> 20} MiB")
            assert 0 < per_conn <= PER_CONN_MAX, (per_conn, before, held)
            assert held["connections"] - before["connections"] >= CONNS, held
        finally:
            out = guest.stop()
    assert "panic" not in out.lower(), out[-3000:]
