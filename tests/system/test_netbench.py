"""The fault-injecting wire: guest <-> tools/netrelay <-> tap in a namespace
with the real Linux stack. Uses the virtio-net self-test (an ARP request for
10.0.2.2) until the network stack answers for itself."""
import json
import re
import subprocess

import pytest

from conftest import boot
from netbench import have_root_networking, netns_exec, relay

pytestmark = pytest.mark.skipif(not have_root_networking(),
                                reason="needs root, /dev/net/tun and iproute2")


def tap_mac(ns):
    out = netns_exec(ns, ["ip", "-o", "link", "show", "ztap0"], capture_output=True,
                     text=True, check=True).stdout
    return re.search(r"link/ether ([0-9a-f:]{17})", out)[1]


def test_linux_in_the_namespace_answers_through_the_relay():
    with relay(tap_addr="10.0.2.2/24") as (ns, sockdir, log):
        b = boot("ktest", append="selftest=vnet", extra=["--net", f"relay:{sockdir}"])
        mac = tap_mac(ns)
        assert b.status == 0, b.output
        assert f"ARP reply from 10.0.2.2 is-at {mac}" in b.output, b.output
        # Linux learned the guest's address from the request.
        neigh = netns_exec(ns, ["ip", "neigh", "show", "10.0.2.15"], capture_output=True,
                           text=True).stdout
        assert "52:54:00:12:34:56" in neigh
        with open(log) as f:
            lines = f.read().splitlines()
    assert any(l.startswith("out 1 ") and l.split()[3] == "pass" for l in lines), lines
    assert any(l.startswith("in ") for l in lines)


def test_total_loss_is_injected_and_logged():
    with relay(tap_addr="10.0.2.2/24", drop=1.0, seed=7) as (ns, sockdir, log):
        b = boot("ktest", append="selftest=vnet", extra=["--net", f"relay:{sockdir}"])
        assert "no ARP reply from 10.0.2.2" in b.output, b.output
        with open(log) as f:
            text = f.read()
    assert "seed=7" in text
    drops = [l for l in text.splitlines() if l.startswith("out ") and l.split()[3] == "drop"]
    assert len(drops) == 3  # the self-test's three tries


def load_relay():
    import importlib.machinery
    import importlib.util
    import os
    from conftest import ROOT
    path = os.path.join(ROOT, "tools", "netrelay")
    loader = importlib.machinery.SourceFileLoader("netrelay", path)
    spec = importlib.util.spec_from_loader("netrelay", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def decide(mod, seed, frames):
    import io
    import types
    args = types.SimpleNamespace(seed=seed, drop=0.2, dup=0.1, reorder=0.1, corrupt=0.1,
                                 delay_ms=0)
    log, sent = io.StringIO(), []
    f = mod.Faults(args, log)
    for i, frame in enumerate(frames):
        f.apply("out" if i % 3 else "in", frame, sent.append)
    return log.getvalue(), sent, f.stats


def test_same_seed_same_decisions_and_faults_as_asked():
    mod = load_relay()
    frames = [bytes([i % 256]) * 60 for i in range(2000)]
    log1, sent1, stats = decide(mod, 5, frames)
    log2, sent2, _ = decide(mod, 5, frames)
    assert log1 == log2 and sent1 == sent2  # replayable
    log3, _, _ = decide(mod, 6, frames)
    assert log3 != log1
    n = stats["frames"]
    assert n == 2000
    # Each fault near its probability (binomial; generous bounds).
    assert 300 <= stats["dropped"] <= 500
    for k in ("duplicated", "reordered", "corrupted"):
        assert 80 <= stats[k] <= 240, (k, stats)
    corrupted = [l for l in log1.splitlines() if "corrupt@" in l]
    assert all(int(l.split("corrupt@")[1].split()[0]) >= 14 for l in corrupted)


def test_relay_refuses_a_bad_probability():
    p = subprocess.run(["tools/netrelay", "--netns", "x", "--tap-addr", "10.0.0.1/24",
                        "--sock", "/tmp", "--drop", "1.5"], capture_output=True, text=True)
    assert p.returncode == 2 and "--drop: 1.5 is not a probability" in p.stderr


def test_bench_net_runs_end_to_end_and_reports_guest_cycles():
    p = subprocess.run(["/usr/bin/python3", "tools/bench-net.py", "--seconds", "1", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads(p.stdout)
    for target in ("reflector", "zebu"):
        assert r[target]["udp_echoed"] > 0 and r[target]["ping_ms"]["avg"] > 0, r
    z = r["zebu"]
    assert z["guest_echoed"] >= z["udp_echoed"]  # the guest saw at least what came back
    assert z["cycles_per_datagram"] > 0 and z["tsc_khz"] > 0
