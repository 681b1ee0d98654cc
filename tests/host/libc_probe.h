/*
 * libc_probe.h - what libc_probe_headers.c exports to the host-side tests.
 * Uses only types both header worlds agree on.
 */
#ifndef ZEBU_TESTS_HOST_LIBC_PROBE_H
#define ZEBU_TESTS_HOST_LIBC_PROBE_H

#include <stddef.h>

#include "errno_list.h"

extern const struct zt_errno_entry zt_ours_errno[];
extern const size_t zt_ours_errno_count;

/* Each runs assert(value == 1) (or, for _disabled, an assert with a side
 * effect under NDEBUG) and returns 1 if the assert let it continue. */
int zt_probe_assert_enabled(int value);
int zt_probe_assert_disabled(int *counter);
int zt_probe_assert_reenabled(int value);
extern int zt_probe_assert_line;

/* What assert() calls in the probe; implemented by libc_test_errno.c. */
void zt_probe_assert_fail(const char *expr, const char *file, int line, const char *func)
    __attribute__((noreturn));

#endif /* ZEBU_TESTS_HOST_LIBC_PROBE_H */
