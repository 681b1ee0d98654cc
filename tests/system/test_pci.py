"""PCI enumeration: legacy ports on pc, ECAM (MCFG) on q35, devices behind
bridges, BARs and interrupt capabilities."""
import re

from conftest import boot

NET = ["--qemu-arg=-netdev", "--qemu-arg=user,id=n0"]


def functions(output):
    return re.findall(r"debug pci: ([0-9a-f]{2}):([0-9a-f]{2})\.(\d) ([0-9a-f]{4}):([0-9a-f]{4}) "
                      r"class ([0-9a-f]{2})\.([0-9a-f]{2})([^\n]*)", output)


def test_pc_uses_config_ports_and_finds_virtio_net_with_msix():
    b = boot("hello", append="loglevel=3",
             extra=NET + ["--qemu-arg=-device", "--qemu-arg=virtio-net-pci,netdev=n0"])
    assert b.status == 0, b.output
    assert "(config access: ports)" in b.output
    fs = functions(b.output)
    assert ("00", "00", "0", "8086", "1237", "06", "00", "") in fs  # i440FX host bridge
    net = [f for f in fs if f[3:5] == ("1af4", "1000")]
    assert net and net[0][5:7] == ("02", "00") and "msi-x" in net[0][7], fs


def test_q35_uses_ecam_from_the_mcfg():
    b = boot("hello", append="loglevel=3", extra=["--machine", "q35"] + NET +
             ["--qemu-arg=-device", "--qemu-arg=virtio-net-pci,netdev=n0,disable-legacy=on"])
    assert b.status == 0, b.output
    assert "(config access: ecam)" in b.output
    fs = functions(b.output)
    assert any(f[3:5] == ("8086", "29c0") for f in fs)  # Q35 host bridge
    assert any(f[3:5] == ("1af4", "1041") for f in fs)  # modern-only virtio-net


def test_devices_behind_a_bridge_are_found():
    b = boot("hello", append="loglevel=3", extra=NET + ["--qemu-arg=-device",
                                                        "--qemu-arg=pci-bridge,id=br1,chassis_nr=1,addr=5",
                                   "--qemu-arg=-device",
                                   "--qemu-arg=virtio-net-pci,netdev=n0,bus=br1,addr=3"])
    assert b.status == 0, b.output
    fs = functions(b.output)
    assert any(f[3:5] == ("1b36", "0001") for f in fs), fs  # the bridge itself
    assert any(f[0] == "01" and f[1] == "03" and f[3] == "1af4" for f in fs), fs
