/*
 * net_test_tcp_sim.c - two stacks over the seeded netsim link: bulk
 * transfers both ways at once at 0%, 1%, 10% and 30% loss with
 * reordering, duplication and corruption; every byte checked, clean close,
 * no leaks; and allocation-failure injection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp.h"
#include "net/tcp_internal.h"
#include "net_test.h"

#define IP_A NF_IP(10, 0, 0, 1)
#define PORT 8080

/* Byte i of direction d's stream. */
static uint8_t stream_byte(int d, uint64_t i)
{
    uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull ^ (uint64_t)(d + 1) * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 29;
    return (uint8_t)(x >> ((i & 7) * 8));
}

struct side {
    struct tcp_conn *c;
    struct net_stack *st;
    uint64_t sent, rcvd, bad;
    int shut, eof, zero_copy_sends;
};

struct xfer_result {
    int completed;
    uint64_t bad;
    uint64_t sim_ms;
    uint64_t retransmits;
    uint64_t gso_frames; /* TSO frames A's device cut up */
    int closed_clean;
    uint64_t cookies_accepted; /* connections A made from a SYN cookie */
    int options;               /* A's connection: window scaling, SACK, timestamps all on */
};

static void pump_send(struct side *s, uint64_t total, int d, uint64_t now)
{
    while (s->sent < total && tcp_get_state(s->c) != TCP_CLOSED) {
        size_t room = tcp_writable(s->c);
        size_t n = total - s->sent < 16384 ? (size_t)(total - s->sent) : 16384;
        if (room < n)
            n = room;
        if (n == 0)
            break;
        uint8_t tmp[16384];
        for (size_t k = 0; k < n; k++)
            tmp[k] = stream_byte(d, s->sent + k);
        if ((s->sent / 16384) & 1) { /* every other chunk zero-copy */
            struct netbuf *nb = tcp_alloc(s->st, n);
            if (nb == NULL)
                break;
            memcpy(nb->data, tmp, n);
            int r = tcp_send(s->c, nb, now);
            if (r != 0) {
                nbuf_put(nb);
                break;
            }
            s->zero_copy_sends++;
            s->sent += n;
        } else {
            long r = tcp_send_copy(s->c, tmp, n, now);
            if (r <= 0)
                break;
            s->sent += (uint64_t)r;
        }
    }
    if (s->sent == total && !s->shut && tcp_get_state(s->c) != TCP_CLOSED) {
        tcp_shutdown(s->c, now);
        s->shut = 1;
    }
}

static void pump_recv(struct side *s, int d, uint64_t now)
{
    struct netbuf *nb;

    while ((nb = tcp_recv(s->c, now)) != NULL) {
        for (size_t k = 0; k < nb->len; k++)
            if (nb->data[k] != stream_byte(d, s->rcvd + k))
                s->bad++;
        s->rcvd += nb->len;
        nbuf_put(nb);
    }
    if (tcp_eof(s->c))
        s->eof = 1;
}

/* Counts frames over the MTU and IPv4 fragments (with an intact header). */
static void watch_size(void *arg, int to_end, const uint8_t *frame, size_t len)
{
    (void)to_end;
    if (len > 1514 || (len >= 34 && nf_get16(frame + 12) == 0x0800 && nt_ip_csum_ok(frame, len) &&
                       (nf_get16(frame + 20) & 0x3fff) != 0))
        (*(unsigned *)arg)++;
}

/* Congestion control of both stacks in the next transfer. */
static unsigned sim_cc = TCP_CC_RENO;
/* Segmentation offload for A (h[0]) in the next transfer: its device then
 * cuts TSO frames into segments before the lossy link. */
static int sim_tso_a;
/* A's SYN cache holds nothing in the next transfer: B's SYN gets a SYN
 * cookie. */
static int sim_cookie_a;

/* A at 10.0.0.1 listens, B connects; both send `total` bytes and close. */
static void transfer(const struct netsim_cfg *cfg, uint32_t features, uint64_t total,
                     uint64_t limit_ms, struct xfer_result *res)
{
    struct sim_pair p;
    struct tcp_conn *l;
    struct side s[2];

    memset(res, 0, sizeof(*res));
    memset(s, 0, sizeof(s));
    unsigned oversize = 0;
    sim_pair_init(&p, cfg, features);
    p.observe = watch_size;
    p.observe_arg = &oversize;
    for (int i = 0; i < 2; i++) {
        p.h[i].st.lim.tcp_max_retries = 30;
        /* NT_CC=0 (NewReno) or 1 (CUBIC) overrides, to compare the two
         * on one seeded link (NT_DEBUG=1 prints the simulated time). */
        p.h[i].st.lim.tcp_cc = getenv("NT_CC") ? (unsigned)atoi(getenv("NT_CC")) : sim_cc;
        s[i].st = &p.h[i].st;
    }
    if (sim_tso_a)
        p.h[0].dev.ifc.features |= NET_IF_TX_TSO;
    if (sim_cookie_a)
        p.h[0].st.lim.tcp_syn_cache = 0;
    CHECK_INT_EQ(tcp_listen(&p.h[0].st, PORT, 4, &l), 0);
    CHECK_INT_EQ(tcp_connect(&p.h[1].st, IP_A, PORT, p.now, &s[1].c), 0);
    while (s[0].c == NULL && p.now < 60000) {
        sim_pair_run(&p, p.now + 10);
        s[0].c = tcp_accept(l);
    }
    CHECK(s[0].c != NULL);
    if (s[0].c == NULL)
        goto out;
    while (p.now < limit_ms) {
        for (int i = 0; i < 2; i++) {
            pump_send(&s[i], total, i, p.now);
            pump_recv(&s[i], 1 - i, p.now);
        }
        if (s[0].eof && s[1].eof && tcp_get_state(s[0].c) != TCP_FIN_WAIT_1 &&
            tcp_get_state(s[1].c) != TCP_FIN_WAIT_1 && tcp_get_state(s[0].c) != TCP_CLOSING &&
            tcp_get_state(s[1].c) != TCP_CLOSING && tcp_get_state(s[0].c) != TCP_LAST_ACK &&
            tcp_get_state(s[1].c) != TCP_LAST_ACK)
            break;
        sim_pair_run(&p, p.now + 2);
        /* A trace for debugging (internals: nothing is checked on them). */
        if (getenv("NT_TRACE") && p.now % 20000 == 0)
            for (int i = 0; i < 2; i++) {
                struct tcp_conn *c = s[i].c;
                printf("t=%llu %c %s una %u nxt %u max %u wnd %u cwnd %u ssth %u rcv_nxt %u adv %u "
                       "ooo %u/%zu rcvq %zu sndq %zu rto %u backoff %u rec %d nsb %u sent %llu "
                       "rcvd %llu\n",
                       (unsigned long long)p.now, 'A' + i, tcp_state_name(c->state),
                       c->snd_una - c->iss, c->snd_nxt - c->iss, c->snd_max - c->iss, c->snd_wnd,
                       c->cwnd, c->ssthresh, c->rcv_nxt - c->irs, c->rcv_adv - c->irs, c->ooo_count,
                       c->ooo_bytes, c->rcvq_bytes, c->sndq_len, c->rto, c->backoff, c->in_recovery,
                       c->nsb, (unsigned long long)s[i].sent, (unsigned long long)s[i].rcvd);
            }
    }
    res->sim_ms = p.now;
    res->completed = s[0].rcvd == total && s[1].rcvd == total && s[0].eof && s[1].eof;
    res->bad = s[0].bad + s[1].bad;
    res->retransmits = tcp_stats(s[0].c)->retransmits + tcp_stats(s[1].c)->retransmits;
    res->gso_frames = p.h[0].dev.gso_frames;
    res->cookies_accepted = NT_COUNTER(&p.h[0].st, "tcp syn cookies:", "accepted");
    /* What the handshake (or the cookie) left on: no API shows it, and the
     * SYN-ACK's options would not show a cookie decoded wrongly. */
    res->options = s[0].c->ws_ok && s[0].c->sack_ok && s[0].c->ts_ok;
    CHECK_UINT_EQ(fake_dev_bad_offload(&p.h[0].dev) + fake_dev_bad_offload(&p.h[1].dev), 0);
    if (getenv("NT_DEBUG")) {
        char buf[4000];
        for (int i = 0; i < 2; i++) {
            const struct tcp_conn_stats *t = tcp_stats(s[i].c);
            net_format_counters(&p.h[i].st, buf, sizeof(buf));
            printf("%c: sent %llu rcvd %llu state %s rexmit %llu rto %llu fast %llu sack %llu "
                   "ooo %llu\n%s",
                   'A' + i, (unsigned long long)s[i].sent, (unsigned long long)s[i].rcvd,
                   tcp_state_name(tcp_get_state(s[i].c)), (unsigned long long)t->retransmits,
                   (unsigned long long)t->rto_timeouts, (unsigned long long)t->fast_retransmits,
                   (unsigned long long)t->sack_retransmits, (unsigned long long)t->ooo_segments,
                   buf);
        }
        printf("sim time %llu ms\n", (unsigned long long)p.now);
    }
    for (int i = 0; i < 2; i++)
        tcp_close(s[i].c, p.now);
    /* TIME-WAIT (2 MSL) and any last retransmissions. */
    sim_pair_run(&p, p.now + 4ull * p.h[0].st.lim.tcp_msl_ms + 130000);
    res->closed_clean = NT_COUNTER(&p.h[0].st, "tcp: ", "conns") == 1 &&
                        NT_COUNTER(&p.h[1].st, "tcp: ", "conns") == 0 &&
                        NT_COUNTER(&p.h[0].st, "tcp: ", "mem") == 0 &&
                        NT_COUNTER(&p.h[1].st, "tcp: ", "mem") == 0;
out:
    CHECK_UINT_EQ(oversize, 0); /* no segment over the MTU: nothing fragmented */
    tcp_close(l, p.now);
    CHECK_UINT_EQ(p.h[0].st.tcp.tq_missed + p.h[1].st.tcp.tq_missed, 0);
    sim_pair_destroy(&p);
    for (int i = 0; i < 2; i++) {
        CHECK_INT_EQ(p.h[i].fp.tx_live, 0);
        CHECK_INT_EQ(p.h[i].dev.rx_live, 0);
    }
    CHECK_INT_EQ(net_fault_live(), 0);
}

#define MIB (1024u * 1024u)

static void check_transfer(const char *what, const struct netsim_cfg *cfg, uint32_t features,
                           uint64_t total, uint64_t limit_ms)
{
    struct xfer_result r;

    transfer(cfg, features, total, limit_ms, &r);
    CHECK_AT(__FILE__, __LINE__, r.completed, "%s: transfer of %llu bytes each way incomplete",
             what, (unsigned long long)total);
    CHECK_AT(__FILE__, __LINE__, r.bad == 0, "%s: %llu corrupt bytes", what,
             (unsigned long long)r.bad);
    CHECK_AT(__FILE__, __LINE__, r.closed_clean, "%s: connections not closed cleanly", what);
    CHECK_AT(__FILE__, __LINE__, !sim_tso_a || r.gso_frames > 0, "%s: no TSO frame sent", what);
    CHECK_AT(__FILE__, __LINE__, sim_tso_a || r.gso_frames == 0, "%s: TSO frames without TSO",
             what);
    CHECK_AT(__FILE__, __LINE__, r.cookies_accepted == (uint64_t)sim_cookie_a,
             "%s: %llu connections from SYN cookies", what, (unsigned long long)r.cookies_accepted);
    CHECK_AT(__FILE__, __LINE__, r.options, "%s: window scaling, SACK or timestamps off", what);
    if (getenv("NT_DEBUG"))
        printf("%s: %llu ms simulated, %llu retransmits\n", what, (unsigned long long)r.sim_ms,
               (unsigned long long)r.retransmits);
}

/* The link faults the sims run through: about 1% and 10% of frames lost,
 * and some duplicated, reordered and corrupted besides. */
static struct netsim_cfg faults_1pct(uint64_t seed, uint32_t delay_ms)
{
    return (struct netsim_cfg){.seed = seed,
                               .delay_ms = delay_ms,
                               .jitter_ms = 2,
                               .drop_pml = 10,
                               .dup_pml = 5,
                               .reorder_pml = 10,
                               .reorder_delay_ms = 5,
                               .corrupt_pml = 5};
}

static struct netsim_cfg faults_10pct(uint64_t seed)
{
    return (struct netsim_cfg){.seed = seed,
                               .delay_ms = 2,
                               .jitter_ms = 3,
                               .drop_pml = 100,
                               .dup_pml = 20,
                               .reorder_pml = 50,
                               .reorder_delay_ms = 8,
                               .corrupt_pml = 20};
}

TEST(net_tcp_sim_16mib_each_way_clean_link)
{
    struct netsim_cfg cfg = {.seed = 100, .delay_ms = 1};

    check_transfer("0%", &cfg, NET_IF_TX_CSUM, 16 * MIB, 600000);
}

TEST(net_tcp_sim_16mib_each_way_1pct_loss)
{
    struct netsim_cfg cfg = faults_1pct(101, 2);

    check_transfer("1%", &cfg, 0, 16 * MIB, 3600000);
}

TEST(net_tcp_sim_16mib_each_way_10pct_loss)
{
    struct netsim_cfg cfg = faults_10pct(102);

    check_transfer("10%", &cfg, NET_IF_TX_CSUM, 16 * MIB, 36000000);
}

TEST(net_tcp_sim_30pct_loss_reorder_dup_corrupt)
{
    struct netsim_cfg cfg = {.seed = 103,
                             .delay_ms = 2,
                             .jitter_ms = 3,
                             .drop_pml = 300,
                             .dup_pml = 30,
                             .reorder_pml = 100,
                             .reorder_delay_ms = 8,
                             .corrupt_pml = 30};

    check_transfer("30%", &cfg, 0, 1 * MIB, 360000000);
}

/* CUBIC (RFC 9438) instead of NewReno, through the same faults. */
TEST(net_tcp_sim_cubic_16mib_each_way_1pct_loss)
{
    struct netsim_cfg cfg = faults_1pct(111, 10);

    sim_cc = TCP_CC_CUBIC;
    check_transfer("cubic 1%", &cfg, 0, 16 * MIB, 3600000);
    sim_cc = TCP_CC_RENO;
}

TEST(net_tcp_sim_cubic_4mib_each_way_10pct_loss)
{
    struct netsim_cfg cfg = faults_10pct(112);

    sim_cc = TCP_CC_CUBIC;
    check_transfer("cubic 10%", &cfg, NET_IF_TX_CSUM, 4 * MIB, 36000000);
    sim_cc = TCP_CC_RENO;
}

/* TSO on one side (A's device cuts its frames into segments before the
 * link): loss, duplication, reordering and corruption hit single
 * segments of a frame, and fast, SACK and timeout retransmissions (one
 * segment, or frames again after a timeout) still deliver every byte. */
TEST(net_tcp_sim_tso_16mib_each_way_1pct_loss)
{
    struct netsim_cfg cfg = faults_1pct(121, 2);

    sim_tso_a = 1;
    check_transfer("tso 1%", &cfg, NET_IF_TX_CSUM, 16 * MIB, 3600000);
    sim_tso_a = 0;
}

TEST(net_tcp_sim_tso_4mib_each_way_10pct_loss)
{
    struct netsim_cfg cfg = faults_10pct(122);

    sim_tso_a = 1;
    check_transfer("tso 10%", &cfg, NET_IF_TX_CSUM, 4 * MIB, 36000000);
    sim_tso_a = 0;
}

TEST(net_tcp_sim_tso_16mib_each_way_clean_link)
{
    struct netsim_cfg cfg = {.seed = 123, .delay_ms = 1};

    sim_tso_a = 1;
    check_transfer("tso 0%", &cfg, NET_IF_TX_CSUM, 16 * MIB, 600000);
    sim_tso_a = 0;
}

/* A's connection made from a SYN cookie (its SYN cache holds nothing):
 * window scale, SACK-permitted and timestamps came back through the
 * cookie, and 4 MiB each way cross the lossy link (the handshake's SYN or
 * ACK may be lost: a SYN again gets a cookie again, B's data carries it). */
TEST(net_tcp_sim_syncookie_4mib_each_way_1pct_loss)
{
    struct netsim_cfg cfg = faults_1pct(131, 2);

    sim_cookie_a = 1;
    check_transfer("cookie 1%", &cfg, NET_IF_TX_CSUM, 4 * MIB, 3600000);
    sim_cookie_a = 0;
}

/* Many connections, one timer queue (net/tcp_tq.c): 3,000 connections
 * opened in bursts, each arming and stopping its timers through the
 * handshake; none is queued late, the queue never holds more than one
 * entry per connection, and it is empty once they are gone. */
TEST(net_tcp_timer_queue_keeps_thousands_of_deadlines_in_order)
{
    struct netsim_cfg cfg = {.seed = 5, .delay_ms = 1};
    struct sim_pair p;
    enum { N = 3000 };
    static struct tcp_conn *cl[N];
    struct tcp_conn *l;

    sim_pair_init(&p, &cfg, 0);
    CHECK_INT_EQ(tcp_listen(&p.h[1].st, 80, 128, &l), 0);
    p.h[0].st.lim.tcp_conns = p.h[1].st.lim.tcp_conns = N + 16;
    for (int i = 0; i < N; i++) {
        CHECK_INT_EQ(tcp_connect(&p.h[0].st, NF_IP(10, 0, 0, 2), 80, p.now, &cl[i]), 0);
        if (i % 64 == 63) {
            sim_pair_run(&p, p.now + 5);
            struct tcp_conn *a;
            while ((a = tcp_accept(l)) != NULL)
                tcp_close(a, p.now); /* the server side goes; ours stay open */
        }
    }
    for (int k = 0; k < 100; k++) { /* SYNs dropped on a full queue come again after 1 s */
        sim_pair_run(&p, p.now + 50);
        struct tcp_conn *a;
        while ((a = tcp_accept(l)) != NULL)
            tcp_close(a, p.now);
    }
    unsigned established = 0;
    for (int i = 0; i < N; i++)
        established +=
            tcp_get_state(cl[i]) == TCP_ESTABLISHED || tcp_get_state(cl[i]) == TCP_CLOSE_WAIT;
    CHECK_UINT_EQ(established, N);
    CHECK(p.h[0].st.tcp.tq_len <= N);
    CHECK_UINT_EQ(p.h[0].st.tcp.tq_missed + p.h[1].st.tcp.tq_missed, 0);
    for (int i = 0; i < N; i++)
        tcp_abort(cl[i], p.now);
    tcp_close(l, p.now);
    sim_pair_run(&p, p.now + 10);
    CHECK_UINT_EQ(p.h[0].st.tcp.tq_len, 0);
    sim_pair_destroy(&p);
}
