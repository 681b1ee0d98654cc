/*
 * stdio.c - console output: printf, vprintf, puts, putchar.
 *
 * All of them end in libc_console_write(), the platform hook. printf runs
 * the shared formatter with a sink that gathers the many small pieces it
 * produces (a digit run, a pad, a literal) into a stack buffer and hands the
 * console full chunks: one hook call per chunk instead of per piece, with
 * bounded stack use however long the output is.
 */
#include <stdio.h>
#include <string.h>

#include "libc_internal.h"
#include "libc_platform.h"

#define CONSOLE_CHUNK 256

struct console_sink {
    size_t used;
    char buf[CONSOLE_CHUNK];
};

static void console_flush(struct console_sink *c)
{
    if (c->used > 0) {
        libc_console_write(c->buf, c->used);
        c->used = 0;
    }
}

static void console_write(void *ctx, const char *bytes, size_t len)
{
    struct console_sink *c = ctx;

    while (len > 0) {
        size_t n = CONSOLE_CHUNK - c->used;
        if (n > len)
            n = len;
        memcpy(c->buf + c->used, bytes, n);
        c->used += n;
        bytes += n;
        len -= n;
        if (c->used == CONSOLE_CHUNK)
            console_flush(c);
    }
}

int vprintf(const char *restrict fmt, va_list ap)
{
    struct console_sink c;

    c.used = 0;
    int ret = libc_format(console_write, &c, fmt, ap);
    console_flush(&c);
    return ret;
}

/* printf itself is in printf_sse.c: a variadic entry that must save the
 * SSE argument registers. */

int puts(const char *s)
{
    size_t len = strlen(s);
    char line[CONSOLE_CHUNK];

    /* One hook call per line when it fits, so that lines from different
     * CPUs interleave whole rather than being split before the newline. */
    if (len < sizeof(line)) {
        memcpy(line, s, len);
        line[len] = '\n';
        libc_console_write(line, len + 1);
    } else {
        libc_console_write(s, len);
        libc_console_write("\n", 1);
    }
    return len + 1 > (size_t)LIBC_INT_MAX ? LIBC_INT_MAX : (int)(len + 1);
}

int putchar(int c)
{
    char ch = (char)(unsigned char)c;

    libc_console_write(&ch, 1);
    return (unsigned char)c;
}
