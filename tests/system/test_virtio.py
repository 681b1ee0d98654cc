"""virtio-net: every transport and interrupt path brings the device up, a
transmitted descriptor chain reaches QEMU's user network, and its ARP reply
comes back in place in a receive buffer."""
import re

import pytest

from conftest import boot


@pytest.mark.parametrize("virtio,no_msix,machine,transport,irq", [
    ("transitional", False, "pc", "pci-modern", "MSI-X"),
    ("modern", False, "q35", "pci-modern", "MSI-X"),
    ("legacy", False, "pc", "pci-legacy", "MSI-X"),
    ("legacy", True, "pc", "pci-legacy", "line"),
    ("modern", True, "pc", "pci-modern", "line"),
])
def test_vnet_comes_up_and_gets_an_arp_reply(virtio, no_msix, machine, transport, irq):
    extra = ["--net", "user", "--virtio", virtio, "--machine", machine]
    if no_msix:
        extra.append("--no-msix")
    # loglevel=2: the driver's info lines (features, transport, interrupts)
    b = boot("ktest", append="selftest=vnet loglevel=2", extra=extra, timeout=60)
    assert b.status == 0, b.output
    assert re.search(r"virtio-net: device offers:.* MAC", b.output)
    negotiated = re.search(r"virtio-net: negotiated:(.*)", b.output)[1].split()
    assert "MAC" in negotiated
    assert ("VERSION_1" in negotiated) == (transport == "pci-modern")
    assert (f"virtio-net: 52:54:00:12:34:56 via {transport}, link up" in b.output), b.output
    assert f"{irq} interrupts" in b.output
    m = re.search(r"vnet: ARP reply from 10.0.2.2 is-at 52:55:0a:00:02:02 .*in place", b.output)
    assert m, b.output
    assert int(re.search(r"vnet: (\d+) interrupts", b.output)[1]) >= 1


def test_without_a_device_the_self_test_says_so():
    b = boot("ktest", append="selftest=vnet")
    assert "no virtio-net device came up" in b.output
    assert b.status == 0


def test_vnet_over_virtio_mmio_on_microvm():
    b = boot("ktest", kind="pvh", append="selftest=vnet loglevel=2",
             extra=["--machine", "microvm", "--net", "user"], timeout=60)
    assert b.status == 0, b.output
    assert re.search(r"virtio-net: 52:54:00:12:34:56 via mmio(-legacy)?, link up", b.output), \
        b.output
    assert "line interrupts" in b.output
    assert re.search(r"vnet: ARP reply from 10.0.2.2 is-at 52:55:0a:00:02:02", b.output)


def test_vnet_over_virtio_mmio_listed_in_the_dsdt():
    """microvm with ACPI on, told to add nothing to the command line
    (auto-kernel-cmdline=off): its virtio-mmio devices are only in the DSDT,
    where the platform layer finds them for the driver (and the MADT gives
    the second core)."""
    b = boot("ktest", kind="pvh", append="selftest=vnet loglevel=2",
             extra=["--machine", "microvm", "--net", "user", "--smp", "2", "--qemu-arg=-machine",
                    "--qemu-arg=acpi=on,auto-kernel-cmdline=off"], timeout=60)
    assert b.status == 0, b.output
    assert "smp: 2 cores online" in b.output, b.output
    assert re.search(r"virtio-net: 52:54:00:12:34:56 via mmio(-legacy)?, link up", b.output)
    assert re.search(r"vnet: ARP reply from 10.0.2.2 is-at 52:55:0a:00:02:02", b.output)
    assert int(re.search(r"vnet: (\d+) interrupts", b.output)[1]) >= 1


def test_malformed_virtio_mmio_entry_is_ignored_with_a_warning():
    b = boot("ktest", kind="pvh", append="selftest=vnet virtio_mmio.device=garbage",
             extra=["--machine", "microvm"], timeout=60)
    assert "platform: malformed virtio_mmio.device=garbage ignored" in b.output, b.output
    assert "unknown option 'virtio_mmio.device'" not in b.output
    assert b.status == 0
