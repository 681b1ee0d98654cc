"""The virtio console (drivers/virtio_console.c): on microvm the kernel finds
it before the banner and everything goes through it, complete and in order;
the serial port, sent to a file of its own here, then stays silent. With
--console serial the UART carries it all as before; on pc the console moves
to a virtio-serial PCI function after the PCI scan, so the serial port has
exactly the lines before it."""
import os
import re
import subprocess
import tempfile

from conftest import LAUNCHER, boot, image



def run(app, append, *extra, kind="pvh"):
    """Boots with the serial port in a file: (status, console, serial)."""
    with tempfile.TemporaryDirectory() as d:
        serial = os.path.join(d, "serial")
        cmd = [LAUNCHER, "--kernel", image(app, kind), "--append", append, "--timeout", "60",
               "--serial-file", serial, *extra]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=120)
        with open(serial, "rb") as f:
            uart = f.read().decode("utf-8", "replace")
    return p.returncode, p.stdout.decode("utf-8", "replace"), uart


def in_order(text, needles):
    pos = 0
    for n in needles:
        i = text.find(n, pos)
        assert i >= 0, f"{n!r} missing (or out of order) after offset {pos}:\n{text}"
        pos = i + len(n)


def test_microvm_output_goes_through_the_virtio_console():
    status, out, uart = run("ktest", "mode=panic bogus=1", "--machine", "microvm")
    assert status == 127, out
    assert uart == "", uart
    in_order(out, ['Zebu ', ': booted via pvh', 'app "ktest"',
                   "WARN cmdline: unknown option 'bogus' ignored",
                   "ktest: mode=panic", "PANIC: abort() called", "backtrace:",
                   "fault_dispatch", "zebu: kernel stopped (exit status 127)\r\n"])
    assert out.count(": booted via ") == 1, out
    assert "\r\n" in out and "\n" not in out.replace("\r\n", ""), "every line ends in CR LF"


def test_microvm_fault_report_through_the_virtio_console():
    status, out, uart = run("ktest", "mode=pagefault", "--machine", "microvm")
    assert status == 127 and uart == "", (out, uart)
    in_order(out, ["ktest: mode=pagefault", "PANIC: CPU exception: page fault",
                   "RIP ", "backtrace:", "zebu: kernel stopped"])


def lines(text):
    """Lines with their numbers blanked (timestamps, TSC rates and times
    differ between two boots)."""
    return [re.sub(r"\d+", "#", l) for l in text.replace("\r\n", "\n").splitlines()]


def test_virtio_and_serial_consoles_carry_the_same_lines():
    """Every debug line of a boot (more writes than the ring's 16
    descriptors), the same on either console: nothing lost, duplicated or
    reordered."""
    s1, virtio, uart = run("hello", "loglevel=3 one two", "--machine", "microvm")
    s2, stdout, serial = run("hello", "loglevel=3 one two", "--machine", "microvm",
                             "--console", "serial")
    assert s1 == s2 == 0
    assert uart == "" and stdout == ""
    assert len(lines(virtio)) > 16, virtio
    assert lines(virtio) == lines(serial)


def test_console_serial_still_works():
    b = boot("hello", kind="pvh", extra=["--machine", "microvm", "--console", "serial"])
    assert b.status == 0
    assert b.output.count(": booted via ") == 1
    in_order(b.output, ["Hello from Zebu!", "booted via pvh"])


def test_pc_moves_to_a_virtio_console_on_pci_after_the_scan():
    status, out, uart = run("hello", "loglevel=2", "--console", "virtio", kind="elf32")
    assert status == 0
    in_order(uart, [": booted via multiboot1", "pci: "])
    assert "Hello from Zebu!" not in uart
    in_order(out, ["app: starting hello", "Hello from Zebu!", "app: exited with status 0\r\n"])
    assert ": booted via" not in out
