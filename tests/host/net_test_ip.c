/*
 * net_test_ip.c - Ethernet and IPv4 receive checks: valid, truncated and
 * corrupted frames, each refused one counted under the right reason.
 */
#include <stdlib.h>
#include <string.h>

#include "net/eth.h"
#include "net/ipv4.h"
#include "net_test.h"

/* A valid UDP datagram from the peer to port 7 on us. */
static size_t udp_to_us(uint8_t *f, size_t payload)
{
    uint8_t data[1500];

    for (size_t i = 0; i < payload; i++)
        data[i] = (uint8_t)i;
    return nf_udp_frame(f, fake_mac_a, fake_mac_peer, PEER_IP, OUR_IP, 5000, 7, data, payload);
}

/* Feed one frame; check it was dropped under `why` and nowhere else. */
static void expect_drop(struct fake_host *h, const uint8_t *f, size_t len, enum net_drop why,
                        int line)
{
    uint64_t before = net_iface_total_drops(&h->dev.ifc), had = h->dev.ifc.cnt.drops[why];

    fake_host_rx(h, f, len);
    CHECK_AT(__FILE__, line, h->dev.ifc.cnt.drops[why] == had + 1, "expected one more %s",
             net_drop_name(why));
    CHECK_AT(__FILE__, line, net_iface_total_drops(&h->dev.ifc) == before + 1,
             "expected exactly one drop (%s)", net_drop_name(why));
    CHECK_AT(__FILE__, line, h->dev.rx_live == 0, "device buffer not returned");
}
#define EXPECT_DROP(h, f, len, why) expect_drop((h), (f), (len), NET_DROP_##why, __LINE__)

TEST(net_eth_refuses_short_foreign_and_unknown_frames)
{
    struct fake_host h;
    uint8_t f[128];
    static const uint8_t other[6] = {0x52, 0x54, 0, 0, 0, 0x77};
    static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0, 0, 1};

    nt_host(&h, 0);
    size_t n = udp_to_us(f, 10);
    for (size_t len = 0; len < ETH_HDR_LEN; len++)
        EXPECT_DROP(&h, f, len, ETH_SHORT);
    memcpy(f, other, 6);
    EXPECT_DROP(&h, f, n, ETH_NOT_FOR_US);
    memcpy(f, mcast, 6);
    EXPECT_DROP(&h, f, n, ETH_NOT_FOR_US);
    memcpy(f, fake_mac_a, 6);
    nf_put16(f + 12, 0x86dd); /* IPv6 */
    EXPECT_DROP(&h, f, n, ETH_TYPE);
    nf_put16(f + 12, ETH_TYPE_VLAN);
    EXPECT_DROP(&h, f, n, ETH_TYPE);
    CHECK_UINT_EQ(h.dev.ifc.cnt.rx_packets, ETH_HDR_LEN + 4);
    NT_DESTROY(&h);
}

TEST(net_ip_refuses_each_malformed_header_under_its_reason)
{
    struct fake_host h;
    uint8_t f[256], g[256];

    nt_host(&h, 0);
    size_t n = udp_to_us(f, 20);
    uint8_t *ip = g + ETH_HDR_LEN;

    memcpy(g, f, n);
    ip[0] = 0x65; /* version 6 */
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_VERSION);

    memcpy(g, f, n);
    ip[0] = 0x44; /* IHL 4 */
    EXPECT_DROP(&h, g, n, IP_HDR_LEN);

    memcpy(g, f, n);
    ip[0] = 0x4f; /* IHL 15: 60 bytes, more than this 48-byte packet */
    EXPECT_DROP(&h, g, ETH_HDR_LEN + 40, IP_HDR_LEN);

    memcpy(g, f, n);
    nf_put16(ip + 2, 19); /* total < header */
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_TOTAL_LEN);

    memcpy(g, f, n);
    nf_put16(ip + 2, (uint16_t)(n - ETH_HDR_LEN + 1)); /* total > frame */
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_TOTAL_LEN);

    memcpy(g, f, n);
    ip[10] ^= 0x01;
    EXPECT_DROP(&h, g, n, IP_CHECKSUM);

    memcpy(g, f, n);
    ip[8] = 0;
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_TTL);

    memcpy(g, f, n);
    nf_put32(ip + 12, NF_IP(224, 0, 0, 1));
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_SRC);
    nf_put32(ip + 12, NF_IP(10, 0, 0, 255)); /* subnet broadcast as source */
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_SRC);
    nf_put32(ip + 12, NF_IP(127, 0, 0, 1));
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_SRC);
    nf_put32(ip + 12, OUR_IP); /* ourselves, from outside */
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_SRC);
    nf_put32(ip + 12, 0); /* "this host": only while it learns its address */
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_SRC);
    nf_put32(ip + 12, NF_IP(0, 1, 2, 3)); /* anywhere in 0/8 */
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_SRC);
    nf_put32(ip + 12, NF_IP(10, 0, 0, 0)); /* the subnet's network address */
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_SRC);

    memcpy(g, f, n);
    nf_put32(ip + 16, NF_IP(10, 0, 0, 3));
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_NOT_FOR_US);
    nf_put32(ip + 16, NF_IP(239, 1, 1, 1));
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_NOT_FOR_US);

    memcpy(g, f, n);
    ip[9] = 132; /* SCTP: not handled */
    nf_fix_ip_csum(g);
    EXPECT_DROP(&h, g, n, IP_PROTO);
    NT_DESTROY(&h);
}

TEST(net_ip_every_truncation_is_counted_once)
{
    struct fake_host h;
    uint8_t f[256];
    struct udp_sock *s;

    nt_host(&h, 0);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    size_t n = udp_to_us(f, 40);
    for (size_t len = ETH_HDR_LEN; len < n; len++) {
        uint64_t before = net_iface_total_drops(&h.dev.ifc);
        fake_host_rx(&h, f, len);
        CHECK_AT(__FILE__, __LINE__, net_iface_total_drops(&h.dev.ifc) == before + 1,
                 "truncated to %zu: not counted once", len);
    }
    CHECK_UINT_EQ(DROPS(&h, IP_SHORT), IP4_HDR_LEN);
    CHECK_UINT_EQ(DROPS(&h, IP_TOTAL_LEN), n - ETH_HDR_LEN - IP4_HDR_LEN);
    CHECK_UINT_EQ(udp_pending(s), 0);
    fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(udp_pending(s), 1);
    udp_close(s);
    NT_DESTROY(&h);
}

TEST(net_ip_accepts_padding_options_and_offloaded_checksums)
{
    struct fake_host h;
    uint8_t f[256], g[256];
    struct udp_sock *s;
    struct udp_endpoint from;

    nt_host(&h, NET_IF_RX_CSUM);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    size_t n = udp_to_us(f, 4);
    /* Ethernet pads short frames to 60 bytes: the padding is not data. */
    memset(f + n, 0xee, 60 - n);
    fake_host_rx(&h, f, 60);
    struct netbuf *nb = udp_recv(s, &from);
    CHECK(nb != NULL && nb->len == 4);
    CHECK(from.ip == PEER_IP && from.port == 5000);
    nbuf_put(nb);

    /* Options (IHL 6: one NOP + 3 EOL) are skipped. */
    memcpy(g, f, ETH_HDR_LEN + 20);
    memset(g + ETH_HDR_LEN + 20, 0x01, 1);
    memset(g + ETH_HDR_LEN + 21, 0, 3);
    memcpy(g + ETH_HDR_LEN + 24, f + ETH_HDR_LEN + 20, n - ETH_HDR_LEN - 20);
    g[ETH_HDR_LEN] = 0x46;
    nf_put16(g + ETH_HDR_LEN + 2, (uint16_t)(n - ETH_HDR_LEN + 4));
    nf_fix_ip_csum(g);
    fake_host_rx(&h, g, n + 4);
    CHECK_UINT_EQ(udp_pending(s), 1);
    nbuf_put(udp_recv(s, NULL));

    /* A bad IP checksum passes when the device vouched for the frame. */
    memcpy(g, f, n);
    g[ETH_HDR_LEN + 10] ^= 0xff;
    struct netbuf *rx = fake_dev_rxbuf(&h.dev, g, n);
    rx->flags = NB_CSUM_VALID;
    net_input(&h.st, &h.dev.ifc, rx, h.now);
    CHECK_UINT_EQ(udp_pending(s), 1);
    CHECK_UINT_EQ(DROPS(&h, IP_CHECKSUM), 0);
    udp_close(s);
    NT_DESTROY(&h);
}

TEST(net_ip_random_corruption_never_crashes_and_is_counted)
{
    struct fake_host h;
    uint8_t f[256], g[256];
    struct udp_sock *s;
    uint64_t r = 99;

    nt_host(&h, 0);
    nt_learn_peer(&h);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    size_t n = udp_to_us(f, 64);
    unsigned delivered = 0, dropped = 0;
    for (int i = 0; i < 2000; i++) {
        memcpy(g, f, n);
        for (int flips = 0; flips < 1 + i % 3; flips++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(r >> 33) % n;
            g[at] ^= (uint8_t)(1u << (r >> 29 & 7));
        }
        uint64_t before = net_iface_total_drops(&h.dev.ifc);
        unsigned q = udp_pending(s);
        fake_host_rx(&h, g, n);
        fake_dev_clear(&h.dev);
        if (udp_pending(s) > q) {
            delivered++;
            struct netbuf *nb = udp_recv(s, NULL);
            /* The Internet checksum catches every single-bit error; two or
             * three flips can cancel out, so only check those of one. */
            if (i % 3 == 0)
                CHECK(nb->len == 64 && memcmp(nb->data, f + n - 64, 64) == 0);
            nbuf_put(nb);
        } else if (net_iface_total_drops(&h.dev.ifc) > before) {
            dropped++;
        }
    }
    /* Flips of MAC bits, the IP id or the TTL still deliver; most do not. */
    CHECK(dropped > 1000);
    CHECK_UINT_EQ(delivered + dropped, 2000);
    udp_close(s);
    NT_DESTROY(&h);
}

TEST(net_ip_accepts_anything_to_our_mac_before_configuration)
{
    struct fake_host h;
    uint8_t f[256];
    struct udp_sock *s;

    fake_host_init(&h, 5, fake_mac_a, 0, 0, 0, 0);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    size_t n = udp_to_us(f, 8);
    fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(udp_pending(s), 1);
    udp_close(s);
    NT_DESTROY(&h);
}

/* A ping from src to us: whether anything went out for it (a reply, or an
 * ARP request to send one), and how many ip_bad_src drops it caused. */
static unsigned ping_from(struct fake_host *h, uint32_t src, uint32_t dst, int *answered)
{
    uint8_t f[128];
    uint64_t had = DROPS(h, IP_SRC);
    size_t n = nf_ping_frame(f, fake_mac_a, fake_mac_peer, src, dst, 7, 1, "ping", 4);

    fake_host_rx(h, f, n);
    fake_host_advance(h, h->now + 5000); /* ARP retries, if any */
    *answered = h->dev.tx_count > 0;
    fake_dev_clear(&h->dev);
    return (unsigned)(DROPS(h, IP_SRC) - had);
}

TEST(net_ip_martian_sources_get_no_answer_and_no_arp)
{
    struct fake_host h;
    struct udp_sock *s;
    uint8_t f[128];
    int answered;

    nt_host(&h, 0);
    uint64_t sent = h.dev.ifc.cnt.tx_packets; /* the announcement */
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    /* The network address (10.0.0.0 on 10.0.0.0/24) and 0.0.0.0 are not
     * hosts: no echo reply, so no ARP request to find one. */
    static const uint32_t martians[] = {NF_IP(10, 0, 0, 0), 0, NF_IP(0, 0, 0, 9)};
    for (unsigned i = 0; i < 3; i++) {
        CHECK_UINT_EQ(ping_from(&h, martians[i], OUR_IP, &answered), 1);
        CHECK_INT_EQ(answered, 0);
        size_t n = nf_udp_frame(f, fake_mac_a, fake_mac_peer, martians[i], OUR_IP, 5000, 7, "x", 1);
        fake_host_rx(&h, f, n);
        CHECK_UINT_EQ(udp_pending(s), 0);
    }
    CHECK_UINT_EQ(DROPS(&h, IP_SRC), 6);
    CHECK_UINT_EQ(h.dev.ifc.cnt.tx_packets, sent);
    /* A host next to it, still unknown: ARPed for and answered. */
    CHECK_UINT_EQ(ping_from(&h, NF_IP(10, 0, 0, 1), OUR_IP, &answered), 0);
    CHECK_INT_EQ(answered, 1);
    size_t n =
        nf_udp_frame(f, fake_mac_a, fake_mac_peer, NF_IP(10, 0, 0, 1), OUR_IP, 5000, 7, "x", 1);
    fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(udp_pending(s), 1);
    udp_close(s);
    NT_DESTROY(&h);
}

TEST(net_ip_both_addresses_of_a_31_are_hosts)
{
    struct fake_host h;
    int answered;

    /* RFC 3021: on a /31 the "network" and "broadcast" addresses are the
     * two ends of the link, so the peer is one of them. */
    nt_host(&h, 0);
    CHECK_INT_EQ(net_iface_set_addr(&h.dev.ifc, NF_IP(10, 0, 0, 3), 0xfffffffeu, 0), 0);
    fake_dev_clear(&h.dev); /* the announcement */
    CHECK_UINT_EQ(ping_from(&h, NF_IP(10, 0, 0, 2), NF_IP(10, 0, 0, 3), &answered), 0);
    CHECK_INT_EQ(answered, 1);
    CHECK_INT_EQ(net_iface_set_addr(&h.dev.ifc, NF_IP(10, 0, 0, 2), 0xfffffffeu, 0), 0);
    fake_dev_clear(&h.dev);
    CHECK_UINT_EQ(ping_from(&h, NF_IP(10, 0, 0, 3), NF_IP(10, 0, 0, 2), &answered), 0);
    CHECK_INT_EQ(answered, 1);
    CHECK(!net_iface_is_bcast(&h.dev.ifc, NF_IP(10, 0, 0, 3)));
    CHECK(net_iface_is_bcast(&h.dev.ifc, 0xffffffffu));
    /* A /30 still has both: network address and directed broadcast. */
    CHECK_INT_EQ(net_iface_set_addr(&h.dev.ifc, NF_IP(10, 0, 0, 5), 0xfffffffcu, 0), 0);
    fake_dev_clear(&h.dev);
    CHECK_UINT_EQ(ping_from(&h, NF_IP(10, 0, 0, 4), NF_IP(10, 0, 0, 5), &answered), 1);
    CHECK_INT_EQ(answered, 0);
    CHECK_UINT_EQ(ping_from(&h, NF_IP(10, 0, 0, 7), NF_IP(10, 0, 0, 5), &answered), 1);
    CHECK_INT_EQ(answered, 0);
    CHECK_UINT_EQ(ping_from(&h, NF_IP(10, 0, 0, 6), NF_IP(10, 0, 0, 5), &answered), 0);
    CHECK_INT_EQ(answered, 1);
    NT_DESTROY(&h);
}

TEST(net_ip_routes_on_link_via_gateway_or_not_at_all)
{
    struct fake_host h;
    uint32_t nh = 0;

    nt_host(&h, 0);
    CHECK_PTR_EQ(ip4_route(&h.st, PEER_IP, &nh), &h.dev.ifc);
    CHECK_UINT_EQ(nh, PEER_IP);
    CHECK_PTR_EQ(ip4_route(&h.st, NF_IP(8, 8, 8, 8), &nh), &h.dev.ifc);
    CHECK_UINT_EQ(nh, GW_IP);
    CHECK_PTR_EQ(ip4_route(&h.st, 0xffffffffu, &nh), &h.dev.ifc);
    CHECK_UINT_EQ(nh, 0xffffffffu);
    h.dev.ifc.gw = 0;
    CHECK(ip4_route(&h.st, NF_IP(8, 8, 8, 8), &nh) == NULL);
    struct netbuf *nb = nbuf_alloc_heap(64, 8);
    CHECK_INT_EQ(ip4_output(&h.st, NULL, 0, NF_IP(8, 8, 8, 8), 17, nb, 0), -ENETUNREACH);
    CHECK_UINT_EQ(h.st.cnt.no_route, 1);
    NT_DESTROY(&h);
}

/* A replica stack's interface takes the first's address silently and
 * routes as it does; its ARP cache survives a mirror of the same address
 * and goes with a new one. */
TEST(net_ip_mirrored_address_routes_like_the_original_and_is_not_announced)
{
    struct fake_host first, replica;
    uint32_t nh = 0;

    nt_host(&first, 0);
    first.dev.ifc.dns = NF_IP(10, 0, 0, 53);
    fake_host_init(&replica, 2, fake_mac_a, 0, 0, 0, 0); /* no address yet */
    CHECK(ip4_route(&replica.st, NF_IP(8, 8, 8, 8), &nh) == NULL);

    net_iface_mirror_addr(&replica.dev.ifc, &first.dev.ifc);
    CHECK_UINT_EQ(replica.dev.tx_count, 0); /* no gratuitous ARP */
    CHECK_UINT_EQ(replica.dev.ifc.ip, OUR_IP);
    CHECK_UINT_EQ(replica.dev.ifc.mask, MASK24);
    CHECK_UINT_EQ(replica.dev.ifc.gw, GW_IP);
    CHECK_UINT_EQ(replica.dev.ifc.dns, NF_IP(10, 0, 0, 53));
    CHECK_PTR_EQ(ip4_route(&replica.st, NF_IP(8, 8, 8, 8), &nh), &replica.dev.ifc);
    CHECK_UINT_EQ(nh, GW_IP);
    CHECK_PTR_EQ(ip4_route(&replica.st, PEER_IP, &nh), &replica.dev.ifc);
    CHECK_UINT_EQ(nh, PEER_IP);
    CHECK(net_iface_is_bcast(&replica.dev.ifc, NF_IP(10, 0, 0, 255)));

    nt_learn_peer(&replica);
    net_iface_mirror_addr(&replica.dev.ifc, &first.dev.ifc); /* same address */
    CHECK(arp_lookup(&replica.dev.ifc, PEER_IP) != NULL);
    net_iface_set_addr(&first.dev.ifc, NF_IP(10, 0, 0, 3), MASK24, GW_IP);
    net_iface_mirror_addr(&replica.dev.ifc, &first.dev.ifc); /* a new one */
    CHECK_UINT_EQ(replica.dev.ifc.ip, NF_IP(10, 0, 0, 3));
    CHECK(arp_lookup(&replica.dev.ifc, PEER_IP) == NULL);

    net_iface_clear_addr(&first.dev.ifc); /* the lease is gone */
    net_iface_mirror_addr(&replica.dev.ifc, &first.dev.ifc);
    CHECK_UINT_EQ(replica.dev.ifc.ip, 0);
    CHECK(ip4_route(&replica.st, NF_IP(8, 8, 8, 8), &nh) == NULL);
    CHECK_UINT_EQ(replica.dev.tx_count, 0);
    fake_dev_clear(&first.dev);
    NT_DESTROY(&replica);
    NT_DESTROY(&first);
}

TEST(net_ip_output_builds_a_valid_header)
{
    struct fake_host h;

    nt_host(&h, 0);
    nt_learn_peer(&h);
    struct netbuf *nb = nbuf_alloc_heap(NET_L4_HEADROOM, 12);
    memcpy(nb->data, "hello, peer!", 12);
    CHECK_INT_EQ(ip4_output(&h.st, NULL, 0, PEER_IP, 253, nb, 0), 0);
    struct fake_frame *f = NT_POP(&h);
    if (f != NULL) {
        CHECK_UINT_EQ(f->len, ETH_HDR_LEN + 20 + 12);
        CHECK_UINT_EQ(f->segs, 1); /* headers went into the headroom */
        CHECK(memcmp(f->data, fake_mac_peer, 6) == 0 && memcmp(f->data + 6, fake_mac_a, 6) == 0);
        CHECK(nt_ip_csum_ok(f->data, f->len));
        CHECK_UINT_EQ(f->data[14], 0x45);
        CHECK_UINT_EQ(nf_get16(f->data + 16), 32);
        CHECK_UINT_EQ(nf_get16(f->data + 20), 0); /* no DF, no fragment */
        CHECK_UINT_EQ(f->data[22], 64);
        CHECK_UINT_EQ(f->data[23], 253);
        CHECK_UINT_EQ(nf_get32(f->data + 26), OUR_IP);
        CHECK_UINT_EQ(nf_get32(f->data + 30), PEER_IP);
        CHECK(memcmp(f->data + 34, "hello, peer!", 12) == 0);
        free(f);
    }
    CHECK_UINT_EQ(h.dev.ifc.cnt.tx_packets, 3); /* announcement, ARP reply, this */
    NT_DESTROY(&h);
}

TEST(net_eth_output_chains_a_header_when_there_is_no_headroom)
{
    struct fake_host h;
    static const char text[] = "app-owned bytes";

    nt_host(&h, 0);
    nt_learn_peer(&h);
    struct netbuf *nb = nbuf_wrap(text, 15, NULL, NULL);
    CHECK_INT_EQ(ip4_output(&h.st, NULL, 0, PEER_IP, 253, nb, 0), 0);
    struct fake_frame *f = NT_POP(&h);
    if (f != NULL) {
        CHECK_UINT_EQ(f->segs, 2);
        CHECK(nt_ip_csum_ok(f->data, f->len));
        CHECK(memcmp(f->data + 34, text, 15) == 0);
        free(f);
    }
    /* Device errors are counted; the chain is still released. (A full
     * ring is not an error: see the netdev backlog tests.) */
    h.dev.tx_error = -EIO;
    nb = nbuf_alloc_heap(NET_L4_HEADROOM, 1);
    CHECK_INT_EQ(ip4_output(&h.st, NULL, 0, PEER_IP, 253, nb, 0), -EIO);
    CHECK_UINT_EQ(DROPS(&h, TX_DEVICE), 1);
    NT_DESTROY(&h);
}
