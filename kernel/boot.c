/*
 * kernel/boot.c — read the loader's boot information into struct boot_info.
 *
 * Multiboot 1 (Multiboot Specification 0.6.96, section 3.3): the information
 * structure's flags say which fields are valid. Multiboot 2 (Multiboot2
 * Specification 1.0, 3.6): a list of 8-aligned tags. PVH (Xen
 * hvm_start_info, version 1 adds the memory map). We copy the command line,
 * memory map, module list, loader name and RSDP. QEMU's multiboot command
 * line starts with the image path, which is dropped; GRUB (multiboot 1 and
 * 2) and PVH pass only the arguments. Every walk is bounded by the sizes the structure
 * declares.
 */
#include <errno.h>
#include <string.h>

#include "kernel/boot.h"

/* Multiboot 1 information structure, the fields we read. */
struct mb1_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
} __attribute__((packed));

struct mb1_mmap_entry {
    uint32_t size; /* of the rest of the entry */
    uint64_t base;
    uint64_t len;
    uint32_t type;
} __attribute__((packed));

struct mb1_module {
    uint32_t start, end, string, reserved;
} __attribute__((packed));

#define MB1_INFO_MEMORY  (1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MODS    (1u << 3)
#define MB1_INFO_MMAP    (1u << 6)
#define MB1_INFO_LOADER  (1u << 9)

static void copy_cmdline(struct boot_info *bi, const char *src, int skip_image_path)
{
    while (*src == ' ')
        src++;
    if (skip_image_path) {
        while (*src != '\0' && *src != ' ')
            src++;
        while (*src == ' ')
            src++;
    }
    size_t n = strlcpy(bi->cmdline, src, sizeof(bi->cmdline));
    bi->cmdline_truncated = n >= sizeof(bi->cmdline);
}

static void add_region(struct boot_info *bi, uint64_t base, uint64_t len, uint32_t type)
{
    if (len == 0 || bi->nregions == BOOT_MAX_REGIONS)
        return;
    if (type < MEM_USABLE || type > MEM_BAD)
        type = MEM_RESERVED;
    bi->regions[bi->nregions++] = (struct mem_region){base, len, type};
}

static void parse_mb1_mmap(struct boot_info *bi, const struct mb1_info *mbi)
{
    uintptr_t p = mbi->mmap_addr;
    uintptr_t end = p + mbi->mmap_length;
    while (p + sizeof(struct mb1_mmap_entry) <= end) {
        const struct mb1_mmap_entry *e = (const void *)p;
        add_region(bi, e->base, e->len, e->type);
        if (e->size < 20)
            break; /* a malformed map: stop rather than loop */
        p += e->size + sizeof(e->size);
    }
}

static void parse_multiboot1(struct boot_info *bi, const struct mb1_info *mbi)
{
    if (mbi->flags & MB1_INFO_LOADER)
        strlcpy(bi->loader_name, (const char *)(uintptr_t)mbi->boot_loader_name,
                sizeof(bi->loader_name));
    /* QEMU's loader (also under qboot) starts the line with the -kernel
     * path; GRUB 2 passes only the arguments. */
    if (mbi->flags & MB1_INFO_CMDLINE)
        copy_cmdline(bi, (const char *)(uintptr_t)mbi->cmdline,
                     strcmp(bi->loader_name, "qemu") == 0);
    if (mbi->flags & MB1_INFO_MMAP) {
        parse_mb1_mmap(bi, mbi);
    } else if (mbi->flags & MB1_INFO_MEMORY) {
        add_region(bi, 0, (uint64_t)mbi->mem_lower << 10, MEM_USABLE);
        add_region(bi, 1 << 20, (uint64_t)mbi->mem_upper << 10, MEM_USABLE);
    }
    if (mbi->flags & MB1_INFO_MODS) {
        const struct mb1_module *m = (const void *)(uintptr_t)mbi->mods_addr;
        for (uint32_t i = 0; i < mbi->mods_count && bi->nmodules < BOOT_MAX_MODULES; i++) {
            struct boot_module *bm = &bi->modules[bi->nmodules++];
            bm->start = m[i].start;
            bm->end = m[i].end;
            if (m[i].string != 0)
                strlcpy(bm->cmdline, (const char *)(uintptr_t)m[i].string,
                        sizeof(bm->cmdline));
        }
    }
}

/* ---- multiboot 2 ---- */

#define MB2_TAG_END     0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER  2
#define MB2_TAG_MODULE  3
#define MB2_TAG_MEMINFO 4
#define MB2_TAG_MMAP    6
#define MB2_TAG_RSDP1   14
#define MB2_TAG_RSDP2   15

static void add_module(struct boot_info *bi, uint64_t start, uint64_t end, const char *cmdline)
{
    if (bi->nmodules == BOOT_MAX_MODULES || end < start)
        return;
    struct boot_module *bm = &bi->modules[bi->nmodules++];
    bm->start = start;
    bm->end = end;
    if (cmdline != NULL)
        strlcpy(bm->cmdline, cmdline, sizeof(bm->cmdline));
}

static void parse_mb2_tag(struct boot_info *bi, uint32_t type, const uint8_t *t, uint32_t size)
{
    uint32_t u32[4];
    switch (type) {
    case MB2_TAG_CMDLINE:
        copy_cmdline(bi, (const char *)t + 8, 0); /* GRUB: the arguments only */
        break;
    case MB2_TAG_LOADER:
        strlcpy(bi->loader_name, (const char *)t + 8, sizeof(bi->loader_name));
        break;
    case MB2_TAG_MODULE:
        if (size >= 17) {
            memcpy(u32, t + 8, 8);
            add_module(bi, u32[0], u32[1], (const char *)t + 16);
        }
        break;
    case MB2_TAG_MEMINFO:
        if (size >= 16 && bi->nregions == 0) {
            memcpy(u32, t + 8, 8);
            add_region(bi, 0, (uint64_t)u32[0] << 10, MEM_USABLE);
            add_region(bi, 1 << 20, (uint64_t)u32[1] << 10, MEM_USABLE);
        }
        break;
    case MB2_TAG_MMAP: {
        if (size < 16)
            break;
        memcpy(u32, t + 8, 8); /* entry_size, entry_version */
        if (u32[0] < 24)
            break;
        bi->nregions = 0; /* the full map wins over basic meminfo */
        for (uint32_t off = 16; off + 24 <= size; off += u32[0]) {
            uint64_t base, len;
            uint32_t kind;
            memcpy(&base, t + off, 8);
            memcpy(&len, t + off + 8, 8);
            memcpy(&kind, t + off + 16, 4);
            add_region(bi, base, len, kind);
        }
        break;
    }
    case MB2_TAG_RSDP1:
    case MB2_TAG_RSDP2:
        if (size > 8 && bi->rsdp == 0) {
            uint32_t n = size - 8 < sizeof(bi->rsdp_copy) ? size - 8 : sizeof(bi->rsdp_copy);
            memcpy(bi->rsdp_copy, t + 8, n);
            bi->rsdp = (uint64_t)(uintptr_t)bi->rsdp_copy;
        }
        break;
    }
}

static void parse_multiboot2(struct boot_info *bi, const uint8_t *mbi)
{
    uint32_t total;
    memcpy(&total, mbi, 4);
    for (uint32_t off = 8; off + 8 <= total;) {
        uint32_t type, size;
        memcpy(&type, mbi + off, 4);
        memcpy(&size, mbi + off + 4, 4);
        if (type == MB2_TAG_END || size < 8 || off + size > total)
            break;
        parse_mb2_tag(bi, type, mbi + off, size);
        off += (size + 7) & ~7u;
    }
}

/* ---- PVH ---- */

struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
} __attribute__((packed));

struct hvm_modlist_entry {
    uint64_t paddr, size, cmdline_paddr, reserved;
} __attribute__((packed));

struct hvm_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
} __attribute__((packed));

static void parse_pvh(struct boot_info *bi, const struct hvm_start_info *si)
{
    strlcpy(bi->loader_name, "PVH", sizeof(bi->loader_name));
    if (si->cmdline_paddr != 0)
        copy_cmdline(bi, (const char *)(uintptr_t)si->cmdline_paddr, 0);
    bi->rsdp = si->rsdp_paddr;
    const struct hvm_modlist_entry *m = (const void *)(uintptr_t)si->modlist_paddr;
    for (uint32_t i = 0; m != NULL && i < si->nr_modules; i++)
        add_module(bi, m[i].paddr, m[i].paddr + m[i].size,
                   m[i].cmdline_paddr ? (const char *)(uintptr_t)m[i].cmdline_paddr : NULL);
    if (si->version >= 1 && si->memmap_paddr != 0) {
        const struct hvm_memmap_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
        for (uint32_t i = 0; i < si->memmap_entries; i++)
            add_region(bi, e[i].addr, e[i].size, e[i].type);
    }
}

int boot_info_parse(const struct boot_handoff *h, struct boot_info *bi)
{
    memset(bi, 0, sizeof(*bi));
    bi->protocol = (enum boot_protocol)h->protocol;
    bi->tsc_entry = h->tsc_entry;
    bi->tsc_ap_wake_start = h->tsc_ap_wake_start;
    bi->tsc_ap_wake_end = h->tsc_ap_wake_end;
    bi->mapped_gib = h->mapped_gib;
    bi->info_addr = h->info;
    switch (bi->protocol) {
    case BOOT_PROTO_MULTIBOOT1:
        parse_multiboot1(bi, (const struct mb1_info *)(uintptr_t)h->info);
        return 0;
    case BOOT_PROTO_MULTIBOOT2:
        parse_multiboot2(bi, (const uint8_t *)(uintptr_t)h->info);
        return 0;
    case BOOT_PROTO_PVH:
        parse_pvh(bi, (const struct hvm_start_info *)(uintptr_t)h->info);
        return 0;
    default:
        return -EINVAL;
    }
}

const char *boot_protocol_name(enum boot_protocol p)
{
    switch (p) {
    case BOOT_PROTO_MULTIBOOT1:
        return "multiboot1";
    case BOOT_PROTO_MULTIBOOT2:
        return "multiboot2";
    case BOOT_PROTO_PVH:
        return "pvh";
    default:
        return "unknown";
    }
}

uint64_t boot_usable_bytes(const struct boot_info *bi)
{
    uint64_t sum = 0;
    for (int i = 0; i < bi->nregions; i++)
        if (bi->regions[i].type == MEM_USABLE)
            sum += bi->regions[i].len;
    return sum;
}

uint64_t boot_ram_top(const struct boot_info *bi)
{
    uint64_t top = 0;
    for (int i = 0; i < bi->nregions; i++) {
        const struct mem_region *r = &bi->regions[i];
        if (r->type == MEM_USABLE && r->base + r->len > top)
            top = r->base + r->len;
    }
    return top;
}
