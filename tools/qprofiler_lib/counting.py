"""Reads the call counters of a PROFILE=count image out of guest memory.

kernel/profile.h describes the table: `profile_header` (found by symbol)
gives the table's address and shape; each core has `slots` entries
{function address, calls}, filled by gcc's -finstrument-functions hook on
every function entry. Only the cores that exist (`cpu_count`) are read.
"""
import struct

from .rsp import GdbRemote, RspError

PROFILE_MAGIC = 0x544E43505542455A  # b"ZEBUPCNT" read as a little-endian u64
HEADER = struct.Struct("<QIIIIQQQ")  # magic version cores slots slot_size table early other


class CountError(Exception):
    pass


def read_counts(remote: GdbRemote, elf):
    """{core: {function address: calls}}, plus header counters. The VM must be stopped."""
    where = elf.symbol_address("profile_header")
    if where is None:
        raise CountError(f"{elf.path} has no profile_header: build it with "
                         "'make APP=... PROFILE=count' and pass build/count/APP.elf")
    raw = remote.read_memory(where[0], HEADER.size)
    if raw is None:
        raise CountError("cannot read profile_header from the guest")
    magic, version, cores, slots, slot_size, table, early, other = HEADER.unpack(raw)
    if magic != PROFILE_MAGIC or version != 1 or slot_size != 16:
        raise CountError("profile_header in the guest does not match this tool "
                         f"(magic {magic:#x}, version {version}); is the ELF the running image?")
    full_raw = remote.read_memory(where[0] + HEADER.size, 8 * cores)
    full = struct.unpack(f"<{cores}Q", full_raw) if full_raw else (0,) * cores
    ncpu = cores
    cc = elf.symbol_address("cpu_count")
    if cc is not None:
        data = remote.read_memory(cc[0], 4)
        if data is not None:
            ncpu = max(1, min(cores, struct.unpack("<i", data)[0]))
    per_core = {}
    for core in range(ncpu):
        data = remote.read_memory(table + core * slots * slot_size, slots * slot_size)
        if data is None:
            raise RspError(f"cannot read core {core}'s counters")
        counts = {}
        for fn, calls in struct.iter_unpack("<QQ", data):
            if fn and calls:
                counts[fn] = calls
        per_core[core] = counts
    return per_core, {"early": early, "other_cores": other, "table_full": list(full[:ncpu]),
                      "cores_in_table": cores, "slots": slots}


def named(per_core, elf):
    """{core: {function name: calls}} (addresses without a symbol as hex)."""
    out = {}
    for core, counts in per_core.items():
        named_counts = {}
        for fn, calls in counts.items():
            s = elf.lookup(fn)
            name = s.name if s is not None and s.addr == fn else f"{fn:#x}"
            named_counts[name] = named_counts.get(name, 0) + calls
        out[core] = named_counts
    return out


def merged(named_per_core):
    total = {}
    for counts in named_per_core.values():
        for name, calls in counts.items():
            total[name] = total.get(name, 0) + calls
    return total


def text(named_per_core, extra, delta=None, seconds=None, limit=40):
    total = merged(named_per_core)
    cores = sorted(named_per_core)
    out = [f"Call counts (PROFILE=count image; exact{', per core' if len(cores) > 1 else ''}):"]
    head = "      calls" + "".join(f"   core {c:<4d}" for c in cores) if len(cores) > 1 else "      calls"
    if delta is not None:
        head += f"  in window ({seconds:.2f} s)"
    out.append(head + "  function")
    for name, calls in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]:
        line = f"  {calls:9d}"
        if len(cores) > 1:
            line += "".join(f"  {named_per_core[c].get(name, 0):9d}" for c in cores)
        if delta is not None:
            line += f"  {delta.get(name, 0):>9d}"
        out.append(line + f"  {name}")
    if len(total) > limit:
        out.append(f"  ... {len(total) - limit} more functions")
    out.append(f"  (calls before per-core state: {extra['early']}; on cores past the table: "
               f"{extra['other_cores']}; lost to a full table: {sum(extra['table_full'])})")
    return out
