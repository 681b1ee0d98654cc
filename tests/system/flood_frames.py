#!/usr/bin/env python3
"""Sends malformed Ethernet frames out of a tap (run inside the test's
namespace): garbage, bad IPv4 checksums and lengths, truncated headers, bad
UDP checksums, ARP garbage. Usage: flood_frames.py IFACE DST_MAC COUNT SEED"""
import random
import socket
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src, dst, proto, payload, ihl=5, total=None, bad_csum=False):
    total = total if total is not None else 20 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    c = csum(h) ^ (0x1234 if bad_csum else 0)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def main():
    ifname, dst_mac, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    dst = bytes.fromhex(dst_mac.replace(":", ""))
    src = s.getsockname()[4]
    eth_ip = dst + src + b"\x08\x00"
    eth_arp = dst + src + b"\x08\x06"
    udp = struct.pack("!HHHH", 1234, 7, 16, 0xBEEF) + b"payload!"
    kinds = [
        lambda: dst + src + bytes(rng.randrange(256) for _ in range(rng.randint(0, 80))),
        lambda: eth_ip + ip4("10.0.3.1", "10.0.3.2", 17, udp, bad_csum=True),
        lambda: eth_ip + ip4("10.0.3.1", "10.0.3.2", 17, udp, total=1400),
        lambda: eth_ip + ip4("10.0.3.1", "10.0.3.2", 17, udp, ihl=3),
        lambda: eth_ip + ip4("10.0.3.1", "10.0.3.2", 17, udp)[:rng.randint(1, 19)],
        lambda: eth_ip + ip4("10.0.3.1", "10.0.3.2", 17, udp),  # bad UDP checksum
        lambda: eth_ip + ip4("10.0.3.1", "10.0.3.2", 1, b"\x08\x00" + bytes(6))[:28],
        lambda: eth_arp + bytes(rng.randrange(256) for _ in range(rng.randint(0, 40))),
        lambda: eth_arp + struct.pack("!HHBBH", 1, 0x800, 9, 4, 1) + bytes(20),
    ]
    sent = 0
    for _ in range(count):
        frame = rng.choice(kinds)()
        if len(frame) < 14:
            continue
        s.send(frame)
        sent += 1
    print(sent)


if __name__ == "__main__":
    main()
