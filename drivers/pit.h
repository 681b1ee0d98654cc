/* drivers/pit.h — the 8254 PIT, used only as a reference clock. */
#ifndef ZEBU_DRIVERS_PIT_H
#define ZEBU_DRIVERS_PIT_H

#include <stdint.h>

#define PIT_HZ 1193182u

/*
 * Channel 2 as a clock to measure the TSC against: pit_counter_start loads
 * 0xFFFF in one-shot mode and opens the gate (returns 0, or -ENODEV when the
 * PIT does not answer, e.g. QEMU microvm); pit_counter_read returns the count
 * now (it falls by one per PIT_HZ tick; three port accesses);
 * pit_counter_stop closes the gate and returns 0, or -EOVERFLOW when the
 * count reached zero since the start (65535 ticks, 55 ms: readings wrapped).
 */
int pit_counter_start(void);
uint32_t pit_counter_read(void);
int pit_counter_stop(void);

/* Channel 0 as a periodic interrupt source at `hz` (IRQ 0), or stopped. */
void pit_start_periodic(uint32_t hz);
void pit_stop(void);

/* Masks every line of both 8259 PICs so that none can raise a vector. */
void pic_disable(void);

#endif
