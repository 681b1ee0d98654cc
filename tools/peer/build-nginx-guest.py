#!/usr/bin/env python3
"""tools/peer/build-nginx-guest.py — the peer guest of tools/bench-peer.py:
Debian's Linux 6.1 kernel and an initramfs that runs Debian's nginx 1.22.

Everything comes from Debian's archive, through its own clients:
  kernel   linux-image-6.1.*-amd64 (the one linux-image-amd64 points to),
           fetched with 'apt-get download' and unpacked with 'dpkg-deb -x'
           into build/peer/cache: no kernel is installed on this host;
  nginx    Debian's nginx package, the same way; its shared libraries are the
           ones 'ldd' finds on this host (Debian 12's libc6, libssl3, ...);
  busybox  busybox-static, installed on the host (tools/deps.sh bench): the
           guest's shell, mount, insmod and ip;
  cpio     to write the initramfs (newc, gzip).
The kernel modules virtio-net needs on a PCI bus are added when that
kernel's config builds them as modules (Debian's does: virtio, virtio_ring,
virtio_pci and its two helpers, failover, net_failover, virtio_net), in
dependency order read from each module's .modinfo.

Output (rebuilt only when missing, or with --force; the .debs stay in
build/peer/cache/debs, so a rebuild downloads nothing):
  build/peer/vmlinuz                 the kernel
  build/peer/initramfs.cpio.gz       /init, busybox, nginx and its libraries,
                                     the modules; no site (the bench appends
                                     one, a second gzip'd cpio, so that nginx
                                     serves the very files Zebu serves)
  build/peer/versions.json           package versions, for the bench's header
The guest's /init (see INIT below) mounts proc, sys and dev, loads the
modules, gives eth0 the address in 'peer.ip=A.B.C.D/N' from the kernel
command line, writes /etc/nginx/nginx.conf and execs nginx in the
foreground, serving /srv/www.

    tools/peer/build-nginx-guest.py [--force] [--out build/peer]
Exits 1 with the name of the missing Debian package when something is
missing.
"""
import argparse
import glob
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(ROOT, "build", "peer")
KERNEL_META = "linux-image-amd64"
KERNEL_RE = re.compile(r"^linux-image-(6\.1\.\d+-\d+-amd64)$")
NGINX_PKG = "nginx"
BUSYBOX = "/bin/busybox"
# What virtio-net on PCI needs; dependencies are found from .modinfo.
WANTED_MODULES = ("virtio_pci", "virtio_net")
# Debian packages of the libraries nginx links, to name in an error.
LIB_PACKAGES = {"libcrypt.so.1": "libcrypt1", "libpcre2-8.so.0": "libpcre2-8-0",
                "libssl.so.3": "libssl3", "libcrypto.so.3": "libssl3",
                "libz.so.1": "zlib1g", "libc.so.6": "libc6"}

INIT = r"""#!/bin/busybox sh
# The peer guest's init: modules, a static address, nginx in the foreground.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for m in $(cat /etc/peer/modules); do
    insmod /lib/modules/peer/$m.ko || echo "peer: insmod $m failed"
done
ip=$(sed -n 's/.*peer\.ip=\([0-9./]*\).*/\1/p' /proc/cmdline)
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
ip link set lo up
ip addr add "$ip" dev eth0
ip link set eth0 up
mkdir -p /run /var/log/nginx /var/lib/nginx /etc/nginx
cat >/etc/nginx/nginx.conf <<'CONF'
user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log stderr warn;
worker_rlimit_nofile 65536;
events {
    worker_connections 4096;
}
http {
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    access_log off;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    server_tokens off;
    charset utf-8;
    charset_types text/css text/plain text/javascript text/markdown;
    types {
        text/html html htm;
        text/css css;
        text/javascript js mjs;
        application/json json;
        text/plain txt;
        text/markdown md;
        application/xml xml;
        image/svg+xml svg;
        image/png png;
        image/jpeg jpg jpeg;
    }
    default_type application/octet-stream;
    server {
        listen 80 default_server;
        root /srv/www;
        index index.html;
    }
}
CONF
echo "peer: $(nproc) CPUs, eth0 $ip, starting nginx"
exec /usr/sbin/nginx -g 'daemon off;'
"""


class BuildError(Exception):
    pass


def run(cmd, **kw):
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)
    except FileNotFoundError:
        raise BuildError(f"{cmd[0]} not found")
    except subprocess.CalledProcessError as e:
        raise BuildError(f"{' '.join(cmd)} failed: {(e.stderr or e.stdout).strip()[-500:]}")


def need_tools():
    for tool, pkg in (("apt-get", "apt"), ("apt-cache", "apt"), ("dpkg-deb", "dpkg"),
                      ("cpio", "cpio"), ("gzip", "gzip"), ("ldd", "libc-bin")):
        if shutil.which(tool) is None:
            raise BuildError(f"{tool} not found: install Debian's {pkg} (tools/deps.sh bench)")
    if not os.path.exists(BUSYBOX):
        raise BuildError(f"{BUSYBOX} not found: install Debian's busybox-static "
                         "(tools/deps.sh bench)")
    p = subprocess.run(["ldd", BUSYBOX], capture_output=True, text=True)
    if "not a dynamic executable" not in p.stdout + p.stderr:
        raise BuildError(f"{BUSYBOX} is dynamically linked (Debian's busybox): install "
                         "busybox-static instead (apt-get install busybox-static)")


def kernel_package():
    """linux-image-6.1.N-M-amd64, the package linux-image-amd64 depends on."""
    out = run(["apt-cache", "depends", KERNEL_META]).stdout
    for name in re.findall(r"Depends:\s*(\S+)", out):
        if KERNEL_RE.match(name):
            return name
    raise BuildError(f"apt-cache depends {KERNEL_META} names no linux-image-6.1.*-amd64 "
                     "(run apt-get update; this needs Debian 12's archive)")


def fetch(pkg, debs):
    """The .deb of pkg in the cache folder debs, downloaded when missing."""
    have = glob.glob(os.path.join(debs, f"{pkg}_*.deb"))
    if have:
        return sorted(have)[-1]
    os.makedirs(debs, exist_ok=True)
    print(f"build-nginx-guest: apt-get download {pkg}", file=sys.stderr)
    try:
        run(["apt-get", "download", pkg], cwd=debs)
    except BuildError as e:
        raise BuildError(f"could not download Debian's {pkg}: {e}")
    have = glob.glob(os.path.join(debs, f"{pkg}_*.deb"))
    if not have:
        raise BuildError(f"apt-get download {pkg} left no {pkg}_*.deb in {debs}")
    return sorted(have)[-1]


def unpack(deb, into):
    run(["dpkg-deb", "-x", deb, into])
    return into


def deb_version(deb):
    return run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()


def elf_section(path, name):
    """The bytes of ELF64 section name in path, or None."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise BuildError(f"{path}: not an ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    def header(i):
        return struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
    strtab = header(shstrndx)
    for i in range(shnum):
        h = header(i)
        start = strtab[4] + h[0]
        if data[start:data.index(b"\0", start)].decode() == name:
            return data[h[4]:h[4] + h[5]]
    return None


def module_order(kdir, release, config):
    """(modules to load in order as [(name, path)], built-in names)."""
    mdir = os.path.join(kdir, "lib", "modules", release)
    with open(os.path.join(mdir, "modules.builtin")) as f:
        builtin = {os.path.basename(l.strip())[:-3].replace("-", "_") for l in f if l.strip()}
    paths = {}
    for p in glob.glob(os.path.join(mdir, "kernel", "**", "*.ko"), recursive=True):
        paths[os.path.basename(p)[:-3].replace("-", "_")] = p
    order, seen = [], set()

    def visit(name):
        if name in seen or name in builtin:
            return
        seen.add(name)
        if name not in paths:
            raise BuildError(f"module {name} is neither built in nor in {mdir}")
        info = elf_section(paths[name], ".modinfo") or b""
        for field in info.split(b"\0"):
            if field.startswith(b"depends=") and field[8:]:
                for dep in field[8:].decode().split(","):
                    visit(dep.replace("-", "_"))
        order.append((name, paths[name]))

    for name in WANTED_MODULES:
        opt = f"CONFIG_{name.upper()}"
        if re.search(rf"^{opt}=y$", config, re.M):
            builtin.add(name)
        visit(name)
    return order, sorted(n for n in WANTED_MODULES if n in builtin)


def shared_libs(binary):
    """[(path as the loader names it, real file)] for binary's libraries."""
    out = run(["ldd", binary]).stdout
    missing = re.findall(r"^\s*(\S+) => not found", out, re.M)
    if missing:
        pkgs = sorted({LIB_PACKAGES.get(m, f"the package with {m}") for m in missing})
        raise BuildError(f"nginx needs {', '.join(missing)}, not on this host: install "
                         f"Debian's {', '.join(pkgs)}")
    libs = []
    for m in re.finditer(r"^\s*(?:\S+ => )?(/\S+) \(0x", out, re.M):
        libs.append((m.group(1), os.path.realpath(m.group(1))))
    return libs


def copy(src, root, dest, mode=None):
    path = os.path.join(root, dest.lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copyfile(src, path)
    os.chmod(path, mode if mode is not None else stat.S_IMODE(os.stat(src).st_mode) | 0o444)


def stage(root, kdir, release, modules, ndir):
    for d in ("bin", "dev", "proc", "sys", "run", "tmp", "etc/peer", "srv/www",
              "var/log/nginx", "var/lib/nginx", "lib/modules/peer"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    try:  # the kernel opens it for /init's output before devtmpfs is mounted
        os.mknod(os.path.join(root, "dev", "console"), 0o600 | stat.S_IFCHR, os.makedev(5, 1))
    except PermissionError:
        raise BuildError("needs root (to create the initramfs's /dev/console)")
    copy(BUSYBOX, root, "/bin/busybox", 0o755)
    with open(os.path.join(root, "init"), "w") as f:
        f.write(INIT)
    os.chmod(os.path.join(root, "init"), 0o755)
    for name, path in modules:
        copy(path, root, f"/lib/modules/peer/{name}.ko", 0o644)
    with open(os.path.join(root, "etc", "peer", "modules"), "w") as f:
        f.write("".join(f"{name}\n" for name, _ in modules))
    nginx = os.path.join(ndir, "usr", "sbin", "nginx")
    copy(nginx, root, "/usr/sbin/nginx", 0o755)
    for linked, real in shared_libs(nginx):
        copy(real, root, linked, 0o755)
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n")


def write_cpio(root, out):
    """root's tree as a gzip'd newc cpio at out (owner root)."""
    names = subprocess.run(["find", ".", "-mindepth", "1"], cwd=root, check=True,
                           capture_output=True).stdout
    with open(out + ".tmp", "wb") as f:
        cp = subprocess.Popen(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=root,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-9n"], stdin=cp.stdout, stdout=f)
        cp.stdout.close()
        cp.stdin.write(names)
        cp.stdin.close()
        if cp.wait() != 0 or gz.wait() != 0:
            raise BuildError("cpio | gzip failed")
    os.replace(out + ".tmp", out)


def build(out):
    need_tools()
    cache = os.path.join(out, "cache")
    debs = os.path.join(cache, "debs")
    kpkg = kernel_package()
    kdeb = fetch(kpkg, debs)
    ndeb = fetch(NGINX_PKG, debs)
    release = KERNEL_RE.match(kpkg).group(1)
    # The unpacked kernel package is ~400 MB of modules: unpack into a
    # temporary folder and keep only the .debs (71 MB) in the cache.
    with tempfile.TemporaryDirectory(prefix="zebu-peer-") as tmp:
        kdir = unpack(kdeb, os.path.join(tmp, "kernel"))
        ndir = unpack(ndeb, os.path.join(tmp, "nginx"))
        with open(os.path.join(kdir, "boot", f"config-{release}")) as f:
            config = f.read()
        modules, builtin = module_order(kdir, release, config)
        root = os.path.join(tmp, "root")
        stage(root, kdir, release, modules, ndir)
        write_cpio(root, os.path.join(out, "initramfs.cpio.gz"))
        shutil.copyfile(os.path.join(kdir, "boot", f"vmlinuz-{release}"),
                        os.path.join(out, "vmlinuz"))
    versions = {"kernel_package": kpkg, "kernel_version": deb_version(kdeb),
                "nginx_version": deb_version(ndeb),
                "busybox": run(["dpkg-query", "-W", "-f", "${Version}", "busybox-static"],
                               ).stdout.strip() if shutil.which("dpkg-query") else "?",
                "modules": [n for n, _ in modules], "builtin": builtin}
    with open(os.path.join(out, "versions.json"), "w") as f:
        json.dump(versions, f, indent=2)
    return versions


def outputs(out):
    return [os.path.join(out, n) for n in ("vmlinuz", "initramfs.cpio.gz", "versions.json")]


def ensure(out=DEFAULT_OUT, force=False):
    """Builds the guest into out when any output is missing (or force);
    returns versions.json's content. Raises BuildError."""
    os.makedirs(out, exist_ok=True)
    if force or not all(os.path.exists(p) for p in outputs(out)):
        return build(out)
    with open(os.path.join(out, "versions.json")) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output folder (default build/peer)")
    ap.add_argument("--force", action="store_true", help="rebuild even when present")
    a = ap.parse_args()
    try:
        v = ensure(a.out, a.force)
    except BuildError as e:
        sys.exit(f"build-nginx-guest: {e}")
    print(f"build-nginx-guest: {a.out}: {v['kernel_package']} {v['kernel_version']}, "
          f"nginx {v['nginx_version']}, modules {' '.join(v['modules']) or 'none'}")


if __name__ == "__main__":
    main()
