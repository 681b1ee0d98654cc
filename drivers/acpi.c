/*
 * drivers/acpi.c — firmware table parser: ACPI (RSDP, RSDT/XSDT, MADT, MCFG,
 * FADT) with the Intel MultiProcessor Specification 1.4 tables as the
 * fallback.
 *
 * Call order: platform_discover(), or acpi_find_rsdp() -> acpi_parse(), or
 * mptable_parse(). Each fills a caller-owned struct platform_info.
 *
 * References (ACPI 6.5 numbering):
 *   5.2.5.1  finding the RSDP on IA-PC systems (EBDA first KiB, 0xE0000-0xFFFFF)
 *   5.2.5.3  RSDP structure: 20-byte ACPI 1.0 part with its own checksum;
 *            revision >= 2 adds length, XSDT address and an extended checksum
 *   5.2.6    system description table header (36 bytes, checksum over length)
 *   5.2.7/8  RSDT (32-bit entries) and XSDT (64-bit entries, not 8-aligned)
 *   5.2.9    FADT: the Flags field (Table 5.10; bit 20 HW_REDUCED_ACPI) at
 *            offset 112, present from the ACPI 1.0 FADT (116 bytes) on
 *   5.2.12   MADT: local APIC address, flags (PCAT_COMPAT), then
 *            type/length records: 0 Processor Local APIC (5.2.12.2),
 *            1 I/O APIC (5.2.12.3), 2 Interrupt Source Override (5.2.12.5),
 *            4 Local APIC NMI (5.2.12.7), 5 Local APIC Address Override
 *            (5.2.12.8), 9 Processor Local x2APIC (5.2.12.12), 0xA Local
 *            x2APIC NMI (5.2.12.13)
 *   PCI Firmware Specification 3.0, 4.1.2: MCFG, 16-byte ECAM allocations
 *   MP spec 1.4, chapter 4: floating pointer (4.1; where to search: the
 *            chapter's introduction), configuration table header (4.2),
 *            processor, bus, I/O APIC, I/O and local interrupt entries (4.3)
 *
 * Everything here is untrusted input. Every multi-byte field is read a byte
 * at a time (tables are packed and their fields unaligned), and every read is
 * preceded by a check that the bytes lie inside what the mapper returned.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "drivers/acpi.h"

/* BIOS data area and the legacy regions the firmware structures live in. */
#define BDA_EBDA_SEGMENT 0x40E
#define BDA_BASE_MEM_KIB 0x413
#define EBDA_SCAN_LEN    1024
#define LOW_MEM_END      0xA0000
#define ACPI_ROM_START   0xE0000
#define MP_ROM_START     0xF0000
#define ROM_END          0x100000
#define SCAN_STEP        16

/* RSDP (5.2.5.3). */
#define RSDP_V1_LEN   20
#define RSDP_V2_LEN   36
#define RSDP_MAX_LEN  4096 /* bounds the checksum loop on a garbage length */
#define RSDP_OEMID    9
#define RSDP_REVISION 15
#define RSDP_RSDT     16
#define RSDP_LENGTH   20
#define RSDP_XSDT     24

/* Table header (5.2.6). No table read here comes near 1 MiB. */
#define SDT_HEADER_LEN 36
#define SDT_LENGTH     4
#define SDT_MAX_LEN    (1u << 20)

/* MADT (5.2.12). */
#define MADT_LAPIC_ADDR       36
#define MADT_FLAGS            40
#define MADT_ENTRIES          44
#define MADT_PCAT_COMPAT      1u
#define MADT_LAPIC            0
#define MADT_IOAPIC           1
#define MADT_OVERRIDE         2
#define MADT_LAPIC_NMI        4
#define MADT_LAPIC_ADDR_OVR   5
#define MADT_X2APIC           9
#define MADT_X2APIC_NMI       10
#define LAPIC_ENABLED         1u
#define LAPIC_ONLINE_CAPABLE  2u
#define LAPIC_NMI_ALL_CPUS_U8 0xFF

/* FADT (5.2.9). */
#define FADT_DSDT    40
#define FADT_SCI_INT     46 /* 2 bytes */
#define FADT_SMI_CMD     48
#define FADT_ACPI_ENABLE 52 /* 1 byte */
#define FADT_PM1A_EVT    56
#define FADT_PM1B_EVT    60
#define FADT_PM1A_CNT    64
#define FADT_PM1B_CNT    68
#define FADT_PM1_EVT_LEN 88 /* 1 byte */
#define FADT_FLAGS   112
#define FADT_MIN_LEN 116
#define FADT_X_DSDT  140 /* ACPI 2.0+ FADTs (244 bytes and up) */

/* DSDT resource descriptors (6.4.3): large items, tag then 16-bit length. */
#define AML_VIRTIO_MMIO_HID "LNRO0005"
#define AML_HID_WINDOW      96 /* bytes after the _HID searched for its _CRS */
#define RES_MEM32_FIXED     0x86 /* 6.4.3.4: info, base, length */
#define RES_MEM32_FIXED_LEN 9
#define RES_EXT_IRQ         0x89 /* 6.4.3.6: flags, count, then count interrupts */
#define RES_EXT_IRQ_MIN_LEN 6

/* MCFG (PCI Firmware 3.0, 4.1.2): 8 reserved bytes after the header. */
#define MCFG_ENTRIES   44
#define MCFG_ENTRY_LEN 16

/* MP floating pointer (4.1) and configuration table (4.2, 4.3). */
#define MPF_LEN            16
#define MPF_CONFIG         4
#define MPF_LENGTH         8 /* in 16-byte units */
#define MPF_FEATURE1       11
#define MPF_FEATURE2       12
#define MPF_IMCRP          0x80
#define MPC_HEADER_LEN     44
#define MPC_LENGTH         4
#define MPC_OEM_ID         8
#define MPC_ENTRY_COUNT    34
#define MPC_LAPIC_ADDR     36
#define MP_PROCESSOR       0
#define MP_BUS             1
#define MP_IOAPIC          2
#define MP_IO_INT          3
#define MP_LOCAL_INT       4
#define MP_PROCESSOR_LEN   20
#define MP_OTHER_LEN       8
#define MP_CPU_EN          1u
#define MP_CPU_BP          2u
#define MP_IOAPIC_EN       1u
#define MP_INT_INT         0
#define MP_INT_NMI         1
#define MP_ALL_DEST        0xFF
#define MP_IOAPIC_GSI_PINS 24 /* MP tables give no GSI base: assume 82093AA-sized I/O APICs */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum;
}

/* The mapper's bytes, or NULL; ranges the mapper must never see stop here. */
static const uint8_t *map(const struct acpi_mem *m, uint64_t phys, size_t len)
{
    if (phys == 0 || len == 0 || phys > UINT64_MAX - len)
        return NULL;
    return m->map(m->ctx, phys, len);
}

/* Checks a candidate at p, with avail bytes readable from p. */
typedef int (*scan_match_fn)(const uint8_t *p, size_t avail);

/* First 16-byte step of [base, base + len) that match accepts, or 0. */
static uint64_t scan(const struct acpi_mem *m, uint64_t base, size_t len, scan_match_fn match)
{
    const uint8_t *p = map(m, base, len);

    if (p == NULL)
        return 0;
    for (size_t off = 0; off + SCAN_STEP <= len; off += SCAN_STEP)
        if (match(p + off, len - off))
            return base + off;
    return 0;
}

/* The EBDA's address from the BDA, and how much of its first KiB lies below 640K; 0 if none. */
static uint64_t ebda_base(const struct acpi_mem *m, size_t *len)
{
    const uint8_t *p = map(m, BDA_EBDA_SEGMENT, 2);
    uint64_t base;

    if (p == NULL)
        return 0;
    base = (uint64_t)rd16(p) << 4;
    /* A zero or garbage segment (pointing into the BDA or above base memory) means no EBDA. */
    if (base < 0x500 || base >= LOW_MEM_END)
        return 0;
    *len = LOW_MEM_END - base < EBDA_SCAN_LEN ? LOW_MEM_END - base : EBDA_SCAN_LEN;
    return base;
}

/* ---- ACPI ------------------------------------------------------------------------------------ */

static int rsdp_valid(const uint8_t *p, size_t avail)
{
    uint32_t len;

    if (avail < RSDP_V1_LEN || memcmp(p, "RSD PTR ", 8) != 0 || sum8(p, RSDP_V1_LEN) != 0)
        return 0;
    if (p[RSDP_REVISION] < 2)
        return 1;
    /* Revision 2 added fields past the 1.0 checksum; the extended checksum covers them. */
    if (avail < RSDP_V2_LEN)
        return 0;
    len = rd32(p + RSDP_LENGTH);
    return len >= RSDP_V2_LEN && len <= RSDP_MAX_LEN && len <= avail && sum8(p, len) == 0;
}

int acpi_find_rsdp(const struct acpi_mem *m, uint64_t *rsdp)
{
    size_t ebda_len = 0;
    uint64_t ebda = ebda_base(m, &ebda_len);
    uint64_t found = 0;

    if (ebda != 0)
        found = scan(m, ebda, ebda_len, rsdp_valid);
    if (found == 0)
        found = scan(m, ACPI_ROM_START, ROM_END - ACPI_ROM_START, rsdp_valid);
    if (found == 0)
        return -ENOENT;
    *rsdp = found;
    return 0;
}

/* The validated RSDP at phys, mapped over its whole length, or NULL. */
static const uint8_t *rsdp_map(const struct acpi_mem *m, uint64_t phys)
{
    const uint8_t *p = map(m, phys, RSDP_V1_LEN);
    uint32_t len = RSDP_V1_LEN;

    if (p == NULL)
        return NULL;
    if (p[RSDP_REVISION] >= 2) {
        p = map(m, phys, RSDP_V2_LEN);
        if (p == NULL)
            return NULL;
        len = rd32(p + RSDP_LENGTH);
        if (len < RSDP_V2_LEN || len > RSDP_MAX_LEN)
            return NULL;
        p = map(m, phys, len);
        if (p == NULL)
            return NULL;
    }
    return rsdp_valid(p, len) ? p : NULL;
}

/*
 * The table at phys mapped over its whole length if its signature is sig and
 * its checksum holds, else NULL. A table that cannot be read whole is counted
 * in truncated, a bad checksum in bad_checksums; a different signature is
 * not counted (the caller asked about the wrong table, not a broken one).
 */
static const uint8_t *sdt_map(const struct acpi_mem *m, uint64_t phys, const char *sig,
                              uint32_t *lenp, struct platform_info *out)
{
    const uint8_t *p = map(m, phys, SDT_HEADER_LEN);
    uint32_t len;

    if (p == NULL) {
        out->truncated++;
        return NULL;
    }
    if (memcmp(p, sig, 4) != 0)
        return NULL;
    len = rd32(p + SDT_LENGTH);
    if (len < SDT_HEADER_LEN || len > SDT_MAX_LEN || (p = map(m, phys, len)) == NULL) {
        out->truncated++;
        return NULL;
    }
    if (sum8(p, len) != 0) {
        out->bad_checksums++;
        return NULL;
    }
    *lenp = len;
    return p;
}

static struct acpi_cpu *add_cpu(struct platform_info *out, uint32_t apic_id, uint32_t uid,
                                uint32_t flags, int x2apic)
{
    int enabled = (flags & LAPIC_ENABLED) != 0;
    /* Online Capable is reserved (zero) when Enabled is set. */
    int online = !enabled && (flags & LAPIC_ONLINE_CAPABLE) != 0;
    struct acpi_cpu *c;

    /*
     * Firmware may describe one processor with both a Local APIC and a Local
     * x2APIC entry (ids below 255, for older OSes); the first entry wins.
     */
    for (int i = 0; i < out->ncpus; i++)
        if (out->cpus[i].apic_id == apic_id)
            return NULL;
    if (!enabled && !online) {
        out->ncpus_disabled++;
        return NULL;
    }
    if (out->ncpus == ACPI_MAX_CPUS) {
        out->truncated++;
        return NULL;
    }
    c = &out->cpus[out->ncpus++];
    c->apic_id = apic_id;
    c->uid = uid;
    c->enabled = (uint8_t)enabled;
    c->online_capable = (uint8_t)online;
    c->x2apic = (uint8_t)(x2apic != 0);
    c->bsp = 0;
    return c;
}

static void add_ioapic(struct platform_info *out, uint32_t id, uint64_t addr, uint32_t gsi_base)
{
    struct acpi_ioapic *io;

    if (out->nioapics == ACPI_MAX_IOAPICS) {
        out->truncated++;
        return;
    }
    io = &out->ioapics[out->nioapics++];
    io->id = id;
    io->addr = addr;
    io->gsi_base = gsi_base;
}

static void add_override(struct platform_info *out, uint8_t bus, uint8_t irq, uint32_t gsi,
                         uint16_t flags)
{
    struct acpi_override *o;

    if (out->noverrides == ACPI_MAX_OVERRIDES) {
        out->truncated++;
        return;
    }
    o = &out->overrides[out->noverrides++];
    o->bus = bus;
    o->source_irq = irq;
    o->gsi = gsi;
    o->flags = flags;
}

static void add_nmi(struct platform_info *out, uint32_t uid, uint16_t flags, uint8_t lint)
{
    struct acpi_nmi *n;

    if (out->nnmis == ACPI_MAX_NMIS) {
        out->truncated++;
        return;
    }
    n = &out->nmis[out->nnmis++];
    n->uid = uid;
    n->flags = flags;
    n->lint = lint;
}

/* Shortest valid record of each MADT type we read; 0 for types we skip. */
static const uint8_t madt_min_len[] = {
    [MADT_LAPIC] = 8,           [MADT_IOAPIC] = 12, [MADT_OVERRIDE] = 10,   [MADT_LAPIC_NMI] = 6,
    [MADT_LAPIC_ADDR_OVR] = 12, [MADT_X2APIC] = 16, [MADT_X2APIC_NMI] = 12,
};

/* One MADT record of elen bytes (elen >= 2, all readable). */
static void madt_entry(const uint8_t *e, uint8_t elen, struct platform_info *out)
{
    uint8_t type = e[0];

    if (type >= sizeof(madt_min_len) || madt_min_len[type] == 0)
        return;
    if (elen < madt_min_len[type]) {
        out->truncated++;
        return;
    }
    switch (type) {
    case MADT_LAPIC:
        add_cpu(out, e[3], e[2], rd32(e + 4), 0);
        break;
    case MADT_IOAPIC:
        add_ioapic(out, e[2], rd32(e + 4), rd32(e + 8));
        break;
    case MADT_OVERRIDE:
        add_override(out, e[2], e[3], rd32(e + 4), rd16(e + 8));
        break;
    case MADT_LAPIC_NMI:
        add_nmi(out, e[2] == LAPIC_NMI_ALL_CPUS_U8 ? ACPI_NMI_ALL_CPUS : e[2], rd16(e + 3), e[5]);
        break;
    case MADT_LAPIC_ADDR_OVR:
        /* The 64-bit address supersedes the header's 32-bit one. */
        out->lapic_addr = rd64(e + 4);
        break;
    case MADT_X2APIC:
        add_cpu(out, rd32(e + 4), rd32(e + 12), rd32(e + 8), 1);
        break;
    case MADT_X2APIC_NMI:
        add_nmi(out, rd32(e + 4), rd16(e + 2), e[8]);
        break;
    }
}

/* Fills *out from a checksummed MADT of len bytes. Returns 0, or -EINVAL if too short. */
static int madt_parse(const uint8_t *t, uint32_t len, struct platform_info *out)
{
    uint32_t off = MADT_ENTRIES;

    if (len < MADT_ENTRIES) {
        out->truncated++;
        return -EINVAL;
    }
    out->lapic_addr = rd32(t + MADT_LAPIC_ADDR);
    out->pcat_compat = (rd32(t + MADT_FLAGS) & MADT_PCAT_COMPAT) != 0;
    while (off < len) {
        uint8_t elen;

        /* A record we cannot step over ends the walk: nothing after it can be framed. */
        if (len - off < 2 || (elen = t[off + 1]) < 2 || elen > len - off) {
            out->truncated++;
            break;
        }
        madt_entry(t + off, elen, out);
        off += elen;
    }
    return 0;
}

/* Takes segment 0's ECAM window if listed, else the first one. */
static void mcfg_parse(const uint8_t *t, uint32_t len, struct platform_info *out)
{
    for (uint32_t off = MCFG_ENTRIES; off < len; off += MCFG_ENTRY_LEN) {
        const uint8_t *e = t + off;
        uint64_t base;
        uint16_t segment;

        if (len - off < MCFG_ENTRY_LEN) {
            out->truncated++;
            break;
        }
        base = rd64(e);
        segment = rd16(e + 8);
        if (base == 0 || (out->mcfg_base != 0 && (segment != 0 || out->mcfg_segment == 0)))
            continue;
        out->mcfg_base = base;
        out->mcfg_segment = segment;
        out->mcfg_bus_start = e[10];
        out->mcfg_bus_end = e[11];
    }
}

static void fadt_parse(const uint8_t *t, uint32_t len, struct platform_info *out)
{
    if (len < FADT_MIN_LEN) {
        out->truncated++;
        return;
    }
    out->fadt = 1;
    out->fadt_flags = rd32(t + FADT_FLAGS);
    /* The fixed PM blocks (ACPI 1.0 fields, in every FADT; 0 on a
     * hardware-reduced platform, which has none). */
    out->pm.sci_irq = rd16(t + FADT_SCI_INT);
    out->pm.smi_cmd = rd32(t + FADT_SMI_CMD);
    out->pm.acpi_enable = t[FADT_ACPI_ENABLE];
    out->pm.pm1a_evt = rd32(t + FADT_PM1A_EVT);
    out->pm.pm1b_evt = rd32(t + FADT_PM1B_EVT);
    out->pm.pm1a_cnt = rd32(t + FADT_PM1A_CNT);
    out->pm.pm1b_cnt = rd32(t + FADT_PM1B_CNT);
    out->pm.pm1_evt_len = t[FADT_PM1_EVT_LEN];
}

/* The XSDT (or, failing that, the RSDT) named by a validated RSDP. */
static const uint8_t *root_map(const struct acpi_mem *m, const uint8_t *rsdp, uint32_t *len,
                               uint32_t *entry_size, struct platform_info *out)
{
    const uint8_t *t;
    uint32_t rsdt = rd32(rsdp + RSDP_RSDT);

    if (rsdp[RSDP_REVISION] >= 2) {
        uint64_t xsdt = rd64(rsdp + RSDP_XSDT);

        if (xsdt != 0 && (t = sdt_map(m, xsdt, "XSDT", len, out)) != NULL) {
            *entry_size = 8;
            return t;
        }
    }
    if (rsdt == 0)
        return NULL;
    *entry_size = 4;
    return sdt_map(m, rsdt, "RSDT", len, out);
}

/* Looks at every table the root lists; returns 0 once a MADT parsed, else -ENOENT. */
static int root_walk(const struct acpi_mem *m, const uint8_t *root, uint32_t len,
                     uint32_t entry_size, struct platform_info *out)
{
    int have_madt = 0, have_mcfg = 0, have_fadt = 0;
    uint32_t off;

    for (off = SDT_HEADER_LEN; off + entry_size <= len; off += entry_size) {
        uint64_t phys = entry_size == 8 ? rd64(root + off) : rd32(root + off);
        const uint8_t *t = map(m, phys, SDT_HEADER_LEN);
        uint32_t tlen;

        if (t == NULL) {
            out->truncated++;
            continue;
        }
        if (!have_madt && memcmp(t, "APIC", 4) == 0) {
            t = sdt_map(m, phys, "APIC", &tlen, out);
            have_madt = t != NULL && madt_parse(t, tlen, out) == 0;
        } else if (!have_mcfg && memcmp(t, "MCFG", 4) == 0) {
            t = sdt_map(m, phys, "MCFG", &tlen, out);
            if (t != NULL) {
                mcfg_parse(t, tlen, out);
                have_mcfg = 1;
            }
        } else if (!have_fadt && memcmp(t, "FACP", 4) == 0) {
            t = sdt_map(m, phys, "FACP", &tlen, out);
            if (t != NULL) {
                fadt_parse(t, tlen, out);
                have_fadt = 1;
            }
        }
    }
    if (off < len)
        out->truncated++; /* a partial pointer at the end */
    return have_madt ? 0 : -ENOENT;
}

int acpi_parse(const struct acpi_mem *m, uint64_t rsdp, struct platform_info *out)
{
    const uint8_t *r, *root;
    uint32_t len, entry_size;

    memset(out, 0, sizeof(*out));
    out->source = "acpi";
    r = rsdp_map(m, rsdp);
    if (r == NULL)
        return -EINVAL;
    out->rsdp = rsdp;
    out->acpi_revision = r[RSDP_REVISION];
    memcpy(out->oem_id, r + RSDP_OEMID, 6);
    root = root_map(m, r, &len, &entry_size, out);
    if (root == NULL)
        return -ENOENT;
    return root_walk(m, root, len, entry_size, out);
}

/* ---- MP specification ------------------------------------------------------------------------ */

static int mpf_valid(const uint8_t *p, size_t avail)
{
    size_t len;

    if (avail < MPF_LEN || memcmp(p, "_MP_", 4) != 0)
        return 0;
    len = (size_t)p[MPF_LENGTH] * 16;
    return len >= MPF_LEN && len <= avail && sum8(p, len) == 0;
}

/* The floating pointer, searched in the order of MP spec 1.4 chapter 4; 0 if none. */
static uint64_t mpf_find(const struct acpi_mem *m)
{
    size_t ebda_len = 0;
    uint64_t ebda = ebda_base(m, &ebda_len), found = 0, kib = 640;
    const uint8_t *p;

    if (ebda != 0)
        found = scan(m, ebda, ebda_len, mpf_valid);
    if (found != 0)
        return found;
    p = map(m, BDA_BASE_MEM_KIB, 2);
    if (p != NULL && rd16(p) >= 64 && rd16(p) <= 640)
        kib = rd16(p);
    found = scan(m, (kib - 1) * 1024, 1024, mpf_valid);
    if (found != 0)
        return found;
    return scan(m, MP_ROM_START, ROM_END - MP_ROM_START, mpf_valid);
}

static const struct acpi_ioapic *ioapic_by_id(const struct platform_info *out, uint32_t id)
{
    for (int i = 0; i < out->nioapics; i++)
        if (out->ioapics[i].id == id)
            return &out->ioapics[i];
    return NULL;
}

/*
 * An I/O interrupt entry (4.3.4). ACPI lists only the ISA IRQs that are not
 * identity-mapped with bus-default signalling; MP tables list every one, so
 * keep just those that would have been ACPI overrides.
 */
static void mp_io_int(const uint8_t *e, const uint8_t *isa_buses, struct platform_info *out)
{
    uint8_t bus = e[4], irq = e[5], dest = e[6], pin = e[7];
    uint16_t flags = rd16(e + 2);
    const struct acpi_ioapic *io;
    uint32_t gsi;

    if (e[1] != MP_INT_INT || !(isa_buses[bus / 8] & (1u << (bus % 8))))
        return;
    io = ioapic_by_id(out, dest);
    if (io == NULL)
        return;
    gsi = io->gsi_base + pin;
    if (gsi != irq || flags != 0)
        add_override(out, 0, irq, gsi, flags);
}

/* One configuration table entry of the length its type implies (all readable). */
static void mp_entry(const uint8_t *e, uint8_t *isa_buses, struct platform_info *out)
{
    struct acpi_cpu *c;

    switch (e[0]) {
    case MP_PROCESSOR:
        c = add_cpu(out, e[1], e[1], (e[3] & MP_CPU_EN) ? LAPIC_ENABLED : 0, 0);
        if (c != NULL && (e[3] & MP_CPU_BP))
            c->bsp = 1;
        break;
    case MP_BUS:
        /* The bus type is space-padded "ISA   "; tolerate NUL padding. */
        if (memcmp(e + 2, "ISA", 3) == 0 && (e[5] == ' ' || e[5] == 0))
            isa_buses[e[1] / 8] |= (uint8_t)(1u << (e[1] % 8));
        break;
    case MP_IOAPIC:
        if (e[3] & MP_IOAPIC_EN)
            add_ioapic(out, e[1], rd32(e + 4), (uint32_t)out->nioapics * MP_IOAPIC_GSI_PINS);
        break;
    case MP_IO_INT:
        mp_io_int(e, isa_buses, out);
        break;
    case MP_LOCAL_INT:
        if (e[1] == MP_INT_NMI)
            add_nmi(out, e[6] == MP_ALL_DEST ? ACPI_NMI_ALL_CPUS : e[6], rd16(e + 2), e[7]);
        break;
    }
}

/* Base table entries carry no length field: it follows from the type (0 for unknown types). */
static uint32_t mp_entry_len(uint8_t type)
{
    if (type == MP_PROCESSOR)
        return MP_PROCESSOR_LEN;
    return type <= MP_LOCAL_INT ? MP_OTHER_LEN : 0;
}

/* Walks the base table's entries; entries are sorted by type, so buses precede interrupts. */
static void mpc_walk(const uint8_t *t, uint32_t len, struct platform_info *out)
{
    uint8_t isa_buses[256 / 8] = {0};
    uint16_t count = rd16(t + MPC_ENTRY_COUNT);
    uint32_t off = MPC_HEADER_LEN;

    for (uint16_t i = 0; i < count; i++) {
        uint32_t elen;

        if (off >= len) {
            out->truncated++;
            break;
        }
        /* An unknown type cannot be stepped over: nothing after it can be framed. */
        elen = mp_entry_len(t[off]);
        if (elen == 0 || elen > len - off) {
            out->truncated++;
            break;
        }
        mp_entry(t + off, isa_buses, out);
        off += elen;
    }
}

int mptable_parse(const struct acpi_mem *m, struct platform_info *out)
{
    uint64_t mpf;
    const uint8_t *f, *t;
    uint32_t len;

    memset(out, 0, sizeof(*out));
    out->source = "mptable";
    mpf = mpf_find(m);
    f = mpf != 0 ? map(m, mpf, MPF_LEN) : NULL;
    if (f == NULL)
        return -ENOENT;
    if (f[MPF_FEATURE1] != 0)
        return -ENOTSUP;
    out->mp_imcr = (f[MPF_FEATURE2] & MPF_IMCRP) != 0;
    t = map(m, rd32(f + MPF_CONFIG), MPC_HEADER_LEN);
    if (t == NULL || memcmp(t, "PCMP", 4) != 0)
        return -EINVAL;
    len = rd16(t + MPC_LENGTH);
    if (len < MPC_HEADER_LEN || (t = map(m, rd32(f + MPF_CONFIG), len)) == NULL) {
        out->truncated++;
        return -EINVAL;
    }
    if (sum8(t, len) != 0) {
        out->bad_checksums++;
        return -EINVAL;
    }
    /* The MP spec requires PC/AT compatibility: the 8259s are there. */
    out->pcat_compat = 1;
    out->lapic_addr = rd32(t + MPC_LAPIC_ADDR);
    memcpy(out->oem_id, t + MPC_OEM_ID, 6);
    mpc_walk(t, len, out);
    return 0;
}

/* ---- both ------------------------------------------------------------------------------------ */

int platform_discover(const struct acpi_mem *m, uint64_t rsdp_hint, struct platform_info *out)
{
    uint64_t rsdp = 0;
    int rc = -ENOENT, mp_rc;

    if (rsdp_hint != 0) {
        rc = acpi_parse(m, rsdp_hint, out);
        if (rc != -EINVAL)
            rsdp = rsdp_hint;
    }
    if (rsdp == 0 && acpi_find_rsdp(m, &rsdp) == 0)
        rc = acpi_parse(m, rsdp, out);
    if (rc == 0)
        return 0;
    mp_rc = mptable_parse(m, out);
    if (mp_rc == 0 || rsdp == 0)
        return mp_rc;
    /* Neither worked: show the caller what ACPI counted, it says more than "no MP table". */
    (void)acpi_parse(m, rsdp, out);
    return rc;
}

/* ---- virtio-mmio transports and \_S5 in the DSDT ---- */

/* sdt_map's counters for the DSDT searches below: written, never read, so
 * no call sees another's. */
static struct platform_info dsdt_scratch;

/* The DSDT the FADT names (X_DSDT when set and readable, else DSDT). */
static const uint8_t *dsdt_map(const struct acpi_mem *m, const uint8_t *fadt, uint32_t flen,
                               uint32_t *len, struct platform_info *scratch)
{
    const uint8_t *t = NULL;

    if (flen >= FADT_X_DSDT + 8 && rd64(fadt + FADT_X_DSDT) != 0)
        t = sdt_map(m, rd64(fadt + FADT_X_DSDT), "DSDT", len, scratch);
    if (t == NULL && flen >= FADT_DSDT + 4 && rd32(fadt + FADT_DSDT) != 0)
        t = sdt_map(m, rd32(fadt + FADT_DSDT), "DSDT", len, scratch);
    return t;
}

/* The FADT the root lists, or NULL. */
static const uint8_t *fadt_find(const struct acpi_mem *m, uint64_t rsdp, uint32_t *len,
                                struct platform_info *scratch)
{
    const uint8_t *r = rsdp_map(m, rsdp), *root, *t;
    uint32_t rlen, entry_size;

    if (r == NULL || (root = root_map(m, r, &rlen, &entry_size, scratch)) == NULL)
        return NULL;
    for (uint32_t off = SDT_HEADER_LEN; off + entry_size <= rlen; off += entry_size) {
        uint64_t phys = entry_size == 8 ? rd64(root + off) : rd32(root + off);
        if ((t = sdt_map(m, phys, "FACP", len, scratch)) != NULL)
            return t;
    }
    return NULL;
}

/* The first Memory32Fixed and Extended Interrupt descriptors in p[0, len). */
static int virtio_mmio_resources(const uint8_t *p, uint32_t len, struct acpi_virtio_mmio *v)
{
    int have_mem = 0, have_irq = 0;

    for (uint32_t i = 0; i + 3 <= len && !(have_mem && have_irq); i++) {
        uint32_t dlen = rd16(p + i + 1);
        if (i + 3 + dlen > len)
            continue;
        if (!have_mem && p[i] == RES_MEM32_FIXED && dlen == RES_MEM32_FIXED_LEN) {
            v->base = rd32(p + i + 4);
            v->size = rd32(p + i + 8);
            have_mem = v->size != 0;
        } else if (!have_irq && p[i] == RES_EXT_IRQ && dlen >= RES_EXT_IRQ_MIN_LEN &&
                   p[i + 4] >= 1) {
            v->gsi = rd32(p + i + 5);
            have_irq = 1;
        }
    }
    return have_mem && have_irq ? 0 : -ENOENT;
}

int acpi_find_virtio_mmio(const struct acpi_mem *m, uint64_t rsdp_hint,
                          struct acpi_virtio_mmio *out, int max)
{
    const uint8_t *fadt, *dsdt;
    uint32_t flen, dlen;
    uint64_t rsdp = rsdp_hint;
    const size_t hid_len = sizeof(AML_VIRTIO_MMIO_HID) - 1;
    int n = 0;

    if (rsdp == 0 && acpi_find_rsdp(m, &rsdp) != 0)
        return -ENOENT;
    if ((fadt = fadt_find(m, rsdp, &flen, &dsdt_scratch)) == NULL ||
        (dsdt = dsdt_map(m, fadt, flen, &dlen, &dsdt_scratch)) == NULL)
        return -ENOENT;
    for (uint32_t i = SDT_HEADER_LEN; i + hid_len <= dlen && n < max; i++) {
        if (memcmp(dsdt + i, AML_VIRTIO_MMIO_HID, hid_len) != 0)
            continue;
        i += (uint32_t)hid_len;
        uint32_t window = dlen - i < AML_HID_WINDOW ? dlen - i : AML_HID_WINDOW;
        for (uint32_t j = 0; j + hid_len <= window; j++) /* not into the next device */
            if (memcmp(dsdt + i + j, AML_VIRTIO_MMIO_HID, hid_len) == 0)
                window = j;
        if (virtio_mmio_resources(dsdt + i, window, &out[n]) == 0)
            n++;
    }
    return n;
}

/* ---- soft-off: the DSDT's \_S5 ---- */

#define AML_NAME_OP    0x08
#define AML_PACKAGE_OP 0x12
#define AML_ZERO       0x00
#define AML_ONE        0x01
#define AML_BYTE       0x0A
#define AML_WORD       0x0B
#define AML_ROOT_CHAR  0x5C /* '\\' */

/* An AML integer at p[0, len) (16.2.3 and 16.2.5.2): its value in *v and
 * its size in bytes, or 0 when it is none we take. */
static uint32_t aml_small_int(const uint8_t *p, uint32_t len, uint32_t *v)
{
    if (len >= 1 && (p[0] == AML_ZERO || p[0] == AML_ONE)) {
        *v = p[0];
        return 1;
    }
    if (len >= 2 && p[0] == AML_BYTE) {
        *v = p[1];
        return 2;
    }
    if (len >= 3 && p[0] == AML_WORD) {
        *v = rd16(p + 1);
        return 3;
    }
    return 0;
}

int acpi_find_s5(const struct acpi_mem *m, uint64_t rsdp, struct acpi_pm *pm)
{
    const uint8_t *fadt, *dsdt;
    uint32_t flen, dlen;

    if (rsdp == 0 || (fadt = fadt_find(m, rsdp, &flen, &dsdt_scratch)) == NULL ||
        (dsdt = dsdt_map(m, fadt, flen, &dlen, &dsdt_scratch)) == NULL)
        return -ENOENT;
    for (uint32_t i = SDT_HEADER_LEN + 1; i + 4 < dlen; i++) {
        /* NameOp, then "_S5_" (or "\\_S5_": the root prefix between) */
        int named = dsdt[i - 1] == AML_NAME_OP ||
                    (dsdt[i - 1] == AML_ROOT_CHAR && dsdt[i - 2] == AML_NAME_OP);
        if (!named || memcmp(dsdt + i, "_S5_", 4) != 0)
            continue;
        uint32_t k = i + 4;
        if (k >= dlen || dsdt[k] != AML_PACKAGE_OP)
            return -EINVAL;
        k++;
        if (k >= dlen)
            return -EINVAL;
        k += 1u + (dsdt[k] >> 6); /* PkgLength: 1 to 4 bytes (16.2.4) */
        if (k + 1 >= dlen || dsdt[k] < 2) /* NumElements */
            return -EINVAL;
        k++;
        uint32_t a, b, n;
        if ((n = aml_small_int(dsdt + k, dlen - k, &a)) == 0)
            return -EINVAL;
        k += n;
        if (aml_small_int(dsdt + k, dlen - k, &b) == 0)
            return -EINVAL;
        pm->s5 = 1;
        pm->s5_typa = (uint8_t)(a & 7);
        pm->s5_typb = (uint8_t)(b & 7);
        return 0;
    }
    return -ENOENT;
}
