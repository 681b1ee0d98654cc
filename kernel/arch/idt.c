/*
 * kernel/arch/idt.c — IDT, per-core GDT and TSS.
 *
 * Every vector gets an interrupt gate (interrupts off on entry) to its stub in
 * isr.asm, which sits at isr_stubs + 16 * vector. Double fault, NMI and page
 * fault run on their own IST stacks (SDM vol. 3A, 7.14.5 "Interrupt Stack
 * Table") so that a fault taken on a broken or overflowed stack can still be
 * reported.
 */
#include <string.h>

#include "kernel/arch/cpu.h"
#include "kernel/arch/trap.h"

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
} __attribute__((packed));

#define GATE_INTERRUPT 0x8E /* present, DPL 0, 64-bit interrupt gate */

extern char isr_stubs[];
static struct idt_gate idt[256] __attribute__((aligned(16)));

static void idt_set(int vector, uint8_t ist)
{
    uint64_t addr = (uint64_t)(uintptr_t)(isr_stubs + 16 * vector);
    idt[vector] = (struct idt_gate){
        .offset_lo = (uint16_t)addr,
        .selector = GDT_KERNEL_CODE,
        .ist = ist,
        .type_attr = GATE_INTERRUPT,
        .offset_mid = (uint16_t)(addr >> 16),
        .offset_hi = (uint32_t)(addr >> 32),
    };
}

void idt_init(void)
{
    for (int v = 0; v < 256; v++)
        idt_set(v, 0);
    idt_set(2, IST_NMI);
    idt_set(8, IST_DOUBLE_FAULT);
    idt_set(14, IST_PAGE_FAULT);
}

static void gdt_set_tss(uint64_t *slot, const struct tss64 *tss)
{
    uint64_t base = (uint64_t)(uintptr_t)tss;
    uint64_t limit = sizeof(*tss) - 1;
    slot[0] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) /* present, TSS */
              | (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    slot[1] = base >> 32;
}

void cpu_tables_load(struct cpu_tables *t)
{
    memset(&t->tss, 0, sizeof(t->tss));
    t->gdt[0] = 0;
    t->gdt[1] = 0x00AF9A000000FFFFull; /* 64-bit code */
    t->gdt[2] = 0x00CF92000000FFFFull; /* data */
    gdt_set_tss(&t->gdt[3], &t->tss);
    for (int i = 0; i < 3; i++)
        t->tss.ist[i] = (uint64_t)(uintptr_t)(t->ist_stacks[i] + IST_STACK_SIZE);
    t->tss.iomap_base = sizeof(t->tss); /* no I/O bitmap */

    struct cpu_table_pointer gdtp = {sizeof(t->gdt) - 1, (uint64_t)(uintptr_t)t->gdt};
    struct cpu_table_pointer idtp = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
    cpu_lgdt(&gdtp); /* same selectors as the boot GDT: no segment reload needed */
    cpu_ltr(GDT_TSS);
    cpu_lidt(&idtp);
}

