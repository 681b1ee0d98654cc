/*
 * net/ip4_frag.c - IPv4 reassembly (RFC 791 section 3.2, RFC 815 spirit).
 *
 * Each datagram being reassembled has one heap buffer that fragments are
 * copied into, and a bitmap of the 8-byte blocks received. Fragments are
 * copied (not kept) so that device receive buffers go back to the ring at
 * once, whatever a sender leaves unfinished. A block, once received, is not
 * overwritten: later overlapping data is ignored. Limits (net_limits):
 * reasm_datagrams at once, reasm_mem bytes of heap in all - entries,
 * buffers with their netbuf and headroom, and both buffers while one grows
 * into the other - and reasm_timeout_ms from the first fragment. At a limit
 * the oldest datagrams are evicted (counted as ip_frag_over_limit) to make
 * room. The buffer grows by doubling until the last fragment tells the
 * real size.
 *
 * Call order: ip4_input -> ip4_reasm_input; net_tick -> ip4_reasm_tick.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/byteorder.h"
#include "net/checksum.h"
#include "net/eth.h"
#include "net/ipv4_internal.h"
#include "net/stack_internal.h"

#define REASM_BLOCKS   (65536 / 8)
#define REASM_HEADROOM (ETH_HDR_LEN + IP4_MAX_HDR_LEN)
#define REASM_MIN_CAP  2048

struct ip4_reasm_dgram {
    struct ip4_reasm_dgram *next;
    struct net_iface *ifc; /* where the first fragment came in, for counting */
    uint32_t src, dst;
    uint16_t id;
    uint8_t proto;
    uint8_t have_last;
    uint64_t deadline_ms;
    struct netbuf *nb; /* payload buffer: data = buf + REASM_HEADROOM */
    size_t cap;        /* payload bytes nb holds */
    size_t total;      /* payload length, once have_last */
    size_t max_end;    /* highest fragment end seen */
    unsigned blocks;   /* 8-byte blocks received */
    uint8_t map[REASM_BLOCKS / 8];
};

/* Heap bytes of a payload buffer of cap bytes: nbuf_alloc_heap puts the
 * netbuf and the headroom in front of it. */
static size_t buf_cost(size_t cap)
{
    return cap == 0 ? 0 : sizeof(struct netbuf) + REASM_HEADROOM + cap;
}

static size_t dgram_cost(const struct ip4_reasm_dgram *d)
{
    return sizeof(*d) + buf_cost(d->cap);
}

/* Count n more bytes held; peak: the moment's total, when more is held
 * at once than will stay (a buffer and the one it grows into). */
static void mem_add(struct net_stack *st, size_t n, size_t peak)
{
    if (peak > st->reasm.mem_max)
        st->reasm.mem_max = peak;
    st->reasm.mem += n;
    if (st->reasm.mem > st->reasm.mem_max)
        st->reasm.mem_max = st->reasm.mem;
}

static void dgram_free(struct net_stack *st, struct ip4_reasm_dgram *d)
{
    struct ip4_reasm_dgram **link = &st->reasm.list;

    while (*link != d)
        link = &(*link)->next;
    *link = d->next;
    st->reasm.count--;
    st->reasm.mem -= dgram_cost(d);
    nbuf_put(d->nb);
    free(d);
}

static struct ip4_reasm_dgram *dgram_find(struct net_stack *st, const struct ip4_info *ip,
                                          uint16_t id)
{
    for (struct ip4_reasm_dgram *d = st->reasm.list; d != NULL; d = d->next)
        if (d->src == ip->src && d->dst == ip->dst && d->id == id && d->proto == ip->proto)
            return d;
    return NULL;
}

/* Evict the oldest datagrams (never keep) until one more datagram (new)
 * and `more` bytes fit the limits. Late duplicates of finished datagrams
 * start entries that can never complete; evicting the oldest lets new
 * traffic through instead of waiting for them to time out. Returns 0, or
 * -ENOMEM when even evicting everything else is not enough. */
static int make_room(struct net_stack *st, const struct ip4_reasm_dgram *keep, int new, size_t more)
{
    while ((new && st->reasm.count >= st->lim.reasm_datagrams) ||
           st->reasm.mem + more > st->lim.reasm_mem) {
        struct ip4_reasm_dgram *victim = NULL;
        for (struct ip4_reasm_dgram *d = st->reasm.list; d != NULL; d = d->next)
            if (d != keep && (victim == NULL || d->deadline_ms <= victim->deadline_ms))
                victim = d;
        if (victim == NULL)
            return -ENOMEM;
        net_iface_drop(victim->ifc, NET_DROP_IP_FRAG_NOMEM);
        dgram_free(st, victim);
    }
    return 0;
}

static struct ip4_reasm_dgram *dgram_new(struct net_stack *st, struct net_iface *ifc,
                                         const struct ip4_info *ip, uint16_t id, uint64_t now_ms)
{
    if (make_room(st, NULL, 1, sizeof(struct ip4_reasm_dgram)) < 0)
        return NULL;
    struct ip4_reasm_dgram *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->ifc = ifc;
    d->src = ip->src;
    d->dst = ip->dst;
    d->id = id;
    d->proto = ip->proto;
    d->deadline_ms = now_ms + st->lim.reasm_timeout_ms;
    d->next = st->reasm.list;
    st->reasm.list = d;
    st->reasm.count++;
    mem_add(st, sizeof(*d), 0);
    return d;
}

/* Make the buffer hold at least end payload bytes. Returns 0 or -ENOMEM
 * (memory limit or malloc). */
static int dgram_reserve(struct net_stack *st, struct ip4_reasm_dgram *d, size_t end)
{
    if (end <= d->cap)
        return 0;
    size_t cap = d->have_last ? d->total : d->cap * 2;
    if (cap < REASM_MIN_CAP)
        cap = REASM_MIN_CAP;
    if (cap > IP4_MAX_LEN)
        cap = IP4_MAX_LEN;
    if (cap < end)
        cap = end;
    /* The new buffer is allocated while the old one still holds the data:
     * the limit must have room for both at that moment. */
    if (make_room(st, d, 0, buf_cost(cap)) < 0)
        return -ENOMEM;
    struct netbuf *nb = nbuf_alloc_heap(REASM_HEADROOM, cap);
    if (nb == NULL)
        return -ENOMEM;
    if (d->nb != NULL) {
        memcpy(nb->data, d->nb->data, d->cap);
        nbuf_put(d->nb);
    }
    d->nb = nb;
    mem_add(st, buf_cost(cap) - buf_cost(d->cap), st->reasm.mem + buf_cost(cap));
    d->cap = cap;
    return 0;
}

/* Copy the blocks of [off, off + len) not yet received; returns how many
 * bytes were new. */
static size_t dgram_fill(struct ip4_reasm_dgram *d, size_t off, const uint8_t *data, size_t len)
{
    size_t fresh = 0;

    for (size_t b = off / 8; b * 8 < off + len; b++) {
        if (d->map[b / 8] & (1u << (b % 8)))
            continue;
        size_t n = off + len - b * 8 < 8 ? off + len - b * 8 : 8;
        memcpy(d->nb->data + b * 8, data + (b * 8 - off), n);
        d->map[b / 8] |= (uint8_t)(1u << (b % 8));
        d->blocks++;
        fresh += n;
    }
    return fresh;
}

/* The finished datagram: a rebuilt header in front of the payload. */
static struct netbuf *dgram_finish(struct net_stack *st, struct ip4_reasm_dgram *d,
                                   const struct ip4_info *ip)
{
    struct netbuf *nb = d->nb;
    uint8_t *h = nb->data - IP4_HDR_LEN;

    nb->len = d->total;
    h[0] = 0x45;
    h[1] = 0;
    net_put_be16(h + 2, (uint16_t)(IP4_HDR_LEN + d->total));
    net_put_be16(h + 4, d->id);
    net_put_be16(h + 6, 0);
    h[8] = ip->ttl;
    h[9] = d->proto;
    net_put_be16(h + 10, 0);
    net_put_be32(h + 12, d->src);
    net_put_be32(h + 16, d->dst);
    net_put_be16(h + 10, net_csum_value(net_csum_add(0, h, IP4_HDR_LEN)));
    nb->l3_off = (uint16_t)(h - nb->buf);
    d->nb = NULL;
    st->reasm.mem -= buf_cost(d->cap);
    d->cap = 0;
    dgram_free(st, d);
    return nb;
}

static struct netbuf *drop(struct net_iface *ifc, struct netbuf *nb, enum net_drop why)
{
    net_iface_drop(ifc, why);
    nbuf_put(nb);
    return NULL;
}

struct netbuf *ip4_reasm_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb,
                               const struct ip4_info *ip, uint16_t id, uint16_t frag,
                               uint64_t now_ms)
{
    size_t off = (size_t)(frag & IP4_FRAG_OFFSET) * 8;
    size_t len = nb->len - ip->hdr_len;
    int more = (frag & IP4_FLAG_MF) != 0;

    if ((more && (len == 0 || len % 8 != 0)) || off + len > IP4_MAX_LEN - IP4_HDR_LEN)
        return drop(ifc, nb, NET_DROP_IP_FRAG_BAD);
    struct ip4_reasm_dgram *d = dgram_find(st, ip, id);
    if (d == NULL && (d = dgram_new(st, ifc, ip, id, now_ms)) == NULL)
        return drop(ifc, nb, NET_DROP_IP_FRAG_NOMEM);
    /* A fragment past a known end, or an end that contradicts the data or
     * an earlier end, makes the datagram unusable. */
    if ((d->have_last && off + len > d->total) ||
        (!more && (d->max_end > off + len || (d->have_last && d->total != off + len)))) {
        dgram_free(st, d);
        return drop(ifc, nb, NET_DROP_IP_FRAG_BAD);
    }
    if (!more) {
        d->have_last = 1;
        d->total = off + len;
    }
    if (off + len > d->max_end)
        d->max_end = off + len;
    if (dgram_reserve(st, d, d->have_last ? d->total : off + len) < 0) {
        dgram_free(st, d);
        return drop(ifc, nb, NET_DROP_IP_FRAG_NOMEM);
    }
    size_t fresh = dgram_fill(d, off, nb->data + ip->hdr_len, len);
    st->cnt.copied_bytes += fresh;
    if (fresh == 0 && len > 0)
        net_iface_drop(ifc, NET_DROP_IP_FRAG_DUP);
    nbuf_put(nb);
    if (!d->have_last || d->blocks != (d->total + 7) / 8)
        return NULL;
    return dgram_finish(st, d, ip);
}

void ip4_reasm_tick(struct net_stack *st, uint64_t now_ms)
{
    struct ip4_reasm_dgram *d = st->reasm.list;

    while (d != NULL) {
        struct ip4_reasm_dgram *next = d->next;
        if (now_ms >= d->deadline_ms) {
            net_iface_drop(d->ifc, NET_DROP_IP_FRAG_TIMEOUT);
            dgram_free(st, d);
        }
        d = next;
    }
}

uint64_t ip4_reasm_next_deadline(const struct net_stack *st)
{
    uint64_t t = UINT64_MAX;

    for (const struct ip4_reasm_dgram *d = st->reasm.list; d != NULL; d = d->next)
        if (d->deadline_ms < t)
            t = d->deadline_ms;
    return t;
}

void ip4_reasm_destroy(struct net_stack *st)
{
    while (st->reasm.list != NULL)
        dgram_free(st, st->reasm.list);
}
