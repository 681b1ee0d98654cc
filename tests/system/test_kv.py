"""apps/kv, the JSON key-value service, over a plain tap in a namespace at
-smp 2: every method and error through Python's http.client, requests
(Debian's python3-requests, when installed) and curl; JSON round trips
with unicode; listing by prefix with paging; ETag and If-None-Match;
/healthz; /metrics parsed as the Prometheus text format and checked
against what the test did; then concurrent clients hammering PUT and GET
on overlapping keys, with a final consistency check of every key."""
import json
import re
import subprocess

import pytest

from conftest import image
from netbench import ConsoleGuest, have_root_networking, tap_ns

pytestmark = pytest.mark.skipif(not have_root_networking(),
                                reason="needs root, /dev/net/tun, iproute2")

GUEST, HOST = "10.0.9.2", "10.0.9.1"
READY = r"kv: serving on http://"
CURL = ["curl", "-sS", "--max-time", "20"]

# Runs in the namespace with http.client (and requests if it imports):
# prints one JSON report of what it saw.
CLIENT = r"""
import http.client, json, sys
host = sys.argv[1]
out = {}
c = http.client.HTTPConnection(host, 80, timeout=30)
def req(method, path, body=None, headers={}):
    if isinstance(body, (dict, list, str, int)) and not isinstance(body, bytes):
        body = json.dumps(body, ensure_ascii=False).encode()
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    d = r.read()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, d
value = {"name": "caf\u00e9 \u20ac \U0001F600", "n": [1, 2.5, -3e2, True, None], "o": {"\u00fc": "\n\"x\""}}
s, h, d = req("PUT", "/v1/keys/user%2F1", value, {"Content-Type": "application/json"})
out["put_new"] = [s, json.loads(d)["created"], h.get("etag")]
s, h, d = req("GET", "/v1/keys/user%2F1")
out["get"] = [s, h.get("content-type"), json.loads(d) == value, h.get("etag")]
etag = h.get("etag")
s, h, d = req("GET", "/v1/keys/user%2F1", headers={"If-None-Match": etag})
out["not_modified"] = [s, len(d), h.get("etag")]
s, h, d = req("HEAD", "/v1/keys/user%2F1")
out["head"] = [s, int(h.get("content-length")), len(d)]
s, h, d = req("PUT", "/v1/keys/user%2F1", "replaced \u00e9")
out["put_replace"] = [s, json.loads(d)["created"], h.get("etag") != etag]
s, h, d = req("GET", "/v1/keys/user%2F1", headers={"If-None-Match": etag})
out["changed"] = [s, json.loads(d)]
# A key in UTF-8, percent-encoded on the wire.
s, h, d = req("PUT", "/v1/keys/%C3%BCber", [1, "\u00fc"])
s2, h, d = req("GET", "/v1/keys/%C3%BCber")
out["utf8_key"] = [s, s2, json.loads(d)]
# Errors: each a JSON object with an "error" member.
def err(method, path, body=None, headers={}):
    s, h, d = req(method, path, body, headers)
    return [s, "error" in json.loads(d), h.get("allow")]
out["missing"] = err("GET", "/v1/keys/nope")
out["delete_missing"] = err("DELETE", "/v1/keys/nope")
out["not_json"] = err("PUT", "/v1/keys/bad", b"{not json}")
out["trailing"] = err("PUT", "/v1/keys/bad", b"[1,]")
out["empty_key"] = err("GET", "/v1/keys/")
out["bad_escape"] = err("GET", "/v1/keys/a%zz")
out["control_key"] = err("GET", "/v1/keys/a%01")
out["long_key"] = err("GET", "/v1/keys/" + "k" * 65)
out["method"] = err("POST", "/v1/keys/x", b"1")
out["list_method"] = err("DELETE", "/v1/keys")
out["healthz_method"] = err("PUT", "/healthz", b"1")
out["nowhere"] = err("GET", "/v2/elsewhere")
out["bad_limit"] = err("GET", "/v1/keys?limit=0")
c.close()
# A value over value_max: 413, and the connection closes.
c = http.client.HTTPConnection(host, 80, timeout=30)
out["too_big"] = err("PUT", "/v1/keys/big", b"[" + b"1," * 600 + b"1]")
c.close()
c = http.client.HTTPConnection(host, 80, timeout=30)
s, h, d1 = req("DELETE", "/v1/keys/%C3%BCber")
s2, h, d = req("DELETE", "/v1/keys/%C3%BCber")
out["delete"] = [s, len(d1), s2]
s, h, d = req("GET", "/healthz")
out["healthz"] = [s, json.loads(d)]
try:
    import requests
except ImportError:
    requests = None
if requests is not None:
    base = f"http://{host}/v1/keys"
    with requests.Session() as r:
        for i in range(12):
            p = r.put(f"{base}/list/{i:02d}", json={"i": i, "s": "\u00e9" * i}, timeout=30)
            assert p.status_code == 201, p.text
        r.put(f"{base}/lisp", json=0, timeout=30)
        page1 = r.get(base, params={"prefix": "list/", "limit": 5}, timeout=30).json()
        page2 = r.get(base, params={"prefix": "list/", "limit": 5, "after": page1["keys"][-1]},
                      timeout=30).json()
        page3 = r.get(base, params={"prefix": "list/", "limit": 5, "after": page2["keys"][-1]},
                      timeout=30).json()
        allk = r.get(base, params={"prefix": "lis"}, timeout=30).json()
        got = r.get(f"{base}/list/07", timeout=30).json()
        out["requests"] = [page1, page2, page3, allk, got]
c.close()
print(json.dumps(out))
"""

# Concurrent clients on overlapping keys: each writes values that name the
# writer and a sequence number, reads keys back, checks each value is a
# whole value some client wrote; prints what every client wrote last.
HAMMER = r"""
import http.client, json, random, sys, threading
host, clients, ops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keys = [f"hot/{i}" for i in range(8)]
bad, errors, last, lock = [], [], {}, threading.Lock()
def client(n):
    rnd = random.Random(n)
    c = http.client.HTTPConnection(host, 80, timeout=60)
    for i in range(ops):
        k = rnd.choice(keys)
        try:
            if rnd.random() < 0.5:
                v = {"writer": n, "seq": i, "pad": "\u00e9" * rnd.randrange(0, 400)}
                # The lock orders this client's PUT against its record of it.
                c.request("PUT", f"/v1/keys/{k}", body=json.dumps(v, ensure_ascii=False).encode())
                r = c.getresponse(); r.read()
                if r.status not in (200, 201):
                    errors.append(r.status)
                with lock:
                    last.setdefault(k, []).append((n, i))
            else:
                c.request("GET", f"/v1/keys/{k}")
                r = c.getresponse(); d = r.read()
                if r.status == 200:
                    v = json.loads(d)
                    if set(v) != {"writer", "seq", "pad"}:
                        bad.append(d.decode()[:80])
                elif r.status != 404:
                    errors.append(r.status)
        except Exception as e:
            errors.append(repr(e))
            c.close()
            c = http.client.HTTPConnection(host, 80, timeout=60)
    c.close()
ts = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
for t in ts: t.start()
for t in ts: t.join()
print(json.dumps({"bad": bad, "errors": errors[:20], "writes": {k: v for k, v in last.items()}}))
"""


def nsrun(ns, cmd, timeout=300, **kw):
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, **kw)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse_metrics(text):
    """Prometheus text format 0.0.4, strictly: every family has HELP and
    TYPE before its samples, every sample line parses, values are numbers.
    Returns {(name, labels-tuple): value}."""
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP ") or not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge"), line
            typed.add(name)
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.groups()
        assert name in typed, f"{name} has no TYPE line before it"
        lab = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', labels or "")))
        samples[(name, lab)] = float(value)
    return samples


def metric(ms, name, **labels):
    return ms.get((name, tuple(sorted(labels.items()))))


def curl(ns, *args):
    p = nsrun(ns, CURL + ["-w", "\n%{http_code}", *args])
    assert p.returncode == 0, p.stderr
    body, code = p.stdout.rsplit("\n", 1)
    return int(code), body


@pytest.mark.parametrize("multi_queue", [False, True], ids=["one_stack", "stack_per_core"])
def test_kv_service(tmp_path, multi_queue):
    """One stack (a plain tap: handlers on both cores in turn, their socket
    calls moved to core 0) and a stack per core (a multi_queue tap: each
    connection served where it arrived)."""
    with tap_ns(f"{HOST}/24", multi_queue=multi_queue) as (ns, tap):
        guest = ConsoleGuest(["--kernel", image("kv"), "--net", f"tap:{tap}", "--netns", ns,
                              "--smp", "2", "--append",
                              f"ip={GUEST}/24 key_max=64 value_max=1000 max_keys=40",
                              "--timeout", "600"])
        try:
            assert guest.wait_for(READY, 120), guest.output[-3000:]
            assert "(2 cores," in guest.output, guest.output[-2000:]
            url = f"http://{GUEST}/v1/keys"
            # curl: PUT from a file, GET, DELETE, a list, /healthz
            doc = tmp_path / "v.json"
            doc.write_text(json.dumps({"curl": "\u00e9t\u00e9", "list": [1, 2, 3]}),
                           encoding="utf-8")
            assert curl(ns, "-X", "PUT", "-H", "Content-Type: application/json",
                        "--data-binary", f"@{doc}", f"{url}/from-curl")[0] == 201
            code, body = curl(ns, f"{url}/from-curl")
            assert code == 200 and json.loads(body) == {"curl": "\u00e9t\u00e9", "list": [1, 2, 3]}
            assert body.encode() == doc.read_bytes()  # stored as given, byte for byte
            # chunked upload
            code, body = curl(ns, "-X", "PUT", "-H", "Transfer-Encoding: chunked",
                              "--data-binary", f"@{doc}", f"{url}/chunked")
            assert code == 201, body
            code, body = curl(ns, "-G", "--data-urlencode", "prefix=from-", url)
            assert code == 200 and json.loads(body) == {"keys": ["from-curl"], "count": 1,
                                                        "more": False}, body
            assert curl(ns, "-X", "DELETE", f"{url}/chunked") == (204, "")
            assert curl(ns, f"http://{GUEST}/healthz") == (200, '{"status":"ok"}')

            p = nsrun(ns, ["/usr/bin/python3", "-c", CLIENT, GUEST])
            assert p.returncode == 0, p.stderr[-3000:] + guest.output[-2000:]
            r = json.loads(p.stdout)
            assert r["put_new"][:2] == [201, True] and r["put_new"][2].startswith('"'), r
            assert r["get"] == [200, "application/json", True, r["put_new"][2]], r
            assert r["not_modified"] == [304, 0, r["put_new"][2]], r
            assert r["head"][0] == 200 and r["head"][1] > 50 and r["head"][2] == 0, r
            assert r["put_replace"] == [200, False, True], r
            assert r["changed"] == [200, "replaced \u00e9"], r
            assert r["utf8_key"] == [201, 200, [1, "\u00fc"]], r
            for k, st in (("missing", 404), ("delete_missing", 404), ("not_json", 400),
                          ("trailing", 400), ("empty_key", 400), ("bad_escape", 400),
                          ("control_key", 400), ("long_key", 400), ("nowhere", 404),
                          ("bad_limit", 400), ("too_big", 413)):
                assert r[k][:2] == [st, True], (k, r[k])
            assert r["method"] == [405, True, "GET, HEAD, PUT, DELETE"], r
            assert r["list_method"] == [405, True, "GET, HEAD"], r
            assert r["healthz_method"] == [405, True, "GET, HEAD"], r
            assert r["delete"] == [204, 0, 404], r
            assert r["healthz"] == [200, {"status": "ok"}], r
            if "requests" in r:
                p1, p2, p3, allk, got = r["requests"]
                want = [f"list/{i:02d}" for i in range(12)]
                assert p1 == {"keys": want[:5], "count": 5, "more": True}, p1
                assert p2 == {"keys": want[5:10], "count": 5, "more": True}, p2
                assert p3 == {"keys": want[10:], "count": 2, "more": False}, p3
                assert allk["keys"] == ["lisp"] + want, allk  # '/' sorts before 'p'
                assert got == {"i": 7, "s": "\u00e9" * 7}, got

            # /metrics against what was done. PUTs that stored something:
            # curl 2, http.client 3 (+12 +1 with requests).
            code, text = curl(ns, f"http://{GUEST}/metrics")
            assert code == 200
            ms = parse_metrics(text)
            reqs = "requests" in r
            keys_now = 2 + (13 if reqs else 0)  # from-curl, user/1 (+ list/*, lisp)
            assert metric(ms, "kv_keys") == keys_now, text
            assert metric(ms, "kv_requests_total", method="PUT", code="2xx") == \
                2 + 3 + (13 if reqs else 0), text
            # not JSON twice, 413, and PUT /healthz (405)
            assert metric(ms, "kv_requests_total", method="PUT", code="4xx") == 4, text
            assert metric(ms, "kv_requests_total", method="DELETE", code="2xx") == 2, text
            # two deletes of keys not there, DELETE /v1/keys (405)
            assert metric(ms, "kv_requests_total", method="DELETE", code="4xx") == 3, text
            assert metric(ms, "kv_requests_total", method="GET", code="4xx") == 7, text
            assert metric(ms, "kv_requests_total", method="GET", code="3xx") == 1, text
            assert metric(ms, "kv_requests_total", method="HEAD", code="2xx") == 1, text
            assert metric(ms, "kv_requests_total", method="other", code="4xx") == 1, text
            assert metric(ms, "kv_put_refused_total", reason="not_json") == 2, text
            assert metric(ms, "kv_keys_created_total") == 4 + (13 if reqs else 0), text
            gets_2xx = metric(ms, "kv_requests_total", method="GET", code="2xx")
            assert gets_2xx == 3 + 4 + (5 if reqs else 0), text  # this /metrics not yet
            http_2xx = metric(ms, "zebu_http_responses_total", code="2xx")
            kv_2xx = sum(v for (n, lab), v in ms.items()
                         if n == "kv_requests_total" and ("code", "2xx") in lab)
            assert http_2xx == kv_2xx, text  # every 2xx the library sent, kv counted
            assert metric(ms, "zebu_http_parse_errors_total") == 0, text
            # bytes: the values as stored (the key list/07 etc. known too)
            code, body = curl(ns, f"{url}/user%2F1")
            assert metric(ms, "kv_bytes") >= len("user/1") + len(body.encode()), text
            conns = [metric(ms, "kv_connections_total", core=str(i)) for i in (0, 1)]
            if not multi_queue:  # in turn: handlers ran on both cores
                assert conns[0] >= 1 and conns[1] >= 1, text

            # max_keys=40: fill up to it, then 507
            code, body = curl(ns, "-G", "--data-urlencode", "limit=1000", url)
            have = json.loads(body)["count"]
            for i in range(40 - have):
                assert curl(ns, "-X", "PUT", "--data", str(i), f"{url}/fill/{i}")[0] == 201
            code, body = curl(ns, "-X", "PUT", "--data", "1", f"{url}/one-too-many")
            assert code == 507 and "error" in json.loads(body), body
            assert curl(ns, "-X", "PUT", "--data", "2", f"{url}/fill/0")[0] == 200  # replace ok
            for i in range(40 - have):
                assert curl(ns, "-X", "DELETE", f"{url}/fill/{i}")[0] == 204

            # Hammer: 8 clients, overlapping keys, both cores.
            p = nsrun(ns, ["/usr/bin/python3", "-c", HAMMER, GUEST, "8", "150"], timeout=600)
            assert p.returncode == 0, p.stderr[-3000:]
            h = json.loads(p.stdout)
            assert h["bad"] == [] and h["errors"] == [], h
            # Every hot key holds the last value one of its writers wrote.
            for k, writes in h["writes"].items():
                code, body = curl(ns, f"{url}/{k.replace('/', '%2F')}")
                assert code == 200, (k, body)
                v = json.loads(body)
                last_by_writer = {}
                for n, i in writes:
                    last_by_writer[n] = max(i, last_by_writer.get(n, -1))
                assert last_by_writer.get(v["writer"]) == v["seq"], (k, v, last_by_writer)
            code, body = curl(ns, "-G", "--data-urlencode", "prefix=hot/", url)
            assert sorted(json.loads(body)["keys"]) == sorted(h["writes"]), body
            code, text = curl(ns, f"http://{GUEST}/metrics")
            ms2 = parse_metrics(text)
            assert metric(ms2, "kv_keys") == keys_now + len(h["writes"]), text
            assert metric(ms2, "kv_requests_total", method="GET", code="5xx") == 0, text
            assert metric(ms2, "kv_requests_total", method="PUT", code="5xx") == 1, text  # the 507
            conns = [metric(ms2, "kv_connections_total", core=str(i)) for i in (0, 1)]
            # in turn, or where RSS put them (60-odd connections by now)
            assert conns[0] >= 4 and conns[1] >= 4, text
        finally:
            out = guest.stop()
    assert "panic" not in out.lower(), out[-3000:]
