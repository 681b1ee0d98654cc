/*
 * net/ipv4_internal.h - between ipv4.c and ip4_frag.c.
 */
#ifndef ZEBU_NET_IPV4_INTERNAL_H
#define ZEBU_NET_IPV4_INTERNAL_H

#include <stdint.h>

#include "net/ipv4.h"

/*
 * A checked fragment, data at its IPv4 header, len = total length. Copies
 * its payload into the datagram's buffer and consumes nb. Returns the
 * whole datagram once complete - a new heap netbuf, data at the payload,
 * l3_off at a rebuilt 20-byte header - or NULL (kept or dropped, counted).
 */
struct netbuf *ip4_reasm_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb,
                               const struct ip4_info *ip, uint16_t id, uint16_t frag,
                               uint64_t now_ms);

#endif /* ZEBU_NET_IPV4_INTERNAL_H */
