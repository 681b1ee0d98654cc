"""ELF64 symbols and code bytes for address lookup, read once with struct.

The profiler needs three things from build/APP.elf: function symbols (name,
start, size) sorted for binary search, the bytes of the code (to recognise a
function's prologue and to check that a return address follows a call
instruction, without reading guest memory), and data symbols (counting mode
finds its table by name). Lines come from addr2line, run once per profile
with every address on its standard input.
"""
import bisect
import shutil
import struct
import subprocess

SHT_SYMTAB = 2
SHT_NOBITS = 8
SHF_EXECINSTR = 0x4
STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2

# gcc's clones of a function (f.cold, f.part.0) are functions of their own;
# NASM's local labels (parent.label) belong to their parent (tools/mksyms.py
# applies the same rule to the kernel's embedded table).
GCC_CLONE_SUFFIXES = ("cold", "part", "isra", "constprop", "lto_priv", "localalias", "clone")


class ElfError(Exception):
    pass


def is_asm_local(name):
    if "." not in name:
        return False
    return not name.split(".", 1)[1].startswith(GCC_CLONE_SUFFIXES)


class Symbol:
    __slots__ = ("name", "addr", "size", "index")

    def __init__(self, name, addr, size, index):
        self.name, self.addr, self.size, self.index = name, addr, size, index

    def __repr__(self):
        return f"Symbol({self.name}@{self.addr:#x}+{self.size:#x})"


class ElfImage:
    """Function symbols, data symbols and executable bytes of an ELF64 file."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            data = f.read()
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise ElfError(f"{path}: not a little-endian ELF64 file (use build/APP.elf, "
                           "not the .elf32 boot image)")
        (shoff,) = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, _shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        sections = []
        for i in range(shnum):
            (name, typ, flags, addr, off, size, link, _info, _align,
             entsize) = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
            sections.append((typ, flags, addr, off, size, link, entsize))
        self.code = []   # (start, end, bytes) of executable sections
        for typ, flags, addr, off, size, _l, _e in sections:
            if flags & SHF_EXECINSTR and typ != SHT_NOBITS and size:
                self.code.append((addr, addr + size, data[off:off + size]))
        self.code.sort()
        funcs, self.data_symbols = {}, {}
        for typ, _f, _a, off, size, link, entsize in sections:
            if typ != SHT_SYMTAB:
                continue
            stroff = sections[link][3]
            for k in range(size // entsize):
                st_name, st_info, _o, shndx, value, st_size = struct.unpack_from(
                    "<IBBHQQ", data, off + k * entsize)
                if st_name == 0 or shndx == 0 or shndx >= 0xFF00:
                    continue
                end = data.index(b"\0", stroff + st_name)
                name = data[stroff + st_name:end].decode("utf-8", "replace")
                kind = st_info & 0xF
                sec_flags = sections[shndx][1]
                if kind == STT_OBJECT or (kind == STT_NOTYPE and not sec_flags & SHF_EXECINSTR):
                    self.data_symbols.setdefault(name, (value, st_size))
                if not sec_flags & SHF_EXECINSTR or kind not in (STT_FUNC, STT_NOTYPE):
                    continue
                if name.startswith(".L") or is_asm_local(name) or name.startswith("$"):
                    continue
                # One name per address: prefer a sized, then a global, symbol.
                score = (st_size > 0, st_info >> 4 == 1)
                prev = funcs.get(value)
                if prev is None or score > prev[2]:
                    funcs[value] = (name, st_size, score)
        if not funcs:
            raise ElfError(f"{path}: no function symbols (was it stripped?)")
        rows = sorted(funcs.items())
        self.symbols = []
        for i, (addr, (name, size, _b)) in enumerate(rows):
            nxt = rows[i + 1][0] if i + 1 < len(rows) else self._code_end(addr)
            if size == 0:          # assembly labels: up to the next symbol
                size = max(nxt - addr, 1)
            self.symbols.append(Symbol(name, addr, size, i))
        self.starts = [s.addr for s in self.symbols]
        self.by_name = {s.name: s for s in self.symbols}

    def _code_end(self, addr):
        for start, end, _b in self.code:
            if start <= addr < end:
                return end
        return addr + 1

    def lookup(self, addr):
        """The function symbol containing addr, or None."""
        i = bisect.bisect_right(self.starts, addr) - 1
        if i < 0:
            return None
        s = self.symbols[i]
        return s if addr < s.addr + s.size else None

    def code_bytes(self, addr, n):
        """n bytes of code at addr from the file, or b'' outside the code."""
        for start, end, blob in self.code:
            if start <= addr < end:
                return blob[addr - start:min(addr - start + n, end - start)]
        return b""

    def symbol_address(self, name):
        """Address and size of a data or function symbol, or None."""
        if name in self.data_symbols:
            return self.data_symbols[name]
        s = self.by_name.get(name)
        return (s.addr, s.size) if s else None

    # ---- what the walker asks ----

    def follows_call(self, ret):
        """True when the bytes before ret end a call instruction (E8 rel32, or
        FF /2 with any ModRM form, with or without a REX prefix)."""
        before = self.code_bytes(ret - 8, 8)
        if len(before) != 8:
            return False
        if before[3] == 0xE8:
            return True
        for length in range(2, 8):
            start = 8 - length
            i = start
            if 0x40 <= before[i] <= 0x4F:
                i += 1
            if i + 1 >= 8 or before[i] != 0xFF:
                continue
            modrm = before[i + 1]
            if (modrm >> 3) & 7 != 2:
                continue
            if i + 2 + _modrm_extra(modrm, before[i + 2] if i + 2 < 8 else 0) == 8:
                return True
        return False


def _modrm_extra(modrm, sib):
    """Bytes after ModRM (SIB and displacement) for a 64-bit memory operand."""
    mod, rm = modrm >> 6, modrm & 7
    if mod == 3:
        return 0
    extra = 0
    if rm == 4:
        extra += 1
        if mod == 0 and (sib & 7) == 5:
            extra += 4
    if mod == 0 and rm == 5:
        extra += 4           # RIP-relative
    elif mod == 1:
        extra += 1
    elif mod == 2:
        extra += 4
    return extra


class LineTable:
    """file:line for addresses, from one batch run of addr2line."""

    def __init__(self, elf_path):
        self.elf_path = elf_path
        self.cache = {}
        self.tool = shutil.which("addr2line")

    def resolve(self, addrs):
        todo = sorted({a for a in addrs if a not in self.cache})
        if not todo:
            return
        if self.tool is None:
            for a in todo:
                self.cache[a] = None
            return
        out = subprocess.run([self.tool, "-e", self.elf_path],
                             input="\n".join(f"{a:#x}" for a in todo) + "\n",
                             capture_output=True, text=True, check=False).stdout.splitlines()
        for a, line in zip(todo, out):
            line = line.split(" (discriminator")[0].strip()
            self.cache[a] = None if line.startswith("??") else line

    def line(self, addr):
        return self.cache.get(addr)
