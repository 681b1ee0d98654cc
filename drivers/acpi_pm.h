/*
 * drivers/acpi_pm.h — ACPI's fixed power-management hardware: soft-off (S5)
 * and the power button (ACPI 6.5, 4.8 fixed hardware registers, 4.8.3.1
 * PM1 event registers, 4.8.3.2 PM1 control registers, 7.4.2 \_S5).
 *
 * Call order: acpi_pm_init once the firmware tables are read (it takes the
 * registers from the OS's side of the SMI handshake and arms the power
 * button); acpi_pm_sci from the SCI's interrupt handler; acpi_pm_poweroff
 * from platform_exit when no debug-exit device ended the VM. Port I/O only:
 * not for hardware-reduced platforms (microvm, Firecracker), which have no
 * PM1 blocks.
 */
#ifndef ZEBU_DRIVERS_ACPI_PM_H
#define ZEBU_DRIVERS_ACPI_PM_H

#include "drivers/acpi.h"

/* Takes pm (copied). Returns 1 when the power button is armed (the caller
 * routes pm->sci_irq to acpi_pm_sci), 0 when only soft-off or nothing is
 * available. */
int acpi_pm_init(const struct acpi_pm *pm);

/* From the SCI handler: 1 when the power button was pressed (its status
 * is cleared), else 0. */
int acpi_pm_sci(void);

/* Enters S5 (soft-off). Returns -ENODEV without PM1 control blocks or
 * \_S5; on success it does not return (the VMM powers the VM off). */
int acpi_pm_poweroff(void);

#endif
