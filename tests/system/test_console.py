"""The VGA text console: when a VGA device is present, the kernel writes the
same lines there as on serial. Read back through QEMU's monitor."""
import json
import os
import socket
import subprocess
import tempfile
import time

from conftest import LAUNCHER, image


def qmp(sock_path, commands, timeout=10):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock_path)
    f = s.makefile("rw")
    json.loads(f.readline())  # greeting
    replies = []
    for c in [{"execute": "qmp_capabilities"}] + commands:
        f.write(json.dumps(c) + "\n")
        f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r or "error" in r:
                replies.append(r)
                break
    s.close()
    return replies[1:]


def vga_text(sock_path, rows=25):
    """The VGA text screen as lines (character bytes of each 16-bit cell)."""
    cmd = {"execute": "human-monitor-command",
           "arguments": {"command-line": f"xp /{80 * rows * 2}bx 0xb8000"}}
    out = qmp(sock_path, [cmd])[0]["return"]
    data = []
    for line in out.splitlines():
        data += [int(x, 16) for x in line.split(":", 1)[1].split()]
    chars = bytes(data[0::2])
    return [chars[i:i + 80].decode("latin-1").rstrip() for i in range(0, len(chars), 80)]


def test_vga_text_console_shows_the_banner():
    with tempfile.TemporaryDirectory() as d:
        sock = os.path.join(d, "qmp")
        p = subprocess.Popen([LAUNCHER, "--kernel", image("ktest"), "--append", "mode=spin loglevel=2",
                              "--vga", "--qmp", sock, "--timeout", "60"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 50
            lines = []
            while time.time() < deadline:
                time.sleep(0.3)
                if not os.path.exists(sock):
                    continue
                lines = vga_text(sock)
                if any("ktest: mode=spin" in l for l in lines):
                    break
            screen = "\n".join(lines)
            assert "Zebu 0.1.0: booted via multiboot1" in screen, screen
            assert "app: starting ktest" in screen
            assert "ktest: mode=spin" in screen
        finally:
            p.terminate()  # zebu-run takes QEMU down with it
            p.wait()
