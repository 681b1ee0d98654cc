"""Rules of the source tree that a compiler does not check (docs/contributing.md,
Layers)."""
import glob
import os
import re
import subprocess

import pytest

from conftest import ROOT

# The only C files that may contain inline assembly.
ASM_ALLOWED = {"kernel/arch/cpu.h"}
ASM_RE = re.compile(r"\b(__asm__|asm)\s*(volatile|__volatile__)?\s*\(")
INCLUDE_RE = re.compile(r'#\s*include\s*[<"]([^>"]+)[>"]')


def sources(*dirs):
    for d in dirs:
        for ext in ("c", "h"):
            for p in glob.glob(os.path.join(ROOT, d, "**", f"*.{ext}"), recursive=True):
                yield os.path.relpath(p, ROOT)


def test_inline_asm_only_in_the_arch_header():
    offenders = []
    for rel in sources("kernel", "drivers", "libc", "net", "include", "apps", "lib"):
        with open(os.path.join(ROOT, rel)) as f:
            if ASM_RE.search(f.read()) and rel not in ASM_ALLOWED:
                offenders.append(rel)
    assert offenders == []


def test_portable_code_includes_no_kernel_or_driver_headers():
    offenders = []
    for rel in sources("net", "libc", "include", "lib"):
        with open(os.path.join(ROOT, rel)) as f:
            for inc in INCLUDE_RE.findall(f.read()):
                if inc.startswith(("kernel/", "drivers/", "../")):
                    offenders.append(f"{rel}: {inc}")
    assert offenders == []


# gcc's freestanding headers, which every C compiler provides.
FREESTANDING = {"stdint.h", "stddef.h", "stdbool.h", "stdarg.h", "limits.h"}


# The public headers in include/: zebu.h and the libraries' (zebu_http.h).
PUBLIC = {os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "include", "zebu*.h"))}


def app_code_includes(top):
    """(file, included name) for every #include under top."""
    for rel in sources(top):
        with open(os.path.join(ROOT, rel)) as f:
            for inc in INCLUDE_RE.findall(f.read()):
                yield rel, inc


def app_code_may_include(rel, inc):
    """App code (apps/, lib/) may include the public headers, the C
    library's, the compiler's freestanding ones and its own."""
    local = os.path.exists(os.path.join(ROOT, os.path.dirname(rel), inc))
    libc = os.path.exists(os.path.join(ROOT, "libc", "include", inc))
    return inc in PUBLIC or local or libc or inc in FREESTANDING


def test_apps_include_only_the_public_header():
    """An app sees the public headers (zebu.h, zebu_http.h), the C library
    (libc/include, or the compiler's freestanding headers: portable app
    code such as the web server's HTTP parser also builds on the host) and
    its own headers; never a kernel, driver or net/ header."""
    assert [f"{rel}: {inc}" for rel, inc in app_code_includes("apps")
            if not app_code_may_include(rel, inc)] == []


def test_libraries_include_only_libc_and_the_public_headers():
    """lib/ (apps' libraries, linked into apps) is app code: the C library,
    the public headers and its own headers; and only a library's Zebu
    binding (lib/http/serve.c) includes zebu.h, the rest builds on the host."""
    offenders = []
    for rel, inc in app_code_includes("lib"):
        if not app_code_may_include(rel, inc):
            offenders.append(f"{rel}: {inc}")
        if inc == "zebu.h" and rel != "lib/http/serve.c":
            offenders.append(f"{rel}: {inc} (only the binding may)")
    assert offenders == []


# What drivers/ may include beyond drivers/ itself and the C library: the
# one header that hands them the kernel's services (and includes the CPU's
# instructions, kernel/arch/cpu.h), and, for a network driver, the boundary
# it implements; virtio-net also takes the RSS hash (net/toeplitz.h, pure
# functions, no state), which the stack shares to pick ports that land on a
# queue.
DRIVER_ENV = "drivers/env.h"
DRIVER_ALLOWED = {
    "drivers/env.h": {"kernel/arch/cpu.h"},
    "drivers/virtio_net.h": {"net/netdev.h"},
    "drivers/virtio_net.c": {"net/toeplitz.h"},
}


def test_drivers_depend_downward_only():
    """drivers/ sees the kernel only through drivers/env.h (DMA memory,
    register mappings, interrupt vectors, logging, options), never its
    internals (scheduler, page allocator, page tables, trap table, command
    line), nor the network stack beyond net/netdev.h, nor the app API."""
    offenders = []
    for rel in sources("drivers"):
        with open(os.path.join(ROOT, rel)) as f:
            for inc in INCLUDE_RE.findall(f.read()):
                libc = os.path.exists(os.path.join(ROOT, "libc", "include", inc))
                if inc.startswith("drivers/") and os.path.exists(os.path.join(ROOT, inc)):
                    continue
                if libc or inc in FREESTANDING or inc == "zebu_option.h" and rel == DRIVER_ENV:
                    continue
                if inc in DRIVER_ALLOWED.get(rel, set()):
                    continue
                offenders.append(f"{rel}: {inc}")
    assert offenders == []


def test_the_driver_environment_is_implemented_in_one_kernel_file():
    """drivers/env.h is the drivers' side; kernel/driver_env.c, over the
    kernel's internals, is the only kernel file that includes it."""
    users = []
    for rel in sources("kernel"):
        with open(os.path.join(ROOT, rel)) as f:
            if DRIVER_ENV in INCLUDE_RE.findall(f.read()):
                users.append(rel)
    assert users == ["kernel/driver_env.c"]


# The kernel files that implement include/zebu.h's calls (the app API).
# The rest of the kernel declares its options through kernel/option.h and
# never sees the app API.
ZEBU_H_IMPLEMENTERS = {
    "kernel/api.c",      # threads, cores, events, mailboxes, memory
    "kernel/app.c",      # exit, console, command line, boot information
    "kernel/mutex.c",    # zebu_mutex_*
    "kernel/net.c",      # zebu_net_* (addresses, counters, readiness)
    "kernel/net_api.c",  # sockets and buffers
    "kernel/random.c",   # zebu_random
}


def test_only_the_api_files_of_the_kernel_include_zebu_h():
    offenders = []
    for rel in sources("kernel"):
        with open(os.path.join(ROOT, rel)) as f:
            for inc in INCLUDE_RE.findall(f.read()):
                if inc == "zebu.h" and rel not in ZEBU_H_IMPLEMENTERS:
                    offenders.append(rel)
    assert offenders == []
    for rel in ZEBU_H_IMPLEMENTERS:  # the list names files that exist
        assert os.path.exists(os.path.join(ROOT, rel)), rel


MD_RE = re.compile(r"[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b")
# Notes kept outside the repository; nothing in it may point there.
OUTSIDE_RE = re.compile(r"\b(STYLE|DESIGN|FIELD-NOTES)(\.md)?\b|\.\./shared/")


def tracked_text_files():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    for rel in out.stdout.split():
        if rel.endswith((".png", ".jpg", ".iso", ".bin")) or rel.startswith("tests/host/fuzz_seeds"):
            continue
        with open(os.path.join(ROOT, rel), "rb") as f:
            data = f.read()
        if b"\0" not in data:
            yield rel, data.decode("utf-8", "replace")


def test_documents_cited_are_in_the_repository():
    """Code and docs cite only files a clone has (docs/contributing.md):
    every NAME.md mentioned exists in the repository, and nothing points
    at the project's notes outside it."""
    files = {rel for rel, _ in tracked_text_files()}
    names = {os.path.basename(f) for f in files}
    missing, outside = [], []
    for rel, text in tracked_text_files():
        if rel == "tests/system/test_tree.py":
            continue  # this file names what it looks for
        for ref in MD_RE.findall(text):
            if ref not in files and os.path.basename(ref) not in names:
                missing.append(f"{rel}: {ref}")
        outside += [f"{rel}: {m.group(0)}" for m in OUTSIDE_RE.finditer(text)]
    assert missing == []
    assert outside == []


def c_defines(rel):
    with open(os.path.join(ROOT, rel)) as f:
        text = f.read()
    defs = dict(re.findall(r"^#define\s+(\w+)\s+(.+?)\s*$", text, re.M))
    out = {}
    for name, expr in defs.items():
        expr = re.sub(r"\b[A-Z_]+\b", lambda m: str(out.get(m.group(0), m.group(0))), expr)
        if re.fullmatch(r"[0-9xa-fA-F+*() ]+", expr):
            out[name] = eval(expr)  # noqa: S307 - integer constants of our own header
    return out


def test_trampoline_layout_agrees_between_asm_and_c():
    """boot/ap_trampoline.asm and kernel/smp.h each spell the trampoline's
    addresses (NASM cannot read a C header): they must agree, the slots the
    C side uses must sit where the blob puts them, and the blob must fit
    below the tables."""
    c = c_defines("kernel/smp.h")
    with open(os.path.join(ROOT, "boot/ap_trampoline.asm")) as f:
        asm = {k: int(v, 0) for k, v in
               re.findall(r"^(\w+)\s+equ\s+(0x[0-9A-Fa-f]+|\d+)", f.read(), re.M)}
    common = sorted(set(asm) & set(c))
    assert {"TRAMP_BASE", "TRAMP_MAX", "TRAMP_PARK_APIC", "TRAMP_RELEASE_ARG"} <= set(common)
    assert {k: asm[k] for k in common} == {k: c[k] for k in common}
    assert c["TRAMP_END"] == asm["TRAMP_PARK_STACKS"] + asm["TRAMP_MAX"] * asm["PARK_STACK_SIZE"]
    elf = os.path.join(ROOT, "build", "hello.elf")
    if not os.path.exists(elf):
        pytest.skip("build/hello.elf not built")
    nm = subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout
    sym = {name: int(addr, 16) for addr, _, name in
           (line.split() for line in nm.splitlines() if len(line.split()) == 3)}
    start = sym["ap_trampoline_start"]
    assert sym["slot_ticket"] - start == c["TRAMP_SLOT_TICKETS"] - c["TRAMP_BASE"]
    assert sym["slot_taken"] - start == c["TRAMP_SLOT_PARKED"] - c["TRAMP_BASE"]
    assert sym["ap_trampoline_end"] - start <= c["TRAMP_PARK_APIC"] - c["TRAMP_BASE"]
