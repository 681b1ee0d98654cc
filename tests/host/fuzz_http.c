/*
 * fuzz_http.c - libFuzzer target for the web server's portable code, and
 * the in-memory archive packer its host tests share (ws_pack_site).
 *
 * Input: [mode][rest]. Mode bit 0 clear: rest is a byte stream from one
 * client, fed to the parser and responder in pieces of 1 + (mode >> 1)
 * bytes the way apps/webserver/main.c does (buffer, handle, send, consume),
 * and again all at once: both runs must give the same responses, and each
 * response must be well-formed (head ends in a blank line, a body inside
 * the archive or a static string, Content-Length equal to the body sent).
 * Bit 0 set: rest is a list of [offset: 2 bytes][xor byte] patches, then
 * a final 2-byte length, applied to a copy of the demo archive of exactly
 * that length (ASan sees any read past it); site_open must refuse it or
 * leave every lookup inside it.
 *
 * Built with gcc into webserver_test too (tests/host/http.mk), where the
 * tests reuse the packer and replay a few inputs through this function.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/webserver/http.h"
#include "apps/webserver/site.h"

struct ws_file {
    const char *path;
    const char *mime;
    const void *data;
    size_t len;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t ws_pack_site(uint8_t *buf, size_t cap, const struct ws_file *files, size_t n);
const struct site *ws_demo_site(size_t *image_size);

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static size_t align_up(size_t x)
{
    return (x + SITE_ALIGN - 1) / SITE_ALIGN * SITE_ALIGN;
}

/*
 * Pack n files (sorted by path, as mksite.py sorts) into buf in the format
 * of site.h. The ETag is a 64-bit FNV-1a of the content (mksite.py uses
 * SHA-256; the server only reads the digits). Returns the image size, or 0
 * if buf (cap bytes) is too small.
 */
size_t ws_pack_site(uint8_t *buf, size_t cap, const struct ws_file *files, size_t n)
{
    size_t strings = SITE_HEADER_SIZE + n * SITE_ENTRY_SIZE, s = strings;

    for (size_t i = 0; i < n; i++)
        s += strlen(files[i].path) + 1 + strlen(files[i].mime) + 1;
    size_t data = align_up(s), d = data;
    for (size_t i = 0; i < n; i++)
        d = align_up(d + files[i].len);
    if (d > cap)
        return 0;
    memset(buf, 0, d);
    memcpy(buf, SITE_MAGIC, 8);
    put_le(buf + 8, SITE_VERSION, 4);
    put_le(buf + 12, n, 4);
    put_le(buf + 16, d, 8);
    put_le(buf + 24, SITE_HEADER_SIZE, 4);
    put_le(buf + 28, strings, 4);
    put_le(buf + 32, s - strings, 4);
    put_le(buf + 36, data, 4);
    s = strings;
    d = data;
    for (size_t i = 0; i < n; i++) {
        const struct ws_file *f = &files[i];
        uint8_t *e = buf + SITE_HEADER_SIZE + i * SITE_ENTRY_SIZE;
        uint64_t h = 0xcbf29ce484222325ull;
        for (size_t k = 0; k < f->len; k++)
            h = (h ^ ((const uint8_t *)f->data)[k]) * 0x100000001b3ull;
        put_le(e, s, 4);
        put_le(e + 4, strlen(f->path), 2);
        memcpy(buf + s, f->path, strlen(f->path) + 1);
        s += strlen(f->path) + 1;
        put_le(e + 6, strlen(f->mime), 2);
        put_le(e + 8, s, 4);
        memcpy(buf + s, f->mime, strlen(f->mime) + 1);
        s += strlen(f->mime) + 1;
        put_le(e + 16, d, 8);
        put_le(e + 24, f->len, 8);
        snprintf((char *)e + 32, SITE_ETAG_HEX + 1, "%016llx", (unsigned long long)h);
        if (f->len > 0)
            memcpy(buf + d, f->data, f->len);
        d = align_up(d + f->len);
    }
    return d;
}

/* The demo archive the tests and the fuzzer serve; built once. */
const struct site *ws_demo_site(size_t *image_size)
{
    static uint8_t image[16384] __attribute__((aligned(64)));
    static uint8_t hundred[100], big[5000];
    static struct site site;
    static size_t size;
    static const char index_html[] = "<!DOCTYPE html><title>Zebu</title><p>hello</p>\n";
    static const char docs_index[] = "<p>docs</p>\n";
    static const char css[] = "body { color: #222; }\n";

    if (size == 0) {
        for (size_t i = 0; i < sizeof(hundred); i++)
            hundred[i] = (uint8_t)('a' + i % 26);
        for (size_t i = 0; i < sizeof(big); i++)
            big[i] = (uint8_t)(i * 7);
        const struct ws_file files[] = {
            {"a.txt", "text/plain; charset=utf-8", hundred, sizeof(hundred)},
            {"big.bin", "application/octet-stream", big, sizeof(big)},
            {"docs/index.html", "text/html; charset=utf-8", docs_index, strlen(docs_index)},
            {"docs/x.css", "text/css; charset=utf-8", css, strlen(css)},
            {"empty.txt", "text/plain; charset=utf-8", "", 0},
            {"index.html", "text/html; charset=utf-8", index_html, strlen(index_html)},
        };
        size = ws_pack_site(image, sizeof(image), files, sizeof(files) / sizeof(files[0]));
        if (size == 0 || site_open(&site, image, size) != 0)
            abort();
    }
    if (image_size != NULL)
        *image_size = size;
    return &site;
}

/* --- mode 0: a client's byte stream ------------------------------------ */

#define MAX_RESPONSES 256 /* then stop: both runs stop at the same request */

struct outcome {
    int status[MAX_RESPONSES];
    size_t body_len[MAX_RESPONSES];
    int count;
    int closed;
};

static void check_response(const struct site *site, const struct http_response *r)
{
    static const char *const statics[] = {"400", "404", "405", "413", "414",
                                          "416", "431", "500", "505"};
    const char *body = r->body;

    if (r->head_len < 4 || r->head_len > sizeof(r->head) ||
        memcmp(r->head + r->head_len - 4, "\r\n\r\n", 4) != 0 || memcmp(r->head, "HTTP/1.1 ", 9))
        abort();
    /* The body lies in the archive, in scratch, or is a canned string. */
    if (r->body_len > 0) {
        const uint8_t *b = r->body;
        int in_archive = b >= site->base && b + r->body_len <= site->base + site->size;
        int in_scratch =
            body >= r->scratch && body + r->body_len <= r->scratch + sizeof(r->scratch);
        int canned = 0;
        for (size_t i = 0; !in_archive && !in_scratch && i < sizeof(statics) / sizeof(statics[0]);
             i++)
            canned |= strncmp(body, statics[i], 3) == 0 && strlen(body) == r->body_len;
        if (!in_archive && !in_scratch && !canned)
            abort();
    }
    /* Content-Length is the body sent, unless HEAD (no body) or 304. */
    char *cl = memmem(r->head, r->head_len, "\r\nContent-Length: ", 18);
    if (cl != NULL && r->body_len > 0 && strtoull(cl + 18, NULL, 10) != r->body_len)
        abort();
    if (cl == NULL && r->status != 304)
        abort();
}

/* Feed stream in pieces of chunk bytes, as main.c would. */
static void serve_stream(const struct site *site, const uint8_t *in, size_t len, size_t chunk,
                         struct outcome *o)
{
    static char buf[HTTP_HEADER_MAX];
    static struct http_response resp;
    struct http_stats stats = {0};
    struct http_parser p;
    size_t used = 0, fed = 0;

    memset(o, 0, sizeof(*o));
    http_parser_init(&p);
    while (fed < len || used > 0) {
        size_t n = len - fed < chunk ? len - fed : chunk;
        if (n > sizeof(buf) - used)
            n = sizeof(buf) - used;
        memcpy(buf + used, in + fed, n);
        used += n;
        fed += n;
        int r;
        while ((r = http_handle(site, &stats, &p, buf, used, &resp)) > 0) {
            if ((size_t)r > used)
                abort();
            check_response(site, &resp);
            http_stats_account(&stats, &resp);
            o->status[o->count] = resp.status;
            o->body_len[o->count++] = resp.body_len;
            if (resp.close || o->count == MAX_RESPONSES) {
                o->closed = resp.close;
                return;
            }
            memmove(buf, buf + r, used - (size_t)r);
            used -= (size_t)r;
            http_parser_init(&p);
        }
        if (n == 0 && fed == len)
            return; /* the rest is an incomplete request */
    }
}

static void fuzz_stream(const uint8_t *in, size_t len, size_t chunk)
{
    const struct site *site = ws_demo_site(NULL);
    struct outcome a, b;

    serve_stream(site, in, len, chunk, &a);
    serve_stream(site, in, len, len > 0 ? len : 1, &b);
    if (a.count != b.count || a.closed != b.closed)
        abort();
    for (int i = 0; i < a.count; i++)
        if (a.status[i] != b.status[i] || a.body_len[i] != b.body_len[i])
            abort();
}

/* --- mode 1: a damaged archive ------------------------------------------- */

static void fuzz_archive(const uint8_t *in, size_t len)
{
    size_t size;
    const struct site *demo = ws_demo_site(&size);
    size_t keep = size;

    if (len % 3 == 2) {
        keep = (size_t)(in[len - 2] | in[len - 1] << 8) % (size + 1);
        len -= 2;
    }
    uint8_t *img = malloc(keep > 0 ? keep : 1);
    if (img == NULL)
        abort();
    memcpy(img, demo->base, keep);
    for (size_t i = 0; i + 3 <= len; i += 3) {
        size_t off = (size_t)(in[i] | in[i + 1] << 8);
        if (off < keep)
            img[off] ^= in[i + 2];
    }
    struct site s;
    if (site_open(&s, img, keep) == 0) {
        struct site_file f, g;
        for (uint32_t i = 0; i < s.count; i++) {
            if (site_file_at(&s, i, &f) != 0 || strlen(f.path) != f.path_len ||
                strlen(f.etag) != SITE_ETAG_HEX || f.data + f.len > img + keep)
                abort();
            volatile uint8_t sink = f.len > 0 ? f.data[f.len - 1] : 0;
            (void)sink;
            if (site_find(&s, f.path, f.path_len, &g) != 0 || g.data != f.data)
                abort();
        }
    }
    free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_archive(data + 1, size - 1);
    else
        fuzz_stream(data + 1, size - 1, 1 + (data[0] >> 1));
    return 0;
}
