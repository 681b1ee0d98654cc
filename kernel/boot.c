/*
 * kernel/boot.c — read the loader's boot information into struct boot_info.
 *
 * Multiboot 1 (Multiboot Specification 0.6.96, section 3.3): the information
 * structure's flags say which fields are valid. We copy the command line,
 * memory map, module list and loader name, and drop the first word of the
 * command line: QEMU and GRUB both put the image path there.
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

static void copy_cmdline_args(struct boot_info *bi, const char *src)
{
    /* Skip the image path: the first word. */
    while (*src == ' ')
        src++;
    while (*src != '\0' && *src != ' ')
        src++;
    while (*src == ' ')
        src++;
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
    if (mbi->flags & MB1_INFO_CMDLINE)
        copy_cmdline_args(bi, (const char *)(uintptr_t)mbi->cmdline);
    if (mbi->flags & MB1_INFO_LOADER)
        strlcpy(bi->loader_name, (const char *)(uintptr_t)mbi->boot_loader_name,
                sizeof(bi->loader_name));
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

int boot_info_parse(const struct boot_handoff *h, struct boot_info *bi)
{
    memset(bi, 0, sizeof(*bi));
    bi->protocol = (enum boot_protocol)h->protocol;
    bi->tsc_entry = h->tsc_entry;
    bi->tsc_ap_wake_start = h->tsc_ap_wake_start;
    bi->tsc_ap_wake_end = h->tsc_ap_wake_end;
    bi->mapped_gib = h->mapped_gib;
    switch (bi->protocol) {
    case BOOT_PROTO_MULTIBOOT1:
        parse_multiboot1(bi, (const struct mb1_info *)(uintptr_t)h->info);
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
