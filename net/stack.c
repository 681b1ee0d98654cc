/*
 * net/stack.c - the per-core stack: set-up, the receive entry point, timers,
 * logging, and the header-buffer helpers every output path uses.
 *
 * Call order: net_stack_init, net_stack_add_iface, then net_input for each
 * frame and net_tick at net_next_deadline (see stack.h).
 */
#include "net/stack.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/arp.h"
#include "net/byteorder.h"
#include "net/dhcp.h"
#include "net/eth.h"
#include "net/ipv4.h"
#include "net/tcp.h"
#include "net/stack_internal.h"

void net_stack_init(struct net_stack *st, const struct net_platform *plat)
{
    memset(st, 0, sizeof(*st));
    st->plat = plat;
    for (int i = NET_HDR_RESERVE - 1; i >= 0; i--) {
        st->hdr_slots[i].st = st;
        st->hdr_slots[i].next_free = st->hdr_free;
        st->hdr_free = &st->hdr_slots[i];
    }
    st->lim.arp_entries = 32;
    st->lim.arp_pending = 4;
    st->lim.arp_timeout_ms = 60000;
    st->lim.arp_retry_ms = 1000;
    st->lim.arp_tries = 3;
    st->lim.reasm_mem = 256 * 1024;
    st->lim.reasm_datagrams = 16;
    st->lim.reasm_timeout_ms = 30000;
    st->lim.udp_sockets = 64;
    st->lim.udp_rxq = 64;
    st->lim.tcp_conns = 1024;
    st->lim.tcp_syn_cache = 64;
    st->lim.tcp_syncookies = 1;
    st->lim.tcp_backlog_max = 128;
    st->lim.tcp_sndbuf = 256 * 1024;
    st->lim.tcp_rcvbuf = 256 * 1024;
    st->lim.tcp_rcv_segs = 512;
    st->lim.tcp_snd_ring_segs = 512;
    st->lim.tcp_ooo_bytes = 128 * 1024;
    st->lim.tcp_ooo_segs = 64;
    st->lim.tcp_mem = 64u * 1024 * 1024;
    st->lim.tcp_msl_ms = 30000;
    st->lim.tcp_chack_per_s = 100;
    st->lim.tcp_max_retries = 15;
    st->lim.tcp_syn_retries = 6;
    st->lim.tcp_zero_window_ms = 0; /* RFC 9293 3.8.6.1: the embedder or the app decides */
    st->log_level = NET_LOG_INFO;
    st->log_tokens = NET_LOG_BURST;
    st->ip_id = (uint16_t)plat->random32(plat->ctx);
    st->udp.next_ephemeral =
        (uint16_t)(UDP_EPHEMERAL_FIRST + plat->random32(plat->ctx) % (65536 - UDP_EPHEMERAL_FIRST));
    tcp_init(st);
}

int net_stack_add_iface(struct net_stack *st, struct net_iface *ifc)
{
    for (unsigned i = 0; i < st->n_ifaces; i++)
        if (st->ifaces[i] == ifc)
            return -EEXIST;
    if (st->n_ifaces == NET_MAX_IFACES)
        return -ENOSPC;
    st->ifaces[st->n_ifaces++] = ifc;
    ifc->stack = st;
    return 0;
}

void net_stack_destroy(struct net_stack *st)
{
    tcp_destroy_all(st);
    udp_destroy_all(st);
    ip4_reasm_destroy(st);
    for (unsigned i = 0; i < st->n_ifaces; i++) {
        arp_flush(st->ifaces[i]);
        dhcp_stop(st->ifaces[i]);
        st->ifaces[i]->stack = NULL;
    }
    st->n_ifaces = 0;
}

/* A frame in several segments (mergeable receive buffers) that cannot go
 * up in place becomes one heap buffer: every parser then sees contiguous
 * headers. Counted (copied_bytes, rx_linearized). */
static struct netbuf *linearize(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb)
{
    size_t len = nbuf_chain_len(nb);
    struct netbuf *flat = nbuf_alloc_heap(0, len);

    if (flat == NULL) {
        net_iface_drop(ifc, NET_DROP_RX_NOMEM);
        nbuf_put(nb);
        return NULL;
    }
    nbuf_copy_out(nb, 0, flat->data, len);
    flat->flags = nb->flags & (NB_CSUM_VALID | NB_CSUM_PARTIAL); /* heap: not NB_RING */
    st->cnt.copied_bytes += len;
    st->cnt.rx_linearized++;
    nbuf_put(nb);
    return flat;
}

/*
 * Whether a chained frame can go up as it is: an unfragmented IPv4
 * datagram carrying TCP, with the Ethernet, IPv4 and TCP headers (options
 * included) wholly in the head segment. That is a large segment from a
 * device that receives them (virtio-net GUEST_TSO4 over mergeable
 * buffers); TCP queues its payload segments in place. Everything else
 * (ARP, UDP, ICMP, fragments, VLAN tags, headers split across segments) is
 * rare enough to be linearized. Only looks; the parsers still check it all.
 */
static int chain_in_place(const struct netbuf *nb)
{
    const uint8_t *p = nb->data, *ip = p + ETH_HDR_LEN;

    if (nb->len < ETH_HDR_LEN + IP4_HDR_LEN || net_get_be16(p + 12) != ETH_TYPE_IPV4)
        return 0;
    size_t hlen = (size_t)(ip[0] & 0xf) * 4;
    if (ip[9] != IP4_PROTO_TCP || hlen < IP4_HDR_LEN ||
        (net_get_be16(ip + 6) & (IP4_FLAG_MF | IP4_FRAG_OFFSET)) != 0 ||
        ETH_HDR_LEN + hlen + TCP_HDR_LEN > nb->len)
        return 0;
    size_t doff = (size_t)(ip[hlen + 12] >> 4) * 4;
    return doff >= TCP_HDR_LEN && ETH_HDR_LEN + hlen + doff <= nb->len;
}

void net_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb, uint64_t now_ms)
{
    ifc->cnt.rx_packets++;
    ifc->cnt.rx_bytes += nbuf_chain_len(nb);
    if (nb->next != NULL) {
        if (chain_in_place(nb))
            st->cnt.rx_chains++;
        else if ((nb = linearize(st, ifc, nb)) == NULL)
            return;
    }
    /* Only the driver's facts count on receive: the device's checksum
     * verdict, and whether the storage is a ring buffer. */
    nb->flags &= NB_CSUM_VALID | NB_CSUM_PARTIAL | NB_RING;
    if (nb->flags & NB_CSUM_PARTIAL)
        ifc->cnt.rx_csum_partial++;
    else if (nb->flags & NB_CSUM_VALID)
        ifc->cnt.rx_csum_device++;
    eth_input(st, ifc, nb, now_ms);
}

void net_tick(struct net_stack *st, uint64_t now_ms)
{
    for (unsigned i = 0; i < st->n_ifaces; i++) {
        arp_tick(st, st->ifaces[i], now_ms);
        dhcp_tick(st, st->ifaces[i], now_ms);
    }
    ip4_reasm_tick(st, now_ms);
    tcp_tick(st, now_ms);
}

uint64_t net_next_deadline(const struct net_stack *st)
{
    uint64_t t = net_min_u64(ip4_reasm_next_deadline(st), tcp_next_deadline(st));

    for (unsigned i = 0; i < st->n_ifaces; i++) {
        t = net_min_u64(t, arp_next_deadline(st->ifaces[i]));
        t = net_min_u64(t, dhcp_next_deadline(st->ifaces[i]));
    }
    return t;
}

int net_format_counters(const struct net_stack *st, char *buf, size_t size)
{
    size_t used = 0;
    int n;

    for (unsigned i = 0; i < st->n_ifaces; i++) {
        n = net_iface_format_counters(st->ifaces[i], size > used ? buf + used : NULL,
                                      size > used ? size - used : 0);
        used += (size_t)n;
    }
    n = snprintf(size > used ? buf + used : NULL, size > used ? size - used : 0,
                 "stack: copied %llu bytes, no route %llu, logs suppressed %llu, "
                 "headers from the reserve %llu, chained frames in place %llu, "
                 "linearized %llu\n",
                 (unsigned long long)st->cnt.copied_bytes, (unsigned long long)st->cnt.no_route,
                 (unsigned long long)st->cnt.logs_suppressed,
                 (unsigned long long)st->cnt.hdr_reserve, (unsigned long long)st->cnt.rx_chains,
                 (unsigned long long)st->cnt.rx_linearized);
    used += (size_t)n;
    n = snprintf(size > used ? buf + used : NULL, size > used ? size - used : 0,
                 "reassembly: %u datagrams, %zu bytes held (at most %zu, limit %zu)\n",
                 st->reasm.count, st->reasm.mem, st->reasm.mem_max, st->lim.reasm_mem);
    used += (size_t)n;
    n = tcp_format_counters(st, size > used ? buf + used : NULL, size > used ? size - used : 0);
    return (int)(used + (size_t)n);
}

int net_log_allowed(struct net_stack *st, int level, uint64_t now_ms)
{
    if (level > st->log_level || st->plat->log == NULL)
        return 0;
    if (level == NET_LOG_DEBUG)
        return 1;
    if (now_ms >= st->log_window_ms + 1000) {
        st->log_window_ms = now_ms;
        st->log_tokens = NET_LOG_BURST;
    }
    if (st->log_tokens == 0) {
        st->cnt.logs_suppressed++;
        return 0;
    }
    st->log_tokens--;
    return 1;
}

void net_log_emit(struct net_stack *st, int level, const char *msg)
{
    st->plat->log(st->plat->ctx, level, msg);
}

struct netbuf *net_tx_alloc(struct net_stack *st, struct net_iface *ifc, size_t headroom,
                            size_t len)
{
    struct netbuf *nb = st->plat->tx_alloc(st->plat->ctx, headroom, len);

    if (nb == NULL)
        net_iface_drop(ifc, NET_DROP_TX_NOBUF);
    return nb;
}

static void hdr_slot_release(struct netbuf *nb, void *cookie)
{
    struct net_hdr_slot *s = cookie;

    (void)nb;
    s->next_free = s->st->hdr_free;
    s->st->hdr_free = s;
}

struct netbuf *net_tx_alloc_hdr(struct net_stack *st, struct net_iface *ifc, size_t headroom,
                                size_t len)
{
    struct netbuf *nb = st->plat->tx_alloc(st->plat->ctx, headroom, len);
    struct net_hdr_slot *s = st->hdr_free;

    if (nb != NULL)
        return nb;
    if (s == NULL || headroom + len > NET_HDR_RESERVE_SIZE) {
        net_iface_drop(ifc, NET_DROP_TX_NOBUF);
        return NULL;
    }
    st->hdr_free = s->next_free;
    nbuf_init(&s->nb, s->mem, NET_HDR_RESERVE_SIZE, headroom, len, hdr_slot_release, s);
    st->cnt.hdr_reserve++;
    return &s->nb;
}

struct netbuf *net_push_header(struct net_stack *st, struct net_iface *ifc, struct netbuf *chain,
                               size_t n)
{
    if (nbuf_push(chain, n) != NULL)
        return chain;
    if (chain->flags & NB_GSO_TCP4) {
        /* Never happens (TCP's header buffers are fresh and have room), and
         * a separate header buffer would break the frame's layout. */
        net_iface_drop(ifc, NET_DROP_TX_NOBUF);
        nbuf_put(chain);
        return NULL;
    }
    struct netbuf *hdr = net_tx_alloc(st, ifc, ETH_HDR_LEN, n);
    if (hdr == NULL) {
        nbuf_put(chain);
        return NULL;
    }
    if (chain->flags & NB_CSUM_NEEDED)
        nbuf_csum_finish(chain);
    hdr->next = chain;
    return hdr;
}
