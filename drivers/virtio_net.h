/*
 * drivers/virtio_net.h — virtio-net over any virtio transport.
 *
 * The driver side of net/netdev.h: vnet_netdev_ops is its ops table and
 * vnet_netdev_info what it negotiated. Receive buffers are posted once and
 * handed up in place: the consumer gets the device's own buffer (struct
 * netdev_rxbuf) and gives it back with vnet_rx_release, which re-posts it;
 * nothing is copied. Transmit takes a chain of slices (the stack's header
 * buffer, then payload slices wherever they live) and sends them as one
 * descriptor chain behind a virtio-net header the driver keeps per
 * descriptor. The driver never sleeps: its interrupt calls notify(ctx),
 * and the embedder decides how to wait.
 */
#ifndef ZEBU_DRIVERS_VIRTIO_NET_H
#define ZEBU_DRIVERS_VIRTIO_NET_H

#include <stdint.h>

#include "drivers/virtio.h"
#include "net/netdev.h"

#define VNET_RX_BUF_SIZE 2048
/* Slices of one transmitted frame: a TSO frame is a header and up to ~64
 * KiB of payload wherever the app keeps it (46 device buffers of 1448
 * bytes when an echo sends back what it received). Each frame takes one
 * more descriptor for the virtio-net header, from a ring of 256 direct
 * descriptors (no indirect ones): five such frames fill it. */
#define VNET_MAX_SLICES  48
#define VNET_QUEUE_SIZE  256

/* Feature bits (VIRTIO 1.1, 5.1.3). */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16

/* The most buffers one received packet may take: a 64 KiB IPv4 datagram
 * behind an Ethernet header (and a VLAN tag) and the virtio-net header,
 * in VNET_RX_BUF_SIZE pieces. */
#define VNET_RX_MAX_BUFS ((65535 + 18 + 12 + VNET_RX_BUF_SIZE - 1) / VNET_RX_BUF_SIZE)

/* Receive flags (struct netdev_rxbuf.flags). */
#define VNET_RX_CSUM_VALID   NETDEV_RX_CSUM_VALID
#define VNET_RX_CSUM_PARTIAL NETDEV_RX_CSUM_PARTIAL

struct vnet_stats {
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
    uint64_t rx_dropped_no_consumer, rx_bad_length, tx_ring_full, irqs, kicks, kicks_saved;
    uint64_t tx_tso; /* frames sent for the device to segment */
    uint64_t rx_merged;      /* packets received in more than one buffer */
    uint64_t rx_bad_buffers; /* packets dropped: num_buffers 0, too many, or missing */
};

struct vnet {
    struct virtio_device dev;
    struct virtq rx, tx;
    uint8_t mac[6];
    uint16_t hdr_len;
    int link_up;
    int polling;       /* no interrupt could be set up: vnet_wait polls */
    uint32_t irq_apic; /* core that takes the interrupts */
    uint8_t *tx_headers; /* one virtio-net header per tx descriptor head */
    struct netdev_rxbuf *rxbufs;
    struct vnet_stats stats;
    /* Received frames go here, the first buffer with the rest of the
     * packet linked through ->more (the consumer owns each buffer until it
     * releases it); completed transmits call tx_done with their cookie;
     * the interrupt handler calls notify (may be NULL). netdev_rx and
     * netdev_tx_done, with a struct netdev as ctx, for the stack. */
    void (*rx_deliver)(void *ctx, struct netdev_rxbuf *b);
    void (*tx_done)(void *ctx, void *cookie);
    void (*notify)(void *ctx);
    void *ctx;
};

/* Brings up the first virtio-net device the machine has: a PCI function
 * (pci_find), else one of the platform's virtio-mmio devices (pi's list,
 * drivers/platform.h; pi may be NULL), with interrupts on the core with
 * APIC id irq_apic. Logs the features offered and taken.
 * HOST_TSO4 is taken where the device offers it with CSUM (5.1.3.1) unless
 * the option virtio_net.tso=off says not to; GUEST_TSO4 (large received
 * segments) where it offers it with GUEST_CSUM and MRG_RXBUF, unless
 * virtio_net.rx_tso=off. Returns 0, -ENODEV (none),
 * or another negative errno. */
int vnet_probe(struct vnet *n, uint32_t irq_apic, const struct platform_info *pi);

/* Sends one frame made of at most VNET_MAX_SLICES slices; cookie comes
 * back through tx_done. off (NULL: nothing) asks the device to finish the
 * checksum (CSUM negotiated) and to segment (HOST_TSO4 negotiated).
 * Returns 0, -ENOSPC (ring full, counted), or -EINVAL (too many slices, or
 * an offload the device did not agree to). */
int vnet_transmit(struct vnet *n, const struct netdev_slice *s, int nslices, void *cookie,
                  const struct netdev_offload *off);

/* Processes completed transmits and received frames (at most budget of
 * each); returns how many frames were received. */
int vnet_poll(struct vnet *n, int budget);

/* Gives a received buffer back to the device. */
void vnet_rx_release(struct vnet *n, struct netdev_rxbuf *b);

/* Re-enables the receive interrupt before the caller sleeps; returns 1
 * when work raced in (poll again instead). A polled device (no interrupt)
 * returns 0: the caller sleeps a millisecond at most (n->polling). */
int vnet_arm(struct vnet *n);

int vnet_has_feature(const struct vnet *n, unsigned bit);

/* What was negotiated, for netdev_init. */
void vnet_netdev_info(const struct vnet *n, struct netdev_info *info);

/* The ops table of net/netdev.h (drv: the struct vnet). */
extern const struct netdev_ops vnet_netdev_ops;

#endif
