/*
 * net_test_tcp_cc.c - congestion control (net/tcp_cc.c): NewReno's and
 * CUBIC's response to a congestion event, CUBIC's window curve against
 * RFC 9438's formula, and the integer cube root under it. Whole transfers
 * with CUBIC over the faulty link are in net_test_tcp_sim.c.
 *
 * These call tcp_cc.c's functions on a bare struct tcp_conn and read its
 * cwnd, ssthresh and CUBIC state: what is under test has no public view
 * (the transfers judge CUBIC by their outcome).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp.h"
#include "net/tcp_internal.h"
#include "net_test.h"

#define MSS 1000u

TEST(net_tcp_icbrt_is_the_floor_of_the_cube_root)
{
    for (uint64_t y = 0; y < 3000; y++) {
        uint64_t c = y * y * y;
        CHECK_UINT_EQ(tcp_icbrt(c), y);
        if (c > 0)
            CHECK_UINT_EQ(tcp_icbrt(c - 1), y - 1);
        CHECK_UINT_EQ(tcp_icbrt(c + 1), y == 0 ? 1 : y);
    }
    CHECK_UINT_EQ(tcp_icbrt(UINT64_MAX), 2642245); /* 2642245^3 < 2^64 <= 2642246^3 */
    CHECK_UINT_EQ(tcp_icbrt(2642245ull * 2642245 * 2642245), 2642245);
}

static struct tcp_conn *cc_conn(unsigned cc, uint32_t cwnd_segs)
{
    struct tcp_conn *c = calloc(1, sizeof(*c));
    c->mss = MSS;
    c->cwnd = cwnd_segs * MSS;
    c->ssthresh = 0x7fffffff;
    c->rtt_valid = 1;
    c->srtt = 100 << 3; /* 100 ms */
    CHECK_INT_EQ(tcp_set_cc(c, cc), 0);
    return c;
}

TEST(net_tcp_cc_unknown_algorithm_refused)
{
    struct tcp_conn *c = cc_conn(TCP_CC_RENO, 10);
    CHECK_INT_EQ(tcp_set_cc(c, 7), -EINVAL);
    CHECK_UINT_EQ(c->cc, TCP_CC_RENO);
    free(c);
}

TEST(net_tcp_reno_halves_the_flight_and_adds_a_segment_per_window)
{
    struct tcp_conn *c = cc_conn(TCP_CC_RENO, 40);
    CHECK_UINT_EQ(tcp_cc_ssthresh(c, 30 * MSS), 15 * MSS);
    CHECK_UINT_EQ(tcp_cc_ssthresh(c, 3 * MSS), 2 * MSS); /* never below two segments */
    c->cwnd = c->ssthresh = 20 * MSS;
    for (int i = 0; i < 20; i++) /* one window of ACKs */
        tcp_cc_avoid(c, MSS, 1000);
    CHECK(c->cwnd >= 21 * MSS - MSS / 10 && c->cwnd <= 21 * MSS);
    free(c);
}

TEST(net_tcp_cubic_reduces_to_seven_tenths_with_fast_convergence)
{
    struct tcp_conn *c = cc_conn(TCP_CC_CUBIC, 100);
    CHECK_UINT_EQ(tcp_cc_ssthresh(c, 100 * MSS), 70 * MSS);
    CHECK_UINT_EQ(c->cc_w_max, 100 * MSS);
    c->cwnd = 80 * MSS; /* the next loss comes below the last W_max: */
    CHECK_UINT_EQ(tcp_cc_ssthresh(c, 80 * MSS), 56 * MSS);
    CHECK_UINT_EQ(c->cc_w_max, 68 * MSS); /* 80 * (1 + 0.7) / 2: make room for others */
    c->cwnd = 2 * MSS;
    CHECK_UINT_EQ(tcp_cc_ssthresh(c, 2 * MSS), 2 * MSS);
    free(c);
}

/* CUBIC after a loss at W_max = 100 segments, ACKs clocked by a 100 ms RTT:
 * the window follows W(t) = 0.4 (t - K)^3 + W_max (segments, seconds) with
 * K = cbrt(30 / 0.4) = 4.22 s, looked ahead by one RTT: concave up to the
 * plateau, flat around it, convex past it. */
TEST(net_tcp_cubic_window_follows_the_curve)
{
    struct tcp_conn *c = cc_conn(TCP_CC_CUBIC, 100);
    c->ssthresh = tcp_cc_ssthresh(c, 100 * MSS);
    c->cwnd = c->ssthresh;
    const double k = cbrt(30 / 0.4), rtt = 0.1;
    double cw[120];
    uint64_t t0 = 50000;
    for (int r = 0; r < 120; r++) { /* one RTT a step: cwnd bytes acknowledged */
        uint64_t now = t0 + (uint64_t)r * 100;
        uint32_t n = c->cwnd / MSS;
        for (uint32_t i = 0; i < n; i++)
            tcp_cc_avoid(c, MSS, now);
        cw[r] = (double)c->cwnd / MSS;
        double t = r * rtt + rtt; /* the window reached after this RTT's ACKs */
        double want = 0.4 * pow(t - k, 3) + 100;
        if (want < 70)
            want = 70;
        /* The Reno-friendly estimate: 9/17 segment an RTT up to W_max,
         * then one; where it is ahead, cwnd follows it. */
        double est = 70 + 9.0 / 17 * (r + 1);
        if (est > 100)
            est = 100 + (est - 100) * 17 / 9;
        if (est > want)
            want = est;
        /* Within two segments or 3% of the formula: cwnd chases a target
         * that moves while a window of ACKs comes back. */
        CHECK_AT(__FILE__, __LINE__, fabs(cw[r] - want) <= (want > 83 ? want * 0.03 : 2.5),
                 "rtt %d: cwnd %.1f segments, formula %.1f", r, cw[r], want);
        CHECK(cw[r] <= 1.5 * (r == 0 ? 70 : cw[r - 1]) + 0.01);
    }
    CHECK(cw[10] - cw[0] > cw[40] - cw[30]); /* concave: slows toward the plateau */
    CHECK(fabs(cw[42] - 100) <= 2);         /* at K: back at W_max */
    CHECK(cw[119] - cw[109] > cw[60] - cw[50]); /* convex: speeds up past it */
    CHECK(cw[119] > 130);
    free(c);
}

/* With a 1 ms RTT the cubic curve barely moves in 0.2 s (W(0.2 s) is 15
 * segments), so cwnd follows the Reno-friendly estimate (RFC 9438 4.3):
 * 9/17 segment per RTT up to W_max = 20, then one, as Reno itself:
 * 14 + 6 (in 11.3 RTTs) + 188.7, about 208 segments. */
TEST(net_tcp_cubic_follows_reno_where_reno_is_faster)
{
    struct tcp_conn *cu = cc_conn(TCP_CC_CUBIC, 20), *re = cc_conn(TCP_CC_RENO, 20);
    cu->srtt = 1 << 3;
    cu->ssthresh = tcp_cc_ssthresh(cu, 20 * MSS);
    cu->cwnd = cu->ssthresh;
    re->cwnd = 14 * MSS; /* the same start */
    for (int r = 0; r < 200; r++) {
        uint64_t now = 1000 + (uint64_t)r;
        for (uint32_t i = 0, n = cu->cwnd / MSS; i < n; i++)
            tcp_cc_avoid(cu, MSS, now);
        for (uint32_t i = 0, n = re->cwnd / MSS; i < n; i++)
            tcp_cc_avoid(re, MSS, now);
    }
    /* NewReno's own per-ACK step rounds down (MSS^2 / cwnd bytes), so it
     * ends a little lower than its ideal 214. */
    CHECK_AT(__FILE__, __LINE__, cu->cwnd >= 205 * MSS && cu->cwnd <= 211 * MSS &&
                                     cu->cwnd + 8 * MSS >= re->cwnd && re->cwnd >= 180 * MSS,
             "cubic %u, reno %u segments", cu->cwnd / MSS, re->cwnd / MSS);
    free(cu);
    free(re);
}

/* RFC 9438 4.6: the reduction is taken from the window really in use, not
 * from a cwnd that grew while the app sent less (or that NewReno-style
 * recovery inflated). */
TEST(net_tcp_cubic_reduces_the_window_in_use)
{
    struct tcp_conn *c = cc_conn(TCP_CC_CUBIC, 100);
    CHECK_UINT_EQ(tcp_cc_ssthresh(c, 40 * MSS), 28 * MSS);
    CHECK_UINT_EQ(c->cc_w_max, 40 * MSS);
    free(c);
}

/* After a timeout the avoidance stage starts its own curve: K = 0 and the
 * plateau at the cwnd it begins with (4.8). */
TEST(net_tcp_cubic_after_a_timeout_starts_a_fresh_curve)
{
    struct tcp_conn *c = cc_conn(TCP_CC_CUBIC, 100);
    c->ssthresh = tcp_cc_ssthresh(c, 100 * MSS);
    tcp_cc_rto(c);
    c->cwnd = c->ssthresh; /* slow start got back to ssthresh */
    tcp_cc_avoid(c, MSS, 5000);
    CHECK_UINT_EQ(c->cc_k_ms, 0);
    CHECK_UINT_EQ(c->cc_origin, 70 * MSS);
    free(c);
}

/* At large windows the estimate's per-ACK growth is under a byte: the
 * remainder carries, so a window of ACKs still adds 9/17 of a segment. */
TEST(net_tcp_cubic_estimate_grows_on_large_windows)
{
    struct tcp_conn *c = cc_conn(TCP_CC_CUBIC, 2000);
    c->mss = 1460;
    c->cwnd = 2000 * 1460;
    c->cc_w_max = 4000 * 1460;
    c->srtt = 1 << 3;
    tcp_cc_avoid(c, 1460, 1000);
    uint32_t before = c->cc_w_est;
    for (int i = 0; i < 2000; i++)
        tcp_cc_avoid(c, 1460, 1000);
    uint32_t grew = c->cc_w_est - before;
    CHECK_AT(__FILE__, __LINE__, grew >= 1460 * 9 / 17 - 2 && grew <= 1460 * 9 / 17 + 2,
             "estimate grew %u bytes in a window", grew);
    free(c);
}
