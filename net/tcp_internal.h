/*
 * net/tcp_internal.h - the connection structure and what tcp.c,
 * tcp_input.c and tcp_output.c share. Not for the embedder.
 */
#ifndef ZEBU_NET_TCP_INTERNAL_H
#define ZEBU_NET_TCP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "net/netbuf.h"
#include "net/tcp.h"

struct net_stack;
struct net_iface;

/* Header flags. */
#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_RST 0x04u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u
#define TCP_URG 0x20u

/* Timer values (ms). */
#define TCP_RTO_INIT      1000u
#define TCP_RTO_MIN       200u
#define TCP_RTO_MAX       60000u
#define TCP_DELACK_MS     40u
#define TCP_PERSIST_MIN   200u
#define TCP_KEEP_IDLE     7200000u
#define TCP_KEEP_INTVL    75000u
#define TCP_KEEP_COUNT    9u
#define TCP_DEFAULT_MSS   536u
#define TCP_MAX_WSCALE    14u
#define TCP_SACK_BLOCKS   4u /* SACK blocks remembered to send (3 fit beside timestamps) */
#define TCP_SCOREBOARD    8u /* SACKed ranges remembered from the peer */
#define TCP_DUPACK_THRESH 3u

#define TCP_NO_TIMER UINT64_MAX

/* base_ms doubled per back-off step (at most 16 of them), capped at
 * TCP_RTO_MAX: the retransmission timer's back-off (RFC 6298 5.5, with the
 * upper bound 2.5 allows) and the persist timer's. */
static inline uint64_t tcp_backoff_ms(uint32_t base_ms, unsigned steps)
{
    uint64_t t = (uint64_t)base_ms << (steps < 16 ? steps : 16);
    return t < TCP_RTO_MAX ? t : TCP_RTO_MAX;
}

/* Sequence arithmetic (mod 2^32). */
static inline int seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}
static inline int seq_le(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}
static inline int seq_gt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}
static inline int seq_ge(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}
static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
    return seq_gt(a, b) ? a : b;
}
static inline uint32_t seq_min(uint32_t a, uint32_t b)
{
    return seq_lt(a, b) ? a : b;
}

struct tcp_range {
    uint32_t start, end; /* [start, end) */
};

/* Option kinds (RFC 9293 3.1, RFC 7323, RFC 2018) and their whole lengths,
 * kind and length bytes included (net/tcp_options.c has the table). */
#define TCP_OPT_EOL             0u
#define TCP_OPT_NOP             1u
#define TCP_OPT_MSS             2u
#define TCP_OPT_WS              3u
#define TCP_OPT_SACK_PERMITTED  4u
#define TCP_OPT_SACK            5u
#define TCP_OPT_TS              8u
#define TCP_OLEN_MSS            4u
#define TCP_OLEN_WS             3u
#define TCP_OLEN_SACK_PERMITTED 2u
#define TCP_OLEN_SACK_BLOCK     8u
#define TCP_OLEN_SACK(n)        (2u + TCP_OLEN_SACK_BLOCK * (n)) /* n blocks */
#define TCP_OLEN_TS             10u
#define TCP_OPT_SACK_MAX        4u  /* blocks one SACK option may hold */
#define TCP_OPT_SPACE           40u /* TCP_MAX_HDR_LEN - TCP_HDR_LEN */
/* What an option takes in a header we send, NOPs in front included. */
#define TCP_OPT_TS_SPACE      12u
#define TCP_OPT_SACK_SPACE(n) (4u + TCP_OLEN_SACK_BLOCK * (n))

/*
 * A segment's options: what tcp_opts_parse found in one received, what
 * tcp_opts_emit writes into one we send (tcp_options.c). sack_ok is the
 * SACK-permitted option; sack[] the blocks of a SACK option.
 */
struct tcp_opts {
    uint16_t mss;
    uint8_t wscale;
    uint8_t has_mss, has_ws, has_ts, sack_ok;
    uint32_t tsval, tsecr;
    unsigned nsack;
    struct tcp_range sack[TCP_OPT_SACK_MAX];
    uint8_t bad_len; /* parse: options ignored for a length wrong for their kind */
    uint8_t cut;     /* parse: the list ended at a length of 0 or 1, or past the header */
};

/* SACK blocks that fit in a header beside the options every segment
 * carries: 4 alone, 3 beside timestamps (RFC 2018 3). */
static inline unsigned tcp_sack_blocks_fit(int ts)
{
    return (TCP_OPT_SPACE - (ts ? TCP_OPT_TS_SPACE : 0) - TCP_OPT_SACK_SPACE(0)) /
           TCP_OLEN_SACK_BLOCK;
}

/* A parsed received segment. */
struct tcp_seg {
    uint32_t seq, ack;
    uint32_t wnd; /* raw 16-bit field */
    uint8_t flags;
    uint32_t len; /* payload bytes (SYN/FIN not counted) */
    struct tcp_opts opt;
};

struct tcp_conn {
    struct tcp_conn *next, *prev; /* in st->tcp.conns, or tw_head's list when on_tw */
    struct tcp_conn *hnext;       /* hash bucket, or the listeners (net/tcp_table.c) */
    struct net_stack *st;
    struct net_iface *ifc;
    enum tcp_state state;
    uint32_t lip, rip;
    uint16_t lport, rport;
    int error;
    uint8_t app_closed; /* handle released: the stack frees it when done */
    uint8_t shut_wr;    /* FIN queued after the send queue */
    uint8_t fin_sent;   /* snd_max covers our FIN */
    uint8_t fin_rcvd;   /* rcv_nxt covers the peer's FIN */
    uint8_t nodelay;
    uint8_t keepalive;
    uint8_t want_writable;
    uint8_t ack_now; /* send an ACK at the next output */
    uint8_t closed_notified;
    uint8_t passive;      /* created by a listener */
    uint8_t in_syn_cache; /* counted in st->tcp.half_open */
    uint8_t on_tw;        /* in the TIME-WAIT list */
    uint8_t hashed;       /* in the hash by 4-tuple */
    uint8_t listed;       /* in the listeners */
    uint8_t syn_cookie;   /* made from the ACK of a SYN cookie (no SYN-ACK to time) */

    /* Listener side. */
    struct tcp_conn *parent;  /* half-open or queued: the listener */
    struct tcp_conn *aq_next; /* in the listener's accept queue */
    struct tcp_conn *aq_head, *aq_tail;
    unsigned aq_count, backlog;

    /* Send sequence space. */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
    uint32_t snd_wnd;     /* scaled */
    uint32_t max_snd_wnd; /* largest window seen (RFC 5961 ACK check) */
    uint16_t mss;         /* payload per segment we send (options not subtracted) */
    uint8_t snd_wscale, rcv_wscale;
    uint8_t ws_ok, ts_ok, sack_ok;
    unsigned syn_tries;

    /* Send queue: one netbuf chain, first byte at sndq_off of the head =
     * snd_una (after the SYN). */
    struct netbuf *sndq, *sndq_tail;
    size_t sndq_off, sndq_len, sndbuf;
    unsigned sndq_ring;       /* NB_RING netbufs in the send queue */
    struct netbuf *copy_tail; /* the tail, when tcp_send_copy allocated it */

    /* Receive. */
    uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge advertised */
    struct nbuf_queue rcvq;         /* in order, data at payload */
    size_t rcvq_bytes, rcvbuf;
    struct netbuf *ooo; /* out of order, sorted, linked by qnext */
    size_t ooo_bytes;
    unsigned ooo_count;
    struct tcp_range sack_out[TCP_SACK_BLOCKS]; /* blocks to report, most recent first */
    unsigned nsack_out;
    unsigned unacked_segs; /* full segments received since our last ACK */
    uint32_t last_ack_sent;

    /* Timestamps. */
    uint32_t ts_recent, ts_offset;

    /* Congestion control and recovery. */
    uint32_t cwnd, ssthresh, recover, rexmit_nxt;
    uint8_t cc;                 /* enum tcp_cc */
    uint32_t cc_w_max;          /* CUBIC: window before the last reduction */
    uint32_t cc_w_est;          /* CUBIC: Reno-friendly estimate */
    uint32_t cc_origin, cc_k_ms; /* CUBIC: the curve's plateau and when it is reached */
    uint32_t cc_acc;            /* CUBIC: growth carried between ACKs (bytes x bytes) */
    uint64_t cc_est_acc;        /* CUBIC: the estimate's growth carried between ACKs */
    uint64_t cc_epoch_ms;       /* CUBIC: start of this avoidance epoch, 0: not begun */
    unsigned dupacks;
    uint8_t in_recovery;
    uint8_t rexmit_first; /* SACK recovery just began: first hole regardless of pipe */
    struct tcp_range sb[TCP_SCOREBOARD]; /* SACKed by the peer, sorted, disjoint */
    unsigned nsb;

    /* RTT (RFC 6298): srtt << 3, rttvar << 2, ms. */
    uint32_t srtt, rttvar, rto;
    unsigned backoff;
    uint8_t rtt_timing;
    uint8_t rtt_valid; /* srtt holds a measurement */
    uint32_t rtt_seq;
    uint64_t rtt_start;

    /* Timers: absolute ms, TCP_NO_TIMER when off. Whoever arms one calls
     * tcp_tq_note (net/tcp_tq.c). */
    uint64_t rto_at, delack_at, persist_at, keep_at, tw_at;
    uint64_t tq_key; /* its key in the timer queue: never after its deadline */
    unsigned tq_pos; /* 1 + its index in the timer queue; 0: not queued */
    unsigned persist_backoff, keep_probes;
    uint32_t keep_idle, keep_intvl;
    unsigned keep_count;
    uint64_t last_rx;
    /* Stall limits (enum tcp_limit): each kind's limit (0: none), when its
     * stall began (TCP_NO_TIMER: not stalled), and the earliest deadline. */
    uint32_t limit_ms[TCP_LIMITS];
    uint64_t stall_since[TCP_LIMITS];
    uint64_t stall_at;

    tcp_notify_fn notify;
    void *notify_arg;
    struct tcp_conn_stats stats;
};

/* A SYN-ACK sent without a connection (a SYN cookie). */
struct tcp_synack {
    uint32_t lip, rip;
    uint16_t lport, rport;
    uint32_t seq, ack;
    uint16_t wnd;
    struct tcp_opts opt; /* our MSS (from the MTU), and what the peer offered */
};

/* What a valid SYN cookie gives back (tcp_syncookie.c). */
struct tcp_cookie {
    uint16_t mss;   /* the peer's MSS, rounded down to the table */
    uint8_t ts;     /* timestamps on (the SYN and the ACK carried them) */
    uint8_t ws;     /* the peer offered window scaling (only known with ts) */
    uint8_t wscale; /* its shift, with ws */
    uint8_t sack;   /* the peer offered SACK (only known with ts) */
};

/* The size class of a data segment of len payload bytes (counters). */
static inline enum tcp_size_class tcp_size_class(const struct tcp_conn *c, uint32_t len)
{
    return len <= c->mss ? TCP_SIZE_MSS : len <= 16384 ? TCP_SIZE_16K : TCP_SIZE_64K;
}

/* tcp_cc.c */
/* ssthresh after a congestion event with `flight` bytes outstanding (CUBIC
 * also records W_max and ends its epoch). */
uint32_t tcp_cc_ssthresh(struct tcp_conn *c, uint32_t flight);
/* Congestion avoidance (cwnd >= ssthresh, not in recovery): grow cwnd for
 * `acked` newly acknowledged bytes. */
void tcp_cc_avoid(struct tcp_conn *c, uint32_t acked, uint64_t now_ms);
/* After a retransmission timeout: CUBIC starts a new epoch. */
void tcp_cc_rto(struct tcp_conn *c);
uint64_t tcp_icbrt(uint64_t x);

/* tcp.c */
void tcp_notify(struct tcp_conn *c, unsigned ev);
/* The connection is over (reset, timeout, 2MSL): queues dropped, CLOSED,
 * TCP_EV_CLOSED; freed at once when the app has released it. */
void tcp_terminate(struct tcp_conn *c, int error);
void tcp_free(struct tcp_conn *c);
struct tcp_conn *tcp_conn_new(struct net_stack *st);
uint32_t tcp_isn(struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport,
                 uint64_t now_ms);
uint32_t tcp_hash32(const struct net_stack *st, uint32_t a, uint32_t b, uint32_t c);
/* SipHash-2-4 of n 64-bit words. */
uint64_t tcp_siphash(const uint64_t key[2], const uint64_t *m, unsigned n);
/* A connection's timestamp clock is now_ms plus this (keyed by the 4-tuple). */
uint32_t tcp_ts_offset(const struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                       uint16_t rport);
/* Our MSS on ifc: its MTU less the IPv4 and TCP headers. */
uint16_t tcp_iface_mss(const struct net_iface *ifc);
/* The smallest window scale that expresses rcvbuf. */
uint8_t tcp_wscale_for(size_t rcvbuf);
void tcp_sndq_drop_acked(struct tcp_conn *c, uint32_t acked);
void tcp_release_queues(struct tcp_conn *c);
/* The window the receive buffer has room for now. */
uint32_t tcp_rcv_window(const struct tcp_conn *c);
/*
 * The window in force: tcp_rcv_window, or what is left of the one already
 * advertised when that is more. RFC 9293 3.8.6.2.2: a receiver SHOULD NOT
 * shrink the window, that is move its right edge (rcv_adv) left, which
 * would leave data the peer was allowed to send outside it. (Inline: once
 * or twice for every segment in and out.)
 */
static inline uint32_t tcp_rcv_window_offered(const struct tcp_conn *c)
{
    uint32_t wnd = tcp_rcv_window(c);

    if (seq_gt(c->rcv_adv, c->rcv_nxt) && c->rcv_adv - c->rcv_nxt > wnd)
        wnd = c->rcv_adv - c->rcv_nxt;
    return wnd;
}
void tcp_init_conn_params(struct tcp_conn *c);
/* Our window scale: the smallest shift that expresses rcvbuf. */
void tcp_pick_wscale(struct tcp_conn *c);

/* tcp_table.c: where connections are kept (see the file) */
int tcp_table_reserve(struct net_stack *st);  /* the hash's memory: 0 or -ENOMEM */
void tcp_table_destroy(struct net_stack *st); /* from tcp_destroy_all, last */
void tcp_table_link(struct tcp_conn *c);   /* into the live list (tcp_conn_new) */
void tcp_table_hash(struct tcp_conn *c);   /* by its 4-tuple, once set */
void tcp_table_listen(struct tcp_conn *l); /* a listener */
void tcp_table_unlink(struct tcp_conn *c); /* out of everything (tcp_free) */
/* The connection of a 4-tuple that is not CLOSED, or NULL. */
struct tcp_conn *tcp_table_find(struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                                uint16_t rport);
/* The listener on lport (open_only: not released by its app), or NULL. */
struct tcp_conn *tcp_table_listener(struct net_stack *st, uint16_t lport, int open_only);
/* State changes go through here: it keeps the lists right. */
void tcp_set_state(struct tcp_conn *c, enum tcp_state s);
/* Enter TIME-WAIT, or restart its 2 MSL. */
void tcp_time_wait_start(struct tcp_conn *c, uint64_t now_ms);
void tcp_time_wait_expire(struct net_stack *st, uint64_t now_ms);
uint64_t tcp_time_wait_deadline(const struct net_stack *st);
/* Free the TIME-WAIT closest to its end that the app released; 1 if one went. */
int tcp_time_wait_reclaim(struct net_stack *st);

/* tcp_output.c */
/* Send what the windows and Nagle allow, and a pending ACK. */
void tcp_output(struct tcp_conn *c, uint64_t now_ms);
/* Retransmit the first unacknowledged segment now (fast retransmit, a
 * NewReno partial ACK); snd_nxt stays where it is. */
void tcp_retransmit_first(struct tcp_conn *c, uint64_t now_ms);
/* A bare ACK now. */
void tcp_send_ack(struct tcp_conn *c, uint64_t now_ms);
/* SYN or SYN-ACK (by state). */
void tcp_send_syn(struct tcp_conn *c, uint64_t now_ms);
/* An RST for conn (seq snd_nxt). */
void tcp_send_rst_conn(struct tcp_conn *c, uint64_t now_ms);
/* A SYN-ACK for a SYN cookie: nothing of it is remembered. */
void tcp_send_synack_stateless(struct net_stack *st, struct net_iface *ifc,
                               const struct tcp_synack *sa, uint64_t now_ms);
/* An RST answering a segment no connection wants (RFC 9293 3.10.7.1). */
void tcp_send_rst_reply(struct net_stack *st, struct net_iface *ifc, uint32_t lip, uint32_t rip,
                        uint16_t lport, uint16_t rport, const struct tcp_seg *seg, uint64_t now_ms);
/* A probe (window or keepalive): seq snd_una - 1, no data. */
void tcp_send_probe(struct tcp_conn *c, uint64_t now_ms);
void tcp_rto_arm(struct tcp_conn *c, uint64_t now_ms);
/* Bytes the peer has SACKed above snd_una. */
uint32_t tcp_sacked_bytes(const struct tcp_conn *c);
uint32_t tcp_pipe(const struct tcp_conn *c);
/* Effective MSS: mss minus the options every data segment carries. */
uint32_t tcp_eff_mss(const struct tcp_conn *c);

/* tcp_options.c */
/* Parse the option list p[0..len) (tolerant: see the file). */
void tcp_opts_parse(const uint8_t *p, size_t len, struct tcp_opts *o);
/* Write o's options at p (room for TCP_OPT_SPACE); returns their length. */
size_t tcp_opts_emit(const struct tcp_opts *o, uint8_t *p);

/* tcp_syncookie.c */
/* The cookie period (t) of now_ms. */
uint64_t tcp_cookie_period(uint64_t now_ms);
/* Our ISN for a SYN answered with a cookie: encodes t, the peer's MSS
 * (peer_mss: its option, or 536) and whether timestamps are on, bound to
 * the 4-tuple and the peer's ISN. */
uint32_t tcp_cookie_isn(const struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                        uint16_t rport, uint32_t peer_isn, uint16_t peer_mss, int ts,
                        uint64_t now_ms);
/* Our TSval for a cookie SYN-ACK: the clock with its low bits replaced by
 * the peer's window scale and SACK-permitted, never ahead of the clock. */
uint32_t tcp_cookie_tsval(uint32_t clock, int ws, uint8_t wscale, int sack);
/* Whether the ACK of a cookie SYN-ACK is good: cookie = its ack - 1,
 * peer_isn = its seq - 1, ts whether it carries timestamps (tsecr the
 * echo). On 1, *out holds the options to open the connection with. */
int tcp_cookie_check(const struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                     uint16_t rport, uint32_t peer_isn, uint32_t cookie, int ts, uint32_t tsecr,
                     uint64_t now_ms, struct tcp_cookie *out);

/* tcp_timer.c */
void tcp_conn_tick(struct tcp_conn *c, uint64_t now_ms);
uint64_t tcp_conn_deadline(const struct tcp_conn *c);
/* The timer queue (net/tcp_tq.c): note c after arming one of its timers;
 * remove it before it is freed; the next key; run what is due. */
#define TCP_TQ_AUDIT_MS 1000
void tcp_tq_note(struct tcp_conn *c);
/* The app let c go (or nobody ever will take it): freed once closed. */
void tcp_mark_app_closed(struct tcp_conn *c);
void tcp_tq_remove(struct tcp_conn *c);
uint64_t tcp_tq_next(const struct net_stack *st);
void tcp_tq_run(struct net_stack *st, uint64_t now_ms);
void tcp_rtt_sample(struct tcp_conn *c, uint32_t rtt_ms);
/* Whether the connection is stalled in the way of limit `which` now:
 * starts the stall's clock, or stops it, and rearms stall_at. */
void tcp_stall_update(struct tcp_conn *c, unsigned which, int stalled, uint64_t now_ms);
/* Stop every stall clock (the connection closed). */
void tcp_stall_clear(struct tcp_conn *c);

#endif /* ZEBU_NET_TCP_INTERNAL_H */
