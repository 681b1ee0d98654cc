/*
 * acpi_test.c - drivers/acpi.c against synthetic firmware memory.
 *
 * struct fw is a fake physical address space: low memory (0 - 1 MiB: the
 * BIOS data area, an EBDA at 0x9FC00, the BIOS ROM area), a table area at
 * 0x7FE0000 (where QEMU puts its ACPI tables) and a page above 4 GiB for
 * XSDT-only tables. Builders assemble RSDPs, RSDT/XSDT, MADT, MCFG and MP
 * tables there with correct checksums; tests then break them on purpose.
 *
 * The mapper copies every request into a malloc'd buffer of exactly the
 * requested size, so AddressSanitizer reports any byte the parser reads past
 * (or before) what it asked for, and UBSan any misaligned load. Buffers are
 * freed after each parser call.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/acpi.h"
#include "drivers/platform.h"
#include "runner.h"

#define LOW_SIZE    0x100000u
#define TABLES_BASE 0x7FE0000u
#define TABLES_SIZE 0x10000u
#define HIGH_BASE   0x100000000ull
#define HIGH_SIZE   0x1000u
#define EBDA        0x9FC00u
#define RSDP_AT     0xF6A10u
#define MPC_AT      0xF2000u
#define LAPIC_BASE  0xFEE00000u

struct fw {
    uint8_t low[LOW_SIZE];
    uint8_t tables[TABLES_SIZE];
    uint8_t high[HIGH_SIZE];
    uint64_t next_table; /* bump allocator in tables[] */
    uint64_t next_high;  /* and in high[] */
    void **maps;
    size_t nmaps, cap;
    int fail_all; /* the mapper refuses everything */
};

static struct platform_info pi;

/* --- the fake address space ---------------------------------------------------------------- */

static uint8_t *fw_ptr(struct fw *f, uint64_t phys, size_t len)
{
    struct {
        uint64_t base;
        size_t size;
        uint8_t *mem;
    } regions[] = {
        {0, LOW_SIZE, f->low},
        {TABLES_BASE, TABLES_SIZE, f->tables},
        {HIGH_BASE, HIGH_SIZE, f->high},
    };

    for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
        uint64_t off = phys - regions[i].base;

        if (phys >= regions[i].base && off <= regions[i].size && len <= regions[i].size - off)
            return regions[i].mem + off;
    }
    return NULL;
}

static const void *fw_map(void *ctx, uint64_t phys, size_t len)
{
    struct fw *f = ctx;
    const uint8_t *src = f->fail_all ? NULL : fw_ptr(f, phys, len);
    void *copy;

    if (src == NULL)
        return NULL;
    if (f->nmaps == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->maps = realloc(f->maps, f->cap * sizeof(*f->maps));
        if (f->maps == NULL)
            abort();
    }
    copy = malloc(len);
    if (copy == NULL)
        abort();
    memcpy(copy, src, len);
    f->maps[f->nmaps++] = copy;
    return copy;
}

static void fw_unmap_all(struct fw *f)
{
    for (size_t i = 0; i < f->nmaps; i++)
        free(f->maps[i]);
    f->nmaps = 0;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Sets p[at] so that the len bytes at p sum to zero. */
static void fix_checksum(uint8_t *p, size_t len, size_t at)
{
    uint8_t sum = 0;

    p[at] = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    p[at] = (uint8_t)-sum;
}

/* Empty low memory with a BDA pointing at an EBDA and 639 KiB of base memory. */
static struct fw *fw_new(void)
{
    struct fw *f = calloc(1, sizeof(*f));

    if (f == NULL)
        abort();
    put16(f->low + 0x40E, EBDA >> 4);
    put16(f->low + 0x413, 639);
    f->next_table = TABLES_BASE;
    f->next_high = HIGH_BASE;
    return f;
}

static void fw_free(struct fw *f)
{
    fw_unmap_all(f);
    free(f->maps);
    free(f);
}

static uint64_t fw_alloc(struct fw *f, size_t len)
{
    uint64_t phys = f->next_table;

    f->next_table += (len + 15) & ~(size_t)15;
    if (f->next_table > TABLES_BASE + TABLES_SIZE)
        abort();
    return phys;
}

static struct acpi_mem fw_mem(struct fw *f)
{
    struct acpi_mem m = {fw_map, f};
    return m;
}

/* Parser calls with the mapped buffers freed afterwards. */
static int do_find_rsdp(struct fw *f, uint64_t *rsdp)
{
    struct acpi_mem m = fw_mem(f);
    int rc = acpi_find_rsdp(&m, rsdp);

    fw_unmap_all(f);
    return rc;
}

static int do_acpi_parse(struct fw *f, uint64_t rsdp)
{
    struct acpi_mem m = fw_mem(f);
    int rc = acpi_parse(&m, rsdp, &pi);

    fw_unmap_all(f);
    return rc;
}

static int do_mptable_parse(struct fw *f)
{
    struct acpi_mem m = fw_mem(f);
    int rc = mptable_parse(&m, &pi);

    fw_unmap_all(f);
    return rc;
}

static int do_discover(struct fw *f, uint64_t hint)
{
    struct acpi_mem m = fw_mem(f);
    int rc = platform_discover(&m, hint, &pi);

    fw_unmap_all(f);
    return rc;
}

/* --- ACPI builders ------------------------------------------------------------------------- */

static void make_rsdp(struct fw *f, uint64_t at, int rev, uint32_t rsdt, uint64_t xsdt)
{
    uint8_t *p = fw_ptr(f, at, rev >= 2 ? 36 : 20);

    memset(p, 0, rev >= 2 ? 36 : 20);
    memcpy(p, "RSD PTR ", 8);
    memcpy(p + 9, "ZEBUFW", 6);
    p[15] = (uint8_t)rev;
    put32(p + 16, rsdt);
    if (rev >= 2) {
        put32(p + 20, 36);
        put64(p + 24, xsdt);
    }
    fix_checksum(p, 20, 8);
    if (rev >= 2)
        fix_checksum(p, 36, 32);
}

static void sdt_header(uint8_t *p, const char *sig, uint32_t len)
{
    memset(p, 0, 36);
    memcpy(p, sig, 4);
    put32(p + 4, len);
    p[8] = 1;
    memcpy(p + 10, "ZEBUFW", 6);
    memcpy(p + 16, "TESTTBL ", 8);
}

/* Recomputes the checksum of the table at p over its header's length. */
static void sdt_fix(uint8_t *p)
{
    fix_checksum(p, get32(p + 4), 9);
}

/* An RSDT (entry_size 4) or XSDT (8) listing n tables; returns its address. */
static uint64_t make_root(struct fw *f, int entry_size, const uint64_t *tables, int n)
{
    uint32_t len = 36 + (uint32_t)(entry_size * n);
    uint64_t phys = fw_alloc(f, len);
    uint8_t *p = fw_ptr(f, phys, len);

    sdt_header(p, entry_size == 8 ? "XSDT" : "RSDT", len);
    for (int i = 0; i < n; i++) {
        if (entry_size == 8)
            put64(p + 36 + 8 * i, tables[i]);
        else
            put32(p + 36 + 4 * i, (uint32_t)tables[i]);
    }
    sdt_fix(p);
    return phys;
}

/* RSDP v1 at RSDP_AT -> RSDT listing the given tables. */
static void acpi_world_v1(struct fw *f, const uint64_t *tables, int n)
{
    make_rsdp(f, RSDP_AT, 0, (uint32_t)make_root(f, 4, tables, n), 0);
}

struct madt {
    uint8_t buf[8192];
    size_t len;
};

static void madt_init(struct madt *t, uint32_t lapic, uint32_t flags)
{
    memset(t, 0, sizeof(*t));
    t->len = 44;
    put32(t->buf + 36, lapic);
    put32(t->buf + 40, flags);
}

static uint8_t *madt_add(struct madt *t, uint8_t type, uint8_t len)
{
    uint8_t *r = t->buf + t->len;

    if (t->len + len > sizeof(t->buf))
        abort();
    memset(r, 0, len);
    r[0] = type;
    r[1] = len;
    t->len += len;
    return r;
}

static void madt_lapic(struct madt *t, uint8_t uid, uint8_t id, uint32_t flags)
{
    uint8_t *r = madt_add(t, 0, 8);

    r[2] = uid;
    r[3] = id;
    put32(r + 4, flags);
}

static void madt_ioapic(struct madt *t, uint8_t id, uint32_t addr, uint32_t gsi_base)
{
    uint8_t *r = madt_add(t, 1, 12);

    r[2] = id;
    put32(r + 4, addr);
    put32(r + 8, gsi_base);
}

static void madt_iso(struct madt *t, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    uint8_t *r = madt_add(t, 2, 10);

    r[3] = irq;
    put32(r + 4, gsi);
    put16(r + 8, flags);
}

static void madt_nmi(struct madt *t, uint8_t uid, uint16_t flags, uint8_t lint)
{
    uint8_t *r = madt_add(t, 4, 6);

    r[2] = uid;
    put16(r + 3, flags);
    r[5] = lint;
}

static void madt_lapic_override(struct madt *t, uint64_t addr)
{
    put64(madt_add(t, 5, 12) + 4, addr);
}

static void madt_x2apic(struct madt *t, uint32_t id, uint32_t flags, uint32_t uid)
{
    uint8_t *r = madt_add(t, 9, 16);

    put32(r + 4, id);
    put32(r + 8, flags);
    put32(r + 12, uid);
}

static void madt_x2nmi(struct madt *t, uint32_t uid, uint16_t flags, uint8_t lint)
{
    uint8_t *r = madt_add(t, 10, 12);

    put16(r + 2, flags);
    put32(r + 4, uid);
    r[8] = lint;
}

/* Copies the MADT into the table area (or at `at` if nonzero) with header and checksum. */
static uint64_t madt_place_at(struct fw *f, struct madt *t, uint64_t at)
{
    uint64_t phys = at != 0 ? at : fw_alloc(f, t->len);
    uint8_t *p = fw_ptr(f, phys, t->len);

    memcpy(p, t->buf, t->len);
    sdt_header(p, "APIC", (uint32_t)t->len);
    sdt_fix(p);
    return phys;
}

static uint64_t madt_place(struct fw *f, struct madt *t)
{
    return madt_place_at(f, t, 0);
}

/* An MCFG with n allocations {base, segment, bus start, bus end}. */
static uint64_t make_mcfg(struct fw *f, int n, const uint64_t (*ent)[4])
{
    uint32_t len = 44 + 16 * (uint32_t)n;
    uint64_t phys = fw_alloc(f, len);
    uint8_t *p = fw_ptr(f, phys, len);

    memset(p, 0, len);
    sdt_header(p, "MCFG", len);
    for (int i = 0; i < n; i++) {
        put64(p + 44 + 16 * i, ent[i][0]);
        put16(p + 52 + 16 * i, (uint16_t)ent[i][1]);
        p[54 + 16 * i] = (uint8_t)ent[i][2];
        p[55 + 16 * i] = (uint8_t)ent[i][3];
    }
    sdt_fix(p);
    return phys;
}

/* A FADT of len bytes (116: ACPI 1.0's) with the given Flags field. */
static uint64_t make_fadt(struct fw *f, uint32_t len, uint32_t flags)
{
    uint64_t phys = fw_alloc(f, len);
    uint8_t *p = fw_ptr(f, phys, len);

    memset(p, 0, len);
    sdt_header(p, "FACP", len);
    if (len >= 116)
        put32(p + 112, flags);
    sdt_fix(p);
    return phys;
}

/* A MADT with n enabled CPUs (APIC ids 0..n-1) and one I/O APIC. */
static uint64_t simple_madt(struct fw *f, int n)
{
    struct madt t;

    madt_init(&t, LAPIC_BASE, 1);
    for (int i = 0; i < n; i++)
        madt_lapic(&t, (uint8_t)i, (uint8_t)i, 1);
    madt_ioapic(&t, 0, 0xFEC00000, 0);
    return madt_place(f, &t);
}

/* --- MP builders --------------------------------------------------------------------------- */

struct mpc {
    uint8_t buf[4096];
    size_t len;
    uint16_t count;
};

static void mpc_init(struct mpc *t)
{
    memset(t, 0, sizeof(*t));
    t->len = 44;
}

static uint8_t *mpc_add(struct mpc *t, uint8_t type, size_t len)
{
    uint8_t *e = t->buf + t->len;

    memset(e, 0, len);
    e[0] = type;
    t->len += len;
    t->count++;
    return e;
}

static void mpc_cpu(struct mpc *t, uint8_t id, uint8_t flags)
{
    uint8_t *e = mpc_add(t, 0, 20);

    e[1] = id;
    e[2] = 0x14;
    e[3] = flags;
}

static void mpc_bus(struct mpc *t, uint8_t id, const char *type6)
{
    uint8_t *e = mpc_add(t, 1, 8);

    e[1] = id;
    memcpy(e + 2, type6, 6);
}

static void mpc_ioapic(struct mpc *t, uint8_t id, uint8_t flags, uint32_t addr)
{
    uint8_t *e = mpc_add(t, 2, 8);

    e[1] = id;
    e[2] = 0x11;
    e[3] = flags;
    put32(e + 4, addr);
}

/* I/O (type 3) or local (type 4) interrupt assignment. */
static void mpc_int(struct mpc *t, uint8_t type, uint8_t itype, uint16_t flags, uint8_t bus,
                    uint8_t irq, uint8_t dest, uint8_t pin)
{
    uint8_t *e = mpc_add(t, type, 8);

    e[1] = itype;
    put16(e + 2, flags);
    e[4] = bus;
    e[5] = irq;
    e[6] = dest;
    e[7] = pin;
}

/* Config table at MPC_AT, floating pointer at fp_at. */
static void mpc_place(struct fw *f, struct mpc *t, uint64_t fp_at, uint8_t feature1,
                      uint8_t feature2)
{
    uint8_t *p = fw_ptr(f, MPC_AT, t->len), *fp = fw_ptr(f, fp_at, 16);

    memcpy(p, t->buf, t->len);
    memcpy(p, "PCMP", 4);
    put16(p + 4, (uint16_t)t->len);
    p[6] = 4;
    memcpy(p + 8, "ZEBUMPOEM", 8);
    memcpy(p + 16, "TESTBOARD   ", 12);
    put16(p + 34, t->count);
    put32(p + 36, LAPIC_BASE);
    fix_checksum(p, t->len, 7);

    memset(fp, 0, 16);
    memcpy(fp, "_MP_", 4);
    put32(fp + 4, MPC_AT);
    fp[8] = 1;
    fp[9] = 4;
    fp[11] = feature1;
    fp[12] = feature2;
    fix_checksum(fp, 16, 10);
}

/*
 * Four enabled CPUs (APIC 0 the BSP) and one disabled, ISA bus 0 and PCI bus
 * 1, I/O APIC 8 (and a disabled 9); ISA IRQ 0 on pin 2 and IRQ 9 level/active-low (overrides),
 * IRQ 1 on pin 1 (identity: none), ExtINT and PCI entries (ignored), NMI on
 * LINT1 of every CPU.
 */
static void mp_world(struct fw *f, uint64_t fp_at)
{
    struct mpc t;

    mpc_init(&t);
    mpc_cpu(&t, 0, 3);
    for (uint8_t i = 1; i < 4; i++)
        mpc_cpu(&t, i, 1);
    mpc_cpu(&t, 4, 0);
    mpc_bus(&t, 0, "ISA   ");
    mpc_bus(&t, 1, "PCI   ");
    mpc_ioapic(&t, 8, 1, 0xFEC00000);
    mpc_ioapic(&t, 9, 0, 0xFEC01000); /* not usable */
    mpc_int(&t, 3, 3, 0, 0, 0, 8, 0); /* ExtINT: the 8259 on pin 0 */
    mpc_int(&t, 3, 0, 0, 0, 0, 8, 2);
    mpc_int(&t, 3, 0, 0, 0, 1, 8, 1);
    mpc_int(&t, 3, 0, 0xF, 0, 9, 8, 9);
    mpc_int(&t, 3, 0, 0xF, 1, 0x10, 8, 16); /* PCI device interrupt */
    mpc_int(&t, 4, 3, 0, 0, 0, 0xFF, 0);    /* ExtINT on LINT0 */
    mpc_int(&t, 4, 1, 0, 0, 0, 0xFF, 1);    /* NMI on LINT1 */
    mpc_place(f, &t, fp_at, 0, 0x80);
}

/* --- RSDP search --------------------------------------------------------------------------- */

TEST(acpi_rsdp_found_in_ebda)
{
    struct fw *f = fw_new();
    uint64_t rsdp = 0;

    make_rsdp(f, EBDA + 0x40, 0, 0x1000, 0);
    make_rsdp(f, RSDP_AT, 0, 0x1000, 0);
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), 0);
    CHECK_UINT_EQ(rsdp, EBDA + 0x40);
    fw_free(f);
}

TEST(acpi_rsdp_found_in_bios_area)
{
    struct fw *f = fw_new();
    uint64_t rsdp = 0;

    make_rsdp(f, RSDP_AT, 2, 0x1000, 0x2000);
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), 0);
    CHECK_UINT_EQ(rsdp, RSDP_AT);
    /* No EBDA at all (segment 0): the BIOS area is still searched. */
    put16(f->low + 0x40E, 0);
    rsdp = 0;
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), 0);
    CHECK_UINT_EQ(rsdp, RSDP_AT);
    /* First and last 16-byte slots of the area. */
    memset(f->low + RSDP_AT, 0, 36);
    make_rsdp(f, 0xFFFE0, 0, 0x1000, 0);
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), 0);
    CHECK_UINT_EQ(rsdp, 0xFFFE0);
    make_rsdp(f, 0xE0000, 0, 0x1000, 0);
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), 0);
    CHECK_UINT_EQ(rsdp, 0xE0000);
    fw_free(f);
}

TEST(acpi_rsdp_bad_checksums_skipped)
{
    struct fw *f = fw_new();
    uint64_t rsdp = 0;

    make_rsdp(f, EBDA, 0, 0x1000, 0);
    f->low[EBDA + 8] ^= 1; /* bad ACPI 1.0 checksum */
    make_rsdp(f, 0xE0000, 0, 0x1000, 0);
    f->low[0xE0000 + 16] ^= 1; /* field changed after checksumming */
    make_rsdp(f, 0xE0010, 2, 0x1000, 0x2000);
    f->low[0xE0010 + 33] = 0x55; /* reserved byte: only the extended checksum catches it */
    make_rsdp(f, 0xE0040, 2, 0x1000, 0x2000);
    put32(f->low + 0xE0040 + 20, 20); /* v2 length below 36 */
    fix_checksum(f->low + 0xE0040, 20, 8);
    make_rsdp(f, 0xF0010, 0, 0x1000, 0);
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), 0);
    CHECK_UINT_EQ(rsdp, 0xF0010);
    fw_free(f);
}

TEST(acpi_rsdp_none_or_cut_off)
{
    struct fw *f = fw_new();
    uint64_t rsdp = 0;

    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), -ENOENT);
    /* Signatures in the last slot of each area: too short to hold an RSDP. */
    memcpy(f->low + 0xFFFF0, "RSD PTR ", 8);
    memcpy(f->low + EBDA + 0x3F0, "RSD PTR ", 8);
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), -ENOENT);
    /* A revision 2 RSDP whose length field runs past the end of the area. */
    make_rsdp(f, 0xFFFD0, 2, 0x1000, 0x2000);
    put32(f->low + 0xFFFD0 + 20, 0x40);
    fix_checksum(f->low + 0xFFFD0, 20, 8);
    fix_checksum(f->low + 0xFFFD0, 36, 32);
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), -ENOENT);
    memset(f->low + 0xFFFD0, 0, 16);
    /* A revision 2 RSDP with room for its 1.0 part but not for the rest. */
    memcpy(f->low + 0xFFFE0, "RSD PTR ", 8);
    f->low[0xFFFE0 + 15] = 2;
    fix_checksum(f->low + 0xFFFE0, 20, 8);
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), -ENOENT);
    /* An EBDA whose first KiB would run past 640K is scanned only up to 640K. */
    put16(f->low + 0x40E, 0x9FF0);
    memcpy(f->low + 0x9FFF0, "RSD PTR ", 8);
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), -ENOENT);
    /* A garbage EBDA segment (inside the BDA) is ignored. */
    put16(f->low + 0x40E, 0x0010);
    make_rsdp(f, 0x100, 0, 0x1000, 0);
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), -ENOENT);
    f->fail_all = 1;
    CHECK_INT_EQ(do_find_rsdp(f, &rsdp), -ENOENT);
    fw_free(f);
}

TEST(acpi_parse_rejects_bad_rsdp)
{
    struct fw *f = fw_new();
    uint64_t madt = simple_madt(f, 1);

    acpi_world_v1(f, &madt, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT + 16), -EINVAL); /* nothing there */
    CHECK_INT_EQ(do_acpi_parse(f, 0), -EINVAL);
    CHECK_INT_EQ(do_acpi_parse(f, 0xFFFFFFFFFFFFFFF8ull), -EINVAL); /* phys + len overflows */
    CHECK_INT_EQ(do_acpi_parse(f, 0xFFFF0), -EINVAL);               /* runs off the end */
    CHECK_INT_EQ(pi.ncpus, 0);
    f->low[RSDP_AT + 8] ^= 1;
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -EINVAL);
    make_rsdp(f, RSDP_AT, 2, 0, 0);
    f->low[RSDP_AT + 32] ^= 1; /* extended checksum */
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -EINVAL);
    make_rsdp(f, RSDP_AT, 2, 0, 0);
    put32(f->low + RSDP_AT + 20, 20); /* v2 length below the v2 structure */
    fix_checksum(f->low + RSDP_AT, 20, 8);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -EINVAL);
    /* A revision 2 RSDP whose 1.0 part ends at 1 MiB, the end of readable memory. */
    memcpy(f->low + 0xFFFEC, "RSD PTR ", 8);
    f->low[0xFFFEC + 15] = 2;
    fix_checksum(f->low + 0xFFFEC, 20, 8);
    CHECK_INT_EQ(do_acpi_parse(f, 0xFFFEC), -EINVAL);
    fw_free(f);
}

/* --- MADT ---------------------------------------------------------------------------------- */

TEST(acpi_madt_one_cpu)
{
    struct fw *f = fw_new();
    uint64_t madt = simple_madt(f, 1);

    acpi_world_v1(f, &madt, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_STR_EQ(pi.source, "acpi");
    CHECK_UINT_EQ(pi.rsdp, RSDP_AT);
    CHECK_INT_EQ(pi.acpi_revision, 0);
    CHECK_STR_EQ(pi.oem_id, "ZEBUFW");
    CHECK_UINT_EQ(pi.lapic_addr, LAPIC_BASE);
    CHECK_INT_EQ(pi.pcat_compat, 1);
    CHECK_INT_EQ(pi.ncpus, 1);
    CHECK_INT_EQ(pi.ncpus_disabled, 0);
    CHECK_UINT_EQ(pi.cpus[0].apic_id, 0);
    CHECK_INT_EQ(pi.cpus[0].enabled, 1);
    CHECK_INT_EQ(pi.cpus[0].x2apic, 0);
    CHECK_INT_EQ(pi.nioapics, 1);
    CHECK_UINT_EQ(pi.ioapics[0].addr, 0xFEC00000);
    CHECK_INT_EQ(pi.noverrides, 0);
    CHECK_UINT_EQ(pi.mcfg_base, 0);
    CHECK_INT_EQ(pi.bad_checksums, 0);
    CHECK_INT_EQ(pi.truncated, 0);
    fw_free(f);
}

TEST(acpi_madt_eight_cpus_mixed)
{
    struct fw *f = fw_new();
    struct madt t;
    uint64_t madt;

    madt_init(&t, LAPIC_BASE, 0);
    for (uint8_t i = 0; i < 6; i++)
        /* Online Capable is reserved when Enabled is set: entry 5 sets it anyway. */
        madt_lapic(&t, (uint8_t)(10 + i), (uint8_t)(2 * i), i == 5 ? 3 : 1);
    madt_lapic(&t, 16, 12, 2); /* online capable */
    madt_lapic(&t, 17, 14, 0); /* disabled */
    madt = madt_place(f, &t);
    acpi_world_v1(f, &madt, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.pcat_compat, 0);
    CHECK_INT_EQ(pi.ncpus, 7);
    CHECK_INT_EQ(pi.ncpus_disabled, 1);
    for (int i = 0; i < 6; i++) {
        CHECK_UINT_EQ(pi.cpus[i].apic_id, 2 * i);
        CHECK_UINT_EQ(pi.cpus[i].uid, 10 + i);
        CHECK_INT_EQ(pi.cpus[i].enabled, 1);
        CHECK_INT_EQ(pi.cpus[i].online_capable, 0);
    }
    CHECK_UINT_EQ(pi.cpus[6].apic_id, 12);
    CHECK_INT_EQ(pi.cpus[6].enabled, 0);
    CHECK_INT_EQ(pi.cpus[6].online_capable, 1);
    CHECK_INT_EQ(pi.truncated, 0);
    fw_free(f);
}

TEST(acpi_madt_255_cpus)
{
    struct fw *f = fw_new();
    struct madt t;
    uint64_t madt;
    int want = 0, want_disabled = 0, want_online = 0, got_online = 0;

    madt_init(&t, LAPIC_BASE, 1);
    for (int i = 0; i < 255; i++) {
        uint32_t flags = i % 10 == 3 ? 0 : i % 7 == 5 ? 2 : 1;

        madt_lapic(&t, (uint8_t)(254 - i), (uint8_t)i, flags);
        want += flags != 0;
        want_disabled += flags == 0;
        want_online += flags == 2;
    }
    madt = madt_place(f, &t);
    acpi_world_v1(f, &madt, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.ncpus, want);
    CHECK_INT_EQ(pi.ncpus_disabled, want_disabled);
    for (int i = 0; i < pi.ncpus; i++) {
        got_online += pi.cpus[i].online_capable;
        CHECK_UINT_EQ(pi.cpus[i].uid, 254 - pi.cpus[i].apic_id);
    }
    CHECK_INT_EQ(got_online, want_online);
    CHECK_UINT_EQ(pi.cpus[pi.ncpus - 1].apic_id, 254);
    CHECK_INT_EQ(pi.truncated, 0);
    fw_free(f);
}

TEST(acpi_madt_too_many_cpus)
{
    struct fw *f = fw_new();
    struct madt t;
    uint64_t madt;

    madt_init(&t, LAPIC_BASE, 1);
    for (uint32_t i = 0; i < 300; i++)
        madt_x2apic(&t, 1000 + i, 1, i);
    madt_ioapic(&t, 1, 0xFEC00000, 0); /* still seen after the CPU array filled */
    madt = madt_place(f, &t);
    acpi_world_v1(f, &madt, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.ncpus, ACPI_MAX_CPUS);
    CHECK_INT_EQ(pi.truncated, 300 - ACPI_MAX_CPUS);
    CHECK_UINT_EQ(pi.cpus[ACPI_MAX_CPUS - 1].apic_id, 1000 + ACPI_MAX_CPUS - 1);
    CHECK_INT_EQ(pi.nioapics, 1);
    fw_free(f);
}

TEST(acpi_madt_x2apic_dedup)
{
    struct fw *f = fw_new();
    struct madt t;
    uint64_t madt;

    madt_init(&t, LAPIC_BASE, 1);
    for (uint8_t i = 0; i < 4; i++)
        madt_lapic(&t, i, i, 1);
    for (uint32_t i = 0; i < 4; i++)
        madt_x2apic(&t, i, 1, 100 + i); /* the same four CPUs again */
    madt_x2apic(&t, 256, 1, 200);
    madt_x2apic(&t, 300, 2, 201);
    madt_x2apic(&t, 301, 0, 202);
    madt_x2apic(&t, 256, 1, 203); /* duplicate x2APIC entry */
    madt = madt_place(f, &t);
    acpi_world_v1(f, &madt, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.ncpus, 6);
    CHECK_INT_EQ(pi.ncpus_disabled, 1);
    for (int i = 0; i < 4; i++) {
        CHECK_UINT_EQ(pi.cpus[i].apic_id, i);
        CHECK_UINT_EQ(pi.cpus[i].uid, i);
        CHECK_INT_EQ(pi.cpus[i].x2apic, 0);
    }
    CHECK_UINT_EQ(pi.cpus[4].apic_id, 256);
    CHECK_UINT_EQ(pi.cpus[4].uid, 200);
    CHECK_INT_EQ(pi.cpus[4].x2apic, 1);
    CHECK_INT_EQ(pi.cpus[4].enabled, 1);
    CHECK_UINT_EQ(pi.cpus[5].apic_id, 300);
    CHECK_INT_EQ(pi.cpus[5].online_capable, 1);
    fw_free(f);
}

TEST(acpi_madt_ioapics_overrides_nmis)
{
    struct fw *f = fw_new();
    struct madt t;
    uint64_t madt;

    madt_init(&t, LAPIC_BASE, 1);
    madt_lapic(&t, 0, 0, 1);
    madt_ioapic(&t, 2, 0xFEC00000, 0);
    madt_ioapic(&t, 3, 0xFEC01000, 24);
    madt_iso(&t, 0, 2, 0);
    madt_iso(&t, 9, 9, 0xD); /* level, active high */
    madt_nmi(&t, 0xFF, 5, 1);
    madt_nmi(&t, 0, 0, 0);
    madt_x2nmi(&t, 0xFFFFFFFF, 0, 1);
    madt_add(&t, 3, 8);  /* NMI source: skipped */
    madt_add(&t, 20, 4); /* unknown type: skipped by its length */
    madt = madt_place(f, &t);
    acpi_world_v1(f, &madt, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.nioapics, 2);
    CHECK_UINT_EQ(pi.ioapics[1].id, 3);
    CHECK_UINT_EQ(pi.ioapics[1].addr, 0xFEC01000);
    CHECK_UINT_EQ(pi.ioapics[1].gsi_base, 24);
    CHECK_INT_EQ(pi.noverrides, 2);
    CHECK_UINT_EQ(pi.overrides[0].source_irq, 0);
    CHECK_UINT_EQ(pi.overrides[0].gsi, 2);
    CHECK_UINT_EQ(pi.overrides[1].source_irq, 9);
    CHECK_UINT_EQ(pi.overrides[1].gsi, 9);
    CHECK_UINT_EQ(pi.overrides[1].flags, 0xD);
    CHECK_INT_EQ(pi.nnmis, 3);
    CHECK_UINT_EQ(pi.nmis[0].uid, ACPI_NMI_ALL_CPUS);
    CHECK_UINT_EQ(pi.nmis[0].flags, 5);
    CHECK_UINT_EQ(pi.nmis[0].lint, 1);
    CHECK_UINT_EQ(pi.nmis[1].uid, 0);
    CHECK_UINT_EQ(pi.nmis[2].uid, ACPI_NMI_ALL_CPUS);
    CHECK_UINT_EQ(pi.nmis[2].lint, 1);
    CHECK_INT_EQ(pi.truncated, 0);
    fw_free(f);
}

TEST(acpi_madt_array_limits)
{
    struct fw *f = fw_new();
    struct madt t;
    uint64_t madt;

    madt_init(&t, LAPIC_BASE, 1);
    madt_lapic(&t, 0, 0, 1);
    for (int i = 0; i < ACPI_MAX_IOAPICS + 2; i++)
        madt_ioapic(&t, (uint8_t)i, 0xFEC00000 + 0x1000 * (uint32_t)i, 24 * (uint32_t)i);
    for (int i = 0; i < ACPI_MAX_OVERRIDES + 3; i++)
        madt_iso(&t, (uint8_t)i, (uint32_t)i + 1, 0);
    for (int i = 0; i < ACPI_MAX_NMIS + 1; i++)
        madt_nmi(&t, (uint8_t)i, 0, 1);
    madt = madt_place(f, &t);
    acpi_world_v1(f, &madt, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.nioapics, ACPI_MAX_IOAPICS);
    CHECK_INT_EQ(pi.noverrides, ACPI_MAX_OVERRIDES);
    CHECK_INT_EQ(pi.nnmis, ACPI_MAX_NMIS);
    CHECK_INT_EQ(pi.truncated, 6);
    fw_free(f);
}

TEST(acpi_madt_lapic_address_override)
{
    struct fw *f = fw_new();
    struct madt t;
    uint64_t madt;

    madt_init(&t, LAPIC_BASE, 1);
    madt_lapic_override(&t, 0x1FEE00000ull);
    madt_lapic(&t, 0, 0, 1);
    madt = madt_place(f, &t);
    acpi_world_v1(f, &madt, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_UINT_EQ(pi.lapic_addr, 0x1FEE00000ull);
    CHECK_INT_EQ(pi.ncpus, 1);
    fw_free(f);
}

TEST(acpi_madt_bad_checksum)
{
    struct fw *f = fw_new();
    uint64_t madt[2];

    madt[0] = simple_madt(f, 2);
    fw_ptr(f, madt[0], 44)[40] ^= 2; /* flags changed after checksumming */
    acpi_world_v1(f, madt, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -ENOENT);
    CHECK_INT_EQ(pi.bad_checksums, 1);
    CHECK_INT_EQ(pi.ncpus, 0);
    CHECK_UINT_EQ(pi.rsdp, RSDP_AT);
    /* A valid MADT listed after the bad one is used. */
    madt[1] = simple_madt(f, 3);
    acpi_world_v1(f, madt, 2);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.bad_checksums, 1);
    CHECK_INT_EQ(pi.ncpus, 3);
    fw_free(f);
}

TEST(acpi_root_tables)
{
    struct fw *f = fw_new();
    uint64_t tables[3];
    uint8_t *rsdt;

    tables[0] = simple_madt(f, 1);
    tables[1] = 0;                    /* null entry */
    tables[2] = TABLES_BASE - 0x1000; /* unreadable */
    acpi_world_v1(f, tables, 3);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.ncpus, 1);
    CHECK_INT_EQ(pi.truncated, 2);
    /* Bad RSDT checksum: no tables at all. */
    rsdt = fw_ptr(f, get32(f->low + RSDP_AT + 16), 36);
    rsdt[20] ^= 1;
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -ENOENT);
    CHECK_INT_EQ(pi.bad_checksums, 1);
    /* An RSDT pointer to something else, and no RSDT at all. */
    make_rsdp(f, RSDP_AT, 0, (uint32_t)tables[0], 0);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -ENOENT);
    CHECK_INT_EQ(pi.bad_checksums + pi.truncated, 0);
    make_rsdp(f, RSDP_AT, 0, 0, 0);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -ENOENT);
    /* A partial pointer after the last whole one is counted. */
    make_rsdp(f, RSDP_AT, 0, (uint32_t)make_root(f, 4, tables, 1), 0);
    rsdt = fw_ptr(f, get32(f->low + RSDP_AT + 16), 40);
    put32(rsdt + 4, 38);
    sdt_fix(rsdt);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -ENOENT);
    CHECK_INT_EQ(pi.truncated, 1);
    fw_free(f);
}

TEST(acpi_fadt_flags)
{
    struct fw *f = fw_new();
    uint64_t tables[2];

    /* QEMU microvm, Firecracker: hardware-reduced (bit 20). A PC: not. */
    tables[0] = simple_madt(f, 1);
    tables[1] = make_fadt(f, 276, (1u << 20) | (1u << 10));
    acpi_world_v1(f, tables, 2);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.fadt, 1);
    CHECK_UINT_EQ(pi.fadt_flags & ACPI_FADT_HW_REDUCED, ACPI_FADT_HW_REDUCED);
    tables[1] = make_fadt(f, 116, 0x4A5);
    acpi_world_v1(f, tables, 2);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.fadt, 1);
    CHECK_UINT_EQ(pi.fadt_flags, 0x4A5);
    /* One byte short of the Flags field: no FADT, counted. No FADT listed: none. */
    tables[1] = make_fadt(f, 115, 0);
    acpi_world_v1(f, tables, 2);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.fadt, 0);
    CHECK_INT_EQ(pi.truncated, 1);
    acpi_world_v1(f, tables, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.fadt + pi.truncated, 0);
    fw_free(f);
}

/* A virtio-mmio device as QEMU microvm writes it in AML: Device (VRnn) {
 * Name (_HID, "LNRO0005"), Name (_UID, n), Name (_CCA, 1), Name (_CRS,
 * ResourceTemplate () { Memory32Fixed (ReadWrite, base, 0x200),
 * Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { gsi } }) }.
 * Returns the bytes written to p; with_irq 0 leaves the interrupt out. */
static size_t aml_virtio_dev(uint8_t *p, int n, uint32_t base, uint32_t gsi, int with_irq)
{
    size_t i = 0;
    uint8_t body[] = {0x08, '_', 'H', 'I', 'D', 0x0D, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0,
                      0x08, '_', 'U', 'I', 'D', 0x0A, (uint8_t)n,
                      0x08, '_', 'C', 'C', 'A', 0x01,
                      0x08, '_', 'C', 'R', 'S', 0x11, 0x1A, 0x0A, 0x17};
    p[i++] = 0x5B; /* DeviceOp */
    p[i++] = 0x82;
    p[i++] = 0x3F; /* PkgLength (not checked by the scan) */
    memcpy(p + i, "VR0", 3);
    p[i + 3] = (uint8_t)('0' + n);
    i += 4;
    memcpy(p + i, body, sizeof(body));
    i += sizeof(body);
    p[i++] = 0x86; p[i++] = 0x09; p[i++] = 0x00; p[i++] = 0x01;
    put32(p + i, base); put32(p + i + 4, 0x200); i += 8;
    if (with_irq) {
        p[i++] = 0x89; p[i++] = 0x06; p[i++] = 0x00; p[i++] = 0x0B; p[i++] = 0x01;
        put32(p + i, gsi); i += 4;
    }
    p[i++] = 0x79; p[i++] = 0x00; /* end tag */
    return i;
}

/* A DSDT holding `n` devices (the one at `no_irq`, if any, without an
 * interrupt), and a FADT naming it through DSDT (xdsdt 0) or X_DSDT. */
static void virtio_world(struct fw *f, int n, int no_irq, int xdsdt, size_t cut)
{
    uint8_t aml[1024];
    size_t len = 36;
    uint64_t tables[1];

    for (int k = 0; k < n; k++)
        len += aml_virtio_dev(aml + len, k, 0xFEB00000u + 0x200u * (uint32_t)k, 16u + (uint32_t)k,
                              k != no_irq);
    len -= cut;
    uint64_t dsdt = fw_alloc(f, len);
    uint8_t *d = fw_ptr(f, dsdt, len);
    memcpy(d + 36, aml + 36, len - 36);
    sdt_header(d, "DSDT", (uint32_t)len);
    sdt_fix(d);
    tables[0] = make_fadt(f, 276, 1u << 20);
    uint8_t *fadt = fw_ptr(f, tables[0], 276);
    if (xdsdt)
        put64(fadt + 140, dsdt);
    else
        put32(fadt + 40, (uint32_t)dsdt);
    sdt_fix(fadt);
    acpi_world_v1(f, tables, 1);
}

static int do_find_virtio(struct fw *f, struct acpi_virtio_mmio *out, int max)
{
    struct acpi_mem m = fw_mem(f);
    int rc = acpi_find_virtio_mmio(&m, RSDP_AT, out, max);

    fw_unmap_all(f);
    return rc;
}

TEST(acpi_virtio_mmio_in_dsdt)
{
    struct acpi_virtio_mmio v[4];
    struct fw *f = fw_new();

    virtio_world(f, 3, -1, 0, 0);
    CHECK_INT_EQ(do_find_virtio(f, v, 4), 3);
    CHECK_UINT_EQ(v[0].base, 0xFEB00000u);
    CHECK_UINT_EQ(v[0].size, 0x200);
    CHECK_UINT_EQ(v[0].gsi, 16);
    CHECK_UINT_EQ(v[2].base, 0xFEB00400u);
    CHECK_UINT_EQ(v[2].gsi, 18);
    CHECK_INT_EQ(do_find_virtio(f, v, 2), 2); /* no more than asked for */
    fw_free(f);

    /* Through X_DSDT; a device without its interrupt is skipped. */
    f = fw_new();
    virtio_world(f, 3, 1, 1, 0);
    CHECK_INT_EQ(do_find_virtio(f, v, 4), 2);
    CHECK_UINT_EQ(v[1].base, 0xFEB00400u);
    fw_free(f);

    /* The last device cut off inside its interrupt descriptor: not read past. */
    f = fw_new();
    virtio_world(f, 2, -1, 0, 5);
    CHECK_INT_EQ(do_find_virtio(f, v, 4), 1);
    fw_free(f);

    /* No DSDT named by the FADT. */
    f = fw_new();
    uint64_t tables[1] = {make_fadt(f, 276, 0)};
    acpi_world_v1(f, tables, 1);
    CHECK_INT_EQ(do_find_virtio(f, v, 4), -ENOENT);
    fw_free(f);
}

/* ---- virtio-mmio devices from the command line (drivers/platform_devices.c) ---- */

TEST(platform_virtio_mmio_entry_syntax)
{
    struct acpi_virtio_mmio d;

    CHECK_INT_EQ(platform_parse_virtio_mmio("512@0xfeb00e00:12", &d), 0);
    CHECK_UINT_EQ(d.base, 0xFEB00E00u);
    CHECK_UINT_EQ(d.size, 512);
    CHECK_UINT_EQ(d.gsi, 12);
    /* Size suffixes, Linux's optional device id, the end of the word. */
    CHECK_INT_EQ(platform_parse_virtio_mmio("4K@0xd0000000:5:3 rest", &d), 0);
    CHECK_UINT_EQ(d.size, 4096);
    CHECK_UINT_EQ(d.gsi, 5);
    CHECK_INT_EQ(platform_parse_virtio_mmio("1m@4096:7", &d), 0);
    CHECK_UINT_EQ(d.size, 1u << 20);
    CHECK_UINT_EQ(d.base, 4096);
    /* Refused: a missing part, a zero size or base, an IRQ past 255, a sign,
     * anything after the last number. */
    static const char *const bad[] = {
        "", "garbage", "512", "512@", "512@0x1000", "512@0x1000:", "0@0x1000:5",
        "512@0:5", "512@0x1000:256", "-1@0x1000:5", "512@-4096:5", "512@0x1000:5x",
        "512G@0x1000:5", "512@0x1000:5:", "99999999999@0x1000:5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT_EQ(platform_parse_virtio_mmio(bad[i], &d), -EINVAL);
}

TEST(platform_virtio_mmio_from_the_command_line)
{
    struct virtio_mmio_list l;
    const char *line = "ip=10.0.0.2/24 virtio_mmio.device=512@0xfeb00e00:12 "
                       "xvirtio_mmio.device=512@0x1000:1 virtio_mmio.device=garbage "
                       "virtio_mmio.device=4K@0xfeb01000:13\tverbose";

    /* m NULL: no ACPI to fall back on. Words that merely contain the key
     * are not entries; a malformed one is counted and pointed at. */
    CHECK_INT_EQ(platform_find_virtio_mmio(line, NULL, 0, &l), 2);
    CHECK_STR_EQ(l.source, "cmdline");
    CHECK_UINT_EQ(l.dev[0].base, 0xFEB00E00u);
    CHECK_UINT_EQ(l.dev[1].base, 0xFEB01000u);
    CHECK_UINT_EQ(l.dev[1].gsi, 13);
    CHECK_INT_EQ(l.malformed, 1);
    CHECK(strncmp(l.first_malformed, "virtio_mmio.device=garbage ", 27) == 0);
    CHECK_INT_EQ(l.dropped, 0);

    /* More than the list holds: the rest are counted, not written. */
    char many[1024] = "";
    for (int i = 0; i < PLATFORM_MAX_VIRTIO_MMIO + 3; i++) {
        char w[64];
        snprintf(w, sizeof(w), " virtio_mmio.device=512@0x%x:%d", 0x10000 + 0x200 * i, 5 + i);
        strcat(many, w);
    }
    CHECK_INT_EQ(platform_find_virtio_mmio(many, NULL, 0, &l), PLATFORM_MAX_VIRTIO_MMIO);
    CHECK_INT_EQ(l.dropped, 3);

    CHECK_INT_EQ(platform_find_virtio_mmio("quiet", NULL, 0, &l), 0);
    CHECK_STR_EQ(l.source, "none");
}

TEST(platform_virtio_mmio_from_the_dsdt_when_the_line_lists_none)
{
    struct virtio_mmio_list l;
    struct fw *f = fw_new();
    struct acpi_mem m;

    virtio_world(f, 3, -1, 0, 0);
    m = fw_mem(f);
    /* Only a malformed entry on the line: the DSDT's devices. */
    CHECK_INT_EQ(platform_find_virtio_mmio("virtio_mmio.device=bad", &m, RSDP_AT, &l), 3);
    fw_unmap_all(f);
    CHECK_STR_EQ(l.source, "acpi");
    CHECK_INT_EQ(l.malformed, 1);
    CHECK_UINT_EQ(l.dev[2].base, 0xFEB00400u);
    CHECK_UINT_EQ(l.dev[2].gsi, 18);
    /* A line that lists one wins over the DSDT. */
    m = fw_mem(f);
    CHECK_INT_EQ(platform_find_virtio_mmio("virtio_mmio.device=512@0xd0000000:9", &m, RSDP_AT,
                                           &l), 1);
    fw_unmap_all(f);
    CHECK_STR_EQ(l.source, "cmdline");
    CHECK_UINT_EQ(l.dev[0].base, 0xD0000000u);
    fw_free(f);
}

/* The FADT's fixed PM blocks (5.2.9), as QEMU's pc machine (PIIX4 PM) has
 * them: SCI on IRQ 9, SMI_CMD 0xB2 with ACPI_ENABLE 0xF1, PM1a event and
 * control blocks at 0x600 and 0x604, 4-byte event blocks. */
TEST(acpi_fadt_pm_blocks)
{
    struct fw *f = fw_new();
    uint64_t tables[2];

    tables[0] = simple_madt(f, 1);
    tables[1] = make_fadt(f, 116, 0);
    uint8_t *p = fw_ptr(f, tables[1], 116);
    p[46] = 9;
    put32(p + 48, 0xB2);
    p[52] = 0xF1;
    put32(p + 56, 0x600);
    put32(p + 64, 0x604);
    p[88] = 4;
    sdt_fix(p);
    acpi_world_v1(f, tables, 2);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_UINT_EQ(pi.pm.sci_irq, 9);
    CHECK_UINT_EQ(pi.pm.smi_cmd, 0xB2);
    CHECK_UINT_EQ(pi.pm.acpi_enable, 0xF1);
    CHECK_UINT_EQ(pi.pm.pm1a_evt, 0x600);
    CHECK_UINT_EQ(pi.pm.pm1a_cnt, 0x604);
    CHECK_UINT_EQ(pi.pm.pm1b_evt + pi.pm.pm1b_cnt, 0);
    CHECK_UINT_EQ(pi.pm.pm1_evt_len, 4);
    CHECK_INT_EQ(pi.pm.s5, 0); /* that takes the DSDT: acpi_find_s5 */
    fw_free(f);
}

/* A FADT naming a DSDT whose body is aml[0, n). */
static void s5_world(struct fw *f, const uint8_t *aml, size_t n)
{
    size_t len = 36 + n;
    uint64_t dsdt = fw_alloc(f, len), tables[1];
    uint8_t *d = fw_ptr(f, dsdt, len);

    memcpy(d + 36, aml, n);
    sdt_header(d, "DSDT", (uint32_t)len);
    sdt_fix(d);
    tables[0] = make_fadt(f, 116, 0);
    uint8_t *fadt = fw_ptr(f, tables[0], 116);
    put32(fadt + 40, (uint32_t)dsdt);
    sdt_fix(fadt);
    acpi_world_v1(f, tables, 1);
}

static int do_find_s5(const uint8_t *aml, size_t n, struct acpi_pm *pm)
{
    struct fw *f = fw_new();
    s5_world(f, aml, n);
    struct acpi_mem m = fw_mem(f);
    memset(pm, 0, sizeof(*pm));
    int rc = acpi_find_s5(&m, RSDP_AT, pm);
    fw_unmap_all(f);
    fw_free(f);
    return rc;
}

/* Name(\_S5, Package(){...}) in the integer encodings firmware uses (ACPI
 * 6.5, 7.4.2; 20.2.3 ByteConst, WordConst, ZeroOp, OneOp). */
TEST(acpi_s5_sleep_types_from_the_dsdt)
{
    struct acpi_pm pm;
    /* QEMU pc (SeaBIOS tables): Name(\_S5, Package(4){Zero, Zero, Zero,
     * Zero}) after an unrelated name that mentions _S5_ in a string. */
    static const uint8_t qemu[] = {0x0D, '_', 'S', '5', '_', 0x00,
                                   0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04,
                                   0x00, 0x00, 0x00, 0x00};
    CHECK_INT_EQ(do_find_s5(qemu, sizeof(qemu), &pm), 0);
    CHECK_INT_EQ(pm.s5, 1);
    CHECK_UINT_EQ(pm.s5_typa, 0);
    CHECK_UINT_EQ(pm.s5_typb, 0);
    /* A PC's: Name(_S5_, Package(){0x07, One}) with byte constants. */
    static const uint8_t pc[] = {0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x02, 0x0A, 0x07, 0x01};
    CHECK_INT_EQ(do_find_s5(pc, sizeof(pc), &pm), 0);
    CHECK_UINT_EQ(pm.s5_typa, 7);
    CHECK_UINT_EQ(pm.s5_typb, 1);
    /* A word constant, and a two-byte PkgLength. */
    static const uint8_t word[] = {0x08, '_', 'S', '5', '_', 0x12, 0x40, 0x01, 0x02,
                                   0x0B, 0x05, 0x00, 0x0A, 0x05};
    CHECK_INT_EQ(do_find_s5(word, sizeof(word), &pm), 0);
    CHECK_UINT_EQ(pm.s5_typa, 5);
    CHECK_UINT_EQ(pm.s5_typb, 5);
    /* Not a package, or a package of something else: refused. */
    static const uint8_t notpkg[] = {0x08, '_', 'S', '5', '_', 0x0A, 0x05};
    CHECK_INT_EQ(do_find_s5(notpkg, sizeof(notpkg), &pm), -EINVAL);
    static const uint8_t strings[] = {0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02,
                                      0x0D, 'x', 0x00};
    CHECK_INT_EQ(do_find_s5(strings, sizeof(strings), &pm), -EINVAL);
    CHECK_INT_EQ(pm.s5, 0);
    /* Cut off inside the package: not read past the table. */
    CHECK_INT_EQ(do_find_s5(pc, sizeof(pc) - 2, &pm), -EINVAL);
    /* None at all. */
    static const uint8_t none[] = {0x08, '_', 'S', '3', '_', 0x12, 0x04, 0x02, 0x01, 0x01};
    CHECK_INT_EQ(do_find_s5(none, sizeof(none), &pm), -ENOENT);
}

TEST(acpi_v2_uses_xsdt)
{
    struct fw *f = fw_new();
    struct madt t;
    uint64_t low_madt = simple_madt(f, 1), high_madt, rsdt, xsdt;

    /* The XSDT's MADT lives above 4 GiB, out of the RSDT's reach. */
    madt_init(&t, LAPIC_BASE, 1);
    madt_lapic(&t, 0, 0, 1);
    madt_lapic(&t, 1, 1, 1);
    high_madt = madt_place_at(f, &t, HIGH_BASE + 0x100);
    rsdt = make_root(f, 4, &low_madt, 1);
    xsdt = make_root(f, 8, &high_madt, 1);
    make_rsdp(f, RSDP_AT, 2, (uint32_t)rsdt, xsdt);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.acpi_revision, 2);
    CHECK_INT_EQ(pi.ncpus, 2);
    /* XSDT address 0 in a v2 RSDP: the RSDT. */
    make_rsdp(f, RSDP_AT, 2, (uint32_t)rsdt, 0);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.ncpus, 1);
    /* A broken XSDT: the RSDT, and the bad checksum counted. */
    make_rsdp(f, RSDP_AT, 2, (uint32_t)rsdt, xsdt);
    fw_ptr(f, xsdt, 44)[40] ^= 1;
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_INT_EQ(pi.ncpus, 1);
    CHECK_INT_EQ(pi.bad_checksums, 1);
    fw_free(f);
}

/* --- truncation: every table below ends exactly where the mapper's buffer does ------------ */

/* A MADT of two CPUs followed by the raw bytes given, with header length hdr_len (0: exact). */
static int parse_madt_with_tail(const uint8_t *tail, size_t n, uint32_t hdr_len)
{
    struct fw *f = fw_new();
    struct madt t;
    uint64_t madt;
    uint8_t *p;
    int rc;

    madt_init(&t, LAPIC_BASE, 1);
    madt_lapic(&t, 0, 0, 1);
    madt_lapic(&t, 1, 1, 1);
    if (n > 0)
        memcpy(t.buf + t.len, tail, n);
    t.len += n;
    madt = madt_place(f, &t);
    if (hdr_len != 0) {
        p = fw_ptr(f, madt, 36);
        put32(p + 4, hdr_len);
        sdt_fix(p);
    }
    acpi_world_v1(f, &madt, 1);
    rc = do_acpi_parse(f, RSDP_AT);
    fw_free(f);
    return rc;
}

TEST(acpi_madt_truncated_entries)
{
    static const uint8_t len0[] = {0, 0, 0, 2, 1, 0, 0, 0};
    static const uint8_t len1[] = {0, 1, 0, 2, 1, 0, 0, 0};
    static const uint8_t past_end[] = {9, 16, 0, 0, 5, 0, 0, 0};
    static const uint8_t one_byte[] = {0};
    static const uint8_t short_then_cpu[] = {1, 6, 0, 0, 0, 0, 0, 8, 2, 2, 1, 0, 0, 0};
    static const uint8_t ioapic_short[] = {1, 11, 0, 0, 0, 0, 0xC0, 0xFE, 0, 0, 0};

    CHECK_INT_EQ(parse_madt_with_tail(len0, sizeof(len0), 0), 0);
    CHECK_INT_EQ(pi.ncpus, 2);
    CHECK_INT_EQ(pi.truncated, 1);
    CHECK_INT_EQ(parse_madt_with_tail(len1, sizeof(len1), 0), 0);
    CHECK_INT_EQ(pi.ncpus, 2);
    CHECK_INT_EQ(pi.truncated, 1);
    CHECK_INT_EQ(parse_madt_with_tail(past_end, sizeof(past_end), 0), 0);
    CHECK_INT_EQ(pi.ncpus, 2);
    CHECK_INT_EQ(pi.truncated, 1);
    CHECK_INT_EQ(parse_madt_with_tail(one_byte, sizeof(one_byte), 0), 0);
    CHECK_INT_EQ(pi.ncpus, 2);
    CHECK_INT_EQ(pi.truncated, 1);
    /* A record shorter than its type needs is skipped; the walk goes on. */
    CHECK_INT_EQ(parse_madt_with_tail(short_then_cpu, sizeof(short_then_cpu), 0), 0);
    CHECK_INT_EQ(pi.nioapics, 0);
    CHECK_INT_EQ(pi.ncpus, 3);
    CHECK_INT_EQ(pi.truncated, 1);
    /* One byte short of an I/O APIC record, at the very end of the table. */
    CHECK_INT_EQ(parse_madt_with_tail(ioapic_short, sizeof(ioapic_short), 0), 0);
    CHECK_INT_EQ(pi.nioapics, 0);
    CHECK_INT_EQ(pi.truncated, 1);
    /* Header length cutting the second CPU in half. */
    CHECK_INT_EQ(parse_madt_with_tail(NULL, 0, 44 + 8 + 4), 0);
    CHECK_INT_EQ(pi.ncpus, 1);
    CHECK_INT_EQ(pi.truncated, 1);
    /* Too short for the MADT's own fields. */
    CHECK_INT_EQ(parse_madt_with_tail(NULL, 0, 40), -ENOENT);
    CHECK_INT_EQ(pi.truncated, 1);
    CHECK_INT_EQ(pi.ncpus, 0);
    /* Shorter than a table header. */
    CHECK_INT_EQ(parse_madt_with_tail(NULL, 0, 20), -ENOENT);
    CHECK_INT_EQ(pi.truncated, 1);
}

TEST(acpi_madt_length_past_mapped_memory)
{
    struct fw *f = fw_new();
    struct madt t;
    uint64_t madt, at;
    uint8_t *p;

    /* The MADT's last byte is the table area's last byte; its length claims more. */
    madt_init(&t, LAPIC_BASE, 1);
    madt_lapic(&t, 0, 0, 1);
    at = TABLES_BASE + TABLES_SIZE - t.len;
    madt = madt_place_at(f, &t, at);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -EINVAL); /* no RSDP yet */
    acpi_world_v1(f, &madt, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0); /* exact length: fine */
    p = fw_ptr(f, madt, 36);
    put32(p + 4, (uint32_t)t.len + 8);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -ENOENT);
    CHECK_INT_EQ(pi.truncated, 1);
    CHECK_INT_EQ(pi.ncpus, 0);
    put32(p + 4, 0xFFFFFFFF);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -ENOENT);
    CHECK_INT_EQ(pi.truncated, 1);
    fw_free(f);
}

/* --- MCFG ---------------------------------------------------------------------------------- */

TEST(acpi_mcfg)
{
    static const uint64_t one[][4] = {{0xB0000000, 0, 0, 255}};
    static const uint64_t two[][4] = {{0xC0000000, 1, 0, 63}, {0xE0000000, 0, 0, 127}};
    struct fw *f = fw_new();
    uint64_t tables[2];
    uint8_t *p;

    tables[0] = make_mcfg(f, 1, one);
    tables[1] = simple_madt(f, 1);
    acpi_world_v1(f, tables, 2);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_UINT_EQ(pi.mcfg_base, 0xB0000000);
    CHECK_UINT_EQ(pi.mcfg_segment, 0);
    CHECK_UINT_EQ(pi.mcfg_bus_start, 0);
    CHECK_UINT_EQ(pi.mcfg_bus_end, 255);
    /* Segment 0 is preferred over an earlier segment. */
    tables[0] = make_mcfg(f, 2, two);
    acpi_world_v1(f, tables, 2);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_UINT_EQ(pi.mcfg_base, 0xE0000000);
    CHECK_UINT_EQ(pi.mcfg_segment, 0);
    CHECK_UINT_EQ(pi.mcfg_bus_end, 127);
    /* A half allocation at the end is dropped and counted. */
    p = fw_ptr(f, tables[0], 36);
    put32(p + 4, 44 + 16 + 15); /* one byte short */
    sdt_fix(p);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), 0);
    CHECK_UINT_EQ(pi.mcfg_base, 0xC0000000);
    CHECK_UINT_EQ(pi.mcfg_segment, 1);
    CHECK_INT_EQ(pi.truncated, 1);
    /* An MCFG without a MADT is still reported. */
    acpi_world_v1(f, tables, 1);
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -ENOENT);
    CHECK_UINT_EQ(pi.mcfg_base, 0xC0000000);
    fw_free(f);
}

/* --- MP tables ----------------------------------------------------------------------------- */

static void check_mp_world(void)
{
    CHECK_STR_EQ(pi.source, "mptable");
    CHECK_UINT_EQ(pi.rsdp, 0);
    CHECK_STR_EQ(pi.oem_id, "ZEBUMP");
    CHECK_UINT_EQ(pi.lapic_addr, LAPIC_BASE);
    CHECK_INT_EQ(pi.pcat_compat, 1);
    CHECK_INT_EQ(pi.mp_imcr, 1);
    CHECK_INT_EQ(pi.ncpus, 4);
    CHECK_INT_EQ(pi.ncpus_disabled, 1);
    for (int i = 0; i < 4; i++) {
        CHECK_UINT_EQ(pi.cpus[i].apic_id, i);
        CHECK_INT_EQ(pi.cpus[i].enabled, 1);
        CHECK_INT_EQ(pi.cpus[i].bsp, i == 0);
    }
    CHECK_INT_EQ(pi.nioapics, 1);
    CHECK_UINT_EQ(pi.ioapics[0].id, 8);
    CHECK_UINT_EQ(pi.ioapics[0].addr, 0xFEC00000);
    CHECK_UINT_EQ(pi.ioapics[0].gsi_base, 0);
    CHECK_INT_EQ(pi.noverrides, 2);
    CHECK_UINT_EQ(pi.overrides[0].bus, 0);
    CHECK_UINT_EQ(pi.overrides[0].source_irq, 0);
    CHECK_UINT_EQ(pi.overrides[0].gsi, 2);
    CHECK_UINT_EQ(pi.overrides[1].source_irq, 9);
    CHECK_UINT_EQ(pi.overrides[1].flags, 0xF);
    CHECK_INT_EQ(pi.nnmis, 1);
    CHECK_UINT_EQ(pi.nmis[0].uid, ACPI_NMI_ALL_CPUS);
    CHECK_UINT_EQ(pi.nmis[0].lint, 1);
    CHECK_INT_EQ(pi.truncated, 0);
    CHECK_INT_EQ(pi.bad_checksums, 0);
}

TEST(mp_four_cpus_in_each_location)
{
    static const uint64_t where[] = {EBDA + 0x20, 0xF5A30};
    struct fw *f;

    for (size_t i = 0; i < 2; i++) {
        f = fw_new();
        mp_world(f, where[i]);
        CHECK_INT_EQ(do_mptable_parse(f), 0);
        check_mp_world();
        fw_free(f);
    }
    /* No EBDA: the last KiB of base memory, sized by the BDA, else 639K-640K. */
    f = fw_new();
    put16(f->low + 0x40E, 0);
    put16(f->low + 0x413, 512);
    mp_world(f, 511 * 1024 + 0x3F0);
    CHECK_INT_EQ(do_mptable_parse(f), 0);
    check_mp_world();
    fw_free(f);
    f = fw_new();
    put16(f->low + 0x40E, 0);
    put16(f->low + 0x413, 0);
    mp_world(f, 639 * 1024);
    CHECK_INT_EQ(do_mptable_parse(f), 0);
    check_mp_world();
    fw_free(f);
}

TEST(mp_rejects)
{
    struct fw *f = fw_new();
    uint8_t *fp = f->low + 0xF5A30;

    CHECK_INT_EQ(do_mptable_parse(f), -ENOENT);
    CHECK_STR_EQ(pi.source, "mptable");
    mp_world(f, 0xF5A30);
    fp[11] = 5; /* default configuration 5 */
    fix_checksum(fp, 16, 10);
    CHECK_INT_EQ(do_mptable_parse(f), -ENOTSUP);
    fp[11] = 0;
    fp[10] ^= 1;
    CHECK_INT_EQ(do_mptable_parse(f), -ENOENT);
    fix_checksum(fp, 16, 10);
    f->low[MPC_AT + 8] ^= 1; /* OEM id changed after checksumming */
    CHECK_INT_EQ(do_mptable_parse(f), -EINVAL);
    CHECK_INT_EQ(pi.bad_checksums, 1);
    put32(fp + 4, 0); /* no table, no default configuration */
    fix_checksum(fp, 16, 10);
    CHECK_INT_EQ(do_mptable_parse(f), -EINVAL);
    put32(fp + 4, 0xFFFF0); /* table header runs off low memory */
    fix_checksum(fp, 16, 10);
    CHECK_INT_EQ(do_mptable_parse(f), -EINVAL);
    fw_free(f);
}

TEST(mp_truncated_table)
{
    struct fw *f = fw_new();
    struct mpc t;
    uint8_t *p = f->low + MPC_AT;

    mpc_init(&t);
    mpc_cpu(&t, 0, 3);
    mpc_cpu(&t, 1, 1);
    mpc_place(f, &t, 0xF5A30, 0, 0);
    /* The entry count claims more than the table holds. */
    put16(p + 34, 3);
    fix_checksum(p, t.len, 7);
    CHECK_INT_EQ(do_mptable_parse(f), 0);
    CHECK_INT_EQ(pi.ncpus, 2);
    CHECK_INT_EQ(pi.truncated, 1);
    CHECK_INT_EQ(pi.mp_imcr, 0);
    /* The length cuts the second processor entry short. */
    put16(p + 34, 2);
    put16(p + 4, (uint16_t)(t.len - 4));
    fix_checksum(p, t.len - 4, 7);
    CHECK_INT_EQ(do_mptable_parse(f), 0);
    CHECK_INT_EQ(pi.ncpus, 1);
    CHECK_INT_EQ(pi.truncated, 1);
    /* An unknown entry type cannot be stepped over. */
    put16(p + 4, (uint16_t)t.len);
    p[44 + 20] = 9;
    fix_checksum(p, t.len, 7);
    CHECK_INT_EQ(do_mptable_parse(f), 0);
    CHECK_INT_EQ(pi.ncpus, 1);
    CHECK_INT_EQ(pi.truncated, 1);
    fw_free(f);
}

/* --- platform_discover --------------------------------------------------------------------- */

TEST(discover_prefers_acpi_and_falls_back)
{
    struct fw *f = fw_new();
    uint64_t madt = simple_madt(f, 2);

    CHECK_INT_EQ(do_discover(f, 0), -ENOENT);
    mp_world(f, 0xF5A30);
    CHECK_INT_EQ(do_discover(f, 0), 0);
    CHECK_STR_EQ(pi.source, "mptable");
    CHECK_INT_EQ(pi.ncpus, 4);
    acpi_world_v1(f, &madt, 1);
    CHECK_INT_EQ(do_discover(f, 0), 0);
    CHECK_STR_EQ(pi.source, "acpi");
    CHECK_INT_EQ(pi.ncpus, 2);
    /* ACPI without a usable MADT: the MP table. */
    fw_ptr(f, madt, 44)[40] ^= 2;
    CHECK_INT_EQ(do_discover(f, 0), 0);
    CHECK_STR_EQ(pi.source, "mptable");
    /* Neither: ACPI's error, with what it counted. */
    memset(f->low + 0xF5A30, 0, 16);
    CHECK_INT_EQ(do_discover(f, 0), -ENOENT);
    CHECK_STR_EQ(pi.source, "acpi");
    CHECK_INT_EQ(pi.bad_checksums, 1);
    /* Default-configuration MP and no ACPI: -ENOTSUP. */
    memset(f->low + RSDP_AT, 0, 20);
    mp_world(f, 0xF5A30);
    f->low[0xF5A30 + 11] = 1;
    fix_checksum(f->low + 0xF5A30, 16, 10);
    CHECK_INT_EQ(do_discover(f, 0), -ENOTSUP);
    fw_free(f);
}

TEST(discover_uses_hint)
{
    struct fw *f = fw_new();
    uint64_t madt = simple_madt(f, 3), rsdt = make_root(f, 4, &madt, 1);
    uint64_t hinted = fw_alloc(f, 36);

    /* The hinted RSDP is outside the scanned areas (as from a UEFI loader). */
    make_rsdp(f, hinted, 0, (uint32_t)rsdt, 0);
    CHECK_INT_EQ(do_discover(f, 0), -ENOENT);
    CHECK_INT_EQ(do_discover(f, hinted), 0);
    CHECK_UINT_EQ(pi.rsdp, hinted);
    CHECK_INT_EQ(pi.ncpus, 3);
    /* A bad hint: the scan finds the real one. */
    make_rsdp(f, RSDP_AT, 0, (uint32_t)rsdt, 0);
    CHECK_INT_EQ(do_discover(f, hinted + 16), 0);
    CHECK_UINT_EQ(pi.rsdp, RSDP_AT);
    fw_free(f);
}

TEST(acpi_mapper_refuses_everything)
{
    struct fw *f = fw_new();
    uint64_t madt = simple_madt(f, 1);

    acpi_world_v1(f, &madt, 1);
    mp_world(f, 0xF5A30);
    f->fail_all = 1;
    CHECK_INT_EQ(do_acpi_parse(f, RSDP_AT), -EINVAL);
    CHECK_INT_EQ(do_mptable_parse(f), -ENOENT);
    CHECK_INT_EQ(do_discover(f, RSDP_AT), -ENOENT);
    fw_free(f);
}

/* --- mutation fuzzing ---------------------------------------------------------------------- */

static uint64_t rng_state;

/* xorshift64*: a fixed seed makes every run the same. */
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* One random change inside the len bytes at p, biased toward length and type fields. */
static void mutate(uint8_t *p, size_t len)
{
    size_t at = rng() % len;

    switch (rng() % 6) {
    case 0:
        p[at] = (uint8_t)rng();
        break;
    case 1:
        p[at] ^= (uint8_t)(1u << (rng() % 8));
        break;
    case 2: /* a small length byte somewhere (an entry length, most likely) */
        p[at] = (uint8_t)(rng() % 20);
        break;
    case 3:
        if (at + 4 <= len)
            put32(p + at, (uint32_t)rng());
        break;
    case 4: /* the header length, a little off */
        if (len >= 8)
            put32(p + 4, get32(p + 4) + (uint32_t)(rng() % 33) - 16);
        break;
    case 5: /* truncate the table length to somewhere inside */
        if (len >= 8)
            put32(p + 4, (uint32_t)(rng() % (len + 1)));
        break;
    }
}

/* Checksum over the header's length where that stays inside the table area. */
static void sdt_fix_if_inside(struct fw *f, uint64_t phys)
{
    uint8_t *p = fw_ptr(f, phys, 36);
    uint32_t len = get32(p + 4);

    if (len >= 10 && fw_ptr(f, phys, len) != NULL)
        sdt_fix(p);
}

static void check_sane(int rc)
{
    CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL || rc == -ENOTSUP);
    CHECK(pi.ncpus >= 0 && pi.ncpus <= ACPI_MAX_CPUS);
    CHECK(pi.nioapics >= 0 && pi.nioapics <= ACPI_MAX_IOAPICS);
    CHECK(pi.noverrides >= 0 && pi.noverrides <= ACPI_MAX_OVERRIDES);
    CHECK(pi.nnmis >= 0 && pi.nnmis <= ACPI_MAX_NMIS);
    CHECK(pi.source != NULL);
}

TEST(acpi_fuzz_mutated_tables)
{
    static const uint64_t mcfg_ent[][4] = {{0xB0000000, 0, 0, 255}, {0xC0000000, 1, 0, 15}};
    struct fw *f = fw_new();
    struct madt t;
    uint64_t tables[3], span[4][2];
    uint8_t *saved_tables = malloc(TABLES_SIZE), saved_rsdp[36];
    int parsed_ok = 0;

    madt_init(&t, LAPIC_BASE, 1);
    for (uint8_t i = 0; i < 6; i++)
        madt_lapic(&t, i, i, i == 5 ? 2 : 1);
    madt_x2apic(&t, 3, 1, 3);
    madt_x2apic(&t, 400, 1, 9);
    madt_ioapic(&t, 6, 0xFEC00000, 0);
    madt_iso(&t, 0, 2, 0);
    madt_iso(&t, 9, 9, 0xD);
    madt_nmi(&t, 0xFF, 0, 1);
    madt_x2nmi(&t, 9, 0, 1);
    madt_lapic_override(&t, LAPIC_BASE);
    tables[0] = make_mcfg(f, 2, mcfg_ent);
    tables[1] = madt_place(f, &t);
    tables[2] = simple_madt(f, 2);
    span[0][0] = make_root(f, 4, tables, 3);
    span[1][0] = make_root(f, 8, tables, 3);
    span[2][0] = tables[1];
    span[3][0] = tables[0];
    for (int i = 0; i < 4; i++)
        span[i][1] = get32(fw_ptr(f, span[i][0], 36) + 4);
    make_rsdp(f, RSDP_AT, 2, (uint32_t)span[0][0], span[1][0]);
    memcpy(saved_tables, f->tables, TABLES_SIZE);
    memcpy(saved_rsdp, f->low + RSDP_AT, 36);

    rng_state = 0x5EED2024ACB1ull;
    for (int iter = 0; iter < 2000; iter++) {
        int n = 1 + (int)(rng() % 8), rc;

        memcpy(f->tables, saved_tables, TABLES_SIZE);
        memcpy(f->low + RSDP_AT, saved_rsdp, 36);
        for (int k = 0; k < n; k++) {
            int which = (int)(rng() % 5);

            if (which == 4) {
                mutate(f->low + RSDP_AT + 8, 28); /* leave the signature alone */
                if (rng() % 4 != 0) {
                    fix_checksum(f->low + RSDP_AT, 20, 8);
                    fix_checksum(f->low + RSDP_AT, 36, 32);
                }
                continue;
            }
            mutate(fw_ptr(f, span[which][0], span[which][1]), span[which][1]);
            /* Mostly keep checksums right, or nothing gets past them. */
            if (rng() % 4 != 0)
                sdt_fix_if_inside(f, span[which][0]);
        }
        rc = do_acpi_parse(f, RSDP_AT);
        check_sane(rc);
        parsed_ok += rc == 0;
        check_sane(do_discover(f, iter % 2 ? RSDP_AT : 0));
    }
    /* The mutations must leave enough valid tables to exercise the MADT walk. */
    CHECK(parsed_ok > 200);
    free(saved_tables);
    fw_free(f);
}

TEST(mp_fuzz_mutated_tables)
{
    struct fw *f = fw_new();
    uint8_t saved[0x1000], *fp = f->low + 0xF5A30, *p = f->low + MPC_AT;
    uint16_t len;
    int parsed_ok = 0;

    mp_world(f, 0xF5A30);
    len = (uint16_t)(p[4] | p[5] << 8);
    memcpy(saved, p, len);
    memcpy(saved + len, fp, 16);
    rng_state = 0x3D0C0FFEEull;
    for (int iter = 0; iter < 1000; iter++) {
        int n = 1 + (int)(rng() % 6), rc;

        memcpy(p, saved, len);
        memcpy(fp, saved + len, 16);
        for (int k = 0; k < n; k++) {
            if (rng() % 6 == 0)
                mutate(fp, 16);
            else
                mutate(p, len);
        }
        if (rng() % 4 != 0) {
            uint16_t new_len = (uint16_t)(p[4] | p[5] << 8);

            if (new_len >= 8 && MPC_AT + new_len <= LOW_SIZE)
                fix_checksum(p, new_len, 7);
            fix_checksum(fp, 16, 10);
        }
        rc = do_mptable_parse(f);
        check_sane(rc);
        parsed_ok += rc == 0;
    }
    CHECK(parsed_ok > 100);
    fw_free(f);
}
