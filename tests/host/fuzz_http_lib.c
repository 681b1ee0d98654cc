/*
 * fuzz_http_lib.c - libFuzzer target for lib/http (include/zebu_http.h).
 *
 * Input: [mode][rest].
 * Mode bit 0 clear: rest is one client's byte stream, served by a whole
 * connection (zebu_http_serve_io over tests/host/http_lib_fake.c) with
 * small limits, so that every limit is within reach, and routes that read
 * bodies every way (all at once, byte by byte, as JSON, not at all) and
 * answer every way (copied, by reference, streamed). The stream goes in
 * pieces of 1 + (mode >> 1) bytes, and again whole: both runs must send
 * the same bytes; what was sent must parse as a sequence of well-formed
 * responses, and every request counted must have had exactly one final
 * response.
 * Mode bit 0 set: rest is a JSON text for the reader; when it is valid,
 * its tokens must be consistent, and written back with the writer it must
 * read the same (strings unescaped equal, integers equal).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zebu_http.h>

#include "http_lib_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --- mode 0: a connection ----------------------------------------------- */

static int h_echo(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    char buf[48];
    (void)ctx;
    long n = zebu_http_read_all(req, buf, sizeof(buf));
    if (n < 0)
        return 0;
    zebu_http_header(resp, "Content-Type", "application/octet-stream");
    return zebu_http_body(resp, buf, (size_t)n);
}

/* The body byte by byte, streamed back in pieces. */
static int h_stream(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    char c;
    long n;
    (void)ctx;
    while ((n = zebu_http_read(req, &c, 1)) > 0)
        zebu_http_write(resp, &c, 1);
    if (n < 0)
        return n;
    zebu_http_write(resp, "streamed", 8);
    return zebu_http_end(resp);
}

static int done_count;
static void on_done(void *cookie)
{
    (void)cookie;
    done_count--;
}

static int h_ref(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    static const char body[600] = "referenced";
    (void)req;
    (void)ctx;
    done_count++;
    return zebu_http_body_ref(resp, body, sizeof(body), on_done, NULL);
}

/* The body as JSON: its token count and first string, as JSON. */
static int h_json(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    char in[64], out[160], s[32];
    struct zebu_json_token tok[16];
    struct zebu_json_writer w;
    (void)ctx;
    long n = zebu_http_read_all(req, in, sizeof(in));
    if (n < 0)
        return 0;
    long t = zebu_json_parse(in, (size_t)n, tok, 16, 4);
    zebu_json_writer_init(&w, out, sizeof(out));
    zebu_json_object_begin(&w);
    zebu_json_key(&w, "tokens");
    zebu_json_int(&w, t);
    zebu_json_key(&w, "query");
    zebu_json_string_n(&w, req->query.p, req->query.len); /* may be invalid UTF-8 */
    for (long i = 0; i < t; i++)
        if (tok[i].type == ZEBU_JSON_STRING && zebu_json_get_string(in, &tok[i], s, sizeof(s)) >= 0) {
            zebu_json_key(&w, "first");
            zebu_json_string(&w, s);
            break;
        }
    zebu_json_object_end(&w);
    long len = zebu_json_finish(&w);
    if (len < 0)
        return zebu_http_reply(resp, 422, "text/plain", "bad");
    zebu_http_header(resp, "Content-Type", "application/json");
    return zebu_http_body(resp, out, (size_t)len);
}

static int h_ignore(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    if (req->query.len > 0)
        zebu_http_close_after(resp);
    return zebu_http_reply(resp, 202, NULL, req->query.len > 0 ? "closing" : "");
}

static struct zebu_http_server *fuzz_server(void)
{
    static struct zebu_http_server *s;
    if (s != NULL)
        return s;
    struct zebu_http_limits lim = {
        .request_line = 64, .header_bytes = 256, .header_count = 8, .body_bytes = 64,
        .chunk_line = 16, .trailer_bytes = 32, .output_bytes = 256,
    };
    s = zebu_http_server_create(&lim);
    if (s == NULL || zebu_http_route(s, "POST", "/echo", h_echo, NULL) != 0 ||
        zebu_http_route(s, "GET", "/stream", h_stream, NULL) != 0 ||
        zebu_http_route(s, "GET", "/ref", h_ref, NULL) != 0 ||
        zebu_http_route(s, NULL, "/json", h_json, NULL) != 0 ||
        zebu_http_route(s, "POST", "/", h_ignore, NULL) != 0 ||
        zebu_http_route(s, "PUT", "/x/", h_stream, NULL) != 0)
        abort();
    return s;
}

/* out[pos...] is a sequence of responses. A response with a length and no
 * way to know whether it answered HEAD is tried both ways (within a budget
 * of tries). */
static int parse_all(const char *out, size_t len, size_t pos, int *budget)
{
    static struct fake_response r;

    while (pos < len) {
        if (--*budget < 0)
            return 0; /* enough: accept */
        size_t p = pos, q = pos;
        int body = fake_parse_response(out, len, &p, false, &r);
        int st = r.status;
        bool lengthy = body == 0 && (r.has_length || r.chunked) && r.body_len > 0;
        if (fake_parse_response(out, len, &q, true, &r) != 0 && body != 0)
            return -1;
        if (st == 100 || !lengthy) {
            pos = body == 0 ? p : q;
            continue;
        }
        if (parse_all(out, len, p, budget) == 0)
            return 0;
        pos = q; /* it was a HEAD's */
    }
    return 0;
}

static void serve(const uint8_t *in, size_t len, size_t piece, struct fake_io *f)
{
    struct zebu_http_server *s = fuzz_server();
    struct zebu_http_stats before, after;

    zebu_http_server_stats(s, &before);
    fake_io_init(f, (const char *)in, len);
    f->piece = piece;
    int rc = zebu_http_serve_io(s, &f->io);
    zebu_http_server_stats(s, &after);
    uint64_t finals = 0;
    for (int i = 2; i <= 5; i++)
        finals += after.responses_by_class[i] - before.responses_by_class[i];
    if (rc != 0 || finals != after.requests - before.requests || done_count != 0)
        abort();
    int budget = 4096;
    if (parse_all(f->out, f->out_len, 0, &budget) != 0)
        abort();
}

static void fuzz_stream(const uint8_t *in, size_t len, size_t piece)
{
    struct fake_io a, b;

    serve(in, len, piece, &a);
    serve(in, len, 0, &b);
    if (a.out_len != b.out_len || (a.out_len > 0 && memcmp(a.out, b.out, a.out_len) != 0))
        abort();
    fake_io_free(&a);
    fake_io_free(&b);
}

/* --- mode 1: JSON ---------------------------------------------------------- */

#define JSON_TOKENS 256

/* Write tokens[i]'s subtree; returns the index after it. */
static size_t rewrite(const char *text, const struct zebu_json_token *t, size_t i,
                      struct zebu_json_writer *w, char *tmp, size_t tmp_cap)
{
    int64_t v;
    size_t j;

    switch (t[i].type) {
    case ZEBU_JSON_OBJECT:
    case ZEBU_JSON_ARRAY:
        if (t[i].type == ZEBU_JSON_OBJECT)
            zebu_json_object_begin(w);
        else
            zebu_json_array_begin(w);
        j = i + 1;
        for (uint32_t k = 0; k < t[i].size; k++) {
            if (t[i].type == ZEBU_JSON_OBJECT) {
                long n = zebu_json_get_string(text, &t[j], tmp, tmp_cap);
                if (n < 0)
                    abort();
                /* an escaped NUL cannot go through a C string key */
                zebu_json_key(w, memchr(tmp, 0, (size_t)n) != NULL ? "nul" : tmp);
                j++;
            }
            j = rewrite(text, t, j, w, tmp, tmp_cap);
        }
        if (j != t[i].next)
            abort();
        if (t[i].type == ZEBU_JSON_OBJECT)
            zebu_json_object_end(w);
        else
            zebu_json_array_end(w);
        return j;
    case ZEBU_JSON_STRING: {
        long n = zebu_json_get_string(text, &t[i], tmp, tmp_cap);
        if (n < 0)
            abort(); /* a valid string always unescapes */
        zebu_json_string_n(w, tmp, (size_t)n);
        return i + 1;
    }
    case ZEBU_JSON_NUMBER:
        if (zebu_json_get_int(text, &t[i], &v) == 0)
            zebu_json_int(w, v);
        else
            zebu_json_null(w);
        return i + 1;
    case ZEBU_JSON_TRUE:
    case ZEBU_JSON_FALSE:
        zebu_json_bool(w, t[i].type == ZEBU_JSON_TRUE);
        return i + 1;
    default:
        zebu_json_null(w);
        return i + 1;
    }
}

static void fuzz_json(const uint8_t *in, size_t len)
{
    static struct zebu_json_token t[JSON_TOKENS], u[JSON_TOKENS];
    const char *text = (const char *)in;
    long n = zebu_json_parse(text, len, t, JSON_TOKENS, 16);
    if (n < 0)
        return;
    for (long i = 0; i < n; i++)
        if ((size_t)t[i].start + t[i].len > len || t[i].next <= (uint32_t)i ||
            t[i].next > (uint32_t)n || t[i].parent >= i)
            abort();
    size_t cap = len * 8 + 64;
    char *out = malloc(cap), *tmp = malloc(len + 1);
    struct zebu_json_writer w;
    zebu_json_writer_init(&w, out, cap);
    if (rewrite(text, t, 0, &w, tmp, len + 1) != (size_t)n)
        abort();
    long olen = zebu_json_finish(&w);
    if (olen < 0)
        abort();
    long m = zebu_json_parse(out, (size_t)olen, u, JSON_TOKENS, 16);
    if (m != n)
        abort();
    for (long i = 0; i < n; i++) {
        int64_t a, b;
        bool a_int = t[i].type == ZEBU_JSON_NUMBER && zebu_json_get_int(text, &t[i], &a) == 0;
        if (t[i].type == ZEBU_JSON_NUMBER && !a_int) {
            if (u[i].type != ZEBU_JSON_NULL)
                abort();
            continue;
        }
        if (u[i].type != t[i].type || u[i].size != t[i].size || u[i].next != t[i].next)
            abort();
        if (a_int && (zebu_json_get_int(out, &u[i], &b) != 0 || a != b))
            abort();
        if (t[i].type == ZEBU_JSON_STRING && (t[i].parent < 0 || t[u[i].parent].type != ZEBU_JSON_OBJECT)) {
            long k = zebu_json_get_string(text, &t[i], tmp, len + 1);
            if (k < 0 || memchr(tmp, 0, (size_t)k) != NULL)
                continue;
            if (!zebu_json_string_eq(out, &u[i], tmp))
                abort();
        }
    }
    free(out);
    free(tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_json(data + 1, size - 1);
    else
        fuzz_stream(data + 1, size - 1, 1 + (data[0] >> 1));
    return 0;
}
