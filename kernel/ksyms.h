/*
 * kernel/ksyms.h — the symbol table embedded in the image.
 *
 * tools/mksyms.py writes it from the first link's function symbols; the
 * second link places it in .ksyms, after every code address (linker.ld), so
 * filling it moves nothing it describes.
 */
#ifndef ZEBU_KERNEL_KSYMS_H
#define ZEBU_KERNEL_KSYMS_H

#include <stdint.h>

/* A function reaches to the next entry's address (8 bytes an entry: the
 * table is in every image). */
struct ksym {
    uint32_t addr;
    uint32_t name; /* offset into ksym_names */
};

extern const uint32_t ksym_count;
/* Sorted by addr; ksym_table[ksym_count] is the end of the last function. */
extern const struct ksym ksym_table[];
extern const char ksym_names[];

/*
 * Finds the function containing addr. Returns its name and sets *offset and
 * *size, or returns NULL when addr is in no known function.
 */
const char *ksym_lookup(uint64_t addr, uint64_t *offset, uint64_t *size);

/* Address of the named function, or 0. */
uint64_t ksym_address(const char *name);

#endif
