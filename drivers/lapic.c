/*
 * drivers/lapic.c — local APIC (SDM vol. 3A, chapter 11 "Advanced
 * Programmable Interrupt Controller").
 *
 * xAPIC registers are 32-bit MMIO at the APIC base, 16 bytes apart; in
 * x2APIC mode register offset R is MSR 0x800 + R/16 (11.12.1), the ICR is one
 * 64-bit MSR with the destination in bits 32-63, and the ID is 32 bits wide.
 * The timer uses TSC-deadline mode (11.5.4.1) when CPUID.1:ECX[24] says so,
 * else one-shot mode with the count calibrated against the TSC.
 */
#include <errno.h>

#include "drivers/env.h"
#include "drivers/lapic.h"

#define REG_ID       0x020
#define REG_TPR      0x080
#define REG_EOI      0x0B0
#define REG_SVR      0x0F0
#define REG_ICR_LO   0x300
#define REG_ICR_HI   0x310
#define REG_LVT_TIMER 0x320
#define REG_LVT_LINT0 0x350
#define REG_LVT_LINT1 0x360
#define REG_LVT_ERROR 0x370
#define REG_TIMER_INIT 0x380
#define REG_TIMER_CUR  0x390
#define REG_TIMER_DIV  0x3E0

#define SVR_ENABLE      (1u << 8)
#define LVT_MASKED      (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)
#define ICR_FIXED       (0u << 8)
#define ICR_NMI         (4u << 8)
#define ICR_PENDING     (1u << 12)
#define ICR_ASSERT      (1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)
#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define VEC_APIC_ERROR  0xFE

static volatile uint32_t *mmio;
static int x2apic;
static int tsc_deadline;
static uint64_t tsc_per_tick_q32; /* TSC ticks per timer count, 32.32 fixed */

/* The timer's LVT entry in service: unmasked, in the mode this CPU has.
 * Written once per core (and after a calibration masked it), so arming
 * the timer is one write, not two: each is a VM exit. Unmasked is safe
 * while disarmed: a one-shot count or a TSC deadline of 0 fires nothing. */
static uint32_t timer_lvt(void)
{
    return VEC_TIMER | (tsc_deadline ? LVT_TSC_DEADLINE : 0);
}

static uint32_t rd(uint32_t reg)
{
    if (x2apic)
        return (uint32_t)cpu_rdmsr(MSR_X2APIC_BASE + (reg >> 4));
    return mmio[reg / 4];
}

static void wr(uint32_t reg, uint32_t v)
{
    if (x2apic)
        cpu_wrmsr(MSR_X2APIC_BASE + (reg >> 4), v);
    else
        mmio[reg / 4] = v;
}

int lapic_init_bsp(uint64_t mmio_base)
{
    struct cpuid_regs r;
    cpu_cpuid(1, 0, &r);
    if (!(r.edx & (1u << 9)))
        return -ENODEV;
    x2apic = (r.ecx & CPUID_1_ECX_X2APIC) != 0;
    tsc_deadline = (r.ecx & CPUID_1_ECX_TSC_DEADLINE) != 0;
    uint64_t msr = cpu_rdmsr(MSR_APIC_BASE);
    if (mmio_base == 0)
        mmio_base = msr & 0xFFFFFF000ull;
    mmio = (volatile uint32_t *)(uintptr_t)mmio_base;
    return 0;
}

void lapic_init_cpu(void)
{
    uint64_t msr = cpu_rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE;
    if (x2apic)
        msr |= APIC_BASE_X2APIC;
    cpu_wrmsr(MSR_APIC_BASE, msr);
    wr(REG_TPR, 0);
    wr(REG_LVT_LINT0, LVT_MASKED);
    wr(REG_LVT_LINT1, LVT_MASKED);
    wr(REG_LVT_ERROR, VEC_APIC_ERROR);
    wr(REG_TIMER_DIV, 0x3); /* divide by 16 */
    wr(REG_LVT_TIMER, timer_lvt());
    wr(REG_SVR, SVR_ENABLE | VEC_SPURIOUS);
    wr(REG_EOI, 0);
}

uint32_t lapic_id(void)
{
    uint32_t id = rd(REG_ID);
    return x2apic ? id : id >> 24;
}

int lapic_is_x2apic(void)
{
    return x2apic;
}

void lapic_eoi(void)
{
    wr(REG_EOI, 0);
}

static void send_icr(uint32_t apic_id, uint32_t low)
{
    if (x2apic) {
        cpu_wrmsr(MSR_X2APIC_BASE + (REG_ICR_LO >> 4), ((uint64_t)apic_id << 32) | low);
        return;
    }
    wr(REG_ICR_HI, apic_id << 24);
    wr(REG_ICR_LO, low);
    for (int spins = 0; spins < 100000 && (rd(REG_ICR_LO) & ICR_PENDING); spins++)
        cpu_relax();
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
    send_icr(apic_id, ICR_FIXED | ICR_ASSERT | vector);
}

void lapic_send_nmi(uint32_t apic_id)
{
    send_icr(apic_id, ICR_NMI | ICR_ASSERT);
}

void lapic_send_nmi_all_others(void)
{
    send_icr(0, ICR_NMI | ICR_ASSERT | ICR_ALL_BUT_SELF);
}

void lapic_timer_calibrate(uint64_t tsc_hz)
{
    if (tsc_deadline || tsc_per_tick_q32 != 0)
        return; /* no count to convert to, or lapic_timer_set_rate gave it */
    /* Count down from the maximum for ~100 us of TSC time. */
    uint64_t window = tsc_hz / 10000;
    wr(REG_LVT_TIMER, VEC_TIMER | LVT_MASKED);
    wr(REG_TIMER_INIT, 0xFFFFFFFFu);
    uint64_t t0 = cpu_rdtsc();
    while (cpu_rdtsc() - t0 < window)
        cpu_relax();
    uint32_t counted = 0xFFFFFFFFu - rd(REG_TIMER_CUR);
    uint64_t t1 = cpu_rdtsc();
    wr(REG_TIMER_INIT, 0);
    wr(REG_LVT_TIMER, timer_lvt());
    lapic_timer_set_rate(t1 - t0, counted);
}

void lapic_timer_set_rate(uint64_t tsc_ticks, uint32_t counts)
{
    tsc_per_tick_q32 = (tsc_ticks << 32) / (counts != 0 ? counts : 1);
}

void lapic_counter_start(void)
{
    wr(REG_TIMER_DIV, 0x3); /* divide by 16, as lapic_init_cpu sets it */
    wr(REG_LVT_TIMER, VEC_TIMER | LVT_MASKED);
    wr(REG_TIMER_INIT, 0xFFFFFFFFu);
}

uint32_t lapic_counter_read(void)
{
    return rd(REG_TIMER_CUR);
}

void lapic_counter_stop(void)
{
    wr(REG_TIMER_INIT, 0);
    wr(REG_LVT_TIMER, timer_lvt());
}

void lapic_timer_arm_tsc(uint64_t deadline)
{
    if (tsc_deadline) {
        cpu_wrmsr(MSR_TSC_DEADLINE, deadline);
        return;
    }
    if (deadline == 0) {
        wr(REG_TIMER_INIT, 0);
        return;
    }
    uint64_t now = cpu_rdtsc();
    uint64_t delta = deadline > now ? deadline - now : 1;
    uint64_t ticks = tsc_per_tick_q32 ? (delta << 16) / (tsc_per_tick_q32 >> 16) + 1 : 1;
    if (ticks > 0xFFFFFFFFu)
        ticks = 0xFFFFFFFFu; /* far away: the handler re-arms */
    wr(REG_TIMER_INIT, (uint32_t)ticks);
}

const char *lapic_timer_mode(void)
{
    return tsc_deadline ? "TSC-deadline" : "one-shot";
}
