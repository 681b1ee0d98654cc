/*
 * net_test_frag.c - IPv4 reassembly (in order, out of order, duplicate,
 * overlapping, timeout, memory and count limits, malformed fragments) and
 * fragmentation on output (large ping replies, large UDP sends).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/checksum.h"
#include "net/ipv4.h"
#include "net/tcp.h"
#include "net/udp.h"
#include "net_test.h"

/* A UDP datagram (header + payload) from the peer's port 4000 to port 7. */
static size_t make_dgram(uint8_t *d, size_t payload, uint8_t seed)
{
    static uint8_t data[65536];

    for (size_t i = 0; i < payload; i++)
        data[i] = (uint8_t)(i * 31 + seed + (i >> 8));
    return nf_udp(d, PEER_IP, OUR_IP, 4000, 7, data, payload);
}

/* Bytes [off, off + len) of d as one fragment of datagram `id`. */
static void send_frag(struct fake_host *h, const uint8_t *d, uint16_t id, size_t off, size_t len,
                      int more)
{
    static uint8_t f[NF_MAX_FRAME];

    size_t n = nf_eth(f, fake_mac_a, fake_mac_peer, 0x0800);
    n += nf_ip(f + n, PEER_IP, OUR_IP, 17, id, (uint16_t)((more ? 0x2000 : 0) | off / 8), len);
    memcpy(f + n, d + off, len);
    fake_host_rx(h, f, n + len);
}

/* Check the socket got exactly the datagram d of dlen bytes. */
static void expect_dgram(struct udp_sock *s, const uint8_t *d, size_t dlen, int line)
{
    struct udp_endpoint from;
    struct netbuf *nb = udp_recv(s, &from);

    CHECK_AT(__FILE__, line, nb != NULL, "no datagram");
    if (nb == NULL)
        return;
    CHECK_AT(__FILE__, line, nb->len == dlen - 8 && memcmp(nb->data, d + 8, dlen - 8) == 0,
             "datagram differs (len %zu, expected %zu)", nb->len, dlen - 8);
    CHECK_AT(__FILE__, line, from.ip == PEER_IP && from.port == 4000, "wrong source");
    nbuf_put(nb);
}
#define EXPECT_DGRAM(s, d, dlen) expect_dgram((s), (d), (dlen), __LINE__)

struct frag_env {
    struct fake_host h;
    struct udp_sock *s;
    uint8_t *d;
};

static void env_init(struct frag_env *e)
{
    nt_host(&e->h, 0);
    CHECK_INT_EQ(udp_bind(&e->h.st, 7, &e->s), 0);
    e->d = malloc(NF_MAX_FRAME);
}

static void env_destroy(struct frag_env *e)
{
    CHECK_UINT_EQ(e->h.st.reasm.count, 0);
    CHECK_UINT_EQ(e->h.st.reasm.mem, 0);
    udp_close(e->s);
    free(e->d);
    NT_DESTROY(&e->h);
}

TEST(net_frag_reassembles_in_order)
{
    struct frag_env e;

    env_init(&e);
    size_t n = make_dgram(e.d, 3000, 1); /* 3008 bytes: 1480 + 1480 + 48 */
    send_frag(&e.h, e.d, 77, 0, 1480, 1);
    send_frag(&e.h, e.d, 77, 1480, 1480, 1);
    CHECK_UINT_EQ(udp_pending(e.s), 0);
    CHECK_UINT_EQ(e.h.st.reasm.count, 1);
    CHECK_INT_EQ(e.h.dev.rx_live, 0); /* fragments are copied, buffers go back */
    send_frag(&e.h, e.d, 77, 2960, 48, 0);
    EXPECT_DGRAM(e.s, e.d, n);
    CHECK_UINT_EQ(e.h.st.cnt.copied_bytes, n);
    CHECK_UINT_EQ(net_iface_total_drops(&e.h.dev.ifc), 0);
    env_destroy(&e);
}

TEST(net_frag_reassembles_out_of_order_and_ignores_duplicates)
{
    struct frag_env e;
    size_t order[][5] = {{4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}, {0, 4, 1, 3, 2}};

    env_init(&e);
    size_t n = make_dgram(e.d, 4500, 2); /* 4508: 4 x 1000 + 508 */
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < 5; i++) {
            size_t p = order[k][i], off = p * 1000;
            send_frag(&e.h, e.d, (uint16_t)(100 + k), off, p == 4 ? n - 4000 : 1000, p != 4);
            if (i == 1) /* a duplicate of the first */
                send_frag(&e.h, e.d, (uint16_t)(100 + k), order[k][0] * 1000,
                          order[k][0] == 4 ? n - 4000 : 1000, order[k][0] != 4);
        }
        EXPECT_DGRAM(e.s, e.d, n);
    }
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_DUP), 3);
    env_destroy(&e);
}

TEST(net_frag_overlaps_keep_the_first_data)
{
    struct frag_env e;
    uint8_t evil[2100];

    env_init(&e);
    size_t n = make_dgram(e.d, 2000, 3); /* 2008 bytes */
    nf_put16(e.d + 6, 0);                /* no UDP checksum: what is delivered is what was kept */
    send_frag(&e.h, e.d, 5, 0, 1200, 1);
    /* Overlaps [800, 1200) with different bytes: ignored there. */
    memcpy(evil, e.d, n);
    memset(evil + 800, 0xee, 800);
    send_frag(&e.h, evil, 5, 800, 800, 1);
    send_frag(&e.h, e.d, 5, 1600, n - 1600, 0);
    struct netbuf *nb = udp_recv(e.s, NULL);
    CHECK(nb != NULL);
    if (nb != NULL) {
        CHECK_UINT_EQ(nb->len, 2000);
        CHECK(memcmp(nb->data, e.d + 8, 1192) == 0);           /* the first fragment's */
        CHECK(memcmp(nb->data + 1192, evil + 1200, 400) == 0); /* new bytes of the second */
        CHECK(memcmp(nb->data + 1592, e.d + 1600, n - 1600) == 0);
        nbuf_put(nb);
    }
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_DUP), 0);
    env_destroy(&e);
}

TEST(net_frag_times_out_incomplete_datagrams)
{
    struct frag_env e;

    env_init(&e);
    make_dgram(e.d, 3000, 4);
    e.h.now = 500;
    send_frag(&e.h, e.d, 9, 0, 1480, 1);
    CHECK_UINT_EQ(net_next_deadline(&e.h.st), 500 + 30000);
    fake_host_advance(&e.h, 30499);
    CHECK_UINT_EQ(e.h.st.reasm.count, 1);
    fake_host_advance(&e.h, 30500);
    CHECK_UINT_EQ(e.h.st.reasm.count, 0);
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_TIMEOUT), 1);
    /* The rest arriving late starts a new datagram that never completes. */
    send_frag(&e.h, e.d, 9, 1480, 1480, 1);
    send_frag(&e.h, e.d, 9, 2960, 48, 0);
    CHECK_UINT_EQ(udp_pending(e.s), 0);
    fake_host_advance(&e.h, 70000);
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_TIMEOUT), 2);
    env_destroy(&e);
}

TEST(net_frag_limits_evict_the_oldest_datagram)
{
    struct frag_env e;

    env_init(&e);
    e.h.st.lim.reasm_datagrams = 2;
    size_t n = make_dgram(e.d, 3000, 5);
    send_frag(&e.h, e.d, 1, 0, 1480, 1);
    e.h.now = 10;
    send_frag(&e.h, e.d, 2, 0, 1480, 1);
    e.h.now = 20;
    send_frag(&e.h, e.d, 3, 0, 1480, 1); /* a third at once: id 1 makes room */
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_NOMEM), 1);
    CHECK_UINT_EQ(e.h.st.reasm.count, 2);
    send_frag(&e.h, e.d, 3, 1480, 1480, 1);
    send_frag(&e.h, e.d, 3, 2960, 48, 0);
    EXPECT_DGRAM(e.s, e.d, n);
    CHECK_UINT_EQ(e.h.st.reasm.count, 1); /* id 2 */

    /* Memory: id 4 must grow past the limit, and id 2 goes for it. Growing
     * from 2 KiB to 4 KiB needs the new buffer beside the old one; with
     * 2 KiB to spare that only fits once id 2 is gone. */
    e.h.st.lim.reasm_datagrams = 16;
    e.h.now = 30;
    send_frag(&e.h, e.d, 4, 0, 1480, 1);
    CHECK_UINT_EQ(e.h.st.reasm.count, 2);
    e.h.st.lim.reasm_mem = e.h.st.reasm.mem + 2048;
    send_frag(&e.h, e.d, 4, 1480, 1480, 1);
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_NOMEM), 2);
    CHECK_UINT_EQ(e.h.st.reasm.count, 1);
    CHECK(e.h.st.reasm.mem <= e.h.st.lim.reasm_mem);
    send_frag(&e.h, e.d, 4, 2960, 48, 0);
    EXPECT_DGRAM(e.s, e.d, n);

    /* A datagram that cannot fit even alone is dropped. */
    e.h.st.lim.reasm_mem = 3000;
    send_frag(&e.h, e.d, 5, 0, 1480, 1);
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_NOMEM), 3);
    CHECK_UINT_EQ(e.h.st.reasm.count, 0);
    e.h.st.lim.reasm_datagrams = 0;
    send_frag(&e.h, e.d, 6, 0, 1480, 1);
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_NOMEM), 4);
    env_destroy(&e);
}

TEST(net_frag_refuses_malformed_fragments)
{
    struct frag_env e;

    env_init(&e);
    make_dgram(e.d, 3000, 6);
    send_frag(&e.h, e.d, 1, 0, 1001, 1); /* MF with a length not a multiple of 8 */
    send_frag(&e.h, e.d, 1, 0, 0, 1);    /* MF and empty */
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_BAD), 2);
    send_frag(&e.h, e.d, 2, 65512, 8, 0); /* ends past 65515 bytes of payload */
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_BAD), 3);
    /* A last fragment, then data beyond its end: the datagram goes. */
    send_frag(&e.h, e.d, 3, 1000, 500, 0);
    send_frag(&e.h, e.d, 3, 1496, 8, 1);
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_BAD), 4);
    CHECK_UINT_EQ(e.h.st.reasm.count, 0);
    /* Two different ends. */
    send_frag(&e.h, e.d, 4, 1000, 500, 0);
    send_frag(&e.h, e.d, 4, 1000, 504, 0);
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_BAD), 5);
    /* An end before data already received. */
    send_frag(&e.h, e.d, 5, 1000, 504, 1);
    send_frag(&e.h, e.d, 5, 8, 8, 0);
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_BAD), 6);
    CHECK_UINT_EQ(e.h.st.reasm.count, 0);
    CHECK_UINT_EQ(udp_pending(e.s), 0);
    env_destroy(&e);
}

TEST(net_frag_reassembles_the_largest_datagram)
{
    struct frag_env e;

    env_init(&e);
    size_t n = make_dgram(e.d, UDP_MAX_PAYLOAD, 7); /* 65515 bytes of IP payload */
    CHECK_UINT_EQ(n, 65515);
    for (size_t off = 0; off < n; off += 1480)
        send_frag(&e.h, e.d, 42, off, n - off < 1480 ? n - off : 1480, off + 1480 < n);
    EXPECT_DGRAM(e.s, e.d, n);
    CHECK_UINT_EQ(net_iface_total_drops(&e.h.dev.ifc), 0);
    env_destroy(&e);
}

/* Reassemble captured fragments by hand (test oracle); returns the IP
 * payload length, or 0 on any inconsistency. */
static size_t collect_fragments(struct fake_host *h, uint8_t *out, size_t cap, unsigned *frags)
{
    struct fake_frame *f;
    size_t total = 0;

    *frags = 0;
    while ((f = fake_dev_pop(&h->dev)) != NULL) {
        const uint8_t *ip = f->data + 14;
        size_t plen = nf_get16(ip + 2) - 20, off = (size_t)(nf_get16(ip + 6) & 0x1fff) * 8;
        int ok = nt_ip_csum_ok(f->data, f->len) && off + plen <= cap && f->len == 34 + plen;
        CHECK(ok);
        if (ok)
            memcpy(out + off, f->data + 34, plen);
        if (!(nf_get16(ip + 6) & 0x2000))
            total = off + plen;
        CHECK(plen <= 1480);
        (*frags)++;
        free(f);
    }
    return total;
}

TEST(net_frag_large_ping_gets_a_fragmented_reply)
{
    struct frag_env e;
    uint8_t *icmp = malloc(4096), *back = malloc(4096);
    unsigned frags;

    env_init(&e);
    nt_learn_peer(&e.h);
    /* ping -s 2000: 2008 bytes of ICMP in two fragments. */
    uint8_t payload[2000];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i ^ (i >> 3));
    size_t n = nf_icmp_echo(icmp, 8, 0x1d, 1, payload, sizeof(payload));
    static uint8_t f[2048];
    size_t cut[3] = {0, 1480, n};
    for (int i = 0; i < 2; i++) {
        size_t m = nf_eth(f, fake_mac_a, fake_mac_peer, 0x0800);
        m += nf_ip(f + m, PEER_IP, OUR_IP, 1, 0x99, (uint16_t)((i == 0 ? 0x2000 : 0) | cut[i] / 8),
                   cut[i + 1] - cut[i]);
        memcpy(f + m, icmp + cut[i], cut[i + 1] - cut[i]);
        fake_host_rx(&e.h, f, m + cut[i + 1] - cut[i]);
    }
    size_t total = collect_fragments(&e.h, back, 4096, &frags);
    CHECK_UINT_EQ(frags, 2);
    CHECK_UINT_EQ(total, n);
    CHECK_UINT_EQ(back[0], 0);
    CHECK(nf_fold(nf_sum(back, total, 0)) == 0);
    CHECK(memcmp(back + 4, icmp + 4, n - 4) == 0);
    free(icmp);
    free(back);
    env_destroy(&e);
}

TEST(net_frag_large_udp_sends_fragment_and_reassemble_on_a_peer)
{
    struct fake_host a, b;
    struct udp_sock *sa, *sb;
    uint8_t *data = malloc(9000);

    fake_host_init(&a, 11, fake_mac_a, NF_IP(10, 0, 0, 1), MASK24, 0, NET_IF_TX_CSUM);
    fake_host_init(&b, 12, fake_mac_b, NF_IP(10, 0, 0, 2), MASK24, 0, 0);
    fake_dev_clear(&a.dev);
    fake_dev_clear(&b.dev);
    CHECK_INT_EQ(udp_bind(&a.st, 1000, &sa), 0);
    CHECK_INT_EQ(udp_bind(&b.st, 2000, &sb), 0);
    for (int i = 0; i < 9000; i++)
        data[i] = (uint8_t)(i * 13);
    CHECK_INT_EQ(udp_sendto_copy(sa, NF_IP(10, 0, 0, 2), 2000, data, 9000, 0), 0);
    /* ARP between the two by hand, then the fragments. */
    for (int round = 0; round < 4; round++) {
        struct fake_frame *f;
        while ((f = fake_dev_pop(&a.dev)) != NULL) {
            CHECK(!(f->flags & NB_CSUM_NEEDED)); /* no offload across fragments */
            fake_host_rx(&b, f->data, f->len);
            free(f);
        }
        while ((f = fake_dev_pop(&b.dev)) != NULL) {
            fake_host_rx(&a, f->data, f->len);
            free(f);
        }
    }
    struct netbuf *nb = udp_recv(sb, NULL);
    CHECK(nb != NULL && nb->len == 9000 && memcmp(nb->data, data, 9000) == 0);
    nbuf_put(nb);
    CHECK_UINT_EQ(a.dev.ifc.cnt.tx_packets, 1 + 1 + 7); /* announce, ARP request, 7 fragments */
    CHECK_UINT_EQ(net_iface_total_drops(&b.dev.ifc), 0);
    free(data);
    udp_close(sa);
    udp_close(sb);
    NT_DESTROY(&a);
    NT_DESTROY(&b);
}

TEST(net_frag_unknown_protocols_are_not_reassembled)
{
    struct fake_host h;
    uint8_t f[1600];

    nt_host(&h, 0);
    size_t n = nf_eth(f, fake_mac_a, fake_mac_peer, 0x0800);
    n += nf_ip(f + n, PEER_IP, OUR_IP, 132, 1, 0x2000, 1480); /* SCTP */
    memset(f + n, 0, 1480);
    fake_host_rx(&h, f, n + 1480);
    CHECK_UINT_EQ(DROPS(&h, IP_PROTO), 1);
    CHECK_UINT_EQ(h.st.reasm.count, 0);
    NT_DESTROY(&h);
}

/* ---- a fragment flood ---------------------------------------------------- */

static uint32_t flood_rng(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* One fragment from an off-link source (198.18.0.0/15): len bytes at
 * off, payload bytes from the generator. */
static void flood_frag(struct fake_host *h, uint32_t *rng, unsigned src, uint16_t id, size_t off,
                       size_t len, int more)
{
    static uint8_t f[NF_MAX_FRAME];

    size_t n = nf_eth(f, fake_mac_a, fake_mac_peer, 0x0800);
    n += nf_ip(f + n, NF_IP(198, 18, src / 250, 1 + src % 250), OUR_IP, 17, id,
               (uint16_t)((more ? 0x2000 : 0) | off / 8), len);
    for (size_t i = 0; i < len; i++)
        f[n + i] = (uint8_t)flood_rng(rng);
    fake_host_rx(h, f, n + len);
}

struct flood_peak {
    size_t mem, heap;
    unsigned count;
    long rx_live;
};

static void flood_note(struct frag_env *e, size_t heap0, struct flood_peak *p)
{
    size_t heap = net_fault_live_bytes() - heap0;
    if (e->h.st.reasm.mem > p->mem)
        p->mem = e->h.st.reasm.mem;
    if (e->h.st.reasm.count > p->count)
        p->count = e->h.st.reasm.count;
    if (heap > p->heap)
        p->heap = heap;
    if (e->h.dev.rx_live > p->rx_live)
        p->rx_live = e->h.dev.rx_live;
}

/*
 * 10,000 tiny fragments of 32 datagrams from 16 sources: 8 bytes, mostly
 * near the start, some anywhere up to 64 KiB (a new datagram's buffer is
 * as large as its furthest fragment), teardrop pairs (a fragment wholly inside an earlier
 * one), runt last fragments that end inside data already received, and
 * overlapping 64-byte pieces. A real datagram goes through in the middle of
 * it. Reassembly stays within its limits all along - its own accounting
 * and the heap it really holds, header buffers and the moment a buffer
 * grows included - and once the timeout has passed holds nothing: every
 * allocation and device buffer is back.
 */
TEST(net_frag_flood_stays_within_limits_and_gives_everything_back)
{
    struct frag_env e;
    struct flood_peak peak = {0};
    uint32_t rng = 0x2545f491u;

    env_init(&e);
    size_t heap0 = net_fault_live_bytes();
    net_fault_peak_reset();
    size_t n = make_dgram(e.d, 3000, 9);
    for (unsigned i = 0; i < 10000; i++) {
        unsigned src = flood_rng(&rng) % 16, kind = flood_rng(&rng) % 10;
        uint16_t id = (uint16_t)(0x1000 + flood_rng(&rng) % 2);
        /* Mostly near the start (buffers of 2 KiB), one in eight anywhere up
         * to 64 KiB (a buffer that large for 8 bytes). */
        size_t off = (flood_rng(&rng) % (flood_rng(&rng) % 8 == 0 ? 8180 : 250)) * 8;
        e.h.now += 2;
        if (kind < 6) { /* tiny */
            flood_frag(&e.h, &rng, src, id, off, 8, 1);
        } else if (kind < 8) { /* teardrop: 24 bytes, then 8 inside them */
            flood_frag(&e.h, &rng, src, id, off, 24, 1);
            flood_note(&e, heap0, &peak);
            flood_frag(&e.h, &rng, src, id, off + 8, 8, 1);
        } else if (kind == 8) { /* a runt end, often inside known data */
            flood_frag(&e.h, &rng, src, id, off, 1 + flood_rng(&rng) % 8, 0);
        } else { /* 64 bytes overlapping whatever is near */
            flood_frag(&e.h, &rng, src, id, off & 0x1ff8, 64, 1);
        }
        flood_note(&e, heap0, &peak);
        if (i == 5000 || i == 5004 || i == 5008) { /* a real datagram meanwhile */
            size_t k = (i - 5000) / 4, off2 = k * 1480;
            send_frag(&e.h, e.d, 0x77, off2, k == 2 ? n - 2960 : 1480, k != 2);
            flood_note(&e, heap0, &peak);
            if (k == 2) /* read at once: the socket's queue is not reassembly's memory */
                EXPECT_DGRAM(e.s, e.d, n);
        }
    }
    CHECK_UINT_EQ(udp_pending(e.s), 0);
    size_t limit = e.h.st.lim.reasm_mem;
    CHECK_AT(__FILE__, __LINE__, peak.mem <= limit, "accounted %zu > %zu", peak.mem, limit);
    CHECK_AT(__FILE__, __LINE__, peak.heap <= limit, "heap %zu > %zu", peak.heap, limit);
    CHECK_AT(__FILE__, __LINE__, net_fault_peak_bytes() - heap0 <= limit, "heap peak %zu > %zu",
             net_fault_peak_bytes() - heap0, limit);
    CHECK(peak.mem > limit / 2); /* the flood did fill it */
    /* The high-water mark saw the moments between frames too. */
    CHECK_UINT_EQ(e.h.st.reasm.mem_max, net_fault_peak_bytes() - heap0);
    char text[4000];
    net_format_counters(&e.h.st, text, sizeof(text));
    char want[120];
    snprintf(want, sizeof(want),
             "reassembly: %u datagrams, %zu bytes held (at most %zu, limit %zu)\n",
             e.h.st.reasm.count, e.h.st.reasm.mem, e.h.st.reasm.mem_max, limit);
    CHECK_AT(__FILE__, __LINE__, strstr(text, want) != NULL, "%s", text);
    CHECK(peak.count <= e.h.st.lim.reasm_datagrams);
    CHECK_INT_EQ(peak.rx_live, 0); /* fragments are copied: device buffers went back at once */
    /* Every kind of refusal happened. */
    CHECK(DROPS(&e.h, IP_FRAG_NOMEM) > 1000);
    CHECK(DROPS(&e.h, IP_FRAG_DUP) > 100);
    CHECK(DROPS(&e.h, IP_FRAG_BAD) > 100);
    if (getenv("NT_DEBUG"))
        printf("flood: reassembly held at most %zu bytes (heap %zu, %u datagrams) of %zu; "
               "over limit %llu, duplicate %llu, bad %llu, timed out %llu\n",
               peak.mem, net_fault_peak_bytes() - heap0, peak.count, limit,
               (unsigned long long)DROPS(&e.h, IP_FRAG_NOMEM),
               (unsigned long long)DROPS(&e.h, IP_FRAG_DUP),
               (unsigned long long)DROPS(&e.h, IP_FRAG_BAD),
               (unsigned long long)DROPS(&e.h, IP_FRAG_TIMEOUT));
    /* The timeout empties it: nothing held, every byte of heap back. */
    CHECK(e.h.st.reasm.count > 0);
    uint64_t timed_out = DROPS(&e.h, IP_FRAG_TIMEOUT);
    unsigned left = e.h.st.reasm.count;
    fake_host_advance(&e.h, e.h.now + e.h.st.lim.reasm_timeout_ms);
    CHECK_UINT_EQ(e.h.st.reasm.count, 0);
    CHECK_UINT_EQ(e.h.st.reasm.mem, 0);
    CHECK_UINT_EQ(DROPS(&e.h, IP_FRAG_TIMEOUT), timed_out + left);
    CHECK_UINT_EQ(net_fault_live_bytes(), heap0);
    CHECK_UINT_EQ(net_next_deadline(&e.h.st), NET_NO_DEADLINE);
    CHECK_INT_EQ(e.h.dev.rx_live, 0);
    /* And it still reassembles. */
    for (size_t off = 0; off < n; off += 1480)
        send_frag(&e.h, e.d, 0x78, off, n - off < 1480 ? n - off : 1480, off + 1480 < n);
    EXPECT_DGRAM(e.s, e.d, n);
    env_destroy(&e);
}

/* ---- TCP in fragments, steered to the stack that owns the flow --------- */

/* A SYN from the peer's port 40000 to port 80 (20-byte header, no options),
 * its checksum over the pseudo-header filled in. */
static size_t make_syn(uint8_t *t)
{
    memset(t, 0, 20);
    t[0] = 40000 >> 8, t[1] = 40000 & 0xff, t[2] = 0, t[3] = 80;
    t[4] = 0x12, t[5] = 0x34, t[6] = 0x56, t[7] = 0x78; /* seq */
    t[12] = 5 << 4, t[13] = 0x02, t[14] = 0xff, t[15] = 0xff; /* SYN, window */
    uint32_t sum = net_csum_add(net_csum_pseudo(PEER_IP, OUR_IP, 6, 20), t, 20);
    uint16_t c = net_csum_value(sum);
    t[16] = (uint8_t)(c >> 8), t[17] = (uint8_t)c;
    return 20;
}

static void send_tcp_frag(struct fake_host *h, const uint8_t *t, size_t off, size_t len, int more)
{
    static uint8_t f[NF_MAX_FRAME];
    size_t n = nf_eth(f, fake_mac_a, fake_mac_peer, 0x0800);
    n += nf_ip(f + n, PEER_IP, OUR_IP, 6, 901, (uint16_t)((more ? 0x2000 : 0) | off / 8), len);
    memcpy(f + n, t + off, len);
    fake_host_rx(h, f, n + len);
}

/* The owner of every flow in the test: hands the segment to its TCP. */
static struct fake_host *steer_to;
static unsigned steered;

static int steer_all(void *ctx, struct net_iface *ifc, struct netbuf *nb, const struct ip4_info *ip)
{
    (void)ctx;
    (void)ifc;
    steered++;
    tcp_input(&steer_to->st, &steer_to->dev.ifc, nb, ip, steer_to->now);
    return 1;
}

/* Two stacks with one address, as a stack per core: a SYN that came in
 * two fragments reaches the first, which has no listener; its steer hook
 * hands it to the second, which has one and answers SYN-ACK. Without the
 * hook the first answers the same SYN with a reset. */
TEST(net_frag_tcp_is_steered_to_the_stack_that_owns_the_flow)
{
    uint8_t syn[20];
    make_syn(syn);
    for (int with_hook = 0; with_hook <= 1; with_hook++) {
        struct fake_host first, owner;
        nt_host(&first, 0);
        nt_host(&owner, 0);
        nt_learn_peer(&first);
        nt_learn_peer(&owner);
        struct tcp_conn *l;
        CHECK_INT_EQ(tcp_listen(&owner.st, 80, 4, &l), 0);
        steer_to = &owner;
        steered = 0;
        if (with_hook)
            first.fp.plat.steer_tcp = steer_all;
        send_tcp_frag(&first, syn, 0, 16, 1);
        CHECK_UINT_EQ(first.dev.tx_count, 0); /* waiting for the rest */
        send_tcp_frag(&first, syn, 16, 4, 0);
        CHECK_UINT_EQ(steered, (unsigned)with_hook);
        struct fake_frame *f = first.dev.tx_head, *g = owner.dev.tx_head;
        if (with_hook) {
            CHECK(f == NULL); /* no reset from the stack without the flow */
            CHECK(g != NULL && g->len >= 54 && g->data[47] == 0x12); /* SYN-ACK */
            CHECK_UINT_EQ(owner.st.tcp.half_open, 1);
        } else {
            CHECK(f != NULL && f->len >= 54 && (f->data[47] & 0x04)); /* RST */
            CHECK(g == NULL);
        }
        tcp_close(l, owner.now);
        NT_DESTROY(&owner);
        NT_DESTROY(&first);
    }
}
