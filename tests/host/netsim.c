/*
 * netsim.c - the seeded lossy link (see netsim.h).
 */
#include "netsim.h"

#include <stdlib.h>
#include <string.h>

struct netsim_frame {
    struct netsim_frame *next;
    uint64_t due_ms, seq;
    int to_end;
    size_t len;
    uint8_t data[];
};

struct netsim_link {
    struct netsim_cfg cfg;
    uint64_t rng, seq;
    struct netsim_frame *queue; /* sorted by (due_ms, seq) */
    struct netsim_stats stats;
};

uint64_t netsim_rand(struct netsim_link *l)
{
    /* xorshift64* */
    l->rng ^= l->rng >> 12;
    l->rng ^= l->rng << 25;
    l->rng ^= l->rng >> 27;
    return l->rng * 0x2545f4914f6cdd1dull;
}

static int chance(struct netsim_link *l, unsigned pml)
{
    return pml > 0 && netsim_rand(l) % 1000 < pml;
}

struct netsim_link *netsim_create(const struct netsim_cfg *cfg)
{
    struct netsim_link *l = calloc(1, sizeof(*l));

    if (l == NULL)
        abort();
    l->cfg = *cfg;
    l->rng = cfg->seed * 0x9e3779b97f4a7c15ull + 1; /* never 0 */
    return l;
}

void netsim_destroy(struct netsim_link *l)
{
    while (l->queue != NULL) {
        struct netsim_frame *f = l->queue;
        l->queue = f->next;
        free(f);
    }
    free(l);
}

static void enqueue(struct netsim_link *l, int to_end, const void *frame, size_t len,
                    uint64_t due_ms, struct netsim_frame **out)
{
    struct netsim_frame *f = malloc(sizeof(*f) + len), **link = &l->queue;

    if (f == NULL)
        abort();
    f->due_ms = due_ms;
    f->seq = l->seq++;
    f->to_end = to_end;
    f->len = len;
    memcpy(f->data, frame, len);
    while (*link != NULL && (*link)->due_ms <= due_ms)
        link = &(*link)->next;
    f->next = *link;
    *link = f;
    *out = f;
}

static void note(struct netsim_link *l, uint64_t now_ms, uint64_t seq, int from, size_t len,
                 const char *what)
{
    if (l->cfg.log != NULL)
        fprintf(l->cfg.log, "t=%llu #%llu %d->%d %zuB %s\n", (unsigned long long)now_ms,
                (unsigned long long)seq, from, !from, len, what);
}

void netsim_send(struct netsim_link *l, int from, const void *frame, size_t len, uint64_t now_ms)
{
    struct netsim_frame *f;
    uint64_t seq = l->seq;
    char what[64];

    l->stats.sent++;
    if (chance(l, l->cfg.drop_pml)) {
        l->stats.dropped++;
        l->seq++;
        note(l, now_ms, seq, from, len, "drop");
        return;
    }
    uint64_t due = now_ms + l->cfg.delay_ms;
    if (l->cfg.jitter_ms > 0)
        due += netsim_rand(l) % (l->cfg.jitter_ms + 1);
    int reorder = chance(l, l->cfg.reorder_pml);
    if (reorder) {
        due += l->cfg.reorder_delay_ms;
        l->stats.reordered++;
    }
    enqueue(l, !from, frame, len, due, &f);
    snprintf(what, sizeof(what), "due %llu%s", (unsigned long long)due, reorder ? " reorder" : "");
    note(l, now_ms, seq, from, len, what);
    if (len > 0 && chance(l, l->cfg.corrupt_pml)) {
        size_t at = netsim_rand(l) % len;
        unsigned bit = (unsigned)(netsim_rand(l) % 8);
        f->data[at] ^= (uint8_t)(1u << bit);
        l->stats.corrupted++;
        snprintf(what, sizeof(what), "corrupt byte %zu bit %u", at, bit);
        note(l, now_ms, seq, from, len, what);
    }
    if (chance(l, l->cfg.dup_pml)) {
        struct netsim_frame *dup;
        enqueue(l, !from, f->data, len, due + 1, &dup);
        l->stats.duplicated++;
        note(l, now_ms, seq, from, len, "duplicate");
    }
}

size_t netsim_poll(struct netsim_link *l, uint64_t now_ms, netsim_deliver_fn fn, void *arg)
{
    size_t n = 0;

    while (l->queue != NULL && l->queue->due_ms <= now_ms) {
        struct netsim_frame *f = l->queue;
        l->queue = f->next;
        l->stats.delivered++;
        fn(arg, f->to_end, f->data, f->len);
        free(f);
        n++;
    }
    return n;
}

uint64_t netsim_next_due(const struct netsim_link *l)
{
    return l->queue != NULL ? l->queue->due_ms : UINT64_MAX;
}

const struct netsim_stats *netsim_stats(const struct netsim_link *l)
{
    return &l->stats;
}
