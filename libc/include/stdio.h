/*
 * stdio.h - formatted output.
 *
 * There are no FILE streams. snprintf/vsnprintf format into memory;
 * printf/vprintf/puts/putchar write to the console through the platform hook
 * libc_console_write() (see libc/libc_platform.h), which the kernel provides.
 * printf output is passed to the hook in pieces of at most a few hundred
 * bytes, so a long line may reach the console as several writes.
 *
 * Supported conversions: d i u x X o c s p %% f F e E g G
 *   length modifiers: hh h l ll z t j on integers; ignored on p, and on
 *   c and s except l (wide characters, unsupported); none or l (ignored,
 *   as C99 says) on the floating-point conversions
 *   flags: - 0 + space #; width and precision, either may be '*'
 * Floating point: a double's exact decimal value is computed in integer
 * arithmetic (libc is built without SSE) and rounded once, ties to even,
 * so every precision is correctly rounded and matches glibc in its default
 * rounding mode, %.17g round trips included; inf/nan print as "inf"/"nan"
 * ("INF"/"NAN" for F E G, "-nan" when the sign bit is set), never
 * zero-padded. One deliberate difference: %#g keeps its trailing zeros
 * when rounding carries into the next power of ten (999999.5 prints
 * "1.00000e+06", as C11 says; glibc 2.36 prints "1.e+06"). A conversion
 * takes about 1.2 KiB of stack. Kernel code (built with
 * -mgeneral-regs-only) cannot pass a double, so it never reaches it.
 * Flag combinations C leaves undefined behave as in glibc ('+' and ' ' on
 * %p print a sign; '0' pads only numbers; "%5%" prints "%").
 * %s with a NULL pointer prints "(null)" (nothing when the precision is
 * below 6, as glibc does) and %p prints "0x" and lowercase hex, or "(nil)"
 * for NULL; both honour width and '-'.
 *
 * NOT supported: hexadecimal floating point (%a %A), long double (%Lf;
 * also %llf), %n, wide characters (%lc %ls), the q modifier, positional
 * arguments (%1$d).
 * An unsupported or unknown conversion is printed literally, whole, from
 * '%' to its final character ("%5k" prints "%5k"), and consumes no
 * argument (any argument meant for it may shift later conversions).
 * A width or precision above INT_MAX saturates to INT_MAX.
 *
 * Return values follow C99: the number of characters that the full output
 * has (for snprintf, whether or not it fit), or -1 with errno = EOVERFLOW if
 * that count does not fit in an int.
 */
#ifndef ZEBU_LIBC_STDIO_H
#define ZEBU_LIBC_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define EOF (-1)

/*
 * Formats into buf, writing at most size bytes including the terminating
 * NUL; buf is always NUL-terminated when size > 0. buf may be NULL when
 * size == 0 (to measure the output).
 */
int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));
int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
    __attribute__((__format__(__printf__, 3, 0)));

/* Console output. */
int printf(const char *restrict fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
int vprintf(const char *restrict fmt, va_list ap) __attribute__((__format__(__printf__, 1, 0)));
int puts(const char *s); /* writes s and a newline; returns strlen(s) + 1 */
int putchar(int c);      /* writes (unsigned char)c; returns it */

#endif /* ZEBU_LIBC_STDIO_H */
