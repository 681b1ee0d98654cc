/*
 * drivers/acpi.h — firmware tables that describe the machine: the ACPI
 * RSDP -> RSDT/XSDT -> MADT, MCFG and FADT, or, on machines without ACPI,
 * the Intel MultiProcessor Specification 1.4 tables. The result is one plain
 * struct (CPUs, I/O APICs, ISA interrupt overrides, local APIC NMI wiring,
 * the local APIC and PCIe ECAM addresses, the FADT's flags) that the caller
 * prints and uses.
 *
 * The parser is pure: it reads physical memory only through the caller's
 * mapper, writes only *out, logs nothing and keeps no state, so the host
 * tests feed it synthetic tables. Firmware tables are untrusted input: every
 * length is checked before a field is read, and a bad table is skipped and
 * counted rather than trusted.
 */
#ifndef ZEBU_DRIVERS_ACPI_H
#define ZEBU_DRIVERS_ACPI_H

#include <stddef.h>
#include <stdint.h>

/*
 * Returns a pointer to len readable bytes at physical address phys, or NULL
 * when that range is not readable (including when phys + len overflows). The
 * bytes must stay readable until the acpi_* or mptable_* call that asked for
 * them returns; the parser never writes through the pointer and never asks
 * for len == 0 or for phys == 0 (an identity mapper could not tell that from
 * failure).
 */
typedef const void *(*acpi_map_fn)(void *ctx, uint64_t phys, size_t len);

struct acpi_mem {
    acpi_map_fn map;
    void *ctx; /* passed to map unchanged */
};

#define ACPI_MAX_CPUS      256
#define ACPI_MAX_IOAPICS   16
#define ACPI_MAX_OVERRIDES 24
/* Servers often list one Local APIC NMI entry per CPU, so as many as CPUs. */
#define ACPI_MAX_NMIS ACPI_MAX_CPUS

/* acpi_nmi.uid meaning "every processor". */
#define ACPI_NMI_ALL_CPUS 0xFFFFFFFFu

struct acpi_cpu {
    uint32_t apic_id;       /* local APIC id (x2APIC id for x2apic entries) */
    uint32_t uid;           /* ACPI processor UID; MP tables have none: the APIC id */
    uint8_t enabled;        /* usable now */
    uint8_t online_capable; /* not enabled, but may be brought online (ACPI 6.3+) */
    uint8_t x2apic;         /* came from a Processor Local x2APIC entry */
    uint8_t bsp;            /* MP table's BP flag; ACPI has none (compare with lapic_id()) */
};

struct acpi_ioapic {
    uint32_t id;
    uint64_t addr;     /* MMIO base */
    uint32_t gsi_base; /* first global system interrupt; MP tables: 24 per I/O APIC, a guess */
};

/* An ISA IRQ that does not reach the I/O APIC pin with its own number, or
 * not with ISA's edge/active-high signalling. */
struct acpi_override {
    uint8_t bus;        /* 0: ISA (the only bus ACPI defines) */
    uint8_t source_irq; /* ISA IRQ */
    uint32_t gsi;       /* global system interrupt it is wired to */
    uint16_t flags; /* MPS INTI flags: polarity bits 1:0, trigger mode bits 3:2; 0 = bus default */
};

/* Which LINT pin of which processor(s) is wired to NMI. */
struct acpi_nmi {
    uint32_t uid;   /* processor UID (MP tables: APIC id), or ACPI_NMI_ALL_CPUS */
    uint16_t flags; /* MPS INTI flags, as in acpi_override */
    uint8_t lint;   /* 0: LINT0, 1: LINT1 */
};

/* FADT Flags (ACPI 6.5, 5.2.9, Table 5.10): a hardware-reduced ACPI platform
 * (4.1) has none of the PC's fixed hardware; QEMU microvm, Firecracker and
 * Cloud Hypervisor describe themselves so. */
#define ACPI_FADT_HW_REDUCED (1u << 20)

/* About 6 KiB: keep it static, not on a kernel stack. */
/*
 * ACPI's fixed power-management hardware, from the FADT (ACPI 6.5, 5.2.9,
 * Table 5.9), and the sleep type of soft-off from the DSDT's \_S5 object
 * (7.4.2): what powering off and the power button need. I/O port
 * addresses; 0 where the FADT has none (hardware-reduced platforms).
 */
struct acpi_pm {
    uint16_t sci_irq;              /* SCI_INT: the SCI's ISA IRQ (GSI with no override) */
    uint32_t smi_cmd;              /* SMI_CMD port, and ACPI_ENABLE: written there to */
    uint8_t acpi_enable;           /* hand the PM registers to the OS */
    uint32_t pm1a_evt, pm1b_evt;   /* PM1 event blocks: status, then enable */
    uint8_t pm1_evt_len;           /* bytes per event block (4: 2 status + 2 enable) */
    uint32_t pm1a_cnt, pm1b_cnt;   /* PM1 control blocks: SCI_EN, SLP_TYP, SLP_EN */
    int s5;                        /* \_S5 found: s5_typa/b are SLP_TYPa/b of soft-off */
    uint8_t s5_typa, s5_typb;
};

/* A virtio-mmio transport the DSDT (or the command line) describes. */
struct acpi_virtio_mmio {
    uint64_t base;
    uint32_t size;
    uint32_t gsi;
};

#define PLATFORM_MAX_VIRTIO_MMIO 8

/* The virtio-mmio devices of a machine without a PCI bus for them (QEMU
 * microvm, Firecracker): drivers/platform.h's platform_find_virtio_mmio
 * fills it from the command line or the DSDT. */
struct virtio_mmio_list {
    int n;
    struct acpi_virtio_mmio dev[PLATFORM_MAX_VIRTIO_MMIO];
    const char *source;          /* "cmdline", "acpi", or "none" */
    int malformed;               /* command-line entries that did not parse */
    const char *first_malformed; /* the first of them: its word in the line */
    int dropped;                 /* listed past PLATFORM_MAX_VIRTIO_MMIO */
};

struct platform_info {
    const char *source;    /* "acpi" or "mptable" (a string literal) */
    uint64_t rsdp;         /* 0 if none */
    uint8_t acpi_revision; /* RSDP revision: 0 for ACPI 1.0, 2 for 2.0 and later */
    char oem_id[7];        /* RSDP OEMID (MP: first 6 bytes of the OEM ID), NUL-terminated */
    uint64_t lapic_addr;   /* MADT base or override, or MP table's */
    int pcat_compat;    /* dual 8259 present (MP: always, the spec requires PC/AT compatibility) */
    int mp_imcr;        /* MP only: IMCR present, the machine boots in PIC mode (MP spec 3.6.2.1) */
    int ncpus;          /* entries in cpus[]: enabled or online-capable only */
    int ncpus_disabled; /* processors marked neither, not in cpus[] */
    struct acpi_cpu cpus[ACPI_MAX_CPUS];
    int nioapics;
    struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
    int noverrides;
    struct acpi_override overrides[ACPI_MAX_OVERRIDES];
    int nnmis;
    struct acpi_nmi nmis[ACPI_MAX_NMIS];
    int fadt;            /* ACPI only: a FADT was read; fadt_flags is its Flags field */
    uint32_t fadt_flags; /* ACPI_FADT_* */
    struct acpi_pm pm;   /* the FADT's PM blocks (s5 is filled by acpi_find_s5) */
    uint64_t mcfg_base; /* PCIe ECAM base of segment mcfg_segment; 0 if no MCFG */
    uint16_t mcfg_segment;
    uint8_t mcfg_bus_start, mcfg_bus_end;
    struct virtio_mmio_list virtio_mmio; /* platform_find_virtio_mmio, not acpi_parse */
    int bad_checksums; /* tables skipped for a bad checksum */
    int truncated;     /* entries dropped because an array was full or a record was cut short,
                        * and listed tables that could not be read whole */
};

/*
 * Scans for the RSDP (ACPI 6.5, 5.2.5.1): the first KiB of the EBDA (its
 * segment is the 16-bit word at phys 0x40E), then 0xE0000-0xFFFFF, in 16-byte
 * steps, for "RSD PTR " with a valid checksum (and a valid extended checksum
 * for revision >= 2). Returns 0 and sets *rsdp, or -ENOENT.
 */
int acpi_find_rsdp(const struct acpi_mem *m, uint64_t *rsdp);

/*
 * Zeroes *out, then follows RSDP -> XSDT (revision >= 2 and a nonzero address;
 * if the XSDT is unusable, the RSDT) else RSDT, and fills *out from the first
 * valid MADT, MCFG and FADT found. Tables failing their checksum are skipped and
 * counted in bad_checksums; a later valid copy is still used. Returns 0,
 * -EINVAL when the RSDP at rsdp is unreadable or invalid, or -ENOENT when no
 * valid MADT was found (*out then still holds what was counted, and the MCFG
 * if there was one).
 */
int acpi_parse(const struct acpi_mem *m, uint64_t rsdp, struct platform_info *out);

/*
 * Zeroes *out and fills it from the MP tables (MP spec 1.4, chapter 4): the
 * floating pointer "_MP_" is searched in the first KiB of the EBDA, the last
 * KiB of base memory (size from the BIOS data area, else 639K-640K) and
 * 0xF0000-0xFFFFF; its configuration table gives processors (EN and BP
 * flags), I/O APICs, ISA interrupt overrides and LINT NMIs. Returns 0,
 * -ENOENT when there is no floating pointer, -ENOTSUP for a default
 * configuration (feature byte 1 nonzero: no table to read), or -EINVAL when
 * the configuration table is missing, unreadable or fails its checksum.
 */
int mptable_parse(const struct acpi_mem *m, struct platform_info *out);

/*
 * ACPI first: the RSDP at rsdp_hint (from the boot loader) when nonzero, else
 * (or if the hint is invalid) acpi_find_rsdp; then acpi_parse. When that
 * fails, mptable_parse. Returns 0 with *out from whichever worked. When both
 * fail it returns the ACPI error if an RSDP was found (and *out holds what
 * acpi_parse counted), else mptable_parse's error.
 */
int platform_discover(const struct acpi_mem *m, uint64_t rsdp_hint, struct platform_info *out);


/*
 * The sleep types of soft-off (S5): the DSDT's Name(\_S5, Package(){a, b,
 * ...}), its first two elements as integers (ACPI 6.5, 7.4.2 and 16.2.5.2's
 * integer encodings: Zero, One, ByteConst, WordConst). Returns 0 and fills
 * pm->s5, s5_typa, s5_typb; -ENOENT when there is no FADT, DSDT or \_S5,
 * -EINVAL when \_S5 is not a package of integers.
 */
int acpi_find_s5(const struct acpi_mem *m, uint64_t rsdp, struct acpi_pm *pm);

/*
 * The virtio-mmio transports in the DSDT (the FADT's X_DSDT or DSDT), for
 * machines that list them there and not on the kernel command line (QEMU
 * microvm with ACPI on lists only the transports that hold a device).
 * Not an AML interpreter: each occurrence of the string "LNRO0005" (the
 * _HID virtio-mmio devices carry) is followed, within the same device's few
 * dozen bytes, by the first Memory32Fixed (ACPI 6.5, 6.4.3.4) and Extended
 * Interrupt (6.4.3.6) descriptors of its _CRS; a device missing either is
 * skipped. Fills at most max entries of out and returns how many, or a
 * negative errno when there is no readable RSDP, FADT or DSDT.
 */
int acpi_find_virtio_mmio(const struct acpi_mem *m, uint64_t rsdp_hint,
                          struct acpi_virtio_mmio *out, int max);

#endif
