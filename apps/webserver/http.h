/*
 * http.h - HTTP/1.1 for the static web server: an incremental request
 * parser, a responder that answers from a site archive, the response-header
 * builder, and the access counters. Portable: no kernel headers, no I/O, no
 * mutable state outside the structs passed in.
 *
 * Call order, per connection (the app's main.c only moves bytes):
 *
 *   http_parser_init(&p);
 *   on bytes received: append them to the connection's buffer buf (at most
 *   HTTP_HEADER_MAX bytes of one request are ever needed), then
 *     while ((n = http_handle(site, &stats, &p, buf, used, &resp)) > 0) {
 *         send resp.head (head_len bytes), then resp.body (body_len bytes,
 *         by reference: archive memory, a static string or resp.scratch);
 *         http_stats_account(&stats, &resp);
 *         if (resp.close) { close after the sends; stop }
 *         drop the first n bytes of buf (the next pipelined request, if
 *         any, moves to the front); http_parser_init(&p);
 *     }
 *   n == 0: wait for more bytes (buf keeps what it has; p remembers how far
 *   it looked, so the work is linear however the bytes are split).
 *
 * Requests carry no body: GET and HEAD only; a declared body is refused
 * (413) and the connection closed, as after every error the parser finds.
 */
#ifndef ZEBU_APPS_WEBSERVER_HTTP_H
#define ZEBU_APPS_WEBSERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "site.h"

#define HTTP_REQUEST_LINE_MAX  8192  /* bytes before CRLF; longer: 414 */
#define HTTP_HEADER_MAX        16384 /* whole block, final CRLF included; more: 431 */
#define HTTP_FIELDS_MAX        100   /* header fields; more: 431 */
#define HTTP_INM_MAX           8     /* If-None-Match lines looked at; more are ignored */
#define HTTP_RESPONSE_HEAD_MAX 512
#define HTTP_SCRATCH_MAX       2048 /* generated bodies: the stats page, every counter at 20 digits */
#define HTTP_STATS_PATH        "/_stats"
#define HTTP_SERVER_NAME       "Zebu"

enum http_method {
    HTTP_METHOD_OTHER = 0, /* a valid token we do not implement: 405 */
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
};

/* Bytes inside the caller's request buffer. */
struct http_slice {
    const char *p;
    size_t len;
};

/* How far http_parse has looked; reset with http_parser_init per request. */
struct http_parser {
    size_t pos;        /* bytes examined */
    size_t line_start; /* offset of the line being scanned */
    unsigned lines;    /* complete lines: the request line and fields */
};

/* A parsed request. Slices point into the buffer given to http_parse and
 * are valid while it is. */
struct http_request {
    int status; /* 0: serve it; else the error status to answer, then close */
    size_t header_len;
    enum http_method method;
    struct http_slice method_name;
    struct http_slice target;
    unsigned version_minor; /* HTTP/1.0: 0; HTTP/1.1 and later 1.x: 1 */
    bool keep_alive;        /* after Connection and the version's default */
    bool has_host;
    unsigned inm_count; /* If-None-Match field lines kept (HTTP_INM_MAX at most) */
    struct http_slice if_none_match[HTTP_INM_MAX];
    bool has_range; /* exactly one Range field */
    struct http_slice range;
    bool has_if_range;
    struct http_slice if_range;
    bool has_content_length;
    uint64_t content_length;
    bool has_transfer_encoding;
};

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
    uint64_t zero_window_aborts;      /* connections reset: client's window shut too long (same) */
    /* IPv4 reassembly's heap bytes: now, the most at once, its limit (same) */
    uint64_t reasm_bytes, reasm_bytes_max, reasm_bytes_limit;
    uint64_t status[HTTP_SLOT_COUNT];
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

/* What to send. body points into the site archive, at a static string, or
 * at scratch (the stats page): keep the struct in place until it is sent. */
struct http_response {
    int status;
    bool close; /* close the connection once this is sent */
    size_t head_len;
    const void *body;
    size_t body_len; /* 0 for HEAD and 304, whatever Content-Length says */
    char head[HTTP_RESPONSE_HEAD_MAX];
    char scratch[HTTP_SCRATCH_MAX];
};

/* Input to http_format_head. Fields left 0/NULL are not sent. */
enum http_range_kind { HTTP_RANGE_NONE, HTTP_RANGE_BYTES, HTTP_RANGE_UNSATISFIED };

struct http_head {
    int status;
    const char *content_type;
    bool has_length;
    uint64_t content_length;
    const char *etag; /* SITE_ETAG_HEX digits, sent quoted */
    bool accept_ranges;
    enum http_range_kind range; /* Content-Range: bytes first-last/total or * /total */
    uint64_t range_first, range_last, range_total;
    bool allow;          /* Allow: GET, HEAD */
    bool no_store;       /* Cache-Control: no-store */
    bool close;          /* Connection: close */
    bool keep_alive_1_0; /* Connection: keep-alive (an HTTP/1.0 client asked) */
};

void http_parser_init(struct http_parser *p);

/*
 * Look at buf[0, len): the start of one request, as received so far.
 * Returns 0 when more bytes are needed (*req untouched); or, once it can
 * decide, a count > 0 and fills *req: the header block's length with
 * req->status 0 (valid) or 405/413/400/505 (well-formed but refused); or
 * when the bytes are already bad (400, 414, 431, 505 before the block
 * ends), the bytes examined, with req->status set. Any status != 0 means:
 * answer it and close. Bytes after the header block are not examined.
 */
int http_parse(struct http_parser *p, const char *buf, size_t len, struct http_request *req);

/*
 * Answer req (from http_parse, status 0 or not) from site: fills *out.
 * stats (may be NULL: the stats page then shows zeros) is read for
 * HTTP_STATS_PATH. Never fails: every outcome is some status.
 */
void http_respond(const struct site *site, const struct http_request *req,
                  const struct http_stats *stats, struct http_response *out);

/* http_parse, then http_respond when it decided. Returns http_parse's
 * value: 0 (need more, *out untouched) or the bytes that request used. */
int http_handle(const struct site *site, const struct http_stats *stats, struct http_parser *p,
                const char *buf, size_t len, struct http_response *out);

/* Write the status line and header fields of h, and the blank line, into
 * buf. Returns the length (no NUL is counted), or -ENOSPC if it does not
 * fit in cap bytes. */
int http_format_head(char *buf, size_t cap, const struct http_head *h);

/* The reason phrase of a status ("Not Found"), "Unknown" for others. */
const char *http_reason(int status);

/* Count one sent response: request, status slot, bytes. */
void http_stats_account(struct http_stats *st, const struct http_response *r);

/* Render the stats page (text/plain, "name value" lines) into buf.
 * Returns the length, or -ENOSPC if it does not fit in cap bytes. */
int http_stats_format(const struct http_stats *st, char *buf, size_t cap);

#endif /* ZEBU_APPS_WEBSERVER_HTTP_H */
