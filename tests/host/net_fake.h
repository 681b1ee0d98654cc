/*
 * net_fake.h - the host side of net/platform.h: a fake platform (transmit
 * buffers from the heap, a seeded random generator, captured logs), a fake
 * network device that records or forwards what the stack transmits and
 * injects received frames as "device buffers", a fake clock, and a pair of
 * stacks joined by a netsim link.
 *
 * Buffers are sized exactly (no slack after the frame), so AddressSanitizer
 * catches any read past a frame's end. Every transmit and receive buffer is
 * counted while alive (tx_live, rx_live): after a test tears its stack
 * down, both must be 0.
 *
 * Also used by the fuzz targets, which link no test runner.
 */
#ifndef ZEBU_TESTS_HOST_NET_FAKE_H
#define ZEBU_TESTS_HOST_NET_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "net/iface.h"
#include "net/netbuf.h"
#include "net/netdev.h"
#include "net/stack.h"
#include "netsim.h"

#define FAKE_DEV_HEADROOM 12 /* room a device keeps for its own header (virtio-net's) */

struct fake_plat {
    struct net_platform plat;
    uint64_t rng;
    long tx_fail_after; /* < 0: never fail; else allocations left before every one fails */
    uint64_t tx_allocs, tx_fails;
    long tx_live; /* transmit buffers not yet released */
    unsigned logs;
    char last_log[200];
    int print_logs;
};

struct fake_frame {
    struct fake_frame *next;
    size_t len;
    unsigned segs;     /* segments of the chain the stack handed over */
    uint16_t flags;    /* head flags as transmitted (NB_CSUM_NEEDED, NB_GSO_TCP4...) */
    uint16_t gso_size; /* NB_GSO_TCP4: payload per segment the stack asked for */
    size_t hdr_len;    /* NB_GSO_TCP4: header bytes (the head segment's length) */
    uint8_t data[];
};

/* A device on net/netdev.h's boundary, as virtio-net is: transmitted frames
 * arrive as slices with an offload request, received ones go up through
 * netdev_rx. */
struct fake_dev {
    struct net_iface ifc;
    struct netdev nd;
    struct fake_plat *fp;
    struct fake_frame *tx_head, *tx_tail; /* transmitted frames, copied */
    unsigned tx_count;
    int hold; /* also keep the transmitted chains themselves in held */
    struct nbuf_queue held;
    int tx_error;                      /* transmit fails with this when non-zero */
    uint64_t offloaded;                /* frames whose checksum the "device" completed */
    uint64_t bad_offload;              /* NB_CSUM_NEEDED without NET_IF_TX_CSUM, NB_GSO_TCP4 without
                                          NET_IF_TX_TSO or malformed: a stack bug */
    uint64_t gso_frames, gso_segments; /* TSO frames taken, and the segments cut from them */
    int segment_gso; /* also cut TSO frames into segments in the transmit list (not only on a
                        link, where they always are) */
    struct netsim_link *link; /* when set, frames go onto the link instead */
    int end;
    const uint64_t *now;
    long rx_live; /* device receive buffers held by the stack */
    uint64_t rx_released;
};

struct fake_host {
    struct fake_plat fp;
    struct net_stack st;
    struct fake_dev dev;
    uint64_t now; /* the fake clock */
};

struct sim_pair {
    struct fake_host h[2];
    struct netsim_link *link;
    uint64_t now;
    /* Sees every frame the link delivers, before the stack does. */
    void (*observe)(void *arg, int to_end, const uint8_t *frame, size_t len);
    void *observe_arg;
};

void fake_plat_init(struct fake_plat *fp, uint64_t seed);

void fake_dev_init(struct fake_dev *d, struct fake_plat *fp, const char *name, const uint8_t mac[6],
                   uint16_t mtu, uint32_t features);

/* A device receive buffer holding a copy of frame (as DMA would leave it),
 * described as netdev_rx would (NB_RING), not yet delivered. */
struct netbuf *fake_dev_rxbuf(struct fake_dev *d, const void *frame, size_t len);

/* fake_dev_rxbuf + net_input. Returns the netbuf handed up (already owned
 * by the stack: only compare the pointer). */
struct netbuf *fake_dev_rx(struct fake_dev *d, struct net_stack *st, const void *frame, size_t len,
                           uint64_t now_ms);

/* Offload requests a correct stack never makes: checksum offload where the
 * device has none (netdev finished it in software), TSO where it has none
 * or malformed, a TSO frame longer or in more pieces than the device takes. */
uint64_t fake_dev_bad_offload(const struct fake_dev *d);

/* One packet the device spread over n buffers of parts[i] bytes each (a
 * large segment with mergeable buffers), delivered through netdev_rx.
 * Returns the first buffer's netbuf (owned by the stack). */
struct netbuf *fake_dev_rx_parts(struct fake_dev *d, const uint8_t *frame, const size_t *parts,
                                 unsigned n, uint64_t now_ms);

/* The oldest transmitted frame (free() it), or NULL. */
struct fake_frame *fake_dev_pop(struct fake_dev *d);

/* Drop every recorded frame and held chain. */
void fake_dev_clear(struct fake_dev *d);

/* One stack with one fake device "eth0". ip 0: no address. The gratuitous
 * ARP of the address is left in the device's transmit list. */
void fake_host_init(struct fake_host *h, uint64_t seed, const uint8_t mac[6], uint32_t ip,
                    uint32_t mask, uint32_t gw, uint32_t features);
void fake_host_destroy(struct fake_host *h);

/* fake_dev_rx on h's device at h->now. */
struct netbuf *fake_host_rx(struct fake_host *h, const void *frame, size_t len);

/* Advance h->now to t, running net_tick at every deadline on the way. */
void fake_host_advance(struct fake_host *h, uint64_t t);

/* Two hosts 10.0.0.1 (h[0]) and 10.0.0.2 (h[1]) on a /24 over a netsim
 * link made from cfg. */
void sim_pair_init(struct sim_pair *p, const struct netsim_cfg *cfg, uint32_t features);
/* Deliver frames and run timers up to until_ms. */
void sim_pair_run(struct sim_pair *p, uint64_t until_ms);
void sim_pair_destroy(struct sim_pair *p);

extern const uint8_t fake_mac_a[6], fake_mac_b[6], fake_mac_peer[6];

#endif /* ZEBU_TESTS_HOST_NET_FAKE_H */
