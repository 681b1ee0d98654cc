#!/usr/bin/env python3
"""tools/bench-kv.py — apps/kv under wrk against etcd, in the same run.

Method. One namespace with a plain tap (tests/system/netbench.py tap_ns):
  kv    apps/kv under QEMU (TCG on this machine: no /dev/kvm) at 10.0.9.2,
        -smp 1 unless --smp, behind the tap;
  etcd  Debian's etcd-server 3.4 started in the namespace on the tap's own
        address 10.0.9.1:2379 (so it runs on the host CPU, natively), one
        member, its data dir a temporary folder in /dev/shm. etcd 3.4 has
        no switch to skip fsync (--unsafe-no-fsync came with 3.5), so its
        WAL is fsynced as always, but to tmpfs (memory), where an fsync
        costs next to nothing: the comparison is about serving, not disks.
        Its JSON gateway is the API: POST /v3/kv/put and /v3/kv/range with
        base64 keys and values.
wrk runs in the namespace with Lua scripts (written to a temporary folder):
  put   each request stores a JSON value (~60 bytes) under a random key of
        10000: kv PUT /v1/keys/bench/N; etcd POST /v3/kv/put {"key","value"}
        (base64 precomputed in the script);
  get   each request reads a random key of 1000 stored beforehand: kv GET
        /v1/keys/bench/N; etcd POST /v3/kv/range {"key"}.
Each cell runs --runs times, the two targets interleaved (order swapped
every run); the medians of requests/s and p99 latency are printed with the
ratio kv/etcd. etcd is a replicated, durable store (raft log, MVCC, bbolt)
reached natively; kv is an in-memory table served by an emulated CPU and
NIC. The ratio says what a Zebu microservice delivers next to the service
people would deploy for the job, on this machine in the same minute; it is
not a like-for-like comparison of engines.

    tools/bench-kv.py [--seconds 5] [--connections 8] [--threads 1] [--runs 3] [--json]
Needs root (namespaces, tap), wrk, etcd (tools/deps.sh bench) and
build/kv.elf32 (make APP=kv image). Writes only into temporary folders.
"""
import argparse
import base64
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from netbench import ConsoleGuest, parse_wrk, tap_ns  # noqa: E402
import zebu_accel  # noqa: E402

GUEST, HOST = "10.0.9.2", "10.0.9.1"
ETCD_PORT = 2379
PUT_KEYS, GET_KEYS = 10000, 1000


def value(n):
    return json.dumps({"n": n, "name": "bench", "tags": ["a", "b"], "ok": True})


def lua_list(items):
    return "{" + ",".join(json.dumps(s) for s in items) + "}"


def write_scripts(tmp):
    """The four Lua scripts; keys and bodies precomputed (wrk's Lua has no
    base64)."""
    vals = [value(i) for i in range(64)]
    scripts = {
        "kv_put": f"""
local vals = {lua_list(vals)}
request = function()
  local n = math.random(0, {PUT_KEYS - 1})
  return wrk.format("PUT", "/v1/keys/bench/" .. n, {{["Content-Type"] = "application/json"}},
                    vals[(n % #vals) + 1])
end
""",
        "kv_get": f"""
request = function()
  return wrk.format("GET", "/v1/keys/bench/" .. math.random(0, {GET_KEYS - 1}))
end
""",
        "etcd_put": f"""
local keys = {lua_list(base64.b64encode(f"bench/{i}".encode()).decode()
                       for i in range(PUT_KEYS))}
local vals = {lua_list(base64.b64encode(v.encode()).decode() for v in vals)}
request = function()
  local n = math.random(0, {PUT_KEYS - 1})
  return wrk.format("POST", "/v3/kv/put", {{["Content-Type"] = "application/json"}},
                    '{{"key":"' .. keys[n + 1] .. '","value":"' .. vals[(n % #vals) + 1] .. '"}}')
end
""",
        "etcd_get": f"""
local keys = {lua_list(base64.b64encode(f"bench/{i}".encode()).decode()
                       for i in range(GET_KEYS))}
request = function()
  return wrk.format("POST", "/v3/kv/range", {{["Content-Type"] = "application/json"}},
                    '{{"key":"' .. keys[math.random(1, #keys)] .. '"}}')
end
""",
    }
    paths = {}
    for name, text in scripts.items():
        paths[name] = os.path.join(tmp, name + ".lua")
        with open(paths[name], "w") as f:
            f.write(text)
    return paths


# Stores the GET keys on both targets first (run in the namespace).
PRELOAD = r"""
import base64, http.client, json, sys
n = int(sys.argv[1])
kv = http.client.HTTPConnection(sys.argv[2], 80, timeout=30)
etcd = http.client.HTTPConnection(sys.argv[3], int(sys.argv[4]), timeout=30)
for i in range(n):
    v = json.dumps({"n": i, "name": "bench", "tags": ["a", "b"], "ok": True})
    kv.request("PUT", f"/v1/keys/bench/{i}", body=v)
    r = kv.getresponse(); r.read()
    assert r.status in (200, 201), r.status
    b = json.dumps({"key": base64.b64encode(f"bench/{i}".encode()).decode(),
                    "value": base64.b64encode(v.encode()).decode()})
    etcd.request("POST", "/v3/kv/put", body=b)
    r = etcd.getresponse(); r.read()
    assert r.status == 200, r.status
print("ok")
"""


def nsrun(ns, cmd, timeout):
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def run_wrk(a, ns, url, script):
    cmd = ["wrk", "-t", str(a.threads), "-c", str(a.connections), "-d", f"{a.seconds:g}s",
           "--latency", "-s", script, url]
    try:
        p = nsrun(ns, cmd, a.seconds + 30)
    except subprocess.TimeoutExpired:
        return {"requests": 0, "rps": 0.0, "p99_ms": None, "socket_errors": 1, "non_2xx": 0,
                "error": "wrk did not finish"}
    return parse_wrk(p.stdout)


def start_etcd(ns, datadir):
    """etcd in the namespace on the tap's address; its pid, once it answers."""
    log = open(os.path.join(datadir, "etcd.log"), "w")
    url = f"http://{HOST}:{ETCD_PORT}"
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns, "etcd", "--name", "bench", "--data-dir",
         os.path.join(datadir, "data"), "--listen-client-urls", url, "--advertise-client-urls",
         url, "--listen-peer-urls", f"http://{HOST}:{ETCD_PORT + 1}",
         "--initial-advertise-peer-urls", f"http://{HOST}:{ETCD_PORT + 1}",
         "--initial-cluster", f"bench=http://{HOST}:{ETCD_PORT + 1}", "--log-level", "error"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        p = nsrun(ns, ["curl", "-s", "--max-time", "2", f"{url}/health"], 10)
        if '"health":"true"' in p.stdout:
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    stop(proc)
    raise RuntimeError("etcd did not start: " + open(os.path.join(datadir, "etcd.log")).read())


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each wrk run")
    ap.add_argument("--connections", type=int, default=8, help="wrk -c")
    ap.add_argument("--threads", type=int, default=1, help="wrk -t")
    ap.add_argument("--runs", type=int, default=3, help="runs per cell (medians)")
    ap.add_argument("--smp", type=int, default=1, help="guest cores for kv")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    a = ap.parse_args()
    for tool in ("wrk", "etcd", "curl"):
        if shutil.which(tool) is None:
            sys.exit(f"bench-kv: needs {tool} (tools/deps.sh bench)")
    elf = os.path.join(ROOT, "build", "kv.elf32")
    if not os.path.exists(elf):
        sys.exit("bench-kv: build/kv.elf32 is missing (make APP=kv image)")
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    tmp = tempfile.mkdtemp(prefix="zebu-bench-kv-", dir=shm)
    accel = zebu_accel.accel_name()
    print(f"# bench-kv: {platform.node()} ({os.cpu_count()} CPUs), kv -smp {a.smp} "
          f"(accel {accel}); etcd {subprocess.run(['etcd', '--version'], capture_output=True, text=True).stdout.split()[2]} "
          f"data dir on {'tmpfs' if shm else 'disk'}; wrk -t{a.threads} -c{a.connections} "
          f"-d{a.seconds:g}s, {a.runs} runs, medians")
    results = {}
    etcd = guest = None
    try:
        scripts = write_scripts(tmp)
        with tap_ns(f"{HOST}/24") as (ns, tap):
            guest = ConsoleGuest(["--kernel", elf, "--net", f"tap:{tap}", "--netns", ns,
                                  "--smp", str(a.smp), "--append",
                                  f"ip={GUEST}/24 loglevel=0", "--timeout", "3600"])
            if not guest.wait_for(r"kv: serving on http://", 120):
                sys.exit("bench-kv: kv did not start:\n" + guest.output[-2000:])
            etcd = start_etcd(ns, tmp)
            p = nsrun(ns, ["/usr/bin/python3", "-c", PRELOAD, str(GET_KEYS), GUEST, HOST,
                           str(ETCD_PORT)], 600)
            if p.returncode != 0:
                sys.exit("bench-kv: preload failed: " + p.stderr[-2000:])
            urls = {"kv": f"http://{GUEST}", "etcd": f"http://{HOST}:{ETCD_PORT}"}
            for cell in ("put", "get"):
                runs = {"kv": [], "etcd": []}
                for r in range(a.runs):
                    order = ("kv", "etcd") if r % 2 == 0 else ("etcd", "kv")
                    for t in order:
                        runs[t].append(run_wrk(a, ns, urls[t], scripts[f"{t}_{cell}"]))
                results[cell] = runs
    finally:
        if etcd is not None:
            stop(etcd)
        if guest is not None:
            guest.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{'cell':6} {'kv req/s':>10} {'etcd req/s':>11} {'ratio':>6}   "
          f"{'kv p99 ms':>9} {'etcd p99 ms':>11} {'ratio':>6}")
    summary = {}
    for cell, runs in results.items():
        m = {t: (median(x["rps"] for x in rs), median(x.get("p99_ms") for x in rs))
             for t, rs in runs.items()}
        errs = {t: sum(x.get("socket_errors", 0) + x.get("non_2xx", 0) for x in rs)
                for t, rs in runs.items()}
        rr = m["kv"][0] / m["etcd"][0] if m["etcd"][0] else None
        rl = m["kv"][1] / m["etcd"][1] if m["kv"][1] and m["etcd"][1] else None
        f = lambda v, s: format(v, s) if v is not None else "-"  # noqa: E731
        print(f"{cell:6} {f(m['kv'][0], '10.0f')} {f(m['etcd'][0], '11.0f')} {f(rr, '6.2f')}   "
              f"{f(m['kv'][1], '9.2f')} {f(m['etcd'][1], '11.2f')} {f(rl, '6.2f')}")
        if any(errs.values()):
            print(f"  {cell}: wrk socket errors or non-2xx responses: {errs}")
        summary[cell] = {"kv_rps": m["kv"][0], "etcd_rps": m["etcd"][0], "rps_ratio": rr,
                         "kv_p99_ms": m["kv"][1], "etcd_p99_ms": m["etcd"][1],
                         "p99_ratio": rl, "errors": errs}
    if a.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
