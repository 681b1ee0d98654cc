/*
 * net/tcp_timer.c - per-connection timers: retransmission (RFC 6298, with
 * exponential backoff), delayed ACK, persist (zero-window probes),
 * keepalive, TIME-WAIT, stall limits (enum tcp_limit); and the RTT
 * estimator.
 *
 * Call order: net_tick -> tcp_tick (tcp.c) -> tcp_conn_tick.
 */
#include <errno.h>

#include "net/stack.h"
#include "net/stack_internal.h"
#include "net/tcp_internal.h"

/*
 * An RTT sample (ms) into RFC 6298 2's estimator, in fixed point (srtt
 * holds SRTT << 3, rttvar RTTVAR << 2). The first sample: SRTT = R, RTTVAR
 * = R / 2 (2.2). Later ones (2.3): RTTVAR += (|SRTT - R| - RTTVAR) / 4,
 * SRTT += (R - SRTT) / 8. RTO = SRTT + max(G, 4 RTTVAR), G the 1 ms clock,
 * within [TCP_RTO_MIN, TCP_RTO_MAX]: 200 ms at least where RFC 6298 2.4
 * asks 1 s (a SHOULD; stacks in use take 200 ms, and a spurious timeout
 * costs less than a second of stall on a LAN), 60 s at most (2.5).
 */
void tcp_rtt_sample(struct tcp_conn *c, uint32_t rtt)
{
    if (rtt > TCP_RTO_MAX)
        rtt = TCP_RTO_MAX;
    if (!c->rtt_valid) {
        c->rtt_valid = 1;
        c->srtt = rtt << 3;
        c->rttvar = rtt << 1;
    } else {
        int32_t delta = (int32_t)rtt - (int32_t)(c->srtt >> 3);
        uint32_t adelta = (uint32_t)(delta < 0 ? -delta : delta);
        c->srtt = (uint32_t)((int32_t)c->srtt + delta);
        c->rttvar = c->rttvar + adelta - (c->rttvar >> 2);
    }
    uint32_t rto = (c->srtt >> 3) + net_max_u32(c->rttvar, 1);
    c->rto = net_min_u32(net_max_u32(rto, TCP_RTO_MIN), TCP_RTO_MAX);
}

/* A zero-window probe (RFC 9293 3.8.6.1): an empty segment at snd_una - 1,
 * below the peer's window, which it must answer with an ACK that carries
 * its window; the next one waits twice as long (RFC 1122 4.2.2.17). */
static void persist_probe(struct tcp_conn *c, uint64_t now_ms)
{
    c->stats.zero_window_probes++;
    tcp_send_probe(c, now_ms);
    if (c->persist_backoff < 16)
        c->persist_backoff++;
}

/* Our SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) went unanswered: send it
 * again with the timer backed off, until tcp_syn_retries (the give-up
 * threshold R2 of RFC 9293 3.8.3, counted in retransmissions). */
static void syn_timeout(struct tcp_conn *c, uint64_t now_ms)
{
    struct net_stack *st = c->st;

    if (++c->syn_tries > st->lim.tcp_syn_retries) {
        if (c->passive)
            tcp_mark_app_closed(c); /* never accepted: nobody holds it */
        st->tcp.conns_timed_out++;
        tcp_terminate(c, -ETIMEDOUT);
        return;
    }
    c->backoff++;
    c->stats.retransmits++;
    tcp_send_syn(c, now_ms);
}

/*
 * Data (or our FIN) went unacknowledged for an RTO. RFC 6298 5.4-5.6:
 * resend from snd_una (go back N: tcp_output resends what the window
 * allows), the timer backed off. RFC 5681 3.1: cwnd to the loss window of
 * one segment, ssthresh from the flight (eq. 4) on the first expiry only,
 * not again for the retransmissions that time out after it. RFC 6582 3.2:
 * recovery ends, recover = snd_max so that duplicate ACKs of the old
 * window start none. RFC 2018 8: the SACK scoreboard is forgotten, the
 * receiver may have reneged.
 */
static void data_timeout(struct tcp_conn *c, uint64_t now_ms)
{
    struct net_stack *st = c->st;

    if (c->snd_wnd == 0) {
        /* The peer closed its window with data in flight: probe it like
         * the persist timer does, without giving up while it answers
         * (RFC 9293 3.8.6.1). */
        c->snd_nxt = c->snd_una;
        persist_probe(c, now_ms);
        c->rto_at = now_ms + tcp_backoff_ms(c->rto, c->persist_backoff);
        tcp_tq_note(c);
        return;
    }
    /* R2 (RFC 9293 3.8.3): past tcp_max_retries the connection is given
     * up, with an RST in case the peer is still there. */
    if (++c->backoff > st->lim.tcp_max_retries) {
        tcp_send_rst_conn(c, now_ms);
        st->tcp.conns_timed_out++;
        tcp_terminate(c, -ETIMEDOUT);
        return;
    }
    uint32_t mss = tcp_eff_mss(c), flight = c->snd_max - c->snd_una;
    if (c->backoff == 1)
        c->ssthresh = tcp_cc_ssthresh(c, flight);
    tcp_cc_rto(c);
    c->cwnd = mss;
    c->snd_nxt = c->snd_una;
    c->in_recovery = 0;
    c->recover = c->snd_max;
    c->dupacks = 0;
    c->nsb = 0;
    c->rtt_timing = 0; /* Karn (RFC 6298 3) */
    tcp_output(c, now_ms);
}

static void rto_expired(struct tcp_conn *c, uint64_t now_ms)
{
    c->rto_at = TCP_NO_TIMER;
    if (c->snd_max == c->snd_una && c->state != TCP_SYN_SENT && c->state != TCP_SYN_RECEIVED) {
        tcp_output(c, now_ms); /* nothing in flight: a send that found no memory */
        return;
    }
    c->stats.rto_timeouts++;
    if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED)
        syn_timeout(c, now_ms);
    else
        data_timeout(c, now_ms);
}

/* stall_at: the earliest deadline of the stalls that have a limit. */
static void stall_rearm(struct tcp_conn *c)
{
    c->stall_at = TCP_NO_TIMER;
    for (unsigned k = 0; k < TCP_LIMITS; k++) {
        if (c->stall_since[k] == TCP_NO_TIMER || c->limit_ms[k] == 0)
            continue;
        uint64_t t = c->stall_since[k] + c->limit_ms[k];
        if (t < c->stall_at)
            c->stall_at = t;
    }
    tcp_tq_note(c);
}

void tcp_stall_update(struct tcp_conn *c, unsigned which, int stalled, uint64_t now_ms)
{
    if (stalled == (c->stall_since[which] != TCP_NO_TIMER))
        return; /* the clock keeps running, or stays off */
    c->stall_since[which] = stalled ? now_ms : TCP_NO_TIMER;
    stall_rearm(c);
}

void tcp_stall_clear(struct tcp_conn *c)
{
    for (unsigned k = 0; k < TCP_LIMITS; k++)
        c->stall_since[k] = TCP_NO_TIMER;
    c->stall_at = TCP_NO_TIMER;
}

int tcp_set_limit(struct tcp_conn *c, unsigned which, uint32_t ms)
{
    if (which >= TCP_LIMITS)
        return -EINVAL;
    c->limit_ms[which] = ms;
    stall_rearm(c);
    return 0;
}

/* A stall outlasted its limit: the peer holds the connection's memory
 * without letting it progress. Abort (RFC 9293 3.8.6.1 leaves a zero
 * window's fate to resource management): RST, -ETIMEDOUT. */
static void stall_expired(struct tcp_conn *c, uint64_t now_ms)
{
    unsigned which = 0;

    for (unsigned k = 0; k < TCP_LIMITS; k++)
        if (c->stall_since[k] != TCP_NO_TIMER && c->limit_ms[k] != 0 &&
            c->stall_since[k] + c->limit_ms[k] <= now_ms)
            which = k;
    c->st->tcp.limit_aborts[which]++;
    tcp_send_rst_conn(c, now_ms);
    tcp_terminate(c, -ETIMEDOUT);
}

/*
 * Keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6): off by default; after
 * keep_idle of silence a probe (like a window probe, an empty segment at
 * snd_una - 1 the peer must answer), then one every keep_intvl; after
 * keep_count unanswered probes the connection is reset. Any segment
 * received restarts the idle time (tcp_input.c seg_arrived). Only while
 * the connection may idle: ESTABLISHED or CLOSE-WAIT.
 */
static void keepalive_expired(struct tcp_conn *c, uint64_t now_ms)
{
    if (!c->keepalive || (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
        return;
    if (c->keep_probes >= c->keep_count) {
        tcp_send_rst_conn(c, now_ms);
        c->st->tcp.conns_timed_out++;
        c->st->tcp.keepalive_timeouts++;
        tcp_terminate(c, -ETIMEDOUT);
        return;
    }
    c->keep_probes++;
    c->stats.keepalive_probes++;
    c->st->tcp.keepalive_probes++;
    tcp_send_probe(c, now_ms);
    c->keep_at = now_ms + c->keep_intvl;
    tcp_tq_note(c);
}

void tcp_conn_tick(struct tcp_conn *c, uint64_t now_ms)
{
    /* 2 MSL in TIME-WAIT are over (RFC 9293 3.6.1): the connection ends. */
    if (c->tw_at <= now_ms) {
        c->tw_at = TCP_NO_TIMER;
        tcp_terminate(c, 0);
        return;
    }
    if (c->stall_at <= now_ms) {
        stall_expired(c, now_ms);
        return;
    }
    if (c->rto_at <= now_ms) {
        rto_expired(c, now_ms);
        if (c->state == TCP_CLOSED)
            return;
    }
    /* The delayed ACK is due (RFC 9293 3.8.6.3: within 0.5 s; ours after
     * TCP_DELACK_MS, see ack_policy in tcp_input.c). */
    if (c->delack_at <= now_ms) {
        c->delack_at = TCP_NO_TIMER;
        tcp_send_ack(c, now_ms);
    }
    /* Persist (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17): the peer's window is
     * shut with data queued and nothing in flight; a probe asks for its
     * window, whose ACK would otherwise never come if a window update was
     * lost. tcp_output then sends if it opened, or re-arms the timer. */
    if (c->persist_at <= now_ms) {
        c->persist_at = TCP_NO_TIMER;
        if (c->snd_wnd == 0 && c->sndq_len > 0 && c->snd_max == c->snd_una)
            persist_probe(c, now_ms);
        tcp_output(c, now_ms);
    }
    if (c->keep_at <= now_ms) {
        c->keep_at = TCP_NO_TIMER;
        keepalive_expired(c, now_ms);
    }
}

uint64_t tcp_conn_deadline(const struct tcp_conn *c)
{
    if (c->state == TCP_CLOSED || c->state == TCP_LISTEN)
        return TCP_NO_TIMER;
    return net_min_u64(
        net_min_u64(net_min_u64(c->rto_at, c->delack_at), net_min_u64(c->persist_at, c->keep_at)),
        net_min_u64(c->tw_at, c->stall_at));
}
