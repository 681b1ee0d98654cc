/* kernel/power.h — the power button: a clean stop on an operator's request. */
#ifndef ZEBU_KERNEL_POWER_H
#define ZEBU_KERNEL_POWER_H

/*
 * After the firmware tables are read (smp_discover): arms ACPI's power
 * button when the machine has the fixed PM hardware, routes its SCI to
 * core 0, and starts a small thread that waits for a press. A press (QEMU's
 * system_powerdown, `virsh shutdown`, a VMM's power-button request) ends the
 * app as exit(0) would: what was sent is drained, counters are printed if
 * asked for, then the VM powers off. Returns 1 when armed, else 0.
 */
int power_init(void);

#endif
