/*
 * net/tcp.h - TCP (RFC 9293) with a zero-copy socket API.
 *
 * What is in: the full state machine (simultaneous open and close,
 * TIME-WAIT for 2*MSL), RFC 6298 retransmission timer, RFC 5681/6582
 * congestion control (slow start, congestion avoidance, fast retransmit,
 * NewReno recovery, RFC 3042 limited transmit), SACK (RFC 2018, sent and
 * used: RFC 6675-style pipe and hole retransmission), window scaling, timestamps and PAWS (RFC
 * 7323), delayed ACKs, Nagle, zero-window probes, keepalive, MSS from the MTU, RFC 5961 (challenge
 * ACKs, rate limited), RFC 6528 ISNs (SipHash), and bounded resources (half-open cache, accept
 * backlog, out-of-order queue, send and receive buffers, a global byte budget), SYN cookies when
 * the half-open cache is full (RFC 4987 3.6). See net/README.md.
 *
 * Zero-copy receive: tcp_recv hands the app the very netbuf the device
 * filled (data moved to the payload). The app nbuf_puts it when done, which
 * returns the buffer to the device ring.
 *
 * Zero-copy send: tcp_send takes a netbuf chain - a buffer from tcp_alloc
 * (transmit memory with headroom) or app memory wrapped with nbuf_wrap -
 * and keeps it until every byte is acknowledged; segments are a small
 * header buffer chained in front of nbuf_slice()s of the queue, so payload
 * is never copied, retransmissions included. When the last reference goes
 * the buffer's release (for nbuf_wrap: the app's done callback) runs.
 *
 * Everything runs on the stack's core; nothing locks. A tcp_conn pointer
 * stays valid until the app calls tcp_close (or tcp_abort) on it, whatever
 * happens to the connection; after net_stack_destroy every pointer is gone.
 */
#ifndef ZEBU_NET_TCP_H
#define ZEBU_NET_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "net/netbuf.h"

struct net_stack;
struct net_iface;
struct ip4_info;

#define TCP_HDR_LEN     20
#define TCP_MAX_HDR_LEN 60
/* Headroom of a buffer that will carry TCP payload with every header in
 * front: Ethernet 14 + IPv4 20 + TCP 60, rounded up. */
#define TCP_HEADROOM 96

/* Congestion control (net/tcp_cc.c). */
enum tcp_cc {
    TCP_CC_RENO = 0, /* NewReno, RFC 5681/6582: the default */
    TCP_CC_CUBIC = 1, /* RFC 9438 */
};

enum tcp_state {
    TCP_CLOSED,
    TCP_LISTEN,
    TCP_SYN_SENT,
    TCP_SYN_RECEIVED,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT_1,
    TCP_FIN_WAIT_2,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_LAST_ACK,
    TCP_TIME_WAIT,
};

/* Events passed to the notify callback (a mask). */
#define TCP_EV_READABLE  0x01u /* data (or the peer's FIN) to read */
#define TCP_EV_WRITABLE  0x02u /* send buffer space after -EAGAIN */
#define TCP_EV_ACCEPT    0x04u /* listener: a connection to tcp_accept */
#define TCP_EV_CONNECTED 0x08u /* active open completed */
#define TCP_EV_CLOSED    0x10u /* connection over: tcp_error says why (0: orderly) */

struct tcp_conn;
/* Called on the stack's core from inside net_input / net_tick / a tcp_*
 * call. It must only record the event (wake a thread, set a flag): it must
 * not call tcp_* functions on any connection. */
typedef void (*tcp_notify_fn)(struct tcp_conn *c, unsigned events, void *arg);

/* Per-connection counters. */
struct tcp_conn_stats {
    uint64_t segs_out, segs_in;
    uint64_t bytes_out;          /* payload bytes sent, retransmissions included */
    uint64_t bytes_acked;        /* payload bytes acknowledged by the peer */
    uint64_t bytes_in;           /* in-order payload bytes queued for the app */
    uint64_t retransmits;        /* segments sent again (all causes) */
    uint64_t rto_timeouts;       /* retransmission timer expiries */
    uint64_t fast_retransmits;   /* recoveries entered on duplicate ACKs */
    uint64_t sack_retransmits;   /* holes retransmitted from the scoreboard */
    uint64_t dup_acks;           /* duplicate ACKs received */
    uint64_t ooo_segments;       /* segments queued out of order */
    uint64_t dropped_segments;   /* segments refused (window, limits, PAWS...) */
    uint64_t zero_window_probes; /* persist probes sent */
    uint64_t keepalive_probes;
    uint64_t challenge_acks;
};

/*
 * Listen on port with an accept queue of backlog connections (at most
 * net_limits.tcp_backlog_max). Returns 0 and the listener in *out, or
 * -EADDRINUSE, -ENOBUFS (tcp_conns limit), -ENOMEM, -EINVAL (port 0).
 */
int tcp_listen(struct net_stack *st, uint16_t port, unsigned backlog, struct tcp_conn **out);

/* An established connection from the listener's accept queue, or NULL.
 * The caller owns the returned handle (tcp_close it). */
struct tcp_conn *tcp_accept(struct tcp_conn *lsock);

/*
 * Active open to ip:port from an ephemeral port (one net_platform.port_ok
 * accepts, when set): sends the SYN now. Returns
 * 0 and the connection in *out (TCP_EV_CONNECTED, or TCP_EV_CLOSED with
 * tcp_error -ECONNREFUSED / -ETIMEDOUT, tells how it went), or
 * -ENETUNREACH, -ENOBUFS (tcp_conns limit), -EADDRINUSE, -ENOMEM.
 */
int tcp_connect(struct net_stack *st, uint32_t ip, uint16_t port, uint64_t now_ms,
                struct tcp_conn **out);

/*
 * A transmit buffer for tcp_send: len writable bytes with TCP_HEADROOM in
 * front (platform tx_alloc). Returns a new reference or NULL.
 */
struct netbuf *tcp_alloc(struct net_stack *st, size_t len);

/*
 * Queue the chain nb for sending. On 0 the stack has consumed nb and keeps
 * references (slices) to its bytes until they are acknowledged; the app must
 * not write them again (nbuf_wrap memory: until done runs). When the send
 * buffer has no room for all of nb, or the queue already holds its share of
 * device receive buffers (NB_RING, limit tcp_snd_ring_segs: an echo sending
 * back what it received), returns -EAGAIN and nb is NOT consumed (the caller
 * keeps its reference; TCP_EV_WRITABLE comes when there is room). Other
 * errors, nb not consumed either: -EMSGSIZE (nb larger than the whole send
 * buffer, or holding more ring buffers than the limit), -ENOTCONN (no longer able to send: after
 * shutdown, reset or close; data queued in SYN-SENT waits for the
 * handshake), -EINVAL (empty chain).
 * Segment headers go in separate buffers, so nb's headroom is not needed.
 */
int tcp_send(struct tcp_conn *c, struct netbuf *nb, uint64_t now_ms);

/* Slow path: copy up to len bytes into transmit buffers and queue them.
 * Borrows data. Returns the bytes accepted (possibly fewer than len, 0 when
 * the buffer is full), or -ENOTCONN. Copies count in copied_bytes. */
long tcp_send_copy(struct tcp_conn *c, const void *data, size_t len, uint64_t now_ms);

/*
 * Zero-copy receive: the next in-order netbuf (data/len at the payload, one
 * segment), or NULL when none is queued. The caller owns the reference and
 * must nbuf_put it (that returns the device buffer and opens the window).
 * now_ms lets the stack send a window update when the window reopens.
 */
struct netbuf *tcp_recv(struct tcp_conn *c, uint64_t now_ms);

/* Slow path: copy up to size bytes into buf. Returns the bytes copied, 0 at
 * end of stream (the peer's FIN was read), -EAGAIN when nothing is queued
 * yet, or the connection's error (-ECONNRESET...). */
long tcp_recv_copy(struct tcp_conn *c, void *buf, size_t size, uint64_t now_ms);

/* Bytes queued for the app. */
size_t tcp_readable(const struct tcp_conn *c);
/* Whether the peer's FIN has arrived and every byte before it was read. */
int tcp_eof(const struct tcp_conn *c);
/* Bytes tcp_send would accept now. */
size_t tcp_writable(const struct tcp_conn *c);

/* Send FIN after everything queued. Further tcp_send gives -ENOTCONN.
 * Returns 0 or -ENOTCONN. */
int tcp_shutdown(struct tcp_conn *c, uint64_t now_ms);

/*
 * Release the handle: shutdown, then the stack finishes the close on its
 * own (FIN exchange, TIME-WAIT) and frees the connection. Received data not
 * yet read, or arriving later, makes it send RST instead (RFC 1122
 * 4.2.2.13). On a listener: closes it and aborts its queued connections.
 * c may be NULL. The handle is invalid afterwards.
 */
void tcp_close(struct tcp_conn *c, uint64_t now_ms);

/* Release the handle with an RST (for synchronized states); queued data is
 * dropped. c may be NULL. The handle is invalid afterwards. */
void tcp_abort(struct tcp_conn *c, uint64_t now_ms);

void tcp_set_notify(struct tcp_conn *c, tcp_notify_fn fn, void *arg);
/* Nagle is on by default; on != 0 turns it off (TCP_NODELAY). */
void tcp_set_nodelay(struct tcp_conn *c, int on);
/* Keepalive (off by default): after idle_ms without traffic, probe every
 * intvl_ms, reset with -ETIMEDOUT after count unanswered probes (counted in
 * tcp_table keepalive_timeouts). 0 values keep the current ones (at first
 * the defaults: 2 h, 75 s, 9). On a listener: inherited by the connections
 * whose SYN comes afterwards. */
void tcp_set_keepalive(struct tcp_conn *c, int on, uint32_t idle_ms, uint32_t intvl_ms,
                       unsigned count);

/* Congestion control for this connection (enum tcp_cc); a listener passes
 * its choice to the connections it accepts. Default: net_limits tcp_cc.
 * Returns 0, or -EINVAL for an unknown algorithm. */
int tcp_set_cc(struct tcp_conn *c, unsigned cc);

/* Buffer sizes (0 keeps the current one). The send buffer applies at once
 * (a smaller one only refuses new data). The receive buffer bounds the
 * window from now on, never below what was already advertised; on a
 * listener both are inherited by new connections, whose window scale
 * follows from the receive buffer. Defaults: net_limits tcp_sndbuf,
 * tcp_rcvbuf. */
void tcp_set_buffers(struct tcp_conn *c, size_t sndbuf, size_t rcvbuf);

/*
 * Time limits on a stalled connection (net/tcp_timer.c). Each kind bounds
 * how long the connection may stay in one condition where it makes no
 * progress and holds memory; past the limit the stack aborts it: RST to the
 * peer, queues dropped, tcp_error -ETIMEDOUT, TCP_EV_CLOSED, and the abort
 * counted in tcp_table.limit_aborts[kind]. A limit of 0 ms means none. New
 * connections take net_limits' default for each kind; a listener passes its
 * own to the connections it accepts. Setting a limit during a stall counts
 * from the stall's start, so a smaller one may abort at the next tick.
 */
enum tcp_limit {
    /* The peer advertises a zero window while we have data for it (queued
     * or in flight), however well it answers the window probes. RFC 9293
     * 3.8.6.1 (MUST-37) keeps such a connection open for as long as the
     * peer acknowledges the probes, subject to resource management (RFC
     * 6429): this is that management. Default net_limits tcp_zero_window_ms. */
    TCP_LIMIT_ZERO_WINDOW,
    TCP_LIMITS
};

/* Set limit `which` to ms (0: none). Returns 0, or -EINVAL for an unknown
 * kind. */
int tcp_set_limit(struct tcp_conn *c, unsigned which, uint32_t ms);

enum tcp_state tcp_get_state(const struct tcp_conn *c);
/* 0, or why the connection ended: -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT,
 * -ENOMEM. */
int tcp_error(const struct tcp_conn *c);
const struct tcp_conn_stats *tcp_stats(const struct tcp_conn *c);
const char *tcp_state_name(enum tcp_state s);
/* Local and remote endpoints (host order). */
void tcp_endpoints(const struct tcp_conn *c, uint32_t *lip, uint16_t *lport, uint32_t *rip,
                   uint16_t *rport);

/* --- for the stack -------------------------------------------------------- */

/* A received segment, data at the TCP header, len the IP payload.
 * Consumes nb. */
void tcp_input(struct net_stack *st, struct net_iface *ifc, struct netbuf *nb,
               const struct ip4_info *ip, uint64_t now_ms);
void tcp_tick(struct net_stack *st, uint64_t now_ms);
uint64_t tcp_next_deadline(const struct net_stack *st);
/* Key for ISNs; called by net_stack_init. */
void tcp_init(struct net_stack *st);
/* Free every connection and listener (stack teardown). */
void tcp_destroy_all(struct net_stack *st);
/* Connections whose sent bytes or FIN the peer has not acknowledged yet
 * (handshakes in progress included; listeners and TIME-WAIT not). The
 * embedder waits for 0 before it powers off, so the last response is not
 * lost with the VM. */
unsigned tcp_unfinished(const struct net_stack *st);
/* "tcp: conns 2, mem 1234 bytes, ...", a line of segments by size class
 * and one of SYN cookies. Returns what snprintf would. */
int tcp_format_counters(const struct net_stack *st, char *buf, size_t size);

/* Stack-wide TCP state (inside struct net_stack). */
/* Payload size classes of the segment counters: up to the connection's
 * MSS (one segment on the wire), up to 16 KiB, up to 64 KiB (TSO frames,
 * or large received segments). */
enum tcp_size_class { TCP_SIZE_MSS, TCP_SIZE_16K, TCP_SIZE_64K, TCP_SIZE_CLASSES };

/* Buckets of the connection hash (net/tcp_table.c, allocated at the first
 * listen or connect): a power of two, at least this many and at least half
 * of tcp_conns (two connections to a bucket), at most TCP_HASH_BUCKETS_MAX. */
#define TCP_HASH_BUCKETS     512
#define TCP_HASH_BUCKETS_MAX 65536

struct tcp_table {
    struct tcp_conn *conns;   /* live connections and listeners (not TIME-WAIT) */
    struct tcp_conn *tw_head; /* TIME-WAIT, in the order they end */
    struct tcp_conn *tw_tail;
    struct tcp_conn *listeners; /* linked by hnext */
    struct tcp_conn **hash;     /* by 4-tuple, linked by hnext; NULL until first needed */
    struct tcp_conn **tq;       /* timer queue: a min-heap by deadline (net/tcp_tq.c) */
    unsigned tq_len, tq_cap;
    uint64_t tq_audit_at;       /* the next walk over every connection */
    uint64_t tq_missed;         /* connections the walk found queued late (a bug: 0) */
    int tq_nomem;               /* the queue could not grow: the walk takes over */
    int reap;                   /* a closed connection may wait to be freed */
    unsigned hash_mask;         /* buckets - 1 */
    uint64_t hash_seed;
    unsigned count;         /* connections (listeners and TIME-WAIT included) */
    unsigned time_wait;     /* of those, in TIME-WAIT */
    unsigned half_open;     /* SYN-RECEIVED from a listener (the SYN cache) */
    size_t mem;             /* bytes held in send and receive queues, all conns */
    uint64_t key[2];        /* SipHash key for ISNs and timestamp offsets */
    uint64_t cookie_key[2]; /* SipHash key for SYN cookies (derived from key) */
    uint64_t cookie_recent; /* 1 + the cookie period of the last cookie sent; 0: none yet */
    uint16_t next_ephemeral;
    uint64_t chack_window_ms; /* challenge ACK rate limit: current second */
    unsigned chack_left;
    uint64_t conns_opened, conns_reset, conns_timed_out;
    uint64_t time_wait_reclaimed; /* TIME-WAIT connections freed early: table full or no memory */
    uint64_t time_wait_reclaimed_nomem; /* of those, for want of memory */
    uint64_t syn_cache_evicted;         /* half-open connections dropped for a newer SYN */
    uint64_t syncookies_sent;     /* SYNs answered with a SYN cookie (the SYN cache was full) */
    uint64_t syncookies_accepted; /* ACKs with a good cookie: connections made from them */
    uint64_t syncookies_rejected; /* ACKs checked as cookies and refused (forged, too old) */
    uint64_t nomem_retries; /* sends that found no memory, nothing in flight: timer armed */
    uint64_t cc_cuts[2];      /* loss responses (ssthresh cut), by tcp_cc: reno, cubic */
    uint64_t tw_syn_accepted; /* SYNs that ended a TIME-WAIT and opened a new connection */
    uint64_t tw_syn_refused;  /* SYNs that met TIME-WAIT and were answered with an ACK */
    /* Malformed options, the segment kept (tcp_options.c tcp_opts_parse):
     * option lists ended early at a length of 0 or 1 or one running past
     * the header, and options ignored for a length wrong for their kind. */
    uint64_t opt_len_cut, opt_len_bad;
    uint64_t limit_aborts[TCP_LIMITS]; /* connections aborted by a tcp_set_limit limit, by kind */
    /* Keepalive (tcp_set_keepalive): probes sent, and connections reset
     * after keep_count of them went unanswered (also in conns_timed_out). */
    uint64_t keepalive_probes, keepalive_timeouts;
    /* Data segments by payload size (enum tcp_size_class): sent (a TSO
     * frame counts once, by its whole payload) and received. */
    uint64_t segs_out_by_size[TCP_SIZE_CLASSES], segs_in_by_size[TCP_SIZE_CLASSES];
};

#endif /* ZEBU_NET_TCP_H */
