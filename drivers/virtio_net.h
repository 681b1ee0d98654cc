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
 *
 * Queue pairs. A device is a struct vnet; each of its receive/transmit
 * queue pairs is a struct vnet_pair (n->pair[i], i < n->npairs), which is
 * what the data-path functions and vnet_netdev_ops take (drv: the pair),
 * with its own callbacks, counters, receive buffers and interrupt vector:
 * one net/netdev.h struct netdev per pair, each driven from the core that
 * owns it. Pair 0 is the device's only pair without multiqueue, and
 * vnet_probe asks for no other: an embedder with one stack gets exactly
 * the single-queue device. vnet_probe_pairs asks for one pair per core
 * given: it takes VIRTIO_NET_F_MQ (and CTRL_VQ, which MQ needs) where the
 * device offers them and sets the count through the control queue
 * (VQ_PAIRS_SET), and with VIRTIO_NET_F_RSS programs a Toeplitz key and an
 * indirection table spreading flows over the pairs (RSS_CONFIG). The count
 * set is the count asked for, not the device's maximum: a pair nobody
 * polls would take flows and hold them, so an embedder asks only for the
 * pairs it will serve (5.1.6.5.5: the device steers over the pairs set).
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
#define VNET_MAX_SLICES 48
#define VNET_QUEUE_SIZE 256

/* Feature bits (VIRTIO 1.1, 5.1.3). */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16
#define VIRTIO_NET_F_CTRL_VQ    17
#define VIRTIO_NET_F_MQ         22
#define VIRTIO_NET_F_RSS        60

/* The most queue pairs the driver sets up (a cap on cores and on what the
 * device offers). */
#define VNET_MAX_PAIRS 8
/* The RSS indirection table the driver programs (a power of two, at most
 * the device's rss_max_indirection_table_length). */
#define VNET_RSS_TABLE 128

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
    uint64_t tx_tso;         /* frames sent for the device to segment */
    uint64_t rx_merged;      /* packets received in more than one buffer */
    uint64_t rx_bad_buffers; /* packets dropped: num_buffers 0, too many, or missing */
};

struct vnet;

/* One receive/transmit queue pair: receiveq(i+1) and transmitq(i+1) of the
 * spec, virtqueues 2i and 2i+1. */
struct vnet_pair {
    struct vnet *n;    /* the device */
    uint16_t index;    /* i */
    uint32_t irq_apic; /* core that takes this pair's interrupts */
    struct virtq rx, tx;
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

struct vnet {
    struct virtio_device dev;
    uint8_t mac[6];
    uint16_t hdr_len;
    int link_up;
    int polling; /* no interrupt could be set up: vnet_wait polls */
    /* Interrupt vectors: one per pair (MSI-X entry i to pair i's core), or
     * one for all, on pair 0's core (MSI-X with too few entries, MSI, a
     * line): its handler then notifies every pair. */
    int shared_vector;
    uint16_t max_pairs; /* the device's max_virtqueue_pairs (1 without MQ) */
    uint16_t npairs;    /* pairs set up and in use */
    int rss;            /* RSS negotiated and programmed */
    uint32_t rss_types; /* VNET_RSS_* the device hashes (the rest go to pair 0) */
    struct virtq ctrl;  /* the control queue (CTRL_VQ negotiated) */
    uint8_t *ctrl_buf;  /* command, data and ack of one control command */
    uint64_t ctrl_commands, ctrl_failures;
    struct vnet_pair pair[VNET_MAX_PAIRS];
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

/* What vnet_probe_pairs hashes with RSS (5.1.6.5.7.1's hash types):
 * TCP/IPv4 and UDP/IPv4 by addresses and ports, other IPv4 by addresses.
 * A packet of a type not asked for goes to pair 0. */
#define VNET_RSS_IPV4 (1u << 0)
#define VNET_RSS_TCP4 (1u << 1)
#define VNET_RSS_UDP4 (1u << 2)
/* More than one pair only where RSS comes up: without it the device (a
 * multiqueue tap) steers flows its own way, which the guest cannot predict. */
#define VNET_PAIRS_NEED_RSS (1u << 8)

/* Like vnet_probe, asking for one queue pair per core in apic[0..ncores):
 * pair i takes its interrupts on core apic[i]. Gets min(ncores,
 * max_virtqueue_pairs, VNET_MAX_PAIRS) pairs where the device offers MQ
 * and CTRL_VQ (and the option virtio_net.mq is on), else one; n->npairs
 * says how many. how: the VNET_RSS_* types to hash, and
 * VNET_PAIRS_NEED_RSS. With RSS offered (virtio_net.rss on), flows of
 * those types are spread by the Toeplitz hash under toeplitz_default_key
 * (net/toeplitz.h), entry h % VNET_RSS_TABLE of a table whose entry e is
 * pair e % npairs; n->rss_types says what the device hashes. */
int vnet_probe_pairs(struct vnet *n, const uint32_t *apic, unsigned ncores, unsigned how,
                     const struct platform_info *pi);

/* Pair i (i < n->npairs), NULL past the last. */
struct vnet_pair *vnet_pair(struct vnet *n, unsigned i);

/* The pair the device's RSS steers a TCP/IPv4 or UDP/IPv4 packet from
 * src:sport to dst:dport to (host order); 0 without RSS. */
unsigned vnet_rss_pair(const struct vnet *n, uint32_t src, uint32_t dst, uint16_t sport,
                       uint16_t dport);

/* Sends one frame made of at most VNET_MAX_SLICES slices; cookie comes
 * back through tx_done. off (NULL: nothing) asks the device to finish the
 * checksum (CSUM negotiated) and to segment (HOST_TSO4 negotiated).
 * Returns 0, -ENOSPC (ring full, counted), or -EINVAL (too many slices, or
 * an offload the device did not agree to). */
int vnet_transmit(struct vnet_pair *p, const struct netdev_slice *s, int nslices, void *cookie,
                  const struct netdev_offload *off);

/* Processes completed transmits and received frames (at most budget of
 * each); returns how many frames were received. */
int vnet_poll(struct vnet_pair *p, int budget);

/* Gives a received buffer back to the device. */
void vnet_rx_release(struct vnet_pair *p, struct netdev_rxbuf *b);

/* Re-enables the receive interrupt before the caller sleeps; returns 1
 * when work raced in (poll again instead). A polled device (no interrupt)
 * returns 0: the caller sleeps a millisecond at most (n->polling). */
int vnet_arm(struct vnet_pair *p);

int vnet_has_feature(const struct vnet *n, unsigned bit);

/* What was negotiated, for netdev_init. */
void vnet_netdev_info(const struct vnet *n, struct netdev_info *info);

/* The ops table of net/netdev.h (drv: a struct vnet_pair). */
extern const struct netdev_ops vnet_netdev_ops;

#endif
