/*
 * kernel/pmem.c — physical pages as naturally aligned 2^order blocks.
 *
 * Free memory starts as a few extents (usable RAM minus what is reserved).
 * A request first takes a freed block of its order, then splits the
 * smallest larger freed block (the halves it does not need are filed), and
 * only then carves from the lowest extent, aligning the carve point to the
 * block size and filing the skipped head as smaller free blocks, so nothing
 * is lost. A freed block merges with its buddy (the other half of the block
 * of the next order) while that buddy is free and whole: memory handed out
 * as pages under pressure comes back as the 32 KiB blocks a thread stack
 * needs, and a page request never fails while a larger block is free. Which
 * pages head a free block is one bit per page (cleared at boot: RAM/32768
 * bytes); the block's order is written in the block itself.
 *
 * Per-core pools: pmem_split hands each core a share of the free extents,
 * with its own lock, so cores do not contend; an owner table (address
 * ranges) sends each freed block back to the pool it came from.
 *
 * Tags: one uint16_t per page up to the top of RAM, allocated here at init
 * from the first extent. Not zeroed (that would cost boot time): a tag is
 * meaningful only after its page's owner sets it.
 */
#include <stdbool.h>
#include <string.h>

#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"

#define MAX_EXTENTS 64
#define MAX_RANGES  (MAX_EXTENTS + 2 * MAX_CPUS)
/* Below 1 MiB: BIOS data, EBDA, ROMs, the AP trampoline, and often the
 * loader's structures. Kept out at init; pmem_add_low_memory adds the usable
 * part once boot no longer needs it. */
#define LOW_MEMORY_END (1ul << 20)
#define SPLIT_ALIGN (2ul << 20)     /* pools are cut at 2 MiB boundaries */

struct extent {
    uint64_t start, end;
};

/* Written into every free block (blocks are at least a page). */
struct free_block {
    struct free_block *next, *prev;
    unsigned order;
};

/* One core's memory: uncarved extents, freed blocks by order, counters. */
struct pool {
    struct spinlock lock;
    struct extent extents[MAX_EXTENTS];
    int nextents;
    struct free_block *free_lists[PMEM_MAX_ORDER + 1];
    uint64_t total_bytes, free_bytes, failures;
};

/* Which pool owns an address: sorted, non-overlapping. */
struct owner_range {
    uint64_t start, end;
    uint32_t pool;
};

static struct pool pool0;
static struct pool *pools[MAX_CPUS] = {&pool0};
static int npools = 1;
static struct owner_range ranges[MAX_RANGES];
static int nranges;
static uint16_t *page_tags;
static uint64_t tag_pages;
/* Bit per page (tag_pages of them): the page heads a block on a free list.
 * Pools share words, so bits change atomically. NULL until pmem_init made
 * it: blocks filed before then are never merged, which is only a loss. */
static uint64_t *free_heads;
static uint64_t ram_top;

extern char __kernel_start[], __kernel_end[];

static void extent_add(struct pool *pl, uint64_t start, uint64_t end)
{
    start = (start + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    end &= ~(PAGE_SIZE - 1);
    if (end <= start || pl->nextents == MAX_EXTENTS)
        return;
    pl->extents[pl->nextents++] = (struct extent){start, end};
}

/* Removes [rs, re) from every extent, splitting where needed. */
static void extent_reserve(struct pool *pl, uint64_t rs, uint64_t re)
{
    for (int i = 0; i < pl->nextents; i++) {
        struct extent *e = &pl->extents[i];
        if (re <= e->start || rs >= e->end)
            continue;
        uint64_t s = e->start, t = e->end;
        pl->extents[i] = pl->extents[--pl->nextents];
        i--;
        if (rs > s)
            extent_add(pl, s, rs);
        if (re < t)
            extent_add(pl, re, t);
    }
}

static void extents_sort(struct pool *pl)
{
    for (int i = 1; i < pl->nextents; i++)
        for (int j = i; j > 0 && pl->extents[j].start < pl->extents[j - 1].start; j--) {
            struct extent t = pl->extents[j];
            pl->extents[j] = pl->extents[j - 1];
            pl->extents[j - 1] = t;
        }
}

unsigned pmem_order_for(size_t bytes)
{
    unsigned order = 0;
    while ((PAGE_SIZE << order) < bytes)
        order++;
    return order;
}

static bool is_free_head(uint64_t addr)
{
    uint64_t pfn = addr >> PAGE_SHIFT;
    return free_heads != NULL && pfn < tag_pages &&
           (__atomic_load_n(&free_heads[pfn / 64], __ATOMIC_RELAXED) >> (pfn % 64) & 1) != 0;
}

static void mark_free_head(uint64_t addr, bool on)
{
    uint64_t pfn = addr >> PAGE_SHIFT;
    if (free_heads == NULL || pfn >= tag_pages)
        return;
    uint64_t bit = 1ull << (pfn % 64);
    if (on)
        __atomic_fetch_or(&free_heads[pfn / 64], bit, __ATOMIC_RELAXED);
    else
        __atomic_fetch_and(&free_heads[pfn / 64], ~bit, __ATOMIC_RELAXED);
}

static void free_block_push(struct pool *pl, uint64_t addr, unsigned order)
{
    struct free_block *b = (struct free_block *)(uintptr_t)addr;
    b->order = order;
    b->prev = NULL;
    b->next = pl->free_lists[order];
    if (b->next != NULL)
        b->next->prev = b;
    pl->free_lists[order] = b;
    mark_free_head(addr, true);
}

static void free_block_unlink(struct pool *pl, struct free_block *b)
{
    if (b->prev != NULL)
        b->prev->next = b->next;
    else
        pl->free_lists[b->order] = b->next;
    if (b->next != NULL)
        b->next->prev = b->prev;
    mark_free_head((uint64_t)(uintptr_t)b, false);
}

static struct pool *owner_of(uint64_t addr);

/* Files a freed block, merged with its buddy for as long as the buddy is a
 * whole free block of the same order in the same pool. */
static void free_block_merge(struct pool *pl, uint64_t addr, unsigned order)
{
    while (order < PMEM_MAX_ORDER) {
        uint64_t buddy = addr ^ (PAGE_SIZE << order);
        if (!is_free_head(buddy) || owner_of(buddy) != pl)
            break;
        struct free_block *b = (struct free_block *)(uintptr_t)buddy;
        if (b->order != order)
            break;
        free_block_unlink(pl, b);
        addr &= ~(PAGE_SIZE << order);
        order++;
    }
    free_block_push(pl, addr, order);
}

/* A freed block of a larger order, split down to `order`: the upper halves
 * go back on their lists. 0 when there is none. */
static uint64_t split_larger(struct pool *pl, unsigned order)
{
    unsigned o = order + 1;
    while (o <= PMEM_MAX_ORDER && pl->free_lists[o] == NULL)
        o++;
    if (o > PMEM_MAX_ORDER)
        return 0;
    struct free_block *b = pl->free_lists[o];
    free_block_unlink(pl, b);
    uint64_t addr = (uint64_t)(uintptr_t)b;
    while (o > order) {
        o--;
        free_block_push(pl, addr + (PAGE_SIZE << o), o);
    }
    return addr;
}

/* Carves a 2^order block from the pool's extents; the skipped head is filed. */
static uint64_t carve(struct pool *pl, unsigned order)
{
    uint64_t size = PAGE_SIZE << order;
    for (int i = 0; i < pl->nextents; i++) {
        struct extent *e = &pl->extents[i];
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
            free_block_push(pl, p, o);
            p += PAGE_SIZE << o;
        }
        e->start = at + size;
        return at;
    }
    return 0;
}

static uint64_t pool_alloc(struct pool *pl, unsigned order)
{
    uint64_t flags = spin_lock_irqsave(&pl->lock);
    uint64_t addr = 0;
    struct free_block *b = pl->free_lists[order];
    if (b != NULL) {
        free_block_unlink(pl, b);
        addr = (uint64_t)(uintptr_t)b;
    } else {
        addr = split_larger(pl, order);
        if (addr == 0)
            addr = carve(pl, order);
    }
    if (addr != 0)
        pl->free_bytes -= PAGE_SIZE << order;
    spin_unlock_irqrestore(&pl->lock, flags);
    return addr;
}

static unsigned my_pool(void)
{
    struct cpu *c = this_cpu();
    unsigned id = c != NULL ? c->id : 0;
    return id < (unsigned)npools ? id : 0;
}

void *pmem_alloc(unsigned order)
{
    if (order > PMEM_MAX_ORDER)
        return NULL;
    unsigned home = my_pool();
    uint64_t addr = pool_alloc(pools[home], order);
    /* Own pool empty (or too fragmented): take from the others in turn. */
    for (int i = 1; addr == 0 && i < npools; i++)
        addr = pool_alloc(pools[(home + (unsigned)i) % (unsigned)npools], order);
    if (addr == 0)
        __atomic_fetch_add(&pools[home]->failures, 1, __ATOMIC_RELAXED);
    return (void *)(uintptr_t)addr;
}

static struct pool *owner_of(uint64_t addr)
{
    int lo = 0, hi = nranges;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (ranges[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < nranges && ranges[lo].start <= addr)
        return pools[ranges[lo].pool];
    return &pool0;
}

void pmem_free(void *p, unsigned order)
{
    if (p == NULL)
        return;
    KASSERT(((uintptr_t)p & ((PAGE_SIZE << order) - 1)) == 0);
    struct pool *pl = owner_of((uint64_t)(uintptr_t)p);
    uint64_t flags = spin_lock_irqsave(&pl->lock);
    if (is_free_head((uint64_t)(uintptr_t)p))
        panic("pmem_free(%p, %u): the block is free already", p, order);
    free_block_merge(pl, (uint64_t)(uintptr_t)p, order);
    pl->free_bytes += PAGE_SIZE << order;
    spin_unlock_irqrestore(&pl->lock, flags);
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

uint64_t pmem_add_low_memory(const struct boot_info *bi, uint64_t keep_start, uint64_t keep_end)
{
    struct pool *pl = &pool0;
    uint64_t flags = spin_lock_irqsave(&pl->lock);
    int before = pl->nextents;
    for (int i = 0; i < bi->nregions; i++) {
        const struct mem_region *r = &bi->regions[i];
        uint64_t start = r->base > PAGE_SIZE ? r->base : PAGE_SIZE;
        uint64_t end = r->base + r->len < LOW_MEMORY_END ? r->base + r->len : LOW_MEMORY_END;
        if (r->type == MEM_USABLE && start < end)
            extent_add(pl, start, end);
    }
    /* Only the new extents: the old ones are partly carved already. */
    struct pool low = {.nextents = pl->nextents - before};
    memcpy(low.extents, &pl->extents[before], sizeof(low.extents[0]) * (size_t)low.nextents);
    extent_reserve(&low, keep_start, keep_end);
    for (int i = 0; i < bi->nmodules; i++)
        extent_reserve(&low, bi->modules[i].start & ~(PAGE_SIZE - 1), bi->modules[i].end);
    uint64_t added = 0;
    pl->nextents = before;
    for (int i = 0; i < low.nextents && pl->nextents < MAX_EXTENTS; i++) {
        pl->extents[pl->nextents++] = low.extents[i];
        added += low.extents[i].end - low.extents[i].start;
    }
    extents_sort(pl); /* lowest first: small blocks are carved from here */
    pl->total_bytes += added;
    pl->free_bytes += added;
    spin_unlock_irqrestore(&pl->lock, flags);
    /* No owner range needed: addresses in none belong to pool 0. */
    return added;
}

/* Gives [start, end) to pool `pool` in the owner table (it was pool 0's). */
static void range_assign(uint64_t start, uint64_t end, uint32_t pool)
{
    for (int i = 0; i < nranges; i++) {
        struct owner_range r = ranges[i];
        if (start < r.start || end > r.end)
            continue;
        if (nranges + 2 > MAX_RANGES)
            return; /* table full: frees go to pool 0, which is still correct */
        struct owner_range pieces[3];
        int n = 0;
        if (r.start < start)
            pieces[n++] = (struct owner_range){r.start, start, r.pool};
        pieces[n++] = (struct owner_range){start, end, pool};
        if (end < r.end)
            pieces[n++] = (struct owner_range){end, r.end, r.pool};
        memmove(&ranges[i + n], &ranges[i + 1], sizeof(ranges[0]) * (size_t)(nranges - i - 1));
        memcpy(&ranges[i], pieces, sizeof(pieces[0]) * (size_t)n);
        nranges += n - 1;
        return;
    }
}

void pmem_init(const struct boot_info *bi)
{
    struct pool *pl = &pool0;
    for (int i = 0; i < bi->nregions; i++) {
        const struct mem_region *r = &bi->regions[i];
        if (r->type == MEM_USABLE)
            extent_add(pl, r->base, r->base + r->len);
    }
    extent_reserve(pl, 0, LOW_MEMORY_END);
    extent_reserve(pl, (uint64_t)(uintptr_t)__kernel_start, (uint64_t)(uintptr_t)__kernel_end);
    for (int i = 0; i < bi->nmodules; i++)
        extent_reserve(pl, bi->modules[i].start & ~(PAGE_SIZE - 1), bi->modules[i].end);
    extents_sort(pl);
    ram_top = boot_ram_top(bi);
    for (int i = 0; i < pl->nextents; i++) {
        pl->total_bytes += pl->extents[i].end - pl->extents[i].start;
        ranges[nranges++] = (struct owner_range){pl->extents[i].start, pl->extents[i].end, 0};
    }
    pl->free_bytes = pl->total_bytes;

    /* The tag array and the free-head bitmap, from the lowest extent that
     * holds them. */
    tag_pages = ram_top >> PAGE_SHIFT;
    size_t tag_bytes = (tag_pages * sizeof(uint16_t) + 7) & ~(size_t)7;
    size_t map_bytes = (tag_pages + 63) / 64 * sizeof(uint64_t);
    unsigned order = pmem_order_for(tag_bytes + map_bytes);
    page_tags = pmem_alloc(order);
    if (page_tags == NULL)
        panic("pmem: no room for page tags (%lu pages of RAM)", tag_pages);
    memset(page_tags, 0, sizeof(uint16_t) * 256); /* low pages: never handed out */
    memset((char *)page_tags + tag_bytes, 0, map_bytes);
    free_heads = (uint64_t *)((char *)page_tags + tag_bytes);
}

void pmem_split(int ncpus)
{
    if (ncpus <= 1 || npools > 1)
        return;
    if (ncpus > MAX_CPUS)
        ncpus = MAX_CPUS;
    uint64_t share = pool0.free_bytes / (uint64_t)ncpus & ~(SPLIT_ALIGN - 1);
    for (int id = 1; id < ncpus && share > 0; id++) {
        struct pool *pl = pmem_alloc(pmem_order_for(sizeof(struct pool)));
        if (pl == NULL)
            break;
        memset(pl, 0, sizeof(*pl));
        uint64_t flags = spin_lock_irqsave(&pool0.lock);
        /* Move `share` bytes from the top of pool 0's extents. */
        uint64_t want = share;
        for (int i = pool0.nextents - 1; i >= 0 && want > 0 && pl->nextents < MAX_EXTENTS; i--) {
            struct extent *e = &pool0.extents[i];
            uint64_t cut = e->end - want > e->start ? (e->end - want) & ~(SPLIT_ALIGN - 1) : e->start;
            if (cut < e->start)
                cut = e->start;
            if (cut >= e->end)
                continue;
            pl->extents[pl->nextents++] = (struct extent){cut, e->end};
            range_assign(cut, e->end, (uint32_t)id);
            want -= e->end - cut < want ? e->end - cut : want;
            e->end = cut;
        }
        extents_sort(pl);
        for (int i = 0; i < pl->nextents; i++)
            pl->total_bytes += pl->extents[i].end - pl->extents[i].start;
        pl->free_bytes = pl->total_bytes;
        pool0.total_bytes -= pl->total_bytes;
        pool0.free_bytes -= pl->total_bytes;
        spin_unlock_irqrestore(&pool0.lock, flags);
        pools[id] = pl;
        __atomic_store_n(&npools, id + 1, __ATOMIC_RELEASE);
    }
}

void pmem_get_stats(struct pmem_stats *s)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < npools; i++) {
        struct pool *pl = pools[i];
        uint64_t flags = spin_lock_irqsave(&pl->lock);
        s->total_bytes += pl->total_bytes;
        s->free_bytes += pl->free_bytes;
        s->alloc_failures += pl->failures;
        spin_unlock_irqrestore(&pl->lock, flags);
    }
    s->pools = npools;
}
