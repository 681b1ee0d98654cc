"""tests/apps/jsonsvc, the JSON service docs/writing-apps.md walks
through (so the walk-through cannot rot): votes counted from concurrent
clients, the tally read back as JSON with a unicode choice, and its
errors, over a plain tap with Python's http.client."""
import json
import os
import re
import subprocess

import pytest

from conftest import image
from netbench import ConsoleGuest, have_root_networking, tap_ns

pytestmark = pytest.mark.skipif(not have_root_networking(),
                                reason="needs root, /dev/net/tun, iproute2")

GUEST, HOST = "10.0.9.2", "10.0.9.1"

CLIENT = r"""
import http.client, json, sys, threading
host = sys.argv[1]
def call(method, path, body=None):
    c = http.client.HTTPConnection(host, 80, timeout=30)
    c.request(method, path, body=body)
    r = c.getresponse()
    out = [r.status, json.loads(r.read())]
    c.close()
    return out
def voter(choice, n):
    for _ in range(n):
        assert call("POST", "/votes", json.dumps({"choice": choice}))[0] == 200
ts = [threading.Thread(target=voter, args=(c, n)) for c, n in
      (("tabs", 7), ("spaces", 5), ("caf\u00e9", 3), ("tabs", 4))]
for t in ts: t.start()
for t in ts: t.join()
print(json.dumps({"tally": call("GET", "/votes"),
                  "not_json": call("POST", "/votes", "{"),
                  "no_choice": call("POST", "/votes", '{"pick": "x"}'),
                  "number": call("POST", "/votes", '{"choice": 3}')}))
"""


def test_jsonsvc_walkthrough():
    with tap_ns(f"{HOST}/24") as (ns, tap):
        guest = ConsoleGuest(["--kernel", image("jsonsvc"), "--net", f"tap:{tap}", "--netns", ns,
                              "--append", f"ip={GUEST}/24", "--timeout", "300"])
        try:
            assert guest.wait_for(r"jsonsvc: serving on port 80", 120), guest.output[-2000:]
            p = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", CLIENT,
                                GUEST], capture_output=True, text=True, timeout=300)
            assert p.returncode == 0, p.stderr[-3000:]
            r = json.loads(p.stdout)
            assert r["tally"] == [200, {"tabs": 11, "spaces": 5, "caf\u00e9": 3}], r
            assert r["not_json"] == [400, {"error": "expected a JSON object"}], r
            assert r["no_choice"][0] == 422 and r["number"][0] == 422, r
        finally:
            out = guest.stop()
    assert "panic" not in out.lower(), out[-3000:]


def test_writing_apps_shows_jsonsvc_as_it_is():
    """The walk-through in docs/writing-apps.md quotes the file whole."""
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    with open(os.path.join(root, "docs", "writing-apps.md"), encoding="utf-8") as f:
        doc = f.read()
    with open(os.path.join(root, "tests", "apps", "jsonsvc", "main.c"), encoding="utf-8") as f:
        src = f.read()
    blocks = re.findall(r"```c\n(.*?)```", doc, re.S)
    assert src in blocks, "docs/writing-apps.md must quote tests/apps/jsonsvc/main.c whole"
    assert len(src.splitlines()) < 100
