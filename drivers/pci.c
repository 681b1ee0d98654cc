/*
 * drivers/pci.c — PCI configuration access and enumeration.
 *
 * BAR sizing (PCI local bus spec 3.0, 6.2.5.1): decoding is turned off, all
 * ones written, the read-back masked, the original restored. MSI-X (PCI
 * spec 3.0, 6.8.2): the table lives in a BAR at the offset the capability
 * gives; each 16-byte entry holds message address (0xFEE00000 | APIC id <<
 * 12 for x86, SDM vol. 3A 11.11.1), data (the vector, fixed, edge) and a
 * mask bit.
 *
 * BARs the firmware left unassigned (address zero: qboot, QEMU's fast
 * firmware, assigns none and leaves that to the OS) are given addresses here
 * when a driver enables the function; see bar_assign.
 */
#include <errno.h>
#include <string.h>

#include "drivers/env.h"
#include "drivers/ioapic.h"
#include "drivers/pci.h"

#define CFG_ADDR 0xCF8
#define CFG_DATA 0xCFC

#define PCI_COMMAND      0x04
#define PCI_STATUS       0x06
#define PCI_HEADER_TYPE  0x0E
#define PCI_BAR0         0x10
#define PCI_SECONDARY    0x19
#define PCI_SUBSYSTEM    0x2C
#define PCI_CAP_PTR      0x34
#define PCI_IRQ_LINE     0x3C
#define CMD_IO           (1u << 0)
#define CMD_MEM          (1u << 1)
#define CMD_MASTER       (1u << 2)
#define CMD_INTX_DISABLE (1u << 10)
#define STATUS_CAPS      (1u << 4)
#define CAP_MSI          0x05
#define CAP_MSIX         0x11

static struct pci_device devices[PCI_MAX_DEVICES];
static int ndevices;
static volatile uint8_t *ecam;
static uint8_t ecam_bus_start, ecam_bus_end;
static int have_config; /* ECAM or the ports: there is a bus to scan */

static volatile uint8_t *ecam_ptr(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    return ecam + (((uint64_t)(bus - ecam_bus_start) << 20) | ((uint64_t)dev << 15) |
                   ((uint64_t)fn << 12) | off);
}

static int use_ecam(uint8_t bus)
{
    return ecam != NULL && bus >= ecam_bus_start && bus <= ecam_bus_end;
}

static uint32_t cfg_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    if (use_ecam(bus))
        return *(volatile uint32_t *)ecam_ptr(bus, dev, fn, off & ~3u);
    cpu_outl(CFG_ADDR, 0x80000000u | ((uint32_t)bus << 16) | ((uint32_t)dev << 11) |
                           ((uint32_t)fn << 8) | (off & 0xFC));
    return cpu_inl(CFG_DATA);
}

static void cfg_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v)
{
    if (use_ecam(bus)) {
        *(volatile uint32_t *)ecam_ptr(bus, dev, fn, off & ~3u) = v;
        return;
    }
    cpu_outl(CFG_ADDR, 0x80000000u | ((uint32_t)bus << 16) | ((uint32_t)dev << 11) |
                           ((uint32_t)fn << 8) | (off & 0xFC));
    cpu_outl(CFG_DATA, v);
}

uint32_t pci_read32(const struct pci_device *d, uint16_t off)
{
    return cfg_read32(d->bus, d->dev, d->fn, off);
}

uint16_t pci_read16(const struct pci_device *d, uint16_t off)
{
    return (uint16_t)(pci_read32(d, off & ~3u) >> ((off & 2) * 8));
}

uint8_t pci_read8(const struct pci_device *d, uint16_t off)
{
    return (uint8_t)(pci_read32(d, off & ~3u) >> ((off & 3) * 8));
}

void pci_write32(const struct pci_device *d, uint16_t off, uint32_t v)
{
    cfg_write32(d->bus, d->dev, d->fn, off, v);
}

void pci_write16(const struct pci_device *d, uint16_t off, uint16_t v)
{
    uint32_t old = pci_read32(d, off & ~3u);
    unsigned shift = (off & 2) * 8;
    old = (old & ~(0xFFFFu << shift)) | ((uint32_t)v << shift);
    pci_write32(d, off & ~3u, old);
}

/* A capability's id and next pointer share a 16-bit read (PCI 3.0, 6.7). */
uint8_t pci_find_cap(const struct pci_device *d, uint8_t id, uint8_t after)
{
    if (!(pci_read16(d, PCI_STATUS) & STATUS_CAPS))
        return 0;
    uint8_t p = after ? pci_read8(d, after + 1) : pci_read8(d, PCI_CAP_PTR);
    for (int guard = 0; p >= 0x40 && guard < 48; guard++) {
        uint16_t w = pci_read16(d, p);
        if ((w & 0xFF) == id)
            return p;
        p = (uint8_t)(w >> 8);
    }
    return 0;
}

/* MSI-X and MSI in one walk of the list. */
static void find_interrupt_caps(struct pci_device *d, uint16_t status)
{
    if (!(status & STATUS_CAPS))
        return;
    uint8_t p = pci_read8(d, PCI_CAP_PTR);
    for (int guard = 0; p >= 0x40 && guard < 48; guard++) {
        uint16_t w = pci_read16(d, p);
        if ((w & 0xFF) == CAP_MSIX && d->cap_msix == 0)
            d->cap_msix = p;
        if ((w & 0xFF) == CAP_MSI && d->cap_msi == 0)
            d->cap_msi = p;
        p = (uint8_t)(w >> 8);
    }
}

/*
 * Where BARs the firmware did not assign go. A PC's 32-bit PCI hole runs
 * from the top of RAM below 4 GiB to the I/O APIC at 0xFEC00000; QEMU's pc
 * and q35 end low RAM at 0xE0000000 at most (q35's ECAM sits below that,
 * at 0xB0000000), so memory BARs are placed downward from 0xFEC00000,
 * naturally aligned (PCI local bus spec 3.0, 6.2.5.1: a BAR decodes a
 * power-of-two block aligned to its size), and never below 0xE0000000. I/O
 * BARs go upward from 0xC000, where PC firmware starts its own. A firmware
 * that assigns BARs (SeaBIOS, OVMF) assigns them all, so these windows are
 * used only where nothing else placed a BAR. The ROM BAR is not used.
 */
#define BAR_MEM_TOP   0xFEC00000ull
#define BAR_MEM_FLOOR 0xE0000000ull
#define BAR_IO_START  0xC000u
#define BAR_IO_END    0x10000u

static uint64_t bar_mem_next = BAR_MEM_TOP;
static uint32_t bar_io_next = BAR_IO_START;

/* Gives BAR i of d (b: its sized entry, address zero) an address from the
 * windows above and writes it to the function (both halves of a 64-bit
 * BAR). Returns 0, or -ENOSPC when the window is full: b->size is then 0,
 * so drivers see the BAR as absent. */
static int bar_assign(struct pci_device *d, int i, struct pci_bar *b)
{
    uint16_t off = (uint16_t)(PCI_BAR0 + 4 * i);
    uint32_t type = pci_read32(d, off) & (b->is_io ? 3u : 0xFu);
    if (b->is_io) {
        uint32_t base = (bar_io_next + (uint32_t)b->size - 1) & ~((uint32_t)b->size - 1);
        if (base + b->size > BAR_IO_END)
            goto full;
        bar_io_next = base + (uint32_t)b->size;
        b->addr = base;
    } else {
        uint64_t base = (bar_mem_next - b->size) & ~(b->size - 1);
        if (b->size > bar_mem_next || base < BAR_MEM_FLOOR)
            goto full;
        bar_mem_next = base;
        b->addr = base;
        if (b->is_64)
            pci_write32(d, (uint16_t)(off + 4), (uint32_t)(b->addr >> 32));
    }
    pci_write32(d, off, (uint32_t)b->addr | type);
    env_info("pci", "%02x:%02x.%x BAR%d: %s at %#llx (%llu bytes), left unassigned by the "
             "firmware", d->bus, d->dev, d->fn, i, b->is_io ? "I/O" : "memory",
             (unsigned long long)b->addr, (unsigned long long)b->size);
    return 0;
full:
    env_warn("pci", "%02x:%02x.%x BAR%d: unassigned by the firmware and no room left for its "
             "%llu bytes; not used", d->bus, d->dev, d->fn, i, (unsigned long long)b->size);
    b->size = 0;
    return -ENOSPC;
}

static void size_bars(struct pci_device *d)
{
    int nbars = (d->header_type & 0x7F) == 0 ? 6 : 2;
    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    pci_write16(d, PCI_COMMAND, cmd & ~(CMD_IO | CMD_MEM));
    for (int i = 0; i < nbars; i++) {
        uint16_t off = (uint16_t)(PCI_BAR0 + 4 * i);
        uint32_t orig = pci_read32(d, off);
        pci_write32(d, off, 0xFFFFFFFFu);
        uint32_t mask = pci_read32(d, off);
        pci_write32(d, off, orig);
        struct pci_bar *b = &d->bars[i];
        if (mask == 0 || mask == 0xFFFFFFFFu)
            continue;
        if (orig & 1) {
            b->is_io = 1;
            b->addr = orig & ~3u;
            b->size = (uint16_t)(~(mask & ~3u) + 1);
            if (b->addr == 0)
                bar_assign(d, i, b);
            continue;
        }
        b->prefetchable = (orig >> 3) & 1;
        uint64_t addr = orig & ~0xFu, m = mask & ~0xFu;
        int first = i;
        if (((orig >> 1) & 3) == 2 && i + 1 < nbars) {
            uint16_t hi_off = (uint16_t)(off + 4);
            uint32_t hi = pci_read32(d, hi_off);
            pci_write32(d, hi_off, 0xFFFFFFFFu);
            uint32_t hi_mask = pci_read32(d, hi_off);
            pci_write32(d, hi_off, hi);
            addr |= (uint64_t)hi << 32;
            m |= (uint64_t)hi_mask << 32;
            b->is_64 = 1;
            i++;
        } else {
            m |= 0xFFFFFFFF00000000ull;
        }
        b->addr = addr;
        b->size = ~m + 1;
        if (addr == 0)
            bar_assign(d, first, b);
    }
    pci_write16(d, PCI_COMMAND, cmd);
}

static void scan_bus(uint8_t bus, int depth);

/* Reads what enumeration records, one dword each: ids, class, header type,
 * subsystem, interrupt line and pin, status (and the capability list when
 * there is one). BARs are sized when a driver enables the function
 * (pci_enable): sizing takes eight accesses a BAR, each a VM exit under a
 * hypervisor, for functions no driver uses. Returns the header type. */
static uint8_t scan_function(uint8_t bus, uint8_t dev, uint8_t fn, uint32_t id, int depth)
{
    if (ndevices == PCI_MAX_DEVICES)
        return 0;
    struct pci_device *d = &devices[ndevices++];
    memset(d, 0, sizeof(*d));
    d->bus = bus;
    d->dev = dev;
    d->fn = fn;
    d->vendor = (uint16_t)id;
    d->device = (uint16_t)(id >> 16);
    uint32_t cls = pci_read32(d, 0x08);
    d->revision = (uint8_t)cls;
    d->prog_if = (uint8_t)(cls >> 8);
    d->subclass = (uint8_t)(cls >> 16);
    d->class_code = (uint8_t)(cls >> 24);
    d->header_type = pci_read8(d, PCI_HEADER_TYPE);
    if ((d->header_type & 0x7F) == 0) {
        uint32_t sub = pci_read32(d, PCI_SUBSYSTEM);
        d->subsystem_vendor = (uint16_t)sub;
        d->subsystem_id = (uint16_t)(sub >> 16);
    }
    uint16_t irq = pci_read16(d, PCI_IRQ_LINE);
    d->irq_line = (uint8_t)irq;
    d->irq_pin = (uint8_t)(irq >> 8);
    find_interrupt_caps(d, pci_read16(d, PCI_STATUS));
    /* A PCI-to-PCI bridge: its secondary bus is behind it. */
    if (d->class_code == 0x06 && d->subclass == 0x04 && depth < 8)
        scan_bus(pci_read8(d, PCI_SECONDARY), depth + 1);
    return d->header_type;
}

static void scan_bus(uint8_t bus, int depth)
{
    for (uint8_t dev = 0; dev < 32; dev++) {
        uint32_t id = cfg_read32(bus, dev, 0, 0);
        if ((id & 0xFFFF) == 0xFFFF)
            continue;
        if (!(scan_function(bus, dev, 0, id, depth) & 0x80))
            continue; /* single-function */
        for (uint8_t fn = 1; fn < 8; fn++) {
            id = cfg_read32(bus, dev, fn, 0);
            if ((id & 0xFFFF) != 0xFFFF)
                scan_function(bus, dev, fn, id, depth);
        }
    }
}

/* Configuration mechanism #1 is there when CONFIG_ADDRESS keeps its enable
 * bit (PCI local bus spec 3.0, 3.2.2.3.2); where no port decodes, the read
 * gives all ones. */
static int config_ports_answer(void)
{
    cpu_outl(CFG_ADDR, 0x80000000u);
    return cpu_inl(CFG_ADDR) == 0x80000000u;
}

/*
 * Where configuration space is, without touching a bus that is not there:
 * the MCFG's ECAM window; else none on a hardware-reduced ACPI platform (QEMU
 * microvm, Firecracker, Cloud Hypervisor: their PCI, when they have one, is
 * ECAM behind an MCFG; the legacy ports are PC fixed hardware); else the
 * legacy ports, which a full ACPI FADT (a PC) implies and which are probed
 * once where the firmware gave no FADT. Every access is a VM exit under a
 * hypervisor: scanning 32 slots of a bus that is not there cost 64.
 */
static int config_access_find(const struct platform_info *pi)
{
    if (pi != NULL && pi->mcfg_base != 0 && pi->mcfg_segment == 0) {
        uint64_t len = ((uint64_t)(pi->mcfg_bus_end - pi->mcfg_bus_start) + 1) << 20;
        if (env_mmio_map(pi->mcfg_base, len) == 0) {
            ecam = (volatile uint8_t *)(uintptr_t)pi->mcfg_base;
            ecam_bus_start = pi->mcfg_bus_start;
            ecam_bus_end = pi->mcfg_bus_end;
            return 1;
        }
    }
    if (pi != NULL && pi->fadt)
        return (pi->fadt_flags & ACPI_FADT_HW_REDUCED) == 0;
    return config_ports_answer();
}

int pci_init(const struct platform_info *pi)
{
    ndevices = 0;
    have_config = config_access_find(pi);
    if (have_config)
        scan_bus(ecam != NULL ? ecam_bus_start : 0, 0);
    return ndevices;
}

struct pci_device *pci_device_at(int i)
{
    return i >= 0 && i < ndevices ? &devices[i] : NULL;
}

static int id_listed(const struct pci_id *ids, const struct pci_device *d)
{
    for (; ids->vendor != 0; ids++)
        if (ids->vendor == d->vendor && ids->device == d->device)
            return 1;
    return 0;
}

struct pci_device *pci_find(const struct pci_id *ids, int *start)
{
    for (int i = start != NULL ? *start : 0; i < ndevices; i++) {
        if (id_listed(ids, &devices[i])) {
            if (start != NULL)
                *start = i + 1;
            return &devices[i];
        }
    }
    return NULL;
}

const char *pci_access_method(void)
{
    return ecam != NULL ? "ecam" : have_config ? "ports" : "none";
}

void pci_enable(struct pci_device *d)
{
    if (!d->bars_sized) {
        size_bars(d);
        d->bars_sized = 1;
    }
    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    pci_write16(d, PCI_COMMAND, cmd | CMD_IO | CMD_MEM | CMD_MASTER);
    for (int i = 0; i < 6; i++)
        if (d->bars[i].size != 0 && !d->bars[i].is_io)
            env_mmio_map(d->bars[i].addr, d->bars[i].size);
}

int pci_msix_count(const struct pci_device *d)
{
    if (d->cap_msix == 0)
        return 0;
    return (pci_read16(d, d->cap_msix + 2) & 0x7FF) + 1;
}

int pci_msix_set(struct pci_device *d, uint16_t entry, uint8_t vector, uint32_t dest)
{
    if (d->cap_msix == 0 || entry >= pci_msix_count(d))
        return -ENODEV;
    uint32_t table = pci_read32(d, d->cap_msix + 4);
    const struct pci_bar *bar = &d->bars[table & 7];
    if (bar->size == 0 || bar->is_io)
        return -ENODEV;
    volatile uint32_t *e =
        (volatile uint32_t *)(uintptr_t)(bar->addr + (table & ~7u) + 16u * entry);
    e[0] = 0xFEE00000u | (dest << 12);
    e[1] = 0;
    e[2] = vector;
    e[3] = 0; /* unmasked */
    uint16_t ctl = pci_read16(d, d->cap_msix + 2);
    pci_write16(d, d->cap_msix + 2, (uint16_t)((ctl | 0x8000) & ~0x4000)); /* enable, unmask */
    pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | CMD_INTX_DISABLE);
    return 0;
}

int pci_msi_set(struct pci_device *d, uint8_t vector, uint32_t dest)
{
    if (d->cap_msi == 0)
        return -ENODEV;
    uint8_t c = d->cap_msi;
    uint16_t ctl = pci_read16(d, c + 2);
    pci_write32(d, c + 4, 0xFEE00000u | (dest << 12));
    if (ctl & (1u << 7)) { /* 64-bit address */
        pci_write32(d, c + 8, 0);
        pci_write16(d, c + 12, vector);
    } else {
        pci_write16(d, c + 8, vector);
    }
    pci_write16(d, c + 2, (uint16_t)((ctl & ~(7u << 4)) | 1)); /* one vector, enable */
    pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | CMD_INTX_DISABLE);
    return 0;
}

int pci_intx_route(struct pci_device *d, uint8_t vector, uint32_t dest)
{
    if (d->irq_pin == 0 || d->irq_line == 0xFF)
        return -ENODEV;
    /* Without AML we take the line firmware programmed as the GSI; PCI
     * interrupts are level-triggered, active low. */
    pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) & ~CMD_INTX_DISABLE);
    return ioapic_route_gsi(d->irq_line, vector, dest, 1, 1);
}
