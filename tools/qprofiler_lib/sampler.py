"""The sampling loops and what they cost the guest.

gdbstub, per sample, while the VM is stopped: one write carries the stop
byte and, for every selected vCPU, `Hg<id>` (several vCPUs only), `g` and
one bulk read (`m`) of the stack around that vCPU's RSP at the previous
sample, so most samples cost one round trip; a vCPU whose RSP left that
window gets a second read at its new RSP. Then the walks (another read only
for a chain that leaves its window), then `c`. The pause is counted from
the stop reply to the `c` (the VM is surely stopped then), and, as an upper
bound, from the stop byte to the `c` (see Cost).

QMP (fallback, leaf only): `info registers` for each vCPU while the VM runs,
as Toro's QProfiler did (no pause; the RIP is whatever the vCPU last wrote
back, which measured close to the truth here), or with live=False between a
`stop` and a `cont`, all pipelined in one write (exact, but QEMU's stop and
resume through QMP take milliseconds).

Intervals are jittered (uniform in [1-j, 1+j] times the period) so the
sampler cannot lock onto a periodic loop in the guest.
"""
import random
import time

from .qmp import Qmp, QmpError
from .rsp import MAX_READ, GdbRemote, GuestGone, RspError
from .walk import Frame, StackWindow

LEAF_ONLY = "leaf-only"


class Sample:
    __slots__ = ("t", "vcpu", "frames", "status")

    def __init__(self, t, vcpu, frames, status):
        self.t, self.vcpu, self.frames, self.status = t, vcpu, frames, status


class Cost:
    """What sampling cost, measured on the host."""

    def __init__(self, requested_hz):
        self.requested_hz = requested_hz
        self.ticks = 0            # stops of the VM (one sample per vCPU each)
        self.wall = 0.0
        # Seconds the VM was stopped, per tick: from the stop reply (it is
        # stopped by then) to the resume, and from the stop request to the
        # resume. The truth lies between, near the first: the VM runs on
        # until QEMU's main loop, busy host permitting, gets to the request.
        self.pauses = []
        self.pauses_max = []
        self.extra_reads = 0      # reads a walk needed past its window
        self.window_misses = 0    # vCPUs whose RSP left the prefetched window
        self.errors = 0

    def summary(self):
        p = sorted(self.pauses)
        paused = sum(p)
        paused_max = sum(self.pauses_max)

        def pct(q):
            return p[min(len(p) - 1, int(q * len(p)))] if p else 0.0
        return {
            "requested_hz": self.requested_hz,
            "achieved_hz": self.ticks / self.wall if self.wall > 0 else 0.0,
            "ticks": self.ticks,
            "wall_s": self.wall,
            "paused_s": paused,
            "paused_fraction": paused / self.wall if self.wall > 0 else 0.0,
            "paused_fraction_max": paused_max / self.wall if self.wall > 0 else 0.0,
            "pause_us_median": pct(0.5) * 1e6,
            "pause_us_p99": pct(0.99) * 1e6,
            "pause_us_max": (p[-1] if p else 0.0) * 1e6,
            "extra_reads": self.extra_reads,
            "window_misses": self.window_misses,
            "errors": self.errors,
        }


class GdbSampler:
    """Per sample, usually one round trip: the stop byte, then per vCPU `Hg`
    (only when the guest has several), `g`, and one bulk read of the stack
    window around where that vCPU's RSP was at the previous sample, all in
    one write. A vCPU whose RSP moved out of its window gets a second read
    at the new RSP (a window miss)."""
    backend = "gdbstub"

    def __init__(self, remote: GdbRemote, walker, vcpus, stack_bytes=1024):
        self.remote = remote
        self.walker = walker
        self.stack_bytes = stack_bytes        # bytes needed above RSP
        self.slack = (MAX_READ - stack_bytes) // 2  # window reach below the last RSP
        self.tids = remote.threads()
        if not self.tids:
            raise RspError("the gdbstub lists no vCPUs")
        self.vcpus = list(range(len(self.tids))) if vcpus is None else vcpus
        for v in self.vcpus:
            if not 0 <= v < len(self.tids):
                raise RspError(f"no vCPU {v}: the guest has {len(self.tids)}")
        # After every stop QEMU points `g` back at the vCPU it reports; with a
        # single vCPU there is nothing to select.
        self.select = len(self.tids) > 1
        if not self.select:
            if remote.request(GdbRemote.select(self.tids[0])) != b"OK":
                raise RspError("the gdbstub refused to select vCPU 0")
        self.window_at = [None] * len(self.vcpus)
        self.bad_pages = set()   # page numbers a read failed on

    def vcpu_count(self):
        return len(self.tids)

    def _clip(self, addr, n):
        """n, shortened so that the read stops before a page known to be
        unreadable (the guard page below another thread's stack: reading up
        from near the top of one stack runs into the next one's guard)."""
        page = (addr >> 12) + 1
        while page << 12 < addr + n:
            if page in self.bad_pages:
                return (page << 12) - addr
            page += 1
        return n

    def _read(self, addr, n):
        """One read of at most n bytes; when it fails across a page boundary,
        the first page alone, and the next page is remembered as unreadable."""
        n = self._clip(addr, n)
        if n < 16:
            self.bad_pages.discard((addr >> 12) + 1)   # maybe stale: try again
            n = 16
        data = GdbRemote.parse_mem(self.remote.request(GdbRemote.read_mem(addr, n)))
        first_end = ((addr >> 12) + 1) << 12
        if data is None and addr + n > first_end:
            data = GdbRemote.parse_mem(self.remote.request(
                GdbRemote.read_mem(addr, first_end - addr)))
            if data is not None:
                if len(self.bad_pages) > 256:
                    self.bad_pages.clear()
                self.bad_pages.add(first_end >> 12)
        return data

    def _fetch(self, addr, n):
        return self._read(addr, n)

    def sample(self, t, cost):
        t0 = time.perf_counter()
        reqs = []
        for i, v in enumerate(self.vcpus):
            if self.select:
                reqs.append(GdbRemote.select(self.tids[v]))
            reqs.append(b"g")
            if self.window_at[i] is not None:
                reqs.append(GdbRemote.read_mem(self.window_at[i],
                                               self._clip(self.window_at[i], MAX_READ)))
        _stop, replies = self.remote.stop_and(reqs)
        k, regs, windows, misses = 0, [], [], []
        for i in range(len(self.vcpus)):
            if self.select:
                if replies[k] != b"OK":
                    raise RspError(f"cannot select vCPU {self.vcpus[i]}: {replies[k]!r}")
                k += 1
            r = GdbRemote.parse_regs(replies[k])
            k += 1
            regs.append(r)
            window = None
            if self.window_at[i] is not None:
                start, data = self.window_at[i], GdbRemote.parse_mem(replies[k])
                k += 1
                need = self._clip(r["rsp"], self.stack_bytes)
                if data and start <= r["rsp"] <= start + len(data) - need:
                    window = (start, data)
            if window is None:
                misses.append(i)
            windows.append(window)
            self.window_at[i] = max(0, (r["rsp"] - self.slack) & ~7)
        if misses:
            cost.window_misses += len(misses)
            for i in misses:
                windows[i] = (regs[i]["rsp"], self._read(regs[i]["rsp"], self.stack_bytes))
        out = []
        for v, r, (start, data) in zip(self.vcpus, regs, windows):
            mem = StackWindow(self._fetch)
            mem.add(start, data)
            frames, status = self.walker.walk(r["rip"], r["rsp"], r["rbp"], mem)
            cost.extra_reads += mem.fetches
            out.append(Sample(t, v, frames, status))
        self.remote.resume()
        t1 = time.perf_counter()
        cost.pauses.append(t1 - self.remote.stopped_at)
        cost.pauses_max.append(t1 - t0)
        return out

    def resume(self):
        if not self.remote.running:
            self.remote.resume()

    def recover(self):
        self.remote.resync()
        self.remote.resume()

    def close(self):
        self.remote.detach()


class QmpSampler:
    backend = "qmp"

    def __init__(self, qmp: Qmp, elf, vcpus, live=True):
        self.qmp = qmp
        self.elf = elf
        self.live = live
        self.indexes = qmp.cpu_indexes()
        self.vcpus = list(range(len(self.indexes))) if vcpus is None else vcpus
        for v in self.vcpus:
            if not 0 <= v < len(self.indexes):
                raise QmpError(f"no vCPU {v}: the guest has {len(self.indexes)}")
        cmds = [Qmp.hmp("info registers", self.indexes[v]) for v in self.vcpus]
        self.commands = cmds if live else [("stop", None)] + cmds + [("cont", None)]
        self.first = 0 if live else 1

    def vcpu_count(self):
        return len(self.indexes)

    def sample(self, t, cost):
        t0 = time.perf_counter()
        replies = self.qmp.execute_many(self.commands)
        if not self.live:   # stop, reads and cont go out together: one bound only
            cost.pauses.append(time.perf_counter() - t0)
            cost.pauses_max.append(cost.pauses[-1])
        out = []
        for i, v in enumerate(self.vcpus):
            rip = Qmp.parse_registers(replies[self.first + i])["rip"]
            out.append(Sample(t, v, [Frame(rip, self.elf.lookup(rip))], LEAF_ONLY))
        return out

    def resume(self):
        pass

    def recover(self):
        if not self.live:
            self.qmp.execute("cont")

    def close(self):
        self.qmp.close()


def run(sampler, duration, rate, jitter=0.5, seed=None, should_stop=None, on_tick=None):
    """Samples for `duration` seconds (None: until the guest goes or
    should_stop() says so) at `rate` Hz (0: as fast as it can).
    Returns (samples, cost, why it ended)."""
    rng = random.Random(seed)
    cost = Cost(rate)
    samples = []
    period = 1.0 / rate if rate > 0 else 0.0
    sampler.resume()
    start = time.perf_counter()
    next_t = start
    ended = "duration"
    while True:
        now = time.perf_counter()
        if duration is not None and now - start >= duration:
            break
        if should_stop is not None and should_stop():
            ended = "stopped"
            break
        if period:
            next_t += period * rng.uniform(1.0 - jitter, 1.0 + jitter)
            delay = next_t - now
            if delay > 0:
                time.sleep(delay)
            else:
                next_t = now  # behind: never burst to catch up
        try:
            samples += sampler.sample(time.perf_counter() - start, cost)
            cost.ticks += 1
        except (GuestGone, QmpError) as e:
            ended = f"guest gone ({e})"
            break
        except (RspError, TimeoutError) as e:
            cost.errors += 1
            if cost.errors > 10:
                ended = f"too many errors ({e})"
                break
            try:
                sampler.recover()
            except (RspError, QmpError, TimeoutError, OSError) as e2:
                ended = f"lost the guest ({e2})"
                break
        if on_tick is not None:
            on_tick(cost)
    cost.wall = time.perf_counter() - start
    return samples, cost, ended
