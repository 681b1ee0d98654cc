/*
 * http_test.c - apps/webserver/http.c over lib/http: whole connections
 * through the in-memory transport (tests/host/http_lib_fake.c), served
 * from the demo archive of tests/host/fuzz_http.c. Every status the server
 * sends and whether the connection stays, HEAD against GET byte for byte,
 * conditional and range requests, file bodies by reference into the
 * archive (zero copy), pipelined requests split at every byte, the
 * counters (the library's refusals included) and the stats page.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/webserver/http.h"
#include "runner.h"
#include "tests/host/http_lib_fake.h"

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

static struct http_stats stats;
static struct fake_io io;
static struct fake_response resp[8];
static int nresp;
static char mem[32768];

/* Serve text on one connection (in pieces of piece bytes; 0: whole) with
 * fresh counters unless keep_stats; parse up to 8 responses (head_only:
 * the first is a HEAD's). Returns how many. */
static int serve_ex(const char *text, size_t len, size_t piece, bool head_only, bool keep_stats)
{
    static struct web w;
    struct zebu_http_limits lim;

    if (!keep_stats)
        memset(&stats, 0, sizeof(stats));
    w = (struct web){ws_demo_site(NULL), &stats, NULL};
    web_limits(&lim, 0);
    struct zebu_http_server *srv = zebu_http_server_create(&lim);
    if (srv == NULL || web_setup(srv, &w) != 0)
        abort();
    fake_io_free(&io);
    fake_io_init(&io, text, len);
    io.piece = piece;
    if (zebu_http_serve_io_mem(srv, &io.io, mem, zebu_http_conn_bytes(srv)) != 0)
        abort();
    zebu_http_server_destroy(srv);
    size_t pos = 0;
    nresp = 0;
    while (pos < io.out_len && nresp < 8 &&
           fake_parse_response(io.out, io.out_len, &pos, head_only && nresp == 0, &resp[nresp]) == 0)
        nresp++;
    return nresp;
}

static int serve(const char *text)
{
    return serve_ex(text, strlen(text), 0, false, false);
}

static int status_of(const char *text)
{
    return serve(text) > 0 ? resp[0].status : 0;
}

/* Is "line\r\n" one of the header lines of r? */
static bool has_line(const struct fake_response *r, const char *line)
{
    char want[256];
    int n = snprintf(want, sizeof(want), "\r\n%s\r\n", line);
    return memmem(r->head, r->head_len, want, (size_t)n) != NULL;
}

static bool has_field(const struct fake_response *r, const char *name)
{
    char want[64];
    int n = snprintf(want, sizeof(want), "\r\n%s:", name);
    return memmem(r->head, r->head_len, want, (size_t)n) != NULL;
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

TEST(web_get_serves_the_file_by_reference)
{
    struct site_file f = demo_file("index.html");

    CHECK_INT_EQ(serve("GET /" H11 "\r\n"), 1);
    struct fake_response *r = &resp[0];
    CHECK_INT_EQ(r->status, 200);
    CHECK(!r->close);
    CHECK_INT_EQ(io.refs, 1); /* head and body in one send, the body by reference */
    CHECK_PTR_EQ(io.ref_body, f.data);
    CHECK_UINT_EQ(io.ref_len, f.len);
    CHECK(r->body_len == f.len && memcmp(r->body, f.data, f.len) == 0);
    CHECK(memcmp(r->head, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK_LINE(r, "Server: Zebu");
    CHECK_LINE(r, "Content-Type: text/html; charset=utf-8");
    char line[64];
    snprintf(line, sizeof(line), "Content-Length: %zu", f.len);
    CHECK_LINE(r, line);
    snprintf(line, sizeof(line), "ETag: \"%s\"", f.etag);
    CHECK_LINE(r, line);
    CHECK_LINE(r, "Accept-Ranges: bytes");
    CHECK_NO_FIELD(r, "Connection");
    CHECK_NO_FIELD(r, "Date"); /* no clock */
}

TEST(web_directories_paths_and_absolute_form)
{
    CHECK_INT_EQ(serve("GET /docs/" H11 "\r\n"), 1);
    CHECK_PTR_EQ(io.ref_body, demo_file("docs/index.html").data);
    serve("GET /docs" H11 "\r\n");
    CHECK_PTR_EQ(io.ref_body, demo_file("docs/index.html").data);
    serve("GET /docs//x.css?v=3" H11 "\r\n");
    CHECK_INT_EQ(resp[0].status, 200);
    CHECK_LINE(&resp[0], "Content-Type: text/css; charset=utf-8");
    serve("GET /%61%2etxt" H11 "\r\n");
    CHECK_PTR_EQ(io.ref_body, demo_file("a.txt").data);
    serve("GET http://zebu/a.txt?q HTTP/1.1\r\nHost: zebu\r\n\r\n");
    CHECK_PTR_EQ(io.ref_body, demo_file("a.txt").data);
    serve("GET HTTPS://zebu HTTP/1.1\r\nHost: zebu\r\n\r\n");
    CHECK_PTR_EQ(io.ref_body, demo_file("index.html").data);
    /* traversal is a bad request; the connection stays usable */
    CHECK_INT_EQ(serve("GET /docs/../a.txt" H11 "\r\nGET /a.txt" H11 "\r\n"), 2);
    CHECK_INT_EQ(resp[0].status, 400);
    CHECK(!resp[0].close);
    CHECK_INT_EQ(resp[1].status, 200);
    CHECK_STATUS("GET /%2e%2e/a.txt" H11 "\r\n", 400);
    CHECK_STATUS("GET /a%00" H11 "\r\n", 400);
    CHECK_STATUS("GET a.txt" H11 "\r\n", 400);
    CHECK_STATUS("GET /nope.html" H11 "\r\n", 404);
    CHECK(!resp[0].close);
    CHECK(resp[0].body_len > 3 && memcmp(resp[0].body, "404", 3) == 0);
    CHECK_LINE(&resp[0], "Content-Type: text/plain; charset=utf-8");
    CHECK_STATUS("GET /_stats/x" H11 "\r\n", 404); /* only the page's own path */
}

TEST(web_head_has_the_get_head_and_no_body)
{
    const char *paths[] = {"/a.txt", "/", "/nope", "/big.bin", "/%zz", "/empty.txt"};

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char g[128], h[128], ghead[512];
        snprintf(g, sizeof(g), "GET %s" H11 "\r\n", paths[i]);
        snprintf(h, sizeof(h), "HEAD %s" H11 "\r\n", paths[i]);
        serve(g);
        size_t glen = resp[0].head_len;
        memcpy(ghead, resp[0].head, glen);
        CHECK_INT_EQ(serve_ex(h, strlen(h), 0, true, false), 1);
        CHECK_UINT_EQ(resp[0].head_len, glen);
        CHECK(memcmp(resp[0].head, ghead, glen) == 0);
        CHECK_UINT_EQ(io.out_len, glen); /* nothing after the head */
    }
    const char *r = "HEAD /a.txt" H11 "Range: bytes=0-9\r\n\r\n";
    serve_ex(r, strlen(r), 0, true, false);
    CHECK_INT_EQ(resp[0].status, 206);
    CHECK_LINE(&resp[0], "Content-Length: 10");
    CHECK_UINT_EQ(io.out_len, resp[0].head_len);
}

TEST(web_ranges_206_416_and_ignored)
{
    struct site_file f = demo_file("a.txt"); /* 100 bytes */
    static const struct {
        const char *range;
        int status;
        unsigned first, len;
    } cases[] = {
        {"bytes=0-9", 206, 0, 10},     {"bytes=90-", 206, 90, 10},  {"bytes=-5", 206, 95, 5},
        {"bytes=-500", 206, 0, 100},   {"bytes=95-200", 206, 95, 5}, {"BYTES=1-1", 206, 1, 1},
        {"bytes=100-", 416, 0, 0},     {"bytes=-0", 416, 0, 0},
        {"bytes=0-1,3-4", 200, 0, 100}, /* several ranges: the whole file */
        {"items=0-1", 200, 0, 100},    {"bytes=5-1", 200, 0, 100},  {"bytes=x", 200, 0, 100},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "GET /a.txt" H11 "Range: %s\r\n\r\n", cases[i].range);
        CHECK_INT_EQ(serve(req), 1);
        CHECK_INT_EQ(resp[0].status, cases[i].status);
        CHECK(!resp[0].close);
        char line[64];
        if (cases[i].status == 206) {
            snprintf(line, sizeof(line), "Content-Range: bytes %u-%u/100", cases[i].first,
                     cases[i].first + cases[i].len - 1);
            CHECK_LINE(&resp[0], line);
            CHECK_PTR_EQ(io.ref_body, f.data + cases[i].first);
            CHECK_UINT_EQ(resp[0].body_len, cases[i].len);
        } else if (cases[i].status == 416) {
            CHECK_LINE(&resp[0], "Content-Range: bytes */100");
            CHECK(memcmp(resp[0].body, "416", 3) == 0);
        } else {
            CHECK_NO_FIELD(&resp[0], "Content-Range");
            CHECK_UINT_EQ(resp[0].body_len, 100);
        }
    }
    CHECK_STATUS("GET /empty.txt" H11 "Range: bytes=0-\r\n\r\n", 416);
    /* two Range fields: ignored */
    CHECK_STATUS("GET /a.txt" H11 "Range: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n", 200);
    /* If-Range: our strong tag applies the range, anything else does not */
    char req[256];
    snprintf(req, sizeof(req), "GET /a.txt" H11 "Range: bytes=0-1\r\nIf-Range: \"%s\"\r\n\r\n",
             f.etag);
    CHECK_STATUS(req, 206);
    CHECK_STATUS("GET /a.txt" H11 "Range: bytes=0-1\r\nIf-Range: \"0000000000000000\"\r\n\r\n",
                 200);
    CHECK_STATUS("GET /a.txt" H11 "Range: bytes=0-1\r\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT"
                 "\r\n\r\n", 200);
}

TEST(web_etag_round_trip_304)
{
    struct site_file f = demo_file("a.txt");
    char req[512], line[64];
    static const char *const lists[] = {"\"%s\"", "W/\"%s\"", "\"x\", \"%s\"", "*"};

    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        char v[128];
        snprintf(v, sizeof(v), lists[i], f.etag);
        snprintf(req, sizeof(req), "GET /a.txt" H11 "If-None-Match: %s\r\nRange: bytes=0-1\r\n\r\n",
                 v);
        CHECK_INT_EQ(serve(req), 1);
        CHECK_INT_EQ(resp[0].status, 304); /* before Range */
        snprintf(line, sizeof(line), "ETag: \"%s\"", f.etag);
        CHECK_LINE(&resp[0], line);
        CHECK_NO_FIELD(&resp[0], "Content-Length");
        CHECK_UINT_EQ(resp[0].body_len, 0);
        CHECK(!resp[0].close);
    }
    CHECK_STATUS("GET /a.txt" H11 "If-None-Match: \"0000000000000000\"\r\n\r\n", 200);
    CHECK_STATUS("GET /a.txt" H11 "If-None-Match: garbage\r\n\r\n", 200);
    /* a second If-None-Match line counts too */
    snprintf(req, sizeof(req), "GET /a.txt" H11 "If-None-Match: \"1\"\r\nif-none-match: \"%s\"\r\n\r\n",
             f.etag);
    CHECK_STATUS(req, 304);
}

TEST(web_statuses_and_the_connection)
{
    static const struct {
        const char *req;
        int status;
        bool close;
    } cases[] = {
        {"BREW /pot" H11 "\r\n", 405, true},
        {"POST /a.txt" H11 "Content-Length: 3\r\n\r\nabc", 405, true},
        {"GET /a.txt" H11 "Content-Length: 5\r\n\r\nhello", 413, true},
        {"GET /a.txt" H11 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 413, true},
        {"GET /a.txt" H11 "Content-Length: 0\r\n\r\n", 200, false},
        {"GET / HTTP/1.1\r\n\r\n", 400, true},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true},
        {"\x01\x02garbage here\r\nHost: x\r\n\r\n", 400, true},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, true},
        {"GET / HTTP/1.0\r\n\r\n", 200, true},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, true},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_INT_EQ(serve(cases[i].req), 1);
        CHECK_INT_EQ(resp[0].status, cases[i].status);
        CHECK(resp[0].close == cases[i].close);
        if (cases[i].close)
            CHECK_LINE(&resp[0], "Connection: close");
        if (cases[i].status >= 400) {
            char s[16];
            snprintf(s, sizeof(s), "%d", cases[i].status);
            CHECK(resp[0].body_len > 3 && memcmp(resp[0].body, s, 3) == 0);
            CHECK_LINE(&resp[0], "Content-Type: text/plain; charset=utf-8");
        }
        if (cases[i].status == 405)
            CHECK_LINE(&resp[0], "Allow: GET, HEAD");
    }
    /* HTTP/1.0 keep-alive is said back, and the connection stays */
    CHECK_INT_EQ(serve("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /a.txt HTTP/1.0\r\n\r\n"), 2);
    CHECK_LINE(&resp[0], "Connection: keep-alive");
    CHECK(!resp[0].close && resp[1].close);
    /* the limits */
    static char big[20000];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    strcpy(big + 8200, " HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_STATUS(big, 414);
    CHECK(resp[0].close);
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET / HTTP/1.1\r\nHost: x\r\nX: ", 28);
    strcpy(big + 16500, "\r\n\r\n");
    CHECK_STATUS(big, 431);
    char *p = big + sprintf(big, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < HTTP_FIELDS_MAX; i++)
        p += sprintf(p, "X-%d: y\r\n", i);
    strcpy(p, "\r\n");
    CHECK_STATUS(big, 431);
}

TEST(web_pipelined_requests_split_at_every_byte)
{
    static const char in[] = "GET /a.txt" H11 "\r\n"
                             "HEAD /docs/" H11 "\r\n"
                             "GET /big.bin" H11 "Range: bytes=-3\r\n\r\n"
                             "GET /nope" H11 "\r\n"
                             "GET /a.txt" H11 "Connection: close\r\n\r\n";
    static char whole[4096];

    serve_ex(in, sizeof(in) - 1, 0, false, false);
    size_t whole_len = io.out_len;
    CHECK(whole_len < sizeof(whole));
    memcpy(whole, io.out, whole_len);
    CHECK_UINT_EQ(stats.requests, 5);
    CHECK_UINT_EQ(stats.status[HTTP_SLOT_200], 3);
    CHECK_UINT_EQ(stats.status[HTTP_SLOT_206], 1);
    CHECK_UINT_EQ(stats.status[HTTP_SLOT_404], 1);
    for (size_t piece = 1; piece < sizeof(in); piece += piece < 40 ? 1 : 37) {
        serve_ex(in, sizeof(in) - 1, piece, false, false);
        CHECK_UINT_EQ(io.out_len, whole_len);
        CHECK(io.out_len == whole_len && memcmp(io.out, whole, whole_len) == 0);
    }
}

TEST(web_stats_page_and_accounting)
{
    memset(&stats, 0, sizeof(stats));
    stats.connections_accepted = 3;
    stats.connections_open = 1;
    stats.connections_refused = 2;
    stats.tw_syn_accepted = 7;
    stats.zero_window_aborts = 6;
    stats.reasm_bytes = 8;
    stats.reasm_bytes_max = 9;
    stats.reasm_bytes_limit = 10;
    stats.syncookies_sent = 40;
    const char *a = "GET /a.txt" H11 "\r\nGET /a.txt" H11 "\r\nGET /nope" H11 "\r\n";
    serve_ex(a, strlen(a), 0, false, true);
    size_t sent = io.out_len;
    const char *b = "GET / HTTP/2.0\r\n\r\n"; /* a refusal of the library's */
    serve_ex(b, strlen(b), 0, false, true);
    sent += io.out_len;
    CHECK_UINT_EQ(stats.requests, 4);
    CHECK_UINT_EQ(stats.status[HTTP_SLOT_505], 1);
    CHECK_UINT_EQ(stats.head_bytes + stats.body_bytes, sent); /* every byte counted */
    CHECK_UINT_EQ(stats.body_bytes, 2 * 100 + strlen("404 Not Found\n") + strlen("505 HTTP Version Not Supported\n"));
    const char *s = "GET /_stats?x" H11 "\r\n";
    CHECK_INT_EQ(serve_ex(s, strlen(s), 0, false, true), 1);
    struct fake_response *r = &resp[0];
    CHECK_INT_EQ(r->status, 200);
    CHECK_LINE(r, "Cache-Control: no-store");
    CHECK_LINE(r, "Content-Type: text/plain; charset=utf-8");
    char page[HTTP_SCRATCH_MAX + 1];
    memcpy(page, r->body, r->body_len);
    page[r->body_len] = 0;
    CHECK(strstr(page, "\nrequests 4\n") != NULL);
    CHECK(strstr(page, "\nstatus_200 2\n") != NULL);
    CHECK(strstr(page, "\nstatus_404 1\n") != NULL);
    CHECK(strstr(page, "\nstatus_505 1\n") != NULL);
    CHECK(strstr(page, "\nconnections_accepted 3\n") != NULL);
    CHECK(strstr(page, "\nconnections_open 1\n") != NULL);
    CHECK(strstr(page, "\nconnections_refused 2\n") != NULL);
    CHECK(strstr(page, "\nstack_tw_syn_accepted 7\n") != NULL);
    CHECK(strstr(page, "\nzero_window_aborts 6\n") != NULL);
    CHECK(strstr(page, "\nreasm_bytes 8\nreasm_bytes_max 9\nreasm_bytes_limit 10\n") != NULL);
    CHECK(strstr(page, "\nstack_syncookies_sent 40\n") != NULL);
    CHECK_UINT_EQ(stats.status[HTTP_SLOT_200], 3); /* the page itself, once sent */
    char tiny[16];
    CHECK_INT_EQ(http_stats_format(&stats, tiny, sizeof(tiny)), -ENOSPC);
    stats.nomem.syn_dropped = 4;
    stats.connections_reset_nomem = 5;
    CHECK(http_stats_format(&stats, page, sizeof(page) - 1) > 0);
    CHECK(strstr(page, "\nsyn_dropped_nomem 4\n") != NULL);
    CHECK(strstr(page, "\nconnections_reset_nomem 5\n") != NULL);
    /* the whole page fits, every counter at its widest */
    memset(&stats, 0xff, sizeof(stats));
    CHECK(http_stats_format(&stats, page, HTTP_SCRATCH_MAX) > 0);
}

TEST(web_connection_fits_the_apps_stack_budget)
{
    struct zebu_http_limits lim;
    web_limits(&lim, 0);
    struct zebu_http_server *srv = zebu_http_server_create(&lim);
    /* apps/webserver/main.c: CONN_MEM (20 KiB) on a 28 KiB stack */
    CHECK(zebu_http_conn_bytes(srv) <= 20 * 1024);
    zebu_http_server_destroy(srv);
}

TEST(web_fuzz_target_replays)
{
    static const char *const inputs[] = {
        "\x00GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "\x06GET /a.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=5-9\r\n\r\nGET /_stats HTTP/1.0\r\n"
        "Connection: keep-alive\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
        "\x02GET http://h/big.bin?x HTTP/1.1\r\nHost: h\r\nRange: bytes=-100\r\nIf-Range: \"0\"\r\n"
        "Connection: close\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
        CHECK_INT_EQ(LLVMFuzzerTestOneInput((const uint8_t *)inputs[i], strlen(inputs[i] + 1) + 1), 0);
    static const uint8_t archive[] = {1, 12, 0, 1, 64, 0, 128, 192, 1, 1};
    CHECK_INT_EQ(LLVMFuzzerTestOneInput(archive, sizeof(archive)), 0);
}
