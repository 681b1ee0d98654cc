/*
 * net_test_tcp_state.c - TCP connections built directly in a state
 * (net_tcp_fixture.c): first that such a connection answers every segment,
 * timer and call as one reached through a handshake and the segments that
 * lead to its state does; then what each closing state does, one test a
 * state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp.h"
#include "net_tcp_script.h"
#include "net_test.h"

/* ---- a fixture is a connection like any other -------------------------------- */

/* Reach state s from ESTABLISHED on a handshake's connection the way the
 * app and the peer would, at one instant, the app keeping its handle; what
 * is sent on the way is checked and taken. */
static void drive_to(struct tc *t, enum tcp_state s)
{
    struct so o;
    int ours = s == TCP_FIN_WAIT_1 || s == TCP_FIN_WAIT_2 || s == TCP_CLOSING ||
               s == TCP_LAST_ACK || s == TCP_TIME_WAIT;
    int theirs = s == TCP_CLOSE_WAIT || s == TCP_CLOSING || s == TCP_LAST_ACK || s == TCP_TIME_WAIT;

    if (s == TCP_LAST_ACK) { /* their FIN first */
        tc_in(
            t,
            (struct sg){
                .flags = F_FIN | F_ACK, .seq = t->pseq, .ack = t->iss + 1, .wnd = 65535, .ws = -1});
        t->pseq++;
        CHECK(tc_out(t, &o) && o.flags == F_ACK && o.ack == t->pseq);
    }
    if (ours) {
        CHECK_INT_EQ(tcp_shutdown(t->c, t->h.now), 0);
        CHECK(tc_out(t, &o) && o.flags == (F_FIN | F_ACK) && o.seq == t->iss + 1);
    }
    if (s == TCP_FIN_WAIT_2)
        tc_ack_to(t, 1, 65535);
    if (theirs && s != TCP_LAST_ACK) {
        uint32_t ack = t->iss + 1 + (s == TCP_TIME_WAIT);
        tc_in(t, (struct sg){
                     .flags = F_FIN | F_ACK, .seq = t->pseq, .ack = ack, .wnd = 65535, .ws = -1});
        t->pseq++;
        CHECK(tc_out(t, &o) && o.flags == F_ACK && o.ack == t->pseq);
    }
    CHECK_UINT_EQ(tc_count_out(&t->h), 0);
    CHECK_INT_EQ(tcp_get_state(t->c), s);
    t->events = 0;
}

/* The TCP bytes of the next TCP frame h sent (its IPv4 header aside: the
 * IP ID counts what the stack sent before), in seg; 0 when none. */
static size_t next_segment(struct fake_host *h, uint8_t *seg)
{
    struct fake_frame *f;

    while ((f = fake_dev_pop(&h->dev)) != NULL) {
        if (f->len >= 54 && nf_get16(f->data + 12) == 0x0800 && f->data[23] == 6) {
            size_t n = nf_get16(f->data + 16) - 20u;
            memcpy(seg, f->data + 34, n);
            free(f);
            return n;
        }
        free(f);
    }
    return 0;
}

/* All a and b sent since the last call is the same, segment for segment;
 * the end of our sequence space sent so far (SYN and FIN included) goes
 * to *snd_end. */
static void same_segments(struct tc *a, struct tc *b, const char *step, uint32_t *snd_end)
{
    static uint8_t sa[2048], sb[2048];
    size_t na, nb;
    unsigned k = 0;

    do {
        na = next_segment(&a->h, sa);
        nb = next_segment(&b->h, sb);
        CHECK_AT(__FILE__, __LINE__, na == nb && memcmp(sa, sb, na) == 0,
                 "%s: segment %u differs (%zu and %zu bytes)", step, k, na, nb);
        if (na >= 20) {
            uint32_t end = nf_get32(sa + 4) + (uint32_t)(na - (size_t)(sa[12] >> 4) * 4) +
                           (sa[13] & (F_SYN | F_FIN) ? 1 : 0);
            if (tc_seq_after(end, *snd_end))
                *snd_end = end;
        }
        k++;
    } while (na > 0 || nb > 0);
}

/* What both sides sent, and show the app and the operator, is the same;
 * a0 and b0: the connections' counters when the comparison began. */
static void expect_same(struct tc *a, struct tc *b, const struct tcp_conn_stats *a0,
                        const struct tcp_conn_stats *b0, const char *step, uint32_t *snd_end)
{
    same_segments(a, b, step, snd_end);
    CHECK_AT(__FILE__, __LINE__, tcp_get_state(a->c) == tcp_get_state(b->c), "%s: %s and %s", step,
             tcp_state_name(tcp_get_state(a->c)), tcp_state_name(tcp_get_state(b->c)));
    CHECK_AT(__FILE__, __LINE__,
             tcp_readable(a->c) == tcp_readable(b->c) && tcp_writable(a->c) == tcp_writable(b->c) &&
                 tcp_eof(a->c) == tcp_eof(b->c) && tcp_error(a->c) == tcp_error(b->c),
             "%s: readable %zu/%zu writable %zu/%zu eof %d/%d error %d/%d", step,
             tcp_readable(a->c), tcp_readable(b->c), tcp_writable(a->c), tcp_writable(b->c),
             tcp_eof(a->c), tcp_eof(b->c), tcp_error(a->c), tcp_error(b->c));
    CHECK_AT(__FILE__, __LINE__, a->events == b->events, "%s: events %#x and %#x", step, a->events,
             b->events);
    CHECK_AT(__FILE__, __LINE__,
             net_next_deadline(&a->h.st) == net_next_deadline(&b->h.st) &&
                 tcp_unfinished(&a->h.st) == tcp_unfinished(&b->h.st),
             "%s: next deadline %llu and %llu", step,
             (unsigned long long)net_next_deadline(&a->h.st),
             (unsigned long long)net_next_deadline(&b->h.st));
    static char ca[2048], cb[2048];
    tcp_format_counters(&a->h.st, ca, sizeof(ca));
    tcp_format_counters(&b->h.st, cb, sizeof(cb));
    CHECK_AT(__FILE__, __LINE__, strcmp(ca, cb) == 0, "%s: TCP counters\n%s\nand\n%s", step, ca,
             cb);
    CHECK_AT(__FILE__, __LINE__,
             net_iface_total_drops(&a->h.dev.ifc) == net_iface_total_drops(&b->h.dev.ifc),
             "%s: drops differ", step);
    /* The handshake's side counted its SYN-ACK and the ACK: compare what
     * came after. */
    const struct tcp_conn_stats *x = tcp_stats(a->c), *y = tcp_stats(b->c);
    CHECK_AT(__FILE__, __LINE__,
             x->segs_out - a0->segs_out == y->segs_out - b0->segs_out &&
                 x->segs_in - a0->segs_in == y->segs_in - b0->segs_in &&
                 x->bytes_out == y->bytes_out && x->bytes_acked == y->bytes_acked &&
                 x->bytes_in == y->bytes_in && x->retransmits == y->retransmits &&
                 x->rto_timeouts == y->rto_timeouts && x->dup_acks == y->dup_acks &&
                 x->ooo_segments == y->ooo_segments && x->dropped_segments == y->dropped_segments &&
                 x->challenge_acks == y->challenge_acks,
             "%s: connection counters differ", step);
}

/* Step k of the script both sides go through: the app's calls, the peer's
 * segments, the clock. snd_end: how far we have sent. Returns what the
 * app's call returned (0 for the others). */
static long script_step(struct tc *t, int k, uint32_t snd_end)
{
    static uint8_t buf[8192];

    switch (k) {
    case 0: /* the app sends (refused once it shut down) */
        return tcp_send_copy(t->c, buf, 5000, t->h.now);
    case 1: /* later: the peer's timestamp moves on */
        tc_adv(t, 5);
        tc_peer_data(t, 1000);
        break;
    case 2: /* out of order: a SACK block */
        tc_in(t, (struct sg){.flags = F_ACK,
                             .seq = t->pseq + 2000,
                             .ack = t->iss + 1,
                             .wnd = 65535,
                             .ws = -1,
                             .len = 500});
        break;
    case 3: /* the delayed ACK's time */
        tc_adv(t, 40);
        break;
    case 4: /* the first segment acknowledged */
        tc_ack_to(t, 1000, 65535);
        break;
    case 5: /* the retransmission timer */
        tc_adv(t, 1200);
        break;
    case 6: /* out of window: an ACK and no more */
        tc_in(t, (struct sg){.flags = F_ACK,
                             .seq = t->pseq + 1000000,
                             .ack = t->iss + 1,
                             .wnd = 65535,
                             .ws = -1,
                             .len = 10});
        break;
    case 7: /* an old ACK, acceptable within the largest window seen (RFC 5961 5.2) */
        tc_in(
            t,
            (struct sg){
                .flags = F_ACK, .seq = t->pseq, .ack = t->iss + 1 - 60000, .wnd = 65535, .ws = -1});
        tc_in(t, (struct sg){.flags = F_ACK,
                             .seq = t->pseq,
                             .ack = t->iss + 1 - 100000,
                             .wnd = 65535,
                             .ws = -1});
        /* out of window RST: nothing */
        tc_in(t, (struct sg){.flags = F_RST, .seq = t->pseq - 1000000, .ws = -1});
        break;
    case 8: /* everything acknowledged, window scaled down */
        tc_in(t, (struct sg){.flags = F_ACK, .seq = t->pseq, .ack = snd_end, .wnd = 100, .ws = -1});
        break;
    case 9: /* the app reads what came */
        return tcp_recv_copy(t->c, buf, sizeof(buf), t->h.now);
    case 10: /* the peer's FIN (again, for those that had it) */
        tc_in(t, (struct sg){
                     .flags = F_FIN | F_ACK, .seq = t->pseq, .ack = snd_end, .wnd = 100, .ws = -1});
        break;
    case 11: /* the app is done sending; then 2 MSL and any retransmission */
        return tcp_shutdown(t->c, t->h.now);
    case 12:
        tc_adv(t, 2 * 30000 + 5000);
        break;
    case 13: /* the last ACK the peer owes */
        tc_in(t, (struct sg){
                     .flags = F_ACK, .seq = t->pseq + 1, .ack = snd_end, .wnd = 100, .ws = -1});
        break;
    }
    return 0;
}
#define SCRIPT_STEPS 14

/* The script on a and b, step by step, each step's outcome compared;
 * then both torn down. */
static void run_script(struct tc *a, struct tc *b, const struct tcp_conn_stats *a0,
                       const struct tcp_conn_stats *b0, const char *what, uint32_t snd_end)
{
    for (int k = 0; k < SCRIPT_STEPS; k++) {
        char step[64];
        snprintf(step, sizeof(step), "%s, step %d", what, k);
        long ra = script_step(a, k, snd_end), rb = script_step(b, k, snd_end);
        CHECK_AT(__FILE__, __LINE__, ra == rb, "%s: the app's call returned %ld and %ld", step, ra,
                 rb);
        expect_same(a, b, a0, b0, step, &snd_end);
    }
    /* a's teardown without tc_done's leak check: b's memory is live. */
    tcp_abort(a->c, a->h.now);
    tcp_close(a->l, a->h.now);
    fake_dev_clear(&a->h.dev);
    fake_host_destroy(&a->h);
    CHECK_INT_EQ(a->h.fp.tx_live + a->h.dev.rx_live, 0);
    tc_done(b);
}

/*
 * For each state a fixture builds from ESTABLISHED on: one connection
 * reached by a handshake with every option (and the segments to the
 * state), one built in it with the same numbers on a second host with the
 * same seed (so the same keys: the same timestamp clock). The same script
 * of segments, calls and timer runs goes to both: each segment each sends
 * is the same byte for byte, and so is all the app and the counters see.
 */
TEST(net_tcp_fixture_answers_as_a_handshake_does)
{
    static const enum tcp_state states[] = {TCP_ESTABLISHED, TCP_FIN_WAIT_1, TCP_FIN_WAIT_2,
                                            TCP_CLOSE_WAIT,  TCP_CLOSING,    TCP_LAST_ACK,
                                            TCP_TIME_WAIT};
    static struct tc a, b;

    for (unsigned i = 0; i < 2 * sizeof(states) / sizeof(states[0]); i++) {
        enum tcp_state s = states[i / 2];
        int opts = i % 2; /* every option, or none (an MSS of 536) */
        tc_open_at(&a, opts, opts, opts ? 7 : -1, opts ? 1400 : 0, PISS, 0);
        drive_to(&a, s);
        struct tcp_conn_stats a0 = *tcp_stats(a.c), b0 = {0};
        tc_in_state(&b, (struct tcp_fixture){.state = s,
                                             .iss = a.iss,
                                             .irs = PISS,
                                             .peer_mss = opts ? 1400 : 0,
                                             .ws = (uint8_t)opts,
                                             .peer_wscale = 7,
                                             .sack = (uint8_t)opts,
                                             .ts = (uint8_t)opts,
                                             .ts_recent = a.ts_base + (uint32_t)a.h.now + 5000});
        CHECK_UINT_EQ(b.pseq, a.pseq);
        CHECK_UINT_EQ(b.last_tsval, a.last_tsval);
        uint32_t snd_end = a.iss + 1 +
                           (s == TCP_FIN_WAIT_1 || s == TCP_FIN_WAIT_2 || s == TCP_CLOSING ||
                            s == TCP_LAST_ACK || s == TCP_TIME_WAIT);
        char what[48];
        snprintf(what, sizeof(what), "%s, %s", tcp_state_name(s), opts ? "options" : "none");
        run_script(&a, &b, &a0, &b0, what, snd_end);
    }
}

/* ---- one state at a time ------------------------------------------------------ */

/* CLOSE-WAIT: the peer is done, we are not. Our data still goes and is
 * acknowledged; more data from the peer past its FIN is not taken; the
 * app reads end of stream. tcp_close sends our FIN after the data:
 * LAST-ACK, which the ACK of the data alone does not end, the timer
 * resends the FIN, and its ACK frees the connection. */
TEST(net_tcp_close_wait_sends_then_last_ack_frees)
{
    struct tc t;
    struct so o;
    char b[16];

    tc_in_state(&t,
                (struct tcp_fixture){
                    .state = TCP_CLOSE_WAIT, .iss = 0x40000000u, .irs = PISS, .peer_mss = 1460});
    CHECK(tcp_eof(t.c));
    CHECK_INT_EQ(tcp_recv_copy(t.c, b, sizeof(b), t.h.now), 0);
    tc_send_bytes(&t, 1000);
    CHECK(tc_out(&t, &o) && o.len == 1000 && o.seq == t.iss + 1 && o.ack == t.pseq);
    tc_ack_to(&t, 1000, 65535);
    CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 0);
    tc_peer_data(&t, 10); /* past its FIN: nobody will take it */
    t.pseq -= 10;
    CHECK_UINT_EQ(tcp_readable(t.c), 0);
    CHECK_UINT_EQ(tcp_stats(t.c)->bytes_in, 0);
    tc_send_bytes(&t, 500);
    CHECK(tc_out(&t, &o) && o.len == 500 && o.seq == t.iss + 1001);
    tcp_close(t.c, t.h.now);
    CHECK(tc_out(&t, &o) && o.flags == (F_FIN | F_ACK) && o.seq == t.iss + 1501);
    CHECK_UINT_EQ(o.ack, t.pseq);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_LAST_ACK);
    t.c = NULL;
    tc_ack_to(&t, 1500, 65535); /* the data, not the FIN */
    CHECK_UINT_EQ(TC_CONNS(&t), 2);
    tc_adv(&t, 199); /* the RTO: 200 ms (the handshake's RTT of 0 ms) */
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    tc_adv(&t, 1);
    CHECK(tc_out(&t, &o) && o.flags == (F_FIN | F_ACK) && o.seq == t.iss + 1501 && o.len == 0);
    tc_ack_to(&t, 1501, 65535);
    tc_adv(&t, 1);
    CHECK_UINT_EQ(TC_CONNS(&t), 1); /* only the listener */
    CHECK_UINT_EQ(TC_MEM(&t), 0);
    tc_done(&t);
}

/* FIN-WAIT-2 with the app still reading (it called tcp_shutdown): the
 * peer's data is delivered, its FIN ends in TIME-WAIT with an ACK, and
 * 2 MSL later the connection is CLOSED without an error. */
TEST(net_tcp_fin_wait_2_reads_until_the_peer_fin)
{
    struct tc t;
    struct so o;

    tc_in_state(&t,
                (struct tcp_fixture){
                    .state = TCP_FIN_WAIT_2, .iss = 0x40000000u, .irs = PISS, .peer_mss = 1460});
    CHECK_INT_EQ(tcp_send_copy(t.c, "x", 1, t.h.now), -ENOTCONN);
    tc_in(&t, (struct sg){.flags = F_ACK | F_PSH,
                          .seq = t.pseq,
                          .ack = t.iss + 2,
                          .wnd = 65535,
                          .ws = -1,
                          .len = 300});
    t.pseq += 300;
    CHECK_UINT_EQ(tcp_readable(t.c), 300);
    CHECK(t.events & TCP_EV_READABLE);
    tc_in(&t, (struct sg){
                  .flags = F_FIN | F_ACK, .seq = t.pseq, .ack = t.iss + 2, .wnd = 65535, .ws = -1});
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_TIME_WAIT);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == t.pseq + 1 && o.seq == t.iss + 2);
    CHECK_INT_EQ(tcp_recv_copy(t.c, (char[512]){0}, 512, t.h.now), 300);
    CHECK(tcp_eof(t.c));
    tc_adv(&t, 2 * 30000);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSED);
    CHECK_INT_EQ(tcp_error(t.c), 0);
    CHECK(t.events & TCP_EV_CLOSED);
    tc_done(&t);
}

/* CLOSING: both FINs sent, ours not acknowledged. The timer resends ours
 * (still acknowledging theirs); its ACK enters TIME-WAIT. */
TEST(net_tcp_closing_waits_for_the_ack_of_our_fin)
{
    struct tc t;
    struct so o;

    tc_in_state(&t, (struct tcp_fixture){
                        .state = TCP_CLOSING, .iss = 0x40000000u, .irs = PISS, .peer_mss = 1460});
    CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 1);
    tc_adv(&t, 199);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    tc_adv(&t, 1);
    CHECK(tc_out(&t, &o) && o.flags == (F_FIN | F_ACK) && o.seq == t.iss + 1 && o.ack == t.pseq);
    tc_ack_to(&t, 0, 65535); /* acknowledges nothing new */
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSING);
    tc_ack_to(&t, 1, 65535);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_TIME_WAIT);
    CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 0);
    tc_done(&t);
}

/*
 * SYN-RECEIVED the same way: a listener's half-open connection for the
 * peer's SYN (every option, or none) and one built in SYN-RECEIVED. The
 * peer's ACK comes 300 ms later (the RTT both measure), or after both
 * resent the SYN-ACK on the timer (no sample without timestamps: Karn); it
 * makes each an accepted connection, which then goes through the script
 * above.
 */
TEST(net_tcp_fixture_syn_received_answers_as_a_handshake_does)
{
    static struct tc a, b;
    struct so o;

    for (int i = 0; i < 4; i++) {
        int opts = i & 1, resent = i >> 1;
        tc_listen(&a);
        uint32_t tsval = a.ts_base + (uint32_t)a.h.now + 5000; /* the peer's clock (tc_in) */
        tc_in(&a, (struct sg){.flags = F_SYN,
                              .seq = PISS,
                              .wnd = 65535,
                              .mss = opts ? 1400 : 0,
                              .ws = opts ? 7 : -1,
                              .sackok = opts,
                              .ts = opts,
                              .tsval = tsval});
        CHECK(tc_out(&a, &o) && o.flags == (F_SYN | F_ACK));
        a.iss = o.seq;
        a.pseq = PISS + 1;
        a.ts = opts;
        tc_in_state(&b, (struct tcp_fixture){.state = TCP_SYN_RECEIVED,
                                             .iss = a.iss,
                                             .irs = PISS,
                                             .peer_mss = opts ? 1400 : 0,
                                             .ws = (uint8_t)opts,
                                             .peer_wscale = 7,
                                             .sack = (uint8_t)opts,
                                             .ts = (uint8_t)opts,
                                             .ts_recent = tsval});
        CHECK_UINT_EQ(TC_HALF_OPEN(&a), 1);
        CHECK_UINT_EQ(TC_HALF_OPEN(&b), 1);
        uint32_t snd_end = a.iss + 1;
        tc_adv(&a, resent ? 1000 : 300);
        tc_adv(&b, resent ? 1000 : 300);
        same_segments(&a, &b, "the SYN-ACK again", &snd_end);
        tc_ack_to(&a, 0, 65535);
        tc_ack_to(&b, 0, 65535);
        CHECK(a.events == TCP_EV_ACCEPT && b.events == TCP_EV_ACCEPT);
        a.c = tcp_accept(a.l);
        CHECK(a.c != NULL && tcp_accept(b.l) == b.c);
        if (a.c == NULL)
            return;
        tcp_set_notify(a.c, tc_on_event, &a);
        a.events = b.events = 0;
        struct tcp_conn_stats a0 = *tcp_stats(a.c), b0 = *tcp_stats(b.c);
        char what[64];
        snprintf(what, sizeof(what), "SYN-RECEIVED, %s, %s", opts ? "options" : "none",
                 resent ? "SYN-ACK resent" : "ACK after 300 ms");
        run_script(&a, &b, &a0, &b0, what, snd_end);
    }
}
