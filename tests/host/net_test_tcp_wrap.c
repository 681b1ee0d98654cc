/*
 * net_test_tcp_wrap.c - sequence numbers and timestamps that cross 2^32
 * (RFC 9293 3.4: all sequence arithmetic is modulo 2^32; RFC 7323 5.2:
 * timestamps too). The peer's numbers cross through a handshake with its
 * ISN near 2^32; ours, which a handshake picks by a keyed hash, cross on a
 * connection built with its ISS near 2^32 (net_tcp_fixture.c). Each test
 * fails where a comparison is made with < on the raw numbers instead of
 * the stack's seq_lt and its kin.
 */
#include <stdlib.h>
#include <string.h>

#include "net/tcp.h"
#include "net_tcp_script.h"
#include "net_test.h"

/* Reads everything queued: it must be the peer's bytes from seq on.
 * Returns the bytes read. */
static size_t read_peer_bytes(struct tc *t, uint32_t seq)
{
    static uint8_t buf[8192];
    size_t total = 0;
    unsigned bad = 0;
    long n;

    while ((n = tcp_recv_copy(t->c, buf, sizeof(buf), t->h.now)) > 0) {
        for (long i = 0; i < n; i++)
            bad += buf[i] != tc_pattern(seq + (uint32_t)(total + (size_t)i));
        total += (size_t)n;
    }
    CHECK_UINT_EQ(bad, 0);
    return total;
}

/* A data segment of len bytes from the peer at seq (not its next). */
static void peer_data_at(struct tc *t, uint32_t seq, size_t len)
{
    tc_in(t, (struct sg){.flags = F_ACK | F_PSH,
                         .seq = seq,
                         .ack = t->iss + 1,
                         .wnd = 65535,
                         .ws = -1,
                         .len = len});
}

/* ---- the peer's sequence numbers ----------------------------------------------- */

/* Its SYN at 2^32 - 2, its first byte at 2^32 - 1: in-order data across
 * 2^32 is taken, acknowledged with wrapped numbers and read back intact. */
TEST(net_tcp_wrap_peer_handshake_and_data_in_order)
{
    struct tc t;
    struct so o;

    tc_open_at(&t, 0, 0, -1, 1460, 0xfffffffeu, 0);
    TC_REQUIRE_CONN(&t);
    CHECK_UINT_EQ(t.pseq, 0xffffffffu);
    tc_peer_data(&t, 1000); /* [2^32 - 1, 999) */
    CHECK_UINT_EQ(tcp_readable(t.c), 1000);
    tc_peer_data(&t, 1000); /* the second segment: ACKed at once */
    CHECK(tc_out(&t, &o) && o.flags == F_ACK);
    CHECK_UINT_EQ(o.ack, 1999);
    tc_peer_data(&t, 1000);
    tc_adv(&t, 40);
    CHECK(tc_out(&t, &o) && o.ack == 2999);
    CHECK_UINT_EQ(read_peer_bytes(&t, 0xffffffffu), 3000);
    CHECK_UINT_EQ(tcp_stats(t.c)->bytes_in, 3000);
    CHECK_UINT_EQ(net_iface_total_drops(&t.h.dev.ifc), 0);
    tc_done(&t);
}

/* Out-of-order data around 2^32, the SACK blocks we send for it (RFC 2018
 * 4: the block holding the newest segment first): a block after 2^32, one
 * ending at it, the two joined by a segment after it (a block straddling
 * 2^32, reported first), then one segment over both holes (one block). The
 * hole before them filled, every byte is delivered in order. */
TEST(net_tcp_wrap_peer_out_of_order_and_sack_blocks_across_2_32)
{
    struct tc t;
    struct so o;
    const uint32_t base = 0xfffff000u; /* rcv_nxt: 4096 before 2^32 */

    tc_open_at(&t, 0, 1, -1, 1460, base - 1, 0);
    TC_REQUIRE_CONN(&t);
    peer_data_at(&t, 2048, 1024); /* [2048, 3072) */
    CHECK(tc_out(&t, &o) && o.ack == base && o.nsack == 1);
    CHECK(o.sack[0][0] == 2048 && o.sack[0][1] == 3072);
    peer_data_at(&t, 0xfffffc00u, 1024); /* [2^32 - 1024, 2^32) */
    CHECK(tc_out(&t, &o) && o.ack == base && o.nsack == 2);
    CHECK(o.sack[0][0] == 0xfffffc00u && o.sack[0][1] == 0);
    CHECK(o.sack[1][0] == 2048 && o.sack[1][1] == 3072);
    peer_data_at(&t, 0, 1024); /* [0, 1024): joins the last one */
    CHECK(tc_out(&t, &o) && o.ack == base && o.nsack == 2);
    CHECK(o.sack[0][0] == 0xfffffc00u && o.sack[0][1] == 1024);
    CHECK(o.sack[1][0] == 2048 && o.sack[1][1] == 3072);
    peer_data_at(&t, 512, 2048); /* [512, 2560): overlaps both, one block */
    CHECK(tc_out(&t, &o) && o.nsack == 1);
    CHECK(o.sack[0][0] == 0xfffffc00u && o.sack[0][1] == 3072);
    CHECK_UINT_EQ(tcp_readable(t.c), 0);
    for (uint32_t s = base; s != 0xfffffc00u; s += 1024) /* the hole */
        peer_data_at(&t, s, 1024);
    struct so last = {0};
    while (tc_out(&t, &o))
        last = o;
    CHECK_UINT_EQ(last.ack, 3072);
    CHECK_UINT_EQ(last.nsack, 0);
    CHECK_UINT_EQ(read_peer_bytes(&t, base), 3072 + 4096);
    CHECK_UINT_EQ(tcp_stats(t.c)->ooo_segments, 4);
    tc_done(&t);
}

/* Data past 2^32 waits while a hole before 2^32 is open: filling up to
 * 2^32 - 1024 delivers that and no more; the last 1024 bytes before 2^32
 * deliver the rest. */
TEST(net_tcp_wrap_peer_data_past_2_32_waits_for_the_hole_before_it)
{
    struct tc t;
    struct so o;
    const uint32_t base = 0xfffff000u;

    tc_open_at(&t, 0, 1, -1, 1460, base - 1, 0);
    TC_REQUIRE_CONN(&t);
    peer_data_at(&t, 0, 1000); /* [0, 1000) */
    for (uint32_t s = base; s != 0xfffffc00u; s += 1024)
        peer_data_at(&t, s, 1024);
    struct so last = {0};
    while (tc_out(&t, &o))
        last = o;
    CHECK_UINT_EQ(last.ack, 0xfffffc00u);
    CHECK(last.nsack == 1 && last.sack[0][0] == 0 && last.sack[0][1] == 1000);
    CHECK_UINT_EQ(read_peer_bytes(&t, base), 3072);
    peer_data_at(&t, 0xfffffc00u, 1024);
    CHECK(tc_out(&t, &o) && o.ack == 1000 && o.nsack == 0);
    CHECK_UINT_EQ(read_peer_bytes(&t, 0xfffffc00u), 2024);
    tc_done(&t);
}

/* RFC 5961 3.2 around 2^32: an RST inside the window but not at rcv_nxt
 * (2^32 - 1) gets a challenge ACK, one far outside is dropped, the exact
 * one resets. */
TEST(net_tcp_wrap_peer_rst_checks_across_2_32)
{
    struct tc t;
    struct so o;

    tc_open_at(&t, 0, 0, -1, 1460, 0xfffffffeu, 0);
    TC_REQUIRE_CONN(&t);
    tc_in(&t, (struct sg){.flags = F_RST, .seq = 100, .ws = -1});
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == 0xffffffffu);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_CHALLENGE_ACK), 1);
    tc_in(&t, (struct sg){.flags = F_RST, .seq = 0x7fff0000u, .ws = -1});
    CHECK_UINT_EQ(DROPS(&t.h, TCP_OUT_OF_WINDOW), 1);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    tc_in(&t, (struct sg){.flags = F_RST, .seq = 0xffffffffu, .ws = -1});
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSED);
    CHECK_INT_EQ(tcp_error(t.c), -ECONNRESET);
    tc_done(&t);
}

/* The peer's FIN takes sequence number 2^32 - 1: acknowledged with 0, in
 * ESTABLISHED (to CLOSE-WAIT), FIN-WAIT-1 (to CLOSING) and FIN-WAIT-2 (to
 * TIME-WAIT, where its retransmission is acknowledged again). */
TEST(net_tcp_wrap_peer_fin_at_2_32_minus_1)
{
    static const enum tcp_state from[] = {TCP_ESTABLISHED, TCP_FIN_WAIT_1, TCP_FIN_WAIT_2};
    static const enum tcp_state to[] = {TCP_CLOSE_WAIT, TCP_CLOSING, TCP_TIME_WAIT};

    for (unsigned i = 0; i < 3; i++) {
        struct tc t;
        struct so o;

        tc_in_state(
            &t, (struct tcp_fixture){
                    .state = from[i], .iss = 0x10000000u, .irs = 0xfffffffeu, .peer_mss = 1460});
        uint32_t ack = t.iss + (from[i] == TCP_FIN_WAIT_2 ? 2 : 1);
        tc_in(&t,
              (struct sg){
                  .flags = F_FIN | F_ACK, .seq = 0xffffffffu, .ack = ack, .wnd = 65535, .ws = -1});
        CHECK_INT_EQ(tcp_get_state(t.c), to[i]);
        CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == 0);
        CHECK(tcp_eof(t.c));
        if (to[i] == TCP_TIME_WAIT) {
            tc_adv(&t, 1000);
            tc_in(&t, (struct sg){.flags = F_FIN | F_ACK,
                                  .seq = 0xffffffffu,
                                  .ack = ack,
                                  .wnd = 65535,
                                  .ws = -1});
            CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == 0);
            tc_adv(&t, 2 * 30000 - 1); /* 2 MSL from the retransmission */
            CHECK_INT_EQ(tcp_get_state(t.c), TCP_TIME_WAIT);
            tc_adv(&t, 1);
            CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSED);
        }
        tc_done(&t);
    }
}

/* ---- our sequence numbers --------------------------------------------------------- */

/* SYN-RECEIVED with our ISS 2^32 - 1: an ACK of it (acknowledging nothing)
 * or of 1 (past what we sent) is reset; the SYN-ACK goes again with seq
 * 2^32 - 1; the ACK of 0 completes the handshake and data starts at 0. */
TEST(net_tcp_wrap_our_iss_passive_handshake)
{
    struct tc t;
    struct so o;

    tc_in_state(&t,
                (struct tcp_fixture){
                    .state = TCP_SYN_RECEIVED, .iss = 0xffffffffu, .irs = PISS, .peer_mss = 1460});
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 1);
    static const uint32_t bad[] = {0xffffffffu, 1};
    for (unsigned i = 0; i < 2; i++) {
        tc_in(&t,
              (struct sg){.flags = F_ACK, .seq = PISS + 1, .ack = bad[i], .wnd = 65535, .ws = -1});
        CHECK(tc_out(&t, &o) && o.flags == F_RST && o.seq == bad[i]);
    }
    CHECK_UINT_EQ(DROPS(&t.h, TCP_ACK_RANGE), 2);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_SYN_RECEIVED);
    tc_adv(&t, 1000);
    CHECK(tc_out(&t, &o) && o.flags == (F_SYN | F_ACK) && o.seq == 0xffffffffu);
    CHECK_UINT_EQ(o.ack, PISS + 1);
    tc_ack_to(&t, 0, 65535);
    CHECK(t.events & TCP_EV_ACCEPT);
    CHECK_PTR_EQ(tcp_accept(t.l), t.c);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 0);
    tc_send_bytes(&t, 100);
    CHECK(tc_out(&t, &o) && o.seq == 0 && o.len == 100);
    tc_ack_to(&t, 100, 65535);
    CHECK_UINT_EQ(tcp_stats(t.c)->bytes_acked, 100);
    CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 0);
    tc_done(&t);
}

/* SYN-SENT with our ISS 2^32 - 1: a SYN-ACK acknowledging 2^32 - 1 is
 * reset and ignored; the one acknowledging 0 connects, our ACK from 0. */
TEST(net_tcp_wrap_our_iss_active_handshake)
{
    struct tc t;
    struct so o;

    tc_in_state(&t, (struct tcp_fixture){.state = TCP_SYN_SENT, .iss = 0xffffffffu});
    tc_in(&t, (struct sg){.flags = F_SYN | F_ACK,
                          .seq = PISS,
                          .ack = 0xffffffffu,
                          .wnd = 65535,
                          .mss = 1460,
                          .ws = -1});
    CHECK(tc_out(&t, &o) && o.flags == F_RST && o.seq == 0xffffffffu);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_SYN_SENT);
    tc_in(&t,
          (struct sg){
              .flags = F_SYN | F_ACK, .seq = PISS, .ack = 0, .wnd = 65535, .mss = 1460, .ws = -1});
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    CHECK(t.events & TCP_EV_CONNECTED);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.seq == 0 && o.ack == PISS + 1);
    tc_done(&t);
}

/* Our data across 2^32: slow start with ACKs that wrap, then a loss at a
 * wrapped snd_una found by three duplicate ACKs (fast retransmit), a
 * partial ACK, and the retransmission timer - each sending the right
 * bytes at the right wrapped numbers. */
TEST(net_tcp_wrap_our_data_acks_and_retransmissions)
{
    struct tc t;
    struct so o;
    const uint32_t mss = 1460;

    tc_in_state(&t,
                (struct tcp_fixture){
                    .state = TCP_ESTABLISHED, .iss = 0xfffff000u, .irs = PISS, .peer_mss = 1460});
    tc_send_bytes(&t, 40 * mss);
    uint32_t acked = tc_ack_flights(&t, 3);
    CHECK(t.iss + 1 + acked < 0x10000); /* the ACKs crossed 2^32 */
    CHECK_UINT_EQ(tcp_stats(t.c)->bytes_acked, acked);
    while (tc_out(&t, &o))
        ;
    /* The segment at snd_una is lost: two duplicate ACKs send new data
     * (limited transmit), the third the hole. */
    for (int i = 0; i < 3; i++)
        tc_ack_to(&t, acked, 65535);
    uint32_t hole = t.iss + 1 + acked;
    int found = 0;
    while (tc_out(&t, &o))
        found |= o.seq == hole && o.len == mss;
    CHECK(found);
    CHECK_UINT_EQ(tcp_stats(t.c)->fast_retransmits, 1);
    /* Partial ACK: the next segment went too, sent at once. */
    tc_ack_to(&t, acked + mss, 65535);
    CHECK(tc_out(&t, &o) && o.seq == hole + mss && o.len == mss);
    while (tc_out(&t, &o))
        ;
    /* Nothing answers: the timer resends from snd_una. */
    tc_adv(&t, 1000);
    CHECK(tc_out(&t, &o) && o.seq == hole + mss);
    CHECK(tcp_stats(t.c)->rto_timeouts >= 1);
    /* Everything acknowledged (one ACK of all that was queued). */
    while (tc_out(&t, &o))
        ;
    for (int r = 0; r < 40 && tcp_unfinished(&t.h.st) != 0; r++) {
        tc_ack_to(&t, tc_take_sent(&t, acked + mss), 65535);
        tc_adv(&t, 10);
    }
    CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 0);
    CHECK_UINT_EQ(tcp_stats(t.c)->bytes_acked, 40 * mss);
    CHECK_UINT_EQ(tcp_writable(t.c), 256 * 1024);
    tc_done(&t);
}

/* The peer's SACK blocks over our numbers across 2^32 (RFC 2018, RFC
 * 6675): segments 1 and 2 SACKed in a block that straddles 2^32, then 4;
 * recovery resends the holes 0 and 3, never what was SACKed. */
TEST(net_tcp_wrap_our_sack_scoreboard_across_2_32)
{
    struct tc t;
    struct so o;
    const uint32_t mss = 1460;
    /* snd_una + mss + 700 = 2^32: 2^32 lies inside segment 1. */
    const uint32_t b = 0u - mss - 700;

    tc_in_state(
        &t, (struct tcp_fixture){
                .state = TCP_ESTABLISHED, .iss = b - 1, .irs = PISS, .peer_mss = 1460, .sack = 1});
    tcp_set_nodelay(t.c, 1);
    tc_send_bytes(&t, 8 * mss);
    CHECK_UINT_EQ(tc_take_sent(&t, 0), 3 * mss); /* the initial window: 3 segments */
    struct sg s = {.flags = F_ACK, .seq = t.pseq, .ack = b, .wnd = 65535, .ws = -1, .nsack = 1};
    s.sack[0][0] = b + mss;
    s.sack[0][1] = b + 2 * mss;
    tc_in(&t, s); /* limited transmit: segment 3 */
    CHECK(tc_out(&t, &o) && o.seq == b + 3 * mss);
    s.sack[0][1] = b + 3 * mss;
    tc_in(&t, s); /* segment 4 */
    CHECK(tc_out(&t, &o) && o.seq == b + 4 * mss);
    s.nsack = 2;
    s.sack[0][0] = b + 4 * mss;
    s.sack[0][1] = b + 5 * mss;
    s.sack[1][0] = b + mss;
    s.sack[1][1] = b + 3 * mss;
    tc_in(&t, s); /* the third: recovery */
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.seq, b);
    CHECK_UINT_EQ(tcp_stats(t.c)->fast_retransmits, 1);
    unsigned holes = 1, sacked = 0; /* the second hole follows, nothing SACKed */
    while (tc_out(&t, &o)) {
        holes += o.seq == b + 3 * mss;
        sacked += o.seq == b + mss || o.seq == b + 2 * mss || o.seq == b + 4 * mss;
    }
    CHECK_UINT_EQ(holes, 2);
    CHECK_UINT_EQ(sacked, 0);
    CHECK_UINT_EQ(tcp_stats(t.c)->sack_retransmits, 2);
    tc_done(&t);
}

/* Our FIN takes sequence number 2^32 - 1 (ISS 2^32 - 2, nothing sent): the
 * ACK of it is 0, which moves FIN-WAIT-1 to FIN-WAIT-2, CLOSING to
 * TIME-WAIT and LAST-ACK to CLOSED; an ACK of 2^32 - 1 does not. */
TEST(net_tcp_wrap_our_fin_at_2_32_minus_1)
{
    static const enum tcp_state from[] = {TCP_FIN_WAIT_1, TCP_CLOSING, TCP_LAST_ACK};
    static const enum tcp_state to[] = {TCP_FIN_WAIT_2, TCP_TIME_WAIT, TCP_CLOSED};

    for (unsigned i = 0; i < 3; i++) {
        struct tc t;
        struct so o;

        tc_in_state(&t, (struct tcp_fixture){
                            .state = from[i], .iss = 0xfffffffeu, .irs = PISS, .peer_mss = 1460});
        tc_adv(&t, 200); /* the FIN again on the timer, at 2^32 - 1 */
        CHECK(tc_out(&t, &o) && (o.flags & F_FIN) && o.seq == 0xffffffffu);
        tc_ack_to(&t, 0, 65535); /* 2^32 - 1: not the FIN */
        CHECK_INT_EQ(tcp_get_state(t.c), from[i]);
        tc_ack_to(&t, 1, 65535); /* 0 */
        CHECK_INT_EQ(tcp_get_state(t.c), to[i]);
        CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 0);
        tc_done(&t);
    }
}

/* Data and FIN across 2^32: 1000 bytes from 2^32 - 500, the FIN at 500;
 * the ACK of the data alone leaves FIN-WAIT-1, the ACK of 501 ends it. */
TEST(net_tcp_wrap_our_data_then_fin_across_2_32)
{
    struct tc t;
    struct so o;

    tc_in_state(&t, (struct tcp_fixture){
                        .state = TCP_ESTABLISHED, .iss = 0u - 501, .irs = PISS, .peer_mss = 1460});
    tc_send_bytes(&t, 1000);
    CHECK(tc_out(&t, &o) && o.seq == 0u - 500 && o.len == 1000);
    tcp_shutdown(t.c, t.h.now);
    CHECK(tc_out(&t, &o) && o.seq == 500 && o.len == 0 && (o.flags & F_FIN));
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_FIN_WAIT_1);
    tc_ack_to(&t, 1000, 65535); /* the data, not the FIN */
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_FIN_WAIT_1);
    CHECK_UINT_EQ(tcp_stats(t.c)->bytes_acked, 1000);
    tc_ack_to(&t, 1001, 65535);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_FIN_WAIT_2);
    tc_done(&t);
}

/* ---- timestamps ------------------------------------------------------------------- */

/* len bytes from the peer at t->pseq with the timestamp tsval (pseq not
 * moved: the caller says whether they were taken). */
static void peer_data_tsval(struct tc *t, uint32_t tsval, size_t len)
{
    tc_in(t, (struct sg){.flags = F_ACK | F_PSH,
                         .seq = t->pseq,
                         .ack = t->iss + 1,
                         .wnd = 65535,
                         .ws = -1,
                         .ts = 1,
                         .tsval = tsval,
                         .tsecr = t->last_tsval,
                         .len = len});
}

/* PAWS with TS.Recent crossing 2^32 (RFC 7323 5.2): after TSval 2^32 - 16,
 * the peer's 84 (100 ms on) is newer: taken, and echoed; then an old
 * duplicate with TSval 2^32 - 8 is older than 84 and dropped, while 84
 * again is not. */
TEST(net_tcp_wrap_paws_ts_recent_across_2_32)
{
    struct tc t;
    struct so o;

    tc_in_state(&t, (struct tcp_fixture){.state = TCP_ESTABLISHED,
                                         .iss = 0x10000000u,
                                         .irs = PISS,
                                         .peer_mss = 1460,
                                         .ts = 1,
                                         .ts_recent = 0xfffffff0u});
    tc_adv(&t, 100); /* the peer's clock: 2^32 - 16 + 100 = 84 */
    tc_peer_data(&t, 100);
    CHECK_UINT_EQ(tcp_readable(t.c), 100);
    tc_adv(&t, 40);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ts);
    CHECK_UINT_EQ(o.tsecr, 84); /* TS.Recent moved across 2^32 */
    CHECK_UINT_EQ(DROPS(&t.h, TCP_PAWS), 0);
    peer_data_tsval(&t, 0xfffffff8u, 100);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_PAWS), 1);
    CHECK_UINT_EQ(tcp_readable(t.c), 100);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.tsecr == 84 && o.ack == t.pseq);
    peer_data_tsval(&t, 84, 100);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_PAWS), 1);
    CHECK_UINT_EQ(tcp_readable(t.c), 200);
    CHECK_UINT_EQ(read_peer_bytes(&t, PISS + 1), 200);
    tc_done(&t);
}

/* Our timestamp clock crosses 2^32 between a segment and its ACK: the RTT
 * from the echoed TSval is still 300 ms (RFC 7323 4.1), so the RTO is
 * 300 + 4 * 150 = 900 ms (RFC 6298). */
TEST(net_tcp_wrap_our_timestamp_clock_rtt_across_2_32)
{
    struct tc t;
    struct so o;

    tc_in_state(&t, (struct tcp_fixture){.state = TCP_ESTABLISHED,
                                         .iss = 0x10000000u,
                                         .irs = PISS,
                                         .peer_mss = 1460,
                                         .ts = 1,
                                         .ts_recent = 777,
                                         .own_ts_clock = 1,
                                         .ts_clock = 0xffffff00u,
                                         .rtt_ms = -1});
    tcp_set_nodelay(t.c, 1);
    tc_send_bytes(&t, 100);
    CHECK(tc_out(&t, &o) && o.tsval == 0xffffff00u);
    tc_adv(&t, 300);
    tc_ack_to(&t, 100, 65535); /* echoes 2^32 - 256, our clock at 44 */
    tc_send_bytes(&t, 100);
    CHECK(tc_out(&t, &o) && o.tsval == 44);
    tc_adv(&t, 899);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    tc_adv(&t, 1);
    CHECK(tc_out(&t, &o) && o.len == 100 && o.seq == t.iss + 101);
    CHECK_UINT_EQ(tcp_stats(t.c)->rto_timeouts, 1);
    tc_done(&t);
}
