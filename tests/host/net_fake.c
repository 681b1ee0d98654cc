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

struct fake_rxbuf {
    struct netbuf nb;
    struct fake_dev *dev;
    uint8_t mem[];
};

static void rx_release(struct netbuf *nb, void *cookie)
{
    struct fake_rxbuf *b = cookie;

    (void)nb;
    b->dev->rx_live--;
    b->dev->rx_released++;
    free(b);
}

struct netbuf *fake_dev_rxbuf(struct fake_dev *d, const void *frame, size_t len)
{
    struct fake_rxbuf *b = malloc(sizeof(*b) + FAKE_DEV_HEADROOM + len);

    if (b == NULL)
        abort();
    b->dev = d;
    nbuf_init(&b->nb, b->mem, FAKE_DEV_HEADROOM + len, FAKE_DEV_HEADROOM, len, rx_release, b);
    b->nb.flags |= NB_RING; /* as the kernel marks virtio receive buffers */
    if (len > 0)
        memcpy(b->nb.data, frame, len);
    d->rx_live++;
    return &b->nb;
}

struct netbuf *fake_dev_rx(struct fake_dev *d, struct net_stack *st, const void *frame, size_t len,
                           uint64_t now_ms)
{
    struct netbuf *nb = fake_dev_rxbuf(d, frame, len);

    net_input(st, &d->ifc, nb, now_ms);
    return nb;
}

/* What a checksum-offloading device does, on its copy of the frame. */
static void device_csum(struct fake_frame *f, const struct netbuf *head)
{
    size_t start = nbuf_csum_start_in_frame(head), field = start + head->csum_offset;

    if (field + 2 > f->len)
        return;
    uint16_t v = nf_fold(nf_sum(f->data + start, f->len - start, 0));
    nf_put16(f->data + field, v == 0 ? 0xffff : v);
}

static int fake_transmit(struct net_iface *ifc, struct netbuf *frame)
{
    struct fake_dev *d = ifc->driver;

    if (d->tx_error != 0) {
        nbuf_put(frame);
        return d->tx_error;
    }
    size_t len = nbuf_chain_len(frame);
    struct fake_frame *f = malloc(sizeof(*f) + len);
    if (f == NULL)
        abort();
    f->next = NULL;
    f->len = len;
    f->segs = nbuf_chain_segments(frame);
    f->flags = frame->flags;
    nbuf_copy_out(frame, 0, f->data, len);
    if (frame->flags & NB_CSUM_NEEDED) {
        if (!(ifc->features & NET_IF_TX_CSUM))
            d->bad_offload++;
        device_csum(f, frame);
        d->offloaded++;
    }
    if (d->hold)
        nbuf_queue_push(&d->held, frame);
    else
        nbuf_put(frame);
    if (d->link != NULL) {
        netsim_send(d->link, d->end, f->data, f->len, *d->now);
        free(f);
        return 0;
    }
    if (d->tx_tail != NULL)
        d->tx_tail->next = f;
    else
        d->tx_head = f;
    d->tx_tail = f;
    d->tx_count++;
    return 0;
}

static const struct net_iface_ops fake_ops = {.transmit = fake_transmit};

void fake_dev_init(struct fake_dev *d, struct fake_plat *fp, const char *name, const uint8_t mac[6],
                   uint16_t mtu, uint32_t features)
{
    memset(d, 0, sizeof(*d));
    net_iface_init(&d->ifc, name, mac, mtu, features, &fake_ops, d);
    d->fp = fp;
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
