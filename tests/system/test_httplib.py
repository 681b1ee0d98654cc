"""lib/http (include/zebu_http.h) in a guest: tests/apps/httplib over a
plain tap, against curl and Python's http.client. A JSON echo (with
Expect: 100-continue, and a chunked upload), a streamed response, a
256 KiB body sent by reference, HEAD, 404 and 405, keep-alive, pipelining,
and a slowloris client cut off with 408; the library's counters, read as
JSON from the guest, must agree with what the clients saw."""
import json
import subprocess

import pytest

from conftest import image
from netbench import ConsoleGuest, have_root_networking, tap_ns

pytestmark = pytest.mark.skipif(not have_root_networking(),
                                reason="needs root, /dev/net/tun, iproute2")

GUEST, HOST = "10.0.9.2", "10.0.9.1"
READY = r"httplib: serving on http://"
CURL = ["curl", "-sS", "--max-time", "20"]

# Runs in the namespace: one keep-alive connection through http.client,
# then raw sockets for pipelining and a slowloris; prints one JSON report.
CLIENT = r"""
import http.client, json, socket, sys, time
host = sys.argv[1]
out = {}
c = http.client.HTTPConnection(host, 80, timeout=20)
def req(method, path, body=None, headers={}):
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    return r.status, dict(r.getheaders()), data
s, h, d = req("GET", "/hello")
out["hello"] = [s, d.decode()]
s, h, d = req("POST", "/echo?x=1", body=json.dumps({"name": "caf\u00e9", "n": 41}),
              headers={"Content-Type": "application/json"})
out["echo"] = [s, json.loads(d)]
s, h, d = req("GET", "/stream")
out["stream"] = [s, h.get("Transfer-Encoding"), d.decode().count("\n"), d.decode().splitlines()[-1]]
s, h, d = req("HEAD", "/hello")
out["head"] = [s, h.get("Content-Length"), len(d)]
s, h, d = req("GET", "/big")
out["big"] = [s, len(d), d == bytes((i * 7) & 0xFF for i in range(256 * 1024))]
s, h, d = req("GET", "/nope")
out["nope"] = s
s, h, d = req("DELETE", "/hello")
out["delete"] = [s, h.get("Allow")]
s, h, d = req("PATCH", "/any/x")
out["any"] = [s, d.decode()]
c.close()

# Three pipelined requests in one send: three answers, in order.
p = socket.create_connection((host, 80), timeout=20)
p.sendall(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
          b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n{\"n\": 1}\n"
          b"GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
buf = b""
while True:
    x = p.recv(65536)
    if not x:
        break
    buf += x
out["pipelined"] = buf.count(b"HTTP/1.1 200 OK\r\n")
p.close()

# Slowloris: a byte every half second; the header deadline is 2 s.
t0 = time.time()
q = socket.create_connection((host, 80), timeout=20)
got = b""
try:
    for b in b"GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n":
        q.send(bytes([b]))
        time.sleep(0.5)
        q.setblocking(False)
        try:
            got += q.recv(4096)
        except BlockingIOError:
            pass
        q.setblocking(True)
        if got:
            break
except (BrokenPipeError, ConnectionResetError):
    pass
out["slowloris"] = [got.split(b"\r\n")[0].decode(), round(time.time() - t0, 1)]
# Silent clients: one connects and never sends a byte (closed at the idle
# timeout, no response); one stops in the middle of its header (408 at the
# header timeout). Neither trickles, so only the receive's own deadline can
# end them.
def silent(first):
    q = socket.create_connection((host, 80), timeout=20)
    t0 = time.time()
    if first:
        q.sendall(first)
    got = b""
    try:
        while True:
            b = q.recv(4096)
            if not b:
                break
            got += b
    except (ConnectionResetError, socket.timeout):
        pass
    return [got.split(b"\r\n")[0].decode(), round(time.time() - t0, 1)]
out["silent"] = silent(b"")
out["stalled"] = silent(b"GET /hello HTTP/1.1\r\nHost: a\r\n")
# A body that stops half way: 408 at the body timeout.
out["half_body"] = silent(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n"
                          b"Content-Type: application/json\r\n\r\n{\"name\": \"half")
print(json.dumps(out))
"""


def nsrun(ns, cmd, timeout=300, **kw):
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, **kw)


def guest_stats(ns):
    p = nsrun(ns, CURL + [f"http://{GUEST}/stats"])
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_http_library_against_curl_and_http_client(tmp_path):
    with tap_ns(f"{HOST}/24") as (ns, tap):
        guest = ConsoleGuest(["--kernel", image("httplib"), "--net", f"tap:{tap}", "--netns", ns,
                              "--append", f"ip={GUEST}/24 header_ms=2000 idle_ms=1500 body_ms=2000", "--timeout", "300"])
        try:
            assert guest.wait_for(READY, 120), guest.output[-3000:]
            # curl: 100-continue asked for explicitly, then a chunked upload
            body = json.dumps({"name": "zebu", "n": 1, "pad": "x" * 2000})
            p = nsrun(ns, CURL + ["-H", "Expect: 100-continue", "-H",
                                  "Content-Type: application/json", "--data-binary", body,
                                  "-w", "\n%{http_code}", f"http://{GUEST}/echo?q=1"])
            text, code = p.stdout.rsplit("\n", 1)
            assert code == "200", (p.stdout, p.stderr, guest.output[-2000:])
            echo = json.loads(text)
            assert echo == {"method": "POST", "path": "/echo", "query": "q=1", "tokens": 7,
                            "name": "zebu", "n_plus_1": 2, "chunked": False}, echo
            up = tmp_path / "up.json"
            up.write_text(json.dumps({"name": "chunks", "n": 99}))
            p = nsrun(ns, CURL + ["-X", "PUT", "-H", "Transfer-Encoding: chunked",
                                  "--data-binary", f"@{up}", f"http://{GUEST}/echo"])
            echo = json.loads(p.stdout)
            assert echo["chunked"] is True and echo["n_plus_1"] == 100, echo
            before = guest_stats(ns)

            p = nsrun(ns, ["/usr/bin/python3", "-c", CLIENT, GUEST])
            assert p.returncode == 0, p.stderr[-3000:]
            r = json.loads(p.stdout)
            assert r["hello"] == [200, "hello from zebu_http\n"], r
            assert r["echo"] == [200, {"method": "POST", "path": "/echo", "query": "x=1",
                                       "tokens": 5, "name": "caf\u00e9", "n_plus_1": 42,
                                       "chunked": False}], r
            assert r["stream"] == [200, "chunked", 1000, "line 999"], r
            assert r["head"] == [200, "21", 0], r
            assert r["big"] == [200, 256 * 1024, True], r
            assert r["nope"] == 404 and r["delete"] == [405, "GET, HEAD"], r
            assert r["any"] == [200, "PATCH\n"], r
            assert r["pipelined"] == 3, r
            assert r["slowloris"][0] == "HTTP/1.1 408 Request Timeout", r
            assert 1.5 <= r["slowloris"][1] <= 10, r
            assert r["silent"][0] == "" and 1.2 <= r["silent"][1] <= 8, r
            assert r["stalled"][0] == "HTTP/1.1 408 Request Timeout", r
            assert 1.5 <= r["stalled"][1] <= 10, r
            assert r["half_body"][0] == "HTTP/1.1 408 Request Timeout", r
            assert 1.5 <= r["half_body"][1] <= 10, r

            after = guest_stats(ns)
            # 8 requests on the keep-alive connection, 3 pipelined, 1 timed out
            # and this /stats (the one before was counted in `before`)
            # and the stalled header
            assert after["requests"] - before["requests"] == 8 + 3 + 1 + 1 + 1 + 1, (before, after)
            assert after["timeouts_body"] - before["timeouts_body"] == 1, after
            assert after["timeouts_header"] - before["timeouts_header"] == 2, after
            assert after["timeouts_idle"] - before["timeouts_idle"] >= 1, after
            assert after["responses_4xx"] - before["responses_4xx"] == 5, after  # 404 405 3x408
            assert before["continues_sent"] == 1, before
            assert after["stack_copied_bytes"] == 0, after
            assert after["big_in_flight"] == 0, after
        finally:
            out = guest.stop()
    assert "panic" not in out.lower(), out[-3000:]
