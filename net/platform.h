/*
 * net/platform.h - what the embedder provides to net/.
 *
 * net/ never includes a kernel or driver header. Everything it needs from
 * the outside world comes through the two tables below, filled in by the
 * kernel (virtio-net, kmalloc, the TSC) or by the host test harness (a fake
 * device on an in-memory link). Time is not here: every entry point that
 * needs it takes now_ms as an argument.
 *
 * Besides these, net/ calls malloc/free (libc) for its own state: ARP
 * entries live in the interface, but sockets, reassembly buffers, clones and
 * wrapped app buffers come from the heap. Every allocation failure is
 * counted and handled.
 *
 * Both tables are only called from the core that owns the stack.
 */
#ifndef ZEBU_NET_PLATFORM_H
#define ZEBU_NET_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

struct netbuf;
struct net_iface;
struct ip4_info;

/* Log levels for net_platform.log. Only NET_LOG_DEBUG may be per packet;
 * the stack rate-limits everything else. */
#define NET_LOG_ERR   0
#define NET_LOG_WARN  1
#define NET_LOG_INFO  2
#define NET_LOG_DEBUG 3

struct net_platform {
    /*
     * A transmit buffer: data = buf + at least headroom, len writable bytes
     * at data, refs = 1, no flags. The implementation may keep extra room
     * in front for its own device header. Returns a new reference or NULL
     * (the stack counts the failure and drops what it was sending).
     */
    struct netbuf *(*tx_alloc)(void *ctx, size_t headroom, size_t len);

    /* 32 random bits, for DHCP transaction ids, ephemeral ports and IP ids
     * (need not be cryptographic; must differ between boots). */
    uint32_t (*random32)(void *ctx);

    /* One log line, without a trailing newline, subsystem tag included
     * ("arp: ..."). The embedder adds its own timestamp. May be NULL. */
    void (*log)(void *ctx, int level, const char *msg);

    /*
     * ARP learnt or confirmed ip -> mac on ifc from a received packet aimed
     * at us (a reply to us, or a request for our address), whether or not
     * this stack's cache had room for it. For an embedder that runs several
     * stacks on one link and hands the mapping to the others (arp_learn).
     * May be NULL.
     */
    void (*arp_learned)(void *ctx, struct net_iface *ifc, uint32_t ip, const uint8_t mac[6]);

    /*
     * Whether an active open may use local port lport for the 4-tuple
     * (host byte order): non-zero to accept. tcp_connect's ephemeral port
     * choice skips refused ports (one pass over the range; -EADDRINUSE
     * when none is left). For an embedder that steers each 4-tuple to one
     * receive queue (RSS) and wants the replies on the calling core's.
     * May be NULL: every free port will do.
     */
    int (*port_ok)(void *ctx, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport);

    /*
     * A TCP segment that came in IPv4 fragments, reassembled (nb at the
     * TCP header, ip its IPv4 fields), before this stack's TCP sees it:
     * return non-zero to take it (nb consumed), for an embedder with a
     * stack per core whose device hashes flows by ports, which it cannot
     * do for fragments: it hands the segment to the stack that owns the
     * flow (tcp_input there, with the same ip). 0: this stack takes it.
     * May be NULL.
     */
    int (*steer_tcp)(void *ctx, struct net_iface *ifc, struct netbuf *nb,
                     const struct ip4_info *ip);

    void *ctx; /* passed to every call above */
};

struct net_iface_ops {
    /*
     * Send one Ethernet frame: the chain at frame, from the destination MAC
     * on, without FCS. With NB_CSUM_NEEDED on the head, the device (or the
     * driver, in software) fills in the transport checksum - see netbuf.h
     * and nbuf_csum_start_in_frame. Consumes frame, on failure too: the
     * driver puts the chain once the device is done with it. Returns 0, or
     * a negative errno (-ENOSPC: ring full), counted by the stack as a drop.
     */
    int (*transmit)(struct net_iface *ifc, struct netbuf *frame);
};

#endif /* ZEBU_NET_PLATFORM_H */
