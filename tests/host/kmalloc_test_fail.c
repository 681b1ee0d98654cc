/*
 * kmalloc_test_fail.c - kernel/kmalloc.c when page allocations fail.
 *
 * A fixed script of calls reaches every path that takes pages: a new core's
 * cache, each class's first page, large blocks of several orders, realloc
 * across classes. It runs once cleanly to count its page allocations P, then
 * once per k = 1 .. P+1 with only the k-th failing, and once per n = 0 .. P
 * with every allocation after the n-th failing. Each call that returns NULL
 * must leave the statistics as they were but for one counted failure, and a
 * failed realloc its block intact; afterwards everything is freed and the
 * books must balance. Each run takes a fresh core, so the script always
 * starts from an empty cache.
 */
#include <stdint.h>
#include <string.h>

#include "kmalloc_test.h"
#include "runner.h"

/* --- failure injection ---------------------------------------------------------- */

enum op_kind { OP_MALLOC, OP_CALLOC, OP_ALIGNED, OP_REALLOC, OP_FREE };

struct op {
    enum op_kind kind;
    int slot;
    size_t a, b; /* malloc: size; calloc: count, size; aligned: align, size; realloc: size */
};

/* Every path that allocates pages: a new core's cache, each class's first
 * page, large blocks of several orders, realloc across classes. */
static const struct op script[] = {
    {OP_MALLOC, 0, 24, 0},      {OP_MALLOC, 1, 200, 0},   {OP_CALLOC, 2, 10, 100},
    {OP_ALIGNED, 3, 4096, 64},  {OP_MALLOC, 4, 70000, 0}, {OP_REALLOC, 1, 3000, 0},
    {OP_ALIGNED, 5, 8192, 1},   {OP_MALLOC, 6, 2048, 0},  {OP_REALLOC, 0, 40, 0},
    {OP_FREE, 4, 0, 0},         {OP_MALLOC, 4, 70000, 0}, {OP_CALLOC, 7, 1, 20000},
    {OP_REALLOC, 7, 100000, 0}, {OP_MALLOC, 8, 16, 0},    {OP_ALIGNED, 9, 512, 512},
    {OP_REALLOC, 6, 10, 0},     {OP_MALLOC, 10, 300, 0},  {OP_REALLOC, 10, 600, 0},
    {OP_MALLOC, 11, 32, 0},     {OP_REALLOC, 3, 9000, 0}, {OP_CALLOC, 12, 3, 33},
    {OP_FREE, 2, 0, 0},         {OP_MALLOC, 2, 1000, 0},
};
#define SCRIPT_LEN   (sizeof(script) / sizeof(script[0]))
#define SCRIPT_SLOTS 13

struct script_run {
    void *slot[SCRIPT_SLOTS];
    size_t len[SCRIPT_SLOTS];
    int has_cache; /* a call on this core succeeded or counted a failure */
    size_t nulls;  /* calls that returned NULL */
    size_t nulls_uncounted;
};

static void *script_alloc(const struct op *o, void *old, size_t want)
{
    switch (o->kind) {
    case OP_MALLOC:
        return km_malloc(want);
    case OP_CALLOC:
        return km_calloc(o->a, o->b);
    case OP_ALIGNED:
        return km_aligned_alloc(o->a, want);
    case OP_REALLOC:
        return km_realloc(old, want);
    default:
        return NULL;
    }
}

/* A call returned NULL: nothing else may have changed. */
static void script_failed(struct script_run *r, const struct op *o, const struct kmalloc_stats *s0,
                          int step, uint64_t k)
{
    struct kmalloc_stats s;
    kmalloc_get_stats(&s);
    r->nulls++;
    CHECK_AT(__FILE__, __LINE__,
             s.allocs == s0->allocs && s.frees == s0->frees && s.bytes_in_use == s0->bytes_in_use,
             "k=%llu step %d: a failed call changed the stats", (unsigned long long)k, step);
    if (s.failures - s0->failures == 1) {
        r->has_cache = 1;
    } else {
        r->nulls_uncounted++;
        /* Only a core that could not get its cache has nowhere to count (see
         * kmalloc_known_bug_failure_without_cache). */
        CHECK_AT(__FILE__, __LINE__, !r->has_cache && s.failures == s0->failures,
                 "k=%llu step %d: NULL returned, %llu failures counted", (unsigned long long)k,
                 step, (unsigned long long)(s.failures - s0->failures));
    }
    if (o->kind == OP_REALLOC && r->slot[o->slot] != NULL)
        CHECK_AT(__FILE__, __LINE__,
                 kmt_verify(r->slot[o->slot], 0, r->len[o->slot] & ~(size_t)7, (uint64_t)o->slot) <
                     0,
                 "k=%llu step %d: failed realloc damaged its block", (unsigned long long)k, step);
}

static void script_step(struct script_run *r, const struct op *o, int step, uint64_t k)
{
    struct kmalloc_stats s0;

    if (o->kind == OP_FREE) {
        km_free(r->slot[o->slot]);
        r->slot[o->slot] = NULL;
        return;
    }
    kmalloc_get_stats(&s0);
    void *old = r->slot[o->slot];
    size_t want = o->kind == OP_CALLOC ? o->a * o->b : o->kind == OP_ALIGNED ? o->b : o->a;
    void *p = script_alloc(o, old, want);
    if (p == NULL) {
        script_failed(r, o, &s0, step, k);
        return;
    }
    r->has_cache = 1;
    if (old != NULL && o->kind == OP_REALLOC) {
        size_t keep = (r->len[o->slot] < want ? r->len[o->slot] : want) & ~(size_t)7;
        CHECK_AT(__FILE__, __LINE__, kmt_verify(p, 0, keep, (uint64_t)o->slot) < 0,
                 "k=%llu step %d: realloc lost contents", (unsigned long long)k, step);
    }
    CHECK_AT(__FILE__, __LINE__, kmalloc_usable_size(p) >= want && (uintptr_t)p % 16 == 0,
             "k=%llu step %d: bad block %p", (unsigned long long)k, step, p);
    kmt_fill(p, 0, kmalloc_usable_size(p), (uint64_t)o->slot);
    r->slot[o->slot] = p;
    r->len[o->slot] = want;
}

/* Runs the script on a fresh core; returns the page allocations it made. */
static uint64_t run_script(struct script_run *r, uint64_t k)
{
    struct kmalloc_stats s0, s;
    struct km_arena_stats a0, a;

    memset(r, 0, sizeof(*r));
    km_arena_set_cpu(kmt_fresh_cpu());
    kmalloc_get_stats(&s0);
    km_arena_get_stats(&a0);
    for (size_t i = 0; i < SCRIPT_LEN; i++)
        script_step(r, &script[i], (int)i, k);
    km_arena_fail_reset();
    for (int i = 0; i < SCRIPT_SLOTS; i++)
        km_free(r->slot[i]);
    kmalloc_get_stats(&s);
    km_arena_get_stats(&a);
    CHECK_AT(__FILE__, __LINE__, s.bytes_in_use == s0.bytes_in_use,
             "k=%llu: %llu bytes still in use", (unsigned long long)k,
             (unsigned long long)(s.bytes_in_use - s0.bytes_in_use));
    CHECK_AT(__FILE__, __LINE__, s.allocs - s0.allocs == s.frees - s0.frees,
             "k=%llu: %llu allocs, %llu frees", (unsigned long long)k,
             (unsigned long long)(s.allocs - s0.allocs), (unsigned long long)(s.frees - s0.frees));
    CHECK_AT(__FILE__, __LINE__, s.failures - s0.failures == r->nulls - r->nulls_uncounted,
             "k=%llu: %llu failures counted, %zu NULL returns", (unsigned long long)k,
             (unsigned long long)(s.failures - s0.failures), r->nulls);
    km_arena_set_cpu(0);
    return a.allocs - a0.allocs;
}

TEST(kmalloc_fail_each_page_allocation)
{
    struct script_run r;
    uint64_t pages = run_script(&r, 0);
    CHECK_UINT_EQ(r.nulls, 0);
    CHECK(pages >= 15);

    /* Fail the k-th page allocation only: exactly one call returns NULL. */
    for (uint64_t k = 1; k <= pages + 1; k++) {
        struct km_arena_stats a0, a;
        km_arena_get_stats(&a0);
        km_arena_fail_nth(k);
        run_script(&r, k);
        km_arena_get_stats(&a);
        uint64_t injected = a.injected - a0.injected;
        CHECK_AT(__FILE__, __LINE__, injected == (k <= pages) && r.nulls == injected,
                 "k=%llu: %llu injected failures, %zu NULL returns", (unsigned long long)k,
                 (unsigned long long)injected, r.nulls);
    }
}

TEST(kmalloc_fail_all_page_allocations_after_n)
{
    struct script_run r;
    uint64_t pages = run_script(&r, 0);

    /* Every page allocation after the n-th fails: later calls still work
     * from what the core already holds, or fail cleanly. */
    for (uint64_t n = 0; n <= pages; n++) {
        km_arena_fail_after(n);
        run_script(&r, n);
        CHECK_AT(__FILE__, __LINE__, (r.nulls > 0) == (n < pages), "n=%llu: %zu NULL returns",
                 (unsigned long long)n, r.nulls);
    }
    km_arena_fail_reset();
}

/* --- cores without a cache ------------------------------------------------------ */

/* kmalloc.h: "Out of memory returns NULL and is counted". A core's first
 * call needs a page for its cache; when that fails, the failure is still
 * counted (once a bug: it was not). */
TEST(kmalloc_failure_without_cache_is_counted)
{
    struct kmalloc_stats s0, s;
    km_arena_set_cpu(kmt_fresh_cpu());
    kmalloc_get_stats(&s0);
    km_arena_fail_nth(1);
    CHECK(km_malloc(10) == NULL);
    km_arena_fail_reset();
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.failures - s0.failures, 1);
    km_arena_set_cpu(0);
}

/* free() on a core that never allocated makes no cache and still counts the
 * free (once a bug: it tried to make a cache and, failing, counted nothing). */
TEST(kmalloc_free_without_cache_is_counted)
{
    struct kmalloc_stats s0, s;
    unsigned owner = kmt_fresh_cpu(), other = kmt_fresh_cpu();
    km_arena_set_cpu(owner);
    void *p = km_malloc(100);
    kmalloc_get_stats(&s0);
    km_arena_set_cpu(other);
    km_arena_fail_nth(1);
    km_free(p);
    km_arena_fail_reset();
    kmalloc_get_stats(&s);
    CHECK_UINT_EQ(s.frees - s0.frees, 1);
    CHECK_UINT_EQ(s.remote_frees - s0.remote_frees, 1);
    km_arena_set_cpu(0);
}

