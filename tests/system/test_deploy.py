"""Zebu where operators run VMs (docs/deploy.md): a libvirt domain, an OCI
image for urunc, and Firecracker's and Cloud Hypervisor's configurations.

- OCI: tools/zebu-oci's layout is read back and checked against the OCI
  Image Format Specification v1.1 (image-layout, descriptor, manifest,
  config, layer): every digest and size recomputed from the blob's bytes,
  every reference followed, the media types, urunc's annotations, the
  kernel and module in the layer byte for byte; then skopeo (Debian's)
  reads it as a registry client would.
- Firecracker and Cloud Hypervisor cannot run here (neither is packaged for
  Debian 12, and both need KVM). Their files are checked against what those
  VMMs document, build/APP.pvh is checked the way their loader reads it
  (ELF64, PVH note), and the same kernel, command line and virtio-mmio
  NIC (modern, as Firecracker's) boot under QEMU's microvm and serve pages.
- libvirt: the domain XML's shape; the machine it picks for a NIC (pc with
  qboot) serving pages under plain QEMU; then the real thing where libvirtd
  can run: Debian's libvirt is installed when missing (tools/deps.sh
  deploy), libvirtd started when none runs (in a network namespace of the
  test's own, so that its bridge, firewall rules and dnsmasq go away with
  it), and a domain is defined, started, reached over a libvirt-managed NAT
  network (its address from libvirt's DHCP leases), shut down with `virsh
  shutdown` (the ACPI power button: Zebu stops the app and powers off) and
  undefined through virsh against qemu:///system. Everything the test made
  is removed, and the daemons it started stopped, however it ends.
"""
import base64
import gzip
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import BUILD, ROOT, image
from netbench import (WEBSERVER_READY, ConsoleGuest, have_root_networking, netns_exec,
                      new_namespace, tap_ns)

sys.path.insert(0, os.path.join(ROOT, "tools"))
import zebu_accel  # noqa: E402

TOOLS = os.path.join(ROOT, "tools")
SITE = os.path.join(ROOT, "apps", "webserver", "site")
INDEX = open(os.path.join(SITE, "index.html"), "rb").read()
GUEST, HOST = "10.0.9.2", "10.0.9.1"

needs_root_net = pytest.mark.skipif(not have_root_networking(),
                                    reason="needs root, /dev/net/tun, iproute2")


def tool(name, *args, check=True):
    p = subprocess.run([os.path.join(TOOLS, name), *args], capture_output=True, text=True,
                       timeout=120)
    if check:
        assert p.returncode == 0, f"{name} {args}: {p.stdout}{p.stderr}"
    return p


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def fetch_in_ns(ns, url, timeout=20):
    """The body of url fetched with curl, from inside namespace ns (the root
    namespace when ns is None), or None."""
    cmd = ["curl", "-sS", "--fail", "-m", str(timeout), url]
    p = netns_exec(ns, cmd, capture_output=True) if ns else \
        subprocess.run(cmd, capture_output=True)
    return p.stdout if p.returncode == 0 else None


def serve_index(args, ns):
    """Boots the web server under tools/zebu-run with args, fetches / from
    inside namespace ns, stops it; returns (body, console)."""
    g = ConsoleGuest(args)
    try:
        assert g.wait_for(WEBSERVER_READY, 60), g.output[-3000:]
        body = fetch_in_ns(ns, f"http://{GUEST}/")
    finally:
        out = g.stop()
    return body, out


# ---------------------------------------------------------------- OCI ----

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYERS = ("application/vnd.oci.image.layer.v1.tar",
             "application/vnd.oci.image.layer.v1.tar+gzip")
DIGEST_RE = re.compile(r"^sha256:([0-9a-f]{64})$")
URUNC_CMDLINE = "loglevel=2 tcp.cc=cubic"


def read_layout_dir(path):
    files = {}
    for base, _, names in os.walk(path):
        for n in names:
            full = os.path.join(base, n)
            files[os.path.relpath(full, path)] = open(full, "rb").read()
    return files


def read_layout_tar(path):
    with tarfile.open(path) as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}


def resolve(files, desc, media_types, seen):
    """The blob a descriptor (the OCI image spec's "Descriptors") points at, after
    checking its media type, digest and size against the blob's bytes."""
    assert desc["mediaType"] in media_types, desc
    m = DIGEST_RE.match(desc["digest"])
    assert m, f"not a sha256 digest: {desc['digest']}"
    blob = files.get(f"blobs/sha256/{m.group(1)}")
    assert blob is not None, f"{desc['digest']} is not in blobs/sha256/"
    assert sha256(blob) == m.group(1), f"blob {desc['digest']}: its bytes hash differently"
    assert isinstance(desc["size"], int) and desc["size"] == len(blob), desc
    seen.add(f"blobs/sha256/{m.group(1)}")
    return blob


def check_oci_layout(files, tag):
    """Walks the layout from index.json and returns (manifest, config,
    layer tar members as {name: bytes}, manifest bytes)."""
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    assert index["schemaVersion"] == 2 and index["mediaType"] == MT_INDEX
    assert len(index["manifests"]) == 1
    seen = set()
    mdesc = index["manifests"][0]
    assert mdesc["annotations"]["org.opencontainers.image.ref.name"] == tag
    assert mdesc["platform"] == {"architecture": "amd64", "os": "linux"}
    manifest_bytes = resolve(files, mdesc, [MT_MANIFEST], seen)
    manifest = json.loads(manifest_bytes)
    assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == MT_MANIFEST
    config = json.loads(resolve(files, manifest["config"], [MT_CONFIG], seen))
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["rootfs"]["type"] == "layers"
    assert len(manifest["layers"]) == len(config["rootfs"]["diff_ids"]) == 1
    ldesc = manifest["layers"][0]
    layer = resolve(files, ldesc, MT_LAYERS, seen)
    tar = gzip.decompress(layer) if ldesc["mediaType"].endswith("+gzip") else layer
    # "Image Configuration": a diff_id is the digest of the layer's uncompressed tar.
    assert config["rootfs"]["diff_ids"][0] == "sha256:" + sha256(tar)
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        members = {m.name: t.extractfile(m).read() if m.isfile() else None
                   for m in t.getmembers()}
    # Nothing in blobs/ that nothing refers to.
    assert {p for p in files if p.startswith("blobs/")} == seen
    return manifest, config, members, manifest_bytes


def test_oci_layout_follows_the_image_spec(tmp_path):
    out, tar = tmp_path / "ws.oci", tmp_path / "ws.oci.tar"
    tool("zebu-oci", "webserver", "--cmdline", URUNC_CMDLINE, "--hypervisor", "firecracker",
         "--tag", "v1", "--out", str(out), "--tar", str(tar))
    files = read_layout_dir(out)
    manifest, config, members, _ = check_oci_layout(files, "v1")
    ann = manifest["annotations"]
    assert ann["com.urunc.unikernel.unikernelType"] == "zebu"
    assert ann["com.urunc.unikernel.hypervisor"] == "firecracker"
    assert ann["com.urunc.unikernel.cmdline"] == URUNC_CMDLINE
    assert ann["com.urunc.unikernel.binary"] == "/unikernel/webserver.pvh"
    assert ann["com.urunc.unikernel.initrd"] == "/unikernel/webserver.site"
    assert ann["org.opencontainers.image.title"] == "webserver"
    assert config["config"]["Labels"] == ann
    # The kernel and the module in the layer are the built files, byte for byte.
    with open(image("webserver", "pvh"), "rb") as f:
        assert members["unikernel/webserver.pvh"] == f.read()
    with open(image("webserver", "site"), "rb") as f:
        assert members["unikernel/webserver.site"] == f.read()
    # urunc.json: the same annotations, values base64 (urunc's packaging doc).
    urunc = json.loads(members["urunc.json"])
    assert {k: base64.b64decode(v).decode() for k, v in urunc.items()} == \
        {k: v for k, v in ann.items() if k.startswith("com.urunc.")}
    # The tar form holds the same layout, and a second run writes the same bytes.
    assert read_layout_tar(tar) == files
    tool("zebu-oci", "webserver", "--cmdline", URUNC_CMDLINE, "--hypervisor", "firecracker",
         "--tag", "v1", "--out", str(tmp_path / "again"), "--tar", "")
    assert read_layout_dir(tmp_path / "again") == files


def test_oci_refuses_an_image_no_vmm_can_boot(tmp_path):
    p = tool("zebu-oci", "webserver", "--kernel", image("webserver", "elf32"), "--out",
             str(tmp_path / "x"), "--tar", "", check=False)
    assert p.returncode == 2 and "ELF64 with a PVH note" in p.stderr
    assert not (tmp_path / "x").exists()


# ------------------------------------------------- deploy packages --------

_deploy_deps = {}


def deploy_packages():
    """None when Debian's libvirt and skopeo are installed (installing them
    through tools/deps.sh deploy when missing), else why they are not."""
    if "reason" not in _deploy_deps:
        reason = None
        if not (shutil.which("virsh") and os.path.exists("/usr/sbin/libvirtd")
                and shutil.which("skopeo")):
            p = subprocess.run([os.path.join(TOOLS, "deps.sh"), "deploy"], capture_output=True,
                               text=True, timeout=900)
            if p.returncode != 0:
                reason = ("tools/deps.sh deploy could not install libvirt and skopeo: " +
                          (p.stdout + p.stderr).strip()[-400:])
        _deploy_deps["reason"] = reason
    return _deploy_deps["reason"]


def test_oci_image_reads_back_with_skopeo(tmp_path):
    reason = deploy_packages()
    if reason:
        pytest.skip(reason)
    out, tar = tmp_path / "ws.oci", tmp_path / "ws.oci.tar"
    tool("zebu-oci", "webserver", "--cmdline", URUNC_CMDLINE, "--out", str(out), "--tar",
         str(tar))
    manifest, config, _, manifest_bytes = check_oci_layout(read_layout_dir(out), "latest")
    raw = subprocess.run(["skopeo", "inspect", "--raw", f"oci:{out}:latest"],
                         capture_output=True, timeout=60)
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == manifest_bytes
    cfg = subprocess.run(["skopeo", "inspect", "--config", f"oci-archive:{tar}:latest"],
                         capture_output=True, text=True, timeout=60)
    assert cfg.returncode == 0, cfg.stderr
    assert json.loads(cfg.stdout)["config"]["Labels"] == manifest["annotations"]
    # A copy checks every blob's digest as it reads it.
    dest = tmp_path / "copy"
    cp = subprocess.run(["skopeo", "copy", f"oci-archive:{tar}:latest", f"dir:{dest}"],
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0, cp.stderr
    layer_hex = DIGEST_RE.match(manifest["layers"][0]["digest"]).group(1)
    with open(out / "blobs" / "sha256" / layer_hex, "rb") as f:
        assert (dest / layer_hex).read_bytes() == f.read()


# ------------------------------------- Firecracker, Cloud Hypervisor -------

def elf_pvh_facts(path):
    """What a PVH loader reads from an ELF kernel, parsed here on its own:
    (header fields, PT_LOAD (paddr, memsz) list, PVH entry or None)."""
    data = open(path, "rb").read()
    hdr = {"magic": data[:4], "class": data[4], "data": data[5],
           "machine": struct.unpack_from("<H", data, 18)[0]}
    assert hdr["magic"] == b"\x7fELF" and hdr["class"] == 2, f"{path}: not an ELF64 file"
    hdr["entry"], phoff = struct.unpack_from("<QQ", data, 24)
    hdr["phentsize"], phnum = struct.unpack_from("<HH", data, 54)
    loads, entry = [], None
    for i in range(phnum):
        p_type, _, off, _, paddr, filesz, memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * hdr["phentsize"])
        if p_type == 1:
            loads.append((paddr, memsz))
        elif p_type == 4:
            notes, pos = data[off:off + filesz], 0
            while pos + 12 <= len(notes):
                namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
                desc = pos + 12 + (namesz + 3) // 4 * 4
                if ntype == 18 and notes[pos + 12:pos + 12 + namesz] == b"Xen\0":
                    entry = struct.unpack_from("<I", notes, desc)[0]
                pos = desc + (descsz + 3) // 4 * 4
    hdr["mb1"] = struct.pack("<I", 0x1BADB002) in data[:8192]
    return hdr, loads, entry


def test_pvh_image_is_what_firecracker_loads():
    """Firecracker and Cloud Hypervisor load kernels with rust-vmm's
    linux-loader: little-endian ELF64 (e_phentsize must be an Elf64_Phdr's
    56 bytes), segments copied to p_paddr from 1 MiB up, and the entry from
    the Xen note XEN_ELFNOTE_PHYS32_ENTRY (18)."""
    hdr, loads, entry = elf_pvh_facts(image("webserver", "pvh"))
    assert hdr["data"] == 1 and hdr["machine"] == 62 and hdr["phentsize"] == 56
    assert loads and all(paddr >= 0x100000 for paddr, _ in loads)
    assert hdr["entry"] >= 0x100000
    assert entry is not None, "no PVH note"
    assert any(paddr <= entry < paddr + memsz for paddr, memsz in loads)
    # No multiboot 1 header: QEMU's -kernel would take that path instead.
    assert not hdr["mb1"]


FC_KEYS = {"boot-source", "drives", "machine-config", "network-interfaces"}
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def test_firecracker_config_and_cloud_hypervisor_command(tmp_path):
    fc, ch = tmp_path / "fc.json", tmp_path / "ch.sh"
    tool("zebu-microvm", "webserver", "--cmdline", "ip=10.0.9.2/24 loglevel=2", "--mem", "96M",
         "--vcpus", "2", "--tap", "tap7", "--firecracker", str(fc), "--cloud-hypervisor",
         str(ch))
    cfg = json.loads(fc.read_text())
    assert set(cfg) == FC_KEYS
    boot = cfg["boot-source"]
    assert set(boot) == {"kernel_image_path", "boot_args", "initrd_path"}
    assert boot["kernel_image_path"] == os.path.realpath(image("webserver", "pvh"))
    assert boot["initrd_path"] == os.path.realpath(image("webserver", "site"))
    assert boot["boot_args"] == "ip=10.0.9.2/24 loglevel=2"
    assert cfg["drives"] == []
    assert cfg["machine-config"] == {"vcpu_count": 2, "mem_size_mib": 96, "smt": False}
    [nic] = cfg["network-interfaces"]
    assert set(nic) == {"iface_id", "host_dev_name", "guest_mac"}
    assert nic["iface_id"] == "eth0" and nic["host_dev_name"] == "tap7"
    assert MAC_RE.match(nic["guest_mac"])
    first = int(nic["guest_mac"][:2], 16)
    assert first & 1 == 0 and first & 2 == 2, "a unicast, locally administered MAC"

    lines = [ln for ln in ch.read_text().replace("\\\n", " ").splitlines()
             if ln and not ln.startswith("#")]
    argv = shlex.split(lines[0])
    assert argv[:2] == ["exec", "cloud-hypervisor"] and argv[-1] == "$@"
    opts = dict(zip(argv[2:-1:2], argv[3:-1:2]))
    assert opts == {"--kernel": boot["kernel_image_path"], "--initramfs": boot["initrd_path"],
                    "--cmdline": boot["boot_args"], "--cpus": "boot=2",
                    "--memory": "size=96M", "--net": f"tap=tap7,mac={nic['guest_mac']}",
                    "--serial": "tty", "--console": "off"}
    assert subprocess.run(["sh", "-n", str(ch)]).returncode == 0


@needs_root_net
def test_firecracker_vm_boots_under_qemu_microvm(tmp_path):
    """The VM Firecracker's file describes, under QEMU's microvm: the same
    kernel, module, boot args, memory and vCPUs, and a virtio-mmio NIC on
    the tap with the config's MAC. Firecracker's transport is virtio-mmio
    version 2 ("modern"); QEMU 7.2 defaults to version 1, so it is asked for
    2. Like Firecracker, QEMU lists the device on the command line."""
    fc = tmp_path / "fc.json"
    with tap_ns(f"{HOST}/24") as (ns, tap):
        tool("zebu-microvm", "webserver", "--cmdline", f"ip={GUEST}/24 loglevel=2", "--tap",
             tap, "--firecracker", str(fc), "--cloud-hypervisor", "")
        cfg = json.loads(fc.read_text())
        boot, mc = cfg["boot-source"], cfg["machine-config"]
        [nic] = cfg["network-interfaces"]
        body, out = serve_index(
            ["--kernel", boot["kernel_image_path"], "--module", boot["initrd_path"],
             "--append", boot["boot_args"], "--machine", "microvm",
             "--mem", f"{mc['mem_size_mib']}M", "--smp", str(mc["vcpu_count"]),
             "--netns", ns, "--net", f"tap:{nic['host_dev_name']}",
             "--nic-opt", f"mac={nic['guest_mac']}",
             "--qemu-arg=-global", "--qemu-arg=virtio-mmio.force-legacy=false",
             "--timeout", "120"], ns)
    assert body == INDEX, out[-3000:]
    assert "booted via pvh" in out
    assert re.search(rf"virtio-net: {nic['guest_mac']} via mmio,", out), out[-3000:]


# -------------------------------------------------------------- Nomad ----

def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nomad_qemu_driver_command_boots_the_iso():
    """The QEMU command line Nomad's qemu driver builds (its StartTask: the
    image as a plain -drive, so a hard disk, -nographic, and for a port_map
    entry user networking with hostfwd on a virtio-net device) boots the
    web server's GRUB ISO, which is a hybrid image, and serves the page.
    Nomad itself is not run here."""
    from conftest import kill_group
    port = free_port()
    iso = image("webserver", "iso")
    argv = ["qemu-system-x86_64", "-machine", "type=pc,accel=tcg", "-name",
            os.path.basename(iso), "-m", "128M", "-drive", f"file={iso}", "-nographic",
            "-netdev", f"user,id=user.0,hostfwd=udp::{port}-:80,hostfwd=tcp::{port}-:80",
            "-device", "virtio-net,netdev=user.0"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        body, deadline = None, time.time() + 120
        while body is None and time.time() < deadline and proc.poll() is None:
            body = fetch_in_ns(None, f"http://127.0.0.1:{port}/", timeout=5)
            if body is None:
                time.sleep(0.5)
    finally:
        kill_group(proc)
    out = proc.stdout.read().decode("utf-8", "replace")
    assert body == INDEX, out[-3000:]
    assert "booted via multiboot1 (GRUB" in out
    # Booted as a disk, GRUB probes every partition map: none may be missing.
    assert "error:" not in out, out[-3000:]


# --------------------------------------------------------- bare metal ----

OVMF = "/usr/share/ovmf/OVMF.fd"


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_iso_boots_from_a_usb_stick(firmware):
    """The GRUB ISO written to a USB stick, as docs/deploy.md tells for bare
    metal: QEMU's USB mass-storage device on an xHCI controller holds the
    image, and SeaBIOS or OVMF boots it (multiboot 1 or 2); hello runs and
    its status comes back through isa-debug-exit."""
    if firmware == "uefi" and not os.path.exists(OVMF):
        pytest.skip(f"{OVMF} missing (tools/deps.sh iso installs ovmf)")
    argv = ["qemu-system-x86_64", "-machine", "pc,accel=tcg", "-m", "256M", "-nodefaults",
            "-display", "none", "-serial", "stdio",
            "-drive", f"if=none,id=stick,format=raw,readonly=on,file={image('hello', 'iso')}",
            "-device", "qemu-xhci", "-device", "usb-storage,drive=stick,bootindex=0",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    if firmware == "uefi":
        argv += ["-bios", OVMF]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 1, f"QEMU exit {p.returncode} (1: status 0):\n{out[-3000:]}"
    proto = "multiboot1" if firmware == "bios" else "multiboot2"
    assert f"booted via {proto} (GRUB" in out and "Hello from Zebu!" in out
    assert "not found" not in out, out[-3000:]  # no GRUB module missing


# ------------------------------------------------------------ libvirt ----

def domain(tmp_path, *args):
    out = tmp_path / "dom.xml"
    tool("zebu-libvirt", *args, "-o", str(out))
    return ET.parse(out).getroot()


def test_libvirt_domain_xml(tmp_path):
    d = domain(tmp_path, "webserver", "--cmdline", "loglevel=2 x=\"a b\"", "--mem", "64M",
               "--vcpus", "2", "--network", "lab", "--mac", "52:54:00:AA:00:01")
    virt = "kvm" if zebu_accel.kvm_kind() == "hardware" else "qemu"
    assert d.get("type") == virt
    assert d.findtext("name") == "zebu-webserver"
    assert d.find("memory").get("unit") == "MiB" and d.findtext("memory") == "64"
    assert d.findtext("vcpu") == "2"
    os_ = d.find("os")
    assert os_.find("type").get("machine") == "pc" and os_.findtext("type") == "hvm"
    assert os_.findtext("loader") == "/usr/share/qemu/qboot.rom"
    assert os_.findtext("kernel") == os.path.realpath(image("webserver", "pvh"))
    assert os_.findtext("initrd") == os.path.realpath(image("webserver", "site"))
    assert os_.findtext("cmdline") == "loglevel=2 x=\"a b\""
    nic = d.find("devices/interface")
    assert nic.get("type") == "network" and nic.find("source").get("network") == "lab"
    assert nic.find("model").get("type") == "virtio"
    assert nic.find("mac").get("address") == "52:54:00:aa:00:01"
    assert d.find("devices/serial").get("type") == "pty"
    assert d.find("devices/console/target").get("type") == "serial"
    assert {e.tag for e in d.find("features")} == {"acpi", "apic"}

    # Without a NIC: microvm, no firmware, the serial port to a file.
    d = domain(tmp_path, "hello", "--no-net", "--serial", f"file:{tmp_path}/s.log")
    assert d.find("os/type").get("machine") == "microvm"
    assert d.find("os/loader") is None and d.find("os/initrd") is None
    assert d.find("devices/interface") is None
    assert d.find("devices/serial").get("type") == "file"
    assert d.find("devices/serial/source").get("path") == f"{tmp_path}/s.log"

    # libvirt cannot put a virtio NIC on microvm: refused, not written.
    p = tool("zebu-libvirt", "webserver", "--machine", "microvm", check=False)
    assert p.returncode == 2 and "no PCI" in p.stderr


@needs_root_net
def test_libvirt_machine_serves_pages_under_qemu():
    """The machine tools/zebu-libvirt picks for a domain with a NIC, pc with
    qboot and a virtio-net PCI function, without libvirt. qboot assigns no
    PCI BARs (it leaves that to the OS), so Zebu assigns them: before that,
    programming MSI-X wrote through a BAR at address 0 and faulted."""
    with tap_ns(f"{HOST}/24") as (ns, tap):
        body, out = serve_index(["--kernel", image("webserver", "pvh"), "--bios", "qboot",
                                 "--module", image("webserver", "site"),
                                 "--append", f"ip={GUEST}/24 loglevel=2", "--netns", ns,
                                 "--net", f"tap:{tap}", "--timeout", "120"], ns)
    assert body == INDEX, out[-3000:]
    assigned = re.findall(r"pci: \S+ BAR(\d): (memory|I/O) at (0x[0-9a-f]+) .*left unassigned",
                          out)
    assert {(bar, kind) for bar, kind, _ in assigned} >= {("1", "memory"), ("4", "memory")}
    assert all(0xE0000000 <= int(a, 16) < 0xFEC00000 for _, kind, a in assigned
               if kind == "memory")
    assert "via pci-modern" in out and "MSI-X interrupts" in out


# The libvirt objects the test makes; a run that was killed may have left them.
DOMAIN, NETWORK, BRIDGE = "zebu-test-deploy", "zebu-test-net", "zebutest0"
NET_PREFIX = "10.213.77"
NETWORK_XML = """<network>
  <name>{name}</name>{forward}
  <bridge name='{bridge}' stp='off'/>
  <ip address='{prefix}.1' netmask='255.255.255.0'>
    <dhcp><range start='{prefix}.100' end='{prefix}.150'/></dhcp>
  </ip>
</network>
"""


def network_xml(lv):
    """A NAT network, as libvirt's own 'default' is, where the test runs its
    own libvirtd in a namespace; on the host's libvirtd an isolated one (no
    <forward>), which reaches the guest as well and leaves the host's
    forwarding and NAT rules alone."""
    forward = "\n  <forward mode='nat'/>" if lv.ns else ""
    return NETWORK_XML.format(name=NETWORK, forward=forward, bridge=BRIDGE, prefix=NET_PREFIX)
URI = "qemu:///system"
# The daemons a test run started, for the next run to stop should this one be
# killed before its clean-up (their namespace is reclaimed by conftest, the
# daemons would live on).
STARTED_FILE = "/run/zebu-test-libvirtd.json"


class Libvirtd:
    """libvirtd for the tests: the host's when one answers on qemu:///system,
    else one this fixture starts (with virtlogd when none runs) inside a
    network namespace of its own, and stops again."""

    def __init__(self):
        self.ns, self.started, self.logdir = None, [], tempfile.mkdtemp(prefix="zebu-lv-")

    def virsh(self, *args, check=True, timeout=60):
        p = subprocess.run(["virsh", "-c", URI, *args], capture_output=True, text=True,
                           timeout=timeout)
        if check:
            assert p.returncode == 0, f"virsh {' '.join(args)}: {p.stdout}{p.stderr}"
        return p

    def answers(self):
        try:
            return self.virsh("version", check=False, timeout=15).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def log_tail(self):
        path = os.path.join(self.logdir, "libvirtd.log")
        return open(path).read()[-1500:] if os.path.exists(path) else "(no log)"

    def start(self):
        """None when a libvirtd answers, else why none can run here."""
        stop_stale_daemons(self)
        if self.answers():
            return None
        self.ns = new_namespace()
        env = dict(os.environ, LIBVIRT_LOG_OUTPUTS=f"3:file:{self.logdir}/libvirtd.log")
        for daemon, pidfile in (("virtlogd", "/run/virtlogd.pid"),
                                ("libvirtd", "/run/libvirtd.pid")):
            if daemon == "virtlogd" and pid_alive(pidfile):
                continue  # the host's virtlogd serves our libvirtd too
            p = subprocess.run(["ip", "netns", "exec", self.ns, f"/usr/sbin/{daemon}", "-d"],
                               capture_output=True, text=True, env=env, timeout=60)
            if p.returncode != 0:
                return f"{daemon} -d failed ({p.returncode}): {(p.stdout + p.stderr)[-400:]}"
            pid = wait_for_pid(pidfile)
            if pid is None:
                return f"{daemon} -d left no live process ({pidfile}): {self.log_tail()}"
            self.started.append((daemon, pid))
            with open(STARTED_FILE, "w") as f:
                json.dump(self.started, f)
        deadline = time.time() + 30
        while not self.answers():
            if time.time() > deadline:
                return f"libvirtd started but qemu:///system does not answer: {self.log_tail()}"
            time.sleep(0.3)
        return None

    def run_in_ns(self, cmd, **kw):
        return netns_exec(self.ns, cmd, **kw) if self.ns else subprocess.run(cmd, **kw)

    def forget(self, dom=None, net=None):
        """Removes the domain and network, whatever state they are in."""
        if dom:
            self.virsh("destroy", dom, check=False)
            self.virsh("undefine", dom, check=False)
        if net:
            self.virsh("net-destroy", net, check=False)
            self.virsh("net-undefine", net, check=False)

    def stop(self):
        for daemon, pid in reversed(self.started):
            stop_pid(pid)
        if self.started and os.path.exists(STARTED_FILE):
            os.unlink(STARTED_FILE)
        self.started = []
        if self.ns:
            subprocess.run(["ip", "netns", "del", self.ns], check=False)
            self.ns = None
        shutil.rmtree(self.logdir, ignore_errors=True)


def stop_stale_daemons(lv):
    """Stops the daemons an earlier run started and could not stop (it was
    killed): those STARTED_FILE lists that still run under their name, after
    removing the domain and network that run may have left with them (a
    stopped libvirtd leaves its domains and dnsmasq running)."""
    try:
        with open(STARTED_FILE) as f:
            stale = json.load(f)
    except (OSError, ValueError):
        return
    alive = []
    for daemon, pid in stale:
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == daemon:
                    alive.append(pid)
        except OSError:
            pass
    if alive:
        lv.forget(DOMAIN, NETWORK)
    for pid in reversed(alive):
        stop_pid(pid)
    os.unlink(STARTED_FILE)


def pid_alive(pidfile):
    try:
        pid = int(open(pidfile).read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if os.path.exists(f"/proc/{pid}") else None


def wait_for_pid(pidfile, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        pid = pid_alive(pidfile)
        if pid:
            return pid
        time.sleep(0.1)
    return None


def stop_pid(pid):
    """SIGTERM, then SIGKILL after 10 s: a daemon this test started."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + 10
    while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
        time.sleep(0.1)
    if os.path.exists(f"/proc/{pid}"):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def libvirtd():
    if os.geteuid() != 0:
        pytest.skip("libvirt's qemu:///system needs root (the test installs and starts "
                    "libvirtd itself)")
    reason = deploy_packages()
    if reason:
        pytest.skip(reason)
    lv = Libvirtd()
    try:
        reason = lv.start()
        if reason:
            pytest.skip(f"libvirtd cannot run here: {reason}")
        lv.forget(DOMAIN, NETWORK)  # left by a run that was killed
        yield lv
    finally:
        lv.forget(DOMAIN, NETWORK)
        lv.stop()


@pytest.fixture
def images_for_libvirt():
    """The web server's and hello's images copied where QEMU, which libvirt
    runs as its own user (libvirt-qemu on Debian), can read them whatever
    the repository's permissions; libvirt labels (chowns) them while the
    domain runs."""
    d = tempfile.mkdtemp(prefix="zebu-libvirt-")
    os.chmod(d, 0o755)
    try:
        for name in ("webserver.pvh", "webserver.site", "hello.pvh"):
            shutil.copy(os.path.join(BUILD, name), d)
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def wait_lease(lv, seconds=60):
    """The domain's IPv4 address from libvirt's DHCP leases, or None."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        out = lv.virsh("domifaddr", DOMAIN, "--source", "lease", check=False).stdout
        m = re.search(rf"ipv4\s+({re.escape(NET_PREFIX)}\.\d+)/24", out)
        if m:
            return m.group(1)
        time.sleep(0.5)
    return None


def test_libvirt_domain_lifecycle(libvirtd, images_for_libvirt, tmp_path):
    lv, imgs = libvirtd, images_for_libvirt
    net_xml = tmp_path / "net.xml"
    net_xml.write_text(network_xml(lv))
    dom_xml, serial = tmp_path / "dom.xml", tmp_path / "serial.log"
    tool("zebu-libvirt", "webserver", "--name", DOMAIN, "--network", NETWORK,
         "--kernel", f"{imgs}/webserver.pvh", "--initrd", f"{imgs}/webserver.site",
         "--cmdline", "loglevel=2", "--serial", f"file:{serial}", "-o", str(dom_xml))
    try:
        lv.virsh("net-create", str(net_xml))  # transient: gone once destroyed
        lv.virsh("define", str(dom_xml))
        assert DOMAIN in lv.virsh("list", "--all", "--name").stdout.split()
        lv.virsh("start", DOMAIN)
        assert lv.virsh("domstate", DOMAIN).stdout.strip() == "running"
        addr = wait_lease(lv)
        console = serial.read_text(errors="replace") if serial.exists() else ""
        assert addr, f"no DHCP lease on {NETWORK}; console:\n{console[-3000:]}"
        p = lv.run_in_ns(["curl", "-sS", "--fail", "-m", "20", f"http://{addr}/"],
                         capture_output=True)
        console = serial.read_text(errors="replace")
        assert p.stdout == INDEX, f"{p.stderr}\nconsole:\n{console[-3000:]}"
        assert "booted via pvh" in console and f"bound to {addr}/24" in console
        # Shut down as an operator would: the ACPI power button; Zebu stops
        # the app and powers off (S5: no isa-debug-exit device here).
        lv.virsh("shutdown", DOMAIN)
        deadline, state = time.time() + 60, ""
        while time.time() < deadline and state != "shut off":
            time.sleep(0.3)
            state = lv.virsh("domstate", DOMAIN).stdout.strip()
        console = serial.read_text(errors="replace")
        assert state == "shut off", f"{state}\nconsole:\n{console[-3000:]}"
        assert "power button: stopping the app, then powering off" in console, console[-3000:]
        lv.virsh("undefine", DOMAIN)
        assert DOMAIN not in lv.virsh("list", "--all", "--name").stdout.split()
        lv.virsh("net-destroy", NETWORK)
        assert NETWORK not in lv.virsh("net-list", "--all", "--name").stdout.split()
    finally:
        lv.forget(DOMAIN, NETWORK)


def test_libvirt_microvm_domain(libvirtd, images_for_libvirt, tmp_path):
    """Without a NIC the domain is a microvm (libvirt can start one when it
    has no PCI device): hello boots on every vCPU through PVH."""
    lv, imgs = libvirtd, images_for_libvirt
    dom_xml, serial = tmp_path / "dom.xml", tmp_path / "serial.log"
    tool("zebu-libvirt", "hello", "--name", DOMAIN, "--no-net", "--vcpus", "2",
         "--kernel", f"{imgs}/hello.pvh", "--cmdline", "loglevel=2",
         "--serial", f"file:{serial}", "-o", str(dom_xml))
    try:
        lv.virsh("define", str(dom_xml))
        lv.virsh("start", DOMAIN)
        deadline, console = time.time() + 30, ""
        while time.time() < deadline and "app: exited with status 0" not in console:
            time.sleep(0.3)
            console = serial.read_text(errors="replace") if serial.exists() else ""
        assert "app: exited with status 0" in console, console[-3000:]
        assert "booted via pvh" in console and "smp: 2 cores online" in console
        assert "Hello from Zebu!" in console
        lv.virsh("destroy", DOMAIN)
        lv.virsh("undefine", DOMAIN)
    finally:
        lv.forget(DOMAIN)
