/*
 * http_lib_test.c - lib/http on the host: the request parser and its
 * limits, the chunked decoder split at every byte, whole connections
 * through the in-memory transport (tests/host/http_lib_fake.c): routes,
 * statuses, pipelining split at every byte, 100-continue, HEAD, streaming,
 * zero copy, timeouts; and the JSON writer and reader.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zebu_http.h>

#include "http_lib_fake.h"
#include "runner.h"

/* ---- the parser ----------------------------------------------------------- */

static struct zebu_http_header hdrs[256];

/* Parse s whole with limits lim (NULL: defaults); returns the status (0:
 * valid), req filled. */
static int parse_with(const char *s, const struct zebu_http_limits *lim,
                      struct zebu_http_request *req)
{
    struct zebu_http_limits d;
    struct zebu_http_parser p;

    zebu_http_limits_default(&d);
    zebu_http_parser_init(&p);
    int n = zebu_http_parse(&p, lim != NULL ? lim : &d, s, strlen(s), req, hdrs);
    if (n == 0)
        return -1; /* incomplete */
    return req->status;
}

static int parse(const char *s, struct zebu_http_request *req)
{
    return parse_with(s, NULL, req);
}

TEST(httplib_parse_get)
{
    struct zebu_http_request r;
    const char *s = "GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\nX-Thing:  v a l  \r\n\r\nNEXT";

    CHECK_INT_EQ(parse(s, &r), 0);
    CHECK_UINT_EQ(r.header_len, strlen(s) - 4);
    CHECK(zebu_http_slice_eq(r.method, "GET"));
    CHECK(zebu_http_slice_eq(r.target, "/a/b?x=1&y"));
    CHECK(zebu_http_slice_eq(r.path, "/a/b"));
    CHECK(zebu_http_slice_eq(r.query, "x=1&y"));
    CHECK(zebu_http_slice_eq(r.host, "h"));
    CHECK_INT_EQ(r.version_minor, 1);
    CHECK(r.keep_alive);
    CHECK(!r.is_head);
    CHECK_INT_EQ(r.body_kind, ZEBU_HTTP_BODY_NONE);
    CHECK_INT_EQ(r.header_count, 2);
    const struct zebu_http_slice *v = zebu_http_header_get(&r, "x-THING");
    CHECK(v != NULL && zebu_http_slice_eq(*v, "v a l"));
    CHECK(zebu_http_header_get(&r, "x-thin") == NULL);
}

TEST(httplib_parse_forms_and_methods)
{
    struct zebu_http_request r;

    CHECK_INT_EQ(parse("PROPFIND /d HTTP/1.1\r\nHost: h\r\n\r\n", &r), 0);
    CHECK(zebu_http_slice_eq(r.method, "PROPFIND"));
    CHECK_INT_EQ(parse("X-Y_1.~! / HTTP/1.1\r\nHost: h\r\n\r\n", &r), 0); /* any token */
    CHECK_INT_EQ(parse("get / HTTP/1.1\r\nHost: h\r\n\r\n", &r), 0); /* case kept */
    CHECK(zebu_http_slice_eq(r.method, "get"));
    CHECK_INT_EQ(parse("GET http://example.com:8/p/q?z HTTP/1.1\r\nHost: h\r\n\r\n", &r), 0);
    CHECK(zebu_http_slice_eq(r.path, "/p/q"));
    CHECK(zebu_http_slice_eq(r.query, "z"));
    CHECK_INT_EQ(parse("GET http://example.com HTTP/1.1\r\nHost: h\r\n\r\n", &r), 0);
    CHECK(zebu_http_slice_eq(r.path, "/"));
    CHECK_INT_EQ(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &r), 0);
    CHECK(zebu_http_slice_eq(r.path, "*"));
    CHECK_INT_EQ(parse("GET * HTTP/1.1\r\nHost: h\r\n\r\n", &r), 400);
    CHECK_INT_EQ(parse("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", &r), 501);
    CHECK_INT_EQ(parse("GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", &r), 400);
    CHECK_INT_EQ(parse("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", &r), 400);
    CHECK_INT_EQ(parse("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", &r), 0);
    CHECK(r.is_head);
    /* RFC 9112 2.2: empty lines before the request line are ignored */
    CHECK_INT_EQ(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", &r), 0);
    CHECK(zebu_http_slice_eq(r.method, "GET"));
    CHECK_INT_EQ(parse("GET / HTTP/1.0\r\n\r\n", &r), 0); /* no Host needed in 1.0 */
    CHECK(!r.keep_alive);
    CHECK_INT_EQ(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r), 0);
    CHECK(r.keep_alive);
    CHECK_INT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: x, close\r\n\r\n", &r), 0);
    CHECK(!r.keep_alive);
    CHECK_INT_EQ(parse("GET / HTTP/1.9\r\nHost: h\r\n\r\n", &r), 0);
    CHECK_INT_EQ(r.version_minor, 1);
}

TEST(httplib_parse_refusals)
{
    static const struct {
        const char *req;
        int status;
    } cases[] = {
        {"GET / HTTP/1.1\nHost: h\r\n\r\n", 400},              /* bare LF */
        {"GET / HTTP/1.1\r\nHost: h\rx\r\n\r\n", 400},          /* bare CR */
        {"GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n c\r\n\r\n", 400}, /* obs-fold */
        {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},            /* space before colon */
        {"GET / HTTP/1.1\r\nHost: h\r\nA: b\x7f\r\n\r\n", 400}, /* DEL in a value */
        {"GET / HTTP/1.1\r\nHost: h\r\nA: \x01\r\n\r\n", 400},  /* control in a value */
        {"GET / HTTP/1.1\r\n\r\n", 400},                        /* no Host */
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},  /* two Hosts */
        {"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
        {"GET / HTTP/11\r\nHost: h\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        {"GET / http/1.1\r\nHost: h\r\n\r\n", 400},
        {"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        /* RFC 9112 6.3: Content-Length */
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1234567890123456789\r\n\r\n", 400},
        /* Transfer-Encoding */
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        /* Expect */
        {"POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", 417},
    };
    struct zebu_http_request r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = parse(cases[i].req, &r);
        CHECK_AT(__FILE__, __LINE__, st == cases[i].status, "case %zu: status %d, expected %d", i,
                 st, cases[i].status);
        CHECK_AT(__FILE__, __LINE__, !r.keep_alive, "case %zu: keep-alive after an error", i);
    }
    /* NUL in a value (the length given, not found by strlen) */
    static const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nA: b\0c\r\n\r\n";
    struct zebu_http_limits d;
    struct zebu_http_parser p;
    zebu_http_limits_default(&d);
    zebu_http_parser_init(&p);
    CHECK(zebu_http_parse(&p, &d, nul, sizeof(nul) - 1, &r, hdrs) > 0);
    CHECK_INT_EQ(r.status, 400);
    CHECK_INT_EQ(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &r), 0);
    CHECK(!r.expect_continue); /* RFC 9110 10.1.1: ignored in 1.0 */
    CHECK_INT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n", &r), 0);
    CHECK(r.expect_continue);
    CHECK_INT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED\r\n\r\n", &r), 0);
    CHECK_INT_EQ(r.body_kind, ZEBU_HTTP_BODY_CHUNKED);
    CHECK_INT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n", &r), 0);
    CHECK_INT_EQ(r.body_kind, ZEBU_HTTP_BODY_LENGTH);
    CHECK_UINT_EQ(r.content_length, 7);
    CHECK_INT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", &r), 0);
    CHECK_INT_EQ(r.body_kind, ZEBU_HTTP_BODY_NONE);
}

/* Build "GET /<n x 'a'> HTTP/1.1" etc. into a static buffer. */
static char big[70000];

TEST(httplib_parse_limits)
{
    struct zebu_http_limits lim;
    struct zebu_http_request r;
    zebu_http_limits_default(&lim);
    lim.request_line = 100;
    lim.header_bytes = 400;
    lim.header_count = 5;

    /* request line: 100 bytes pass, 101 is 414 */
    snprintf(big, sizeof(big), "GET /%.*s HTTP/1.1\r\nHost: h\r\n\r\n", 100 - 14, 
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    CHECK_INT_EQ(parse_with(big, &lim, &r), 0);
    snprintf(big, sizeof(big), "GET /%.*s HTTP/1.1\r\nHost: h\r\n\r\n", 100 - 13, 
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    CHECK_INT_EQ(parse_with(big, &lim, &r), 414);
    /* a long line refused before its end arrives */
    struct zebu_http_parser p;
    memset(big, 'a', 300);
    memcpy(big, "GET /", 5);
    zebu_http_parser_init(&p);
    CHECK(zebu_http_parse(&p, &lim, big, 300, &r, hdrs) > 0);
    CHECK_INT_EQ(r.status, 414);
    /* five fields pass, six are 431 */
    CHECK_INT_EQ(parse_with("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", &lim,
                            &r), 0);
    CHECK_INT_EQ(r.header_count, 5);
    CHECK_INT_EQ(parse_with("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n",
                            &lim, &r), 431);
    /* the whole block: 400 bytes pass, 401 are 431, also while incomplete */
    for (int extra = -1; extra <= 1; extra++) {
        size_t fixed = strlen("GET / HTTP/1.1\r\nHost: h\r\nA: \r\n\r\n");
        int n = (int)(400 - fixed) + extra;
        snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: h\r\nA: %0*d\r\n\r\n", n, 0);
        CHECK_UINT_EQ(strlen(big), (size_t)(400 + extra));
        CHECK_INT_EQ(parse_with(big, &lim, &r), extra <= 0 ? 0 : 431);
    }
    memset(big, 'v', 500);
    memcpy(big, "GET / HTTP/1.1\r\nHost: h\r\nA: ", 28);
    zebu_http_parser_init(&p);
    CHECK(zebu_http_parse(&p, &lim, big, 500, &r, hdrs) > 0);
    CHECK_INT_EQ(r.status, 431);
}

/* Fed at every split into two pieces (and byte by byte), the parser
 * decides the same as fed whole. */
TEST(httplib_parse_any_split)
{
    static const char *const reqs[] = {
        "GET /a?b HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n",
        "\r\nPOST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
        "GET / HTTP/1.1\r\nHost: h\r\nA : b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\n\r\n",
        /* past the request line's limit before its bare LF: 414 however split */
        "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\nHost: h\r\n\r\n",
    };
    struct zebu_http_limits lim;
    zebu_http_limits_default(&lim);
    lim.request_line = 64;

    for (size_t k = 0; k < sizeof(reqs) / sizeof(reqs[0]); k++) {
        const char *s = reqs[k];
        size_t len = strlen(s);
        struct zebu_http_request whole, part;
        struct zebu_http_parser p;
        zebu_http_parser_init(&p);
        int nw = zebu_http_parse(&p, &lim, s, len, &whole, hdrs);
        for (size_t cut = 0; cut <= len; cut++) {
            zebu_http_parser_init(&p);
            int n = zebu_http_parse(&p, &lim, s, cut, &part, hdrs);
            if (n == 0)
                n = zebu_http_parse(&p, &lim, s, len, &part, hdrs);
            CHECK_AT(__FILE__, __LINE__, n == nw && part.status == whole.status,
                     "req %zu cut %zu: %d/%d vs %d/%d", k, cut, n, part.status, nw, whole.status);
        }
        zebu_http_parser_init(&p);
        int n = 0;
        for (size_t i = 1; i <= len && n == 0; i++)
            n = zebu_http_parse(&p, &lim, s, i, &part, hdrs);
        CHECK_AT(__FILE__, __LINE__, n == nw && part.status == whole.status,
                 "req %zu byte by byte", k);
        CHECK(k != 5 || whole.status == 414);
    }
}

TEST(httplib_parse_buffer_moves_between_calls)
{
    static const char s[] = "GET /a?q HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-B: 2\r\n\r\n";
    size_t len = sizeof(s) - 1;
    struct zebu_http_limits lim;
    zebu_http_limits_default(&lim);

    for (size_t cut = 1; cut < len; cut++) {
        static char a[128], b[128];
        struct zebu_http_request r;
        struct zebu_http_parser p;
        zebu_http_parser_init(&p);
        memcpy(a, s, cut);
        CHECK_INT_EQ(zebu_http_parse(&p, &lim, a, cut, &r, hdrs), 0);
        memset(b, 0, sizeof(b));
        memcpy(b, s, len); /* the caller moved and grew its buffer */
        memset(a, '#', sizeof(a));
        CHECK_INT_EQ(zebu_http_parse(&p, &lim, b, len, &r, hdrs), (int)len);
        CHECK_INT_EQ(r.status, 0);
        CHECK(r.method.p == b && zebu_http_slice_eq(r.method, "GET"));
        CHECK(zebu_http_slice_eq(r.path, "/a") && zebu_http_slice_eq(r.query, "q"));
        CHECK(zebu_http_slice_eq(r.host, "h") && r.host.p > b && r.host.p < b + len);
        CHECK_INT_EQ(r.header_count, 3);
        const struct zebu_http_slice *v = zebu_http_header_get(&r, "x-b");
        CHECK(v != NULL && zebu_http_slice_eq(*v, "2"));
        CHECK(r.header_count == 3 && zebu_http_slice_eq(r.headers[1].name, "X-A"));
    }
}

/* ---- the body decoder ------------------------------------------------------ */

/* Decode in[0, len) fed in pieces cut at `cut` (and at most `piece` bytes
 * per call): the data into out; returns the status (0: done, -1: not done). */
static int decode(enum zebu_http_body_kind kind, uint64_t length, const struct zebu_http_limits *lim,
                  const char *in, size_t len, size_t cut, char *out, size_t *out_len,
                  size_t *consumed)
{
    struct zebu_http_request req = {.body_kind = kind, .content_length = length};
    struct zebu_http_body b;
    size_t pos = 0;

    zebu_http_body_init(&b, &req, lim);
    *out_len = 0;
    while (!b.done && pos < len) {
        size_t end = pos < cut ? cut : len;
        size_t off, dl;
        long n = zebu_http_body_decode(&b, in + pos, end - pos, &off, &dl);
        if (n < 0)
            return b.status;
        memcpy(out + *out_len, in + pos + off, dl);
        *out_len += dl;
        pos += (size_t)n;
        if (n == 0 && !b.done && dl == 0)
            break;
    }
    *consumed = pos;
    return b.done ? 0 : -1;
}

TEST(httplib_chunked_every_split)
{
    static const char body[] =
        "5;name=val;q=\"x y\"\r\nhello\r\n"
        "1 ; ext\r\n \r\n"
        "0000A\r\n0123456789\r\n"
        "0\r\nTrailer-One: 1\r\nT2:\r\n\r\n"
        "NEXT";
    struct zebu_http_limits lim;
    char out[64];
    size_t n, used;
    zebu_http_limits_default(&lim);

    for (size_t cut = 0; cut <= sizeof(body) - 1; cut++) {
        int st = decode(ZEBU_HTTP_BODY_CHUNKED, 0, &lim, body, sizeof(body) - 1, cut, out, &n, &used);
        CHECK_AT(__FILE__, __LINE__, st == 0 && n == 16 && memcmp(out, "hello 0123456789", 16) == 0 &&
                 used == sizeof(body) - 1 - 4, "cut %zu: status %d, %zu bytes, used %zu", cut, st, n, used);
    }
    /* Content-Length: exactly the length, the rest left alone */
    int st = decode(ZEBU_HTTP_BODY_LENGTH, 5, &lim, "helloGET", 8, 2, out, &n, &used);
    CHECK(st == 0 && n == 5 && used == 5 && memcmp(out, "hello", 5) == 0);
}

TEST(httplib_chunked_refusals)
{
    static const struct {
        const char *in;
        int status;
    } cases[] = {
        {"x\r\n", 400},
        {"\r\n", 400},
        {"5\r\nhelloX\r\n", 400},    /* no CRLF after the data */
        {"5\r\nhello\rX", 400},
        {"5\r\nhello\n0\r\n\r\n", 400}, /* a bare LF after the data */
        {"5\r\nhelloX\n0\r\n\r\n", 400},
        {"5 x\r\n", 400},            /* BWS not before ';' */
        {"5;a\x01\r\n", 400},        /* control in an extension */
        {"5\n", 400},
        {"0\r\n Folded: x\r\n\r\n", 400},
        {"0\r\nBad Name: x\r\n\r\n", 400},
        {"0\r\nA: \x02\r\n\r\n", 400},
        {"0\r\n\rX", 400},
        {"fffffffffffffffffffff\r\n", 413}, /* never overflows */
    };
    struct zebu_http_limits lim;
    char out[64];
    size_t n, used;
    zebu_http_limits_default(&lim);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = decode(ZEBU_HTTP_BODY_CHUNKED, 0, &lim, cases[i].in, strlen(cases[i].in), 0, out,
                        &n, &used);
        CHECK_AT(__FILE__, __LINE__, st == cases[i].status, "case %zu: %d, expected %d", i, st,
                 cases[i].status);
    }
}

#define DEC(s) decode(ZEBU_HTTP_BODY_CHUNKED, 0, &lim, s, strlen(s), 0, out, &n, &used)

TEST(httplib_chunked_limits)
{
    struct zebu_http_limits lim;
    char out[128];
    size_t n, used;
    zebu_http_limits_default(&lim);
    lim.body_bytes = 10;
    lim.chunk_line = 8;
    lim.trailer_bytes = 20;
    lim.header_count = 2;

    /* body: 10 bytes pass, 11 are 413 (in one chunk or over two) */
    CHECK_INT_EQ(DEC("a\r\n0123456789\r\n0\r\n\r\n"), 0);
    CHECK_INT_EQ(DEC("b\r\n"), 413);
    CHECK_INT_EQ(DEC("6\r\n012345\r\n5\r\n"), 413);
    /* the chunk-size line: 8 bytes with its CR pass, 9 are 400 */
    CHECK_INT_EQ(DEC("1;abcde\r\nx\r\n0\r\n\r\n"), 0);
    CHECK_INT_EQ(DEC("1;abcdef\r\n"), 400);
    /* trailers: 20 bytes pass, 21 are 431; two fields pass, three are 431 */
    CHECK_INT_EQ(DEC("0\r\nA: 1234567890123\r\n\r\n"), 0);
    CHECK_INT_EQ(DEC("0\r\nA: 12345678901234\r\n\r\n"), 431);
    CHECK_INT_EQ(DEC("0\r\nA:\r\nB:\r\n\r\n"), 0);
    CHECK_INT_EQ(DEC("0\r\nA:\r\nB:\r\nC:\r\n\r\n"), 431);
}

/* ---- whole connections through the fake transport ------------------------- */

static int h_hello(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    return zebu_http_reply(resp, 200, "text/plain", "hello\n");
}

/* The body back, with the method and path in a field. */
static int h_echo(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    static char buf[8192];
    char tag[128];
    (void)ctx;
    long n = zebu_http_read_all(req, buf, sizeof(buf));
    if (n < 0)
        return 0; /* the library answers 400/408/413 */
    snprintf(tag, sizeof(tag), "%.*s %.*s", (int)req->method.len, req->method.p,
             (int)req->path.len, req->path.p);
    zebu_http_header(resp, "X-Req", tag);
    return zebu_http_body(resp, buf, (size_t)n);
}

/* The path and query back, and the ctx's string. */
static int h_where(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    char b[256];
    snprintf(b, sizeof(b), "%s %.*s ?%.*s", (const char *)ctx, (int)req->path.len, req->path.p,
             (int)req->query.len, req->query.p);
    return zebu_http_reply(resp, 200, NULL, b);
}

static int h_stream(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    zebu_http_write(resp, "hel", 3);
    zebu_http_write(resp, "", 0);
    zebu_http_write(resp, "lo ", 3);
    zebu_http_write(resp, "world", 5);
    return zebu_http_end(resp);
}

static int ref_done_calls;
static void ref_done(void *cookie)
{
    ref_done_calls += *(int *)cookie;
}

static int h_ref(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    static const char body[] = "by reference";
    static int one = 1;
    (void)req;
    (void)ctx;
    return zebu_http_body_ref(resp, body, sizeof(body) - 1, ref_done, &one);
}

static int h_nothing(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req;
    (void)resp;
    (void)ctx;
    return 0;
}

static int h_fail(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    zebu_http_reply(resp, 200, NULL, "ok");
    return -EIO;
}

static int h_status(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req;
    zebu_http_status(resp, (int)(intptr_t)ctx);
    return zebu_http_body(resp, "ignored", 7);
}

/* Answers without reading the body. */
static int h_ignore(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    return zebu_http_reply(resp, 201, NULL, "not read");
}

static struct zebu_http_server *test_server(const struct zebu_http_limits *lim)
{
    struct zebu_http_server *s = zebu_http_server_create(lim);
    if (s == NULL)
        abort();
    int err = 0;
    err |= zebu_http_route(s, "GET", "/hello", h_hello, NULL);
    err |= zebu_http_route(s, "POST", "/echo", h_echo, NULL);
    err |= zebu_http_route(s, NULL, "/any", h_where, "any");
    err |= zebu_http_route(s, "GET", "/api", h_where, "api");
    err |= zebu_http_route(s, "GET", "/api/v2", h_where, "v2");
    err |= zebu_http_route(s, "PUT", "/api/v2", h_where, "v2put");
    err |= zebu_http_route(s, "GET", "/files/", h_where, "files");
    err |= zebu_http_route(s, "GET", "/stream", h_stream, NULL);
    err |= zebu_http_route(s, "GET", "/ref", h_ref, NULL);
    err |= zebu_http_route(s, "GET", "/nothing", h_nothing, NULL);
    err |= zebu_http_route(s, "GET", "/fail", h_fail, NULL);
    err |= zebu_http_route(s, "GET", "/204", h_status, (void *)(intptr_t)204);
    err |= zebu_http_route(s, "GET", "/304", h_status, (void *)(intptr_t)304);
    err |= zebu_http_route(s, "POST", "/ignore", h_ignore, NULL);
    if (err != 0)
        abort();
    return s;
}

/* Serve in (whole, or as f was set up) and parse every response. */
static int serve(struct zebu_http_server *s, struct fake_io *f, struct fake_response *rs, int max,
                 int *rc)
{
    int n = 0;
    size_t pos = 0;
    *rc = zebu_http_serve_io(s, &f->io);
    while (pos < f->out_len && n < max) {
        bool head = memmem(f->in, f->in_len, "HEAD ", 5) == f->in; /* only HEAD-first inputs */
        if (fake_parse_response(f->out, f->out_len, &pos, head && n == 0, &rs[n]) != 0)
            return -1;
        n++;
    }
    return n;
}

static struct fake_response rs[8];

static int serve_str(struct zebu_http_server *s, const char *in, struct fake_io *f)
{
    int rc;
    fake_io_init(f, in, strlen(in));
    int n = serve(s, f, rs, 8, &rc);
    CHECK_INT_EQ(rc, 0);
    return n;
}

TEST(httplib_conn_get_exact_bytes)
{
    struct zebu_http_server *s = test_server(NULL);
    struct fake_io f;

    CHECK_INT_EQ(serve_str(s, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    static const char want[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 6\r\n\r\nhello\n";
    CHECK_UINT_EQ(f.out_len, sizeof(want) - 1);
    CHECK(f.out_len == sizeof(want) - 1 && memcmp(f.out, want, f.out_len) == 0);
    CHECK_INT_EQ(f.sends, 1); /* head and a short body: one send */
    struct zebu_http_stats st;
    zebu_http_server_stats(s, &st);
    CHECK_UINT_EQ(st.requests, 1);
    CHECK_UINT_EQ(st.responses_by_class[2], 1);
    CHECK_UINT_EQ(st.bytes_out, f.out_len);
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

TEST(httplib_conn_routes_and_statuses)
{
    struct zebu_http_server *s = test_server(NULL);
    struct fake_io f;
    static const struct {
        const char *req;
        int status;
        const char *body; /* NULL: not checked */
    } cases[] = {
        {"GET /nope HTTP/1.1\r\nHost: h\r\n\r\n", 404, "404 Not Found\n"},
        {"GET /hellox HTTP/1.1\r\nHost: h\r\n\r\n", 404, NULL}, /* segment boundary */
        {"GET /hello/x HTTP/1.1\r\nHost: h\r\n\r\n", 200, "hello\n"},
        {"GET /hello?q HTTP/1.1\r\nHost: h\r\n\r\n", 200, "hello\n"},
        {"GET /api HTTP/1.1\r\nHost: h\r\n\r\n", 200, "api /api ?"},
        {"GET /api/v1?a=b HTTP/1.1\r\nHost: h\r\n\r\n", 200, "api /api/v1 ?a=b"},
        {"GET /api/v2/x HTTP/1.1\r\nHost: h\r\n\r\n", 200, "v2 /api/v2/x ?"}, /* longest wins */
        {"PUT /api/v2 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 200, "v2put /api/v2 ?"},
        {"DELETE /api/v2 HTTP/1.1\r\nHost: h\r\n\r\n", 405, NULL},
        {"DELETE /any/thing HTTP/1.1\r\nHost: h\r\n\r\n", 200, "any /any/thing ?"},
        {"GET /files/a/b HTTP/1.1\r\nHost: h\r\n\r\n", 200, "files /files/a/b ?"},
        {"GET /files HTTP/1.1\r\nHost: h\r\n\r\n", 404, NULL}, /* "/files/" wants the slash */
        {"get /hello HTTP/1.1\r\nHost: h\r\n\r\n", 405, NULL}, /* methods are case-sensitive */
        {"GET /nothing HTTP/1.1\r\nHost: h\r\n\r\n", 500, NULL},
        {"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 200, ""},
        {"GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505, NULL},
        {"POST /echo HTTP/1.1\r\nHost: h\r\nExpect: x\r\n\r\n", 417, NULL},
        {"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br, chunked\r\n\r\n", 501, NULL},
        {"GET / HTTP/1.1\r\nHost: h\r\nBad Field: x\r\n\r\n", 400, NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n = serve_str(s, cases[i].req, &f);
        CHECK_AT(__FILE__, __LINE__, n == 1 && rs[0].status == cases[i].status,
                 "case %zu: %d responses, status %d, expected %d", i, n, rs[0].status,
                 cases[i].status);
        if (n == 1 && cases[i].body != NULL)
            CHECK_AT(__FILE__, __LINE__, rs[0].body_len == strlen(cases[i].body) &&
                     memcmp(rs[0].body, cases[i].body, rs[0].body_len) == 0,
                     "case %zu: body '%.*s'", i, (int)rs[0].body_len, rs[0].body);
        if (n == 1 && rs[0].status >= 400)
            CHECK_AT(__FILE__, __LINE__, rs[0].status < 404 || rs[0].status > 405 || !rs[0].close,
                     "case %zu: 404/405 keep the connection", i);
        fake_io_free(&f);
    }
    serve_str(s, "DELETE /api/v2 HTTP/1.1\r\nHost: h\r\n\r\n", &f);
    CHECK(memmem(rs[0].head, rs[0].head_len, "\r\nAllow: GET, PUT, HEAD\r\n", 25) != NULL);
    fake_io_free(&f);
    /* 400 closes: the request after it is not served */
    CHECK_INT_EQ(serve_str(s, "GET / HTTP/1.1\r\nHost: h\r\nA : b\r\n\r\n"
                              "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    CHECK(rs[0].status == 400 && rs[0].close);
    fake_io_free(&f);
    /* a handler's error closes after its response */
    CHECK_INT_EQ(serve_str(s, "GET /fail HTTP/1.1\r\nHost: h\r\n\r\n"
                              "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    CHECK_INT_EQ(rs[0].status, 200); /* closed after it, the next not served */
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

TEST(httplib_conn_route_registration)
{
    struct zebu_http_server *s = zebu_http_server_create(NULL);
    CHECK_INT_EQ(zebu_http_route(s, "GET", "/a", h_hello, NULL), 0);
    CHECK_INT_EQ(zebu_http_route(s, "GET", "/a", h_hello, NULL), -EEXIST);
    CHECK_INT_EQ(zebu_http_route(s, NULL, "/a", h_hello, NULL), 0);
    CHECK_INT_EQ(zebu_http_route(s, "G T", "/b", h_hello, NULL), -EINVAL);
    CHECK_INT_EQ(zebu_http_route(s, "", "/b", h_hello, NULL), -EINVAL);
    CHECK_INT_EQ(zebu_http_route(s, "GET", "b", h_hello, NULL), -EINVAL);
    CHECK_INT_EQ(zebu_http_route(s, "GET", "/b", NULL, NULL), -EINVAL);
    int err = 0;
    char p[16];
    for (int i = 0; err == 0; i++) {
        snprintf(p, sizeof(p), "/r%d", i);
        err = zebu_http_route(s, "GET", p, h_hello, NULL);
    }
    CHECK_INT_EQ(err, -ENOSPC);
    zebu_http_server_destroy(s);
}

/* Three requests with bodies of each kind, pipelined, cut into two pieces
 * at every byte: the same three responses every time. */
TEST(httplib_conn_pipelined_every_split)
{
    static const char in[] =
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n"
        "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n"
        "POST /ignore HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
        "POST /ignore HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nq\r\n0\r\n\r\n"
        "GET /stream HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    struct zebu_http_server *s = test_server(NULL);
    struct fake_io f;
    char *first = NULL;
    size_t first_len = 0;

    for (size_t cut = 0; cut <= sizeof(in) - 1; cut++) {
        int rc;
        fake_io_init(&f, in, sizeof(in) - 1);
        f.cuts[0] = cut;
        f.ncuts = 1;
        int n = serve(s, &f, rs, 8, &rc);
        if (cut == 0) {
            CHECK_INT_EQ(n, 6);
            CHECK(rs[0].status == 200 && rs[0].body_len == 5 && !memcmp(rs[0].body, "hello", 5));
            CHECK(rs[1].status == 200 && rs[1].body_len == 5 && !memcmp(rs[1].body, "abcde", 5));
            CHECK(rs[2].status == 200 && rs[2].body_len == 6);
            CHECK(rs[3].status == 201 && rs[4].status == 201);
            CHECK(rs[5].status == 200 && rs[5].chunked && rs[5].close &&
                  rs[5].body_len == 11 && !memcmp(rs[5].body, "hello world", 11));
            first = malloc(f.out_len);
            memcpy(first, f.out, f.out_len);
            first_len = f.out_len;
        } else {
            CHECK_AT(__FILE__, __LINE__, rc == 0 && f.out_len == first_len &&
                     memcmp(f.out, first, first_len) == 0, "cut %zu: other bytes out", cut);
        }
        fake_io_free(&f);
    }
    /* and byte by byte */
    int rc;
    fake_io_init(&f, in, sizeof(in) - 1);
    f.piece = 1;
    serve(s, &f, rs, 8, &rc);
    CHECK(f.out_len == first_len && memcmp(f.out, first, first_len) == 0);
    fake_io_free(&f);
    free(first);
    zebu_http_server_destroy(s);
}

TEST(httplib_conn_continue)
{
    struct zebu_http_server *s = test_server(NULL);
    struct fake_io f;

    /* The handler reads: 100 Continue first, then the answer. */
    CHECK_INT_EQ(serve_str(s, "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                              "Content-Length: 2\r\n\r\nhi", &f), 2);
    CHECK(f.out_len > 25 && memcmp(f.out, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
    CHECK(rs[0].status == 100 && rs[1].status == 200 && rs[1].body_len == 2 && !rs[1].close);
    fake_io_free(&f);
    /* It does not: no 100, and the connection closes after the answer
     * (the client may or may not send the body). */
    CHECK_INT_EQ(serve_str(s, "POST /ignore HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                              "Content-Length: 2\r\n\r\nGET /hello HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    CHECK(rs[0].status == 201 && rs[0].close);
    fake_io_free(&f);
    /* A declared body over the limit: 413 at once, never invited. */
    struct zebu_http_limits lim;
    zebu_http_limits_default(&lim);
    lim.body_bytes = 4;
    struct zebu_http_server *small = test_server(&lim);
    CHECK_INT_EQ(serve_str(small, "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                                  "Content-Length: 5\r\n\r\n", &f), 1);
    CHECK(rs[0].status == 413 && rs[0].close);
    fake_io_free(&f);
    /* chunked over the limit: 413 once the size says so */
    CHECK_INT_EQ(serve_str(small, "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", &f), 2);
    CHECK(rs[0].status == 100 && rs[1].status == 413 && rs[1].close);
    fake_io_free(&f);
    /* bad framing: 400 */
    CHECK_INT_EQ(serve_str(small, "POST /echo HTTP/1.1\r\nHost: h\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\nzz\r\n", &f), 1);
    CHECK(rs[0].status == 400 && rs[0].close);
    fake_io_free(&f);
    struct zebu_http_stats st;
    zebu_http_server_stats(s, &st);
    CHECK_UINT_EQ(st.continues_sent, 1);
    zebu_http_server_destroy(small);
    zebu_http_server_destroy(s);
}

TEST(httplib_conn_head_and_bodiless)
{
    struct zebu_http_server *s = test_server(NULL);
    struct fake_io f;

    CHECK_INT_EQ(serve_str(s, "HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    CHECK(rs[0].status == 200 && rs[0].has_length);
    CHECK(memmem(rs[0].head, rs[0].head_len, "Content-Length: 6\r\n", 19) != NULL);
    CHECK_UINT_EQ(f.out_len, rs[0].head_len); /* no body */
    fake_io_free(&f);
    ref_done_calls = 0;
    CHECK_INT_EQ(serve_str(s, "HEAD /ref HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    CHECK_UINT_EQ(f.out_len, rs[0].head_len);
    CHECK_INT_EQ(f.refs, 0);
    CHECK_INT_EQ(ref_done_calls, 1);
    fake_io_free(&f);
    CHECK_INT_EQ(serve_str(s, "HEAD /stream HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    CHECK(rs[0].chunked); /* the fields GET would have */
    CHECK_UINT_EQ(f.out_len, rs[0].head_len);
    fake_io_free(&f);
    /* 204 and 304: no body, no length, whatever the handler gave */
    CHECK_INT_EQ(serve_str(s, "GET /204 HTTP/1.1\r\nHost: h\r\n\r\nGET /304 HTTP/1.1\r\nHost: h\r\n\r\n",
                           &f), 2);
    CHECK(rs[0].status == 204 && !rs[0].has_length && rs[1].status == 304 && !rs[1].has_length);
    CHECK_UINT_EQ(f.out_len, rs[0].head_len + rs[1].head_len);
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

TEST(httplib_conn_zero_copy_and_stream)
{
    struct zebu_http_server *s = test_server(NULL);
    struct fake_io f;

    ref_done_calls = 0;
    CHECK_INT_EQ(serve_str(s, "GET /ref HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    CHECK(rs[0].body_len == 12 && memcmp(rs[0].body, "by reference", 12) == 0);
    CHECK_INT_EQ(f.refs, 1);
    CHECK_INT_EQ(f.sends, 0);
    CHECK_INT_EQ(ref_done_calls, 1);
    fake_io_free(&f);
    CHECK_INT_EQ(serve_str(s, "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    static const char want[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "3\r\nhel\r\n3\r\nlo \r\n5\r\nworld\r\n0\r\n\r\n";
    CHECK(f.out_len == sizeof(want) - 1 && memcmp(f.out, want, f.out_len) == 0);
    fake_io_free(&f);
    /* to HTTP/1.0: the body runs to the close */
    CHECK_INT_EQ(serve_str(s, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &f), 1);
    CHECK(!rs[0].chunked && rs[0].close && rs[0].body_len == 11);
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

static int h_big_stream(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    static char chunk[3000];
    (void)req;
    (void)ctx;
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)('a' + i % 26);
    for (int i = 0; i < 2; i++)
        zebu_http_write(resp, chunk, sizeof(chunk));
    return zebu_http_end(resp);
}

static int h_big_body(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    static char b[5000];
    (void)req;
    (void)ctx;
    memset(b, 'z', sizeof(b));
    return zebu_http_body(resp, b, sizeof(b));
}

TEST(httplib_conn_output_buffer)
{
    struct zebu_http_limits lim;
    zebu_http_limits_default(&lim);
    lim.output_bytes = 1024;
    struct zebu_http_server *s = zebu_http_server_create(&lim);
    zebu_http_route(s, "GET", "/s", h_big_stream, NULL);
    zebu_http_route(s, "GET", "/b", h_big_body, NULL);
    struct fake_io f;

    CHECK_INT_EQ(serve_str(s, "GET /s HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
                           &f), 2);
    CHECK(rs[0].status == 200 && rs[0].body_len == 6000 && rs[0].body[2999] == 'a' + 2999 % 26);
    CHECK(rs[1].status == 200 && rs[1].body_len == 5000 && rs[1].body[4999] == 'z');
    CHECK(f.sends > 6);
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

TEST(httplib_conn_keep_alive_rules)
{
    struct zebu_http_server *s = test_server(NULL);
    struct fake_io f;

    /* 1.0 without keep-alive: close after the first */
    CHECK_INT_EQ(serve_str(s, "GET /hello HTTP/1.0\r\n\r\nGET /hello HTTP/1.0\r\n\r\n", &f), 1);
    CHECK(rs[0].close);
    fake_io_free(&f);
    /* 1.0 with keep-alive: said back, and the connection goes on */
    CHECK_INT_EQ(serve_str(s, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                              "GET /hello HTTP/1.0\r\n\r\n", &f), 2);
    CHECK(memmem(rs[0].head, rs[0].head_len, "\r\nConnection: keep-alive\r\n", 26) != NULL);
    CHECK(rs[1].close);
    fake_io_free(&f);
    /* 1.1 close */
    CHECK_INT_EQ(serve_str(s, "GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
                              "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    CHECK(rs[0].close);
    fake_io_free(&f);
    /* a request cut short at the end of the stream: not answered */
    CHECK_INT_EQ(serve_str(s, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\nGET /hel", &f), 1);
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

TEST(httplib_conn_timeouts)
{
    struct zebu_http_limits lim;
    zebu_http_limits_default(&lim);
    lim.idle_ns = 1000;
    lim.header_ns = 5000;
    lim.body_ns = 5000;
    struct zebu_http_server *s = test_server(&lim);
    struct fake_io f;
    struct zebu_http_stats st;

    /* idle: served, then the client says nothing: closed quietly */
    static const char one[] = "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n";
    fake_io_init(&f, one, strlen(one));
    f.stall = true;
    int rc;
    CHECK_INT_EQ(serve(s, &f, rs, 8, &rc), 1);
    CHECK_INT_EQ(rc, 0);
    zebu_http_server_stats(s, &st);
    CHECK_UINT_EQ(st.timeouts_idle, 1);
    fake_io_free(&f);
    /* slowloris: the header block trickles in, a byte per 1000 ns: 408 */
    static const char slow[] = "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n";
    fake_io_init(&f, slow, sizeof(slow) - 1);
    f.piece = 1;
    f.step_ns = 1000;
    CHECK_INT_EQ(serve(s, &f, rs, 8, &rc), 1);
    CHECK(rs[0].status == 408 && rs[0].close);
    CHECK(f.in_pos < 8); /* cut off after a few bytes */
    zebu_http_server_stats(s, &st);
    CHECK_UINT_EQ(st.timeouts_header, 1);
    fake_io_free(&f);
    /* a header block that stops: 408 at its deadline */
    fake_io_init(&f, "GET /hello HTTP/1.1\r\n", strlen("GET /hello HTTP/1.1\r\n"));
    f.stall = true;
    CHECK_INT_EQ(serve(s, &f, rs, 8, &rc), 1);
    CHECK(rs[0].status == 408);
    fake_io_free(&f);
    /* a body that stops: 408 */
    static const char part[] = "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc";
    fake_io_init(&f, part, strlen(part));
    f.stall = true;
    CHECK_INT_EQ(serve(s, &f, rs, 8, &rc), 1);
    CHECK(rs[0].status == 408 && rs[0].close);
    zebu_http_server_stats(s, &st);
    CHECK_UINT_EQ(st.timeouts_header, 2);
    CHECK_UINT_EQ(st.timeouts_body, 1);
    fake_io_free(&f);
    /* the rest of the block comes, but after the deadline: 408 all the same
     * (no idle limit here, so the first piece may come late) */
    lim.idle_ns = 0;
    struct zebu_http_server *s2 = test_server(&lim);
    fake_io_init(&f, slow, sizeof(slow) - 1);
    f.cuts[0] = 10;
    f.ncuts = 1;
    f.step_ns = 6000;
    CHECK_INT_EQ(serve(s2, &f, rs, 8, &rc), 1);
    CHECK_INT_EQ(rs[0].status, 408);
    CHECK_UINT_EQ(f.in_pos, sizeof(slow) - 1);
    fake_io_free(&f);
    zebu_http_server_destroy(s2);
    /* fast enough: served */
    fake_io_init(&f, slow, sizeof(slow) - 1);
    f.piece = 8;
    f.step_ns = 1000;
    CHECK_INT_EQ(serve(s, &f, rs, 8, &rc), 1);
    CHECK_INT_EQ(rs[0].status, 200);
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

static int h_fields(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    CHECK_INT_EQ(zebu_http_header(resp, "X-A", "1"), 0);
    CHECK_INT_EQ(zebu_http_header(resp, "X-B", "a\r\nInjected: 1"), -EINVAL);
    CHECK_INT_EQ(zebu_http_header(resp, "Content-Length", "5"), -EINVAL);
    CHECK_INT_EQ(zebu_http_header(resp, "connection", "close"), -EINVAL);
    CHECK_INT_EQ(zebu_http_header(resp, "Bad Name", "x"), -EINVAL);
    CHECK_INT_EQ(zebu_http_status(resp, 100), -EINVAL);
    CHECK_INT_EQ(zebu_http_status(resp, 600), -EINVAL);
    char v[5000];
    memset(v, 'v', sizeof(v) - 1);
    v[sizeof(v) - 1] = 0;
    CHECK_INT_EQ(zebu_http_header(resp, "X-Big", v), -ENOSPC);
    CHECK_INT_EQ(zebu_http_reply(resp, 202, "text/plain", "x"), 0);
    CHECK_INT_EQ(zebu_http_body(resp, "y", 1), -EALREADY);
    CHECK_INT_EQ(zebu_http_header(resp, "X-C", "1"), -EALREADY);
    return 0;
}

static size_t fixed_date(char *buf, size_t cap)
{
    return zebu_http_format_date(784111777, buf, cap);
}

TEST(httplib_format_date)
{
    static const struct {
        uint64_t t;
        const char *s;
    } cases[] = {
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"}, /* RFC 9110 5.6.7's example */
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {1709251199, "Thu, 29 Feb 2024 23:59:59 GMT"},
        {4102444799, "Thu, 31 Dec 2099 23:59:59 GMT"},
        {253402300799ull, "Fri, 31 Dec 9999 23:59:59 GMT"},
    };
    char b[40];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_UINT_EQ(zebu_http_format_date(cases[i].t, b, sizeof(b)), 29);
        CHECK_STR_EQ(b, cases[i].s);
    }
    CHECK_UINT_EQ(zebu_http_format_date(0, b, 29), 0);
    CHECK_UINT_EQ(zebu_http_format_date(253402300800ull, b, sizeof(b)), 0);
}

TEST(httplib_conn_fields_server_date)
{
    struct zebu_http_server *s = zebu_http_server_create(NULL);
    zebu_http_route(s, NULL, "/", h_fields, NULL);
    zebu_http_server_name(s, "Zebu");
    zebu_http_server_date(s, fixed_date);
    struct fake_io f;

    CHECK_INT_EQ(serve_str(s, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    static const char want[] = "HTTP/1.1 202 Accepted\r\nServer: Zebu\r\nX-A: 1\r\n"
                               "Content-Type: text/plain\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                               "Content-Length: 1\r\n\r\nx";
    CHECK(f.out_len == sizeof(want) - 1 && memcmp(f.out, want, f.out_len) == 0);
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

static int h_read_small(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    char b[4];
    (void)ctx;
    long n = zebu_http_read_all(req, b, sizeof(b));
    if (n == -EMSGSIZE)
        return 0; /* the library's 413 */
    return zebu_http_body(resp, b, n > 0 ? (size_t)n : 0);
}

/* zebu_http_read never hands more than asked; read_all refuses overflow. */
static int h_read_bytes(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    char out[64];
    size_t got = 0;
    long n;
    (void)ctx;
    while ((n = zebu_http_read(req, out + got, 1)) > 0)
        got += (size_t)n;
    return zebu_http_body(resp, out, got);
}

TEST(httplib_conn_read_all_and_read)
{
    struct zebu_http_server *s = zebu_http_server_create(NULL);
    zebu_http_route(s, NULL, "/small", h_read_small, NULL);
    zebu_http_route(s, NULL, "/bytes", h_read_bytes, NULL);
    struct fake_io f;

    CHECK_INT_EQ(serve_str(s, "POST /small HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd", &f), 1);
    CHECK(rs[0].status == 200 && rs[0].body_len == 4);
    fake_io_free(&f);
    CHECK_INT_EQ(serve_str(s, "POST /small HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde", &f), 1);
    CHECK(rs[0].status == 413 && rs[0].close);
    fake_io_free(&f);
    CHECK_INT_EQ(serve_str(s, "POST /small HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n", &f), 1);
    CHECK(rs[0].status == 200 && rs[0].body_len == 4);
    fake_io_free(&f);
    CHECK_INT_EQ(serve_str(s, "POST /small HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n", &f), 1);
    CHECK(rs[0].status == 413);
    fake_io_free(&f);
    CHECK_INT_EQ(serve_str(s, "POST /bytes HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                              "POST /bytes HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz", &f), 2);
    CHECK(rs[0].body_len == 11 && memcmp(rs[0].body, "hello world", 11) == 0);
    CHECK(rs[1].body_len == 3 && memcmp(rs[1].body, "xyz", 3) == 0);
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

TEST(httplib_conn_limits)
{
    struct zebu_http_limits lim;
    zebu_http_limits_default(&lim);
    lim.request_line = 40;
    lim.header_bytes = 200;
    lim.header_count = 2;
    struct zebu_http_server *s = test_server(&lim);
    struct fake_io f;

    CHECK_INT_EQ(serve_str(s, "GET /hello/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: h\r\n\r\n",
                           &f), 1);
    CHECK(rs[0].status == 414 && rs[0].close);
    fake_io_free(&f);
    CHECK_INT_EQ(serve_str(s, "GET /hello HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", &f), 1);
    CHECK(rs[0].status == 431 && rs[0].close);
    fake_io_free(&f);
    memset(big, 'x', 300);
    memcpy(big, "GET /hello HTTP/1.1\r\nHost: h\r\nA: ", 33);
    strcpy(big + 300, "\r\n\r\n");
    CHECK_INT_EQ(serve_str(s, big, &f), 1);
    CHECK(rs[0].status == 431);
    fake_io_free(&f);
    struct zebu_http_stats st;
    zebu_http_server_stats(s, &st);
    CHECK_UINT_EQ(st.parse_errors, 3);
    CHECK_UINT_EQ(st.responses_by_class[4], 3);
    zebu_http_server_destroy(s);
}

/* ---- the caller's memory, the response log, the Server field -------------- */

TEST(httplib_conn_in_callers_memory)
{
    struct zebu_http_limits lim;
    zebu_http_limits_default(&lim);
    lim.header_bytes = 1024;
    lim.header_count = 8;
    lim.output_bytes = 512;
    struct zebu_http_server *s = test_server(&lim);
    size_t need = zebu_http_conn_bytes(s);
    /* state, 8 header slots, 512 + 64 output, 1024 + the least body window */
    CHECK(need >= 1024 + 8 * sizeof(struct zebu_http_header) + 512 && need < 8192);
    static char mem[16384];
    struct fake_io f;
    const char *in = "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n"
                     "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 700\r\n\r\n";
    static char req[2048];
    strcpy(req, in);
    memset(req + strlen(in), 'b', 700);
    strcpy(req + strlen(in) + 700, "GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");

    /* too small: refused before anything is read */
    fake_io_init(&f, req, strlen(req));
    CHECK_INT_EQ(zebu_http_serve_io_mem(s, &f.io, mem, need - 1), -EINVAL);
    CHECK_UINT_EQ(f.out_len, 0);
    CHECK_INT_EQ(zebu_http_serve_io_mem(s, &f.io, NULL, need), -EINVAL);
    fake_io_free(&f);
    /* the least size, at every alignment, in pieces: a body larger than the
     * window is read through it */
    for (size_t skew = 0; skew < 16; skew += 3) {
        fake_io_init(&f, req, strlen(req));
        f.piece = 100;
        memset(mem, 0x5a, sizeof(mem));
        CHECK_INT_EQ(zebu_http_serve_io_mem(s, &f.io, mem + skew, need), 0);
        size_t pos = 0;
        int n = 0;
        while (pos < f.out_len && fake_parse_response(f.out, f.out_len, &pos, false, &rs[n]) == 0)
            n++;
        CHECK_INT_EQ(n, 3);
        CHECK(rs[0].status == 200 && rs[0].body_len == 6);
        CHECK(rs[1].status == 200 && rs[1].body_len == 700);
        CHECK(rs[2].status == 200 && rs[2].close);
        /* nothing written outside [mem + skew, mem + skew + need) */
        CHECK(mem[skew + need] == 0x5a && (skew == 0 || mem[skew - 1] == 0x5a));
        fake_io_free(&f);
    }
    zebu_http_server_destroy(s);
}

struct log_line {
    int status;
    size_t head;
    uint64_t body;
    bool refused;
};
static struct log_line log_lines[8];
static unsigned log_count;

static void log_fn(void *ctx, const struct zebu_http_request *req, int status, size_t head_bytes,
                   uint64_t body_bytes)
{
    CHECK(ctx == (void *)log_lines);
    if (log_count < 8)
        log_lines[log_count] = (struct log_line){status, head_bytes, body_bytes, req->status != 0};
    log_count++;
}

TEST(httplib_conn_log_callback)
{
    struct zebu_http_server *s = test_server(NULL);
    zebu_http_server_log(s, log_fn, log_lines);
    struct fake_io f;

    static const char in[] = "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n"
                             "HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\n"
                             "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n"
                             "GET /missing HTTP/1.1\r\nHost: h\r\n\r\n"
                             "GET /ref HTTP/1.1\r\nHost: h\r\n\r\n"
                             "GET / HTTP/2.0\r\n\r\n";
    log_count = 0;
    fake_io_init(&f, in, sizeof(in) - 1);
    CHECK_INT_EQ(zebu_http_serve_io(s, &f.io), 0);
    CHECK_UINT_EQ(log_count, 6);
    size_t pos = 0;
    for (unsigned i = 0; i < 6 && i < log_count; i++) {
        struct fake_response r;
        size_t start = pos;
        CHECK_INT_EQ(fake_parse_response(f.out, f.out_len, &pos, i == 1, &r), 0);
        CHECK_INT_EQ(log_lines[i].status, r.status);
        CHECK_UINT_EQ(log_lines[i].head, r.head_len);
        CHECK_UINT_EQ(log_lines[i].body, r.body_len);
        if (!r.chunked) /* head and body are all the bytes of the response */
            CHECK_UINT_EQ(log_lines[i].head + log_lines[i].body, pos - start);
        CHECK(log_lines[i].refused == (i == 5));
    }
    CHECK(log_lines[1].body == 0 && log_lines[1].head == log_lines[0].head); /* HEAD */
    CHECK_INT_EQ(log_lines[3].status, 404);
    CHECK_INT_EQ(log_lines[5].status, 505);
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

TEST(httplib_server_name_checked)
{
    struct zebu_http_server *s = zebu_http_server_create(NULL);
    zebu_http_route(s, "GET", "/hello", h_hello, NULL);
    struct fake_io f;
    static const char *bad[] = {"a\r\nX-Injected: 1", "", " lead", "trail\t",
                                "0123456789012345678901234567890123456789012345678901234567890123456789"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        zebu_http_server_name(s, bad[i]);
        CHECK_INT_EQ(serve_str(s, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
        CHECK(memmem(f.out, f.out_len, "Server", 6) == NULL);
        CHECK(memmem(f.out, f.out_len, "Injected", 8) == NULL);
        fake_io_free(&f);
    }
    zebu_http_server_name(s, "Zebu/1 (test)");
    CHECK_INT_EQ(serve_str(s, "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    CHECK(rs[0].status == 404);
    CHECK(memmem(f.out, f.out_len, "\r\nServer: Zebu/1 (test)\r\n", 25) != NULL);
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

static int h_header_n(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req, (void)ctx;
    CHECK_INT_EQ(zebu_http_header_n(resp, "ETag", "\"abc\"XYZ", 5), 0);
    CHECK_INT_EQ(zebu_http_header_n(resp, "X-Bad", "a\nb", 3), -EINVAL);
    CHECK_INT_EQ(zebu_http_header_n(resp, "X-Cut", "a\nb", 1), 0); /* only len bytes count */
    CHECK_INT_EQ(zebu_http_header_n(resp, "content-LENGTH", "1", 1), -EINVAL);
    CHECK_INT_EQ(zebu_http_header_n(resp, "Connection", "close", 5), -EINVAL);
    CHECK_INT_EQ(zebu_http_header_n(resp, "Transfer-Encoding", "x", 1), -EINVAL);
    CHECK_INT_EQ(zebu_http_header_n(resp, "Content-Lengths", "x", 1), 0); /* another name */
    return zebu_http_body(resp, NULL, 0);
}

TEST(httplib_header_n)
{
    struct zebu_http_server *s = zebu_http_server_create(NULL);
    zebu_http_route(s, NULL, "/", h_header_n, NULL);
    struct fake_io f;

    CHECK_INT_EQ(serve_str(s, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", &f), 1);
    static const char want[] = "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nX-Cut: a\r\n"
                               "Content-Lengths: x\r\nContent-Length: 0\r\n\r\n";
    CHECK(f.out_len == sizeof(want) - 1 && memcmp(f.out, want, f.out_len) == 0);
    fake_io_free(&f);
    zebu_http_server_destroy(s);
}

/* ---- JSON ---------------------------------------------------------------- */

TEST(httplib_json_writer)
{
    char buf[256];
    struct zebu_json_writer w;

    zebu_json_writer_init(&w, buf, sizeof(buf));
    zebu_json_object_begin(&w);
    zebu_json_key(&w, "s");
    zebu_json_string(&w, "a\"b\\c\n\t\x01\x1f/\xc3\xa9\xf0\x9f\x98\x80");
    zebu_json_key(&w, "n");
    zebu_json_int(&w, INT64_MIN);
    zebu_json_key(&w, "u");
    zebu_json_uint(&w, UINT64_MAX);
    zebu_json_key(&w, "a");
    zebu_json_array_begin(&w);
    zebu_json_bool(&w, true);
    zebu_json_bool(&w, false);
    zebu_json_null(&w);
    zebu_json_array_begin(&w);
    zebu_json_array_end(&w);
    zebu_json_object_begin(&w);
    zebu_json_object_end(&w);
    zebu_json_int(&w, 0);
    zebu_json_array_end(&w);
    zebu_json_object_end(&w);
    long n = zebu_json_finish(&w);
    static const char want[] = "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\xc3\xa9\xf0\x9f\x98\x80\","
                               "\"n\":-9223372036854775808,\"u\":18446744073709551615,"
                               "\"a\":[true,false,null,[],{},0]}";
    CHECK_INT_EQ(n, (long)strlen(want));
    CHECK_STR_EQ(buf, want);

    /* every smaller buffer: -ENOSPC, never a byte past it */
    for (size_t cap = 0; cap < strlen(want); cap++) {
        char *small = malloc(cap + 1);
        zebu_json_writer_init(&w, small, cap);
        zebu_json_object_begin(&w);
        zebu_json_key(&w, "s");
        zebu_json_string(&w, "a\"b\\c\n\t\x01\x1f/\xc3\xa9\xf0\x9f\x98\x80");
        zebu_json_key(&w, "n");
        zebu_json_int(&w, INT64_MIN);
        zebu_json_object_end(&w);
        long r = zebu_json_finish(&w);
        CHECK_AT(__FILE__, __LINE__, r == -ENOSPC || (r > 0 && (size_t)r <= cap), "cap %zu: %ld",
                 cap, r);
        free(small);
    }
}

TEST(httplib_json_writer_misuse)
{
    char buf[64];
    struct zebu_json_writer w;

    zebu_json_writer_init(&w, buf, sizeof(buf));
    zebu_json_object_begin(&w);
    zebu_json_int(&w, 1); /* a value where a key is due */
    CHECK_INT_EQ(zebu_json_finish(&w), -EINVAL);
    zebu_json_writer_init(&w, buf, sizeof(buf));
    zebu_json_key(&w, "k"); /* a key outside an object */
    CHECK_INT_EQ(zebu_json_finish(&w), -EINVAL);
    zebu_json_writer_init(&w, buf, sizeof(buf));
    zebu_json_array_begin(&w);
    zebu_json_object_end(&w);
    CHECK_INT_EQ(zebu_json_finish(&w), -EINVAL);
    zebu_json_writer_init(&w, buf, sizeof(buf));
    zebu_json_array_begin(&w);
    CHECK_INT_EQ(zebu_json_finish(&w), -EINVAL); /* left open */
    zebu_json_writer_init(&w, buf, sizeof(buf));
    CHECK_INT_EQ(zebu_json_finish(&w), -EINVAL); /* nothing */
    zebu_json_writer_init(&w, buf, sizeof(buf));
    zebu_json_int(&w, 1);
    zebu_json_int(&w, 2); /* two top-level values */
    CHECK_INT_EQ(zebu_json_finish(&w), -EINVAL);
    zebu_json_writer_init(&w, buf, sizeof(buf));
    zebu_json_object_begin(&w);
    zebu_json_key(&w, "k");
    zebu_json_object_end(&w); /* the key's value missing */
    CHECK_INT_EQ(zebu_json_finish(&w), -EINVAL);
    static const char *const bad[] = {"\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                      "\xff", "a\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        zebu_json_writer_init(&w, buf, sizeof(buf));
        zebu_json_string(&w, bad[i]);
        CHECK_INT_EQ(zebu_json_finish(&w), -EINVAL);
    }
    zebu_json_writer_init(&w, buf, sizeof(buf));
    for (int i = 0; i <= ZEBU_JSON_DEPTH_MAX; i++)
        zebu_json_array_begin(&w);
    CHECK_INT_EQ(zebu_json_finish(&w), -E2BIG);
}

static struct zebu_json_token tok[64];

TEST(httplib_json_reader)
{
    static const char doc[] = " {\"a\" : [1, -2.5e+3, \"x\", true, false, null, {}],"
                              " \"b\\u0022q\": {\"c\": 9223372036854775807, \"d\": -9223372036854775808},"
                              " \"e\": \"\\ud83d\\ude00\\u00e9\\n\\/\", \"a\": 2 } ";
    long n = zebu_json_parse(doc, strlen(doc), tok, 64, 0);
    CHECK_INT_EQ(n, 20);
    CHECK_INT_EQ(tok[0].type, ZEBU_JSON_OBJECT);
    CHECK_UINT_EQ(tok[0].size, 4);
    CHECK_UINT_EQ(tok[0].next, 20);
    long a = zebu_json_get(doc, tok, 0, "a");
    CHECK_INT_EQ(a, 2); /* the first "a" */
    CHECK_INT_EQ(tok[a].type, ZEBU_JSON_ARRAY);
    CHECK_UINT_EQ(tok[a].size, 7);
    CHECK_INT_EQ(tok[a + 1].parent, a);
    int64_t v;
    CHECK_INT_EQ(zebu_json_get_int(doc, &tok[a + 1], &v), 0);
    CHECK_INT_EQ(v, 1);
    CHECK_INT_EQ(zebu_json_get_int(doc, &tok[a + 2], &v), -EINVAL); /* not an integer */
    CHECK_INT_EQ(tok[a + 4].type, ZEBU_JSON_TRUE);
    CHECK_INT_EQ(tok[a + 7].type, ZEBU_JSON_OBJECT);
    long b = zebu_json_get(doc, tok, 0, "b\"q");
    CHECK(b > 0 && tok[b].type == ZEBU_JSON_OBJECT);
    long c = zebu_json_get(doc, tok, (size_t)b, "c"), d = zebu_json_get(doc, tok, (size_t)b, "d");
    CHECK(zebu_json_get_int(doc, &tok[c], &v) == 0 && v == INT64_MAX);
    CHECK(zebu_json_get_int(doc, &tok[d], &v) == 0 && v == INT64_MIN);
    CHECK_INT_EQ(zebu_json_get(doc, tok, 0, "zz"), -1);
    CHECK_INT_EQ(zebu_json_get(doc, tok, (size_t)a, "x"), -1); /* not an object */
    long e = zebu_json_get(doc, tok, 0, "e");
    char s[16];
    CHECK_INT_EQ(zebu_json_get_string(doc, &tok[e], s, sizeof(s)), 8);
    CHECK_STR_EQ(s, "\xf0\x9f\x98\x80\xc3\xa9\n/");
    CHECK_INT_EQ(zebu_json_get_string(doc, &tok[e], s, 8), -ENOSPC);
    CHECK(zebu_json_string_eq(doc, &tok[e], "\xf0\x9f\x98\x80\xc3\xa9\n/"));
    CHECK(!zebu_json_string_eq(doc, &tok[e], "\xf0\x9f\x98\x80\xc3\xa9\n"));

    static const char num[] = "[9223372036854775808, -9223372036854775809, -0, 0]";
    CHECK_INT_EQ(zebu_json_parse(num, strlen(num), tok, 64, 0), 5);
    CHECK_INT_EQ(zebu_json_get_int(num, &tok[1], &v), -ERANGE);
    CHECK_INT_EQ(zebu_json_get_int(num, &tok[2], &v), -ERANGE);
    CHECK(zebu_json_get_int(num, &tok[3], &v) == 0 && v == 0);
    CHECK_INT_EQ(zebu_json_parse("\"x\"", 3, tok, 64, 0), 1); /* a scalar at the top */
}

TEST(httplib_json_reader_refusals)
{
    static const char *const bad[] = {
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{1:2}", "01", "1.", ".5",
        "-", "1e", "+1", "tru", "truex", "nul", "[1]x", "1 2", "\"abc", "\"a\x01\"", "\"\\x\"",
        "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\xc3\"",
        "\"\xed\xa0\x80\"", "\"\xc0\xaf\"", "[\"a\":1]", "{\"a\"}", "NaN", "[-]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long n = zebu_json_parse(bad[i], strlen(bad[i]), tok, 64, 0);
        CHECK_AT(__FILE__, __LINE__, n == -EINVAL, "case %zu '%s': %ld", i, bad[i], n);
    }
    CHECK_INT_EQ(zebu_json_parse("[[[1]]]", 7, tok, 64, 3), 4);
    CHECK_INT_EQ(zebu_json_parse("[[[[1]]]]", 9, tok, 64, 3), -E2BIG);
    CHECK_INT_EQ(zebu_json_parse("[1,2,3]", 7, tok, 3, 0), -ENOSPC);
    CHECK_INT_EQ(zebu_json_parse("[1,2,3]", 7, tok, 4, 0), 4);
    /* deep nesting costs no C stack: refused by depth, not by a crash */
    static char deep[100001];
    memset(deep, '[', sizeof(deep) - 1);
    CHECK_INT_EQ(zebu_json_parse(deep, sizeof(deep) - 1, tok, 64, 100000), -ENOSPC);
}

/* Writer output reads back to the same values. */
TEST(httplib_json_round_trip)
{
    static const char *const strs[] = {"", "plain", "q\"b\\s", "\x01\x7f ctl", "\xe2\x82\xac",
                                       "\xf4\x8f\xbf\xbf"};
    static const int64_t ints[] = {0, -1, 1, INT64_MAX, INT64_MIN, 1000000007};
    char buf[512], s[64];
    struct zebu_json_writer w;

    zebu_json_writer_init(&w, buf, sizeof(buf));
    zebu_json_object_begin(&w);
    zebu_json_key(&w, "strs");
    zebu_json_array_begin(&w);
    for (size_t i = 0; i < 6; i++)
        zebu_json_string(&w, strs[i]);
    zebu_json_array_end(&w);
    zebu_json_key(&w, "ints");
    zebu_json_array_begin(&w);
    for (size_t i = 0; i < 6; i++)
        zebu_json_int(&w, ints[i]);
    zebu_json_array_end(&w);
    zebu_json_object_end(&w);
    long len = zebu_json_finish(&w);
    CHECK(len > 0);
    CHECK_INT_EQ(zebu_json_parse(buf, (size_t)len, tok, 64, 0), 17);
    long a = zebu_json_get(buf, tok, 0, "strs"), b = zebu_json_get(buf, tok, 0, "ints");
    for (size_t i = 0; i < 6; i++) {
        CHECK(zebu_json_get_string(buf, &tok[a + 1 + (long)i], s, sizeof(s)) ==
              (long)strlen(strs[i]));
        CHECK_STR_EQ(s, strs[i]);
        int64_t v;
        CHECK(zebu_json_get_int(buf, &tok[b + 1 + (long)i], &v) == 0 && v == ints[i]);
    }
}
