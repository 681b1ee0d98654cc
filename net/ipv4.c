/*
 * net/ipv4.c - IPv4 receive checks and demultiplexing, routing, header
 * building and fragmentation (reassembly is in ip4_frag.c).
 *
 * Receive call order: eth_input -> ip4_input -> [ip4_reasm_input] ->
 * icmp_input | udp_input | tcp_input. Transmit: icmp/udp -> ip4_output -> arp_output.
 */
#include "net/ipv4.h"

#include <errno.h>
#include <string.h>

#include "net/arp.h"
#include "net/byteorder.h"
#include "net/checksum.h"
#include "net/eth.h"
#include "net/icmp.h"
#include "net/ipv4_internal.h"
#include "net/stack_internal.h"
#include "net/tcp.h"
#include "net/udp.h"

/*
 * Whether src cannot be another host's address, so that the packet is
 * dropped before anything answers it or ARPs for it (RFC 1122 3.2.1.3: a
 * host discards a datagram whose source is not a valid host address; RFC
 * 9293 3.9.2.3, MUST-63: a SYN from one is ignored, by TCP or by IP):
 * - 0.0.0.0/8, "this host on this network": a source only while a host
 *   learns its address. Nothing we take needs it: our DHCP client hears
 *   from servers, which have addresses, and other clients' 0.0.0.0
 *   requests are for servers, not for us;
 * - a broadcast source, limited or our subnet's;
 * - multicast (RFC 1112 4), and loopback, 127/8;
 * - our subnet's network address, host part all zeros, which the old
 *   all-zeros broadcast convention (RFC 1122 3.3.6) made a broadcast -
 *   not on a /31, where both addresses are hosts (RFC 3021), nor on a
 *   /32, which has no subnet;
 * - our own address, coming in from outside.
 */
static int martian_src(const struct net_iface *ifc, uint32_t src)
{
    if (src >> 24 == 0 || src >> 24 == 127 || ip4_is_multicast(src) || net_iface_is_bcast(ifc, src))
        return 1;
    if (ifc->ip == 0)
        return 0;
    return src == ifc->ip || (ifc->mask < 0xfffffffeu && src == (ifc->ip & ifc->mask));
}

/* Header checks that need no state beyond ifc; fills *ip. Returns a drop
 * reason, or -1 when the packet is for us. */
static int ip4_check(const struct net_iface *ifc, const struct netbuf *nb, struct ip4_info *ip)
{
    const uint8_t *p = nb->data;

    if (nb->len < IP4_HDR_LEN)
        return NET_DROP_IP_SHORT;
    if (p[0] >> 4 != 4)
        return NET_DROP_IP_VERSION;
    size_t hlen = (size_t)(p[0] & 0xf) * 4;
    if (hlen < IP4_HDR_LEN || hlen > nb->len)
        return NET_DROP_IP_HDR_LEN;
    size_t total = net_get_be16(p + 2);
    /* A chain (a large TCP segment in several receive buffers) holds the
     * header in its head and the datagram over all its segments. */
    if (total < hlen || total > nbuf_chain_len(nb))
        return NET_DROP_IP_TOTAL_LEN;
    if (!(nb->flags & NB_CSUM_VALID) && net_csum_fold(net_csum_add(0, p, hlen)) != 0xffff)
        return NET_DROP_IP_CHECKSUM;
    if (p[8] == 0)
        return NET_DROP_IP_TTL;
    ip->src = net_get_be32(p + 12);
    ip->dst = net_get_be32(p + 16);
    ip->proto = p[9];
    ip->ttl = p[8];
    ip->hdr_len = (uint16_t)hlen;
    ip->link_bcast = (nb->flags & NB_LINK_BCAST) != 0;
    ip->ip_bcast = (uint8_t)net_iface_is_bcast(ifc, ip->dst);
    if (martian_src(ifc, ip->src))
        return NET_DROP_IP_SRC;
    /* Without an address, take what reaches our MAC: a DHCP server may
     * unicast its offer to the address it is offering. */
    if (ip->dst != ifc->ip && !ip->ip_bcast && ifc->ip != 0)
        return NET_DROP_IP_NOT_FOR_US;
    if (ip4_is_multicast(ip->dst))
        return NET_DROP_IP_NOT_FOR_US;
    if (ip->proto != IP4_PROTO_ICMP && ip->proto != IP4_PROTO_UDP && ip->proto != IP4_PROTO_TCP)
        return NET_DROP_IP_PROTO;
    return -1;
}

void ip4_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb, uint64_t now_ms)
{
    struct ip4_info ip;
    int why = ip4_check(ifc, nb, &ip);

    if (why >= 0) {
        net_iface_drop(ifc, (enum net_drop)why);
        nbuf_put(nb);
        return;
    }
    nbuf_chain_trim(nb, net_get_be16(nb->data + 2)); /* Ethernet padding */
    nb->l3_off = (uint16_t)(nb->data - nb->buf);
    uint16_t frag = net_get_be16(nb->data + 6);
    if (frag & (IP4_FLAG_MF | IP4_FRAG_OFFSET)) {
        nb = ip4_reasm_input(st, ifc, nb, &ip, net_get_be16(nb->data + 4), frag, now_ms);
        if (nb == NULL)
            return;
        nb->l4_off = (uint16_t)(nb->data - nb->buf);
        /* A device that steers by ports could not for the fragments: the
         * embedder may hand the segment to the stack that owns its flow. */
        if (ip.proto == IP4_PROTO_TCP && st->plat->steer_tcp != NULL &&
            st->plat->steer_tcp(st->plat->ctx, ifc, nb, &ip))
            return;
    } else {
        nbuf_pull(nb, ip.hdr_len);
    }
    nb->l4_off = (uint16_t)(nb->data - nb->buf);
    if (ip.proto == IP4_PROTO_ICMP)
        icmp_input(st, ifc, nb, &ip, now_ms);
    else if (ip.proto == IP4_PROTO_TCP)
        tcp_input(st, ifc, nb, &ip, now_ms);
    else
        udp_input(st, ifc, nb, &ip, now_ms);
}

struct net_iface *ip4_route(struct net_stack *st, uint32_t dst, uint32_t *next_hop)
{
    *next_hop = dst;
    if (dst == IP4_BROADCAST)
        return st->n_ifaces > 0 ? st->ifaces[0] : NULL;
    for (unsigned i = 0; i < st->n_ifaces; i++)
        if (net_iface_on_link(st->ifaces[i], dst))
            return st->ifaces[i];
    for (unsigned i = 0; i < st->n_ifaces; i++) {
        if (st->ifaces[i]->ip != 0 && st->ifaces[i]->gw != 0) {
            *next_hop = st->ifaces[i]->gw;
            return st->ifaces[i];
        }
    }
    return NULL;
}

/* Next hop for dst leaving through a given interface, or 0 (no route). */
static uint32_t next_hop_on(const struct net_iface *ifc, uint32_t dst)
{
    if (dst == IP4_BROADCAST || net_iface_on_link(ifc, dst))
        return dst;
    return ifc->ip != 0 ? ifc->gw : 0;
}

static void fill_header(uint8_t *p, uint16_t total, uint16_t id, uint16_t frag, uint8_t proto,
                        uint32_t src, uint32_t dst)
{
    p[0] = 0x45;
    p[1] = 0;
    net_put_be16(p + 2, total);
    net_put_be16(p + 4, id);
    net_put_be16(p + 6, frag);
    p[8] = IP4_DEFAULT_TTL;
    p[9] = proto;
    net_put_be16(p + 10, 0);
    net_put_be32(p + 12, src);
    net_put_be32(p + 16, dst);
    net_put_be16(p + 10, net_csum_value(net_csum_add(0, p, IP4_HDR_LEN)));
}

/* RFC 791: every host takes 68-byte datagrams; a smaller MTU is a typo. */
static unsigned ip4_mtu(const struct net_iface *ifc)
{
    return ifc->mtu < 68 ? 68 : ifc->mtu;
}

struct ip4_out {
    struct net_iface *ifc;
    uint32_t src, dst, next_hop;
    uint16_t id;
    uint8_t proto;
};

/* Payload bytes [0, len) of chain in fragments of at most the MTU, all
 * built before any is sent so that ARP queues them as one datagram.
 * Consumes chain. */
static int fragment(struct net_stack *st, const struct ip4_out *o, struct netbuf *chain, size_t len,
                    uint64_t now_ms)
{
    size_t max = (size_t)(ip4_mtu(o->ifc) - IP4_HDR_LEN) & ~(size_t)7;
    struct nbuf_queue frags = {0};

    if (chain->flags & NB_CSUM_NEEDED)
        nbuf_csum_finish(chain); /* the device cannot sum across fragments */
    for (size_t off = 0; off < len;) {
        size_t n = len - off < max ? len - off : max;
        struct netbuf *slice = nbuf_slice(chain, off, n);
        if (slice == NULL) {
            net_iface_drop(o->ifc, NET_DROP_TX_NOMEM);
            nbuf_queue_purge(&frags);
            nbuf_put(chain);
            return -ENOMEM;
        }
        struct netbuf *hdr = net_tx_alloc(st, o->ifc, ETH_HDR_LEN, IP4_HDR_LEN);
        if (hdr == NULL) {
            nbuf_put(slice);
            nbuf_queue_purge(&frags);
            nbuf_put(chain);
            return -ENOBUFS;
        }
        hdr->next = slice;
        uint16_t frag = (uint16_t)(off / 8) | (off + n < len ? IP4_FLAG_MF : 0);
        fill_header(hdr->data, (uint16_t)(IP4_HDR_LEN + n), o->id, frag, o->proto, o->src, o->dst);
        nbuf_queue_push(&frags, hdr);
        off += n;
    }
    nbuf_put(chain);
    return arp_output_all(st, o->ifc, o->next_hop, &frags, now_ms);
}

/* How many segments the device makes of an NB_GSO_TCP4 chain of len bytes
 * (the head holds the TCP header, the rest is payload). */
static unsigned gso_segments(const struct netbuf *chain, size_t len)
{
    size_t payload = len > chain->len ? len - chain->len : 0;
    size_t per = chain->gso_size > 0 ? chain->gso_size : 1;

    return payload == 0 ? 1 : (unsigned)((payload + per - 1) / per);
}

int ip4_output(struct net_stack *st, struct net_iface *ifc, uint32_t src, uint32_t dst,
               uint8_t proto, struct netbuf *chain, uint64_t now_ms)
{
    struct ip4_out o = {.ifc = ifc, .dst = dst, .proto = proto};

    if (ifc == NULL)
        o.ifc = ip4_route(st, dst, &o.next_hop);
    else
        o.next_hop = next_hop_on(ifc, dst);
    if (o.ifc == NULL || o.next_hop == 0) {
        st->cnt.no_route++;
        nbuf_put(chain);
        return -ENETUNREACH;
    }
    o.src = src != 0 ? src : o.ifc->ip;
    size_t len = nbuf_chain_len(chain);
    if (len > IP4_MAX_LEN - IP4_HDR_LEN) {
        nbuf_put(chain);
        return -EMSGSIZE;
    }
    o.id = st->ip_id++;
    uint16_t frag = 0;
    if (chain->flags & NB_GSO_TCP4) {
        /* The device cuts this into segments and gives each the next IP
         * ID: reserve them all, so later datagrams do not reuse them, and
         * set DF, as segments, unlike fragments, must not be cut again. */
        st->ip_id = (uint16_t)(st->ip_id + gso_segments(chain, len) - 1);
        frag = IP4_FLAG_DF;
    } else if (len + IP4_HDR_LEN > ip4_mtu(o.ifc)) {
        return fragment(st, &o, chain, len, now_ms);
    }
    chain = net_push_header(st, o.ifc, chain, IP4_HDR_LEN);
    if (chain == NULL)
        return -ENOBUFS;
    fill_header(chain->data, (uint16_t)(IP4_HDR_LEN + len), o.id, frag, proto, o.src, dst);
    return arp_output(st, o.ifc, o.next_hop, chain, now_ms);
}
