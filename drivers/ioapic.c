/*
 * drivers/ioapic.c — I/O APIC (Intel 82093AA datasheet, section 3).
 *
 * Two 32-bit registers at the MMIO base: IOREGSEL (+0x00) selects, IOWIN
 * (+0x10) reads or writes. Register 1 (version) holds the highest
 * redirection entry in bits 16-23; entry i is registers 0x10 + 2i (low) and
 * 0x11 + 2i (high): vector 0-7, delivery mode 8-10 (fixed), destination mode
 * 11 (physical), polarity 13, trigger 15, mask 16, destination APIC id in
 * the high register's bits 24-31.
 */
#include <errno.h>

#include "drivers/env.h"
#include "drivers/ioapic.h"

#define IOREGSEL 0x00
#define IOWIN    0x10
#define REG_VER  0x01
#define RTE_LOW(i)  (0x10 + 2 * (i))
#define RTE_HIGH(i) (0x11 + 2 * (i))
#define RTE_ACTIVE_LOW (1u << 13)
#define RTE_LEVEL      (1u << 15)
#define RTE_MASKED     (1u << 16)

struct ioapic {
    volatile uint32_t *mmio;
    uint32_t gsi_base, pins;
};

static struct ioapic ioapics[ACPI_MAX_IOAPICS];
static int nioapics;
static const struct platform_info *platform;

static uint32_t rd(struct ioapic *io, uint32_t reg)
{
    io->mmio[IOREGSEL / 4] = reg;
    return io->mmio[IOWIN / 4];
}

static void wr(struct ioapic *io, uint32_t reg, uint32_t v)
{
    io->mmio[IOREGSEL / 4] = reg;
    io->mmio[IOWIN / 4] = v;
}

#define IOAPIC_DEFAULT_BASE 0xFEC00000ull

static void add_ioapic(uint64_t addr, uint32_t gsi_base)
{
    struct ioapic *io = &ioapics[nioapics];
    io->mmio = (volatile uint32_t *)(uintptr_t)addr;
    uint32_t ver = rd(io, REG_VER);
    if (ver == 0xFFFFFFFFu || (ver & 0xFF) == 0xFF)
        return; /* nothing answers there */
    nioapics++;
    io->gsi_base = gsi_base;
    io->pins = ((ver >> 16) & 0xFF) + 1;
}

int ioapic_init(const struct platform_info *pi)
{
    platform = pi;
    nioapics = 0;
    for (int i = 0; pi != NULL && i < pi->nioapics && i < ACPI_MAX_IOAPICS; i++)
        add_ioapic(pi->ioapics[i].addr, pi->ioapics[i].gsi_base);
    /* Firmware that lists none (QEMU microvm without ACPI): the one every PC
     * has, at its standard address, if it answers. */
    if (nioapics == 0) {
        env_mmio_map(IOAPIC_DEFAULT_BASE, 4096);
        add_ioapic(IOAPIC_DEFAULT_BASE, 0);
    }
    /* Every redirection entry comes out of reset masked (82093AA datasheet,
     * 3.2.4: the mask bit resets to 1), and no firmware Zebu boots from
     * (SeaBIOS, OVMF, qboot, GRUB) unmasks one: they take interrupts through
     * the 8259. Masking them all again cost four register accesses (VM
     * exits) per pin, 192 on QEMU microvm's two I/O APICs; a pin is written
     * when a driver routes it. */
    return nioapics;
}

static struct ioapic *ioapic_for(uint32_t gsi)
{
    for (int i = 0; i < nioapics; i++)
        if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + ioapics[i].pins)
            return &ioapics[i];
    return NULL;
}

int ioapic_route_gsi(uint32_t gsi, uint8_t vector, uint32_t dest, int level, int active_low)
{
    struct ioapic *io = ioapic_for(gsi);
    if (io == NULL)
        return -ENODEV;
    uint32_t pin = gsi - io->gsi_base;
    wr(io, RTE_LOW(pin), RTE_MASKED);
    wr(io, RTE_HIGH(pin), dest << 24);
    wr(io, RTE_LOW(pin),
       vector | (level ? RTE_LEVEL : 0) | (active_low ? RTE_ACTIVE_LOW : 0));
    return 0;
}

int ioapic_route_isa(uint8_t irq, uint8_t vector, uint32_t dest)
{
    uint32_t gsi = irq;
    int level = 0, active_low = 0; /* ISA: edge, active high */
    for (int i = 0; platform != NULL && i < platform->noverrides; i++) {
        const struct acpi_override *o = &platform->overrides[i];
        if (o->bus != 0 || o->source_irq != irq)
            continue;
        gsi = o->gsi;
        /* MPS INTI flags: polarity 1:0 (3 = active low), trigger 3:2 (3 = level) */
        active_low = (o->flags & 3) == 3;
        level = ((o->flags >> 2) & 3) == 3;
    }
    return ioapic_route_gsi(gsi, vector, dest, level, active_low);
}

int ioapic_mask_gsi(uint32_t gsi)
{
    struct ioapic *io = ioapic_for(gsi);
    if (io == NULL)
        return -ENODEV;
    wr(io, RTE_LOW(gsi - io->gsi_base), RTE_MASKED);
    return 0;
}

uint32_t ioapic_pin_count(void)
{
    uint32_t n = 0;
    for (int i = 0; i < nioapics; i++)
        n += ioapics[i].pins;
    return n;
}
