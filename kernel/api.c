/*
 * kernel/api.c — include/zebu.h's threads, cores, events, mailboxes and
 * memory statistics: thin wrappers over kernel/sched.h, kernel/mpsc.h and
 * the allocators. (Starting and ending the app is kernel/app.c.)
 */
#include <errno.h>
#include <zebu.h>

#include "kernel/arch/cpu.h"
#include "kernel/kmalloc.h"
#include "kernel/mpsc.h"
#include "kernel/percpu.h"
#include "kernel/pmem.h"
#include "kernel/sched.h"
#include "kernel/time.h"

_Static_assert(sizeof(struct zebu_msg) == sizeof(struct mpsc_node),
               "zebu_msg must be an mpsc_node");

uint64_t zebu_wall_time_ns(void)
{
    return time_wall_ns();
}

void zebu_sleep_ns(uint64_t ns)
{
    thread_sleep_ns(ns);
}

int zebu_core_count(void)
{
    return cpu_count;
}

int zebu_core_id(void)
{
    return (int)this_cpu()->id;
}

long zebu_core_apic_id(int core)
{
    if (core < 0 || core >= cpu_count || cpu_table[core] == NULL)
        return -1;
    return cpu_table[core]->apic_id;
}

int zebu_core_stats(int core, struct zebu_core_stats *s)
{
    if (core < 0 || core >= cpu_count || cpu_table[core] == NULL)
        return -EINVAL;
    const struct cpu_stats *cs = &cpu_table[core]->stats;
    s->cycles = cpu_rdtsc();
    s->idle_cycles = __atomic_load_n(&cs->idle_cycles, __ATOMIC_RELAXED);
    s->switches = __atomic_load_n(&cs->switches, __ATOMIC_RELAXED);
    s->irqs = __atomic_load_n(&cs->irqs, __ATOMIC_RELAXED);
    return 0;
}

uint64_t zebu_tsc_khz(void)
{
    return time_tsc_khz();
}

struct zebu_thread *zebu_thread_create(void *(*fn)(void *), void *arg, int core,
                                       const char *name, size_t stack_size)
{
    return (struct zebu_thread *)thread_create(fn, arg, core, name, stack_size);
}

void *zebu_thread_join(struct zebu_thread *t)
{
    return thread_join((struct thread *)t);
}

void zebu_thread_detach(struct zebu_thread *t)
{
    thread_detach((struct thread *)t);
}

void zebu_thread_yield(void)
{
    thread_yield();
}

void zebu_thread_exit(void *result)
{
    thread_exit(result);
}

const char *zebu_thread_name(void)
{
    return thread_self()->name;
}

struct zebu_event *zebu_event_create(void)
{
    struct event *e = malloc(sizeof(*e));
    if (e != NULL)
        event_init(e);
    return (struct zebu_event *)e;
}

void zebu_event_signal(struct zebu_event *e)
{
    event_signal((struct event *)e);
}

void zebu_event_wait(struct zebu_event *e)
{
    event_wait((struct event *)e);
}

int zebu_event_wait_timeout(struct zebu_event *e, uint64_t ns)
{
    return event_wait_timeout((struct event *)e, ns);
}

void zebu_event_destroy(struct zebu_event *e)
{
    free(e);
}

struct zebu_mailbox {
    struct mpsc_queue queue;  /* senders push here */
    struct mpsc_node *batch;  /* the receiver's taken, not yet returned */
    struct event arrived;
};

struct zebu_mailbox *zebu_mailbox_create(void)
{
    struct zebu_mailbox *mb = calloc(1, sizeof(*mb));
    if (mb != NULL)
        event_init(&mb->arrived);
    return mb;
}

void zebu_mailbox_send(struct zebu_mailbox *mb, struct zebu_msg *msg)
{
    mpsc_push(&mb->queue, (struct mpsc_node *)msg);
    event_signal(&mb->arrived);
}

struct zebu_msg *zebu_mailbox_try_recv(struct zebu_mailbox *mb)
{
    if (mb->batch == NULL)
        mb->batch = mpsc_take_all(&mb->queue);
    struct mpsc_node *n = mb->batch;
    if (n != NULL)
        mb->batch = n->next;
    return (struct zebu_msg *)n;
}

/* Each send signals once; a batch can hold several, so some waits return
 * to an empty queue and loop. None is lost. The deadline bounds the whole
 * call (kernel/sched.h): a message that comes after it waits for the next
 * receive, whose wait its signal ends at once. */
static struct zebu_msg *recv_until(struct zebu_mailbox *mb, uint64_t end)
{
    for (int timed_out = 0;; timed_out = event_wait_until(&mb->arrived, end) != 0) {
        struct zebu_msg *m = zebu_mailbox_try_recv(mb);
        if (m != NULL)
            return m;
        if (timed_out) {
            errno = ETIMEDOUT;
            return NULL;
        }
    }
}

struct zebu_msg *zebu_mailbox_recv(struct zebu_mailbox *mb)
{
    return recv_until(mb, EVENT_NO_DEADLINE);
}

struct zebu_msg *zebu_mailbox_recv_timeout(struct zebu_mailbox *mb, uint64_t ns)
{
    return recv_until(mb, event_deadline(ns));
}

void zebu_mailbox_destroy(struct zebu_mailbox *mb)
{
    free(mb);
}

void zebu_mem_stats(struct zebu_mem_stats *s)
{
    struct pmem_stats ps;
    struct kmalloc_stats ks;
    pmem_get_stats(&ps);
    kmalloc_get_stats(&ks);
    s->total_bytes = ps.total_bytes;
    s->free_bytes = ps.free_bytes;
    s->heap_in_use = ks.bytes_in_use;
    s->allocs = ks.allocs;
    s->frees = ks.frees;
    s->failures = ks.failures;
    s->page_failures = ps.alloc_failures;
}

void zebu_mem_print_stats(void)
{
    kmalloc_print_stats();
}
