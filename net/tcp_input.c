/*
 * net/tcp_input.c - segment arrival (RFC 9293 3.10.7): header and option
 * checks, demultiplexing, LISTEN (with SYN cookies), a SYN meeting
 * TIME-WAIT, SYN-SENT; then for synchronized states the steps of RFC 9293
 * 3.10.7.4 in its order (sync_input): PAWS, the sequence number (window),
 * RST and SYN per RFC 5961, the ACK field (RTT, congestion control, fast
 * retransmit and recovery, the SACK scoreboard, the send window), segment
 * text in order and out of order, FIN.
 *
 * One file though long: the steps of a segment's path are static
 * functions the compiler inlines into tcp_input; split into files (ACK
 * processing, receive queues) they cost about 50 instructions a segment
 * in calls (bench-tcp-callgrind: 3.48 -> 3.54 Ir/byte).
 *
 * Every refused segment counts one drop reason on the interface. Received
 * payload stays in the device's buffer: the netbuf is pulled to the
 * payload and queued (in order, or in the out-of-order list).
 *
 * Call order: ip4_input -> tcp_input -> tcp_output (tcp_output.c).
 */
#include <errno.h>
#include <string.h>

#include "net/byteorder.h"
#include "net/checksum.h"
#include "net/ipv4.h"
#include "net/stack.h"
#include "net/stack_internal.h"
#include "net/tcp_internal.h"

static void drop(struct net_iface *ifc, struct netbuf *nb, enum net_drop why)
{
    net_iface_drop(ifc, why);
    nbuf_put(nb);
}

/* Sequence number of an out-of-order buffer's first byte: set when it is
 * queued (a payload segment cut from a chain carries no TCP header to read
 * it from). */
static uint32_t buf_seq(const struct netbuf *nb)
{
    return nb->seq;
}

/* The connection a segment belongs to, else the listener on its port. */
static struct tcp_conn *lookup(struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                               uint16_t rport)
{
    struct tcp_conn *c = tcp_table_find(st, lip, lport, rip, rport);

    return c != NULL ? c : tcp_table_listener(st, lport, 0);
}

/* A challenge ACK (RFC 5961 3.2, 4.2, 5.2: the answer to an RST, SYN or
 * ACK that may be a blind attack), at most tcp_chack_per_s a second for
 * the whole stack (RFC 5961 7), so that it cannot be used to make us
 * flood. */
static void challenge_ack(struct tcp_conn *c, uint64_t now_ms)
{
    struct net_stack *st = c->st;

    if (now_ms >= st->tcp.chack_window_ms + 1000 || st->tcp.chack_window_ms == 0) {
        st->tcp.chack_window_ms = now_ms == 0 ? 1 : now_ms;
        st->tcp.chack_left = st->lim.tcp_chack_per_s;
    }
    if (st->tcp.chack_left == 0)
        return;
    st->tcp.chack_left--;
    c->stats.challenge_acks++;
    tcp_send_ack(c, now_ms);
}

/* An RTT sample from the peer's echo of our timestamp clock (RFC 7323 4:
 * any ACK that carries one may give a sample, after a retransmission too,
 * since the echo names the segment that was acknowledged). Returns whether
 * one was taken; a TSecr of 0 is taken as no echo (a SYN's is 0). */
static int ts_rtt_sample(struct tcp_conn *c, const struct tcp_seg *seg, uint64_t now_ms)
{
    if (!c->ts_ok || !seg->opt.has_ts || seg->opt.tsecr == 0)
        return 0;
    tcp_rtt_sample(c, (uint32_t)now_ms + c->ts_offset - seg->opt.tsecr);
    return 1;
}

/* The initial congestion window for segments of mss bytes: RFC 3390's
 * min(4 * MSS, max(2 * MSS, 4380 bytes)), the bound RFC 5681 3.1 allows
 * (it counts it in segments: 4 up to an MSS of 1095 bytes, 3 up to 2190,
 * else 2). */
static uint32_t initial_cwnd(uint32_t mss)
{
    return net_min_u32(4 * mss, net_max_u32(2 * mss, 4380));
}

/*
 * What the peer's SYN or SYN-ACK settles: our sending MSS (RFC 9293
 * 3.7.1: at most the peer's, 536 without its option; never under 88 bytes,
 * so that a peer cannot have us send in tiny segments), window scaling only if
 * both offered it (RFC 7323 2.2), timestamps (RFC 7323 3.2) and SACK
 * (RFC 2018 2) likewise; then the congestion state of RFC 5681 3.1:
 * the initial window, and ssthresh "arbitrarily high".
 */
static void apply_syn_options(struct tcp_conn *c, const struct tcp_seg *seg)
{
    const struct tcp_opts *o = &seg->opt;
    uint16_t peer = o->has_mss ? o->mss : TCP_DEFAULT_MSS;

    if (peer < 88)
        peer = 88;
    if (peer < c->mss)
        c->mss = peer;
    c->ws_ok = o->has_ws;
    c->snd_wscale = o->has_ws ? o->wscale : 0;
    if (!o->has_ws)
        c->rcv_wscale = 0;
    c->ts_ok = o->has_ts;
    if (o->has_ts)
        c->ts_recent = o->tsval;
    c->sack_ok = o->sack_ok;
    c->cwnd = initial_cwnd(tcp_eff_mss(c));
    c->ssthresh = 0x7fffffff;
}

/* ---- LISTEN and SYN-SENT ------------------------------------------------ */

/* The oldest half-open connection (a new connection goes to the head of
 * the list, so the last one found), or NULL. */
static struct tcp_conn *syn_cache_oldest(struct net_stack *st)
{
    struct tcp_conn *oldest = NULL;
    for (struct tcp_conn *c = st->tcp.conns; c != NULL; c = c->next)
        if (c->in_syn_cache)
            oldest = c;
    return oldest;
}

/*
 * The SYN cache is full: forget its oldest entry and take the new SYN.
 * Under a SYN flood the cache then turns over instead of refusing every
 * client for the minute its entries would live. No RST: the peer is likely
 * spoofed.
 */
static int syn_cache_evict_oldest(struct net_stack *st)
{
    struct tcp_conn *oldest = syn_cache_oldest(st);
    if (oldest == NULL)
        return 0;
    st->tcp.syn_cache_evicted++;
    tcp_free(oldest);
    return 1;
}

/*
 * Half-open connections the cache holds: tcp_syn_cache, but at most half
 * the connection table. With little memory the table (tcp_conns) may be
 * smaller than the cache; a flood would then fill the table with half-open
 * entries, and every SYN after it, and the ACK of every cookie, would find
 * no room (tcp_nomem) until they time out.
 */
static unsigned syn_cache_limit(const struct net_stack *st)
{
    unsigned half_table = st->lim.tcp_conns > 2 ? st->lim.tcp_conns / 2 : 1;
    return net_min_u32(st->lim.tcp_syn_cache, half_table);
}

/*
 * A SYN found the SYN cache full: answer it with a SYN cookie rather than
 * evict? Cookies (RFC 4987 3.6) keep every half-open entry and cost the
 * new connection the options a cookie cannot carry, so they are for when
 * the cache is full of entries that may still complete: the oldest has not
 * yet retransmitted its SYN-ACK (syn_tries 0: younger than the initial
 * RTO, 1 s). An entry whose SYN-ACK went unanswered that long is most
 * likely spoofed and is evicted instead, the new SYN getting a full
 * connection. So a half-open entry always has its first RTO to complete,
 * and under a flood the cache turns over at most tcp_syn_cache entries a
 * second while the other SYNs get cookies. Never for a SYN that ends a
 * TIME-WAIT (prev_snd_max): its ISS must be past the old incarnation's,
 * which a cookie cannot promise. tcp_syncookies = 0: always evict.
 */
static int syn_cache_wants_cookie(struct net_stack *st, const uint32_t *prev_snd_max)
{
    if (!st->lim.tcp_syncookies || prev_snd_max != NULL)
        return 0;
    struct tcp_conn *oldest = syn_cache_oldest(st);
    return oldest == NULL || oldest->syn_tries == 0;
}

/*
 * Our ISS for a connection a listener opens (RFC 6528, tcp_isn). When the
 * SYN ended a TIME-WAIT of the same 4-tuple, `prev_snd_max` is where that
 * incarnation's sequence numbers stopped (else NULL): RFC 1122 4.2.2.13
 * wants the new ISS larger than any sequence number the old one used. The
 * clock in tcp_isn only moves 250 a millisecond, less than one response
 * can send, so it is not enough on its own.
 */
static uint32_t passive_iss(struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                            uint16_t rport, const uint32_t *prev_snd_max, uint64_t now_ms)
{
    uint32_t iss = tcp_isn(st, lip, lport, rip, rport, now_ms);

    if (prev_snd_max != NULL && !seq_gt(iss, *prev_snd_max))
        iss = *prev_snd_max + 1;
    return iss;
}

/* A connection of listener l in SYN-RECEIVED for `syn` (its options
 * taken), our ISS iss, nothing sent; NULL without memory. */
static struct tcp_conn *passive_conn(struct tcp_conn *l, struct net_iface *ifc,
                                     const struct ip4_info *ip, uint16_t rport,
                                     const struct tcp_seg *syn, uint32_t iss, uint64_t now_ms)
{
    struct net_stack *st = l->st;
    struct tcp_conn *c = tcp_conn_new(st);
    if (c == NULL)
        return NULL;
    c->ifc = ifc;
    c->lip = ip->dst;
    c->rip = ip->src;
    c->lport = l->lport;
    c->rport = rport;
    c->passive = 1;
    c->parent = l;
    c->sndbuf = l->sndbuf;
    c->rcvbuf = l->rcvbuf;
    c->cc = l->cc;
    for (unsigned k = 0; k < TCP_LIMITS; k++)
        c->limit_ms[k] = l->limit_ms[k];
    tcp_pick_wscale(c);
    tcp_init_conn_params(c);
    apply_syn_options(c, syn);
    c->irs = syn->seq;
    c->rcv_nxt = c->rcv_adv = syn->seq + 1;
    c->iss = iss;
    c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
    c->snd_wnd = syn->wnd;
    c->max_snd_wnd = syn->wnd;
    c->snd_wl1 = syn->seq;
    c->ts_offset = tcp_ts_offset(st, c->lip, c->lport, c->rip, rport);
    tcp_table_hash(c);
    c->state = TCP_SYN_RECEIVED;
    c->last_rx = now_ms;
    c->keep_idle = l->keep_idle;
    c->keep_intvl = l->keep_intvl;
    c->keep_count = l->keep_count;
    c->keepalive = l->keepalive;
    c->nodelay = l->nodelay;
    st->tcp.conns_opened++;
    return c;
}

/* A half-open connection for a SYN the listener takes (SYN-RECEIVED,
 * counted in the SYN cache), its SYN-ACK sent; NULL without memory. */
static struct tcp_conn *passive_open(struct tcp_conn *l, struct net_iface *ifc,
                                     const struct ip4_info *ip, uint16_t rport,
                                     const struct tcp_seg *seg, const uint32_t *prev_snd_max,
                                     uint64_t now_ms)
{
    struct net_stack *st = l->st;
    uint32_t iss = passive_iss(st, ip->dst, l->lport, ip->src, rport, prev_snd_max, now_ms);
    struct tcp_conn *c = passive_conn(l, ifc, ip, rport, seg, iss, now_ms);
    if (c == NULL)
        return NULL;
    c->in_syn_cache = 1;
    st->tcp.half_open++;
    tcp_send_syn(c, now_ms);
    return c;
}

/* ---- SYN cookies (tcp_syncookie.c has the encoding) ---------------------- */

/* The window of a listener's SYN-ACK: what a new connection's empty
 * receive buffer offers (SYN windows are never scaled). */
static uint16_t synack_window(const struct tcp_conn *l)
{
    return (uint16_t)net_min_size(l->rcvbuf, 65535);
}

/*
 * Answer a SYN with a SYN cookie and keep nothing (RFC 4987 3.6). Our
 * SYN-ACK offers what the cookie can bring back: the MSS always; with
 * timestamps (the peer offered them), window scaling and SACK as the
 * peer offered them, carried in our TSval; without, neither.
 */
static void syncookie_reply(struct tcp_conn *l, struct net_iface *ifc, const struct ip4_info *ip,
                            uint16_t rport, const struct tcp_seg *seg, uint64_t now_ms)
{
    struct net_stack *st = l->st;
    const struct tcp_opts *o = &seg->opt;
    struct tcp_synack sa = {
        .lip = ip->dst,
        .rip = ip->src,
        .lport = l->lport,
        .rport = rport,
        .ack = seg->seq + 1,
        .wnd = synack_window(l),
        .opt.has_mss = 1,
        .opt.mss = tcp_iface_mss(ifc),
    };

    sa.seq = tcp_cookie_isn(st, sa.lip, sa.lport, sa.rip, rport, seg->seq,
                            o->has_mss ? o->mss : TCP_DEFAULT_MSS, o->has_ts, now_ms);
    if (o->has_ts) {
        uint32_t clock = (uint32_t)now_ms + tcp_ts_offset(st, sa.lip, sa.lport, sa.rip, rport);
        sa.opt.has_ts = 1;
        sa.opt.tsval = tcp_cookie_tsval(clock, o->has_ws, o->wscale, o->sack_ok);
        sa.opt.tsecr = o->tsval;
        sa.opt.has_ws = o->has_ws;
        sa.opt.wscale = tcp_wscale_for(l->rcvbuf);
        sa.opt.sack_ok = o->sack_ok;
    }
    tcp_send_synack_stateless(st, ifc, &sa, now_ms);
    st->tcp.syncookies_sent++;
    st->tcp.cookie_recent = tcp_cookie_period(now_ms) + 1;
}

/* Whether an ACK at a listener should be checked as a cookie: cookies are
 * on and one was sent in the current period or the one before. Otherwise
 * it is answered as before (RST), and a blind guesser has nothing to aim
 * at while there is no flood. */
static int syncookie_recent(const struct net_stack *st, uint64_t now_ms)
{
    return st->lim.tcp_syncookies && st->tcp.cookie_recent != 0 &&
           tcp_cookie_period(now_ms) + 1 - st->tcp.cookie_recent <= 1;
}

/*
 * An ACK (no SYN, no RST) at a listener while cookies are in use: the
 * handshake of a SYN we answered with a cookie? Its ack - 1 must be a
 * valid cookie for the 4-tuple and its seq - 1; then the connection is
 * made in SYN-RECEIVED as passive_open would have, with the options the
 * cookie carried, and returned: the caller processes the segment for it
 * like any handshake ACK (established, queued for accept, data taken). A
 * bad or old cookie gets the RST any ACK at a listener gets (RFC 9293
 * 3.10.7.2). With the accept queue full the ACK is dropped: the peer's
 * next segment (its data, or a retransmission) carries the same cookie.
 * Returns NULL when nb was consumed.
 */
static struct tcp_conn *syncookie_ack(struct tcp_conn *l, struct net_iface *ifc, struct netbuf *nb,
                                      const struct ip4_info *ip, uint16_t rport,
                                      const struct tcp_seg *seg, uint64_t now_ms)
{
    struct net_stack *st = l->st;
    struct tcp_cookie ck;
    uint32_t peer_isn = seg->seq - 1, iss = seg->ack - 1;

    if (!tcp_cookie_check(st, ip->dst, l->lport, ip->src, rport, peer_isn, iss, seg->opt.has_ts,
                          seg->opt.tsecr, now_ms, &ck)) {
        st->tcp.syncookies_rejected++;
        tcp_send_rst_reply(st, ifc, ip->dst, ip->src, l->lport, rport, seg, now_ms);
        drop(ifc, nb, NET_DROP_TCP_BAD_COOKIE);
        return NULL;
    }
    if (l->aq_count >= l->backlog) {
        drop(ifc, nb, NET_DROP_TCP_BACKLOG_FULL);
        return NULL;
    }
    /* The SYN as the cookie remembers it. */
    struct tcp_seg syn = {.seq = peer_isn, .wnd = seg->wnd, .flags = TCP_SYN};
    syn.opt.has_mss = 1;
    syn.opt.mss = ck.mss;
    syn.opt.has_ws = ck.ws;
    syn.opt.wscale = ck.wscale;
    syn.opt.sack_ok = ck.sack;
    syn.opt.has_ts = ck.ts;
    syn.opt.tsval = seg->opt.tsval; /* the SYN's is gone; the ACK's is as good for PAWS */
    struct tcp_conn *c = passive_conn(l, ifc, ip, rport, &syn, iss, now_ms);
    if (c == NULL) {
        drop(ifc, nb, NET_DROP_TCP_NOMEM);
        return NULL;
    }
    /* As if our SYN-ACK had been sent from this connection. */
    c->syn_cookie = 1;
    c->snd_nxt = c->snd_max = iss + 1;
    c->rcv_adv = c->rcv_nxt + synack_window(l);
    c->last_ack_sent = c->rcv_nxt;
    return c;
}

/* A segment for a listener (RFC 9293 3.10.7.2). `prev_snd_max`: see
 * passive_iss. Returns NULL when nb was consumed, or the connection the
 * ACK of a SYN cookie made (syncookie_ack), to process nb for. */
static struct tcp_conn *listen_input(struct tcp_conn *l, struct net_iface *ifc, struct netbuf *nb,
                                     const struct ip4_info *ip, const struct tcp_seg *seg,
                                     const uint32_t *prev_snd_max, uint64_t now_ms)
{
    struct net_stack *st = l->st;
    uint16_t rport = net_get_be16(nb->buf + nb->l4_off);

    if (seg->flags & TCP_RST) {
        drop(ifc, nb, NET_DROP_TCP_BAD_STATE);
        return NULL;
    }
    if (seg->flags & TCP_ACK) {
        if (!(seg->flags & TCP_SYN) && syncookie_recent(st, now_ms))
            return syncookie_ack(l, ifc, nb, ip, rport, seg, now_ms);
        tcp_send_rst_reply(st, ifc, ip->dst, ip->src, l->lport, rport, seg, now_ms);
        drop(ifc, nb, NET_DROP_TCP_BAD_STATE);
        return NULL;
    }
    if (!(seg->flags & TCP_SYN)) {
        drop(ifc, nb, NET_DROP_TCP_BAD_STATE);
        return NULL;
    }
    if (l->aq_count >= l->backlog) {
        drop(ifc, nb, NET_DROP_TCP_BACKLOG_FULL);
        return NULL;
    }
    if (st->tcp.half_open >= syn_cache_limit(st)) {
        if (syn_cache_wants_cookie(st, prev_snd_max)) {
            syncookie_reply(l, ifc, ip, rport, seg, now_ms);
            nbuf_put(nb); /* data on a SYN is not kept: the peer sends it again */
            return NULL;
        }
        if (!syn_cache_evict_oldest(st)) {
            drop(ifc, nb, NET_DROP_TCP_SYN_CACHE_FULL);
            return NULL;
        }
    }
    if (passive_open(l, ifc, ip, rport, seg, prev_snd_max, now_ms) == NULL) {
        drop(ifc, nb, NET_DROP_TCP_NOMEM);
        return NULL;
    }
    nbuf_put(nb); /* data on a SYN is not kept: the peer sends it again */
    return NULL;
}

/* ---- a SYN for a connection in TIME-WAIT ------------------------------------ */

/*
 * Whether a SYN is provably newer than the incarnation in TIME-WAIT
 * (RFC 6191 2). With timestamps on the old connection and in the SYN
 * (so on the new one too): a later TSval, or an equal one with a later
 * sequence number; compared mod 2^32 like PAWS (RFC 7323 5.2). Otherwise a
 * sequence number past the last one received, rcv_nxt (RFC 1122
 * 4.2.2.13).
 */
static int tw_syn_is_new(const struct tcp_conn *tw, const struct tcp_seg *seg)
{
    if (tw->ts_ok && seg->opt.has_ts) {
        int32_t d = (int32_t)(seg->opt.tsval - tw->ts_recent);
        return d > 0 || (d == 0 && seq_gt(seg->seq, tw->rcv_nxt));
    }
    return seq_gt(seg->seq, tw->rcv_nxt);
}

/*
 * A SYN (no ACK, no RST) for a connection in TIME-WAIT. A client that
 * reuses its port after the server closed first meets our TIME-WAIT;
 * answering with a challenge ACK (RFC 5961 4) costs it an RST and a
 * retry. When the SYN is provably new and the port still has a listener,
 * the TIME-WAIT ends and the listener takes the SYN (RFC 1122 4.2.2.13,
 * RFC 6191). Returns 1 when nb was consumed, 0 to process the SYN in
 * TIME-WAIT as before (counted as refused).
 */
static int time_wait_syn(struct tcp_conn *tw, struct net_iface *ifc, struct netbuf *nb,
                         const struct ip4_info *ip, const struct tcp_seg *seg, uint64_t now_ms)
{
    struct net_stack *st = tw->st;
    struct tcp_conn *l = tcp_table_listener(st, tw->lport, 1);

    if (l == NULL || !tw_syn_is_new(tw, seg)) {
        st->tcp.tw_syn_refused++;
        return 0;
    }
    if (l->aq_count >= l->backlog) {
        /* Keep TIME-WAIT: the peer sends its SYN again. */
        drop(ifc, nb, NET_DROP_TCP_BACKLOG_FULL);
        return 1;
    }
    uint32_t prev_snd_max = tw->snd_max;
    st->tcp.tw_syn_accepted++;
    tcp_terminate(tw, 0);
    if (tw->app_closed)
        tcp_free(tw); /* its slot goes to the new connection */
    listen_input(l, ifc, nb, ip, seg, &prev_snd_max, now_ms); /* a SYN: never a connection */
    return 1;
}

/* The handshake is complete: the SYN's timer stops, its back-off is
 * forgotten, keepalive starts counting idle time. */
static void established(struct tcp_conn *c, uint64_t now_ms)
{
    tcp_set_state(c, TCP_ESTABLISHED);
    c->rto_at = TCP_NO_TIMER;
    c->backoff = 0;
    c->syn_tries = 0;
    if (c->keepalive) {
        c->keep_at = now_ms + c->keep_idle;
        tcp_tq_note(c);
    }
}

/* RFC 9293 3.10.7.3 fourth: the peer's SYN in SYN-SENT (the ACK, if any,
 * acceptable). Its options settle the connection's; with an ACK of our SYN
 * the connection is established and our ACK goes at once, else it is a
 * simultaneous open (RFC 9293 3.5): SYN-RECEIVED, our SYN again with an
 * ACK. Consumes nb. */
static void synsent_syn(struct tcp_conn *c, struct netbuf *nb, const struct tcp_seg *seg,
                        int ack_ok, uint64_t now_ms)
{
    apply_syn_options(c, seg);
    c->irs = seg->seq;
    c->rcv_nxt = c->rcv_adv = seg->seq + 1;
    c->snd_wnd = seg->wnd;
    c->max_snd_wnd = seg->wnd;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    if (seg->opt.has_ts)
        c->ts_recent = seg->opt.tsval;
    nbuf_put(nb); /* data on a SYN-ACK is not kept: the peer sends it again */
    if (!ack_ok) {
        tcp_set_state(c, TCP_SYN_RECEIVED);
        tcp_send_syn(c, now_ms);
        return;
    }
    /* The handshake's RTT: the echo, else our SYN's time if it was sent
     * once (Karn, RFC 6298 3). */
    if (!ts_rtt_sample(c, seg, now_ms) && !c->ts_ok && c->syn_tries == 0)
        tcp_rtt_sample(c, (uint32_t)(now_ms - c->rtt_start));
    c->snd_una = seg->ack;
    established(c, now_ms);
    c->ack_now = 1;
    tcp_notify(c, TCP_EV_CONNECTED);
    tcp_output(c, now_ms);
}

/* A segment in SYN-SENT (RFC 9293 3.10.7.3), in its order: the ACK, RST,
 * then SYN. Consumes nb. */
static void synsent_input(struct tcp_conn *c, struct net_iface *ifc, struct netbuf *nb,
                          const struct tcp_seg *seg, uint64_t now_ms)
{
    int ack_ok = 0;

    /* First: an ACK of anything but our SYN gets an RST (the peer holds
     * an old connection). */
    if (seg->flags & TCP_ACK) {
        if (seq_le(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_max)) {
            tcp_send_rst_reply(c->st, ifc, c->lip, c->rip, c->lport, c->rport, seg, now_ms);
            drop(ifc, nb, NET_DROP_TCP_ACK_RANGE);
            return;
        }
        ack_ok = 1;
    }
    /* Second: an RST counts only with an acceptable ACK, which shows it
     * answers our SYN (RFC 5961 3.2 leaves SYN-SENT to this rule): the
     * connection was refused. */
    if (seg->flags & TCP_RST) {
        if (!ack_ok) {
            drop(ifc, nb, NET_DROP_TCP_BAD_STATE);
            return;
        }
        nbuf_put(nb);
        c->st->tcp.conns_reset++;
        tcp_terminate(c, -ECONNREFUSED);
        return;
    }
    /* Fifth: neither SYN nor RST, nothing to do. */
    if (!(seg->flags & TCP_SYN)) {
        drop(ifc, nb, NET_DROP_TCP_BAD_STATE);
        return;
    }
    synsent_syn(c, nb, seg, ack_ok, now_ms);
}

/* ---- synchronized states: ACK processing (RFC 9293 3.10.7.4, fifth) ------ */

/* Remember the peer's SACK blocks (RFC 2018) inside (snd_una, snd_max]. */
static void scoreboard_add(struct tcp_conn *c, const struct tcp_opts *o)
{
    for (unsigned i = 0; i < o->nsack; i++) {
        uint32_t s = o->sack[i].start, e = o->sack[i].end;
        /* A block that is empty or outside (snd_una, snd_max] says nothing
         * new: below snd_una it is a D-SACK (RFC 2883) of data already
         * acknowledged, past snd_max it is not about our data. */
        if (!seq_lt(s, e) || seq_le(e, c->snd_una) || seq_gt(e, c->snd_max))
            continue;
        if (seq_lt(s, c->snd_una))
            s = c->snd_una;
        /* Insert, merging overlaps; keep sorted. */
        struct tcp_range out[TCP_SCOREBOARD + 1];
        unsigned n = 0, k;
        int placed = 0;
        for (k = 0; k < c->nsb; k++) {
            struct tcp_range r = c->sb[k];
            if (seq_lt(r.end, s)) {
                out[n++] = r;
            } else if (seq_lt(e, r.start)) {
                if (!placed) {
                    out[n++] = (struct tcp_range){s, e};
                    placed = 1;
                }
                out[n++] = r;
            } else {
                s = seq_min(s, r.start);
                e = seq_max(e, r.end);
            }
        }
        if (!placed)
            out[n++] = (struct tcp_range){s, e};
        if (n > TCP_SCOREBOARD)
            n = TCP_SCOREBOARD; /* the highest ranges are forgotten */
        memcpy(c->sb, out, n * sizeof(out[0]));
        c->nsb = n;
    }
}

/* snd_una moved: what the scoreboard held below it is acknowledged. */
static void scoreboard_trim(struct tcp_conn *c)
{
    unsigned n = 0;

    for (unsigned k = 0; k < c->nsb; k++) {
        struct tcp_range r = c->sb[k];
        if (seq_le(r.end, c->snd_una))
            continue;
        if (seq_lt(r.start, c->snd_una))
            r.start = c->snd_una;
        c->sb[n++] = r;
    }
    c->nsb = n;
}

/*
 * Loss detected by duplicate ACKs: fast retransmit and fast recovery.
 * ssthresh from the flight (RFC 5681 3.2 step 2, eq. 4; CUBIC's own in
 * tcp_cc.c), and recovery lasts until everything sent so far is
 * acknowledged (recover = snd_max, RFC 6582 3.2). With SACK, RFC 6675 5:
 * cwnd = ssthresh and tcp_output sends by the pipe, the first hole at once
 * (rexmit_first). Without, NewReno (RFC 5681 3.2 steps 2-3): cwnd inflated
 * by the three segments that left the network, the first unacknowledged
 * segment resent now.
 */
static void enter_recovery(struct tcp_conn *c, uint64_t now_ms)
{
    uint32_t mss = tcp_eff_mss(c), flight = c->snd_max - c->snd_una;

    c->ssthresh = tcp_cc_ssthresh(c, flight);
    c->recover = c->snd_max;
    c->in_recovery = 1;
    c->rexmit_nxt = c->snd_una;
    c->stats.fast_retransmits++;
    c->rtt_timing = 0; /* Karn: the timed segment may be the one resent */
    if (c->sack_ok) {
        c->cwnd = c->ssthresh;
        c->rexmit_first = 1;
        return; /* tcp_output retransmits the holes, the first one first */
    }
    c->cwnd = c->ssthresh + 3 * mss;
    tcp_retransmit_first(c, now_ms);
}

/*
 * Whether an ACK that acknowledges nothing new is a duplicate ACK in RFC
 * 5681 2's sense: data outstanding, no data, SYN or FIN on it, the window
 * unchanged (and open: an ACK at a zero window is the peer answering our
 * probes, not a sign of loss).
 */
static int is_dupack(const struct tcp_conn *c, const struct tcp_seg *seg, uint32_t wnd)
{
    return seg->ack == c->snd_una && seg->len == 0 && !(seg->flags & (TCP_SYN | TCP_FIN)) &&
           wnd == c->snd_wnd && wnd != 0 && c->snd_max != c->snd_una;
}

static void dupack_input(struct tcp_conn *c, uint64_t now_ms)
{
    uint32_t mss = tcp_eff_mss(c);

    c->dupacks++;
    c->stats.dup_acks++;
    /* Loss (RFC 5681 3.2): the third duplicate ACK, or with SACK (RFC 6675
     * 5, IsLost) three segments' worth SACKed above snd_una. Not again for
     * data sent before the last loss: the ACK (= snd_una) must reach
     * recover (RFC 6582 3.2, three duplicate ACKs; set after a timeout too). */
    if (!c->in_recovery && seq_ge(c->snd_una, c->recover) &&
        (c->dupacks == TCP_DUPACK_THRESH ||
         (c->sack_ok && tcp_sacked_bytes(c) >= TCP_DUPACK_THRESH * mss)))
        enter_recovery(c, now_ms);
    /* NewReno (RFC 5681 3.2 step 4): each further duplicate ACK means one
     * more segment left the network; inflate cwnd by one. */
    else if (c->in_recovery && !c->sack_ok && c->dupacks > TCP_DUPACK_THRESH)
        c->cwnd += mss;
}

/* The congestion window for an ACK of data_acked new bytes (ack its new
 * snd_una). */
static void cwnd_on_ack(struct tcp_conn *c, uint32_t ack, uint32_t data_acked, uint64_t now_ms)
{
    uint32_t mss = tcp_eff_mss(c);

    if (c->in_recovery) {
        if (seq_ge(ack, c->recover)) {
            /* Full acknowledgment: recovery is over (RFC 6582 3.2). Deflate
             * to ssthresh, or to the flight plus one segment when that is
             * less (near the RFC's first choice; no burst goes out), never
             * below one segment. */
            uint32_t flight = c->snd_max - ack;
            c->cwnd = net_max_u32(net_min_u32(c->ssthresh, flight + mss), mss);
            c->in_recovery = 0;
            c->dupacks = 0;
        } else {
            /* Partial acknowledgment (RFC 6582 3.2): the next hole is
             * resent (ack_new_data); without SACK, deflate by what was
             * acknowledged and add back one segment. */
            c->rexmit_nxt = seq_max(c->rexmit_nxt, ack);
            if (!c->sack_ok) {
                c->cwnd = c->cwnd > data_acked ? c->cwnd - data_acked : 0;
                c->cwnd += mss;
            }
        }
        return;
    }
    c->dupacks = 0;
    /* Slow start (RFC 5681 3.1, eq. 2: cwnd += min(N, SMSS)), else
     * congestion avoidance (tcp_cc.c). */
    if (c->cwnd < c->ssthresh)
        c->cwnd += net_min_u32(data_acked, mss);
    else if (data_acked > 0)
        tcp_cc_avoid(c, data_acked, now_ms);
    if (c->cwnd > (1u << 30))
        c->cwnd = 1u << 30; /* far above any window the peer can offer */
}

/* What an ACK processing step leaves to do with the segment. */
enum ack_verdict {
    ACK_OK,     /* go on: its text and FIN */
    ACK_DROP,   /* unacceptable ACK: a challenge ACK went, the drop is counted */
    ACK_CLOSED, /* it acknowledged our FIN in LAST-ACK: the connection is over */
};

/* Our FIN is acknowledged (RFC 9293 3.10.7.4, fifth: FIN-WAIT-1, CLOSING,
 * LAST-ACK). */
static enum ack_verdict fin_acked(struct tcp_conn *c, uint64_t now_ms)
{
    switch (c->state) {
    case TCP_FIN_WAIT_1:
        tcp_set_state(c, TCP_FIN_WAIT_2);
        break;
    case TCP_CLOSING:
        tcp_time_wait_start(c, now_ms);
        break;
    case TCP_LAST_ACK:
        tcp_terminate(c, 0);
        return ACK_CLOSED;
    default:
        break;
    }
    return ACK_OK;
}

/* An ACK of new data (snd_una < ack <= snd_max; RFC 9293 3.10.7.4 fifth,
 * ESTABLISHED). */
static enum ack_verdict ack_new_data(struct tcp_conn *c, const struct tcp_seg *seg, uint64_t now_ms)
{
    uint32_t ack = seg->ack, acked = ack - c->snd_una;
    /* Our FIN takes the sequence number after the last data byte. */
    int fin =
        c->fin_sent && ack == c->snd_max && c->snd_max == c->snd_una + (uint32_t)c->sndq_len + 1;
    uint32_t data_acked = acked - (fin ? 1 : 0);

    /* RTT: the echoed timestamp, else the timed segment (RFC 6298 3, Karn:
     * never a retransmitted one; tcp_output stops timing when it resends). */
    if (!ts_rtt_sample(c, seg, now_ms) && c->rtt_timing && seq_ge(ack, c->rtt_seq)) {
        c->rtt_timing = 0;
        tcp_rtt_sample(c, (uint32_t)(now_ms - c->rtt_start));
    }
    c->backoff = 0; /* RFC 6298 5: new data acknowledged, the RTO collapses back */
    cwnd_on_ack(c, ack, data_acked, now_ms);
    c->stats.bytes_acked += data_acked;
    tcp_sndq_drop_acked(c, data_acked);
    c->snd_una = ack;
    if (seq_lt(c->snd_nxt, c->snd_una))
        c->snd_nxt = c->snd_una;
    scoreboard_trim(c);
    /* RFC 6298 5.2, 5.3: stop the timer when all is acknowledged, else
     * restart it for the data still in flight. */
    if (c->snd_una == c->snd_max)
        c->rto_at = TCP_NO_TIMER;
    else
        tcp_rto_arm(c, now_ms);
    if (c->in_recovery && !c->sack_ok)
        tcp_retransmit_first(c, now_ms); /* partial ACK: the next hole */
    return fin ? fin_acked(c, now_ms) : ACK_OK;
}

/*
 * The send window from an acceptable ACK (RFC 9293 3.10.7.4 fifth): only a
 * segment newer than the one that last set it (SND.WL1, SND.WL2: a later
 * seq, or the same seq and an ack no older) may, so that a reordered old
 * segment cannot shrink it back.
 */
static void snd_window_update(struct tcp_conn *c, const struct tcp_seg *seg, uint32_t wnd)
{
    if (!(seq_lt(c->snd_wl1, seg->seq) || (c->snd_wl1 == seg->seq && seq_le(c->snd_wl2, seg->ack))))
        return;
    int was_zero = c->snd_wnd == 0;
    c->snd_wnd = wnd;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    if (wnd > c->max_snd_wnd)
        c->max_snd_wnd = wnd;
    if (was_zero && wnd > 0) {
        /* The window opened: probing ends (RFC 9293 3.8.6.1), data goes
         * again at the next tcp_output. */
        c->persist_at = TCP_NO_TIMER;
        c->persist_backoff = 0;
        c->rto_at = TCP_NO_TIMER; /* tcp_output arms a fresh one */
    }
}

/* The ACK field of an acceptable segment in ESTABLISHED and after. */
static enum ack_verdict ack_input(struct tcp_conn *c, struct net_iface *ifc,
                                  const struct tcp_seg *seg, uint64_t now_ms)
{
    uint32_t ack = seg->ack;

    /* RFC 5961 5.2: acceptable range [snd_una - max_snd_wnd, snd_max]. An
     * ACK of what we never sent (RFC 9293 3.10.7.4 fifth: answered with an
     * ACK and dropped), or of data acknowledged more than the largest
     * window ago (a blind injection), gets a rate-limited challenge ACK. */
    if (seq_gt(ack, c->snd_max) || seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
        net_iface_drop(ifc, NET_DROP_TCP_ACK_RANGE);
        challenge_ack(c, now_ms);
        return ACK_DROP;
    }
    if (c->sack_ok && seg->opt.nsack > 0)
        scoreboard_add(c, &seg->opt);
    uint32_t wnd = seg->wnd << c->snd_wscale; /* RFC 7323 2.3 */
    if (seq_gt(ack, c->snd_una)) {
        if (ack_new_data(c, seg, now_ms) == ACK_CLOSED)
            return ACK_CLOSED;
    } else if (is_dupack(c, seg, wnd)) {
        dupack_input(c, now_ms);
    }
    snd_window_update(c, seg, wnd);
    return ACK_OK;
}

/* An established connection of listener l joins its accept queue (the
 * tail: tcp_accept takes the oldest). */
static void accept_enqueue(struct tcp_conn *l, struct tcp_conn *c)
{
    struct tcp_conn **tail = l->aq_tail != NULL ? &l->aq_tail->aq_next : &l->aq_head;

    c->aq_next = NULL;
    *tail = l->aq_tail = c;
    l->aq_count++;
    tcp_notify(l, TCP_EV_ACCEPT);
}

/*
 * The ACK field in SYN-RECEIVED (RFC 9293 3.10.7.4 fifth): an ACK of our
 * SYN establishes the connection; any other gets an RST. Returns 1 to go on
 * with the segment (its text and FIN), 0 when nb was consumed.
 */
static int synrcvd_ack(struct tcp_conn *c, struct net_iface *ifc, struct netbuf *nb,
                       const struct tcp_seg *seg, uint64_t now_ms)
{
    if (seq_le(seg->ack, c->snd_una) || seq_gt(seg->ack, c->snd_max)) {
        tcp_send_rst_reply(c->st, ifc, c->lip, c->rip, c->lport, c->rport, seg, now_ms);
        drop(ifc, nb, NET_DROP_TCP_ACK_RANGE);
        return 0;
    }
    /* The accept queue is full: drop the ACK and stay half-open; the
     * peer's next segment completes the handshake once there is room. */
    struct tcp_conn *l = c->parent;
    if (l != NULL && l->aq_count >= l->backlog) {
        drop(ifc, nb, NET_DROP_TCP_BACKLOG_FULL);
        return 0;
    }
    /* The handshake's RTT sample (Karn, RFC 6298 3: only from a SYN-ACK
     * sent once); none for a cookie (no SYN-ACK was timed, and its TSval
     * is not the clock). */
    if (!c->syn_cookie && !ts_rtt_sample(c, seg, now_ms) && c->syn_tries == 0)
        tcp_rtt_sample(c, (uint32_t)(now_ms - c->rtt_start));
    c->snd_una = seg->ack;
    c->snd_wnd = seg->wnd << c->snd_wscale;
    c->max_snd_wnd = c->snd_wnd;
    c->snd_wl1 = seg->seq;
    c->snd_wl2 = seg->ack;
    established(c, now_ms);
    if (c->syn_cookie)
        c->st->tcp.syncookies_accepted++;
    if (l != NULL)
        accept_enqueue(l, c);
    else
        tcp_notify(c, TCP_EV_CONNECTED);
    return 1;
}

/* ---- synchronized states: segment text and FIN (seventh, eighth) --------- */

/* Add r to the k blocks of out unless a block starting there is in. */
static void sack_out_add(struct tcp_range *out, unsigned *k, struct tcp_range r)
{
    for (unsigned j = 0; j < *k; j++)
        if (out[j].start == r.start)
            return;
    out[(*k)++] = r;
}

/* Recompute the SACK blocks we send from the out-of-order queue: the block
 * holding the newest segment first, then those reported before, so that a
 * block is repeated in several ACKs in case some are lost (RFC 2018 4). */
static void update_sack_out(struct tcp_conn *c, uint32_t newest)
{
    struct tcp_range all[64];
    unsigned n = 0;

    for (struct netbuf *nb = c->ooo; nb != NULL; nb = nb->qnext) {
        uint32_t s = buf_seq(nb), e = s + (uint32_t)nb->len;
        if (n > 0 && all[n - 1].end == s)
            all[n - 1].end = e;
        else if (n < 64)
            all[n++] = (struct tcp_range){s, e};
    }
    struct tcp_range out[TCP_SACK_BLOCKS];
    unsigned k = 0;
    for (unsigned pass = 0; pass <= c->nsack_out && k < TCP_SACK_BLOCKS; pass++) {
        uint32_t want = pass == 0 ? newest : c->sack_out[pass - 1].start;
        for (unsigned i = 0; i < n; i++) {
            if (seq_le(all[i].start, want) && seq_lt(want, all[i].end)) {
                sack_out_add(out, &k, all[i]);
                break;
            }
        }
    }
    /* Room left: the other ranges, highest first. */
    for (unsigned i = n; i-- > 0 && k < TCP_SACK_BLOCKS;)
        sack_out_add(out, &k, all[i]);
    memcpy(c->sack_out, out, k * sizeof(out[0]));
    c->nsack_out = k;
}

/* Take the out-of-order segment at *link off the queue, its bytes no
 * longer held; the caller owns it. */
static struct netbuf *ooo_unlink(struct tcp_conn *c, struct netbuf **link)
{
    struct netbuf *nb = *link;

    *link = nb->qnext;
    nb->qnext = NULL;
    c->ooo_bytes -= nb->len;
    c->st->tcp.mem -= nb->len;
    c->ooo_count--;
    return nb;
}

/* Whether the out-of-order queue may take len more bytes. One receive slot
 * always stays free for the segment at rcv_nxt: were out-of-order segments
 * to hold them all, the one that fills the hole could never be taken and
 * the connection would stall. */
static int ooo_room(const struct tcp_conn *c, size_t len)
{
    const struct net_stack *st = c->st;

    return c->ooo_count < st->lim.tcp_ooo_segs && c->ooo_bytes + len <= st->lim.tcp_ooo_bytes &&
           c->rcvq.count + c->ooo_count + 1 < st->lim.tcp_rcv_segs;
}

/* Trim nb (at *seq) to what the out-of-order queue does not hold yet:
 * the front that prev, the segment before it, holds; later segments that
 * nb covers whole go, and nb stops where it runs into the next one. *link
 * is where nb goes. Returns 0, nb untouched, when prev holds all of it. */
static int ooo_fit(struct tcp_conn *c, struct netbuf *nb, uint32_t *seq, const struct netbuf *prev,
                   struct netbuf **link)
{
    if (prev != NULL) {
        uint32_t pend = buf_seq(prev) + (uint32_t)prev->len;
        if (seq_ge(pend, *seq + (uint32_t)nb->len))
            return 0;
        if (seq_gt(pend, *seq)) {
            nbuf_pull(nb, pend - *seq);
            *seq = pend;
        }
    }
    while (*link != NULL) {
        uint32_t ns = buf_seq(*link), ne = ns + (uint32_t)(*link)->len;
        uint32_t end = *seq + (uint32_t)nb->len;
        if (seq_le(end, ns))
            break;
        if (seq_le(ne, end) && seq_ge(ns, *seq)) {
            nbuf_put(ooo_unlink(c, link));
            continue;
        }
        nbuf_trim(nb, ns - *seq);
        break;
    }
    return 1;
}

/* Queue an out-of-order segment (data at payload, seq its first byte),
 * sorted, overlaps trimmed. Consumes nb. */
static void ooo_insert(struct tcp_conn *c, struct net_iface *ifc, struct netbuf *nb, uint32_t seq)
{
    struct netbuf **link = &c->ooo, *prev = NULL;

    /* RFC 5681 4.2 (and 3.2): an out-of-order segment is answered at once,
     * a duplicate ACK for the sender's fast retransmit. */
    c->ack_now = 1;
    if (!ooo_room(c, nb->len)) {
        c->stats.dropped_segments++;
        drop(ifc, nb, NET_DROP_TCP_OOO_FULL);
        return;
    }
    while (*link != NULL && seq_lt(buf_seq(*link), seq)) {
        prev = *link;
        link = &(*link)->qnext;
    }
    if (!ooo_fit(c, nb, &seq, prev, link)) {
        c->stats.dropped_segments++;
        drop(ifc, nb, NET_DROP_TCP_OUT_OF_WINDOW);
        return;
    }
    if (nb->len == 0) {
        drop(ifc, nb, NET_DROP_TCP_OUT_OF_WINDOW);
        return;
    }
    nb->seq = seq;
    nb->qnext = *link;
    *link = nb;
    c->ooo_bytes += nb->len;
    c->st->tcp.mem += nb->len;
    c->ooo_count++;
    c->stats.ooo_segments++;
    update_sack_out(c, seq);
}

/* Give up the highest out-of-order segment to make room for in-order data
 * (RFC 2018 8 lets a receiver discard data it SACKed; the sender keeps it
 * until it is cumulatively acknowledged). Returns whether one went. */
static int ooo_renege_last(struct tcp_conn *c)
{
    struct netbuf **link = &c->ooo;
    if (*link == NULL)
        return 0;
    while ((*link)->qnext != NULL)
        link = &(*link)->qnext;
    nbuf_put(ooo_unlink(c, link));
    c->nsack_out = 0; /* rebuilt from what is left */
    if (c->ooo != NULL)
        update_sack_out(c, buf_seq(c->ooo));
    return 1;
}

/* Append an in-order buffer (consumed) to the receive queue. */
static void rcvq_add(struct tcp_conn *c, struct netbuf *nb)
{
    c->rcvq_bytes += nb->len;
    c->st->tcp.mem += nb->len;
    c->rcv_nxt += (uint32_t)nb->len;
    c->stats.bytes_in += nb->len;
    nbuf_queue_push(&c->rcvq, nb);
}

/* Move out-of-order segments that have become in order. */
static void ooo_drain(struct tcp_conn *c)
{
    while (c->ooo != NULL) {
        uint32_t s = buf_seq(c->ooo), e = s + (uint32_t)c->ooo->len;
        if (seq_gt(s, c->rcv_nxt))
            break;
        struct netbuf *nb = ooo_unlink(c, &c->ooo);
        if (seq_le(e, c->rcv_nxt)) {
            nbuf_put(nb);
            continue;
        }
        nbuf_pull(nb, c->rcv_nxt - s);
        rcvq_add(c, nb);
    }
    update_sack_out(c, c->ooo != NULL ? buf_seq(c->ooo) : 0);
    if (c->ooo == NULL)
        c->nsack_out = 0;
}

/* The peer's FIN, in order (RFC 9293 3.10.7.4 eighth): it takes a
 * sequence number, is acknowledged at once, and moves the state on. */
static void fin_input(struct tcp_conn *c, uint64_t now_ms)
{
    c->rcv_nxt++;
    c->fin_rcvd = 1;
    c->ack_now = 1;
    switch (c->state) {
    case TCP_SYN_RECEIVED:
    case TCP_ESTABLISHED:
        tcp_set_state(c, TCP_CLOSE_WAIT);
        break;
    case TCP_FIN_WAIT_1:
        tcp_set_state(c, TCP_CLOSING); /* our FIN is not acknowledged yet */
        break;
    case TCP_FIN_WAIT_2:
        tcp_time_wait_start(c, now_ms);
        break;
    default:
        break;
    }
    tcp_notify(c, TCP_EV_READABLE);
}

/*
 * When to acknowledge in-order data (RFC 9293 3.8.6.3, RFC 5681 4.2): at
 * once when it filled a hole (the sender's recovery waits on it); at the
 * second segment not yet acknowledged (RFC 5681 asks for at least every
 * second full-sized one); else after TCP_DELACK_MS, well under the 500 ms
 * those RFCs allow.
 */
static void ack_policy(struct tcp_conn *c, int filled_hole, uint64_t now_ms)
{
    if (filled_hole)
        c->ack_now = 1;
    else if (++c->unacked_segs >= 2)
        c->ack_now = 1;
    else if (c->delack_at == TCP_NO_TIMER) {
        c->delack_at = now_ms + TCP_DELACK_MS;
        tcp_tq_note(c);
    }
}

/* In-order data (nb, not empty) at rcv_nxt: to the receive queue, with
 * what the out-of-order queue holds after it. Consumes nb. */
static void data_in_order(struct tcp_conn *c, struct net_iface *ifc, struct netbuf *nb, int fin,
                          uint64_t now_ms)
{
    struct net_stack *st = c->st;

    /* Out of receive slots: SACKed data goes first (ooo_renege_last). */
    while (c->rcvq.count + c->ooo_count >= st->lim.tcp_rcv_segs && ooo_renege_last(c))
        ;
    if (c->rcvq.count + c->ooo_count >= st->lim.tcp_rcv_segs ||
        st->tcp.mem + nb->len > st->lim.tcp_mem) {
        c->stats.dropped_segments++;
        c->ack_now = 1;
        drop(ifc, nb, NET_DROP_TCP_RX_FULL);
        return;
    }
    int had_ooo = c->ooo != NULL;
    rcvq_add(c, nb);
    if (had_ooo)
        ooo_drain(c);
    ack_policy(c, had_ooo, now_ms);
    if (fin)
        fin_input(c, now_ms);
    else
        tcp_notify(c, TCP_EV_READABLE);
}

/* Trim nb, its first byte at *seq, to the receive window: the front we
 * already have (a retransmission: acknowledged at once, RFC 9293 3.10.7.4
 * first), and the tail past the window's right edge, a FIN with it. */
static void trim_to_window(struct tcp_conn *c, struct netbuf *nb, uint32_t *seq, int *fin)
{
    if (seq_lt(*seq, c->rcv_nxt)) {
        uint32_t old = net_min_u32(c->rcv_nxt - *seq, (uint32_t)nb->len);
        nbuf_pull(nb, old);
        *seq += old;
        c->ack_now = 1;
    }
    uint32_t wend = c->rcv_nxt + tcp_rcv_window_offered(c);
    if (seq_gt(*seq + (uint32_t)nb->len, wend)) {
        nbuf_trim(nb, seq_gt(wend, *seq) ? wend - *seq : 0);
        *fin = 0;
    }
}

/* Data after the app closed: nobody will read it. RFC 1122 4.2.2.13: the
 * TCP SHOULD send an RST to show that data was lost. Consumes nb. */
static void data_after_close(struct tcp_conn *c, struct net_iface *ifc, struct netbuf *nb,
                             uint64_t now_ms)
{
    net_iface_drop(ifc, NET_DROP_TCP_CLOSED);
    nbuf_put(nb);
    tcp_send_rst_conn(c, now_ms);
    c->st->tcp.conns_reset++;
    tcp_terminate(c, -ECONNRESET);
}

/* Payload (one netbuf, no chain) and FIN of an acceptable segment.
 * Consumes nb. */
static void data_input_one(struct tcp_conn *c, struct net_iface *ifc, struct netbuf *nb,
                           const struct tcp_seg *seg, uint64_t now_ms)
{
    uint32_t seq = seg->seq;
    int fin = (seg->flags & TCP_FIN) != 0;

    /* RFC 9293 3.10.7.4 seventh: once the peer's FIN is in (CLOSE-WAIT,
     * CLOSING, LAST-ACK, TIME-WAIT) text is ignored. Eighth: in TIME-WAIT
     * a FIN is the peer's again (our ACK was lost): ACK it, restart 2 MSL. */
    if (c->state != TCP_ESTABLISHED && c->state != TCP_FIN_WAIT_1 && c->state != TCP_FIN_WAIT_2) {
        if (c->state == TCP_TIME_WAIT && fin) {
            tcp_time_wait_start(c, now_ms);
            c->ack_now = 1;
        }
        nbuf_put(nb);
        return;
    }
    if (nb->len > 0 && c->app_closed) {
        data_after_close(c, ifc, nb, now_ms);
        return;
    }
    trim_to_window(c, nb, &seq, &fin);
    if (seq != c->rcv_nxt) {
        if (nb->len == 0)
            nbuf_put(nb);
        else
            ooo_insert(c, ifc, nb, seq);
        return;
    }
    if (nb->len > 0) {
        data_in_order(c, ifc, nb, fin, now_ms);
        return;
    }
    nbuf_put(nb);
    if (fin)
        fin_input(c, now_ms);
}

/*
 * Payload and FIN of an acceptable segment. Consumes nb. A large segment
 * received in several device buffers (a chain: headers and the first bytes
 * in the head, the rest behind it) is taken apart into its buffers, each
 * queued in place as if it were a segment of its own, in sequence order;
 * only the last carries the FIN. So the receive and out-of-order queues,
 * their limits (tcp_rcv_segs counts device buffers) and the app see single
 * buffers, whatever the device delivered, and nothing is copied.
 */
static void data_input(struct tcp_conn *c, struct net_iface *ifc, struct netbuf *nb,
                       const struct tcp_seg *seg, uint64_t now_ms)
{
    struct tcp_seg piece = *seg;

    piece.flags &= (uint8_t)~TCP_FIN;
    while (nb->next != NULL) {
        struct netbuf *rest = nb->next;
        uint32_t len = (uint32_t)nb->len;
        nb->next = NULL; /* the head's reference on rest is now ours */
        piece.len = len;
        data_input_one(c, ifc, nb, &piece, now_ms);
        piece.seq += len;
        nb = rest;
    }
    piece.flags = seg->flags;
    piece.len = (uint32_t)nb->len;
    data_input_one(c, ifc, nb, &piece, now_ms);
}

/* ---- synchronized states: the checks before the ACK (RFC 9293 3.10.7.4) -- */

/*
 * PAWS (RFC 7323 5.3 R1): a segment whose TSval is older than TS.Recent is
 * an old duplicate, unacceptable whatever its sequence number (which may
 * have wrapped); an RST is exempt. Compared mod 2^32 like sequence numbers.
 *
 * A segment whose timestamp option had the wrong length arrives here
 * without one (tcp_opts_parse ignored it), like a segment sent without:
 * both are taken. RFC 7323 3.2 says that once timestamps are negotiated a
 * non-RST segment without a TSopt SHOULD, not MUST, be silently dropped;
 * stacks in use leave the option out of some segments (keepalives), so we
 * do not, and dropping a malformed TSopt while taking a missing one would
 * stop no one, as the sender could leave it out instead. What PAWS guards
 * against, an old duplicate of this connection, left the peer with a
 * well-formed TSopt and is still caught here. Nothing is taken from a
 * malformed TSopt: TS.Recent stays, no RTT sample comes from its TSecr; the
 * window check and RFC 5961 below apply to the segment as to any other.
 */
static int paws_reject(const struct tcp_conn *c, const struct tcp_seg *seg)
{
    return c->ts_ok && seg->opt.has_ts && !(seg->flags & TCP_RST) &&
           (int32_t)(seg->opt.tsval - c->ts_recent) < 0;
}

/* Whether seq lies in the receive window [rcv_nxt, rcv_nxt + wnd). */
static int in_rcv_window(const struct tcp_conn *c, uint32_t seq, uint32_t wnd)
{
    return seq_ge(seq, c->rcv_nxt) && seq_lt(seq, c->rcv_nxt + wnd);
}

/*
 * RFC 9293 3.10.7.4 first, table 6: whether a segment of seglen sequence
 * numbers (SYN and FIN count) at seq is acceptable with a receive window
 * of wnd.
 *   seglen 0, wnd 0:  seq = RCV.NXT
 *   seglen 0, wnd >0: seq in the window
 *   seglen >0, wnd 0: never
 *   seglen >0, wnd >0: its first or its last sequence number in the window
 */
static int seq_acceptable(const struct tcp_conn *c, uint32_t seq, uint32_t seglen, uint32_t wnd)
{
    if (seglen == 0)
        return wnd == 0 ? seq == c->rcv_nxt : in_rcv_window(c, seq, wnd);
    return wnd != 0 && (in_rcv_window(c, seq, wnd) || in_rcv_window(c, seq + seglen - 1, wnd));
}

/* What the sequence number check decided. */
enum seq_verdict {
    SEQ_REFUSED,    /* dropped (nb consumed), answered as RFC 9293 says */
    SEQ_ACCEPTABLE, /* go on with the segment */
    SEQ_ACK_ONLY,   /* zero window: text, SYN and FIN cut off, the ACK field still taken */
};

/* An unacceptable segment: RFC 9293 3.10.7.4 first, answered with an ACK
 * (<SEQ=SND.NXT><ACK=RCV.NXT>) and dropped, unless it is an RST, dropped
 * silently. In TIME-WAIT a FIN, even a stale one, also restarts the 2 MSL
 * (eighth). Consumes nb. */
static void seq_refuse(struct tcp_conn *c, struct net_iface *ifc, struct netbuf *nb,
                       const struct tcp_seg *seg, uint64_t now_ms)
{
    uint8_t flags = seg->flags;

    c->stats.dropped_segments++;
    drop(ifc, nb, NET_DROP_TCP_OUT_OF_WINDOW);
    if (flags & TCP_RST)
        return;
    if (c->state == TCP_TIME_WAIT && (flags & TCP_FIN))
        tcp_time_wait_start(c, now_ms);
    c->ack_now = 1;
    tcp_output(c, now_ms); /* the ACK, on data if there is some to send */
    if (c->ack_now)
        tcp_send_ack(c, now_ms); /* tcp_output sent none (state, no memory) */
}

/* The sequence number check (RFC 9293 3.10.7.4 first). On SEQ_REFUSED nb
 * was consumed; on SEQ_ACK_ONLY seg and nb were cut to their ACK. */
static enum seq_verdict seq_check(struct tcp_conn *c, struct net_iface *ifc, struct netbuf *nb,
                                  struct tcp_seg *seg, uint64_t now_ms)
{
    uint32_t seglen = seg->len + !!(seg->flags & TCP_SYN) + !!(seg->flags & TCP_FIN);
    uint32_t wnd = tcp_rcv_window_offered(c);

    if (seq_acceptable(c, seg->seq, seglen, wnd))
        return SEQ_ACCEPTABLE;
    /* "If the RCV.WND is zero, no segments will be acceptable, but special
     * allowance should be made to accept valid ACKs": the next segment in
     * sequence is taken for its ACK field (the window may be opening), its
     * data refused and counted, and our ACK repeats the zero window. */
    if (wnd == 0 && seglen > 0 && seg->seq == c->rcv_nxt && !(seg->flags & TCP_RST)) {
        seg->len = 0;
        seg->flags &= (uint8_t) ~(TCP_FIN | TCP_SYN);
        nbuf_chain_trim(nb, 0);
        net_iface_drop(ifc, NET_DROP_TCP_RX_FULL);
        c->ack_now = 1;
        return SEQ_ACK_ONLY;
    }
    seq_refuse(c, ifc, nb, seg, now_ms);
    return SEQ_REFUSED;
}

/*
 * An RST in the window (RFC 9293 3.10.7.4 second, with RFC 5961 3.2): only
 * one at exactly RCV.NXT resets; any other gets a challenge ACK, so a blind
 * attacker must guess that one number, and a peer that really lost the
 * connection answers the challenge with an RST that fits. Consumes nb.
 */
static void rst_input(struct tcp_conn *c, struct net_iface *ifc, struct netbuf *nb,
                      const struct tcp_seg *seg, uint64_t now_ms)
{
    if (seg->seq != c->rcv_nxt) {
        drop(ifc, nb, NET_DROP_TCP_CHALLENGE_ACK);
        challenge_ack(c, now_ms);
        return;
    }
    nbuf_put(nb);
    c->st->tcp.conns_reset++;
    /* SYN-RECEIVED: a passive open just goes (RFC 9293: back to LISTEN;
     * the listener never saw it, nobody holds it); an active one (a
     * simultaneous open) was refused. */
    if (c->state == TCP_SYN_RECEIVED && c->passive)
        tcp_mark_app_closed(c);
    tcp_terminate(c, c->state == TCP_SYN_RECEIVED && !c->passive ? -ECONNREFUSED : -ECONNRESET);
}

/* RFC 7323 5.3 R3 (4.3): the TSval to echo, TS.Recent, is taken from a
 * segment no older than it that covers Last.ACK.sent (seq <= the ack we
 * last sent), so a delayed ACK echoes the earliest segment it covers and
 * the peer's RTT includes the delay. */
static void ts_recent_update(struct tcp_conn *c, const struct tcp_seg *seg)
{
    if (c->ts_ok && seg->opt.has_ts && seq_le(seg->seq, c->last_ack_sent) &&
        (int32_t)(seg->opt.tsval - c->ts_recent) >= 0)
        c->ts_recent = seg->opt.tsval;
}

/* A segment for a synchronized connection (SYN-RECEIVED and after), in
 * RFC 9293 3.10.7.4's order. Consumes nb. */
static void sync_input(struct tcp_conn *c, struct net_iface *ifc, struct netbuf *nb,
                       struct tcp_seg *seg, uint64_t now_ms)
{
    if (paws_reject(c, seg)) {
        c->stats.dropped_segments++;
        drop(ifc, nb, NET_DROP_TCP_PAWS);
        tcp_send_ack(c, now_ms);
        return;
    }
    if (seq_check(c, ifc, nb, seg, now_ms) == SEQ_REFUSED)
        return;
    if (seg->flags & TCP_RST) {
        rst_input(c, ifc, nb, seg, now_ms);
        return;
    }
    /* Fourth, a SYN: a challenge ACK (RFC 9293 3.10.7.4 fourth, RFC 5961
     * 4.2), not the RST RFC 793 sent. In TIME-WAIT only the SYNs
     * time_wait_syn refused come here. */
    if (seg->flags & TCP_SYN) {
        drop(ifc, nb, NET_DROP_TCP_CHALLENGE_ACK);
        challenge_ack(c, now_ms);
        return;
    }
    /* Fifth: "if the ACK bit is off, drop the segment and return". */
    if (!(seg->flags & TCP_ACK)) {
        drop(ifc, nb, NET_DROP_TCP_BAD_STATE);
        return;
    }
    if (c->state == TCP_SYN_RECEIVED) {
        if (!synrcvd_ack(c, ifc, nb, seg, now_ms))
            return;
    } else if (ack_input(c, ifc, seg, now_ms) != ACK_OK) {
        nbuf_put(nb); /* dropped (counted), or the connection closed */
        return;
    }
    ts_recent_update(c, seg);
    data_input(c, ifc, nb, seg, now_ms);
    if (c->state != TCP_CLOSED)
        tcp_output(c, now_ms);
}

/* ---- arrival --------------------------------------------------------------- */

/*
 * Check the TCP header of nb (the segment: data at the header, the chain's
 * rest behind it for a large one) and parse it into seg (RFC 9293 3.1);
 * the ports into *sport and *dport. On 1, nb is pulled to the payload; on
 * 0 it was dropped (counted).
 */
static int seg_parse(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb,
                     const struct ip4_info *ip, struct tcp_seg *seg, uint16_t *sport,
                     uint16_t *dport)
{
    if (nb->len < TCP_HDR_LEN) {
        drop(ifc, nb, NET_DROP_TCP_SHORT);
        return 0;
    }
    const uint8_t *p = nb->data;
    size_t doff = (size_t)(p[12] >> 4) * 4;
    if (doff < TCP_HDR_LEN || doff > nb->len) {
        drop(ifc, nb, NET_DROP_TCP_OFFSET);
        return 0;
    }
    /* The segment: the head's bytes and, for a large segment received in
     * several device buffers, the rest of the chain (headers are in the
     * head: net_input linearizes other chains). */
    size_t tlen = nbuf_chain_len(nb);
    if (!(nb->flags & NB_CSUM_VALID)) {
        uint32_t sum = net_csum_pseudo(ip->src, ip->dst, IP4_PROTO_TCP, (uint16_t)tlen);
        if (net_csum_fold(net_csum_chain(nb, 0, tlen, sum)) != 0xffff) {
            drop(ifc, nb, NET_DROP_TCP_CHECKSUM);
            return 0;
        }
    }
    /* RFC 1122 4.2.3.10: a SYN to a broadcast or multicast address is
     * ignored; TCP has no use for any segment sent to one. */
    if (ip->ip_bcast || ip->link_bcast) {
        drop(ifc, nb, NET_DROP_TCP_BCAST);
        return 0;
    }
    tcp_opts_parse(p + TCP_HDR_LEN, doff - TCP_HDR_LEN, &seg->opt);
    st->tcp.opt_len_cut += seg->opt.cut;
    st->tcp.opt_len_bad += seg->opt.bad_len;
    *sport = net_get_be16(p);
    *dport = net_get_be16(p + 2);
    seg->seq = net_get_be32(p + 4);
    seg->ack = net_get_be32(p + 8);
    seg->flags = p[13] & 0x3f;
    seg->wnd = net_get_be16(p + 14);
    seg->len = (uint32_t)(tlen - doff);
    if (!(seg->flags & TCP_ACK))
        seg->ack = 0; /* meaningless without the ACK bit (RFC 9293 3.1) */
    nbuf_pull(nb, doff);
    return 1;
}

/* A segment arrived for c: counters, and the keepalive timer restarts (RFC
 * 1122 4.2.3.6: probes only after an idle interval). */
static void seg_arrived(struct tcp_conn *c, const struct tcp_seg *seg, uint64_t now_ms)
{
    c->stats.segs_in++;
    if (seg->len > 0)
        c->st->tcp.segs_in_by_size[tcp_size_class(c, seg->len)]++;
    c->last_rx = now_ms;
    if (c->keepalive && c->state >= TCP_ESTABLISHED) {
        c->keep_probes = 0;
        c->keep_at = now_ms + c->keep_idle;
        tcp_tq_note(c);
    }
}

void tcp_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb,
               const struct ip4_info *ip, uint64_t now_ms)
{
    struct tcp_seg seg;
    uint16_t sport, dport;

    if (!seg_parse(st, ifc, nb, ip, &seg, &sport, &dport))
        return;
    struct tcp_conn *c = lookup(st, ip->dst, dport, ip->src, sport);
    /* RFC 9293 3.10.7.1: no connection (or a closed listener): an RST. */
    if (c == NULL || (c->state == TCP_LISTEN && c->app_closed)) {
        tcp_send_rst_reply(st, ifc, ip->dst, ip->src, dport, sport, &seg, now_ms);
        drop(ifc, nb, NET_DROP_TCP_NO_PORT);
        return;
    }
    if (c->state == TCP_LISTEN) {
        c = listen_input(c, ifc, nb, ip, &seg, NULL, now_ms);
        if (c == NULL)
            return;
        /* a SYN cookie's ACK made c (SYN-RECEIVED): the segment is its ACK */
    }
    if (c->state == TCP_TIME_WAIT && (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
        time_wait_syn(c, ifc, nb, ip, &seg, now_ms))
        return;
    seg_arrived(c, &seg, now_ms);
    if (c->state == TCP_SYN_SENT)
        synsent_input(c, ifc, nb, &seg, now_ms);
    else
        sync_input(c, ifc, nb, &seg, now_ms);
    if (c->syn_cookie && c->state == TCP_SYN_RECEIVED)
        tcp_free(c); /* a cookie's connection not taken after all: keep no state */
}
