"""Faults, panics and assertions: a report with vector, registers and a
symbolized backtrace, and a failing exit status."""
import re

import pytest

from conftest import boot

PANIC_STATUS = 127


def frames(output):
    """Function names of the backtrace, innermost first."""
    bt = output.split("backtrace:", 1)[1]
    return re.findall(r"#\d+\s+[0-9a-f]{16} (\S+?)\+0x", bt)


def check_report(b):
    assert b.status == PANIC_STATUS, b.output
    assert "ktest: still running" not in b.output
    for reg in ("RAX", "RBX", "RSP", "RBP", "RIP", "R15", "RFLAGS", "CR3"):
        assert re.search(rf"\b{reg}\s+[0-9a-f]{{4,16}}\b", b.output), reg
    assert f"zebu: kernel stopped (exit status {PANIC_STATUS})" in b.output
    fs = frames(b.output)
    # The chain ends at the main thread's first frame: nothing wandered.
    assert fs[-3:] == ["app_main_thread", "sched_thread_main", "thread_start"], fs
    return fs


def test_write_to_unmapped_address_reports_page_fault():
    b = boot("ktest", append="mode=pagefault")
    assert "page fault (#PF), vector 14" in b.output, b.output
    assert "page not present, write, kernel" in b.output
    assert "address (CR2) 00000dead0000000" in b.output
    fs = check_report(b)
    assert fs[0] == "fault_write_unmapped"
    assert "main" in fs


def test_null_pointer_write_faults_because_page_zero_is_unmapped():
    b = boot("ktest", append="mode=null")
    assert "address (CR2) 0000000000000010  <- NULL pointer dereference" in b.output, b.output
    assert check_report(b)[0] == "fault_write_unmapped"


def test_divide_error():
    b = boot("ktest", append="mode=divide")
    assert "divide error (#DE), vector 0" in b.output
    assert check_report(b)[0] == "fault_divide"


def test_invalid_opcode():
    b = boot("ktest", append="mode=ud")
    assert "invalid opcode (#UD), vector 6" in b.output
    assert check_report(b)[0].startswith("fault_dispatch")


@pytest.mark.parametrize("mode,message", [
    ("panic", "PANIC: abort() called"),
    ("assert", 'PANIC: assertion failed: strcmp(m, "assert") != 0 in fault_dispatch at '
               "tests/apps/ktest/main.c"),
])
def test_panic_and_assert_report_like_a_fault(mode, message):
    b = boot("ktest", append=f"mode={mode}")
    assert message in b.output, b.output
    fs = check_report(b)
    assert fs[0] == "panic"
    assert "fault_dispatch" in fs


def test_no_fault_runs_to_completion():
    b = boot("ktest", append="mode=none")
    assert "ktest: still running" in b.output
    assert b.status == 0
