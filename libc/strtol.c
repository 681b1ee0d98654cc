/*
 * strtol.c - C string-to-integer conversions (strtol, strtoul, strtoll,
 * strtoull) and the digit scanner they share with parse_long.
 *
 * All four run the same steps: white space, sign, base prefix, then one
 * overflow-checked digit scan against a magnitude limit that depends on
 * the type and the sign. Each wrapper then applies the sign and, on
 * overflow, clamps and sets ERANGE as C specifies.
 */
#include <stdlib.h>
#include <ctype.h>
#include <errno.h>

#include "libc_internal.h"

int libc_digit_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

const char *libc_scan_digits(const char *s, unsigned base, unsigned long long limit,
                             unsigned long long *value, bool *overflow)
{
    unsigned long long v = 0;
    bool over = false;
    int d;

    while ((d = libc_digit_value((unsigned char)*s)) >= 0 && (unsigned)d < base) {
        /* v * base + d <= limit  <=>  v <= (limit - d) / base, computed
         * without ever overflowing. Once over, keep eating digits so the end
         * pointer lands after the whole number. */
        if (!over && ((unsigned long long)d > limit || v > (limit - d) / base)) {
            over = true;
            v = limit;
        } else if (!over) {
            v = v * base + d;
        }
        s++;
    }
    *value = v;
    *overflow = over;
    return s;
}

/* What the common front end found; magnitude is clamped on overflow. */
struct conversion {
    unsigned long long magnitude;
    bool negative;
    bool overflow;
};

/*
 * Front end of all four functions. pos_limit and neg_limit bound the
 * magnitude for positive and negative input. Sets *endptr as C requires.
 */
static struct conversion convert(const char *nptr, char **endptr, int base,
                                 unsigned long long pos_limit, unsigned long long neg_limit)
{
    struct conversion conv = {0, false, false};
    const char *s = nptr;

    if (endptr != NULL)
        *endptr = (char *)nptr; /* the "no number" answer, replaced below */
    if (base < 0 || base == 1 || base > 36) {
        errno = EINVAL;
        return conv;
    }
    while (isspace((unsigned char)*s))
        s++;
    bool negative = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    /* "0x" is a prefix only when a hex digit follows; otherwise "0x1z" with
     * no hex digits parses as the number 0 ending at the 'x', as in glibc. */
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
        isxdigit((unsigned char)s[2])) {
        s += 2;
        base = 16;
    } else if (base == 0) {
        base = s[0] == '0' ? 8 : 10;
    }

    const char *end = libc_scan_digits(s, (unsigned)base, negative ? neg_limit : pos_limit,
                                       &conv.magnitude, &conv.overflow);
    if (end == s)
        return conv; /* no digits: value 0, *endptr = nptr */
    conv.negative = negative;
    if (endptr != NULL)
        *endptr = (char *)end;
    return conv;
}

long strtol(const char *restrict nptr, char **restrict endptr, int base)
{
    struct conversion c =
        convert(nptr, endptr, base, LIBC_LONG_MAX, (unsigned long long)LIBC_LONG_MAX + 1);

    if (c.overflow) {
        errno = ERANGE;
        return c.negative ? LIBC_LONG_MIN : LIBC_LONG_MAX;
    }
    /* -(m - 1) - 1 reaches LONG_MIN without converting an out-of-range value. */
    return c.negative && c.magnitude > 0 ? -(long)(c.magnitude - 1) - 1 : (long)c.magnitude;
}

long long strtoll(const char *restrict nptr, char **restrict endptr, int base)
{
    struct conversion c =
        convert(nptr, endptr, base, LIBC_LLONG_MAX, (unsigned long long)LIBC_LLONG_MAX + 1);

    if (c.overflow) {
        errno = ERANGE;
        return c.negative ? LIBC_LLONG_MIN : LIBC_LLONG_MAX;
    }
    return c.negative && c.magnitude > 0 ? -(long long)(c.magnitude - 1) - 1
                                         : (long long)c.magnitude;
}

unsigned long strtoul(const char *restrict nptr, char **restrict endptr, int base)
{
    struct conversion c = convert(nptr, endptr, base, LIBC_ULONG_MAX, LIBC_ULONG_MAX);

    if (c.overflow) {
        errno = ERANGE;
        return LIBC_ULONG_MAX;
    }
    /* C: a '-' number is negated in the unsigned type (wraps modulo 2^N). */
    return c.negative ? 0ul - (unsigned long)c.magnitude : (unsigned long)c.magnitude;
}

unsigned long long strtoull(const char *restrict nptr, char **restrict endptr, int base)
{
    struct conversion c = convert(nptr, endptr, base, LIBC_ULLONG_MAX, LIBC_ULLONG_MAX);

    if (c.overflow) {
        errno = ERANGE;
        return LIBC_ULLONG_MAX;
    }
    return c.negative ? 0ull - c.magnitude : c.magnitude;
}
