/*
 * http.c - the web server's answers over lib/http: the file a request
 * names in the site archive, by reference (zero copy), with its ETag and
 * MIME type; If-None-Match (304) before Range and If-Range (206, 416,
 * RFC 9110 13.2.2); the stats page; and the counters, kept by lib/http's
 * log callback for every response, the library's refusals included.
 */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define TEXT_PLAIN "text/plain; charset=utf-8"

/* A bounded writer: appends until full, then only remembers it overflowed. */
struct writer {
    char *buf;
    size_t cap, len;
    bool full;
};

static void put(struct writer *w, const char *s)
{
    size_t n = strlen(s);

    if (w->full || n > w->cap - w->len) {
        w->full = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_u64(struct writer *w, uint64_t x)
{
    char d[21];
    size_t i = sizeof(d) - 1;

    d[i] = 0;
    do {
        d[--i] = (char)('0' + x % 10);
        x /= 10;
    } while (x != 0);
    put(w, d + i);
}

static int finish_writer(const struct writer *w)
{
    return w->full ? -ENOSPC : (int)w->len;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* s equals the lowercase z, ignoring ASCII case (lengths already equal). */
static bool slice_eq_ci(struct zebu_http_slice s, const char *z)
{
    for (size_t i = 0; i < s.len; i++)
        if (lower(s.p[i]) != z[i])
            return false;
    return true;
}

/* One entity-tag list (If-None-Match): does it match etag, weakly? */
static bool etag_list_matches(struct zebu_http_slice v, const char *etag)
{
    size_t i = 0;

    while (i < v.len) {
        char c = v.p[i];
        if (c == ' ' || c == '\t' || c == ',') {
            i++;
            continue;
        }
        if (c == '*')
            return true;
        if (c == 'W' && i + 1 < v.len && v.p[i + 1] == '/')
            i += 2;
        if (i >= v.len || v.p[i] != '"')
            return false; /* malformed: no match, the safe answer */
        const char *close = memchr(v.p + i + 1, '"', v.len - i - 1);
        if (close == NULL)
            return false;
        size_t n = (size_t)(close - (v.p + i + 1));
        if (n == SITE_ETAG_HEX && memcmp(v.p + i + 1, etag, SITE_ETAG_HEX) == 0)
            return true;
        i += n + 2;
    }
    return false;
}

/* If-None-Match, on every field line of that name (up to HTTP_INM_MAX). */
static bool if_none_match(const struct zebu_http_request *req, const char *etag)
{
    unsigned seen = 0;

    for (unsigned i = 0; i < req->header_count && seen < HTTP_INM_MAX; i++) {
        const struct zebu_http_header *h = &req->headers[i];
        if (h->name.len != 13 || (h->name.p[0] | 0x20) != 'i' ||
            !slice_eq_ci(h->name, "if-none-match"))
            continue;
        seen++;
        if (etag_list_matches(h->value, etag))
            return true;
    }
    return false;
}

/* The value of the one field called name (lowercase), or NULL when there
 * is none or more than one (two Range fields: ignored, as before). */
static const struct zebu_http_slice *single_field(const struct zebu_http_request *req,
                                                  const char *name, size_t len)
{
    const struct zebu_http_slice *v = NULL;

    for (unsigned i = 0; i < req->header_count; i++) {
        const struct zebu_http_header *h = &req->headers[i];
        if (h->name.len != len || (h->name.p[0] | 0x20) != name[0] || !slice_eq_ci(h->name, name))
            continue;
        if (v != NULL)
            return NULL;
        v = &h->value;
    }
    return v;
}

/* If-Range with our strong ETag, exactly; a date or another tag: no. */
static bool if_range_holds(const struct zebu_http_request *req, const char *etag)
{
    const struct zebu_http_slice *v = zebu_http_header_get(req, "If-Range");

    if (v == NULL)
        return true;
    return v->len == SITE_ETAG_HEX + 2 && v->p[0] == '"' && v->p[SITE_ETAG_HEX + 1] == '"' &&
           memcmp(v->p + 1, etag, SITE_ETAG_HEX) == 0;
}

enum range_result { RANGE_IGNORE, RANGE_PARTIAL, RANGE_UNSATISFIABLE };

/* Decimal digits at v[*i...], saturating; false if there are none. */
static bool range_number(struct zebu_http_slice v, size_t *i, uint64_t *out)
{
    uint64_t x = 0;
    size_t start = *i;

    while (*i < v.len && v.p[*i] >= '0' && v.p[*i] <= '9') {
        uint64_t d = (uint64_t)(v.p[*i] - '0');
        x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
        (*i)++;
    }
    *out = x;
    return *i > start;
}

/* Range: bytes=a-b | a- | -n, one range; anything else is ignored (200). */
static enum range_result parse_range(struct zebu_http_slice v, uint64_t size, uint64_t *first,
                                     uint64_t *last)
{
    size_t i = 6;
    uint64_t a, b;

    if (v.len < 6 || memchr(v.p, ',', v.len) != NULL)
        return RANGE_IGNORE; /* not bytes, or several ranges: the whole file */
    for (size_t k = 0; k < 5; k++)
        if ((v.p[k] | 0x20) != "bytes"[k])
            return RANGE_IGNORE;
    if (v.p[5] != '=')
        return RANGE_IGNORE;
    if (i < v.len && v.p[i] == '-') {
        i++;
        if (!range_number(v, &i, &b) || i != v.len)
            return RANGE_IGNORE;
        if (b == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return RANGE_PARTIAL;
    }
    if (!range_number(v, &i, &a) || i == v.len || v.p[i] != '-')
        return RANGE_IGNORE;
    i++;
    bool has_b = range_number(v, &i, &b);
    if (i != v.len || (has_b && b < a))
        return RANGE_IGNORE;
    if (a >= size)
        return RANGE_UNSATISFIABLE;
    *first = a;
    *last = !has_b || b >= size ? size - 1 : b;
    return RANGE_PARTIAL;
}

/* Error bodies: short text/plain. */
static int reply_error(struct zebu_http_response *resp, int status, const char *body)
{
    return zebu_http_reply(resp, status, TEXT_PLAIN, body);
}

static int respond_stats(struct web *w, struct zebu_http_response *resp)
{
    if (w->refresh != NULL)
        w->refresh(w->stats); /* the kernel's figures, as of now */
    char *page = malloc(HTTP_SCRATCH_MAX); /* rare: off the connection's small stack */
    if (page == NULL)
        return -ENOMEM;
    int n = http_stats_format(w->stats, page, HTTP_SCRATCH_MAX);
    int err;
    if (n < 0) {
        err = reply_error(resp, 500, "500 Internal Server Error\n");
    } else {
        zebu_http_header(resp, "Content-Type", TEXT_PLAIN);
        zebu_http_header(resp, "Cache-Control", "no-store");
        err = zebu_http_body(resp, page, (size_t)n); /* copied before it returns */
    }
    free(page);
    return err;
}

/* Content-Range: bytes first-last/total, or * /total (first > last). */
static int content_range(struct zebu_http_response *resp, uint64_t first, uint64_t last,
                         uint64_t total)
{
    char buf[80];
    struct writer w = {buf, sizeof(buf), 0, false};

    put(&w, "bytes ");
    if (first <= last) {
        put_u64(&w, first);
        put(&w, "-");
        put_u64(&w, last);
    } else {
        put(&w, "*");
    }
    put(&w, "/");
    put_u64(&w, total);
    return zebu_http_header_n(resp, "Content-Range", buf, w.len);
}

static int respond_file(const struct zebu_http_request *req, struct zebu_http_response *resp,
                        const struct site_file *f)
{
    char tag[SITE_ETAG_HEX + 2];
    uint64_t first = 0, last = 0;

    tag[0] = '"';
    memcpy(tag + 1, f->etag, SITE_ETAG_HEX);
    tag[SITE_ETAG_HEX + 1] = '"';
    /* RFC 9110 13.2.2: If-None-Match before Range */
    if (if_none_match(req, f->etag)) {
        zebu_http_status(resp, 304);
        zebu_http_header_n(resp, "ETag", tag, sizeof(tag));
        return zebu_http_body(resp, NULL, 0);
    }
    enum range_result r = RANGE_IGNORE;
    const struct zebu_http_slice *range = single_field(req, "range", 5);
    if (range != NULL && if_range_holds(req, f->etag))
        r = parse_range(*range, f->len, &first, &last);
    if (r == RANGE_UNSATISFIABLE) {
        content_range(resp, 1, 0, f->len);
        return reply_error(resp, 416, "416 Range Not Satisfiable\n");
    }
    zebu_http_header(resp, "Content-Type", f->mime);
    zebu_http_header_n(resp, "ETag", tag, sizeof(tag));
    zebu_http_header_n(resp, "Accept-Ranges", "bytes", 5);
    if (r == RANGE_IGNORE)
        return zebu_http_body_ref(resp, f->data, f->len, NULL, NULL); /* the archive: no copy */
    zebu_http_status(resp, 206);
    content_range(resp, first, last, f->len);
    return zebu_http_body_ref(resp, f->data + first, (size_t)(last - first + 1), NULL, NULL);
}

int web_handler(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    struct web *w = ctx;
    struct site_file f;

    if (!req->is_head && !zebu_http_slice_eq(req->method, "GET")) {
        /* RFC 9110 15.5.6; closed, as a body may follow that we would not read */
        zebu_http_close_after(resp);
        zebu_http_header(resp, "Allow", "GET, HEAD");
        return reply_error(resp, 405, "405 Method Not Allowed: this server serves GET and HEAD\n");
    }
    if (req->body_kind != ZEBU_HTTP_BODY_NONE) {
        /* we never read request bodies: the connection cannot stay in step */
        zebu_http_close_after(resp);
        return reply_error(resp, 413, "413 Content Too Large: requests may not carry a body\n");
    }
    if (zebu_http_slice_eq(req->path, HTTP_STATS_PATH))
        return respond_stats(w, resp);
    int err = site_lookup(w->site, req->path.p, req->path.len, &f);
    if (err == -EINVAL)
        return reply_error(resp, 400, "400 Bad Request\n");
    if (err != 0)
        return reply_error(resp, 404, "404 Not Found\n");
    return respond_file(req, resp, &f);
}

static void web_log(void *ctx, const struct zebu_http_request *req, int status, size_t head_bytes,
                    uint64_t body_bytes)
{
    (void)req;
    http_stats_account(ctx, status, head_bytes, body_bytes);
}

void web_limits(struct zebu_http_limits *lim, uint64_t idle_ns)
{
    zebu_http_limits_default(lim);
    lim->request_line = HTTP_REQUEST_LINE_MAX;
    lim->header_bytes = HTTP_HEADER_MAX;
    lim->header_count = HTTP_FIELDS_MAX;
    lim->output_bytes = HTTP_OUTPUT_MAX;
    lim->idle_ns = idle_ns;
}

int web_setup(struct zebu_http_server *srv, struct web *w)
{
    zebu_http_server_name(srv, HTTP_SERVER_NAME);
    zebu_http_server_log(srv, web_log, w->stats);
    return zebu_http_route(srv, NULL, "/", web_handler, w);
}

static enum http_status_slot status_slot(int status)
{
    static const int slots[HTTP_SLOT_OTHER] = {200, 206, 304, 400, 404, 405,
                                               413, 414, 416, 431, 505};
    for (int i = 0; i < HTTP_SLOT_OTHER; i++)
        if (slots[i] == status)
            return (enum http_status_slot)i;
    return HTTP_SLOT_OTHER;
}

void http_stats_account(struct http_stats *st, int status, size_t head_bytes, uint64_t body_bytes)
{
    /* Added atomically: with all_cores=1, connections end on every core. */
    __atomic_add_fetch(&st->requests, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->head_bytes, head_bytes, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->body_bytes, body_bytes, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->status[status_slot(status)], 1, __ATOMIC_RELAXED);
    int core = st->core_id != NULL ? st->core_id() : -1;
    if (core >= 0 && core < HTTP_STATS_CORES)
        __atomic_add_fetch(&st->core[core].requests, 1, __ATOMIC_RELAXED);
}

/* name, then value, then a newline. */
static void put_line(struct writer *w, const char *name, uint64_t value)
{
    put(w, name);
    put(w, " ");
    put_u64(w, value);
    put(w, "\n");
}

int http_stats_format(const struct http_stats *st, char *buf, size_t cap)
{
    static const char *const names[HTTP_SLOT_COUNT] = {"200", "206", "304", "400", "404", "405",
                                                       "413", "414", "416", "431", "505", "other"};
    struct writer w = {buf, cap, 0, false};
    const struct {
        const char *name;
        uint64_t value;
    } lines[] = {
        {"requests", st->requests},
        {"bytes_sent", st->head_bytes + st->body_bytes},
        {"header_bytes", st->head_bytes},
        {"body_bytes", st->body_bytes},
        {"connections_accepted", st->connections_accepted},
        {"connections_open", st->connections_open},
        {"connections_refused", st->connections_refused},
        {"connections_reset_nomem", st->connections_reset_nomem},
        {"heap_in_use", st->heap_in_use},
        {"stack_copied_bytes", st->copied_bytes},
        {"rx_csum_partial", st->rx_csum_partial},
        {"stack_tw_syn_accepted", st->tw_syn_accepted},
        {"stack_tw_syn_refused", st->tw_syn_refused},
        {"stack_syncookies_sent", st->syncookies_sent},
        {"stack_syncookies_accepted", st->syncookies_accepted},
        {"stack_syncookies_rejected", st->syncookies_rejected},
        {"stack_tso_frames_sent", st->tso_frames_sent},
        {"busy_cycles", st->busy_cycles},
        {"tsc_khz", st->tsc_khz},
        {"device_kicks", st->device_kicks},
        {"device_irqs", st->device_irqs},
        {"api_forwarded", st->api_forwarded},
        {"net_stacks", st->net_stacks},
        {"zero_window_aborts", st->zero_window_aborts},
        {"reasm_bytes", st->reasm_bytes},
        {"reasm_bytes_max", st->reasm_bytes_max},
        {"reasm_bytes_limit", st->reasm_bytes_limit},
        {"accept_reset_nomem", st->nomem.accept_reset},
        {"syn_dropped_nomem", st->nomem.syn_dropped},
        {"syn_dropped_queue_full", st->nomem.syn_queue_full},
        {"rx_dropped_nomem", st->nomem.rx_dropped},
        {"tx_dropped_nomem", st->nomem.tx_dropped},
        {"send_retries_nomem", st->nomem.send_retries},
        {"time_wait_reclaimed", st->nomem.time_wait_reclaimed},
        {"heap_alloc_failures", st->nomem.heap_failures},
        {"page_alloc_failures", st->nomem.page_failures},
    };

    put(&w, "Zebu web server: access counters since boot\n");
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        put_line(&w, lines[i].name, lines[i].value);
    for (unsigned c = 0; c < st->cores && c < HTTP_STATS_CORES; c++) {
        char name[32];
        static const char *const what[] = {"requests", "busy_cycles", "accepted", "forwarded"};
        const uint64_t v[] = {st->core[c].requests, st->core[c].busy_cycles,
                              st->core[c].accepted, st->core[c].forwarded};
        for (int k = 0; k < 4; k++) {
            snprintf(name, sizeof(name), "core%u_%s", c, what[k]);
            put_line(&w, name, v[k]);
        }
    }
    for (int i = 0; i < HTTP_SLOT_COUNT; i++) {
        put(&w, "status_");
        put(&w, names[i]);
        put(&w, " ");
        put_u64(&w, st->status[i]);
        put(&w, "\n");
    }
    return finish_writer(&w);
}
