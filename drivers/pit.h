/* drivers/pit.h — the 8254 PIT, used only as a reference clock. */
#ifndef ZEBU_DRIVERS_PIT_H
#define ZEBU_DRIVERS_PIT_H

#include <stdint.h>

#define PIT_HZ 1193182u

/*
 * Counts TSC ticks across `pit_ticks` PIT input ticks (at most 65535) with
 * channel 2 in one-shot mode. Returns the TSC delta, or 0 when the PIT does
 * not count (absent, e.g. QEMU microvm with pit=off).
 */
uint64_t pit_measure_tsc(uint16_t pit_ticks);

/* Channel 0 as a periodic interrupt source at `hz` (IRQ 0), or stopped. */
void pit_start_periodic(uint32_t hz);
void pit_stop(void);

/* Masks every line of both 8259 PICs so that none can raise a vector. */
void pic_disable(void);

#endif
