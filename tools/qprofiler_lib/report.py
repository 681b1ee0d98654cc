"""From samples to reports: flat profile, call graph, folded stacks,
speedscope JSON and a JSON summary (the SVG flame graph is in flame.py).

A stack is a tuple of frame names, root first. Names are function names, or
with lines=True "function (file:line)": the sampled PC's line for the leaf,
the call's line for callers. A walk that did not reach a thread entry keeps
its frames under a first frame "[malformed: reason]"; a QMP sample (leaf
only) is just its leaf; a PC outside the image (firmware, the trampoline a
parked AP waits in) is "[outside the image]".

self% of f: samples whose leaf is f. total% of f: samples with f anywhere in
the stack (counted once per sample, so recursion does not inflate it). The
error estimate is the binomial standard error sqrt(p (1 - p) / n), in
percentage points: about two thirds of repeated profiles land within one
of it, 95% within two, if samples are independent of what the guest runs
(the jittered interval is what makes them so).
"""
import json
import math
from collections import Counter, defaultdict

from .walk import OK, OUTSIDE

UNKNOWN = "[outside the image]"
FINE = (OK, OUTSIDE, "leaf-only")   # statuses that are not malformed stacks


def frame_name(frame, lines=None, leaf=False):
    if frame.symbol is None:
        return UNKNOWN
    name = frame.symbol.name
    if lines is not None:
        where = lines.line(frame.pc)
        if where:
            name = f"{name} ({where.rsplit('/', 1)[-1]})"
    return name


class Profile:
    def __init__(self, samples, lines=None, vcpu_names=None):
        """samples: sampler.Sample list. lines: an elfsyms.LineTable, resolved
        here, for per-line names."""
        self.lines = lines
        if lines is not None:
            lines.resolve(f.pc for s in samples for f in s.frames if f.symbol is not None)
        self.samples = samples
        self.stacks = []   # (vcpu, stack root first, status)
        for s in samples:
            names = [frame_name(f, lines) for f in reversed(s.frames)]
            if s.status not in FINE:
                names.insert(0, f"[malformed: {s.status}]")
            self.stacks.append((s.vcpu, tuple(names), s.status))
        self.vcpus = sorted({v for v, _s, _st in self.stacks})

    def select(self, vcpu=None):
        return [st for v, st, _x in self.stacks if vcpu is None or v == vcpu]

    def statuses(self, vcpu=None):
        return Counter(x for v, _s, x in self.stacks if vcpu is None or v == vcpu)

    # ---- flat ----

    def flat(self, vcpu=None):
        stacks = self.select(vcpu)
        n = len(stacks)
        selfc, totalc = Counter(), Counter()
        for st in stacks:
            selfc[st[-1]] += 1
            for name in set(st):
                totalc[name] += 1
        rows = []
        for name, total in totalc.items():
            s = selfc.get(name, 0)
            rows.append({
                "function": name, "self": s, "total": total,
                "self_pct": 100.0 * s / n, "total_pct": 100.0 * total / n,
                "self_se": 100.0 * math.sqrt(s / n * (1 - s / n) / n),
                "total_se": 100.0 * math.sqrt(total / n * (1 - total / n) / n),
            })
        rows.sort(key=lambda r: (-r["self"], -r["total"], r["function"]))
        return rows

    # ---- call graph ----

    def callgraph(self, vcpu=None):
        """{function: {"total": n, "self": n, "callers": Counter, "callees": Counter}},
        edges counted once per sample."""
        graph = defaultdict(lambda: {"total": 0, "self": 0, "callers": Counter(),
                                     "callees": Counter()})
        for st in self.select(vcpu):
            edges = set(zip(st, st[1:]))
            for name in set(st):
                graph[name]["total"] += 1
            graph[st[-1]]["self"] += 1
            for caller, callee in edges:
                graph[caller]["callees"][callee] += 1
                graph[callee]["callers"][caller] += 1
        return dict(graph)

    # ---- folded stacks ----

    def folded_counts(self, vcpu=None, vcpu_root=False):
        counts = Counter()
        for v, st, _x in self.stacks:
            if vcpu is not None and v != vcpu:
                continue
            counts[((f"vcpu{v}",) if vcpu_root else ()) + st] += 1
        return counts

    def folded(self, vcpu=None, vcpu_root=False):
        counts = self.folded_counts(vcpu, vcpu_root)
        return "".join(f"{';'.join(_fold_safe(x) for x in st)} {c}\n"
                       for st, c in sorted(counts.items()))

    # ---- speedscope ----

    def speedscope(self, name, per_vcpu=False):
        frames, index = [], {}

        def idx(fname):
            i = index.get(fname)
            if i is None:
                i = index[fname] = len(frames)
                entry = {"name": fname}
                if " (" in fname and fname.endswith(")"):
                    where = fname[fname.rindex(" (") + 2:-1]
                    file, _, line = where.rpartition(":")
                    if line.isdigit():
                        entry.update(file=file, line=int(line))
                frames.append(entry)
            return i

        def profile(pname, vcpu):
            stacks = [[idx(f) for f in st] for v, st, _x in self.stacks
                      if vcpu is None or v == vcpu]
            return {"type": "sampled", "name": pname, "unit": "none", "startValue": 0,
                    "endValue": len(stacks), "samples": stacks, "weights": [1] * len(stacks)}
        profiles = [profile(f"{name} (all vCPUs)", None)]
        if per_vcpu:
            profiles += [profile(f"{name} (vCPU {v})", v) for v in self.vcpus]
        return {"$schema": "https://www.speedscope.app/file-format-schema.json",
                "shared": {"frames": frames}, "profiles": profiles, "name": name,
                "activeProfileIndex": 0, "exporter": "zebu tools/qprofiler"}


def _fold_safe(name):
    """Folded stacks separate frames with ';' and end with ' count'."""
    return name.replace(";", ":")


# ---- text ----

def cost_lines(cost, backend, nvcpus, warn_fraction):
    c = cost
    lines = [f"qprofiler: {c['ticks']} stops x {nvcpus} vCPU{'s' if nvcpus != 1 else ''} "
             f"in {c['wall_s']:.2f} s via {backend}: {c['achieved_hz']:.0f} Hz achieved "
             f"({'max' if not c['requested_hz'] else '%g Hz requested' % c['requested_hz']})"]
    if c["ticks"] and not c["paused_s"]:
        lines.append("qprofiler: the guest was not paused (registers read while it ran)")
    if c["ticks"] and c["paused_s"]:
        lines.append(f"qprofiler: guest paused {100 * c['paused_fraction']:.1f}% of the time "
                     f"(at most {100 * c['paused_fraction_max']:.1f}% counting from each stop "
                     f"request; per stop: median {c['pause_us_median']:.0f} us, "
                     f"p99 {c['pause_us_p99']:.0f} us, max {c['pause_us_max']:.0f} us); "
                     f"stack window misses {c.get('window_misses', 0)}, extra stack reads "
                     f"{c['extra_reads']}")
    if c["paused_fraction"] > warn_fraction:
        lines.append(f"qprofiler: WARNING: the guest was paused {100 * c['paused_fraction']:.1f}% "
                     f"of the time (over {100 * warn_fraction:.0f}%): it runs measurably slower "
                     "while profiled; lower --rate")
    return lines


def flat_text(profile, vcpu=None, limit=40):
    rows = profile.flat(vcpu)
    n = len(profile.select(vcpu))
    who = "all vCPUs" if vcpu is None else f"vCPU {vcpu}"
    st = profile.statuses(vcpu)
    bad = {k: v for k, v in st.items() if k not in FINE}
    out = [f"Flat profile, {who}: {n} samples; {st.get(OK, 0)} complete stacks (ended at a "
           f"thread entry), {st.get('leaf-only', 0)} leaf only, {st.get(OUTSIDE, 0)} outside "
           f"the image, {sum(bad.values())} malformed" + (f" {bad}" if bad else ""),
           "   self%      +-   total%      +-    self   total  function"]
    for r in rows[:limit]:
        out.append(f"  {r['self_pct']:6.2f}  {r['self_se']:6.2f}   {r['total_pct']:6.2f}  "
                   f"{r['total_se']:6.2f}  {r['self']:6d}  {r['total']:6d}  {r['function']}")
    if len(rows) > limit:
        out.append(f"  ... {len(rows) - limit} more")
    return out


def callgraph_text(profile, vcpu=None, limit=30, fanout=8):
    graph = profile.callgraph(vcpu)
    n = len(profile.select(vcpu)) or 1
    order = sorted(graph.items(), key=lambda kv: (-kv[1]["total"], kv[0]))[:limit]
    who = "all vCPUs" if vcpu is None else f"vCPU {vcpu}"
    out = [f"Call graph, {who} (% of all samples; callers above, callees below each "
           "function; an edge counts once per sample)"]
    for name, g in order:
        out.append("")
        for caller, c in g["callers"].most_common(fanout):
            out.append(f"            {100.0 * c / n:6.2f}%    {caller}")
        out.append(f"  {100.0 * g['total'] / n:6.2f}% total {100.0 * g['self'] / n:6.2f}% self  "
                   f"{name}")
        for callee, c in g["callees"].most_common(fanout):
            out.append(f"            {100.0 * c / n:6.2f}%      {callee}")
    return out


def summary(profile, meta, cost, per_vcpu):
    def part(vcpu):
        st = profile.statuses(vcpu)
        return {"samples": len(profile.select(vcpu)), "statuses": dict(st),
                "flat": profile.flat(vcpu)}
    out = {"meta": meta, "cost": cost, "all": part(None)}
    if per_vcpu:
        out["vcpus"] = {str(v): part(v) for v in profile.vcpus}
    return out


def write_json(path, obj, compact=False):
    with open(path, "w") as f:
        json.dump(obj, f, indent=None if compact else 1,
                  separators=(",", ":") if compact else None)
        f.write("\n")
