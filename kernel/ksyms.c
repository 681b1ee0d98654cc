/* kernel/ksyms.c — binary search over the embedded symbol table. */
#include <string.h>

#include "kernel/ksyms.h"

const char *ksym_lookup(uint64_t addr, uint64_t *offset, uint64_t *size)
{
    uint32_t lo = 0, hi = ksym_count;
    while (lo < hi) { /* first entry with entry.addr > addr */
        uint32_t mid = lo + (hi - lo) / 2;
        if (ksym_table[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct ksym *s = &ksym_table[lo - 1];
    uint64_t off = addr - s->addr;
    if (s->size != 0 && off >= s->size)
        return NULL;
    *offset = off;
    *size = s->size;
    return &ksym_names[s->name];
}

uint64_t ksym_address(const char *name)
{
    for (uint32_t i = 0; i < ksym_count; i++)
        if (strcmp(&ksym_names[ksym_table[i].name], name) == 0)
            return ksym_table[i].addr;
    return 0;
}
