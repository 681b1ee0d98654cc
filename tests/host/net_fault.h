/*
 * net_fault.h - allocation-failure injection for net/ in the unit tests.
 *
 * The unit-test build renames net/'s calls to malloc, calloc and free
 * (objcopy --redefine-sym on the net/ objects, see host.mk) to the
 * functions in net_fault.c, which count them and can make them fail. Test
 * code and the fake device keep the real allocator, so a failure hits only
 * the stack. Fuzz builds do not rename: they link no net_fault.c.
 */
#ifndef ZEBU_TESTS_HOST_NET_FAULT_H
#define ZEBU_TESTS_HOST_NET_FAULT_H

#include <stddef.h>
#include <stdint.h>

/* Make net/'s allocation number nth (0 = the next one) fail; with
 * persistent, every one from then on. nth < 0 turns injection off. */
void net_fault_malloc_fail(long nth, int persistent);

/* net/ allocations attempted since start-up (failed ones included). */
uint64_t net_fault_allocs(void);

/* Failures injected since start-up. */
uint64_t net_fault_failures(void);

/* net/ allocations not yet freed (0 after a stack is torn down). */
long net_fault_live(void);

/* Bytes net/ holds in live allocations (malloc_usable_size: the size asked
 * for under AddressSanitizer, which the unit tests build with), and the
 * most it held at once since net_fault_peak_reset(). */
size_t net_fault_live_bytes(void);
size_t net_fault_peak_bytes(void);
void net_fault_peak_reset(void);

void *net_test_malloc(size_t size);
void *net_test_calloc(size_t n, size_t size);
void net_test_free(void *p);

#endif /* ZEBU_TESTS_HOST_NET_FAULT_H */
