/*
 * drivers/platform.c — machine exit.
 *
 * isa-debug-exit (QEMU, -device isa-debug-exit,iobase=0xf4,iosize=4) ends the
 * emulator when written. It is only poked under a hypervisor (CPUID.1:ECX[31])
 * so that bare metal never sees a write to an unknown port. Where it is not
 * there (libvirt, Nomad, bare metal) ACPI soft-off powers the machine down;
 * failing that, the CPU halts.
 */
#include "drivers/acpi_pm.h"
#include "drivers/env.h"
#include "drivers/platform.h"

#define DEBUG_EXIT_PORT 0xF4

void platform_halt(void)
{
    for (;;) {
        cpu_irq_disable();
        cpu_halt();
    }
}

void platform_exit(int status)
{
    struct cpuid_regs r;
    cpu_cpuid(1, 0, &r);
    if (r.ecx & CPUID_1_ECX_HYPERVISOR)
        cpu_outl(DEBUG_EXIT_PORT, (uint32_t)(status & 0x7F));
    (void)acpi_pm_poweroff(); /* no exit status this way: the VM just powers off */
    platform_halt();
}
