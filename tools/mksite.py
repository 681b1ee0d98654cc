#!/usr/bin/env python3
"""mksite.py - pack a folder into a Zebu site archive for apps/webserver.

Usage: mksite.py [--extra NAME=SIZE ...] DIR OUT

Every regular file under DIR (recursively) becomes one entry, its path
relative to DIR with '/' separators. Entries are sorted bytewise so the
server can binary-search them; each carries its MIME type (from the file
extension, resolved here) and a strong ETag (the first 8 bytes of the
content's SHA-256, in hex). File data is aligned to 64 bytes so the server
sends it straight from the archive's memory. The output depends on nothing
but the file names and contents: the same input gives the same bytes.

--extra NAME=SIZE adds a generated file (benchmarks): NAME is an archive
path, SIZE bytes with an optional K or M suffix (KiB, MiB); the content is a
deterministic text pattern. The format is documented in
apps/webserver/site.h and docs/webserver.md.
"""
import argparse
import hashlib
import os
import re
import stat
import struct
import sys

MAGIC = b"ZEBUSITE"
VERSION = 1
HEADER_SIZE = 64
ENTRY_SIZE = 64
ALIGN = 64
MAX_FILES = 65536
PATH_MAX = 255
MAX_SIZE = 1 << 32  # a multiboot module, and the header's 32-bit offsets

# Bytes a path may use: RFC 3986 unreserved, so no name needs escaping.
PATH_RE = re.compile(r"^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$")

MIME = {
    "html": "text/html; charset=utf-8",
    "htm": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "mjs": "text/javascript; charset=utf-8",
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "xml": "application/xml",
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "ico": "image/x-icon",
    "woff": "font/woff",
    "woff2": "font/woff2",
    "wasm": "application/wasm",
    "pdf": "application/pdf",
    "mp4": "video/mp4",
    "webm": "video/webm",
}
DEFAULT_MIME = "application/octet-stream"


class SiteError(Exception):
    pass


def mime_for(path):
    base = path.rsplit("/", 1)[-1]
    if "." not in base[1:]:
        return DEFAULT_MIME
    return MIME.get(base.rsplit(".", 1)[1].lower(), DEFAULT_MIME)


def check_path(path):
    if len(path.encode("ascii", "replace")) > PATH_MAX:
        raise SiteError(f"{path!r}: path longer than {PATH_MAX} bytes")
    if not PATH_RE.match(path) or any(s in (".", "..") for s in path.split("/")):
        raise SiteError(f"{path!r}: name needs escaping in a URL "
                        "(allowed: letters, digits and . _ ~ -)")


def raise_error(e):
    raise e


def scan(root):
    """Sorted list of (path, bytes) for every regular file under root."""
    if not os.path.exists(root):
        raise SiteError(f"{root}: no such folder")
    if not os.path.isdir(root):
        raise SiteError(f"{root}: not a folder")
    files = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=raise_error):
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                raise SiteError(f"{os.path.join(dirpath, d)}: symlinked folder (not followed)")
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            st = os.stat(full)
            if not stat.S_ISREG(st.st_mode):
                raise SiteError(f"{full}: not a regular file")
            check_path(rel)
            with open(full, "rb") as f:
                files.append((rel, f.read()))
    return files


def parse_size(text):
    m = re.fullmatch(r"([0-9]+)([KkMm]?)", text)
    if m is None:
        raise SiteError(f"bad size {text!r} (expected N, NK or NM)")
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20}[m.group(2).lower()]


def generated(size):
    """size bytes of 64-byte text lines, each naming its own offset."""
    out = bytearray()
    off = 0
    while len(out) < size:
        line = f"{off:016x} zebu webserver benchmark data ".encode()
        out += line + b"." * (63 - len(line)) + b"\n"
        off += 64
    return bytes(out[:size])


def pack(files):
    if not files:
        raise SiteError("the site is empty: no regular files")
    if len(files) > MAX_FILES:
        raise SiteError(f"{len(files)} files: at most {MAX_FILES}")
    files = sorted(files, key=lambda f: f[0].encode())
    for a, b in zip(files, files[1:]):
        if a[0] == b[0]:
            raise SiteError(f"{a[0]!r}: added twice")
    strings = bytearray()
    offsets = {}
    strings_off = HEADER_SIZE + ENTRY_SIZE * len(files)

    def intern(s):
        if s not in offsets:
            offsets[s] = strings_off + len(strings)
            strings.extend(s.encode() + b"\0")
        return offsets[s]

    refs = [(intern(p), intern(mime_for(p))) for p, _ in files]
    data_off = -(-(strings_off + len(strings)) // ALIGN) * ALIGN
    index = bytearray()
    data = bytearray()
    for (path, content), (poff, moff) in zip(files, refs):
        mime = mime_for(path)
        etag = hashlib.sha256(content).hexdigest()[:16].encode() + b"\0"
        index += struct.pack("<IHHIIQQ", poff, len(path), len(mime), moff, 0,
                             data_off + len(data), len(content))
        index += etag + bytes(15)
        data += content
        data += bytes(-len(data) % ALIGN)
    size = data_off + len(data)
    if size >= MAX_SIZE:
        raise SiteError(f"archive of {size} bytes: at most 4 GiB")
    header = MAGIC + struct.pack("<IIQIIII", VERSION, len(files), size, HEADER_SIZE,
                                 strings_off, len(strings), data_off)
    header += bytes(HEADER_SIZE - len(header))
    pad = bytes(data_off - strings_off - len(strings))
    return header + index + strings + pad + data


def main(argv):
    ap = argparse.ArgumentParser(description="Pack a folder into a Zebu site archive.")
    ap.add_argument("--extra", action="append", default=[], metavar="NAME=SIZE",
                    help="add a generated file of SIZE bytes (suffix K or M)")
    ap.add_argument("dir")
    ap.add_argument("out")
    args = ap.parse_args(argv)
    try:
        files = scan(args.dir)
        for spec in args.extra:
            name, sep, size = spec.partition("=")
            if not sep:
                raise SiteError(f"--extra {spec!r}: expected NAME=SIZE")
            check_path(name)
            files.append((name, generated(parse_size(size))))
        image = pack(files)
    except (SiteError, OSError) as e:
        print(f"mksite: {e}", file=sys.stderr)
        return 1
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(image)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
