/*
 * drivers/lapic.h — the local APIC: identity, IPIs, end of interrupt and the
 * per-core timer. xAPIC (MMIO) or x2APIC (MSRs) as the CPU offers.
 */
#ifndef ZEBU_DRIVERS_LAPIC_H
#define ZEBU_DRIVERS_LAPIC_H

#include <stdint.h>

/* Vectors the kernel reserves for the local APIC. */
#define VEC_TIMER    0x20
#define VEC_WAKEUP   0x21 /* "look at your mailbox" */
#define VEC_SPURIOUS 0xFF

/*
 * Boot processor: picks x2APIC when CPUID has it, else xAPIC at mmio_base
 * (from the MADT, or the APIC base MSR when 0). Returns 0 or -ENODEV.
 */
int lapic_init_bsp(uint64_t mmio_base);

/* Every core, the BSP included: enable, mask LINT0/1, timer vector. */
void lapic_init_cpu(void);

uint32_t lapic_id(void);
int lapic_is_x2apic(void);
void lapic_eoi(void);

/* Fixed interrupt `vector` to the core with this APIC id. */
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
/* NMI to one core (releases a parked AP). */
void lapic_send_nmi(uint32_t apic_id);
/* NMI to every other core (panic stop). */
void lapic_send_nmi_all_others(void);

/*
 * Timer. lapic_timer_calibrate runs once on the BSP after the TSC frequency
 * is known and measures the one-shot count's rate against the TSC, unless
 * lapic_timer_set_rate already gave it (tsc_ticks TSC ticks per `counts`
 * timer counts at divide-by-16, as kernel/time.c finds when it calibrates
 * the TSC against this timer). lapic_timer_arm_tsc fires VEC_TIMER once at
 * (or a little after) TSC value `deadline`: TSC-deadline mode where the CPU
 * has it, else the one-shot count; 0 disarms.
 */
void lapic_timer_calibrate(uint64_t tsc_hz);
void lapic_timer_set_rate(uint64_t tsc_ticks, uint32_t counts);

/*
 * The timer as a clock to measure the TSC against, where nothing else can:
 * QEMU (TCG) and KVM both run it from a 1 GHz bus. lapic_counter_start
 * counts down from 2^32 - 1 at 1/16 of the bus, masked; lapic_counter_read
 * returns the count now (one register read); lapic_counter_stop stops it.
 * Call after lapic_init_bsp.
 */
#define LAPIC_VM_BUS_HZ 1000000000ull
void lapic_counter_start(void);
uint32_t lapic_counter_read(void);
void lapic_counter_stop(void);

void lapic_timer_arm_tsc(uint64_t deadline);
const char *lapic_timer_mode(void);

#endif
