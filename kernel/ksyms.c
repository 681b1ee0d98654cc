/* kernel/ksyms.c — binary search over the embedded symbol table. */
#include <string.h>

#include "kernel/ksyms.h"

const char *ksym_lookup(uint64_t addr, uint64_t *offset, uint64_t *size)
{
    /* Over the entries and the end marker: the first with .addr > addr. */
    uint32_t lo = 0, hi = ksym_count + 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ksym_table[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || lo > ksym_count) /* before the first, or past the end */
        return NULL;
    const struct ksym *s = &ksym_table[lo - 1];
    *offset = addr - s->addr;
    *size = ksym_table[lo].addr - s->addr;
    return &ksym_names[s->name];
}

uint64_t ksym_address(const char *name)
{
    for (uint32_t i = 0; i < ksym_count; i++)
        if (strcmp(&ksym_names[ksym_table[i].name], name) == 0)
            return ksym_table[i].addr;
    return 0;
}
