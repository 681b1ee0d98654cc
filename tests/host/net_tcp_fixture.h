/*
 * net_tcp_fixture.h - a TCP connection built directly in the state a test
 * is about, with the sequence numbers, windows and options it chooses, in
 * place of the handshake and the segments that would lead there. So a test
 * of CLOSE-WAIT starts in CLOSE-WAIT, and our ISS can be anything (a
 * handshake's is a keyed hash): near 2^32, to test wrapping.
 *
 * The connection is what the stack itself would hold had it got there
 * through the usual segments, everything acknowledged and nothing queued:
 * built with net/'s own pieces (tcp_conn_new, tcp_table_hash,
 * tcp_set_state, tcp_time_wait_start) and the fields passive_conn
 * (net/tcp_input.c) and tcp_connect (net/tcp.c) set. Nothing is sent.
 * net_test_tcp_state.c checks that it answers segments as a connection
 * reached by a handshake does.
 */
#ifndef ZEBU_TESTS_HOST_NET_TCP_FIXTURE_H
#define ZEBU_TESTS_HOST_NET_TCP_FIXTURE_H

#include <stdint.h>

#include "net/tcp.h"
#include "net_fake.h"

/*
 * What to build; fields left 0 are the usual. Per state, as if:
 *   SYN-SENT      our SYN sent (snd_nxt = iss + 1), nothing received
 *   SYN-RECEIVED  the peer's SYN (irs) taken, our SYN-ACK sent
 *   ESTABLISHED   the handshake done: snd_una = iss + 1, rcv_nxt = irs + 1
 *   FIN-WAIT-1    then our FIN sent (seq iss + 1), not acknowledged
 *   FIN-WAIT-2    our FIN acknowledged
 *   CLOSE-WAIT    the peer's FIN (seq irs + 1) received and acknowledged
 *   CLOSING       our FIN sent and the peer's received, ours not acknowledged
 *   LAST-ACK      the peer's FIN received, then ours sent, not acknowledged
 *   TIME-WAIT     both FINs sent and acknowledged (2 MSL from now)
 * The app holds the handle (tcp_close it to let the stack finish alone).
 */
struct tcp_fixture {
    enum tcp_state state; /* SYN-SENT to TIME-WAIT */
    uint32_t iss;         /* our initial sequence number */
    uint32_t irs;         /* the peer's (not for SYN-SENT) */
    uint16_t lport, rport;
    uint32_t rip; /* 0: PEER_IP */
    /* Passive: the listener that made it, whose buffers, limits, keepalive,
     * Nagle and congestion control it takes; in SYN-RECEIVED it is in the
     * listener's SYN cache, and the ACK queues it for tcp_accept. NULL: an
     * active open. */
    struct tcp_conn *listener;
    /* What the peer's SYN carried (not for SYN-SENT). */
    uint16_t peer_mss;    /* its MSS option; 0: none (536) */
    uint8_t ws;           /* window scaling on (the peer offered it) ... */
    uint8_t peer_wscale;  /* ... with this shift */
    uint8_t sack;         /* SACK permitted */
    uint8_t ts;           /* timestamps on ... */
    uint32_t ts_recent;   /* ... the peer's last TSval */
    uint8_t own_ts_clock; /* our TSval now is ts_clock (else keyed by the */
    uint32_t ts_clock;    /* 4-tuple, as an open makes it) */
    uint32_t peer_wnd;    /* the window field of its last segment; 0: 65535 */
    int32_t rtt_ms;       /* the handshake's RTT sample; < 0: none (Karn) */
};

/* The connection on h, built at h->now; NULL (and a failed check) when
 * the stack has no room. */
struct tcp_conn *nt_tcp_conn_in_state(struct fake_host *h, const struct tcp_fixture *fx);

#endif /* ZEBU_TESTS_HOST_NET_TCP_FIXTURE_H */
