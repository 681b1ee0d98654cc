/*
 * net/tcp_table.c - where connections are kept: a hash by 4-tuple for
 * finding the one a segment belongs to, a short list of listeners, the list
 * of live connections that timers walk, and a separate list of TIME-WAIT
 * connections in the order they end.
 *
 * Why: a server that closes first keeps every connection for 2 MSL after
 * it is over (RFC 9293 3.6.1), up to net_limits.tcp_conns of them. With one
 * list for everything, every segment's lookup and every "when is the next
 * timer" question walked all of them, and at a thousand connections a
 * second that was most of what a connection cost (bench_tcp connections).
 * Now a segment costs a bucket, a timer question costs the live
 * connections plus the oldest TIME-WAIT, and TIME-WAIT ends in order.
 *
 * Call order: tcp_conn_new links a connection into the live list;
 * tcp_table_hash once its 4-tuple is set (tcp_connect, passive opens);
 * tcp_table_listen for a listener; tcp_set_state moves it between the live
 * and TIME-WAIT lists; tcp_table_unlink from tcp_free.
 */
#include <errno.h>
#include <stdlib.h>

#include "net/stack.h"
#include "net/tcp.h"
#include "net/tcp_internal.h"

/* ---- the hash by 4-tuple ------------------------------------------------- */

/* The buckets, from the heap when the first listener or connection needs
 * them (4 KiB would otherwise sit in every image's bss, networked or not). */
int tcp_table_reserve(struct net_stack *st)
{
    if (st->tcp.hash == NULL) {
        unsigned n = TCP_HASH_BUCKETS;
        while (n < st->lim.tcp_conns / 2 && n < TCP_HASH_BUCKETS_MAX)
            n <<= 1;
        st->tcp.hash = calloc(n, sizeof(*st->tcp.hash));
        st->tcp.hash_mask = n - 1;
    }
    return st->tcp.hash != NULL ? 0 : -ENOMEM;
}

void tcp_table_destroy(struct net_stack *st)
{
    free(st->tcp.tq);
    st->tcp.tq = NULL;
    st->tcp.tq_len = st->tcp.tq_cap = 0;
    free(st->tcp.hash);
    st->tcp.hash = NULL;
}

/*
 * A bucket for a 4-tuple. Mixed with a secret from the stack's random
 * source, so a peer cannot pick ports that all land in one bucket without
 * seeing where they land (a multiply-xorshift mix: cheap enough for every
 * segment, unlike the SipHash the ISNs use; not a cryptographic guarantee).
 */
static unsigned bucket(const struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                       uint16_t rport)
{
    uint64_t x = ((uint64_t)rip << 32 | (uint32_t)rport << 16 | lport) ^ st->tcp.hash_seed;
    x ^= (uint64_t)lip * 0x9e3779b97f4a7c15ull;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    return (unsigned)(x >> 32) & st->tcp.hash_mask;
}

void tcp_table_hash(struct tcp_conn *c)
{
    struct net_stack *st = c->st;
    unsigned b = bucket(st, c->lip, c->lport, c->rip, c->rport);

    c->hnext = st->tcp.hash[b];
    st->tcp.hash[b] = c;
    c->hashed = 1;
}

static void hash_remove(struct tcp_conn *c)
{
    struct net_stack *st = c->st;
    struct tcp_conn **link = &st->tcp.hash[bucket(st, c->lip, c->lport, c->rip, c->rport)];

    while (*link != NULL && *link != c)
        link = &(*link)->hnext;
    if (*link == c)
        *link = c->hnext;
    c->hnext = NULL;
    c->hashed = 0;
}

struct tcp_conn *tcp_table_find(struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                                uint16_t rport)
{
    if (st->tcp.hash == NULL) /* no listener or connection ever */
        return NULL;
    for (struct tcp_conn *c = st->tcp.hash[bucket(st, lip, lport, rip, rport)]; c != NULL;
         c = c->hnext)
        if (c->lport == lport && c->rport == rport && c->rip == rip && c->lip == lip &&
            c->state != TCP_CLOSED) /* a closed one waits for its app, it takes nothing */
            return c;
    return NULL;
}

/* ---- listeners ------------------------------------------------------------- */

void tcp_table_listen(struct tcp_conn *l)
{
    struct net_stack *st = l->st;

    l->hnext = st->tcp.listeners;
    st->tcp.listeners = l;
    l->listed = 1;
}

struct tcp_conn *tcp_table_listener(struct net_stack *st, uint16_t lport, int open_only)
{
    for (struct tcp_conn *l = st->tcp.listeners; l != NULL; l = l->hnext)
        if (l->lport == lport && l->state == TCP_LISTEN && (!open_only || !l->app_closed))
            return l;
    return NULL;
}

static void listener_remove(struct tcp_conn *l)
{
    struct tcp_conn **link = &l->st->tcp.listeners;

    while (*link != NULL && *link != l)
        link = &(*link)->hnext;
    if (*link == l)
        *link = l->hnext;
    l->hnext = NULL;
    l->listed = 0;
}

/* ---- the live and TIME-WAIT lists ------------------------------------------- */

static void list_remove(struct tcp_conn *c)
{
    struct tcp_table *t = &c->st->tcp;
    struct tcp_conn **head = c->on_tw ? &t->tw_head : &t->conns;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else if (c->on_tw)
        t->tw_tail = c->prev;
    if (c->on_tw)
        t->time_wait--;
    c->next = c->prev = NULL;
    c->on_tw = 0;
}

void tcp_table_link(struct tcp_conn *c)
{
    struct tcp_table *t = &c->st->tcp;

    c->prev = NULL;
    c->next = t->conns;
    if (t->conns != NULL)
        t->conns->prev = c;
    t->conns = c;
}

static void tw_append(struct tcp_conn *c)
{
    struct tcp_table *t = &c->st->tcp;

    c->next = NULL;
    c->prev = t->tw_tail;
    if (t->tw_tail != NULL)
        t->tw_tail->next = c;
    else
        t->tw_head = c;
    t->tw_tail = c;
    c->on_tw = 1;
    t->time_wait++;
}

void tcp_table_unlink(struct tcp_conn *c)
{
    if (c->hashed)
        hash_remove(c);
    if (c->listed)
        listener_remove(c);
    list_remove(c);
}

void tcp_mark_app_closed(struct tcp_conn *c)
{
    c->app_closed = 1;
    c->st->tcp.reap = 1;
}

void tcp_set_state(struct tcp_conn *c, enum tcp_state s)
{
    if (c->in_syn_cache && s != TCP_SYN_RECEIVED) {
        c->in_syn_cache = 0;
        c->st->tcp.half_open--;
    }
    if (c->on_tw && s != TCP_TIME_WAIT) { /* back among the live ones */
        list_remove(c);
        tcp_table_link(c);
    }
    c->state = s;
    if (s == TCP_CLOSED)
        c->st->tcp.reap = 1; /* tcp_tick frees it once the app let it go */
}

/*
 * TIME-WAIT starts, or starts again for a retransmitted FIN (RFC 9293
 * 3.10.7.4: "restart the 2 MSL timeout"). The connection goes to the end
 * of the TIME-WAIT list: every entry's end is now + 2 MSL with a clock
 * that only moves forward, so the list stays in the order they end. No
 * other timer runs in TIME-WAIT: everything sent was acknowledged, and the
 * ACK of the peer's FIN goes out at once (ack_now).
 */
void tcp_time_wait_start(struct tcp_conn *c, uint64_t now_ms)
{
    if (c->state != TCP_TIME_WAIT)
        tcp_set_state(c, TCP_TIME_WAIT);
    list_remove(c);
    tw_append(c);
    c->tw_at = now_ms + 2ull * c->st->lim.tcp_msl_ms;
    c->rto_at = c->delack_at = c->persist_at = c->keep_at = TCP_NO_TIMER;
}

/* TIME-WAITs that are over end (tcp_conn_tick: CLOSED, back on the live
 * list, freed there once the app let go). */
void tcp_time_wait_expire(struct net_stack *st, uint64_t now_ms)
{
    while (st->tcp.tw_head != NULL && st->tcp.tw_head->tw_at <= now_ms) {
        struct tcp_conn *c = st->tcp.tw_head;
        tcp_conn_tick(c, now_ms);
        if (c->on_tw) /* cannot happen: tw_at passed means CLOSED */
            tcp_terminate(c, 0);
    }
}

uint64_t tcp_time_wait_deadline(const struct net_stack *st)
{
    return st->tcp.tw_head != NULL ? st->tcp.tw_head->tw_at : NET_NO_DEADLINE;
}

/*
 * The table is full, or memory ran out: free the TIME-WAIT connection
 * closest to its end whose app has let go of it. A server that closes
 * first leaves one behind for every connection (2 MSL: a minute); without
 * this, a busy server would refuse new connections for that long. Returns
 * whether one went.
 */
int tcp_time_wait_reclaim(struct net_stack *st)
{
    for (struct tcp_conn *c = st->tcp.tw_head; c != NULL; c = c->next) {
        if (c->app_closed) {
            st->tcp.time_wait_reclaimed++;
            tcp_free(c);
            return 1;
        }
    }
    return 0;
}
