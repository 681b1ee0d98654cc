/*
 * kernel/spinlock.h — a test-and-test-and-set lock for the few places that
 * need one (console output). Hot paths are per-core and take no lock.
 */
#ifndef ZEBU_KERNEL_SPINLOCK_H
#define ZEBU_KERNEL_SPINLOCK_H

#include "kernel/arch/cpu.h"

struct spinlock {
    volatile int locked;
};

static inline void spin_lock(struct spinlock *l)
{
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE) != 0)
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED) != 0)
            cpu_relax();
}

/* Returns 1 when taken, 0 when someone holds it. */
static inline int spin_trylock(struct spinlock *l)
{
    return __atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE) == 0;
}

static inline void spin_unlock(struct spinlock *l)
{
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* Interrupt-safe variants: return and restore the previous IF state. */
static inline uint64_t spin_lock_irqsave(struct spinlock *l)
{
    uint64_t flags = cpu_read_rflags();
    cpu_irq_disable();
    spin_lock(l);
    return flags;
}

static inline void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags)
{
    spin_unlock(l);
    if (flags & (1u << 9))
        cpu_irq_enable();
}

#endif
