/*
 * apps/webserver — a static HTTP/1.1 server (port 80) for the site archive
 * the build packs (tools/mksite.py, SITE=dir) and the loader passes as a
 * module. This file only moves bytes: http.c parses and decides, site.c
 * finds files in the archive.
 *
 * Zero copy: file bytes go out by reference to the archive's memory
 * (zebu_buf_ref), chained behind a small header buffer. Requests are parsed
 * in place in the receive buffer; only a request split across segments is
 * gathered into the connection's buffer (request bytes, never file bytes).
 *     make run          (open http://localhost:8080)
 */
#include <zebu.h>

#include "http.h"
#include "site.h"

static long port = 80;
ZEBU_OPTION_INT("port", port, 1, 65535, "TCP port to serve HTTP on");
static long limit;
ZEBU_OPTION_INT("limit", limit, 0, 100000000, "exit after this many connections (0: never)");
/* A client that stops reading keeps its window shut and the response
 * (up to the whole file, by reference, plus a thread and its stack) held
 * for as long as it answers the window probes: a minute is plenty for a
 * reader that is merely slow. */
static long zero_window_ms = 60000;
ZEBU_OPTION_INT("zero_window_ms", zero_window_ms, 0, 86400000,
                "reset a connection whose client keeps its receive window shut this long while "
                "a response waits (ms; 0: the kernel's tcp.zero_window_ms applies)");
/* A client that sends no request keeps its thread and stack: close it. */
static long idle_ms = 60000;
ZEBU_OPTION_INT("idle_ms", idle_ms, 0, 86400000,
                "close a connection that sends nothing this long (ms; 0: never)");

/* A connection's whole state (struct conn, ~18 KiB with its request buffer)
 * lives on its thread's stack: with the guard page, one 32 KiB block per
 * connection (see zebu_thread_create), about 10 KiB left for calls. */
#define CONN_STACK (28 * 1024)
/* Bodies up to this size go out chained to their header in one send. */
#define CHAIN_MAX (64 * 1024)

static struct site site;
static struct http_stats stats;
static volatile long active;

struct conn {
    struct zebu_tcp *tcp;
    struct http_parser parser;
    size_t used;                /* bytes of an unfinished request in buf */
    char buf[HTTP_HEADER_MAX];
    struct http_response resp;
};

/* Send one response: header (copied into a transmit buffer: it was just
 * generated) and body (by reference, or copied when it lives in resp). */
static int send_response(struct conn *c)
{
    struct http_response *r = &c->resp;
    struct zebu_buf *head = zebu_buf_alloc(r->head_len);
    if (head == NULL)
        return -ENOMEM;
    size_t room;
    memcpy(zebu_buf_data_mut(head, &room), r->head, r->head_len);
    if (r->body_len == 0)
        return zebu_tcp_send_buf(c->tcp, head);
    if (r->body == r->scratch) { /* generated (the stats page): copy it too */
        struct zebu_buf *b = zebu_buf_alloc(r->body_len);
        if (b == NULL) {
            zebu_buf_free(head);
            return -ENOMEM;
        }
        memcpy(zebu_buf_data_mut(b, &room), r->body, r->body_len);
        zebu_buf_append(head, b);
        return zebu_tcp_send_buf(c->tcp, head);
    }
    if (r->body_len <= CHAIN_MAX) {
        struct zebu_buf *b = zebu_buf_ref(r->body, r->body_len, NULL, NULL);
        if (b == NULL) {
            zebu_buf_free(head);
            return -ENOMEM;
        }
        zebu_buf_append(head, b);
        return zebu_tcp_send_buf(c->tcp, head);
    }
    int err = zebu_tcp_send_buf(c->tcp, head);
    return err != 0 ? err : zebu_tcp_send_ref(c->tcp, r->body, r->body_len, NULL, NULL);
}

/* The kernel's count of one drop reason, by name (0 when it has none). */
static uint64_t drops(const char *name)
{
    uint64_t n;
    const char *r;
    for (unsigned i = 0; (r = zebu_net_drop_reason(i, &n)) != NULL; i++)
        if (strcmp(r, name) == 0)
            return n;
    return 0;
}

static void refresh_stats(void)
{
    struct zebu_mem_stats ms;
    zebu_mem_stats(&ms);
    stats.heap_in_use = ms.heap_in_use;
    stats.nomem.heap_failures = ms.failures;
    stats.nomem.page_failures = ms.page_failures;
    struct zebu_net_counters nc;
    if (zebu_net_counters(&nc) == 0) {
        stats.copied_bytes = nc.copied_bytes;
        stats.rx_csum_partial = nc.rx_csum_partial;
        stats.tw_syn_accepted = nc.tcp_tw_syn_accepted;
        stats.tw_syn_refused = nc.tcp_tw_syn_refused;
        stats.syncookies_sent = nc.tcp_syncookies_sent;
        stats.syncookies_accepted = nc.tcp_syncookies_accepted;
        stats.syncookies_rejected = nc.tcp_syncookies_rejected;
        stats.tso_frames_sent = nc.tcp_segs_out_by_size[1] + nc.tcp_segs_out_by_size[2];
        stats.nomem.accept_reset = nc.accept_nomem;
        stats.nomem.send_retries = nc.send_retries_nomem;
        stats.nomem.time_wait_reclaimed = nc.time_wait_reclaimed;
        stats.device_kicks = nc.device_kicks;
        stats.device_irqs = nc.device_irqs;
        stats.zero_window_aborts = nc.tcp_zero_window_aborts;
        stats.reasm_bytes = nc.reasm_bytes;
        stats.reasm_bytes_max = nc.reasm_bytes_max;
        stats.reasm_bytes_limit = nc.reasm_bytes_limit;
    }
    stats.busy_cycles = 0;
    for (int core = 0; core < zebu_core_count(); core++) {
        struct zebu_core_stats cs;
        if (zebu_core_stats(core, &cs) == 0)
            stats.busy_cycles += cs.cycles - cs.idle_cycles;
    }
    stats.tsc_khz = zebu_tsc_khz();
    stats.nomem.syn_dropped = drops("tcp_nomem");
    stats.nomem.syn_queue_full = drops("tcp_syn_cache_full") + drops("tcp_backlog_full");
    stats.nomem.rx_dropped = drops("rx_nomem");
    stats.nomem.tx_dropped = drops("tx_nobuf") + drops("tx_nomem");
}

/* serve_bytes: the connection ends with a FIN, or (a response found no
 * memory) with a RST, so the client knows at once it was not answered. */
#define SERVE_CLOSE (-1)
#define SERVE_RESET (-2)

/*
 * Answer every complete request at the start of [p, p + len). Returns the
 * bytes consumed, SERVE_CLOSE when the connection must close (after an
 * error response, Connection: close, or a failed send), or SERVE_RESET
 * when a response found no memory (counted).
 */
static long serve_bytes(struct conn *c, const char *p, size_t len)
{
    size_t done = 0;
    for (;;) {
        if (len - done >= 6 && memcmp(p + done, "GET /_", 6) == 0)
            refresh_stats(); /* maybe the stats page: bring its figures up to date */
        int n = http_handle(&site, &stats, &c->parser, p + done, len - done, &c->resp);
        if (n == 0)
            return (long)done;
        int err = send_response(c);
        if (err == -ENOMEM) {
            stats.connections_reset_nomem++;
            return SERVE_RESET;
        }
        if (err == 0)
            http_stats_account(&stats, &c->resp);
        done += (size_t)n;
        http_parser_init(&c->parser);
        if (err != 0 || c->resp.close)
            return SERVE_CLOSE;
    }
}

static void serve(struct conn *c)
{
    struct zebu_buf *b;
    http_parser_init(&c->parser);
    while ((b = zebu_tcp_recv_buf(c->tcp)) != NULL) {
        size_t len;
        const char *p = zebu_buf_data(b, &len);
        long used;
        if (c->used == 0) {
            /* The usual case: whole requests in this segment, parsed in
             * place. A partial one at the end is kept for the next. */
            used = serve_bytes(c, p, len);
            if (used >= 0 && (size_t)used < len) {
                size_t rest = len - (size_t)used;
                if (rest > sizeof(c->buf))
                    rest = sizeof(c->buf); /* over every limit: the parser answers 431 */
                memcpy(c->buf, p + used, rest);
                c->used = rest;
                http_parser_init(&c->parser);
            }
        } else {
            /* A request split across segments: gather it. Bytes past the
             * buffer can only belong to a header block over the limit,
             * which the parser refuses before it needs them. */
            size_t take = len < sizeof(c->buf) - c->used ? len : sizeof(c->buf) - c->used;
            memcpy(c->buf + c->used, p, take);
            c->used += take;
            used = serve_bytes(c, c->buf, c->used);
            if (used > 0) {
                memmove(c->buf, c->buf + used, c->used - (size_t)used);
                c->used -= (size_t)used;
            }
        }
        zebu_buf_free(b);
        if (used < 0) {
            if (used == SERVE_RESET) {
                zebu_tcp_abort(c->tcp);
                return;
            }
            break;
        }
    }
    zebu_tcp_close(c->tcp);
}

static void *conn_thread(void *arg)
{
    struct conn c;
    c.tcp = arg;
    c.used = 0;
    serve(&c);
    stats.connections_open--;
    active--;
    return NULL;
}

static int open_site(void)
{
    size_t len;
    const char *cmd;
    const void *img = zebu_module(0, &len, &cmd);
    if (img == NULL) {
        printf("webserver: no site archive: boot with the archive as a module "
               "(make APP=webserver run does)\n");
        return -1;
    }
    int err = site_open(&site, img, len);
    if (err != 0) {
        printf("webserver: the module is not a valid site archive (%s)\n", strerror(-err));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (open_site() != 0)
        return 1;
    if (zebu_net_wait_ready(30ull * 1000 * 1000 * 1000) != 0) {
        printf("webserver: no network address\n");
        return 1;
    }
    struct zebu_tcp *l = zebu_tcp_listen((uint16_t)port, 128);
    if (l == NULL) {
        printf("webserver: cannot listen on port %ld: %s\n", port, strerror(errno));
        return 1;
    }
    if (zero_window_ms > 0) /* inherited by every connection accepted */
        zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_ZERO_WINDOW, (uint64_t)zero_window_ms * 1000000);
    /* Every connection's zebu_tcp_recv_buf then ends, NULL, after idle_ms. */
    zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_RECV_TIMEOUT, (uint64_t)idle_ms * 1000000);
    char addr[16];
    zebu_ip4_format(zebu_net_addr(), addr, sizeof(addr));
    printf("webserver: serving %u files on http://%s:%ld/\n", (unsigned)site.count, addr, port);
    for (long n = 0; limit == 0 || n < limit; n++) {
        struct zebu_tcp *t = zebu_tcp_accept(l);
        zebu_tcp_set_nodelay(t, 1); /* each response goes out in one send */
        struct zebu_thread *th = zebu_thread_create(conn_thread, t, 0, "http", CONN_STACK);
        if (th == NULL) { /* out of memory: refuse this one, keep serving */
            stats.connections_refused++;
            zebu_tcp_abort(t);
            continue;
        }
        stats.connections_accepted++;
        stats.connections_open++;
        active++;
        zebu_thread_detach(th);
    }
    while (active > 0)
        zebu_sleep_ns(10 * 1000 * 1000);
    printf("webserver: %llu requests on %llu connections; for want of memory %llu "
           "connections refused, %llu reset\n",
           (unsigned long long)stats.requests, (unsigned long long)stats.connections_accepted,
           (unsigned long long)stats.connections_refused,
           (unsigned long long)stats.connections_reset_nomem);
    zebu_net_print_counters();
    return 0;
}
