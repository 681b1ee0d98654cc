/*
 * net_fault.c - counting, failing allocator for net/ (see net_fault.h).
 */
#include "net_fault.h"

#include <malloc.h>
#include <stdlib.h>

static long fail_at = -1; /* allocations to go before the failing one */
static int fail_persistent;
static uint64_t failures, allocs;
static long live;
static size_t live_bytes, peak_bytes;

size_t net_fault_live_bytes(void)
{
    return live_bytes;
}

size_t net_fault_peak_bytes(void)
{
    return peak_bytes;
}

void net_fault_peak_reset(void)
{
    peak_bytes = live_bytes;
}

static void *counted(void *p)
{
    if (p != NULL) {
        live++;
        live_bytes += malloc_usable_size(p);
        if (live_bytes > peak_bytes)
            peak_bytes = live_bytes;
    }
    return p;
}

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
    return counted(malloc(size));
}

void *net_test_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    return counted(calloc(n, size));
}

void net_test_free(void *p)
{
    if (p != NULL) {
        live--;
        live_bytes -= malloc_usable_size(p);
    }
    free(p);
}
