/*
 * net/ipv4.h - IPv4 (RFC 791, RFC 1122 host requirements), no forwarding.
 *
 * Receive: eth_input -> ip4_input, which checks version, header length,
 * total length against the frame (and trims Ethernet padding), the header
 * checksum (skipped when the device set NB_CSUM_VALID), TTL != 0, the
 * source (not broadcast, multicast, loopback or our own address) and the
 * destination (ours, broadcast, or anything while the interface has no
 * address yet, for DHCP). Fragments go to reassembly (ip4_frag.c); whole
 * datagrams to icmp_input, udp_input. Options are accepted and skipped.
 *
 * Reassembly: fragments are copied into one buffer per datagram, keyed by
 * (src, dst, id, proto). Limits from net_limits: reasm_datagrams at once,
 * reasm_mem bytes of buffers in all, reasm_timeout_ms from the first
 * fragment. At a limit the oldest datagrams in progress are evicted to
 * make room, each counted as ip_frag_over_limit (late duplicates of
 * finished datagrams would otherwise hold the slots until they expire);
 * expired datagrams count as ip_frag_timeout, one per datagram. Data
 * already received wins over later overlapping fragments; a fragment
 * adding nothing new counts as ip_frag_duplicate.
 *
 * Transmit: ip4_output routes (on-link, else the gateway), builds the
 * header, fragments datagrams larger than the MTU (fragments are header
 * buffers chained to clones of the payload: no payload copy), and passes
 * them to ARP together, as one datagram. DF is never set; no path MTU
 * discovery.
 */
#ifndef ZEBU_NET_IPV4_H
#define ZEBU_NET_IPV4_H

#include <stddef.h>
#include <stdint.h>

struct net_stack;
struct net_iface;
struct netbuf;

#define IP4_HDR_LEN     20
#define IP4_MAX_HDR_LEN 60
#define IP4_MAX_LEN     65535
#define IP4_PROTO_ICMP  1
#define IP4_PROTO_TCP   6
#define IP4_PROTO_UDP   17
#define IP4_BROADCAST   0xffffffffu
#define IP4_DEFAULT_TTL 64
#define IP4_FLAG_DF     0x4000
#define IP4_FLAG_MF     0x2000
#define IP4_FRAG_OFFSET 0x1fff

/* Headroom a transport protocol leaves in front of its header. */
#define NET_L4_HEADROOM 64 /* >= ETH_HDR_LEN + IP4_HDR_LEN, rounded up */

/* Facts about a received datagram, for the transport layer. */
struct ip4_info {
    uint32_t src, dst;
    uint8_t proto;
    uint8_t ttl;
    uint8_t link_bcast; /* sent to the Ethernet broadcast address */
    uint8_t ip_bcast;   /* sent to a broadcast IPv4 address */
    uint16_t hdr_len;
};

struct ip4_reasm_dgram;

/* Reassembly state of one stack. */
struct ip4_reasm {
    struct ip4_reasm_dgram *list;
    unsigned count;
    size_t mem;     /* heap bytes held: entries and buffers (limit net_limits reasm_mem) */
    size_t mem_max; /* the most mem has been, a buffer growing into a new one included */
};

/* A received IPv4 packet, data at the IPv4 header. Consumes nb. */
void ip4_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb, uint64_t now_ms);

/*
 * Send one datagram: chain holds the transport header and payload. ifc may
 * be NULL (routed by destination); src 0 means ifc's address. Consumes
 * chain. Returns 0 when sent or queued for ARP, or a negative errno:
 * -ENETUNREACH (no route), -EMSGSIZE (over 65535 bytes), -ENOBUFS/-ENOMEM
 * (counted on the interface), or what arp_output returned.
 */
int ip4_output(struct net_stack *st, struct net_iface *ifc, uint32_t src, uint32_t dst,
               uint8_t proto, struct netbuf *chain, uint64_t now_ms);

/* The interface and next hop for dst, or NULL (no route). */
struct net_iface *ip4_route(struct net_stack *st, uint32_t dst, uint32_t *next_hop);

/* Reassembly timers (called by net_tick / net_next_deadline) and teardown. */
void ip4_reasm_tick(struct net_stack *st, uint64_t now_ms);
uint64_t ip4_reasm_next_deadline(const struct net_stack *st);
void ip4_reasm_destroy(struct net_stack *st);

static inline int ip4_is_multicast(uint32_t ip)
{
    return (ip & 0xf0000000u) == 0xe0000000u;
}

#endif /* ZEBU_NET_IPV4_H */
