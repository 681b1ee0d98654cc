/*
 * kernel/arch/trap.h — the register frame isr_common (isr.asm) builds, and
 * the descriptor tables every core loads.
 */
#ifndef ZEBU_ARCH_TRAP_H
#define ZEBU_ARCH_TRAP_H

#include <stdint.h>

/* Pushed by isr.asm, lowest address first; the CPU's part starts at rip. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rdi, rsi, rbp, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* Interrupt stack table slots (TSS.IST1..7), one stack each. */
enum ist_slot {
    IST_DOUBLE_FAULT = 1,
    IST_NMI = 2,
    IST_PAGE_FAULT = 3, /* a page fault from an overflowed stack still reports */
};

#define IST_STACK_SIZE 8192

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

/* One core's GDT (null, code, data, TSS as two slots) and TSS. */
struct cpu_tables {
    uint64_t gdt[5];
    struct tss64 tss;
    uint8_t ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));
};

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_TSS         0x18

/* Builds the IDT once (all 256 vectors to isr.asm's stubs). */
void idt_init(void);

/* Loads the IDT, and this core's GDT and TSS with its IST stacks. */
void cpu_tables_load(struct cpu_tables *t);

/* An interrupt handler, and what it is called with (a device's driver
 * gets its device: a handler need not find it in a global). */
typedef void (*irq_handler_fn)(void *ctx);

/* Installs the handler for a fixed vector (32..254: the timer, IPIs).
 * Handlers run with interrupts off; the local APIC gets its EOI after the
 * handler. */
void irq_set_handler(unsigned vector, irq_handler_fn handler, void *ctx);

/* Vectors handed out to devices by irq_alloc (the fixed ones sit outside). */
#define IRQ_DYNAMIC_FIRST 0x40
#define IRQ_DYNAMIC_LAST  0xEF

/* Takes the lowest free vector in the dynamic range for handler(ctx).
 * Returns it, or -ENOSPC. Boot-time, core 0. */
int irq_alloc(irq_handler_fn handler, void *ctx);

/* Called by isr_common for every vector. */
void trap_dispatch(struct trap_frame *f);

/* Reports an unrecoverable exception and stops the machine. */
void trap_fatal(const struct trap_frame *f) __attribute__((noreturn));

#endif
