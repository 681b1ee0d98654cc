/*
 * drivers/platform.h — the machine: the devices it lists outside any bus
 * (virtio-mmio), and leaving it (exit status under QEMU, or halt).
 */
#ifndef ZEBU_DRIVERS_PLATFORM_H
#define ZEBU_DRIVERS_PLATFORM_H

#include <stdint.h>

#include "drivers/acpi.h"

/*
 * The virtio-mmio devices the VMM describes, into *list: the command
 * line's virtio_mmio.device= words (Linux's syntax, which QEMU microvm
 * with ACPI off and Firecracker write), or, when the line lists none that
 * parse, the DSDT's (QEMU microvm with ACPI; RSDP at rsdp, or searched for
 * through m when 0; m may be NULL: no ACPI). Devices are found here once,
 * by the platform layer, and handed to drivers; no driver reads the
 * command line for them. Returns the number found (list->n).
 */
int platform_find_virtio_mmio(const char *cmdline, const struct acpi_mem *m, uint64_t rsdp,
                              struct virtio_mmio_list *list);

/*
 * One virtio-mmio entry as VMMs write it: "<size>[K|M]@<base>:<irq>", as
 * in virtio_mmio.device=512@0xfeb00e00:12, read up to the end of the word
 * (a space, a tab or the end of the string). Returns 0 or -EINVAL.
 */
int platform_parse_virtio_mmio(const char *s, struct acpi_virtio_mmio *out);

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
