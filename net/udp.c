/*
 * net/udp.c - UDP input, output and the socket table (RFC 768, RFC 1122
 * 4.1).
 *
 * Call order: ip4_input -> udp_input -> socket queue (or dhcp_input);
 * app -> udp_sendto -> udp_output -> ip4_output.
 */
#include "net/udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/byteorder.h"
#include "net/checksum.h"
#include "net/dhcp.h"
#include "net/eth.h"
#include "net/ipv4.h"
#include "net/stack_internal.h"

static struct udp_sock *find(struct net_stack *st, uint16_t port)
{
    for (struct udp_sock *s = st->udp.socks; s != NULL; s = s->next)
        if (s->port == port)
            return s;
    return NULL;
}

static uint16_t pick_ephemeral(struct net_stack *st)
{
    const unsigned range = 65536 - UDP_EPHEMERAL_FIRST;

    for (unsigned i = 0; i < range; i++) {
        uint16_t port = st->udp.next_ephemeral;
        st->udp.next_ephemeral = port == 65535 ? UDP_EPHEMERAL_FIRST : (uint16_t)(port + 1);
        if (port >= UDP_EPHEMERAL_FIRST && find(st, port) == NULL)
            return port;
    }
    return 0;
}

int udp_bind(struct net_stack *st, uint16_t port, struct udp_sock **out)
{
    if (st->udp.count >= st->lim.udp_sockets)
        return -ENOBUFS;
    if (port == 0 && (port = pick_ephemeral(st)) == 0)
        return -EADDRINUSE;
    if (find(st, port) != NULL)
        return -EADDRINUSE;
    struct udp_sock *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->stack = st;
    s->port = port;
    s->rxq_max = st->lim.udp_rxq;
    s->next = st->udp.socks;
    st->udp.socks = s;
    st->udp.count++;
    *out = s;
    return 0;
}

void udp_close(struct udp_sock *s)
{
    if (s == NULL)
        return;
    struct udp_sock **link = &s->stack->udp.socks;
    while (*link != s)
        link = &(*link)->next;
    *link = s->next;
    s->stack->udp.count--;
    nbuf_queue_purge(&s->rxq);
    free(s);
}

void udp_destroy_all(struct net_stack *st)
{
    while (st->udp.socks != NULL)
        udp_close(st->udp.socks);
}

void udp_set_notify(struct udp_sock *s, udp_notify_fn fn, void *arg)
{
    s->notify = fn;
    s->notify_arg = arg;
}

unsigned udp_pending(const struct udp_sock *s)
{
    return s->rxq.count;
}

static void drop(struct net_iface *ifc, struct netbuf *nb, enum net_drop why)
{
    net_iface_drop(ifc, why);
    nbuf_put(nb);
}

/* Header checks; returns a drop reason or -1. Trims nb to the UDP length. */
static int udp_check(struct netbuf *nb, const struct ip4_info *ip)
{
    if (nb->len < UDP_HDR_LEN)
        return NET_DROP_UDP_SHORT;
    uint16_t ulen = net_get_be16(nb->data + 4);
    if (ulen < UDP_HDR_LEN || ulen > nb->len)
        return NET_DROP_UDP_LEN;
    nbuf_trim(nb, ulen);
    if (net_get_be16(nb->data + 6) == 0 || (nb->flags & NB_CSUM_VALID))
        return -1; /* no checksum sent (RFC 768), or the device checked it */
    uint32_t sum = net_csum_pseudo(ip->src, ip->dst, IP4_PROTO_UDP, ulen);
    if (net_csum_fold(net_csum_add(sum, nb->data, ulen)) != 0xffff)
        return NET_DROP_UDP_CHECKSUM;
    return -1;
}

void udp_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb,
               const struct ip4_info *ip, uint64_t now_ms)
{
    int why = udp_check(nb, ip);

    if (why >= 0) {
        drop(ifc, nb, (enum net_drop)why);
        return;
    }
    uint16_t dport = net_get_be16(nb->data + 2);
    nbuf_pull(nb, UDP_HDR_LEN);
    if (dport == DHCP_CLIENT_PORT && ifc->dhcp.state != DHCP_OFF) {
        dhcp_input(st, ifc, nb, ip, now_ms);
        return;
    }
    struct udp_sock *s = find(st, dport);
    if (s == NULL) {
        drop(ifc, nb, NET_DROP_UDP_NO_PORT);
        return;
    }
    if (s->rxq.count >= s->rxq_max) {
        s->rx_dropped++;
        drop(ifc, nb, NET_DROP_UDP_QUEUE_FULL);
        return;
    }
    nbuf_queue_push(&s->rxq, nb);
    if (s->notify != NULL)
        s->notify(s, s->notify_arg);
}

/* The UDP header in front of payload: in its headroom when it has room
 * for all headers and is ours to write, else in a new buffer. */
static struct netbuf *add_header(struct net_stack *st, struct net_iface *ifc,
                                 struct netbuf *payload)
{
    if (payload != NULL && nbuf_headroom(payload) >= UDP_HDR_LEN + ETH_HDR_LEN + IP4_HDR_LEN &&
        nbuf_push(payload, UDP_HDR_LEN) != NULL)
        return payload;
    struct netbuf *hdr = net_tx_alloc(st, ifc, NET_L4_HEADROOM, UDP_HDR_LEN);
    if (hdr == NULL) {
        nbuf_put(payload);
        return NULL;
    }
    hdr->next = payload;
    return hdr;
}

int udp_output(struct net_stack *st, struct net_iface *ifc, uint32_t src_ip, uint16_t src_port,
               uint32_t dst_ip, uint16_t dst_port, struct netbuf *payload, uint64_t now_ms)
{
    uint32_t next_hop;
    size_t plen = nbuf_chain_len(payload);

    if (plen > UDP_MAX_PAYLOAD) {
        nbuf_put(payload);
        return -EMSGSIZE;
    }
    if (ifc == NULL && (ifc = ip4_route(st, dst_ip, &next_hop)) == NULL) {
        st->cnt.no_route++;
        nbuf_put(payload);
        return -ENETUNREACH;
    }
    if (src_ip == 0)
        src_ip = ifc->ip;
    struct netbuf *h = add_header(st, ifc, payload);
    if (h == NULL)
        return -ENOBUFS;
    uint16_t ulen = (uint16_t)(UDP_HDR_LEN + plen);
    /* A received buffer sent back (an echo) keeps no receive-side flags. */
    h->flags &= (uint16_t) ~(NB_CSUM_VALID | NB_LINK_BCAST);
    net_put_be16(h->data, src_port);
    net_put_be16(h->data + 2, dst_port);
    net_put_be16(h->data + 4, ulen);
    uint32_t sum = net_csum_pseudo(src_ip, dst_ip, IP4_PROTO_UDP, ulen);
    if ((ifc->features & NET_IF_TX_CSUM) && IP4_HDR_LEN + ulen <= ifc->mtu) {
        net_put_be16(h->data + 6, net_csum_fold(sum));
        h->flags |= NB_CSUM_NEEDED;
        h->csum_start = (uint16_t)nbuf_headroom(h);
        h->csum_offset = 6;
    } else {
        net_put_be16(h->data + 6, 0);
        uint16_t v = net_csum_value(net_csum_chain(h, 0, SIZE_MAX, sum));
        net_put_be16(h->data + 6, v == 0 ? 0xffff : v);
    }
    return ip4_output(st, ifc, src_ip, dst_ip, IP4_PROTO_UDP, h, now_ms);
}

int udp_sendto(struct udp_sock *s, uint32_t dst_ip, uint16_t dst_port, struct netbuf *payload,
               uint64_t now_ms)
{
    return udp_output(s->stack, NULL, 0, s->port, dst_ip, dst_port, payload, now_ms);
}

int udp_sendto_copy(struct udp_sock *s, uint32_t dst_ip, uint16_t dst_port, const void *data,
                    size_t len, uint64_t now_ms)
{
    struct net_stack *st = s->stack;
    uint32_t next_hop;

    if (len > UDP_MAX_PAYLOAD)
        return -EMSGSIZE;
    struct net_iface *ifc = ip4_route(st, dst_ip, &next_hop);
    if (ifc == NULL) {
        st->cnt.no_route++;
        return -ENETUNREACH;
    }
    struct netbuf *nb = net_tx_alloc(st, ifc, NET_L4_HEADROOM + UDP_HDR_LEN, len);
    if (nb == NULL)
        return -ENOBUFS;
    memcpy(nb->data, data, len);
    st->cnt.copied_bytes += len;
    return udp_output(st, ifc, 0, s->port, dst_ip, dst_port, nb, now_ms);
}

struct netbuf *udp_recv(struct udp_sock *s, struct udp_endpoint *from)
{
    struct netbuf *nb = nbuf_queue_pop(&s->rxq);

    if (nb != NULL && from != NULL) {
        from->ip = net_get_be32(nb->buf + nb->l3_off + 12);
        from->port = net_get_be16(nb->buf + nb->l4_off);
    }
    return nb;
}

int udp_recv_copy(struct udp_sock *s, void *buf, size_t size, struct udp_endpoint *from)
{
    struct netbuf *nb = udp_recv(s, from);

    if (nb == NULL)
        return -EAGAIN;
    size_t n = nb->len < size ? nb->len : size;
    memcpy(buf, nb->data, n);
    s->stack->cnt.copied_bytes += n;
    nbuf_put(nb);
    return (int)n;
}
