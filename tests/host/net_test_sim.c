/*
 * net_test_sim.c - two stacks over the seeded netsim link: ping (small and
 * fragmented), UDP under loss, duplication, reordering and corruption, and
 * replay from a seed.
 */
#include <stdlib.h>
#include <string.h>

#include "net/arp.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/udp.h"
#include "net_test.h"

#define IP_A NF_IP(10, 0, 0, 1)
#define IP_B NF_IP(10, 0, 0, 2)

/* Send an ICMP echo request from host i of the pair (the stack has no ping
 * API; the test builds the message). */
static void send_ping(struct sim_pair *p, int i, uint32_t dst, uint16_t seq, size_t len)
{
    struct netbuf *nb = nbuf_alloc_heap(NET_L4_HEADROOM, 8 + len);
    uint8_t *payload = malloc(len + 1);

    for (size_t k = 0; k < len; k++)
        payload[k] = (uint8_t)(k + seq);
    nf_icmp_echo(nb->data, ICMP_ECHO_REQUEST, 0x77, seq, payload, len);
    free(payload);
    CHECK_INT_EQ(ip4_output(&p->h[i].st, NULL, 0, dst, IP4_PROTO_ICMP, nb, p->now), 0);
}

struct ping_watch {
    unsigned replies;
    size_t last_len;
    int intact;
};

static void watch_replies(void *arg, int to_end, const uint8_t *f, size_t len)
{
    struct ping_watch *w = arg;

    if (to_end != 0 || len < 42 || nf_get16(f + 12) != 0x0800 || f[23] != 1 || f[34] != 0)
        return;
    w->replies++;
    w->last_len = len;
    w->intact = nt_ip_csum_ok(f, len) && nt_l4_csum_ok(f, len) && nf_get16(f + 38) == 0x77;
}

TEST(net_sim_ping_round_trip_between_two_stacks)
{
    struct netsim_cfg cfg = {.seed = 1, .delay_ms = 1};
    struct sim_pair p;
    struct ping_watch w = {0};

    sim_pair_init(&p, &cfg, 0);
    p.observe = watch_replies;
    p.observe_arg = &w;
    send_ping(&p, 0, IP_B, 1, 56);
    sim_pair_run(&p, 100);
    CHECK_UINT_EQ(w.replies, 1);
    CHECK(w.intact);
    CHECK_UINT_EQ(w.last_len, 14 + 20 + 8 + 56);
    /* A answers nothing (it is a reply) but counts it as seen. */
    CHECK_UINT_EQ(p.h[0].dev.ifc.cnt.drops[NET_DROP_ICMP_IGNORED], 1);
    CHECK_UINT_EQ(p.h[0].dev.ifc.cnt.drops[NET_DROP_ICMP_CHECKSUM], 0);
    /* Both learnt each other: the second ping needs no ARP. */
    uint64_t tx = p.h[0].dev.ifc.cnt.tx_packets;
    send_ping(&p, 0, IP_B, 2, 0);
    sim_pair_run(&p, 200);
    CHECK_UINT_EQ(p.h[0].dev.ifc.cnt.tx_packets, tx + 1);
    CHECK_UINT_EQ(w.replies, 2);
    sim_pair_destroy(&p);
    CHECK_INT_EQ(net_fault_live(), 0);
}

TEST(net_sim_large_ping_is_fragmented_both_ways)
{
    struct netsim_cfg cfg = {.seed = 2, .delay_ms = 1, .reorder_pml = 300, .reorder_delay_ms = 3};
    struct sim_pair p;

    sim_pair_init(&p, &cfg, 0);
    for (uint16_t seq = 0; seq < 5; seq++) {
        send_ping(&p, 0, IP_B, seq, 2000 + 1000u * seq);
        sim_pair_run(&p, p.now + 10);
    }
    sim_pair_run(&p, 1000);
    /* Every reply came back in fragments, reassembled and verified by A. */
    struct net_iface *a = &p.h[0].dev.ifc, *b = &p.h[1].dev.ifc;
    CHECK_UINT_EQ(a->cnt.drops[NET_DROP_ICMP_IGNORED], 5);
    CHECK_UINT_EQ(net_iface_total_drops(a), 5);
    /* B's only refusal: A's announcement, about an address it had no use for. */
    CHECK_UINT_EQ(net_iface_total_drops(b), b->cnt.drops[NET_DROP_ARP_IGNORED]);
    CHECK_UINT_EQ(p.h[0].st.reasm.count + p.h[1].st.reasm.count, 0);
    sim_pair_destroy(&p);
    CHECK_INT_EQ(net_fault_live(), 0);
}

/* Datagram seq: length and bytes follow from seq, so any damage shows. */
static size_t dgram_len(unsigned seq)
{
    static const size_t sizes[] = {2, 17, 300, 1472, 1473, 2900, 5000, 64};
    return sizes[seq % 8] + seq % 5;
}

static void fill(uint8_t *b, size_t len, unsigned seq)
{
    b[0] = (uint8_t)seq;
    b[len > 1] = (uint8_t)(seq >> 8);
    for (size_t i = 2; i < len; i++)
        b[i] = (uint8_t)(seq * 131 + i * 7);
}

struct udp_run {
    unsigned sent, received, unique, damaged;
    uint8_t seen[1024];
};

static void drain(struct udp_sock *s, struct udp_run *r)
{
    struct netbuf *nb;
    uint8_t want[6000];

    while ((nb = udp_recv(s, NULL)) != NULL) {
        unsigned seq = nb->len > 1 ? (unsigned)(nb->data[0] | nb->data[1] << 8) : nb->data[0];
        size_t len = seq < 1024 ? dgram_len(seq) : 0;
        r->received++;
        if (len != nb->len) {
            r->damaged++;
        } else {
            fill(want, len, seq);
            if (memcmp(want, nb->data, len) != 0)
                r->damaged++;
            else if (!r->seen[seq]++)
                r->unique++;
        }
        nbuf_put(nb);
    }
}

/* A sends n datagrams to B, 20 ms apart, over a link made from cfg. */
static void udp_over_link_observed(const struct netsim_cfg *cfg, unsigned n, uint32_t features,
                                   struct udp_run *r, struct netsim_stats *stats, uint64_t *b_drops,
                                   void (*observe)(void *, int, const uint8_t *, size_t), void *arg)
{
    struct sim_pair p;
    struct udp_sock *sa, *sb;
    uint8_t buf[6000];

    memset(r, 0, sizeof(*r));
    sim_pair_init(&p, cfg, features);
    p.observe = observe;
    p.observe_arg = arg;
    CHECK_INT_EQ(udp_bind(&p.h[0].st, 5000, &sa), 0);
    CHECK_INT_EQ(udp_bind(&p.h[1].st, 6000, &sb), 0);
    sb->rxq_max = 1024;
    /* Warm up ARP both ways (a lossy link may need a few tries), so that
     * what follows measures UDP, not address resolution at start-up. */
    for (int i = 0; i < 50 && (arp_lookup(&p.h[0].dev.ifc, IP_B) == NULL ||
                               arp_lookup(&p.h[1].dev.ifc, IP_A) == NULL);
         i++) {
        udp_sendto_copy(sa, IP_B, 1, "", 0, p.now);
        udp_sendto_copy(sb, IP_A, 1, "", 0, p.now);
        sim_pair_run(&p, p.now + 100);
    }
    CHECK(arp_lookup(&p.h[0].dev.ifc, IP_B) != NULL);
    for (unsigned seq = 0; seq < n; seq++) {
        size_t len = dgram_len(seq);
        fill(buf, len, seq);
        udp_sendto_copy(sa, IP_B, 6000, buf, len, p.now);
        r->sent++;
        sim_pair_run(&p, p.now + 20);
        drain(sb, r);
    }
    sim_pair_run(&p, p.now + 60000); /* let retries, timeouts and stragglers finish */
    drain(sb, r);
    *stats = *netsim_stats(p.link);
    *b_drops = net_iface_total_drops(&p.h[1].dev.ifc);
    if (getenv("NT_DEBUG")) { /* NT_DEBUG=1 build/host/net_test sim: what went where */
        char cbuf[2000];
        net_format_counters(&p.h[0].st, cbuf, sizeof(cbuf));
        printf("A: %s", cbuf);
        net_format_counters(&p.h[1].st, cbuf, sizeof(cbuf));
        printf("B: %s", cbuf);
        for (unsigned q = 0; q < n; q++)
            if (!r->seen[q])
                printf("missing %u len %zu\n", q, dgram_len(q));
    }
    CHECK_UINT_EQ(p.h[1].st.reasm.count, 0);
    udp_close(sa);
    udp_close(sb);
    sim_pair_destroy(&p);
    CHECK_INT_EQ(net_fault_live(), 0);
}

static void udp_over_link(const struct netsim_cfg *cfg, unsigned n, uint32_t features,
                          struct udp_run *r, struct netsim_stats *stats, uint64_t *b_drops)
{
    udp_over_link_observed(cfg, n, features, r, stats, b_drops, NULL, NULL);
}

TEST(net_sim_udp_over_a_clean_but_unruly_link_delivers_everything)
{
    struct netsim_cfg cfg = {.seed = 3,
                             .delay_ms = 2,
                             .jitter_ms = 5,
                             .dup_pml = 100,
                             .reorder_pml = 200,
                             .reorder_delay_ms = 15};
    struct udp_run r;
    struct netsim_stats st;
    uint64_t drops;

    udp_over_link(&cfg, 300, 0, &r, &st, &drops);
    CHECK_UINT_EQ(r.unique, 300);
    CHECK_UINT_EQ(r.damaged, 0);
    CHECK(r.received >= 300); /* duplicates of whole datagrams arrive twice */
    CHECK(st.duplicated > 0 && st.reordered > 0);
}

TEST(net_sim_udp_under_loss_and_corruption_delivers_only_intact_datagrams)
{
    for (uint64_t seed = 10; seed < 14; seed++) {
        struct netsim_cfg cfg = {.seed = seed,
                                 .delay_ms = 1,
                                 .jitter_ms = 3,
                                 .drop_pml = 100,
                                 .dup_pml = 50,
                                 .reorder_pml = 100,
                                 .reorder_delay_ms = 10,
                                 .corrupt_pml = 50};
        struct udp_run r;
        struct netsim_stats st;
        uint64_t drops;

        udp_over_link(&cfg, 200, seed & 1 ? NET_IF_TX_CSUM : 0, &r, &st, &drops);
        CHECK_AT(__FILE__, __LINE__, r.damaged == 0, "seed %llu: %u damaged datagrams",
                 (unsigned long long)seed, r.damaged);
        /* About 10% of frames lost: most datagrams still arrive. */
        CHECK_AT(__FILE__, __LINE__, r.unique > 120 && r.unique < 200, "seed %llu: %u of 200",
                 (unsigned long long)seed, r.unique);
        CHECK(st.dropped > 0 && st.corrupted > 0);
        CHECK(drops > 0); /* corrupted frames were counted on the way in */
    }
}

TEST(net_sim_runs_replay_exactly_from_their_seed)
{
    struct netsim_cfg cfg = {.seed = 77,
                             .delay_ms = 1,
                             .jitter_ms = 4,
                             .drop_pml = 150,
                             .dup_pml = 80,
                             .reorder_pml = 120,
                             .reorder_delay_ms = 9,
                             .corrupt_pml = 60};
    struct udp_run r1, r2;
    struct netsim_stats s1, s2;
    uint64_t d1, d2;

    udp_over_link(&cfg, 120, 0, &r1, &s1, &d1);
    udp_over_link(&cfg, 120, 0, &r2, &s2, &d2);
    CHECK(memcmp(&s1, &s2, sizeof(s1)) == 0);
    CHECK_UINT_EQ(r1.unique, r2.unique);
    CHECK_UINT_EQ(r1.received, r2.received);
    CHECK(memcmp(r1.seen, r2.seen, sizeof(r1.seen)) == 0);
    CHECK_UINT_EQ(d1, d2);
}

TEST(net_sim_link_logs_its_decisions)
{
    char *log = NULL;
    size_t log_len = 0;
    FILE *mem = open_memstream(&log, &log_len);
    struct netsim_cfg cfg = {
        .seed = 5, .drop_pml = 500, .corrupt_pml = 500, .dup_pml = 500, .log = mem};
    struct netsim_link *l = netsim_create(&cfg);
    uint8_t frame[64] = {0};

    for (int i = 0; i < 20; i++)
        netsim_send(l, i & 1, frame, sizeof(frame), (uint64_t)i);
    fclose(mem);
    CHECK(strstr(log, " drop\n") != NULL);
    CHECK(strstr(log, " corrupt byte ") != NULL);
    CHECK(strstr(log, " duplicate\n") != NULL);
    const struct netsim_stats *st = netsim_stats(l);
    CHECK_UINT_EQ(st->sent, 20);
    CHECK(netsim_next_due(l) != UINT64_MAX);
    free(log);
    netsim_destroy(l);
}

/* The oracle: which datagrams reached B whole, from the frames the link
 * delivered (by IP id; the first fragment names the datagram's seq). */
struct coverage {
    struct {
        uint32_t covered; /* bytes of distinct fragments seen */
        uint32_t end;     /* payload length, once the last fragment was seen */
        int32_t seq;      /* -1: unknown */
        uint8_t seen_off[64];
    } id[65536];
};

static void cover(void *arg, int to_end, const uint8_t *f, size_t len)
{
    struct coverage *c = arg;

    if (to_end != 1 || len < 34 || nf_get16(f + 12) != 0x0800 || f[23] != 17)
        return;
    uint16_t id = nf_get16(f + 18), frag = nf_get16(f + 20);
    size_t off = (size_t)(frag & 0x1fff) * 8, plen = nf_get16(f + 16) - 20u;
    size_t slot = off / 1480;
    if (slot >= 64 || c->id[id].seen_off[slot])
        return; /* a duplicate */
    c->id[id].seen_off[slot] = 1;
    c->id[id].covered += (uint32_t)plen;
    if (!(frag & 0x2000))
        c->id[id].end = (uint32_t)(off + plen);
    if (off == 0 && plen >= 10 && nf_get16(f + 36) == 6000) {
        const uint8_t *d = f + 42;
        size_t dlen = nf_get16(f + 38) - 8u;
        c->id[id].seq = dlen > 1 ? d[0] | d[1] << 8 : d[0];
    }
}

TEST(net_sim_udp_under_loss_delivers_exactly_the_complete_datagrams)
{
    struct coverage *c = malloc(sizeof(*c));

    for (uint64_t seed = 20; seed < 24; seed++) {
        struct netsim_cfg cfg = {.seed = seed,
                                 .delay_ms = 1,
                                 .jitter_ms = 3,
                                 .drop_pml = 100,
                                 .dup_pml = 50,
                                 .reorder_pml = 100,
                                 .reorder_delay_ms = 10};
        struct udp_run r;
        struct netsim_stats st;
        uint64_t drops;
        uint8_t expect[1024] = {0};
        unsigned expected = 0;

        memset(c, 0, sizeof(*c));
        for (size_t i = 0; i < 65536; i++)
            c->id[i].seq = -1;
        udp_over_link_observed(&cfg, 200, 0, &r, &st, &drops, cover, c);
        for (size_t i = 0; i < 65536; i++) {
            if (c->id[i].seq >= 0 && c->id[i].end != 0 && c->id[i].covered == c->id[i].end) {
                expect[c->id[i].seq] = 1;
                expected++;
            }
        }
        unsigned differ = 0;
        for (int q = 0; q < 200; q++)
            differ += expect[q] != (r.seen[q] != 0); /* seen counts duplicates */
        CHECK_UINT_EQ(r.damaged, 0);
        CHECK_AT(__FILE__, __LINE__, differ == 0 && expected == r.unique,
                 "seed %llu: expected %u datagrams, got %u, %u differ", (unsigned long long)seed,
                 expected, r.unique, differ);
        CHECK(st.dropped > 0 && expected < 200);
    }
    free(c);
}
