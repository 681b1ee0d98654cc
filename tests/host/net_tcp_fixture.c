/*
 * net_tcp_fixture.c - a TCP connection built directly in a chosen state.
 * See net_tcp_fixture.h.
 *
 * Each step sets what the stack's own code would have set on the way: the
 * open (tcp_connect, passive_conn), the SYN's options (apply_syn_options),
 * the SYN or SYN-ACK sent (tcp_send_syn), the handshake's ACK (sync_input,
 * established), and for the closing states each FIN and ACK exchanged
 * (tcp_output, ack_input, fin_input). Where those functions change, this
 * file follows; net_tcp_fixture_answers_as_a_handshake_does
 * (net_test_tcp_state.c) fails when it has not.
 */
#include "net_tcp_fixture.h"

#include "net/ipv4.h"
#include "net/stack.h"
#include "net/tcp_internal.h"
#include "net_test.h"

/* What an open sets: the 4-tuple, our ISS, the timestamp clock, the
 * parameters (a listener's, for a passive open), hashed. */
static void fx_open(struct tcp_conn *c, const struct tcp_fixture *fx, uint64_t now)
{
    struct net_stack *st = c->st;
    const struct tcp_conn *l = fx->listener;
    uint32_t next_hop;

    c->rip = fx->rip != 0 ? fx->rip : PEER_IP;
    c->ifc = ip4_route(st, c->rip, &next_hop);
    c->lip = c->ifc != NULL ? c->ifc->ip : 0;
    c->lport = fx->lport;
    c->rport = fx->rport;
    if (l != NULL && fx->state != TCP_SYN_SENT) {
        c->passive = 1;
        c->sndbuf = l->sndbuf;
        c->rcvbuf = l->rcvbuf;
        c->cc = l->cc;
        for (unsigned k = 0; k < TCP_LIMITS; k++)
            c->limit_ms[k] = l->limit_ms[k];
        c->keep_idle = l->keep_idle;
        c->keep_intvl = l->keep_intvl;
        c->keep_count = l->keep_count;
        c->keepalive = l->keepalive;
        c->nodelay = l->nodelay;
    }
    tcp_pick_wscale(c);
    tcp_init_conn_params(c);
    c->iss = fx->iss;
    c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
    c->ts_offset = fx->own_ts_clock ? fx->ts_clock - (uint32_t)now
                                    : tcp_ts_offset(st, c->lip, c->lport, c->rip, c->rport);
    tcp_table_hash(c);
    c->last_rx = now;
    st->tcp.conns_opened++;
}

/* The peer's SYN: its options (as apply_syn_options takes them), its ISN,
 * its window (a SYN's is never scaled). */
static void fx_syn_in(struct tcp_conn *c, const struct tcp_fixture *fx)
{
    uint16_t peer = fx->peer_mss != 0 ? fx->peer_mss : TCP_DEFAULT_MSS;

    if (peer < 88)
        peer = 88;
    if (peer < c->mss)
        c->mss = peer;
    c->ws_ok = fx->ws;
    c->snd_wscale = fx->ws ? fx->peer_wscale : 0;
    if (!fx->ws)
        c->rcv_wscale = 0;
    c->ts_ok = fx->ts;
    c->ts_recent = fx->ts ? fx->ts_recent : 0;
    c->sack_ok = fx->sack;
    uint32_t mss = tcp_eff_mss(c), two = 2 * mss > 4380 ? 2 * mss : 4380;
    c->cwnd = 4 * mss < two ? 4 * mss : two; /* RFC 3390 */
    c->ssthresh = 0x7fffffff;
    c->irs = fx->irs;
    c->rcv_nxt = c->rcv_adv = fx->irs + 1;
    c->snd_wnd = c->max_snd_wnd = fx->peer_wnd != 0 ? fx->peer_wnd : 65535;
    c->snd_wl1 = fx->irs;
}

/* Our SYN or SYN-ACK went out (tcp_send_syn), its RTT timed. */
static void fx_syn_out(struct tcp_conn *c, int synack, uint64_t now)
{
    c->rtt_start = now;
    c->snd_nxt = c->snd_max = c->iss + 1;
    if (synack) { /* its window is never scaled */
        uint32_t w = tcp_rcv_window(c);
        c->rcv_adv = c->rcv_nxt + (w > 65535 ? 65535 : w);
        c->last_ack_sent = c->rcv_nxt;
    }
    c->rto_at = now + c->rto;
    tcp_tq_note(c); /* armed as the stack arms it */
}

/* A segment carrying an ACK went out: what it advertised (xmit). */
static void fx_ack_out(struct tcp_conn *c)
{
    uint32_t w = tcp_rcv_window(c), max = (uint32_t)65535 << c->rcv_wscale;

    if (seq_gt(c->rcv_adv, c->rcv_nxt) && c->rcv_adv - c->rcv_nxt > w)
        w = c->rcv_adv - c->rcv_nxt;
    w = w < max ? w : max;
    c->rcv_adv = c->rcv_nxt + ((w >> c->rcv_wscale) << c->rcv_wscale);
    c->last_ack_sent = c->rcv_nxt;
}

/* The peer's ACK of the SYN-ACK: ESTABLISHED (sync_input, established). */
static void fx_established(struct tcp_conn *c, const struct tcp_fixture *fx, uint64_t now)
{
    if (fx->rtt_ms >= 0)
        tcp_rtt_sample(c, (uint32_t)fx->rtt_ms);
    c->snd_una = c->iss + 1;
    c->snd_wnd = c->max_snd_wnd = (fx->peer_wnd != 0 ? fx->peer_wnd : 65535) << c->snd_wscale;
    c->snd_wl1 = c->irs + 1;
    c->snd_wl2 = c->iss + 1;
    c->rto_at = TCP_NO_TIMER;
    if (c->keepalive)
        c->keep_at = now + c->keep_idle;
    tcp_tq_note(c);
}

/* Our FIN went out after everything (tcp_shutdown, tcp_output). */
static void fx_fin_out(struct tcp_conn *c, uint64_t now)
{
    c->shut_wr = 1;
    c->fin_sent = 1;
    c->snd_nxt = c->snd_max = c->iss + 2;
    fx_ack_out(c);
    c->rto_at = now + c->rto;
    tcp_tq_note(c); /* armed as the stack arms it */
}

/* The peer acknowledged our FIN (ack_input). */
static void fx_fin_acked(struct tcp_conn *c)
{
    c->snd_una = c->iss + 2;
    c->snd_wl2 = c->iss + 2;
    c->rto_at = TCP_NO_TIMER;
}

/* The peer's FIN (seq irs + 1) came and was acknowledged (fin_input). */
static void fx_fin_in(struct tcp_conn *c)
{
    c->rcv_nxt = c->irs + 2;
    c->fin_rcvd = 1;
    fx_ack_out(c);
}

/* From ESTABLISHED to the closing state asked for: the FINs each way. */
static void fx_close(struct tcp_conn *c, enum tcp_state s, uint64_t now)
{
    int ours = s == TCP_FIN_WAIT_1 || s == TCP_FIN_WAIT_2 || s == TCP_CLOSING ||
               s == TCP_LAST_ACK || s == TCP_TIME_WAIT;
    int theirs = s == TCP_CLOSE_WAIT || s == TCP_CLOSING || s == TCP_LAST_ACK || s == TCP_TIME_WAIT;

    if (theirs && s == TCP_LAST_ACK) /* theirs first, then ours */
        fx_fin_in(c);
    if (ours)
        fx_fin_out(c, now);
    if (s == TCP_FIN_WAIT_2 || s == TCP_TIME_WAIT)
        fx_fin_acked(c);
    if (theirs && s != TCP_LAST_ACK)
        fx_fin_in(c);
}

struct tcp_conn *nt_tcp_conn_in_state(struct fake_host *h, const struct tcp_fixture *fx)
{
    struct net_stack *st = &h->st;
    enum tcp_state s = fx->state;

    CHECK(s >= TCP_SYN_SENT && s <= TCP_TIME_WAIT);
    CHECK(fx->lport != 0 && fx->rport != 0);
    CHECK(fx->listener == NULL || tcp_get_state(fx->listener) == TCP_LISTEN);
    struct tcp_conn *c = tcp_table_reserve(st) == 0 ? tcp_conn_new(st) : NULL;
    CHECK(c != NULL);
    if (c == NULL)
        return NULL;
    fx_open(c, fx, h->now);
    if (s == TCP_SYN_SENT) {
        tcp_set_state(c, TCP_SYN_SENT);
        fx_syn_out(c, 0, h->now);
        return c;
    }
    fx_syn_in(c, fx);
    if (s == TCP_SYN_RECEIVED) {
        tcp_set_state(c, TCP_SYN_RECEIVED);
        fx_syn_out(c, 1, h->now);
        if (fx->listener != NULL) { /* passive_open: a half-open entry */
            c->parent = fx->listener;
            c->in_syn_cache = 1;
            st->tcp.half_open++;
        }
        return c;
    }
    fx_syn_out(c, 1, h->now);
    fx_established(c, fx, h->now);
    fx_close(c, s, h->now);
    if (s == TCP_TIME_WAIT)
        tcp_time_wait_start(c, h->now);
    else
        tcp_set_state(c, s);
    return c;
}
