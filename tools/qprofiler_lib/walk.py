"""The frame-pointer walk, done on the host over a stack window read in bulk.

The kernel keeps one chain (kernel/panic.c walks the same one in the guest):
[rbp] is the caller's RBP, [rbp + 8] the return address; every thread's
chain ends at thread_start (RBP = 0 there), the boot stack's at
long_mode_entry, an AP's idle stack at ap_main. An interrupt entry
(kernel/arch/isr.asm, isr_common) pushes a frame record {RBP, RIP} of the
interrupted code right below its struct trap_frame, so a walk from inside a
handler crosses into the interrupted code: the return address into
isr_common is followed by that record, whose RIP is exact (not a return
address) and whose trap frame holds the interrupted RSP.

Checks on every step: the frame address is 8-aligned, moves up the stack
(except across an interrupt record, which may come from another stack),
stays within max_span of the sampled RSP, and every return address lies in
a function and right after a call instruction. Return addresses are
symbolized at ret - 1, inside the call.

Frameless code: gcc gives trivial leaves no frame, and a sample (TCG stops
a vCPU between translation blocks) often lands on a function's first
instruction, before its frame exists. When the function at the PC does not
start with push %rbp, or the PC is before that push, the caller is [rsp];
right after the push it is [rsp + 8]; on a `ret` it is [rsp]. A value that
does not follow a call instruction is not taken.
"""

ROOTS = ("thread_start", "long_mode_entry", "ap_main")
INTERRUPT_RETURNS = ("isr_common",)
TRAP_FRAME_RSP = 20 * 8    # struct trap_frame (kernel/arch/trap.h): rsp after 20 words
RECORD_TO_TRAP_FRAME = 16  # isr_common pushes the record right below the frame

PUSH_RBP = 0x55
RET = 0xC3
ENDBR64 = b"\xf3\x0f\x1e\xfa"

# Walk results
OK = "ok"                    # ended at a thread entry
OUTSIDE = "outside-image"    # PC outside the image: firmware, a parked AP's trampoline
STATUSES = (OK, OUTSIDE, "misaligned", "backwards", "too-far", "unreadable",
            "bad-return", "depth", "chain-ended")


class StackWindow:
    """Guest memory the sampler read; more reads through `fetch` on demand."""

    def __init__(self, fetch=None, max_fetches=4, fetch_size=2048):
        self.chunks = []  # (start, bytes)
        self.fetch = fetch
        self.fetches_left = max_fetches
        self.fetch_size = fetch_size
        self.fetches = 0

    def add(self, start, data):
        if data:
            self.chunks.append((start, data))

    def u64(self, addr):
        for start, data in self.chunks:
            off = addr - start
            if 0 <= off <= len(data) - 8:
                return int.from_bytes(data[off:off + 8], "little")
        if self.fetch is None or self.fetches_left <= 0:
            return None
        self.fetches_left -= 1
        self.fetches += 1
        data = self.fetch(addr, self.fetch_size)
        if not data:
            return None
        self.chunks.append((addr, data))
        return int.from_bytes(data[0:8], "little") if len(data) >= 8 else None


class Frame:
    """One frame: pc is the address to symbolize (exact PC, or ret - 1)."""
    __slots__ = ("pc", "symbol")

    def __init__(self, pc, symbol):
        self.pc, self.symbol = pc, symbol


class Walker:
    def __init__(self, elf, max_depth=64, max_span=16 << 20):
        self.elf = elf
        self.max_depth = max_depth
        self.max_span = max_span
        self.roots = {elf.by_name[n].addr for n in ROOTS if n in elf.by_name}
        self.interrupt_returns = {elf.by_name[n].addr for n in INTERRUPT_RETURNS
                                  if n in elf.by_name}
        self._prologue = {}

    def _prologue_of(self, sym):
        """(offset of push %rbp, has push) for a function, cached."""
        p = self._prologue.get(sym.addr)
        if p is None:
            code = self.elf.code_bytes(sym.addr, 5)
            skip = 4 if code[:4] == ENDBR64 else 0
            p = (skip, len(code) > skip and code[skip] == PUSH_RBP)
            self._prologue[sym.addr] = p
        return p

    def _frameless_caller(self, pc, sym, rsp, mem):
        """Return address of a function stopped outside its frame, or None."""
        skip, has_push = self._prologue_of(sym)
        off = pc - sym.addr
        if not has_push or off <= skip or self.elf.code_bytes(pc, 1) == bytes([RET]):
            slot = rsp
        elif off == skip + 1:
            slot = rsp + 8
        else:
            return None
        if slot & 7:
            return None
        ret = mem.u64(slot)
        if ret is None or not self.elf.follows_call(ret) or self.elf.lookup(ret - 1) is None:
            return None
        return ret

    def _leaf(self, rip, sym, rsp, mem, frames):
        """Appends the frame at rip and, for a frameless leaf, its caller
        from [rsp]; True when a thread root was reached."""
        frames.append(Frame(rip, sym))
        if sym.addr in self.roots:
            return True
        ret = self._frameless_caller(rip, sym, rsp, mem)
        if ret is not None:
            csym = self.elf.lookup(ret - 1)
            frames.append(Frame(ret - 1, csym))
            if csym.addr in self.roots:
                return True
        return False

    def walk(self, rip, rsp, rbp, mem):
        """Frames leaf first and a status (OK when the chain reached a root)."""
        frames = []
        lookup = self.elf.lookup
        sym = lookup(rip)
        if sym is None:
            return [Frame(rip, None)], OUTSIDE
        if self._leaf(rip, sym, rsp, mem, frames):
            return frames, OK
        low = rsp - 8   # a frame may sit at rsp itself only after a push
        while len(frames) < self.max_depth:
            if rbp == 0:
                return frames, "chain-ended"
            if rbp & 7:
                return frames, "misaligned"
            if rbp <= low:
                return frames, "backwards"
            if rbp - rsp > self.max_span:
                return frames, "too-far"
            saved, ret = mem.u64(rbp), mem.u64(rbp + 8)
            if saved is None or ret is None:
                return frames, "unreadable"
            csym = lookup(ret - 1)
            if csym is None or not self.elf.follows_call(ret):
                return frames, "bad-return"
            frames.append(Frame(ret - 1, csym))
            if csym.addr in self.roots:
                return frames, OK
            low = rbp
            rbp = saved
            if csym.addr in self.interrupt_returns:
                # rbp is now the interrupt's frame record {RBP, RIP}.
                record = rbp
                irip, irbp = mem.u64(record + 8), mem.u64(record)
                irsp = mem.u64(record + RECORD_TO_TRAP_FRAME + TRAP_FRAME_RSP)
                if irip is None or irbp is None or irsp is None:
                    return frames, "unreadable"
                isym = lookup(irip)
                if isym is None:
                    return frames, "bad-return"
                if self._leaf(irip, isym, irsp, mem, frames):
                    return frames, OK
                rbp, rsp, low = irbp, irsp, irsp - 8
        return frames, "depth"
