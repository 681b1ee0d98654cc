/*
 * libc_test_stdio.c - printf, vprintf, puts and putchar through the
 * console hook.
 *
 * This file implements libc_console_write() as a capture buffer that also
 * records how it was called, so the tests can check both what reached the
 * console and that printf streamed it in bounded chunks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "zt_libc.h"

/* Largest piece printf may hand the hook: its internal buffer size. */
#define CHUNK_LIMIT 256

static struct {
    char *data;
    size_t len, cap;
    size_t calls;
    size_t largest_write;
    size_t empty_writes;
} console;

void libc_console_write(const char *buf, size_t len)
{
    if (console.len + len > console.cap) {
        console.cap = (console.len + len) * 2;
        console.data = realloc(console.data, console.cap);
    }
    memcpy(console.data + console.len, buf, len);
    console.len += len;
    console.calls++;
    if (len > console.largest_write)
        console.largest_write = len;
    if (len == 0)
        console.empty_writes++;
}

static void console_reset(void)
{
    free(console.data);
    memset(&console, 0, sizeof(console));
}

/* True if the console received exactly len bytes equal to expected. */
static int console_is(const char *expected, size_t len)
{
    return console.len == len && (len == 0 || memcmp(console.data, expected, len) == 0);
}

static int call_vprintf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int ret = zt_vprintf(fmt, ap);
    va_end(ap);
    return ret;
}

TEST(stdio_printf_short)
{
    console_reset();
    CHECK_INT_EQ(zt_printf("hello %d, %s!\n", 42, "world"), 17);
    CHECK(console_is("hello 42, world!\n", 17));
    CHECK_UINT_EQ(console.calls, 1); /* short output: one hook call */

    console_reset();
    CHECK_INT_EQ(zt_printf(""), 0);
    CHECK_UINT_EQ(console.calls, 0); /* nothing to write, no call */

    console_reset();
    CHECK_INT_EQ(call_vprintf("%c%c%c", 'a', 0, 'b'), 3);
    CHECK(console_is("a\0b", 3)); /* NUL bytes pass through */
    console_reset();
}

/* printf of `fmt` must match glibc's snprintf and arrive in chunks. */
static void check_long_printf(const char *fmt, ...)
{
    va_list ap, ap2;
    size_t cap = 1 << 16;
    char *expected = malloc(cap);

    va_start(ap, fmt);
    va_copy(ap2, ap);
    int expected_len = vsnprintf(expected, cap, fmt, ap);
    console_reset();
    int ret = zt_vprintf(fmt, ap2);
    va_end(ap2);
    va_end(ap);

    CHECK_INT_EQ(ret, expected_len);
    CHECK_AT(__FILE__, __LINE__, console_is(expected, (size_t)expected_len),
             "format \"%s\": console got %zu bytes, expected %d", fmt, console.len, expected_len);
    CHECK_AT(__FILE__, __LINE__, console.largest_write <= CHUNK_LIMIT,
             "format \"%s\": a write of %zu bytes", fmt, console.largest_write);
    CHECK_UINT_EQ(console.empty_writes, 0);
    free(expected);
    console_reset();
}

TEST(stdio_printf_long_output_is_chunked)
{
    char *big = malloc(5001);
    for (int i = 0; i < 5000; i++)
        big[i] = (char)('a' + i % 26);
    big[5000] = '\0';

    /* Around the chunk size, then well past it. */
    for (int n = 250; n <= 260; n++)
        check_long_printf("%.*s", n, big);
    check_long_printf("%.512s", big);
    check_long_printf("%s|%d|%s", big, 12345, big + 4000);
    check_long_printf("[%3000d][%-2000x][%.1500u]", -1, 0xabcu, 7u);
    check_long_printf("%0*d|%*s|", 4000, -3, 700, "x");
    free(big);
}

TEST(stdio_puts)
{
    console_reset();
    CHECK_INT_EQ(zt_puts("line"), 5);
    CHECK(console_is("line\n", 5));
    CHECK_UINT_EQ(console.calls, 1); /* a short line arrives whole */

    console_reset();
    CHECK_INT_EQ(zt_puts(""), 1);
    CHECK(console_is("\n", 1));

    /* Longer than the internal line buffer. */
    for (size_t len = 250; len <= 260; len++) {
        char *s = malloc(len + 2);
        memset(s, 'p', len);
        s[len] = '\n';
        s[len + 1] = '\0';
        console_reset();
        char saved = s[len];
        s[len] = '\0';
        CHECK_INT_EQ(zt_puts(s), (int)len + 1);
        s[len] = saved;
        CHECK(console_is(s, len + 1));
        free(s);
    }
    console_reset();
}

TEST(stdio_putchar)
{
    console_reset();
    CHECK_INT_EQ(zt_putchar('x'), 'x');
    CHECK_INT_EQ(zt_putchar('\n'), '\n');
    CHECK_INT_EQ(zt_putchar(0), 0);
    CHECK(console_is("x\n\0", 3));

    /* The argument is converted to unsigned char, as C says. */
    console_reset();
    CHECK_INT_EQ(zt_putchar(0x1e9), 0xe9);
    CHECK_INT_EQ(zt_putchar(-1), 0xff);
    CHECK(console_is("\xe9\xff", 2));
    console_reset();
}
