/*
 * kernel/mpsc.h — a lock-free multi-producer, single-consumer queue.
 *
 * Producers push with a compare-and-swap onto a stack; the one consumer takes
 * everything at once with an exchange and reverses it, so it sees items in
 * the order they were pushed. Take-all has no ABA problem (nothing is popped
 * one by one), and a producer never waits for the consumer. Used for each
 * core's mailbox and for the app's mailboxes; plain C11 atomics, so the host
 * tests run it under ThreadSanitizer.
 */
#ifndef ZEBU_KERNEL_MPSC_H
#define ZEBU_KERNEL_MPSC_H

#include <stddef.h>

struct mpsc_node {
    struct mpsc_node *next;
};

struct mpsc_queue {
    struct mpsc_node *head; /* newest first */
};

/* Any thread, any core, interrupt handlers included. */
static inline void mpsc_push(struct mpsc_queue *q, struct mpsc_node *n)
{
    struct mpsc_node *old = __atomic_load_n(&q->head, __ATOMIC_RELAXED);
    do {
        n->next = old;
    } while (!__atomic_compare_exchange_n(&q->head, &old, n, 1, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
}

/* Consumer only: every pushed node, oldest first, as a NULL-ended list. */
static inline struct mpsc_node *mpsc_take_all(struct mpsc_queue *q)
{
    struct mpsc_node *n = __atomic_exchange_n(&q->head, NULL, __ATOMIC_ACQUIRE);
    struct mpsc_node *fifo = NULL;
    while (n != NULL) {
        struct mpsc_node *next = n->next;
        n->next = fifo;
        fifo = n;
        n = next;
    }
    return fifo;
}

static inline int mpsc_empty(const struct mpsc_queue *q)
{
    return __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) == NULL;
}

#define MPSC_CONTAINER(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
