/*
 * net/iface.c - interface set-up, addresses and the counter table.
 */
#include "net/iface.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/arp.h"
#include "net/config.h"
#include "net/ipv4.h"

#define NET_DROP_NAME_ENTRY(name, str) str,
static const char *const drop_names[NET_DROP_COUNT] = {NET_DROP_REASONS(NET_DROP_NAME_ENTRY)};
#undef NET_DROP_NAME_ENTRY

const char *net_drop_name(int why)
{
    if (why < 0 || why >= NET_DROP_COUNT)
        return "?";
    return drop_names[why];
}

void net_iface_init(struct net_iface *ifc, const char *name, const uint8_t mac[6], uint16_t mtu,
                    uint32_t features, const struct net_iface_ops *ops, void *driver)
{
    memset(ifc, 0, sizeof(*ifc));
    snprintf(ifc->name, sizeof(ifc->name), "%s", name);
    memcpy(ifc->mac, mac, 6);
    ifc->mtu = mtu;
    ifc->features = features;
    if (!(features & NET_IF_TX_CSUM))
        ifc->features &= ~NET_IF_TX_TSO; /* segments need their sums filled in */
    ifc->tso_max_len = NET_TSO_MAX_LEN;
    ifc->tso_max_segs = NET_TSO_MAX_SEGS;
    ifc->ops = ops;
    ifc->driver = driver;
}

int net_iface_set_addr(struct net_iface *ifc, uint32_t ip, uint32_t mask, uint32_t gw)
{
    if (net_mask_to_prefix(mask) < 0 || ip4_is_multicast(ip) || ip == IP4_BROADCAST)
        return -EINVAL;
    if (ifc->ip != ip)
        arp_flush(ifc);
    ifc->ip = ip;
    ifc->mask = mask;
    ifc->gw = gw;
    if (ip != 0 && ifc->stack != NULL)
        arp_announce(ifc->stack, ifc);
    return 0;
}

void net_iface_clear_addr(struct net_iface *ifc)
{
    arp_flush(ifc);
    ifc->ip = 0;
    ifc->mask = 0;
    ifc->gw = 0;
}

void net_iface_mirror_addr(struct net_iface *dst, const struct net_iface *src)
{
    if (dst->ip != src->ip)
        arp_flush(dst); /* learnt with the old address, as in set_addr */
    dst->ip = src->ip;
    dst->mask = src->mask;
    dst->gw = src->gw;
    dst->dns = src->dns;
}

int net_iface_is_bcast(const struct net_iface *ifc, uint32_t ip)
{
    if (ip == IP4_BROADCAST)
        return 1;
    /* A /31 has no directed broadcast: both its addresses are hosts (RFC
     * 3021); a /32 has no subnet. */
    return ifc->ip != 0 && ifc->mask < 0xfffffffeu && (ip & ifc->mask) == (ifc->ip & ifc->mask) &&
           (ip | ifc->mask) == IP4_BROADCAST;
}

int net_iface_on_link(const struct net_iface *ifc, uint32_t ip)
{
    return ifc->ip != 0 && (ip & ifc->mask) == (ifc->ip & ifc->mask);
}

uint64_t net_iface_total_drops(const struct net_iface *ifc)
{
    uint64_t total = 0;

    for (int i = 0; i < NET_DROP_COUNT; i++)
        total += ifc->cnt.drops[i];
    return total;
}

/* snprintf at buf + *used, tracking the length the whole text needs. */
static void append(char *buf, size_t size, size_t *used, const char *text)
{
    int n =
        snprintf(*used < size ? buf + *used : NULL, *used < size ? size - *used : 0, "%s", text);
    *used += (size_t)n;
}

int net_iface_format_counters(const struct net_iface *ifc, char *buf, size_t size)
{
    char line[128], mac[20], ip[16], gw[16];
    size_t used = 0;

    if (size > 0)
        buf[0] = '\0';
    net_format_mac(ifc->mac, mac, sizeof(mac));
    net_format_ip4(ifc->ip, ip, sizeof(ip));
    net_format_ip4(ifc->gw, gw, sizeof(gw));
    snprintf(line, sizeof(line), "%s %s %s/%d gw %s mtu %u\n", ifc->name, mac, ip,
             net_mask_to_prefix(ifc->mask), gw, (unsigned)ifc->mtu);
    append(buf, size, &used, line);
    snprintf(line, sizeof(line), "  rx %llu pkts %llu bytes, tx %llu pkts %llu bytes, drops %llu\n",
             (unsigned long long)ifc->cnt.rx_packets, (unsigned long long)ifc->cnt.rx_bytes,
             (unsigned long long)ifc->cnt.tx_packets, (unsigned long long)ifc->cnt.tx_bytes,
             (unsigned long long)net_iface_total_drops(ifc));
    append(buf, size, &used, line);
    snprintf(line, sizeof(line), "  rx checksums: %llu verified by the device, %llu partial\n",
             (unsigned long long)ifc->cnt.rx_csum_device,
             (unsigned long long)ifc->cnt.rx_csum_partial);
    append(buf, size, &used, line);
    for (int i = 0; i < NET_DROP_COUNT; i++) {
        if (ifc->cnt.drops[i] == 0)
            continue;
        snprintf(line, sizeof(line), "  %s %llu\n", drop_names[i],
                 (unsigned long long)ifc->cnt.drops[i]);
        append(buf, size, &used, line);
    }
    return (int)used;
}
