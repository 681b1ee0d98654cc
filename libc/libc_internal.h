/*
 * libc_internal.h - helpers shared between libc source files, not part of
 * the public API.
 *
 * Limits: gcc's <limits.h> cannot be used under -nostdinc on systems whose
 * gcc expects a C library limits.h below it (it #include_next's one), so
 * libc sources take the type limits from gcc's predefined macros instead.
 */
#ifndef ZEBU_LIBC_INTERNAL_H
#define ZEBU_LIBC_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIBC_INT_MAX    __INT_MAX__
#define LIBC_LONG_MAX   __LONG_MAX__
#define LIBC_LONG_MIN   (-__LONG_MAX__ - 1L)
#define LIBC_ULONG_MAX  (__LONG_MAX__ * 2UL + 1UL)
#define LIBC_LLONG_MAX  __LONG_LONG_MAX__
#define LIBC_LLONG_MIN  (-__LONG_LONG_MAX__ - 1LL)
#define LIBC_ULLONG_MAX (__LONG_LONG_MAX__ * 2ULL + 1ULL)

/*
 * The one printf engine. It parses fmt and hands every piece of output to
 * sink(ctx, bytes, len) in order, with len > 0; the sinks decide where the
 * bytes go (a bounded buffer for vsnprintf, the console for vprintf).
 * Returns the total number of bytes produced, or -1 with errno = EOVERFLOW
 * if that exceeds INT_MAX (the sink still received all of them).
 */
typedef void (*libc_sink_fn)(void *ctx, const char *bytes, size_t len);
int libc_format(libc_sink_fn sink, void *ctx, const char *fmt, va_list ap);

/*
 * Value of c as a digit in bases up to 36 ('0'-'9', then 'a'-'z' or 'A'-'Z'
 * as 10-35), or -1 if c is not a digit in any such base.
 */
int libc_digit_value(int c);

/*
 * Reads the longest run of base-`base` digits at s (no sign, no prefix, no
 * white space) into *value. If the number exceeds `limit`, *overflow is set,
 * *value becomes `limit`, and the remaining digits are still consumed.
 * Returns the first character after the digits, which is s itself when
 * there are none.
 */
const char *libc_scan_digits(const char *s, unsigned base, unsigned long long limit,
                             unsigned long long *value, bool *overflow);

/*
 * The exact decimal value of a finite double's magnitude (printf_dec.c):
 * 0.d[0]d[1]..d[n-1] x 10^point, n significant digits with no trailing
 * zeros; n == 0 is zero. 767 digits is the most a double has (2^-1074's
 * expansion less its leading zeros). About 1.2 KiB of stack in all.
 */
#define LIBC_DEC_DIGITS 770
struct libc_dec {
    int n, point;
    char d[LIBC_DEC_DIGITS];
};
void libc_dec_from_double(uint64_t bits, struct libc_dec *x);
/* Rounds to the first `keep` digits (any int: <= 0 rounds to zero or to a
 * single 1 one place up), ties to even; strips trailing zeros after. */
void libc_dec_round(struct libc_dec *x, int keep);

/*
 * The next variadic argument as a double, returned as its IEEE bits. It is
 * the one place the printf engine touches an SSE register (printf_sse.c,
 * built with SSE): only a %f %e %g conversion calls it, and kernel code,
 * built with -mgeneral-regs-only, cannot pass a double at all.
 */
uint64_t libc_va_double_bits(va_list *ap);

#endif /* ZEBU_LIBC_INTERNAL_H */
