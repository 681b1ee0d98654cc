/*
 * kernel/kmalloc.h — the kernel heap behind malloc/free/calloc/realloc/
 * aligned_alloc (declared in libc's stdlib.h).
 *
 * Each core has its own cache. Small requests (up to 2 KiB) come from size
 * classes of power-of-two sizes, each carved from whole pages; an object of
 * class size S is aligned to S. Larger requests take whole pmem blocks. Any
 * core may free what any other allocated (handed back without a lock). Out
 * of memory returns NULL and is counted.
 */
#ifndef ZEBU_KERNEL_KMALLOC_H
#define ZEBU_KERNEL_KMALLOC_H

#include <stddef.h>
#include <stdint.h>

struct kmalloc_stats {
    uint64_t bytes_in_use;   /* by size class / block size, not requested size */
    uint64_t allocs, frees;
    uint64_t failures;       /* NULL returns for lack of memory */
    uint64_t remote_frees;   /* frees of objects another core allocated */
    uint64_t pages_held;     /* pages held for small classes */
};

void kmalloc_get_stats(struct kmalloc_stats *s);

/* Prints the stats and per-class counts on the console. */
void kmalloc_print_stats(void);

/* Usable size of a live allocation. */
size_t kmalloc_usable_size(const void *p);

#endif
