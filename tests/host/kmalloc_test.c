/*
 * kmalloc_test.c - kernel/kmalloc.c on one core at a time: a seeded random
 * run checked against a model, edge cases of the C interface, exhaustion
 * of a capped arena, and the panics on frees of pointers malloc never
 * returned. Failure injection is in kmalloc_test_fail.c, frees across cores
 * in kmalloc_test_cross.c.
 *
 * kmalloc's state (per-core caches, pages kept by small classes) lives for
 * the whole process, so each test takes cores no other test used and
 * compares statistics before and after rather than against zero. The model
 * fills every live block's whole usable size with a pattern of its own and
 * marks the block's 16-byte granules in a map of the arena: an overlap is
 * seen when the block is handed out, corruption when it is freed.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "kmalloc_test.h"
#include "runner.h"

#define GRANULE      16
#define ARENA_GRAINS (KM_ARENA_PAGES * KM_PAGE_SIZE / GRANULE)
#define RANDOM_OPS   100000
#define RANDOM_LIVE  3000
#define RANDOM_SEED  0x5eed2024ull

unsigned kmt_fresh_cpu(void)
{
    static unsigned next = 1; /* core 0 (the boot cache) is left alone */
    if (next >= KM_MAX_CPUS)
        panic("kmalloc_test: out of fresh cores");
    return next++;
}

/* --- the model -------------------------------------------------------------- */

struct block {
    unsigned char *p;
    size_t req, usable, align;
    uint64_t seed;
};

struct model {
    struct block *live;
    size_t nlive, cap;
    uint64_t *grains; /* one bit per 16 bytes of arena: in a live block */
    uint64_t allocs, frees, bytes;
    uint64_t next_seed;
};

static void model_init(struct model *m, size_t cap)
{
    memset(m, 0, sizeof(*m));
    m->live = calloc(cap, sizeof(*m->live));
    m->cap = cap;
    m->grains = calloc(ARENA_GRAINS / 64, sizeof(uint64_t));
    m->next_seed = 1;
}

static void model_destroy(struct model *m)
{
    free(m->live);
    free(m->grains);
}

/* Sets (or clears) the granules of [p, p + len); returns how many were
 * already in the wanted state, i.e. overlaps (or holes). */
static size_t mark_grains(struct model *m, const void *p, size_t len, int set)
{
    size_t first = (size_t)((const char *)p - (const char *)km_arena_base()) / GRANULE;
    size_t n = len / GRANULE, clash = 0;
    for (size_t g = first; g < first + n; g++) {
        uint64_t bit = 1ull << (g % 64);
        uint64_t *w = &m->grains[g / 64];
        if (((*w & bit) != 0) == set)
            clash++;
        *w = set ? *w | bit : *w & ~bit;
    }
    return clash;
}

/* Checks a block kmalloc just returned and enters it into the model. */
static void model_add(struct model *m, void *p, size_t req, size_t align, const char *what)
{
    size_t usable = kmalloc_usable_size(p);
    uintptr_t a = (uintptr_t)p;
    int small = usable <= KMT_MAX_SMALL;

    CHECK_AT(__FILE__, __LINE__, (a & 15) == 0 && a % align == 0, "%s(%zu, align %zu) = %p", what,
             req, align, p);
    CHECK_AT(__FILE__, __LINE__, usable >= req && usable >= 1 && (usable & (usable - 1)) == 0,
             "%s(%zu): usable size %zu", what, req, usable);
    /* A class object is aligned to its class size, a large block to its size. */
    CHECK_AT(__FILE__, __LINE__, a % usable == 0 && (small || usable % KM_PAGE_SIZE == 0),
             "%s(%zu) = %p, usable %zu: not naturally aligned", what, req, p, usable);
    if (small)
        CHECK_AT(__FILE__, __LINE__, usable == kmt_class_size(req > align ? req : align),
                 "%s(%zu, align %zu): class %zu", what, req, align, usable);
    if (!km_arena_owns(p, usable)) {
        CHECK_AT(__FILE__, __LINE__, 0, "%s(%zu) = %p: outside the arena", what, req, p);
        return;
    }
    size_t clash = mark_grains(m, p, usable, 1);
    CHECK_AT(__FILE__, __LINE__, clash == 0, "%s(%zu) = %p: %zu granules overlap a live block",
             what, req, p, clash);

    struct block *b = &m->live[m->nlive++];
    b->p = p;
    b->req = req;
    b->usable = usable;
    b->align = align;
    b->seed = m->next_seed++;
    kmt_fill(p, 0, usable, b->seed);
    m->allocs++;
    m->bytes += usable;
}

/* Verifies block i's contents and takes it out of the model (not freed). */
static void model_remove(struct model *m, size_t i, const char *what)
{
    struct block *b = &m->live[i];
    long bad = kmt_verify(b->p, 0, b->usable, b->seed);
    CHECK_AT(__FILE__, __LINE__, bad < 0, "%s: block %p (%zu bytes) corrupted at byte %ld", what,
             (void *)b->p, b->req, bad);
    CHECK_AT(__FILE__, __LINE__, kmalloc_usable_size(b->p) == b->usable,
             "%s: usable size of %p changed", what, (void *)b->p);
    size_t holes = mark_grains(m, b->p, b->usable, 0);
    CHECK_AT(__FILE__, __LINE__, holes == 0, "%s: %p lost granules", what, (void *)b->p);
    m->bytes -= b->usable;
    *b = m->live[--m->nlive];
}

static void model_free(struct model *m, size_t i)
{
    void *p = m->live[i].p;
    model_remove(m, i, "free");
    km_free(p);
    m->frees++;
}

/* Stats must match the model exactly: counts and bytes by usable size. */
static void check_stats(const struct model *m, const struct kmalloc_stats *s0, int line)
{
    struct kmalloc_stats s;
    kmalloc_get_stats(&s);
    CHECK_AT(__FILE__, line, s.bytes_in_use - s0->bytes_in_use == m->bytes,
             "bytes_in_use grew by %llu, live blocks hold %llu",
             (unsigned long long)(s.bytes_in_use - s0->bytes_in_use), (unsigned long long)m->bytes);
    CHECK_AT(__FILE__, line, s.allocs - s0->allocs == m->allocs && s.frees - s0->frees == m->frees,
             "allocs +%llu frees +%llu, expected +%llu +%llu",
             (unsigned long long)(s.allocs - s0->allocs), (unsigned long long)(s.frees - s0->frees),
             (unsigned long long)m->allocs, (unsigned long long)m->frees);
}

/* --- statistics ------------------------------------------------------------- */

/* First, so that few cores exist and the printout stays short. */
/* The report says what the counters hold: the whole heap's line and one
 * line for the core that allocated, with its own figures. */
TEST(kmalloc_print_stats_reports_the_counters)
{
    unsigned cpu = kmt_fresh_cpu();
    km_arena_set_cpu(cpu);
    void *p = km_malloc(40);
    struct kmalloc_stats s;
    kmalloc_get_stats(&s);
    kmt_printed_clear();
    kmalloc_print_stats();
    char want[160];
    snprintf(want, sizeof(want), "kmalloc: %lu bytes in use, %lu allocs, %lu frees ",
             (unsigned long)s.bytes_in_use, (unsigned long)s.allocs, (unsigned long)s.frees);
    CHECK(strstr(kmt_printed(), want) != NULL);
    snprintf(want, sizeof(want), "  core %u: 1 allocs, 0 frees, ", cpu);
    CHECK(strstr(kmt_printed(), want) != NULL);
    km_free(p);
    km_arena_set_cpu(0);
}

/* --- random run ------------------------------------------------------------- */

/* Mostly small, with every class boundary and large blocks up to 70000. */
static size_t random_size(uint64_t *rng)
{
    unsigned r = kmt_rand(rng) % 100;
    if (r < 50)
        return kmt_rand(rng) % 65;
    if (r < 80)
        return kmt_rand(rng) % (KMT_MAX_SMALL + 1);
    if (r < 93)
        return KMT_MAX_SMALL + 1 + kmt_rand(rng) % (16384 - KMT_MAX_SMALL);
    return 16385 + kmt_rand(rng) % (70000 - 16384);
}

static void random_alloc(struct model *m, uint64_t *rng)
{
    unsigned r = kmt_rand(rng) % 4;
    size_t n = random_size(rng), align = 16;
    void *p;
    const char *what;

    if (r == 0) {
        size_t count = 1 + kmt_rand(rng) % 8, each = n / count;
        n = count * each;
        p = km_calloc(count, each);
        what = "calloc";
        for (size_t i = 0; p != NULL && i < n; i++)
            if (((unsigned char *)p)[i] != 0) {
                CHECK_AT(__FILE__, __LINE__, 0, "calloc(%zu, %zu): byte %zu is %#x", count, each, i,
                         ((unsigned char *)p)[i]);
                break;
            }
    } else if (r == 1) {
        align = (size_t)16 << (kmt_rand(rng) % 10); /* 16 .. 8192 */
        p = km_aligned_alloc(align, n);
        what = "aligned_alloc";
    } else {
        p = km_malloc(n);
        what = "malloc";
    }
    CHECK_AT(__FILE__, __LINE__, p != NULL, "%s(%zu) failed", what, n);
    if (p != NULL)
        model_add(m, p, n, align, what);
}

static void random_realloc(struct model *m, uint64_t *rng)
{
    size_t i = kmt_rand(rng) % m->nlive;
    struct block old = m->live[i];
    size_t n = 1 + random_size(rng);

    model_remove(m, i, "realloc");
    void *q = km_realloc(old.p, n);
    CHECK_AT(__FILE__, __LINE__, q != NULL, "realloc(%p, %zu) failed", (void *)old.p, n);
    if (q == NULL)
        return;
    /* C keeps min(old size, new size) bytes; whole words of them here. */
    size_t keep = (old.req < n ? old.req : n) & ~(size_t)7;
    long bad = kmt_verify(q, 0, keep, old.seed);
    CHECK_AT(__FILE__, __LINE__, bad < 0, "realloc(%zu -> %zu) lost byte %ld", old.req, n, bad);
    if (q != old.p) {
        m->frees++; /* the old block; model_add counts the new one */
    } else {
        m->allocs--;
    }
    model_add(m, q, n, 16, "realloc");
}

TEST(kmalloc_random_against_model)
{
    uint64_t rng = RANDOM_SEED;
    const char *env = getenv("KMALLOC_TEST_SEED");
    if (env != NULL)
        rng = strtoull(env, NULL, 0);
    struct model m;
    struct kmalloc_stats s0, s;

    km_arena_set_cpu(kmt_fresh_cpu());
    model_init(&m, RANDOM_LIVE);
    kmalloc_get_stats(&s0);
    for (long op = 0; op < RANDOM_OPS; op++) {
        unsigned r = kmt_rand(&rng) % 100;
        if (m.nlive == m.cap || (r >= 60 && m.nlive > 0))
            model_free(&m, kmt_rand(&rng) % m.nlive);
        else if (r >= 50 && m.nlive > 0)
            random_realloc(&m, &rng);
        else
            random_alloc(&m, &rng);
        check_stats(&m, &s0, __LINE__);
    }
    while (m.nlive > 0)
        model_free(&m, m.nlive - 1);
    check_stats(&m, &s0, __LINE__);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);
    CHECK_UINT_EQ(s.failures, s0.failures);
    CHECK_UINT_EQ(s.remote_frees, s0.remote_frees);
    CHECK(m.allocs > RANDOM_OPS / 2);
    model_destroy(&m);
    km_arena_set_cpu(0);
}

/* --- edge cases of the C interface ------------------------------------------ */

TEST(kmalloc_malloc_zero_and_free_null)
{
    struct kmalloc_stats s0, s;
    km_arena_set_cpu(kmt_fresh_cpu());
    kmalloc_get_stats(&s0);

    void *a = km_malloc(0), *b = km_malloc(0);
    CHECK(a != NULL && b != NULL && a != b);
    if (a != NULL && b != NULL) {
        CHECK(kmalloc_usable_size(a) >= 1);
        memset(a, 0xAB, kmalloc_usable_size(a));
        memset(b, 0xCD, kmalloc_usable_size(b));
    }
    km_free(a);
    km_free(b);
    km_free(NULL);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.allocs - s0.allocs, 2);
    CHECK_UINT_EQ(s.frees - s0.frees, 2); /* free(NULL) is not a free */
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);
    CHECK_UINT_EQ(s.failures, s0.failures);
    km_arena_set_cpu(0);
}

TEST(kmalloc_class_boundaries)
{
    static const size_t sizes[] = {1,    15,   16,   17,   31,   32,    33,   64,
                                   65,   127,  128,  129,  255,  256,   257,  511,
                                   512,  513,  1023, 1024, 1025, 2047,  2048, 2049,
                                   4095, 4096, 4097, 8192, 8193, 65536, 65537};
    struct kmalloc_stats s0, s;
    km_arena_set_cpu(kmt_fresh_cpu());
    kmalloc_get_stats(&s0);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        size_t want = n <= KMT_MAX_SMALL ? kmt_class_size(n) : KM_PAGE_SIZE << km_order_for(n);
        void *p = km_malloc(n);
        CHECK_AT(__FILE__, __LINE__,
                 p != NULL && kmalloc_usable_size(p) == want && (uintptr_t)p % want == 0,
                 "malloc(%zu) = %p, usable %zu, expected %zu", n, p,
                 p != NULL ? kmalloc_usable_size(p) : 0, want);
        if (p != NULL)
            memset(p, 0x5A, n);
        km_free(p);
    }
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);
    km_arena_set_cpu(0);
}

TEST(kmalloc_calloc_overflow_and_zero)
{
    struct kmalloc_stats s0, s;
    km_arena_set_cpu(kmt_fresh_cpu());
    kmalloc_get_stats(&s0);

    CHECK(km_calloc(SIZE_MAX / 2, 3) == NULL);
    CHECK(km_calloc(3, SIZE_MAX / 2) == NULL);
    CHECK(km_calloc(SIZE_MAX, SIZE_MAX) == NULL);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.failures - s0.failures, 3);
    CHECK_UINT_EQ(s.allocs, s0.allocs);

    /* Recycled memory is zeroed too. */
    unsigned char *p = km_malloc(1000);
    if (p != NULL)
        memset(p, 0xFF, 1000);
    km_free(p);
    unsigned char *q = km_calloc(10, 100);
    CHECK(q != NULL);
    CHECK_PTR_EQ(q, p); /* the same core's free list is last in, first out */
    size_t nonzero = 0;
    for (size_t i = 0; q != NULL && i < 1000; i++)
        nonzero += q[i] != 0;
    CHECK_UINT_EQ(nonzero, 0);
    km_free(q);

    void *z = km_calloc(0, 5);
    CHECK(z != NULL);
    km_free(z);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);
    km_arena_set_cpu(0);
}

TEST(kmalloc_aligned_alloc)
{
    static const size_t bad_align[] = {0, 3, 24, 48, 100, 4097, SIZE_MAX};
    struct kmalloc_stats s0, s;
    km_arena_set_cpu(kmt_fresh_cpu());
    kmalloc_get_stats(&s0);

    for (size_t i = 0; i < sizeof(bad_align) / sizeof(bad_align[0]); i++) {
        errno = 0;
        void *p = km_aligned_alloc(bad_align[i], 64);
        CHECK_AT(__FILE__, __LINE__, p == NULL && errno == EINVAL,
                 "aligned_alloc(%zu, 64) = %p, errno %d", bad_align[i], p, errno);
    }
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.failures, s0.failures); /* not a lack of memory */

    for (size_t align = 1; align <= ((size_t)1 << 20); align <<= 1) {
        static const size_t sizes[] = {1, 100, 3000, 70000};
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            void *p = km_aligned_alloc(align, sizes[i]);
            uintptr_t a = (uintptr_t)p;
            CHECK_AT(__FILE__, __LINE__,
                     p != NULL && a % align == 0 && a % 16 == 0 &&
                         kmalloc_usable_size(p) >= sizes[i],
                     "aligned_alloc(%zu, %zu) = %p", align, sizes[i], p);
            if (p != NULL)
                memset(p, 0x33, sizes[i]);
            km_free(p);
        }
    }
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);
    CHECK_UINT_EQ(s.failures, s0.failures);
    km_arena_set_cpu(0);
}

TEST(kmalloc_too_large)
{
    struct kmalloc_stats s0, s;
    km_arena_set_cpu(kmt_fresh_cpu());
    kmalloc_get_stats(&s0);

    CHECK(km_malloc(SIZE_MAX) == NULL);
    CHECK(km_malloc(KMT_MAX_BYTES + 1) == NULL); /* beyond the largest order */
    CHECK(km_malloc(KMT_MAX_BYTES) == NULL);     /* an order the arena lacks */
    CHECK(km_aligned_alloc(KMT_MAX_BYTES * 2, 16) == NULL);
    CHECK(km_realloc(NULL, SIZE_MAX - 1) == NULL);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.failures - s0.failures, 5);
    CHECK_UINT_EQ(s.allocs, s0.allocs);
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);
    km_arena_set_cpu(0);
}

/* p holds a pattern of `len` bytes with `seed`; realloc to n and check. */
static unsigned char *realloc_keeps(unsigned char *p, size_t len, size_t n, uint64_t seed)
{
    unsigned char *q = km_realloc(p, n);
    size_t keep = (len < n ? len : n) & ~(size_t)7;
    CHECK_AT(__FILE__, __LINE__, q != NULL, "realloc(%zu -> %zu) failed", len, n);
    if (q == NULL)
        return p;
    long bad = kmt_verify(q, 0, keep, seed);
    CHECK_AT(__FILE__, __LINE__, bad < 0, "realloc(%zu -> %zu) changed byte %ld", len, n, bad);
    CHECK_AT(__FILE__, __LINE__, kmalloc_usable_size(q) >= n, "realloc(%zu -> %zu): usable %zu",
             len, n, kmalloc_usable_size(q));
    kmt_fill(q, 0, kmalloc_usable_size(q), seed);
    return q;
}

TEST(kmalloc_realloc)
{
    static const size_t steps[] = {8,      16,    24,   100,  2048, 2056, 3000, 70000,
                                   300000, 70000, 5000, 4096, 2048, 100,  24,   8};
    struct kmalloc_stats s0, s;
    km_arena_set_cpu(kmt_fresh_cpu());
    kmalloc_get_stats(&s0);

    unsigned char *p = km_realloc(NULL, 8);
    CHECK(p != NULL);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.allocs - s0.allocs, 1);
    if (p == NULL)
        return;
    kmt_fill(p, 0, 8, 77);
    size_t len = 8;
    for (size_t i = 1; i < sizeof(steps) / sizeof(steps[0]); i++) {
        p = realloc_keeps(p, len, steps[i], 77);
        len = steps[i];
    }

    /* In place while the request stays in the block's class. */
    unsigned char *q = km_malloc(100); /* class 128 */
    CHECK(q != NULL);
    if (q == NULL)
        return;
    kmt_fill(q, 0, 128, 0);
    CHECK_PTR_EQ(km_realloc(q, 128), q);
    CHECK_PTR_EQ(km_realloc(q, 65), q);
    q = realloc_keeps(q, 65, 64, 0); /* moves down a class */
    CHECK_UINT_EQ(kmalloc_usable_size(q), 64);

    /* realloc(p, 0) frees p and returns NULL. */
    kmalloc_get_stats(&s0);
    CHECK(km_realloc(q, 0) == NULL);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.frees - s0.frees, 1);
    CHECK_UINT_EQ(s0.bytes_in_use - s.bytes_in_use, 64);

    /* A realloc that cannot get memory leaves the block alone. */
    struct km_arena_stats a;
    km_arena_get_stats(&a);
    km_arena_set_page_limit(a.pages_in_use);
    kmalloc_get_stats(&s0);
    unsigned char *r = km_realloc(p, 100000);
    CHECK(r == NULL);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.failures - s0.failures, 1);
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);
    CHECK(kmt_verify(p, 0, 8, 77) < 0);
    km_arena_set_page_limit(KM_ARENA_NO_LIMIT);
    km_free(p);
    km_arena_set_cpu(0);
}

/* --- exhaustion --------------------------------------------------------------- */

/* Allocates n-byte blocks until one fails; returns how many succeeded. */
static size_t fill_until_null(void **held, size_t max, size_t n)
{
    size_t count = 0;
    while (count < max) {
        void *p = km_malloc(n);
        if (p == NULL)
            break;
        memset(p, 0x11, n);
        held[count++] = p;
    }
    return count;
}

TEST(kmalloc_exhaustion)
{
    enum { LIMIT = 64, MAX_HELD = 1024 };
    void **held = calloc(MAX_HELD, sizeof(void *));
    struct kmalloc_stats s0, s;
    struct km_arena_stats a0, a;

    km_arena_set_cpu(kmt_fresh_cpu());
    km_free(km_malloc(1)); /* the core's cache and a class-16 page */
    kmalloc_get_stats(&s0);
    km_arena_get_stats(&a0);
    km_arena_set_page_limit(a0.pages_in_use + LIMIT);

    /* Large blocks: 20000 bytes take 8 pages, so eight fit. */
    size_t n = fill_until_null(held, MAX_HELD, 20000);
    CHECK_UINT_EQ(n, LIMIT / 8);
    CHECK(km_malloc(1 << 20) == NULL);
    CHECK(km_aligned_alloc(8192, 100) == NULL);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.failures - s0.failures, 3);
    CHECK_UINT_EQ(s.bytes_in_use - s0.bytes_in_use, n * 8 * KM_PAGE_SIZE);
    for (size_t i = 0; i < n; i++)
        km_free(held[i]);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);
    void *again = km_malloc(20000 * 4);
    CHECK(again != NULL); /* freed blocks merged back */
    km_free(again);

    /* Small objects: four of class 1024 per page. */
    n = fill_until_null(held, MAX_HELD, 1000);
    CHECK_UINT_EQ(n, LIMIT * 4);
    CHECK(km_calloc(1, 1000) == NULL);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.failures - s0.failures, 5);
    CHECK_UINT_EQ(s.pages_held - s0.pages_held, LIMIT);
    km_arena_get_stats(&a);
    CHECK_UINT_EQ(a.pages_in_use, a0.pages_in_use + LIMIT);
    for (size_t i = 0; i < n; i++)
        km_free(held[i]);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);
    CHECK_UINT_EQ(s.allocs - s0.allocs, s.frees - s0.frees);

    /* The class's objects come back, without new pages. */
    n = fill_until_null(held, MAX_HELD, 1000);
    CHECK_UINT_EQ(n, LIMIT * 4);
    for (size_t i = 0; i < n; i++)
        km_free(held[i]);
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.bytes_in_use, s0.bytes_in_use);
    CHECK_UINT_EQ(s.failures - s0.failures, 6);

    km_arena_set_page_limit(KM_ARENA_NO_LIMIT);
    free(held);
    km_arena_set_cpu(0);
}

/* --- misuse --------------------------------------------------------------------- */

enum misuse { FREE_INSIDE_SMALL, FREE_INSIDE_LARGE_FIRST_PAGE, FREE_INSIDE_LARGE_LATER_PAGE };

/* free() of a pointer malloc never returned must panic (here: abort). */
static int dies_of(enum misuse how, unsigned cpu)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (freopen("/dev/null", "w", stderr) == NULL)
            _exit(3);
        km_arena_set_cpu(cpu);
        char *p = km_malloc(how == FREE_INSIDE_SMALL ? 64 : 8192);
        if (p == NULL)
            _exit(2);
        km_free(how == FREE_INSIDE_SMALL              ? p + 16
                : how == FREE_INSIDE_LARGE_FIRST_PAGE ? p + 64
                                                      : p + KM_PAGE_SIZE);
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 0;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

TEST(kmalloc_free_of_foreign_pointer_panics)
{
    unsigned cpu = kmt_fresh_cpu();
    CHECK(dies_of(FREE_INSIDE_SMALL, cpu));
    CHECK(dies_of(FREE_INSIDE_LARGE_FIRST_PAGE, cpu));
    CHECK(dies_of(FREE_INSIDE_LARGE_LATER_PAGE, cpu));
}
