"""apps/webserver end to end: curl and raw sockets against the real image
under QEMU user networking (and over the relay tap for the 1,000-connection
test): every file of the demo site byte for byte, the status codes of
docs/webserver.md, pipelining, many concurrent connections, no heap leak
after many requests, zero copy, and the PVH boot on microvm.

Each test packs its own archive (tools/mksite.py into a temporary folder)
so it does not depend on what build/webserver.site was last packed from."""
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, image
from netbench import WEBSERVER_READY, ConsoleGuest, have_root_networking, relay, webserver_stats

sys.path.insert(0, os.path.join(ROOT, "tools"))
import mksite  # noqa: E402  (for generated(): the bytes of an --extra file)

SITE = os.path.join(ROOT, "apps", "webserver", "site")
EXTRAS = {"bench/4k.bin": 4096, "bench/1m.bin": 1 << 20}
MIME = {".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
        ".json": "application/json", ".svg": "image/svg+xml",
        ".css": "text/css; charset=utf-8", ".bin": "application/octet-stream"}
CURL = ["curl", "-s", "--max-time", "20"]

needs_netns = pytest.mark.skipif(not have_root_networking(),
                                 reason="needs root, /dev/net/tun, iproute2")


def site_files():
    """{url path: bytes} for the demo site folder, as on disk."""
    out = {}
    for dirpath, _, names in os.walk(SITE):
        for n in names:
            full = os.path.join(dirpath, n)
            with open(full, "rb") as f:
                out[os.path.relpath(full, SITE).replace(os.sep, "/")] = f.read()
    assert out, SITE
    return out


def expected_files():
    files = site_files()
    for name, size in EXTRAS.items():
        files[name] = mksite.generated(size)
    return files


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def site_archive(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("site") / "site.bin")
    cmd = ["/usr/bin/python3", os.path.join(ROOT, "tools", "mksite.py")]
    for name, size in EXTRAS.items():
        cmd += ["--extra", f"{name}={size}"]
    subprocess.run(cmd + [SITE, out], check=True)
    return out


class Guest(ConsoleGuest):
    """A webserver guest; a test can wait for a line and show the whole
    console when it fails."""

    def __init__(self, site, append="", net="user", machine=None, timeout=240, mem=None):
        self.port = free_tcp_port() if net == "user" else 80
        self.host = "127.0.0.1" if net == "user" else "10.0.3.2"
        kernel = image("webserver", "pvh" if machine == "microvm" else "elf32")
        args = ["--kernel", kernel, "--module", site, "--net", net, "--append", append,
                "--timeout", str(timeout)]
        if net == "user":
            args += ["--hostfwd", f"tcp:127.0.0.1:{self.port}-:80"]
        if machine:
            args += ["--machine", machine]
        if mem:
            args += ["--mem", mem]
        super().__init__(args)

    def wait_ready(self, seconds=60):
        m = self.wait_for(WEBSERVER_READY, seconds)
        if m:
            return int(m.group(1))
        self.stop()
        pytest.fail("the webserver did not come up:\n" + self.output[-3000:])

    def url(self, path):
        return f"http://{self.host}:{self.port}/{path}"

    def __enter__(self):
        self.wait_ready()
        return self

    def __exit__(self, *exc):
        self.stop()


def curl(*args, timeout=60):
    p = subprocess.run(CURL + list(args), capture_output=True, timeout=timeout)
    assert p.returncode == 0, f"curl {args} exit {p.returncode}: {p.stderr.decode()}"
    return p.stdout.decode("latin-1")


# ---- raw HTTP over sockets ---------------------------------------------------

def read_response(s, buf=b"", head_only=False):
    """One response from s: (status, {lower name: value}, body, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            raise EOFError(f"connection closed inside a response head: {buf[:200]!r}")
        buf += b
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.fullmatch(r"HTTP/1\.1 (\d{3}) .*", lines[0])
    assert m, lines[0]
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = 0 if head_only else int(headers["content-length"])
    while len(buf) < n:
        b = s.recv(65536)
        if not b:
            raise EOFError(f"connection closed after {len(buf)} of {n} body bytes")
        buf += b
    return int(m.group(1)), headers, buf[:n], buf[n:]


def at_eof(s, seconds=10):
    s.settimeout(seconds)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True  # closed with bytes of ours unread: also an end


def exchange(port, data, host="127.0.0.1", head_only=False):
    s = socket.create_connection((host, port), timeout=20)
    try:
        s.sendall(data)
        status, headers, body, _ = read_response(s, head_only=head_only)
        closed = headers.get("connection") == "close" and at_eof(s)
        return status, headers, body, closed
    finally:
        s.close()


# ---- 1. every file, keep-alive and close, HEAD, ETag, Range ------------------

def test_curl_fetches_every_file_byte_identical(site_archive, tmp_path):
    files = expected_files()
    with Guest(site_archive) as g:
        assert g.wait_ready() == len(files)
        del files["bench/1m.bin"]  # over the send buffer: see test_curl_fetches_a_1_mib_file
        names = sorted(files)
        for mode, extra in (("keepalive", []), ("close", ["-H", "Connection: close"])):
            args = list(extra)
            for i, name in enumerate(names):
                args += ["-o", str(tmp_path / f"{mode}{i}"), g.url(name)]
            out = curl("-w", "%{num_connects} %{http_code} %{content_type}\\n", *args)
            rows = [ln.split(" ", 2) for ln in out.splitlines()]
            assert len(rows) == len(names), out
            for (conns, code, ctype), name in zip(rows, names):
                assert code == "200", (name, out)
                assert ctype == MIME[os.path.splitext(name)[1]], (name, ctype)
            connects = sum(int(r[0]) for r in rows)
            # One connection reused for every URL, or one per request.
            assert connects == (1 if mode == "keepalive" else len(names)), (mode, out)
            for i, name in enumerate(names):
                got = (tmp_path / f"{mode}{i}").read_bytes()
                assert got == files[name], f"{name} ({mode}): {len(got)} of {len(files[name])}"
        # GET / is index.html
        assert curl(g.url("")).encode("latin-1") == files["index.html"]

        # HEAD: the same header bytes as GET, no body.
        for name in ("index.html", "logo.svg", "bench/4k.bin"):
            get_head = curl("-D", "-", "-o", "/dev/null", g.url(name))
            head = curl("-I", g.url(name))
            assert head == get_head, (name, head, get_head)
            assert f"Content-Length: {len(files[name])}\r\n" in head, head
        status, headers, body, closed = exchange(g.port, b"HEAD /about.txt HTTP/1.1\r\nHost: x"
                                                 b"\r\nConnection: close\r\n\r\n", head_only=True)
        assert (status, body, closed) == (200, b"", True), headers  # nothing after the head
        assert int(headers["content-length"]) == len(files["about.txt"]), headers

        # ETag + If-None-Match: 304 without a body.
        head = curl("-I", g.url("style.css"))
        etag = re.search(r"ETag: (\"[0-9a-f]{16}\")", head).group(1)
        assert etag.strip('"') == hashlib.sha256(files["style.css"]).hexdigest()[:16]
        out = curl("-D", "-", "-H", f"If-None-Match: {etag}", g.url("style.css"))
        assert out.startswith("HTTP/1.1 304 "), out
        assert f"ETag: {etag}" in out and out.endswith("\r\n\r\n"), out
        out = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", 'If-None-Match: "0000000000000000"',
                   g.url("style.css"))
        assert out == "200", out

        # Range: 206 with the right bytes and Content-Range; a bad one is 416.
        for name in ("index.html", "bench/4k.bin"):
            out = curl("-D", "-", "-H", "Range: bytes=0-9", g.url(name))
            head, _, body = out.partition("\r\n\r\n")
            assert head.startswith("HTTP/1.1 206 "), head
            assert f"Content-Range: bytes 0-9/{len(files[name])}" in head, head
            assert "Content-Length: 10" in head, head
            assert body.encode("latin-1") == files[name][:10]
        out = curl("-D", "-", "-H", "Range: bytes=100000-", g.url("logo.svg"))
        assert out.startswith("HTTP/1.1 416 "), out
        assert f"Content-Range: bytes */{len(files['logo.svg'])}" in out, out
        # The server still serves after all of that.
        assert curl(g.url("info.json")).encode("latin-1") == files["info.json"]


def test_curl_fetches_a_1_mib_file(site_archive, tmp_path):
    with Guest(site_archive) as g:
        out = tmp_path / "1m"
        p = subprocess.run(["curl", "-s", "--max-time", "15", "-o", str(out), "-w",
                            "%{http_code} %{size_download}", g.url("bench/1m.bin")],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, f"curl exit {p.returncode}: got {p.stdout}"
        assert out.read_bytes() == mksite.generated(1 << 20)


# ---- 2. malformed requests over a raw socket ---------------------------------

MALFORMED = [
    # (name, request bytes, status, the connection is closed after it)
    ("missing Host on 1.1", b"GET / HTTP/1.1\r\n\r\n", 400, True),
    ("unknown method", b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 405, True),
    ("garbage request line", b"\x01\x02garbage here\r\nHost: x\r\n\r\n", 400, True),
    ("header block over 16 KiB",
     b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 1000 + b"\r\n" * 1
     + b"".join(b"X-Pad%d: %s\r\n" % (i, b"b" * 1000) for i in range(17)) + b"\r\n", 431, True),
    ("request line over 8 KiB", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     414, True),
    ("body on GET", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 413, True),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, True),
    ("dot-dot path", b"GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400, False),
    ("escaped dot-dot", b"GET /a/%2e%2e/index.html HTTP/1.1\r\nHost: x\r\n\r\n", 400, False),
    ("missing file", b"GET /no-such-file.html HTTP/1.1\r\nHost: x\r\n\r\n", 404, False),
]


def test_malformed_requests_get_their_status_and_the_server_keeps_serving(site_archive):
    files = site_files()
    with Guest(site_archive) as g:
        for name, req, want, closes in MALFORMED:
            status, headers, body, closed = exchange(g.port, req)
            assert status == want, f"{name}: {status} {headers} {body!r}"
            assert body.decode().startswith(str(want)), (name, body)
            assert headers["content-type"].startswith("text/plain"), (name, headers)
            if want == 405:
                assert headers.get("allow") == "GET, HEAD", headers
            if closes:
                assert closed, f"{name}: connection not closed ({headers})"
            else:
                assert headers.get("connection") != "close", (name, headers)
            # and the next request on a fresh connection is served
            status, _, body, _ = exchange(g.port, b"GET /about.txt HTTP/1.1\r\nHost: x\r\n"
                                          b"Connection: close\r\n\r\n")
            assert (status, body) == (200, files["about.txt"]), f"after {name}: {status}"

        # A 400/404 that keeps the connection: the next request on it is served.
        s = socket.create_connection(("127.0.0.1", g.port), timeout=20)
        s.sendall(b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(s)[0] == 404
        s.sendall(b"GET /info.json HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body, _ = read_response(s)
        assert (status, body) == (200, files["info.json"])
        s.close()

        # Pipelining: three requests in one send, three responses in order.
        s = socket.create_connection(("127.0.0.1", g.port), timeout=20)
        order = ["style.css", "about.txt", "logo.svg"]
        s.sendall(b"".join(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % n.encode() for n in order))
        buf = b""
        for n in order:
            status, headers, body, buf = read_response(s, buf)
            assert (status, body) == (200, files[n]), n
        assert buf == b""
        s.close()

        stats = get_stats(g.port)
        for _, _, want, _ in MALFORMED:
            assert stats[f"status_{want}"] >= 1, stats


# ---- 3. 1,000 concurrent connections -----------------------------------------

# Runs in the namespace: opens N connections at once (non-blocking sockets
# and selectors), then sends one GET on each, checks every response, and
# closes them all only at the end. Prints "ok=<n> bad=<n> peak_open=<n>".
MANY_CLIENT = r"""
import hashlib, re, selectors, socket, sys, time, errno
host, port, n, path, want_sha = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
sel = selectors.DefaultSelector()
state = {}
deadline = time.time() + 150
def start(i):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, port))
    state[s] = {"i": i, "phase": "connect", "buf": b"", "tries": 0}
    sel.register(s, selectors.EVENT_WRITE, s)
# At most 32 handshakes in flight (the guest's SYN cache holds 64): a
# dropped SYN costs the client a retransmission timeout of 1, 2, 4... s.
pending = list(range(n))
def refill():
    while pending and sum(1 for v in state.values() if v["phase"] == "connect") < 32:
        start(pending.pop(0))
refill()
req = ("GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode()
ok = bad = 0
t0 = time.time()
t_conn = -1
connected = 0
peak = 0
retries = 0
while ok + bad < n and time.time() < deadline:
    for key, ev in sel.select(1.0):
        s = key.data
        st = state[s]
        if st["phase"] == "connect":
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                # refused or reset (backlog full): try again, as a browser would
                retries += 1
                sel.unregister(s); s.close(); del state[s]
                start(st["i"])
                continue
            connected += 1
            st["phase"] = "wait"
            refill()
            peak = max(peak, connected)
            st["phase"] = "wait"
            sel.modify(s, selectors.EVENT_READ, s)
            if connected == n:  # all open at once: now ask on every one
                t_conn = time.time() - t0
                for t, tst in state.items():
                    t.sendall(req)
                    tst["phase"] = "read"
            continue
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            b = b""
        if st["phase"] == "wait":
            print("early bytes or close on", st["i"], repr(b[:80])); bad += 1
            sel.unregister(s); continue
        st["buf"] += b
        buf = st["buf"]
        m = re.match(rb"HTTP/1\.1 (\d+) [^\r]*\r\n(.*?)\r\n\r\n", buf, re.S)
        if m:
            cl = int(re.search(rb"Content-Length: (\d+)", m.group(2)).group(1))
            body = buf[m.end():]
            if len(body) >= cl:
                good = m.group(1) == b"200" and hashlib.sha256(body[:cl]).hexdigest() == want_sha and len(body) == cl
                ok += good; bad += not good
                sel.unregister(s)
                continue
        if not b:
            print("closed early on", st["i"], repr(buf[:80])); bad += 1
            sel.unregister(s)
print("ok=%d bad=%d peak_open=%d connect_s=%.1f total_s=%.1f retries=%d" % (ok, bad, peak, t_conn, time.time() - t0, retries))
for s in state:
    s.close()
"""


@needs_netns
def test_1000_concurrent_connections_over_the_relay_tap(site_archive):
    # Through the namespace rather than user networking: slirp proxies each
    # connection through the host's own sockets and adds nothing to the test.
    files = site_files()
    n = 1000
    with relay(tap_addr="10.0.3.1/24", seed=1) as (ns, sockdir, log):
        g = Guest(site_archive, append="ip=10.0.3.2/24 gw=10.0.3.1", net=f"relay:{sockdir}")
        try:
            g.wait_ready()
            p = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", MANY_CLIENT,
                                "10.0.3.2", "80", str(n), "about.txt",
                                hashlib.sha256(files["about.txt"]).hexdigest()],
                               capture_output=True, text=True, timeout=200)
            assert p.returncode == 0, p.stderr[-3000:] + g.output[-2000:]
            m = re.search(r"ok=(\d+) bad=(\d+) peak_open=(\d+)", p.stdout)
            assert m, p.stdout[-3000:] + p.stderr[-3000:] + g.output[-2000:]
            assert (int(m.group(1)), int(m.group(2))) == (n, 0), p.stdout[-3000:]
            assert int(m.group(3)) == n
            print(p.stdout.strip().splitlines()[-1])
            stats = get_stats(80, "10.0.3.2", ns=ns)
            assert stats["status_200"] >= n, stats
        finally:
            out = g.stop()
        assert "panic" not in out.lower(), out[-3000:]


# ---- 4. memory: no leak after many requests, zero copy -----------------------

def get_stats(port, host="127.0.0.1", ns=None):
    stats = webserver_stats(host, port, ns=ns, timeout=60)
    assert stats, f"no /_stats from {host}:{port}"
    return stats


def pipelined_load(port, paths, per_conn, conns, files, close_every=0):
    """conns keep-alive connections in parallel threads, each sending per_conn
    requests in pipelined batches; checks every body. Returns requests made."""
    errors = []
    batch = 50

    def worker(k):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            done = 0
            buf = b""
            while done < per_conn:
                m = min(batch, per_conn - done)
                names = [paths[(k + done + j) % len(paths)] for j in range(m)]
                s.sendall(b"".join(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % n.encode()
                                   for n in names))
                for n in names:
                    status, _, body, buf = read_response(s, buf)
                    if status != 200 or body != files[n]:
                        errors.append((n, status, len(body)))
                        return
                done += m
            s.close()
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors[:5]
    return per_conn * conns


def test_heap_returns_to_its_level_after_many_requests_and_nothing_is_copied(site_archive):
    files = site_files()
    files.update({n: mksite.generated(s) for n, s in EXTRAS.items() if s <= 65536})
    paths = sorted(files)
    with Guest(site_archive) as g:
        # A first round warms up whatever is allocated once (ARP, pools).
        # The Connection: close requests come before the baseline: the guest
        # closes those first, so each connection stays in TIME_WAIT (about
        # 1 KiB) for 2 MSL = 60 s; measured after them, they would read as
        # a leak for a minute. Client-closed keep-alive connections leave
        # nothing behind in the guest.
        pipelined_load(g.port, paths, 200, 2, files)
        for _ in range(50):
            status, _, body, closed = exchange(
                g.port, b"GET /info.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert (status, body, closed) == (200, files["info.json"], True)
        before = get_stats(g.port)
        t0 = time.time()
        # 100,000 requests on 8 keep-alive connections, pipelined in batches
        # of 50: about 5 s under TCG.
        n = pipelined_load(g.port, paths, 12500, 8, files)
        elapsed = time.time() - t0
        deadline = time.time() + 30
        while True:
            after = get_stats(g.port)
            if after["connections_open"] == 1 or time.time() > deadline:
                break
            time.sleep(0.5)
        assert after["connections_open"] == 1, after
        assert after["requests"] >= before["requests"] + n, (before, after)
        assert abs(after["heap_in_use"] - before["heap_in_use"]) <= 16 * 1024, \
            f"heap {before['heap_in_use']} -> {after['heap_in_use']} after {n} requests " \
            f"in {elapsed:.1f} s"
        assert after["stack_copied_bytes"] == 0, after  # bodies went out by reference
        assert after["body_bytes"] > before["body_bytes"] + 1_000_000, after


def test_many_sequential_connection_close_requests(site_archive):
    # 900: under the guest's 1,024 TCP connection slots, which TIME_WAIT
    # (60 s, the server closes first) keeps taken.
    files = site_files()
    with Guest(site_archive) as g:
        for i in range(900):
            s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
            try:
                s.sendall(b"GET /info.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                status, _, body, _ = read_response(s)
                assert (status, body) == (200, files["info.json"]), i
                assert at_eof(s, 10), i
            except OSError as e:
                pytest.fail(f"request {i}: {e!r}")
            finally:
                s.close()


# ---- 4b. small memory ------------------------------------------------------

@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory):
    """The demo site alone, as `make run` packs it (no large bench files)."""
    out = str(tmp_path_factory.mktemp("demo") / "site.bin")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "mksite.py"), SITE, out],
                   check=True)
    return out


@pytest.mark.parametrize("mib,concurrent", [(2, 4), (3, 16)])
def test_serves_the_demo_site_in_little_memory(demo_archive, mib, concurrent):
    """The documented floor (docs/webserver.md): in -m 2M (QEMU's least)
    and 3M the server boots, serves every demo file byte-identical and
    4 / 16 concurrent connections. Past what memory holds, a connection is
    reset and counted (connections_refused) or closed unanswered, never
    answered wrong, and the server keeps serving."""
    files = site_files()
    with Guest(demo_archive, mem=f"{mib}M") as g:
        for name, want in files.items():
            status, _, body, _ = exchange(g.port, f"GET /{name} HTTP/1.1\r\nHost: x\r\n\r\n"
                                          .encode())
            assert (status, body) == (200, want), name

        def burst(n, timeout=5):
            socks = [socket.create_connection(("127.0.0.1", g.port), timeout=5)
                     for _ in range(n)]
            for s in socks:
                s.settimeout(timeout)
            served = 0
            try:
                for s in socks:
                    try:
                        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    except OSError:
                        pass  # already reset
                for s in socks:
                    try:
                        status, _, body, _ = read_response(s)
                    except (OSError, EOFError):
                        continue
                    assert (status, body) == (200, files["index.html"])
                    served += 1
            finally:
                for s in socks:
                    s.close()
            return served

        assert burst(concurrent) == concurrent
        # 64 at once need more than 3 MiB (a connection's thread is a 32 KiB
        # block): some are refused. Those served are served right.
        before = get_stats(g.port)["connections_refused"]
        served = burst(64, timeout=1)
        refused = get_stats(g.port)["connections_refused"] - before
        assert refused > 0 and served > 0, (served, refused)
        status, _, body, _ = exchange(g.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (status, body) == (200, files["index.html"])
    m = re.search(r"(\d+) MiB usable", g.output)
    assert m and int(m.group(1)) <= mib, g.output[:500]  # really that small


# ---- 4c. memory pressure: refused and counted, never stalled ----------------

# What the guest counts when memory runs out (docs/webserver.md): every
# connection it resets and every SYN or frame it drops for want of memory.
NOMEM_REFUSALS = ("connections_refused", "connections_reset_nomem", "accept_reset_nomem",
                  "syn_dropped_nomem", "syn_dropped_queue_full", "rx_dropped_nomem",
                  "tx_dropped_nomem")
WRK_MIX = [("keep-alive 4 KiB", "bench/4k.bin", []),
           ("keep-alive 64 KiB", "bench/64k.bin", []),
           ("Connection: close", "bench/4k.bin", ["-H", "Connection: close"])]
WRK_SECONDS, WRK_CONNECTIONS = 2, 16


@pytest.fixture(scope="module")
def mix_archive(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("mix") / "site.bin")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "mksite.py"), "--extra",
                    "bench/4k.bin=4K", "--extra", "bench/64k.bin=64K", SITE, out], check=True)
    return out


def wrk_failures(ns, url, headers):
    """wrk -c16 for WRK_SECONDS inside ns: (responses, socket errors + non-2xx)."""
    cmd = ["ip", "netns", "exec", ns, "wrk", "-t1", f"-c{WRK_CONNECTIONS}",
           f"-d{WRK_SECONDS}s", "--timeout", "5s", *headers, url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=WRK_SECONDS + 30)
    assert p.returncode == 0, p.stdout + p.stderr
    done = int(re.search(r"(\d+) requests in", p.stdout).group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                  p.stdout)
    errors = sum(map(int, m.groups())) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", p.stdout)
    return done, errors + (int(m.group(1)) if m else 0)


def served_again(ns, host, want, seconds=20):
    """A plain GET / answered right within `seconds`, retried once a second:
    the guest serves again once the load is gone. Returns the wait."""
    t0 = time.time()
    while True:
        p = subprocess.run(["ip", "netns", "exec", ns, "curl", "-s", "--max-time", "3",
                            f"http://{host}/"], capture_output=True, timeout=10)
        if p.returncode == 0 and p.stdout == want:
            return time.time() - t0
        assert time.time() - t0 < seconds, f"not serving {seconds} s after the load"
        time.sleep(1)


def refusals(stats):
    missing = [k for k in NOMEM_REFUSALS if k not in stats]
    assert not missing, f"/_stats lacks {missing}"
    return sum(stats[k] for k in NOMEM_REFUSALS)


def mix_at(archive, mib, index):
    """The wrk mix against a guest in `mib` MiB; returns [(name, responses,
    wrk failures, guest refusals)] after checking that each failure was
    counted and that the guest serves after each run."""
    rows = []
    with relay(tap_addr="10.0.3.1/24", seed=1) as (ns, sockdir, _log):
        g = Guest(archive, append="ip=10.0.3.2/24 gw=10.0.3.1", net=f"relay:{sockdir}",
                  mem=f"{mib}M", timeout=180)
        try:
            g.wait_ready()
            before = get_stats(80, "10.0.3.2", ns=ns)
            for name, path, headers in WRK_MIX:
                done, failed = wrk_failures(ns, f"http://10.0.3.2/{path}", headers)
                served_again(ns, "10.0.3.2", index)
                after = get_stats(80, "10.0.3.2", ns=ns)
                counted = refusals(after) - refusals(before)
                rows.append((name, done, failed, counted))
                # No uncounted failure: each reset or stall wrk saw is one
                # the guest counted (a counted SYN drop may cost wrk nothing).
                assert failed <= counted, \
                    f"{mib} MiB, {name}: wrk saw {failed} failures, the guest counted " \
                    f"{counted}: {after}\n" + g.output[-2000:]
                assert done > 0, f"{mib} MiB, {name}: nothing served"
                before = after
        finally:
            out = g.stop()
    assert "panic" not in out.lower(), out[-3000:]
    return rows


@needs_netns
@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk")
def test_memory_pressure_is_refused_counted_and_recovered(mix_archive):
    """The issue's sweep, kept short: keep-alive 4 KiB, 64 KiB and
    Connection: close (wrk, 16 connections, 2 s each) against the guest in
    2 to 5 MiB. Every failure wrk sees is matched by a refusal the guest
    counted (/_stats), the guest serves again within a bounded wait after
    each run, and the smallest size where wrk saw no failure is reported."""
    index = site_files()["index.html"]
    clean = []
    for mib in (2, 3, 4, 5):
        rows = mix_at(mix_archive, mib, index)
        for name, done, failed, counted in rows:
            print(f"{mib} MiB {name}: {done} responses, {failed} failures, "
                  f"{counted} counted refusals")
        if all(failed == 0 for _, _, failed, _ in rows):
            clean.append(mib)
    assert clean, "every size tried saw failures"
    print(f"smallest size with no failure: {min(clean)} MiB")


def test_memory_refusals_show_in_the_exit_dump(demo_archive):
    """In -m 2M (a few thread stacks fit) a burst of connections is partly
    refused; net.stats=1 then prints the refusals when the server exits
    (limit=): the app's line and the kernel's memory line."""
    with Guest(demo_archive, mem="2M", append="limit=40 net.stats=1") as g:
        deadline = time.time() + 60
        while g.proc.poll() is None and time.time() < deadline:
            socks = []
            for _ in range(24):
                try:
                    socks.append(socket.create_connection(("127.0.0.1", g.port), timeout=2))
                except OSError:
                    break
            for s in socks:
                try:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    s.settimeout(2)
                    s.recv(65536)
                except OSError:
                    pass  # refused: reset
            for s in socks:
                s.close()
        assert g.wait_for(r"memory: accepted connections reset", 20), g.output[-3000:]
    m = re.search(r"webserver: \d+ requests on \d+ connections; for want of memory (\d+) "
                  r"connections refused, (\d+) reset", g.output)
    assert m, g.output[-3000:]
    assert int(m.group(1)) > 0, g.output[-3000:]
    m = re.search(r"allocation failures: heap \d+, pages (\d+)", g.output)
    assert m and int(m.group(1)) >= 1, g.output[-3000:]


# ---- 5. PVH boot on microvm (virtio-mmio networking) -------------------------

def test_microvm_pvh_boot_serves_the_index(site_archive):
    files = site_files()
    with Guest(site_archive, machine="microvm") as g:
        out = curl(g.url(""))
        assert out.encode("latin-1") == files["index.html"]
        out = curl("-o", "/dev/null", "-w", "%{http_code}", g.url("no-such-page"))
        assert out == "404"
    assert "booted via pvh" in g.output, g.output[:2000]
