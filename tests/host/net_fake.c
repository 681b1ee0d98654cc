/*
 * net_fake.c - fake platform, device, clock and stack pair for the net/
 * tests and fuzz targets (see net_fake.h).
 */
#include "net_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/iface.h"
#include "net_frames.h"

const uint8_t fake_mac_a[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0a};
const uint8_t fake_mac_b[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0b};
const uint8_t fake_mac_peer[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x99};

/* ---- platform ---------------------------------------------------------- */

struct fake_txbuf {
    struct netbuf nb;
    struct fake_plat *fp;
    uint8_t mem[];
};

static void tx_release(struct netbuf *nb, void *cookie)
{
    struct fake_txbuf *b = cookie;

    (void)nb;
    b->fp->tx_live--;
    free(b);
}

static struct netbuf *fake_tx_alloc(void *ctx, size_t headroom, size_t len)
{
    struct fake_plat *fp = ctx;

    if (fp->tx_fail_after >= 0) {
        if (fp->tx_fail_after == 0) {
            fp->tx_fails++;
            return NULL;
        }
        fp->tx_fail_after--;
    }
    size_t room = FAKE_DEV_HEADROOM + headroom;
    struct fake_txbuf *b = malloc(sizeof(*b) + room + len);
    if (b == NULL)
        abort();
    b->fp = fp;
    nbuf_init(&b->nb, b->mem, room + len, room, len, tx_release, b);
    fp->tx_allocs++;
    fp->tx_live++;
    return &b->nb;
}

static uint32_t fake_random32(void *ctx)
{
    struct fake_plat *fp = ctx;

    fp->rng ^= fp->rng << 13;
    fp->rng ^= fp->rng >> 7;
    fp->rng ^= fp->rng << 17;
    return (uint32_t)(fp->rng >> 16);
}

static void fake_log(void *ctx, int level, const char *msg)
{
    struct fake_plat *fp = ctx;

    fp->logs++;
    snprintf(fp->last_log, sizeof(fp->last_log), "%s", msg);
    if (fp->print_logs)
        printf("[net %d] %s\n", level, msg);
}

void fake_plat_init(struct fake_plat *fp, uint64_t seed)
{
    memset(fp, 0, sizeof(*fp));
    fp->plat.tx_alloc = fake_tx_alloc;
    fp->plat.random32 = fake_random32;
    fp->plat.log = fake_log;
    fp->plat.ctx = fp;
    fp->rng = seed * 2654435761u + 88172645463325252ull;
    fp->tx_fail_after = -1;
    fp->print_logs = getenv("NET_TEST_VERBOSE") != NULL;
}

/* ---- device ------------------------------------------------------------ */

/* A device receive buffer as the driver side of net/netdev.h sees it; the
 * buffer's netbuf (rx.nb) is set up by netdev_rx, as for virtio-net. */
struct fake_rxbuf {
    struct netdev_rxbuf rx;
    struct fake_dev *dev;
    uint8_t mem[];
};

static void fake_rx_release(void *drv, struct netdev_rxbuf *rb)
{
    struct fake_dev *d = drv;
    struct fake_rxbuf *b = (struct fake_rxbuf *)rb;

    d->rx_live--;
    d->rx_released++;
    free(b);
}

static struct fake_rxbuf *fake_rxbuf_new(struct fake_dev *d, const void *frame, size_t len)
{
    struct fake_rxbuf *b = malloc(sizeof(*b) + FAKE_DEV_HEADROOM + len);

    if (b == NULL)
        abort();
    memset(&b->rx, 0, sizeof(b->rx));
    b->dev = d;
    b->rx.mem = b->mem;
    b->rx.size = (uint32_t)(FAKE_DEV_HEADROOM + len);
    b->rx.frame = b->mem + FAKE_DEV_HEADROOM;
    b->rx.len = (uint32_t)len;
    if (len > 0)
        memcpy(b->rx.frame, frame, len);
    d->rx_live++;
    return b;
}

/* A buffer not delivered through netdev_rx (tests that build chains of
 * device buffers by hand): described in place the way netdev_rx does. */
struct netbuf *fake_dev_rxbuf(struct fake_dev *d, const void *frame, size_t len)
{
    struct fake_rxbuf *b = fake_rxbuf_new(d, frame, len);

    return netdev_rxbuf_wrap(&d->nd, &b->rx);
}

struct netbuf *fake_dev_rx(struct fake_dev *d, struct net_stack *st, const void *frame, size_t len,
                           uint64_t now_ms)
{
    struct fake_rxbuf *b = fake_rxbuf_new(d, frame, len);

    (void)st; /* the device's interface belongs to it */
    d->nd.now_ms = now_ms;
    netdev_rx(&d->nd, &b->rx);
    return &b->rx.nb;
}

struct netbuf *fake_dev_rx_parts(struct fake_dev *d, const uint8_t *frame, const size_t *parts,
                                 unsigned n, uint64_t now_ms)
{
    struct fake_rxbuf *first = NULL, *last = NULL;

    for (unsigned i = 0; i < n; i++) {
        struct fake_rxbuf *b = fake_rxbuf_new(d, frame, parts[i]);
        frame += parts[i];
        if (last != NULL)
            last->rx.more = &b->rx;
        else
            first = b;
        last = b;
    }
    if (first == NULL)
        return NULL;
    d->nd.now_ms = now_ms;
    netdev_rx(&d->nd, &first->rx);
    return &first->rx.nb;
}

/* What a checksum-offloading device does, on its copy of the frame. */
static void device_csum(struct fake_frame *f, const struct netdev_offload *off)
{
    size_t start = off->csum_start, field = start + off->csum_offset;

    if (field + 2 > f->len)
        return;
    uint16_t v = nf_fold(nf_sum(f->data + start, f->len - start, 0));
    nf_put16(f->data + field, v == 0 ? 0xffff : v);
}

/*
 * What a TSO device does with an NB_GSO_TCP4 frame (virtio-net
 * VIRTIO_NET_HDR_GSO_TCPV4): copy the headers in front of every gso_size
 * bytes of payload, give each segment its IPv4 total length, the next IP
 * ID and a fresh header checksum, its sequence number, FIN and PSH only on
 * the last segment, and a complete TCP checksum. Returns a list of frames
 * (NULL and bad_offload when the frame is not what TSO takes).
 */
static struct fake_frame *gso_segment(struct fake_dev *d, const struct fake_frame *f)
{
    size_t hl = f->hdr_len, ip = 14, per = f->gso_size;
    if (hl < 54 || hl > f->len || per == 0 || nf_get16(f->data + 12) != 0x0800 ||
        f->data[ip + 9] != 6 || hl != ip + (f->data[ip] & 15u) * 4 + (f->data[34 + 12] >> 4) * 4u) {
        d->bad_offload++;
        return NULL;
    }
    struct fake_frame *head = NULL, **link = &head;
    size_t payload = f->len - hl, th = ip + (f->data[ip] & 15u) * 4;
    for (size_t off = 0, k = 0; off < payload || (payload == 0 && k == 0); off += per, k++) {
        size_t n = payload - off < per ? payload - off : per;
        struct fake_frame *g = calloc(1, sizeof(*g) + hl + n);
        if (g == NULL)
            abort();
        g->len = hl + n;
        g->segs = 1;
        memcpy(g->data, f->data, hl);
        memcpy(g->data + hl, f->data + hl + off, n);
        uint8_t *iph = g->data + ip, *tcp = g->data + th;
        nf_put16(iph + 2, (uint16_t)(g->len - ip));
        nf_put16(iph + 4, (uint16_t)(nf_get16(f->data + ip + 4) + k));
        nf_put16(iph + 10, 0);
        nf_put16(iph + 10, nf_fold(nf_sum(iph, th - ip, 0)));
        nf_put32(tcp + 4, nf_get32(f->data + th + 4) + (uint32_t)off);
        if (off + n < payload)
            tcp[13] &= (uint8_t)~0x09; /* FIN, PSH: the last segment's */
        size_t tlen = g->len - th;
        uint8_t pseudo[12];
        memcpy(pseudo, iph + 12, 8);
        pseudo[8] = 0;
        pseudo[9] = 6;
        nf_put16(pseudo + 10, (uint16_t)tlen);
        nf_put16(tcp + 16, 0);
        uint16_t v = nf_fold(nf_sum(tcp, tlen, nf_sum(pseudo, 12, 0)));
        nf_put16(tcp + 16, v == 0 ? 0xffff : v);
        *link = g;
        link = &g->next;
        d->gso_segments++;
        if (payload == 0)
            break;
    }
    d->gso_frames++;
    return head;
}

/* Put a frame (or, for a TSO frame, its segments) on the link or in the
 * transmit list. Consumes f. */
static void fake_emit(struct fake_dev *d, struct fake_frame *f)
{
    struct fake_frame *list = f;
    if ((f->flags & NB_GSO_TCP4) && (d->link != NULL || d->segment_gso)) {
        list = gso_segment(d, f);
        free(f);
    }
    while (list != NULL) {
        struct fake_frame *g = list;
        list = g->next;
        g->next = NULL;
        if (d->link != NULL) {
            netsim_send(d->link, d->end, g->data, g->len, *d->now);
            free(g);
            continue;
        }
        if (d->tx_tail != NULL)
            d->tx_tail->next = g;
        else
            d->tx_head = g;
        d->tx_tail = g;
        d->tx_count++;
    }
}

/* The driver side of net/netdev.h: the frame arrives as slices and an
 * offload request, exactly as virtio-net gets it. */
static int fake_transmit(void *drv, const struct netdev_slice *s, int n, void *cookie,
                         const struct netdev_offload *off)
{
    struct fake_dev *d = drv;
    struct netbuf *frame = cookie;

    if (d->tx_error != 0)
        return d->tx_error;
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += s[i].len;
    struct fake_frame *f = malloc(sizeof(*f) + len);
    if (f == NULL)
        abort();
    f->next = NULL;
    f->len = len;
    f->segs = (unsigned)n;
    f->flags = (uint16_t)((off->csum_start != 0 ? NB_CSUM_NEEDED : 0) |
                          (off->gso_size != 0 ? NB_GSO_TCP4 : 0));
    f->gso_size = off->gso_size;
    f->hdr_len = n > 0 ? s[0].len : 0;
    for (size_t i = 0, at = 0; i < (size_t)n; at += s[i].len, i++)
        memcpy(f->data + at, s[i].data, s[i].len);
    const struct net_iface *ifc = &d->ifc;
    if (off->gso_size != 0 &&
        (off->csum_start == 0 || off->hdr_len != f->hdr_len || f->segs > ifc->tso_max_segs ||
         len - 14 > ifc->tso_max_len))
        d->bad_offload++;
    if (off->csum_start != 0) {
        if (off->gso_size == 0)
            device_csum(f, off);
        d->offloaded++;
    }
    if (d->hold)
        nbuf_queue_push(&d->held, frame);
    else
        netdev_tx_done(&d->nd, frame);
    fake_emit(d, f);
    return 0;
}

/* Everything happens at once: no completions or packets wait in a ring. */
static int fake_poll(void *drv, int budget)
{
    (void)drv;
    (void)budget;
    return 0;
}

static unsigned fake_tx_pending(void *drv)
{
    struct fake_dev *d = drv;

    return d->held.count;
}

static const struct netdev_ops fake_ops = {
    .transmit = fake_transmit,
    .rx_release = fake_rx_release,
    .poll = fake_poll,
    .tx_pending = fake_tx_pending,
};

void fake_dev_init(struct fake_dev *d, struct fake_plat *fp, const char *name, const uint8_t mac[6],
                   uint16_t mtu, uint32_t features)
{
    memset(d, 0, sizeof(*d));
    struct netdev_info info = {
        .mtu = mtu,
        .features = features,
        .rx_ring = 1u << 30, /* never short of buffers: no copying */
        .max_slices = NET_TSO_MAX_SEGS,
    };
    memcpy(info.mac, mac, 6);
    netdev_init(&d->nd, &fake_ops, d, &info, 0);
    netdev_iface_init(&d->nd, &d->ifc, name);
    d->fp = fp;
}

uint64_t fake_dev_bad_offload(const struct fake_dev *d)
{
    return d->bad_offload + d->nd.cnt.tx_csum_software + d->nd.cnt.tx_bad_offload;
}

struct fake_frame *fake_dev_pop(struct fake_dev *d)
{
    struct fake_frame *f = d->tx_head;

    if (f == NULL)
        return NULL;
    d->tx_head = f->next;
    if (d->tx_head == NULL)
        d->tx_tail = NULL;
    d->tx_count--;
    return f;
}

void fake_dev_clear(struct fake_dev *d)
{
    struct fake_frame *f;

    while ((f = fake_dev_pop(d)) != NULL)
        free(f);
    nbuf_queue_purge(&d->held);
    netdev_purge(&d->nd);
}

/* ---- hosts --------------------------------------------------------------- */

void fake_host_init(struct fake_host *h, uint64_t seed, const uint8_t mac[6], uint32_t ip,
                    uint32_t mask, uint32_t gw, uint32_t features)
{
    memset(h, 0, sizeof(*h));
    fake_plat_init(&h->fp, seed);
    net_stack_init(&h->st, &h->fp.plat);
    fake_dev_init(&h->dev, &h->fp, "eth0", mac, 1500, features);
    h->dev.now = &h->now;
    net_stack_add_iface(&h->st, &h->dev.ifc);
    if (ip != 0)
        net_iface_set_addr(&h->dev.ifc, ip, mask, gw);
}

void fake_host_destroy(struct fake_host *h)
{
    net_stack_destroy(&h->st);
    fake_dev_clear(&h->dev);
}

struct netbuf *fake_host_rx(struct fake_host *h, const void *frame, size_t len)
{
    return fake_dev_rx(&h->dev, &h->st, frame, len, h->now);
}

void fake_host_advance(struct fake_host *h, uint64_t t)
{
    for (int guard = 0; guard < 100000; guard++) {
        uint64_t next = net_next_deadline(&h->st);
        if (next > t)
            break;
        if (next > h->now)
            h->now = next;
        net_tick(&h->st, h->now);
    }
    h->now = t;
    net_tick(&h->st, h->now);
}

static void pair_deliver(void *arg, int to_end, const uint8_t *frame, size_t len)
{
    struct sim_pair *p = arg;

    if (p->observe != NULL)
        p->observe(p->observe_arg, to_end, frame, len);
    fake_dev_rx(&p->h[to_end].dev, &p->h[to_end].st, frame, len, p->now);
}

void sim_pair_init(struct sim_pair *p, const struct netsim_cfg *cfg, uint32_t features)
{
    memset(p, 0, sizeof(*p));
    p->link = netsim_create(cfg);
    for (int i = 0; i < 2; i++) {
        struct fake_host *h = &p->h[i];
        fake_plat_init(&h->fp, cfg->seed + (uint64_t)i * 7919);
        net_stack_init(&h->st, &h->fp.plat);
        fake_dev_init(&h->dev, &h->fp, "eth0", i == 0 ? fake_mac_a : fake_mac_b, 1500, features);
        h->dev.link = p->link;
        h->dev.end = i;
        h->dev.now = &p->now;
        net_stack_add_iface(&h->st, &h->dev.ifc);
        net_iface_set_addr(&h->dev.ifc, NF_IP(10, 0, 0, 1 + i), 0xffffff00u, 0);
    }
}

void sim_pair_run(struct sim_pair *p, uint64_t until_ms)
{
    for (int guard = 0; guard < 10000000; guard++) {
        netsim_poll(p->link, p->now, pair_deliver, p);
        for (int i = 0; i < 2; i++)
            if (net_next_deadline(&p->h[i].st) <= p->now)
                net_tick(&p->h[i].st, p->now);
        uint64_t next = netsim_next_due(p->link);
        for (int i = 0; i < 2; i++) {
            uint64_t t = net_next_deadline(&p->h[i].st);
            next = t < next ? t : next;
        }
        if (next > until_ms)
            break;
        if (next > p->now)
            p->now = next;
    }
    p->now = until_ms;
    for (int i = 0; i < 2; i++)
        p->h[i].now = until_ms;
}

void sim_pair_destroy(struct sim_pair *p)
{
    for (int i = 0; i < 2; i++)
        fake_host_destroy(&p->h[i]);
    netsim_destroy(p->link);
}
