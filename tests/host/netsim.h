/*
 * netsim.h - a seeded in-memory link between two endpoints (0 and 1) that
 * can drop, duplicate, reorder, delay and corrupt frames.
 *
 * Independent of net/: it moves byte strings. Each frame sent is copied;
 * the fate of every frame comes from one xorshift generator seeded by
 * netsim_cfg.seed, so a run replays exactly from its seed. With log set,
 * every decision is written there as one line ("t=120 #7 0->1 64B drop"),
 * so a failing run can be read back and replayed.
 *
 * Time is the caller's: frames become due at send time + delay (+ jitter,
 * + reorder_delay_ms for frames picked for reordering, so later frames
 * overtake them); netsim_poll delivers every frame due by now, in due
 * order (ties in send order). TCP tests reuse this later.
 */
#ifndef ZEBU_TESTS_HOST_NETSIM_H
#define ZEBU_TESTS_HOST_NETSIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct netsim_cfg {
    uint64_t seed;
    /* Probabilities in parts per thousand, decided independently. */
    unsigned drop_pml, dup_pml, reorder_pml, corrupt_pml;
    uint32_t delay_ms;         /* every frame */
    uint32_t jitter_ms;        /* plus 0..jitter_ms at random */
    uint32_t reorder_delay_ms; /* extra delay of a reordered frame */
    FILE *log;                 /* decision log, or NULL */
};

struct netsim_stats {
    uint64_t sent, delivered, dropped, duplicated, reordered, corrupted;
};

struct netsim_link;

typedef void (*netsim_deliver_fn)(void *arg, int to_end, const uint8_t *frame, size_t len);

struct netsim_link *netsim_create(const struct netsim_cfg *cfg);
void netsim_destroy(struct netsim_link *l);

/* Copy a frame into the link from endpoint `from` (0 or 1) at now_ms. */
void netsim_send(struct netsim_link *l, int from, const void *frame, size_t len, uint64_t now_ms);

/* Deliver every frame due at or before now_ms; returns how many. The
 * callback may send more frames (they are due later). */
size_t netsim_poll(struct netsim_link *l, uint64_t now_ms, netsim_deliver_fn fn, void *arg);

/* When the next frame is due, or UINT64_MAX when the link is empty. */
uint64_t netsim_next_due(const struct netsim_link *l);

const struct netsim_stats *netsim_stats(const struct netsim_link *l);

/* The generator, for tests that want their own seeded choices. */
uint64_t netsim_rand(struct netsim_link *l);

#endif /* ZEBU_TESTS_HOST_NETSIM_H */
