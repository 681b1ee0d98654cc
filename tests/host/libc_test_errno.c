/*
 * libc_test_errno.c - errno values and names, the weak errno location,
 * and assert() (through libc_probe_headers.c, which sees our headers).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "errno_list.h"
#include "libc_probe.h"
#include "runner.h"
#include "zt_libc.h"

#define ZT_HOST_ENTRY(name) {#name, name},
static const struct zt_errno_entry host_errno[] = {ZT_ERRNO_LIST(ZT_HOST_ENTRY)};

TEST(errno_values_match_linux)
{
    CHECK_UINT_EQ(zt_ours_errno_count, sizeof(host_errno) / sizeof(host_errno[0]));
    for (size_t i = 0; i < zt_ours_errno_count; i++) {
        CHECK_AT(__FILE__, __LINE__, zt_ours_errno[i].value == host_errno[i].value,
                 "%s: ours %d, Linux %d", host_errno[i].name, zt_ours_errno[i].value,
                 host_errno[i].value);
    }
}

TEST(errno_strerror_names)
{
    for (size_t i = 0; i < sizeof(host_errno) / sizeof(host_errno[0]); i++) {
        const char *name = host_errno[i].name;
        int value = host_errno[i].value;
        /* Aliases report the primary name. */
        const char *expected = value == EAGAIN ? "EAGAIN" : value == ENOTSUP ? "ENOTSUP" : name;
        CHECK_STR_EQ(zt_strerror(value), expected);
        CHECK_STR_EQ(zt_strerror(-value), expected); /* negated kernel style */
    }
    CHECK_STR_EQ(zt_strerror(0), "success");
    CHECK_STR_EQ(zt_strerror(3), "unknown error"); /* ESRCH: not in our list */
    CHECK_STR_EQ(zt_strerror(126), "unknown error");
    CHECK_STR_EQ(zt_strerror(9999), "unknown error");
    CHECK_STR_EQ(zt_strerror(-9999), "unknown error");
    CHECK_STR_EQ(zt_strerror(-2147483647 - 1), "unknown error");
    CHECK_STR_EQ(zt_strerror(2147483647), "unknown error");
}

TEST(errno_location_is_stable)
{
    int *p = zt___errno_location();
    CHECK(p != NULL);
    CHECK_PTR_EQ(zt___errno_location(), p);
    *p = 77;
    CHECK_INT_EQ(ZT_ERRNO, 77);
    CHECK(p != &errno); /* ours, not the host's */
    *p = 0;
}

static jmp_buf assert_jump;
static struct {
    int calls;
    char expr[64], file[256], func[64];
    int line;
} assert_seen;

void zt_probe_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    assert_seen.calls++;
    snprintf(assert_seen.expr, sizeof(assert_seen.expr), "%s", expr);
    snprintf(assert_seen.file, sizeof(assert_seen.file), "%s", file);
    snprintf(assert_seen.func, sizeof(assert_seen.func), "%s", func);
    assert_seen.line = line;
    longjmp(assert_jump, 1);
}

TEST(assert_follows_ndebug)
{
    memset(&assert_seen, 0, sizeof(assert_seen));
    CHECK_INT_EQ(zt_probe_assert_enabled(1), 1);
    CHECK_INT_EQ(assert_seen.calls, 0);

    if (setjmp(assert_jump) == 0) {
        zt_probe_assert_enabled(0);
        CHECK(0); /* not reached: the assert fired */
    }
    CHECK_INT_EQ(assert_seen.calls, 1);
    CHECK_STR_EQ(assert_seen.expr, "value == 1");
    CHECK(strstr(assert_seen.file, "libc_probe_headers.c") != NULL);
    CHECK_STR_EQ(assert_seen.func, "zt_probe_assert_enabled");
    CHECK_INT_EQ(assert_seen.line, zt_probe_assert_line);

    int counter = 0;
    CHECK_INT_EQ(zt_probe_assert_disabled(&counter), 1);
    CHECK_INT_EQ(counter, 0); /* NDEBUG: expression not evaluated */

    if (setjmp(assert_jump) == 0) {
        zt_probe_assert_reenabled(0);
        CHECK(0);
    }
    CHECK_INT_EQ(assert_seen.calls, 2);
}
