/*
 * kernel/kmalloc.c — malloc family on pmem.
 *
 * Page tags (pmem_set_tag) say what a page serves, so free() needs no header
 * in front of the object:
 *   tag 1..KM_CLASSES      a page of small objects of class tag-1
 *   tag KM_LARGE | order   the first page of a large block of 2^order pages
 * Small classes keep an intrusive free list and a bump pointer into their
 * newest page, so a fresh page is not touched until objects are handed out.
 * Pages of small classes are kept by their class once taken.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kmalloc.h"
#include "kernel/panic.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"

#define KM_MIN_SHIFT 4 /* 16 bytes */
#define KM_CLASSES   8 /* 16 .. 2048 */
#define KM_MAX_SMALL (1u << (KM_MIN_SHIFT + KM_CLASSES - 1))
#define KM_LARGE     0x100

struct km_free {
    struct km_free *next;
};

struct km_class {
    struct km_free *free;
    char *bump, *bump_end;
    uint64_t in_use, pages;
};

static struct km_class classes[KM_CLASSES];
static struct kmalloc_stats stats;
static struct spinlock km_lock;

static unsigned class_of(size_t n)
{
    unsigned c = 0;
    while ((1ul << (KM_MIN_SHIFT + c)) < n)
        c++;
    return c;
}

static void *small_alloc(unsigned c)
{
    struct km_class *k = &classes[c];
    size_t size = 1ul << (KM_MIN_SHIFT + c);
    if (k->free != NULL) {
        struct km_free *o = k->free;
        k->free = o->next;
        return o;
    }
    if (k->bump == k->bump_end) {
        char *page = pmem_alloc(0);
        if (page == NULL)
            return NULL;
        pmem_set_tag(page, (uint16_t)(c + 1));
        k->bump = page;
        k->bump_end = page + PAGE_SIZE;
        k->pages++;
        stats.pages_held++;
    }
    void *o = k->bump;
    k->bump += size;
    return o;
}

static void *alloc_locked(size_t n, size_t align)
{
    if (n == 0)
        n = 1;
    if (n <= KM_MAX_SMALL && align <= KM_MAX_SMALL) {
        unsigned c = class_of(n > align ? n : align);
        void *p = small_alloc(c);
        if (p != NULL) {
            stats.bytes_in_use += 1ul << (KM_MIN_SHIFT + c);
            classes[c].in_use++;
        }
        return p;
    }
    if (n > (PAGE_SIZE << PMEM_MAX_ORDER))
        return NULL;
    size_t need = n > align ? n : align;
    unsigned order = pmem_order_for(need);
    void *p = pmem_alloc(order);
    if (p != NULL) {
        pmem_set_tag(p, (uint16_t)(KM_LARGE | order));
        stats.bytes_in_use += PAGE_SIZE << order;
    }
    return p;
}

static void *km_alloc(size_t n, size_t align)
{
    uint64_t flags = spin_lock_irqsave(&km_lock);
    void *p = alloc_locked(n, align);
    if (p != NULL)
        stats.allocs++;
    else
        stats.failures++;
    spin_unlock_irqrestore(&km_lock, flags);
    return p;
}

void *malloc(size_t n)
{
    return km_alloc(n, 16);
}

void *aligned_alloc(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return km_alloc(n, align < 16 ? 16 : align);
}

void *calloc(size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        uint64_t flags = spin_lock_irqsave(&km_lock);
        stats.failures++;
        spin_unlock_irqrestore(&km_lock, flags);
        return NULL;
    }
    void *p = malloc(n);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}

size_t kmalloc_usable_size(const void *p)
{
    uint16_t tag = pmem_get_tag((const void *)((uintptr_t)p & ~(PAGE_SIZE - 1)));
    if (tag >= 1 && tag <= KM_CLASSES)
        return 1ul << (KM_MIN_SHIFT + tag - 1);
    KASSERT((tag & KM_LARGE) != 0 && ((uintptr_t)p & (PAGE_SIZE - 1)) == 0);
    return PAGE_SIZE << (tag & 0xFF);
}

void free(void *p)
{
    if (p == NULL)
        return;
    uint16_t tag = pmem_get_tag((const void *)((uintptr_t)p & ~(PAGE_SIZE - 1)));
    uint64_t flags = spin_lock_irqsave(&km_lock);
    if (tag >= 1 && tag <= KM_CLASSES) {
        unsigned c = tag - 1u;
        KASSERT(((uintptr_t)p & ((1ul << (KM_MIN_SHIFT + c)) - 1)) == 0);
        struct km_free *o = p;
        o->next = classes[c].free;
        classes[c].free = o;
        classes[c].in_use--;
        stats.bytes_in_use -= 1ul << (KM_MIN_SHIFT + c);
    } else {
        if (!(tag & KM_LARGE) || ((uintptr_t)p & (PAGE_SIZE - 1)) != 0)
            panic("free(%p): not a pointer malloc returned (page tag %#x)", p, tag);
        unsigned order = tag & 0xFF;
        pmem_set_tag(p, 0);
        pmem_free(p, order);
        stats.bytes_in_use -= PAGE_SIZE << order;
    }
    stats.frees++;
    spin_unlock_irqrestore(&km_lock, flags);
}

void *realloc(void *p, size_t n)
{
    if (p == NULL)
        return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    size_t have = kmalloc_usable_size(p);
    if (n <= have && (have <= 16 || n > have / 2))
        return p; /* fits, and shrinking would not save a class */
    void *q = malloc(n);
    if (q == NULL)
        return NULL; /* p is left intact, as C requires */
    memcpy(q, p, n < have ? n : have);
    free(p);
    return q;
}

void kmalloc_get_stats(struct kmalloc_stats *s)
{
    uint64_t flags = spin_lock_irqsave(&km_lock);
    *s = stats;
    spin_unlock_irqrestore(&km_lock, flags);
}

void kmalloc_print_stats(void)
{
    struct kmalloc_stats s;
    kmalloc_get_stats(&s);
    kprintf("kmalloc: %lu bytes in use, %lu allocs, %lu frees, %lu failures, %lu pages held\n",
            s.bytes_in_use, s.allocs, s.frees, s.failures, s.pages_held);
    for (unsigned c = 0; c < KM_CLASSES; c++)
        if (classes[c].pages != 0)
            kprintf("  class %5lu: %lu in use, %lu pages\n", 1ul << (KM_MIN_SHIFT + c),
                    classes[c].in_use, classes[c].pages);
}
