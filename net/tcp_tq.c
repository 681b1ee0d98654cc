/*
 * net/tcp_tq.c - which connection's timer is next: a binary min-heap of
 * live connections keyed by their earliest deadline (tcp_conn_deadline),
 * so that finding the next deadline costs O(1) and a timer O(log n),
 * however many connections are open (a walk over every connection at
 * every question cost a server with 10,000 idle clients 10,000 steps per
 * segment).
 *
 * Lazy keys. A connection is (re)queued wherever a timer is armed
 * (tcp_tq_note); a timer that is stopped or moved later leaves its key
 * early, which is harmless: when an early key comes up, tcp_tq_due finds
 * nothing due, re-keys the connection and goes on. A key is never later
 * than the connection's real deadline, or a timer would fire late: so
 * every arming site notes. As a safety net an audit walks all connections
 * once a second (TCP_TQ_AUDIT_MS) and requeues any whose deadline is
 * earlier than its key, counting it (tq_missed: 0 unless an arming site
 * forgot to note; the host tests check that). The audit is not a deadline
 * of its own: it runs with the first tick a second after the last one (the
 * kernel's network thread ticks at least once a second), so an idle stack
 * still reports no deadline.
 */
#include <stdlib.h>
#include <string.h>

#include "net/stack.h"
#include "net/stack_internal.h"
#include "net/tcp_internal.h"

static int before(const struct tcp_conn *a, const struct tcp_conn *b)
{
    return a->tq_key < b->tq_key;
}

static void place(struct tcp_table *t, struct tcp_conn *c, unsigned i)
{
    t->tq[i] = c;
    c->tq_pos = i + 1;
}

static void sift_up(struct tcp_table *t, unsigned i)
{
    struct tcp_conn *c = t->tq[i];
    while (i > 0) {
        unsigned parent = (i - 1) / 2;
        if (!before(c, t->tq[parent]))
            break;
        place(t, t->tq[parent], i);
        i = parent;
    }
    place(t, c, i);
}

static void sift_down(struct tcp_table *t, unsigned i)
{
    struct tcp_conn *c = t->tq[i];
    for (;;) {
        unsigned l = 2 * i + 1, m = i;
        const struct tcp_conn *least = c;
        if (l < t->tq_len && before(t->tq[l], least))
            m = l, least = t->tq[l];
        if (l + 1 < t->tq_len && before(t->tq[l + 1], least))
            m = l + 1;
        if (m == i)
            break;
        place(t, t->tq[m], i);
        i = m;
    }
    place(t, c, i);
}

static int grow(struct tcp_table *t)
{
    unsigned cap = t->tq_cap ? t->tq_cap * 2 : 64;
    struct tcp_conn **q = malloc(cap * sizeof(*q)); /* net/ takes malloc and free only */
    if (q == NULL)
        return -1;
    if (t->tq_len > 0)
        memcpy(q, t->tq, t->tq_len * sizeof(*q));
    free(t->tq);
    t->tq = q;
    t->tq_cap = cap;
    return 0;
}

void tcp_tq_remove(struct tcp_conn *c)
{
    struct tcp_table *t = &c->st->tcp;
    if (c->tq_pos == 0)
        return;
    unsigned i = c->tq_pos - 1;
    c->tq_pos = 0;
    struct tcp_conn *last = t->tq[--t->tq_len];
    if (i == t->tq_len)
        return;
    place(t, last, i);
    sift_up(t, i);
    sift_down(t, last->tq_pos - 1);
}

/* The earliest timer armed, whatever the state: a timer may be armed just
 * before the state that runs it is entered (the SYN's retransmission timer
 * before SYN-SENT). */
static uint64_t armed(const struct tcp_conn *c)
{
    return net_min_u64(net_min_u64(net_min_u64(c->rto_at, c->delack_at),
                                   net_min_u64(c->persist_at, c->keep_at)),
                       c->stall_at);
}

void tcp_tq_note(struct tcp_conn *c)
{
    struct tcp_table *t = &c->st->tcp;
    uint64_t d = armed(c);
    if (d == TCP_NO_TIMER || c->on_tw)
        return; /* a queued key stays: it comes up early and is dropped then;
                   TIME-WAIT has a list of its own (net/tcp_table.c) */
    if (c->tq_pos != 0) {
        if (d < c->tq_key) {
            c->tq_key = d;
            sift_up(t, c->tq_pos - 1);
        }
        return;
    }
    if (t->tq_len == t->tq_cap && grow(t) != 0) {
        t->tq_nomem = 1; /* the audit walks every connection until it fits */
        return;
    }
    c->tq_key = d;
    t->tq[t->tq_len] = c;
    c->tq_pos = ++t->tq_len;
    sift_up(t, t->tq_len - 1);
}

/* A queued connection's real deadline (TCP_NO_TIMER: none to queue). */
static uint64_t real_deadline(const struct tcp_conn *c)
{
    return c->on_tw ? TCP_NO_TIMER : tcp_conn_deadline(c);
}

/* The exact next deadline: early keys at the top (timers stopped or moved
 * later) are corrected first. The queue is a cache of the connections'
 * own deadlines, so correcting it changes nothing the caller can see: the
 * stack is const to it. */
uint64_t tcp_tq_next(const struct net_stack *st)
{
    struct tcp_table *t = (struct tcp_table *)&st->tcp;
    while (t->tq_len > 0) {
        struct tcp_conn *c = t->tq[0];
        uint64_t d = real_deadline(c);
        if (d <= c->tq_key)
            return c->tq_key;
        if (d == TCP_NO_TIMER) {
            tcp_tq_remove(c);
            continue;
        }
        c->tq_key = d;
        sift_down(t, 0);
    }
    return TCP_NO_TIMER;
}

/* The once-a-second walk (see the top): requeue what is queued late. */
static void audit(struct net_stack *st, uint64_t now_ms)
{
    struct tcp_table *t = &st->tcp;
    int nomem = t->tq_nomem;
    t->tq_nomem = 0;
    for (struct tcp_conn *c = t->conns; c != NULL; c = c->next) {
        uint64_t d = tcp_conn_deadline(c);
        if (d == TCP_NO_TIMER || c->on_tw || (c->tq_pos != 0 && c->tq_key <= d))
            continue;
        if (!nomem)
            t->tq_missed++;
        tcp_tq_note(c);
    }
    t->tq_audit_at = now_ms + TCP_TQ_AUDIT_MS;
}

void tcp_tq_run(struct net_stack *st, uint64_t now_ms)
{
    struct tcp_table *t = &st->tcp;
    if (now_ms >= t->tq_audit_at)
        audit(st, now_ms);
    while (t->tq_len > 0 && t->tq[0]->tq_key <= now_ms) {
        struct tcp_conn *c = t->tq[0];
        tcp_tq_remove(c);
        if (c->on_tw || c->state == TCP_CLOSED || c->state == TCP_LISTEN)
            continue; /* no timer of its own runs (TIME-WAIT has its list) */
        if (tcp_conn_deadline(c) <= now_ms)
            tcp_conn_tick(c, now_ms);
        uint64_t d = tcp_conn_deadline(c);
        if (d == TCP_NO_TIMER)
            continue;
        /* Its next deadline; one not after now (a timer the tick re-armed
         * for now) waits for the next tick rather than spinning here. */
        tcp_tq_note(c);
        if (c->tq_pos != 0 && c->tq_key <= now_ms) {
            c->tq_key = now_ms + 1;
            sift_down(t, c->tq_pos - 1);
        }
    }
}
