/*
 * drivers/virtio_net.c — virtio-net (VIRTIO 1.1, 5.1).
 *
 * Queue 0 receives, queue 1 transmits. Every frame is preceded by a
 * virtio-net header: 10 bytes for legacy devices without mergeable buffers,
 * 12 (with num_buffers) otherwise (5.1.6). Receive buffers are one 2 KiB
 * descriptor each, so a 1514-byte frame always fits one buffer. With
 * GUEST_TSO4 (over MRG_RXBUF) the host sends TCP segments up to 64 KiB: the
 * device spreads one over num_buffers buffers (5.1.6.4), which go up
 * together, linked, each still a ring buffer of its own.
 *
 * Interrupts: MSI-X (one vector per queue) when the function has it, else
 * the legacy line through the I/O APIC; the handler only signals the
 * driver's event, and the waiting thread polls with a budget, then
 * re-enables interrupts and re-checks before sleeping.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/env.h"
#include "drivers/ioapic.h"
#include "drivers/virtio_net.h"

#define HDR_MAX    12
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2
#define HDR_GSO_TCPV4    1

static bool tso_wanted = true;
ZEBU_OPTION_BOOL("virtio_net.tso", tso_wanted,
                 "let the device segment TCP (HOST_TSO4) when it offers it with CSUM");

static bool rx_tso_wanted = true;
ZEBU_OPTION_BOOL("virtio_net.rx_tso", rx_tso_wanted,
                 "take large TCP segments from the device (GUEST_TSO4) when it offers it with "
                 "GUEST_CSUM and MRG_RXBUF");

static const char *const feature_names[64] = {
    [0] = "CSUM", [1] = "GUEST_CSUM", [2] = "CTRL_GUEST_OFFLOADS", [3] = "MTU", [5] = "MAC",
    [7] = "GUEST_TSO4", [8] = "GUEST_TSO6", [9] = "GUEST_ECN", [10] = "GUEST_UFO",
    [11] = "HOST_TSO4", [12] = "HOST_TSO6", [13] = "HOST_ECN", [14] = "HOST_UFO",
    [15] = "MRG_RXBUF", [16] = "STATUS", [17] = "CTRL_VQ", [18] = "CTRL_RX",
    [19] = "CTRL_VLAN", [21] = "GUEST_ANNOUNCE", [22] = "MQ", [23] = "CTRL_MAC_ADDR",
    [24] = "NOTIFY_ON_EMPTY", [27] = "ANY_LAYOUT", [28] = "INDIRECT_DESC", [29] = "EVENT_IDX",
    [32] = "VERSION_1", [33] = "ACCESS_PLATFORM", [34] = "RING_PACKED", [35] = "IN_ORDER",
    [37] = "SR_IOV", [61] = "RSC_EXT", [62] = "STANDBY",
};

static void log_features(const char *what, uint64_t f)
{
    char line[400];
    size_t n = 0;
    line[0] = '\0';
    for (unsigned b = 0; b < 64 && n < sizeof(line) - 24; b++) {
        if (!(f >> b & 1))
            continue;
        if (feature_names[b] != NULL)
            n += (size_t)snprintf(line + n, sizeof(line) - n, " %s", feature_names[b]);
        else
            n += (size_t)snprintf(line + n, sizeof(line) - n, " bit%u", b);
    }
    env_info("virtio-net", "%s:%s", what, line);
}

int vnet_has_feature(const struct vnet *n, unsigned bit)
{
    return (n->dev.features >> bit) & 1;
}

static void vnet_interrupt(void *ctx)
{
    struct vnet *n = ctx;
    if (!n->dev.msix)
        n->dev.ops->read_isr(&n->dev); /* reading acknowledges the line */
    n->stats.irqs++;
    if (n->notify != NULL)
        n->notify(n->ctx);
}

static int post_rx(struct vnet *n, struct netdev_rxbuf *b)
{
    uint64_t addr = env_dma_addr(b->mem);
    uint32_t len = VNET_RX_BUF_SIZE;
    return virtq_add(&n->rx, &addr, &len, 1, 0, b) < 0 ? -ENOSPC : 0;
}

/* Receive buffers come in 64 KiB blocks, not one block for the ring
 * (512 KiB for 256): a small VM's memory rarely has that much in one
 * aligned piece. */
#define RX_BLOCK      (64 * 1024)
#define RX_BLOCK_BUFS (RX_BLOCK / VNET_RX_BUF_SIZE)

static int setup_rx(struct vnet *n)
{
    uint16_t count = n->rx.size;
    n->rxbufs = calloc(count, sizeof(struct netdev_rxbuf));
    if (n->rxbufs == NULL)
        return -ENOMEM;
    uint8_t *mem = NULL;
    for (uint16_t i = 0; i < count; i++) {
        if (i % RX_BLOCK_BUFS == 0 && (mem = env_dma_alloc(RX_BLOCK)) == NULL)
            return -ENOMEM;
        n->rxbufs[i] = (struct netdev_rxbuf){
            .mem = mem + (size_t)(i % RX_BLOCK_BUFS) * VNET_RX_BUF_SIZE,
            .size = VNET_RX_BUF_SIZE,
        };
        if (post_rx(n, &n->rxbufs[i]) != 0)
            return -ENOSPC;
    }
    virtq_kick(&n->rx);
    return 0;
}

/* One vector for both queues: its handler gets this device. */
static int setup_interrupts(struct vnet *n)
{
    struct pci_device *p = n->dev.pci;
    int v = env_irq_alloc(vnet_interrupt, n);
    if (v < 0)
        return v;
    uint8_t vec = (uint8_t)v;
    if (p == NULL) /* virtio-mmio: a plain line to the I/O APIC */
        return ioapic_route_gsi(n->dev.mmio_irq, vec, n->irq_apic, 0, 0);
    if (pci_msix_count(p) >= 2 && pci_msix_set(p, 0, vec, n->irq_apic) == 0 &&
        pci_msix_set(p, 1, vec, n->irq_apic) == 0) {
        n->dev.msix = 1;
        return 0;
    }
    if (pci_msi_set(p, vec, n->irq_apic) == 0)
        return 0;
    return pci_intx_route(p, vec, n->irq_apic);
}

/* virtio-net on PCI: the transitional (0x1000) and the modern (0x1041) id
 * (VIRTIO 1.1, 4.1.2.1). */
static const struct pci_id vnet_pci_ids[] = {
    {0x1af4, 0x1000},
    {0x1af4, 0x1041},
    {0, 0},
};

/* The first network device among the platform's virtio-mmio devices. */
static int attach_mmio(struct vnet *n, const struct platform_info *pi)
{
    for (int i = 0; pi != NULL && i < pi->virtio_mmio.n; i++) {
        const struct acpi_virtio_mmio *m = &pi->virtio_mmio.dev[i];
        if (virtio_mmio_attach(&n->dev, m->base, m->gsi, 1) == 0)
            return 0;
    }
    return -ENODEV;
}

int vnet_probe(struct vnet *n, uint32_t irq_apic, const struct platform_info *pi)
{
    memset(n, 0, sizeof(*n));
    n->irq_apic = irq_apic;
    struct pci_device *p = pci_find(vnet_pci_ids, NULL);
    int err = p != NULL ? virtio_pci_attach(&n->dev, p) : attach_mmio(n, pi);
    if (err != 0)
        return err;
    /* MSI-X first: it moves the legacy device-config window. */
    err = setup_interrupts(n);
    n->polling = err != 0;
    if (n->polling)
        env_warn("virtio-net", "no interrupt (MSI-X, MSI, INTx or I/O APIC line: %d): polling "
                 "every millisecond", err);
    uint64_t wanted = (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
                      (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_MRG_RXBUF) |
                      (1ull << VIRTIO_NET_F_STATUS) | (1ull << VIRTIO_F_RING_EVENT_IDX) |
                      (1ull << VIRTIO_F_VERSION_1);
    uint64_t offered = n->dev.ops->get_features(&n->dev);
    /* HOST_TSO4 depends on CSUM (5.1.3.1): segments need their sums. No
     * HOST_TSO6: there is no IPv6 here. */
    if (tso_wanted && (offered >> VIRTIO_NET_F_CSUM & 1))
        wanted |= 1ull << VIRTIO_NET_F_HOST_TSO4;
    /* GUEST_TSO4 depends on GUEST_CSUM (5.1.3.1). Without MRG_RXBUF every
     * receive buffer would have to hold 64 KiB (5.1.6.3.1): only with it. */
    if (rx_tso_wanted && (offered >> VIRTIO_NET_F_GUEST_CSUM & 1) &&
        (offered >> VIRTIO_NET_F_MRG_RXBUF & 1))
        wanted |= 1ull << VIRTIO_NET_F_GUEST_TSO4;
    log_features("device offers", offered);
    err = virtio_negotiate(&n->dev, wanted);
    if (err != 0)
        return err;
    log_features("negotiated", n->dev.features);
    n->hdr_len = (virtio_is_modern(&n->dev) ||
                  vnet_has_feature(n, VIRTIO_NET_F_MRG_RXBUF))
                     ? 12
                     : 10;
    if ((err = virtq_init(&n->rx, &n->dev, 0, VNET_QUEUE_SIZE, 0)) != 0 ||
        (err = virtq_init(&n->tx, &n->dev, 1, VNET_QUEUE_SIZE, 1)) != 0)
        return err;
    n->tx_headers = env_dma_alloc((size_t)HDR_MAX * n->tx.size);
    if (n->tx_headers == NULL)
        return -ENOMEM;
    if (vnet_has_feature(n, VIRTIO_NET_F_MAC))
        n->dev.ops->read_config(&n->dev, 0, n->mac, 6);
    n->link_up = 1;
    if (vnet_has_feature(n, VIRTIO_NET_F_STATUS)) {
        uint16_t status = 0;
        n->dev.ops->read_config(&n->dev, 6, &status, 2);
        n->link_up = status & 1;
    }
    if ((err = setup_rx(n)) != 0)
        return err;
    virtq_disable_interrupts(&n->tx); /* completions are reaped on the way */
    virtio_driver_ok(&n->dev);
    env_info("virtio-net", "%02x:%02x:%02x:%02x:%02x:%02x via %s, link %s, %u+%u descriptors, "
             "%s interrupts", n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
             n->dev.transport, n->link_up ? "up" : "down", n->rx.size, n->tx.size,
             n->polling ? "no" : n->dev.msix ? "MSI-X" : "line");
    return 0;
}

static void reap_tx(struct vnet *n)
{
    void *cookie;
    while ((cookie = virtq_get_used(&n->tx, NULL)) != NULL)
        if (n->tx_done != NULL && cookie != (void *)1)
            n->tx_done(n->ctx, cookie);
}

/* The virtio-net header of a transmitted frame (5.1.6: flags, gso_type,
 * hdr_len, gso_size, csum_start, csum_offset, little-endian). Returns 0,
 * or -EINVAL for an offload that was not negotiated. */
static int fill_tx_header(const struct vnet *n, uint8_t *hdr, const struct netdev_offload *off)
{
    memset(hdr, 0, HDR_MAX);
    if (off == NULL || off->csum_start == 0)
        return off != NULL && off->gso_size != 0 ? -EINVAL : 0;
    if (!vnet_has_feature(n, VIRTIO_NET_F_CSUM))
        return -EINVAL;
    hdr[0] = HDR_F_NEEDS_CSUM;
    memcpy(hdr + 6, &off->csum_start, 2);
    memcpy(hdr + 8, &off->csum_offset, 2);
    if (off->gso_size != 0) {
        if (!vnet_has_feature(n, VIRTIO_NET_F_HOST_TSO4))
            return -EINVAL;
        hdr[1] = HDR_GSO_TCPV4;
        memcpy(hdr + 2, &off->hdr_len, 2);
        memcpy(hdr + 4, &off->gso_size, 2);
    }
    return 0;
}

int vnet_transmit(struct vnet *n, const struct netdev_slice *s, int nslices, void *cookie,
                  const struct netdev_offload *off)
{
    uint64_t addr[VNET_MAX_SLICES + 1];
    uint32_t len[VNET_MAX_SLICES + 1];
    if (nslices <= 0 || nslices > VNET_MAX_SLICES)
        return -EINVAL;
    reap_tx(n);
    if (n->tx.num_free < nslices + 1) {
        n->stats.tx_ring_full++;
        return -ENOSPC;
    }
    uint8_t *hdr = n->tx_headers + (size_t)HDR_MAX * n->tx.free_head;
    if (fill_tx_header(n, hdr, off) != 0)
        return -EINVAL;
    addr[0] = env_dma_addr(hdr);
    len[0] = n->hdr_len;
    uint32_t bytes = 0;
    for (int i = 0; i < nslices; i++) {
        addr[i + 1] = env_dma_addr(s[i].data);
        len[i + 1] = s[i].len;
        bytes += s[i].len;
    }
    if (virtq_add(&n->tx, addr, len, nslices + 1, nslices + 1, cookie ? cookie : (void *)1) < 0) {
        n->stats.tx_ring_full++;
        return -ENOSPC;
    }
    virtq_kick(&n->tx);
    n->stats.tx_tso += hdr[1] != 0;
    n->stats.tx_packets++;
    n->stats.tx_bytes += bytes;
    return 0;
}

void vnet_rx_release(struct vnet *n, struct netdev_rxbuf *b)
{
    if (post_rx(n, b) == 0)
        virtq_kick(&n->rx);
}

/* The checksum verdict in a received header's flags. Only with GUEST_CSUM
 * negotiated may the device set either bit (virtio 1.x 5.1.6.3); a device
 * that sets them anyway is not trusted. NEEDS_CSUM means the transport
 * checksum was never computed (the sender offloaded it and the device
 * validated the rest, 5.1.6.4): the frame is accepted as the sender's, and
 * a stack that forwarded it would have to complete the sum first. */
static uint16_t rx_csum_flags(const struct vnet *n, uint8_t hdr_flags)
{
    if (!vnet_has_feature(n, VIRTIO_NET_F_GUEST_CSUM))
        return 0;
    if (hdr_flags & HDR_F_NEEDS_CSUM)
        return VNET_RX_CSUM_PARTIAL;
    return (hdr_flags & HDR_F_DATA_VALID) ? VNET_RX_CSUM_VALID : 0;
}

/* Releases a packet's buffers (the first and those linked behind it). */
static void release_packet(struct vnet *n, struct netdev_rxbuf *b)
{
    while (b != NULL) {
        struct netdev_rxbuf *more = b->more;
        b->more = NULL;
        vnet_rx_release(n, b);
        b = more;
    }
}

/*
 * The rest of a packet whose first buffer says num_buffers = count
 * (5.1.6.4: the device makes all of a packet's buffers used together, so
 * they are the next count - 1 used entries; only the first has a header).
 * Links them behind first. Returns 0, or -EINVAL for a malformed packet:
 * count 0 or above VNET_RX_MAX_BUFS, an entry missing, a continuation
 * empty or too long (what was taken is linked for release).
 */
static int gather(struct vnet *n, struct netdev_rxbuf *first, unsigned count)
{
    struct netdev_rxbuf *last = first;
    first->more = NULL;
    if (count == 0 || count > VNET_RX_MAX_BUFS)
        return -EINVAL;
    for (unsigned i = 1; i < count; i++) {
        uint32_t len;
        struct netdev_rxbuf *b = virtq_get_used(&n->rx, &len);
        if (b == NULL)
            return -EINVAL;
        b->more = NULL;
        last->more = b;
        last = b;
        if (len == 0 || len > VNET_RX_BUF_SIZE)
            return -EINVAL;
        b->frame = b->mem;
        b->len = len;
        b->flags = 0;
    }
    return 0;
}

/* One received packet, its first buffer b with len bytes used: checked,
 * gathered and delivered, or dropped (counted). Returns 1 when delivered. */
static int receive_packet(struct vnet *n, struct netdev_rxbuf *b, uint32_t len)
{
    uint16_t count = 1;
    b->more = NULL;
    if (len < n->hdr_len || len > VNET_RX_BUF_SIZE) {
        n->stats.rx_bad_length++;
        vnet_rx_release(n, b);
        return 0;
    }
    if (vnet_has_feature(n, VIRTIO_NET_F_MRG_RXBUF))
        memcpy(&count, b->mem + 10, 2); /* num_buffers, little-endian */
    if (gather(n, b, count) != 0) {
        n->stats.rx_bad_buffers++;
        release_packet(n, b);
        return 0;
    }
    b->frame = b->mem + n->hdr_len;
    b->len = len - n->hdr_len;
    b->flags = rx_csum_flags(n, b->mem[0]);
    n->stats.rx_merged += count > 1;
    n->stats.rx_packets++;
    for (struct netdev_rxbuf *p = b; p != NULL; p = p->more)
        n->stats.rx_bytes += p->len;
    if (n->rx_deliver == NULL) {
        n->stats.rx_dropped_no_consumer++;
        release_packet(n, b);
        return 1;
    }
    n->rx_deliver(n->ctx, b);
    return 1;
}

int vnet_poll(struct vnet *n, int budget)
{
    int got = 0;
    reap_tx(n);
    struct netdev_rxbuf *b;
    uint32_t len;
    while (got < budget && (b = virtq_get_used(&n->rx, &len)) != NULL)
        got += receive_packet(n, b, len);
    n->stats.kicks = n->rx.kicks + n->tx.kicks;
    n->stats.kicks_saved = n->rx.kicks_saved + n->tx.kicks_saved;
    return got;
}

int vnet_arm(struct vnet *n)
{
    if (n->polling)
        return 0;
    return virtq_enable_interrupts(&n->rx); /* 1: work raced in, poll again */
}

void vnet_netdev_info(const struct vnet *n, struct netdev_info *info)
{
    *info = (struct netdev_info){
        .mtu = 1500,
        .features = (vnet_has_feature(n, VIRTIO_NET_F_CSUM) ? NET_IF_TX_CSUM : 0) |
                    (vnet_has_feature(n, VIRTIO_NET_F_GUEST_CSUM) ? NET_IF_RX_CSUM : 0) |
                    (vnet_has_feature(n, VIRTIO_NET_F_HOST_TSO4) ? NET_IF_TX_TSO : 0),
        .rx_ring = n->rx.size,
        .max_slices = VNET_MAX_SLICES,
    };
    memcpy(info->mac, n->mac, 6);
}

/* ---- net/netdev.h's ops ---- */

static int ops_transmit(void *drv, const struct netdev_slice *s, int nslices, void *cookie,
                        const struct netdev_offload *off)
{
    return vnet_transmit(drv, s, nslices, cookie, off);
}

static void ops_rx_release(void *drv, struct netdev_rxbuf *b)
{
    vnet_rx_release(drv, b);
}

static int ops_poll(void *drv, int budget)
{
    return vnet_poll(drv, budget);
}

static unsigned ops_tx_pending(void *drv)
{
    struct vnet *n = drv;
    return (unsigned)(n->tx.size - n->tx.num_free);
}

static int ops_arm(void *drv)
{
    return vnet_arm(drv);
}

/* A notification lost between the device and the driver would stall the
 * ring for good: see virtq_notify_if_stalled. */
static void ops_watch(void *drv)
{
    struct vnet *n = drv;
    virtq_notify_if_stalled(&n->tx);
    virtq_notify_if_stalled(&n->rx);
}

const struct netdev_ops vnet_netdev_ops = {
    .transmit = ops_transmit,
    .rx_release = ops_rx_release,
    .poll = ops_poll,
    .tx_pending = ops_tx_pending,
    .arm = ops_arm,
    .watch = ops_watch,
};
