/*
 * net_test_netdev.c - the device boundary (net/netdev.c) through the fake
 * device, which sits on it as virtio-net does: the transmit backlog, the
 * receive copy line, packets in several buffers, frames in more pieces than
 * the device takes, and offloads the device cannot do.
 */
#include <stdlib.h>
#include <string.h>

#include "net/netdev.h"
#include "net/udp.h"
#include "net_test.h"

#define PORT 7000

static size_t udp_frame(uint8_t *f, unsigned tag, size_t len)
{
    uint8_t payload[1400];

    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)(tag * 31 + i);
    return nf_udp_frame(f, fake_mac_a, fake_mac_peer, PEER_IP, OUR_IP, 5000, PORT, payload, len);
}

static struct netbuf *datagram(unsigned tag)
{
    struct netbuf *nb = nbuf_alloc_heap(NET_L4_HEADROOM, 4);
    if (nb != NULL)
        memset(nb->data, (int)tag, 4);
    return nb;
}

/* A full ring is not an error: frames wait in order and go out as the
 * device makes room; past NETDEV_BACKLOG_MAX they are dropped. */
TEST(netdev_backlog_keeps_order_until_the_ring_has_room)
{
    struct fake_host h;
    struct udp_sock *s;

    nt_host(&h, 0);
    nt_learn_peer(&h);
    CHECK_INT_EQ(udp_bind(&h.st, PORT, &s), 0);
    h.dev.tx_error = -ENOSPC;
    for (unsigned i = 0; i < 5; i++)
        CHECK_INT_EQ(udp_sendto(s, PEER_IP, 9, datagram(i), 0), 0);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    CHECK_UINT_EQ(netdev_unfinished(&h.dev.nd), 5);
    CHECK_UINT_EQ(h.dev.nd.cnt.tx_backlogged, 5);
    CHECK_UINT_EQ(netdev_max_sleep_ms(&h.dev.nd, 500), 1);
    /* Still full: nothing moves, nothing is lost. */
    netdev_poll(&h.dev.nd, 8, 0);
    CHECK_UINT_EQ(netdev_unfinished(&h.dev.nd), 5);
    h.dev.tx_error = 0;
    netdev_poll(&h.dev.nd, 8, 0);
    CHECK_UINT_EQ(netdev_unfinished(&h.dev.nd), 0);
    for (unsigned i = 0; i < 5; i++) {
        struct fake_frame *f = NT_POP(&h);
        if (f == NULL)
            break;
        CHECK_UINT_EQ(f->data[42], i); /* first payload byte: the order sent */
        free(f);
    }
    CHECK_UINT_EQ(DROPS(&h, TX_DEVICE), 0);
    /* Past the limit: dropped, counted by the stack. */
    h.dev.tx_error = -ENOSPC;
    for (unsigned i = 0; i < NETDEV_BACKLOG_MAX + 3; i++)
        udp_sendto(s, PEER_IP, 9, datagram(i), 0);
    CHECK_UINT_EQ(netdev_unfinished(&h.dev.nd), NETDEV_BACKLOG_MAX);
    CHECK_UINT_EQ(DROPS(&h, TX_DEVICE), 3);
    udp_close(s);
    NT_DESTROY(&h); /* the backlog is purged: nothing leaks */
}

/* Buffers the stack and the app hold in place come out of the ring; past
 * the copy line a packet is copied and its buffer goes straight back. */
TEST(netdev_copies_received_packets_past_the_copy_line)
{
    struct fake_host h;
    struct udp_sock *s;
    uint8_t f[1500];

    nt_host(&h, 0);
    h.dev.nd.rx_copy_line = 3;
    CHECK_INT_EQ(udp_bind(&h.st, PORT, &s), 0);
    struct netbuf *in[5];
    for (unsigned i = 0; i < 5; i++)
        in[i] = fake_host_rx(&h, f, udp_frame(f, i, 100));
    (void)in;
    CHECK_UINT_EQ(h.dev.nd.rx_held, 3);
    CHECK_UINT_EQ(h.dev.nd.rx_held_max, 3);
    CHECK_UINT_EQ(h.dev.nd.cnt.rx_copied, 2);
    CHECK_INT_EQ(h.dev.rx_live, 3); /* the copied ones' buffers went back */
    CHECK_UINT_EQ(h.st.cnt.copied_bytes, 2 * (14 + 20 + 8 + 100));
    for (unsigned i = 0; i < 5; i++) {
        struct udp_endpoint from;
        struct netbuf *nb = udp_recv(s, &from);
        CHECK(nb != NULL);
        if (nb == NULL)
            break;
        CHECK_UINT_EQ(nb->len, 100);
        CHECK_UINT_EQ(nb->data[0], (uint8_t)(i * 31));
        CHECK_UINT_EQ(nb->data[99], (uint8_t)(i * 31 + 99));
        CHECK_INT_EQ((nb->flags & NB_RING) != 0, i < 3);
        nbuf_put(nb);
    }
    CHECK_UINT_EQ(h.dev.nd.rx_held, 0);
    CHECK_INT_EQ(h.dev.rx_live, 0);
    udp_close(s);
    NT_DESTROY(&h);
}

/* A packet the device spread over several buffers goes up as a chain of the
 * buffers themselves, each released on its own (TCP keeps such a chain in
 * place: net_test_tcp's large-segment tests). */
TEST(netdev_packet_in_several_buffers_is_one_chain)
{
    struct fake_host h;
    struct udp_sock *s;
    uint8_t f[1500];

    nt_host(&h, 0);
    CHECK_INT_EQ(udp_bind(&h.st, PORT, &s), 0);
    size_t n = udp_frame(f, 7, 1000);
    const size_t parts[] = {300, 400, n - 700};
    uint64_t copied = h.st.cnt.copied_bytes;
    fake_dev_rx_parts(&h.dev, f, parts, 3, 0);
    /* UDP is not taken in place from a chain (net_input linearizes all but
     * TCP): the three buffers were lent, then all went back at once. */
    CHECK_UINT_EQ(h.dev.nd.rx_held_max, 3);
    CHECK_UINT_EQ(h.dev.nd.rx_held, 0);
    CHECK_INT_EQ(h.dev.rx_live, 0);
    CHECK_UINT_EQ(h.st.cnt.rx_linearized, 1);
    CHECK_UINT_EQ(h.st.cnt.copied_bytes - copied, n);
    struct udp_endpoint from;
    struct netbuf *nb = udp_recv(s, &from);
    CHECK(nb != NULL);
    if (nb != NULL) {
        CHECK_UINT_EQ(nbuf_chain_len(nb), 1000);
        uint8_t got[1000];
        nbuf_copy_out(nb, 0, got, sizeof(got));
        CHECK(memcmp(got, f + 42, sizeof(got)) == 0);
        nbuf_put(nb);
    }
    udp_close(s);
    NT_DESTROY(&h);
}

/* A frame in more pieces than the device takes: the payload is copied into
 * one buffer behind the header, not dropped. */
TEST(netdev_linearizes_a_frame_in_too_many_pieces)
{
    struct fake_host h;
    struct udp_sock *s;
    static const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789";

    nt_host(&h, 0);
    nt_learn_peer(&h);
    CHECK_INT_EQ(udp_bind(&h.st, PORT, &s), 0);
    h.dev.nd.info.max_slices = 4;
    struct netbuf *chain = nbuf_wrap(text, 2, NULL, NULL);
    struct netbuf *tail = chain;
    for (size_t off = 2; off < sizeof(text) - 1 && tail != NULL; off += 2) {
        tail->next = nbuf_wrap(text + off, 2, NULL, NULL);
        tail = tail->next;
    }
    CHECK_INT_EQ(udp_sendto(s, PEER_IP, 9, chain, 0), 0);
    struct fake_frame *f = NT_POP(&h);
    if (f != NULL) {
        CHECK_UINT_EQ(f->segs, 2);
        CHECK_UINT_EQ(f->len, 42 + sizeof(text) - 1);
        CHECK(memcmp(f->data + 42, text, sizeof(text) - 1) == 0);
        CHECK(nt_l4_csum_ok(f->data, f->len));
        free(f);
    }
    CHECK_UINT_EQ(h.dev.nd.cnt.tx_linearized, 1);
    CHECK_UINT_EQ(h.st.cnt.copied_bytes, sizeof(text) - 1);
    CHECK_UINT_EQ(DROPS(&h, TX_DEVICE), 0);
    udp_close(s);
    NT_DESTROY(&h);
}

/* Offloads the device did not agree to: a checksum is finished here (the
 * stack built the frame while the device still had CSUM), a TSO frame is
 * refused and counted. */
TEST(netdev_offloads_the_device_cannot_do)
{
    struct fake_host h;
    struct udp_sock *s;

    nt_host(&h, NET_IF_TX_CSUM);
    nt_learn_peer(&h);
    CHECK_INT_EQ(udp_bind(&h.st, PORT, &s), 0);
    h.dev.tx_error = -ENOSPC; /* it waits in the backlog, built for the offload */
    CHECK_INT_EQ(udp_sendto(s, PEER_IP, 9, datagram(0x5a), 0), 0);
    CHECK(h.dev.nd.backlog.head != NULL && (h.dev.nd.backlog.head->flags & NB_CSUM_NEEDED));
    h.dev.ifc.features &= ~NET_IF_TX_CSUM;
    h.dev.tx_error = 0;
    netdev_poll(&h.dev.nd, 8, 0);
    struct fake_frame *f = NT_POP(&h);
    if (f != NULL) {
        CHECK_UINT_EQ(f->flags & NB_CSUM_NEEDED, 0); /* not asked of the device */
        CHECK(nt_l4_csum_ok(f->data, f->len));
        free(f);
    }
    CHECK_UINT_EQ(h.dev.nd.cnt.tx_csum_software, 1);
    /* TSO without the feature: refused, never handed to the device. */
    struct netbuf *nb = nbuf_alloc_heap(0, 60);
    if (nb != NULL) {
        memset(nb->data, 0, 60);
        nb->flags |= NB_GSO_TCP4 | NB_CSUM_NEEDED;
        nb->csum_start = (uint16_t)(nb->data - nb->buf + 34);
        nb->csum_offset = 16;
        nb->gso_size = 1448;
        CHECK_INT_EQ(h.dev.ifc.ops->transmit(&h.dev.ifc, nb), -EINVAL);
    }
    CHECK_UINT_EQ(h.dev.nd.cnt.tx_bad_offload, 1);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    CHECK_UINT_EQ(fake_dev_bad_offload(&h.dev), 2); /* both are stack bugs to the fake */
    udp_close(s);
    NT_DESTROY(&h);
}
