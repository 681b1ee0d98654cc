/*
 * net/icmp.h - ICMP (RFC 792): echo replies; everything else is counted.
 *
 * An echo request to one of our unicast addresses gets a reply whose
 * payload is a clone of the request's: the reply is a small header buffer
 * chained to the received bytes, so the payload is never copied, and its
 * checksum is derived from the request's (RFC 1624) instead of re-summed.
 * Echo requests to broadcast addresses and other ICMP types are dropped
 * and counted as icmp_ignored.
 */
#ifndef ZEBU_NET_ICMP_H
#define ZEBU_NET_ICMP_H

#include <stdint.h>

struct net_stack;
struct net_iface;
struct netbuf;
struct ip4_info;

#define ICMP_HDR_LEN       8
#define ICMP_ECHO_REPLY    0
#define ICMP_DEST_UNREACH  3
#define ICMP_ECHO_REQUEST  8
#define ICMP_TIME_EXCEEDED 11

/* A received ICMP message, data at the ICMP header, len trimmed to the IP
 * payload. Consumes nb. */
void icmp_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb,
                const struct ip4_info *ip, uint64_t now_ms);

#endif /* ZEBU_NET_ICMP_H */
