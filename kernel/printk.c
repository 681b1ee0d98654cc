/*
 * kernel/printk.c — console fan-out (serial + VGA) and leveled logging.
 *
 * One lock serialises whole lines so that cores do not interleave mid-line;
 * a panicking core breaks it (console_break_lock) rather than deadlock.
 */
#include <stdio.h>
#include <string.h>

#include "drivers/serial.h"
#include "drivers/vga.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"
#include "kernel/time.h"

long log_level_console = LOG_WARN; /* until the command line sets it */
static struct spinlock console_lock;

void console_init(void)
{
    serial_init();
    vga_init();
}

void console_break_lock(void)
{
    spin_unlock(&console_lock);
}

static void console_write_locked(const char *buf, size_t len)
{
    serial_write(buf, len);
    vga_write(buf, len);
}

void console_write(const char *buf, size_t len)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    console_write_locked(buf, len);
    spin_unlock_irqrestore(&console_lock, flags);
}

void kprintf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static const char *const level_prefix[] = {
    [LOG_ERR] = "ERROR ",
    [LOG_WARN] = "WARN ",
    [LOG_INFO] = "",
    [LOG_DEBUG] = "debug ",
};

void vprintk(enum log_level level, const char *tag, const char *fmt, va_list ap)
{
    if ((long)level > log_level_console)
        return;
    char line[512];
    uint64_t us = time_since_entry_ns() / 1000;
    int n = snprintf(line, sizeof(line), "[%5lu.%03lu] %s%s%s", (unsigned long)(us / 1000000),
                     (unsigned long)(us / 1000 % 1000), level_prefix[level], tag ? tag : "",
                     tag ? ": " : "");
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated: keep the newline */
    if (len == 0 || line[len - 1] != '\n')
        line[len++] = '\n';
    console_write(line, len);
}

void printk(enum log_level level, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk(level, tag, fmt, ap);
    va_end(ap);
}
