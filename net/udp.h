/*
 * net/udp.h - UDP (RFC 768) and its socket API.
 *
 * Receive: ip4_input -> udp_input checks the header, the length field
 * against the IP payload, and the checksum with the pseudo-header (unless
 * 0, or the device verified it), then queues the datagram on the socket
 * bound to the destination port. The queued netbuf is the received buffer
 * itself with data moved to the payload: udp_recv hands that very buffer
 * to the app (zero-copy); the app puts it when done, which returns it to
 * the device. Each socket queues at most rxq_max datagrams; more are
 * dropped and counted (udp_queue_full on the interface, rx_dropped on the
 * socket). Port 68 on an interface whose DHCP client runs goes to
 * dhcp_input instead.
 *
 * Transmit: udp_sendto takes a payload netbuf (chain) and prepends an
 * 8-byte header - in the payload's own headroom when it has enough and is
 * writable, else in a new header buffer chained in front - so app memory
 * wrapped with nbuf_wrap goes to the device untouched. The checksum is left
 * to the device when it offers NET_IF_TX_CSUM and the datagram fits the
 * MTU, else computed here. udp_sendto_copy and udp_recv_copy are the slow
 * path for simple apps: they copy, and the bytes count in the stack's
 * copied_bytes.
 */
#ifndef ZEBU_NET_UDP_H
#define ZEBU_NET_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "net/netbuf.h"

struct net_stack;
struct net_iface;
struct ip4_info;

#define UDP_HDR_LEN         8
#define UDP_EPHEMERAL_FIRST 49152
#define UDP_MAX_PAYLOAD     (65535 - 20 - UDP_HDR_LEN)

struct udp_sock;
typedef void (*udp_notify_fn)(struct udp_sock *s, void *arg);

struct udp_sock {
    struct udp_sock *next; /* in the stack's socket list */
    struct net_stack *stack;
    uint16_t port;
    unsigned rxq_max;
    struct nbuf_queue rxq; /* received datagrams, data at the payload */
    uint64_t rx_dropped;   /* datagrams refused because rxq was full */
    udp_notify_fn notify;  /* called after a datagram is queued, or NULL */
    void *notify_arg;
};

struct udp_table {
    struct udp_sock *socks;
    unsigned count;
    uint16_t next_ephemeral;
};

/* Where a datagram came from (host byte order). */
struct udp_endpoint {
    uint32_t ip;
    uint16_t port;
};

/*
 * Open a socket on port (0: pick a free ephemeral port). Returns 0 and the
 * socket in *out, or -EADDRINUSE, -ENOBUFS (net_limits.udp_sockets
 * reached), -ENOMEM.
 */
int udp_bind(struct net_stack *st, uint16_t port, struct udp_sock **out);

/* Close: queued datagrams are put, the socket freed. s may be NULL. */
void udp_close(struct udp_sock *s);

/* Be told (on the stack's core, from inside net_input) when a datagram is
 * queued; fn may be NULL. */
void udp_set_notify(struct udp_sock *s, udp_notify_fn fn, void *arg);

/*
 * Send payload (a chain; may be NULL for an empty datagram) from s's port
 * to dst_ip:dst_port. Consumes payload. Returns 0 when handed to the
 * interface (or queued for ARP), or a negative errno: -EMSGSIZE,
 * -ENETUNREACH, -ENOBUFS, -ENOMEM, or the driver's error.
 */
int udp_sendto(struct udp_sock *s, uint32_t dst_ip, uint16_t dst_port, struct netbuf *payload,
               uint64_t now_ms);

/* Slow path: copy len bytes into a fresh transmit buffer and send them.
 * Borrows data. Same returns as udp_sendto. */
int udp_sendto_copy(struct udp_sock *s, uint32_t dst_ip, uint16_t dst_port, const void *data,
                    size_t len, uint64_t now_ms);

/*
 * Zero-copy receive: the oldest queued datagram, data/len at the payload
 * (one segment), or NULL when none. The caller owns the returned reference
 * and must nbuf_put it. from (may be NULL) gets the sender.
 */
struct netbuf *udp_recv(struct udp_sock *s, struct udp_endpoint *from);

/* Slow path: copy the oldest datagram into buf (truncated to size, the
 * rest discarded, as recvfrom does) and release it. Returns the bytes
 * copied, or -EAGAIN when nothing is queued. */
int udp_recv_copy(struct udp_sock *s, void *buf, size_t size, struct udp_endpoint *from);

/* Datagrams waiting in s's queue. */
unsigned udp_pending(const struct udp_sock *s);

/* A received UDP datagram, data at the UDP header, len the IP payload.
 * Consumes nb. */
void udp_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb,
               const struct ip4_info *ip, uint64_t now_ms);

/* Send from an explicit interface and source (DHCP: src 0, broadcast).
 * Consumes payload. Same returns as udp_sendto. */
int udp_output(struct net_stack *st, struct net_iface *ifc, uint32_t src_ip, uint16_t src_port,
               uint32_t dst_ip, uint16_t dst_port, struct netbuf *payload, uint64_t now_ms);

/* Close every socket (stack teardown). */
void udp_destroy_all(struct net_stack *st);

#endif /* ZEBU_NET_UDP_H */
