/*
 * libc_probe_headers.c - the one test file built against Zebu's own
 * headers (freestanding, -nostdinc) instead of the host's.
 *
 * It checks that the public headers compile together under the strict
 * warning set, exports our errno values for comparison with the host's,
 * and exercises assert() with NDEBUG off, on, and off again (C requires
 * <assert.h> to follow NDEBUG at each inclusion). libc_test_errno.c drives
 * it. glibc also defines __assert_fail, with a slightly different
 * prototype, so failed asserts here are routed to a test hook instead.
 */
#define __assert_fail zt_probe_assert_fail

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errno_list.h"
#include "libc_probe.h"

#define ZT_OURS_ENTRY(name) {#name, name},
const struct zt_errno_entry zt_ours_errno[] = {ZT_ERRNO_LIST(ZT_OURS_ENTRY)};
const size_t zt_ours_errno_count = sizeof(zt_ours_errno) / sizeof(zt_ours_errno[0]);

static_assert(EWOULDBLOCK == EAGAIN, "Linux aliases");
static_assert(EOF == -1, "EOF");

int zt_probe_assert_line;

int zt_probe_assert_enabled(int value)
{
    zt_probe_assert_line = __LINE__, assert(value == 1);
    return 1;
}

#define NDEBUG
#include <assert.h>

int zt_probe_assert_disabled(int *counter)
{
    (void)counter;           /* assert() expands to nothing, as C specifies */
    assert(++*counter == 0); /* must not be evaluated */
    return 1;
}

#undef NDEBUG
#include <assert.h>

int zt_probe_assert_reenabled(int value)
{
    assert(value == 1);
    return 1;
}
