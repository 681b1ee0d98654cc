/*
 * http.c - answering parsed requests from the site archive: status choice
 * (RFC 9110: 304 from If-None-Match before Range, If-Range, single byte
 * ranges), the response-header builder, canned error bodies, and the
 * access counters page.
 *
 * Bodies are never copied: a file body is a slice of the archive, an error
 * body a static string; only the stats page is rendered (into the
 * response's scratch buffer).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

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

static const struct {
    int status;
    const char *reason;
    const char *body; /* canned error body, text/plain */
} statuses[] = {
    {200, "OK", NULL},
    {206, "Partial Content", NULL},
    {304, "Not Modified", NULL},
    {400, "Bad Request", "400 Bad Request\n"},
    {404, "Not Found", "404 Not Found\n"},
    {405, "Method Not Allowed", "405 Method Not Allowed: this server serves GET and HEAD\n"},
    {413, "Content Too Large", "413 Content Too Large: requests may not carry a body\n"},
    {414, "URI Too Long", "414 URI Too Long\n"},
    {416, "Range Not Satisfiable", "416 Range Not Satisfiable\n"},
    {431, "Request Header Fields Too Large", "431 Request Header Fields Too Large\n"},
    {500, "Internal Server Error", "500 Internal Server Error\n"},
    {505, "HTTP Version Not Supported", "505 HTTP Version Not Supported\n"},
};

#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0]))

const char *http_reason(int status)
{
    for (size_t i = 0; i < N_STATUSES; i++)
        if (statuses[i].status == status)
            return statuses[i].reason;
    return "Unknown";
}

static const char *error_body(int status)
{
    for (size_t i = 0; i < N_STATUSES; i++)
        if (statuses[i].status == status && statuses[i].body != NULL)
            return statuses[i].body;
    return "error\n";
}

int http_format_head(char *buf, size_t cap, const struct http_head *h)
{
    struct writer w = {buf, cap, 0, false};

    put(&w, "HTTP/1.1 ");
    put_u64(&w, (uint64_t)h->status);
    put(&w, " ");
    put(&w, http_reason(h->status));
    put(&w, "\r\nServer: " HTTP_SERVER_NAME "\r\n");
    if (h->content_type != NULL) {
        put(&w, "Content-Type: ");
        put(&w, h->content_type);
        put(&w, "\r\n");
    }
    if (h->has_length) {
        put(&w, "Content-Length: ");
        put_u64(&w, h->content_length);
        put(&w, "\r\n");
    }
    if (h->etag != NULL) {
        char tag[SITE_ETAG_HEX + 1];
        memcpy(tag, h->etag, SITE_ETAG_HEX);
        tag[SITE_ETAG_HEX] = 0;
        put(&w, "ETag: \"");
        put(&w, tag);
        put(&w, "\"\r\n");
    }
    if (h->accept_ranges)
        put(&w, "Accept-Ranges: bytes\r\n");
    if (h->range != HTTP_RANGE_NONE) {
        put(&w, "Content-Range: bytes ");
        if (h->range == HTTP_RANGE_BYTES) {
            put_u64(&w, h->range_first);
            put(&w, "-");
            put_u64(&w, h->range_last);
        } else {
            put(&w, "*");
        }
        put(&w, "/");
        put_u64(&w, h->range_total);
        put(&w, "\r\n");
    }
    if (h->allow)
        put(&w, "Allow: GET, HEAD\r\n");
    if (h->no_store)
        put(&w, "Cache-Control: no-store\r\n");
    if (h->close)
        put(&w, "Connection: close\r\n");
    else if (h->keep_alive_1_0)
        put(&w, "Connection: keep-alive\r\n");
    put(&w, "\r\n");
    return finish_writer(&w);
}

/* Fill out->head from h (connection fields from out and req) and set the
 * body; HEAD keeps the headers and drops the body. */
static void emit(const struct http_request *req, struct http_response *out, struct http_head *h,
                 const void *body, size_t body_len)
{
    h->close = out->close;
    h->keep_alive_1_0 = !out->close && req->version_minor == 0;
    out->status = h->status;
    int n = http_format_head(out->head, sizeof(out->head), h);
    if (n < 0) { /* cannot happen: a MIME type is at most SITE_MIME_MAX bytes */
        struct http_head fallback = {.status = 500, .has_length = true, .close = true};
        out->close = true;
        out->status = 500;
        n = http_format_head(out->head, sizeof(out->head), &fallback);
        body = NULL;
        body_len = 0;
    }
    out->head_len = (size_t)n;
    bool no_body = req->status == 0 && req->method == HTTP_METHOD_HEAD;
    out->body = no_body ? NULL : body;
    out->body_len = no_body ? 0 : body_len;
}

static void respond_error(const struct http_request *req, int status, uint64_t range_total,
                          struct http_response *out)
{
    const char *body = error_body(status);
    struct http_head h = {
        .status = status,
        .content_type = "text/plain; charset=utf-8",
        .has_length = true,
        .content_length = strlen(body),
        .allow = status == 405,
        .range = status == 416 ? HTTP_RANGE_UNSATISFIED : HTTP_RANGE_NONE,
        .range_total = range_total,
    };
    emit(req, out, &h, body, strlen(body));
}

static void respond_stats(const struct http_request *req, const struct http_stats *stats,
                          struct http_response *out)
{
    static const struct http_stats zero;
    int n = http_stats_format(stats != NULL ? stats : &zero, out->scratch, sizeof(out->scratch));
    if (n < 0) {
        out->close = true;
        respond_error(req, 500, 0, out);
        return;
    }
    struct http_head h = {
        .status = 200,
        .content_type = "text/plain; charset=utf-8",
        .has_length = true,
        .content_length = (uint64_t)n,
        .no_store = true,
    };
    emit(req, out, &h, out->scratch, (size_t)n);
}

/* One entity-tag list (If-None-Match): does it match etag, weakly? */
static bool etag_list_matches(struct http_slice v, const char *etag)
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

static bool if_none_match(const struct http_request *req, const char *etag)
{
    for (unsigned i = 0; i < req->inm_count; i++)
        if (etag_list_matches(req->if_none_match[i], etag))
            return true;
    return false;
}

/* If-Range with our strong ETag, exactly; a date or another tag: no. */
static bool if_range_holds(const struct http_request *req, const char *etag)
{
    struct http_slice v = req->if_range;

    if (!req->has_if_range)
        return true;
    return v.len == SITE_ETAG_HEX + 2 && v.p[0] == '"' && v.p[SITE_ETAG_HEX + 1] == '"' &&
           memcmp(v.p + 1, etag, SITE_ETAG_HEX) == 0;
}

enum range_result { RANGE_IGNORE, RANGE_PARTIAL, RANGE_UNSATISFIABLE };

/* Decimal digits at v[*i...], saturating; false if there are none. */
static bool range_number(struct http_slice v, size_t *i, uint64_t *out)
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
static enum range_result parse_range(struct http_slice v, uint64_t size, uint64_t *first,
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

static void respond_file(const struct http_request *req, const struct site_file *f,
                         struct http_response *out)
{
    struct http_head h = {
        .status = 200,
        .content_type = f->mime,
        .has_length = true,
        .content_length = f->len,
        .etag = f->etag,
        .accept_ranges = true,
    };
    uint64_t first = 0, last = 0;

    if (if_none_match(req, f->etag)) {
        struct http_head nm = {.status = 304, .etag = f->etag};
        emit(req, out, &nm, NULL, 0);
        return;
    }
    enum range_result r = RANGE_IGNORE;
    if (req->has_range && if_range_holds(req, f->etag))
        r = parse_range(req->range, f->len, &first, &last);
    if (r == RANGE_UNSATISFIABLE) {
        respond_error(req, 416, f->len, out);
        return;
    }
    if (r == RANGE_IGNORE) {
        emit(req, out, &h, f->data, f->len);
        return;
    }
    h.status = 206;
    h.content_length = last - first + 1;
    h.range = HTTP_RANGE_BYTES;
    h.range_first = first;
    h.range_last = last;
    h.range_total = f->len;
    emit(req, out, &h, f->data + first, (size_t)(last - first + 1));
}

static bool is_stats_path(struct http_slice t)
{
    size_t n = strlen(HTTP_STATS_PATH);
    return t.len >= n && memcmp(t.p, HTTP_STATS_PATH, n) == 0 && (t.len == n || t.p[n] == '?');
}

void http_respond(const struct site *site, const struct http_request *req,
                  const struct http_stats *stats, struct http_response *out)
{
    struct site_file f;

    out->close = req->status != 0 || !req->keep_alive;
    if (req->status != 0) {
        respond_error(req, req->status, 0, out);
        return;
    }
    if (is_stats_path(req->target)) {
        respond_stats(req, stats, out);
        return;
    }
    int err = site_lookup(site, req->target.p, req->target.len, &f);
    if (err == -EINVAL)
        respond_error(req, 400, 0, out);
    else if (err != 0)
        respond_error(req, 404, 0, out);
    else
        respond_file(req, &f, out);
}

int http_handle(const struct site *site, const struct http_stats *stats, struct http_parser *p,
                const char *buf, size_t len, struct http_response *out)
{
    struct http_request req;

    int n = http_parse(p, buf, len, &req);
    if (n > 0)
        http_respond(site, &req, stats, out);
    return n;
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

void http_stats_account(struct http_stats *st, const struct http_response *r)
{
    st->requests++;
    st->head_bytes += r->head_len;
    st->body_bytes += r->body_len;
    st->status[status_slot(r->status)]++;
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
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        put(&w, lines[i].name);
        put(&w, " ");
        put_u64(&w, lines[i].value);
        put(&w, "\n");
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
