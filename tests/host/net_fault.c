/*
 * net_fault.c - counting, failing allocator for net/ (see net_fault.h).
 */
#include "net_fault.h"

#include <stdlib.h>

static long fail_at = -1; /* allocations to go before the failing one */
static int fail_persistent;
static uint64_t failures, allocs;
static long live;

void net_fault_malloc_fail(long nth, int persistent)
{
    fail_at = nth;
    fail_persistent = persistent;
}

uint64_t net_fault_failures(void)
{
    return failures;
}

long net_fault_live(void)
{
    return live;
}

uint64_t net_fault_allocs(void)
{
    return allocs;
}

static int should_fail(void)
{
    allocs++;
    if (fail_at < 0)
        return 0;
    if (fail_at > 0) {
        fail_at--;
        return 0;
    }
    if (!fail_persistent)
        fail_at = -1;
    failures++;
    return 1;
}

void *net_test_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        live++;
    return p;
}

void *net_test_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    void *p = calloc(n, size);
    if (p != NULL)
        live++;
    return p;
}

void net_test_free(void *p)
{
    if (p != NULL)
        live--;
    free(p);
}
