/*
 * net/icmp.c - ICMP input and zero-copy echo replies (RFC 792, RFC 1122
 * 3.2.2.6).
 *
 * Call order: ip4_input -> icmp_input -> ip4_output.
 */
#include "net/icmp.h"

#include <string.h>

#include "net/byteorder.h"
#include "net/checksum.h"
#include "net/ipv4.h"
#include "net/stack_internal.h"

static void drop(struct net_iface *ifc, struct netbuf *nb, enum net_drop why)
{
    net_iface_drop(ifc, why);
    nbuf_put(nb);
}

/* The reply: our 8-byte header chained to a clone of the request's data. */
static void echo_reply(struct net_stack *st, struct net_iface *ifc, struct netbuf *req,
                       const struct ip4_info *ip, uint64_t now_ms)
{
    struct netbuf *hdr = net_tx_alloc(st, ifc, NET_L4_HEADROOM, ICMP_HDR_LEN);

    if (hdr == NULL) {
        nbuf_put(req);
        return;
    }
    const uint8_t *q = req->data;
    uint8_t *p = hdr->data;
    memcpy(p, q, ICMP_HDR_LEN);
    p[0] = ICMP_ECHO_REPLY;
    /* Only the type changes, so the sum follows from the request's
     * (RFC 1624) and the payload is never read again. A request whose sum
     * the sender left partial (NB_CSUM_PARTIAL) has none to follow from:
     * the reply's is computed over the whole message. */
    if (req->flags & NB_CSUM_PARTIAL) {
        net_put_be16(p + 2, 0);
        uint32_t sum = net_csum_add(0, p, ICMP_HDR_LEN);
        sum = net_csum_chain(req, ICMP_HDR_LEN, req->len - ICMP_HDR_LEN, sum);
        net_put_be16(p + 2, net_csum_value(sum));
    } else {
        net_put_be16(p + 2, net_csum_update16(net_get_be16(q + 2), (uint16_t)(q[0] << 8 | q[1]),
                                              (uint16_t)(p[0] << 8 | p[1])));
    }
    if (req->len > ICMP_HDR_LEN) {
        struct netbuf *data = nbuf_clone(req);
        if (data == NULL) {
            net_iface_drop(ifc, NET_DROP_TX_NOMEM);
            nbuf_put(hdr);
            nbuf_put(req);
            return;
        }
        nbuf_pull(data, ICMP_HDR_LEN);
        hdr->next = data;
    }
    nbuf_put(req);
    ip4_output(st, ifc, ifc->ip, ip->src, IP4_PROTO_ICMP, hdr, now_ms);
}

void icmp_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb,
                const struct ip4_info *ip, uint64_t now_ms)
{
    if (nb->len < ICMP_HDR_LEN) {
        drop(ifc, nb, NET_DROP_ICMP_SHORT);
        return;
    }
    if (!(nb->flags & NB_CSUM_VALID) &&
        net_csum_fold(net_csum_add(0, nb->data, nb->len)) != 0xffff) {
        drop(ifc, nb, NET_DROP_ICMP_CHECKSUM);
        return;
    }
    /* No replies to broadcasts (RFC 1122 3.2.2.6 allows ignoring them),
     * nor before we have an address to answer from. */
    if (nb->data[0] != ICMP_ECHO_REQUEST || ip->ip_bcast || ifc->ip == 0 || ip->src == 0) {
        drop(ifc, nb, NET_DROP_ICMP_IGNORED);
        return;
    }
    echo_reply(st, ifc, nb, ip, now_ms);
}
