/*
 * net/eth.h - Ethernet II framing.
 *
 * eth_input is the bottom of the receive path (net_input calls it): it
 * checks the header, accepts frames for our MAC and broadcast, and hands
 * IPv4 and ARP up. eth_output is the bottom of the transmit path: it adds
 * the header (in the head's headroom when there is some, else in a new
 * header buffer chained in front) and gives the frame to the driver.
 */
#ifndef ZEBU_NET_ETH_H
#define ZEBU_NET_ETH_H

#include <stdint.h>

struct net_stack;
struct net_iface;
struct netbuf;

#define ETH_HDR_LEN   14
#define ETH_ADDR_LEN  6
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP  0x0806
#define ETH_TYPE_VLAN 0x8100
#define ETH_MAX_FRAME 1514 /* header + standard 1500-byte MTU, no FCS */

/* A received frame, data at the destination MAC. Consumes nb. */
void eth_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb, uint64_t now_ms);

/* Add a header and transmit. Consumes chain. Returns 0, or a negative
 * errno (counted: tx_nobuf, tx_device_error). */
int eth_output(struct net_stack *st, struct net_iface *ifc, struct netbuf *chain,
               const uint8_t dst[ETH_ADDR_LEN], uint16_t type);

static inline int eth_is_bcast(const uint8_t *mac)
{
    return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}

static inline int eth_is_multicast(const uint8_t *mac)
{
    return mac[0] & 1;
}

#endif /* ZEBU_NET_ETH_H */
