/*
 * drivers/serial.c — 16550 UART on COM1, output only.
 *
 * Presence test: the scratch register (offset 7) holds what is written to it
 * on a 16450/16550; with no UART the port floats and reads back 0xFF. The
 * transmit path polls LSR.THRE before each byte, with a bound so that a
 * stuck UART cannot hang the kernel.
 */
#include <errno.h>
#include <stdint.h>

#include "kernel/arch/cpu.h"
#include "drivers/serial.h"

#define COM1        0x3F8
#define UART_DATA   0
#define UART_IER    1
#define UART_FCR    2
#define UART_LCR    3
#define UART_MCR    4
#define UART_LSR    5
#define UART_SCRATCH 7
#define LSR_THRE    0x20
#define LCR_DLAB    0x80

static int serial_present;

int serial_init(void)
{
    cpu_outb(COM1 + UART_SCRATCH, 0x5A);
    if (cpu_inb(COM1 + UART_SCRATCH) != 0x5A)
        return -ENODEV;
    cpu_outb(COM1 + UART_IER, 0x00);   /* no interrupts */
    cpu_outb(COM1 + UART_LCR, LCR_DLAB);
    cpu_outb(COM1 + UART_DATA, 1);     /* divisor 1: 115200 baud */
    cpu_outb(COM1 + UART_IER, 0);
    cpu_outb(COM1 + UART_LCR, 0x03);   /* 8N1 */
    cpu_outb(COM1 + UART_FCR, 0x07);   /* FIFO on, cleared */
    cpu_outb(COM1 + UART_MCR, 0x03);   /* DTR, RTS */
    serial_present = 1;
    return 0;
}

static void serial_putc(char c)
{
    for (int spins = 0; spins < 100000; spins++)
        if (cpu_inb(COM1 + UART_LSR) & LSR_THRE)
            break;
    cpu_outb(COM1 + UART_DATA, (uint8_t)c);
}

void serial_write(const char *buf, size_t len)
{
    if (!serial_present)
        return;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n')
            serial_putc('\r');
        serial_putc(buf[i]);
    }
}
