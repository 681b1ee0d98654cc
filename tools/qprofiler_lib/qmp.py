"""A small QMP client: JSON commands over QEMU's -qmp unix socket.

Commands are tagged with an id and may be sent several at a time: QEMU runs
them in order and answers each, with asynchronous events (STOP, RESUME, ...)
in between, which are skipped. The profiler uses `stop`, `cont`,
`query-cpus-fast` and `human-monitor-command` ("info registers" with a
cpu-index: QMP itself has no command that returns a vCPU's RIP).
"""
import json
import re
import socket
import time

REG_RE = re.compile(r"\b(RIP|RSP|RBP)=([0-9a-fA-F]{16})")


class QmpError(Exception):
    pass


class Qmp:
    def __init__(self, path, timeout=5.0):
        self.path = path
        self.timeout = timeout
        self.sock = None
        self.buf = b""
        self.next_id = 1

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        try:
            self.sock.connect(self.path)
        except OSError as e:
            raise QmpError(f"cannot connect to QMP at {self.path}: {e}") from e
        greeting = self._read_message()
        if "QMP" not in greeting:
            raise QmpError(f"not a QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _read_message(self):
        while b"\n" not in self.buf:
            try:
                data = self.sock.recv(1 << 16)
            except ConnectionResetError:
                data = b""
            except OSError as e:   # socket.timeout included
                raise QmpError(f"QMP did not answer: {e}") from e
            if not data:
                raise QmpError("the QMP connection closed (QEMU exited?)")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute_many(self, commands):
        """commands: [(name, args or None)]. Returns each command's 'return'."""
        ids, out = [], b""
        for name, args in commands:
            msg = {"execute": name, "id": self.next_id}
            if args:
                msg["arguments"] = args
            ids.append(self.next_id)
            self.next_id += 1
            out += json.dumps(msg).encode() + b"\n"
        try:
            self.sock.sendall(out)
        except OSError as e:
            raise QmpError(f"the QMP connection closed (QEMU exited?): {e}") from e
        results = {}
        deadline = time.monotonic() + self.timeout
        while len(results) < len(ids):
            if time.monotonic() > deadline:
                raise QmpError("QMP did not answer")
            msg = self._read_message()
            if "id" not in msg:
                continue  # an event
            if "error" in msg:
                raise QmpError(f"QMP error: {msg['error'].get('desc', msg['error'])}")
            results[msg["id"]] = msg.get("return")
        return [results[i] for i in ids]

    def execute(self, name, args=None):
        return self.execute_many([(name, args)])[0]

    @staticmethod
    def hmp(command_line, cpu_index=None):
        args = {"command-line": command_line}
        if cpu_index is not None:
            args["cpu-index"] = cpu_index
        return ("human-monitor-command", args)

    def cpu_indexes(self):
        return sorted(c["cpu-index"] for c in self.execute("query-cpus-fast"))

    def running(self):
        return bool(self.execute("query-status").get("running"))

    @staticmethod
    def parse_registers(text):
        regs = {k.lower(): int(v, 16) for k, v in REG_RE.findall(text)}
        if "rip" not in regs:
            raise QmpError("no RIP in 'info registers' output")
        return regs
