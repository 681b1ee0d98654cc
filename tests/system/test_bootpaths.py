"""Every boot path reaches the same kernel_main and app, names the protocol
it really came through, and hands over the memory map and command line."""
import os
import socket

import pytest

from conftest import BUILD, LAUNCHER, boot, fetch_while_running, image

PATHS = {
    # name: (image kind, zebu-run args, protocol, loader in the banner)
    "multiboot-seabios": ("elf32", [], "multiboot1", "qemu"),
    "multiboot-qboot": ("elf32", ["--bios", "qboot"], "multiboot1", "qemu"),
    "pvh-pc": ("pvh", [], "pvh", "PVH"),
    "pvh-microvm": ("pvh", ["--machine", "microvm"], "pvh", "PVH"),
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_path_boots_with_memory_map_and_command_line(path):
    kind, extra, proto, loader = PATHS[path]
    b = boot("hello", kind=kind, mem="256M", append='count=2 greeting="Hi there" -- one two',
             extra=extra)
    assert b.status == 0, b.output
    m = b.banner()
    assert m["proto"] == proto and m["loader"] == loader, m.group(0)
    assert 256 - 4 <= int(m["mib"]) <= 256, b.output
    assert b.output.count("Hi there from Zebu!") == 2
    assert 'argv[1] = "one"' in b.output and 'argv[2] = "two"' in b.output
    assert f"booted via {proto}" in b.output  # what the app itself sees


@pytest.mark.parametrize("path", ["pvh-pc", "pvh-microvm"])
def test_pvh_paths_start_every_core(path):
    kind, extra, _, _ = PATHS[path]
    b = boot("ktest", kind=kind, append="mode=cores", extra=extra + ["--smp", "4"], timeout=120)
    assert b.status == 0, b.output
    assert "ktest: cores: 4 online" in b.output


def test_microvm_calibrates_the_tsc_without_a_pit():
    b = boot("hello", kind="pvh", append="loglevel=2", extra=["--machine", "microvm"])
    assert "(from apic-timer)" in b.output, b.output
    assert "assuming 1 GHz" not in b.output


@pytest.fixture(scope="module")
def iso_with_args(tmp_path_factory):
    """A GRUB ISO (BIOS and UEFI) of hello with a command line in grub.cfg."""
    import subprocess
    from conftest import BUILD, ROOT
    out = tmp_path_factory.mktemp("iso") / "hello-args.iso"
    subprocess.run([f"{ROOT}/tools/mkiso.sh", f"{BUILD}/hello.elf32", str(out), "hello",
                    'loglevel=2 count=2 greeting="Hi there" -- one two'], check=True, cwd=ROOT,
                   capture_output=True)
    return str(out)


@pytest.mark.parametrize("bios,proto", [("seabios", "multiboot1"), ("uefi", "multiboot2")])
def test_grub_iso_boots_on_bios_and_uefi(iso_with_args, bios, proto):
    from conftest import LAUNCHER, Boot
    import subprocess
    p = subprocess.run([LAUNCHER, "--iso", iso_with_args, "--bios", bios, "--smp", "2",
                        "--mem", "256M", "--timeout", "180"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
    b = Boot(p.returncode, p.stdout.decode("utf-8", "replace").replace("\r\n", "\n"))
    assert b.status == 0, b.output[-3000:]
    m = b.banner()
    assert m["proto"] == proto and "GRUB" in m["loader"]
    assert 256 - 16 <= int(m["mib"]) <= 256  # OVMF keeps more than SeaBIOS
    assert b.output.count("Hi there from Zebu!") == 2
    assert 'argv[1] = "one"' in b.output and 'argv[2] = "two"' in b.output
    assert "smp: 2 cores online" in b.output


def test_web_server_answers_http_on_microvm_through_virtio_mmio():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    body, out, status = fetch_while_running(
        [LAUNCHER, "--kernel", image("webserver", "pvh"), "--machine", "microvm", "--module",
         os.path.join(BUILD, "webserver.site"), "--net", "user", "--hostfwd",
         f"tcp:127.0.0.1:{port}-:80", "--append", "limit=1 loglevel=2", "--timeout", "120"],
        f"http://127.0.0.1:{port}/", wait=90)
    assert "booted via pvh" in out and "via mmio" in out, out[-3000:]
    assert body is not None and b"<title>Zebu</title>" in body, out[-3000:]
    assert status == 0, out[-3000:]
