/*
 * kernel/sched.h — threads and per-core cooperative scheduling.
 *
 * A thread is created on a chosen core and stays there. It runs until it
 * yields, sleeps, waits or exits; nothing preempts it. Making a thread
 * runnable on another core pushes it into that core's mailbox (lock-free) and,
 * if the core is halted, sends it a wake-up IPI. An idle core halts with
 * interrupts on.
 *
 * Every thread stack has a guard page below it; running into it stops the
 * kernel with "stack overflow in thread NAME".
 */
#ifndef ZEBU_KERNEL_SCHED_H
#define ZEBU_KERNEL_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/mpsc.h"
#include "kernel/spinlock.h"

struct cpu;

enum thread_state {
    THREAD_RUNNABLE = 0,
    THREAD_RUNNING,
    THREAD_BLOCKED,
    THREAD_SLEEPING,
    THREAD_DEAD,
};

/*
 * An event counts signals: event_signal wakes one waiter, or, with none
 * waiting, is remembered for the next event_wait. Any core and interrupt
 * handlers may signal; threads wait.
 */
struct event {
    struct spinlock lock;
    struct thread *head, *tail; /* waiters, FIFO */
    uint64_t pending;
};

struct thread {
    uint64_t rsp;           /* saved stack pointer: first, for switch.asm */
    struct thread *next;    /* run queue or wait list */
    struct thread *timer_next; /* this core's timer list */
    int wait_token;         /* timed wait: 1 waiting, 2 woken (CAS decides who wakes) */
    int timed_out;
    struct mpsc_node mbox;  /* mailbox link */
    struct cpu *cpu;        /* the core it lives on */
    int state;              /* enum thread_state */
    int refs;               /* the thread itself + a joiner */
    uint64_t wake_tsc;      /* sleeping: TSC to wake at */
    void *(*fn)(void *);
    void *arg, *result;
    uint8_t *stack;         /* 2^stack_order pages; the lowest is the guard */
    unsigned stack_order;
    uint64_t id;
    struct event done;      /* signalled once at exit */
    int errno_value;        /* errno, per thread (kernel/sched.c __errno_location) */
    char name[24];
};

/* Moves the calling thread to `core` (it goes on running there, with its
 * stack, events and timers as they are) and returns the core it was on; a
 * core that does not exist, or its own, leaves it where it is. For work
 * that must run on one core (the network stack's calls). */
int thread_move(int core);

/* Stack and guard page come from one power-of-two block of pages: 60 KiB
 * of stack + the guard fill 64 KiB exactly (64 KiB would take 128). */
#define THREAD_STACK_DEFAULT (60 * 1024)

/*
 * Creates a thread running fn(arg) on `core` (0 .. cpu_count-1) with a stack
 * of at least stack_size bytes (0: default) plus a guard page. Returns the
 * thread, or NULL when memory runs out or the core does not exist. The
 * caller must thread_join or thread_detach it.
 */
struct thread *thread_create(void *(*fn)(void *), void *arg, int core, const char *name,
                             size_t stack_size);

void thread_yield(void);
void thread_sleep_ns(uint64_t ns);
void thread_exit(void *result) __attribute__((noreturn));
/* Waits for t to exit, returns its result and frees it. */
void *thread_join(struct thread *t);
/* t frees itself when it exits. */
void thread_detach(struct thread *t);
struct thread *thread_self(void);

void event_init(struct event *e);
void event_signal(struct event *e);
void event_wait(struct event *e);
/* As event_wait, but gives up after ns nanoseconds: returns 0 when
 * signalled, -ETIMEDOUT when the time ran out first. */
int event_wait_timeout(struct event *e, uint64_t ns);

/*
 * A blocking call that loops (try, wait, try again) bounds the whole call
 * with a deadline on the time_ns() clock rather than each wait, so that a
 * wake that finds nothing (a stale signal) does not restart the clock:
 *
 *     uint64_t end = event_deadline(ns);
 *     for (int timed_out = 0;; timed_out = event_wait_until(e, end) != 0) {
 *         if (try())
 *             return ok;
 *         if (timed_out)
 *             return -ETIMEDOUT;  // tried once more after the time ran out
 *     }
 *
 * EVENT_NO_DEADLINE waits for ever. A timed-out wait leaves nothing behind
 * (no waiter on e, no timer): a later signal is kept for the next wait.
 */
#define EVENT_NO_DEADLINE UINT64_MAX
/* time_ns() + ns, short of EVENT_NO_DEADLINE however large ns is. */
uint64_t event_deadline(uint64_t ns);
/* event_wait_timeout until deadline: 0 when signalled, -ETIMEDOUT when the
 * deadline passed first (at once when it already has). */
int event_wait_until(struct event *e, uint64_t deadline);

/* Makes t runnable on its own core (any core may call). */
void sched_wake(struct thread *t);

/*
 * Turns the caller into core c's idle thread (its current stack is
 * [stack_lo, stack_hi)) and runs the scheduler on it forever.
 */
void sched_run_idle(void) __attribute__((noreturn));

/* Prepares core c's scheduler state; the idle thread uses the current stack. */
void sched_init_cpu(struct cpu *c, uint64_t stack_lo, uint64_t stack_hi);

/* Timer and wake-up interrupt handlers (kernel/smp.c installs them). */
void sched_timer_interrupt(void *ctx);
void sched_wakeup_interrupt(void *ctx);

/* If addr is in a guard page of the current thread, that thread. */
struct thread *sched_guard_owner(uint64_t addr);

/* Stack bounds of the thread running on this core, for backtraces. */
int sched_current_stack(uint64_t *lo, uint64_t *hi);

#endif
