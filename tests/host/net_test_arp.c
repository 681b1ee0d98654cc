/*
 * net_test_arp.c - ARP: replies, learning, resolution with pending queues,
 * retries, expiry with the fake clock, limits, malformed packets.
 */
#include <stdlib.h>
#include <string.h>

#include "net/arp.h"
#include "net/eth.h"
#include "net/ipv4.h"
#include "net_test.h"

static const uint8_t zero_mac[6];

/* Send a small IPv4 packet to dst through the stack. */
static int send_ip(struct fake_host *h, uint32_t dst, uint8_t tag)
{
    struct netbuf *nb = nbuf_alloc_heap(NET_L4_HEADROOM, 1);

    nb->data[0] = tag;
    return ip4_output(&h->st, NULL, 0, dst, 253, nb, h->now);
}

static void check_arp_request_for(struct fake_frame *f, uint32_t target)
{
    if (f == NULL)
        return;
    CHECK_UINT_EQ(f->len, 42);
    CHECK(memcmp(f->data, nf_bcast_mac, 6) == 0);
    CHECK_UINT_EQ(nf_get16(f->data + 12), 0x0806);
    CHECK_UINT_EQ(nf_get16(f->data + 20), 1);
    CHECK(memcmp(f->data + 22, fake_mac_a, 6) == 0);
    CHECK_UINT_EQ(nf_get32(f->data + 28), OUR_IP);
    CHECK_UINT_EQ(nf_get32(f->data + 38), target);
    free(f);
}

TEST(net_arp_answers_requests_for_our_address_and_learns)
{
    struct fake_host h;
    uint8_t f[64];

    nt_host(&h, 0);
    size_t n = nf_arp_frame(f, nf_bcast_mac, 1, fake_mac_peer, PEER_IP, zero_mac, OUR_IP);
    fake_host_rx(&h, f, n);
    struct fake_frame *r = NT_POP(&h);
    if (r != NULL) {
        CHECK(memcmp(r->data, fake_mac_peer, 6) == 0);
        CHECK_UINT_EQ(nf_get16(r->data + 20), 2);
        CHECK(memcmp(r->data + 22, fake_mac_a, 6) == 0);
        CHECK_UINT_EQ(nf_get32(r->data + 28), OUR_IP);
        CHECK(memcmp(r->data + 32, fake_mac_peer, 6) == 0);
        CHECK_UINT_EQ(nf_get32(r->data + 38), PEER_IP);
        free(r);
    }
    const uint8_t *mac = arp_lookup(&h.dev.ifc, PEER_IP);
    CHECK(mac != NULL && memcmp(mac, fake_mac_peer, 6) == 0);
    CHECK_UINT_EQ(net_iface_total_drops(&h.dev.ifc), 0);
    NT_DESTROY(&h);
}

TEST(net_arp_ignores_requests_for_others_but_refreshes_known_senders)
{
    struct fake_host h;
    uint8_t f[64];
    static const uint8_t new_mac[6] = {0x52, 0x54, 0, 0, 0, 0x42};

    nt_host(&h, 0);
    size_t n =
        nf_arp_frame(f, nf_bcast_mac, 1, fake_mac_peer, PEER_IP, zero_mac, NF_IP(10, 0, 0, 77));
    fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    CHECK_UINT_EQ(DROPS(&h, ARP_IGNORED), 1);
    CHECK(arp_lookup(&h.dev.ifc, PEER_IP) == NULL); /* not created (RFC 826) */

    nt_learn_peer(&h);
    n = nf_arp_frame(f, nf_bcast_mac, 1, new_mac, PEER_IP, zero_mac, NF_IP(10, 0, 0, 77));
    fake_host_rx(&h, f, n);
    CHECK(memcmp(arp_lookup(&h.dev.ifc, PEER_IP), new_mac, 6) == 0);
    CHECK_UINT_EQ(DROPS(&h, ARP_IGNORED), 1);
    NT_DESTROY(&h);
}

TEST(net_arp_resolves_then_sends_the_queued_packets_in_order)
{
    struct fake_host h;
    uint8_t f[64];

    nt_host(&h, 0);
    CHECK_INT_EQ(send_ip(&h, PEER_IP, 1), 0);
    CHECK_INT_EQ(send_ip(&h, PEER_IP, 2), 0);
    check_arp_request_for(NT_POP(&h), PEER_IP);
    CHECK_UINT_EQ(h.dev.tx_count, 0); /* one request for both */
    CHECK_UINT_EQ(net_next_deadline(&h.st), 1000);
    CHECK_UINT_EQ(arp_pending_datagrams(&h.dev.ifc), 2); /* what an exit waits for */

    size_t n = nf_arp_frame(f, fake_mac_a, 2, fake_mac_peer, PEER_IP, fake_mac_a, OUR_IP);
    fake_host_rx(&h, f, n);
    for (uint8_t tag = 1; tag <= 2; tag++) {
        struct fake_frame *p = NT_POP(&h);
        if (p == NULL)
            continue;
        CHECK(memcmp(p->data, fake_mac_peer, 6) == 0);
        CHECK_UINT_EQ(p->data[34], tag);
        free(p);
    }
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    CHECK_UINT_EQ(arp_pending_datagrams(&h.dev.ifc), 0);
    CHECK_INT_EQ(send_ip(&h, PEER_IP, 3), 0); /* cached: straight out */
    struct fake_frame *p = NT_POP(&h);
    CHECK(p != NULL && p->data[34] == 3);
    free(p);
    NT_DESTROY(&h);
}

TEST(net_arp_retries_then_drops_the_pending_packets)
{
    struct fake_host h;

    nt_host(&h, 0);
    send_ip(&h, PEER_IP, 1);
    send_ip(&h, PEER_IP, 2);
    check_arp_request_for(NT_POP(&h), PEER_IP);
    fake_host_advance(&h, 999);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    fake_host_advance(&h, 1000);
    check_arp_request_for(NT_POP(&h), PEER_IP);
    fake_host_advance(&h, 2000);
    check_arp_request_for(NT_POP(&h), PEER_IP);
    CHECK_UINT_EQ(DROPS(&h, ARP_UNRESOLVED), 0);
    fake_host_advance(&h, 3000); /* three requests unanswered: give up */
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    CHECK_UINT_EQ(DROPS(&h, ARP_UNRESOLVED), 2);
    CHECK_UINT_EQ(arp_pending_datagrams(&h.dev.ifc), 0);
    CHECK_UINT_EQ(net_next_deadline(&h.st), NET_NO_DEADLINE);
    NT_DESTROY(&h);
}

TEST(net_arp_entries_expire_with_the_clock)
{
    struct fake_host h;

    nt_host(&h, 0);
    h.st.lim.arp_timeout_ms = 5000;
    nt_learn_peer(&h);
    CHECK(arp_lookup(&h.dev.ifc, PEER_IP) != NULL);
    CHECK_UINT_EQ(net_next_deadline(&h.st), 5000);
    fake_host_advance(&h, 4999);
    CHECK(arp_lookup(&h.dev.ifc, PEER_IP) != NULL);
    fake_host_advance(&h, 5000);
    CHECK(arp_lookup(&h.dev.ifc, PEER_IP) == NULL);
    send_ip(&h, PEER_IP, 1); /* resolves again */
    check_arp_request_for(NT_POP(&h), PEER_IP);
    NT_DESTROY(&h);
}

TEST(net_arp_pending_queue_is_capped)
{
    struct fake_host h;

    nt_host(&h, 0);
    for (uint8_t i = 0; i < 4; i++)
        CHECK_INT_EQ(send_ip(&h, PEER_IP, i), 0);
    CHECK_INT_EQ(send_ip(&h, PEER_IP, 4), -ENOBUFS);
    CHECK_INT_EQ(send_ip(&h, PEER_IP, 5), -ENOBUFS);
    CHECK_UINT_EQ(DROPS(&h, ARP_QUEUE_FULL), 2);
    NT_DESTROY(&h); /* pending packets are released */
}

TEST(net_arp_cache_is_capped_and_evicts_resolved_entries_first)
{
    struct fake_host h;
    uint8_t f[64];

    nt_host(&h, 0);
    h.st.lim.arp_entries = 3;
    /* Two resolved (learnt from requests for us), then unresolved ones. */
    for (uint32_t i = 0; i < 2; i++) {
        uint8_t mac[6] = {0x52, 0x54, 0, 0, 1, (uint8_t)i};
        size_t n =
            nf_arp_frame(f, nf_bcast_mac, 1, mac, NF_IP(10, 0, 0, 100 + i), zero_mac, OUR_IP);
        h.now = i;
        fake_host_rx(&h, f, n);
    }
    fake_dev_clear(&h.dev);
    CHECK_INT_EQ(send_ip(&h, NF_IP(10, 0, 0, 50), 1), 0); /* third slot */
    CHECK_INT_EQ(send_ip(&h, NF_IP(10, 0, 0, 51), 1), 0); /* evicts .100, the older */
    CHECK(arp_lookup(&h.dev.ifc, NF_IP(10, 0, 0, 100)) == NULL);
    CHECK(arp_lookup(&h.dev.ifc, NF_IP(10, 0, 0, 101)) != NULL);
    CHECK_INT_EQ(send_ip(&h, NF_IP(10, 0, 0, 52), 1), 0);       /* evicts .101 */
    CHECK_INT_EQ(send_ip(&h, NF_IP(10, 0, 0, 53), 1), -ENOMEM); /* all waiting */
    CHECK_UINT_EQ(DROPS(&h, ARP_CACHE_FULL), 1);
    NT_DESTROY(&h);
}

TEST(net_arp_refuses_malformed_packets)
{
    struct fake_host h;
    uint8_t f[64], g[64];

    nt_host(&h, 0);
    size_t n = nf_arp_frame(f, nf_bcast_mac, 1, fake_mac_peer, PEER_IP, zero_mac, OUR_IP);
    for (size_t len = ETH_HDR_LEN; len < n; len++) {
        fake_host_rx(&h, f, len);
    }
    CHECK_UINT_EQ(DROPS(&h, ARP_SHORT), ARP_PKT_LEN);
    const size_t fmt_fields[] = {14 + 1, 14 + 2, 14 + 4, 14 + 5};
    for (size_t i = 0; i < 4; i++) {
        memcpy(g, f, n);
        g[fmt_fields[i]] ^= 0x10;
        fake_host_rx(&h, g, n);
    }
    CHECK_UINT_EQ(DROPS(&h, ARP_FORMAT), 4);
    memcpy(g, f, n);
    nf_put16(g + 20, 3); /* RARP request */
    fake_host_rx(&h, g, n);
    CHECK_UINT_EQ(DROPS(&h, ARP_OP), 1);
    memcpy(g, f, n);
    memcpy(g + 22, nf_bcast_mac, 6);
    fake_host_rx(&h, g, n);
    memcpy(g, f, n);
    nf_put32(g + 28, NF_IP(224, 0, 0, 5));
    fake_host_rx(&h, g, n);
    CHECK_UINT_EQ(DROPS(&h, ARP_SENDER), 2);
    CHECK_UINT_EQ(h.dev.tx_count, 0); /* no replies to any of them */
    CHECK(arp_lookup(&h.dev.ifc, PEER_IP) == NULL);
    /* Trailing bytes (Ethernet padding) are fine. */
    memset(f + n, 0, 60 - n);
    fake_host_rx(&h, f, 60);
    CHECK_UINT_EQ(h.dev.tx_count, 1);
    NT_DESTROY(&h);
}

TEST(net_arp_detects_a_conflict_on_our_address)
{
    struct fake_host h;
    uint8_t f[64];

    nt_host(&h, 0);
    size_t n = nf_arp_frame(f, nf_bcast_mac, 1, fake_mac_peer, OUR_IP, zero_mac, OUR_IP);
    fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(DROPS(&h, ARP_CONFLICT), 1);
    CHECK(strstr(h.fp.last_log, "claims our address") != NULL);
    CHECK(arp_lookup(&h.dev.ifc, OUR_IP) == NULL);
    NT_DESTROY(&h);
}

TEST(net_arp_probe_from_zero_address_is_answered_without_learning)
{
    struct fake_host h;
    uint8_t f[64];

    nt_host(&h, 0);
    size_t n = nf_arp_frame(f, nf_bcast_mac, 1, fake_mac_peer, 0, zero_mac, OUR_IP);
    fake_host_rx(&h, f, n);
    struct fake_frame *r = NT_POP(&h); /* we defend our address */
    CHECK(r != NULL && nf_get16(r->data + 20) == 2);
    free(r);
    CHECK(arp_lookup(&h.dev.ifc, 0) == NULL);
    NT_DESTROY(&h);
}

TEST(net_arp_broadcast_destinations_need_no_resolution)
{
    struct fake_host h;

    nt_host(&h, 0);
    CHECK_INT_EQ(send_ip(&h, NF_IP(10, 0, 0, 255), 1), 0);
    CHECK_INT_EQ(send_ip(&h, 0xffffffffu, 2), 0);
    for (int i = 0; i < 2; i++) {
        struct fake_frame *p = NT_POP(&h);
        CHECK(p != NULL && memcmp(p->data, nf_bcast_mac, 6) == 0 &&
              nf_get16(p->data + 12) == 0x800);
        free(p);
    }
    NT_DESTROY(&h);
}

TEST(net_arp_tx_buffer_failures_are_counted_and_retried)
{
    struct fake_host h;
    uint8_t f[64];

    nt_host(&h, 0);
    h.fp.tx_fail_after = 0;
    size_t n = nf_arp_frame(f, nf_bcast_mac, 1, fake_mac_peer, PEER_IP, zero_mac, OUR_IP);
    fake_host_rx(&h, f, n); /* reply fails */
    CHECK_UINT_EQ(DROPS(&h, TX_NOBUF), 1);
    send_ip(&h, NF_IP(10, 0, 0, 3), 1); /* request fails, packet waits */
    CHECK_UINT_EQ(DROPS(&h, TX_NOBUF), 2);
    h.fp.tx_fail_after = -1;
    fake_host_advance(&h, 1000); /* the retry goes out */
    check_arp_request_for(NT_POP(&h), NF_IP(10, 0, 0, 3));
    NT_DESTROY(&h);
}

/* ---- replication hooks (several stacks on one link) --------------------- */

/* What net_platform.arp_learned saw; forward: a replica stack to hand the
 * mapping to with arp_learn, as an embedder would. */
static struct {
    unsigned calls;
    void *ctx;
    struct net_iface *ifc;
    uint32_t ip;
    uint8_t mac[6];
    struct fake_host *forward;
} learned;

static void record_learned(void *ctx, struct net_iface *ifc, uint32_t ip, const uint8_t mac[6])
{
    learned.calls++;
    learned.ctx = ctx;
    learned.ifc = ifc;
    learned.ip = ip;
    memcpy(learned.mac, mac, 6);
    if (learned.forward != NULL)
        arp_learn(&learned.forward->st, &learned.forward->dev.ifc, ip, mac, learned.forward->now);
}

static void hook_host(struct fake_host *h)
{
    nt_host(h, 0);
    h->fp.plat.arp_learned = record_learned;
    memset(&learned, 0, sizeof(learned));
}

TEST(net_arp_learned_hook_sees_packets_aimed_at_us_only)
{
    struct fake_host h;
    uint8_t f[64];
    static const uint8_t other_mac[6] = {0x52, 0x54, 0, 0, 0, 0x77};

    hook_host(&h);
    /* A request for someone else's address, from a sender we know or not:
     * no hook (the known one is refreshed all the same). */
    size_t n = nf_arp_frame(f, nf_bcast_mac, 1, other_mac, NF_IP(10, 0, 0, 7), zero_mac,
                            NF_IP(10, 0, 0, 8));
    fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(learned.calls, 0);

    /* A request for our address. */
    n = nf_arp_frame(f, nf_bcast_mac, 1, fake_mac_peer, PEER_IP, zero_mac, OUR_IP);
    fake_host_rx(&h, f, n);
    free(NT_POP(&h)); /* our reply */
    CHECK_UINT_EQ(learned.calls, 1);
    CHECK_PTR_EQ(learned.ctx, &h.fp);
    CHECK_PTR_EQ(learned.ifc, &h.dev.ifc);
    CHECK_UINT_EQ(learned.ip, PEER_IP);
    CHECK(memcmp(learned.mac, fake_mac_peer, 6) == 0);

    n = nf_arp_frame(f, nf_bcast_mac, 1, fake_mac_peer, PEER_IP, zero_mac, NF_IP(10, 0, 0, 8));
    fake_host_rx(&h, f, n); /* refreshes PEER_IP, but not aimed at us */
    CHECK_UINT_EQ(learned.calls, 1);

    /* A reply to our own request. */
    CHECK_INT_EQ(send_ip(&h, GW_IP, 1), 0);
    check_arp_request_for(NT_POP(&h), GW_IP);
    n = nf_arp_frame(f, fake_mac_a, 2, other_mac, GW_IP, fake_mac_a, OUR_IP);
    fake_host_rx(&h, f, n);
    free(NT_POP(&h)); /* the queued packet */
    CHECK_UINT_EQ(learned.calls, 2);
    CHECK_UINT_EQ(learned.ip, GW_IP);
    CHECK(memcmp(learned.mac, other_mac, 6) == 0);

    /* A reply to a request this stack never sent (another stack on the
     * link asked in our name): learnt here too, and reported. */
    n = nf_arp_frame(f, fake_mac_a, 2, other_mac, NF_IP(10, 0, 0, 30), fake_mac_a, OUR_IP);
    fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(learned.calls, 3);
    CHECK_UINT_EQ(learned.ip, NF_IP(10, 0, 0, 30));
    const uint8_t *mac = arp_lookup(&h.dev.ifc, NF_IP(10, 0, 0, 30));
    CHECK(mac != NULL && memcmp(mac, other_mac, 6) == 0);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    NT_DESTROY(&h);
}

/* Two stacks on one link with one address, as per-core replicas: the
 * replica's request is answered to the first stack, whose hook hands the
 * mapping over; the replica sends what it had queued, without reporting
 * the mapping again. */
TEST(net_arp_learn_on_a_replica_sends_its_queued_datagram)
{
    struct fake_host first, replica;
    uint8_t f[64];

    hook_host(&first);
    nt_host(&replica, 0);
    replica.fp.plat.arp_learned = record_learned;
    learned.forward = &replica;
    replica.now = 500;

    CHECK_INT_EQ(send_ip(&replica, PEER_IP, 0x5a), 0);
    check_arp_request_for(NT_POP(&replica), PEER_IP);
    CHECK_UINT_EQ(arp_pending_datagrams(&replica.dev.ifc), 1);

    size_t n = nf_arp_frame(f, fake_mac_a, 2, fake_mac_peer, PEER_IP, fake_mac_a, OUR_IP);
    fake_host_rx(&first, f, n);
    CHECK_UINT_EQ(learned.calls, 1); /* the first stack's; arp_learn does not call it */
    CHECK_PTR_EQ(learned.ctx, &first.fp);
    CHECK_UINT_EQ(first.dev.tx_count, 0);

    struct fake_frame *p = NT_POP(&replica);
    if (p != NULL) {
        CHECK_UINT_EQ(p->len, 35);
        CHECK(memcmp(p->data, fake_mac_peer, 6) == 0);
        CHECK(memcmp(p->data + 6, fake_mac_a, 6) == 0);
        CHECK_UINT_EQ(nf_get16(p->data + 12), 0x0800);
        CHECK_UINT_EQ(nf_get32(p->data + 26), OUR_IP);
        CHECK_UINT_EQ(nf_get32(p->data + 30), PEER_IP);
        CHECK_UINT_EQ(p->data[34], 0x5a);
        free(p);
    }
    CHECK_UINT_EQ(replica.dev.tx_count, 0);
    CHECK_UINT_EQ(arp_pending_datagrams(&replica.dev.ifc), 0);
    const uint8_t *mac = arp_lookup(&replica.dev.ifc, PEER_IP);
    CHECK(mac != NULL && memcmp(mac, fake_mac_peer, 6) == 0);
    /* REACHABLE from the replica's clock, for the usual lifetime. */
    CHECK_UINT_EQ(arp_next_deadline(&replica.dev.ifc), 500 + replica.st.lim.arp_timeout_ms);
    CHECK_INT_EQ(send_ip(&replica, PEER_IP, 0x5b), 0); /* cached: straight out */
    p = NT_POP(&replica);
    CHECK(p != NULL && p->data[34] == 0x5b && memcmp(p->data, fake_mac_peer, 6) == 0);
    free(p);
    learned.forward = NULL;
    NT_DESTROY(&replica);
    NT_DESTROY(&first);
}

TEST(net_arp_learn_never_evicts_incomplete_entries)
{
    struct fake_host h;

    hook_host(&h);
    h.st.lim.arp_entries = 2;
    CHECK_INT_EQ(send_ip(&h, NF_IP(10, 0, 0, 50), 1), 0);
    CHECK_INT_EQ(send_ip(&h, NF_IP(10, 0, 0, 51), 2), 0);
    fake_dev_clear(&h.dev);
    struct arp_cache before = h.dev.ifc.arp;

    arp_learn(&h.st, &h.dev.ifc, PEER_IP, fake_mac_peer, h.now);
    CHECK(arp_lookup(&h.dev.ifc, PEER_IP) == NULL);
    CHECK_UINT_EQ(h.dev.ifc.arp.used, before.used);
    for (unsigned i = 0; i < before.used; i++) {
        const struct arp_entry *a = &before.entries[i], *b = &h.dev.ifc.arp.entries[i];
        CHECK(a->ip == b->ip && a->state == ARP_INCOMPLETE && b->state == ARP_INCOMPLETE);
        CHECK(a->pending.head == b->pending.head && b->pending.count == 1);
    }
    CHECK_UINT_EQ(arp_pending_datagrams(&h.dev.ifc), 2);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    CHECK_UINT_EQ(learned.calls, 0);
    CHECK_UINT_EQ(net_iface_total_drops(&h.dev.ifc), 0);
    NT_DESTROY(&h);
}
