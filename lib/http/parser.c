/*
 * parser.c - the incremental HTTP/1.1 request parser (RFC 9112), and the
 * request accessors.
 *
 * Bytes arrive in any pieces; the caller calls zebu_http_parse() again
 * with the request's bytes so far. The parser scans only bytes it has not
 * seen, checks each line as its CRLF arrives (garbage is refused early),
 * and enforces the limits while the block is incomplete. When the empty
 * line arrives it walks the block once more to fill the request: no
 * pointer is kept between calls, so the buffer may move while it waits.
 *
 * Strict where leniency lets two parsers disagree (request smuggling):
 * bare CR or LF, obs-fold, white space before a colon, duplicate Host or
 * Content-Length, Content-Length with Transfer-Encoding, a transfer coding
 * list not ending in chunked: all 400.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http_internal.h"

void zebu_http_limits_default(struct zebu_http_limits *l)
{
    *l = (struct zebu_http_limits){
        .request_line = 8192,
        .header_bytes = 16384,
        .header_count = 64,
        .body_bytes = 1 << 20,
        .chunk_line = 256,
        .trailer_bytes = 4096,
        .idle_ns = 15ull * 1000000000,
        .header_ns = 10ull * 1000000000,
        .body_ns = 30ull * 1000000000,
        .output_bytes = 4096,
    };
}

bool http_eq_ci(const char *s, size_t n, const char *w)
{
    for (size_t i = 0; i < n; i++)
        if (w[i] == 0 || http_lower(s[i]) != http_lower(w[i]))
            return false;
    return w[n] == 0;
}

bool zebu_http_slice_eq(struct zebu_http_slice s, const char *z)
{
    return strlen(z) == s.len && memcmp(s.p, z, s.len) == 0;
}

const struct zebu_http_slice *zebu_http_header_get(const struct zebu_http_request *req,
                                                   const char *name)
{
    for (unsigned i = 0; i < req->header_count; i++)
        if (http_eq_ci(req->headers[i].name.p, req->headers[i].name.len, name))
            return &req->headers[i].value;
    return NULL;
}

void zebu_http_parser_init(struct zebu_http_parser *p)
{
    memset(p, 0, sizeof(*p));
}

/* RFC 9112 3.2: origin-form, absolute-form, authority-form (CONNECT
 * only) or asterisk-form (OPTIONS only). Sets path and query; 0 or a
 * status. */
static int parse_target(struct zebu_http_request *req)
{
    struct zebu_http_slice t = req->target;
    size_t start = 0;

    if (memchr(t.p, '#', t.len) != NULL)
        return 400; /* a fragment is never sent (RFC 9110 4.2.5) */
    if (t.len == 1 && t.p[0] == '*') {
        if (!zebu_http_slice_eq(req->method, "OPTIONS"))
            return 400;
        req->path = t;
        return 0;
    }
    if (zebu_http_slice_eq(req->method, "CONNECT"))
        return 501; /* authority-form: no tunnels here */
    if (t.p[0] != '/') {
        /* absolute-form: scheme "://" authority path-abempty [ "?" query ] */
        const char *sep = t.len > 3 ? memchr(t.p, ':', t.len) : NULL;
        if (sep == NULL || (size_t)(sep - t.p) + 3 > t.len || sep[1] != '/' || sep[2] != '/')
            return 400;
        start = (size_t)(sep - t.p) + 3;
        while (start < t.len && t.p[start] != '/' && t.p[start] != '?')
            start++;
    }
    const char *q = memchr(t.p + start, '?', t.len - start);
    size_t path_end = q != NULL ? (size_t)(q - t.p) : t.len;
    if (path_end == start)
        req->path = (struct zebu_http_slice){"/", 1}; /* "http://h" or "http://h?x" */
    else
        req->path = (struct zebu_http_slice){t.p + start, path_end - start};
    if (q != NULL)
        req->query = (struct zebu_http_slice){q + 1, t.len - path_end - 1};
    return 0;
}

/* RFC 9112 3: method SP request-target SP HTTP-version. 0 or a status. */
static int parse_request_line(const char *l, size_t n, struct zebu_http_request *req)
{
    size_t i = 0;

    while (i < n && http_is_tchar((unsigned char)l[i]))
        i++;
    if (i == 0 || i == n || l[i] != ' ')
        return 400;
    req->method = (struct zebu_http_slice){l, i};
    size_t t = ++i;
    while (i < n && l[i] != ' ') {
        if ((unsigned char)l[i] <= 0x20 || (unsigned char)l[i] >= 0x7f)
            return 400; /* RFC 3986 characters only */
        i++;
    }
    if (i == t || i == n)
        return 400;
    req->target = (struct zebu_http_slice){l + t, i - t};
    const char *v = l + i + 1;
    if (n - i - 1 != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1')
        return 505; /* RFC 9110 15.6.6 */
    req->version_minor = v[7] == '0' ? 0 : 1; /* 1.2 and later speak 1.1 (RFC 9110 6.2) */
    return 0;
}

/* RFC 9112 5: field-name ":" OWS field-value OWS. 0 or 400. */
static int parse_field_line(const char *l, size_t n, struct zebu_http_header *h)
{
    size_t i = 0;

    while (i < n && http_is_tchar((unsigned char)l[i]))
        i++;
    /* no name, obs-fold (a leading SP), white space before ':' (5.1) */
    if (i == 0 || i == n || l[i] != ':')
        return 400;
    h->name = (struct zebu_http_slice){l, i};
    i++;
    while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
    size_t end = n;
    while (end > i && (l[end - 1] == ' ' || l[end - 1] == '\t'))
        end--;
    for (size_t j = i; j < end; j++)
        if (!http_is_field_char((unsigned char)l[j]))
            return 400; /* NUL and other controls (RFC 9110 5.5) */
    h->value = (struct zebu_http_slice){l + i, end - i};
    return 0;
}

/* Calls fn on each non-empty element of a comma-separated list (RFC 9110
 * 5.6.1), OWS trimmed; stops at the first non-zero return. */
static int each_list_item(struct zebu_http_slice v, int (*fn)(const char *, size_t, void *),
                          void *arg)
{
    size_t i = 0;

    while (i < v.len) {
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.len && v.p[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
            e--;
        if (e > s) {
            int r = fn(v.p + s, e - s, arg);
            if (r != 0)
                return r;
        }
    }
    return 0;
}

struct field_state {
    unsigned hosts, lengths;
    bool te, te_chunked, te_other, close, keep_alive, expect_other;
};

static int connection_item(const char *s, size_t n, void *arg)
{
    struct field_state *fs = arg;
    if (http_eq_ci(s, n, "close"))
        fs->close = true;
    else if (http_eq_ci(s, n, "keep-alive"))
        fs->keep_alive = true;
    return 0;
}

/* RFC 9112 6.3 item 4: chunked must be the final coding, applied once. */
static int te_item(const char *s, size_t n, void *arg)
{
    struct field_state *fs = arg;
    if (fs->te_chunked)
        return 400; /* a coding after chunked, or chunked twice (7.1) */
    if (http_eq_ci(s, n, "chunked"))
        fs->te_chunked = true;
    else
        fs->te_other = true;
    return 0;
}

/* RFC 9110 8.6: Content-Length = 1*DIGIT; at most 18 digits (no overflow). */
static bool parse_length(struct zebu_http_slice v, uint64_t *out)
{
    uint64_t x = 0;

    if (v.len == 0 || v.len > 18)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = x;
    return true;
}

/* Record one field in req; 0 or a status. */
static int apply_field(struct zebu_http_request *req, struct field_state *fs,
                       const struct zebu_http_header *h)
{
    struct zebu_http_slice n = h->name;

    if (http_eq_ci(n.p, n.len, "host")) {
        if (++fs->hosts > 1)
            return 400; /* RFC 9112 3.2 */
        req->host = h->value;
    } else if (http_eq_ci(n.p, n.len, "content-length")) {
        /* RFC 9112 6.3 item 5: a list or a repeat is refused, equal or not */
        if (++fs->lengths > 1 || !parse_length(h->value, &req->content_length))
            return 400;
    } else if (http_eq_ci(n.p, n.len, "transfer-encoding")) {
        fs->te = true;
        return each_list_item(h->value, te_item, fs);
    } else if (http_eq_ci(n.p, n.len, "connection")) {
        each_list_item(h->value, connection_item, fs);
    } else if (http_eq_ci(n.p, n.len, "expect")) {
        if (http_eq_ci(h->value.p, h->value.len, "100-continue"))
            req->expect_continue = true;
        else
            fs->expect_other = true;
    }
    return 0;
}

/* The decision once every field is in: 0 or a status. */
static int check_request(struct zebu_http_request *req, const struct field_state *fs)
{
    if (req->version_minor >= 1 && fs->hosts == 0)
        return 400; /* RFC 9112 3.2 */
    if (fs->te) {
        /* RFC 9112 6.1: TE in 1.0 means faulty framing; 6.3 item 3: with
         * Content-Length it is a smuggling attempt; item 4: not ending in
         * chunked, the length is unknown. */
        if (req->version_minor == 0 || fs->lengths > 0 || !fs->te_chunked)
            return 400;
        if (fs->te_other)
            return 501; /* a coding we do not implement (RFC 9112 6.1) */
        req->body_kind = ZEBU_HTTP_BODY_CHUNKED;
    } else if (fs->lengths > 0 && req->content_length > 0) {
        req->body_kind = ZEBU_HTTP_BODY_LENGTH;
    }
    if (req->version_minor == 0) {
        req->expect_continue = false; /* RFC 9110 10.1.1: ignored in 1.0 */
    } else if (fs->expect_other) {
        return 417;
    }
    return 0;
}

static int fail(struct zebu_http_request *req, int status, size_t used)
{
    memset(req, 0, sizeof(*req));
    req->status = status;
    req->header_len = used;
    return (int)used;
}

/* The complete block buf[skip, len): fill req and headers. */
static int finish(const struct zebu_http_parser *p, const char *buf, size_t len,
                  struct zebu_http_request *req, struct zebu_http_header *headers)
{
    struct field_state fs = {0};
    size_t s = p->skip;
    bool first = true;

    memset(req, 0, sizeof(*req));
    req->headers = headers;
    while (s + 2 < len) {
        const char *eol = memchr(buf + s, '\n', len - s);
        if (eol == NULL || eol == buf + s || eol[-1] != '\r')
            return fail(req, 400, len); /* the buffer changed under the parser */
        size_t n = (size_t)(eol - buf) - 1 - s;
        int st;
        if (first) {
            st = parse_request_line(buf + s, n, req);
            first = false;
        } else {
            struct zebu_http_header *h = &headers[req->header_count++];
            st = parse_field_line(buf + s, n, h);
            if (st == 0)
                st = apply_field(req, &fs, h);
        }
        if (st != 0)
            return fail(req, st, len);
        s += n + 2;
    }
    int st = parse_target(req);
    if (st == 0)
        st = check_request(req, &fs);
    if (st != 0)
        return fail(req, st, len);
    req->header_len = len;
    req->is_head = zebu_http_slice_eq(req->method, "HEAD");
    /* RFC 9112 9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive" */
    req->keep_alive = !fs.close && (req->version_minor >= 1 || fs.keep_alive);
    return (int)len;
}

/* A line just ended at buf[end] (its CR at end - 1): check it now. */
static int check_line(struct zebu_http_parser *p, const struct zebu_http_limits *lim,
                      const char *buf, size_t end, struct zebu_http_request *req,
                      struct zebu_http_header *headers)
{
    size_t n = end - 1 - p->line_start;
    const char *l = buf + p->line_start;

    if (p->lines == 0) {
        struct zebu_http_request tmp = {0};
        if (n > lim->request_line)
            return fail(req, 414, end + 1);
        int st = parse_request_line(l, n, &tmp);
        return st == 0 ? 0 : fail(req, st, end + 1);
    }
    if (n == 0)
        return finish(p, buf, end + 1, req, headers);
    if (p->lines > lim->header_count)
        return fail(req, 431, end + 1); /* RFC 6585 5 */
    struct zebu_http_header h;
    return parse_field_line(l, n, &h) == 0 ? 0 : fail(req, 400, end + 1);
}

int zebu_http_parse(struct zebu_http_parser *p, const struct zebu_http_limits *lim, const char *buf,
                    size_t len, struct zebu_http_request *req, struct zebu_http_header *headers)
{
    size_t end = len < lim->header_bytes ? len : lim->header_bytes;

    for (size_t i = p->pos; i < end; i++) {
        bool after_cr = i > p->line_start && buf[i - 1] == '\r';
        if (buf[i] != '\n') {
            if (after_cr)
                return fail(req, 400, i + 1); /* bare CR (RFC 9112 2.2) */
            if (p->lines == 0 && i - p->line_start > lim->request_line)
                return fail(req, 414, i + 1); /* RFC 9112 3: 414 for a long target */
            continue;
        }
        if (!after_cr)
            return fail(req, 400, i + 1); /* bare LF: refused, not guessed at */
        if (p->lines == 0 && i == p->line_start + 1) {
            p->line_start = p->skip = i + 1; /* RFC 9112 2.2: an empty line before the request */
            continue;
        }
        int r = check_line(p, lim, buf, i, req, headers);
        if (r != 0)
            return r;
        p->lines++;
        p->line_start = i + 1;
    }
    p->pos = end;
    if (end == lim->header_bytes)
        return fail(req, p->lines == 0 ? 414 : 431, end);
    return 0;
}
