/*
 * net_test_udp.c - ICMP echo and UDP on one stack against scripted frames:
 * zero-copy paths (pointer identity), checksums, limits, malformed input.
 */
#include <stdlib.h>
#include <string.h>

#include "net/checksum.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/udp.h"
#include "net_test.h"

#define RX_L4_OFFSET (FAKE_DEV_HEADROOM + 14 + 20) /* transport header in a device buffer */

static size_t ping(uint8_t *f, size_t payload, uint16_t seq)
{
    uint8_t data[2000];

    for (size_t i = 0; i < payload; i++)
        data[i] = (uint8_t)(i * 7 + seq);
    return nf_ping_frame(f, fake_mac_a, fake_mac_peer, PEER_IP, OUR_IP, 0x4242, seq, data, payload);
}

TEST(net_icmp_echo_reply_is_zero_copy_and_correct)
{
    struct fake_host h;
    uint8_t f[256];

    nt_host(&h, 0);
    nt_learn_peer(&h);
    h.dev.hold = 1;
    size_t n = ping(f, 56, 1);
    struct netbuf *req = fake_host_rx(&h, f, n);
    uint8_t *req_payload = req->buf + RX_L4_OFFSET + 8;
    struct fake_frame *r = NT_POP(&h);
    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_UINT_EQ(r->len, n);
    CHECK_UINT_EQ(r->segs, 2);
    CHECK(memcmp(r->data, fake_mac_peer, 6) == 0);
    CHECK(nt_ip_csum_ok(r->data, r->len) && nt_l4_csum_ok(r->data, r->len));
    CHECK_UINT_EQ(nf_get32(r->data + 26), OUR_IP);
    CHECK_UINT_EQ(nf_get32(r->data + 30), PEER_IP);
    CHECK_UINT_EQ(r->data[34], ICMP_ECHO_REPLY);
    CHECK(memcmp(r->data + 38, f + 38, 4 + 56) == 0); /* id, seq, payload */
    free(r);
    /* The payload segment is the request's device buffer, by reference. */
    struct netbuf *held = h.dev.held.head;
    CHECK(held != NULL && held->next != NULL);
    if (held != NULL && held->next != NULL)
        CHECK_PTR_EQ(held->next->data, req_payload);
    CHECK_INT_EQ(h.dev.rx_live, 1); /* kept until the device is done */
    nbuf_queue_purge(&h.dev.held);
    CHECK_INT_EQ(h.dev.rx_live, 0);
    CHECK_UINT_EQ(h.st.cnt.copied_bytes, 0);
    NT_DESTROY(&h);
}

TEST(net_icmp_empty_echo_and_device_verified_checksums)
{
    struct fake_host h;
    uint8_t f[256];

    nt_host(&h, NET_IF_RX_CSUM);
    nt_learn_peer(&h);
    size_t n = ping(f, 0, 2);
    fake_host_rx(&h, f, n);
    struct fake_frame *r = NT_POP(&h);
    CHECK(r != NULL && r->segs == 1 && nt_l4_csum_ok(r->data, r->len));
    free(r);
    /* Flagged valid by the device: not re-checked here. */
    n = ping(f, 10, 3);
    f[36] ^= 0xff;
    struct netbuf *nb = fake_dev_rxbuf(&h.dev, f, n);
    nb->flags = NB_CSUM_VALID;
    net_input(&h.st, &h.dev.ifc, nb, 0);
    CHECK_UINT_EQ(h.dev.tx_count, 1);
    CHECK_UINT_EQ(DROPS(&h, ICMP_CHECKSUM), 0);
    NT_DESTROY(&h);
}

/* Frames from the host's own stack through a tap with offloads carry a
 * partial L4 checksum (virtio-net NEEDS_CSUM): the pseudo-header sum only. */
static struct netbuf *rx_partial(struct fake_host *h, const uint8_t *f, size_t n)
{
    struct netbuf *nb = fake_dev_rxbuf(&h->dev, f, n);
    nb->flags = NB_CSUM_VALID | NB_CSUM_PARTIAL;
    return nb;
}

TEST(net_icmp_echo_with_a_partial_checksum_gets_a_whole_one)
{
    struct fake_host h;
    uint8_t f[256];

    nt_host(&h, NET_IF_RX_CSUM);
    nt_learn_peer(&h);
    size_t n = ping(f, 33, 4); /* odd length: the sum's last byte pads */
    nf_put16(f + 36, 0);       /* what a sender that left the sum to others sends */
    net_input(&h.st, &h.dev.ifc, rx_partial(&h, f, n), 0);
    struct fake_frame *r = NT_POP(&h);
    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_UINT_EQ(r->data[34], ICMP_ECHO_REPLY);
    CHECK(nt_l4_csum_ok(r->data, r->len)); /* computed, not derived from the request's */
    free(r);
    CHECK_UINT_EQ(h.dev.ifc.cnt.rx_csum_partial, 1);
    CHECK_UINT_EQ(h.dev.ifc.cnt.rx_csum_device, 0);
    NT_DESTROY(&h);
}

TEST(net_udp_partial_checksum_is_the_senders_and_accepted)
{
    struct fake_host h;
    uint8_t f[256];
    struct udp_sock *s;

    nt_host(&h, NET_IF_RX_CSUM);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    size_t n = nf_udp_frame(f, fake_mac_a, fake_mac_peer, PEER_IP, OUR_IP, 5000, 7, "partial", 7);
    uint16_t ulen = (uint16_t)(n - 14 - 20);
    nf_put16(f + 40, net_csum_fold(net_csum_pseudo(PEER_IP, OUR_IP, 17, ulen)));
    /* Without the device's word the partial sum is wrong, and counted so. */
    fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(udp_pending(s), 0);
    CHECK_UINT_EQ(DROPS(&h, UDP_CHECKSUM), 1);
    net_input(&h.st, &h.dev.ifc, rx_partial(&h, f, n), 0);
    CHECK_UINT_EQ(udp_pending(s), 1);
    struct netbuf *nb = udp_recv(s, NULL);
    CHECK(nb != NULL && nb->len == 7 && memcmp(nb->data, "partial", 7) == 0);
    nbuf_put(nb);
    CHECK_UINT_EQ(h.dev.ifc.cnt.rx_csum_partial, 1);
    udp_close(s);
    NT_DESTROY(&h);
}

TEST(net_icmp_refuses_short_corrupt_and_unsupported_messages)
{
    struct fake_host h;
    uint8_t f[256], g[256];

    nt_host(&h, 0);
    nt_learn_peer(&h);
    size_t n = ping(f, 16, 4);

    memcpy(g, f, n);
    g[40] ^= 0x20;
    fake_host_rx(&h, g, n);
    CHECK_UINT_EQ(DROPS(&h, ICMP_CHECKSUM), 1);

    /* 7 bytes of ICMP: a correct IP header around a short message. */
    nf_eth(g, fake_mac_a, fake_mac_peer, 0x0800);
    nf_ip(g + 14, PEER_IP, OUR_IP, 1, 9, 0, 7);
    memcpy(g + 34, f + 34, 7);
    fake_host_rx(&h, g, 41);
    CHECK_UINT_EQ(DROPS(&h, ICMP_SHORT), 1);

    /* An echo reply, a destination unreachable: nothing to do. */
    memcpy(g, f, n);
    g[34] = ICMP_ECHO_REPLY;
    nf_put16(g + 36, 0);
    nf_put16(g + 36, nf_fold(nf_sum(g + 34, n - 34, 0)));
    fake_host_rx(&h, g, n);
    g[34] = ICMP_DEST_UNREACH;
    nf_put16(g + 36, 0);
    nf_put16(g + 36, nf_fold(nf_sum(g + 34, n - 34, 0)));
    fake_host_rx(&h, g, n);
    CHECK_UINT_EQ(DROPS(&h, ICMP_IGNORED), 2);

    /* A broadcast ping (RFC 1122 lets us ignore it). */
    memcpy(g, f, n);
    memcpy(g, nf_bcast_mac, 6);
    nf_put32(g + 30, NF_IP(10, 0, 0, 255));
    nf_fix_ip_csum(g);
    fake_host_rx(&h, g, n);
    CHECK_UINT_EQ(DROPS(&h, ICMP_IGNORED), 3);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    NT_DESTROY(&h);
}

TEST(net_icmp_reply_without_buffers_is_counted)
{
    struct fake_host h;
    uint8_t f[256];

    nt_host(&h, 0);
    nt_learn_peer(&h);
    size_t n = ping(f, 32, 5);
    h.fp.tx_fail_after = 0;
    fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(DROPS(&h, TX_NOBUF), 1);
    h.fp.tx_fail_after = -1;
    net_fault_malloc_fail(0, 0); /* the clone */
    fake_host_rx(&h, f, n);
    net_fault_malloc_fail(-1, 0);
    CHECK_UINT_EQ(DROPS(&h, TX_NOMEM), 1);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    NT_DESTROY(&h);
}

static size_t udp_in(uint8_t *f, uint16_t dport, const void *payload, size_t len)
{
    return nf_udp_frame(f, fake_mac_a, fake_mac_peer, PEER_IP, OUR_IP, 5353, dport, payload, len);
}

TEST(net_udp_receive_hands_up_the_device_buffer)
{
    struct fake_host h;
    uint8_t f[256];
    struct udp_sock *s;
    struct udp_endpoint from;

    nt_host(&h, 0);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    size_t n = udp_in(f, 7, "zero copy!", 10);
    struct netbuf *rx = fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(udp_pending(s), 1);
    struct netbuf *nb = udp_recv(s, &from);
    CHECK_PTR_EQ(nb, rx);
    if (nb != NULL) {
        CHECK_PTR_EQ(nb->data, nb->buf + RX_L4_OFFSET + 8);
        CHECK_UINT_EQ(nb->len, 10);
        CHECK(memcmp(nb->data, "zero copy!", 10) == 0);
        CHECK(nb->next == NULL);
    }
    CHECK_UINT_EQ(from.ip, PEER_IP);
    CHECK_UINT_EQ(from.port, 5353);
    CHECK_INT_EQ(h.dev.rx_live, 1); /* the app holds it */
    nbuf_put(nb);
    CHECK_INT_EQ(h.dev.rx_live, 0); /* and gives it back to the device */
    CHECK(udp_recv(s, NULL) == NULL);
    CHECK_UINT_EQ(h.st.cnt.copied_bytes, 0);
    udp_close(s);
    NT_DESTROY(&h);
}

TEST(net_udp_refuses_bad_checksums_lengths_and_ports)
{
    struct fake_host h;
    uint8_t f[256], g[256];
    struct udp_sock *s;

    nt_host(&h, 0);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    size_t n = udp_in(f, 7, "payload-payload", 15);

    memcpy(g, f, n);
    g[n - 1] ^= 0x04;
    fake_host_rx(&h, g, n);
    CHECK_UINT_EQ(DROPS(&h, UDP_CHECKSUM), 1);
    memcpy(g, f, n);
    nf_put32(g + 26, NF_IP(10, 0, 0, 8)); /* the pseudo-header covers the source */
    nf_fix_ip_csum(g);
    fake_host_rx(&h, g, n);
    CHECK_UINT_EQ(DROPS(&h, UDP_CHECKSUM), 2);

    memcpy(g, f, n);
    nf_put16(g + 38, 7); /* length < header */
    fake_host_rx(&h, g, n);
    nf_put16(g + 38, (uint16_t)(n - 34 + 1)); /* longer than the IP payload */
    fake_host_rx(&h, g, n);
    CHECK_UINT_EQ(DROPS(&h, UDP_LEN), 2);

    nf_eth(g, fake_mac_a, fake_mac_peer, 0x0800);
    nf_ip(g + 14, PEER_IP, OUR_IP, 17, 9, 0, 7);
    fake_host_rx(&h, g, 41);
    CHECK_UINT_EQ(DROPS(&h, UDP_SHORT), 1);

    n = udp_in(f, 9, "x", 1);
    fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(DROPS(&h, UDP_NO_PORT), 1);
    CHECK_UINT_EQ(udp_pending(s), 0);
    CHECK_INT_EQ(h.dev.rx_live, 0);

    /* Checksum 0: none sent, accepted. A shorter UDP length trims. */
    n = udp_in(f, 7, "abcdef", 6);
    nf_put16(f + 40, 0);
    nf_put16(f + 38, 8 + 4);
    fake_host_rx(&h, f, n);
    struct netbuf *nb = udp_recv(s, NULL);
    CHECK(nb != NULL && nb->len == 4 && memcmp(nb->data, "abcd", 4) == 0);
    nbuf_put(nb);
    udp_close(s);
    NT_DESTROY(&h);
}

static void count_notify(struct udp_sock *s, void *arg)
{
    (void)s;
    (*(int *)arg)++;
}

TEST(net_udp_receive_queue_is_capped)
{
    struct fake_host h;
    uint8_t f[256];
    struct udp_sock *s;
    int notified = 0;

    nt_host(&h, 0);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    s->rxq_max = 3;
    udp_set_notify(s, count_notify, &notified);
    for (uint8_t i = 0; i < 5; i++) {
        size_t n = udp_in(f, 7, &i, 1);
        fake_host_rx(&h, f, n);
    }
    CHECK_UINT_EQ(udp_pending(s), 3);
    CHECK_UINT_EQ(s->rx_dropped, 2);
    CHECK_UINT_EQ(DROPS(&h, UDP_QUEUE_FULL), 2);
    CHECK_INT_EQ(notified, 3);
    CHECK_INT_EQ(h.dev.rx_live, 3);
    for (uint8_t i = 0; i < 3; i++) {
        struct netbuf *nb = udp_recv(s, NULL);
        CHECK(nb != NULL && nb->data[0] == i);
        nbuf_put(nb);
    }
    size_t n = udp_in(f, 7, "late", 4);
    fake_host_rx(&h, f, n);
    udp_close(s); /* releases what is still queued */
    CHECK_INT_EQ(h.dev.rx_live, 0);
    NT_DESTROY(&h);
}

TEST(net_udp_bind_ports_and_limits)
{
    struct fake_host h;
    struct udp_sock *a, *b, *c, *d;

    nt_host(&h, 0);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &a), 0);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &b), -EADDRINUSE);
    CHECK_INT_EQ(udp_bind(&h.st, 0, &b), 0);
    CHECK_INT_EQ(udp_bind(&h.st, 0, &c), 0);
    CHECK(b->port >= UDP_EPHEMERAL_FIRST && c->port >= UDP_EPHEMERAL_FIRST);
    CHECK(b->port != c->port);
    h.st.lim.udp_sockets = 3;
    CHECK_INT_EQ(udp_bind(&h.st, 8, &d), -ENOBUFS);
    udp_close(b);
    net_fault_malloc_fail(0, 0);
    CHECK_INT_EQ(udp_bind(&h.st, 8, &d), -ENOMEM);
    net_fault_malloc_fail(-1, 0);
    CHECK_INT_EQ(udp_bind(&h.st, 8, &d), 0);
    CHECK_UINT_EQ(h.st.udp.count, 3);
    udp_close(NULL);
    NT_DESTROY(&h); /* closes a, c, d */
}

static struct fake_frame *send_and_pop(struct fake_host *h, struct udp_sock *s, uint32_t dst,
                                       struct netbuf *payload)
{
    CHECK_INT_EQ(udp_sendto(s, dst, 9999, payload, h->now), 0);
    return NT_POP(h);
}

TEST(net_udp_send_builds_checksummed_datagrams)
{
    struct fake_host h;
    struct udp_sock *s;

    nt_host(&h, 0);
    nt_learn_peer(&h);
    CHECK_INT_EQ(udp_bind(&h.st, 1234, &s), 0);
    CHECK_INT_EQ(udp_sendto_copy(s, PEER_IP, 9999, "hello", 5, h.now), 0);
    struct fake_frame *f = NT_POP(&h);
    if (f != NULL) {
        CHECK_UINT_EQ(f->len, 14 + 20 + 8 + 5);
        CHECK_UINT_EQ(f->segs, 1);
        CHECK(nt_ip_csum_ok(f->data, f->len) && nt_l4_csum_ok(f->data, f->len));
        CHECK_UINT_EQ(nf_get16(f->data + 34), 1234);
        CHECK_UINT_EQ(nf_get16(f->data + 36), 9999);
        CHECK_UINT_EQ(nf_get16(f->data + 38), 13);
        CHECK(nf_get16(f->data + 40) != 0);
        CHECK(memcmp(f->data + 42, "hello", 5) == 0);
        free(f);
    }
    CHECK_UINT_EQ(h.st.cnt.copied_bytes, 5);
    /* An empty datagram, and one to the broadcast address. */
    f = send_and_pop(&h, s, PEER_IP, NULL);
    CHECK(f != NULL && f->len == 42 && nt_l4_csum_ok(f->data, f->len));
    free(f);
    f = send_and_pop(&h, s, 0xffffffffu, NULL);
    CHECK(f != NULL && memcmp(f->data, nf_bcast_mac, 6) == 0);
    free(f);
    udp_close(s);
    NT_DESTROY(&h);
}

TEST(net_udp_send_leaves_the_checksum_to_an_offloading_device)
{
    struct fake_host h;
    struct udp_sock *s;

    nt_host(&h, NET_IF_TX_CSUM);
    nt_learn_peer(&h);
    CHECK_INT_EQ(udp_bind(&h.st, 1234, &s), 0);
    CHECK_INT_EQ(udp_sendto_copy(s, PEER_IP, 9999, "offload me", 10, h.now), 0);
    struct fake_frame *f = NT_POP(&h);
    if (f != NULL) {
        CHECK(f->flags & NB_CSUM_NEEDED);
        CHECK(nt_l4_csum_ok(f->data, f->len)); /* as completed by the device */
        free(f);
    }
    CHECK_UINT_EQ(h.dev.offloaded, 1);
    CHECK_UINT_EQ(fake_dev_bad_offload(&h.dev), 0);
    udp_close(s);
    NT_DESTROY(&h);
}

static void app_done(void *cookie)
{
    (*(int *)cookie)++;
}

TEST(net_udp_send_of_app_memory_is_zero_copy)
{
    static const char file[] = "static file contents, never copied by the stack";
    struct fake_host h;
    struct udp_sock *s;
    int done = 0;

    nt_host(&h, 0);
    nt_learn_peer(&h);
    h.dev.hold = 1;
    CHECK_INT_EQ(udp_bind(&h.st, 80, &s), 0);
    struct netbuf *nb = nbuf_wrap(file, sizeof(file), app_done, &done);
    struct fake_frame *f = send_and_pop(&h, s, PEER_IP, nb);
    if (f != NULL) {
        CHECK_UINT_EQ(f->segs, 2);
        CHECK(nt_l4_csum_ok(f->data, f->len));
        CHECK(memcmp(f->data + 42, file, sizeof(file)) == 0);
        free(f);
    }
    struct netbuf *held = h.dev.held.head;
    CHECK(held != NULL && held->next != NULL && held->next->data == (const uint8_t *)file);
    CHECK_INT_EQ(done, 0); /* the device still holds it */
    nbuf_queue_purge(&h.dev.held);
    CHECK_INT_EQ(done, 1);
    CHECK_UINT_EQ(h.st.cnt.copied_bytes, 0);
    udp_close(s);
    NT_DESTROY(&h);
}

TEST(net_udp_send_errors)
{
    struct fake_host h;
    struct udp_sock *s;
    static uint8_t big[UDP_MAX_PAYLOAD + 1];

    nt_host(&h, 0);
    CHECK_INT_EQ(udp_bind(&h.st, 1234, &s), 0);
    h.dev.ifc.gw = 0;
    CHECK_INT_EQ(udp_sendto_copy(s, NF_IP(1, 1, 1, 1), 53, "q", 1, 0), -ENETUNREACH);
    CHECK_INT_EQ(udp_sendto(s, NF_IP(1, 1, 1, 1), 53, nbuf_alloc_heap(64, 1), 0), -ENETUNREACH);
    CHECK_UINT_EQ(h.st.cnt.no_route, 2);
    CHECK_INT_EQ(udp_sendto_copy(s, PEER_IP, 53, big, sizeof(big), 0), -EMSGSIZE);
    struct netbuf *nb = nbuf_wrap(big, sizeof(big), NULL, NULL);
    CHECK_INT_EQ(udp_sendto(s, PEER_IP, 53, nb, 0), -EMSGSIZE);
    h.fp.tx_fail_after = 0;
    CHECK_INT_EQ(udp_sendto_copy(s, PEER_IP, 53, "q", 1, 0), -ENOBUFS);
    nb = nbuf_wrap(big, 10, NULL, NULL); /* needs a header buffer */
    CHECK_INT_EQ(udp_sendto(s, PEER_IP, 53, nb, 0), -ENOBUFS);
    CHECK_UINT_EQ(DROPS(&h, TX_NOBUF), 2);
    udp_close(s);
    NT_DESTROY(&h);
}

TEST(net_udp_recv_copy_truncates_and_counts)
{
    struct fake_host h;
    uint8_t f[256];
    char buf[4];
    struct udp_sock *s;
    struct udp_endpoint from;

    nt_host(&h, 0);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    CHECK_INT_EQ(udp_recv_copy(s, buf, sizeof(buf), &from), -EAGAIN);
    size_t n = udp_in(f, 7, "truncated", 9);
    fake_host_rx(&h, f, n);
    CHECK_INT_EQ(udp_recv_copy(s, buf, sizeof(buf), &from), 4);
    CHECK(memcmp(buf, "trun", 4) == 0 && from.port == 5353);
    CHECK_UINT_EQ(h.st.cnt.copied_bytes, 4);
    CHECK_INT_EQ(h.dev.rx_live, 0);
    udp_close(s);
    NT_DESTROY(&h);
}

/* Cut the transport part at every length, with an IP header that agrees
 * (so IPv4 passes it on): each cut is counted once, under the transport's
 * own reasons. */
static void cut_and_feed(struct fake_host *h, const uint8_t *f, size_t cut)
{
    uint8_t g[256];

    memcpy(g, f, 34 + cut);
    nf_put16(g + 16, (uint16_t)(20 + cut));
    nf_fix_ip_csum(g);
    fake_host_rx(h, g, 34 + cut);
}

TEST(net_transport_truncations_are_counted_under_their_own_reasons)
{
    struct fake_host h;
    uint8_t f[256];
    struct udp_sock *s;

    nt_host(&h, 0);
    nt_learn_peer(&h);
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    size_t n = udp_in(f, 7, "0123456789abcdef", 16);
    for (size_t cut = 0; cut < n - 34; cut++)
        cut_and_feed(&h, f, cut);
    CHECK_UINT_EQ(DROPS(&h, UDP_SHORT), 8);
    CHECK_UINT_EQ(DROPS(&h, UDP_LEN), 16); /* the length field says 24 */
    CHECK_UINT_EQ(net_iface_total_drops(&h.dev.ifc), 24);
    CHECK_UINT_EQ(udp_pending(s), 0);

    n = ping(f, 16, 7);
    for (size_t cut = 0; cut < n - 34; cut++)
        cut_and_feed(&h, f, cut);
    CHECK_UINT_EQ(DROPS(&h, ICMP_SHORT), 8);
    /* Cut ICMP no longer sums right (a cut of zero bytes could, by chance:
     * those would be answered, and none are). */
    CHECK_UINT_EQ(DROPS(&h, ICMP_CHECKSUM), 16);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    udp_close(s);
    NT_DESTROY(&h);
}

TEST(net_udp_echo_sends_the_received_buffer_back_in_place)
{
    struct fake_host h;
    uint8_t f[256];
    struct udp_sock *s;
    struct udp_endpoint from;

    nt_host(&h, NET_IF_RX_CSUM | NET_IF_TX_CSUM);
    nt_learn_peer(&h);
    h.dev.hold = 1;
    CHECK_INT_EQ(udp_bind(&h.st, 7, &s), 0);
    size_t n = udp_in(f, 7, "echo me", 7);
    struct netbuf *rx = fake_dev_rxbuf(&h.dev, f, n);
    rx->flags = NB_CSUM_VALID;
    net_input(&h.st, &h.dev.ifc, rx, h.now);
    struct netbuf *nb = udp_recv(s, &from);
    CHECK_PTR_EQ(nb, rx);
    CHECK_INT_EQ(udp_sendto(s, from.ip, from.port, nb, h.now), 0);
    struct fake_frame *r = NT_POP(&h);
    if (r != NULL) {
        CHECK_UINT_EQ(r->segs, 1); /* every header went into the same buffer */
        CHECK(r->flags & NB_CSUM_NEEDED);
        CHECK(!(r->flags & NB_CSUM_VALID));
        CHECK(nt_ip_csum_ok(r->data, r->len) && nt_l4_csum_ok(r->data, r->len));
        CHECK(memcmp(r->data, fake_mac_peer, 6) == 0);
        CHECK_UINT_EQ(nf_get16(r->data + 34), 7);
        CHECK_UINT_EQ(nf_get16(r->data + 36), 5353);
        CHECK(memcmp(r->data + 42, "echo me", 7) == 0);
        free(r);
    }
    CHECK_PTR_EQ(h.dev.held.head, rx); /* the device sends from the receive buffer */
    CHECK_INT_EQ(h.dev.rx_live, 1);
    nbuf_queue_purge(&h.dev.held);
    CHECK_INT_EQ(h.dev.rx_live, 0);
    CHECK_UINT_EQ(h.st.cnt.copied_bytes, 0);
    udp_close(s);
    NT_DESTROY(&h);
}
