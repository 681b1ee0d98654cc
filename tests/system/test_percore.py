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
from test_tcp import echo_clients, finish
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
        proc = subprocess.Popen(
            ["tools/zebu-run", "--smp", "2", "--kernel", image("echo"), "--net", f"tap:{tap}",
             "--netns", ns, "--append", f"ip={GUEST}/24 limit={clients} net.stats=1",
             "--timeout", "600"], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
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
