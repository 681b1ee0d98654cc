/*
 * kernel/pmem.h — physical page allocator.
 *
 * Memory is identity-mapped, so a page's physical address is also the pointer
 * the kernel uses. After pmem_split there is one pool per core. Blocks are 2^order pages, naturally aligned. Each page has
 * a 16-bit tag that the owner of the page may set (kmalloc records which
 * size class a page serves); pmem itself never reads it.
 */
#ifndef ZEBU_KERNEL_PMEM_H
#define ZEBU_KERNEL_PMEM_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/boot.h"

#define PAGE_SIZE  4096ul
#define PAGE_SHIFT 12
#define PMEM_MAX_ORDER 20 /* 4 GiB blocks */

/* Takes the usable regions of bi minus the low 1 MiB, the image and modules. */
void pmem_init(const struct boot_info *bi);

/*
 * Splits free memory into one pool per core (cut at 2 MiB boundaries): each
 * core then allocates from its own pool and lock, taking from the others
 * only when its own is empty; a freed block goes back to the pool that owns
 * its address. A block larger than one core's share may not be found after
 * the split. Called once, when the cores are online.
 */
void pmem_split(int ncpus);

/*
 * Allocates 2^order contiguous pages aligned to their size. Returns the
 * address (identity-mapped) or NULL when no block is free; the contents are
 * not zeroed. pmem_free takes the same order back.
 */
void *pmem_alloc(unsigned order);
void pmem_free(void *p, unsigned order);

/* Smallest order whose block holds `bytes`. */
unsigned pmem_order_for(size_t bytes);

/* Per-page tag (0 when never set). Valid only for pages pmem handed out. */
uint16_t pmem_get_tag(const void *p);
void pmem_set_tag(const void *p, uint16_t tag);

/*
 * Usable RAM below 1 MiB (less page 0, [keep_start, keep_end) and modules)
 * joins pool 0. Call once nothing reads the loader's or the firmware's data
 * there any more. Returns the bytes added.
 */
uint64_t pmem_add_low_memory(const struct boot_info *bi, uint64_t keep_start, uint64_t keep_end);

struct pmem_stats {
    uint64_t total_bytes;     /* handed to pmem at init */
    uint64_t free_bytes;      /* not allocated now */
    uint64_t alloc_failures;  /* requests that returned NULL */
    int pools;                /* per-core pools */
};
void pmem_get_stats(struct pmem_stats *s);

#endif
