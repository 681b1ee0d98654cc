"""tools/zebu_deploy.py — what the deployment tools share.

tools/zebu-libvirt (a libvirt domain), tools/zebu-oci (an OCI image for
urunc) and tools/zebu-microvm (Firecracker's VM config and Cloud
Hypervisor's command line) all describe the same thing: one built app, its
PVH image build/APP.pvh, its boot module when it has one (the web server's
site archive, build/APP.site), a command line, memory, vCPUs and a NIC. This
module finds those files and reads the sizes and addresses the three write
in their own syntax. Python 3 standard library only; docs/deploy.md is the
user's guide.
"""
import hashlib
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Xen's ELF note type for the 32-bit PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY
# in Xen's public ELF note list, the PVH boot ABI): what QEMU, Firecracker
# and Cloud Hypervisor look for to boot an ELF kernel through PVH.
XEN_ELFNOTE_PHYS32_ENTRY = 18


class DeployError(Exception):
    """A request the tools refuse; str() says why."""


def app_files(app, build="build", kernel=None, initrd=None):
    """(kernel, initrd or None) as absolute paths: build/APP.pvh and, when it
    exists, build/APP.site, unless given. Raises DeployError when the kernel
    is missing (the app is not built)."""
    kernel = os.path.abspath(kernel or os.path.join(build, f"{app}.pvh"))
    if not os.path.isfile(kernel):
        raise DeployError(f"no image {kernel}: build it first with 'make APP={app}'")
    if initrd is None:
        site = os.path.join(build, f"{app}.site")
        initrd = site if os.path.isfile(site) else None
    elif initrd == "":
        initrd = None
    if initrd is not None:
        initrd = os.path.abspath(initrd)
        if not os.path.isfile(initrd):
            raise DeployError(f"no module {initrd}")
    return kernel, initrd


def mebibytes(text):
    """'128M', '1G', '512' (MiB), '131072K' -> MiB as an int (the unit
    letters are QEMU's and make's MEM=)."""
    m = re.fullmatch(r"\s*(\d+)\s*([KkMmGg]?)(?:i?[Bb])?\s*", str(text))
    if not m:
        raise DeployError(f"memory size '{text}': expected a number with K, M or G")
    n, unit = int(m.group(1)), m.group(2).upper()
    kib = {"K": n, "": n * 1024, "M": n * 1024, "G": n * 1024 * 1024}[unit]
    if kib % 1024 or kib == 0:
        raise DeployError(f"memory size '{text}': not a whole, nonzero number of MiB")
    return kib // 1024


MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def default_mac(name):
    """A stable MAC for a VM called name: QEMU's 52:54:00 prefix (locally
    administered, unicast: IEEE 802 bits 1 and 0 of the first octet) and
    three bytes of the name's SHA-256, so two apps on one bridge differ."""
    h = hashlib.sha256(name.encode()).digest()
    return "52:54:00:%02x:%02x:%02x" % (h[0], h[1], h[2])


def check_mac(mac):
    mac = mac.lower()
    if not MAC_RE.match(mac):
        raise DeployError(f"MAC '{mac}': expected six hex octets, e.g. 52:54:00:12:34:56")
    if int(mac[:2], 16) & 1:
        raise DeployError(f"MAC '{mac}' is a multicast address")
    return mac


def pvh_entry(path):
    """Reads an ELF kernel the way a PVH loader does and returns a dict:
    elf_class (32 or 64), machine (e_machine), entry (e_entry), pvh_entry
    (the XEN_ELFNOTE_PHYS32_ENTRY address, or None), loads (list of
    (p_paddr, p_filesz, p_memsz) of the PT_LOAD segments). Raises DeployError
    when the file is not an uncompressed little-endian ELF (a gzip or
    bzImage kernel, say)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        raise DeployError(f"{path} is not an ELF file (magic {data[:4]!r})")
    cls, endian = data[4], data[5]
    if endian != 1 or cls not in (1, 2):
        raise DeployError(f"{path}: not a little-endian ELF32/ELF64 file")
    if cls == 2:
        (e_machine, e_entry, e_phoff, e_phentsize, e_phnum) = (
            struct.unpack_from("<H", data, 18)[0], struct.unpack_from("<Q", data, 24)[0],
            struct.unpack_from("<Q", data, 32)[0], struct.unpack_from("<H", data, 54)[0],
            struct.unpack_from("<H", data, 56)[0])
    else:
        (e_machine, e_entry, e_phoff, e_phentsize, e_phnum) = (
            struct.unpack_from("<H", data, 18)[0], struct.unpack_from("<I", data, 24)[0],
            struct.unpack_from("<I", data, 28)[0], struct.unpack_from("<H", data, 42)[0],
            struct.unpack_from("<H", data, 44)[0])
    out = {"elf_class": 64 if cls == 2 else 32, "machine": e_machine, "entry": e_entry,
           "phentsize": e_phentsize, "pvh_entry": None, "loads": []}
    for i in range(e_phnum):
        off = e_phoff + i * e_phentsize
        if off + e_phentsize > len(data):
            raise DeployError(f"{path}: program header {i} past the end of the file")
        if cls == 2:
            p_type, _, p_offset, _, p_paddr, p_filesz, p_memsz, _ = struct.unpack_from(
                "<IIQQQQQQ", data, off)
        else:
            p_type, p_offset, _, p_paddr, p_filesz, p_memsz, _, _ = struct.unpack_from(
                "<IIIIIIII", data, off)
        if p_type == 1:
            out["loads"].append((p_paddr, p_filesz, p_memsz))
        elif p_type == 4 and out["pvh_entry"] is None:
            out["pvh_entry"] = _note_entry(data[p_offset:p_offset + p_filesz])
    return out


def _note_entry(notes):
    """The PVH entry in a PT_NOTE segment's bytes, or None. Each note is
    namesz, descsz, type (4 bytes each in ELF32 and ELF64 alike), then the
    name and the descriptor, each padded to 4 bytes (ELF gABI, "Note
    Section")."""
    pos = 0
    while pos + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
        name = notes[pos + 12:pos + 12 + namesz]
        desc_at = pos + 12 + (namesz + 3) // 4 * 4
        desc = notes[desc_at:desc_at + descsz]
        if ntype == XEN_ELFNOTE_PHYS32_ENTRY and name == b"Xen\0" and descsz >= 4:
            return struct.unpack_from("<I", desc)[0]
        pos = desc_at + (descsz + 3) // 4 * 4
    return None


def hardware_kvm():
    """True when /dev/kvm is usable hardware KVM (tools/zebu_accel.py's
    test without its probe boot)."""
    import zebu_accel
    return zebu_accel.kvm_kind() == "hardware"
