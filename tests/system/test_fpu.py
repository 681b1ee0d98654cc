"""Floating point and SSE in app code on every core (tests/apps/fpu), under
whatever accelerator the launcher picks: each thread's results, printed as
raw bits, must equal the same IEEE arithmetic done here. Two threads per core
interleave at every yield and a sleeper on each core brings timer interrupts
into the middle of their loops, so register state lost across a switch or an
interrupt shows as a wrong bit. (Under kvm-pvm the first SSE instruction
ended the VM: tools/zebu_accel.py keeps the launcher off it.)"""
import re
import struct

import pytest

from conftest import boot

LINE_RE = re.compile(r"fpu: core (\d+) thread (\d+) rounds (\d+) double ([0-9a-f]{16}) "
                     r"floats ((?:[0-9a-f]{8} ?){4}) ints ((?:[0-9a-f]{8} ?){4})")
PER_ROUND = 5000
M32 = 0xFFFFFFFF


def f32(x):
    """x rounded to single precision, as an SSE single-precision operation
    rounds its exact result (a double holds the exact product of two
    singles, and double rounding is harmless for + and *)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def expected(core, index, rounds):
    """What tests/apps/fpu/main.c's compute() yields for one thread."""
    p, total = float(core * 2 + index), 0.0
    x = [1.0, 0.5, 0.25, 2.0]
    a = [f32(0.999), f32(1.001), 0.75, f32(f32(0.9) - f32(f32(0.001) * core))]
    b = [0.125, -0.5, float(index), f32(0.01)]
    s = [(0x12345678 + core) & M32, 0x9ABCDEF0, (0x0BADF00D + index) & M32, 1]
    for r in range(rounds):
        for i in range(PER_ROUND):
            k = float(r * PER_ROUND + i + 1)
            total += 1.0 / (k * k + p)
            x = [f32(f32(x[j] * a[j]) + b[j]) for j in range(4)]
            if i % 64 == 0:
                x = [f32(v * 0.5) for v in x]
            for j in range(4):
                v = s[j]
                v ^= (v << 13) & M32
                v ^= v >> 17
                v ^= (v << 5) & M32
                s[j] = v
    dbits = struct.unpack("<Q", struct.pack("<d", total))[0]
    return dbits, [f32_bits(v) for v in x], s


@pytest.mark.parametrize("smp", [1, 4])
def test_floating_point_and_sse_on_every_core(smp):
    rounds = 6
    b = boot("fpu", append=f"rounds={rounds}", extra=["--smp", str(smp)], timeout=120)
    assert b.status == 0, b.output
    lines = LINE_RE.findall(b.output)
    seen = {(int(c), int(t)) for c, t, *_ in lines}
    assert seen == {(c, t) for c in range(smp) for t in range(2)}, b.output
    assert f"fpu: {2 * smp} threads on {smp} cores done" in b.output
    for c, t, r, dbits, floats, ints in lines:
        want_d, want_f, want_i = expected(int(c), int(t), int(r))
        got = (int(dbits, 16), [int(v, 16) for v in floats.split()],
               [int(v, 16) for v in ints.split()])
        assert got == (want_d, want_f, want_i), f"core {c} thread {t}:\n{b.output}"
