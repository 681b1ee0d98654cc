"""Booting: the banner on every path, the memory the loader reports, and the
launcher's handling of exit statuses."""
import os
import re
import subprocess

import pytest

from conftest import BUILD, ROOT, boot, fetch_while_running


def test_kernel_boot_prints_banner_and_exits_cleanly():
    b = boot("hello", append="loglevel=2")  # "app: exited" is an info line
    m = b.banner()
    assert m["proto"] == "multiboot1"
    assert m["app"] == "hello"
    assert "Hello from Zebu!" in b.output
    assert "app: exited with status 0" in b.output
    assert b.status == 0


def test_iso_boot_prints_banner():
    b = boot("hello", iso=True, timeout=120)
    m = b.banner()
    assert m["proto"] == "multiboot1"
    assert "GRUB" in (m["loader"] or ""), b.output
    assert "Hello from Zebu!" in b.output
    assert b.status == 0


# (-m in MiB, what the firmware may keep: the 384 KiB below 1 MiB, BIOS/ACPI
# areas at the top of low RAM; a few MiB at most)
@pytest.mark.parametrize("mem", [64, 512, 3072])
def test_usable_memory_matches_dash_m(mem):
    b = boot("hello", mem=f"{mem}M")
    usable = int(b.banner()["mib"])
    assert mem - 4 <= usable <= mem, b.output
    assert b.status == 0


@pytest.mark.parametrize("cpu", [None, "max"], ids=["2MiB-pages", "1GiB-pages"])
def test_memory_above_4gib_is_mapped_and_usable(cpu):
    extra = ["--cpu", cpu] if cpu else []
    b = boot("ktest", append="mode=highmem loglevel=2", mem="5G", extra=extra)
    assert 5120 - 8 <= int(b.banner()["mib"]) <= 5120
    assert "RAM mapped up to 6144 MiB" in b.output
    assert "does not keep" not in b.output
    # [4 GiB, 6 GiB) holds two naturally aligned 1 GiB blocks
    assert "2 above 4 GiB" in b.output, b.output
    assert b.status == 0


@pytest.mark.parametrize("mem", ["4M", "64M"])
def test_freed_pages_merge_into_blocks_and_blocks_split_into_pages(mem):
    # selftest=pmem: every free page taken one by one and freed, then all
    # of it taken as 32 KiB blocks (a thread stack), then as pages again.
    # Without merging, memory once handed out as pages would never make a
    # stack again; without splitting, a free stack would never make a page.
    b = boot("ktest", append="selftest=pmem mode=none", mem=mem)
    m = re.search(r"pmem: (\d+) pages taken one by one; then (\d+) blocks of 32 KiB "
                  r"\(\d+ pages\); then (\d+) pages", b.output)
    assert m, b.output
    pages, blocks, again = map(int, m.groups())
    assert pages > 500 and again == pages, b.output
    # Only the free pages in 32 KiB groups with something allocated in
    # them cannot merge: a handful.
    assert blocks * 8 >= pages - 64, b.output
    assert b.status == 0


def test_cpu_without_long_mode_is_told_so():
    b = boot("hello", extra=["--cpu", "qemu32"])
    assert "no 64-bit long mode" in b.output
    assert "Zebu 0.1" not in b.output
    assert b.status == 126


def test_make_run_serves_the_web_server_on_localhost_8080():
    body, out, status = fetch_while_running(
        ["make", "--no-print-directory", "run", "ARGS=limit=1"], "http://localhost:8080/")
    assert "open http://localhost:8080" in out, out[-3000:]
    assert body is not None and b"<title>Zebu</title>" in body, out[-3000:]
    assert status == 0, out[-3000:]  # limit=1: exits after that connection


def test_make_run_boots_another_app():
    p = subprocess.run(["make", "--no-print-directory", "APP=hello", "run", "ARGS=count=2"],
                       cwd=ROOT,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    out = p.stdout.decode("utf-8", "replace")
    assert "Ctrl-A then X" in out
    assert out.count("Hello from Zebu!") == 2, out
    assert p.returncode == 0


def test_image_is_stripped_but_elf64_keeps_symbols():
    elf32 = os.path.join(BUILD, "hello.elf32")
    elf64 = os.path.join(BUILD, "hello.elf")
    with open(elf32, "rb") as f:
        head = f.read(5)
    assert head[:4] == b"\x7fELF" and head[4] == 1  # ELFCLASS32
    with open(elf64, "rb") as f:
        assert f.read(5)[4] == 2  # ELFCLASS64
    sections32 = subprocess.run(["objdump", "-h", elf32], capture_output=True, text=True).stdout
    sections64 = subprocess.run(["objdump", "-h", elf64], capture_output=True, text=True).stdout
    assert ".debug_info" not in sections32
    assert ".debug_info" in sections64
    syms = subprocess.run(["nm", elf64], capture_output=True, text=True).stdout
    assert " kernel_main" in syms


def test_only_apps_that_use_the_network_carry_it():
    def functions(app):
        out = subprocess.run(["nm", os.path.join(BUILD, f"{app}.elf")], capture_output=True,
                             text=True, check=True).stdout
        return {line.split()[-1] for line in out.splitlines() if line.split()[-2] in "tT"}

    hello, web = functions("hello"), functions("webserver")
    for f in ("knet_start", "tcp_input", "dhcp_input", "ip4_input"):
        assert f not in hello, f
        assert f in web, f
    b = boot("hello", append="ip=10.0.0.2/24")  # a network option: this image has none
    assert "unknown option 'ip'" in b.output, b.output
