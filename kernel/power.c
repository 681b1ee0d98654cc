/*
 * kernel/power.c — the power button (see power.h). The SCI handler only
 * acknowledges the event and wakes the "power" thread: stopping the app
 * sleeps (the network's exit drain), which an interrupt handler must not.
 */
#include "drivers/acpi_pm.h"
#include "drivers/ioapic.h"
#include "kernel/app.h"
#include "kernel/arch/trap.h"
#include "kernel/percpu.h"
#include "kernel/power.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/smp.h"

/* app_exit's path (drain, counters, console) with room to spare; with its
 * guard page, a 16 KiB block. */
#define POWER_STACK (12 * 1024)

static struct event pressed;

static void sci_interrupt(void *ctx)
{
    (void)ctx;
    if (acpi_pm_sci())
        event_signal(&pressed);
}

static void *power_thread(void *arg)
{
    (void)arg;
    event_wait(&pressed);
    pr_warn("power", "power button: stopping the app, then powering off");
    app_exit(0);
    return NULL;
}

/* The SCI is level-triggered and active low unless the MADT overrides its
 * ISA IRQ (ACPI 6.5, 5.2.9: SCI_INT; 5.2.12.5). */
static int route_sci(const struct platform_info *pi, uint8_t vector, uint32_t apic)
{
    for (int i = 0; i < pi->noverrides; i++)
        if (pi->overrides[i].source_irq == pi->pm.sci_irq)
            return ioapic_route_isa((uint8_t)pi->pm.sci_irq, vector, apic);
    return ioapic_route_gsi(pi->pm.sci_irq, vector, apic, 1, 1);
}

int power_init(void)
{
    const struct platform_info *pi = smp_platform();
    if (!acpi_pm_init(&pi->pm))
        return 0;
    event_init(&pressed);
    struct thread *t = thread_create(power_thread, NULL, 0, "power", POWER_STACK);
    if (t == NULL) {
        pr_warn("power", "no memory for the power-button thread: the button is ignored");
        return 0;
    }
    thread_detach(t);
    int vector = irq_alloc(sci_interrupt, NULL);
    if (vector < 0 || route_sci(pi, (uint8_t)vector, this_cpu()->apic_id) != 0) {
        pr_warn("power", "no I/O APIC pin for the SCI (IRQ %u): the button is ignored",
                pi->pm.sci_irq);
        return 0;
    }
    pr_info("power", "power button armed (SCI on IRQ %u)%s", pi->pm.sci_irq,
            pi->pm.s5 ? ", soft-off via \\_S5" : "");
    return 1;
}
