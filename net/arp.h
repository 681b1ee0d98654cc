/*
 * net/arp.h - ARP for IPv4 over Ethernet (RFC 826), one cache per interface.
 *
 * Call order: arp_input for received ARP frames (from eth_input);
 * arp_output for every IPv4 packet leaving an interface (from ip4_output);
 * arp_tick from net_tick; arp_announce when an address is set.
 *
 * Cache: at most net_limits.arp_entries entries. A miss creates an
 * INCOMPLETE entry, broadcasts a request and queues the packet (at most
 * net_limits.arp_pending datagrams per entry - the fragments of one
 * datagram count once, so a large first datagram is not cut short; more
 * are dropped and counted per packet as arp_queue_full). Requests
 * repeat every arp_retry_ms, arp_tries times; then the entry and its queue
 * are dropped (counted as arp_unresolved). A REACHABLE entry lives
 * arp_timeout_ms from the last reply or request that confirmed it, then
 * expires and the next packet resolves again. Entries are created only for
 * ARP packets aimed at us (or by our own requests); others only refresh
 * existing entries, as RFC 826 says. Every mapping a packet aimed at us
 * carries is also handed to net_platform.arp_learned (when set), for
 * other stacks on the same link (arp_learn).
 */
#ifndef ZEBU_NET_ARP_H
#define ZEBU_NET_ARP_H

#include <stdint.h>

#include "net/netbuf.h"

struct net_stack;
struct net_iface;

#define ARP_CACHE_MAX 64 /* upper bound for net_limits.arp_entries */
#define ARP_PKT_LEN   28 /* Ethernet/IPv4 ARP body */

enum arp_state {
    ARP_FREE = 0,
    ARP_INCOMPLETE, /* request sent, packets waiting in pending */
    ARP_REACHABLE,  /* mac is valid until deadline_ms */
};

struct arp_entry {
    uint32_t ip;
    uint8_t mac[6];
    uint8_t state;        /* enum arp_state */
    uint8_t tries;        /* requests sent while INCOMPLETE */
    uint16_t datagrams;   /* datagrams in pending (a fragmented one counts once) */
    uint64_t deadline_ms; /* INCOMPLETE: next request; REACHABLE: expiry */
    struct nbuf_queue pending;
};

struct arp_cache {
    struct arp_entry entries[ARP_CACHE_MAX];
    unsigned used; /* entries past this one have never been used: lookups stop here */
};

/* A received ARP frame, data at the ARP header (Ethernet header pulled).
 * Consumes nb. Answers requests for our address; learns and refreshes. */
void arp_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb, uint64_t now_ms);

/*
 * Enter ip -> mac as REACHABLE, as if a reply had come in: an existing
 * entry is refreshed (and what it held is sent), else one is created from
 * a free or resolved slot (never from an INCOMPLETE one); with none, the
 * mapping is ignored. Does not call net_platform.arp_learned: this is how
 * a replica stack takes a mapping another stack on the link learnt.
 * Ignores ip 0 and ifc's own address.
 */
void arp_learn(struct net_stack *st, struct net_iface *ifc, uint32_t ip, const uint8_t mac[6],
               uint64_t now_ms);

/*
 * Send an IPv4 packet (chain starting at the IPv4 header) to next_hop on
 * ifc: straight away when next_hop is broadcast or cached, else after
 * resolution. Consumes pkt. Returns 0 when sent or queued, or a negative
 * errno when dropped (counted): -ENOBUFS (pending queue full, no buffer),
 * -ENOMEM (cache full of unresolved entries), or the driver's error.
 */
int arp_output(struct net_stack *st, struct net_iface *ifc, uint32_t next_hop, struct netbuf *pkt,
               uint64_t now_ms);

/* The same for all fragments of one datagram, in order: sent together or
 * queued together (one datagram against the cap). Takes every packet out
 * of pkts (consumed). Returns the first error, or 0. */
int arp_output_all(struct net_stack *st, struct net_iface *ifc, uint32_t next_hop,
                   struct nbuf_queue *pkts, uint64_t now_ms);

/* Expire entries, repeat requests, drop unresolved queues. */
void arp_tick(struct net_stack *st, struct net_iface *ifc, uint64_t now_ms);

/* Earliest deadline of the cache, or UINT64_MAX. */
uint64_t arp_next_deadline(const struct net_iface *ifc);

/* Broadcast a gratuitous ARP request for ifc's address (RFC 5227 2.3). */
int arp_announce(struct net_stack *st, struct net_iface *ifc);

/* The cached MAC for ip, or NULL when not REACHABLE (borrowed pointer). */
const uint8_t *arp_lookup(const struct net_iface *ifc, uint32_t ip);

/* Datagrams waiting for resolution on ifc, all entries together. */
unsigned arp_pending_datagrams(const struct net_iface *ifc);

/* Forget everything, dropping pending packets (not counted). */
void arp_flush(struct net_iface *ifc);

#endif /* ZEBU_NET_ARP_H */
