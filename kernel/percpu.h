/*
 * kernel/percpu.h — what each core owns, reached through its GS base.
 *
 * %gs:0 holds the struct's own address, so this_cpu() is one load. Only the
 * owning core touches its run queue, timer list and allocator cache (with its
 * interrupts off); other cores reach it only through the mailbox.
 */
#ifndef ZEBU_KERNEL_PERCPU_H
#define ZEBU_KERNEL_PERCPU_H

#include <stdint.h>

#include "kernel/arch/cpu.h"
#include "kernel/arch/trap.h"
#include "kernel/mpsc.h"

#define MAX_CPUS 128

struct thread;

struct cpu_stats {
    uint64_t switches;      /* context switches */
    uint64_t remote_wakes;  /* threads other cores made runnable here */
    uint64_t ipis_sent;     /* wake-up IPIs this core sent */
    uint64_t irqs;          /* interrupts taken */
    uint64_t halts;         /* times the idle loop halted */
    uint64_t idle_cycles;   /* TSC cycles spent halted (interrupts taken there included) */
    uint64_t moves_out;     /* threads that left this core to run on another (thread_move) */
};

struct cpu {
    struct cpu *self; /* must stay first: %gs:0 */
    uint32_t id;      /* 0 .. cpu_count - 1; 0 is the boot processor */
    uint32_t apic_id;
    struct thread *current;
    struct thread *idle;
    struct thread *rq_head, *rq_tail; /* runnable, this core only */
    struct mpsc_queue mailbox;        /* threads made runnable from elsewhere */
    int sleeping;                     /* halted in the idle loop */
    struct thread *timers;            /* sleeping threads, earliest first */
    uint64_t timer_deadline;          /* TSC the timer is armed for, 0 = none */
    struct thread *reap;              /* exited thread whose stack to free */
    struct thread *moving;            /* switched out to run on another core */
    uint64_t stack_lo, stack_hi;      /* the idle (boot) stack */
    int online;
    struct cpu_stats stats;
    struct cpu_tables tables; /* GDT, TSS, IST stacks */
};

extern struct cpu *cpu_table[MAX_CPUS];
extern int cpu_count;

static inline struct cpu *this_cpu(void)
{
    return (struct cpu *)cpu_gs_self();
}

/* Points GS at c (c->self = c). */
void percpu_install(struct cpu *c);

#endif
