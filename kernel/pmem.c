/*
 * kernel/pmem.c — physical pages as naturally aligned 2^order blocks.
 *
 * Free memory starts as a few extents (usable RAM minus what is reserved).
 * A request first takes a freed block of its order; failing that, it carves
 * from the lowest extent, aligning the carve point to the block size and
 * filing the skipped head as smaller free blocks, so nothing is lost. Freed
 * blocks go back on their order's list; they are not merged with neighbours:
 * a unikernel's allocations settle into a steady mix of sizes, and kmalloc
 * caches small objects itself. Boot cost is O(regions): no bitmap to clear.
 *
 * Tags: one uint16_t per page up to the top of RAM, allocated here at init
 * from the first extent. Not zeroed (that would cost boot time): a tag is
 * meaningful only after its page's owner sets it.
 */
#include <string.h>

#include "kernel/panic.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"

#define MAX_EXTENTS 64
#define LOW_MEMORY_END (1ul << 20) /* BIOS data, EBDA, ROMs; AP trampoline later */

struct extent {
    uint64_t start, end;
};

struct free_block {
    struct free_block *next;
};

static struct extent extents[MAX_EXTENTS];
static int nextents;
static struct free_block *free_lists[PMEM_MAX_ORDER + 1];
static uint16_t *page_tags;
static uint64_t tag_pages;
static uint64_t ram_top, total_bytes, free_bytes, failures;
static struct spinlock pmem_lock;

extern char __kernel_start[], __kernel_end[];

static void extent_add(uint64_t start, uint64_t end)
{
    start = (start + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    end &= ~(PAGE_SIZE - 1);
    if (end <= start || nextents == MAX_EXTENTS)
        return;
    extents[nextents++] = (struct extent){start, end};
}

/* Removes [rs, re) from every extent, splitting where needed. */
static void extent_reserve(uint64_t rs, uint64_t re)
{
    for (int i = 0; i < nextents; i++) {
        struct extent *e = &extents[i];
        if (re <= e->start || rs >= e->end)
            continue;
        uint64_t head_end = rs, tail_start = re;
        uint64_t s = e->start, t = e->end;
        /* remove e, re-add the pieces outside [rs, re) */
        extents[i] = extents[--nextents];
        i--;
        if (head_end > s)
            extent_add(s, head_end);
        if (tail_start < t)
            extent_add(tail_start, t);
    }
}

static void extents_sort(void)
{
    for (int i = 1; i < nextents; i++)
        for (int j = i; j > 0 && extents[j].start < extents[j - 1].start; j--) {
            struct extent t = extents[j];
            extents[j] = extents[j - 1];
            extents[j - 1] = t;
        }
}

unsigned pmem_order_for(size_t bytes)
{
    unsigned order = 0;
    while ((PAGE_SIZE << order) < bytes)
        order++;
    return order;
}

static void free_block_push(uint64_t addr, unsigned order)
{
    struct free_block *b = (struct free_block *)(uintptr_t)addr;
    b->next = free_lists[order];
    free_lists[order] = b;
}

/* Carves a 2^order block from the extents; the skipped head is filed. */
static uint64_t carve(unsigned order)
{
    uint64_t size = PAGE_SIZE << order;
    for (int i = 0; i < nextents; i++) {
        struct extent *e = &extents[i];
        uint64_t at = (e->start + size - 1) & ~(size - 1);
        if (at + size > e->end || at + size < at)
            continue;
        /* File the pages before `at` as the largest aligned blocks that fit. */
        uint64_t p = e->start;
        while (p < at) {
            unsigned o = 0;
            while (o < order && (p & ((PAGE_SIZE << (o + 1)) - 1)) == 0 &&
                   p + (PAGE_SIZE << (o + 1)) <= at)
                o++;
            free_block_push(p, o);
            p += PAGE_SIZE << o;
        }
        e->start = at + size;
        return at;
    }
    return 0;
}

void *pmem_alloc(unsigned order)
{
    if (order > PMEM_MAX_ORDER)
        return NULL;
    uint64_t flags = spin_lock_irqsave(&pmem_lock);
    uint64_t addr = 0;
    if (free_lists[order] != NULL) {
        addr = (uint64_t)(uintptr_t)free_lists[order];
        free_lists[order] = free_lists[order]->next;
    } else {
        addr = carve(order);
    }
    if (addr != 0)
        free_bytes -= PAGE_SIZE << order;
    else
        failures++;
    spin_unlock_irqrestore(&pmem_lock, flags);
    return (void *)(uintptr_t)addr;
}

void pmem_free(void *p, unsigned order)
{
    if (p == NULL)
        return;
    KASSERT(((uintptr_t)p & ((PAGE_SIZE << order) - 1)) == 0);
    uint64_t flags = spin_lock_irqsave(&pmem_lock);
    free_block_push((uint64_t)(uintptr_t)p, order);
    free_bytes += PAGE_SIZE << order;
    spin_unlock_irqrestore(&pmem_lock, flags);
}

uint16_t pmem_get_tag(const void *p)
{
    uint64_t pfn = (uint64_t)(uintptr_t)p >> PAGE_SHIFT;
    return pfn < tag_pages ? page_tags[pfn] : 0;
}

void pmem_set_tag(const void *p, uint16_t tag)
{
    uint64_t pfn = (uint64_t)(uintptr_t)p >> PAGE_SHIFT;
    if (pfn < tag_pages)
        page_tags[pfn] = tag;
}

int pmem_is_ram(uint64_t p, uint64_t len)
{
    return p >= LOW_MEMORY_END && p + len >= p && p + len <= ram_top;
}

void pmem_init(const struct boot_info *bi)
{
    for (int i = 0; i < bi->nregions; i++) {
        const struct mem_region *r = &bi->regions[i];
        if (r->type == MEM_USABLE)
            extent_add(r->base, r->base + r->len);
    }
    extent_reserve(0, LOW_MEMORY_END);
    extent_reserve((uint64_t)(uintptr_t)__kernel_start, (uint64_t)(uintptr_t)__kernel_end);
    for (int i = 0; i < bi->nmodules; i++)
        extent_reserve(bi->modules[i].start & ~(PAGE_SIZE - 1), bi->modules[i].end);
    extents_sort();
    ram_top = boot_ram_top(bi);
    for (int i = 0; i < nextents; i++)
        total_bytes += extents[i].end - extents[i].start;
    free_bytes = total_bytes;

    /* The tag array, from the lowest extent that holds it. */
    tag_pages = ram_top >> PAGE_SHIFT;
    unsigned order = pmem_order_for(tag_pages * sizeof(uint16_t));
    page_tags = pmem_alloc(order);
    if (page_tags == NULL)
        panic("pmem: no room for page tags (%lu pages of RAM)", tag_pages);
    memset(page_tags, 0, sizeof(uint16_t) * 256); /* low pages: never handed out */
}

void pmem_get_stats(struct pmem_stats *s)
{
    uint64_t flags = spin_lock_irqsave(&pmem_lock);
    s->total_bytes = total_bytes;
    s->free_bytes = free_bytes;
    s->alloc_failures = failures;
    spin_unlock_irqrestore(&pmem_lock, flags);
}
