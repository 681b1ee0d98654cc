/*
 * net/netdev.h - the boundary between net/ and a network device driver:
 * one queue pair (a receive ring and a transmit ring) of one device.
 *
 * Below the line, a driver knows rings, descriptors and its hardware; it
 * fills in a struct netdev_ops and calls two functions back:
 *   netdev_rx()       a received packet, in the device's own buffers;
 *   netdev_tx_done()  a transmitted frame the device is finished with.
 * Above it, struct netdev (this file) is what was kernel glue before: it
 * turns device buffers into netbufs in place (NB_RING) or copies them when
 * the ring runs low, turns a frame's netbuf chain into the slices and
 * offload request the device takes, finishes checksums the device cannot,
 * and keeps frames that found the transmit ring full in order (the
 * backlog) until completions make room. The host tests' fake device uses
 * this same boundary, so what they test is what virtio-net runs.
 *
 * How a thread sleeps, and on which core, is not here: the embedder polls
 * with netdev_poll(), asks ops->arm() to enable notification, and waits for
 * the driver's notification in its own way (the kernel: an event).
 * Everything here runs on the core that owns the queue pair.
 */
#ifndef ZEBU_NET_NETDEV_H
#define ZEBU_NET_NETDEV_H

#include <stddef.h>
#include <stdint.h>

#include "net/netbuf.h"

struct net_stack;
struct net_iface;

/* Feature bits (struct netdev_info, net_iface.features). */
#define NET_IF_RX_CSUM 0x1u /* device verifies rx checksums (sets NB_CSUM_VALID) */
#define NET_IF_TX_CSUM 0x2u /* device completes NB_CSUM_NEEDED on transmit */
/* The device segments NB_GSO_TCP4 frames (TCP over IPv4, up to tso_max_len
 * bytes of IPv4 datagram in at most tso_max_segs netbufs): TCP then sends
 * up to ~64 KiB as one frame. Requires NET_IF_TX_CSUM. */
#define NET_IF_TX_TSO 0x4u

/* One device receive buffer. The driver owns the array and fills mem,
 * size, frame, len, flags and more before netdev_rx(); nb and owner belong
 * to netdev while the buffer is up. */
struct netdev_rxbuf {
    struct netbuf nb;   /* the buffer as a netbuf, in place (netdev) */
    struct netdev *owner;
    uint8_t *mem;       /* the whole buffer: size bytes */
    uint32_t size;
    uint8_t *frame;     /* the frame's first byte (after any device header) */
    uint32_t len;       /* frame bytes in this buffer */
    uint16_t flags;     /* NETDEV_RX_CSUM_* (the packet's first buffer) */
    /* The packet's next buffer (a large segment spread over several), or
     * NULL; each is released on its own. */
    struct netdev_rxbuf *more;
};
/* The device verified the frame's checksums. */
#define NETDEV_RX_CSUM_VALID 1
/* The transport checksum is partial: the sender (a local stack through a
 * tap with offloads) left the pseudo-header sum and the device vouches for
 * the data (virtio-net NEEDS_CSUM on receive). */
#define NETDEV_RX_CSUM_PARTIAL 2

struct netdev_slice {
    const void *data;
    uint32_t len;
};

/* What the device is to finish on a frame: csum_start != 0 asks for the
 * transport checksum (summed from csum_start, counted from the frame's
 * first byte, stored csum_offset further on); gso_size != 0 (with
 * csum_start) asks it to cut a TCP/IPv4 frame into segments of gso_size
 * payload bytes behind copies of its first hdr_len bytes. */
struct netdev_offload {
    uint16_t csum_start, csum_offset;
    uint16_t gso_size, hdr_len;
};

struct netdev_ops {
    /* Queue one frame of n slices; cookie comes back via netdev_tx_done.
     * Returns 0, -ENOSPC (ring full: netdev keeps the frame and tries
     * again after completions) or another negative errno (refused). */
    int (*transmit)(void *drv, const struct netdev_slice *s, int n, void *cookie,
                    const struct netdev_offload *off);
    /* Give a receive buffer back to the device's ring. */
    void (*rx_release)(void *drv, struct netdev_rxbuf *b);
    /* Reap transmit completions, then deliver at most budget received
     * packets; returns how many were delivered. */
    int (*poll)(void *drv, int budget);
    /* Frames handed over and not yet completed. */
    unsigned (*tx_pending)(void *drv);
    /* Enable the device's notification (interrupt) before the embedder
     * sleeps; returns 1 when work raced in (poll again, do not sleep).
     * May be NULL: the device is polled. */
    int (*arm)(void *drv);
    /* Every NETDEV_WATCH_MS while polled: re-notify a device that may have
     * missed a notification. May be NULL. */
    void (*watch)(void *drv);
};

#define NETDEV_WATCH_MS 10
/* The most slices one frame may take (a driver may take fewer). */
#define NETDEV_MAX_SLICES 64
/* Frames that may wait for room in the transmit ring. */
#define NETDEV_BACKLOG_MAX 1024

/* What the driver found: the embedder passes it to netdev_init. */
struct netdev_info {
    uint8_t mac[6];
    uint16_t mtu;          /* IP MTU */
    uint32_t features;     /* NET_IF_* */
    unsigned rx_ring;      /* receive buffers in the ring */
    unsigned max_slices;   /* most slices one frame may have (0: NETDEV_MAX_SLICES) */
    uint32_t tso_max_len;  /* NET_IF_TX_TSO: largest IPv4 datagram (0: net/'s default) */
};

struct netdev_counters {
    uint64_t tx_backlogged;    /* frames that waited for room in the ring */
    uint64_t tx_csum_software; /* checksums finished here: the device could not */
    uint64_t tx_refused;       /* frames the device refused (counted as tx_device_error) */
    uint64_t tx_bad_offload;   /* TSO frames for a device without TSO: a stack bug */
    uint64_t rx_copied;        /* packets copied out of the ring (the ring ran low) */
    uint64_t tx_linearized;    /* frames in more pieces than the device takes: payload copied */
};

struct netdev {
    const struct netdev_ops *ops;
    void *drv;
    struct net_stack *st;
    struct net_iface *ifc;
    struct netdev_info info;
    uint64_t now_ms;        /* netdev_poll's clock, for what the driver delivers */
    uint64_t watch_at;
    /* Zero copy lends the stack and the app the device's receive buffers;
     * from rx_copy_line held on, packets are copied (see netdev.c). */
    unsigned rx_held, rx_held_max, rx_copy_line;
    struct nbuf_queue backlog;
    struct netdev_counters cnt;
};

/* Set nd up for a driver: info as the driver found it; copy_at (0: three
 * quarters of the ring) is where receive copying starts. Also sets the
 * stack-wide limits that depend on the ring size in st (see netdev.c). */
void netdev_init(struct netdev *nd, const struct netdev_ops *ops, void *drv,
                 const struct netdev_info *info, unsigned copy_at);

/* Make ifc (not yet added to a stack) this device's interface: name, MAC,
 * MTU, features and TSO limits, its transmit going through nd. */
void netdev_iface_init(struct netdev *nd, struct net_iface *ifc, const char *name);

/* The ring-dependent limits of st (receive queue, send queue, window). */
void netdev_apply_limits(const struct netdev *nd, struct net_stack *st);

/* Describe device buffer b as a netbuf in place (NB_RING), counted as
 * held until released; what netdev_rx does for each buffer it does not
 * copy. For a driver or test that builds the chain itself. */
struct netbuf *netdev_rxbuf_wrap(struct netdev *nd, struct netdev_rxbuf *b);

/* Driver callbacks (ctx is the struct netdev). */
void netdev_rx(void *ctx, struct netdev_rxbuf *b);
void netdev_tx_done(void *ctx, void *cookie);

/* Poll the device (completions, at most budget packets in), then flush the
 * backlog; now_ms is the clock for net_input. Returns packets delivered. */
int netdev_poll(struct netdev *nd, int budget, uint64_t now_ms);

/* Drop what waits in the backlog (tearing down). */
void netdev_purge(struct netdev *nd);

/* Frames still on their way out: in the backlog or with the device. */
unsigned netdev_unfinished(const struct netdev *nd);

/* How long the embedder may sleep at most (ms) given what is in flight:
 * 1 with a backlog (completions may not notify), NETDEV_WATCH_MS with
 * frames at the device, else want_ms. */
uint64_t netdev_max_sleep_ms(const struct netdev *nd, uint64_t want_ms);

#endif /* ZEBU_NET_NETDEV_H */
