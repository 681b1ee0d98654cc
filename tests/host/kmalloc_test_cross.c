/*
 * kmalloc_test_cross.c - kernel/kmalloc.c with threads as cores, objects
 * freed by cores other than their owners.
 *
 * XC_ALLOCATORS threads each allocate batches of blocks, fill them and hand
 * each to a random thread's inbox (a kernel/mpsc.h queue, as core mailboxes
 * are), mostly another's, sometimes their own. One more thread only frees,
 * so its cache is born inside free(). Receivers verify the pattern and free
 * the block, and everyone drains until every block is freed. Afterwards the
 * statistics must balance to the byte and count every remote free, and each
 * owner, allocating again, must get back exactly the small objects it had
 * handed out, without a new page. Runs under ThreadSanitizer too (host.mk).
 * Worker threads only count problems; the main thread CHECKs after joining.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/mpsc.h"
#include "kmalloc_test.h"
#include "runner.h"

#define XC_ALLOCATORS 4
#define XC_THREADS    (XC_ALLOCATORS + 1) /* the last one only frees */
#define XC_ROUNDS     150
#define XC_BATCH      32
#define XC_TOTAL      ((uint64_t)XC_ALLOCATORS * XC_ROUNDS * XC_BATCH)
#define XC_HEADER     24 /* bytes of struct xc_msg; the pattern follows */

struct xc_msg {
    struct mpsc_node node;
    uint32_t owner, size;
    uint64_t seed;
};

struct xc_small {
    uintptr_t addr;
    size_t class_size;
};

struct xc_thread {
    pthread_t tid;
    unsigned index, cpu;
    struct mpsc_queue inbox;
    uint64_t rng;
    uint64_t sent_remote, freed, errors, alloc_failures;
    struct xc_small *small; /* small objects this thread allocated */
    size_t nsmall;
} __attribute__((aligned(64)));

static struct xc_thread xc[XC_THREADS];
static uint64_t xc_freed; /* atomic: blocks freed by anyone */

static size_t xc_size(uint64_t *rng)
{
    unsigned r = kmt_rand(rng) % 100;
    if (r < 70)
        return XC_HEADER + kmt_rand(rng) % 200;
    if (r < 95)
        return XC_HEADER + kmt_rand(rng) % KMT_MAX_SMALL;
    return XC_HEADER + kmt_rand(rng) % 20000;
}

/* Verifies and frees everything in t's inbox; returns how many. */
static size_t xc_drain(struct xc_thread *t)
{
    size_t n = 0;
    struct mpsc_node *node = mpsc_take_all(&t->inbox);
    while (node != NULL) {
        struct mpsc_node *next = node->next;
        struct xc_msg *m = MPSC_CONTAINER(node, struct xc_msg, node);
        size_t usable = kmalloc_usable_size(m);
        if (m->owner >= XC_ALLOCATORS || usable < m->size ||
            kmt_verify(m, XC_HEADER, usable, m->seed) >= 0)
            t->errors++;
        km_free(m);
        __atomic_fetch_add(&xc_freed, 1, __ATOMIC_RELAXED);
        t->freed++;
        n++;
        node = next;
    }
    return n;
}

static void xc_send_batch(struct xc_thread *t)
{
    for (int b = 0; b < XC_BATCH; b++) {
        size_t n = xc_size(&t->rng);
        struct xc_msg *m = km_malloc(n);
        if (m == NULL) {
            t->alloc_failures++;
            __atomic_fetch_add(&xc_freed, 1, __ATOMIC_RELAXED); /* nothing to wait for */
            continue;
        }
        size_t usable = kmalloc_usable_size(m);
        if (usable < n)
            t->errors++;
        m->owner = t->index;
        m->size = (uint32_t)n;
        m->seed = kmt_rand(&t->rng);
        kmt_fill(m, XC_HEADER, usable, m->seed);
        if (usable <= KMT_MAX_SMALL)
            t->small[t->nsmall++] = (struct xc_small){(uintptr_t)m, usable};

        unsigned dest = t->index;
        if (kmt_rand(&t->rng) % 8 != 0)
            dest = (t->index + 1 + (unsigned)(kmt_rand(&t->rng) % (XC_THREADS - 1))) % XC_THREADS;
        if (dest != t->index)
            t->sent_remote++;
        mpsc_push(&xc[dest].inbox, &m->node);
    }
}

static void *xc_main(void *arg)
{
    struct xc_thread *t = arg;
    km_arena_set_cpu(t->cpu);
    if (t->index < XC_ALLOCATORS) {
        for (int r = 0; r < XC_ROUNDS; r++) {
            xc_send_batch(t);
            xc_drain(t);
        }
    }
    while (__atomic_load_n(&xc_freed, __ATOMIC_RELAXED) < XC_TOTAL)
        if (xc_drain(t) == 0)
            sched_yield();
    return NULL;
}

static int cmp_small(const void *a, const void *b)
{
    const struct xc_small *x = a, *y = b;
    if (x->class_size != y->class_size)
        return x->class_size < y->class_size ? -1 : 1;
    return (x->addr > y->addr) - (x->addr < y->addr);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

/* Sorts t's small objects by class and address, drops repeats. */
static size_t distinct_small(struct xc_thread *t)
{
    size_t n = 0;
    qsort(t->small, t->nsmall, sizeof(*t->small), cmp_small);
    for (size_t i = 0; i < t->nsmall; i++)
        if (n == 0 || cmp_small(&t->small[n - 1], &t->small[i]) != 0)
            t->small[n++] = t->small[i];
    return n;
}

/*
 * On t's core, allocating as many objects of each class as t ever handed
 * out returns exactly those objects: its free lists plus what other cores
 * pushed back hold all of them, and nothing else.
 */
static void check_owner_reuses(struct xc_thread *t)
{
    size_t n = distinct_small(t);
    uintptr_t *got = calloc(n + 1, sizeof(*got));
    struct kmalloc_stats s0, s;
    struct km_arena_stats a0, a;

    km_arena_set_cpu(t->cpu);
    kmalloc_get_stats(&s0);
    km_arena_get_stats(&a0);
    for (size_t i = 0; i < n;) {
        size_t c = t->small[i].class_size, j = i;
        for (; j < n && t->small[j].class_size == c; j++)
            got[j] = (uintptr_t)km_malloc(c);
        qsort(&got[i], j - i, sizeof(*got), cmp_ptr);
        size_t wrong = 0;
        for (size_t k = i; k < j; k++)
            wrong += got[k] != t->small[k].addr;
        CHECK_AT(__FILE__, __LINE__, wrong == 0,
                 "core %u class %zu: %zu of %zu objects are not the ones freed", t->cpu, c, wrong,
                 j - i);
        i = j;
    }
    kmalloc_get_stats(&s);
    km_arena_get_stats(&a);
    CHECK_UINT_EQ(s.pages_held, s0.pages_held);
    CHECK_UINT_EQ(a.allocs, a0.allocs);
    for (size_t i = 0; i < n; i++)
        km_free((void *)got[i]);
    free(got);
    km_arena_set_cpu(0);
}

TEST(kmalloc_cross_core_frees)
{
    struct kmalloc_stats s0, s;
    uint64_t remote = 0;

    kmalloc_get_stats(&s0);
    memset(xc, 0, sizeof(xc));
    xc_freed = 0;
    for (unsigned i = 0; i < XC_THREADS; i++) {
        xc[i].index = i;
        xc[i].cpu = kmt_fresh_cpu();
        xc[i].rng = 0xC0FFEE + i;
        xc[i].small = calloc(XC_ROUNDS * XC_BATCH, sizeof(*xc[i].small));
    }
    for (unsigned i = 0; i < XC_THREADS; i++)
        CHECK(pthread_create(&xc[i].tid, NULL, xc_main, &xc[i]) == 0);
    for (unsigned i = 0; i < XC_THREADS; i++)
        pthread_join(xc[i].tid, NULL);

    uint64_t freed = 0;
    for (unsigned i = 0; i < XC_THREADS; i++) {
        CHECK_UINT_EQ(xc[i].errors, 0);
        CHECK_UINT_EQ(xc[i].alloc_failures, 0);
        CHECK(mpsc_empty(&xc[i].inbox));
        remote += xc[i].sent_remote;
        freed += xc[i].freed;
    }
    CHECK_UINT_EQ(freed, XC_TOTAL);
    CHECK(xc[XC_ALLOCATORS].freed > 0); /* the free-only core took part */
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.allocs - s0.allocs, XC_TOTAL);
    CHECK_UINT_EQ(s.frees - s0.frees, XC_TOTAL);
    CHECK_UINT_EQ(s.remote_frees - s0.remote_frees, remote);
    CHECK(remote > XC_TOTAL / 2);
    CHECK_UINT_EQ(s.failures, s0.failures);
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);

    for (unsigned i = 0; i < XC_ALLOCATORS; i++)
        check_owner_reuses(&xc[i]);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);
    for (unsigned i = 0; i < XC_THREADS; i++)
        free(xc[i].small);
}
