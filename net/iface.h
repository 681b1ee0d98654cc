/*
 * net/iface.h - a network interface as the stack sees it, and its counters.
 *
 * The driver fills in name, MAC, MTU, features and ops (net_iface_init),
 * adds the interface to a stack (net_stack_add_iface), and from then on
 * hands every received frame to net_input. Addresses come from
 * net_iface_set_addr (static configuration) or the DHCP client.
 *
 * Counters: packets and bytes each way, and drops by reason. Every frame
 * the stack refuses - malformed, not for us, no buffer, queue full - adds
 * one to exactly one drop counter. net_drop_name gives the printable name,
 * net_iface_format_counters the whole table.
 */
#ifndef ZEBU_NET_IFACE_H
#define ZEBU_NET_IFACE_H

#include <stddef.h>
#include <stdint.h>

#include "net/arp.h"
#include "net/dhcp.h"
#include "net/netdev.h"
#include "net/platform.h"

/* X(enum suffix, printed name). Receive reasons first, then transmit. */
#define NET_DROP_REASONS(X)                                                                        \
    X(ETH_SHORT, "eth_short")                                                                      \
    X(ETH_NOT_FOR_US, "eth_not_for_us")                                                            \
    X(ETH_TYPE, "eth_unknown_type")                                                                \
    X(ARP_SHORT, "arp_short")                                                                      \
    X(ARP_FORMAT, "arp_bad_format")                                                                \
    X(ARP_OP, "arp_bad_op")                                                                        \
    X(ARP_SENDER, "arp_bad_sender")                                                                \
    X(ARP_IGNORED, "arp_not_for_us")                                                               \
    X(ARP_CONFLICT, "arp_addr_conflict")                                                           \
    X(IP_SHORT, "ip_short")                                                                        \
    X(IP_VERSION, "ip_bad_version")                                                                \
    X(IP_HDR_LEN, "ip_bad_hdr_len")                                                                \
    X(IP_TOTAL_LEN, "ip_bad_total_len")                                                            \
    X(IP_CHECKSUM, "ip_bad_checksum")                                                              \
    X(IP_TTL, "ip_ttl_zero")                                                                       \
    X(IP_SRC, "ip_bad_src")                                                                        \
    X(IP_NOT_FOR_US, "ip_not_for_us")                                                              \
    X(IP_PROTO, "ip_unknown_proto")                                                                \
    X(IP_FRAG_BAD, "ip_frag_bad")                                                                  \
    X(IP_FRAG_DUP, "ip_frag_duplicate")                                                            \
    X(IP_FRAG_TIMEOUT, "ip_frag_timeout")                                                          \
    X(IP_FRAG_NOMEM, "ip_frag_over_limit")                                                         \
    X(ICMP_SHORT, "icmp_short")                                                                    \
    X(ICMP_CHECKSUM, "icmp_bad_checksum")                                                          \
    X(ICMP_IGNORED, "icmp_ignored")                                                                \
    X(UDP_SHORT, "udp_short")                                                                      \
    X(UDP_LEN, "udp_bad_len")                                                                      \
    X(UDP_CHECKSUM, "udp_bad_checksum")                                                            \
    X(UDP_NO_PORT, "udp_no_port")                                                                  \
    X(UDP_QUEUE_FULL, "udp_queue_full")                                                            \
    X(TCP_SHORT, "tcp_short")                                                                      \
    X(TCP_CHECKSUM, "tcp_bad_checksum")                                                            \
    X(TCP_OFFSET, "tcp_bad_offset")                                                                \
    X(TCP_BCAST, "tcp_bcast")                                                                      \
    X(TCP_NO_PORT, "tcp_no_port")                                                                  \
    X(TCP_BAD_STATE, "tcp_unexpected")                                                             \
    X(TCP_OUT_OF_WINDOW, "tcp_out_of_window")                                                      \
    X(TCP_PAWS, "tcp_paws")                                                                        \
    X(TCP_CHALLENGE_ACK, "tcp_challenge_ack")                                                      \
    X(TCP_ACK_RANGE, "tcp_ack_out_of_range")                                                       \
    X(TCP_SYN_CACHE_FULL, "tcp_syn_cache_full")                                                    \
    X(TCP_BAD_COOKIE, "tcp_bad_cookie")                                                            \
    X(TCP_BACKLOG_FULL, "tcp_backlog_full")                                                        \
    X(TCP_OOO_FULL, "tcp_ooo_full")                                                                \
    X(TCP_RX_FULL, "tcp_rx_full")                                                                  \
    X(TCP_NOMEM, "tcp_nomem")                                                                      \
    X(TCP_CLOSED, "tcp_after_close")                                                               \
    X(DHCP_SHORT, "dhcp_short")                                                                    \
    X(DHCP_HEADER, "dhcp_bad_header")                                                              \
    X(DHCP_XID, "dhcp_bad_xid")                                                                    \
    X(DHCP_CHADDR, "dhcp_bad_chaddr")                                                              \
    X(DHCP_OPTIONS, "dhcp_bad_options")                                                            \
    X(DHCP_MISSING, "dhcp_missing_option")                                                         \
    X(DHCP_UNEXPECTED, "dhcp_unexpected")                                                          \
    X(RX_NOMEM, "rx_nomem")                                                                        \
    X(ARP_QUEUE_FULL, "arp_queue_full")                                                            \
    X(ARP_CACHE_FULL, "arp_cache_full")                                                            \
    X(ARP_UNRESOLVED, "arp_unresolved")                                                            \
    X(TX_NOBUF, "tx_nobuf")                                                                        \
    X(TX_NOMEM, "tx_nomem")                                                                        \
    X(TX_DEVICE, "tx_device_error")                                                                \
    X(TX_NO_ADDR, "tx_no_addr")

#define NET_DROP_ENUM_ENTRY(name, str) NET_DROP_##name,
enum net_drop { NET_DROP_REASONS(NET_DROP_ENUM_ENTRY) NET_DROP_COUNT };
#undef NET_DROP_ENUM_ENTRY

/* Feature bits in net_iface.features: NET_IF_* in net/netdev.h. */

/* Defaults net_iface_init sets; the driver may lower them. */
#define NET_TSO_MAX_LEN  65535u /* an IPv4 datagram's limit */
#define NET_TSO_MAX_SEGS 16u

struct net_iface_counters {
    uint64_t rx_packets, rx_bytes; /* frames handed to net_input */
    uint64_t tx_packets, tx_bytes; /* frames the driver accepted */
    uint64_t rx_csum_device;       /* frames whose checksums the device verified */
    uint64_t rx_csum_partial;      /* frames with a sender-offloaded (partial) L4 sum */
    uint64_t drops[NET_DROP_COUNT];
};

struct net_stack;

struct net_iface {
    char name[8];
    uint8_t mac[6];
    uint16_t mtu; /* IP MTU: largest IPv4 packet, without Ethernet header */
    uint32_t features;
    uint32_t tso_max_len;  /* NET_IF_TX_TSO: largest IPv4 datagram the device segments */
    uint16_t tso_max_segs; /* NET_IF_TX_TSO: most netbufs in such a frame's chain */
    const struct net_iface_ops *ops;
    void *driver;            /* the driver's own state, untouched by net/ */
    struct net_stack *stack; /* set by net_stack_add_iface */
    /* IPv4 configuration, host byte order; ip == 0: none yet. */
    uint32_t ip, mask, gw, dns;
    struct net_iface_counters cnt;
    struct arp_cache arp;
    struct dhcp_client dhcp;
};

/* Zero ifc and fill in the device's view; name is truncated to 7 chars. */
void net_iface_init(struct net_iface *ifc, const char *name, const uint8_t mac[6], uint16_t mtu,
                    uint32_t features, const struct net_iface_ops *ops, void *driver);

/* Set the address (announced by gratuitous ARP when ip != 0 and the
 * interface belongs to a stack). mask must be contiguous. Returns 0 or
 * -EINVAL. */
int net_iface_set_addr(struct net_iface *ifc, uint32_t ip, uint32_t mask, uint32_t gw);

/* Forget the address (and the ARP cache, which was learnt with it). */
void net_iface_clear_addr(struct net_iface *ifc);

/* Give dst src's configuration - ip, mask, gw, dns; everything else
 * (broadcast, routes) follows from those - without announcing it (no
 * gratuitous ARP): for a replica stack's interface following the one that
 * owns the address (its DHCP client, its ARP). dst's ARP cache is flushed
 * when the address changes, as net_iface_set_addr does. An address-less
 * src clears dst's. */
void net_iface_mirror_addr(struct net_iface *dst, const struct net_iface *src);

/* Whether ip is a broadcast address on ifc (limited or subnet-directed;
 * a /31 or /32 has only the limited one). */
int net_iface_is_bcast(const struct net_iface *ifc, uint32_t ip);

/* Whether ip is on ifc's subnet. */
int net_iface_on_link(const struct net_iface *ifc, uint32_t ip);

static inline void net_iface_drop(struct net_iface *ifc, enum net_drop why)
{
    ifc->cnt.drops[why]++;
}

/* Printable name of a drop reason ("ip_bad_checksum"); "?" if out of range. */
const char *net_drop_name(int why);

/*
 * Format the counters into buf (always NUL-terminated when size > 0):
 *   eth0 52:54:00:12:34:56 10.0.2.15/24 gw 10.0.2.2 mtu 1500
 *     rx 12 pkts 3456 bytes, tx 10 pkts 2345 bytes, drops 3
 *     ip_bad_checksum 2
 *     udp_no_port 1
 * Only non-zero drop reasons are listed. Returns what snprintf would: the
 * length the full text needs.
 */
int net_iface_format_counters(const struct net_iface *ifc, char *buf, size_t size);

/* Sum of all drop counters. */
uint64_t net_iface_total_drops(const struct net_iface *ifc);

#endif /* ZEBU_NET_IFACE_H */
