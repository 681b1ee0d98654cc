/*
 * libc_test_strtol.c - strtol/strtoul/strtoll/strtoull against glibc, and
 * the strict parse_long/parse_ulong against expected results.
 *
 * For the strto* family every input is tried in several bases and the
 * value, the end pointer and errno must all equal glibc's. Inputs are
 * chosen around the edges: white space, signs, prefixes with and without
 * digits after them, and values one below, at and one beyond each limit.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "zt_libc.h"

static const char *const inputs[] = {
    "",
    " ",
    "-",
    "+",
    "0",
    "-0",
    "+0",
    "1",
    "-1",
    "+1",
    "  42",
    "\t\n\v\f\r 42",
    "42abc",
    "42 ",
    "0x",
    "0X",
    "0x1f",
    "0X1F",
    "-0x1f",
    "0xg",
    " 0x",
    "0x 1",
    "0x0x1",
    "00x1",
    "0b101",
    "010",
    "08",
    "0777",
    "1e5",
    "z",
    "Z",
    "zz",
    "-zz",
    "  +-1",
    "- 1",
    "+ 1",
    "1 2",
    "0x-1",
    "\xff"
    "1",
    "9223372036854775806",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775807",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551614",
    "18446744073709551615",
    "18446744073709551616",
    "-18446744073709551615",
    "-18446744073709551616",
    "99999999999999999999999999999999",
    "-99999999999999999999999999999999x",
    "0x7fffffffffffffff",
    "0x8000000000000000",
    "-0x8000000000000000",
    "-0x8000000000000001",
    "0xffffffffffffffff",
    "0x10000000000000000",
    "7fffffffffffffff",
    "ffffffffffffffff",
    "10000000000000000",
    "0777777777777777777777",
    "01000000000000000000000",
    "01777777777777777777777",
    "02000000000000000000000",
    "1111111111111111111111111111111111111111111111111111111111111111",
    "11111111111111111111111111111111111111111111111111111111111111111",
    "111111111111111111111111111111111111111111111111111111111111111",
    "3w5e11264sgsf",
    "3w5e11264sgsg",
    "1y2p0ij32e8e7",
    "1y2p0ij32e8e8",
    "-1y2p0ij32e8e8",
    "-1y2p0ij32e8e9",
};

static const int bases[] = {0, 2, 8, 10, 16, 36, -1, 1, 37};

#define NINPUTS (sizeof(inputs) / sizeof(inputs[0]))
#define NBASES  (sizeof(bases) / sizeof(bases[0]))

/*
 * One comparison: run ours and glibc's with errno cleared and endptr
 * preset to a sentinel, then compare value, end offset and errno.
 */
#define COMPARE_STRTO(ours_fn, ref_fn, fmt)                                                        \
    do {                                                                                           \
        char *ours_end = (char *)s + 999, *ref_end = (char *)s + 999;                              \
        ZT_ERRNO = 0;                                                                              \
        errno = 0;                                                                                 \
        __typeof__(ref_fn(s, NULL, 0)) ours_v = ours_fn(s, &ours_end, base);                       \
        int ours_errno = ZT_ERRNO;                                                                 \
        __typeof__(ref_fn(s, NULL, 0)) ref_v = ref_fn(s, &ref_end, base);                          \
        int ref_errno = errno;                                                                     \
        /* glibc leaves endptr alone for an invalid base; ours sets it to s. */                    \
        if (ref_errno == EINVAL)                                                                   \
            ref_end = (char *)s;                                                                   \
        CHECK_AT(__FILE__, __LINE__,                                                               \
                 ours_v == ref_v && ours_end == ref_end && ours_errno == ref_errno,                \
                 #ours_fn "(\"%s\", base %d): ours " fmt " end +%td errno %d, glibc " fmt          \
                          " end +%td errno %d",                                                    \
                 s, base, ours_v, ours_end - s, ours_errno, ref_v, ref_end - s, ref_errno);        \
        /* endptr may be NULL. */                                                                  \
        CHECK(ours_fn(s, NULL, base) == ours_v);                                                   \
    } while (0)

TEST(strtol_family_vs_glibc)
{
    for (size_t i = 0; i < NINPUTS; i++) {
        for (size_t b = 0; b < NBASES; b++) {
            const char *s = inputs[i];
            int base = bases[b];
            COMPARE_STRTO(zt_strtol, strtol, "%ld");
            COMPARE_STRTO(zt_strtoul, strtoul, "%lu");
            COMPARE_STRTO(zt_strtoll, strtoll, "%lld");
            COMPARE_STRTO(zt_strtoull, strtoull, "%llu");
        }
    }
}

TEST(strtol_every_base_and_digit)
{
    /* Each digit character in each base 2..36, upper and lower case. */
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (int base = 2; base <= 36; base++) {
        for (const char *d = digits; *d != '\0'; d++) {
            char s[4] = {*d, *d, '\0'};
            char *ours_end, *ref_end;
            long ours_v = zt_strtol(s, &ours_end, base);
            long ref_v = strtol(s, &ref_end, base);
            CHECK_AT(__FILE__, __LINE__, ours_v == ref_v && ours_end == ref_end,
                     "strtol(\"%s\", %d): %ld vs %ld", s, base, ours_v, ref_v);
        }
    }
}

TEST(strtol_errno_untouched_on_success)
{
    ZT_ERRNO = 1234;
    CHECK_INT_EQ(zt_strtol("77", NULL, 10), 77);
    CHECK_INT_EQ(zt_strtoul("", NULL, 10), 0); /* no digits is not an error */
    CHECK_INT_EQ(ZT_ERRNO, 1234);
    ZT_ERRNO = 0;
}

struct parse_case {
    const char *s;
    long min, max;
    int ret;
    long value;
};

TEST(parse_long_cases)
{
    static const struct parse_case cases[] = {
        {"0", LONG_MIN, LONG_MAX, 0, 0},
        {"42", LONG_MIN, LONG_MAX, 0, 42},
        {"-42", LONG_MIN, LONG_MAX, 0, -42},
        {"+42", LONG_MIN, LONG_MAX, 0, 42},
        {"010", LONG_MIN, LONG_MAX, 0, 10}, /* not octal */
        {"0x1f", LONG_MIN, LONG_MAX, 0, 31},
        {"0X1F", LONG_MIN, LONG_MAX, 0, 31},
        {"-0x10", LONG_MIN, LONG_MAX, 0, -16},
        {"0x0", LONG_MIN, LONG_MAX, 0, 0},
        {"-0", LONG_MIN, LONG_MAX, 0, 0},
        {"9223372036854775807", LONG_MIN, LONG_MAX, 0, LONG_MAX},
        {"-9223372036854775808", LONG_MIN, LONG_MAX, 0, LONG_MIN},
        {"0x7fffffffffffffff", LONG_MIN, LONG_MAX, 0, LONG_MAX},
        {"-0x8000000000000000", LONG_MIN, LONG_MAX, 0, LONG_MIN},
        /* not a number */
        {"", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"-", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"+", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"0x", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"-0x", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {" 1", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"1 ", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"1\n", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"1a", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"0x1g", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"--1", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"+-1", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"0x-1", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"0b1", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"1.5", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"abc", LONG_MIN, LONG_MAX, -EINVAL, 0},
        {"0xx1", LONG_MIN, LONG_MAX, -EINVAL, 0},
        /* overflow and range */
        {"9223372036854775808", LONG_MIN, LONG_MAX, -ERANGE, 0},
        {"-9223372036854775809", LONG_MIN, LONG_MAX, -ERANGE, 0},
        {"0x8000000000000000", LONG_MIN, LONG_MAX, -ERANGE, 0},
        {"99999999999999999999999999", LONG_MIN, LONG_MAX, -ERANGE, 0},
        {"99999999999999999999999999x", LONG_MIN, LONG_MAX, -EINVAL, 0}, /* junk wins */
        {"5", 0, 4, -ERANGE, 0},
        {"4", 0, 4, 0, 4},
        {"0", 0, 4, 0, 0},
        {"-1", 0, 4, -ERANGE, 0},
        {"-10", -10, -5, 0, -10},
        {"-11", -10, -5, -ERANGE, 0},
        {"-4", -10, -5, -ERANGE, 0},
        {"1", 5, 4, -ERANGE, 0}, /* empty range */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct parse_case *c = &cases[i];
        long out = 0x5a5a;
        int ret = zt_parse_long(c->s, c->min, c->max, &out);
        long expected = c->ret == 0 ? c->value : 0x5a5a; /* untouched on error */
        CHECK_AT(__FILE__, __LINE__, ret == c->ret && out == expected,
                 "parse_long(\"%s\", %ld, %ld): %d, %ld; expected %d, %ld", c->s, c->min, c->max,
                 ret, out, c->ret, expected);
    }
    long out = 7;
    CHECK_INT_EQ(zt_parse_long(NULL, 0, 10, &out), -EINVAL);
    CHECK_INT_EQ(out, 7);
}

struct parse_ucase {
    const char *s;
    unsigned long min, max;
    int ret;
    unsigned long value;
};

TEST(parse_ulong_cases)
{
    static const struct parse_ucase cases[] = {
        {"0", 0, ULONG_MAX, 0, 0},
        {"42", 0, ULONG_MAX, 0, 42},
        {"+42", 0, ULONG_MAX, 0, 42},
        {"0x2A", 0, ULONG_MAX, 0, 42},
        {"007", 0, ULONG_MAX, 0, 7},
        {"18446744073709551615", 0, ULONG_MAX, 0, ULONG_MAX},
        {"0xffffffffffffffff", 0, ULONG_MAX, 0, ULONG_MAX},
        {"18446744073709551616", 0, ULONG_MAX, -ERANGE, 0},
        {"0x10000000000000000", 0, ULONG_MAX, -ERANGE, 0},
        {"-1", 0, ULONG_MAX, -EINVAL, 0}, /* strtoul would wrap it */
        {"-0", 0, ULONG_MAX, -EINVAL, 0},
        {"", 0, ULONG_MAX, -EINVAL, 0},
        {"+", 0, ULONG_MAX, -EINVAL, 0},
        {"0x", 0, ULONG_MAX, -EINVAL, 0},
        {" 5", 0, ULONG_MAX, -EINVAL, 0},
        {"5 ", 0, ULONG_MAX, -EINVAL, 0},
        {"5k", 0, ULONG_MAX, -EINVAL, 0},
        {"1500", 68, 1500, 0, 1500},
        {"1501", 68, 1500, -ERANGE, 0},
        {"67", 68, 1500, -ERANGE, 0},
        {"68", 68, 1500, 0, 68},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct parse_ucase *c = &cases[i];
        unsigned long out = 0x5a5a;
        int ret = zt_parse_ulong(c->s, c->min, c->max, &out);
        unsigned long expected = c->ret == 0 ? c->value : 0x5a5a;
        CHECK_AT(__FILE__, __LINE__, ret == c->ret && out == expected,
                 "parse_ulong(\"%s\", %lu, %lu): %d, %lu; expected %d, %lu", c->s, c->min, c->max,
                 ret, out, c->ret, expected);
    }
    unsigned long out = 7;
    CHECK_INT_EQ(zt_parse_ulong(NULL, 0, 10, &out), -EINVAL);
    CHECK_UINT_EQ(out, 7);
}

TEST(abs_labs)
{
    CHECK_INT_EQ(zt_abs(0), 0);
    CHECK_INT_EQ(zt_abs(-5), 5);
    CHECK_INT_EQ(zt_abs(5), 5);
    CHECK_INT_EQ(zt_abs(-INT_MAX), INT_MAX);
    CHECK_INT_EQ(zt_labs(-LONG_MAX), LONG_MAX);
    CHECK_INT_EQ(zt_labs(123456789012L), 123456789012L);
}
