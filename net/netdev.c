/*
 * net/netdev.c - a device queue pair under the stack (see netdev.h).
 */
#include "net/netdev.h"

#include <errno.h>
#include <string.h>

#include "net/iface.h"
#include "net/stack.h"

/* ---- receive ---- */

static void rx_release(struct netbuf *nb, void *cookie)
{
    struct netdev_rxbuf *b = cookie;
    struct netdev *nd = b->owner;
    (void)nb;
    nd->rx_held--;
    nd->ops->rx_release(nd->drv, b);
}

static void release_packet(struct netdev *nd, struct netdev_rxbuf *b)
{
    while (b != NULL) {
        struct netdev_rxbuf *more = b->more;
        b->more = NULL;
        nd->ops->rx_release(nd->drv, b);
        b = more;
    }
}

/*
 * Zero copy means the stack and the app hold device receive buffers: TCP
 * keeps them queued until the app reads them, and an echo keeps them in its
 * send queue until the peer acknowledges them. If they held the whole ring,
 * no frame could arrive, not even the ACK that would free them. So the last
 * quarter of the ring is a reserve: while more than the rest is held, a
 * packet is copied into a heap buffer (counted in copied_bytes) and its
 * device buffers go straight back. TCP's per-connection limits (an eighth
 * of the ring queued for reading, a quarter in a send queue: see
 * netdev_apply_limits) keep a single connection well below the line.
 */
static struct netbuf *rx_copy(struct netdev *nd, struct netdev_rxbuf *b, size_t len)
{
    struct netbuf *nb = nbuf_alloc_heap((size_t)(b->frame - b->mem), len);
    if (nb != NULL) {
        size_t off = 0;
        for (struct netdev_rxbuf *p = b; p != NULL; p = p->more) {
            memcpy(nb->data + off, p->frame, p->len);
            off += p->len;
        }
        nd->ifc->stack->cnt.copied_bytes += len;
        nd->cnt.rx_copied++;
    } else {
        nd->ifc->cnt.drops[NET_DROP_RX_NOMEM]++;
    }
    release_packet(nd, b);
    return nb;
}

struct netbuf *netdev_rxbuf_wrap(struct netdev *nd, struct netdev_rxbuf *b)
{
    b->owner = nd;
    nbuf_init(&b->nb, b->mem, b->size, (size_t)(b->frame - b->mem), b->len, rx_release, b);
    b->nb.flags |= NB_RING;
    if (++nd->rx_held > nd->rx_held_max)
        nd->rx_held_max = nd->rx_held;
    return &b->nb;
}

/* A packet in one buffer, or a large TCP segment spread over several (b->more
 * links the rest): one netbuf per device buffer, chained, each released to
 * the ring on its own. Every buffer counts against the copy line; a packet
 * that would cross it is copied whole. */
void netdev_rx(void *ctx, struct netdev_rxbuf *b)
{
    struct netdev *nd = ctx;
    struct netbuf *nb = NULL;
    unsigned bufs = 0;
    size_t len = 0;
    if (nd->ifc == NULL || nd->ifc->stack == NULL) {
        release_packet(nd, b); /* not attached to a stack yet */
        return;
    }
    uint16_t flags = b->flags; /* b is gone once copied */
    for (struct netdev_rxbuf *p = b; p != NULL; p = p->more, bufs++)
        len += p->len;
    if (nd->rx_held + bufs > nd->rx_copy_line) {
        nb = rx_copy(nd, b, len);
        if (nb == NULL)
            return;
    } else {
        struct netbuf **link = &nb;
        for (struct netdev_rxbuf *p = b; p != NULL; p = p->more) {
            *link = netdev_rxbuf_wrap(nd, p);
            link = &(*link)->next;
        }
    }
    if (flags & NETDEV_RX_CSUM_VALID)
        nb->flags |= NB_CSUM_VALID;
    if (flags & NETDEV_RX_CSUM_PARTIAL)
        nb->flags |= NB_CSUM_VALID | NB_CSUM_PARTIAL;
    net_input(nd->ifc->stack, nd->ifc, nb, nd->now_ms);
}

/* ---- transmit ---- */

void netdev_tx_done(void *ctx, void *cookie)
{
    (void)ctx;
    nbuf_put(cookie);
}

/* Hand one frame chain to the device. On success the device owns it (put
 * in netdev_tx_done); on failure the caller still does. */
static int device_transmit(struct netdev *nd, struct netbuf *frame)
{
    struct netdev_slice slices[NETDEV_MAX_SLICES];
    struct netdev_offload off = {0};
    unsigned max = nd->info.max_slices;
    int n = 0;
    /* TSO: the head holds exactly the Ethernet, IPv4 and TCP headers
     * (NB_GSO_TCP4); TCP builds such frames only where the interface has
     * NET_IF_TX_TSO (which needs NET_IF_TX_CSUM). */
    if (frame->flags & NB_GSO_TCP4) {
        uint32_t need = NET_IF_TX_TSO | NET_IF_TX_CSUM;
        if ((nd->ifc->features & need) != need || !(frame->flags & NB_CSUM_NEEDED)) {
            nd->cnt.tx_bad_offload++;
            return -EINVAL;
        }
        off.gso_size = frame->gso_size;
        off.hdr_len = (uint16_t)frame->len;
    }
    if (frame->flags & NB_CSUM_NEEDED) {
        if (nd->ifc->features & NET_IF_TX_CSUM) {
            off.csum_start = (uint16_t)nbuf_csum_start_in_frame(frame);
            off.csum_offset = frame->csum_offset;
        } else {
            nbuf_csum_finish(frame); /* defensive: net/ asks only where NET_IF_TX_CSUM is */
            nd->cnt.tx_csum_software++;
        }
    }
    for (struct netbuf *s = frame; s != NULL; s = s->next) {
        if ((unsigned)n == max)
            return -EMSGSIZE;
        slices[n++] = (struct netdev_slice){s->data, (uint32_t)s->len};
    }
    return nd->ops->transmit(nd->drv, slices, n, frame, &off);
}

/* Frames that found the transmit ring full wait in the backlog, in order,
 * rather than being dropped: a burst (TCP opening its window, many
 * responses at once) would otherwise cost retransmission timeouts. */
static void flush_backlog(struct netdev *nd)
{
    struct nbuf_queue *q = &nd->backlog;
    while (q->head != NULL) {
        /* Off the queue first: a device may complete (and free) the frame
         * before transmit returns. */
        struct netbuf *f = nbuf_queue_pop(q);
        int err = device_transmit(nd, f);
        if (err == -ENOSPC) { /* still full: back in front, for the next completion */
            f->qnext = q->head;
            q->head = f;
            if (q->tail == NULL)
                q->tail = f;
            q->count++;
            return;
        }
        if (err != 0) { /* refused for good: count it as the stack would */
            nd->ifc->cnt.drops[NET_DROP_TX_DEVICE]++;
            nd->cnt.tx_refused++;
            nbuf_put(f);
        } /* else the device owns it now: netdev_tx_done puts it */
    }
}

/* A frame in more pieces than the device takes (an app that sent many tiny
 * buffers, all in one segment): its payload is copied into one buffer
 * behind the header (counted in copied_bytes). Returns 0 or -errno. */
static int linearize(struct netdev *nd, struct netbuf *frame)
{
    struct netbuf *rest = frame->next;
    if (frame->refs != 1 || rest == NULL)
        return -EMSGSIZE;
    size_t len = nbuf_chain_len(rest);
    struct netbuf *flat = nbuf_alloc_heap(0, len);
    if (flat == NULL)
        return -ENOMEM;
    nbuf_copy_out(rest, 0, flat->data, len);
    frame->next = flat;
    nbuf_put(rest);
    nd->ifc->stack->cnt.copied_bytes += len;
    nd->cnt.tx_linearized++;
    return 0;
}

static int iface_transmit(struct net_iface *ifc, struct netbuf *frame)
{
    struct netdev *nd = ifc->driver;
    if (nbuf_chain_segments(frame) > nd->info.max_slices) {
        int err = linearize(nd, frame);
        if (err != 0) {
            nd->cnt.tx_refused++;
            nbuf_put(frame);
            return err;
        }
    }
    if (nd->backlog.count == 0) {
        int err = device_transmit(nd, frame);
        if (err != -ENOSPC) {
            if (err != 0) {
                nd->cnt.tx_refused++;
                nbuf_put(frame);
            }
            return err;
        }
    }
    if (nd->backlog.count >= NETDEV_BACKLOG_MAX) {
        nbuf_put(frame);
        return -ENOSPC;
    }
    nbuf_queue_push(&nd->backlog, frame);
    nd->cnt.tx_backlogged++;
    return 0;
}

static const struct net_iface_ops netdev_iface_ops = {.transmit = iface_transmit};

/* ---- setup and polling ---- */

void netdev_init(struct netdev *nd, const struct netdev_ops *ops, void *drv,
                 const struct netdev_info *info, unsigned copy_at)
{
    memset(nd, 0, sizeof(*nd));
    nd->ops = ops;
    nd->drv = drv;
    nd->info = *info;
    if (nd->info.max_slices == 0 || nd->info.max_slices > NETDEV_MAX_SLICES)
        nd->info.max_slices = NETDEV_MAX_SLICES;
    nd->rx_copy_line = info->rx_ring - info->rx_ring / 4;
    if (copy_at > 0 && copy_at < nd->rx_copy_line)
        nd->rx_copy_line = copy_at;
}

void netdev_iface_init(struct netdev *nd, struct net_iface *ifc, const char *name)
{
    net_iface_init(ifc, name, nd->info.mac, nd->info.mtu, nd->info.features, &netdev_iface_ops,
                   nd);
    /* A TSO frame is the header buffer and its payload slices. */
    ifc->tso_max_segs = (uint16_t)nd->info.max_slices;
    if (nd->info.tso_max_len != 0 && nd->info.tso_max_len < ifc->tso_max_len)
        ifc->tso_max_len = nd->info.tso_max_len;
    nd->ifc = ifc;
}

void netdev_apply_limits(const struct netdev *nd, struct net_stack *st)
{
    unsigned ring = nd->info.rx_ring;
    /* A connection may hold an eighth of the receive ring queued for reading. */
    st->lim.tcp_rcv_segs = ring / 8;
    /* A send queue may hold a quarter: an echo sends back what it
     * received, and 256 KiB of full frames would be most of the ring. */
    st->lim.tcp_snd_ring_segs = ring / 4;
    /* The window, in bytes, opens for fewer full segments than that, so a
     * peer filling it never runs into the segment limit first. */
    st->lim.tcp_rcvbuf = (size_t)st->lim.tcp_rcv_segs * 1448 * 3 / 4;
}

int netdev_poll(struct netdev *nd, int budget, uint64_t now_ms)
{
    nd->now_ms = now_ms;
    int got = nd->ops->poll(nd->drv, budget);
    flush_backlog(nd);
    if (nd->ops->watch != NULL && now_ms >= nd->watch_at) {
        nd->ops->watch(nd->drv);
        nd->watch_at = now_ms + NETDEV_WATCH_MS;
    }
    return got;
}

void netdev_purge(struct netdev *nd)
{
    nbuf_queue_purge(&nd->backlog);
}

unsigned netdev_unfinished(const struct netdev *nd)
{
    return nd->backlog.count + nd->ops->tx_pending(nd->drv);
}

uint64_t netdev_max_sleep_ms(const struct netdev *nd, uint64_t want_ms)
{
    if (nd->backlog.count > 0)
        return 1; /* transmit completions may not notify: look again soon */
    if (nd->ops->tx_pending(nd->drv) > 0 && want_ms > NETDEV_WATCH_MS)
        return NETDEV_WATCH_MS; /* frames in flight: watch for a stall */
    return want_ms;
}
