/*
 * net_tcp_script.h - TCP script tests: crafted segments go into one stack
 * (a fake peer at PEER_IP) on the fake clock, and the segments the stack
 * sends back are parsed for the test to check - flags, sequence and ACK
 * numbers, window, options.
 *
 * Segments are built and parsed with the test's own byte and checksum code
 * (net_frames.c), not net/'s.
 *
 * A test holds a struct tc: a host, a listener on LPORT and one connection
 * with the peer's port RPORT, reached by a handshake (tc_open*) or built
 * directly in the state under test (tc_in_state, net_tcp_fixture.c). The
 * helpers after that speak of sequence numbers relative to our ISS, as
 * the peer sees them.
 */
#ifndef ZEBU_TESTS_HOST_NET_TCP_SCRIPT_H
#define ZEBU_TESTS_HOST_NET_TCP_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "net/tcp.h"
#include "net_tcp_fixture.h"
#include "net_test.h"

#define LPORT 80
#define RPORT 40000
#define PISS  1000u /* the peer's initial sequence number */
/* A peer ISN near 2^32: its sequence numbers wrap inside the connection. */
#define PISS_WRAP 0xffffff00u

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

/* ---- segments in ---------------------------------------------------------- */

struct sg {
    uint8_t flags;
    uint32_t seq, ack;
    uint16_t wnd;
    uint16_t mss; /* 0: no option */
    int ws;       /* < 0: no option */
    int sackok;
    int ts; /* include a timestamp option */
    uint32_t tsval, tsecr;
    unsigned nsack;
    uint32_t sack[4][2];
    size_t len;              /* payload bytes (pattern from seq) */
    const uint8_t *raw_opts; /* instead of the above */
    size_t raw_len;
    uint16_t sport, dport; /* 0: RPORT / LPORT */
    int bad_csum;
    uint32_t src;    /* IPv4 source; 0: PEER_IP */
    int src_is_zero; /* source 0.0.0.0 */
};

/* The peer's payload byte at sequence number seq. */
uint8_t tc_pattern(uint32_t seq);
/* The Ethernet frame of segment s in f (NF_MAX_FRAME); returns its length. */
size_t tc_build(uint8_t *f, const struct sg *s);

/* ---- segments out ----------------------------------------------------------- */

struct so {
    uint8_t flags;
    uint32_t seq, ack;
    uint16_t wnd;
    int mss, ws, sackok, ts; /* mss, ws: -1 without the option */
    uint32_t tsval, tsecr;
    unsigned nsack;
    uint32_t sack[4][2];
    size_t len;
    uint8_t first; /* first payload byte */
    int payload_ok;
    unsigned segs;
    uint16_t sport, dport;
};

/* Parse the next TCP frame h transmitted (ARP is skipped); 0 when there is
 * none. Checks its IP and TCP checksums. */
int tc_host_out(struct fake_host *h, struct so *o);

/* a after b, mod 2^32 (the test's own, not net/'s seq_gt). */
static inline int tc_seq_after(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

/* Frames h has transmitted and not yet taken. */
static inline unsigned tc_count_out(const struct fake_host *h)
{
    return h->dev.tx_count;
}

/* ---- a connection to script ------------------------------------------------- */

struct tc {
    struct fake_host h;
    struct tcp_conn *l, *c;
    uint32_t iss;  /* ours */
    uint32_t pseq; /* the peer's next sequence number */
    int ts, sack;
    uint32_t last_tsval; /* our last TSval, to echo */
    uint32_t ts_base;    /* the peer's timestamp clock: ts_base + now + 5000 */
    unsigned events;
};

/* The notify callback tc_open sets on t->l and t->c: collects t->events. */
void tc_on_event(struct tcp_conn *c, unsigned ev, void *arg);

/* Segment s from the peer. With timestamps on (t->ts), one is added unless
 * s has its own: the peer's clock, echoing our last TSval. */
void tc_in(struct tc *t, struct sg s);
/* tc_host_out, remembering our TSval to echo. */
int tc_out(struct tc *t, struct so *o);

/* Receive buffer of the next tc_open or tc_in_state (0: default). */
extern size_t tc_next_rcvbuf;
/* The next tc_open's (or tc_in_state's) stack-wide zero-window limit
 * (net_limits), and its listener's own (tcp_set_limit; 0: leave the
 * stack's). */
extern uint32_t tc_next_stack_zw_ms, tc_next_listener_zw_ms;

/* The peer's ACK of our SYN-ACK (t->iss and t->pseq set): the connection
 * is accepted into t->c, ESTABLISHED, its events reported to t. */
void tc_accept_handshake(struct tc *t);

/* Listen, take a SYN with the given options (the peer's ISN piss, its
 * timestamps from ts_base; ws < 0, mss 0: no option), answer, complete,
 * accept into t->c. The clock reads 1000. */
void tc_open_at(struct tc *t, int ts, int sack, int ws, uint16_t mss, uint32_t piss,
                uint32_t ts_base);
void tc_open_opts(struct tc *t, int ts, int sack, int ws, uint16_t mss);
/* No timestamps, SACK or window scaling; MSS 1460; the peer's ISN PISS. */
void tc_open(struct tc *t);

/*
 * Like tc_open, but the connection is built directly in fx.state by
 * nt_tcp_conn_in_state (no handshake, nothing sent): ports LPORT and RPORT
 * unless fx has others, passive from the listener t->l (in its SYN cache
 * for SYN-RECEIVED, accepted into t->c after it; SYN-SENT is an active
 * open). t->pseq, the peer's next sequence number, is fx.irs + 1, and one
 * more once its FIN is in (CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT); with
 * fx.ts the peer's clock goes on from fx.ts_recent. The clock reads 1000.
 */
void tc_in_state(struct tc *t, struct tcp_fixture fx);
/* A fresh host (offload features) that knows the peer's MAC, nothing else:
 * for tests that make their own listener or connection. */
void tc_host(struct tc *t, uint32_t features);

/* tc_in_state in two steps, for a test that needs the host before it
 * chooses the numbers: the host and its listener (as tc_open sets them
 * up, the clock at 1000), then the connection. */
void tc_listen(struct tc *t);
void tc_conn_in_state(struct tc *t, struct tcp_fixture fx);

/* After a tc_open* that failed its checks (no connection): end the test
 * there, its failures reported, rather than crash the run on t->c. */
#define TC_REQUIRE_CONN(t)                                                                         \
    do {                                                                                           \
        if ((t)->c == NULL) {                                                                      \
            tc_done(t);                                                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Abort t->c (may be NULL), close the listener, check nothing leaked. */
void tc_done(struct tc *t);

/* Advance the clock by ms, running the stack's timers. */
void tc_adv(struct tc *t, uint64_t ms);
/* len bytes of data from the peer at its next sequence number. */
void tc_peer_data(struct tc *t, size_t len);
/* The app sends n bytes (all must fit). */
void tc_send_bytes(struct tc *t, size_t n);
/* The peer's ACK of rel bytes after our ISS + 1 (rel 1 past the data: our
 * FIN), window field wnd. */
void tc_ack_to(struct tc *t, uint32_t rel, uint16_t wnd);
/* Takes every segment sent; returns the last one's end (relative to ISS,
 * as tc_ack_to counts), or `hi` when nothing was sent. */
uint32_t tc_take_sent(struct tc *t, uint32_t hi);
/* Slow start: `rounds` times, acknowledge all that was sent. Returns the
 * point acknowledged. */
uint32_t tc_ack_flights(struct tc *t, int rounds);

/* ---- the stack's counters ---------------------------------------------------- */

/* A counter of t's stack as net_format_counters prints it (NT_COUNTER):
 * what a test reads rather than the stack's fields. */
#define TC_COUNTER(t, ...) NT_COUNTER(&(t)->h.st, __VA_ARGS__)
#define TC_CONNS(t)        TC_COUNTER(t, "tcp: ", "conns")
#define TC_HALF_OPEN(t)    TC_COUNTER(t, "tcp: ", "half-open")
#define TC_MEM(t)          TC_COUNTER(t, "tcp: ", "mem")
/* A SYN that met TIME-WAIT: what "accepted" or "refused". */
#define TC_TW_SYN(t, what) TC_COUNTER(t, "tcp: ", "time-wait SYN", what)
/* SYN cookies: what "sent", "accepted" or "rejected". */
#define TC_COOKIES(t, what) TC_COUNTER(t, "tcp syn cookies:", what)
#define TC_ZW_ABORTS(t)     TC_COUNTER(t, "tcp stall limits:", "zero-window aborts")
/* Keepalive: what "probes" or "timed out". */
#define TC_KEEPALIVE(t, what) TC_COUNTER(t, "tcp keepalive:", what)
/* Malformed options, the segment kept: lists cut short, options of a
 * wrong length. */
#define TC_OPTS_CUT(t) TC_COUNTER(t, "tcp options, segment kept:", "lists cut short")
#define TC_OPTS_BAD(t) TC_COUNTER(t, "tcp options, segment kept:", "ignored")

#endif /* ZEBU_TESTS_HOST_NET_TCP_SCRIPT_H */
