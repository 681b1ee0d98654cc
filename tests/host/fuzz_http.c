/*
 * fuzz_http.c - libFuzzer target for the web server's portable code, and
 * the in-memory archive packer its host tests share (ws_pack_site).
 *
 * Input: [mode][rest]. Mode bit 0 clear: rest is a byte stream from one
 * client, served through lib/http and the web handler (apps/webserver/
 * http.c) over the in-memory transport of tests/host/http_lib_fake.c, in
 * pieces of 1 + (mode >> 1) bytes and again all at once: both runs must
 * send the same bytes, each response must be well-formed with a
 * Content-Length, a body sent by reference must lie in the archive, and
 * every response must be counted.
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
#include "tests/host/http_lib_fake.h"

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

/* Serve in through lib/http and the web handler, in pieces of chunk
 * bytes; the bytes sent go to f (fake_io_free them). Returns the
 * responses, each checked well-formed (a body sent by reference must lie
 * in the archive). */
static int serve_stream(const struct site *site, const uint8_t *in, size_t len, size_t chunk,
                        struct fake_io *f)
{
    static struct fake_response r;
    struct http_stats stats = {0};
    struct web w = {site, &stats, NULL};
    struct zebu_http_limits lim;

    web_limits(&lim, 0);
    struct zebu_http_server *srv = zebu_http_server_create(&lim);
    if (srv == NULL || web_setup(srv, &w) != 0)
        abort();
    fake_io_init(f, (const char *)in, len);
    f->piece = chunk;
    static char mem[32768];
    if (zebu_http_serve_io_mem(srv, &f->io, mem, zebu_http_conn_bytes(srv)) < 0)
        abort();
    if (f->refs > 0 && f->ref_len > 0) {
        const uint8_t *b = f->ref_body;
        if (b < site->base || b + f->ref_len > site->base + site->size)
            abort();
    }
    /* Every response well-formed, with Content-Length; HEAD's carry no
     * body, which the parser cannot tell: then stop checking. */
    size_t pos = 0;
    int n = 0;
    while (pos < f->out_len) {
        if (fake_parse_response(f->out, f->out_len, &pos, false, &r) != 0) {
            if (memmem(in, len, "HEAD", 4) == NULL)
                abort();
            break;
        }
        if (r.chunked || (!r.has_length && r.status != 304))
            abort();
        n++;
    }
    if (stats.requests < (uint64_t)n)
        abort(); /* every response counted */
    zebu_http_server_destroy(srv);
    return n;
}

static void fuzz_stream(const uint8_t *in, size_t len, size_t chunk)
{
    const struct site *site = ws_demo_site(NULL);
    struct fake_io a, b;

    serve_stream(site, in, len, chunk, &a);
    serve_stream(site, in, len, 0, &b);
    /* in pieces or whole: the same bytes out */
    if (a.out_len != b.out_len || (a.out_len > 0 && memcmp(a.out, b.out, a.out_len) != 0))
        abort();
    fake_io_free(&a);
    fake_io_free(&b);
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
