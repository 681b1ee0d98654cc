/*
 * net/dhcp.c - the DHCP client state machine, message building and reply
 * validation (RFC 2131, RFC 2132). See dhcp.h for the states and timers.
 *
 * Call order: dhcp_start; udp_input -> dhcp_input; net_tick -> dhcp_tick.
 */
#include "net/dhcp.h"

#include <errno.h>
#include <string.h>

#include "net/byteorder.h"
#include "net/config.h"
#include "net/eth.h"
#include "net/ipv4.h"
#include "net/stack_internal.h"
#include "net/udp.h"

#define DHCP_MAGIC      0x63825363u
#define DHCP_MSG_LEN    300 /* BOOTP's minimum; some servers want it */
#define BOOTREQUEST     1
#define BOOTREPLY       2
#define DHCP_FLAG_BCAST 0x8000
#define INFINITE_LEASE  0xffffffffu

#define OPT_PAD       0
#define OPT_MASK      1
#define OPT_ROUTER    3
#define OPT_DNS       6
#define OPT_REQ_IP    50
#define OPT_LEASE     51
#define OPT_MSG_TYPE  53
#define OPT_SERVER_ID 54
#define OPT_PARAMS    55
#define OPT_T1        58
#define OPT_T2        59
#define OPT_CLIENT_ID 61
#define OPT_END       255

#define BACKOFF_FIRST_MS 4000
#define BACKOFF_MAX_MS   64000
#define RENEW_MIN_MS     60000
#define NAK_PAUSE_MS     1000

const char *dhcp_state_name(int state)
{
    static const char *const names[] = {"off",   "init",     "selecting", "requesting",
                                        "bound", "renewing", "rebinding"};

    if (state < 0 || state > DHCP_REBINDING)
        return "?";
    return names[state];
}

/* A 4-byte option (address or seconds); *has = 1. */
static int opt_u32(const uint8_t *v, uint8_t olen, uint32_t *out, uint8_t *has)
{
    if (olen != 4)
        return -EBADMSG;
    *out = net_get_be32(v);
    *has = 1;
    return 0;
}

/* A list of addresses: keep the first. */
static int opt_addr_list(const uint8_t *v, uint8_t olen, uint32_t *out, uint8_t *has)
{
    if (olen < 4 || olen % 4 != 0)
        return -EBADMSG;
    *out = net_get_be32(v);
    *has = 1;
    return 0;
}

static int parse_option(uint8_t code, const uint8_t *v, uint8_t olen, struct dhcp_options *o)
{
    switch (code) {
    case OPT_MSG_TYPE:
        if (olen != 1)
            return -EBADMSG;
        o->msg_type = v[0];
        return 0;
    case OPT_SERVER_ID:
        return opt_u32(v, olen, &o->server_id, &o->has_server_id);
    case OPT_LEASE:
        return opt_u32(v, olen, &o->lease_s, &o->has_lease);
    case OPT_T1:
        return opt_u32(v, olen, &o->t1_s, &o->has_t1);
    case OPT_T2:
        return opt_u32(v, olen, &o->t2_s, &o->has_t2);
    case OPT_MASK:
        return opt_u32(v, olen, &o->mask, &o->has_mask);
    case OPT_ROUTER:
        return opt_addr_list(v, olen, &o->router, &o->has_router);
    case OPT_DNS:
        return opt_addr_list(v, olen, &o->dns, &o->has_dns);
    default:
        return 0; /* not needed: skipped */
    }
}

int dhcp_parse_options(const uint8_t *p, size_t len, struct dhcp_options *out)
{
    size_t i = 0;

    memset(out, 0, sizeof(*out));
    while (i < len) {
        uint8_t code = p[i++];
        if (code == OPT_PAD)
            continue;
        if (code == OPT_END)
            return 0;
        if (i >= len)
            return -EBADMSG;
        uint8_t olen = p[i++];
        if (olen > len - i)
            return -EBADMSG;
        if (parse_option(code, p + i, olen, out) < 0)
            return -EBADMSG;
        i += olen;
    }
    return 0; /* no end option: the data ended between options */
}

static uint8_t *put_opt(uint8_t *p, uint8_t code, uint8_t len, const void *val)
{
    p[0] = code;
    p[1] = len;
    memcpy(p + 2, val, len);
    return p + 2 + len;
}

static uint8_t *put_opt_addr(uint8_t *p, uint8_t code, uint32_t addr)
{
    uint8_t v[4];

    net_put_be32(v, addr);
    return put_opt(p, code, 4, v);
}

static int dhcp_send(struct net_stack *st, struct net_iface *ifc, uint8_t type, uint64_t now_ms)
{
    static const uint8_t params[] = {OPT_MASK, OPT_ROUTER,    OPT_DNS, OPT_LEASE,
                                     OPT_T1,   OPT_SERVER_ID, OPT_T2};
    struct dhcp_client *c = &ifc->dhcp;
    int renewing = c->state == DHCP_RENEWING, rebinding = c->state == DHCP_REBINDING;
    struct netbuf *nb = net_tx_alloc(st, ifc, NET_L4_HEADROOM + UDP_HDR_LEN, DHCP_MSG_LEN);

    if (nb == NULL)
        return -ENOBUFS;
    uint8_t *p = nb->data, client_id[7] = {1};
    memset(p, 0, DHCP_MSG_LEN);
    p[0] = BOOTREQUEST;
    p[1] = 1;
    p[2] = ETH_ADDR_LEN;
    net_put_be32(p + 4, c->xid);
    /* Without an address we cannot take unicast replies in every stack:
     * ask for broadcast (RFC 2131 4.1). */
    net_put_be16(p + 10, renewing || rebinding ? 0 : DHCP_FLAG_BCAST);
    net_put_be32(p + 12, renewing || rebinding ? ifc->ip : 0);
    memcpy(p + 28, ifc->mac, ETH_ADDR_LEN);
    net_put_be32(p + 236, DHCP_MAGIC);

    uint8_t *o = put_opt(p + 240, OPT_MSG_TYPE, 1, &type);
    memcpy(client_id + 1, ifc->mac, ETH_ADDR_LEN);
    o = put_opt(o, OPT_CLIENT_ID, sizeof(client_id), client_id);
    if (type == DHCPREQUEST && c->state == DHCP_REQUESTING) {
        o = put_opt_addr(o, OPT_REQ_IP, c->offered_ip);
        o = put_opt_addr(o, OPT_SERVER_ID, c->server_id);
    }
    o = put_opt(o, OPT_PARAMS, sizeof(params), params);
    *o = OPT_END;

    uint32_t dst = renewing ? c->server_id : IP4_BROADCAST;
    uint32_t src = renewing || rebinding ? ifc->ip : 0;
    return udp_output(st, ifc, src, DHCP_CLIENT_PORT, dst, DHCP_SERVER_PORT, nb, now_ms);
}

/* Next retransmission: 4, 8, ... 64 s, randomised by +-1 s. */
static void schedule_backoff(struct net_stack *st, struct dhcp_client *c, uint64_t now_ms)
{
    uint32_t jitter = st->plat->random32(st->plat->ctx) % 2001;

    c->next_ms = now_ms + c->backoff_ms + jitter - 1000;
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* RENEWING/REBINDING: half the time left until `until`, at least 60 s,
 * but never past it (RFC 2131 4.4.5). */
static void schedule_half(struct dhcp_client *c, uint64_t now_ms, uint64_t until)
{
    uint64_t wait = (until - now_ms) / 2;

    if (wait < RENEW_MIN_MS)
        wait = RENEW_MIN_MS;
    c->next_ms = until - now_ms < wait ? until : now_ms + wait;
}

static void transmit(struct net_stack *st, struct net_iface *ifc, uint8_t type, uint64_t now_ms)
{
    struct dhcp_client *c = &ifc->dhcp;

    c->tries++;
    dhcp_send(st, ifc, type, now_ms);
}

static void start_selecting(struct net_stack *st, struct net_iface *ifc, uint64_t now_ms)
{
    struct dhcp_client *c = &ifc->dhcp;

    c->state = DHCP_SELECTING;
    c->xid = st->plat->random32(st->plat->ctx);
    c->tries = 0;
    c->backoff_ms = BACKOFF_FIRST_MS;
    transmit(st, ifc, DHCPDISCOVER, now_ms);
    schedule_backoff(st, c, now_ms);
}

int dhcp_start(struct net_stack *st, struct net_iface *ifc, uint64_t now_ms)
{
    memset(&ifc->dhcp, 0, sizeof(ifc->dhcp));
    start_selecting(st, ifc, now_ms);
    return 0;
}

void dhcp_stop(struct net_iface *ifc)
{
    ifc->dhcp.state = DHCP_OFF;
    ifc->dhcp.next_ms = UINT64_MAX;
}

static void lose_lease(struct net_stack *st, struct net_iface *ifc, uint64_t now_ms)
{
    NET_LOG(st, NET_LOG_WARN, now_ms, "dhcp: %s lease lost", ifc->name);
    net_iface_clear_addr(ifc);
    start_selecting(st, ifc, now_ms);
}

static void enter_renew(struct net_stack *st, struct net_iface *ifc, uint8_t state, uint64_t now_ms)
{
    struct dhcp_client *c = &ifc->dhcp;

    c->state = state;
    c->xid = st->plat->random32(st->plat->ctx);
    c->tries = 0;
    c->bound_ms = now_ms;
}

void dhcp_tick(struct net_stack *st, struct net_iface *ifc, uint64_t now_ms)
{
    struct dhcp_client *c = &ifc->dhcp;

    if (c->state == DHCP_OFF || now_ms < c->next_ms)
        return;
    switch (c->state) {
    case DHCP_INIT:
        start_selecting(st, ifc, now_ms);
        return;
    case DHCP_SELECTING:
        transmit(st, ifc, DHCPDISCOVER, now_ms);
        schedule_backoff(st, c, now_ms);
        return;
    case DHCP_REQUESTING:
        if (c->tries >= DHCP_REQUEST_TRIES) {
            start_selecting(st, ifc, now_ms);
            return;
        }
        transmit(st, ifc, DHCPREQUEST, now_ms);
        schedule_backoff(st, c, now_ms);
        return;
    default:
        break;
    }
    /* BOUND, RENEWING, REBINDING: the lease timers. */
    if (now_ms >= c->expire_ms) {
        lose_lease(st, ifc, now_ms);
        return;
    }
    if (now_ms >= c->t2_ms && c->state != DHCP_REBINDING)
        enter_renew(st, ifc, DHCP_REBINDING, now_ms);
    else if (c->state == DHCP_BOUND)
        enter_renew(st, ifc, DHCP_RENEWING, now_ms);
    transmit(st, ifc, DHCPREQUEST, now_ms);
    schedule_half(c, now_ms, c->state == DHCP_RENEWING ? c->t2_ms : c->expire_ms);
}

uint64_t dhcp_next_deadline(const struct net_iface *ifc)
{
    return ifc->dhcp.state == DHCP_OFF ? UINT64_MAX : ifc->dhcp.next_ms;
}

/* Header checks and option parsing; returns a drop reason or -1. */
static int dhcp_check(const struct net_iface *ifc, const struct netbuf *nb,
                      struct dhcp_options *opts)
{
    const uint8_t *p = nb->data;

    if (nb->len < DHCP_MIN_LEN)
        return NET_DROP_DHCP_SHORT;
    if (p[0] != BOOTREPLY || p[1] != 1 || p[2] != ETH_ADDR_LEN ||
        net_get_be32(p + 236) != DHCP_MAGIC)
        return NET_DROP_DHCP_HEADER;
    if (net_get_be32(p + 4) != ifc->dhcp.xid)
        return NET_DROP_DHCP_XID;
    if (memcmp(p + 28, ifc->mac, ETH_ADDR_LEN) != 0)
        return NET_DROP_DHCP_CHADDR;
    if (dhcp_parse_options(p + DHCP_MIN_LEN, nb->len - DHCP_MIN_LEN, opts) < 0)
        return NET_DROP_DHCP_OPTIONS;
    if (opts->msg_type == 0)
        return NET_DROP_DHCP_MISSING;
    return -1;
}

static int usable_addr(uint32_t ip)
{
    return ip != 0 && ip != IP4_BROADCAST && !ip4_is_multicast(ip) && ip >> 24 != 127;
}

static uint32_t classful_mask(uint32_t ip)
{
    if (ip >> 31 == 0)
        return 0xff000000u;
    if (ip >> 30 == 2)
        return 0xffff0000u;
    return 0xffffff00u;
}

static int on_offer(struct net_stack *st, struct net_iface *ifc, uint32_t yiaddr,
                    const struct dhcp_options *o, uint64_t now_ms)
{
    struct dhcp_client *c = &ifc->dhcp;

    if (c->state != DHCP_SELECTING)
        return NET_DROP_DHCP_UNEXPECTED;
    if (!o->has_server_id)
        return NET_DROP_DHCP_MISSING;
    if (!usable_addr(yiaddr))
        return NET_DROP_DHCP_HEADER;
    c->offers++;
    c->offered_ip = yiaddr;
    c->server_id = o->server_id;
    c->state = DHCP_REQUESTING;
    c->tries = 0;
    c->backoff_ms = BACKOFF_FIRST_MS;
    c->bound_ms = now_ms; /* the lease counts from the request (RFC 2131 4.4.1) */
    transmit(st, ifc, DHCPREQUEST, now_ms);
    schedule_backoff(st, c, now_ms);
    return -1;
}

static uint64_t after(uint64_t start_ms, uint32_t secs)
{
    return secs == INFINITE_LEASE ? UINT64_MAX : start_ms + (uint64_t)secs * 1000;
}

static int on_ack(struct net_stack *st, struct net_iface *ifc, uint32_t yiaddr,
                  const struct dhcp_options *o, uint64_t now_ms)
{
    struct dhcp_client *c = &ifc->dhcp;

    if (c->state != DHCP_REQUESTING && c->state != DHCP_RENEWING && c->state != DHCP_REBINDING)
        return NET_DROP_DHCP_UNEXPECTED;
    if (c->state == DHCP_REQUESTING && o->has_server_id && o->server_id != c->server_id)
        return NET_DROP_DHCP_UNEXPECTED; /* another server answering our broadcast */
    if (!o->has_lease)
        return NET_DROP_DHCP_MISSING;
    uint32_t mask = o->has_mask ? o->mask : classful_mask(yiaddr);
    if (!usable_addr(yiaddr) || net_mask_to_prefix(mask) < 0)
        return NET_DROP_DHCP_HEADER;
    uint32_t lease = o->lease_s, t1 = o->has_t1 ? o->t1_s : lease / 2;
    uint32_t t2 = o->has_t2 ? o->t2_s : (uint32_t)((uint64_t)lease * 7 / 8);
    if (t2 > lease || t1 > t2) { /* inconsistent: use the defaults */
        t1 = lease / 2;
        t2 = (uint32_t)((uint64_t)lease * 7 / 8);
    }
    c->lease_s = lease;
    c->t1_s = t1;
    c->t2_s = t2;
    c->t1_ms = after(c->bound_ms, t1);
    c->t2_ms = after(c->bound_ms, t2);
    c->expire_ms = after(c->bound_ms, lease);
    c->mask = mask;
    c->router = o->has_router ? o->router : 0;
    c->dns = o->has_dns ? o->dns : 0;
    if (o->has_server_id)
        c->server_id = o->server_id;
    c->acks++;
    if (c->state == DHCP_REQUESTING)
        c->leases++;
    c->state = DHCP_BOUND;
    c->tries = 0;
    c->next_ms = c->t1_ms;
    if (ifc->ip != yiaddr || ifc->mask != mask || ifc->gw != c->router) {
        char a[16], g[16];
        net_iface_set_addr(ifc, yiaddr, mask, c->router);
        net_format_ip4(yiaddr, a, sizeof(a));
        net_format_ip4(c->router, g, sizeof(g));
        NET_LOG(st, NET_LOG_INFO, now_ms, "dhcp: %s bound to %s/%d gw %s lease %u s", ifc->name, a,
                net_mask_to_prefix(mask), g, (unsigned)lease);
    }
    ifc->dns = c->dns;
    return -1;
}

static int on_nak(struct net_stack *st, struct net_iface *ifc, const struct dhcp_options *o,
                  uint64_t now_ms)
{
    struct dhcp_client *c = &ifc->dhcp;

    if (c->state != DHCP_REQUESTING && c->state != DHCP_RENEWING && c->state != DHCP_REBINDING)
        return NET_DROP_DHCP_UNEXPECTED;
    if (c->state == DHCP_REQUESTING && o->has_server_id && o->server_id != c->server_id)
        return NET_DROP_DHCP_UNEXPECTED;
    c->naks++;
    if (c->state != DHCP_REQUESTING)
        net_iface_clear_addr(ifc);
    NET_LOG(st, NET_LOG_WARN, now_ms, "dhcp: %s refused (NAK), starting over", ifc->name);
    /* Start over after a pause, so a confused server cannot make us spin. */
    c->state = DHCP_INIT;
    c->next_ms = now_ms + NAK_PAUSE_MS;
    return -1;
}

void dhcp_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb,
                const struct ip4_info *ip, uint64_t now_ms)
{
    struct dhcp_options opts;
    int why = dhcp_check(ifc, nb, &opts);
    uint32_t yiaddr = nb->len >= DHCP_MIN_LEN ? net_get_be32(nb->data + 16) : 0;

    (void)ip;
    nbuf_put(nb);
    if (why < 0) {
        switch (opts.msg_type) {
        case DHCPOFFER:
            why = on_offer(st, ifc, yiaddr, &opts, now_ms);
            break;
        case DHCPACK:
            why = on_ack(st, ifc, yiaddr, &opts, now_ms);
            break;
        case DHCPNAK:
            why = on_nak(st, ifc, &opts, now_ms);
            break;
        default:
            why = NET_DROP_DHCP_UNEXPECTED;
            break;
        }
    }
    if (why >= 0)
        net_iface_drop(ifc, (enum net_drop)why);
}
