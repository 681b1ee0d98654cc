/*
 * stdlib.c - integer helpers: abs, labs, and the strict parse_long /
 * parse_ulong used for configuration values.
 *
 * parse_* exist because strtol is a poor validator: it skips white space,
 * accepts trailing junk, treats "010" as octal, silently wraps "-1" in
 * strtoul, and reports errors through errno. A configuration value is
 * either exactly a number in range or an error.
 */
#include <stdlib.h>
#include <errno.h>

#include "libc_internal.h"

int abs(int x)
{
    return x < 0 ? -x : x;
}

long labs(long x)
{
    return x < 0 ? -x : x;
}

/*
 * Parses the unsigned part (after any sign): "0x" + hex digits, or decimal
 * digits, up to the end of the string. Overflow beyond limit gives -ERANGE,
 * but only if the string is otherwise well formed (else -EINVAL).
 */
static int parse_magnitude(const char *s, unsigned long long limit, unsigned long long *out)
{
    unsigned base = 10;
    unsigned long long value;
    bool overflow;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    const char *end = libc_scan_digits(s, base, limit, &value, &overflow);
    if (end == s || *end != '\0')
        return -EINVAL;
    if (overflow)
        return -ERANGE;
    *out = value;
    return 0;
}

int parse_long(const char *s, long min, long max, long *out)
{
    unsigned long long magnitude;
    long value;

    if (s == NULL)
        return -EINVAL;
    bool negative = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    int err = parse_magnitude(
        s, negative ? (unsigned long long)LIBC_LONG_MAX + 1 : (unsigned long long)LIBC_LONG_MAX,
        &magnitude);
    if (err != 0)
        return err;
    /* -(m - 1) - 1 reaches LONG_MIN without converting an out-of-range value. */
    value = negative && magnitude > 0 ? -(long)(magnitude - 1) - 1 : (long)magnitude;
    if (value < min || value > max)
        return -ERANGE;
    *out = value;
    return 0;
}

int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    unsigned long long magnitude;

    if (s == NULL || *s == '-')
        return -EINVAL;
    if (*s == '+')
        s++;
    int err = parse_magnitude(s, LIBC_ULONG_MAX, &magnitude);
    if (err != 0)
        return err;
    if (magnitude < min || magnitude > max)
        return -ERANGE;
    *out = (unsigned long)magnitude;
    return 0;
}
