/*
 * net/tcp.c - TCP connections and the socket API: open, send and receive
 * queues, close, teardown, ISNs (RFC 6528), counters.
 *
 * Call order: app -> tcp_listen / tcp_connect / tcp_send / tcp_recv /
 * tcp_close; ip4_input -> tcp_input (tcp_input.c); net_tick -> tcp_tick
 * (tcp_timer.c); segments leave through tcp_output.c -> ip4_output.
 */
#include "net/tcp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/ipv4.h"
#include "net/stack.h"
#include "net/stack_internal.h"
#include "net/tcp_internal.h"

#define TCP_EPHEMERAL_FIRST 49152

/* ---- SipHash-2-4 (Aumasson & Bernstein), for ISNs ------------------------ */

static uint64_t rotl(uint64_t x, unsigned b)
{
    return x << b | x >> (64 - b);
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

/* SipHash-2-4 of n 64-bit words (an 8n-byte message). */
uint64_t tcp_siphash(const uint64_t key[2], const uint64_t *m, unsigned n)
{
    uint64_t v0 = key[0] ^ 0x736f6d6570736575ull, v1 = key[1] ^ 0x646f72616e646f6dull;
    uint64_t v2 = key[0] ^ 0x6c7967656e657261ull, v3 = key[1] ^ 0x7465646279746573ull;

    for (unsigned i = 0; i <= n; i++) {
        uint64_t w = i < n ? m[i] : (uint64_t)(8u * n) << 56; /* the last block: the length */
        v3 ^= w;
        SIPROUND;
        SIPROUND;
        v0 ^= w;
    }
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint32_t tcp_hash32(const struct net_stack *st, uint32_t a, uint32_t b, uint32_t c)
{
    const uint64_t m[2] = {(uint64_t)a << 32 | b, c};
    return (uint32_t)tcp_siphash(st->tcp.key, m, 2);
}

/* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, key),
 * M a 4-microsecond clock (here: now_ms * 250). */
uint32_t tcp_isn(struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport,
                 uint64_t now_ms)
{
    return (uint32_t)(now_ms * 250u) + tcp_hash32(st, lip, rip, (uint32_t)lport << 16 | rport);
}

/* The offset of a connection's timestamp clock from now_ms: another keyed
 * hash of the 4-tuple, so the clock tells nothing about uptime. */
uint32_t tcp_ts_offset(const struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                       uint16_t rport)
{
    return tcp_hash32(st, lip ^ 0x5a5a5a5au, rip, (uint32_t)lport << 16 | rport);
}

void tcp_init(struct net_stack *st)
{
    const struct net_platform *p = st->plat;

    for (int i = 0; i < 2; i++)
        st->tcp.key[i] = (uint64_t)p->random32(p->ctx) << 32 | p->random32(p->ctx);
    /* The SYN cookie key: derived from that secret (a PRF of it), so the
     * platform's random sequence is drawn from as before. */
    for (unsigned i = 0; i < 2; i++) {
        const uint64_t m[2] = {0x73796e636f6f6b69ull /* "syncooki" */, i};
        st->tcp.cookie_key[i] = tcp_siphash(st->tcp.key, m, 2);
    }
    st->tcp.next_ephemeral =
        (uint16_t)(TCP_EPHEMERAL_FIRST + p->random32(p->ctx) % (65536 - TCP_EPHEMERAL_FIRST));
    st->tcp.hash_seed = st->tcp.key[0] ^ rotl(st->tcp.key[1], 29); /* secret too */
}

/* ---- connections ---------------------------------------------------------- */

const char *tcp_state_name(enum tcp_state s)
{
    static const char *const names[] = {"CLOSED",      "LISTEN",     "SYN-SENT",   "SYN-RECEIVED",
                                        "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                                        "CLOSING",     "LAST-ACK",   "TIME-WAIT"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

void tcp_notify(struct tcp_conn *c, unsigned ev)
{
    if (c->notify != NULL && !c->app_closed)
        c->notify(c, ev, c->notify_arg);
}

/* Whether the table has room for one more, reclaiming TIME-WAIT. */
static int conn_room(struct net_stack *st)
{
    return st->tcp.count < st->lim.tcp_conns || tcp_time_wait_reclaim(st);
}

struct tcp_conn *tcp_conn_new(struct net_stack *st)
{
    if (!conn_room(st))
        return NULL;
    struct tcp_conn *c = calloc(1, sizeof(*c));
    /* Out of memory: a TIME-WAIT connection's memory is the same size. */
    while (c == NULL && tcp_time_wait_reclaim(st)) {
        st->tcp.time_wait_reclaimed_nomem++;
        c = calloc(1, sizeof(*c));
    }
    if (c == NULL)
        return NULL;
    c->st = st;
    c->rto_at = c->delack_at = c->persist_at = c->keep_at = c->tw_at = TCP_NO_TIMER;
    c->rto = TCP_RTO_INIT;
    c->sndbuf = st->lim.tcp_sndbuf;
    c->rcvbuf = st->lim.tcp_rcvbuf;
    c->cc = (uint8_t)st->lim.tcp_cc;
    c->keep_idle = TCP_KEEP_IDLE;
    c->keep_intvl = TCP_KEEP_INTVL;
    c->keep_count = TCP_KEEP_COUNT;
    c->limit_ms[TCP_LIMIT_ZERO_WINDOW] = st->lim.tcp_zero_window_ms;
    tcp_stall_clear(c);
    c->mss = TCP_DEFAULT_MSS;
    tcp_pick_wscale(c);
    tcp_table_link(c);
    st->tcp.count++;
    return c;
}

void tcp_release_queues(struct tcp_conn *c)
{
    struct net_stack *st = c->st;

    st->tcp.mem -= c->sndq_len + c->rcvq_bytes + c->ooo_bytes;
    nbuf_put(c->sndq);
    c->sndq = c->sndq_tail = c->copy_tail = NULL;
    c->sndq_len = c->sndq_off = 0;
    c->sndq_ring = 0;
    nbuf_queue_purge(&c->rcvq);
    c->rcvq_bytes = 0;
    while (c->ooo != NULL) {
        struct netbuf *nb = c->ooo;
        c->ooo = nb->qnext;
        nb->qnext = NULL;
        nbuf_put(nb);
    }
    c->ooo_bytes = 0;
    c->ooo_count = 0;
}

/* Take c out of its listener's accept queue (if it is there). */
static void aq_unlink(struct tcp_conn *c)
{
    struct tcp_conn *l = c->parent;

    if (l == NULL)
        return;
    struct tcp_conn **link = &l->aq_head, *prev = NULL;
    while (*link != NULL && *link != c) {
        prev = *link;
        link = &(*link)->aq_next;
    }
    if (*link == c) {
        *link = c->aq_next;
        if (l->aq_tail == c)
            l->aq_tail = prev;
        l->aq_count--;
    }
    c->aq_next = NULL;
    c->parent = NULL;
}

void tcp_free(struct tcp_conn *c)
{
    struct net_stack *st = c->st;

    aq_unlink(c);
    if (c->in_syn_cache) {
        c->in_syn_cache = 0;
        st->tcp.half_open--;
    }
    /* A listener's queued and half-open children go with it. */
    if (c->state == TCP_LISTEN) {
        for (struct tcp_conn *k = st->tcp.conns; k != NULL; k = k->next)
            if (k->parent == c) {
                aq_unlink(k);
                tcp_mark_app_closed(k); /* nobody will accept it */
                tcp_send_rst_conn(k, 0);
                tcp_terminate(k, -ECONNABORTED);
            }
    }
    tcp_release_queues(c);
    tcp_tq_remove(c);
    tcp_table_unlink(c);
    st->tcp.count--;
    free(c);
}

void tcp_terminate(struct tcp_conn *c, int error)
{
    if (error != 0 && c->error == 0)
        c->error = error;
    tcp_release_queues(c);
    tcp_set_state(c, TCP_CLOSED);
    c->rto_at = c->delack_at = c->persist_at = c->keep_at = c->tw_at = TCP_NO_TIMER;
    tcp_stall_clear(c);
    if (!c->closed_notified) {
        c->closed_notified = 1;
        tcp_notify(c, TCP_EV_CLOSED);
    }
    /* Freed by tcp_tick (never under a caller that still uses c). */
}

/* RFC 9293 3.7.1 (RFC 1122 4.2.2.6): the MSS we offer is the MTU less the
 * fixed IPv4 and TCP headers. An interface with no MTU worth the name
 * (under IPv4's minimum of 68) is taken as 576, the datagram every host
 * accepts: MSS 536, TCP's default. */
uint16_t tcp_iface_mss(const struct net_iface *ifc)
{
    unsigned mtu = ifc != NULL && ifc->mtu >= 68 ? ifc->mtu : 576;
    return (uint16_t)(mtu - IP4_HDR_LEN - TCP_HDR_LEN);
}

void tcp_init_conn_params(struct tcp_conn *c)
{
    c->mss = tcp_iface_mss(c->ifc);
}

/* Whether a connection (TIME-WAIT included: its 4-tuple must not be
 * reused while old segments may be around, RFC 9293 3.6.1) has port. */
static int port_in_use(struct net_stack *st, uint16_t port)
{
    for (struct tcp_conn *c = st->tcp.conns; c != NULL; c = c->next)
        if (c->lport == port)
            return 1;
    for (struct tcp_conn *c = st->tcp.tw_head; c != NULL; c = c->next)
        if (c->lport == port)
            return 1;
    return 0;
}

int tcp_listen(struct net_stack *st, uint16_t port, unsigned backlog, struct tcp_conn **out)
{
    if (port == 0)
        return -EINVAL;
    if (tcp_table_listener(st, port, 0) != NULL)
        return -EADDRINUSE;
    if (!conn_room(st))
        return -ENOBUFS;
    if (tcp_table_reserve(st) != 0)
        return -ENOMEM;
    struct tcp_conn *c = tcp_conn_new(st);
    if (c == NULL)
        return -ENOMEM;
    c->state = TCP_LISTEN;
    c->lport = port;
    tcp_table_listen(c);
    /* At least one, so that a listener can accept at all. */
    c->backlog = backlog == 0                        ? 1
                 : backlog > st->lim.tcp_backlog_max ? st->lim.tcp_backlog_max
                                                     : backlog;
    *out = c;
    return 0;
}

struct tcp_conn *tcp_accept(struct tcp_conn *l)
{
    struct tcp_conn *c = l->aq_head;

    if (c == NULL)
        return NULL;
    l->aq_head = c->aq_next;
    if (l->aq_head == NULL)
        l->aq_tail = NULL;
    l->aq_count--;
    c->aq_next = NULL;
    c->parent = NULL;
    return c;
}

/* Whether the embedder takes lport for this 4-tuple (net_platform.port_ok;
 * without one, every port). */
static int port_acceptable(const struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                           uint16_t rport)
{
    const struct net_platform *p = st->plat;

    return p->port_ok == NULL || p->port_ok(p->ctx, lip, lport, rip, rport);
}

/* A free local port for an active open to rip:rport from lip: the dynamic
 * range (49152-65535, RFC 6335 6) from a random start, so that ports are
 * not guessable from boot (RFC 6056 3), skipping those the embedder
 * refuses; one pass at most. 0 when none is free and acceptable. */
static uint16_t pick_ephemeral(struct net_stack *st, uint32_t lip, uint32_t rip, uint16_t rport)
{
    const unsigned range = 65536 - TCP_EPHEMERAL_FIRST;

    for (unsigned i = 0; i < range; i++) {
        uint16_t port = st->tcp.next_ephemeral;
        st->tcp.next_ephemeral = port == 65535 ? TCP_EPHEMERAL_FIRST : (uint16_t)(port + 1);
        if (port >= TCP_EPHEMERAL_FIRST && !port_in_use(st, port) &&
            port_acceptable(st, lip, port, rip, rport))
            return port;
    }
    return 0;
}

int tcp_connect(struct net_stack *st, uint32_t ip, uint16_t port, uint64_t now_ms,
                struct tcp_conn **out)
{
    uint32_t next_hop;
    struct net_iface *ifc = ip4_route(st, ip, &next_hop);

    if (ifc == NULL || ifc->ip == 0) {
        st->cnt.no_route++;
        return -ENETUNREACH;
    }
    if (!conn_room(st))
        return -ENOBUFS;
    if (tcp_table_reserve(st) != 0)
        return -ENOMEM;
    uint16_t lport = pick_ephemeral(st, ifc->ip, ip, port);
    if (lport == 0)
        return -EADDRINUSE;
    struct tcp_conn *c = tcp_conn_new(st);
    if (c == NULL)
        return -ENOMEM;
    c->ifc = ifc;
    c->lip = ifc->ip;
    c->rip = ip;
    c->lport = lport;
    c->rport = port;
    tcp_init_conn_params(c);
    c->iss = tcp_isn(st, c->lip, lport, ip, port, now_ms);
    c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
    c->ts_offset = tcp_ts_offset(st, c->lip, lport, ip, port);
    tcp_table_hash(c);
    c->state = TCP_SYN_SENT;
    c->last_rx = now_ms;
    st->tcp.conns_opened++;
    tcp_send_syn(c, now_ms);
    *out = c;
    return 0;
}

struct netbuf *tcp_alloc(struct net_stack *st, size_t len)
{
    if (st->n_ifaces == 0)
        return NULL;
    return net_tx_alloc(st, st->ifaces[0], TCP_HEADROOM, len);
}

/* Whether the app may queue data (RFC 9293 3.10.2 SEND): before the
 * handshake completes it waits in the queue; after a shutdown, or once
 * the peer can no longer take it, it is refused. */
static int can_send(const struct tcp_conn *c)
{
    return !c->shut_wr && (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT ||
                           c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED);
}

size_t tcp_writable(const struct tcp_conn *c)
{
    if (!can_send(c) || c->sndq_len >= c->sndbuf)
        return 0;
    size_t room = c->sndbuf - c->sndq_len;
    size_t global = c->st->lim.tcp_mem > c->st->tcp.mem ? c->st->lim.tcp_mem - c->st->tcp.mem : 0;
    return net_min_size(room, global);
}

static unsigned ring_bufs(const struct netbuf *nb)
{
    unsigned n = 0;
    for (; nb != NULL; nb = nb->next)
        n += (nb->flags & NB_RING) != 0;
    return n;
}

/* Room for more device-ring buffers: a send queue that held the ring would
 * starve receive (see NB_RING). */
static int ring_room(const struct tcp_conn *c, unsigned more)
{
    return more == 0 || c->sndq_ring + more <= c->st->lim.tcp_snd_ring_segs;
}

/* Append a chain (consumed) holding `ring` NB_RING buffers to the send
 * queue. */
static void sndq_append(struct tcp_conn *c, struct netbuf *nb, size_t len, unsigned ring)
{
    struct netbuf *last = nb;

    c->sndq_ring += ring;
    while (last->next != NULL)
        last = last->next;
    if (c->sndq == NULL)
        c->sndq = nb;
    else
        c->sndq_tail->next = nb; /* the old tail's reference now owns nb */
    c->sndq_tail = last;
    c->sndq_len += len;
    c->st->tcp.mem += len;
}

int tcp_send(struct tcp_conn *c, struct netbuf *nb, uint64_t now_ms)
{
    if (nb == NULL)
        return -EINVAL;
    size_t len = nbuf_chain_len(nb);
    if (len == 0)
        return -EINVAL;
    if (!can_send(c))
        return -ENOTCONN;
    if (len > c->sndbuf)
        return -EMSGSIZE;
    unsigned ring = ring_bufs(nb);
    if (ring > c->st->lim.tcp_snd_ring_segs)
        return -EMSGSIZE;
    if (len > tcp_writable(c) || !ring_room(c, ring)) {
        c->want_writable = 1;
        return -EAGAIN;
    }
    nb->flags &= (uint16_t) ~(NB_CSUM_NEEDED | NB_CSUM_VALID | NB_LINK_BCAST);
    sndq_append(c, nb, len, ring);
    c->copy_tail = NULL;
    tcp_output(c, now_ms);
    return 0;
}

long tcp_send_copy(struct tcp_conn *c, const void *data, size_t len, uint64_t now_ms)
{
    if (!can_send(c))
        return -ENOTCONN;
    size_t room = tcp_writable(c), done = 0;
    if (len > room) {
        len = room;
        c->want_writable = 1;
    }
    /* Small writes fill the spare room of the previous copy buffer, so
     * that segments do not become chains of many tiny slices. Bytes past
     * a buffer's len are in no slice yet, so appending there is safe. */
    struct netbuf *tail = c->sndq_tail;
    if (tail != NULL && tail == c->copy_tail && nbuf_tailroom(tail) > 0 && len > 0) {
        size_t n = net_min_size(nbuf_tailroom(tail), len);
        memcpy(tail->data + tail->len, data, n);
        tail->len += n;
        c->sndq_len += n;
        c->st->tcp.mem += n;
        done = n;
    }
    while (done < len) {
        size_t n = len - done;
        if (n > 16384)
            n = 16384;
        size_t cap = n < 2048 ? 2048 : n;
        struct netbuf *nb = tcp_alloc(c->st, cap);
        if (nb == NULL)
            break;
        memcpy(nb->data, (const uint8_t *)data + done, n);
        nb->len = n;
        sndq_append(c, nb, n, 0); /* a heap buffer */
        c->copy_tail = nb;
        done += n;
    }
    c->st->cnt.copied_bytes += done;
    if (done > 0)
        tcp_output(c, now_ms);
    return (long)done;
}

/* Bytes acknowledged leave the front of the send queue; fully acked
 * segments are put (the app's completion runs when its last slice goes). */
void tcp_sndq_drop_acked(struct tcp_conn *c, uint32_t acked)
{
    if (acked > c->sndq_len)
        acked = (uint32_t)c->sndq_len;
    c->sndq_len -= acked;
    c->st->tcp.mem -= acked;
    c->sndq_off += acked;
    while (c->sndq != NULL && c->sndq_off >= c->sndq->len &&
           (c->sndq_off > 0 || c->sndq->len == 0)) {
        struct netbuf *head = c->sndq;
        if (head->next == NULL && c->sndq_off > head->len)
            break;
        c->sndq_off -= head->len;
        c->sndq = head->next;
        head->next = NULL; /* we inherit head's reference on the rest */
        if (head == c->copy_tail)
            c->copy_tail = NULL;
        if (head->flags & NB_RING)
            c->sndq_ring--;
        nbuf_put(head);
        if (c->sndq == NULL) {
            c->sndq_tail = NULL;
            c->sndq_off = 0;
        }
    }
    /* TCP_EV_WRITABLE only once a quarter of the buffer (and of the ring
     * share) is free again: an app woken for every acknowledged segment
     * would queue runts. */
    if (c->want_writable && tcp_writable(c) >= c->sndbuf / 4 &&
        c->sndq_ring <= c->st->lim.tcp_snd_ring_segs - c->st->lim.tcp_snd_ring_segs / 4) {
        c->want_writable = 0;
        tcp_notify(c, TCP_EV_WRITABLE);
    }
}

/* The buffer's room, or none while the receive slots (device buffers) or
 * the stack's memory are used up: a window we could not honour would only
 * have the peer send data we drop. */
uint32_t tcp_rcv_window(const struct tcp_conn *c)
{
    size_t held = c->rcvq_bytes + c->ooo_bytes;
    size_t space = held < c->rcvbuf ? c->rcvbuf - held : 0;
    const struct net_stack *st = c->st;

    if (c->rcvq.count + c->ooo_count >= st->lim.tcp_rcv_segs)
        space = 0;
    if (st->tcp.mem >= st->lim.tcp_mem)
        space = 0;
    space = net_min_size(space, (size_t)65535 << c->rcv_wscale);
    /* Round down to what the scale can express (RFC 7323 2.3: the field
     * is the window shifted right; rounding up would offer bytes we lack). */
    space &= ~(((size_t)1 << c->rcv_wscale) - 1);
    return (uint32_t)space;
}

/* A window update once the app freed at least two segments (or half the
 * buffer) since the window we last advertised: receiver SWS avoidance
 * (RFC 9293 3.8.6.2.2, RFC 1122 4.2.3.3), no update for every few bytes
 * read. Only in the states where the peer may still send. */
static void maybe_window_update(struct tcp_conn *c, uint64_t now_ms)
{
    if (c->state != TCP_ESTABLISHED && c->state != TCP_FIN_WAIT_1 && c->state != TCP_FIN_WAIT_2)
        return;
    uint32_t wnd = tcp_rcv_window(c);
    uint32_t adv = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (wnd > adv && (wnd - adv >= 2u * c->mss || wnd - adv >= c->rcvbuf / 2)) {
        c->ack_now = 1;
        tcp_output(c, now_ms);
    }
}

struct netbuf *tcp_recv(struct tcp_conn *c, uint64_t now_ms)
{
    struct netbuf *nb = nbuf_queue_pop(&c->rcvq);

    if (nb == NULL)
        return NULL;
    c->rcvq_bytes -= nb->len;
    c->st->tcp.mem -= nb->len;
    maybe_window_update(c, now_ms);
    return nb;
}

long tcp_recv_copy(struct tcp_conn *c, void *buf, size_t size, uint64_t now_ms)
{
    size_t done = 0;

    while (done < size && c->rcvq.head != NULL) {
        struct netbuf *nb = c->rcvq.head;
        size_t n = net_min_size(nb->len, size - done);
        memcpy((uint8_t *)buf + done, nb->data, n);
        done += n;
        nbuf_pull(nb, n);
        c->rcvq_bytes -= n;
        c->st->tcp.mem -= n;
        if (nb->len == 0)
            nbuf_put(nbuf_queue_pop(&c->rcvq));
    }
    c->st->cnt.copied_bytes += done;
    if (done > 0) {
        maybe_window_update(c, now_ms);
        return (long)done;
    }
    if (c->fin_rcvd)
        return 0;
    if (c->error != 0)
        return c->error;
    if (c->state == TCP_CLOSED)
        return 0;
    return -EAGAIN;
}

size_t tcp_readable(const struct tcp_conn *c)
{
    return c->rcvq_bytes;
}

int tcp_eof(const struct tcp_conn *c)
{
    return c->fin_rcvd && c->rcvq_bytes == 0;
}

int tcp_shutdown(struct tcp_conn *c, uint64_t now_ms)
{
    switch (c->state) {
    case TCP_SYN_SENT: /* the FIN follows the queued data once connected */
    case TCP_SYN_RECEIVED:
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
        if (!c->shut_wr) {
            c->shut_wr = 1;
            tcp_output(c, now_ms);
        }
        return 0;
    default:
        return c->shut_wr ? 0 : -ENOTCONN;
    }
}

void tcp_close(struct tcp_conn *c, uint64_t now_ms)
{
    if (c == NULL)
        return;
    if (c->state == TCP_LISTEN || c->state == TCP_CLOSED) {
        tcp_mark_app_closed(c);
        tcp_free(c);
        return;
    }
    if (c->state == TCP_SYN_SENT && c->sndq_len == 0) { /* nothing to deliver */
        tcp_mark_app_closed(c);
        tcp_free(c);
        return;
    }
    if (c->rcvq_bytes > 0) { /* unread data: reset (RFC 1122 4.2.2.13) */
        tcp_abort(c, now_ms);
        return;
    }
    tcp_shutdown(c, now_ms);
    tcp_mark_app_closed(c);
    c->notify = NULL;
    if (c->state == TCP_CLOSED)
        tcp_free(c);
}

void tcp_abort(struct tcp_conn *c, uint64_t now_ms)
{
    if (c == NULL)
        return;
    /* RFC 9293 3.10.5 ABORT: an RST where the peer knows the connection
     * (and in CLOSING and LAST-ACK, where the RFC just forgets it: the peer
     * learns at once); none in SYN-SENT, where it knows nothing yet, nor
     * in TIME-WAIT, all said already. */
    if (c->state != TCP_LISTEN && c->state != TCP_CLOSED && c->state != TCP_SYN_SENT &&
        c->state != TCP_TIME_WAIT)
        tcp_send_rst_conn(c, now_ms);
    tcp_mark_app_closed(c);
    c->notify = NULL;
    tcp_free(c);
}

void tcp_set_notify(struct tcp_conn *c, tcp_notify_fn fn, void *arg)
{
    c->notify = fn;
    c->notify_arg = arg;
}

void tcp_set_nodelay(struct tcp_conn *c, int on)
{
    c->nodelay = on != 0;
}

void tcp_set_keepalive(struct tcp_conn *c, int on, uint32_t idle_ms, uint32_t intvl_ms,
                       unsigned count)
{
    c->keepalive = on != 0;
    if (idle_ms != 0)
        c->keep_idle = idle_ms;
    if (intvl_ms != 0)
        c->keep_intvl = intvl_ms;
    if (count != 0)
        c->keep_count = count;
    c->keep_probes = 0;
    c->keep_at = c->keepalive ? c->last_rx + c->keep_idle : TCP_NO_TIMER;
    tcp_tq_note(c);
}

int tcp_set_cc(struct tcp_conn *c, unsigned cc)
{
    if (cc != TCP_CC_RENO && cc != TCP_CC_CUBIC)
        return -EINVAL;
    c->cc = (uint8_t)cc;
    c->cc_epoch_ms = 0;
    return 0;
}

void tcp_set_buffers(struct tcp_conn *c, size_t sndbuf, size_t rcvbuf)
{
    if (sndbuf != 0)
        c->sndbuf = sndbuf;
    if (rcvbuf != 0)
        c->rcvbuf = rcvbuf;
}

uint8_t tcp_wscale_for(size_t rcvbuf)
{
    unsigned ws = 0;

    while (ws < TCP_MAX_WSCALE && (rcvbuf >> ws) > 65535)
        ws++;
    return (uint8_t)ws;
}

void tcp_pick_wscale(struct tcp_conn *c)
{
    c->rcv_wscale = tcp_wscale_for(c->rcvbuf);
}

enum tcp_state tcp_get_state(const struct tcp_conn *c)
{
    return c->state;
}

int tcp_error(const struct tcp_conn *c)
{
    return c->error;
}

const struct tcp_conn_stats *tcp_stats(const struct tcp_conn *c)
{
    return &c->stats;
}

void tcp_endpoints(const struct tcp_conn *c, uint32_t *lip, uint16_t *lport, uint32_t *rip,
                   uint16_t *rport)
{
    if (lip != NULL)
        *lip = c->lip;
    if (lport != NULL)
        *lport = c->lport;
    if (rip != NULL)
        *rip = c->rip;
    if (rport != NULL)
        *rport = c->rport;
}

/* ---- stack hooks ------------------------------------------------------------ */

void tcp_tick(struct net_stack *st, uint64_t now_ms)
{
    struct tcp_conn *c, *next;

    tcp_time_wait_expire(st, now_ms);
    tcp_tq_run(st, now_ms);
    if (!st->tcp.reap)
        return;
    st->tcp.reap = 0;
    /* Free what is over and no longer referenced: closed connections the
     * app released or never got (half-open ones, orphans of a listener). */
    for (c = st->tcp.conns; c != NULL; c = next) {
        next = c->next;
        if (c->state == TCP_CLOSED && c->app_closed)
            tcp_free(c);
    }
}

uint64_t tcp_next_deadline(const struct net_stack *st)
{
    if (st->tcp.reap)
        return 0; /* a closed connection may be waiting to be freed */
    return net_min_u64(tcp_time_wait_deadline(st), tcp_tq_next(st));
}

void tcp_destroy_all(struct net_stack *st)
{
    while (st->tcp.tw_head != NULL) {
        tcp_mark_app_closed(st->tcp.tw_head);
        tcp_free(st->tcp.tw_head);
    }
    while (st->tcp.conns != NULL) {
        struct tcp_conn *c = st->tcp.conns;
        tcp_mark_app_closed(c);
        if (c->state == TCP_LISTEN) {
            c->state = TCP_CLOSED;
            for (struct tcp_conn *k = st->tcp.conns; k != NULL; k = k->next)
                if (k->parent == c) {
                    k->parent = NULL;
                    k->aq_next = NULL;
                }
        }
        c->parent = NULL;
        tcp_free(c);
    }
    st->tcp.half_open = 0;
    tcp_table_destroy(st);
}

unsigned tcp_unfinished(const struct net_stack *st)
{
    unsigned n = 0;
    for (const struct tcp_conn *c = st->tcp.conns; c != NULL; c = c->next) {
        switch (c->state) {
        case TCP_LISTEN:
        case TCP_TIME_WAIT:
        case TCP_CLOSED:
            break;
        case TCP_SYN_SENT:
        case TCP_SYN_RECEIVED:
        case TCP_FIN_WAIT_1:
        case TCP_CLOSING:
        case TCP_LAST_ACK:
            n++;
            break;
        default: /* ESTABLISHED, FIN-WAIT-2, CLOSE-WAIT: data in flight? */
            if (c->snd_una != c->snd_max)
                n++;
            break;
        }
    }
    return n;
}

int tcp_format_counters(const struct net_stack *st, char *buf, size_t size)
{
    int n = snprintf(
        buf, size,
        "tcp: conns %u (half-open %u), mem %zu bytes, opened %llu, reset %llu, "
        "timed out %llu, time-wait reclaimed %llu (for memory %llu), syn-cache evicted %llu, "
        "sends retried after no memory %llu, time-wait SYN accepted %llu, refused %llu\n",
        st->tcp.count, st->tcp.half_open, st->tcp.mem, (unsigned long long)st->tcp.conns_opened,
        (unsigned long long)st->tcp.conns_reset, (unsigned long long)st->tcp.conns_timed_out,
        (unsigned long long)st->tcp.time_wait_reclaimed,
        (unsigned long long)st->tcp.time_wait_reclaimed_nomem,
        (unsigned long long)st->tcp.syn_cache_evicted, (unsigned long long)st->tcp.nomem_retries,
        (unsigned long long)st->tcp.tw_syn_accepted, (unsigned long long)st->tcp.tw_syn_refused);
    if (n < 0)
        return n;
    const uint64_t *o = st->tcp.segs_out_by_size, *i = st->tcp.segs_in_by_size;
    int m = snprintf((size_t)n < size ? buf + n : NULL, (size_t)n < size ? size - (size_t)n : 0,
                     "tcp segments by payload: sent <=mss %llu, <=16K %llu, <=64K %llu; "
                     "received <=mss %llu, <=16K %llu, <=64K %llu; "
                     "window cuts: reno %llu, cubic %llu\n",
                     (unsigned long long)o[TCP_SIZE_MSS], (unsigned long long)o[TCP_SIZE_16K],
                     (unsigned long long)o[TCP_SIZE_64K], (unsigned long long)i[TCP_SIZE_MSS],
                     (unsigned long long)i[TCP_SIZE_16K], (unsigned long long)i[TCP_SIZE_64K],
                     (unsigned long long)st->tcp.cc_cuts[0], (unsigned long long)st->tcp.cc_cuts[1]);
    if (m < 0)
        return m;
    n += m;
    m = snprintf((size_t)n < size ? buf + n : NULL, (size_t)n < size ? size - (size_t)n : 0,
                 "tcp options, segment kept: lists cut short %llu, options of a wrong length "
                 "ignored %llu\n",
                 (unsigned long long)st->tcp.opt_len_cut, (unsigned long long)st->tcp.opt_len_bad);
    if (m < 0)
        return m;
    n += m;
    m = snprintf((size_t)n < size ? buf + n : NULL, (size_t)n < size ? size - (size_t)n : 0,
                 "tcp stall limits: zero-window aborts %llu\n",
                 (unsigned long long)st->tcp.limit_aborts[TCP_LIMIT_ZERO_WINDOW]);
    if (m < 0)
        return m;
    n += m;
    m = snprintf((size_t)n < size ? buf + n : NULL, (size_t)n < size ? size - (size_t)n : 0,
                 "tcp keepalive: probes %llu, timed out %llu\n"
                 "tcp timers: found late by the audit %llu\n",
                 (unsigned long long)st->tcp.keepalive_probes,
                 (unsigned long long)st->tcp.keepalive_timeouts,
                 (unsigned long long)st->tcp.tq_missed);
    if (m < 0)
        return m;
    n += m;
    m = snprintf((size_t)n < size ? buf + n : NULL, (size_t)n < size ? size - (size_t)n : 0,
                 "tcp syn cookies: sent %llu, accepted %llu, rejected %llu\n",
                 (unsigned long long)st->tcp.syncookies_sent,
                 (unsigned long long)st->tcp.syncookies_accepted,
                 (unsigned long long)st->tcp.syncookies_rejected);
    return m < 0 ? m : n + m;
}
