/*
 * kernel/mutex.c — include/zebu.h's sleeping mutex.
 *
 * The lock word follows the three-state design of Drepper's "Futexes Are
 * Tricky" (0 free, 1 held, 2 held and maybe contended), with a struct
 * event standing in for the futex: a thread that must wait sets 2 and
 * waits on the event; an unlock that finds 2 signals it once. The event
 * counts signals, so a signal that comes before its waiter has gone to
 * sleep is kept, and the waiter's next wait returns at once: no wake-up is
 * lost between "saw it held" and "slept". A stale signal only costs a
 * sleeper one extra look at the lock word. Waking goes through the
 * scheduler's cross-core path (mailbox + IPI), so waiters on any core work.
 */
#include <zebu.h>

#include "kernel/arch/cpu.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/sched.h"

_Static_assert(sizeof(struct event) <= sizeof(((struct zebu_mutex *)0)->wait_q),
               "zebu_mutex.wait_q must hold a struct event");
_Static_assert(_Alignof(struct event) <= _Alignof(uint64_t),
               "zebu_mutex.wait_q is aligned for a struct event");

/* How many times a locker looks at the lock word (with PAUSE in between)
 * while the holder runs on another core, before it sleeps: about a
 * microsecond or two on current CPUs, the length of a short critical
 * section. Spinning on the holder's own core would only delay it. */
#define MUTEX_SPIN 64

enum { MUTEX_FREE = 0, MUTEX_HELD = 1, MUTEX_CONTENDED = 2 };

static struct event *wait_queue(struct zebu_mutex *m)
{
    return (struct event *)(void *)m->wait_q;
}

void zebu_mutex_init(struct zebu_mutex *m)
{
    *m = (struct zebu_mutex)ZEBU_MUTEX_INIT;
}

/* Records the calling thread as the holder (it has just taken m). */
static void set_owner(struct zebu_mutex *m, struct thread *self)
{
    __atomic_store_n(&m->owner, self, __ATOMIC_RELAXED);
    __atomic_store_n(&m->owner_core, (int)self->cpu->id + 1, __ATOMIC_RELAXED);
}

static int try_take(struct zebu_mutex *m)
{
    int expect = MUTEX_FREE;
    return __atomic_compare_exchange_n(&m->state, &expect, MUTEX_HELD, 0, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

static void check_not_holder(struct zebu_mutex *m, struct thread *self)
{
    if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) == self)
        panic("mutex %p: thread %s locks it again while holding it", (void *)m, self->name);
}

/* While the holder runs on another core and the mutex stays held, spin a
 * little: 1 when the mutex was taken. */
static int spin_take(struct zebu_mutex *m, int my_core)
{
    for (int i = 0; i < MUTEX_SPIN; i++) {
        int core = __atomic_load_n(&m->owner_core, __ATOMIC_RELAXED);
        if (core == my_core + 1)
            return 0; /* the holder needs this core to finish */
        if (__atomic_load_n(&m->state, __ATOMIC_RELAXED) == MUTEX_FREE && try_take(m))
            return 1;
        cpu_relax();
    }
    return 0;
}

void zebu_mutex_lock(struct zebu_mutex *m)
{
    struct thread *self = thread_self();
    if (try_take(m)) {
        set_owner(m, self);
        return;
    }
    check_not_holder(m, self);
    if (spin_take(m, (int)self->cpu->id)) {
        set_owner(m, self);
        return;
    }
    /* Mark it contended; whoever holds it now will signal on unlock. A
     * thread that takes it here takes it as contended too (it cannot know
     * whether others sleep), which costs at most one spurious signal. */
    int waited = 0;
    while (__atomic_exchange_n(&m->state, MUTEX_CONTENDED, __ATOMIC_ACQUIRE) != MUTEX_FREE) {
        event_wait(wait_queue(m));
        waited = 1;
    }
    set_owner(m, self);
    if (waited)
        m->waits++; /* under the mutex */
}

int zebu_mutex_trylock(struct zebu_mutex *m)
{
    struct thread *self = thread_self();
    if (!try_take(m)) {
        check_not_holder(m, self);
        return -EBUSY;
    }
    set_owner(m, self);
    return 0;
}

void zebu_mutex_unlock(struct zebu_mutex *m)
{
    struct thread *self = thread_self();
    if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) != self)
        panic("mutex %p: thread %s unlocks it without holding it", (void *)m, self->name);
    __atomic_store_n(&m->owner, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&m->owner_core, 0, __ATOMIC_RELAXED);
    if (__atomic_exchange_n(&m->state, MUTEX_FREE, __ATOMIC_RELEASE) == MUTEX_CONTENDED)
        event_signal(wait_queue(m));
}
