/*
 * drivers/pit.c — 8254 PIT channel 2 as a reference clock, channel 0 as an
 * interrupt source, and the 8259 PIC mask.
 *
 * Channel 2's gate is bit 0 of port 0x61 and its output is readable as bit 5
 * of the same port (Intel 8254 datasheet, mode 0 "interrupt on terminal
 * count": OUT goes high when the count reaches zero and stays high). Bit 1
 * (speaker data) stays off. The count is read with a counter latch command
 * (datasheet, "Counter Latch Command"), so the kernel can look at the clock
 * a few times instead of polling OUT: each look is a device access, which
 * is a VM exit under a hypervisor.
 */
#include <errno.h>

#include "drivers/env.h"
#include "drivers/pit.h"

#define PIT_CH2     0x42
#define PIT_CMD     0x43
#define PORT_B      0x61
#define PORTB_GATE2 0x01
#define PORTB_SPKR  0x02
#define PORTB_OUT2  0x20
#define CMD_CH2_LATCH 0x80 /* counter 2, counter latch */
#define CMD_CH2_MODE0 0xB0 /* counter 2, lobyte/hibyte, mode 0, binary */

static uint8_t port_b_saved;

int pit_counter_start(void)
{
    uint8_t b = cpu_inb(PORT_B);
    if (b == 0xFF)
        return -ENODEV; /* nothing decodes the port */
    port_b_saved = b;
    cpu_outb(PORT_B, (uint8_t)((b & ~PORTB_SPKR) & ~PORTB_GATE2));
    cpu_outb(PIT_CMD, CMD_CH2_MODE0);
    cpu_outb(PIT_CH2, 0xFF);
    cpu_outb(PIT_CH2, 0xFF);
    if (cpu_inb(PORT_B) & PORTB_OUT2) {
        cpu_outb(PORT_B, b);
        return -ENODEV; /* OUT2 must be low while counting */
    }
    cpu_outb(PORT_B, (uint8_t)((b & ~PORTB_SPKR) | PORTB_GATE2));
    return 0;
}

uint32_t pit_counter_read(void)
{
    cpu_outb(PIT_CMD, CMD_CH2_LATCH);
    uint8_t lo = cpu_inb(PIT_CH2);
    uint8_t hi = cpu_inb(PIT_CH2);
    return (uint32_t)lo | (uint32_t)hi << 8;
}

int pit_counter_stop(void)
{
    int expired = (cpu_inb(PORT_B) & PORTB_OUT2) != 0;
    cpu_outb(PORT_B, port_b_saved);
    return expired ? -EOVERFLOW : 0;
}

void pit_start_periodic(uint32_t hz)
{
    uint32_t div = PIT_HZ / hz;
    if (div == 0 || div > 0xFFFF)
        div = 0xFFFF;
    cpu_outb(PIT_CMD, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
    cpu_outb(0x40, (uint8_t)div);
    cpu_outb(0x40, (uint8_t)(div >> 8));
}

void pit_stop(void)
{
    cpu_outb(PIT_CMD, 0x30); /* channel 0, mode 0, no count: output stays low */
}

void pic_disable(void)
{
    cpu_outb(0x21, 0xFF);
    cpu_outb(0xA1, 0xFF);
}
