/*
 * kernel/panic.c — panic(), KASSERT, and the frame-pointer backtrace.
 *
 * panic() records its message and executes ud2, so the report (trap.c) has
 * the real registers and prints exactly like a CPU fault.
 *
 * The walk follows RBP: [rbp] is the caller's RBP, [rbp + 8] the return
 * address. Each frame must lie inside a registered stack, be 8-aligned and
 * move toward the stack's top (or onto another registered stack, as when an
 * interrupt frame links to the interrupted stack); the walk stops at RBP = 0,
 * where boot/start32.asm and every thread's first frame end the chain.
 * Return addresses are symbolized at ret - 1, inside the call instruction,
 * so that a call ending a function names that function.
 * A frameless leaf (gcc omits the frame for trivial leaves) is recognised by
 * its first byte not being `push %rbp`; its caller is then taken from [rsp].
 */
#include <stdarg.h>
#include <stdio.h>

#include "kernel/arch/cpu.h"
#include "kernel/ksyms.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/sched.h"

#define BT_MAX_DEPTH  48
#define BT_MAX_STACKS 32

static char panic_buf[256];
static const char *panic_msg;

struct stack_range {
    uint64_t lo, hi;
};
static struct stack_range stacks[BT_MAX_STACKS];
static int nstacks;

void backtrace_add_stack(uint64_t lo, uint64_t hi)
{
    if (nstacks < BT_MAX_STACKS)
        stacks[nstacks++] = (struct stack_range){lo, hi};
}

static struct stack_range thread_stack; /* the current thread's, per walk */

static const struct stack_range *stack_of(uint64_t addr)
{
    for (int i = 0; i < nstacks; i++)
        if (addr >= stacks[i].lo && addr + 16 <= stacks[i].hi)
            return &stacks[i];
    if (addr >= thread_stack.lo && addr + 16 <= thread_stack.hi)
        return &thread_stack;
    return NULL;
}

const char *panic_message(void)
{
    return panic_msg;
}

void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(panic_buf, sizeof(panic_buf), fmt, ap);
    va_end(ap);
    panic_msg = panic_buf;
    for (;;)
        cpu_ud2(); /* trap.c sees panic_msg and reports it */
}

void kassert_fail(const char *expr, const char *file, int line)
{
    panic("assertion failed: %s at %s:%d", expr, file, line);
}

static void print_frame(int depth, uint64_t pc, uint64_t lookup)
{
    uint64_t off, size;
    const char *name = ksym_lookup(lookup, &off, &size);
    if (name != NULL)
        kprintf("  #%-2d %016lx %s+0x%lx/0x%lx\n", depth, pc, name, off + (pc - lookup), size);
    else
        kprintf("  #%-2d %016lx ?\n", depth, pc);
}

/* Caller of a function interrupted before its frame exists, or 0. */
static uint64_t frameless_caller(uint64_t rip, uint64_t rsp)
{
    uint64_t off, size;
    if (ksym_lookup(rip, &off, &size) == NULL || stack_of(rsp) == NULL || (rsp & 7) != 0)
        return 0;
    const uint8_t *start = (const uint8_t *)(uintptr_t)(rip - off);
    uint64_t prologue = 0;
    if (start[0] == 0xF3 && start[1] == 0x0F && start[2] == 0x1E && start[3] == 0xFA)
        prologue = 4; /* endbr64 */
    if (start[prologue] != 0x55)          /* no push %rbp: frameless */
        return *(const uint64_t *)(uintptr_t)rsp;
    if (off <= prologue)                  /* before the push */
        return *(const uint64_t *)(uintptr_t)rsp;
    if (off == prologue + 1)              /* after push, before mov %rsp,%rbp */
        return *(const uint64_t *)(uintptr_t)(rsp + 8);
    return 0;
}

void backtrace_print(uint64_t rip, uint64_t rsp, uint64_t rbp)
{
    int depth = 0;
    if (!sched_current_stack(&thread_stack.lo, &thread_stack.hi))
        thread_stack.lo = thread_stack.hi = 0;
    print_frame(depth++, rip, rip);
    uint64_t leaf_caller = frameless_caller(rip, rsp);
    if (leaf_caller != 0)
        print_frame(depth++, leaf_caller, leaf_caller - 1);
    const struct stack_range *cur = stack_of(rbp);
    while (rbp != 0 && depth < BT_MAX_DEPTH) {
        const struct stack_range *s = stack_of(rbp);
        if (s == NULL || (rbp & 7) != 0) {
            kprintf("  (frame pointer %016lx is outside every known stack: walk stopped)\n", rbp);
            return;
        }
        const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;
        uint64_t ret = frame[1], next = frame[0];
        if (ret == 0)
            return;
        print_frame(depth++, ret, ret - 1);
        if (next != 0 && s == cur && next <= rbp) {
            kprintf("  (frame chain goes backwards at %016lx: walk stopped)\n", rbp);
            return;
        }
        cur = s;
        rbp = next;
    }
    if (depth >= BT_MAX_DEPTH)
        kprintf("  (deeper frames not shown)\n");
}
