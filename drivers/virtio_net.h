/*
 * drivers/virtio_net.h — virtio-net over any virtio transport.
 *
 * Receive buffers are posted once and handed up in place: the consumer gets
 * the device's own buffer (struct vnet_rxbuf) and gives it back with
 * vnet_rx_release, which re-posts it; nothing is copied. Transmit takes a
 * chain of slices (the stack's header buffer, then payload slices wherever
 * they live) and sends them as one descriptor chain behind a virtio-net
 * header the driver keeps per descriptor.
 */
#ifndef ZEBU_DRIVERS_VIRTIO_NET_H
#define ZEBU_DRIVERS_VIRTIO_NET_H

#include <stdint.h>

#include "drivers/virtio.h"
#include "kernel/sched.h"

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

struct vnet_rxbuf {
    uint8_t *mem;       /* VNET_RX_BUF_SIZE bytes: virtio-net header, then the frame */
    uint8_t *frame;
    uint32_t len;       /* frame bytes in this buffer */
    uint16_t flags;     /* VNET_RX_CSUM_* (first buffer of a packet) */
    /* The packet's next buffer (mergeable buffers: a large packet spread
     * over several, only the first with a header), or NULL. Each buffer
     * is released on its own; the field is not read after delivery. */
    struct vnet_rxbuf *more;
};
/* The device validated the frame's checksums (VIRTIO_NET_HDR_F_DATA_VALID). */
#define VNET_RX_CSUM_VALID 1
/* The frame's transport checksum is partial: the sender (the host's own
 * stack, through a tap with offloads) left only the pseudo-header sum in it
 * and the device vouches for the data (VIRTIO_NET_HDR_F_NEEDS_CSUM with
 * GUEST_CSUM negotiated; virtio 1.x 5.1.6.4). */
#define VNET_RX_CSUM_PARTIAL 2

struct vnet_slice {
    const void *data;
    uint32_t len;
};

/* What the device is to finish on a transmitted frame (virtio 1.x 5.1.6,
 * struct virtio_net_hdr): csum_start != 0 asks for the transport checksum
 * (NEEDS_CSUM: sum from csum_start, stored at csum_start + csum_offset);
 * gso_size != 0 (HOST_TSO4 negotiated, with csum_start) asks it to cut the
 * TCP/IPv4 frame into segments of gso_size payload bytes behind copies of
 * its first hdr_len bytes (Ethernet, IPv4, TCP headers). */
struct vnet_tx_offload {
    uint16_t csum_start, csum_offset;
    uint16_t gso_size, hdr_len;
};

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
    struct vnet_rxbuf *rxbufs;
    struct event work;  /* signalled by the interrupt handler */
    struct vnet_stats stats;
    /* Received frames go here, the first buffer with the rest of the
     * packet linked through ->more (the consumer owns each buffer until it
     * releases it); completed transmits call tx_done with their cookie. */
    void (*rx_deliver)(void *ctx, struct vnet_rxbuf *b);
    void (*tx_done)(void *ctx, void *cookie);
    void *ctx;
};

/* Finds the first virtio-net PCI function and brings it up with interrupts
 * on the core with APIC id irq_apic. Logs the features offered and taken.
 * HOST_TSO4 is taken where the device offers it with CSUM (5.1.3.1) unless
 * the option virtio_net.tso=off says not to; GUEST_TSO4 (large received
 * segments) where it offers it with GUEST_CSUM and MRG_RXBUF, unless
 * virtio_net.rx_tso=off. Returns 0, -ENODEV (none),
 * or another negative errno. */
int vnet_probe(struct vnet *n, uint32_t irq_apic);

/* Sends one frame made of at most VNET_MAX_SLICES slices; cookie comes
 * back through tx_done. off (NULL: nothing) asks the device to finish the
 * checksum (CSUM negotiated) and to segment (HOST_TSO4 negotiated).
 * Returns 0, -ENOSPC (ring full, counted), or -EINVAL (too many slices, or
 * an offload the device did not agree to). */
int vnet_transmit(struct vnet *n, const struct vnet_slice *s, int nslices, void *cookie,
                  const struct vnet_tx_offload *off);

/* Processes completed transmits and received frames (at most budget of
 * each); returns how many frames were received. */
int vnet_poll(struct vnet *n, int budget);

/* Gives a received buffer back to the device. */
void vnet_rx_release(struct vnet *n, struct vnet_rxbuf *b);

/* Waits (the calling thread) until the device interrupts or timeout_ns
 * passes; interrupts are re-enabled with a check for work that raced in.
 * Returns 0, or -ETIMEDOUT. */
int vnet_wait(struct vnet *n, uint64_t timeout_ns);

int vnet_has_feature(const struct vnet *n, unsigned bit);

#endif
