/*
 * kernel/paging.h — the identity map after boot.
 *
 * The stub maps RAM with large pages; this module finishes the job in C:
 * it extends the map past 4 GiB when the CPU had no 1 GiB pages, unmaps the
 * first 4 KiB page so NULL dereferences fault, and can turn any page into a
 * guard page (not present), splitting large pages on the way.
 */
#ifndef ZEBU_KERNEL_PAGING_H
#define ZEBU_KERNEL_PAGING_H

#include <stdint.h>

#include "kernel/boot.h"

/* Needs pmem (for new tables). Returns 0 or -ENOMEM. */
int paging_init(const struct boot_info *bi);

/* Makes the 4 KiB page at va not present (1) or present again (0). */
int paging_set_guard(uint64_t va, int guard);

/*
 * Identity-maps [addr, addr + len) uncached (PCD|PWT) for device registers,
 * adding tables above the RAM map where needed (64-bit BARs) and splitting
 * 1 GiB pages to 2 MiB. Call before other cores may hold TLB entries for the
 * range. Returns 0 or -ENOMEM.
 */
int paging_map_mmio(uint64_t addr, uint64_t len);

/* Highest identity-mapped address + 1. */
uint64_t paging_mapped_top(void);

#endif
