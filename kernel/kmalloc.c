/*
 * kernel/kmalloc.c — malloc family with a cache per core.
 *
 * Each core allocates from its own cache, with its interrupts off and no
 * lock. Page tags (pmem) say what a page serves and which core owns it, so
 * free() needs no header in front of an object:
 *   bits 0-7   1..KM_CLASSES: a page of small objects of class tag-1;
 *              KM_LARGE | order: the first page of a 2^order-page block
 *   bits 8-15  the owning core
 * A free on the owning core goes straight back on its class list. A free
 * from another core is pushed, lock-free, onto the owner's `remote` stack
 * (a compare-and-swap); the owner takes the whole stack back when a class
 * list runs dry. Byte counts are kept by the owner, plus an atomic count of
 * what other cores freed; counters are written with relaxed atomics so that
 * another core may read them. A snapshot taken while cores allocate may be
 * off by the operations in flight; with the cores quiet it is exact.
 * Small classes carve their pages lazily (bump pointer) and keep them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kmalloc.h"
#include "kernel/kmalloc_env.h"

#define KM_MIN_SHIFT 4 /* 16 bytes */
#define KM_CLASSES   8 /* 16 .. 2048 */
#define KM_MAX_SMALL (1u << (KM_MIN_SHIFT + KM_CLASSES - 1))
#define KM_LARGE     0x80
#define KM_KIND(tag)  ((tag) & 0xFF)
#define KM_OWNER(tag) ((unsigned)(tag) >> 8)

struct km_free {
    struct km_free *next;
};

struct km_class {
    struct km_free *free;
    char *bump, *bump_end;
    uint64_t pages;
};

struct km_cache {
    struct km_class classes[KM_CLASSES];
    struct km_free *remote;  /* freed here by other cores; atomic */
    uint64_t bytes_allocated, bytes_freed_local;
    uint64_t bytes_freed_remote; /* atomic: added by other cores */
    uint64_t allocs, frees, failures;
    uint64_t remote_frees_sent; /* frees this core sent to other owners */
} __attribute__((aligned(64)));

static struct km_cache boot_cache;
static struct km_cache *caches[KM_MAX_CPUS] = {&boot_cache};
/* Events on a core that has no cache (its first page could not be had). */
static uint64_t orphan_failures, orphan_frees, orphan_remote_frees;

/* Owner-only counters: a relaxed load and store (a plain add on x86), which
 * lets other cores read them without a data race. */
#define KM_ADD(field, v) __atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (v), \
                                          __ATOMIC_RELAXED)
#define KM_GET(field)    __atomic_load_n(&(field), __ATOMIC_RELAXED)

static struct km_cache *my_cache(void)
{
    unsigned id = km_cpu_id();
    struct km_cache *c = caches[id];
    if (c == NULL) {
        /* First allocation on this core: its cache comes from a page. Only
         * this core ever writes its slot. */
        c = km_pages_alloc(km_order_for(sizeof(*c)));
        if (c == NULL)
            return NULL;
        memset(c, 0, sizeof(*c));
        __atomic_store_n(&caches[id], c, __ATOMIC_RELEASE);
    }
    return c;
}

static size_t class_size(unsigned c)
{
    return (size_t)1 << (KM_MIN_SHIFT + c);
}

static unsigned class_of(size_t n)
{
    unsigned c = 0;
    while (class_size(c) < n)
        c++;
    return c;
}

/* Takes back everything other cores freed here and files it by class. */
static void drain_remote(struct km_cache *kc)
{
    struct km_free *o = __atomic_exchange_n(&kc->remote, NULL, __ATOMIC_ACQUIRE);
    while (o != NULL) {
        struct km_free *next = o->next;
        uint16_t tag = km_tag_get((const void *)((uintptr_t)o & ~(KM_PAGE_SIZE - 1)));
        struct km_class *k = &kc->classes[KM_KIND(tag) - 1];
        o->next = k->free;
        k->free = o;
        o = next;
    }
}

static void *small_alloc(struct km_cache *kc, unsigned c)
{
    struct km_class *k = &kc->classes[c];
    if (k->free == NULL && __atomic_load_n(&kc->remote, __ATOMIC_RELAXED) != NULL)
        drain_remote(kc);
    if (k->free != NULL) {
        struct km_free *o = k->free;
        k->free = o->next;
        return o;
    }
    if (k->bump == k->bump_end) {
        char *page = km_pages_alloc(0);
        if (page == NULL)
            return NULL;
        km_tag_set(page, (uint16_t)((c + 1) | (km_cpu_id() << 8)));
        k->bump = page;
        k->bump_end = page + KM_PAGE_SIZE;
        KM_ADD(k->pages, 1);
    }
    void *o = k->bump;
    k->bump += class_size(c);
    return o;
}

static void *km_alloc(size_t n, size_t align)
{
    if (n == 0)
        n = 1;
    uint64_t flags = km_irq_save();
    struct km_cache *kc = my_cache();
    void *p = NULL;
    size_t got = 0;
    if (kc == NULL) {
        __atomic_fetch_add(&orphan_failures, 1, __ATOMIC_RELAXED);
        km_irq_restore(flags);
        return NULL;
    }
    if (n <= KM_MAX_SMALL && align <= KM_MAX_SMALL) {
        unsigned c = class_of(n > align ? n : align);
        p = small_alloc(kc, c);
        got = class_size(c);
    } else if (n <= (KM_PAGE_SIZE << KM_MAX_ORDER) && align <= (KM_PAGE_SIZE << KM_MAX_ORDER)) {
        unsigned order = km_order_for(n > align ? n : align);
        p = km_pages_alloc(order);
        if (p != NULL)
            km_tag_set(p, (uint16_t)((KM_LARGE | order) | (km_cpu_id() << 8)));
        got = KM_PAGE_SIZE << order;
    }
    if (p != NULL) {
        KM_ADD(kc->allocs, 1);
        KM_ADD(kc->bytes_allocated, got);
    } else {
        KM_ADD(kc->failures, 1);
    }
    km_irq_restore(flags);
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
        __atomic_fetch_add(&orphan_failures, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    void *p = malloc(n);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}

static uint16_t tag_of(const void *p)
{
    return km_tag_get((const void *)((uintptr_t)p & ~(KM_PAGE_SIZE - 1)));
}

size_t kmalloc_usable_size(const void *p)
{
    uint16_t tag = tag_of(p);
    unsigned kind = KM_KIND(tag);
    if (kind >= 1 && kind <= KM_CLASSES)
        return class_size(kind - 1);
    KASSERT((kind & KM_LARGE) != 0 && ((uintptr_t)p & (KM_PAGE_SIZE - 1)) == 0);
    return KM_PAGE_SIZE << (kind & 0x3F);
}

void free(void *p)
{
    if (p == NULL)
        return;
    uint16_t tag = tag_of(p);
    unsigned kind = KM_KIND(tag), owner = KM_OWNER(tag);
    size_t size;
    if (kind >= 1 && kind <= KM_CLASSES) {
        size = class_size(kind - 1);
        if (((uintptr_t)p & (size - 1)) != 0)
            panic("free(%p): not an object malloc returned (class %zu)", p, size);
    } else if ((kind & KM_LARGE) && ((uintptr_t)p & (KM_PAGE_SIZE - 1)) == 0) {
        size = KM_PAGE_SIZE << (kind & 0x3F);
    } else {
        panic("free(%p): not a pointer malloc returned (page tag %#x)", p, tag);
    }
    KASSERT(owner < KM_MAX_CPUS && caches[owner] != NULL);
    uint64_t flags = km_irq_save();
    /* No cache is made just to free: a core that only frees needs none. */
    struct km_cache *mine = __atomic_load_n(&caches[km_cpu_id()], __ATOMIC_ACQUIRE);
    struct km_cache *kc = caches[owner];
    if (kind & KM_LARGE) {
        km_tag_set(p, 0);
        km_pages_free(p, kind & 0x3F);
    }
    if (kc == mine) {
        if (!(kind & KM_LARGE)) {
            struct km_free *o = p;
            struct km_class *k = &kc->classes[kind - 1];
            o->next = k->free;
            k->free = o;
        }
        KM_ADD(kc->bytes_freed_local, size);
    } else {
        if (!(kind & KM_LARGE)) {
            struct km_free *o = p;
            struct km_free *head = __atomic_load_n(&kc->remote, __ATOMIC_RELAXED);
            do {
                o->next = head;
            } while (!__atomic_compare_exchange_n(&kc->remote, &head, o, 1, __ATOMIC_RELEASE,
                                                  __ATOMIC_RELAXED));
        }
        __atomic_fetch_add(&kc->bytes_freed_remote, size, __ATOMIC_RELAXED);
        if (mine != NULL)
            KM_ADD(mine->remote_frees_sent, 1);
        else
            __atomic_fetch_add(&orphan_remote_frees, 1, __ATOMIC_RELAXED);
    }
    if (mine != NULL)
        KM_ADD(mine->frees, 1);
    else
        __atomic_fetch_add(&orphan_frees, 1, __ATOMIC_RELAXED);
    km_irq_restore(flags);
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
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < KM_MAX_CPUS; i++) {
        const struct km_cache *kc = __atomic_load_n(&caches[i], __ATOMIC_ACQUIRE);
        if (kc == NULL)
            continue;
        s->bytes_in_use += KM_GET(kc->bytes_allocated) - KM_GET(kc->bytes_freed_local) -
                           KM_GET(kc->bytes_freed_remote);
        s->allocs += KM_GET(kc->allocs);
        s->frees += KM_GET(kc->frees);
        s->failures += KM_GET(kc->failures);
        s->remote_frees += KM_GET(kc->remote_frees_sent);
        for (unsigned c = 0; c < KM_CLASSES; c++)
            s->pages_held += KM_GET(kc->classes[c].pages);
    }
    s->failures += __atomic_load_n(&orphan_failures, __ATOMIC_RELAXED);
    s->frees += __atomic_load_n(&orphan_frees, __ATOMIC_RELAXED);
    s->remote_frees += __atomic_load_n(&orphan_remote_frees, __ATOMIC_RELAXED);
}

void kmalloc_print_stats(void)
{
    struct kmalloc_stats s;
    kmalloc_get_stats(&s);
    km_printf("kmalloc: %lu bytes in use, %lu allocs, %lu frees (%lu from another core), "
            "%lu failures, %lu pages held by small classes\n",
            s.bytes_in_use, s.allocs, s.frees, s.remote_frees, s.failures, s.pages_held);
    for (unsigned i = 0; i < KM_MAX_CPUS; i++) {
        const struct km_cache *kc = __atomic_load_n(&caches[i], __ATOMIC_ACQUIRE);
        if (kc == NULL)
            continue;
        km_printf("  core %u: %lu allocs, %lu frees, %lu bytes in use\n", i, KM_GET(kc->allocs),
                  KM_GET(kc->frees),
                  KM_GET(kc->bytes_allocated) - KM_GET(kc->bytes_freed_local) -
                      KM_GET(kc->bytes_freed_remote));
    }
}
