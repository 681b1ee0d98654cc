/*
 * net/dhcp.h - DHCP client (RFC 2131, options RFC 2132), one per interface.
 *
 * Call order: dhcp_start once the interface is up; the stack then feeds it
 * UDP datagrams for port 68 on that interface (dhcp_input) and time
 * (dhcp_tick from net_tick). States follow RFC 2131 figure 5:
 *
 *   INIT -> SELECTING (DISCOVER) -> REQUESTING (REQUEST) -> BOUND
 *   BOUND -(T1)-> RENEWING (unicast REQUEST) -(T2)-> REBINDING (broadcast)
 *   -(lease end)-> INIT; a NAK in REQUESTING/RENEWING/REBINDING -> INIT.
 *
 * Retransmission (RFC 2131 4.1): 4, 8, 16, 32, 64 s, each +-1 s at random;
 * REQUEST in REQUESTING gives up after DHCP_REQUEST_TRIES and restarts.
 * In RENEWING/REBINDING it retransmits after half the time left to T2 or
 * the lease end, at least 60 s (RFC 2131 4.4.5). Each exchange uses a fresh
 * xid from the platform's random32.
 *
 * Every reply is validated before use: length, op, htype/hlen, xid,
 * chaddr, magic cookie, option lengths, the message type option, and the
 * options each message needs. Bad replies are counted (dhcp_* drops on the
 * interface) and ignored. When bound, the address is set with
 * net_iface_set_addr (which announces it by gratuitous ARP).
 *
 * Not done: option overload (52: options in sname/file), DHCPDECLINE after
 * an ARP probe, DHCPRELEASE, DHCPINFORM, relay agents.
 */
#ifndef ZEBU_NET_DHCP_H
#define ZEBU_NET_DHCP_H

#include <stddef.h>
#include <stdint.h>

struct net_stack;
struct net_iface;
struct netbuf;
struct ip4_info;

#define DHCP_CLIENT_PORT 68
#define DHCP_SERVER_PORT 67
#define DHCP_FIXED_LEN   236 /* BOOTP header before the magic cookie */
#define DHCP_MIN_LEN     240 /* header + magic cookie */

/* Message types (option 53). */
#define DHCPDISCOVER 1
#define DHCPOFFER    2
#define DHCPREQUEST  3
#define DHCPDECLINE  4
#define DHCPACK      5
#define DHCPNAK      6
#define DHCPRELEASE  7

#define DHCP_REQUEST_TRIES 4

enum dhcp_state {
    DHCP_OFF = 0,
    DHCP_INIT,
    DHCP_SELECTING,
    DHCP_REQUESTING,
    DHCP_BOUND,
    DHCP_RENEWING,
    DHCP_REBINDING,
};

/* What dhcp_parse_options found; has_* say which options were present. */
struct dhcp_options {
    uint8_t msg_type; /* 0: absent */
    uint8_t has_server_id, has_lease, has_t1, has_t2, has_mask, has_router, has_dns;
    uint32_t server_id, lease_s, t1_s, t2_s, mask, router, dns;
};

struct dhcp_client {
    uint8_t state; /* enum dhcp_state */
    uint8_t tries; /* transmissions of the current message */
    uint32_t xid;
    uint32_t offered_ip, server_id;
    uint32_t lease_s, t1_s, t2_s;
    uint32_t mask, router, dns;
    uint64_t bound_ms; /* when the lease (re)started */
    uint64_t t1_ms, t2_ms, expire_ms;
    uint64_t next_ms; /* next retransmission or state timer; UINT64_MAX: none */
    uint32_t backoff_ms;
    /* Events, for tests and the debug command. */
    uint32_t offers, acks, naks, leases;
};

/* Start (or restart) address acquisition on ifc: sends DISCOVER now.
 * Returns 0 or a negative errno from sending (it retries on tick anyway). */
int dhcp_start(struct net_stack *st, struct net_iface *ifc, uint64_t now_ms);

/* Stop the client; the address stays as it is. */
void dhcp_stop(struct net_iface *ifc);

/* A UDP datagram to port 68 on ifc, data at the DHCP message. Consumes nb. */
void dhcp_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb,
                const struct ip4_info *ip, uint64_t now_ms);

/* Retransmissions and lease timers. */
void dhcp_tick(struct net_stack *st, struct net_iface *ifc, uint64_t now_ms);

/* Next time dhcp_tick has work, or UINT64_MAX. */
uint64_t dhcp_next_deadline(const struct net_iface *ifc);

/* Parse the options area (after the magic cookie). Returns 0, or -EBADMSG
 * for a truncated option, a length wrong for its option, or a missing end
 * before the data runs out inside an option. */
int dhcp_parse_options(const uint8_t *p, size_t len, struct dhcp_options *out);

const char *dhcp_state_name(int state);

#endif /* ZEBU_NET_DHCP_H */
