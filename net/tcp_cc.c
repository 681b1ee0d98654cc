/*
 * net/tcp_cc.c — congestion control: what ssthresh becomes after a
 * congestion event, and how cwnd grows in congestion avoidance.
 *
 * Two algorithms, chosen per connection (tcp_set_cc; default net_limits
 * tcp_cc): NewReno (RFC 5681: ssthresh = half the flight, one segment per
 * RTT) and CUBIC (RFC 9438). Slow start, fast retransmit and recovery, the
 * RTO response and limited transmit are common to both and stay in
 * tcp_input.c and tcp_timer.c, which call in here.
 *
 * CUBIC in integers, bytes and milliseconds. RFC 9438's constants:
 * C = 0.4 segments/s^3 and beta = 0.7, so after a congestion event, with
 * w the window in use (cwnd, or the flight when that is smaller: 4.6),
 *   W_max   = w (or w * (1 + beta) / 2 = 0.85 w when it is below the
 *             previous W_max: fast convergence, 4.7),
 *   ssthresh = 0.7 w,
 * and from the first ACK in congestion avoidance (the epoch) the window
 * follows W(t) = C (t - K)^3 + W_max with K = cbrt((W_max - cwnd_epoch) / C)
 * (4.2), looked ahead by one RTT; each ACK moves cwnd toward W by
 * (W - cwnd) / cwnd per byte acknowledged, at most to 1.5 cwnd (4.4). The
 * Reno-friendly estimate W_est grows by alpha = 3 (1 - beta) / (1 + beta) =
 * 9/17 segments per window (1 once it passes W_max); where W_cubic(t) is
 * below it, cwnd follows it (4.3). After a timeout the next stage's curve
 * starts at its own cwnd (K = 0, 4.8). In bytes, C (t/1000)^3 segments is
 * mss * t^3 * 4 / 10^10 (t in ms), and K in ms is cbrt((W_max - cwnd) * 2.5e9 / mss).
 */
#include "net/stack.h"
#include "net/stack_internal.h"
#include "net/tcp_internal.h"

/* |t - K| is clamped to this many ms: t^3 / 10^4 * 4 * mss stays below
 * 2^62 for any MSS up to 65535, and K itself is below it (W_max <= 1 GiB,
 * MSS >= 64 give K < 350 s). */
#define CUBIC_T_MAX 500000

/* Integer cube root (Hacker's Delight, 9-3). */
uint64_t tcp_icbrt(uint64_t x)
{
    uint64_t y = 0;
    for (int s = 63; s >= 0; s -= 3) {
        y = 2 * y;
        uint64_t b = 3 * y * (y + 1) + 1;
        if ((x >> s) >= b) {
            x -= b << s;
            y++;
        }
    }
    return y;
}

static uint32_t srtt_ms(const struct tcp_conn *c)
{
    return c->rtt_valid ? c->srtt >> 3 : 0;
}

uint32_t tcp_cc_ssthresh(struct tcp_conn *c, uint32_t flight)
{
    uint32_t mss = tcp_eff_mss(c), ss;

    if (c->st != NULL) /* (the formula tests run connections without a stack) */
        c->st->tcp.cc_cuts[c->cc == TCP_CC_CUBIC]++;
    if (c->cc == TCP_CC_CUBIC) {
        /* The window in use: cwnd may have grown while the app sent less
         * (RFC 9438 4.6), or be inflated by NewReno's recovery. */
        uint32_t w = net_min_u32(c->cwnd, flight);
        if (w < c->cc_w_max)
            c->cc_w_max = (uint32_t)((uint64_t)w * 17 / 20); /* fast convergence */
        else
            c->cc_w_max = w;
        c->cc_epoch_ms = 0; /* the next epoch starts at the next ACK */
        ss = (uint32_t)((uint64_t)w * 7 / 10);
    } else {
        ss = flight / 2;
    }
    return net_max_u32(ss, 2 * mss); /* RFC 5681 (4): at least two segments */
}

/* W_cubic at `ahead_ms` past now, in bytes. */
static uint64_t cubic_window(const struct tcp_conn *c, uint64_t now_ms, uint32_t ahead_ms)
{
    int64_t t = (int64_t)(now_ms - c->cc_epoch_ms) + ahead_ms - (int64_t)c->cc_k_ms;
    if (t > CUBIC_T_MAX)
        t = CUBIC_T_MAX;
    if (t < -CUBIC_T_MAX)
        t = -CUBIC_T_MAX;
    int64_t w = (int64_t)c->cc_origin + t * t * t / 10000 * 4 * (int64_t)tcp_eff_mss(c) / 1000000;
    return w > 0 ? (uint64_t)w : 0;
}

void tcp_cc_avoid(struct tcp_conn *c, uint32_t acked, uint64_t now_ms)
{
    uint32_t mss = tcp_eff_mss(c);

    if (c->cc != TCP_CC_CUBIC) {
        c->cwnd += net_max_u32(mss * mss / c->cwnd, 1); /* RFC 5681 (3) */
        return;
    }
    if (c->cc_epoch_ms == 0) {
        c->cc_epoch_ms = now_ms != 0 ? now_ms : 1;
        c->cc_w_est = c->cwnd;
        c->cc_acc = 0;
        c->cc_est_acc = 0;
        if (c->cc_w_max > c->cwnd) {
            c->cc_k_ms = (uint32_t)tcp_icbrt((uint64_t)(c->cc_w_max - c->cwnd) * 2500000000u / mss);
            c->cc_origin = c->cc_w_max;
        } else { /* no loss yet, or cwnd already past it: grow from here */
            c->cc_k_ms = 0;
            c->cc_origin = c->cwnd;
        }
    }
    /* Reno-friendly estimate (4.3), the remainder carried. */
    uint64_t alpha_num = c->cc_w_est >= c->cc_w_max ? 17 : 9;
    uint64_t est = alpha_num * mss * acked + c->cc_est_acc, per = 17 * (uint64_t)c->cwnd;
    c->cc_w_est += (uint32_t)(est / per);
    c->cc_est_acc = est % per;
    if (cubic_window(c, now_ms, 0) < c->cc_w_est) {
        if (c->cc_w_est > c->cwnd)
            c->cwnd = c->cc_w_est;
        return;
    }

    uint64_t target = cubic_window(c, now_ms, srtt_ms(c));
    if (target > (uint64_t)c->cwnd * 3 / 2)
        target = (uint64_t)c->cwnd * 3 / 2;
    if (target <= c->cwnd)
        return; /* on the plateau: no growth this ACK */
    /* (target - cwnd) / cwnd per byte acknowledged; the remainder carries
     * over, so many small ACKs add up as one large one would. */
    uint32_t w = c->cwnd;
    uint64_t inc = (target - w) * acked + c->cc_acc;
    c->cwnd = w + (uint32_t)(inc / w);
    c->cc_acc = (uint32_t)(inc % w);
}

void tcp_cc_rto(struct tcp_conn *c)
{
    /* RFC 9438 4.8: the avoidance stage after a timeout starts its curve
     * at the cwnd it begins with (K = 0), not at the old W_max. */
    c->cc_epoch_ms = 0;
    c->cc_w_max = 0;
}
