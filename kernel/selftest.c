/*
 * kernel/selftest.c — boot-time checks of kernel paths that no app API
 * reaches, run by the system tests through the `selftest=` option before the
 * app's main:
 *   selftest=ioapic   the PIT's IRQ 0, routed through the I/O APIC (with the
 *                     MADT override) to the last core, whose handler signals
 *                     an event that a thread on core 0 waits on: device
 *                     interrupt, cross-core wake from interrupt context.
 */
#include <string.h>
#include <zebu.h>

#include "drivers/ioapic.h"
#include "drivers/pit.h"
#include "kernel/arch/trap.h"
#include "kernel/percpu.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/selftest.h"
#include "kernel/time.h"

#define VEC_SELFTEST 0x30
#define TICKS        20

static const char *selftest = "";
ZEBU_OPTION_STRING("selftest", selftest, "run a kernel self-test before the app (ioapic)");

static struct event tick_event;
static uint64_t ticks_on_core[MAX_CPUS];

static void pit_tick(void)
{
    ticks_on_core[this_cpu()->id]++;
    event_signal(&tick_event);
}

static void selftest_ioapic(void)
{
    int last = cpu_count - 1;
    event_init(&tick_event);
    irq_set_handler(VEC_SELFTEST, pit_tick);
    if (ioapic_route_isa(0, VEC_SELFTEST, cpu_table[last]->apic_id) != 0) {
        pr_err("selftest", "ioapic: no I/O APIC pin for ISA IRQ 0");
        return;
    }
    uint64_t t0 = time_ns();
    pit_start_periodic(1000);
    for (int i = 0; i < TICKS; i++)
        event_wait(&tick_event);
    pit_stop();
    ioapic_mask_gsi(0);
    ioapic_mask_gsi(2);
    pr_info("selftest", "ioapic: %d PIT interrupts on core %d woke a thread on core %u in %lu us",
            TICKS, last, this_cpu()->id, (time_ns() - t0) / 1000);
    pr_info("selftest", "ioapic: interrupts taken on core %d: %lu", last, ticks_on_core[last]);
}

void selftest_run(void)
{
    if (strcmp(selftest, "ioapic") == 0)
        selftest_ioapic();
    else if (selftest[0] != '\0')
        pr_warn("selftest", "unknown self-test '%s' (known: ioapic)", selftest);
}
