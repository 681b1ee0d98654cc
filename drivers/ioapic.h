/*
 * drivers/ioapic.h — I/O APICs: device interrupt lines to local APIC vectors.
 * Every pin is masked from reset; a driver routes the one it needs.
 */
#ifndef ZEBU_DRIVERS_IOAPIC_H
#define ZEBU_DRIVERS_IOAPIC_H

#include <stdint.h>

#include "drivers/acpi.h"

/* Finds the I/O APICs the firmware listed (reading each one's version
 * register) and leaves their pins as reset left them: masked. Returns how
 * many there are. */
int ioapic_init(const struct platform_info *pi);

/*
 * Routes global system interrupt `gsi` to `vector` on the core with APIC id
 * `dest`, unmasked. level/active_low: trigger mode and polarity. Returns 0,
 * or -ENODEV when no I/O APIC has that pin.
 */
int ioapic_route_gsi(uint32_t gsi, uint8_t vector, uint32_t dest, int level, int active_low);

/* Routes legacy ISA IRQ `irq`, honouring the MADT's interrupt source
 * overrides (on PCs IRQ 0 is usually GSI 2). */
int ioapic_route_isa(uint8_t irq, uint8_t vector, uint32_t dest);

/* Masks the pin of `gsi`. */
int ioapic_mask_gsi(uint32_t gsi);

/* Pins of all I/O APICs together. */
uint32_t ioapic_pin_count(void);

#endif
