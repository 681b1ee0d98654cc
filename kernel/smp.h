/*
 * kernel/smp.h — finding the cores and releasing the parked ones.
 *
 * boot/ap_trampoline.asm starts every AP before kernel_main and parks it;
 * smp_start matches the parked APs against the firmware's list of cores
 * (ACPI MADT, else MP tables), gives each one its per-core state and a stack,
 * and releases it into its scheduler with an NMI. The park table layout
 * below mirrors the assembly (NASM cannot read this header);
 * tests/system/test_tree.py checks that the two agree.
 */
#ifndef ZEBU_KERNEL_SMP_H
#define ZEBU_KERNEL_SMP_H

#include <stdint.h>

#include "drivers/acpi.h"
#include "kernel/boot.h"

#define TRAMP_BASE          0xA000
#define TRAMP_MAX           128
#define TRAMP_SLOT_TICKETS  (TRAMP_BASE + 0x28)
#define TRAMP_SLOT_PARKED   (TRAMP_BASE + 0x2C)
#define TRAMP_PARK_APIC     0xB000
#define TRAMP_PARK_STATE    0xB200
#define TRAMP_RELEASE_ENTRY 0xB400
#define TRAMP_RELEASE_RSP   0xB800
#define TRAMP_RELEASE_ARG   0xBC00
#define TRAMP_END           0xE000

/* Early on the boot processor: per-core state 0, GS, its tables. */
void smp_init_bsp(uint64_t stack_lo, uint64_t stack_hi);

/* Reads the firmware's tables (MADT or MP), brings up this core's local APIC
 * and timer, masks the I/O APICs. Returns 0, or a negative errno when there
 * are no tables (the machine then runs on the boot core). */
int smp_discover(const struct boot_info *bi);

/* Brings the parked cores online (capped by the cpus= option), gives the
 * usable RAM below 1 MiB to the heap (all but the trampoline) and splits
 * memory into per-core pools. Returns the number of cores online. */
int smp_start(void);

/* What firmware said (valid after smp_start). */
const struct platform_info *smp_platform(void);

#endif
