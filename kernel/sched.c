/*
 * kernel/sched.c — per-core cooperative scheduler, threads, sleep, events.
 *
 * Rules that keep it correct without a global lock:
 *   - a core's run queue, timer list and `reap` slot are touched only by that
 *     core, with its interrupts off;
 *   - other cores hand it threads through its mailbox (kernel/mpsc.h) and
 *     send VEC_WAKEUP only when it is halted (`sleeping`): the pusher stores,
 *     then reads `sleeping`; the idle loop stores `sleeping`, then reads the
 *     mailbox; both with full fences, so one of them sees the other;
 *   - a thread that blocks sets its state and queues itself on the wait list
 *     with interrupts off and stays so into schedule(); a wake that races in
 *     from another core lands in the mailbox, which schedule() drains first.
 * An exited thread's stack is freed by the next thread that runs on the core
 * (it cannot free the stack it is standing on).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/lapic.h"
#include "kernel/arch/cpu.h"
#include "kernel/paging.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/pmem.h"
#include "kernel/sched.h"
#include "kernel/time.h"

void arch_switch(uint64_t *save_rsp, uint64_t next_rsp);
void sched_thread_main(struct thread *t) __attribute__((noreturn));
extern char thread_start[];

static uint64_t next_thread_id = 1;

static uint64_t irq_save(void)
{
    uint64_t flags = cpu_read_rflags();
    cpu_irq_disable();
    return flags;
}

static void irq_restore(uint64_t flags)
{
    if (flags & (1u << 9))
        cpu_irq_enable();
}

/* ---- run queue (this core, interrupts off) ---- */

static void rq_push(struct cpu *c, struct thread *t)
{
    t->next = NULL;
    t->state = THREAD_RUNNABLE;
    if (c->rq_tail != NULL)
        c->rq_tail->next = t;
    else
        c->rq_head = t;
    c->rq_tail = t;
}

static struct thread *rq_pop(struct cpu *c)
{
    struct thread *t = c->rq_head;
    if (t != NULL) {
        c->rq_head = t->next;
        if (c->rq_head == NULL)
            c->rq_tail = NULL;
        t->next = NULL;
    }
    return t;
}

static void drain_mailbox(struct cpu *c)
{
    struct mpsc_node *n = mpsc_take_all(&c->mailbox);
    while (n != NULL) {
        struct mpsc_node *next = n->next;
        rq_push(c, MPSC_CONTAINER(n, struct thread, mbox));
        c->stats.remote_wakes++;
        n = next;
    }
}

/* ---- thread lifetime ---- */

static void thread_put(struct thread *t)
{
    if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(t);
}

static void free_stack(struct thread *t)
{
    paging_set_guard((uint64_t)(uintptr_t)t->stack, 0);
    pmem_free(t->stack, t->stack_order);
    t->stack = NULL;
}

static void wake_on(struct cpu *c, struct thread *t);

/* Runs on the new side of every switch: finishes what the old side could not. */
static void finish_switch(struct cpu *c)
{
    struct thread *moving = c->moving;
    if (moving != NULL) { /* its registers are saved now: the other core may run it */
        c->moving = NULL;
        wake_on(c, moving);
    }
    struct thread *dead = c->reap;
    if (dead != NULL) {
        c->reap = NULL;
        free_stack(dead);
        thread_put(dead);
    }
}

/* Interrupts off. Picks the next thread and switches to it (or returns when
 * the current one should go on). The caller has set current->state. */
static void schedule(void)
{
    struct cpu *c = this_cpu();
    struct thread *prev = c->current;
    drain_mailbox(c);
    struct thread *next = rq_pop(c);
    if (next == NULL) {
        if (prev->state == THREAD_RUNNING)
            return;
        next = c->idle;
    }
    if (next == prev) {
        prev->state = THREAD_RUNNING;
        return;
    }
    if (prev->state == THREAD_DEAD)
        c->reap = prev;
    next->state = THREAD_RUNNING;
    c->current = next;
    c->stats.switches++;
    arch_switch(&prev->rsp, next->rsp);
    finish_switch(this_cpu());
}

void sched_thread_main(struct thread *t)
{
    struct cpu *c = this_cpu();
    finish_switch(c);
    /* This core may hold a stale large-page TLB entry over the guard page
     * that another core unmapped when it made the stack. */
    cpu_invlpg(t->stack);
    cpu_irq_enable();
    thread_exit(t->fn(t->arg));
}

struct thread *thread_create(void *(*fn)(void *), void *arg, int core, const char *name,
                             size_t stack_size)
{
    if (core < 0 || core >= cpu_count || cpu_table[core] == NULL || !cpu_table[core]->online)
        return NULL;
    if (stack_size == 0)
        stack_size = THREAD_STACK_DEFAULT;
    struct thread *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->stack_order = pmem_order_for(stack_size + PAGE_SIZE);
    t->stack = pmem_alloc(t->stack_order);
    if (t->stack == NULL || paging_set_guard((uint64_t)(uintptr_t)t->stack, 1) != 0) {
        if (t->stack != NULL)
            pmem_free(t->stack, t->stack_order);
        free(t);
        return NULL;
    }
    t->fn = fn;
    t->arg = arg;
    t->cpu = cpu_table[core];
    t->refs = 2;
    t->id = __atomic_fetch_add(&next_thread_id, 1, __ATOMIC_RELAXED);
    event_init(&t->done);
    strlcpy(t->name, name != NULL ? name : "thread", sizeof(t->name));

    /* The frame arch_switch pops: r15 r14 r13 r12 rbx rbp, then "returns"
     * into thread_start with RBX = t. */
    uint64_t *sp = (uint64_t *)(uintptr_t)(t->stack + (PAGE_SIZE << t->stack_order));
    *--sp = (uint64_t)(uintptr_t)thread_start;
    *--sp = 0;                       /* rbp */
    *--sp = (uint64_t)(uintptr_t)t;  /* rbx */
    for (int i = 0; i < 4; i++)
        *--sp = 0;                   /* r12-r15 */
    t->rsp = (uint64_t)(uintptr_t)sp;
    sched_wake(t);
    return t;
}

void thread_exit(void *result)
{
    cpu_irq_disable();
    struct cpu *c = this_cpu();
    struct thread *self = c->current;
    KASSERT(self != c->idle);
    self->result = result;
    event_signal(&self->done);
    cpu_irq_disable(); /* event_signal restored IF */
    self->state = THREAD_DEAD;
    schedule();
    panic("thread_exit: a dead thread was scheduled");
}

void *thread_join(struct thread *t)
{
    event_wait(&t->done);
    void *r = t->result;
    thread_put(t);
    return r;
}

void thread_detach(struct thread *t)
{
    thread_put(t);
}

struct thread *thread_self(void)
{
    return this_cpu()->current;
}

void thread_yield(void)
{
    uint64_t f = irq_save();
    struct cpu *c = this_cpu();
    if (c->rq_head != NULL || !mpsc_empty(&c->mailbox)) {
        rq_push(c, c->current);
        schedule();
    }
    irq_restore(f);
}

/* ---- sleeping ---- */

/*
 * Programs the core's timer for its earliest sleeper, lazily: only when
 * that is earlier than what is programmed (or nothing is). A wait that ends
 * early (the network thread's, woken by a packet, every request) leaves the
 * later deadline in place; if it fires with nobody due, the interrupt
 * re-arms for whoever is next. Each reprogramming is a device access (a VM
 * exit under KVM, an emulated APIC write under TCG): this way a wait that
 * is woken costs none, where it used to cost an arm and a disarm.
 * Invariant: with sleepers, timer_deadline is set and not after the first.
 */
static void timer_arm(struct cpu *c)
{
    if (c->timers == NULL)
        return;
    uint64_t d = c->timers->wake_tsc;
    if (c->timer_deadline == 0 || d < c->timer_deadline) {
        c->timer_deadline = d;
        lapic_timer_arm_tsc(d);
    }
}

/* The longest wait the timer list takes: about 9 years. Longer ones end
 * then; converting more to TSC cycles could overflow and wrap around to a
 * wake-up in the past (UINT64_MAX meant "for ever" would time out at once). */
#define TIMER_MAX_NS (1ull << 58)

/* Interrupts off: puts the current thread on this core's timer list. */
static void timer_insert(struct cpu *c, struct thread *t, uint64_t ns)
{
    if (ns > TIMER_MAX_NS)
        ns = TIMER_MAX_NS;
    t->wake_tsc = cpu_rdtsc() + time_ns_to_tsc(ns) + 1;
    struct thread **p = &c->timers;
    while (*p != NULL && (*p)->wake_tsc <= t->wake_tsc)
        p = &(*p)->timer_next;
    t->timer_next = *p;
    *p = t;
    timer_arm(c);
}

/* Interrupts off: takes t off this core's timer list if it is there. The
 * programmed deadline stays (see timer_arm). */
static void timer_remove(struct cpu *c, struct thread *t)
{
    for (struct thread **p = &c->timers; *p != NULL; p = &(*p)->timer_next) {
        if (*p == t) {
            *p = t->timer_next;
            t->timer_next = NULL;
            return;
        }
    }
}

void thread_sleep_ns(uint64_t ns)
{
    if (ns == 0) {
        thread_yield();
        return;
    }
    uint64_t f = irq_save();
    struct cpu *c = this_cpu();
    struct thread *self = c->current;
    KASSERT(self != c->idle);
    timer_insert(c, self, ns);
    self->state = THREAD_SLEEPING;
    schedule();
    irq_restore(f);
}

void sched_timer_interrupt(void *ctx)
{
    (void)ctx;
    struct cpu *c = this_cpu();
    uint64_t now = cpu_rdtsc();
    while (c->timers != NULL && c->timers->wake_tsc <= now) {
        struct thread *t = c->timers;
        c->timers = t->timer_next;
        t->timer_next = NULL;
        if (t->wait_token == 0) {
            rq_push(c, t); /* a plain sleep */
            continue;
        }
        /* A timed wait: wake it only if no signal got there first. */
        int waiting = 1;
        if (__atomic_compare_exchange_n(&t->wait_token, &waiting, 2, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            t->timed_out = 1;
            rq_push(c, t);
        }
    }
    c->timer_deadline = 0; /* the one-shot fired */
    timer_arm(c);
}

void sched_wakeup_interrupt(void *ctx)
{
    (void)ctx;
    /* Nothing to do here: the idle loop drains the mailbox after HLT. */
}

/* ---- waking ---- */

/* Interrupts off: makes t runnable on its core, from core c. */
static void wake_on(struct cpu *c, struct thread *t)
{
    if (t->cpu == c) {
        rq_push(c, t);
        return;
    }
    struct cpu *target = t->cpu;
    mpsc_push(&target->mailbox, &t->mbox);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&target->sleeping, __ATOMIC_RELAXED)) {
        c->stats.ipis_sent++;
        lapic_send_ipi(target->apic_id, VEC_WAKEUP);
    }
}

void sched_wake(struct thread *t)
{
    uint64_t f = irq_save();
    wake_on(this_cpu(), t);
    irq_restore(f);
}

int thread_move(int core)
{
    uint64_t f = irq_save();
    struct cpu *c = this_cpu();
    int from = (int)c->id;
    if (core < 0 || core >= cpu_count || cpu_table[core] == NULL || core == from) {
        irq_restore(f);
        return from;
    }
    struct thread *self = c->current;
    KASSERT(self != c->idle);
    /* Handed to the other core only once switched out (finish_switch on
     * this core's next thread): before that its stack is still in use. */
    self->cpu = cpu_table[core];
    self->state = THREAD_BLOCKED;
    c->moving = self;
    c->stats.moves_out++;
    schedule();
    irq_restore(f);
    return from;
}

/* ---- events ---- */

void event_init(struct event *e)
{
    memset(e, 0, sizeof(*e));
}

/* Lock held: queues t last among e's waiters. */
static void waiters_append(struct event *e, struct thread *t)
{
    t->next = NULL;
    if (e->tail != NULL)
        e->tail->next = t;
    else
        e->head = t;
    e->tail = t;
}

/* Lock held: unlinks t from e's waiters if it is there. */
static void waiters_remove(struct event *e, struct thread *t)
{
    struct thread *prev = NULL;
    for (struct thread *w = e->head; w != NULL; prev = w, w = w->next) {
        if (w != t)
            continue;
        if (prev != NULL)
            prev->next = w->next;
        else
            e->head = w->next;
        if (e->tail == w)
            e->tail = prev;
        w->next = NULL;
        return;
    }
}

void event_signal(struct event *e)
{
    uint64_t f = spin_lock_irqsave(&e->lock);
    struct thread *t;
    for (;;) {
        t = e->head;
        if (t == NULL) {
            e->pending++;
            break;
        }
        e->head = t->next;
        if (e->head == NULL)
            e->tail = NULL;
        t->next = NULL;
        if (t->wait_token == 0)
            break; /* an untimed waiter */
        int waiting = 1;
        if (__atomic_compare_exchange_n(&t->wait_token, &waiting, 2, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            break;
        /* Its timeout won: it is already runnable. The signal goes on to
         * the next waiter (or stays pending). */
    }
    spin_unlock_irqrestore(&e->lock, f);
    if (t != NULL)
        sched_wake(t);
}

int event_wait_timeout(struct event *e, uint64_t ns)
{
    uint64_t f = irq_save();
    spin_lock(&e->lock);
    if (e->pending > 0) {
        e->pending--;
        spin_unlock(&e->lock);
        irq_restore(f);
        return 0;
    }
    struct cpu *c = this_cpu();
    struct thread *self = c->current;
    KASSERT(self != c->idle);
    waiters_append(e, self);
    self->timed_out = 0;
    __atomic_store_n(&self->wait_token, 1, __ATOMIC_RELEASE);
    timer_insert(c, self, ns);
    self->state = THREAD_BLOCKED;
    spin_unlock(&e->lock);
    schedule();
    /* Woken by exactly one of: the signal (token set by event_signal) or
     * the timer (timed_out). Undo the other registration. */
    int timed_out = self->timed_out;
    if (timed_out) {
        spin_lock(&e->lock);
        waiters_remove(e, self);
        spin_unlock(&e->lock);
    } else {
        timer_remove(c, self);
    }
    __atomic_store_n(&self->wait_token, 0, __ATOMIC_RELEASE);
    irq_restore(f);
    return timed_out ? -ETIMEDOUT : 0;
}

int event_wait_until(struct event *e, uint64_t deadline)
{
    if (deadline == EVENT_NO_DEADLINE) {
        event_wait(e);
        return 0;
    }
    uint64_t now = time_ns();
    return now >= deadline ? -ETIMEDOUT : event_wait_timeout(e, deadline - now);
}

uint64_t event_deadline(uint64_t ns)
{
    uint64_t now = time_ns();
    return ns >= EVENT_NO_DEADLINE - now ? EVENT_NO_DEADLINE - 1 : now + ns;
}

void event_wait(struct event *e)
{
    uint64_t f = irq_save();
    spin_lock(&e->lock);
    if (e->pending > 0) {
        e->pending--;
        spin_unlock(&e->lock);
        irq_restore(f);
        return;
    }
    struct cpu *c = this_cpu();
    struct thread *self = c->current;
    KASSERT(self != c->idle);
    waiters_append(e, self);
    self->state = THREAD_BLOCKED;
    spin_unlock(&e->lock);
    schedule();
    irq_restore(f);
}

/* ---- per core ---- */

/* errno is per thread once the boot core has a scheduler: a thread that
 * is switched out (or moves to another core) between a failing call and
 * its look at errno still sees its own. Before that, one boot-time slot
 * (libc/errno.c's weak definition is the same for host builds). */
static int errno_per_thread;

int *__errno_location(void)
{
    static int boot_errno;
    if (!__atomic_load_n(&errno_per_thread, __ATOMIC_RELAXED))
        return &boot_errno;
    struct thread *t = this_cpu()->current;
    return t != NULL ? &t->errno_value : &boot_errno;
}

void sched_init_cpu(struct cpu *c, uint64_t stack_lo, uint64_t stack_hi)
{
    struct thread *idle = calloc(1, sizeof(*idle));
    if (idle == NULL)
        panic("sched: no memory for core %u's idle thread", c->id);
    idle->cpu = c;
    idle->state = THREAD_RUNNING;
    idle->refs = 1;
    strlcpy(idle->name, "idle", sizeof(idle->name));
    c->idle = idle;
    c->current = idle;
    c->stack_lo = stack_lo;
    c->stack_hi = stack_hi;
    __atomic_store_n(&errno_per_thread, 1, __ATOMIC_RELAXED);
}

void sched_run_idle(void)
{
    struct cpu *c = this_cpu();
    for (;;) {
        cpu_irq_disable();
        schedule();
        __atomic_store_n(&c->sleeping, 1, __ATOMIC_SEQ_CST);
        if (c->rq_head != NULL || !mpsc_empty(&c->mailbox)) {
            __atomic_store_n(&c->sleeping, 0, __ATOMIC_RELAXED);
            continue;
        }
        c->stats.halts++;
        uint64_t t0 = cpu_rdtsc();
        cpu_irq_enable_and_halt();
        c->stats.idle_cycles += cpu_rdtsc() - t0;
        __atomic_store_n(&c->sleeping, 0, __ATOMIC_RELAXED);
    }
}

struct thread *sched_guard_owner(uint64_t addr)
{
    struct cpu *c = this_cpu();
    if (c == NULL || c->current == NULL || c->current->stack == NULL)
        return NULL;
    uint64_t g = (uint64_t)(uintptr_t)c->current->stack;
    return addr >= g && addr < g + PAGE_SIZE ? c->current : NULL;
}

int sched_current_stack(uint64_t *lo, uint64_t *hi)
{
    struct cpu *c = this_cpu();
    if (c == NULL || c->current == NULL)
        return 0;
    struct thread *t = c->current;
    if (t == c->idle || t->stack == NULL) {
        *lo = c->stack_lo;
        *hi = c->stack_hi;
    } else {
        *lo = (uint64_t)(uintptr_t)t->stack + PAGE_SIZE;
        *hi = (uint64_t)(uintptr_t)t->stack + (PAGE_SIZE << t->stack_order);
    }
    return *hi > *lo;
}
