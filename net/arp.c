/*
 * net/arp.c - ARP cache, resolution with pending queues, replies and
 * announcements (RFC 826, RFC 5227 for the announcement format).
 *
 * Call order: eth_input -> arp_input; ip4_output -> arp_output ->
 * eth_output; net_tick -> arp_tick.
 */
#include "net/arp.h"

#include <errno.h>
#include <string.h>

#include "net/byteorder.h"
#include "net/config.h"
#include "net/eth.h"
#include "net/ipv4.h"
#include "net/stack_internal.h"

#define ARP_HTYPE_ETHER 1
#define ARP_OP_REQUEST  1
#define ARP_OP_REPLY    2

static const uint8_t bcast_mac[ETH_ADDR_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t zero_mac[ETH_ADDR_LEN] = {0};

static unsigned cache_size(const struct net_stack *st)
{
    return st->lim.arp_entries < ARP_CACHE_MAX ? st->lim.arp_entries : ARP_CACHE_MAX;
}

static struct arp_entry *find(struct net_iface *ifc, uint32_t ip)
{
    for (unsigned i = 0; i < ifc->arp.used; i++) {
        struct arp_entry *e = &ifc->arp.entries[i];
        if (e->state != ARP_FREE && e->ip == ip)
            return e;
    }
    return NULL;
}

static void free_entry(struct arp_entry *e)
{
    nbuf_queue_purge(&e->pending);
    memset(e, 0, sizeof(*e));
}

/* A free entry, or the resolved one closest to expiry; NULL when every
 * usable entry is waiting for a reply (those are never evicted: they hold
 * packets). */
static struct arp_entry *alloc_entry(struct net_stack *st, struct net_iface *ifc, uint32_t ip)
{
    struct arp_entry *victim = NULL;

    for (unsigned i = 0; i < cache_size(st); i++) {
        struct arp_entry *e = &ifc->arp.entries[i];
        if (e->state == ARP_FREE) {
            victim = e;
            break;
        }
        if (e->state == ARP_REACHABLE && (victim == NULL || e->deadline_ms < victim->deadline_ms))
            victim = e;
    }
    if (victim == NULL)
        return NULL;
    free_entry(victim);
    victim->ip = ip;
    unsigned idx = (unsigned)(victim - ifc->arp.entries);
    if (idx >= ifc->arp.used)
        ifc->arp.used = idx + 1;
    return victim;
}

static int send_arp(struct net_stack *st, struct net_iface *ifc, uint16_t op,
                    const uint8_t *eth_dst, const uint8_t *tha, uint32_t tpa)
{
    struct netbuf *nb = net_tx_alloc(st, ifc, ETH_HDR_LEN, ARP_PKT_LEN);

    if (nb == NULL)
        return -ENOBUFS;
    uint8_t *p = nb->data;
    net_put_be16(p, ARP_HTYPE_ETHER);
    net_put_be16(p + 2, ETH_TYPE_IPV4);
    p[4] = ETH_ADDR_LEN;
    p[5] = 4;
    net_put_be16(p + 6, op);
    memcpy(p + 8, ifc->mac, ETH_ADDR_LEN);
    net_put_be32(p + 14, ifc->ip);
    memcpy(p + 18, tha, ETH_ADDR_LEN);
    net_put_be32(p + 24, tpa);
    return eth_output(st, ifc, nb, eth_dst, ETH_TYPE_ARP);
}

static void resolved(struct net_stack *st, struct net_iface *ifc, struct arp_entry *e,
                     const uint8_t *mac, uint64_t now_ms)
{
    struct netbuf *pkt;

    memcpy(e->mac, mac, ETH_ADDR_LEN);
    e->state = ARP_REACHABLE;
    e->tries = 0;
    e->datagrams = 0;
    e->deadline_ms = now_ms + st->lim.arp_timeout_ms;
    while ((pkt = nbuf_queue_pop(&e->pending)) != NULL)
        eth_output(st, ifc, pkt, e->mac, ETH_TYPE_IPV4);
}

/* Checks that do not depend on our state; returns a drop reason or -1. */
static int arp_check(const struct netbuf *nb)
{
    const uint8_t *p = nb->data;

    if (nb->len < ARP_PKT_LEN)
        return NET_DROP_ARP_SHORT;
    if (net_get_be16(p) != ARP_HTYPE_ETHER || net_get_be16(p + 2) != ETH_TYPE_IPV4 ||
        p[4] != ETH_ADDR_LEN || p[5] != 4)
        return NET_DROP_ARP_FORMAT;
    uint16_t op = net_get_be16(p + 6);
    if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
        return NET_DROP_ARP_OP;
    uint32_t spa = net_get_be32(p + 14);
    if (eth_is_multicast(p + 8) || ip4_is_multicast(spa) || spa == IP4_BROADCAST)
        return NET_DROP_ARP_SENDER;
    return -1;
}

void arp_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb, uint64_t now_ms)
{
    int why = arp_check(nb);

    if (why >= 0) {
        net_iface_drop(ifc, (enum net_drop)why);
        nbuf_put(nb);
        return;
    }
    const uint8_t *p = nb->data;
    uint8_t sha[ETH_ADDR_LEN];
    memcpy(sha, p + 8, ETH_ADDR_LEN);
    uint16_t op = net_get_be16(p + 6);
    uint32_t spa = net_get_be32(p + 14), tpa = net_get_be32(p + 24);
    nbuf_put(nb);

    if (ifc->ip != 0 && spa == ifc->ip) {
        char who[20];
        net_format_mac(sha, who, sizeof(who));
        net_iface_drop(ifc, NET_DROP_ARP_CONFLICT);
        NET_LOG(st, NET_LOG_WARN, now_ms, "arp: %s claims our address", who);
        return;
    }
    int for_us = ifc->ip != 0 && tpa == ifc->ip;
    /* RFC 826: refresh a known sender; a packet aimed at us also creates
     * the entry, whether or not we asked (a reply to a request another
     * stack on this link sent in our name counts too). */
    struct arp_entry *e = spa != 0 ? find(ifc, spa) : NULL;
    if (e != NULL)
        resolved(st, ifc, e, sha, now_ms);
    else if (for_us && spa != 0 && (e = alloc_entry(st, ifc, spa)) != NULL)
        resolved(st, ifc, e, sha, now_ms);
    if (!for_us) {
        if (e == NULL)
            net_iface_drop(ifc, NET_DROP_ARP_IGNORED);
        return;
    }
    if (spa != 0 && st->plat->arp_learned != NULL)
        st->plat->arp_learned(st->plat->ctx, ifc, spa, sha);
    if (op == ARP_OP_REQUEST)
        send_arp(st, ifc, ARP_OP_REPLY, sha, sha, spa);
}

void arp_learn(struct net_stack *st, struct net_iface *ifc, uint32_t ip, const uint8_t mac[6],
               uint64_t now_ms)
{
    if (ip == 0 || ip == ifc->ip)
        return;
    /* The same rules as a packet aimed at us, without the hook: refresh, or
     * create when a free or resolved entry can be had (INCOMPLETE ones
     * hold packets and are never evicted); else forget it. */
    struct arp_entry *e = find(ifc, ip);
    if (e == NULL)
        e = alloc_entry(st, ifc, ip);
    if (e != NULL)
        resolved(st, ifc, e, mac, now_ms);
}

static int send_all(struct net_stack *st, struct net_iface *ifc, const uint8_t *mac,
                    struct nbuf_queue *pkts)
{
    struct netbuf *pkt;
    int err = 0;

    while ((pkt = nbuf_queue_pop(pkts)) != NULL) {
        int r = eth_output(st, ifc, pkt, mac, ETH_TYPE_IPV4);
        if (err == 0)
            err = r;
    }
    return err;
}

int arp_output_all(struct net_stack *st, struct net_iface *ifc, uint32_t next_hop,
                   struct nbuf_queue *pkts, uint64_t now_ms)
{
    if (net_iface_is_bcast(ifc, next_hop))
        return send_all(st, ifc, bcast_mac, pkts);
    struct arp_entry *e = find(ifc, next_hop);
    if (e != NULL && e->state == ARP_REACHABLE)
        return send_all(st, ifc, e->mac, pkts);
    if (e == NULL) {
        e = alloc_entry(st, ifc, next_hop);
        if (e == NULL) {
            ifc->cnt.drops[NET_DROP_ARP_CACHE_FULL] += pkts->count;
            nbuf_queue_purge(pkts);
            return -ENOMEM;
        }
        e->state = ARP_INCOMPLETE;
        e->tries = 1;
        e->deadline_ms = now_ms + st->lim.arp_retry_ms;
        send_arp(st, ifc, ARP_OP_REQUEST, bcast_mac, zero_mac, next_hop);
    }
    if (e->datagrams >= st->lim.arp_pending) {
        ifc->cnt.drops[NET_DROP_ARP_QUEUE_FULL] += pkts->count;
        nbuf_queue_purge(pkts);
        return -ENOBUFS;
    }
    struct netbuf *pkt;
    while ((pkt = nbuf_queue_pop(pkts)) != NULL)
        nbuf_queue_push(&e->pending, pkt);
    e->datagrams++;
    return 0;
}

int arp_output(struct net_stack *st, struct net_iface *ifc, uint32_t next_hop, struct netbuf *pkt,
               uint64_t now_ms)
{
    struct nbuf_queue one = {0};

    nbuf_queue_push(&one, pkt);
    return arp_output_all(st, ifc, next_hop, &one, now_ms);
}

void arp_tick(struct net_stack *st, struct net_iface *ifc, uint64_t now_ms)
{
    for (unsigned i = 0; i < ifc->arp.used; i++) {
        struct arp_entry *e = &ifc->arp.entries[i];
        if (e->state == ARP_FREE || now_ms < e->deadline_ms)
            continue;
        if (e->state == ARP_REACHABLE) {
            free_entry(e);
            continue;
        }
        if (e->tries >= st->lim.arp_tries) {
            ifc->cnt.drops[NET_DROP_ARP_UNRESOLVED] += e->pending.count;
            free_entry(e);
            continue;
        }
        e->tries++;
        e->deadline_ms = now_ms + st->lim.arp_retry_ms;
        send_arp(st, ifc, ARP_OP_REQUEST, bcast_mac, zero_mac, e->ip);
    }
}

uint64_t arp_next_deadline(const struct net_iface *ifc)
{
    uint64_t t = UINT64_MAX;

    for (unsigned i = 0; i < ifc->arp.used; i++) {
        const struct arp_entry *e = &ifc->arp.entries[i];
        if (e->state != ARP_FREE && e->deadline_ms < t)
            t = e->deadline_ms;
    }
    return t;
}

int arp_announce(struct net_stack *st, struct net_iface *ifc)
{
    return send_arp(st, ifc, ARP_OP_REQUEST, bcast_mac, zero_mac, ifc->ip);
}

const uint8_t *arp_lookup(const struct net_iface *ifc, uint32_t ip)
{
    for (unsigned i = 0; i < ifc->arp.used; i++) {
        const struct arp_entry *e = &ifc->arp.entries[i];
        if (e->state == ARP_REACHABLE && e->ip == ip)
            return e->mac;
    }
    return NULL;
}

unsigned arp_pending_datagrams(const struct net_iface *ifc)
{
    unsigned n = 0;
    for (unsigned i = 0; i < ifc->arp.used; i++)
        if (ifc->arp.entries[i].state == ARP_INCOMPLETE)
            n += ifc->arp.entries[i].datagrams;
    return n;
}

void arp_flush(struct net_iface *ifc)
{
    for (unsigned i = 0; i < ifc->arp.used; i++)
        free_entry(&ifc->arp.entries[i]);
    ifc->arp.used = 0;
}
