"""A client for QEMU's gdbstub: the GDB remote serial protocol's packet layer.

A packet is `$payload#cs` with cs the payload's byte sum mod 256 in two hex
digits; the receiver answers `+` (good) or `-` (resend). QEMU 7.2 has no
no-ack mode, so every packet is acknowledged both ways; acks are single bytes
and cost no round trip. QEMU handles the bytes it receives in order, so
several requests go out in one write and their replies are read back in
order ("pipelining"): a sample costs two round trips, not one per request.
A 0x03 byte stops a running VM (QEMU answers with a stop reply, `T...`);
`c` resumes it and has no reply until the next stop. While the VM runs QEMU
takes any byte as a stop request and drops the rest of that packet, so
every request other than the stop itself goes out while the VM is stopped.

vCPUs are threads 1..N (`qfThreadInfo`); `Hg<id>` selects the one `g`
(registers) reads. `m addr,len` reads memory, at most 2048 bytes per packet
in QEMU 7.2 (its packet buffer is 4096 hex digits).
"""
import socket
import time

MAX_READ = 2048          # bytes per 'm' packet QEMU 7.2 accepts
X86_64_GPRS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
               "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip")


class RspError(Exception):
    pass


class GuestGone(RspError):
    """The connection closed: QEMU exited (the guest ended) or dropped us."""


class StubBusy(RspError):
    """Nothing answered: another debugger holds QEMU's only gdbstub client slot."""


def checksum(payload):
    return sum(payload) & 0xFF


def frame(payload):
    return b"$" + payload + b"#%02x" % checksum(payload)


def unescape(data):
    """Undoes the protocol's '}' escapes and '*' run-length encoding."""
    if b"}" not in data and b"*" not in data:
        return data
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x7D and i + 1 < len(data):
            out.append(data[i + 1] ^ 0x20)
            i += 2
        elif c == 0x2A and out and i + 1 < len(data):
            out += bytes([out[-1]]) * (data[i + 1] - 29)
            i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def parse_address(addr):
    """'unix:PATH', a path, 'tcp:HOST:PORT', 'HOST:PORT' or ':PORT'."""
    if addr.startswith("unix:"):
        return socket.AF_UNIX, addr[5:].split(",")[0]
    if "/" in addr and not addr.startswith("tcp:"):
        return socket.AF_UNIX, addr
    if addr.startswith("tcp:"):
        addr = addr[4:]
    host, _, port = addr.rpartition(":")
    return socket.AF_INET, (host or "127.0.0.1", int(port.split(",")[0]))


class GdbRemote:
    def __init__(self, address, timeout=3.0):
        self.address = address
        self.timeout = timeout
        self.sock = None
        self.buf = bytearray()
        self.running = True
        self.stopped_at = None

    # ---- connection ----

    def connect(self, handshake_timeout=1.5):
        """Connects and checks that the stub answers. Raises StubBusy when it
        does not (QEMU accepts a second connection but never serves it)."""
        family, target = parse_address(self.address)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(handshake_timeout)
        try:
            self.sock.connect(target)
        except OSError as e:
            self.sock.close()
            self.sock = None
            raise RspError(f"cannot connect to the gdbstub at {self.address}: {e}") from e
        if family == socket.AF_INET:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            # QEMU 7.2 stops the VM when a debugger connects and says so with
            # an unsolicited stop reply; a stub serving someone else says
            # nothing at all.
            self.write(frame(b"qSupported:swbreak+"))
            while self.read_packet(handshake_timeout).startswith((b"T", b"S")):
                pass
        except (socket.timeout, TimeoutError) as e:
            self.close()
            raise StubBusy(f"the gdbstub at {self.address} does not answer: another "
                           "debugger is probably attached (QEMU serves one)") from e
        # Stopped either way from here: 0x03 stops a running VM (its stop
        # reply comes before qC's answer) and is ignored by a stopped one.
        self.write(b"\x03" + frame(b"qC"))
        while not self.read_packet().startswith(b"QC"):
            pass
        self.running = False

    def resync(self):
        """Drops whatever replies are in flight after an error: stops the VM
        and reads up to the answer of a marker request."""
        self.buf.clear()
        self.write(b"\x03" + frame(b"qC"))
        while not self.read_packet().startswith(b"QC"):
            pass
        self.running = False

    def detach(self):
        """Resumes the VM and leaves ('D'); the connection closes."""
        if self.sock is None:
            return
        try:
            if self.running:
                self.stop()   # a running stub takes any byte as "stop"
            self.request(b"D")
        except (RspError, OSError, TimeoutError):
            pass
        self.close()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    # ---- bytes ----

    def write(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise GuestGone("the gdbstub connection closed") from e

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no reply from the gdbstub")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 16)
        except ConnectionResetError as e:
            raise GuestGone("the gdbstub connection closed") from e
        if not data:
            raise GuestGone("the gdbstub connection closed")
        self.buf += data

    def read_packet(self, timeout=None):
        """The next packet's payload; acknowledges it. Skips acks."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            start = self.buf.find(b"$")
            if start < 0:
                self.buf.clear()  # only acks so far
                self._fill(deadline)
                continue
            end = self.buf.find(b"#", start)
            if end < 0 or len(self.buf) < end + 3:
                self._fill(deadline)
                continue
            payload = bytes(self.buf[start + 1:end])
            cs = self.buf[end + 1:end + 3]
            del self.buf[:end + 3]
            if int(cs, 16) != checksum(payload):
                self.write(b"-")
                continue
            self.write(b"+")
            return unescape(payload)

    # ---- requests ----

    def request(self, payload):
        self.write(frame(payload))
        return self.read_packet()

    def batch(self, payloads, prefix=b""):
        """Sends every payload in one write, returns the replies in order."""
        self.write(prefix + b"".join(frame(p) for p in payloads))
        return [self.read_packet() for _ in payloads]

    def stop_and(self, payloads):
        """Stops the VM (0x03) and runs `payloads` in the same write.
        Returns (stop reply, replies)."""
        if not self.running:
            return None, self.batch(payloads)
        self.write(b"\x03" + b"".join(frame(p) for p in payloads))
        stop = self.read_packet()
        while not stop.startswith((b"T", b"S", b"W", b"X")):
            stop = self.read_packet()   # a stray reply; the stop reply follows
        if stop.startswith((b"W", b"X")):
            raise GuestGone("the guest exited")
        self.stopped_at = time.perf_counter()   # the VM is stopped by now
        self.running = False
        return stop, [self.read_packet() for _ in payloads]

    def stop(self):
        return self.stop_and([])[0]

    def resume(self):
        """Resumes every vCPU ('c'); there is no reply until the next stop."""
        self.write(frame(b"c"))
        self.running = True

    # ---- helpers ----

    def threads(self):
        """vCPU thread ids, in order."""
        ids = []
        reply = self.request(b"qfThreadInfo")
        while reply.startswith(b"m"):
            ids += [int(t.split(b".")[-1], 16) for t in reply[1:].split(b",") if t]
            reply = self.request(b"qsThreadInfo")
        return ids

    @staticmethod
    def select(tid):
        return b"Hg%x" % tid

    @staticmethod
    def read_mem(addr, length):
        return b"m%x,%x" % (addr, length)

    @staticmethod
    def parse_regs(reply):
        """rax..r15 and rip from a 'g' reply (x86-64: 8 bytes each, little-endian)."""
        if reply.startswith(b"E") or len(reply) < 17 * 16:
            raise RspError(f"bad register reply {reply[:16]!r}")
        raw = bytes.fromhex(reply[:17 * 16].decode())
        return dict(zip(X86_64_GPRS, (int.from_bytes(raw[i:i + 8], "little")
                                      for i in range(0, 17 * 8, 8))))

    @staticmethod
    def parse_mem(reply):
        if reply.startswith(b"E") and len(reply) == 3:
            return None
        return bytes.fromhex(reply.decode())

    def read_memory(self, addr, length):
        """Reads length bytes in MAX_READ pieces (pipelined); None on an error."""
        pieces = [(a, min(MAX_READ, addr + length - a)) for a in range(addr, addr + length, MAX_READ)]
        out = bytearray()
        for reply in self.batch([self.read_mem(a, n) for a, n in pieces]):
            data = self.parse_mem(reply)
            if data is None:
                return None
            out += data
        return bytes(out)
