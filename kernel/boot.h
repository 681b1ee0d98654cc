/*
 * kernel/boot.h — what the loader handed over, in one loader-neutral form.
 *
 * The 32-bit stub (boot/start32.asm) fills struct boot_handoff; boot_info_parse
 * turns the protocol's own structures (multiboot 1, multiboot 2, PVH) into
 * struct boot_info, copying everything it keeps so that the
 * loader's memory can be reused. Module contents are not copied: they stay
 * where the loader put them and their pages are reserved.
 */
#ifndef ZEBU_KERNEL_BOOT_H
#define ZEBU_KERNEL_BOOT_H

#include <stddef.h>
#include <stdint.h>

enum boot_protocol {
    BOOT_PROTO_NONE = 0,
    BOOT_PROTO_MULTIBOOT1 = 1,
    BOOT_PROTO_MULTIBOOT2 = 2,
    BOOT_PROTO_PVH = 3,
};

/* Written by boot/start32.asm; layout fixed there. */
struct boot_handoff {
    uint32_t protocol;   /* enum boot_protocol */
    uint32_t info;       /* physical address of the protocol's boot info */
    uint64_t tsc_entry;  /* TSC read right after the CPU checks */
    uint32_t mapped_gib; /* GiB the stub identity-mapped */
    uint32_t reserved;
    uint64_t tsc_ap_wake_start; /* TSC around ap_wake_all (boot trace) */
    uint64_t tsc_ap_wake_end;
};

enum mem_type {
    MEM_USABLE = 1,
    MEM_RESERVED = 2,
    MEM_ACPI_RECLAIM = 3,
    MEM_ACPI_NVS = 4,
    MEM_BAD = 5,
};

struct mem_region {
    uint64_t base;
    uint64_t len;
    uint32_t type; /* enum mem_type */
};

struct boot_module {
    uint64_t start;
    uint64_t end;       /* exclusive */
    char cmdline[64];
};

#define BOOT_MAX_REGIONS 64
#define BOOT_MAX_MODULES 8
#define BOOT_CMDLINE_MAX 1024

struct boot_info {
    enum boot_protocol protocol;
    uint64_t tsc_entry;
    uint64_t tsc_ap_wake_start, tsc_ap_wake_end;
    uint32_t mapped_gib;
    char loader_name[48];
    char cmdline[BOOT_CMDLINE_MAX]; /* options only: the image path is dropped */
    int cmdline_truncated;
    struct mem_region regions[BOOT_MAX_REGIONS];
    int nregions;
    struct boot_module modules[BOOT_MAX_MODULES];
    int nmodules;
    uint64_t rsdp;       /* physical address of the ACPI RSDP, 0 if the loader gave none */
    uint8_t rsdp_copy[64]; /* multiboot 2 passes the RSDP itself: kept here */
    uint64_t info_addr;  /* where the loader's structure was (boot trace) */
};

/* Fills *bi from the handoff. Returns 0, or -EINVAL for an unknown protocol. */
int boot_info_parse(const struct boot_handoff *h, struct boot_info *bi);

/* The protocol's name as printed in the banner ("multiboot1", ...). */
const char *boot_protocol_name(enum boot_protocol p);

/* Bytes of MEM_USABLE memory the loader reported. */
uint64_t boot_usable_bytes(const struct boot_info *bi);

/* One past the highest usable byte. */
uint64_t boot_ram_top(const struct boot_info *bi);

#endif
