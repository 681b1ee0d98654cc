#!/usr/bin/env python3
"""tools/bench-net.py — UDP packets/s, ping round-trip time and guest cycles
per packet, through the test bench's tap (tools/netrelay) in a namespace.

Method. One namespace with a tap behind tools/netrelay (no faults). The
client runs in the namespace: `ping -i 0.01` for the round-trip time, then
a UDP echo loop that keeps WINDOW datagrams of SIZE bytes in flight for
SECONDS and counts the echoes. The same client measures two targets in the
same run:
  reflector  a tiny Python program on the relay's far socket, in place of
             QEMU, that answers ARP, ping and UDP echo by swapping headers:
             the ceiling of the bench itself (relay + tap + client);
  zebu       apps/udp-echo under QEMU (TCG here), stats_port=9: the guest
             reports its counters and the busy (not halted) TSC cycles of
             core 0 before and after the UDP run, so cycles per echoed
             datagram (receive + transmit + the app) come from the guest.
Figures are ratios against the reflector from the same run; the machine is
shared and noisy, so only same-run ratios mean much. Under TCG the guest
TSC advances with host time, so "cycles" are guest-visible TSC ticks, not
instructions retired.

    tools/bench-net.py [--seconds 5] [--size 64] [--window 32] [--json]
Needs root (namespaces, tap). Writes nothing but its report.
"""
import argparse
import json
import os
import platform
import select
import socket
import struct
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from netbench import relay  # noqa: E402  (the test bench's namespace + relay)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zebu_accel  # noqa: E402  (the launcher's accelerator choice)

GUEST_IP, HOST_IP = "10.0.3.2", "10.0.3.1"
GUEST_MAC = bytes.fromhex("525400123456")

CLIENT = r"""
import json, re, select, socket, subprocess, sys, time
seconds, size, window, stats = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
guest = ("10.0.3.2", 7)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.3.1", 0))
end = time.time() + 120
while time.time() < end:
    s.sendto(b"probe", guest)
    if select.select([s], [], [], 0.5)[0]:
        s.recv(4096)
        break
else:
    sys.exit("no echo from the target")
def query():
    q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(20):
        q.sendto(b"stats", ("10.0.3.2", 9))
        if select.select([q], [], [], 0.5)[0]:
            return dict(kv.split("=") for kv in q.recv(512).decode().split())
    sys.exit("no answer on the stats port")
p = subprocess.run(["ping", "-q", "-c", "300", "-i", "0.01", "-W", "1", "10.0.3.2"],
                   capture_output=True, text=True)
m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", p.stdout)
res = {"ping_ms": dict(zip(("min", "avg", "max", "mdev"), map(float, m.groups()))) if m else None}
before = query() if stats else None
msg = b"x" * size
s.setblocking(False)
sent = got = 0
t0 = time.time()
stop = t0 + seconds
last_rx = t0
while time.time() < stop:
    while sent - got < window:
        s.sendto(msg, guest); sent += 1
    if select.select([s], [], [], 0.2)[0]:
        while True:
            try:
                s.recv(4096); got += 1; last_rx = time.time()
            except BlockingIOError:
                break
    elif time.time() - last_rx > 0.2:
        sent = got  # the window's datagrams were lost: refill it
elapsed = time.time() - t0
time.sleep(0.3)
after = query() if stats else None
res.update(udp_pps=got / elapsed, udp_sent=sent, udp_echoed=got, seconds=elapsed)
if stats:
    busy = int(after["busy_cycles"]) - int(before["busy_cycles"])
    echoed = int(after["echoed"]) - int(before["echoed"])
    res.update(guest_echoed=echoed, guest_busy_cycles=busy, tsc_khz=int(after["tsc_khz"]),
               cycles_per_datagram=busy / echoed if echoed else None,
               copied_bytes=int(after["copied_bytes"]))
print(json.dumps(res))
"""


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def reflect(frame):
    """The reply a minimal echo host at GUEST_IP would send, or None."""
    if len(frame) < 42:
        return None
    etype = frame[12:14]
    if etype == b"\x08\x06" and frame[20:22] == b"\x00\x01" and \
            frame[38:42] == socket.inet_aton(GUEST_IP):
        return (frame[6:12] + GUEST_MAC + frame[12:20] + b"\x00\x02" + GUEST_MAC +
                frame[38:42] + frame[22:28] + frame[28:32])
    if etype != b"\x08\x00" or frame[30:34] != socket.inet_aton(GUEST_IP):
        return None
    ihl = (frame[14] & 15) * 4
    ip = frame[14:14 + ihl]
    ip = ip[:12] + ip[16:20] + ip[12:16] + ip[20:]  # swap addresses: sum unchanged
    l4 = frame[14 + ihl:]
    if frame[23] == 1 and l4[:1] == b"\x08":
        body = b"\x00\x00\x00\x00" + l4[4:]
        c = csum(body)
        l4 = b"\x00\x00" + struct.pack("!H", c) + l4[4:]
    elif frame[23] == 17 and l4[2:4] == b"\x00\x07":
        l4 = l4[2:4] + l4[0:2] + l4[4:]  # swap ports: sum unchanged
    else:
        return None
    return frame[6:12] + GUEST_MAC + frame[12:14] + ip + l4


def run_reflector(sockdir, stop):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = os.path.join(sockdir, "qemu.sock")
    s.bind(path)
    try:
        while not stop.is_set():
            if not select.select([s], [], [], 0.2)[0]:
                continue
            reply = reflect(s.recv(65536))
            if reply is not None:
                s.sendto(reply, os.path.join(sockdir, "relay.sock"))
    finally:
        s.close()
        os.unlink(path)


def client(ns, a, stats):
    p = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", CLIENT, str(a.seconds),
                        str(a.size), str(a.window), "1" if stats else "0"],
                       capture_output=True, text=True, timeout=a.seconds + 240)
    if p.returncode != 0:
        sys.exit(f"bench-net: client failed: {p.stderr.strip()[-500:]}")
    return json.loads(p.stdout)


def measure_reflector(a):
    with relay(tap_addr=f"{HOST_IP}/24") as (ns, sockdir, _log):
        stop = threading.Event()
        t = threading.Thread(target=run_reflector, args=(sockdir, stop), daemon=True)
        t.start()
        try:
            return client(ns, a, stats=False)
        finally:
            stop.set()
            t.join()


def measure_zebu(a):
    image = os.path.join(ROOT, "build", "udp-echo.elf32")
    with relay(tap_addr=f"{HOST_IP}/24") as (ns, sockdir, _log):
        proc = subprocess.Popen([os.path.join(ROOT, "tools", "zebu-run"), "--kernel", image,
                                 "--net", f"relay:{sockdir}", "--append",
                                 f"ip={GUEST_IP}/24 gw={HOST_IP} stats_port=9",
                                 "--timeout", str(int(a.seconds) + 300)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            return client(ns, a, stats=True)
        finally:
            proc.terminate()
            proc.wait()


def accel():
    return zebu_accel.accel_name()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="length of the UDP run")
    ap.add_argument("--size", type=int, default=64, help="UDP payload bytes")
    ap.add_argument("--window", type=int, default=32, help="datagrams in flight")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-net: needs root (network namespaces and a tap device)")
    if not 1 <= a.size <= 1472:
        ap.error(f"--size: {a.size} is not 1..1472")
    if not os.path.exists(os.path.join(ROOT, "build", "udp-echo.elf32")):
        sys.exit("bench-net: build/udp-echo.elf32 is missing: run make APP=udp-echo image")
    base = measure_reflector(a)
    zebu = measure_zebu(a)
    host = f"{platform.node()} {os.cpu_count()} CPUs, QEMU accel {accel()}"
    if a.json:
        print(json.dumps({"host": host, "reflector": base, "zebu": zebu}, indent=2))
        return
    print(f"# bench-net: {host}; {a.size}-byte UDP payloads, window {a.window}, "
          f"{a.seconds:.0f} s each")
    print(f"{'target':<10} {'UDP echo/s':>11} {'ratio':>6} {'ping avg ms':>12} "
          f"{'ping min ms':>12} {'cycles/dgram':>13}")
    for name, r in (("reflector", base), ("zebu", zebu)):
        ping = r["ping_ms"] or {"avg": float("nan"), "min": float("nan")}
        cyc = r.get("cycles_per_datagram")
        print(f"{name:<10} {r['udp_pps']:>11.0f} {r['udp_pps'] / base['udp_pps']:>6.2f} "
              f"{ping['avg']:>12.3f} {ping['min']:>12.3f} "
              f"{(f'{cyc:.0f}' if cyc else '-'):>13}")
    print(f"guest: {zebu['guest_echoed']} datagrams echoed, {zebu['copied_bytes']} payload "
          f"bytes copied, TSC {zebu['tsc_khz']} kHz")


if __name__ == "__main__":
    main()
