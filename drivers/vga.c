/*
 * drivers/vga.c — VGA text console.
 *
 * Presence test, in two steps. First write a cell of text memory and read it
 * back: where the legacy window at 0xB8000 is unassigned it does not keep
 * what is written. That alone is not enough: QEMU's pc without a VGA device
 * and microvm keep it (RAM answers there), and the console then wrote the
 * cursor ports of a device that did not exist on every line. So, second, one
 * read of the Miscellaneous Output register (port 0x3CC; IBM VGA technical
 * reference, "External/General Registers"): no device answers with all
 * ones, while a VGA never has all its bits set there (bit 4 is unused and
 * reads 0). The hardware cursor is moved through the CRT controller (ports
 * 0x3D4/0x3D5, index 0x0E/0x0F), once per write.
 */
#include <errno.h>
#include <stdint.h>

#include "drivers/env.h"
#include "drivers/vga.h"

#define VGA_COLS  80
#define VGA_ROWS  25
#define VGA_ATTR  0x0700 /* light grey on black */
#define VGA_MISC_READ 0x3CC

static volatile uint16_t *const vga_mem = (volatile uint16_t *)0xB8000;
static int vga_present;
static int vga_row, vga_col;

static void vga_move_cursor(void)
{
    uint16_t pos = (uint16_t)(vga_row * VGA_COLS + vga_col);
    cpu_outb(0x3D4, 0x0F);
    cpu_outb(0x3D5, (uint8_t)pos);
    cpu_outb(0x3D4, 0x0E);
    cpu_outb(0x3D5, (uint8_t)(pos >> 8));
}

int vga_init(void)
{
    volatile uint16_t *probe = &vga_mem[VGA_COLS * VGA_ROWS - 1];
    *probe = VGA_ATTR | 'Z';
    if (*probe != (VGA_ATTR | 'Z'))
        return -ENODEV;
    *probe = VGA_ATTR | 'b';
    if (*probe != (VGA_ATTR | 'b'))
        return -ENODEV;
    if (cpu_inb(VGA_MISC_READ) == 0xFF)
        return -ENODEV;
    for (int i = 0; i < VGA_COLS * VGA_ROWS; i++)
        vga_mem[i] = VGA_ATTR | ' ';
    vga_present = 1;
    vga_row = vga_col = 0;
    vga_move_cursor();
    return 0;
}

static void vga_scroll(void)
{
    for (int i = 0; i < VGA_COLS * (VGA_ROWS - 1); i++)
        vga_mem[i] = vga_mem[i + VGA_COLS];
    for (int i = VGA_COLS * (VGA_ROWS - 1); i < VGA_COLS * VGA_ROWS; i++)
        vga_mem[i] = VGA_ATTR | ' ';
    vga_row = VGA_ROWS - 1;
}

static void vga_putc(char c)
{
    if (c == '\n') {
        vga_col = 0;
        vga_row++;
    } else if (c == '\r') {
        vga_col = 0;
    } else if (c == '\t') {
        vga_col = (vga_col + 8) & ~7;
    } else {
        vga_mem[vga_row * VGA_COLS + vga_col] = VGA_ATTR | (uint8_t)c;
        vga_col++;
    }
    if (vga_col >= VGA_COLS) {
        vga_col = 0;
        vga_row++;
    }
    if (vga_row >= VGA_ROWS)
        vga_scroll();
}

void vga_write(const char *buf, size_t len)
{
    if (!vga_present)
        return;
    for (size_t i = 0; i < len; i++)
        vga_putc(buf[i]);
    vga_move_cursor();
}
