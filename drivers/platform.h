/* drivers/platform.h — leaving the machine: exit status under QEMU, or halt. */
#ifndef ZEBU_DRIVERS_PLATFORM_H
#define ZEBU_DRIVERS_PLATFORM_H

/*
 * Ends the VM with `status` (0..127) through QEMU's isa-debug-exit device at
 * port 0xF4 when running under a hypervisor; QEMU then exits with
 * (status << 1) | 1, which tools/zebu-run maps back to `status`. Where no such
 * device exists (bare metal, or a VMM without it) ACPI soft-off (S5) powers
 * the machine off, without a status; without ACPI the CPU halts for good.
 */
void platform_exit(int status) __attribute__((noreturn));

/* Halts this CPU for good, interrupts off. */
void platform_halt(void) __attribute__((noreturn));

#endif
