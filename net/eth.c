/*
 * net/eth.c - Ethernet II receive demultiplexing and transmit framing.
 *
 * Receive call order: net_input -> eth_input -> ip4_input | arp_input.
 * Transmit: arp_output -> eth_output -> ifc->ops->transmit.
 */
#include "net/eth.h"

#include <errno.h>
#include <string.h>

#include "net/arp.h"
#include "net/byteorder.h"
#include "net/ipv4.h"
#include "net/stack_internal.h"

void eth_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb, uint64_t now_ms)
{
    if (nb->len < ETH_HDR_LEN) {
        net_iface_drop(ifc, NET_DROP_ETH_SHORT);
        nbuf_put(nb);
        return;
    }
    const uint8_t *dst = nb->data;
    if (eth_is_bcast(dst)) {
        nb->flags |= NB_LINK_BCAST;
    } else if (memcmp(dst, ifc->mac, ETH_ADDR_LEN) != 0) {
        /* Other hosts' unicast, and multicast: we join no groups. */
        net_iface_drop(ifc, NET_DROP_ETH_NOT_FOR_US);
        nbuf_put(nb);
        return;
    }
    uint16_t type = net_get_be16(nb->data + 12);
    nbuf_pull(nb, ETH_HDR_LEN);
    switch (type) {
    case ETH_TYPE_IPV4:
        ip4_input(st, ifc, nb, now_ms);
        return;
    case ETH_TYPE_ARP:
        arp_input(st, ifc, nb, now_ms);
        return;
    default:
        net_iface_drop(ifc, NET_DROP_ETH_TYPE);
        nbuf_put(nb);
        return;
    }
}

int eth_output(struct net_stack *st, struct net_iface *ifc, struct netbuf *chain,
               const uint8_t dst[ETH_ADDR_LEN], uint16_t type)
{
    chain = net_push_header(st, ifc, chain, ETH_HDR_LEN);
    if (chain == NULL)
        return -ENOBUFS;
    memcpy(chain->data, dst, ETH_ADDR_LEN);
    memcpy(chain->data + ETH_ADDR_LEN, ifc->mac, ETH_ADDR_LEN);
    net_put_be16(chain->data + 12, type);

    size_t len = nbuf_chain_len(chain);
    int err = ifc->ops->transmit(ifc, chain);
    if (err < 0) {
        net_iface_drop(ifc, NET_DROP_TX_DEVICE);
        return err;
    }
    ifc->cnt.tx_packets++;
    ifc->cnt.tx_bytes += len;
    return 0;
}
