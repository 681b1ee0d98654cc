/*
 * parser.c - the incremental HTTP/1.1 request parser (RFC 9112), and the
 * request accessors.
 *
 * Bytes arrive in any pieces; the caller calls zebu_http_parse() again
 * with the request's bytes so far. The parser finds line ends with memchr
 * over bytes it has not seen, and parses each line once, as its CRLF
 * arrives, straight into the request and its header slots (garbage is
 * refused early), enforcing the limits while the block is incomplete.
 * The slices point into the caller's buffer; if it moved between calls
 * they are moved with it.
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

#define F HTTP_C_FIELD
#define FT (HTTP_C_FIELD | HTTP_C_TCHAR)
const uint8_t http_cclass[256] = {
    ['\t'] = F,          [' '] = F,           ['!'] = FT,          ['"'] = F,
    ['#' ... '\''] = FT, ['(' ... ')'] = F,   ['*' ... '+'] = FT,  [','] = F,
    ['-' ... '.'] = FT,  ['/'] = F,           ['0' ... '9'] = FT,  [':' ... '@'] = F,
    ['A' ... 'Z'] = FT,  ['[' ... ']'] = F,   ['^' ... '`'] = FT,  ['a' ... 'z'] = FT,
    ['{'] = F,           ['|'] = FT,          ['}'] = F,           ['~'] = FT,
    [0x80 ... 0xff] = F,
};
#undef F
#undef FT

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

/* What the fields said, kept in the parser between calls. */
struct field_state {
    unsigned hosts, lengths;
    bool te, te_chunked, te_other, close, keep_alive, expect_other;
};

enum {
    FS_TE = 1, FS_TE_CHUNKED = 2, FS_TE_OTHER = 4, FS_CLOSE = 8, FS_KEEP_ALIVE = 16,
    FS_EXPECT_OTHER = 32,
};

static void fs_load(const struct zebu_http_parser *p, struct field_state *fs)
{
    *fs = (struct field_state){
        .hosts = p->hosts, .lengths = p->lengths, .te = p->flags & FS_TE,
        .te_chunked = p->flags & FS_TE_CHUNKED, .te_other = p->flags & FS_TE_OTHER,
        .close = p->flags & FS_CLOSE, .keep_alive = p->flags & FS_KEEP_ALIVE,
        .expect_other = p->flags & FS_EXPECT_OTHER,
    };
}

static void fs_store(struct zebu_http_parser *p, const struct field_state *fs)
{
    p->hosts = fs->hosts;
    p->lengths = fs->lengths;
    p->flags = (fs->te ? FS_TE : 0) | (fs->te_chunked ? FS_TE_CHUNKED : 0) |
               (fs->te_other ? FS_TE_OTHER : 0) | (fs->close ? FS_CLOSE : 0) |
               (fs->keep_alive ? FS_KEEP_ALIVE : 0) | (fs->expect_other ? FS_EXPECT_OTHER : 0);
}

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

    /* the names that matter are 4, 6, 10, 14 and 17 bytes long: most
     * fields are passed over on their length alone */
    if (n.len != 4 && n.len != 6 && n.len != 10 && n.len != 14 && n.len != 17)
        return 0;
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

/* The blank line ended the block at buf[len]: decide. */
static int finish(const struct zebu_http_parser *p, size_t len, struct zebu_http_request *req)
{
    struct field_state fs;

    fs_load(p, &fs);
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

/* A line just ended at buf[end] (its CR at end - 1): parse it, once,
 * into req and headers. 0, or the value to return. */
static int take_line(struct zebu_http_parser *p, const struct zebu_http_limits *lim,
                     const char *buf, size_t end, struct zebu_http_request *req,
                     struct zebu_http_header *headers)
{
    size_t n = end - 1 - p->line_start;
    const char *l = buf + p->line_start;

    if (p->lines == 0) {
        if (n > lim->request_line)
            return fail(req, 414, end + 1);
        memset(req, 0, sizeof(*req));
        req->headers = headers;
        int st = parse_request_line(l, n, req);
        return st == 0 ? 0 : fail(req, st, end + 1);
    }
    if (n == 0)
        return finish(p, end + 1, req);
    if (p->lines > lim->header_count)
        return fail(req, 431, end + 1); /* RFC 6585 5 */
    struct zebu_http_header *h = &headers[req->header_count];
    if (parse_field_line(l, n, h) != 0)
        return fail(req, 400, end + 1);
    req->header_count++;
    struct field_state fs;
    fs_load(p, &fs);
    int st = apply_field(req, &fs, h);
    fs_store(p, &fs);
    return st == 0 ? 0 : fail(req, st, end + 1);
}

/* The buffer moved since the last call: move the slices with it. */
static void rebase(struct zebu_http_parser *p, const char *buf, struct zebu_http_request *req)
{
    const char *old = p->base;
    struct zebu_http_slice *s[] = {&req->method, &req->target, &req->host};

    p->base = buf;
    if (old == NULL || p->lines == 0)
        return;
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        if (s[i]->p != NULL)
            s[i]->p = buf + (s[i]->p - old);
    for (unsigned i = 0; i < req->header_count; i++) {
        req->headers[i].name.p = buf + (req->headers[i].name.p - old);
        req->headers[i].value.p = buf + (req->headers[i].value.p - old);
    }
}

int zebu_http_parse(struct zebu_http_parser *p, const struct zebu_http_limits *lim, const char *buf,
                    size_t len, struct zebu_http_request *req, struct zebu_http_header *headers)
{
    size_t end = len < lim->header_bytes ? len : lim->header_bytes;

    if (buf != p->base)
        rebase(p, buf, req);
    while (p->pos < end) {
        const char *lf = memchr(buf + p->pos, '\n', end - p->pos);
        if (lf == NULL) {
            p->pos = end;
            break;
        }
        size_t i = (size_t)(lf - buf);
        if (p->lines == 0 && i - p->line_start > (size_t)lim->request_line + 1)
            break; /* the line passed the limit before it ended: 414 below */
        /* RFC 9112 2.2: a bare LF is refused, not guessed at; a bare CR
         * inside a line fails the line's own checks */
        if (i == p->line_start || buf[i - 1] != '\r')
            return fail(req, 400, i + 1);
        p->pos = i + 1;
        if (p->lines == 0 && i == p->line_start + 1) {
            p->line_start = p->skip = i + 1; /* RFC 9112 2.2: an empty line before the request */
            continue;
        }
        int r = take_line(p, lim, buf, i, req, headers);
        if (r != 0)
            return r;
        p->lines++;
        p->line_start = i + 1;
    }
    /* RFC 9112 3: 414 for a long target, as soon as the line passes the
     * limit (counted where it did, however the bytes were split) */
    if (p->lines == 0 && end - p->line_start > (size_t)lim->request_line + 1)
        return fail(req, 414, p->line_start + lim->request_line + 2);
    if (end == lim->header_bytes)
        return fail(req, p->lines == 0 ? 414 : 431, end);
    return 0;
}
