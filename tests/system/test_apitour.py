"""Every function of include/zebu.h, called at least once by a guest app
(tests/apps/apitour) that checks what each returns. The list of functions
comes from zebu.h itself, so a function added there without a call in the
tour fails this test."""
import re
import socket
import socketserver
import subprocess
import threading
import time

from conftest import LAUNCHER, ROOT, image, kill_group
from test_deploy import free_port


def api_functions():
    """The names of the functions include/zebu.h declares."""
    with open(f"{ROOT}/include/zebu.h") as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    names = set()
    for decl in re.findall(r"^[^#\n][^;{}]*?\b(zebu_\w+)\s*\([^;{}]*\)[^;{}]*;", text, flags=re.M):
        names.add(decl)
    return names


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(4096)
            if not data:
                break
            self.request.sendall(data)


class UdpEcho(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data, self.client_address)


def test_the_tour_calls_every_function_of_zebu_h(tmp_path):
    names = api_functions()
    assert len(names) > 60, names  # the parse found the API
    tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    udp = socketserver.UDPServer(("127.0.0.1", 0), UdpEcho)
    for srv in (tcp, udp):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    module = tmp_path / "tour.bin"
    module.write_bytes(b"apitour module\n")
    fwd, fwd2 = free_port(), free_port()
    proc = subprocess.Popen([LAUNCHER, "--kernel", image("apitour"), "--smp", "2", "--net",
                             "user", "--hostfwd", f"tcp:127.0.0.1:{fwd}-:7000",
                             "--hostfwd", f"tcp:127.0.0.1:{fwd2}-:7001",
                             "--module", str(module), "--timeout", "240", "--append",
                             f"tport={tcp.server_address[1]} uport={udp.server_address[1]}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = b""
    try:
        # Wait for "tour: listening", then connect through the forward;
        # then for "tour: serving" (zebu_tcp_serve), and once more.
        echoes = []
        for line_wanted, port, data in ((b"tour: listening", fwd, b"tour"),
                                        (b"tour: serving", fwd2, b"serve")):
            deadline = time.time() + 180
            while line_wanted not in out and time.time() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                out += line
            assert line_wanted in out, out.decode(errors="replace")[-3000:]
            c = socket.create_connection(("127.0.0.1", port), timeout=30)
            c.sendall(data)
            echoes.append(c.recv(16))
            c.close()
        echoed = echoes[0]
        assert echoes[1] == b"serve", echoes
        out += proc.communicate(timeout=180)[0]
    finally:
        kill_group(proc)
        tcp.shutdown()
        udp.shutdown()
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")
    assert echoed == b"tour", (echoed, text[-3000:])
    assert "tour: FAIL" not in text, text[-4000:]
    ok = set(re.findall(r"^tour: ok (zebu_\w+)", text, flags=re.M))
    assert not names - ok, f"not called or not checked: {sorted(names - ok)}\n{text[-3000:]}"
    assert "tour: done, 0 failures" in text, text[-3000:]
    assert proc.returncode == 0, text[-3000:]  # zebu_exit(0)
