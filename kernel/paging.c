/*
 * kernel/paging.c — edits to the boot identity map (SDM vol. 3A, 4.5).
 *
 * Tables are reached through the identity map itself: a table's physical
 * address is its pointer. New tables come from pmem, zeroed.
 */
#include <errno.h>
#include <string.h>

#include "kernel/arch/cpu.h"
#include "kernel/paging.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"

#define PTE_P    (1ull << 0)
#define PTE_W    (1ull << 1)
#define PTE_PWT  (1ull << 3)
#define PTE_PCD  (1ull << 4)
#define PTE_PS   (1ull << 7)
#define PTE_NX   (1ull << 63)
#define PTE_ADDR 0x000FFFFFFFFFF000ull

#define GIB (1ull << 30)
#define MIB2 (1ull << 21)

static uint64_t mapped_top;
static struct spinlock paging_lock; /* page-table edits are rare: one lock */
static uint64_t nx_bit;

static uint64_t *table_of(uint64_t entry)
{
    return (uint64_t *)(uintptr_t)(entry & PTE_ADDR);
}

static uint64_t *new_table(void)
{
    uint64_t *t = pmem_alloc(0);
    if (t != NULL)
        memset(t, 0, PAGE_SIZE);
    return t;
}

/* Splits the large page in *entry (1 GiB or 2 MiB) into a table of the next
 * level with the same mapping. level: 3 = PDPT entry, 2 = PD entry. */
static int split_large(uint64_t *entry, int level)
{
    uint64_t *t = new_table();
    if (t == NULL)
        return -ENOMEM;
    uint64_t base = *entry & PTE_ADDR & ~(level == 3 ? GIB - 1 : MIB2 - 1);
    uint64_t flags = *entry & (PTE_P | PTE_W | PTE_NX);
    uint64_t step = level == 3 ? MIB2 : PAGE_SIZE;
    for (int i = 0; i < 512; i++)
        t[i] = (base + i * step) | flags | (level == 3 ? PTE_PS : 0);
    *entry = (uint64_t)(uintptr_t)t | PTE_P | PTE_W;
    return 0;
}

/* The 4 KiB PTE for va, splitting large pages on the way. */
static uint64_t *pte_for(uint64_t va)
{
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(cpu_read_cr3() & PTE_ADDR);
    uint64_t *e = &pml4[(va >> 39) & 511];
    if (!(*e & PTE_P))
        return NULL;
    e = &table_of(*e)[(va >> 30) & 511];
    if (!(*e & PTE_P))
        return NULL;
    if ((*e & PTE_PS) && split_large(e, 3) != 0)
        return NULL;
    e = &table_of(*e)[(va >> 21) & 511];
    if (!(*e & PTE_P))
        return NULL;
    if ((*e & PTE_PS) && split_large(e, 2) != 0)
        return NULL;
    return &table_of(*e)[(va >> 12) & 511];
}

int paging_set_guard(uint64_t va, int guard)
{
    uint64_t flags = spin_lock_irqsave(&paging_lock);
    uint64_t *pte = pte_for(va & ~(PAGE_SIZE - 1));
    if (pte != NULL) {
        if (guard)
            *pte &= ~PTE_P;
        else
            *pte |= PTE_P;
        cpu_invlpg((void *)(uintptr_t)va);
    }
    spin_unlock_irqrestore(&paging_lock, flags);
    return pte != NULL ? 0 : -ENOMEM;
}

/* The PD entry for va, creating the PDPT/PD and splitting a 1 GiB page on
 * the way. NULL when out of memory or past 512 GiB. */
static uint64_t *pde_for(uint64_t va)
{
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(cpu_read_cr3() & PTE_ADDR);
    uint64_t *e = &pml4[(va >> 39) & 511];
    if (va >= 512 * GIB)
        return NULL;
    e = &table_of(*e)[(va >> 30) & 511];
    if (!(*e & PTE_P)) {
        uint64_t *pd = new_table();
        if (pd == NULL)
            return NULL;
        *e = (uint64_t)(uintptr_t)pd | PTE_P | PTE_W;
    } else if ((*e & PTE_PS) && split_large(e, 3) != 0) {
        return NULL;
    }
    return &table_of(*e)[(va >> 21) & 511];
}

int paging_map_mmio(uint64_t addr, uint64_t len)
{
    if (len == 0)
        return 0;
    int err = 0;
    uint64_t flags = spin_lock_irqsave(&paging_lock);
    for (uint64_t p = addr & ~(MIB2 - 1); p < addr + len && err == 0; p += MIB2) {
        uint64_t *pde = pde_for(p);
        if (pde == NULL) {
            err = -ENOMEM;
            break;
        }
        if (!(*pde & PTE_P)) {
            *pde = p | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT | nx_bit;
        } else if (*pde & PTE_PS) {
            *pde |= PTE_PCD | PTE_PWT;
        } else { /* already 4 KiB pages: mark the ones in range */
            uint64_t *pt = table_of(*pde);
            for (int i = 0; i < 512; i++) {
                uint64_t va = p + (uint64_t)i * PAGE_SIZE;
                if (va + PAGE_SIZE > addr && va < addr + len)
                    pt[i] |= PTE_PCD | PTE_PWT;
            }
        }
    }
    cpu_write_cr3(cpu_read_cr3()); /* one full flush beats 512 INVLPGs per 2 MiB */
    spin_unlock_irqrestore(&paging_lock, flags);
    return err;
}

/* Maps [mapped_top, top) with 2 MiB pages, one page directory per GiB. */
static int extend_map(uint64_t top)
{
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(cpu_read_cr3() & PTE_ADDR);
    uint64_t *pdpt = table_of(pml4[0]);
    if (top > 512 * GIB) {
        pr_warn("mem", "RAM above 512 GiB is not mapped");
        top = 512 * GIB;
    }
    for (uint64_t gib = mapped_top / GIB; gib * GIB < top; gib++) {
        uint64_t *pd = new_table();
        if (pd == NULL)
            return -ENOMEM;
        for (int i = 0; i < 512; i++)
            pd[i] = (gib * GIB + i * MIB2) | PTE_P | PTE_W | PTE_PS | nx_bit;
        pdpt[gib] = (uint64_t)(uintptr_t)pd | PTE_P | PTE_W;
        mapped_top = (gib + 1) * GIB;
    }
    return 0;
}

int paging_init(const struct boot_info *bi)
{
    struct cpuid_regs r;
    cpu_cpuid(0x80000001, 0, &r);
    nx_bit = (r.edx & CPUID_81_EDX_NX) ? PTE_NX : 0;
    mapped_top = (uint64_t)bi->mapped_gib * GIB;
    uint64_t top = boot_ram_top(bi);
    if (top > mapped_top) {
        int err = extend_map(top);
        if (err != 0)
            return err;
    }
    /* Page 0 not present: a NULL dereference faults instead of reading the
     * real-mode interrupt table. */
    return paging_set_guard(0, 1);
}

uint64_t paging_mapped_top(void)
{
    return mapped_top;
}
