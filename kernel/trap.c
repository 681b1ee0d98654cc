/*
 * kernel/trap.c — CPU exceptions: name, decode, report, stop.
 *
 * Every exception is fatal in Zebu (no user mode, no demand paging): the
 * report names the vector, decodes the error code, prints CR2 for page
 * faults, all registers and a symbolized backtrace, then ends the VM with
 * ZEBU_EXIT_PANIC. panic() and KASSERT() come through here too (via ud2), so
 * every stop looks the same. A fault while reporting prints one line and
 * halts instead of recursing.
 */
#include <errno.h>
#include <stdio.h>

#include "drivers/lapic.h"
#include "drivers/platform.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/trap.h"
#include "kernel/ksyms.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/printk.h"
#include "kernel/sched.h"

static const char *const exception_names[32] = {
    [0] = "divide error (#DE)",
    [1] = "debug (#DB)",
    [2] = "non-maskable interrupt (NMI)",
    [3] = "breakpoint (#BP)",
    [4] = "overflow (#OF)",
    [5] = "bound range exceeded (#BR)",
    [6] = "invalid opcode (#UD)",
    [7] = "device not available (#NM)",
    [8] = "double fault (#DF)",
    [9] = "coprocessor segment overrun",
    [10] = "invalid TSS (#TS)",
    [11] = "segment not present (#NP)",
    [12] = "stack-segment fault (#SS)",
    [13] = "general protection fault (#GP)",
    [14] = "page fault (#PF)",
    [15] = "reserved vector 15",
    [16] = "x87 floating-point error (#MF)",
    [17] = "alignment check (#AC)",
    [18] = "machine check (#MC)",
    [19] = "SIMD floating-point exception (#XM)",
    [20] = "virtualization exception (#VE)",
    [21] = "control protection exception (#CP)",
    [22] = "reserved vector 22",
    [23] = "reserved vector 23",
    [24] = "reserved vector 24",
    [25] = "reserved vector 25",
    [26] = "reserved vector 26",
    [27] = "reserved vector 27",
    [28] = "hypervisor injection exception (#HV)",
    [29] = "VMM communication exception (#VC)",
    [30] = "security exception (#SX)",
    [31] = "reserved vector 31",
};

static int reporting;
static int stopping; /* set by the first core to report: the others halt */
struct irq_handler {
    irq_handler_fn fn;
    void *ctx;
};
static struct irq_handler irq_handlers[256];
static uint64_t unexpected_irqs;

void irq_set_handler(unsigned vector, irq_handler_fn handler, void *ctx)
{
    if (vector < 32 || vector >= 256)
        return;
    /* ctx before fn: an interrupt that sees the handler sees its context. */
    __atomic_store_n(&irq_handlers[vector].ctx, ctx, __ATOMIC_RELAXED);
    __atomic_store_n(&irq_handlers[vector].fn, handler, __ATOMIC_RELEASE);
}

int irq_alloc(irq_handler_fn handler, void *ctx)
{
    for (unsigned v = IRQ_DYNAMIC_FIRST; v <= IRQ_DYNAMIC_LAST; v++) {
        if (irq_handlers[v].fn == NULL) {
            irq_set_handler(v, handler, ctx);
            return (int)v;
        }
    }
    return -ENOSPC;
}

/* Other cores stop when told by NMI, so the report is the last output. */
static void stop_other_cores(void)
{
    __atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
    if (cpu_count > 1)
        lapic_send_nmi_all_others();
}

static void print_context(const struct trap_frame *f)
{
    struct cpu *c = this_cpu();
    if (c == NULL || c->current == NULL)
        return;
    struct thread *t = c->current;
    kprintf("  on core %u (APIC id %u), thread '%s' (id %lu)\n", c->id, c->apic_id, t->name,
            t->id);
    struct thread *owner = f->vector == 14 ? sched_guard_owner(cpu_read_cr2()) : NULL;
    if (owner != NULL)
        kprintf("  STACK OVERFLOW in thread '%s': it ran into the guard page at %p below its "
                "stack\n", owner->name, (void *)owner->stack);
}

static void print_symbolized(const char *label, uint64_t addr)
{
    uint64_t off, size;
    const char *name = ksym_lookup(addr, &off, &size);
    if (name != NULL)
        kprintf("  %s %016lx %s+0x%lx/0x%lx\n", label, addr, name, off, size);
    else
        kprintf("  %s %016lx\n", label, addr);
}

static void print_error_code(const struct trap_frame *f)
{
    if (f->vector == 14) {
        uint64_t e = f->error;
        kprintf("  error %#lx: %s, %s, %s%s%s\n", e,
                (e & 1) ? "protection violation" : "page not present", (e & 2) ? "write" : "read",
                (e & 4) ? "user" : "kernel", (e & 8) ? ", reserved bit set" : "",
                (e & 16) ? ", instruction fetch" : "");
        kprintf("  address (CR2) %016lx%s\n", cpu_read_cr2(),
                cpu_read_cr2() < 4096 ? "  <- NULL pointer dereference" : "");
    } else if (f->vector == 8 || (f->vector >= 10 && f->vector <= 13) || f->vector == 17 ||
               f->vector == 21 || f->vector == 29 || f->vector == 30) {
        kprintf("  error %#lx%s\n", f->error,
                (f->error != 0 && f->vector != 8) ? " (segment selector index)" : "");
    }
}

static void print_registers(const struct trap_frame *f)
{
    kprintf("  RAX %016lx RBX %016lx RCX %016lx RDX %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
    kprintf("  RSI %016lx RDI %016lx RBP %016lx RSP %016lx\n", f->rsi, f->rdi, f->rbp, f->rsp);
    kprintf("  R8  %016lx R9  %016lx R10 %016lx R11 %016lx\n", f->r8, f->r9, f->r10, f->r11);
    kprintf("  R12 %016lx R13 %016lx R14 %016lx R15 %016lx\n", f->r12, f->r13, f->r14, f->r15);
    kprintf("  RIP %016lx RFLAGS %016lx CS %04lx SS %04lx\n", f->rip, f->rflags, f->cs, f->ss);
    kprintf("  CR0 %016lx CR2 %016lx CR3 %016lx CR4 %016lx\n", cpu_read_cr0(), cpu_read_cr2(),
            cpu_read_cr3(), cpu_read_cr4());
}

void trap_fatal(const struct trap_frame *f)
{
    if (__atomic_fetch_add(&reporting, 1, __ATOMIC_SEQ_CST) != 0) {
        if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST))
            platform_halt(); /* another core is reporting */
        console_emergency();
        kprintf("\nzebu: fault (vector %lu at %016lx) while reporting a fault; halting\n",
                f->vector, f->rip);
        platform_exit(ZEBU_EXIT_PANIC);
    }
    stop_other_cores();
    console_break_lock();
    const char *msg = panic_message();
    if (msg != NULL && f->vector == 6) {
        kprintf("\nPANIC: %s\n", msg);
    } else {
        const char *name = f->vector < 32 ? exception_names[f->vector] : "unexpected interrupt";
        kprintf("\nPANIC: CPU exception: %s, vector %lu\n", name, f->vector);
        print_error_code(f);
    }
    print_context(f);
    print_symbolized("at ", f->rip);
    print_registers(f);
    kprintf("backtrace:\n");
    backtrace_print(f->rip, f->rsp, f->rbp);
    kprintf("zebu: kernel stopped (exit status %d)\n", ZEBU_EXIT_PANIC);
    console_flush();
    platform_exit(ZEBU_EXIT_PANIC);
}

void trap_dispatch(struct trap_frame *f)
{
    if (f->vector == 2 && __atomic_load_n(&stopping, __ATOMIC_SEQ_CST))
        platform_halt(); /* another core panicked */
    if (f->vector < 32)
        trap_fatal(f);
    if (f->vector == VEC_SPURIOUS)
        return; /* no EOI for the spurious vector (SDM 11.9) */
    struct cpu *c = this_cpu();
    c->stats.irqs++;
    irq_handler_fn h = __atomic_load_n(&irq_handlers[f->vector].fn, __ATOMIC_ACQUIRE);
    if (h != NULL)
        h(irq_handlers[f->vector].ctx);
    else
        unexpected_irqs++;
    lapic_eoi();
}
