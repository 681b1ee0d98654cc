/*
 * net/netbuf.h - the one zero-copy buffer type of the network stack.
 *
 * A netbuf describes bytes that live somewhere else: a device receive
 * buffer, a transmit buffer with headroom for headers, or memory the app
 * owns. [buf, buf + buflen) is the storage; [data, data + len) the valid
 * bytes in it. Headers are added by moving data back into the headroom
 * (nbuf_push) and removed by moving it forward (nbuf_pull); payload is never
 * moved.
 *
 * Reference counting: refs counts the holders. nbuf_put drops one; at zero
 * the release callback runs with the cookie and gives the storage (and, for
 * buffers it allocated, the descriptor) back to its owner - the driver's
 * receive ring, a transmit pool, the heap or the app. A netbuf and its
 * storage belong to one core at a time (counts are not atomic); the
 * release callback is where a buffer finds its way home.
 *
 * Chains: next links the segments of one frame (a header buffer, then
 * payload slices). The head's reference owns one reference on the next
 * segment, so nbuf_put on the head releases the whole chain when the head
 * goes. Queues link heads through qnext; a netbuf is in at most one queue.
 *
 * Ownership words used in every net/ header:
 *   consumes - the callee takes over the caller's reference (and eventually
 *              puts it), on failure too; the caller must not touch it again.
 *   borrows  - the callee only looks during the call; the caller still owns
 *              its reference afterwards.
 */
#ifndef ZEBU_NET_NETBUF_H
#define ZEBU_NET_NETBUF_H

#include <stddef.h>
#include <stdint.h>

/* Receive: the device verified the IPv4 header and L4 checksums
 * (virtio-net VIRTIO_NET_HDR_F_DATA_VALID), or vouches for a frame whose
 * L4 checksum is partial (NB_CSUM_PARTIAL too); parsers skip their sums. */
#define NB_CSUM_VALID 0x0001u
/* Transmit: the device must compute the ones' complement sum from
 * csum_start to the end of the frame and store it at csum_start +
 * csum_offset; that field already holds the pseudo-header sum
 * (virtio-net VIRTIO_NET_HDR_F_NEEDS_CSUM). */
#define NB_CSUM_NEEDED 0x0002u
/* The storage must not be written: app-owned immutable memory or storage
 * shared with a clone. nbuf_push refuses such buffers. */
#define NB_RDONLY 0x0004u
/* Receive: the frame was sent to the Ethernet broadcast address. */
#define NB_LINK_BCAST 0x0008u
/* The storage is a buffer of a fixed-size device receive ring: scarce, since
 * the ring refills only as such buffers come back. TCP bounds how many a
 * send queue holds (net_limits tcp_snd_ring_segs). Clones keep the flag. */
#define NB_RING 0x0010u
/* Receive, with NB_CSUM_VALID: the L4 checksum field holds only the
 * sender's pseudo-header sum (a local sender offloaded it: virtio-net
 * VIRTIO_NET_HDR_F_NEEDS_CSUM). Accepted as is; code that derives a sum
 * from the received one (an ICMP echo reply) must compute it afresh. */
#define NB_CSUM_PARTIAL 0x0020u
/* Transmit: a TCP-over-IPv4 frame longer than one segment, for the device
 * to cut into segments of gso_size payload bytes each (TCP segmentation
 * offload: virtio-net VIRTIO_NET_HDR_GSO_TCPV4). Always with
 * NB_CSUM_NEEDED; the head segment holds exactly the Ethernet, IPv4 and
 * TCP headers (options included) and the payload follows in the rest of
 * the chain. Only sent where the interface has NET_IF_TX_TSO. */
#define NB_GSO_TCP4 0x0040u

struct netbuf;

/* Called when refs reaches 0. Must return the storage to its owner and,
 * if the owner allocated the descriptor, free that too. Must not touch
 * nb->next: the chain was detached before the call. */
typedef void (*nbuf_release_fn)(struct netbuf *nb, void *cookie);

struct netbuf {
    uint8_t *data;        /* first valid byte */
    size_t len;           /* valid bytes at data (this segment only) */
    uint8_t *buf;         /* storage start */
    size_t buflen;        /* storage size */
    struct netbuf *next;  /* next segment of the same frame, or NULL */
    struct netbuf *qnext; /* link in the one queue holding this head */
    nbuf_release_fn release;
    void *cookie;
    uint32_t refs;
    uint16_t flags;       /* NB_* */
    uint16_t csum_start;  /* NB_CSUM_NEEDED: offset from buf where summing starts */
    uint16_t csum_offset; /* NB_CSUM_NEEDED: checksum field, from csum_start */
    uint16_t l3_off;      /* receive: offset from buf of the IPv4 header */
    uint16_t l4_off;      /* receive: offset from buf of the transport header */
    uint16_t gso_size;    /* NB_GSO_TCP4: payload bytes per segment on the wire */
    uint32_t seq;         /* receive: a transport's sequence number of data[0] while it
                             queues the buffer (TCP's out-of-order queue) */
    uint16_t home;        /* the embedder's tag: which owner may release this buffer
                             (the kernel: 1 + the core whose stack received it; 0:
                             anyone). net/ sets it to 0 whenever it makes a netbuf
                             (nbuf_init, clones) and never reads it. */
};

/* A FIFO of netbuf heads linked through qnext. The queue holds one
 * reference per entry. */
struct nbuf_queue {
    struct netbuf *head, *tail;
    unsigned count;
};

/*
 * Describe storage that the caller owns (a driver embedding descriptors in
 * its ring): data = buf + headroom, len bytes valid, refs = 1, no flags.
 * The caller guarantees headroom + len <= buflen.
 */
void nbuf_init(struct netbuf *nb, uint8_t *buf, size_t buflen, size_t headroom, size_t len,
               nbuf_release_fn release, void *cookie);

/*
 * One heap block holding descriptor and storage, released with free().
 * data = buf + headroom, len bytes (uninitialised). Returns a new reference
 * or NULL when malloc fails. For stack-internal buffers (reassembly, copies).
 */
struct netbuf *nbuf_alloc_heap(size_t headroom, size_t len);

/*
 * Describe app-owned immutable memory [ptr, ptr + len) without copying.
 * The descriptor comes from malloc; release(nb, cookie) is NOT called with
 * the descriptor - instead done(cookie) runs when the last reference goes,
 * telling the app its memory is no longer referenced (done may be NULL).
 * The netbuf is NB_RDONLY. Returns a new reference or NULL.
 */
struct netbuf *nbuf_wrap(const void *ptr, size_t len, void (*done)(void *cookie), void *cookie);

/* Take one more reference on nb (borrows nb, returns it for chaining). */
struct netbuf *nbuf_get(struct netbuf *nb);

/* Drop one reference (consumes it). At zero: release, then put the rest of
 * the chain. nb may be NULL. */
void nbuf_put(struct netbuf *nb);

/*
 * A new descriptor for the same storage and the same [data, len), without
 * the chain (next = NULL). It holds a reference on nb, released when the
 * clone goes. Both nb and the clone become unwritable until the clone is
 * released (nb's refs > 1; the clone is NB_RDONLY). Borrows nb. Returns a
 * new reference or NULL when malloc fails.
 */
struct netbuf *nbuf_clone(struct netbuf *nb);

/*
 * Clones covering bytes [off, off + len) of the chain starting at nb, as a
 * new chain (one clone per segment touched). Borrows nb. Returns a new
 * reference, or NULL when the range is outside the chain, len is 0, or
 * malloc fails.
 */
struct netbuf *nbuf_slice(struct netbuf *nb, size_t off, size_t len);

/* Prepend n bytes of headroom to data; returns the new data pointer, or
 * NULL (nothing changed) when headroom is short or nb is not writable
 * (shared or NB_RDONLY). Borrows nb. */
uint8_t *nbuf_push(struct netbuf *nb, size_t n);

/* Remove n bytes from the front; returns the new data pointer, or NULL
 * (nothing changed) when n > len. Borrows nb. */
uint8_t *nbuf_pull(struct netbuf *nb, size_t n);

/* Shorten this segment to len bytes (no-op when len >= nb->len). */
void nbuf_trim(struct netbuf *nb, size_t len);

/* Keep the first len bytes of the chain: segments past them are put (the
 * chain is cut after the last one that keeps bytes; the head always stays,
 * empty when len is 0). No-op when len >= the chain's length. Borrows nb
 * (the segments cut off were the chain's own references). */
void nbuf_chain_trim(struct netbuf *nb, size_t len);

/* Whether push may write in front of data: one holder, not NB_RDONLY. */
int nbuf_writable(const struct netbuf *nb);

static inline size_t nbuf_headroom(const struct netbuf *nb)
{
    return (size_t)(nb->data - nb->buf);
}

static inline size_t nbuf_tailroom(const struct netbuf *nb)
{
    return nb->buflen - nbuf_headroom(nb) - nb->len;
}

/* Total valid bytes over the chain (borrows). */
size_t nbuf_chain_len(const struct netbuf *nb);

/* Number of segments in the chain (borrows). */
unsigned nbuf_chain_segments(const struct netbuf *nb);

/* How many of the len bytes at chain offset off lie in the first max_segs
 * segments that hold any of them (what nbuf_slice(nb, off, n) can cover
 * with at most max_segs clones). Borrows. */
size_t nbuf_span_segs(const struct netbuf *nb, size_t off, size_t len, unsigned max_segs);

/* Copy len bytes starting at chain offset off into dst. Returns 0, or
 * -EINVAL when the chain is shorter than off + len. Borrows. */
int nbuf_copy_out(const struct netbuf *nb, size_t off, void *dst, size_t len);

/* For NB_CSUM_NEEDED heads: where the sum starts, counted from data (what a
 * device descriptor wants). */
static inline size_t nbuf_csum_start_in_frame(const struct netbuf *nb)
{
    return (size_t)(nb->buf + nb->csum_start - nb->data);
}

/* Do in software what a checksum-offloading device does for an
 * NB_CSUM_NEEDED chain, then clear the flag. The checksum field must lie in
 * the head segment (net/ always puts it there). Borrows. */
void nbuf_csum_finish(struct netbuf *nb);

/* Queue operations; push consumes the caller's reference into the queue,
 * pop hands one back (NULL when empty), purge puts them all. */
void nbuf_queue_push(struct nbuf_queue *q, struct netbuf *nb);
struct netbuf *nbuf_queue_pop(struct nbuf_queue *q);
void nbuf_queue_purge(struct nbuf_queue *q);

#endif /* ZEBU_NET_NETBUF_H */
