/*
 * libc_platform.h - the one thing libc needs from the platform below it.
 *
 * libc is portable: it never includes kernel or driver headers. Console
 * output from printf/puts/putchar goes through this hook instead; the kernel
 * implements it (serial port, VGA, ...), host unit tests implement it with a
 * capture buffer. This header is private to libc and its implementers.
 */
#ifndef ZEBU_LIBC_PLATFORM_H
#define ZEBU_LIBC_PLATFORM_H

#include <stddef.h>

/*
 * Writes len bytes of buf to the console. buf is not NUL-terminated and may
 * contain NUL bytes (printf("%c", 0)); len is never 0. Must accept any
 * length; libc calls it with at most a few hundred bytes at a time. Must not
 * call printf (directly or via a lock-debugging path) or it will recurse.
 */
void libc_console_write(const char *buf, size_t len);

#endif /* ZEBU_LIBC_PLATFORM_H */
