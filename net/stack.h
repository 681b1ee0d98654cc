/*
 * net/stack.h - one network stack per core: its interfaces, ARP caches
 * (inside the interfaces), IPv4 reassembly, UDP and TCP sockets and timers.
 *
 * What the embedder calls, in order:
 *   net_stack_init(st, plat)            once, with the platform table
 *   net_iface_init + net_stack_add_iface for each device
 *   net_iface_set_addr or dhcp_start    to get an address
 *   net_input(st, ifc, nb, now_ms)      for every received frame
 *   net_tick(st, now_ms)                whenever now_ms >= net_next_deadline(st)
 *                                       (calling it more often is harmless)
 *   udp_bind / udp_sendto / udp_recv    from the app (udp.h)
 *   net_stack_destroy(st)               to tear down (tests, shutdown)
 *
 * All of it runs on the core that owns st; nothing here locks. Nothing in
 * net/ reads a clock: now_ms is whatever monotonic millisecond count the
 * embedder passes, and must not go backwards.
 */
#ifndef ZEBU_NET_STACK_H
#define ZEBU_NET_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "net/iface.h"
#include "net/ipv4.h"
#include "net/netbuf.h"
#include "net/platform.h"
#include "net/tcp.h"
#include "net/udp.h"

#define NET_MAX_IFACES  4
#define NET_NO_DEADLINE UINT64_MAX

/* Tunables, set to defaults by net_stack_init; change before use. */
struct net_limits {
    unsigned arp_entries;      /* cache entries per interface, <= ARP_CACHE_MAX (32) */
    unsigned arp_pending;      /* datagrams waiting per unresolved entry (4) */
    uint32_t arp_timeout_ms;   /* lifetime of a resolved entry (60 s) */
    uint32_t arp_retry_ms;     /* between requests for an unresolved entry (1 s) */
    unsigned arp_tries;        /* requests before giving up (3) */
    size_t reasm_mem;          /* bytes of reassembly buffers, all datagrams (256 KiB) */
    unsigned reasm_datagrams;  /* datagrams being reassembled at once (16) */
    uint32_t reasm_timeout_ms; /* from the first fragment (30 s) */
    unsigned udp_sockets;      /* open sockets (64) */
    unsigned udp_rxq;          /* default receive queue length per socket (64) */
    unsigned tcp_conns;        /* connections and listeners, half-open included (1024) */
    unsigned tcp_syn_cache;    /* half-open (SYN-RECEIVED) connections, all listeners (64;
                                * at most half of tcp_conns) */
    unsigned tcp_syncookies;   /* answer SYNs with cookies when the SYN cache is full (1: on) */
    unsigned tcp_backlog_max;  /* largest accept queue a listener may ask for (128) */
    size_t tcp_sndbuf;         /* send buffer per connection, bytes (256 KiB) */
    size_t tcp_rcvbuf;         /* receive buffer per connection, payload bytes (256 KiB) */
    unsigned tcp_rcv_segs;     /* device buffers held per connection, in order + ooo (512) */
    unsigned tcp_snd_ring_segs; /* NB_RING buffers a send queue may hold, e.g. an echo (512) */
    size_t tcp_ooo_bytes;      /* out-of-order payload bytes per connection (128 KiB) */
    unsigned tcp_ooo_segs;     /* out-of-order segments per connection (64) */
    size_t tcp_mem;            /* send + receive queue bytes, all connections (64 MiB) */
    uint32_t tcp_msl_ms;       /* maximum segment lifetime; TIME-WAIT lasts 2 MSL (30 s) */
    unsigned tcp_chack_per_s;  /* challenge ACKs per second, whole stack (RFC 5961: 100) */
    unsigned tcp_max_retries;  /* RTO expiries in a row before -ETIMEDOUT (15) */
    unsigned tcp_cc;           /* congestion control of new connections, enum tcp_cc (NewReno) */
    unsigned tcp_syn_retries;  /* SYN / SYN-ACK retransmissions before giving up (6) */
    uint32_t tcp_zero_window_ms; /* TCP_LIMIT_ZERO_WINDOW of new connections, 0: none (0) */
};

/* Counters of the stack as a whole (per-interface ones are in iface.h). */
struct net_stack_counters {
    uint64_t copied_bytes; /* payload bytes copied: copy send/recv, reassembly, linearising */
    uint64_t no_route;     /* sends refused with -ENETUNREACH */
    uint64_t logs_suppressed;
    uint64_t hdr_reserve;  /* segment headers taken from the reserve: the platform had none */
    uint64_t rx_chains;    /* received multi-segment TCP frames passed up in place */
    uint64_t rx_linearized; /* received multi-segment frames copied into one buffer */
};

/* A few header-sized transmit buffers the stack keeps for itself, so that
 * when the platform's allocator fails TCP can still send an ACK, an RST or
 * a retransmission (whose header is the only new buffer). A slot comes
 * back when the device is done with the frame. */
#define NET_HDR_RESERVE      16
#define NET_HDR_RESERVE_SIZE 128 /* headroom + header bytes of one slot */

struct net_hdr_slot {
    struct netbuf nb;
    struct net_hdr_slot *next_free;
    struct net_stack *st;
    uint8_t mem[NET_HDR_RESERVE_SIZE];
};

struct net_stack {
    const struct net_platform *plat;
    struct net_iface *ifaces[NET_MAX_IFACES];
    unsigned n_ifaces;
    struct net_limits lim;
    struct net_stack_counters cnt;
    struct ip4_reasm reasm;
    struct udp_table udp;
    struct tcp_table tcp;
    uint16_t ip_id;
    struct net_hdr_slot hdr_slots[NET_HDR_RESERVE];
    struct net_hdr_slot *hdr_free;
    int log_level;       /* NET_LOG_*: messages above it are not emitted (INFO) */
    unsigned log_tokens; /* rate limit: messages left in this second */
    uint64_t log_window_ms;
};

/* Set up an empty stack with default limits. plat is borrowed for the
 * stack's life. */
void net_stack_init(struct net_stack *st, const struct net_platform *plat);

/* Attach an initialised interface. Returns 0, -ENOSPC (NET_MAX_IFACES),
 * or -EEXIST. */
int net_stack_add_iface(struct net_stack *st, struct net_iface *ifc);

/* A transmit buffer for a segment header (headroom + len bytes): from the
 * platform, else from the stack's reserve when it fits a slot. NULL (and a
 * tx_nobuf drop) when neither has one. */
struct netbuf *net_tx_alloc_hdr(struct net_stack *st, struct net_iface *ifc, size_t headroom,
                                size_t len);

/* Free everything the stack holds: sockets and their queues, reassembly
 * buffers, ARP queues. Interfaces stay (they belong to the driver). */
void net_stack_destroy(struct net_stack *st);

/* A received frame (data at the destination MAC; a chain is linearised,
 * counted as copied). Consumes nb, whatever happens to it. */
void net_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb, uint64_t now_ms);

/* Run every timer due at now_ms: ARP, reassembly, DHCP. */
void net_tick(struct net_stack *st, uint64_t now_ms);

/* The earliest time net_tick has work, or NET_NO_DEADLINE. */
uint64_t net_next_deadline(const struct net_stack *st);

/* Format every interface's counters and the stack's into buf (see
 * net_iface_format_counters). Returns the length the full text needs. */
int net_format_counters(const struct net_stack *st, char *buf, size_t size);

#endif /* ZEBU_NET_STACK_H */
