/*
 * kmalloc_shim.c - the page arena and core ids behind the host's
 * kernel/kmalloc_env.h (tests/host/shim/kernel/kmalloc_env.h).
 *
 * The arena is one mmap'd region of KM_ARENA_PAGES pages, aligned to its own
 * size so that a buddy block is naturally aligned in the address space too.
 * A classic buddy allocator hands out blocks: doubly linked free lists per
 * order, kept in arrays beside the pages (indices, not pointers), so the
 * pages themselves belong to kmalloc alone. Free pages are poisoned under
 * AddressSanitizer, so kmalloc touching a block after returning it is
 * reported. One mutex guards everything but the page tags, which, as in the
 * kernel, belong to whoever holds the page.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/mman.h>

#include "kernel/kmalloc_env.h"
#include "kmalloc_test.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_POISON(p, n)   ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ARENA_BYTES (KM_ARENA_PAGES * KM_PAGE_SIZE)
#define NO_PAGE     (-1)

_Thread_local unsigned km_arena_cpu;

static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static char *arena;
static uint16_t page_tags[KM_ARENA_PAGES];

/* Buddy state, by page index. free_order[i] is the order of the free block
 * starting at page i, or NO_PAGE; used_order[i] likewise for handed-out
 * blocks, so a free of the wrong order or a double free is caught. */
static int32_t free_head[KM_ARENA_ORDER + 1];
static int32_t free_next[KM_ARENA_PAGES], free_prev[KM_ARENA_PAGES];
static int8_t free_order[KM_ARENA_PAGES], used_order[KM_ARENA_PAGES];

static size_t page_limit = KM_ARENA_NO_LIMIT;
static uint64_t fail_nth;   /* countdown to the one failing call, 0: off */
static uint64_t fail_after; /* successes left before failing */
static int fail_after_armed;
static struct km_arena_stats stats;

static void list_push(size_t page, unsigned order)
{
    int32_t head = free_head[order];
    free_next[page] = head;
    free_prev[page] = NO_PAGE;
    if (head != NO_PAGE)
        free_prev[head] = (int32_t)page;
    free_head[order] = (int32_t)page;
    free_order[page] = (int8_t)order;
}

static void list_remove(size_t page, unsigned order)
{
    int32_t next = free_next[page], prev = free_prev[page];
    if (prev != NO_PAGE)
        free_next[prev] = next;
    else
        free_head[order] = next;
    if (next != NO_PAGE)
        free_prev[next] = prev;
    free_order[page] = NO_PAGE;
}

static void arena_init(void)
{
    /* Twice the size, then trim, to align the arena to its size. */
    size_t map_len = 2 * ARENA_BYTES;
    char *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        panic("kmalloc shim: cannot map a %zu MiB arena", ARENA_BYTES >> 20);
    uintptr_t start = ((uintptr_t)map + ARENA_BYTES - 1) & ~(uintptr_t)(ARENA_BYTES - 1);
    if (start > (uintptr_t)map)
        munmap(map, start - (uintptr_t)map);
    munmap((char *)start + ARENA_BYTES, (uintptr_t)map + map_len - start - ARENA_BYTES);
    arena = (char *)start;

    for (unsigned o = 0; o <= KM_ARENA_ORDER; o++)
        free_head[o] = NO_PAGE;
    for (size_t i = 0; i < KM_ARENA_PAGES; i++) {
        free_order[i] = NO_PAGE;
        used_order[i] = NO_PAGE;
    }
    list_push(0, KM_ARENA_ORDER);
    ARENA_POISON(arena, ARENA_BYTES);
}

static void arena_ready(void)
{
    pthread_once(&arena_once, arena_init);
}

static size_t page_index(const void *p)
{
    arena_ready();
    uintptr_t a = (uintptr_t)p, base = (uintptr_t)arena;
    if (a < base || a >= base + ARENA_BYTES)
        panic("kmalloc shim: %p is not in the arena [%p, +%zu MiB)", p, (void *)arena,
              ARENA_BYTES >> 20);
    return (a - base) / KM_PAGE_SIZE;
}

/* Called with arena_lock held: should this allocation fail on purpose? */
static int injected_failure(void)
{
    if (fail_nth != 0 && --fail_nth == 0)
        return 1;
    if (fail_after_armed) {
        if (fail_after == 0)
            return 1;
        fail_after--;
    }
    return 0;
}

static void *buddy_alloc(unsigned order)
{
    unsigned o = order;
    while (o <= KM_ARENA_ORDER && free_head[o] == NO_PAGE)
        o++;
    if (o > KM_ARENA_ORDER)
        return NULL;
    size_t page = (size_t)free_head[o];
    list_remove(page, o);
    while (o > order) {
        o--;
        list_push(page + ((size_t)1 << o), o);
    }
    used_order[page] = (int8_t)order;
    return arena + page * KM_PAGE_SIZE;
}

void *km_pages_alloc(unsigned order)
{
    arena_ready();
    pthread_mutex_lock(&arena_lock);
    void *p = NULL;
    int injected = injected_failure();
    if (!injected && order <= KM_ARENA_ORDER &&
        stats.pages_in_use + ((size_t)1 << order) <= page_limit)
        p = buddy_alloc(order);
    if (p != NULL) {
        stats.allocs++;
        stats.pages_in_use += (size_t)1 << order;
    } else {
        stats.failures++;
        stats.injected += injected;
    }
    pthread_mutex_unlock(&arena_lock);
    if (p != NULL)
        ARENA_UNPOISON(p, KM_PAGE_SIZE << order);
    return p;
}

void km_pages_free(void *p, unsigned order)
{
    size_t page = page_index(p);
    if (((uintptr_t)p & (KM_PAGE_SIZE - 1)) != 0)
        panic("kmalloc shim: km_pages_free(%p): not page aligned", p);
    ARENA_POISON(p, KM_PAGE_SIZE << order);
    pthread_mutex_lock(&arena_lock);
    if (order > KM_ARENA_ORDER || used_order[page] != (int8_t)order)
        panic("kmalloc shim: km_pages_free(%p, %u): block was handed out with order %d", p, order,
              used_order[page]);
    used_order[page] = NO_PAGE;
    stats.frees++;
    stats.pages_in_use -= (size_t)1 << order;
    while (order < KM_ARENA_ORDER) {
        size_t buddy = page ^ ((size_t)1 << order);
        if (free_order[buddy] != (int8_t)order)
            break;
        list_remove(buddy, order);
        page &= ~((size_t)1 << order);
        order++;
    }
    list_push(page, order);
    pthread_mutex_unlock(&arena_lock);
}

unsigned km_order_for(size_t bytes)
{
    unsigned order = 0;
    while ((KM_PAGE_SIZE << order) < bytes)
        order++;
    return order;
}

uint16_t km_tag_get(const void *page)
{
    return page_tags[page_index(page)];
}

void km_tag_set(const void *page, uint16_t tag)
{
    page_tags[page_index(page)] = tag;
}

void panic(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "panic: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

void km_arena_assert_fail(const char *expr, const char *file, int line)
{
    panic("%s:%d: KASSERT(%s) failed", file, line, expr);
}

void km_arena_set_cpu(unsigned cpu)
{
    if (cpu >= KM_MAX_CPUS)
        panic("kmalloc shim: core %u out of range", cpu);
    km_arena_cpu = cpu;
}

void km_arena_set_page_limit(size_t pages)
{
    pthread_mutex_lock(&arena_lock);
    page_limit = pages;
    pthread_mutex_unlock(&arena_lock);
}

void km_arena_fail_nth(uint64_t n)
{
    pthread_mutex_lock(&arena_lock);
    fail_nth = n;
    pthread_mutex_unlock(&arena_lock);
}

void km_arena_fail_after(uint64_t n)
{
    pthread_mutex_lock(&arena_lock);
    fail_after = n;
    fail_after_armed = 1;
    pthread_mutex_unlock(&arena_lock);
}

void km_arena_fail_reset(void)
{
    pthread_mutex_lock(&arena_lock);
    fail_nth = 0;
    fail_after_armed = 0;
    pthread_mutex_unlock(&arena_lock);
}

void km_arena_get_stats(struct km_arena_stats *s)
{
    pthread_mutex_lock(&arena_lock);
    *s = stats;
    pthread_mutex_unlock(&arena_lock);
}

int km_arena_owns(const void *p, size_t len)
{
    arena_ready();
    uintptr_t a = (uintptr_t)p, base = (uintptr_t)arena;
    return a >= base && len <= ARENA_BYTES && a - base <= ARENA_BYTES - len;
}

const void *km_arena_base(void)
{
    arena_ready();
    return arena;
}

/* km_printf on the host: appended to a buffer (and echoed to stdout). */
static char printed[8192];
static size_t printed_len;

int kmt_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(printed + printed_len, sizeof(printed) - printed_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        printed_len += (size_t)n < sizeof(printed) - printed_len ? (size_t)n
                                                                 : sizeof(printed) - 1 - printed_len;
    return n;
}

const char *kmt_printed(void)
{
    return printed;
}

void kmt_printed_clear(void)
{
    printed_len = 0;
    printed[0] = '\0';
}
