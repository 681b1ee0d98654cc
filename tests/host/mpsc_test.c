/*
 * mpsc_test.c - kernel/mpsc.h, alone and under contention.
 *
 * Single-threaded tests pin down the contract: take-all on an empty queue,
 * oldest first, pushes between takes. The concurrent test runs
 * MPSC_PRODUCERS threads each pushing MPSC_PER_PRODUCER nodes tagged
 * (producer, sequence) against one consumer thread taking batches: each
 * producer's nodes must arrive exactly once and in order, which together
 * means the consumer sees sequence 0, 1, 2, ... for every producer.
 * host.mk builds this file under ASan+UBSan and again under
 * ThreadSanitizer. Threads only record problems; CHECKs run after joining.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernel/mpsc.h"
#include "runner.h"

#define MPSC_PRODUCERS    8
#define MPSC_PER_PRODUCER 200000u

struct item {
    uint64_t pad; /* the link is not the first member */
    struct mpsc_node link;
    uint32_t producer, seq;
};

/* Takes everything and appends the seq fields to out; returns how many. */
static size_t take_seqs(struct mpsc_queue *q, uint32_t *out, size_t max)
{
    size_t n = 0;
    for (struct mpsc_node *node = mpsc_take_all(q); node != NULL; node = node->next)
        if (n < max)
            out[n++] = MPSC_CONTAINER(node, struct item, link)->seq;
        else
            n++;
    return n;
}

TEST(mpsc_empty_queue)
{
    struct mpsc_queue q = {NULL};
    CHECK(mpsc_empty(&q));
    CHECK(mpsc_take_all(&q) == NULL);
    CHECK(mpsc_empty(&q));
    CHECK(mpsc_take_all(&q) == NULL);
}

TEST(mpsc_single_thread_fifo)
{
    struct mpsc_queue q = {NULL};
    struct item items[10];
    uint32_t seqs[10];

    for (uint32_t i = 0; i < 10; i++) {
        items[i].seq = i;
        mpsc_push(&q, &items[i].link);
        CHECK(!mpsc_empty(&q));
    }
    size_t n = take_seqs(&q, seqs, 10);
    CHECK_UINT_EQ(n, 10);
    for (uint32_t i = 0; i < n; i++)
        CHECK_UINT_EQ(seqs[i], i);
    CHECK(mpsc_empty(&q));
    CHECK(mpsc_take_all(&q) == NULL);
}

TEST(mpsc_one_node)
{
    struct mpsc_queue q = {NULL};
    struct item it = {.seq = 7};
    mpsc_push(&q, &it.link);
    struct mpsc_node *node = mpsc_take_all(&q);
    CHECK_PTR_EQ(node, &it.link);
    CHECK(node != NULL && node->next == NULL);
    CHECK_PTR_EQ(MPSC_CONTAINER(node, struct item, link), &it);
    CHECK(mpsc_empty(&q));
}

/* Pushes after a take start a new list; a node can be pushed again once
 * the consumer has taken it. */
TEST(mpsc_interleaved_push_and_take)
{
    struct mpsc_queue q = {NULL};
    struct item items[6];
    uint32_t seqs[6];

    for (uint32_t i = 0; i < 6; i++)
        items[i].seq = i;
    mpsc_push(&q, &items[0].link);
    mpsc_push(&q, &items[1].link);
    CHECK_UINT_EQ(take_seqs(&q, seqs, 6), 2);
    CHECK(seqs[0] == 0 && seqs[1] == 1);

    mpsc_push(&q, &items[2].link);
    CHECK_UINT_EQ(take_seqs(&q, seqs, 6), 1);
    CHECK_UINT_EQ(seqs[0], 2);

    for (uint32_t i = 3; i < 6; i++)
        mpsc_push(&q, &items[i].link);
    mpsc_push(&q, &items[0].link); /* reused */
    CHECK_UINT_EQ(take_seqs(&q, seqs, 6), 4);
    CHECK(seqs[0] == 3 && seqs[1] == 4 && seqs[2] == 5 && seqs[3] == 0);
    CHECK(mpsc_empty(&q));
}

/* --- concurrent ------------------------------------------------------------- */

struct producer {
    pthread_t tid;
    uint32_t id;
    struct item *items;
};

struct consumer {
    pthread_t tid;
    uint32_t next[MPSC_PRODUCERS]; /* next expected sequence per producer */
    uint64_t received, bad_producer, out_of_order, batches, max_batch, empty_polls;
};

static struct mpsc_queue shared_queue;
static int start_flag; /* atomic: producers wait for it, to collide more */

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    while (!__atomic_load_n(&start_flag, __ATOMIC_ACQUIRE))
        sched_yield();
    for (uint32_t i = 0; i < MPSC_PER_PRODUCER; i++) {
        p->items[i].producer = p->id;
        p->items[i].seq = i;
        mpsc_push(&shared_queue, &p->items[i].link);
    }
    return NULL;
}

static void consume(struct consumer *c, struct mpsc_node *node)
{
    uint64_t batch = 0;
    for (; node != NULL; node = node->next, batch++) {
        struct item *it = MPSC_CONTAINER(node, struct item, link);
        c->received++;
        if (it->producer >= MPSC_PRODUCERS) {
            c->bad_producer++;
            continue;
        }
        if (it->seq != c->next[it->producer])
            c->out_of_order++;
        c->next[it->producer] = it->seq + 1;
    }
    c->batches++;
    if (batch > c->max_batch)
        c->max_batch = batch;
}

static void *consumer_main(void *arg)
{
    struct consumer *c = arg;
    const uint64_t total = (uint64_t)MPSC_PRODUCERS * MPSC_PER_PRODUCER;
    __atomic_store_n(&start_flag, 1, __ATOMIC_RELEASE);
    while (c->received < total) {
        /* Poll as a core's idle loop would: look, then take. */
        if (mpsc_empty(&shared_queue)) {
            c->empty_polls++;
            sched_yield();
            continue;
        }
        consume(c, mpsc_take_all(&shared_queue));
    }
    return NULL;
}

TEST(mpsc_producers_against_one_consumer)
{
    struct producer prod[MPSC_PRODUCERS];
    struct consumer cons = {0};

    shared_queue.head = NULL;
    start_flag = 0;
    for (uint32_t i = 0; i < MPSC_PRODUCERS; i++) {
        prod[i].id = i;
        prod[i].items = calloc(MPSC_PER_PRODUCER, sizeof(struct item));
        CHECK(prod[i].items != NULL);
    }
    CHECK(pthread_create(&cons.tid, NULL, consumer_main, &cons) == 0);
    for (uint32_t i = 0; i < MPSC_PRODUCERS; i++)
        CHECK(pthread_create(&prod[i].tid, NULL, producer_main, &prod[i]) == 0);
    for (uint32_t i = 0; i < MPSC_PRODUCERS; i++)
        pthread_join(prod[i].tid, NULL);
    pthread_join(cons.tid, NULL);

    CHECK_UINT_EQ(cons.received, (uint64_t)MPSC_PRODUCERS * MPSC_PER_PRODUCER);
    CHECK_UINT_EQ(cons.bad_producer, 0);
    CHECK_UINT_EQ(cons.out_of_order, 0);
    for (uint32_t i = 0; i < MPSC_PRODUCERS; i++)
        CHECK_AT(__FILE__, __LINE__, cons.next[i] == MPSC_PER_PRODUCER,
                 "producer %u: last sequence seen %u", i, cons.next[i]);
    CHECK(mpsc_empty(&shared_queue));
    CHECK(mpsc_take_all(&shared_queue) == NULL);
    for (uint32_t i = 0; i < MPSC_PRODUCERS; i++)
        free(prod[i].items);
}
