/*
 * drivers/virtio_net.c — virtio-net (VIRTIO 1.1, 5.1).
 *
 * Pair i receives on queue 2i and transmits on queue 2i + 1; the control
 * queue, with MQ, comes after the device's max_virtqueue_pairs pairs
 * (5.1.2). Every frame is preceded by a
 * virtio-net header: 10 bytes for legacy devices without mergeable buffers,
 * 12 (with num_buffers) otherwise (5.1.6). Receive buffers are one 2 KiB
 * descriptor each, so a 1514-byte frame always fits one buffer. With
 * GUEST_TSO4 (over MRG_RXBUF) the host sends TCP segments up to 64 KiB: the
 * device spreads one over num_buffers buffers (5.1.6.4), which go up
 * together, linked, each still a ring buffer of its own.
 *
 * Interrupts: MSI-X when the function has it, one vector per queue pair
 * (both of the pair's queues on MSI-X entry i, routed to the pair's core),
 * or one vector for all when it has fewer entries than pairs; else MSI or
 * the legacy line through the I/O APIC. The handler only signals the
 * pair's event, and the waiting thread polls with a budget, then
 * re-enables interrupts and re-checks before sleeping. The control queue
 * has no vector: a command is polled for its ack.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/env.h"
#include "drivers/ioapic.h"
#include "drivers/virtio_net.h"
#include "net/toeplitz.h"

#define HDR_MAX          12
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

static bool mq_wanted = true;
ZEBU_OPTION_BOOL("virtio_net.mq", mq_wanted,
                 "one queue pair per core (MQ, CTRL_VQ) when the device offers it and the "
                 "embedder asks for more than one");

static bool rss_wanted = true;
ZEBU_OPTION_BOOL("virtio_net.rss", rss_wanted,
                 "with several queue pairs, spread flows by the Toeplitz hash (RSS) when the "
                 "device offers it");

static const char *const feature_names[64] = {
    [0] = "CSUM",
    [1] = "GUEST_CSUM",
    [2] = "CTRL_GUEST_OFFLOADS",
    [3] = "MTU",
    [5] = "MAC",
    [7] = "GUEST_TSO4",
    [8] = "GUEST_TSO6",
    [9] = "GUEST_ECN",
    [10] = "GUEST_UFO",
    [11] = "HOST_TSO4",
    [12] = "HOST_TSO6",
    [13] = "HOST_ECN",
    [14] = "HOST_UFO",
    [15] = "MRG_RXBUF",
    [16] = "STATUS",
    [17] = "CTRL_VQ",
    [18] = "CTRL_RX",
    [19] = "CTRL_VLAN",
    [21] = "GUEST_ANNOUNCE",
    [22] = "MQ",
    [23] = "CTRL_MAC_ADDR",
    [24] = "NOTIFY_ON_EMPTY",
    [27] = "ANY_LAYOUT",
    [28] = "INDIRECT_DESC",
    [29] = "EVENT_IDX",
    [32] = "VERSION_1",
    [33] = "ACCESS_PLATFORM",
    [34] = "RING_PACKED",
    [35] = "IN_ORDER",
    [37] = "SR_IOV",
    [57] = "HASH_REPORT",
    [60] = "RSS",
    [61] = "RSC_EXT",
    [62] = "STANDBY",
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

static void pair_interrupt(struct vnet_pair *p)
{
    p->stats.irqs++;
    if (p->notify != NULL)
        p->notify(p->ctx);
}

/* ctx: the pair whose vector fired; with one vector for all, pair 0's,
 * and every pair is told. */
static void vnet_interrupt(void *ctx)
{
    struct vnet_pair *p = ctx;
    struct vnet *n = p->n;
    if (!n->dev.msix)
        n->dev.ops->read_isr(&n->dev); /* reading acknowledges the line */
    pair_interrupt(p);
    if (n->shared_vector)
        for (unsigned i = 1; i < n->npairs; i++)
            pair_interrupt(&n->pair[i]);
}

static int post_rx(struct vnet_pair *p, struct netdev_rxbuf *b)
{
    uint64_t addr = env_dma_addr(b->mem);
    uint32_t len = VNET_RX_BUF_SIZE;
    return virtq_add(&p->rx, &addr, &len, 1, 0, b) < 0 ? -ENOSPC : 0;
}

/* Receive buffers come in 64 KiB blocks, not one block for the ring
 * (512 KiB for 256): a small VM's memory rarely has that much in one
 * aligned piece. */
#define RX_BLOCK      (64 * 1024)
#define RX_BLOCK_BUFS (RX_BLOCK / VNET_RX_BUF_SIZE)

static int setup_rx(struct vnet_pair *p)
{
    uint16_t count = p->rx.size;
    p->rxbufs = calloc(count, sizeof(struct netdev_rxbuf));
    if (p->rxbufs == NULL)
        return -ENOMEM;
    uint8_t *mem = NULL;
    for (uint16_t i = 0; i < count; i++) {
        if (i % RX_BLOCK_BUFS == 0 && (mem = env_dma_alloc(RX_BLOCK)) == NULL)
            return -ENOMEM;
        p->rxbufs[i] = (struct netdev_rxbuf){
            .mem = mem + (size_t)(i % RX_BLOCK_BUFS) * VNET_RX_BUF_SIZE,
            .size = VNET_RX_BUF_SIZE,
        };
        if (post_rx(p, &p->rxbufs[i]) != 0)
            return -ENOSPC;
    }
    virtq_kick(&p->rx);
    return 0;
}

/* Pair 0's vector, before feature negotiation (MSI-X moves the legacy
 * device-config window): MSI-X entry 0 for both of its queues, else MSI or
 * a line. Its handler gets pair 0. */
static int setup_interrupts(struct vnet *n)
{
    struct pci_device *p = n->dev.pci;
    struct vnet_pair *p0 = &n->pair[0];
    int v = env_irq_alloc(vnet_interrupt, p0);
    if (v < 0)
        return v;
    uint8_t vec = (uint8_t)v;
    if (p == NULL) /* virtio-mmio: a plain line to the I/O APIC */
        return ioapic_route_gsi(n->dev.mmio_irq, vec, p0->irq_apic, 0, 0);
    if (pci_msix_count(p) >= 2 && pci_msix_set(p, 0, vec, p0->irq_apic) == 0) {
        n->dev.msix = 1;
        return 0;
    }
    if (pci_msi_set(p, vec, p0->irq_apic) == 0)
        return 0;
    return pci_intx_route(p, vec, p0->irq_apic);
}

/* The other pairs' vectors: MSI-X entry i to pair i's core when the
 * function has an entry per pair, else pair 0's vector for all. Returns
 * the MSI-X entry pair i's queues use. */
static uint16_t pair_msix_entry(struct vnet *n, unsigned i)
{
    if (i == 0 || n->shared_vector)
        return 0;
    struct vnet_pair *p = &n->pair[i];
    int v = env_irq_alloc(vnet_interrupt, p);
    if (v >= 0 && pci_msix_set(n->dev.pci, (uint16_t)i, (uint8_t)v, p->irq_apic) == 0)
        return (uint16_t)i;
    /* A vector taken but not routed is lost: the kernel has no free. */
    env_warn("virtio-net", "pair %u: no vector of its own (%d): pairs share pair 0's", i, v);
    n->shared_vector = 1;
    return 0;
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

/* ---- the control queue (5.1.6.5) ---- */

#define CTRL_MQ            4 /* VIRTIO_NET_CTRL_MQ */
#define CTRL_MQ_PAIRS_SET  0
#define CTRL_MQ_RSS_CONFIG 1
#define CTRL_OK            0
#define CTRL_BUF           1024
#define CTRL_QUEUE_SIZE    16
#define CTRL_SPINS         100000000u
#define NO_MSIX            0xFFFF

/* Sends one command (class, cmd, len bytes of data) and waits for the
 * device's ack byte: a bounded spin, since QEMU answers while the
 * notification traps and a device that never does must not hang the
 * probe. Returns 0, -EIO (the device said no, or never answered). */
static int ctrl_command(struct vnet *n, uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
    if (len + 3 > CTRL_BUF)
        return -EINVAL;
    uint8_t *b = n->ctrl_buf;
    b[0] = class;
    b[1] = cmd;
    memcpy(b + 2, data, len);
    uint8_t *ack = b + 2 + len;
    *ack = 0xFF;
    uint64_t addr[3] = {env_dma_addr(b), env_dma_addr(b + 2), env_dma_addr(ack)};
    uint32_t lens[3] = {2, len, 1};
    n->ctrl_commands++;
    /* Header, data (device-readable), ack (device-writable: 5.1.6.5). */
    if (virtq_add(&n->ctrl, addr, lens, 3, 2, b) < 0) {
        n->ctrl_failures++;
        return -EIO;
    }
    n->dev.ops->notify(&n->dev, &n->ctrl);
    for (uint32_t spin = 0; spin < CTRL_SPINS; spin++) {
        if (virtq_get_used(&n->ctrl, NULL) != NULL) {
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if (*(volatile uint8_t *)ack == CTRL_OK)
                return 0;
            break;
        }
        cpu_relax();
    }
    n->ctrl_failures++;
    env_warn("virtio-net", "control command %u.%u: %s", class, cmd,
             *(volatile uint8_t *)ack == 0xFF ? "no answer" : "refused");
    return -EIO;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Hash types of struct virtio_net_rss_config (5.1.6.5.7.1): VNET_RSS_*. */
#define RSS_HASH_TYPES (VNET_RSS_IPV4 | VNET_RSS_TCP4 | VNET_RSS_UDP4)

/* virtio_net_config's RSS fields (5.1.4): the longest key and table the
 * device takes, and the hash types it supports. */
#define CFG_MAX_PAIRS      8
#define CFG_RSS_KEY_MAX    17
#define CFG_RSS_TABLE_MAX  18
#define CFG_RSS_HASH_TYPES 20

/* RSS_CONFIG (5.1.6.5.7.1): hash_types (those asked for that the device
 * has), indirection_table_mask, unclassified_queue 0 (a packet of a type
 * not hashed goes to pair 0), the table (entry e: pair e % npairs),
 * max_tx_vq, the key. Returns 0 or -EIO. */
static int rss_configure(struct vnet *n, uint32_t want_types)
{
    uint8_t key_max = 0;
    uint16_t table_max = 0;
    uint32_t types = 0;
    n->dev.ops->read_config(&n->dev, CFG_RSS_KEY_MAX, &key_max, 1);
    n->dev.ops->read_config(&n->dev, CFG_RSS_TABLE_MAX, &table_max, 2);
    n->dev.ops->read_config(&n->dev, CFG_RSS_HASH_TYPES, &types, 4);
    types &= want_types & RSS_HASH_TYPES;
    n->rss_types = types;
    if (key_max < TOEPLITZ_KEY_LEN || table_max < VNET_RSS_TABLE || types == 0) {
        env_warn("virtio-net", "RSS: key %u bytes, table %u, hash types %#x: not used", key_max,
                 table_max, types);
        return -EIO;
    }
    static uint8_t cfg[4 + 2 + 2 + 2 * VNET_RSS_TABLE + 2 + 1 + TOEPLITZ_KEY_LEN];
    uint8_t *c = cfg;
    memcpy(c, &types, 4); /* little-endian, as the machine */
    put_le16(c + 4, VNET_RSS_TABLE - 1);
    put_le16(c + 6, 0);
    c += 8;
    for (unsigned e = 0; e < VNET_RSS_TABLE; e++, c += 2) /* what toeplitz_queue reads */
        put_le16(c, (uint16_t)toeplitz_queue(e, VNET_RSS_TABLE, n->npairs));
    put_le16(c, n->npairs);
    c[2] = TOEPLITZ_KEY_LEN;
    memcpy(c + 3, toeplitz_default_key, TOEPLITZ_KEY_LEN);
    return ctrl_command(n, CTRL_MQ, CTRL_MQ_RSS_CONFIG, cfg, sizeof(cfg));
}

unsigned vnet_rss_pair(const struct vnet *n, uint32_t src, uint32_t dst, uint16_t sport,
                       uint16_t dport)
{
    if (!n->rss || n->npairs <= 1)
        return 0;
    uint32_t h = toeplitz_ipv4_ports(toeplitz_default_key, src, dst, sport, dport);
    return toeplitz_queue(h, VNET_RSS_TABLE, n->npairs);
}

/* With more than one pair: VQ_PAIRS_SET (5.1.6.5.5), then RSS where
 * negotiated. A device that refuses keeps one pair (the rest stay set up,
 * their rings filled, unused). */
static void set_pairs(struct vnet *n, unsigned how)
{
    if (n->npairs <= 1)
        return;
    uint8_t count[2];
    put_le16(count, n->npairs);
    if (ctrl_command(n, CTRL_MQ, CTRL_MQ_PAIRS_SET, count, 2) != 0) {
        n->npairs = 1;
        return;
    }
    /* VQ_PAIRS_SET turns RSS off in QEMU: RSS_CONFIG comes after. */
    if (vnet_has_feature(n, VIRTIO_NET_F_RSS))
        n->rss = rss_configure(n, how & RSS_HASH_TYPES) == 0;
    /* Flows the guest cannot predict would land on any pair: back to one
     * when RSS was a condition (VQ_PAIRS_SET 1 is always taken). */
    if (!n->rss && (how & VNET_PAIRS_NEED_RSS)) {
        put_le16(count, 1);
        ctrl_command(n, CTRL_MQ, CTRL_MQ_PAIRS_SET, count, 2);
        n->npairs = 1;
    }
}

/* The features asked for: the single-queue set, MQ with CTRL_VQ when more
 * than one pair is wanted (5.1.3.1: MQ requires CTRL_VQ), RSS with them. */
static uint64_t wanted_features(uint64_t offered, unsigned want_pairs)
{
    uint64_t wanted = (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
                      (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_MRG_RXBUF) |
                      (1ull << VIRTIO_NET_F_STATUS) | (1ull << VIRTIO_F_RING_EVENT_IDX) |
                      (1ull << VIRTIO_F_VERSION_1);
    /* HOST_TSO4 depends on CSUM (5.1.3.1): segments need their sums. No
     * HOST_TSO6: there is no IPv6 here. */
    if (tso_wanted && (offered >> VIRTIO_NET_F_CSUM & 1))
        wanted |= 1ull << VIRTIO_NET_F_HOST_TSO4;
    /* GUEST_TSO4 depends on GUEST_CSUM (5.1.3.1). Without MRG_RXBUF every
     * receive buffer would have to hold 64 KiB (5.1.6.3.1): only with it. */
    if (rx_tso_wanted && (offered >> VIRTIO_NET_F_GUEST_CSUM & 1) &&
        (offered >> VIRTIO_NET_F_MRG_RXBUF & 1))
        wanted |= 1ull << VIRTIO_NET_F_GUEST_TSO4;
    if (mq_wanted && want_pairs > 1 && (offered >> VIRTIO_NET_F_CTRL_VQ & 1) &&
        (offered >> VIRTIO_NET_F_MQ & 1)) {
        wanted |= (1ull << VIRTIO_NET_F_CTRL_VQ) | (1ull << VIRTIO_NET_F_MQ);
        /* RSS requires CTRL_VQ (5.1.3.1). */
        if (rss_wanted)
            wanted |= 1ull << VIRTIO_NET_F_RSS;
    }
    return wanted;
}

/* Pair i's queues, transmit headers and filled receive ring. */
static int setup_pair(struct vnet *n, unsigned i)
{
    struct vnet_pair *p = &n->pair[i];
    uint16_t entry = n->dev.msix ? pair_msix_entry(n, i) : 0;
    int err;
    if ((err = virtq_init(&p->rx, &n->dev, (uint16_t)(2 * i), VNET_QUEUE_SIZE, entry)) != 0 ||
        (err = virtq_init(&p->tx, &n->dev, (uint16_t)(2 * i + 1), VNET_QUEUE_SIZE, entry)) != 0)
        return err;
    p->tx_headers = env_dma_alloc((size_t)HDR_MAX * p->tx.size);
    if (p->tx_headers == NULL)
        return -ENOMEM;
    return 0;
}

/* The control queue, last after the device's pairs (5.1.2). */
static int setup_ctrl(struct vnet *n)
{
    uint16_t index = (uint16_t)(2 * n->max_pairs);
    n->ctrl_buf = env_dma_alloc(CTRL_BUF);
    if (n->ctrl_buf == NULL)
        return -ENOMEM;
    return virtq_init(&n->ctrl, &n->dev, index, CTRL_QUEUE_SIZE, NO_MSIX);
}

int vnet_probe(struct vnet *n, uint32_t irq_apic, const struct platform_info *pi)
{
    return vnet_probe_pairs(n, &irq_apic, 1, 0, pi);
}

int vnet_probe_pairs(struct vnet *n, const uint32_t *apic, unsigned ncores, unsigned how,
                     const struct platform_info *pi)
{
    memset(n, 0, sizeof(*n));
    if (ncores == 0)
        return -EINVAL;
    for (unsigned i = 0; i < VNET_MAX_PAIRS; i++)
        n->pair[i] =
            (struct vnet_pair){.n = n, .index = (uint16_t)i, .irq_apic = apic[i < ncores ? i : 0]};
    struct pci_device *p = pci_find(vnet_pci_ids, NULL);
    int err = p != NULL ? virtio_pci_attach(&n->dev, p) : attach_mmio(n, pi);
    if (err != 0)
        return err;
    /* MSI-X first: it moves the legacy device-config window. */
    err = setup_interrupts(n);
    n->polling = err != 0;
    if (n->polling)
        env_warn("virtio-net",
                 "no interrupt (MSI-X, MSI, INTx or I/O APIC line: %d): polling "
                 "every millisecond",
                 err);
    uint64_t offered = n->dev.ops->get_features(&n->dev);
    log_features("device offers", offered);
    err = virtio_negotiate(&n->dev, wanted_features(offered, ncores));
    if (err != 0)
        return err;
    log_features("negotiated", n->dev.features);
    n->hdr_len =
        (virtio_is_modern(&n->dev) || vnet_has_feature(n, VIRTIO_NET_F_MRG_RXBUF)) ? 12 : 10;
    n->max_pairs = 1;
    if (vnet_has_feature(n, VIRTIO_NET_F_MQ))
        n->dev.ops->read_config(&n->dev, CFG_MAX_PAIRS, &n->max_pairs, 2);
    if (n->max_pairs == 0)
        n->max_pairs = 1;
    n->npairs = (uint16_t)(ncores < n->max_pairs ? ncores : n->max_pairs);
    if (n->npairs > VNET_MAX_PAIRS)
        n->npairs = VNET_MAX_PAIRS;
    /* Asked for RSS as a condition of more pairs and not offered: one. */
    if ((how & VNET_PAIRS_NEED_RSS) && !vnet_has_feature(n, VIRTIO_NET_F_RSS))
        n->npairs = 1;
    /* Too few MSI-X entries for a vector per pair: one for all. */
    n->shared_vector = !n->dev.msix || pci_msix_count(n->dev.pci) < n->npairs;
    for (unsigned i = 0; i < n->npairs; i++)
        if ((err = setup_pair(n, i)) != 0)
            return err;
    if (vnet_has_feature(n, VIRTIO_NET_F_CTRL_VQ) && (err = setup_ctrl(n)) != 0)
        return err;
    if (vnet_has_feature(n, VIRTIO_NET_F_MAC))
        n->dev.ops->read_config(&n->dev, 0, n->mac, 6);
    n->link_up = 1;
    if (vnet_has_feature(n, VIRTIO_NET_F_STATUS)) {
        uint16_t status = 0;
        n->dev.ops->read_config(&n->dev, 6, &status, 2);
        n->link_up = status & 1;
    }
    for (unsigned i = 0; i < n->npairs; i++) {
        if ((err = setup_rx(&n->pair[i])) != 0)
            return err;
        virtq_disable_interrupts(&n->pair[i].tx); /* completions are reaped on the way */
    }
    if (vnet_has_feature(n, VIRTIO_NET_F_CTRL_VQ))
        virtq_disable_interrupts(&n->ctrl);
    virtio_driver_ok(&n->dev);
    set_pairs(n, how);
    env_info("virtio-net",
             "%02x:%02x:%02x:%02x:%02x:%02x via %s, link %s, %u+%u descriptors, "
             "%s interrupts",
             n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5], n->dev.transport,
             n->link_up ? "up" : "down", n->pair[0].rx.size, n->pair[0].tx.size,
             n->polling    ? "no"
             : n->dev.msix ? "MSI-X"
                           : "line");
    env_info("virtio-net", "%u queue pair%s in use (device has %u), %s, RSS %s", n->npairs,
             n->npairs == 1 ? "" : "s", n->max_pairs,
             n->shared_vector ? "one vector for all" : "a vector per pair", n->rss ? "on" : "off");
    return 0;
}

struct vnet_pair *vnet_pair(struct vnet *n, unsigned i)
{
    return i < n->npairs ? &n->pair[i] : NULL;
}

static void reap_tx(struct vnet_pair *p)
{
    void *cookie;
    while ((cookie = virtq_get_used(&p->tx, NULL)) != NULL)
        if (p->tx_done != NULL && cookie != (void *)1)
            p->tx_done(p->ctx, cookie);
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

int vnet_transmit(struct vnet_pair *p, const struct netdev_slice *s, int nslices, void *cookie,
                  const struct netdev_offload *off)
{
    uint64_t addr[VNET_MAX_SLICES + 1];
    uint32_t len[VNET_MAX_SLICES + 1];
    if (nslices <= 0 || nslices > VNET_MAX_SLICES)
        return -EINVAL;
    reap_tx(p);
    if (p->tx.num_free < nslices + 1) {
        p->stats.tx_ring_full++;
        return -ENOSPC;
    }
    uint8_t *hdr = p->tx_headers + (size_t)HDR_MAX * p->tx.free_head;
    if (fill_tx_header(p->n, hdr, off) != 0)
        return -EINVAL;
    addr[0] = env_dma_addr(hdr);
    len[0] = p->n->hdr_len;
    uint32_t bytes = 0;
    for (int i = 0; i < nslices; i++) {
        addr[i + 1] = env_dma_addr(s[i].data);
        len[i + 1] = s[i].len;
        bytes += s[i].len;
    }
    if (virtq_add(&p->tx, addr, len, nslices + 1, nslices + 1, cookie ? cookie : (void *)1) < 0) {
        p->stats.tx_ring_full++;
        return -ENOSPC;
    }
    virtq_kick(&p->tx);
    p->stats.tx_tso += hdr[1] != 0;
    p->stats.tx_packets++;
    p->stats.tx_bytes += bytes;
    return 0;
}

void vnet_rx_release(struct vnet_pair *p, struct netdev_rxbuf *b)
{
    if (post_rx(p, b) == 0)
        virtq_kick(&p->rx);
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
static void release_packet(struct vnet_pair *p, struct netdev_rxbuf *b)
{
    while (b != NULL) {
        struct netdev_rxbuf *more = b->more;
        b->more = NULL;
        vnet_rx_release(p, b);
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
static int gather(struct vnet_pair *p, struct netdev_rxbuf *first, unsigned count)
{
    struct netdev_rxbuf *last = first;
    first->more = NULL;
    if (count == 0 || count > VNET_RX_MAX_BUFS)
        return -EINVAL;
    for (unsigned i = 1; i < count; i++) {
        uint32_t len;
        struct netdev_rxbuf *b = virtq_get_used(&p->rx, &len);
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
static int receive_packet(struct vnet_pair *p, struct netdev_rxbuf *b, uint32_t len)
{
    uint16_t count = 1;
    b->more = NULL;
    if (len < p->n->hdr_len || len > VNET_RX_BUF_SIZE) {
        p->stats.rx_bad_length++;
        vnet_rx_release(p, b);
        return 0;
    }
    if (vnet_has_feature(p->n, VIRTIO_NET_F_MRG_RXBUF))
        memcpy(&count, b->mem + 10, 2); /* num_buffers, little-endian */
    if (gather(p, b, count) != 0) {
        p->stats.rx_bad_buffers++;
        release_packet(p, b);
        return 0;
    }
    b->frame = b->mem + p->n->hdr_len;
    b->len = len - p->n->hdr_len;
    b->flags = rx_csum_flags(p->n, b->mem[0]);
    p->stats.rx_merged += count > 1;
    p->stats.rx_packets++;
    for (struct netdev_rxbuf *m = b; m != NULL; m = m->more)
        p->stats.rx_bytes += m->len;
    if (p->rx_deliver == NULL) {
        p->stats.rx_dropped_no_consumer++;
        release_packet(p, b);
        return 1;
    }
    p->rx_deliver(p->ctx, b);
    return 1;
}

int vnet_poll(struct vnet_pair *p, int budget)
{
    int got = 0;
    reap_tx(p);
    struct netdev_rxbuf *b;
    uint32_t len;
    while (got < budget && (b = virtq_get_used(&p->rx, &len)) != NULL)
        got += receive_packet(p, b, len);
    p->stats.kicks = p->rx.kicks + p->tx.kicks;
    p->stats.kicks_saved = p->rx.kicks_saved + p->tx.kicks_saved;
    return got;
}

int vnet_arm(struct vnet_pair *p)
{
    if (p->n->polling)
        return 0;
    return virtq_enable_interrupts(&p->rx); /* 1: work raced in, poll again */
}

void vnet_netdev_info(const struct vnet *n, struct netdev_info *info)
{
    *info = (struct netdev_info){
        .mtu = 1500,
        .features = (vnet_has_feature(n, VIRTIO_NET_F_CSUM) ? NET_IF_TX_CSUM : 0) |
                    (vnet_has_feature(n, VIRTIO_NET_F_GUEST_CSUM) ? NET_IF_RX_CSUM : 0) |
                    (vnet_has_feature(n, VIRTIO_NET_F_HOST_TSO4) ? NET_IF_TX_TSO : 0),
        .rx_ring = n->pair[0].rx.size,
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
    struct vnet_pair *p = drv;
    return (unsigned)(p->tx.size - p->tx.num_free);
}

static int ops_arm(void *drv)
{
    return vnet_arm(drv);
}

/* A notification lost between the device and the driver would stall the
 * ring for good: see virtq_notify_if_stalled. */
static void ops_watch(void *drv)
{
    struct vnet_pair *p = drv;
    virtq_notify_if_stalled(&p->tx);
    virtq_notify_if_stalled(&p->rx);
}

const struct netdev_ops vnet_netdev_ops = {
    .transmit = ops_transmit,
    .rx_release = ops_rx_release,
    .poll = ops_poll,
    .tx_pending = ops_tx_pending,
    .arm = ops_arm,
    .watch = ops_watch,
};
