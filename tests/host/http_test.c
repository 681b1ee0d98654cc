/*
 * http_test.c - apps/webserver/http*.c: every status the server sends,
 * requests split at every byte and pipelined in one buffer, HEAD against
 * GET, conditional and range requests, the limits, the header builder and
 * the stats page. Requests are served from the demo archive of
 * tests/host/fuzz_http.c; file bodies must point into it (zero copy).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/webserver/http.h"
#include "runner.h"

const struct site *ws_demo_site(size_t *image_size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct site_file demo_file(const char *path)
{
    struct site_file f;

    memset(&f, 0, sizeof(f));
    if (site_find(ws_demo_site(NULL), path, strlen(path), &f) != 0)
        abort();
    return f;
}

/* Parse text (len bytes) all at once and answer it; returns http_parse's value. */
static int serve_n(const char *text, size_t len, struct http_response *out)
{
    struct http_parser p;

    http_parser_init(&p);
    memset(out, 0, sizeof(*out));
    return http_handle(ws_demo_site(NULL), NULL, &p, text, len, out);
}

static int serve(const char *text, struct http_response *out)
{
    return serve_n(text, strlen(text), out);
}

/* Is "line\r\n" one of the header lines of r? */
static int has_line(const struct http_response *r, const char *line)
{
    char want[256];
    int n = snprintf(want, sizeof(want), "\r\n%s\r\n", line);

    for (size_t i = 0; i + (size_t)n <= r->head_len; i++)
        if (memcmp(r->head + i, want, (size_t)n) == 0)
            return 1;
    return 0;
}

static int has_field(const struct http_response *r, const char *name)
{
    char want[64];
    int n = snprintf(want, sizeof(want), "\r\n%s:", name);

    for (size_t i = 0; i + (size_t)n <= r->head_len; i++)
        if (memcmp(r->head + i, want, (size_t)n) == 0)
            return 1;
    return 0;
}

static int status_of(const char *text)
{
    static struct http_response r;

    return serve(text, &r) > 0 ? r.status : 0;
}

#define CHECK_LINE(r, line)                                                                        \
    CHECK_AT(__FILE__, __LINE__, has_line((r), (line)), "no \"%s\" in:\n%.*s", (line),             \
             (int)(r)->head_len, (r)->head)
#define CHECK_NO_FIELD(r, name)                                                                    \
    CHECK_AT(__FILE__, __LINE__, !has_field((r), (name)), "a %s field in:\n%.*s", (name),          \
             (int)(r)->head_len, (r)->head)
#define CHECK_STATUS(text, expected)                                                               \
    do {                                                                                           \
        int s_ = status_of(text);                                                                  \
        CHECK_AT(__FILE__, __LINE__, s_ == (expected), "%s -> %d, expected %d", #text, s_,         \
                 (expected));                                                                      \
    } while (0)

#define H11 " HTTP/1.1\r\nHost: zebu\r\n"

TEST(http_get_serves_the_file_from_the_archive)
{
    struct http_response r;
    struct site_file f = demo_file("index.html");
    const char *req = "GET /" H11 "\r\n";

    CHECK_INT_EQ(serve(req, &r), strlen(req));
    CHECK_INT_EQ(r.status, 200);
    CHECK(!r.close);
    CHECK_PTR_EQ(r.body, f.data); /* by reference: zero copies */
    CHECK_UINT_EQ(r.body_len, f.len);
    CHECK(memcmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK_LINE(&r, "Server: Zebu");
    CHECK_LINE(&r, "Content-Type: text/html; charset=utf-8");
    char line[64];
    snprintf(line, sizeof(line), "Content-Length: %zu", f.len);
    CHECK_LINE(&r, line);
    snprintf(line, sizeof(line), "ETag: \"%s\"", f.etag);
    CHECK_LINE(&r, line);
    CHECK_LINE(&r, "Accept-Ranges: bytes");
    CHECK_NO_FIELD(&r, "Connection");
    CHECK_NO_FIELD(&r, "Date"); /* no clock */
    CHECK(r.head_len >= 4 && memcmp(r.head + r.head_len - 4, "\r\n\r\n", 4) == 0);
}

TEST(http_head_has_the_get_headers_and_no_body)
{
    static struct http_response get, head;
    const char *paths[] = {"/a.txt", "/", "/nope", "/big.bin", "/_stats", "/%zz"};

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char g[128], h[128];
        snprintf(g, sizeof(g), "GET %s" H11 "\r\n", paths[i]);
        snprintf(h, sizeof(h), "HEAD %s" H11 "\r\n", paths[i]);
        serve(g, &get);
        serve(h, &head);
        CHECK_INT_EQ(head.status, get.status);
        CHECK_UINT_EQ(head.head_len, get.head_len);
        CHECK(memcmp(head.head, get.head, get.head_len) == 0);
        CHECK_UINT_EQ(head.body_len, 0);
        CHECK(get.body_len > 0);
    }
    /* With a range too. */
    serve("HEAD /a.txt" H11 "Range: bytes=0-9\r\n\r\n", &head);
    CHECK_INT_EQ(head.status, 206);
    CHECK_LINE(&head, "Content-Length: 10");
    CHECK_UINT_EQ(head.body_len, 0);
}

TEST(http_directories_and_percent_decoding)
{
    struct http_response r;

    serve("GET /docs/" H11 "\r\n", &r);
    CHECK_INT_EQ(r.status, 200);
    CHECK_PTR_EQ(r.body, demo_file("docs/index.html").data);
    serve("GET /docs" H11 "\r\n", &r);
    CHECK_PTR_EQ(r.body, demo_file("docs/index.html").data);
    serve("GET /docs//x.css?v=3" H11 "\r\n", &r);
    CHECK_INT_EQ(r.status, 200);
    CHECK_LINE(&r, "Content-Type: text/css; charset=utf-8");
    serve("GET /%61%2etxt" H11 "\r\n", &r);
    CHECK_PTR_EQ(r.body, demo_file("a.txt").data);
    /* absolute-form: the path is what counts */
    serve("GET http://zebu/a.txt?q HTTP/1.1\r\nHost: zebu\r\n\r\n", &r);
    CHECK_PTR_EQ(r.body, demo_file("a.txt").data);
    serve("GET HTTPS://zebu HTTP/1.1\r\nHost: zebu\r\n\r\n", &r);
    CHECK_PTR_EQ(r.body, demo_file("index.html").data);
    /* traversal is a bad request; the connection stays usable */
    serve("GET /docs/../a.txt" H11 "\r\n", &r);
    CHECK_INT_EQ(r.status, 400);
    CHECK(!r.close);
    CHECK_STATUS("GET /%2e%2e/a.txt" H11 "\r\n", 400);
    CHECK_STATUS("GET /a%00" H11 "\r\n", 400);
    CHECK_STATUS("GET a.txt" H11 "\r\n", 400);
    CHECK_STATUS("GET *" H11 "\r\n", 400);
}

TEST(http_404)
{
    struct http_response r;

    serve("GET /nope.html" H11 "\r\n", &r);
    CHECK_INT_EQ(r.status, 404);
    CHECK(!r.close);
    CHECK_LINE(&r, "Content-Type: text/plain; charset=utf-8");
    CHECK(r.body_len > 0 && memcmp(r.body, "404 Not Found", 13) == 0);
    char line[64];
    snprintf(line, sizeof(line), "Content-Length: %zu", r.body_len);
    CHECK_LINE(&r, line);
    CHECK_NO_FIELD(&r, "ETag");
    CHECK_STATUS("GET /a.txt/" H11 "\r\n", 404);
}

TEST(http_ranges_206)
{
    struct http_response r;
    struct site_file f = demo_file("a.txt"); /* 100 bytes */
    static const struct {
        const char *range;
        unsigned first, last;
    } cases[] = {
        {"bytes=10-19", 10, 19},   {"bytes=90-", 90, 99},
        {"bytes=-5", 95, 99},      {"bytes=-500", 0, 99},
        {"bytes=50-1000", 50, 99}, {"bytes=0-0", 0, 0},
        {"BYTES=99-99", 99, 99},   {"bytes=0-99999999999999999999999", 0, 99},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char req[160], line[64];
        snprintf(req, sizeof(req), "GET /a.txt" H11 "Range: %s\r\n\r\n", cases[i].range);
        serve(req, &r);
        CHECK_AT(__FILE__, __LINE__, r.status == 206, "%s: %d", cases[i].range, r.status);
        CHECK_PTR_EQ(r.body, f.data + cases[i].first);
        CHECK_UINT_EQ(r.body_len, cases[i].last - cases[i].first + 1);
        snprintf(line, sizeof(line), "Content-Range: bytes %u-%u/100", cases[i].first,
                 cases[i].last);
        CHECK_LINE(&r, line);
        snprintf(line, sizeof(line), "Content-Length: %u", cases[i].last - cases[i].first + 1);
        CHECK_LINE(&r, line);
        CHECK(memcmp(r.head, "HTTP/1.1 206 Partial Content\r\n", 30) == 0);
        CHECK_LINE(&r, "Accept-Ranges: bytes");
    }
}

TEST(http_ranges_416_and_ignored)
{
    struct http_response r;
    struct site_file f = demo_file("a.txt");
    char req[200];

    static const char *const unsatisfiable[] = {"bytes=100-", "bytes=100-200", "bytes=-0",
                                                "bytes=99999999999999999999999-"};
    for (size_t i = 0; i < sizeof(unsatisfiable) / sizeof(unsatisfiable[0]); i++) {
        snprintf(req, sizeof(req), "GET /a.txt" H11 "Range: %s\r\n\r\n", unsatisfiable[i]);
        serve(req, &r);
        CHECK_AT(__FILE__, __LINE__, r.status == 416, "%s: %d", unsatisfiable[i], r.status);
        CHECK_LINE(&r, "Content-Range: bytes */100");
        CHECK(!r.close);
    }
    serve("GET /empty.txt" H11 "Range: bytes=0-\r\n\r\n", &r);
    CHECK_INT_EQ(r.status, 416);
    CHECK_LINE(&r, "Content-Range: bytes */0");

    /* Several ranges, other units, bad syntax, a stale If-Range: the whole file. */
    static const char *const ignored[] = {
        "Range: bytes=0-1,5-6\r\n",
        "Range: items=0-1\r\n",
        "Range: bytes=5-2\r\n",
        "Range: bytes=x-\r\n",
        "Range: bytes=-\r\n",
        "Range: bytes=1-2x\r\n",
        "Range: bytes 0-1\r\n",
        "Range: bytes=0-1\r\nRange: bytes=2-3\r\n",
        "Range: bytes=0-1\r\nIf-Range: \"0000000000000000\"\r\n",
        "Range: bytes=0-1\r\nIf-Range: Sat, 01 Jan 2000 00:00:00 GMT\r\n",
    };
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
        snprintf(req, sizeof(req), "GET /a.txt" H11 "%s\r\n", ignored[i]);
        serve(req, &r);
        CHECK_AT(__FILE__, __LINE__, r.status == 200 && r.body == f.data && r.body_len == 100,
                 "%s: %d", ignored[i], r.status);
    }
    /* A matching If-Range keeps the range. */
    snprintf(req, sizeof(req), "GET /a.txt" H11 "Range: bytes=1-2\r\nIf-Range: \"%s\"\r\n\r\n",
             f.etag);
    serve(req, &r);
    CHECK_INT_EQ(r.status, 206);
    CHECK_UINT_EQ(r.body_len, 2);
}

TEST(http_etag_round_trip_304)
{
    struct http_response r;
    char req[300], etag[64];

    serve("GET /a.txt" H11 "\r\n", &r);
    const char *e = NULL;
    for (size_t i = 0; i + 6 < r.head_len && e == NULL; i++)
        if (memcmp(r.head + i, "ETag: ", 6) == 0)
            e = r.head + i + 6;
    CHECK(e != NULL);
    if (e == NULL)
        return;
    size_t n = (size_t)(strchr(e, '\r') - e);
    CHECK_UINT_EQ(n, SITE_ETAG_HEX + 2);
    snprintf(etag, sizeof(etag), "%.*s", (int)n, e);

    const char *forms[] = {"%s", "W/%s", "\"x\", %s", "\"x\",%s ,\"y\"", "*"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char value[128];
        snprintf(value, sizeof(value), forms[i], etag);
        snprintf(req, sizeof(req), "GET /a.txt" H11 "If-None-Match: %s\r\n\r\n", value);
        serve(req, &r);
        CHECK_AT(__FILE__, __LINE__, r.status == 304, "If-None-Match: %s -> %d", value, r.status);
        CHECK_UINT_EQ(r.body_len, 0);
        char line[128];
        snprintf(line, sizeof(line), "ETag: %s", etag);
        CHECK_LINE(&r, line);
        CHECK_NO_FIELD(&r, "Content-Length");
        CHECK(!r.close);
    }
    /* In a second field line; before Range. */
    snprintf(req, sizeof(req),
             "GET /a.txt" H11 "If-None-Match: \"a\"\r\nIf-None-Match: %s\r\n"
             "Range: bytes=0-1\r\n\r\n",
             etag);
    serve(req, &r);
    CHECK_INT_EQ(r.status, 304);
    /* No match, or a malformed list: the file. */
    CHECK_STATUS("GET /a.txt" H11 "If-None-Match: \"0000000000000000\"\r\n\r\n", 200);
    CHECK_STATUS("GET /a.txt" H11 "If-None-Match: nonsense\r\n\r\n", 200);
    CHECK_STATUS("GET /a.txt" H11 "If-None-Match: \"abc\r\n\r\n", 200);
    CHECK_STATUS("GET /a.txt" H11 "If-None-Match: W/\r\n\r\n", 200);
    /* A different file has a different tag. */
    snprintf(req, sizeof(req), "GET /big.bin" H11 "If-None-Match: %s\r\n\r\n", etag);
    CHECK_INT_EQ(serve(req, &r) > 0 ? r.status : 0, 200);
    /* * on a missing file is still 404. */
    CHECK_STATUS("GET /nope" H11 "If-None-Match: *\r\n\r\n", 404);
}

TEST(http_400_malformed_requests)
{
    CHECK_STATUS("GET / HTTP/1.1\r\n\r\n", 400);          /* no Host in 1.1 */
    CHECK_STATUS("GET /" H11 "Host: again\r\n\r\n", 400); /* two Hosts */
    CHECK_STATUS("GET / HTTP/1.1\nHost: a\r\n\r\n", 400); /* bare LF */
    CHECK_STATUS("GET / HTTP/1.1\r\nHost: a\n\r\n", 400);
    CHECK_STATUS("GET / HTTP/1.1\rHost: a\r\n\r\n", 400); /* bare CR */
    CHECK_STATUS("GET /" H11 "X: a\r b\r\n\r\n", 400);
    CHECK_STATUS("GET /" H11 "X: a\r\n b\r\n\r\n", 400); /* obs-fold */
    CHECK_STATUS("GET /" H11 "X: a\r\n\tb\r\n\r\n", 400);
    CHECK_STATUS("GET /" H11 "X : a\r\n\r\n", 400); /* space before colon */
    CHECK_STATUS("GET /" H11 ": a\r\n\r\n", 400);   /* empty name */
    CHECK_STATUS("GET /" H11 "X(: a\r\n\r\n", 400); /* not a token */
    CHECK_STATUS("GET /" H11 "No colon\r\n\r\n", 400);
    CHECK_STATUS("GET /" H11 "X: a\x01"
                 "b\r\n\r\n",
                 400); /* control in a value */
    CHECK_STATUS("GET /" H11 "X: a\x7f\r\n\r\n", 400);
    CHECK_STATUS("G(T /" H11 "\r\n", 400); /* method not a token */
    CHECK_STATUS(" GET /" H11 "\r\n", 400);
    CHECK_STATUS("GET  /" H11 "\r\n", 400); /* two spaces */
    CHECK_STATUS("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
    CHECK_STATUS("GET /\r\nHost: a\r\n\r\n", 400); /* HTTP/0.9 style */
    CHECK_STATUS("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
    CHECK_STATUS("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
    CHECK_STATUS("GET / HTTP/1\r\nHost: a\r\n\r\n", 400);
    CHECK_STATUS("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400); /* control in the target */
    CHECK_STATUS("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    CHECK_STATUS("\r\nGET /" H11 "\r\n", 400); /* leading empty line */
    CHECK_STATUS("GET /" H11 "Content-Length: abc\r\n\r\n", 400);
    CHECK_STATUS("GET /" H11 "Content-Length: -1\r\n\r\n", 400);
    CHECK_STATUS("GET /" H11 "Content-Length: 0\r\nContent-Length: 1\r\n\r\n", 400);
    CHECK_STATUS("GET /" H11 "Content-Length: 1, 1\r\n\r\n", 400);
    CHECK_STATUS("GET /" H11 "Content-Length: 9999999999999999999\r\n\r\n", 400);
    CHECK_STATUS("GET /" H11 "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 400);
    struct http_response r;
    serve("GET / HTTP/1.1\r\n\r\n", &r);
    CHECK(r.close);
    CHECK_LINE(&r, "Connection: close");
    CHECK(r.body_len > 0 && memcmp(r.body, "400 Bad Request", 15) == 0);
}

TEST(http_accepted_variants)
{
    CHECK_STATUS("GET / HTTP/1.0\r\n\r\n", 200);            /* Host optional in 1.0 */
    CHECK_STATUS("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 200); /* a later 1.x: as 1.1 */
    CHECK_STATUS("GET / HTTP/1.1\r\nhOsT: a\r\n\r\n", 200);
    CHECK_STATUS("GET / HTTP/1.1\r\nHost:\r\n\r\n", 200);        /* empty Host */
    CHECK_STATUS("GET /" H11 "X:a\r\nY:  \t b \t\r\n\r\n", 200); /* OWS */
    CHECK_STATUS("GET /" H11 "X: caf\xc3\xa9\r\n\r\n", 200);     /* obs-text in a value */
    CHECK_STATUS("GET /" H11 "Content-Length: 0\r\n\r\n", 200);
    CHECK_STATUS("GET /" H11 "Content-Length: 0\r\nContent-Length: 0\r\n\r\n", 200);
}

TEST(http_405_413_505)
{
    struct http_response r;

    serve("POST /" H11 "Content-Length: 3\r\n\r\nabc", &r);
    CHECK_INT_EQ(r.status, 405);
    CHECK_LINE(&r, "Allow: GET, HEAD");
    CHECK_LINE(&r, "Connection: close");
    CHECK(r.close);
    CHECK_STATUS("OPTIONS *" H11 "\r\n", 405);
    CHECK_STATUS("get /" H11 "\r\n", 405); /* methods are case-sensitive */
    CHECK_STATUS("DELETE /a.txt" H11 "\r\n", 405);
    CHECK_STATUS("GETS /" H11 "\r\n", 405);
    CHECK_STATUS("HEADER /" H11 "\r\n", 405);

    serve("GET /" H11 "Content-Length: 5\r\n\r\nhello", &r);
    CHECK_INT_EQ(r.status, 413);
    CHECK(r.close);
    CHECK_STATUS("GET /" H11 "Transfer-Encoding: chunked\r\n\r\n", 413);
    CHECK_STATUS("HEAD /" H11 "Content-Length: 1\r\n\r\n", 413);

    serve("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &r);
    CHECK_INT_EQ(r.status, 505);
    CHECK(r.close);
    CHECK_STATUS("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
    CHECK_STATUS("GET / HTTP/3.1\r\n", 505); /* known from the request line alone */
}

TEST(http_414_request_line_limit)
{
    static char req[HTTP_HEADER_MAX + 100];
    struct http_response r;
    struct http_parser p;

    /* request line of exactly HTTP_REQUEST_LINE_MAX bytes: fine (404) */
    size_t fixed = strlen("GET / HTTP/1.1");
    memcpy(req, "GET /", 5);
    memset(req + 5, 'x', HTTP_REQUEST_LINE_MAX - fixed);
    strcpy(req + 5 + HTTP_REQUEST_LINE_MAX - fixed, H11 "\r\n");
    CHECK_INT_EQ(serve(req, &r) > 0 ? r.status : 0, 404);
    /* one byte more: 414 */
    memcpy(req, "GET /", 5);
    memset(req + 5, 'x', HTTP_REQUEST_LINE_MAX - fixed + 1);
    strcpy(req + 5 + HTTP_REQUEST_LINE_MAX - fixed + 1, H11 "\r\n");
    CHECK_INT_EQ(serve(req, &r) > 0 ? r.status : 0, 414);
    CHECK(r.close);
    /* ... found before the line ends: the bytes so far decide */
    http_parser_init(&p);
    CHECK_INT_EQ(http_handle(ws_demo_site(NULL), NULL, &p, req, HTTP_REQUEST_LINE_MAX + 1, &r), 0);
    CHECK_INT_EQ(http_handle(ws_demo_site(NULL), NULL, &p, req, HTTP_REQUEST_LINE_MAX + 2, &r),
                 HTTP_REQUEST_LINE_MAX + 2);
    CHECK_INT_EQ(r.status, 414);
}

TEST(http_431_header_limits)
{
    static char req[HTTP_HEADER_MAX + 200];
    struct http_response r;
    size_t n;

    /* 100 fields (Host included): fine; 101: 431 */
    for (int fields = 100; fields <= 101; fields++) {
        n = (size_t)sprintf(req, "GET /" H11);
        for (int i = 1; i < fields; i++)
            n += (size_t)sprintf(req + n, "X-%d: v\r\n", i);
        strcpy(req + n, "\r\n");
        CHECK_INT_EQ(serve(req, &r) > 0 ? r.status : 0, fields == 100 ? 200 : 431);
    }
    /* a block of exactly HTTP_HEADER_MAX bytes: fine; one more: 431 */
    for (size_t total = HTTP_HEADER_MAX; total <= HTTP_HEADER_MAX + 1; total++) {
        n = (size_t)sprintf(req, "GET /" H11 "X: ");
        size_t pad = total - n - 4;
        memset(req + n, 'v', pad);
        strcpy(req + n + pad, "\r\n\r\n");
        CHECK_UINT_EQ(strlen(req), total);
        int used = serve(req, &r);
        CHECK_INT_EQ(r.status, total == HTTP_HEADER_MAX ? 200 : 431);
        CHECK_INT_EQ(used, HTTP_HEADER_MAX);
    }
    /* a full buffer without the end: decided, not "need more" */
    memset(req, 'a', HTTP_HEADER_MAX);
    memcpy(req, "GET /" H11, strlen("GET /" H11));
    CHECK_INT_EQ(serve_n(req, HTTP_HEADER_MAX, &r), HTTP_HEADER_MAX);
    CHECK_INT_EQ(r.status, 431);
    CHECK(r.close);
}

TEST(http_connection_keep_alive_and_close)
{
    struct http_response r;

    serve("GET /" H11 "\r\n", &r);
    CHECK(!r.close);
    serve("GET /" H11 "Connection: close\r\n\r\n", &r);
    CHECK(r.close);
    CHECK_INT_EQ(r.status, 200);
    CHECK_LINE(&r, "Connection: close");
    serve("GET /" H11 "Connection: TE, Close\r\n\r\n", &r);
    CHECK(r.close);
    serve("GET / HTTP/1.0\r\n\r\n", &r);
    CHECK(r.close);
    CHECK_LINE(&r, "Connection: close");
    serve("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r);
    CHECK(!r.close);
    CHECK_LINE(&r, "Connection: keep-alive");
    serve("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &r);
    CHECK(r.close);
    serve("GET /nope HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r);
    CHECK(!r.close);
    CHECK_INT_EQ(r.status, 404);
}

/* Requests in one buffer, answered one after another as main.c does. */
TEST(http_pipelined_requests_in_one_buffer)
{
    const char *stream = "GET /a.txt" H11 "\r\n"
                         "HEAD /docs/" H11 "\r\n"
                         "GET /nope" H11 "\r\n"
                         "GET /a.txt" H11 "Range: bytes=0-3\r\n\r\n"
                         "GET /index.html" H11 "Connection: close\r\n\r\n"
                         "GET /never" H11 "\r\n";
    static const int statuses[] = {200, 200, 404, 206, 200};
    struct http_response r;
    struct http_parser p;
    size_t off = 0, len = strlen(stream);
    int i = 0;

    http_parser_init(&p);
    int n;
    while ((n = http_handle(ws_demo_site(NULL), NULL, &p, stream + off, len - off, &r)) > 0) {
        CHECK(i < 5);
        if (i >= 5)
            break;
        CHECK_INT_EQ(r.status, statuses[i]);
        CHECK_INT_EQ(memcmp(stream + off + n - 4, "\r\n\r\n", 4), 0);
        off += (size_t)n;
        i++;
        http_parser_init(&p);
        if (r.close)
            break;
    }
    CHECK_INT_EQ(i, 5);
    CHECK(r.close);
    CHECK(memcmp(stream + off, "GET /never", 10) == 0); /* never read */
}

/* Every split point of a request gives "need more" and then the same answer. */
TEST(http_request_split_at_every_byte)
{
    const char *reqs[] = {
        "GET /a.txt" H11 "Range: bytes=3-7\r\nIf-None-Match: \"x\"\r\nConnection: close\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: b\r b\r\n\r\n", /* an error in the middle */
        "POST / HTTP/1.1\r\nHost: a\r\n\r\n",
    };
    for (size_t k = 0; k < sizeof(reqs) / sizeof(reqs[0]); k++) {
        const char *req = reqs[k];
        size_t len = strlen(req);
        struct http_response whole, part;
        int used = serve(req, &whole);
        CHECK(used > 0);
        for (size_t split = 0; split <= len; split++) {
            struct http_parser p;
            http_parser_init(&p);
            int a = http_handle(ws_demo_site(NULL), NULL, &p, req, split, &part);
            if (a > 0) { /* decided before the end: only an error may be */
                CHECK(split == len || whole.status >= 400);
                CHECK_INT_EQ(part.status, whole.status);
                continue;
            }
            int b = http_handle(ws_demo_site(NULL), NULL, &p, req, len, &part);
            CHECK_INT_EQ(b, used);
            CHECK_INT_EQ(part.status, whole.status);
            CHECK_UINT_EQ(part.head_len, whole.head_len);
            CHECK(memcmp(part.head, whole.head, whole.head_len) == 0);
            CHECK_PTR_EQ(part.body, whole.body);
        }
        /* and one byte at a time through the same parser */
        struct http_parser p;
        http_parser_init(&p);
        int r = 0;
        size_t n = 0;
        while (r == 0 && n < len)
            r = http_handle(ws_demo_site(NULL), NULL, &p, req, ++n, &part);
        CHECK_INT_EQ(part.status, whole.status);
        if (whole.status < 400)
            CHECK_INT_EQ(r, used);
    }
}

TEST(http_stats_page_and_accounting)
{
    struct http_stats st = {0};
    struct http_response r;
    struct http_parser p;
    const char *req = "GET /a.txt" H11 "\r\n";

    st.connections_accepted = 3;
    st.connections_open = 1;
    st.connections_refused = 2;
    st.tw_syn_accepted = 7;
    st.tw_syn_refused = 1;
    st.zero_window_aborts = 6;
    st.reasm_bytes = 8;
    st.reasm_bytes_max = 9;
    st.reasm_bytes_limit = 10;
    st.syncookies_sent = 40;
    st.syncookies_accepted = 3;
    st.syncookies_rejected = 2;
    for (int i = 0; i < 2; i++) {
        serve(req, &r);
        http_stats_account(&st, &r);
    }
    serve("GET /nope" H11 "\r\n", &r);
    http_stats_account(&st, &r);
    http_parser_init(&p);
    const char *sreq = "GET /_stats?x" H11 "\r\n";
    CHECK(http_handle(ws_demo_site(NULL), &st, &p, sreq, strlen(sreq), &r) > 0);
    CHECK_INT_EQ(r.status, 200);
    CHECK_LINE(&r, "Cache-Control: no-store");
    CHECK_LINE(&r, "Content-Type: text/plain; charset=utf-8");
    CHECK(r.body == r.scratch);
    char page[HTTP_SCRATCH_MAX + 1];
    memcpy(page, r.body, r.body_len);
    page[r.body_len] = 0;
    CHECK(strstr(page, "\nrequests 3\n") != NULL);
    CHECK(strstr(page, "\nstatus_200 2\n") != NULL);
    CHECK(strstr(page, "\nstatus_404 1\n") != NULL);
    CHECK(strstr(page, "\nconnections_accepted 3\n") != NULL);
    CHECK(strstr(page, "\nconnections_open 1\n") != NULL);
    CHECK(strstr(page, "\nconnections_refused 2\n") != NULL);
    CHECK(strstr(page, "\nstack_tw_syn_accepted 7\n") != NULL);
    CHECK(strstr(page, "\nstack_tw_syn_refused 1\n") != NULL);
    CHECK(strstr(page, "\nzero_window_aborts 6\n") != NULL);
    CHECK(strstr(page, "\nreasm_bytes 8\nreasm_bytes_max 9\nreasm_bytes_limit 10\n") != NULL);
    CHECK(strstr(page, "\nstack_syncookies_sent 40\n") != NULL);
    CHECK(strstr(page, "\nstack_syncookies_accepted 3\n") != NULL);
    CHECK(strstr(page, "\nstack_syncookies_rejected 2\n") != NULL);
    CHECK(strstr(page, "\nbody_bytes ") != NULL);
    CHECK_UINT_EQ(st.body_bytes, 2 * 100 + strlen("404 Not Found\n"));
    http_stats_account(&st, &r);
    CHECK_UINT_EQ(st.status[HTTP_SLOT_200], 3);
    /* too small a buffer */
    char tiny[16];
    CHECK_INT_EQ(http_stats_format(&st, tiny, sizeof(tiny)), -ENOSPC);
    st.nomem.syn_dropped = 4;
    st.connections_reset_nomem = 5;
    CHECK(http_stats_format(&st, page, sizeof(page) - 1) > 0);
    CHECK(strstr(page, "\nsyn_dropped_nomem 4\n") != NULL);
    CHECK(strstr(page, "\nconnections_reset_nomem 5\n") != NULL);
    /* every counter at its largest still fits */
    memset(&st, 0xff, sizeof(st));
    CHECK(http_stats_format(&st, page, sizeof(page) - 1) > 0);
    /* Not /_stats: */
    CHECK_STATUS("GET /_statsx" H11 "\r\n", 404);
}

TEST(http_format_head_fields_and_overflow)
{
    char buf[HTTP_RESPONSE_HEAD_MAX];
    struct http_head h = {
        .status = 206,
        .content_type = "text/plain",
        .has_length = true,
        .content_length = 10,
        .etag = "0123456789abcdefTRAILING",
        .accept_ranges = true,
        .range = HTTP_RANGE_BYTES,
        .range_first = 5,
        .range_last = 14,
        .range_total = UINT64_MAX,
        .close = true,
    };
    const char *want =
        "HTTP/1.1 206 Partial Content\r\nServer: Zebu\r\nContent-Type: text/plain\r\n"
        "Content-Length: 10\r\nETag: \"0123456789abcdef\"\r\nAccept-Ranges: bytes\r\n"
        "Content-Range: bytes 5-14/18446744073709551615\r\nConnection: close\r\n\r\n";
    int n = http_format_head(buf, sizeof(buf), &h);
    CHECK_INT_EQ(n, strlen(want));
    CHECK(n > 0 && memcmp(buf, want, (size_t)n) == 0);
    for (size_t cap = 0; cap < strlen(want); cap++)
        CHECK_INT_EQ(http_format_head(buf, cap, &h), -ENOSPC);
    CHECK_INT_EQ(http_format_head(buf, strlen(want), &h), strlen(want)); /* no NUL needed */
    struct http_head e = {.status = 799};
    n = http_format_head(buf, sizeof(buf), &e);
    CHECK(n > 0 && memcmp(buf, "HTTP/1.1 799 Unknown\r\nServer: Zebu\r\n\r\n", (size_t)n) == 0);
    CHECK_STR_EQ(http_reason(431), "Request Header Fields Too Large");
    CHECK_STR_EQ(http_reason(413), "Content Too Large");
}

/* The fuzz target's seeds and a few past finds run here under gcc too. */
TEST(http_fuzz_target_replays)
{
#define IN(s)                                                                                      \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }
    static const struct {
        const char *s;
        size_t len;
    } inputs[] = {
        IN("\000GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n"),
        IN("\006GET /a.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=5-9\r\n\r\nHEAD /_stats "
           "HTTP/1.0\r\n\r\n"),
        IN("\002GET /\r\r\n\r\n"),
        IN("\001\014\000\001\100\000\200\300\001\001"),
        IN("\001\000\000\000\020\000"),
        IN("\001"),
    };
#undef IN
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
        CHECK_INT_EQ(LLVMFuzzerTestOneInput((const uint8_t *)inputs[i].s, inputs[i].len), 0);
}
