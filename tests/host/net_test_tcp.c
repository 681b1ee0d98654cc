/*
 * net_test_tcp.c - TCP script tests: a test injects crafted segments into
 * one stack (a fake peer at PEER_IP) on the fake clock and checks the
 * segments the stack sends back - flags, sequence and ACK numbers, window,
 * options - and its state, counters and buffers.
 *
 * The segments in and out and the scripted connection (struct tc) are
 * net_tcp_script.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "net/tcp.h"
#include "net/tcp_internal.h" /* tcp_cookie_isn, tcp_isn: to aim at sequence numbers */
#include "net_tcp_script.h"
#include "net_test.h"

/* ---- handshakes ---------------------------------------------------------------- */

TEST(net_tcp_passive_open_negotiates_options)
{
    struct tc t;
    struct so o;
    uint8_t f[NF_MAX_FRAME];

    tc_host(&t, 0);
    CHECK_INT_EQ(tcp_listen(&t.h.st, LPORT, 4, &t.l), 0);
    struct tcp_conn *dup;
    CHECK_INT_EQ(tcp_listen(&t.h.st, LPORT, 4, &dup), -EADDRINUSE);
    fake_host_rx(&t.h, f,
                 tc_build(f, &(struct sg){.flags = F_SYN,
                                          .seq = PISS,
                                          .wnd = 65535,
                                          .mss = 1400,
                                          .ws = 7,
                                          .sackok = 1,
                                          .ts = 1,
                                          .tsval = 4242}));
    CHECK(tc_host_out(&t.h, &o));
    CHECK_UINT_EQ(o.flags, F_SYN | F_ACK);
    CHECK_UINT_EQ(o.ack, PISS + 1);
    CHECK_INT_EQ(o.mss, 1460); /* ours, from the MTU */
    CHECK_INT_EQ(o.ws, 3);     /* 256 KiB receive buffer */
    CHECK(o.sackok && o.ts);
    CHECK_UINT_EQ(o.tsecr, 4242);
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 1);
    CHECK(tcp_accept(t.l) == NULL);
    fake_host_rx(&t.h, f,
                 tc_build(f, &(struct sg){.flags = F_ACK,
                                          .seq = PISS + 1,
                                          .ack = o.seq + 1,
                                          .wnd = 100,
                                          .ws = -1,
                                          .ts = 1,
                                          .tsval = 4243,
                                          .tsecr = o.tsval}));
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 0);
    t.c = tcp_accept(t.l);
    CHECK(t.c != NULL);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    /* The peer's window is scaled by its shift 7: 100 << 7 = 12800 bytes. */
    tc_send_bytes(&t, 20000);
    size_t total = 0;
    while (tc_host_out(&t.h, &o)) {
        CHECK(o.len <= 1400 - 12); /* peer's MSS less the timestamp option */
        CHECK(o.ts);
        total += o.len;
    }
    CHECK(total <= 12800 && total > 0);
    tc_done(&t);
}

TEST(net_tcp_active_open_and_connected_event)
{
    struct tc t;
    struct so o;
    struct tcp_conn *c;

    tc_host(&t, 0);
    CHECK_INT_EQ(tcp_connect(&t.h.st, PEER_IP, 5555, 0, &c), 0);
    tcp_set_notify(c, tc_on_event, &t);
    CHECK(tc_host_out(&t.h, &o));
    CHECK_UINT_EQ(o.flags, F_SYN);
    CHECK_INT_EQ(o.mss, 1460);
    CHECK(o.ws >= 0 && o.sackok && o.ts);
    CHECK_UINT_EQ(o.dport, 5555);
    CHECK_INT_EQ(tcp_get_state(c), TCP_SYN_SENT);
    /* SYN retransmitted after the initial RTO of 1 s, then 2 s. */
    fake_host_advance(&t.h, 999);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    fake_host_advance(&t.h, 1000);
    CHECK(tc_host_out(&t.h, &o) && o.flags == F_SYN);
    fake_host_advance(&t.h, 2999);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    fake_host_advance(&t.h, 3000);
    CHECK(tc_host_out(&t.h, &o) && o.flags == F_SYN);
    uint8_t f[200];
    fake_host_rx(&t.h, f,
                 tc_build(f, &(struct sg){.flags = F_SYN | F_ACK,
                                          .seq = 9000,
                                          .ack = o.seq + 1,
                                          .wnd = 8000,
                                          .mss = 1000,
                                          .ws = -1,
                                          .sport = 5555,
                                          .dport = o.sport}));
    CHECK(t.events & TCP_EV_CONNECTED);
    CHECK_INT_EQ(tcp_get_state(c), TCP_ESTABLISHED);
    CHECK(tc_host_out(&t.h, &o));
    CHECK_UINT_EQ(o.flags, F_ACK);
    CHECK_UINT_EQ(o.ack, 9001);
    CHECK(!o.ts && o.nsack == 0); /* the peer offered neither */
    tcp_abort(c, t.h.now);
    CHECK(tc_host_out(&t.h, &o) && (o.flags & F_RST));
    NT_DESTROY(&t.h);
}

TEST(net_tcp_connect_refused_by_rst)
{
    struct fake_host h;
    struct so o;
    struct tcp_conn *c;
    uint8_t f[200];

    nt_host(&h, 0);
    nt_learn_peer(&h);
    CHECK_INT_EQ(tcp_connect(&h.st, PEER_IP, 5555, 0, &c), 0);
    CHECK(tc_host_out(&h, &o));
    /* An RST with a wrong ACK is ignored; the right one refuses. */
    fake_host_rx(&h, f,
                 tc_build(f, &(struct sg){.flags = F_RST | F_ACK,
                                          .ack = o.seq + 5,
                                          .ws = -1,
                                          .sport = 5555,
                                          .dport = o.sport}));
    CHECK_INT_EQ(tcp_get_state(c), TCP_SYN_SENT);
    fake_host_rx(&h, f,
                 tc_build(f, &(struct sg){.flags = F_RST | F_ACK,
                                          .ack = o.seq + 1,
                                          .ws = -1,
                                          .sport = 5555,
                                          .dport = o.sport}));
    CHECK_INT_EQ(tcp_get_state(c), TCP_CLOSED);
    CHECK_INT_EQ(tcp_error(c), -ECONNREFUSED);
    CHECK_INT_EQ(tcp_send_copy(c, "x", 1, 0), -ENOTCONN);
    tcp_close(c, 0);
    fake_dev_clear(&h.dev);
    NT_DESTROY(&h);
}

TEST(net_tcp_simultaneous_open)
{
    struct fake_host h;
    struct so o;
    struct tcp_conn *c;
    uint8_t f[200];

    nt_host(&h, 0);
    nt_learn_peer(&h);
    CHECK_INT_EQ(tcp_connect(&h.st, PEER_IP, 5555, 0, &c), 0);
    CHECK(tc_host_out(&h, &o));
    uint32_t iss = o.seq;
    uint16_t lport = o.sport;
    fake_host_rx(&h, f,
                 tc_build(f, &(struct sg){.flags = F_SYN,
                                          .seq = 7000,
                                          .wnd = 4000,
                                          .mss = 1460,
                                          .ws = -1,
                                          .sport = 5555,
                                          .dport = lport}));
    CHECK_INT_EQ(tcp_get_state(c), TCP_SYN_RECEIVED);
    CHECK(tc_host_out(&h, &o));
    CHECK_UINT_EQ(o.flags, F_SYN | F_ACK);
    CHECK_UINT_EQ(o.seq, iss);
    CHECK_UINT_EQ(o.ack, 7001);
    fake_host_rx(&h, f,
                 tc_build(f, &(struct sg){.flags = F_SYN | F_ACK,
                                          .seq = 7000,
                                          .ack = iss + 1,
                                          .wnd = 4000,
                                          .ws = -1,
                                          .sport = 5555,
                                          .dport = lport}));
    /* Its SYN again (seq 7000) gets our SYN-ACK again; the bare ACK completes. */
    fake_dev_clear(&h.dev);
    fake_host_rx(&h, f,
                 tc_build(f, &(struct sg){.flags = F_ACK,
                                          .seq = 7001,
                                          .ack = iss + 1,
                                          .wnd = 4000,
                                          .ws = -1,
                                          .sport = 5555,
                                          .dport = lport}));
    CHECK_INT_EQ(tcp_get_state(c), TCP_ESTABLISHED);
    tcp_abort(c, 0);
    fake_dev_clear(&h.dev);
    NT_DESTROY(&h);
}

/* ---- closing --------------------------------------------------------------------- */

/* What the embedder waits for before powering off: nothing sent and
 * unacknowledged, FIN included; TIME-WAIT and listeners do not count. */
TEST(net_tcp_unfinished_counts_unacknowledged_data_and_fin)
{
    struct tc t;

    tc_open(&t);
    CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 0);
    tc_send_bytes(&t, 100);
    CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 1);
    tc_ack_to(&t, 100, 65535);
    CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 0);
    tcp_close(t.c, t.h.now); /* FIN out: FIN-WAIT-1 */
    CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 1);
    tc_ack_to(&t, 101, 65535); /* FIN acknowledged: FIN-WAIT-2 */
    CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 0);
    tc_in(&t, (struct sg){
                  .flags = F_FIN | F_ACK, .seq = t.pseq, .ack = t.iss + 102, .wnd = 100, .ws = -1});
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_TIME_WAIT);
    CHECK_UINT_EQ(tcp_unfinished(&t.h.st), 0);
    t.c = NULL;
    tc_done(&t);
}

TEST(net_tcp_active_close_through_time_wait)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    tcp_close(t.c, t.h.now);
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.flags, F_FIN | F_ACK);
    CHECK_UINT_EQ(o.seq, t.iss + 1);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_FIN_WAIT_1);
    tc_ack_to(&t, 1, 65535);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_FIN_WAIT_2);
    tc_in(&t, (struct sg){
                  .flags = F_FIN | F_ACK, .seq = t.pseq, .ack = t.iss + 2, .wnd = 100, .ws = -1});
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_TIME_WAIT);
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.flags, F_ACK);
    CHECK_UINT_EQ(o.ack, t.pseq + 1);
    /* A retransmitted FIN is ACKed again. */
    tc_in(&t, (struct sg){
                  .flags = F_FIN | F_ACK, .seq = t.pseq, .ack = t.iss + 2, .wnd = 100, .ws = -1});
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == t.pseq + 1);
    CHECK_UINT_EQ(TC_CONNS(&t), 2);
    tc_adv(&t, 2 * 30000 - 1);
    CHECK_UINT_EQ(TC_CONNS(&t), 2);
    tc_adv(&t, 2);
    CHECK_UINT_EQ(TC_CONNS(&t), 1); /* freed after 2 MSL */
    t.c = NULL;
    tc_done(&t);
}

/* A connection in TIME-WAIT (we closed first), released by the app: t.c
 * is NULL. */
static void tc_open_time_wait(struct tc *t)
{
    tc_in_state(t, (struct tcp_fixture){
                       .state = TCP_TIME_WAIT, .iss = 0x12345678u, .irs = PISS, .peer_mss = 1460});
    tcp_close(t->c, t->h.now);
    t->c = NULL;
}

/* A full table gives up its oldest TIME-WAIT connection for a new one,
 * rather than refusing connections for 2 MSL. */
TEST(net_tcp_full_table_reclaims_time_wait)
{
    struct tc t;
    struct so o;

    tc_open_time_wait(&t);
    t.h.st.lim.tcp_conns = 2; /* the listener and the TIME-WAIT one */
    fake_dev_clear(&t.h.dev);
    tc_in(&t, (struct sg){.flags = F_SYN, .seq = PISS + 5000, .wnd = 65535, .ws = -1,
                          .sport = 1234});
    CHECK(tc_out(&t, &o) && o.flags == (F_SYN | F_ACK));
    CHECK_UINT_EQ(TC_COUNTER(&t, "tcp: ", "time-wait reclaimed"), 1);
    CHECK_UINT_EQ(TC_CONNS(&t), 2);
    tc_done(&t);
}

/* A connection from the peer's port sport (its ISN PISS + sport * 100000)
 * in TIME-WAIT, released by the app. */
static void time_wait_from_port(struct tc *t, uint16_t sport)
{
    struct tcp_conn *c =
        nt_tcp_conn_in_state(&t->h, &(struct tcp_fixture){.state = TCP_TIME_WAIT,
                                                          .iss = 0x12345678u + sport,
                                                          .irs = PISS + (uint32_t)sport * 100000u,
                                                          .lport = LPORT,
                                                          .rport = sport,
                                                          .listener = t->l,
                                                          .peer_mss = 1460});
    tcp_close(c, t->h.now);
}

/* A server that closes first keeps each connection in TIME-WAIT for 2 MSL
 * (RFC 9293 3.6.1). With more of them than the hash has buckets, segments
 * still find their own connection, a retransmitted FIN restarts one's 2 MSL
 * (3.10.7.4), and TIME-WAIT ends in the order it began. */
TEST(net_tcp_many_time_waits_are_found_and_end_in_order)
{
    struct tc t;
    struct so o;
    const unsigned n = TCP_HASH_BUCKETS + TCP_HASH_BUCKETS / 2;

    tc_open(&t);
    t.h.st.lim.tcp_conns = n + 8;
    uint64_t first = t.h.now;
    for (unsigned i = 0; i < n; i++) {
        time_wait_from_port(&t, (uint16_t)(2000 + i));
        if (i % 100 == 99)
            tc_adv(&t, 1);
    }
    uint64_t last = t.h.now;
    uint64_t two_msl = 2ull * t.h.st.lim.tcp_msl_ms;
    /* No counter shows the TIME-WAIT list's own count (net_format_counters
     * prints the table's): read from the stack. */
    CHECK_UINT_EQ(t.h.st.tcp.time_wait, n);
    CHECK_UINT_EQ(TC_CONNS(&t), n + 2); /* the listener, the open one */
    CHECK_UINT_EQ(net_next_deadline(&t.h.st) <= first + two_msl, 1);

    /* The open connection among them takes its data. */
    tc_peer_data(&t, 100);
    struct netbuf *nb = tcp_recv(t.c, t.h.now);
    CHECK(nb != NULL && nb->len == 100);
    nbuf_put(nb);

    /* The oldest one's FIN again: ACKed, and its 2 MSL starts over. */
    tc_adv(&t, 10);
    uint32_t piss = PISS + 2000u * 100000u;
    fake_dev_clear(&t.h.dev);
    tc_in(&t, (struct sg){.flags = F_FIN | F_ACK, .seq = piss + 1, .ack = 0, .wnd = 65535,
                          .ws = -1, .sport = 2000});
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.dport == 2000 && o.ack == piss + 2);
    uint64_t restarted = t.h.now;

    /* One past the newest's end: all over but the restarted one. */
    fake_host_advance(&t.h, last + two_msl);
    CHECK_UINT_EQ(t.h.st.tcp.time_wait, 1);
    CHECK_UINT_EQ(TC_CONNS(&t), 3);
    CHECK_UINT_EQ(net_next_deadline(&t.h.st) >= restarted + two_msl, 1);
    fake_host_advance(&t.h, restarted + two_msl);
    CHECK_UINT_EQ(t.h.st.tcp.time_wait, 0);
    CHECK_UINT_EQ(TC_CONNS(&t), 2);
    tc_done(&t);
}

/* Out of memory for a new connection: a TIME-WAIT one gives up its memory
 * (same size) instead of the SYN being dropped until it expires. */
TEST(net_tcp_no_memory_reclaims_time_wait)
{
    struct tc t;
    struct so o;

    tc_open_time_wait(&t);
    fake_dev_clear(&t.h.dev);
    net_fault_malloc_fail(0, 0); /* the new connection's first calloc */
    tc_in(&t,
          (struct sg){.flags = F_SYN, .seq = PISS + 5000, .wnd = 65535, .ws = -1, .sport = 1234});
    net_fault_malloc_fail(-1, 0);
    CHECK(tc_out(&t, &o) && o.flags == (F_SYN | F_ACK));
    CHECK_UINT_EQ(TC_COUNTER(&t, "tcp: ", "time-wait reclaimed"), 1);
    CHECK_UINT_EQ(TC_COUNTER(&t, "tcp: ", "(for memory"), 1);
    CHECK_UINT_EQ(t.h.dev.ifc.cnt.drops[NET_DROP_TCP_NOMEM], 0);
    CHECK_UINT_EQ(TC_CONNS(&t), 2);
    tc_done(&t);
}

/* With nothing in flight no ACK will come to restart the send loop: a
 * segment that found no memory is sent again by the retransmission timer. */
TEST(net_tcp_send_without_memory_is_retried_by_the_timer)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    fake_dev_clear(&t.h.dev);
    struct netbuf *nb = tcp_alloc(&t.h.st, 100);
    CHECK(nb != NULL);
    memset(nb->data, 'x', 100);
    net_fault_malloc_fail(0, 1); /* every slice of the send queue fails */
    CHECK_INT_EQ(tcp_send(t.c, nb, t.h.now), 0);
    CHECK(!tc_out(&t, &o));
    CHECK_UINT_EQ(TC_COUNTER(&t, "tcp: ", "sends retried after no memory"), 1);
    CHECK(t.h.dev.ifc.cnt.drops[NET_DROP_TX_NOMEM] >= 1);
    tc_adv(&t, 250); /* the RTO (200 ms): still no memory, tried again, armed again */
    CHECK(!tc_out(&t, &o));
    CHECK_UINT_EQ(TC_COUNTER(&t, "tcp: ", "sends retried after no memory"), 2);
    net_fault_malloc_fail(-1, 0);
    tc_adv(&t, 250);
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.seq, t.iss + 1);
    CHECK_UINT_EQ(o.len, 100);
    CHECK_UINT_EQ(tcp_stats(t.c)->rto_timeouts, 0); /* not a loss */
    tc_done(&t);
}

TEST(net_tcp_passive_close_last_ack)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    tc_in(&t, (struct sg){
                  .flags = F_FIN | F_ACK, .seq = t.pseq, .ack = t.iss + 1, .wnd = 100, .ws = -1});
    t.pseq++;
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSE_WAIT);
    CHECK(t.events & TCP_EV_READABLE);
    CHECK(tcp_eof(t.c));
    char b[4];
    CHECK_INT_EQ(tcp_recv_copy(t.c, b, 4, t.h.now), 0);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == PISS + 2);
    tcp_close(t.c, t.h.now);
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.flags, F_FIN | F_ACK);
    tc_ack_to(&t, 1, 100);
    tc_adv(&t, 1);
    CHECK_UINT_EQ(TC_CONNS(&t), 1);
    t.c = NULL;
    tc_done(&t);
}

TEST(net_tcp_simultaneous_close)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    tcp_shutdown(t.c, t.h.now);
    CHECK(tc_out(&t, &o) && o.flags == (F_FIN | F_ACK));
    /* Their FIN crosses ours: it does not ACK our FIN. */
    tc_in(&t, (struct sg){
                  .flags = F_FIN | F_ACK, .seq = t.pseq, .ack = t.iss + 1, .wnd = 100, .ws = -1});
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSING);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == t.pseq + 1);
    tc_in(&t,
          (struct sg){.flags = F_ACK, .seq = t.pseq + 1, .ack = t.iss + 2, .wnd = 100, .ws = -1});
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_TIME_WAIT);
    tc_adv(&t, 60001);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSED);
    CHECK_INT_EQ(tcp_error(t.c), 0);
    CHECK(t.events & TCP_EV_CLOSED);
    tc_done(&t);
}

TEST(net_tcp_fin_retransmitted_on_timeout)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    tcp_shutdown(t.c, t.h.now);
    CHECK(tc_out(&t, &o) && o.flags == (F_FIN | F_ACK));
    tc_adv(&t, 200);
    CHECK(tc_out(&t, &o) && o.flags == (F_FIN | F_ACK) && o.seq == t.iss + 1);
    tc_done(&t);
}

/* ---- data ------------------------------------------------------------------------ */

TEST(net_tcp_receive_zero_copy_and_delayed_ack)
{
    struct tc t;
    struct so o;
    uint8_t f[NF_MAX_FRAME];

    tc_open(&t);
    struct sg s = {
        .flags = F_ACK, .seq = t.pseq, .ack = t.iss + 1, .wnd = 65535, .ws = -1, .len = 1000};
    struct netbuf *in = fake_host_rx(&t.h, f, tc_build(f, &s));
    t.pseq += 1000;
    CHECK(t.events & TCP_EV_READABLE);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0); /* ACK delayed */
    tc_adv(&t, 39);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    tc_adv(&t, 1);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == t.pseq);
    /* Window: 256 KiB less the 1000 bytes held, scaled by 3. */
    CHECK_UINT_EQ(o.wnd, 65535); /* no scaling: the peer did not offer it */
    CHECK_UINT_EQ(tcp_readable(t.c), 1000);
    struct netbuf *nb = tcp_recv(t.c, t.h.now);
    CHECK_PTR_EQ(nb, in); /* the device's own buffer */
    CHECK_UINT_EQ(nb->len, 1000);
    CHECK_UINT_EQ(nb->data[0], tc_pattern(PISS + 1));
    CHECK_INT_EQ(t.h.dev.rx_live, 1);
    nbuf_put(nb);
    CHECK_INT_EQ(t.h.dev.rx_live, 0);
    /* Two segments: the second is ACKed at once. */
    tc_peer_data(&t, 500);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    tc_peer_data(&t, 500);
    CHECK(tc_out(&t, &o) && o.ack == t.pseq);
    CHECK_UINT_EQ(TC_COUNTER(&t, "stack:", "copied"), 0);
    tc_done(&t);
}

TEST(net_tcp_window_is_buffer_minus_held)
{
    struct tc t;
    struct so o;

    tc_open_opts(&t, 0, 0, 0, 1460);
    tc_peer_data(&t, 1000);
    tc_peer_data(&t, 1000);
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.wnd, (256 * 1024 - 2000) >> 3);
    tc_done(&t);
}

TEST(net_tcp_out_of_order_sack_and_gap_fill)
{
    struct tc t;
    struct so o;

    tc_open_opts(&t, 1, 1, 0, 1460);
    uint32_t base = t.pseq;
    t.pseq = base + 1000;
    tc_peer_data(&t, 1000); /* [1000, 2000) */
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.ack, base);
    CHECK_UINT_EQ(o.nsack, 1);
    CHECK_UINT_EQ(o.sack[0][0], base + 1000);
    CHECK_UINT_EQ(o.sack[0][1], base + 2000);
    t.pseq = base + 3000;
    tc_peer_data(&t, 500); /* [3000, 3500) */
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.nsack, 2);
    CHECK_UINT_EQ(o.sack[0][0], base + 3000); /* most recent first */
    CHECK_UINT_EQ(o.sack[1][0], base + 1000);
    CHECK_UINT_EQ(tcp_stats(t.c)->ooo_segments, 2);
    CHECK_UINT_EQ(tcp_readable(t.c), 0);
    t.pseq = base;
    tc_peer_data(&t, 1000); /* fills [0, 1000) */
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.ack, base + 2000);
    CHECK_UINT_EQ(o.nsack, 1);
    CHECK_UINT_EQ(tcp_readable(t.c), 2000);
    uint8_t buf[3000];
    CHECK_INT_EQ(tcp_recv_copy(t.c, buf, sizeof(buf), t.h.now), 2000);
    CHECK_UINT_EQ(buf[1500], tc_pattern(base + 1500));
    tc_done(&t);
}

static void mark_done(void *cookie)
{
    (*(int *)cookie)++;
}

TEST(net_tcp_wrapped_memory_completion_runs_after_ack)
{
    struct tc t;
    struct so o;
    static uint8_t mem[3000];
    int done = 0;

    tc_open(&t);
    tcp_set_nodelay(t.c, 1);
    for (size_t i = 0; i < sizeof(mem); i++)
        mem[i] = (uint8_t)(i * 3);
    struct netbuf *nb = nbuf_wrap(mem, sizeof(mem), mark_done, &done);
    CHECK_INT_EQ(tcp_send(t.c, nb, t.h.now), 0);
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.len, 1460);
    CHECK(o.segs >= 2); /* header buffer chained to a slice of app memory */
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.len, 1460);
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.len, 80);
    CHECK_UINT_EQ(o.first, (uint8_t)(2920 * 3));
    tc_ack_to(&t, 1460, 65535);
    CHECK_INT_EQ(done, 0);
    tc_ack_to(&t, 3000, 65535);
    CHECK_INT_EQ(done, 1);
    CHECK_UINT_EQ(TC_COUNTER(&t, "stack:", "copied"), 0);
    CHECK_UINT_EQ(tcp_stats(t.c)->bytes_acked, 3000);
    tc_done(&t);
}

TEST(net_tcp_send_buffer_full_is_eagain_and_not_consumed)
{
    struct tc t;

    tc_open(&t);
    t.h.st.lim.tcp_sndbuf = 0;
    size_t room = tcp_writable(t.c);
    CHECK_UINT_EQ(room, 256 * 1024);
    struct netbuf *big = tcp_alloc(&t.h.st, room);
    memset(big->data, 1, room);
    CHECK_INT_EQ(tcp_send(t.c, big, t.h.now), 0);
    struct netbuf *more = tcp_alloc(&t.h.st, 10);
    memset(more->data, 2, 10);
    CHECK_INT_EQ(tcp_send(t.c, more, t.h.now), -EAGAIN);
    CHECK_UINT_EQ(more->refs, 1); /* still ours */
    CHECK_INT_EQ(tcp_send_copy(t.c, "abc", 3, t.h.now), 0);
    /* ACK everything sent: room again, and TCP_EV_WRITABLE. */
    uint32_t hi = 0;
    for (int r = 0; r < 100 && !(t.events & TCP_EV_WRITABLE); r++) {
        hi = tc_take_sent(&t, hi);
        tc_ack_to(&t, hi, 65535);
    }
    CHECK(t.events & TCP_EV_WRITABLE);
    CHECK_INT_EQ(tcp_send(t.c, more, t.h.now), 0);
    tc_done(&t);
}

/* An echo sends device receive buffers back: a send queue may hold only
 * tcp_snd_ring_segs of them, else it could hold the whole ring and starve
 * receive. Past the limit tcp_send is -EAGAIN (nb kept), and the ACKs that
 * free ring buffers bring TCP_EV_WRITABLE. */
TEST(net_tcp_send_queue_bounds_device_ring_buffers)
{
    struct tc t;
    struct so o;
    struct netbuf *in[6];

    tc_open(&t);
    tcp_set_nodelay(t.c, 1);
    t.h.st.lim.tcp_snd_ring_segs = 4;
    for (int i = 0; i < 6; i++) {
        tc_peer_data(&t, 100);
        in[i] = tcp_recv(t.c, t.h.now);
        CHECK(in[i] != NULL);
        CHECK(in[i]->flags & NB_RING); /* the device's mark survives the stack */
    }
    for (int i = 0; i < 4; i++)
        CHECK_INT_EQ(tcp_send(t.c, in[i], t.h.now), 0);
    CHECK_INT_EQ(tcp_send(t.c, in[4], t.h.now), -EAGAIN);
    CHECK_UINT_EQ(in[4]->refs, 1); /* still ours */
    /* Buffers of other kinds are not limited by it. */
    struct netbuf *own = tcp_alloc(&t.h.st, 10);
    memset(own->data, 7, 10);
    CHECK_INT_EQ(tcp_send(t.c, own, t.h.now), 0);
    while (tc_out(&t, &o))
        ;
    tc_ack_to(&t, 100, 65535); /* one ring buffer back: 3 held, the line */
    CHECK(t.events & TCP_EV_WRITABLE);
    CHECK_INT_EQ(tcp_send(t.c, in[4], t.h.now), 0);
    CHECK_INT_EQ(tcp_send(t.c, in[5], t.h.now), -EAGAIN);
    tc_ack_to(&t, 410, 65535);
    CHECK_INT_EQ(tcp_send(t.c, in[5], t.h.now), 0);
    tc_ack_to(&t, 610, 65535);
    CHECK_INT_EQ(t.h.dev.rx_live, 0); /* every device buffer came back */
    tc_done(&t);
}

TEST(net_tcp_nagle_and_nodelay)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    tc_send_bytes(&t, 10);
    CHECK(tc_out(&t, &o) && o.len == 10);
    tc_send_bytes(&t, 10);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0); /* Nagle: waits for the ACK */
    tc_send_bytes(&t, 10);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    tc_ack_to(&t, 10, 65535);
    CHECK(tc_out(&t, &o) && o.len == 20); /* coalesced */
    CHECK_UINT_EQ(o.segs, 2);             /* header + one slice: the writes share a buffer */
    CHECK_UINT_EQ(o.first, 0);
    tcp_set_nodelay(t.c, 1);
    tc_send_bytes(&t, 5);
    CHECK(tc_out(&t, &o) && o.len == 5);
    tc_done(&t);
}

TEST(net_tcp_mss_clamped_to_peer)
{
    struct tc t;
    struct so o;

    tc_open_opts(&t, 0, 0, -1, 500);
    tc_send_bytes(&t, 1200);
    CHECK(tc_out(&t, &o) && o.len == 500);
    CHECK(tc_out(&t, &o) && o.len == 500);
    tc_done(&t);
    /* No MSS option: 536. */
    tc_open_opts(&t, 0, 0, -1, 0);
    tc_send_bytes(&t, 1200);
    CHECK(tc_out(&t, &o) && o.len == 536);
    tc_done(&t);
}

/* ---- retransmission --------------------------------------------------------------- */

TEST(net_tcp_rto_backoff)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    tc_send_bytes(&t, 100);
    CHECK(tc_out(&t, &o) && o.len == 100);
    /* The handshake measured ~0 ms: RTO is the 200 ms floor, then doubles. */
    uint64_t start = t.h.now, expect = 200;
    for (int i = 0; i < 5; i++) {
        fake_host_advance(&t.h, start + expect - 1);
        CHECK_UINT_EQ(tc_count_out(&t.h), 0);
        fake_host_advance(&t.h, start + expect);
        CHECK(tc_out(&t, &o) && o.len == 100 && o.seq == t.iss + 1);
        start = t.h.now;
        expect *= 2;
    }
    CHECK_UINT_EQ(tcp_stats(t.c)->rto_timeouts, 5);
    tc_ack_to(&t, 100, 65535);
    tc_send_bytes(&t, 10);
    CHECK(tc_out(&t, &o));
    tc_adv(&t, 199);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0); /* backoff reset by the ACK */
    tc_adv(&t, 1000);
    CHECK(tc_count_out(&t.h) >= 1);
    tc_done(&t);
}

TEST(net_tcp_gives_up_after_max_retries)
{
    struct tc t;

    tc_open(&t);
    t.h.st.lim.tcp_max_retries = 3;
    tc_send_bytes(&t, 100);
    tc_adv(&t, 10000);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSED);
    CHECK_INT_EQ(tcp_error(t.c), -ETIMEDOUT);
    CHECK(t.events & TCP_EV_CLOSED);
    tc_done(&t);
}

TEST(net_tcp_fast_retransmit_and_newreno_partial_ack)
{
    struct tc t;
    struct so o;
    const uint32_t mss = 1460;

    tc_open(&t);
    /* Slow start to a larger window: ACK each flight. */
    tc_send_bytes(&t, 40 * mss);
    uint32_t acked = tc_ack_flights(&t, 3);
    while (tc_out(&t, &o))
        ;
    /* Segments from `acked` on are in flight; the first is lost. The first
     * two duplicate ACKs send one new segment each (limited transmit), the
     * third retransmits the hole. */
    tc_ack_to(&t, acked, 65535);
    CHECK(tc_out(&t, &o) && o.seq != t.iss + 1 + acked);
    tc_ack_to(&t, acked, 65535);
    CHECK(tc_out(&t, &o) && o.seq != t.iss + 1 + acked);
    tc_ack_to(&t, acked, 65535);
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.seq, t.iss + 1 + acked);
    CHECK_UINT_EQ(o.len, mss);
    CHECK_UINT_EQ(tcp_stats(t.c)->fast_retransmits, 1);
    while (tc_out(&t, &o))
        ;
    /* Partial ACK: the next segment was lost too, retransmitted at once. */
    tc_ack_to(&t, acked + mss, 65535);
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.seq, t.iss + 1 + acked + mss);
    tc_done(&t);
}

TEST(net_tcp_sack_recovery_retransmits_holes_only)
{
    struct tc t;
    struct so o;
    const uint32_t mss = 1460 - 12;

    tc_open_opts(&t, 1, 1, -1, 1460);
    tc_send_bytes(&t, 80 * mss);
    uint32_t acked = tc_ack_flights(&t, 8);
    uint32_t hi = acked;
    unsigned n = 0;
    while (tc_out(&t, &o)) {
        hi = o.seq + (uint32_t)o.len - t.iss - 1;
        n++;
    }
    CHECK(n >= 8);
    /* Lost: segment 0 and segment 2 of the flight; the rest SACKed. */
    uint32_t b = t.iss + 1 + acked;
    for (int i = 0; i < 3; i++) {
        struct sg s = {.flags = F_ACK, .seq = t.pseq, .ack = b, .wnd = 65535, .ws = -1, .nsack = 2};
        s.sack[0][0] = b + 3 * mss;
        s.sack[0][1] = b + (uint32_t)(n - 2 + i) * mss;
        s.sack[1][0] = b + mss;
        s.sack[1][1] = b + 2 * mss;
        tc_in(&t, s);
    }
    (void)hi;
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.seq, b);
    CHECK(tc_out(&t, &o));
    CHECK_UINT_EQ(o.seq, b + 2 * mss); /* the second hole, not the SACKed segment 1 */
    CHECK(tcp_stats(t.c)->sack_retransmits == 2);
    /* Then new data, never the SACKed segments again. */
    while (tc_out(&t, &o))
        CHECK(o.seq == b + (uint32_t)n * mss || tc_seq_after(o.seq, b + (uint32_t)n * mss));
    tc_done(&t);
}

/* ---- windows and probes --------------------------------------------------------- */

TEST(net_tcp_zero_window_persist_probes_back_off)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    tc_ack_to(&t, 0, 0);
    tc_send_bytes(&t, 100);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    uint64_t gaps[4];
    uint64_t last = t.h.now;
    for (int i = 0; i < 4; i++) {
        int got = 0;
        for (int k = 0; k < 200 && !got; k++) {
            tc_adv(&t, 100);
            got = tc_out(&t, &o);
        }
        CHECK(got);
        CHECK_UINT_EQ(o.seq, t.iss); /* snd_una - 1, no data */
        CHECK_UINT_EQ(o.len, 0);
        gaps[i] = t.h.now - last;
        last = t.h.now;
        tc_ack_to(&t, 0, 0);
    }
    CHECK(gaps[1] > gaps[0] && gaps[2] > gaps[1]);
    CHECK(tcp_stats(t.c)->zero_window_probes >= 4);
    tc_ack_to(&t, 0, 1000); /* window opens */
    CHECK(tc_out(&t, &o) && o.len == 100);
    tc_done(&t);
}

TEST(net_tcp_keepalive_probes_then_times_out)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    tcp_set_keepalive(t.c, 1, 1000, 500, 3);
    tc_adv(&t, 999);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    tc_adv(&t, 1);
    CHECK(tc_out(&t, &o) && o.seq == t.iss && o.len == 0);
    /* Answered: idle again. */
    tc_ack_to(&t, 0, 65535);
    tc_adv(&t, 999);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    tc_adv(&t, 1);
    CHECK(tc_out(&t, &o));
    tc_adv(&t, 500);
    CHECK(tc_out(&t, &o));
    tc_adv(&t, 500);
    CHECK(tc_out(&t, &o));
    tc_adv(&t, 500);
    CHECK(tc_out(&t, &o) && (o.flags & F_RST));
    CHECK_INT_EQ(tcp_error(t.c), -ETIMEDOUT);
    CHECK_UINT_EQ(tcp_stats(t.c)->keepalive_probes, 4);
    /* Stack-wide: every probe, and the one connection they ended. */
    CHECK_UINT_EQ(TC_KEEPALIVE(&t, "probes"), 4);
    CHECK_UINT_EQ(TC_KEEPALIVE(&t, "timed out"), 1);
    CHECK_UINT_EQ(TC_COUNTER(&t, "tcp: ", "timed out"), 1);
    tc_done(&t);
}

/* Keepalive set on a listener (as zebu_tcp_set_keepalive does) reaches the
 * connection it accepts: idle, then count probes interval apart, then the
 * RST and -ETIMEDOUT, idle + interval * count after the peer went silent. A
 * listener without keepalive leaves its connections silent however long
 * they idle (RFC 1122 4.2.3.6: off by default). */
TEST(net_tcp_keepalive_set_on_a_listener_is_inherited)
{
    for (int on = 0; on <= 1; on++) {
        struct tc t;
        struct so o;

        tc_listen(&t);
        if (on)
            tcp_set_keepalive(t.l, 1, 2000, 300, 2);
        tc_in(&t, (struct sg){.flags = F_SYN, .seq = 5000, .wnd = 65535, .mss = 1460});
        CHECK(tc_out(&t, &o) && o.flags == (F_SYN | F_ACK));
        t.iss = o.seq;
        t.pseq = 5001;
        tc_accept_handshake(&t);
        if (!on) {
            tc_adv(&t, 3 * 3600 * 1000);
            CHECK_UINT_EQ(tc_count_out(&t.h), 0);
            CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
            CHECK_UINT_EQ(TC_KEEPALIVE(&t, "probes"), 0);
            tc_done(&t);
            continue;
        }
        uint64_t silent = t.h.now; /* the handshake's ACK was the last word */
        tc_adv(&t, 1999);
        CHECK_UINT_EQ(tc_count_out(&t.h), 0);
        tc_adv(&t, 1);
        CHECK(tc_out(&t, &o) && o.seq == t.iss && o.len == 0 && !(o.flags & F_RST));
        tc_adv(&t, 300);
        CHECK(tc_out(&t, &o) && o.seq == t.iss && !(o.flags & F_RST));
        CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
        tc_adv(&t, 299);
        CHECK_UINT_EQ(tc_count_out(&t.h), 0);
        tc_adv(&t, 1);
        CHECK(tc_out(&t, &o) && (o.flags & F_RST));
        CHECK_UINT_EQ(t.h.now - silent, 2000 + 300 * 2);
        CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSED);
        CHECK_INT_EQ(tcp_error(t.c), -ETIMEDOUT);
        CHECK(t.events & TCP_EV_CLOSED);
        CHECK_UINT_EQ(TC_KEEPALIVE(&t, "probes"), 2);
        CHECK_UINT_EQ(TC_KEEPALIVE(&t, "timed out"), 1);
        tc_done(&t);
    }
}

/* ---- zero-window stall limit --------------------------------------------------- */

/* The peer keeps its window shut until t->h.now reaches `until`: every
 * probe is answered with an ACK of `rel` and window 0, as a reader that
 * never reads would. Returns the probes seen; their times go to at[] (up
 * to n). The connection must live through it: no RST. */
static unsigned hold_zero_window(struct tc *t, uint64_t until, uint32_t rel, uint64_t *at,
                                 unsigned n)
{
    struct so o;
    unsigned probes = 0;

    while (t->h.now < until) {
        tc_adv(t, until - t->h.now < 100 ? until - t->h.now : 100);
        int answered = 0;
        while (tc_out(t, &o)) {
            CHECK(!(o.flags & F_RST));
            CHECK_UINT_EQ(o.len, 0);
            CHECK_UINT_EQ(o.seq, t->iss + rel); /* snd_una - 1 */
            if (probes < n)
                at[probes] = t->h.now;
            probes++;
            answered = 1;
        }
        if (answered)
            tc_ack_to(t, rel, 0);
    }
    return probes;
}

/* The next segment is our RST and the connection ended with -ETIMEDOUT,
 * counted once; the app sees the error on both sides of the API. */
static void expect_zero_window_abort(struct tc *t, int line)
{
    struct so o;
    uint8_t b[16];

    CHECK_AT(__FILE__, line, tc_out(t, &o) && (o.flags & F_RST), "no RST");
    CHECK_AT(__FILE__, line, tcp_get_state(t->c) == TCP_CLOSED, "state %s",
             tcp_state_name(tcp_get_state(t->c)));
    CHECK_AT(__FILE__, line, tcp_error(t->c) == -ETIMEDOUT, "error %d", tcp_error(t->c));
    CHECK_AT(__FILE__, line, t->events & TCP_EV_CLOSED, "no TCP_EV_CLOSED");
    CHECK_AT(__FILE__, line, TC_ZW_ABORTS(t) == 1, "aborts %llu",
             (unsigned long long)TC_ZW_ABORTS(t));
    CHECK_AT(__FILE__, line, tcp_recv_copy(t->c, b, sizeof(b), t->h.now) == -ETIMEDOUT,
             "recv does not report the abort");
    CHECK_AT(__FILE__, line, tcp_send_copy(t->c, b, sizeof(b), t->h.now) == -ENOTCONN,
             "send still accepted");
    CHECK_AT(__FILE__, line, TC_MEM(t) == 0, "queues held: %llu bytes",
             (unsigned long long)TC_MEM(t));
    char buf[4000];
    net_format_counters(&t->h.st, buf, sizeof(buf));
    CHECK_AT(__FILE__, line, strstr(buf, "tcp stall limits: zero-window aborts 1\n") != NULL,
             "counter not printed: %s", buf);
}
#define EXPECT_ZERO_WINDOW_ABORT(t) expect_zero_window_abort((t), __LINE__)

TEST(net_tcp_zero_window_limit_aborts_a_reader_that_never_opens)
{
    struct tc t;
    uint64_t at[16];

    tc_open(&t);
    CHECK_INT_EQ(tcp_set_limit(t.c, TCP_LIMIT_ZERO_WINDOW, 30000), 0);
    tc_ack_to(&t, 0, 0); /* the window closes: nothing to send yet, no stall */
    tc_adv(&t, 5000);
    CHECK_UINT_EQ(tcp_next_deadline(&t.h.st), NET_NO_DEADLINE);
    uint64_t start = t.h.now;
    tc_send_bytes(&t, 100); /* data waits: the stall begins */
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    unsigned probes = hold_zero_window(&t, start + 29999, 0, at, 16);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    CHECK_UINT_EQ(TC_ZW_ABORTS(&t), 0);
    /* The probes back off as they do without a limit: 0.2, 0.4, ... s. */
    CHECK_AT(__FILE__, __LINE__, probes >= 5 && probes <= 8, "probes %u", probes);
    for (unsigned i = 2; i < probes && i < 16; i++)
        CHECK_AT(__FILE__, __LINE__, at[i] - at[i - 1] > at[i - 1] - at[i - 2],
                 "probe %u after %llu ms, the one before after %llu", i,
                 (unsigned long long)(at[i] - at[i - 1]),
                 (unsigned long long)(at[i - 1] - at[i - 2]));
    CHECK_UINT_EQ(tcp_stats(t.c)->zero_window_probes, probes);
    tc_adv(&t, 1); /* 30 s of zero window with data waiting */
    EXPECT_ZERO_WINDOW_ABORT(&t);
    tc_done(&t);
}

TEST(net_tcp_zero_window_limit_counts_from_a_window_closed_on_data_in_flight)
{
    struct tc t;
    struct so o;
    uint64_t at[1];

    tc_open(&t);
    tcp_set_limit(t.c, TCP_LIMIT_ZERO_WINDOW, 3000);
    tc_send_bytes(&t, 1000);
    CHECK(tc_out(&t, &o) && o.len == 1000);
    tc_adv(&t, 50);
    uint64_t start = t.h.now;
    tc_ack_to(&t, 500, 0); /* half taken, window closed: the rest waits in flight */
    hold_zero_window(&t, start + 2999, 500, at, 0);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    tc_adv(&t, 1);
    EXPECT_ZERO_WINDOW_ABORT(&t);
    tc_done(&t);
}

TEST(net_tcp_zero_window_opened_before_the_limit_delivers_and_restarts_the_clock)
{
    struct tc t;
    struct so o;
    uint64_t at[1];

    tc_open(&t);
    tcp_set_limit(t.c, TCP_LIMIT_ZERO_WINDOW, 10000);
    tc_ack_to(&t, 0, 0);
    uint64_t start = t.h.now;
    tc_send_bytes(&t, 100);
    CHECK(hold_zero_window(&t, start + 9900, 0, at, 0) >= 3);
    tc_ack_to(&t, 0, 1000); /* the reader reads: the window opens */
    CHECK(tc_out(&t, &o) && o.len == 100 && o.seq == t.iss + 1 && o.first == 0);
    tc_ack_to(&t, 100, 0); /* all taken, and shut again: nothing waits, no stall */
    tc_adv(&t, 60000);
    nt_learn_peer(&t.h); /* ARP entries live 60 s */
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    /* New data at the shut window: a new stall, timed from its own start. */
    start = t.h.now;
    tc_send_bytes(&t, 200);
    hold_zero_window(&t, start + 9999, 100, at, 0);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    tc_ack_to(&t, 100, 200);
    CHECK(tc_out(&t, &o) && o.len == 200);
    tc_ack_to(&t, 300, 65535);
    tc_adv(&t, 30000);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    CHECK_UINT_EQ(TC_ZW_ABORTS(&t), 0);
    CHECK_UINT_EQ(tcp_next_deadline(&t.h.st), NET_NO_DEADLINE);
    tc_done(&t);
}

TEST(net_tcp_zero_window_limit_stack_default_and_overrides)
{
    struct tc t;
    uint64_t at[1];

    /* Off by default: a minute of zero window is allowed (RFC 9293 3.8.6.1). */
    tc_open(&t);
    CHECK_UINT_EQ(t.h.st.lim.tcp_zero_window_ms, 0);
    tc_ack_to(&t, 0, 0);
    tc_send_bytes(&t, 100);
    hold_zero_window(&t, t.h.now + 55000, 0, at, 0);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    CHECK_INT_EQ(tcp_set_limit(t.c, TCP_LIMITS, 1000), -EINVAL);
    /* A limit set during a stall counts from the stall's start. */
    CHECK_INT_EQ(tcp_set_limit(t.c, TCP_LIMIT_ZERO_WINDOW, 20000), 0);
    tc_adv(&t, 0);
    EXPECT_ZERO_WINDOW_ABORT(&t);
    tc_done(&t);

    /* The stack's default reaches new connections... */
    tc_next_stack_zw_ms = 5000;
    tc_open(&t);
    tc_ack_to(&t, 0, 0);
    uint64_t start = t.h.now;
    tc_send_bytes(&t, 100);
    hold_zero_window(&t, start + 4999, 0, at, 0);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    tc_adv(&t, 1);
    EXPECT_ZERO_WINDOW_ABORT(&t);
    tc_done(&t);

    /* ...and the app lifts it on one connection... */
    tc_next_stack_zw_ms = 5000;
    tc_open(&t);
    CHECK_INT_EQ(tcp_set_limit(t.c, TCP_LIMIT_ZERO_WINDOW, 0), 0);
    tc_ack_to(&t, 0, 0);
    tc_send_bytes(&t, 100);
    hold_zero_window(&t, t.h.now + 55000, 0, at, 0);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    CHECK_UINT_EQ(TC_ZW_ABORTS(&t), 0);
    tc_done(&t);

    /* ...or sets its own on the listener, which connections inherit. */
    tc_next_stack_zw_ms = 5000;
    tc_next_listener_zw_ms = 2000;
    tc_open(&t);
    tc_ack_to(&t, 0, 0);
    start = t.h.now;
    tc_send_bytes(&t, 100);
    hold_zero_window(&t, start + 1999, 0, at, 0);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    tc_adv(&t, 1);
    EXPECT_ZERO_WINDOW_ABORT(&t);
    tc_done(&t);
}

TEST(net_tcp_zero_window_limit_frees_a_connection_the_app_closed)
{
    struct tc t;
    struct so o;
    uint64_t at[1];

    tc_next_stack_zw_ms = 4000;
    tc_open(&t);
    tc_ack_to(&t, 0, 0);
    uint64_t start = t.h.now;
    tc_send_bytes(&t, 5000);
    tcp_close(t.c, t.h.now); /* the app is done; the data and a FIN wait */
    t.c = NULL;
    CHECK(hold_zero_window(&t, start + 3999, 0, at, 0) >= 3);
    CHECK_UINT_EQ(TC_CONNS(&t), 2); /* nobody holds it, and it stays */
    tc_adv(&t, 1);
    CHECK(tc_out(&t, &o) && (o.flags & F_RST));
    CHECK_UINT_EQ(TC_ZW_ABORTS(&t), 1);
    CHECK_UINT_EQ(TC_CONNS(&t), 1); /* only the listener: freed */
    CHECK_UINT_EQ(TC_MEM(&t), 0);
    tc_done(&t);
}

/* ---- RFC 5961, PAWS ------------------------------------------------------------- */

TEST(net_tcp_rfc5961_rst_syn_and_ack_checks)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    /* RST in window but not exact: challenge ACK. */
    tc_in(&t, (struct sg){.flags = F_RST, .seq = t.pseq + 100, .ws = -1});
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == t.pseq);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_CHALLENGE_ACK), 1);
    /* SYN in ESTABLISHED: challenge ACK. */
    tc_in(&t, (struct sg){.flags = F_SYN, .seq = t.pseq + 5, .wnd = 100, .ws = -1});
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == t.pseq);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_CHALLENGE_ACK), 2);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    /* ACK of data never sent: dropped, counted, answered. */
    tc_in(&t, (struct sg){.flags = F_ACK | F_PSH,
                          .seq = t.pseq,
                          .ack = t.iss + 5000,
                          .wnd = 100,
                          .ws = -1,
                          .len = 10});
    CHECK_UINT_EQ(DROPS(&t.h, TCP_ACK_RANGE), 1);
    CHECK_UINT_EQ(tcp_readable(t.c), 0);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK);
    /* Out of window RST: silently dropped. */
    tc_in(&t, (struct sg){.flags = F_RST, .seq = t.pseq + 10000000, .ws = -1});
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_OUT_OF_WINDOW), 1);
    /* Rate limit: none allowed from the next second on. */
    t.h.st.lim.tcp_chack_per_s = 0;
    tc_adv(&t, 1000);
    tc_in(&t, (struct sg){.flags = F_RST, .seq = t.pseq + 1, .ws = -1});
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_CHALLENGE_ACK), 3);
    /* The exact RST resets. */
    tc_in(&t, (struct sg){.flags = F_RST, .seq = t.pseq, .ws = -1});
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSED);
    CHECK_INT_EQ(tcp_error(t.c), -ECONNRESET);
    CHECK(t.events & TCP_EV_CLOSED);
    tc_done(&t);
}

TEST(net_tcp_paws_drops_old_timestamps)
{
    struct tc t;
    struct so o;

    tc_open_opts(&t, 1, 0, -1, 1460);
    tc_in(&t, (struct sg){.flags = F_ACK,
                          .seq = t.pseq,
                          .ack = t.iss + 1,
                          .wnd = 100,
                          .ws = -1,
                          .ts = 1,
                          .tsval = 100000,
                          .len = 10});
    t.pseq += 10;
    CHECK_UINT_EQ(tcp_readable(t.c), 10);
    fake_dev_clear(&t.h.dev);
    tc_in(&t, (struct sg){.flags = F_ACK,
                          .seq = t.pseq,
                          .ack = t.iss + 1,
                          .wnd = 100,
                          .ws = -1,
                          .ts = 1,
                          .tsval = 99999,
                          .len = 10});
    CHECK_UINT_EQ(DROPS(&t.h, TCP_PAWS), 1);
    CHECK_UINT_EQ(tcp_readable(t.c), 10);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.tsecr == 100000);
    tc_done(&t);
}

/* ---- limits and malformed segments ------------------------------------------------ */

TEST(net_tcp_syn_cache_and_backlog_limits)
{
    struct tc t;
    struct so o;

    tc_host(&t, 0);
    t.h.st.lim.tcp_syn_cache = 2;
    t.h.st.lim.tcp_syncookies = 0; /* a full cache always evicts (cookies: below) */
    CHECK_INT_EQ(tcp_listen(&t.h.st, LPORT, 1, &t.l), 0);
    for (uint16_t p = 1; p <= 3; p++)
        tc_in(
            &t,
            (struct sg){
                .flags = F_SYN, .seq = PISS, .wnd = 1000, .ws = -1, .sport = (uint16_t)(1000 + p)});
    /* The third SYN pushed the oldest half-open connection (port 1001)
     * out of the full cache instead of being refused. */
    CHECK_UINT_EQ(DROPS(&t.h, TCP_SYN_CACHE_FULL), 0);
    CHECK_UINT_EQ(TC_COUNTER(&t, "tcp: ", "syn-cache evicted"), 1);
    CHECK_UINT_EQ(TC_COOKIES(&t, "sent"), 0);
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 2);
    uint32_t iss[3];
    for (int i = 0; i < 3; i++) {
        CHECK(tc_out(&t, &o));
        iss[i] = o.seq;
    }
    CHECK(iss[1] != iss[2]); /* RFC 6528: per 4-tuple */
    /* The evicted one's ACK finds no connection: reset. */
    fake_dev_clear(&t.h.dev);
    tc_in(&t, (struct sg){.flags = F_ACK,
                          .seq = PISS + 1,
                          .ack = iss[0] + 1,
                          .wnd = 1000,
                          .ws = -1,
                          .sport = 1001});
    CHECK(tc_out(&t, &o) && (o.flags & F_RST));
    /* The second completes; the third finds the backlog (1) full. */
    tc_in(&t, (struct sg){.flags = F_ACK,
                          .seq = PISS + 1,
                          .ack = iss[1] + 1,
                          .wnd = 1000,
                          .ws = -1,
                          .sport = 1002});
    tc_in(&t, (struct sg){.flags = F_ACK,
                          .seq = PISS + 1,
                          .ack = iss[2] + 1,
                          .wnd = 1000,
                          .ws = -1,
                          .sport = 1003});
    CHECK_UINT_EQ(DROPS(&t.h, TCP_BACKLOG_FULL), 1);
    tc_in(&t, (struct sg){.flags = F_SYN, .seq = PISS, .wnd = 1000, .ws = -1, .sport = 1009});
    CHECK_UINT_EQ(DROPS(&t.h, TCP_BACKLOG_FULL), 2);
    t.c = tcp_accept(t.l);
    CHECK(t.c != NULL);
    CHECK(tcp_accept(t.l) == NULL);
    /* The half-open one gives up after its SYN-ACK retries and is freed. */
    tc_adv(&t, 200000);
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 0);
    CHECK_UINT_EQ(TC_CONNS(&t), 2);
    tc_done(&t);
}

TEST(net_tcp_ooo_queue_is_capped)
{
    struct tc t;

    tc_open(&t);
    t.h.st.lim.tcp_ooo_segs = 3;
    uint32_t base = t.pseq;
    for (uint32_t i = 0; i < 5; i++) {
        t.pseq = base + 1000 + i * 200;
        tc_peer_data(&t, 100);
    }
    CHECK_UINT_EQ(DROPS(&t.h, TCP_OOO_FULL), 2);
    CHECK_UINT_EQ(tcp_stats(t.c)->ooo_segments, 3);
    t.pseq = base;
    tc_done(&t);
}

/* Out-of-order segments never take the last receive slot, and in-order
 * data reneges on them when it needs room: the segment that fills the hole
 * is always taken (else the connection would stall for good). */
TEST(net_tcp_out_of_order_cannot_starve_in_order_data)
{
    struct tc t;

    tc_open(&t);
    t.h.st.lim.tcp_rcv_segs = 4;
    uint32_t base = t.pseq;
    for (uint32_t i = 0; i < 5; i++) {
        t.pseq = base + 1000 + i * 100;
        tc_peer_data(&t, 100);
    }
    CHECK_UINT_EQ(tcp_stats(t.c)->ooo_segments, 3); /* the fourth slot stays free */
    t.pseq = base;
    tc_peer_data(&t, 100);
    CHECK_UINT_EQ(tcp_readable(t.c), 100);
    tc_peer_data(&t, 100); /* at the limit: the highest out-of-order segment goes */
    CHECK_UINT_EQ(tcp_readable(t.c), 200);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_RX_FULL), 0);
    tc_done(&t);
}

TEST(net_tcp_receive_segment_limit)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    t.h.st.lim.tcp_rcv_segs = 2;
    tc_peer_data(&t, 100);
    tc_peer_data(&t, 100);
    fake_dev_clear(&t.h.dev);
    tc_peer_data(&t, 100); /* a third device buffer would pass the limit: refused */
    t.pseq -= 100;
    CHECK_UINT_EQ(DROPS(&t.h, TCP_RX_FULL), 1);
    CHECK(tc_out(&t, &o) && o.ack == t.pseq);
    CHECK_UINT_EQ(tcp_readable(t.c), 200);
    nbuf_put(tcp_recv(t.c, t.h.now));
    tc_peer_data(&t, 100);
    CHECK_UINT_EQ(tcp_readable(t.c), 200);
    tc_done(&t);
}

TEST(net_tcp_receive_buffer_full_zero_window_then_update)
{
    struct tc t;
    struct so o;

    tc_next_rcvbuf = 2000;
    tc_open(&t);
    tc_peer_data(&t, 1000);
    tc_peer_data(&t, 1000);
    CHECK(tc_out(&t, &o) && o.wnd == 0 && o.ack == t.pseq);
    /* A zero-window probe with one byte: refused, answered with window 0. */
    tc_peer_data(&t, 1);
    t.pseq -= 1;
    CHECK(tc_out(&t, &o) && o.wnd == 0 && o.ack == t.pseq);
    CHECK_UINT_EQ(tcp_readable(t.c), 2000);
    nbuf_put(tcp_recv(t.c, t.h.now));
    CHECK(tc_out(&t, &o) && o.wnd == 1000); /* window update */
    tc_done(&t);
}

TEST(net_tcp_malformed_segments_counted)
{
    struct tc t;
    uint8_t f[NF_MAX_FRAME];

    tc_open(&t);
    struct sg s = {
        .flags = F_ACK, .seq = t.pseq, .ack = t.iss + 1, .wnd = 100, .ws = -1, .len = 10};
    s.bad_csum = 1;
    fake_host_rx(&t.h, f, tc_build(f, &s));
    CHECK_UINT_EQ(DROPS(&t.h, TCP_CHECKSUM), 1);
    s.bad_csum = 0;
    size_t n = tc_build(f, &s);
    f[34 + 12] = 0x40; /* data offset 16 bytes */
    fake_host_rx(&t.h, f, n);
    f[34 + 12] = 0xf0; /* 60 bytes: past the segment */
    fake_host_rx(&t.h, f, 34 + 40);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_OFFSET), 2);
    fake_host_rx(&t.h, f, 34 + 10);
    CHECK(DROPS(&t.h, TCP_SHORT) + DROPS(&t.h, IP_TOTAL_LEN) >= 1);
    CHECK_UINT_EQ(tcp_readable(t.c), 0);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    tc_done(&t);
}

/* One data segment of len bytes at the peer's next sequence number with
 * raw options; returns the ACK that follows (delayed ACK timer run). */
static int data_with_opts(struct tc *t, const uint8_t *opts, size_t olen, size_t len, struct so *o)
{
    uint8_t f[NF_MAX_FRAME];
    struct sg s = {.flags = F_ACK | F_PSH,
                   .seq = t->pseq,
                   .ack = t->iss + 1,
                   .wnd = 65535,
                   .ws = -1,
                   .len = len,
                   .raw_opts = opts,
                   .raw_len = olen};

    fake_host_rx(&t->h, f, tc_build(f, &s));
    t->pseq += (uint32_t)len;
    tc_adv(t, 200);
    return tc_out(t, o);
}

/* Read everything queued and check it is the peer's bytes from seq on. */
static size_t read_in_order(struct tc *t, uint32_t seq)
{
    uint8_t buf[4096];
    size_t total = 0;
    long n;

    while ((n = tcp_recv_copy(t->c, buf, sizeof(buf), t->h.now)) > 0) {
        for (long i = 0; i < n; i++)
            CHECK_UINT_EQ(buf[i], tc_pattern(seq + (uint32_t)(total + (size_t)i)));
        total += (size_t)n;
    }
    return total;
}

/* RFC 9293 3.1: an option we cannot use costs that option, not the data it
 * came with. Each segment below is taken, in order, and acknowledged. */
TEST(net_tcp_bad_options_cost_the_option_not_the_data)
{
    struct tc t;
    struct so o;
    static const struct {
        uint8_t opts[12];
        size_t len;
        int cut; /* the list ends there (else: one option of a wrong length) */
    } bad[] = {
        {{2, 0, 5, 0xb4}, 4, 1},                        /* length 0 */
        {{8, 1, 0, 0}, 4, 1},                           /* length 1 */
        {{1, 1, 8, 10}, 4, 1},                          /* a timestamp running past the header */
        {{1, 5, 3, 0}, 4, 0},                           /* SACK of length 3 */
        {{8, 8, 0, 0, 0, 1, 0, 0}, 8, 0},               /* timestamp of length 8 */
        {{8, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, 12, 0}, /* ... and of 12 */
        {{2, 3, 5, 1}, 4, 0},                           /* MSS of length 3 */
        {{3, 2, 1, 1}, 4, 0},                           /* window scale of length 2 */
        {{5, 18, 0, 0, 0, 0, 0, 0, 0, 0}, 10, 1},       /* SACK: 18 bytes, 12 there */
    };
    unsigned n = sizeof(bad) / sizeof(bad[0]), cut = 0;

    tc_open(&t);
    uint32_t first = t.pseq;
    for (unsigned i = 0; i < n; i++) {
        CHECK(data_with_opts(&t, bad[i].opts, bad[i].len, 100 + i, &o));
        CHECK_AT(__FILE__, __LINE__, o.flags == F_ACK && o.ack == t.pseq,
                 "bad option %u: flags %#x ack %u, expected %u", i, o.flags, o.ack, t.pseq);
        cut += (unsigned)bad[i].cut;
    }
    CHECK_UINT_EQ(read_in_order(&t, first), t.pseq - first);
    CHECK_UINT_EQ(TC_OPTS_CUT(&t), cut);
    CHECK_UINT_EQ(TC_OPTS_BAD(&t), n - cut);
    CHECK_UINT_EQ(net_iface_total_drops(&t.h.dev.ifc), 0);
    char buf[2048];
    net_format_counters(&t.h.st, buf, sizeof(buf));
    CHECK(strstr(buf, "tcp options, segment kept: lists cut short 4, options of a wrong length "
                      "ignored 5\n") != NULL);
    tc_done(&t);
}

/* After an option of a wrong length the list goes on; after a cut it does
 * not. With timestamps negotiated, the ACK's TSecr shows which TSval the
 * stack took. A segment whose only timestamp is malformed is taken without
 * one, as one sent without (RFC 7323 3.2's drop is a SHOULD; see
 * sync_input), and does not move TS.Recent. */
TEST(net_tcp_options_after_a_bad_one_are_read_until_a_cut)
{
    struct tc t;
    struct so o;
    uint8_t opts[40];

    tc_open_opts(&t, 1, 1, -1, 1460);
    uint32_t first = t.pseq;
    /* A 3-byte SACK, then a good timestamp: taken. */
    static const uint8_t sack3_ts[] = {5, 3, 0, 1, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 1};
    CHECK(data_with_opts(&t, sack3_ts, sizeof(sack3_ts), 50, &o));
    CHECK(o.ack == t.pseq && o.ts && o.tsecr == 12345);
    /* A timestamp of length 8, nothing else: data taken, TS.Recent kept. */
    static const uint8_t ts8[] = {8, 8, 0, 0, 0xff, 0xff, 0, 0};
    CHECK(data_with_opts(&t, ts8, sizeof(ts8), 60, &o));
    CHECK(o.ack == t.pseq && o.ts && o.tsecr == 12345);
    /* Length 0 before a good timestamp: the list ends, the timestamp is
     * not read, the data is taken. */
    memcpy(opts, (const uint8_t[]){1, 1, 30, 0, 8, 10, 0, 0, 0x40, 0, 0, 0, 0, 0, 1, 1}, 16);
    CHECK(data_with_opts(&t, opts, 16, 70, &o));
    CHECK(o.ack == t.pseq && o.tsecr == 12345);
    /* A good timestamp still moves it. */
    memcpy(opts, (const uint8_t[]){1, 1, 8, 10, 0, 0, 0x50, 0, 0, 0, 0, 0}, 12);
    CHECK(data_with_opts(&t, opts, 12, 80, &o));
    CHECK(o.ack == t.pseq && o.tsecr == 0x5000);
    CHECK_UINT_EQ(read_in_order(&t, first), 50 + 60 + 70 + 80);
    CHECK_UINT_EQ(TC_OPTS_CUT(&t), 1);
    CHECK_UINT_EQ(TC_OPTS_BAD(&t), 2);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_PAWS), 0);
    tc_done(&t);
}

/* A SYN whose options are malformed is still answered: without the
 * options it could not use. */
TEST(net_tcp_syn_with_bad_options_is_answered_without_them)
{
    struct fake_host h;
    struct tcp_conn *l;
    struct so o;
    uint8_t f[200];
    /* MSS of length 3, window scale of length 4, then SACK-permitted. */
    static const uint8_t wrong[] = {2, 3, 2, 3, 4, 7, 0, 4, 2, 0, 0, 0};
    /* length 0 first: nothing read */
    static const uint8_t zero[] = {4, 0, 4, 2};

    nt_host(&h, 0);
    nt_learn_peer(&h);
    CHECK_INT_EQ(tcp_listen(&h.st, LPORT, 4, &l), 0);
    fake_host_rx(&h, f,
                 tc_build(f, &(struct sg){.flags = F_SYN,
                                          .seq = 5,
                                          .wnd = 65535,
                                          .raw_opts = wrong,
                                          .raw_len = sizeof(wrong)}));
    CHECK(tc_host_out(&h, &o) && o.flags == (F_SYN | F_ACK) && o.ack == 6);
    CHECK(o.ws < 0 && o.sackok && !o.ts); /* no scaling: its option was malformed */
    fake_host_rx(&h, f,
                 tc_build(f, &(struct sg){.flags = F_SYN,
                                          .seq = 9,
                                          .wnd = 65535,
                                          .sport = RPORT + 1,
                                          .raw_opts = zero,
                                          .raw_len = sizeof(zero)}));
    CHECK(tc_host_out(&h, &o) && o.flags == (F_SYN | F_ACK) && o.ack == 10);
    CHECK(o.ws < 0 && !o.sackok && !o.ts);
    CHECK_UINT_EQ(NT_COUNTER(&h.st, "tcp options, segment kept:", "ignored"), 2);
    CHECK_UINT_EQ(NT_COUNTER(&h.st, "tcp options, segment kept:", "lists cut short"), 1);
    tcp_close(l, h.now);
    fake_dev_clear(&h.dev);
    NT_DESTROY(&h);
}

TEST(net_tcp_closed_port_answered_with_rst)
{
    struct fake_host h;
    struct so o;
    uint8_t f[200];

    nt_host(&h, 0);
    nt_learn_peer(&h);
    fake_host_rx(&h, f, tc_build(f, &(struct sg){.flags = F_SYN, .seq = 5, .ws = -1}));
    CHECK_UINT_EQ(DROPS(&h, TCP_NO_PORT), 1);
    CHECK(tc_host_out(&h, &o));
    CHECK_UINT_EQ(o.flags, F_RST | F_ACK);
    CHECK_UINT_EQ(o.ack, 6);
    CHECK_UINT_EQ(o.seq, 0);
    fake_host_rx(&h, f, tc_build(f, &(struct sg){.flags = F_ACK, .seq = 5, .ack = 77, .ws = -1}));
    CHECK(tc_host_out(&h, &o));
    CHECK_UINT_EQ(o.flags, F_RST);
    CHECK_UINT_EQ(o.seq, 77);
    fake_host_rx(&h, f, tc_build(f, &(struct sg){.flags = F_RST, .seq = 5, .ws = -1}));
    CHECK_UINT_EQ(tc_count_out(&h), 0); /* never an RST for an RST */
    NT_DESTROY(&h);
}

/* RFC 9293 3.9.2.3 (MUST-63): a SYN with an invalid source address is
 * ignored, by TCP or by IP; RFC 1122 3.2.1.3: 0.0.0.0 and the network
 * address are no host's. IPv4 drops them (ip_bad_src) before TCP sees
 * them, so neither a SYN-ACK (nor its retransmission) nor an RST goes out,
 * nor an ARP request for where to send one. */
TEST(net_tcp_martian_sources_get_no_syn_ack_and_no_rst)
{
    struct fake_host h;
    struct tcp_conn *l;
    struct so o;
    uint8_t f[200];

    nt_host(&h, 0);
    nt_learn_peer(&h);
    CHECK_INT_EQ(tcp_listen(&h.st, LPORT, 4, &l), 0);
    const struct sg martians[] = {
        {.flags = F_SYN, .seq = 5, .ws = -1, .mss = 1460, .src_is_zero = 1},
        {.flags = F_SYN, .seq = 5, .ws = -1, .mss = 1460, .src = NF_IP(10, 0, 0, 0)},
        {.flags = F_SYN, .seq = 5, .ws = -1, .dport = 9, .src_is_zero = 1}, /* closed port */
        {.flags = F_ACK, .seq = 5, .ack = 77, .ws = -1, .dport = 9, .src_is_zero = 1},
        {.flags = F_ACK, .seq = 5, .ack = 77, .ws = -1, .src_is_zero = 1}, /* to the listener */
        {.flags = F_ACK, .seq = 5, .ack = 77, .ws = -1, .dport = 9, .src = NF_IP(10, 0, 0, 0)},
    };
    for (unsigned i = 0; i < sizeof(martians) / sizeof(martians[0]); i++)
        fake_host_rx(&h, f, tc_build(f, &martians[i]));
    fake_host_advance(&h, h.now + 10000); /* SYN-ACK retransmission, ARP retries */
    CHECK_UINT_EQ(tc_count_out(&h), 0);
    CHECK_UINT_EQ(DROPS(&h, IP_SRC), 6);
    CHECK_UINT_EQ(DROPS(&h, TCP_NO_PORT), 0);
    CHECK_UINT_EQ(NT_COUNTER(&h.st, "tcp: ", "half-open"), 0);
    /* The same SYN from a real host is answered. */
    fake_host_rx(&h, f, tc_build(f, &(struct sg){.flags = F_SYN, .seq = 5, .ws = -1, .mss = 1460}));
    CHECK(tc_host_out(&h, &o) && o.flags == (F_SYN | F_ACK) && o.ack == 6);
    fake_host_rx(&h, f, tc_build(f, &(struct sg){.flags = F_SYN, .seq = 5, .dport = 9, .ws = -1}));
    CHECK(tc_host_out(&h, &o) && o.flags == (F_RST | F_ACK));
    tcp_close(l, h.now);
    fake_dev_clear(&h.dev);
    NT_DESTROY(&h);
}

/* With the platform's transmit allocator failing (out of memory), TCP
 * still answers: ACKs and RSTs take their header from the stack's reserve,
 * and the slots come back once the device is done with the frames. */
TEST(net_tcp_acks_and_rsts_go_out_when_the_allocator_fails)
{
    struct tc t;
    struct so o;
    uint8_t f[200];

    tc_open(&t);
    t.h.fp.tx_fail_after = 0; /* every platform allocation fails from now */
    for (int i = 0; i < 3 * NET_HDR_RESERVE; i++) {
        tc_peer_data(&t, 100);
        tc_peer_data(&t, 100); /* the second segment is ACKed at once */
        CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == t.pseq);
    }
    fake_host_rx(&t.h, f,
                 tc_build(f, &(struct sg){.flags = F_SYN, .seq = 5, .dport = 9, .ws = -1}));
    CHECK(tc_out(&t, &o) && o.flags == (F_RST | F_ACK));
    CHECK(TC_COUNTER(&t, "stack:", "headers from the reserve") >= 3 * NET_HDR_RESERVE + 1);
    CHECK(t.h.fp.tx_fails > 0);
    unsigned free_slots = 0;
    for (struct net_hdr_slot *sl = t.h.st.hdr_free; sl != NULL; sl = sl->next_free)
        free_slots++;
    CHECK_UINT_EQ(free_slots, NET_HDR_RESERVE); /* all back */
    t.h.fp.tx_fail_after = -1;
    tc_done(&t);
}

/* FIN-WAIT-2 after tcp_close: data from the peer has no reader (RFC 1122
 * 4.2.2.13). */
TEST(net_tcp_data_after_close_gets_rst)
{
    struct tc t;
    struct so o;

    tc_in_state(&t, (struct tcp_fixture){.state = TCP_FIN_WAIT_2,
                                         .iss = 0x12345678u,
                                         .irs = PISS,
                                         .peer_mss = 1460,
                                         .peer_wnd = 1000});
    tcp_close(t.c, t.h.now);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    tc_peer_data(&t, 50);
    CHECK(tc_out(&t, &o) && (o.flags & F_RST));
    CHECK_UINT_EQ(DROPS(&t.h, TCP_CLOSED), 1);
    tc_adv(&t, 1);
    CHECK_UINT_EQ(TC_CONNS(&t), 1);
    t.c = NULL;
    tc_done(&t);
}

TEST(net_tcp_close_with_unread_data_resets)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    tc_peer_data(&t, 50);
    fake_dev_clear(&t.h.dev);
    tcp_close(t.c, t.h.now);
    CHECK(tc_out(&t, &o) && (o.flags & F_RST));
    CHECK_UINT_EQ(TC_CONNS(&t), 1);
    t.c = NULL;
    tc_done(&t);
}

TEST(net_tcp_isn_depends_on_tuple_and_time)
{
    struct fake_host h;
    struct tcp_conn *a, *b;
    struct so o1, o2;

    nt_host(&h, 0);
    nt_learn_peer(&h);
    CHECK_INT_EQ(tcp_connect(&h.st, PEER_IP, 1, 0, &a), 0);
    CHECK(tc_host_out(&h, &o1));
    h.now = 1000;
    CHECK_INT_EQ(tcp_connect(&h.st, PEER_IP, 1, 1000, &b), 0);
    CHECK(tc_host_out(&h, &o2));
    CHECK(o1.seq != o2.seq);
    CHECK(o1.sport != o2.sport);
    tcp_abort(a, 0);
    tcp_abort(b, 0);
    fake_dev_clear(&h.dev);
    NT_DESTROY(&h);
}

/* A port_ok that takes lport % 4 == 1 (or nothing), and what it was asked. */
static struct {
    int reject_all;
    unsigned calls;
    uint32_t lip, rip;
    uint16_t rport;
} port_filter;

static int port_ok_mod4(void *ctx, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    (void)ctx;
    port_filter.calls++;
    port_filter.lip = lip;
    port_filter.rip = rip;
    port_filter.rport = rport;
    return !port_filter.reject_all && lport % 4 == 1;
}

TEST(net_tcp_connect_takes_only_ports_the_platform_accepts)
{
    struct fake_host h;
    struct tcp_conn *c[8], *none = NULL;
    uint16_t ports[8];
    struct so o;

    nt_host(&h, 0);
    nt_learn_peer(&h);
    memset(&port_filter, 0, sizeof(port_filter));
    h.fp.plat.port_ok = port_ok_mod4;
    for (int i = 0; i < 8; i++) {
        CHECK_INT_EQ(tcp_connect(&h.st, PEER_IP, 5555, 0, &c[i]), 0);
        ports[i] = 0;
        if (tc_host_out(&h, &o))
            ports[i] = o.sport; /* the SYN's source port */
        CHECK_UINT_EQ(ports[i] % 4, 1);
        CHECK(ports[i] >= 49152);
        for (int j = 0; j < i; j++)
            CHECK(ports[j] != ports[i]);
    }
    CHECK_UINT_EQ(port_filter.lip, OUR_IP);
    CHECK_UINT_EQ(port_filter.rip, PEER_IP);
    CHECK_UINT_EQ(port_filter.rport, 5555);

    /* Nothing acceptable: one pass over the range (ports in use are not
     * offered), then -EADDRINUSE with nothing sent or kept. */
    port_filter.reject_all = 1;
    port_filter.calls = 0;
    uint64_t opened = h.st.tcp.conns_opened;
    CHECK_INT_EQ(tcp_connect(&h.st, PEER_IP, 5555, 0, &none), -EADDRINUSE);
    CHECK(none == NULL);
    CHECK_UINT_EQ(port_filter.calls, 65536 - 49152 - 8);
    CHECK_UINT_EQ(h.st.tcp.conns_opened, opened);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    for (int i = 0; i < 8; i++)
        tcp_abort(c[i], 0);
    fake_dev_clear(&h.dev);
    NT_DESTROY(&h);
}

TEST(net_tcp_checksum_offload_used_when_offered)
{
    struct tc t;

    tc_host(&t, NET_IF_TX_CSUM);
    struct tcp_conn *c;
    CHECK_INT_EQ(tcp_connect(&t.h.st, PEER_IP, 1, 0, &c), 0);
    struct fake_frame *f = fake_dev_pop(&t.h.dev);
    CHECK(f != NULL && (f->flags & NB_CSUM_NEEDED));
    CHECK(f != NULL && nt_l4_csum_ok(f->data, f->len)); /* completed by the "device" */
    free(f);
    CHECK_UINT_EQ(fake_dev_bad_offload(&t.h.dev), 0);
    tcp_abort(c, 0);
    NT_DESTROY(&t.h);
}

TEST(net_tcp_counters_are_printed)
{
    struct tc t;
    char buf[4000];

    tc_open(&t);
    tc_in(&t, (struct sg){.flags = F_RST, .seq = t.pseq + 100, .ws = -1});
    net_format_counters(&t.h.st, buf, sizeof(buf));
    CHECK(strstr(buf, "tcp_challenge_ack 1") != NULL);
    CHECK(strstr(buf, "tcp: conns 2") != NULL);
    tc_done(&t);
}

TEST(net_tcp_newreno_full_ack_leaves_recovery)
{
    struct tc t;
    struct so o;
    const uint32_t mss = 1460;

    tc_open(&t);
    tc_send_bytes(&t, 40 * mss);
    uint32_t acked = tc_ack_flights(&t, 3);
    uint32_t hi = tc_take_sent(&t, acked);
    for (int i = 0; i < 3; i++)
        tc_ack_to(&t, acked, 65535);
    while (tc_out(&t, &o))
        if (tc_seq_after(o.seq + (uint32_t)o.len - t.iss - 1, hi))
            hi = o.seq + (uint32_t)o.len - t.iss - 1;
    CHECK_UINT_EQ(tcp_stats(t.c)->fast_retransmits, 1);
    /* Everything acknowledged: recovery over, new data flows, no more
     * retransmissions. */
    uint64_t rexmit = tcp_stats(t.c)->retransmits;
    tc_ack_to(&t, hi, 65535);
    unsigned n = 0;
    while (tc_out(&t, &o)) {
        CHECK(tc_seq_after(o.seq, t.iss + hi));
        n++;
    }
    CHECK(n >= 1);
    CHECK_UINT_EQ(tcp_stats(t.c)->retransmits, rexmit);
    tc_done(&t);
}

TEST(net_tcp_ack_far_below_window_is_dropped)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    /* The peer's window was 65535: an ACK more than that below snd_una is
     * not acceptable (RFC 5961 5.2). */
    tc_send_bytes(&t, 1000);
    while (tc_out(&t, &o))
        ;
    tc_ack_to(&t, 1000, 65535);
    tc_in(&t, (struct sg){.flags = F_ACK | F_PSH,
                          .seq = t.pseq,
                          .ack = t.iss - 70000,
                          .wnd = 100,
                          .ws = -1,
                          .len = 10});
    CHECK_UINT_EQ(DROPS(&t.h, TCP_ACK_RANGE), 1);
    CHECK_UINT_EQ(tcp_readable(t.c), 0);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK); /* challenge ACK */
    /* An old but acceptable duplicate ACK with data is fine. */
    tc_in(&t, (struct sg){.flags = F_ACK | F_PSH,
                          .seq = t.pseq,
                          .ack = t.iss + 500,
                          .wnd = 100,
                          .ws = -1,
                          .len = 10});
    CHECK_UINT_EQ(tcp_readable(t.c), 10);
    tc_done(&t);
}

TEST(net_tcp_listener_refuses_bare_ack_and_close_aborts_queue)
{
    struct tc t;
    struct so o;

    tc_host(&t, 0);
    CHECK_INT_EQ(tcp_listen(&t.h.st, LPORT, 4, &t.l), 0);
    tc_in(&t, (struct sg){.flags = F_ACK, .seq = 5, .ack = 1234, .ws = -1});
    CHECK(tc_out(&t, &o) && o.flags == F_RST && o.seq == 1234);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_BAD_STATE), 1);
    /* One connection completes and waits in the queue; closing the
     * listener resets it. */
    tc_in(&t, (struct sg){.flags = F_SYN, .seq = PISS, .wnd = 1000, .ws = -1});
    CHECK(tc_out(&t, &o));
    tc_in(&t,
          (struct sg){.flags = F_ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 1000, .ws = -1});
    CHECK_UINT_EQ(TC_CONNS(&t), 2);
    tcp_close(t.l, t.h.now);
    CHECK(tc_out(&t, &o) && (o.flags & F_RST));
    tc_adv(&t, 1);
    CHECK_UINT_EQ(TC_CONNS(&t), 0);
    NT_DESTROY(&t.h);
}

TEST(net_tcp_send_copy_takes_what_fits)
{
    struct tc t;
    static uint8_t buf[300 * 1024];

    tc_open(&t);
    CHECK_INT_EQ(tcp_send_copy(t.c, buf, sizeof(buf), t.h.now), 256 * 1024);
    CHECK_INT_EQ(tcp_send_copy(t.c, buf, 10, t.h.now), 0);
    CHECK_UINT_EQ(tcp_writable(t.c), 0);
    CHECK_UINT_EQ(TC_COUNTER(&t, "stack:", "copied"), 256 * 1024);
    tc_done(&t);
}

/* ---- a SYN meeting TIME-WAIT (RFC 1122 4.2.2.13, RFC 6191) ---------------------- */

/*
 * A connection that ended in TIME-WAIT the way a Connection: close request
 * does: the peer sent `theirs` bytes, we closed first (tcp_close, or
 * tcp_shutdown when `keep`: the app holds on to its handle) and the
 * peer's FIN came. The peer's ISN was piss: its numbers end at piss +
 * theirs + 2 (rcv_nxt: the FIN counted, t->pseq); its timestamps (when ts)
 * are ts_base + now + 5000. Our last sequence number, the FIN's (returned),
 * lies `ours` past where the ISN clock stands: as if we had sent that much
 * in the last moments (the clock moves 250 a millisecond), so a SYN that
 * ends this TIME-WAIT needs an ISS past it (passive_iss).
 */
static uint32_t tw_enter(struct tc *t, int ts, uint32_t piss, uint32_t ts_base, size_t theirs,
                         size_t ours, int keep)
{
    tc_listen(t);
    uint32_t isn = tcp_isn(&t->h.st, OUR_IP, LPORT, PEER_IP, RPORT, t->h.now);
    tc_conn_in_state(t, (struct tcp_fixture){.state = TCP_TIME_WAIT,
                                             .iss = isn + (uint32_t)ours,
                                             .irs = piss + (uint32_t)theirs,
                                             .peer_mss = 1460,
                                             .ts = (uint8_t)ts,
                                             .ts_recent = ts_base + (uint32_t)t->h.now + 5000});
    CHECK_UINT_EQ(t->pseq, piss + (uint32_t)theirs + 2);
    if (!keep) {
        tcp_close(t->c, t->h.now);
        t->c = NULL; /* released: the stack will free it */
    }
    /* The listener and the TIME-WAIT connection. */
    CHECK_UINT_EQ(TC_CONNS(t), 2);
    return isn + (uint32_t)ours + 1;
}

/* The peer's last TSval, the TIME-WAIT connection's ts_recent. */
static uint32_t tw_ts_recent(const struct tc *t)
{
    return t->ts_base + (uint32_t)t->h.now + 5000;
}

/* A SYN from the peer's port, with a timestamp option or without one. */
static void tw_syn(struct tc *t, uint32_t seq, int ts, uint32_t tsval)
{
    static const uint8_t mss_only[] = {2, 4, 0x05, 0xb4};
    struct sg s = {.flags = F_SYN, .seq = seq, .wnd = 65535, .ws = -1, .ts = ts, .tsval = tsval};

    if (!ts) { /* keep tc_in from adding one */
        s.raw_opts = mss_only;
        s.raw_len = sizeof(mss_only);
    }
    tc_in(t, s);
}

/* The SYN (seq, tsval) was taken by the listener: a SYN-ACK of a new
 * connection whose ISS lies past `old_last`; the handshake completes. */
static void tw_expect_new(struct tc *t, uint32_t seq, int ts, uint32_t tsval, uint32_t old_last)
{
    struct so o;

    CHECK(tc_out(t, &o));
    CHECK_UINT_EQ(o.flags, F_SYN | F_ACK);
    CHECK_UINT_EQ(o.ack, seq + 1);
    CHECK_INT_EQ(o.ts, ts);
    if (ts)
        CHECK_UINT_EQ(o.tsecr, tsval);
    CHECK(tc_seq_after(o.seq, old_last)); /* RFC 1122 4.2.2.13 */
    CHECK_UINT_EQ(TC_TW_SYN(t, "accepted"), 1);
    CHECK_UINT_EQ(TC_HALF_OPEN(t), 1);
    CHECK_UINT_EQ(TC_CONNS(t), t->c != NULL ? 3 : 2); /* a released TIME-WAIT is freed */
    tc_in(t, (struct sg){.flags = F_ACK,
                         .seq = seq + 1,
                         .ack = o.seq + 1,
                         .wnd = 65535,
                         .ws = -1,
                         .ts = ts,
                         .tsval = tsval,
                         .tsecr = o.tsval});
    struct tcp_conn *n = tcp_accept(t->l);
    CHECK(n != NULL);
    if (n != NULL) {
        CHECK_INT_EQ(tcp_get_state(n), TCP_ESTABLISHED);
        tcp_abort(n, t->h.now);
    }
    CHECK_UINT_EQ(tc_count_out(&t->h), 1); /* the RST of that abort, nothing else */
}

/* The SYN was refused: an ACK of the old connection answered it, which
 * stays in TIME-WAIT; `refused` SYNs so far. */
static void tw_expect_refused(struct tc *t, uint64_t refused)
{
    struct so o;

    CHECK(tc_out(t, &o) && o.flags == F_ACK && o.ack == t->pseq);
    CHECK_UINT_EQ(tc_count_out(&t->h), 0);
    CHECK_UINT_EQ(TC_TW_SYN(t, "refused"), refused);
    CHECK_UINT_EQ(TC_TW_SYN(t, "accepted"), 0);
    CHECK_UINT_EQ(TC_HALF_OPEN(t), 0);
    CHECK_UINT_EQ(TC_CONNS(t), 2);
    if (t->c != NULL)
        CHECK_INT_EQ(tcp_get_state(t->c), TCP_TIME_WAIT);
}

/* Timestamps on both sides: a later TSval is a new connection, whatever
 * its sequence number (here one before rcv_nxt). */
TEST(net_tcp_time_wait_syn_with_newer_timestamp_opens_new_connection)
{
    struct tc t;

    uint32_t last = tw_enter(&t, 1, PISS, 0, 100, 20000, 0);
    uint32_t tsr = tw_ts_recent(&t);
    tw_syn(&t, t.pseq - 500, 1, tsr + 1);
    tw_expect_new(&t, t.pseq - 500, 1, tsr + 1, last);
    CHECK_UINT_EQ(TC_TW_SYN(&t, "refused"), 0);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_CHALLENGE_ACK), 0);
    tc_done(&t);
}

/* An older TSval, or an equal one without a later sequence number, is
 * answered as before (RFC 7323 PAWS, RFC 5961 4); an equal TSval with a
 * later sequence number is new (RFC 6191 2). The app kept its handle:
 * the old connection ends, CLOSED without an error. */
TEST(net_tcp_time_wait_syn_with_old_or_equal_timestamp_gets_ack)
{
    struct tc t;

    uint32_t last = tw_enter(&t, 1, PISS, 0, 100, 20000, 1);
    uint32_t tsr = tw_ts_recent(&t);
    tw_syn(&t, t.pseq + 1000, 1, tsr - 1);
    tw_expect_refused(&t, 1);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_PAWS), 1);
    tw_syn(&t, t.pseq, 1, tsr);
    tw_expect_refused(&t, 2);
    tw_syn(&t, t.pseq + 1, 1, tsr);
    tw_expect_new(&t, t.pseq + 1, 1, tsr, last);
    CHECK_UINT_EQ(TC_TW_SYN(&t, "refused"), 2);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSED);
    CHECK_INT_EQ(tcp_error(t.c), 0);
    CHECK(t.events & TCP_EV_CLOSED);
    tc_done(&t);
}

/* No timestamps: a sequence number past rcv_nxt is new, compared mod 2^32
 * (the peer's numbers wrapped during the old connection). */
TEST(net_tcp_time_wait_syn_without_timestamps_past_rcv_nxt_is_new)
{
    struct tc t;

    uint32_t last = tw_enter(&t, 0, PISS_WRAP, 0, 0x180, 20000, 0);
    CHECK(t.pseq < 0x100); /* rcv_nxt wrapped past 0 */
    tw_syn(&t, t.pseq + 1, 0, 0);
    tw_expect_new(&t, t.pseq + 1, 0, 0, last);
    CHECK_UINT_EQ(TC_TW_SYN(&t, "refused"), 0);
    tc_done(&t);
}

/* No timestamps: rcv_nxt itself, just before it, and a number above it as
 * an unsigned integer but before it mod 2^32 are all old. */
TEST(net_tcp_time_wait_syn_without_timestamps_at_or_before_rcv_nxt_gets_ack)
{
    struct tc t;

    tw_enter(&t, 0, PISS_WRAP, 0, 0x180, 20000, 1);
    CHECK(t.pseq < 0x100);
    tw_syn(&t, t.pseq, 0, 0);
    tw_expect_refused(&t, 1);
    tw_syn(&t, t.pseq - 1, 0, 0);
    tw_expect_refused(&t, 2);
    tw_syn(&t, 0xffffff80u, 0, 0);
    tw_expect_refused(&t, 3);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_CHALLENGE_ACK) + DROPS(&t.h, TCP_OUT_OF_WINDOW), 3);
    tc_done(&t);
}

/* TSvals compare mod 2^32 (RFC 7323 5.2): 5 is after 0xfffffff0, and
 * 0xfffffff0 before 16. */
TEST(net_tcp_time_wait_syn_timestamps_compare_mod_2_32)
{
    struct tc t;

    /* tw_enter leaves now at 1000: ts_recent = ts_base + 6000. */
    uint32_t last = tw_enter(&t, 1, PISS, 0xfffffff0u - 6000, 100, 20000, 0);
    CHECK_UINT_EQ(tw_ts_recent(&t), 0xfffffff0u);
    tw_syn(&t, t.pseq - 1, 1, 5);
    tw_expect_new(&t, t.pseq - 1, 1, 5, last);
    tc_done(&t);

    tw_enter(&t, 1, PISS, 16u - 6000, 100, 20000, 0);
    CHECK_UINT_EQ(tw_ts_recent(&t), 16);
    tw_syn(&t, t.pseq + 1, 1, 0xfffffff0u);
    tw_expect_refused(&t, 1);
    tc_done(&t);
}

/* Timestamps on the old connection but none in the SYN: the new one will
 * not use them, so the sequence number decides (RFC 6191 2). */
TEST(net_tcp_time_wait_syn_without_timestamp_option_uses_sequence)
{
    struct tc t;

    tw_enter(&t, 1, PISS, 0, 100, 20000, 0);
    tw_syn(&t, t.pseq - 1, 0, 0);
    tw_expect_refused(&t, 1);
    tc_done(&t);

    uint32_t last = tw_enter(&t, 1, PISS, 0, 100, 20000, 0);
    tw_syn(&t, t.pseq + 1, 0, 0);
    tw_expect_new(&t, t.pseq + 1, 0, 0, last);
    tc_done(&t);
}

/* No listener on the port any more: a challenge ACK, as before. */
TEST(net_tcp_time_wait_syn_without_listener_gets_challenge_ack)
{
    struct tc t;
    struct so o;

    tw_enter(&t, 0, PISS, 0, 100, 20000, 1);
    tcp_close(t.l, t.h.now);
    t.l = NULL;
    tw_syn(&t, t.pseq + 10, 0, 0);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == t.pseq);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_CHALLENGE_ACK), 1);
    CHECK_UINT_EQ(TC_TW_SYN(&t, "refused"), 1);
    CHECK_UINT_EQ(TC_TW_SYN(&t, "accepted"), 0);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_TIME_WAIT);
    tc_done(&t);
}

/* The listener's accept queue is full: the new SYN is dropped and the
 * TIME-WAIT kept, so its retransmission can still be taken. */
TEST(net_tcp_time_wait_syn_with_full_backlog_keeps_time_wait)
{
    struct tc t;
    struct so o;

    uint32_t last = tw_enter(&t, 0, PISS, 0, 100, 20000, 1);
    for (uint16_t sp = 2000; sp < 2004; sp++) { /* tc_open's backlog: 4 */
        tc_in(&t, (struct sg){.flags = F_SYN, .seq = PISS, .wnd = 1000, .ws = -1, .sport = sp});
        CHECK(tc_out(&t, &o) && o.flags == (F_SYN | F_ACK));
        tc_in(&t, (struct sg){.flags = F_ACK,
                              .seq = PISS + 1,
                              .ack = o.seq + 1,
                              .wnd = 1000,
                              .ws = -1,
                              .sport = sp});
    }
    tw_syn(&t, t.pseq + 1, 0, 0);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_BACKLOG_FULL), 1);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_TIME_WAIT);
    CHECK_UINT_EQ(TC_TW_SYN(&t, "accepted") + TC_TW_SYN(&t, "refused"), 0);
    struct tcp_conn *q = tcp_accept(t.l);
    CHECK(q != NULL);
    tcp_abort(q, t.h.now);
    fake_dev_clear(&t.h.dev);
    tw_syn(&t, t.pseq + 1, 0, 0);
    CHECK(tc_out(&t, &o) && o.flags == (F_SYN | F_ACK) && tc_seq_after(o.seq, last));
    CHECK_UINT_EQ(TC_TW_SYN(&t, "accepted"), 1);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSED);
    tc_done(&t);
}

TEST(net_tcp_time_wait_syn_counters_are_printed)
{
    struct tc t;
    char buf[4000];

    tw_enter(&t, 0, PISS, 0, 100, 20000, 0);
    tw_syn(&t, t.pseq, 0, 0);
    tw_syn(&t, t.pseq + 1, 0, 0);
    net_format_counters(&t.h.st, buf, sizeof(buf));
    CHECK(strstr(buf, "time-wait SYN accepted 1, refused 1") != NULL);
    tc_done(&t);
}

/* ---- SYN cookies ------------------------------------------------------------- */

/* n SYNs from spoofed ports first_port..: half-open connections whose
 * SYN-ACKs nobody answers (discarded). */
static void ck_flood(struct tc *t, uint16_t first_port, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        tc_in(t, (struct sg){.flags = F_SYN,
                             .seq = 5000 + i,
                             .wnd = 1000,
                             .ws = -1,
                             .sport = (uint16_t)(first_port + i)});
    fake_dev_clear(&t->h.dev);
}

/* A listener (accept queue `backlog`) whose SYN cache of `cache` entries
 * is full of spoofed half-open connections, at 1 s on the clock. */
static void ck_setup(struct tc *t, unsigned cache, unsigned backlog)
{
    memset(t, 0, sizeof(*t));
    nt_host(&t->h, 0);
    nt_learn_peer(&t->h);
    t->h.now = 1000;
    t->h.st.lim.tcp_syn_cache = cache;
    CHECK_INT_EQ(tcp_listen(&t->h.st, LPORT, backlog, &t->l), 0);
    tcp_set_notify(t->l, tc_on_event, t);
    ck_flood(t, 1001, cache);
    CHECK_UINT_EQ(TC_HALF_OPEN(t), cache);
}

/* A real client's SYN from sport (ISN piss; mss 0: no option, ws < 0:
 * none); its SYN-ACK in *o. */
static void ck_syn(struct tc *t, uint16_t sport, uint32_t piss, uint16_t mss, int ws, int sack,
                   int ts, struct so *o)
{
    tc_in(t, (struct sg){.flags = F_SYN,
                         .seq = piss,
                         .wnd = 65535,
                         .mss = mss,
                         .ws = ws,
                         .sackok = sack,
                         .ts = ts,
                         .tsval = t->ts_base + (uint32_t)t->h.now + 5000,
                         .sport = sport});
    CHECK(tc_out(t, o));
    CHECK_UINT_EQ(o->flags, F_SYN | F_ACK);
    CHECK_UINT_EQ(o->ack, piss + 1);
    CHECK_UINT_EQ(o->dport, sport);
}

/* The client's ACK of the SYN-ACK sa (from RPORT, with timestamps when
 * ts): the connection is accepted into t->c. */
static void ck_complete(struct tc *t, const struct so *sa, int ts)
{
    t->iss = sa->seq;
    t->pseq = sa->ack;
    t->ts = ts;
    t->last_tsval = sa->tsval;
    tc_accept_handshake(t);
}

/* The peer's bytes arrived in order: read them and compare. */
static void ck_read_peer_bytes(struct tc *t, uint32_t seq, size_t len)
{
    static uint8_t buf[8192];
    CHECK_INT_EQ(tcp_recv_copy(t->c, buf, sizeof(buf), t->h.now), (long)len);
    for (size_t i = 0; i < len; i++)
        if (buf[i] != tc_pattern(seq + (uint32_t)i)) {
            CHECK(buf[i] == tc_pattern(seq + (uint32_t)i));
            break;
        }
}

/* Every segment sent now: the payload bytes, the largest segment, and the
 * last one in *last. */
static size_t ck_take(struct tc *t, size_t *largest, struct so *last)
{
    struct so o;
    size_t total = 0;

    *largest = 0;
    while (tc_out(t, &o)) {
        total += o.len;
        if (o.len > *largest)
            *largest = o.len;
        *last = o;
    }
    return total;
}

/* A full cache of young entries: the real client's SYN gets a cookie
 * SYN-ACK at once, nothing is kept, and its ACK makes an accepted
 * connection with every option the peer offered (timestamps carry the
 * window scale and SACK): data both ways, windows scaled, SACK sent. */
TEST(net_tcp_syncookie_answers_a_syn_when_the_cache_is_full)
{
    struct tc t;
    struct so o, last;
    size_t largest;

    ck_setup(&t, 64, 4);
    ck_syn(&t, RPORT, PISS, 1460, 7, 1, 1, &o);
    CHECK_INT_EQ(o.mss, 1460);
    CHECK_INT_EQ(o.ws, 3); /* ours, for the 256 KiB buffer */
    CHECK(o.sackok && o.ts);
    CHECK_UINT_EQ(o.tsecr, 1000 + 5000);
    CHECK_UINT_EQ(o.tsval & 31, 7 | 16); /* the peer's shift and SACK-permitted */
    CHECK_UINT_EQ(o.wnd, 65535);
    CHECK_UINT_EQ(TC_COOKIES(&t, "sent"), 1);
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 64); /* nothing kept, nothing evicted */
    CHECK_UINT_EQ(TC_COUNTER(&t, "tcp: ", "syn-cache evicted"), 0);
    CHECK_UINT_EQ(TC_CONNS(&t), 65);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    uint32_t cookie_tsval = o.tsval;
    tc_adv(&t, 20);
    ck_complete(&t, &o, 1);
    CHECK_UINT_EQ(TC_COOKIES(&t, "accepted"), 1);
    CHECK_UINT_EQ(TC_COOKIES(&t, "rejected"), 0);
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 64);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0); /* the handshake's ACK needs no answer */
    /* Peer to us: delivered, acknowledged with our window scaled by 3 and
     * the peer's timestamp echoed. */
    tc_peer_data(&t, 1000);
    uint32_t peer_tsval = t.ts_base + (uint32_t)t.h.now + 5000;
    ck_read_peer_bytes(&t, PISS + 1, 1000);
    tc_adv(&t, 50);
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == t.pseq);
    CHECK_UINT_EQ(o.wnd, (256u * 1024) >> 3);
    CHECK(o.ts && o.tsecr == peer_tsval);
    CHECK(!tc_seq_after(cookie_tsval, o.tsval)); /* our clock never went back (PAWS) */
    /* Us to the peer: its window is scaled by its shift 7 (30 << 7). */
    tc_ack_to(&t, 0, 30);
    tc_send_bytes(&t, 20000);
    size_t total = ck_take(&t, &largest, &last);
    CHECK(total > 3840 - 1448 && total <= 3840);
    CHECK_UINT_EQ(largest, 1460 - 12); /* the MSS less the timestamp option */
    CHECK(last.ts);
    /* SACK is on: out-of-order data is reported. */
    tc_in(&t, (struct sg){.flags = F_ACK,
                          .seq = t.pseq + 1000,
                          .ack = t.iss + 1,
                          .wnd = 30,
                          .ws = -1,
                          .len = 500});
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == t.pseq);
    CHECK_UINT_EQ(o.nsack, 1);
    CHECK(o.sack[0][0] == t.pseq + 1000 && o.sack[0][1] == t.pseq + 1500);
    tc_done(&t);
}

/* Without timestamps the cookie brings back the MSS only: the SYN-ACK
 * offers neither window scaling nor SACK, and the connection runs without
 * them, its MSS the peer's rounded down to the table (1452 -> 1440). */
TEST(net_tcp_syncookie_without_timestamps_keeps_only_the_mss)
{
    struct tc t;
    struct so o, last;
    size_t largest;

    ck_setup(&t, 4, 4);
    ck_syn(&t, RPORT, PISS, 1452, 7, 1, 0, &o);
    CHECK_INT_EQ(o.mss, 1460);
    CHECK_INT_EQ(o.ws, -1);
    CHECK(!o.sackok && !o.ts);
    ck_complete(&t, &o, 0);
    CHECK_UINT_EQ(TC_COOKIES(&t, "accepted"), 1);
    /* The peer's window is not scaled. */
    tc_ack_to(&t, 0, 5000);
    tc_send_bytes(&t, 20000);
    size_t total = ck_take(&t, &largest, &last);
    CHECK_UINT_EQ(largest, 1440);
    CHECK(total > 5000 - 1440 && total <= 5000);
    CHECK(!last.ts);
    /* Neither is ours, nor is SACK sent. */
    tc_peer_data(&t, 100);
    ck_read_peer_bytes(&t, PISS + 1, 100);
    tc_in(&t, (struct sg){.flags = F_ACK,
                          .seq = t.pseq + 1000,
                          .ack = t.iss + 1,
                          .wnd = 5000,
                          .ws = -1,
                          .len = 500});
    CHECK(tc_out(&t, &o) && o.flags == F_ACK && o.ack == t.pseq);
    CHECK_UINT_EQ(o.nsack, 0);
    CHECK_UINT_EQ(o.wnd, 65535); /* 256 KiB less 500 held, unscaled: capped */
    tc_done(&t);
}

/* The MSS a cookie carries: the largest table entry not above the peer's
 * (536 without the option), never above ours. */
TEST(net_tcp_syncookie_mss_rounds_down_to_the_table)
{
    static const uint16_t peer[] = {0, 1460, 1400, 1399, 1300, 600, 535, 9000};
    static const size_t want[] = {536, 1460, 1400, 1360, 1300, 536, 88, 1460};

    for (size_t i = 0; i < sizeof(peer) / sizeof(peer[0]); i++) {
        struct tc t;
        struct so o, last;
        size_t largest;

        ck_setup(&t, 1, 4);
        ck_syn(&t, RPORT, PISS, peer[i], -1, 0, 0, &o);
        ck_complete(&t, &o, 0);
        tc_ack_to(&t, 0, 60000);
        tc_send_bytes(&t, 3000);
        ck_take(&t, &largest, &last);
        CHECK_UINT_EQ(largest, want[i]);
        tc_done(&t);
    }
}

/* ACKs that do not carry a good cookie get the RST any ACK at a listener
 * gets, and are counted: a wrong cookie (off by one, or another value), a
 * good one from another port or
 * for another peer ISN, or one with timestamps the SYN did not have. No
 * connection is made; the right ACK then completes. Before any cookie was
 * sent, a stray ACK is not checked at all. */
TEST(net_tcp_syncookie_forged_acks_are_reset_and_counted)
{
    struct tc t;
    struct so o, r;
    char buf[4000];

    ck_setup(&t, 4, 4);
    tc_in(&t, (struct sg){.flags = F_ACK, .seq = 7, .ack = 12345, .wnd = 1000, .ws = -1});
    CHECK(tc_out(&t, &r) && r.flags == F_RST && r.seq == 12345);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_BAD_STATE), 1);
    CHECK_UINT_EQ(TC_COOKIES(&t, "rejected"), 0);

    ck_syn(&t, RPORT, PISS, 1460, -1, 0, 0, &o);
    const struct sg forged[] = {
        {.flags = F_ACK, .seq = PISS + 1, .ack = o.seq + 2, .wnd = 1000, .ws = -1},
        {.flags = F_ACK, .seq = PISS + 1, .ack = (o.seq ^ 0x5a5a5a5au) + 1, .wnd = 1000, .ws = -1},
        {.flags = F_ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 1000, .ws = -1, .sport = 40001},
        {.flags = F_ACK, .seq = PISS + 2, .ack = o.seq + 1, .wnd = 1000, .ws = -1},
        {.flags = F_ACK,
         .seq = PISS + 1,
         .ack = o.seq + 1,
         .wnd = 1000,
         .ws = -1,
         .ts = 1,
         .tsval = 99,
         .tsecr = 1000},
    };
    for (unsigned i = 0; i < 5; i++) {
        tc_in(&t, forged[i]);
        CHECK(tc_out(&t, &r) && r.flags == F_RST && r.seq == forged[i].ack);
        CHECK_UINT_EQ(TC_COOKIES(&t, "rejected"), i + 1);
        CHECK_UINT_EQ(DROPS(&t.h, TCP_BAD_COOKIE), i + 1);
    }
    CHECK(tcp_accept(t.l) == NULL);
    CHECK_UINT_EQ(TC_CONNS(&t), 5);
    CHECK_UINT_EQ(TC_COOKIES(&t, "accepted"), 0);
    ck_complete(&t, &o, 0);
    CHECK_UINT_EQ(TC_COOKIES(&t, "accepted"), 1);
    net_format_counters(&t.h.st, buf, sizeof(buf));
    CHECK(strstr(buf, "tcp syn cookies: sent 1, accepted 1, rejected 5\n") != NULL);
    CHECK(strstr(buf, "tcp_bad_cookie 5") != NULL);
    tc_done(&t);
}

/* A cookie is good in the period it was made (64 s) and the next one;
 * two periods on it is refused. And once no cookie has been sent for a
 * period, ACKs at a listener are not checked as cookies any more. */
TEST(net_tcp_syncookie_expires_after_two_periods)
{
    struct tc t;
    struct so a, b, c, r;

    ck_setup(&t, 4, 4); /* period 0 */
    ck_syn(&t, RPORT, PISS, 1460, -1, 0, 0, &a);
    ck_syn(&t, 40001, PISS, 1460, -1, 0, 0, &b);
    tc_adv(&t, 100000 - 1000); /* period 1 */
    fake_dev_clear(&t.h.dev);
    nt_learn_peer(&t.h); /* (the ARP entry expired) */
    tc_in(&t, (struct sg){.flags = F_ACK,
                          .seq = PISS + 1,
                          .ack = b.seq + 1,
                          .wnd = 1000,
                          .ws = -1,
                          .sport = 40001});
    struct tcp_conn *cb = tcp_accept(t.l);
    CHECK(cb != NULL && tcp_get_state(cb) == TCP_ESTABLISHED);
    CHECK_UINT_EQ(TC_COOKIES(&t, "accepted"), 1);
    tcp_abort(cb, t.h.now);
    tc_adv(&t, 30000); /* period 2; the spoofed half-open entries gave up */
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 0);
    fake_dev_clear(&t.h.dev);
    nt_learn_peer(&t.h);
    const struct sg ack_a = {
        .flags = F_ACK, .seq = PISS + 1, .ack = a.seq + 1, .wnd = 1000, .ws = -1};
    tc_in(&t, ack_a); /* no cookie sent in periods 1 and 2: an ACK as ever */
    CHECK(tc_out(&t, &r) && r.flags == F_RST);
    CHECK_UINT_EQ(TC_COOKIES(&t, "rejected"), 0);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_BAD_STATE), 1);
    ck_flood(&t, 2001, 4);
    ck_syn(&t, 40002, PISS, 1460, -1, 0, 0, &c); /* cookies in use again */
    CHECK_UINT_EQ(TC_COOKIES(&t, "sent"), 3);
    tc_in(&t, ack_a);
    CHECK(tc_out(&t, &r) && r.flags == F_RST);
    CHECK_UINT_EQ(TC_COOKIES(&t, "rejected"), 1);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_BAD_COOKIE), 1);
    CHECK(tcp_accept(t.l) == NULL);
    tc_done(&t);
}

/* A peer ISN of 2^32 - 1 (its first byte is sequence 0), and a cookie
 * within 2,000 of 2^32 (aimed at by choosing the peer's ISN): both
 * handshakes complete and data crosses 2^32 both ways. */
TEST(net_tcp_syncookie_sequence_numbers_wrap)
{
    struct tc t;
    struct so o;

    ck_setup(&t, 4, 4);
    ck_syn(&t, RPORT, 0xffffffffu, 1460, -1, 0, 0, &o);
    ck_complete(&t, &o, 0);
    CHECK_UINT_EQ(t.pseq, 0);
    tc_peer_data(&t, 3000);
    ck_read_peer_bytes(&t, 0, 3000);
    tcp_abort(t.c, t.h.now);
    t.c = NULL;
    fake_dev_clear(&t.h.dev);

    /* cookie - p is a fixed offset plus 27 bits of hash of p: aim p so
     * that the fixed part lands near the top, and try p's until the hash
     * part is small enough. */
    uint32_t p, cookie = 0;
    uint32_t off = tcp_cookie_isn(&t.h.st, OUR_IP, LPORT, PEER_IP, RPORT, 0, 1460, 0, t.h.now);
    for (uint32_t k = 0; k < 8000000; k++) {
        p = 0xffffffffu - 1000u - off + k;
        cookie = tcp_cookie_isn(&t.h.st, OUR_IP, LPORT, PEER_IP, RPORT, p, 1460, 0, t.h.now);
        if (cookie >= 0xffffffffu - 2000u)
            break;
    }
    CHECK(cookie >= 0xffffffffu - 2000u);
    ck_syn(&t, RPORT, p, 1460, -1, 0, 0, &o);
    CHECK_UINT_EQ(o.seq, cookie);
    ck_complete(&t, &o, 0);
    CHECK_UINT_EQ(TC_COOKIES(&t, "accepted"), 2);
    tc_send_bytes(&t, 4000);
    CHECK_UINT_EQ(tc_ack_flights(&t, 4), 4000); /* ACKs past 2^32 */
    CHECK(t.iss + 1 + 4000 < 4000);          /* (they were) */
    CHECK_UINT_EQ(tcp_stats(t.c)->bytes_acked, 4000);
    tc_peer_data(&t, 500);
    ck_read_peer_bytes(&t, p + 1, 500);
    tc_done(&t);
}

/* The accept queue is full when a good cookie's ACK comes: it is dropped
 * (no RST, no state); the peer's data segment, carrying the same cookie,
 * makes the connection once there is room, its data delivered. */
TEST(net_tcp_syncookie_ack_waits_for_room_in_the_accept_queue)
{
    struct tc t;
    struct so a, b;

    ck_setup(&t, 1, 1);
    ck_syn(&t, 40001, PISS, 1460, -1, 0, 0, &a);
    ck_syn(&t, RPORT, PISS, 1460, -1, 0, 0, &b);
    tc_in(&t, (struct sg){.flags = F_ACK,
                          .seq = PISS + 1,
                          .ack = a.seq + 1,
                          .wnd = 1000,
                          .ws = -1,
                          .sport = 40001});
    tc_in(&t,
          (struct sg){.flags = F_ACK, .seq = PISS + 1, .ack = b.seq + 1, .wnd = 1000, .ws = -1});
    CHECK_UINT_EQ(DROPS(&t.h, TCP_BACKLOG_FULL), 1);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    CHECK_UINT_EQ(TC_COOKIES(&t, "accepted"), 1);
    CHECK_UINT_EQ(TC_CONNS(&t), 3); /* listener, spoofed entry, the accepted one */
    struct tcp_conn *ca = tcp_accept(t.l);
    CHECK(ca != NULL);
    t.iss = b.seq;
    t.pseq = PISS + 1;
    tc_peer_data(&t, 300);
    t.c = tcp_accept(t.l);
    CHECK(t.c != NULL);
    CHECK_UINT_EQ(TC_COOKIES(&t, "accepted"), 2);
    ck_read_peer_bytes(&t, PISS + 1, 300);
    tcp_abort(ca, t.h.now);
    tc_done(&t);
}

/* A connection table smaller than twice the SYN cache (little memory):
 * half-open entries take at most half of it, so a flood leaves room for
 * the connections its cookies make, instead of filling the table and
 * dropping every later SYN (tcp_nomem). */
TEST(net_tcp_syncookie_half_open_entries_take_at_most_half_the_table)
{
    struct tc t;
    struct so o;

    tc_host(&t, 0);
    t.h.now = 1000;
    t.h.st.lim.tcp_conns = 12; /* the SYN cache: 64 */
    CHECK_INT_EQ(tcp_listen(&t.h.st, LPORT, 4, &t.l), 0);
    tcp_set_notify(t.l, tc_on_event, &t);
    ck_flood(&t, 1001, 30);
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 6);
    CHECK_UINT_EQ(TC_COOKIES(&t, "sent"), 24);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_NOMEM), 0);
    ck_syn(&t, RPORT, PISS, 1460, -1, 0, 0, &o);
    ck_complete(&t, &o, 0);
    CHECK_UINT_EQ(TC_COOKIES(&t, "accepted"), 1);
    CHECK_UINT_EQ(TC_CONNS(&t), 8);
    tc_done(&t);
}

/* Once the oldest half-open entry has retransmitted its SYN-ACK (1 s
 * unanswered), a new SYN evicts it and gets a full connection, no cookie. */
TEST(net_tcp_syncookie_not_used_once_the_oldest_entry_is_stale)
{
    struct tc t;
    struct so o;

    ck_setup(&t, 2, 4);
    tc_adv(&t, 1100);
    fake_dev_clear(&t.h.dev);
    ck_syn(&t, RPORT, PISS, 1460, 7, 1, 1, &o);
    CHECK_UINT_EQ(TC_COUNTER(&t, "tcp: ", "syn-cache evicted"), 1);
    CHECK_UINT_EQ(TC_COOKIES(&t, "sent"), 0);
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 2);
    ck_complete(&t, &o, 1);
    CHECK_UINT_EQ(TC_COOKIES(&t, "accepted"), 0);
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 1);
    tc_done(&t);
}

/* A SYN that ends a TIME-WAIT needs an ISS past the old incarnation's,
 * which a cookie cannot promise: with the cache full of young entries it
 * evicts the oldest instead. */
TEST(net_tcp_syncookie_not_for_a_syn_ending_time_wait)
{
    struct tc t;
    struct so o;

    uint32_t last = tw_enter(&t, 0, PISS, 0, 100, 20000, 1);
    t.h.st.lim.tcp_syn_cache = 2;
    ck_flood(&t, 1001, 2);
    tw_syn(&t, t.pseq + 1, 0, 0);
    CHECK(tc_out(&t, &o) && o.flags == (F_SYN | F_ACK) && tc_seq_after(o.seq, last));
    CHECK_UINT_EQ(TC_TW_SYN(&t, "accepted"), 1);
    CHECK_UINT_EQ(TC_COUNTER(&t, "tcp: ", "syn-cache evicted"), 1);
    CHECK_UINT_EQ(TC_COOKIES(&t, "sent"), 0);
    tc_done(&t);
}

TEST(net_tcp_rto_follows_measured_rtt)
{
    struct fake_host h;
    struct so o;
    struct tcp_conn *c;
    uint8_t f[200];

    nt_host(&h, 0);
    nt_learn_peer(&h);
    CHECK_INT_EQ(tcp_connect(&h.st, PEER_IP, 5555, 0, &c), 0);
    CHECK(tc_host_out(&h, &o));
    uint32_t iss = o.seq;
    h.now = 300; /* RTT 300 ms: RTO = 300 + 4 * 150 = 900 ms */
    fake_host_rx(&h, f,
                 tc_build(f, &(struct sg){.flags = F_SYN | F_ACK,
                                          .seq = 9000,
                                          .ack = iss + 1,
                                          .wnd = 8000,
                                          .mss = 1460,
                                          .ws = -1,
                                          .sport = 5555,
                                          .dport = o.sport}));
    CHECK(tc_host_out(&h, &o) && o.flags == F_ACK);
    CHECK_INT_EQ(tcp_send_copy(c, "abc", 3, h.now), 3);
    CHECK(tc_host_out(&h, &o) && o.len == 3);
    fake_host_advance(&h, 300 + 899);
    CHECK_UINT_EQ(tc_count_out(&h), 0);
    fake_host_advance(&h, 300 + 900);
    CHECK(tc_host_out(&h, &o) && o.len == 3 && o.seq == iss + 1);
    tcp_abort(c, h.now);
    fake_dev_clear(&h.dev);
    NT_DESTROY(&h);
}

TEST(net_tcp_window_closed_with_data_in_flight_is_probed_not_timed_out)
{
    struct tc t;
    struct so o;

    tc_open(&t);
    t.h.st.lim.tcp_max_retries = 3;
    tc_send_bytes(&t, 1000);
    CHECK(tc_out(&t, &o) && o.len == 1000);
    tc_ack_to(&t, 500, 0); /* half taken, window closed */
    unsigned probes = 0;
    for (int i = 0; i < 40; i++) {
        nt_learn_peer(&t.h); /* the peer answers ARP too (entries live 60 s) */
        tc_adv(&t, 30000);
        while (tc_out(&t, &o)) {
            CHECK_UINT_EQ(o.len, 0);
            probes++;
        }
        tc_ack_to(&t, 500, 0);
    }
    CHECK_AT(__FILE__, __LINE__, probes >= 20, "probes %u", probes);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_ESTABLISHED);
    tc_ack_to(&t, 500, 2000);
    CHECK(tc_out(&t, &o) && o.len == 500 && o.seq == t.iss + 501);
    tc_done(&t);
}

TEST(net_tcp_repeated_syn_gets_syn_ack_again)
{
    struct tc t;
    struct so o;

    tc_host(&t, 0);
    CHECK_INT_EQ(tcp_listen(&t.h.st, LPORT, 4, &t.l), 0);
    tc_in(&t, (struct sg){.flags = F_SYN, .seq = PISS, .wnd = 1000, .ws = -1});
    CHECK(tc_out(&t, &o) && o.flags == (F_SYN | F_ACK));
    uint32_t iss = o.seq;
    tc_in(&t, (struct sg){.flags = F_SYN, .seq = PISS, .wnd = 1000, .ws = -1});
    CHECK(tc_out(&t, &o) && o.flags == (F_SYN | F_ACK) && o.seq == iss && o.ack == PISS + 1);
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 1);
    /* The SYN-ACK is retransmitted on its own timer too, then given up. */
    tc_adv(&t, 1000);
    CHECK(tc_out(&t, &o) && o.flags == (F_SYN | F_ACK));
    tc_adv(&t, 300000);
    CHECK_UINT_EQ(TC_HALF_OPEN(&t), 0);
    CHECK_UINT_EQ(TC_CONNS(&t), 1);
    tcp_close(t.l, t.h.now);
    fake_dev_clear(&t.h.dev);
    NT_DESTROY(&t.h);
}

TEST(net_tcp_segment_without_ack_or_to_broadcast_is_refused)
{
    struct tc t;
    uint8_t f[NF_MAX_FRAME];

    tc_open(&t);
    tc_in(&t, (struct sg){.flags = F_PSH, .seq = t.pseq, .wnd = 100, .ws = -1, .len = 5});
    CHECK_UINT_EQ(DROPS(&t.h, TCP_BAD_STATE), 1);
    CHECK_UINT_EQ(tcp_readable(t.c), 0);
    size_t n = tc_build(f, &(struct sg){.flags = F_SYN, .seq = 1, .ws = -1});
    nf_put32(f + 30, NF_IP(10, 0, 0, 255)); /* subnet broadcast */
    nf_fix_ip_csum(f);
    uint8_t ph[12];
    nf_put32(ph, PEER_IP);
    nf_put32(ph + 4, NF_IP(10, 0, 0, 255));
    ph[8] = 0, ph[9] = 6;
    nf_put16(ph + 10, (uint16_t)(n - 34));
    nf_put16(f + 34 + 16, 0);
    nf_put16(f + 34 + 16, nf_fold(nf_sum(f + 34, n - 34, nf_sum(ph, 12, 0))));
    fake_host_rx(&t.h, f, n);
    CHECK_UINT_EQ(DROPS(&t.h, TCP_BCAST), 1);
    CHECK_UINT_EQ(tc_count_out(&t.h), 0);
    tc_done(&t);
}

/* ---- large segments in several device buffers (GUEST_TSO4) ---------------- */

#define CHAIN_MAX 8

/* Segment s as the device delivers a large one over mergeable buffers:
 * one receive buffer per piece, cut at the frame offsets cuts[0..n-1]
 * (ascending), chained head first. The buffers' data pointers go to
 * bufs[] (n + 1 of them). */
static struct netbuf *chain_frame(struct tc *t, const struct sg *s, const size_t *cuts, unsigned n,
                                  const uint8_t **bufs, size_t *flen)
{
    static uint8_t f[NF_MAX_FRAME];
    struct netbuf *head = NULL, **link = &head;
    size_t len = tc_build(f, s), from = 0;

    for (unsigned i = 0; i <= n; i++) {
        size_t to = i < n ? cuts[i] : len;
        *link = fake_dev_rxbuf(&t->h.dev, f + from, to - from);
        bufs[i] = (*link)->data;
        link = &(*link)->next;
        from = to;
    }
    *flen = len;
    return head;
}

/* Reads every queued buffer: each must be a device buffer in place (its data
 * pointer one of want[], in order, the head's past the 54 header bytes)
 * and hold the pattern from seq on. Returns the bytes read. */
static size_t read_in_place(struct tc *t, uint32_t seq, const uint8_t *const *want, unsigned nwant)
{
    size_t total = 0;
    unsigned k = 0, bad = 0;
    struct netbuf *nb;

    while ((nb = tcp_recv(t->c, t->h.now)) != NULL) {
        CHECK(nb->next == NULL);
        CHECK(nwant == 0 || (nb->flags & NB_RING));
        if (k < nwant)
            CHECK(nb->data == want[k] || nb->data == want[k] + 54);
        k++;
        for (size_t i = 0; i < nb->len; i++)
            bad += nb->data[i] != tc_pattern(seq + (uint32_t)(total + i));
        total += nb->len;
        nbuf_put(nb);
    }
    CHECK_UINT_EQ(bad, 0);
    return total;
}

TEST(net_tcp_large_segment_in_a_chain_is_queued_in_place)
{
    struct tc t;
    const uint8_t *bufs[CHAIN_MAX];
    size_t cuts[] = {1000, 3036, 5072}, flen;
    uint64_t large0;

    tc_open(&t);
    large0 = TC_COUNTER(&t, "tcp segments by payload:", "received", "<=16K");
    struct sg s = {.flags = F_ACK | F_PSH, .seq = t.pseq, .ack = t.iss + 1, .wnd = 65535,
                   .ws = -1, .len = 6000};
    struct netbuf *nb = chain_frame(&t, &s, cuts, 3, bufs, &flen);
    net_input(&t.h.st, &t.h.dev.ifc, nb, t.h.now);
    CHECK_UINT_EQ(TC_COUNTER(&t, "stack:", "chained frames in place"), 1);
    CHECK_UINT_EQ(TC_COUNTER(&t, "stack:", "linearized"), 0);
    CHECK_UINT_EQ(TC_COUNTER(&t, "tcp segments by payload:", "received", "<=16K"), large0 + 1);
    CHECK_UINT_EQ(tcp_readable(t.c), 6000);
    CHECK_INT_EQ(t.h.dev.rx_live, 4); /* every buffer held, none copied */
    CHECK_UINT_EQ(read_in_place(&t, t.pseq, bufs, 4), 6000);
    CHECK_UINT_EQ(TC_COUNTER(&t, "stack:", "copied"), 0);
    CHECK_INT_EQ(t.h.dev.rx_live, 0);
    struct so o;
    int acked = 0;
    while (tc_out(&t, &o))
        acked |= o.ack == t.pseq + 6000;
    CHECK(acked);
    tc_done(&t);
}

TEST(net_tcp_large_segment_chain_out_of_order_then_the_hole)
{
    struct tc t;
    const uint8_t *bufs[CHAIN_MAX];
    size_t cuts[] = {2048, 4096}, flen;

    tc_open(&t);
    /* Bytes [1000, 6000) first, in three buffers; then [0, 1000). */
    struct sg s = {.flags = F_ACK | F_PSH, .seq = t.pseq + 1000, .ack = t.iss + 1, .wnd = 65535,
                   .ws = -1, .len = 5000};
    net_input(&t.h.st, &t.h.dev.ifc, chain_frame(&t, &s, cuts, 2, bufs, &flen), t.h.now);
    CHECK_UINT_EQ(tcp_readable(t.c), 0);
    CHECK_INT_EQ(t.h.dev.rx_live, 3);
    tc_in(&t, (struct sg){.flags = F_ACK | F_PSH, .seq = t.pseq, .ack = t.iss + 1, .wnd = 65535,
                          .ws = -1, .len = 1000});
    CHECK_UINT_EQ(tcp_readable(t.c), 6000);
    const uint8_t *want[4] = {NULL, bufs[0], bufs[1], bufs[2]};
    struct netbuf *first = tcp_recv(t.c, t.h.now);
    CHECK(first != NULL && first->len == 1000 && first->data[0] == tc_pattern(t.pseq));
    nbuf_put(first);
    CHECK_UINT_EQ(read_in_place(&t, t.pseq + 1000, want + 1, 3), 5000);
    CHECK_UINT_EQ(TC_COUNTER(&t, "stack:", "copied"), 0);
    CHECK_INT_EQ(t.h.dev.rx_live, 0);
    tc_done(&t);
}

TEST(net_tcp_large_segment_chain_with_fin_closes_after_the_last_byte)
{
    struct tc t;
    const uint8_t *bufs[CHAIN_MAX];
    size_t cuts[] = {60, 2000}, flen; /* the head holds 6 payload bytes */

    tc_open(&t);
    struct sg s = {.flags = F_ACK | F_PSH | F_FIN, .seq = t.pseq, .ack = t.iss + 1,
                   .wnd = 65535, .ws = -1, .len = 4000};
    net_input(&t.h.st, &t.h.dev.ifc, chain_frame(&t, &s, cuts, 2, bufs, &flen), t.h.now);
    CHECK_INT_EQ(tcp_get_state(t.c), TCP_CLOSE_WAIT);
    CHECK_UINT_EQ(tcp_readable(t.c), 4000);
    CHECK_UINT_EQ(read_in_place(&t, t.pseq, bufs, 3), 4000);
    CHECK(tcp_eof(t.c));
    struct so o;
    int acked = 0;
    while (tc_out(&t, &o))
        acked |= o.ack == t.pseq + 4001;
    CHECK(acked);
    tc_done(&t);
}

TEST(net_tcp_large_segment_chain_with_bad_length_or_checksum_is_dropped)
{
    struct tc t;
    const uint8_t *bufs[CHAIN_MAX];
    size_t cuts[] = {1000, 3000}, flen;

    tc_open(&t);
    struct sg s = {.flags = F_ACK | F_PSH, .seq = t.pseq, .ack = t.iss + 1, .wnd = 65535,
                   .ws = -1, .len = 5000};
    /* The last buffer lost: the IP total length is past the chain. */
    struct netbuf *nb = chain_frame(&t, &s, cuts, 2, bufs, &flen);
    nbuf_chain_trim(nb, 3000);
    net_input(&t.h.st, &t.h.dev.ifc, nb, t.h.now);
    CHECK_UINT_EQ(t.h.dev.ifc.cnt.drops[NET_DROP_IP_TOTAL_LEN], 1);
    /* A byte changed in the last buffer: the sum over the chain fails. */
    nb = chain_frame(&t, &s, cuts, 2, bufs, &flen);
    nb->next->next->data[100] ^= 1;
    net_input(&t.h.st, &t.h.dev.ifc, nb, t.h.now);
    CHECK_UINT_EQ(t.h.dev.ifc.cnt.drops[NET_DROP_TCP_CHECKSUM], 1);
    /* Ethernet padding in a fourth buffer: trimmed away, the rest taken. */
    nb = chain_frame(&t, &s, cuts, 2, bufs, &flen);
    nb->next->next->next = fake_dev_rxbuf(&t.h.dev, "\0\0\0\0", 4);
    net_input(&t.h.st, &t.h.dev.ifc, nb, t.h.now);
    CHECK_UINT_EQ(tcp_readable(t.c), 5000);
    CHECK_UINT_EQ(read_in_place(&t, t.pseq, bufs, 3), 5000);
    CHECK_INT_EQ(t.h.dev.rx_live, 0);
    CHECK_UINT_EQ(TC_COUNTER(&t, "stack:", "copied"), 0);
    tc_done(&t);
}

TEST(net_tcp_chain_with_headers_split_is_linearized_and_counted)
{
    struct tc t;
    const uint8_t *bufs[CHAIN_MAX];
    size_t cuts[] = {40, 2000}, flen; /* the TCP header straddles two buffers */

    tc_open(&t);
    struct sg s = {.flags = F_ACK | F_PSH, .seq = t.pseq, .ack = t.iss + 1, .wnd = 65535,
                   .ws = -1, .len = 3000};
    net_input(&t.h.st, &t.h.dev.ifc, chain_frame(&t, &s, cuts, 2, bufs, &flen), t.h.now);
    CHECK_UINT_EQ(TC_COUNTER(&t, "stack:", "chained frames in place"), 0);
    CHECK_UINT_EQ(TC_COUNTER(&t, "stack:", "linearized"), 1);
    CHECK_UINT_EQ(TC_COUNTER(&t, "stack:", "copied"), flen);
    CHECK_INT_EQ(t.h.dev.rx_live, 0); /* the device buffers went back at once */
    CHECK_UINT_EQ(read_in_place(&t, t.pseq, NULL, 0), 3000);
    tc_done(&t);
}
