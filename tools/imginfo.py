#!/usr/bin/env python3
"""tools/imginfo.py — print what a Zebu boot image loads.

Usage: imginfo.py IMAGE [--json]

Reads the ELF program headers (32- or 64-bit) and prints the bytes loaded
from the file, the zeroed memory (bss) after them, and the file size.
"""
import json
import os
import struct
import sys


def load_segments(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        sys.exit(f"imginfo: {path} is not an ELF file")
    is64 = data[4] == 2
    if is64:
        phoff, = struct.unpack_from("<Q", data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    else:
        phoff, = struct.unpack_from("<I", data, 0x1C)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x2A)
    segs = []
    for i in range(phnum):
        off = phoff + i * phentsize
        if is64:
            ptype, _flags, _o, vaddr, _p, filesz, memsz = struct.unpack_from("<IIQQQQQ", data, off)
        else:
            ptype, _o, vaddr, _p, filesz, memsz = struct.unpack_from("<IIIIII", data, off)
        if ptype == 1:
            segs.append((vaddr, filesz, memsz))
    return segs, len(data)


def info(path):
    segs, file_size = load_segments(path)
    loaded = sum(s[1] for s in segs)
    zeroed = sum(s[2] - s[1] for s in segs)
    return {"image": path, "loaded_bytes": loaded, "bss_bytes": zeroed,
            "memory_bytes": loaded + zeroed, "file_bytes": file_size}


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: imginfo.py IMAGE [--json]")
    i = info(sys.argv[1])
    if "--json" in sys.argv[2:]:
        print(json.dumps(i))
        return
    print(f"  IMAGE   {i['image']}: {i['loaded_bytes'] / 1024:.1f} KiB loaded "
          f"+ {i['bss_bytes'] / 1024:.1f} KiB zeroed (bss); file {i['file_bytes'] / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
