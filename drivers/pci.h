/*
 * drivers/pci.h — PCI configuration space, enumeration, BARs, MSI-X/MSI.
 *
 * Configuration access goes through ECAM when the firmware's MCFG gives a
 * window (PCI Express base spec, 7.2.2), else the legacy 0xCF8/0xCFC ports
 * (PCI local bus spec 3.0, 3.2.2.3.2) where the machine has them.
 * Enumeration walks bus 0 and follows PCI-to-PCI bridges, so it reads only
 * buses that exist.
 */
#ifndef ZEBU_DRIVERS_PCI_H
#define ZEBU_DRIVERS_PCI_H

#include <stdint.h>

#include "drivers/acpi.h"

#define PCI_MAX_DEVICES 64

struct pci_bar {
    uint64_t addr; /* bus address (identity-mapped for memory BARs) */
    uint64_t size;
    uint8_t is_io, is_64, prefetchable;
};

struct pci_device {
    uint8_t bus, dev, fn;
    uint16_t vendor, device;
    uint8_t class_code, subclass, prog_if, revision;
    uint8_t header_type;
    uint16_t subsystem_vendor, subsystem_id;
    uint8_t irq_line, irq_pin;
    uint8_t cap_msix, cap_msi; /* config offsets of the capabilities, 0 if absent */
    uint8_t bars_sized;        /* bars[] is filled: pci_enable has run */
    struct pci_bar bars[6];
};

/* Enumerates every function. Uses ECAM when pi has an MCFG window, else the
 * legacy ports, except where the firmware says there are none (a
 * hardware-reduced ACPI FADT; without a FADT the ports are probed once).
 * Returns the number of functions found. */
int pci_init(const struct platform_info *pi);

struct pci_device *pci_device_at(int i);

/* A vendor and device id pair; a table of them ends with vendor 0. */
struct pci_id {
    uint16_t vendor, device;
};

/* The first function at index *start or later (from 0 when start is NULL)
 * whose ids are in `ids`, in bus order; *start moves past it, so a driver
 * can walk every match. NULL when none is left. */
struct pci_device *pci_find(const struct pci_id *ids, int *start);
/* "ecam", "ports" or "none". */
const char *pci_access_method(void);

uint32_t pci_read32(const struct pci_device *d, uint16_t off);
uint16_t pci_read16(const struct pci_device *d, uint16_t off);
uint8_t pci_read8(const struct pci_device *d, uint16_t off);
void pci_write32(const struct pci_device *d, uint16_t off, uint32_t v);
void pci_write16(const struct pci_device *d, uint16_t off, uint16_t v);

/* Next capability with id `id` after offset `after` (0: from the start). */
uint8_t pci_find_cap(const struct pci_device *d, uint8_t id, uint8_t after);

/* Sizes the BARs (the first time: bars[] is empty until then), then turns
 * on memory and I/O decoding and bus mastering. */
void pci_enable(struct pci_device *d);

/*
 * Interrupts, best first. MSI-X: points table entry `entry` at `vector` on
 * the core with APIC id `dest` and enables MSI-X (function unmasked); its
 * table is in a BAR, so pci_enable first.
 * MSI: one vector. INTx: routes the legacy line through the I/O APIC.
 * Each returns 0, or -ENODEV when the function lacks that mechanism.
 */
int pci_msix_set(struct pci_device *d, uint16_t entry, uint8_t vector, uint32_t dest);
int pci_msix_count(const struct pci_device *d);
int pci_msi_set(struct pci_device *d, uint8_t vector, uint32_t dest);
int pci_intx_route(struct pci_device *d, uint8_t vector, uint32_t dest);

#endif
