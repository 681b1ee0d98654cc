/* drivers/vga.h — VGA text-mode console (80x25 at 0xB8000). */
#ifndef ZEBU_DRIVERS_VGA_H
#define ZEBU_DRIVERS_VGA_H

#include <stddef.h>

/* Detects text memory and clears the screen. Returns 0 or -ENODEV. */
int vga_init(void);

/* Writes len bytes at the cursor, scrolling; no-op without VGA. */
void vga_write(const char *buf, size_t len);

#endif
