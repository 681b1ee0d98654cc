"""The app calls of issue 14, checked inside the guest by tests/apps/apitest:
the mutex across cores, zebu_random, the wall clock, floating-point printf
and the local address of sockets. Numbers are parsed and compared, not just
seen."""
import re

import pytest

from conftest import boot


def apitest(mode, smp=1, append="", extra=(), timeout=120):
    b = boot("apitest", append=f"mode={mode} {append}".strip(), timeout=timeout,
             extra=["--smp", str(smp)] + list(extra))
    assert b.status == 0, b.output
    assert "apitest: done" in b.output, b.output
    return b


@pytest.mark.parametrize("smp", [2, 4])
def test_mutex_counts_every_increment_from_threads_on_every_core(smp):
    b = apitest("mutex", smp, "count=20000 threads=3")
    m = re.search(r"apitest: mutex: (\d+) threads on (\d+) cores, (\d+) increments each: "
                  r"total (\d+) of (\d+), (\d+) waits", b.output)
    assert m, b.output
    threads, cores, each, total, expect = (int(m[i]) for i in range(1, 6))
    assert (threads, cores, each) == (3 * smp, smp, 20000)
    assert total == expect == threads * each
    # The same loop without the mutex loses increments: the test can fail.
    lost = re.search(r"without the mutex (\d+) of (\d+) increments", b.output)
    assert lost and int(lost[1]) < int(lost[2]), b.output
    # trylock from another core: -EBUSY (-16) while held, 0 once free.
    t = re.search(r"trylock on core (\d+): held (-?\d+), free (-?\d+)", b.output)
    assert t and (int(t[1]), int(t[2]), int(t[3])) == (smp - 1, -16, 0), b.output
    # A waiter on another core sleeps: its core ran its neighbour meanwhile.
    w = re.search(r"waiter on core (\d+): done while held (\d), its neighbour ran (\d+) times "
                  r"meanwhile, waits (\d+)", b.output)
    assert w, b.output
    assert int(w[1]) == smp - 1 and int(w[2]) == 0
    assert int(w[3]) > 100 and int(w[4]) == 1
