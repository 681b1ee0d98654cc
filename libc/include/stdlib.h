/*
 * stdlib.h - number conversion, integer helpers, and the allocator and
 * process-exit interfaces.
 *
 * libc implements the conversions (strto*, parse_long/parse_ulong) and
 * abs/labs. malloc, free, calloc, realloc, aligned_alloc, exit and abort are
 * only declared here: the kernel implements them.
 */
#ifndef ZEBU_LIBC_STDLIB_H
#define ZEBU_LIBC_STDLIB_H

#include <stddef.h>

/*
 * C string-to-integer conversions. Skip leading white space, accept an
 * optional sign, then digits in base 2..36, or with base 0 a "0x" (hex),
 * "0" (octal) or decimal number; base 16 also accepts a "0x" prefix.
 * *endptr (when endptr != NULL) is set past the last digit, or to nptr if
 * there were no digits (and 0 is returned). On overflow they return the
 * clamped value (LONG_MAX, LONG_MIN, ULONG_MAX, ...) and set errno = ERANGE;
 * a base outside {0, 2..36} returns 0 with errno = EINVAL. errno is
 * otherwise left alone. The unsigned variants negate a '-' number modulo
 * 2^N, as C requires.
 */
long strtol(const char *restrict nptr, char **restrict endptr, int base);
unsigned long strtoul(const char *restrict nptr, char **restrict endptr, int base);
long long strtoll(const char *restrict nptr, char **restrict endptr, int base);
unsigned long long strtoull(const char *restrict nptr, char **restrict endptr, int base);

/*
 * Strict parsing for configuration values: the whole string must be one
 * number, "0x"/"0X" followed by hex digits or else decimal digits (a leading
 * 0 does not mean octal), with an optional '+' (and for parse_long '-').
 * No white space, no empty string, nothing after the digits.
 * Returns 0 and stores the value in *out; -EINVAL if s is not such a number
 * (or is NULL); -ERANGE if it is outside [min, max], overflow included.
 * *out is written only on success.
 */
int parse_long(const char *s, long min, long max, long *out);
int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* Absolute values; abs(INT_MIN) and labs(LONG_MIN) are undefined, as in C. */
int abs(int x);
long labs(long x);

/* Allocator, implemented by the kernel. malloc(0) may return NULL. */
void *malloc(size_t size);
void free(void *ptr);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *ptr, size_t size);
void *aligned_alloc(size_t alignment, size_t size);

/* Process termination, implemented by the kernel (a unikernel halts). */
void exit(int status) __attribute__((__noreturn__));
void abort(void) __attribute__((__noreturn__));

#endif /* ZEBU_LIBC_STDLIB_H */
