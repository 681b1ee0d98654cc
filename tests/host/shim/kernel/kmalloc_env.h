/*
 * tests/host/shim/kernel/kmalloc_env.h - the host's stand-in for
 * kernel/kmalloc_env.h, so that kernel/kmalloc.c runs in a test process.
 *
 * Threads stand in for cores: each thread picks its core with
 * km_arena_set_cpu() (0 until it does). Pages come from one arena of
 * KM_ARENA_PAGES pages, a buddy allocator under a mutex whose free pages are
 * ASan-poisoned; it keeps its bookkeeping beside the pages, never in them, and
 * aborts on a free of a block it did not hand out or of the wrong order. Its
 * knobs make it fail: a cap on pages in use, the n-th allocation from now,
 * or every allocation after the next n. Interrupt masking is a no-op.
 *
 * Built by putting -Itests/host/shim before -I. (see tests/host/host.mk);
 * tests/host/kmalloc_shim.c implements the functions declared here.
 */
#ifndef ZEBU_TESTS_HOST_SHIM_KMALLOC_ENV_H
#define ZEBU_TESTS_HOST_SHIM_KMALLOC_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KM_MAX_CPUS  128    /* as kernel/percpu.h's MAX_CPUS */
#define KM_PAGE_SIZE 4096ul /* unsigned long, as kernel/pmem.h's PAGE_SIZE */
#define KM_MAX_ORDER 20     /* as PMEM_MAX_ORDER; the arena itself is smaller */

#define KM_ARENA_ORDER 16 /* 2^16 pages: 256 MiB */
#define KM_ARENA_PAGES ((size_t)1 << KM_ARENA_ORDER)

/* The report kmalloc_print_stats() prints goes to a buffer the tests read
 * (tests/host/kmalloc_shim.c: kmt_printed). */
int kmt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define km_printf kmt_printf

/* The calling thread's core, set by km_arena_set_cpu(). */
extern _Thread_local unsigned km_arena_cpu;

static inline unsigned km_cpu_id(void)
{
    return km_arena_cpu;
}

static inline uint64_t km_irq_save(void)
{
    return 0;
}

static inline void km_irq_restore(uint64_t flags)
{
    (void)flags;
}

/* 2^order pages aligned to their size, or NULL. Not zeroed. */
void *km_pages_alloc(unsigned order);
void km_pages_free(void *p, unsigned order);

/* Smallest order whose block holds `bytes`. */
unsigned km_order_for(size_t bytes);

/* Per-page tag, 0 until set; the page must lie in the arena. */
uint16_t km_tag_get(const void *page);
void km_tag_set(const void *page, uint16_t tag);

/* Print to stderr and abort(). */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void km_arena_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#define KASSERT(cond)                                                                              \
    do {                                                                                           \
        if (__builtin_expect(!(cond), 0))                                                          \
            km_arena_assert_fail(#cond, __FILE__, __LINE__);                                       \
    } while (0)

/* --- test knobs ------------------------------------------------------------ */

/* Sets the calling thread's core, 0 .. KM_MAX_CPUS - 1. */
void km_arena_set_cpu(unsigned cpu);

/* At most `pages` pages in use at once; KM_ARENA_NO_LIMIT lifts the cap. */
#define KM_ARENA_NO_LIMIT SIZE_MAX
void km_arena_set_page_limit(size_t pages);

/* The n-th page allocation from now fails, once (n >= 1; 0 disarms). */
void km_arena_fail_nth(uint64_t n);

/* The next n page allocations succeed, all later ones fail until
 * km_arena_fail_reset(). */
void km_arena_fail_after(uint64_t n);

/* Disarms both failure knobs. */
void km_arena_fail_reset(void);

struct km_arena_stats {
    uint64_t allocs;       /* successful km_pages_alloc calls */
    uint64_t frees;        /* km_pages_free calls */
    uint64_t failures;     /* NULL returns, injected or not */
    uint64_t injected;     /* NULL returns caused by the fail knobs */
    uint64_t pages_in_use; /* pages handed out now */
};
void km_arena_get_stats(struct km_arena_stats *s);

/* Does [p, p + len) lie inside the arena? */
int km_arena_owns(const void *p, size_t len);

/* The arena's first byte (fixed once anything was allocated). */
const void *km_arena_base(void);

#endif
