/*
 * printf_sse.c - the parts of the printf family that are built with SSE
 * (the Makefile leaves -mgeneral-regs-only off this file only).
 *
 * The x86-64 System V ABI passes double arguments in XMM registers. A
 * variadic function's prologue stores the argument registers into a save
 * area that va_arg reads; the XMM part is stored only by code built with
 * SSE, and only when the caller's %al (the count of vector registers it
 * used) is nonzero. So:
 *   - the variadic entries printf and snprintf live here, so that an app's
 *     printf("%f", x) finds x in the save area. The kernel calls them too,
 *     but kernel code is built with -mgeneral-regs-only, passes no double
 *     and sets %al to 0, so the prologue skips every XMM store: the kernel
 *     still touches no SSE register (tests/system/test_api.py disassembles
 *     the kernel's objects to check);
 *   - libc_va_double_bits() fetches a double for the engine (printf.c),
 *     which turns it into digits with integer arithmetic only
 *     (printf_dec.c). Only a %f %e %g conversion reaches it.
 * vsnprintf and vprintf take a va_list their caller made: an app's own
 * variadic function, built with SSE like every app, saves the registers.
 */
#include <stdio.h>

#include "libc_internal.h"

uint64_t libc_va_double_bits(va_list *ap)
{
    union {
        double d;
        uint64_t bits;
    } v = {.d = va_arg(*ap, double)};

    return v.bits;
}

int printf(const char *restrict fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int ret = vprintf(fmt, ap);
    va_end(ap);
    return ret;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int ret = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return ret;
}
