/*
 * http.h - the static web server's HTTP side, over lib/http (zebu_http.h):
 * the handler that answers from a site archive (status choice, ETag and
 * If-None-Match, Range and If-Range, MIME types from the archive), the
 * access counters and their page. HTTP mechanics (parsing, limits,
 * keep-alive, pipelining, timeouts, response heads) are lib/http's.
 * Portable: zebu_http.h and the C library, no I/O, no mutable state
 * outside the structs passed in.
 *
 *   struct web w = {&site, &stats, refresh};
 *   web_limits(&lim, idle_ns);
 *   srv = zebu_http_server_create(&lim);
 *   web_setup(srv, &w);
 *   then per connection zebu_http_serve_tcp_mem (main.c) or
 *   zebu_http_serve_io (the host tests).
 */
#ifndef ZEBU_APPS_WEBSERVER_HTTP_H
#define ZEBU_APPS_WEBSERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zebu_http.h>

#include "site.h"

#define HTTP_HEADER_MAX    16384 /* whole block, request line and final CRLF included; more: 431 */
#define HTTP_REQUEST_LINE_MAX 8192 /* bytes before CRLF; longer: 414 */
#define HTTP_FIELDS_MAX    64    /* header fields; more: 431 */
#define HTTP_OUTPUT_MAX    512   /* lib/http's output buffer: the head (fields up to 352 bytes) */
#define HTTP_INM_MAX       8     /* If-None-Match lines looked at; more are ignored */
#define HTTP_SCRATCH_MAX   4096  /* the stats page, every counter at 20 digits, 8 cores */
#define HTTP_STATS_PATH    "/_stats"
#define HTTP_SERVER_NAME   "Zebu"

/* Counters shown by the stats page; the app owns them (one per server, or
 * one per core summed before formatting). */
enum http_status_slot {
    HTTP_SLOT_200,
    HTTP_SLOT_206,
    HTTP_SLOT_304,
    HTTP_SLOT_400,
    HTTP_SLOT_404,
    HTTP_SLOT_405,
    HTTP_SLOT_413,
    HTTP_SLOT_414,
    HTTP_SLOT_416,
    HTTP_SLOT_431,
    HTTP_SLOT_505,
    HTTP_SLOT_OTHER,
    HTTP_SLOT_COUNT
};

#define HTTP_STATS_CORES 8

struct http_stats {
    uint64_t requests;
    uint64_t head_bytes; /* response header bytes */
    uint64_t body_bytes; /* response body bytes (archive bytes sent by reference) */
    uint64_t connections_accepted;
    uint64_t connections_open;
    uint64_t connections_refused;     /* no memory for the connection's thread: reset */
    uint64_t connections_reset_nomem; /* a response found no memory: reset */
    uint64_t heap_in_use;             /* the kernel's heap bytes in use (the app fills it in) */
    uint64_t copied_bytes;            /* payload bytes the stack copied (the app fills it in) */
    uint64_t rx_csum_partial;         /* frames whose checksum the sender left partial (same) */
    uint64_t tw_syn_accepted;         /* SYNs that ended a TIME-WAIT (the app fills it in) */
    uint64_t tw_syn_refused;          /* SYNs answered in TIME-WAIT (the app fills it in) */
    uint64_t syncookies_sent;         /* SYNs answered with a SYN cookie (the app fills it in) */
    uint64_t syncookies_accepted;     /* connections made from a cookie (the app fills it in) */
    uint64_t syncookies_rejected;     /* ACKs refused as cookies (the app fills it in) */
    uint64_t tso_frames_sent;         /* TCP frames over one MSS, segmented by the device (same) */
    /* Where a request's cost goes (the app fills these in): cycles all
     * cores spent busy (not idle), the TSC's rate, and the network
     * device's notifications, each a VM exit. */
    uint64_t busy_cycles, tsc_khz, device_kicks, device_irqs;
    uint64_t api_forwarded; /* socket calls moved to their stack's core */
    uint64_t zero_window_aborts;      /* connections reset: client's window shut too long (same) */
    /* IPv4 reassembly's heap bytes: now, the most at once, its limit (same) */
    uint64_t reasm_bytes, reasm_bytes_max, reasm_bytes_limit;
    uint64_t status[HTTP_SLOT_COUNT];
    /* Per core (the first HTTP_STATS_CORES): requests answered there
     * (counted by the core that answered), cycles busy, connections its
     * network stack accepted, and socket calls moved to it from another
     * core (the app fills in all but requests). cores: how many to show. */
    unsigned cores;
    uint64_t net_stacks; /* network stacks: one per core with RSS, else 1 */
    int (*core_id)(void); /* the calling core (NULL: not counted per core) */
    struct {
        uint64_t requests, busy_cycles, accepted, forwarded;
    } core[HTTP_STATS_CORES];
    /* Memory pressure in the kernel and the stack (the app fills these in):
     * what was refused, and how, when memory ran out. */
    struct {
        uint64_t accept_reset;        /* handshake done, no memory for the handle: reset */
        uint64_t syn_dropped;         /* no memory for a new connection (the client retries) */
        uint64_t syn_queue_full;      /* SYN or handshake ACK dropped: SYN cache or accept queue */
        uint64_t rx_dropped;          /* frames dropped: no memory to copy them off the ring */
        uint64_t tx_dropped;          /* segments not sent: no buffer (TCP sends them again) */
        uint64_t send_retries;        /* sends retried by a timer after finding no memory */
        uint64_t time_wait_reclaimed; /* TIME-WAIT connections freed early for new ones */
        uint64_t heap_failures;       /* heap allocations that returned NULL */
        uint64_t page_failures;       /* page blocks (thread stacks, large buffers) not had */
    } nomem;
};

/* What the handler answers from: the archive, the counters, and the
 * app's hook to bring the kernel's figures into them before the stats page
 * is rendered (NULL: none). */
struct web {
    const struct site *site;
    struct http_stats *stats;
    void (*refresh)(struct http_stats *stats);
};

/* lib/http's limits for the web server (its own from zebu_http_limits_default
 * otherwise): idle_ns is the app's option. */
void web_limits(struct zebu_http_limits *lim, uint64_t idle_ns);

/* Set srv up to serve w: one route for every method and path, the Server
 * field, the counters (a log callback). 0 or a negative errno. */
int web_setup(struct zebu_http_server *srv, struct web *w);

/* The route's handler (ctx: struct web). Answers every request: a file,
 * 206/304/416, the stats page, 400/404, 405 (not GET or HEAD: closes) or
 * 413 (a request body: closes). */
int web_handler(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx);

/* Count one response sent (the log callback's work): request, status slot, bytes. */
void http_stats_account(struct http_stats *st, int status, size_t head_bytes, uint64_t body_bytes);

/* Render the stats page (text/plain, "name value" lines) into buf.
 * Returns the length, or -ENOSPC if it does not fit in cap bytes. */
int http_stats_format(const struct http_stats *st, char *buf, size_t cap);

#endif /* ZEBU_APPS_WEBSERVER_HTTP_H */
