/*
 * http_parse.c - the incremental HTTP/1.1 request parser (RFC 9112).
 *
 * Bytes may arrive in any pieces. http_parse() scans only bytes it has not
 * seen (struct http_parser keeps the position), checks each line as soon
 * as its CRLF arrives, so garbage is refused early, and enforces the limits
 * while the block is still incomplete. When the empty line arrives it walks
 * the block once more to fill struct http_request: no pointer is kept
 * between calls, so the caller may move its buffer while waiting.
 *
 * Strict where leniency has bitten servers (request smuggling): bare CR or
 * LF, obs-fold, white space before a field's colon, a duplicate Host, or
 * Content-Length with Transfer-Encoding are all 400.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

void http_parser_init(struct http_parser *p)
{
    p->pos = 0;
    p->line_start = 0;
    p->lines = 0;
}

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* s (n bytes) equals the lowercase word w, ignoring ASCII case. */
static bool word_eq(const char *s, size_t n, const char *w)
{
    if (strlen(w) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != w[i])
            return false;
    return true;
}

static bool has_prefix_ci(const char *s, size_t n, const char *w)
{
    return n >= strlen(w) && word_eq(s, strlen(w), w);
}

/* method SP request-target SP HTTP-version; returns 0 or a status. */
static int parse_request_line(const char *l, size_t n, struct http_request *req)
{
    size_t i = 0;

    while (i < n && is_tchar((unsigned char)l[i]))
        i++;
    if (i == 0 || i == n || l[i] != ' ')
        return 400;
    req->method_name = (struct http_slice){l, i};
    size_t t = ++i;
    while (i < n && l[i] != ' ') {
        if ((unsigned char)l[i] <= 0x20 || (unsigned char)l[i] >= 0x7f)
            return 400;
        i++;
    }
    if (i == t || i == n)
        return 400;
    req->target = (struct http_slice){l + t, i - t};
    const char *v = l + i + 1;
    if (n - i - 1 != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit((unsigned char)v[5]) ||
        v[6] != '.' || !is_digit((unsigned char)v[7]))
        return 400;
    if (v[5] != '1')
        return 505;
    req->version_minor = v[7] == '0' ? 0 : 1; /* 1.2 and later speak 1.1 */
    size_t m = t - 1;
    if (m == 3 && memcmp(l, "GET", 3) == 0)
        req->method = HTTP_METHOD_GET;
    else if (m == 4 && memcmp(l, "HEAD", 4) == 0)
        req->method = HTTP_METHOD_HEAD;
    else
        req->method = HTTP_METHOD_OTHER;
    return 0;
}

/* absolute-form (http://host/path?q) becomes its path: the site has one host. */
static void target_to_origin_form(struct http_slice *t)
{
    size_t skip;

    if (has_prefix_ci(t->p, t->len, "http://"))
        skip = 7;
    else if (has_prefix_ci(t->p, t->len, "https://"))
        skip = 8;
    else
        return;
    const char *path = memchr(t->p + skip, '/', t->len - skip);
    const char *query = memchr(t->p + skip, '?', t->len - skip);
    if (path == NULL || (query != NULL && query < path)) {
        *t = (struct http_slice){"/", 1}; /* static: valid whatever the buffer */
        return;
    }
    t->len -= (size_t)(path - t->p);
    t->p = path;
}

/* field-name ":" OWS field-value OWS; returns 0 or 400. */
static int parse_field_line(const char *l, size_t n, struct http_slice *name,
                            struct http_slice *value)
{
    size_t i = 0;

    while (i < n && is_tchar((unsigned char)l[i]))
        i++;
    if (i == 0 || i == n || l[i] != ':')
        return 400; /* also obs-fold and "Name :" */
    *name = (struct http_slice){l, i};
    i++;
    while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
    size_t end = n;
    while (end > i && (l[end - 1] == ' ' || l[end - 1] == '\t'))
        end--;
    for (size_t j = i; j < end; j++) {
        unsigned char c = (unsigned char)l[j];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 400;
    }
    *value = (struct http_slice){l + i, end - i};
    return 0;
}

/* Connection: a comma-separated list of options. */
static void parse_connection(struct http_slice v, bool *close, bool *keep_alive)
{
    size_t i = 0;

    while (i < v.len) {
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.len && v.p[i] != ',' && v.p[i] != ' ' && v.p[i] != '\t')
            i++;
        if (word_eq(v.p + s, i - s, "close"))
            *close = true;
        else if (word_eq(v.p + s, i - s, "keep-alive"))
            *keep_alive = true;
    }
}

/* 1*DIGIT, at most 18 digits (no overflow); returns false if not. */
static bool parse_length(struct http_slice v, uint64_t *out)
{
    uint64_t x = 0;

    if (v.len == 0 || v.len > 18)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        if (!is_digit((unsigned char)v.p[i]))
            return false;
        x = x * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = x;
    return true;
}

struct field_state {
    unsigned hosts, ranges;
    bool close, keep_alive;
};

/* Record one field in req; returns 0 or 400. */
static int apply_field(struct http_request *req, struct field_state *fs, struct http_slice name,
                       struct http_slice v)
{
    if (word_eq(name.p, name.len, "host")) {
        if (++fs->hosts > 1)
            return 400;
        req->has_host = true;
    } else if (word_eq(name.p, name.len, "connection")) {
        parse_connection(v, &fs->close, &fs->keep_alive);
    } else if (word_eq(name.p, name.len, "if-none-match")) {
        if (req->inm_count < HTTP_INM_MAX)
            req->if_none_match[req->inm_count++] = v;
    } else if (word_eq(name.p, name.len, "range")) {
        fs->ranges++;
        req->range = v;
    } else if (word_eq(name.p, name.len, "if-range")) {
        req->has_if_range = true;
        req->if_range = v;
    } else if (word_eq(name.p, name.len, "content-length")) {
        uint64_t x;
        if (!parse_length(v, &x) || (req->has_content_length && x != req->content_length))
            return 400;
        req->has_content_length = true;
        req->content_length = x;
    } else if (word_eq(name.p, name.len, "transfer-encoding")) {
        req->has_transfer_encoding = true;
    }
    return 0;
}

/* The decision once fields are in: 0 or a status. */
static int check_request(const struct http_request *req)
{
    if (req->version_minor >= 1 && !req->has_host)
        return 400;
    if (req->has_transfer_encoding && req->has_content_length)
        return 400;
    if (req->method == HTTP_METHOD_OTHER)
        return 405;
    if (req->has_transfer_encoding || (req->has_content_length && req->content_length > 0))
        return 413; /* we read no request bodies */
    return 0;
}

static int fail(struct http_request *req, int status, size_t used)
{
    memset(req, 0, sizeof(*req));
    req->status = status;
    req->header_len = used;
    return (int)used;
}

/* The complete block buf[0, len): fill *req. */
static int finish(const char *buf, size_t len, struct http_request *req)
{
    struct field_state fs = {0};
    size_t s = 0;

    memset(req, 0, sizeof(*req));
    req->header_len = len;
    while (s + 2 < len) {
        const char *eol = memchr(buf + s, '\n', len - s);
        if (eol == NULL || eol == buf + s || eol[-1] != '\r')
            return fail(req, 400, len); /* the buffer changed under the parser */
        size_t n = (size_t)(eol - buf) - 1 - s;
        int st;
        if (s == 0) {
            st = parse_request_line(buf, n, req);
        } else {
            struct http_slice name, value;
            st = parse_field_line(buf + s, n, &name, &value);
            if (st == 0)
                st = apply_field(req, &fs, name, value);
        }
        if (st != 0)
            return fail(req, st, len);
        s += n + 2;
    }
    target_to_origin_form(&req->target);
    req->has_range = fs.ranges == 1;
    req->keep_alive = !fs.close && (req->version_minor >= 1 || fs.keep_alive);
    req->status = check_request(req);
    if (req->status != 0)
        req->keep_alive = false;
    return (int)len;
}

/* A line just ended at buf[end] (its CR at end - 1): check it now. */
static int check_line(struct http_parser *p, const char *buf, size_t end, struct http_request *req)
{
    size_t n = end - 1 - p->line_start;
    const char *l = buf + p->line_start;

    if (p->lines == 0) {
        struct http_request tmp = {0};
        if (n > HTTP_REQUEST_LINE_MAX)
            return fail(req, 414, end + 1);
        int st = parse_request_line(l, n, &tmp);
        return st == 0 ? 0 : fail(req, st, end + 1);
    }
    if (n == 0)
        return finish(buf, end + 1, req);
    if (p->lines > HTTP_FIELDS_MAX)
        return fail(req, 431, end + 1);
    struct http_slice name, value;
    return parse_field_line(l, n, &name, &value) == 0 ? 0 : fail(req, 400, end + 1);
}

int http_parse(struct http_parser *p, const char *buf, size_t len, struct http_request *req)
{
    size_t end = len < HTTP_HEADER_MAX ? len : HTTP_HEADER_MAX;

    for (size_t i = p->pos; i < end; i++) {
        bool after_cr = i > p->line_start && buf[i - 1] == '\r';
        if (buf[i] != '\n') {
            if (after_cr)
                return fail(req, 400, i + 1); /* bare CR */
            /* request line: up to the limit, plus its CR */
            if (p->lines == 0 && i - p->line_start > HTTP_REQUEST_LINE_MAX)
                return fail(req, 414, i + 1);
            continue;
        }
        if (!after_cr)
            return fail(req, 400, i + 1); /* bare LF */
        int r = check_line(p, buf, i, req);
        if (r != 0)
            return r;
        p->lines++;
        p->line_start = i + 1;
    }
    p->pos = end;
    if (end == HTTP_HEADER_MAX)
        return fail(req, 431, end);
    return 0;
}
