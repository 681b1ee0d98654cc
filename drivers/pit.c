/*
 * drivers/pit.c — 8254 PIT channel 2 as a stopwatch, and the 8259 PIC mask.
 *
 * Channel 2's gate is bit 0 of port 0x61 and its output is readable as bit 5
 * of the same port, so the kernel can time a one-shot countdown by polling,
 * with no interrupt (Intel 8254 datasheet, mode 0 "interrupt on terminal
 * count"). Bit 1 (speaker data) stays off.
 */
#include "kernel/arch/cpu.h"
#include "drivers/pit.h"

#define PIT_CH2     0x42
#define PIT_CMD     0x43
#define PORT_B      0x61
#define PORTB_GATE2 0x01
#define PORTB_SPKR  0x02
#define PORTB_OUT2  0x20

uint64_t pit_measure_tsc(uint16_t pit_ticks)
{
    uint8_t b = cpu_inb(PORT_B);
    if (b == 0xFF)
        return 0; /* nothing decodes the port */
    cpu_outb(PORT_B, (uint8_t)((b & ~PORTB_SPKR) & ~PORTB_GATE2));
    cpu_outb(PIT_CMD, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
    cpu_outb(PIT_CH2, (uint8_t)pit_ticks);
    cpu_outb(PIT_CH2, (uint8_t)(pit_ticks >> 8));
    if (cpu_inb(PORT_B) & PORTB_OUT2)
        return 0; /* OUT2 must be low while counting */
    uint64_t start = cpu_rdtsc();
    cpu_outb(PORT_B, (uint8_t)((b & ~PORTB_SPKR) | PORTB_GATE2));
    /* Bound the wait by TSC: 2^33 ticks is seconds on any real clock. */
    while (!(cpu_inb(PORT_B) & PORTB_OUT2)) {
        if (cpu_rdtsc() - start > (1ull << 33))
            return 0;
    }
    uint64_t end = cpu_rdtsc();
    cpu_outb(PORT_B, b);
    return end - start;
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
