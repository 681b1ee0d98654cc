/*
 * drivers/serial.c — 16550 UART on COM1, output only.
 *
 * Presence test: the scratch register (offset 7) holds what is written to it
 * on a 16450/16550; with no UART the port floats and reads back 0xFF.
 *
 * Transmit: LSR.THRE says the transmitter is empty, and a 16550A (FIFO on:
 * IIR bits 7:6 read 11) then takes 16 bytes without another look, so the
 * kernel polls once per 16 bytes instead of before each one: an 80-byte
 * log line takes ~85 port accesses instead of ~160. Under KVM each is a VM
 * exit; under TCG the difference drowns in noise (measured). A 16450 gets
 * one byte per poll. The poll is bounded so that a stuck UART cannot hang the
 * kernel.
 */
#include <errno.h>
#include <stdint.h>

#include "drivers/env.h"
#include "drivers/serial.h"

#define COM1        0x3F8
#define UART_DATA   0
#define UART_IER    1
#define UART_FCR    2
#define UART_IIR    2 /* read */
#define UART_LCR    3
#define UART_MCR    4
#define UART_LSR    5
#define UART_SCRATCH 7
#define LSR_THRE    0x20
#define LCR_DLAB    0x80

static int serial_present; /* 1 found, -1 absent, 0 not looked at yet */
static unsigned fifo_size;   /* bytes the transmitter takes once THRE is set */
static unsigned fifo_room;   /* of those, not yet used */

int serial_init(void)
{
    cpu_outb(COM1 + UART_SCRATCH, 0x5A);
    if (cpu_inb(COM1 + UART_SCRATCH) != 0x5A) {
        serial_present = -1;
        return -ENODEV;
    }
    cpu_outb(COM1 + UART_IER, 0x00);   /* no interrupts */
    cpu_outb(COM1 + UART_LCR, LCR_DLAB);
    cpu_outb(COM1 + UART_DATA, 1);     /* divisor 1: 115200 baud */
    cpu_outb(COM1 + UART_IER, 0);
    cpu_outb(COM1 + UART_LCR, 0x03);   /* 8N1 */
    cpu_outb(COM1 + UART_FCR, 0x07);   /* FIFO on, cleared */
    cpu_outb(COM1 + UART_MCR, 0x03);   /* DTR, RTS */
    fifo_size = (cpu_inb(COM1 + UART_IIR) & 0xC0) == 0xC0 ? 16 : 1;
    /* The FCR write just emptied the transmit FIFO: its 16 bytes need no
     * look at LSR first. A 16450's holding register may still be busy. */
    fifo_room = fifo_size == 16 ? fifo_size : 0;
    serial_present = 1;
    return 0;
}

static void serial_putc(char c)
{
    if (fifo_room == 0 || fifo_room > fifo_size) { /* (> : a racing panic printer) */
        for (int spins = 0; spins < 100000; spins++)
            if (cpu_inb(COM1 + UART_LSR) & LSR_THRE)
                break;
        fifo_room = fifo_size;
    }
    fifo_room--;
    cpu_outb(COM1 + UART_DATA, (uint8_t)c);
}

void serial_write(const char *buf, size_t len)
{
    if (serial_present == 0)
        serial_init();
    if (serial_present < 0)
        return;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n')
            serial_putc('\r');
        serial_putc(buf[i]);
    }
}
