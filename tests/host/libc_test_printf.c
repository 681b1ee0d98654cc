/*
 * libc_test_printf.c - snprintf/vsnprintf against the host's glibc.
 *
 * The bulk is generated: every supported conversion crossed with every
 * combination of flags, several widths, precisions and length modifiers,
 * and boundary values, each compared byte for byte (and by return value)
 * with glibc. Behaviour where we deliberately differ from glibc (unknown
 * conversions, floating point) and truncation are checked by hand.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "zt_libc.h"

#define OUT_SIZE 512

/*
 * Formats with both implementations (through vsnprintf, which snprintf
 * wraps) and compares output bytes, return values and the terminator.
 */
static void check_same_at(const char *file, int line, const char *fmt, ...)
{
    char ours[OUT_SIZE], ref[OUT_SIZE];
    va_list ap, ap2;

    memset(ours, 0xa5, sizeof(ours));
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int ours_ret = zt_vsnprintf(ours, sizeof(ours), fmt, ap);
    int ref_ret = vsnprintf(ref, sizeof(ref), fmt, ap2);
    va_end(ap2);
    va_end(ap);

    /* %c of 0 puts NUL bytes in the output, so compare by length. */
    int ok = ours_ret == ref_ret && ref_ret >= 0 && ref_ret < OUT_SIZE &&
             memcmp(ours, ref, (size_t)ref_ret + 1) == 0;
    CHECK_AT(file, line, ok, "format \"%s\": ours \"%s\" (%d), glibc \"%s\" (%d)", fmt, ours,
             ours_ret, ref, ref_ret);
}
#define check_same(...) check_same_at(__FILE__, __LINE__, __VA_ARGS__)

/* Formats with ours only and compares with an expected string. */
static void check_ours_at(const char *file, int line, const char *expected, const char *fmt, ...)
{
    char ours[OUT_SIZE];
    va_list ap;

    va_start(ap, fmt);
    int ret = zt_vsnprintf(ours, sizeof(ours), fmt, ap);
    va_end(ap);
    CHECK_AT(file, line, ret == (int)strlen(expected) && strcmp(ours, expected) == 0,
             "format \"%s\": ours \"%s\" (%d), expected \"%s\"", fmt, ours, ret, expected);
}
#define check_ours(...) check_ours_at(__FILE__, __LINE__, __VA_ARGS__)

/* Every subset of the five flags, in a fixed order (order does not matter). */
static void flag_set(unsigned mask, char *out)
{
    static const char flags[] = "-0+ #";

    for (unsigned i = 0; i < 5; i++) {
        if (mask & (1u << i))
            *out++ = flags[i];
    }
    *out = '\0';
}

static const char *const widths[] = {"", "1", "6", "24"};
static const char *const precisions[] = {"", ".", ".0", ".1", ".4", ".23"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum len_kind { L_INT, L_LONG, L_LLONG, L_SIZE, L_PTRDIFF, L_INTMAX };
static const struct {
    const char *text;
    enum len_kind kind;
} lengths[] = {
    {"", L_INT},     {"hh", L_INT}, {"h", L_INT},     {"l", L_LONG},
    {"ll", L_LLONG}, {"z", L_SIZE}, {"t", L_PTRDIFF}, {"j", L_INTMAX},
};

/* Bit patterns; each is converted to the argument type the length names. */
static const unsigned long long int_values[] = {
    0,
    1,
    (unsigned long long)-1,
    42,
    (unsigned long long)-42,
    0x7f,
    0x80,
    255,
    256,
    0x7fff,
    (unsigned long long)-32768,
    0xffff,
    INT_MAX,
    (unsigned long long)INT_MIN,
    UINT_MAX,
    (unsigned long long)UINT_MAX + 1,
    LLONG_MAX,
    (unsigned long long)LLONG_MIN,
    ULLONG_MAX,
    SIZE_MAX,
    0x0123456789abcdefull,
    01234567,
};

static void check_int_case(const char *fmt, enum len_kind kind, unsigned long long v)
{
    switch (kind) {
    case L_INT:
        check_same(fmt, (int)v);
        break;
    case L_LONG:
        check_same(fmt, (long)v);
        break;
    case L_LLONG:
        check_same(fmt, (long long)v);
        break;
    case L_SIZE:
        check_same(fmt, (size_t)v);
        break;
    case L_PTRDIFF:
        check_same(fmt, (ptrdiff_t)v);
        break;
    case L_INTMAX:
        check_same(fmt, (intmax_t)v);
        break;
    }
}

TEST(printf_integer_table)
{
    static const char convs[] = "diuxXo";
    char flags[8], fmt[64];

    for (unsigned mask = 0; mask < 32; mask++) {
        flag_set(mask, flags);
        for (size_t w = 0; w < COUNT(widths); w++) {
            for (size_t p = 0; p < COUNT(precisions); p++) {
                for (size_t l = 0; l < COUNT(lengths); l++) {
                    for (const char *c = convs; *c != '\0'; c++) {
                        snprintf(fmt, sizeof(fmt), "[%%%s%s%s%s%c]", flags, widths[w],
                                 precisions[p], lengths[l].text, *c);
                        for (size_t v = 0; v < COUNT(int_values); v++)
                            check_int_case(fmt, lengths[l].kind, int_values[v]);
                    }
                }
            }
        }
    }
}

TEST(printf_char_string_pointer_table)
{
    static const int chars[] = {'a', ' ', '%', 0x7f, 0x80, 0xff, 0x141 /* prints 'A' */, 0};
    static const char *const strings[] = {
        "",  "a", "hello", "exactly twenty-four char", "a string longer than any of the widths",
        NULL};
    static const uintptr_t pointers[] = {0, 1, 0xdeadbeef, 0x7fffffffffff, UINTPTR_MAX};
    char flags[8], fmt[64];

    for (unsigned mask = 0; mask < 32; mask++) {
        flag_set(mask, flags);
        for (size_t w = 0; w < COUNT(widths); w++) {
            for (size_t p = 0; p < COUNT(precisions); p++) {
                snprintf(fmt, sizeof(fmt), "<%%%s%s%sc>", flags, widths[w], precisions[p]);
                for (size_t i = 0; i < COUNT(chars); i++)
                    check_same(fmt, chars[i]);
                snprintf(fmt, sizeof(fmt), "<%%%s%s%ss>", flags, widths[w], precisions[p]);
                for (size_t i = 0; i < COUNT(strings); i++)
                    check_same(fmt, strings[i]);
                snprintf(fmt, sizeof(fmt), "<%%%s%s%sp>", flags, widths[w], precisions[p]);
                for (size_t i = 0; i < COUNT(pointers); i++)
                    check_same(fmt, (void *)pointers[i]);
            }
        }
    }
}

TEST(printf_length_modifiers_truncate)
{
    /* hh and h convert the int argument to char / short first. */
    check_same("%hhd %hhu %hhx %hd %hu %hx", 0x1ff, 0x1ff, 0x1ff, 0x18000, 0x18000, 0x18000);
    check_same("%hhd %hhd %hd %hd", 127, 128, 32767, 32768);
    check_same("%lld %llu %llx", LLONG_MIN, ULLONG_MAX, ULLONG_MAX);
    check_same("%zu %zd %zx", SIZE_MAX, (size_t)-5, SIZE_MAX);
    check_same("%td %tu %tx", (ptrdiff_t)PTRDIFF_MIN, (ptrdiff_t)-1, (ptrdiff_t)-1);
    check_same("%jd %ju %jo", INTMAX_MIN, UINTMAX_MAX, UINTMAX_MAX);
    check_same("%ld %lu %lx %lo", LONG_MIN, ULONG_MAX, ULONG_MAX, ULONG_MAX);
    /* Length modifiers on p are ignored, as glibc does. */
    check_ours("0x1234 0x1234 0x1234", "%hhp %lp %zp", (void *)0x1234, (void *)0x1234,
               (void *)0x1234);
}

TEST(printf_star_width_precision)
{
    static const int stars[] = {INT_MIN + 1, -30, -5, -1, 0, 1, 3, 7, 30};
    static const char *const fmts[] = {"[%*d]", "[%-*d]", "[%0*d]", "[%.*d]",  "[%+.*x]",
                                       "[%*s]", "[%.*s]", "[%-*c]", "[%#.*o]", "[%*p]"};

    for (size_t f = 0; f < COUNT(fmts); f++) {
        for (size_t s = 0; s < COUNT(stars); s++) {
            /* INT_MIN + 1 as a width is a 2 GiB field: only as a precision. */
            if (stars[s] == INT_MIN + 1 && strstr(fmts[f], ".*") == NULL)
                continue;
            char conv = fmts[f][strlen(fmts[f]) - 2];
            if (conv == 's')
                check_same(fmts[f], stars[s], "hello");
            else if (conv == 'c')
                check_same(fmts[f], stars[s], 'z');
            else if (conv == 'p')
                check_same(fmts[f], stars[s], (void *)0xabc);
            else
                check_same(fmts[f], stars[s], -1234);
        }
    }
    for (size_t a = 0; a < COUNT(stars); a++) {
        for (size_t b = 0; b < COUNT(stars); b++) {
            if (stars[a] > -100 && stars[a] < 100)
                check_same("[%*.*d]", stars[a], stars[b], 77);
        }
    }
}

TEST(printf_mixed_and_literal_text)
{
    check_same("");
    check_same("plain text, no conversions");
    check_same("100%% sure, %d%%", 99);
    check_same("%s=%d (0x%04x) %c%c%c", "answer", 42, 42, 'o', 'k', '!');
    check_ours("%|%|%|%", "%5%|%-5%|%05%|%.3%"); /* glibc agrees; ASan dislikes it */
    check_same("%d %s %u %x %X %o %c %p %%", -1, "str", 2u, 0xabu, 0xcdu, 8u, 'c', (void *)16);
    check_same("%i|%5i|%-5i|%05i", -7, -7, -7, -7);
    check_same("%.0d|%.0u|%.0x|%#.0x|%#.0o|%.0i", 0, 0u, 0u, 0u, 0u, 0);
    check_same("%+d|% d|%+ d|% +d", 0, 0, 0, 0);
    check_same("%s|%.3s|%10.3s|%-10.3s|", (char *)NULL, (char *)NULL, (char *)NULL, (char *)NULL);
    check_same("%p|%10p|%-10p|%010p|%+p", NULL, NULL, NULL, NULL, NULL);
    check_same("%c%c%c", 0, 'x', 0);
    /* Widths and precisions beyond the digit buffer. */
    check_same("%100d|%-100x|%.100u", 1, 2u, 3u);
    check_same("%0300d", -5);
}

TEST(printf_precision_stops_reading_string)
{
    /* With a precision, %s must not read past it: the array has no NUL, so
     * AddressSanitizer would catch a strlen. (Expected strings are spelled
     * out: ASan's own checks inside glibc's printf misjudge this case.) */
    char *unterminated = malloc(5);
    memcpy(unterminated, "abcde", 5);
    check_ours("abcde|abc||   abcde|ab   ", "%.5s|%.3s|%.0s|%8.5s|%-5.2s", unterminated,
               unterminated, unterminated, unterminated, unterminated);
    free(unterminated);
}

TEST(printf_unsupported_printed_literally)
{
    /* Not supported, printed whole, and no argument consumed. */
    check_ours("%k", "%k");
    check_ours("%5k", "%5k");
    check_ours("[%-08.3lk]", "[%-08.3lk]");
    check_ours("1 %f 2", "%d %f %d", 1, 2);
    check_ours("%e %g %a %E %G %A %F", "%e %g %a %E %G %A %F");
    check_ours("%Lf", "%Lf");
    check_ours("%qd", "%qd");
    check_ours("%n 7", "%n %d", 7);
    check_ours("%ls %lc 9", "%ls %lc %d", 9);
    check_ours("%1$d", "%1$d", 5);
    /* A specification cut off by the end of the format string. */
    check_ours("abc%", "abc%");
    check_ours("%-5", "%-5");
    check_ours("x%.", "x%.");
    check_ours("%ll", "%ll");
}

/*
 * Truncation: whatever the buffer size, the return value is the full
 * length, the buffer holds a NUL-terminated prefix, and nothing past
 * `size` bytes is written.
 */
static void check_truncation(const char *fmt, ...)
{
    char full[OUT_SIZE];
    va_list ap;

    va_start(ap, fmt);
    int len = vsnprintf(full, sizeof(full), fmt, ap);
    va_end(ap);

    size_t sizes[] = {0, 1, 2, (size_t)len - 1, (size_t)len, (size_t)len + 1, (size_t)len + 2};
    for (size_t i = 0; i < COUNT(sizes); i++) {
        size_t size = sizes[i];
        if (size > (size_t)len + 2) /* len - 1 wrapped when len == 0 */
            continue;
        /* Exactly sized heap buffer plus a tail we check by hand. */
        char *buf = malloc(size + 16);
        memset(buf, 0x5a, size + 16);
        va_start(ap, fmt);
        int ret = zt_vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        CHECK(ret == len);
        if (size > 0) {
            size_t kept = size - 1 < (size_t)len ? size - 1 : (size_t)len;
            CHECK_AT(__FILE__, __LINE__, memcmp(buf, full, kept) == 0 && buf[kept] == '\0',
                     "format \"%s\" size %zu: got \"%.*s\"", fmt, size, (int)kept, buf);
        }
        int untouched = 1;
        for (size_t j = size; j < size + 16; j++)
            untouched &= buf[j] == 0x5a;
        CHECK_AT(__FILE__, __LINE__, untouched, "format \"%s\" size %zu: wrote past the end", fmt,
                 size);
        free(buf);
    }
}

TEST(printf_truncation)
{
    check_truncation("");
    check_truncation("x");
    check_truncation("hello %d world", 12345);
    check_truncation("%s", "truncate me please");
    check_truncation("%-12s|", "left");
    check_truncation("%08x%08x", 0xdeadu, 0xbeefu);
    check_truncation("%c", 'q');
    check_truncation("%300d", 1);
    check_truncation("%p %p", (void *)0x1, NULL);

    /* Measuring: NULL buffer with size 0 is allowed and writes nothing. */
    CHECK_INT_EQ(zt_snprintf(NULL, 0, "%d-%s", 123, "abc"), 7);
    CHECK_INT_EQ(zt_snprintf(NULL, 0, ""), 0);
    CHECK_INT_EQ(zt_snprintf(NULL, 0, "%5000d", 1), 5000);
    CHECK_INT_EQ(zt_snprintf(NULL, 0, "%.3000x", 1u), 3000);
}

TEST(printf_snprintf_wrapper)
{
    char buf[32];

    CHECK_INT_EQ(zt_snprintf(buf, sizeof(buf), "%d/%s/%c", 5, "x", 'y'), 5);
    CHECK_STR_EQ(buf, "5/x/y");
    CHECK_INT_EQ(zt_snprintf(buf, 4, "%s", "abcdef"), 6);
    CHECK_STR_EQ(buf, "abc");
}

TEST(printf_overflow_is_eoverflow)
{
    /* More than INT_MAX characters cannot be counted in an int: C99 says
     * -1, and POSIX says errno = EOVERFLOW. Measured, not written. */
    ZT_ERRNO = 0;
    CHECK_INT_EQ(zt_snprintf(NULL, 0, "%*d%d", INT_MAX, 1, 2), -1);
    CHECK_INT_EQ(ZT_ERRNO, EOVERFLOW);
    ZT_ERRNO = 0;
    CHECK_INT_EQ(zt_snprintf(NULL, 0, "%*d", INT_MAX, 1), INT_MAX);
    CHECK_INT_EQ(ZT_ERRNO, 0);
    /* A width too large for an int saturates rather than wrapping. */
    CHECK_INT_EQ(zt_snprintf(NULL, 0, "%99999999999d", 1), INT_MAX);
}
