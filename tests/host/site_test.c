/*
 * site_test.c - apps/webserver/site.c: the archive validator against every
 * field corrupted and every truncation, lookups, and target normalisation
 * (percent-decoding, "//" and "." collapse, ".." refused). The archives are
 * packed in memory by ws_pack_site (tests/host/fuzz_http.c); one made by
 * tools/mksite.py is checked when WS_SITE_ARCHIVE names it (make
 * host-mksite-check).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/webserver/site.h"
#include "runner.h"

struct ws_file {
    const char *path;
    const char *mime;
    const void *data;
    size_t len;
};
size_t ws_pack_site(uint8_t *buf, size_t cap, const struct ws_file *files, size_t n);
const struct site *ws_demo_site(size_t *image_size);

/* A malloc'd copy of exactly size bytes, so ASan sees any read past it. */
static uint8_t *demo_copy(size_t size)
{
    size_t full;
    const struct site *s = ws_demo_site(&full);
    uint8_t *p = malloc(size > 0 ? size : 1);

    memcpy(p, s->base, size < full ? size : full);
    return p;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* site_open on the demo image with bytes [off, off+bytes) set to v. */
static int open_patched(size_t off, int bytes, uint64_t v)
{
    size_t size;
    struct site s;

    ws_demo_site(&size);
    uint8_t *img = demo_copy(size);
    put_le(img + off, v, bytes);
    int r = site_open(&s, img, size);
    free(img);
    return r;
}

#define ENTRY(i) (SITE_HEADER_SIZE + (i)*SITE_ENTRY_SIZE)

TEST(site_demo_opens_and_lists_sorted_files)
{
    const struct site *s = ws_demo_site(NULL);
    struct site_file f;

    CHECK_UINT_EQ(s->count, 6);
    CHECK_INT_EQ(site_file_at(s, 0, &f), 0);
    CHECK_STR_EQ(f.path, "a.txt");
    CHECK_UINT_EQ(f.path_len, 5);
    CHECK_UINT_EQ(f.len, 100);
    CHECK_STR_EQ(f.mime, "text/plain; charset=utf-8");
    CHECK_UINT_EQ(strlen(f.etag), SITE_ETAG_HEX);
    CHECK_UINT_EQ((uintptr_t)(f.data - s->base) % SITE_ALIGN, 0);
    CHECK_INT_EQ(site_file_at(s, 6, &f), -ENOENT);
    for (uint32_t i = 0; i < s->count; i++) {
        struct site_file g;
        CHECK_INT_EQ(site_file_at(s, i, &f), 0);
        CHECK_INT_EQ(site_find(s, f.path, f.path_len, &g), 0);
        CHECK_PTR_EQ(g.data, f.data); /* pointers into the image, no copies */
        CHECK_PTR_EQ(g.path, f.path);
    }
    CHECK_INT_EQ(site_find(s, "a.tx", 4, &f), -ENOENT);
    CHECK_INT_EQ(site_find(s, "a.txtx", 6, &f), -ENOENT);
    CHECK_INT_EQ(site_find(s, "", 0, &f), -ENOENT);
    CHECK_INT_EQ(site_find(s, "zzz", 3, &f), -ENOENT);
    CHECK_INT_EQ(site_find(s, "docs", 4, &f), -ENOENT);
}

TEST(site_accepts_a_buffer_longer_than_the_image)
{
    size_t size;
    struct site s;

    ws_demo_site(&size);
    uint8_t *img = demo_copy(size + 4096);
    memset(img + size, 0xee, 4096); /* a module padded to a page */
    CHECK_INT_EQ(site_open(&s, img, size + 4096), 0);
    CHECK_UINT_EQ(s.size, size);
    free(img);
}

TEST(site_rejects_every_truncation)
{
    size_t size;
    struct site s;

    ws_demo_site(&size);
    for (size_t n = 0; n < size; n++) {
        uint8_t *img = demo_copy(n);
        int r = site_open(&s, img, n);
        CHECK_AT(__FILE__, __LINE__, r == -EINVAL, "size %zu: site_open == %d", n, r);
        free(img);
    }
    CHECK_INT_EQ(site_open(&s, NULL, 0), -EINVAL);
}

TEST(site_rejects_bad_header_fields)
{
    size_t size;

    ws_demo_site(&size);
    CHECK_INT_EQ(open_patched(0, 1, 'z'), -EINVAL); /* magic */
    CHECK_INT_EQ(open_patched(7, 1, 'e'), -EINVAL); /* magic, last byte */
    CHECK_INT_EQ(open_patched(8, 4, 2), -ENOTSUP);  /* version */
    CHECK_INT_EQ(open_patched(8, 4, 0), -ENOTSUP);
    CHECK_INT_EQ(open_patched(12, 4, 0), -EINVAL); /* count */
    CHECK_INT_EQ(open_patched(12, 4, 7), -EINVAL); /* count past the index */
    CHECK_INT_EQ(open_patched(12, 4, 5), -EINVAL); /* count: strings_off mismatch */
    CHECK_INT_EQ(open_patched(12, 4, SITE_MAX_FILES + 1), -EINVAL);
    CHECK_INT_EQ(open_patched(12, 4, 0xffffffff), -EINVAL);
    CHECK_INT_EQ(open_patched(16, 8, size + 1), -EINVAL); /* image_size */
    CHECK_INT_EQ(open_patched(16, 8, UINT64_MAX), -EINVAL);
    CHECK_INT_EQ(open_patched(16, 8, 0), -EINVAL);
    CHECK_INT_EQ(open_patched(24, 4, 128), -EINVAL);        /* index_off */
    CHECK_INT_EQ(open_patched(28, 4, 64), -EINVAL);         /* strings_off */
    CHECK_INT_EQ(open_patched(32, 4, 0xfffffff0), -EINVAL); /* strings_len */
    CHECK_INT_EQ(open_patched(36, 4, 0), -EINVAL);          /* data_off */
    CHECK_INT_EQ(open_patched(36, 4, 0x1000), -EINVAL);     /* data_off: padding >= align */
    CHECK_INT_EQ(open_patched(36, 4, 0xffffffc0), -EINVAL);
    for (size_t off = 40; off < 64; off++)
        CHECK_INT_EQ(open_patched(off, 1, 1), -EINVAL); /* reserved */
    CHECK_INT_EQ(open_patched(0, 1, 'Z'), 0);           /* the control: unpatched */
}

TEST(site_rejects_bad_entry_fields)
{
    size_t size;
    const struct site *demo = ws_demo_site(&size);
    struct site_file f0, f1;

    site_file_at(demo, 0, &f0);
    site_file_at(demo, 1, &f1);
    size_t path0 = (size_t)(f0.path - (const char *)demo->base);
    size_t mime0 = (size_t)(f0.mime - (const char *)demo->base);
    size_t data0 = (size_t)(f0.data - demo->base);

    CHECK_INT_EQ(open_patched(ENTRY(0) + 0, 4, 0), -EINVAL);         /* path_off in the header */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 0, 4, size), -EINVAL);      /* past the strings */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 0, 4, path0 + 1), -EINVAL); /* ".txt\0": a NUL inside */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 4, 2, 0), -EINVAL);         /* path_len */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 4, 2, 4), -EINVAL);         /* no NUL after it */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 4, 2, SITE_PATH_MAX + 1), -EINVAL);
    CHECK_INT_EQ(open_patched(ENTRY(0) + 6, 2, 0), -EINVAL); /* mime_len */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 6, 2, 3), -EINVAL);
    CHECK_INT_EQ(open_patched(ENTRY(0) + 6, 2, SITE_MIME_MAX + 1), -EINVAL);
    CHECK_INT_EQ(open_patched(ENTRY(0) + 8, 4, 0xfffffff0), -EINVAL); /* mime_off */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 8, 4, path0), -EINVAL);      /* length mismatch */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 12, 1, 1), -EINVAL);         /* reserved */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 16, 8, data0 + 1), -EINVAL); /* data_off alignment */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 16, 8, 0), -EINVAL);         /* data in the header */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 16, 8, size + SITE_ALIGN), -EINVAL);
    CHECK_INT_EQ(open_patched(ENTRY(0) + 16, 8, UINT64_MAX - 63), -EINVAL);
    CHECK_INT_EQ(open_patched(ENTRY(0) + 24, 8, size), -EINVAL); /* data_len */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 24, 8, UINT64_MAX), -EINVAL);
    CHECK_INT_EQ(open_patched(ENTRY(0) + 32, 1, 'G'), -EINVAL); /* etag: not hex */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 32, 1, 'A'), -EINVAL); /* etag: uppercase */
    CHECK_INT_EQ(open_patched(ENTRY(0) + 48, 1, 'a'), -EINVAL); /* etag: no NUL */
    for (size_t off = 49; off < 64; off++)
        CHECK_INT_EQ(open_patched(ENTRY(0) + off, 1, 1), -EINVAL); /* reserved */
    /* The strings themselves: a bad path byte, "..", a control in a MIME type. */
    CHECK_INT_EQ(open_patched(path0, 1, ' '), -EINVAL);
    CHECK_INT_EQ(open_patched(path0, 1, '/'), -EINVAL);
    CHECK_INT_EQ(open_patched(path0, 3, 0x2f2e2e), -EINVAL); /* "../xt" */
    CHECK_INT_EQ(open_patched(path0, 2, 0x2e2e), 0);         /* "..txt" is a fine name */
    CHECK_INT_EQ(open_patched(mime0 + 4, 1, '\n'), -EINVAL);
    CHECK_INT_EQ(open_patched(mime0 + 4, 1, 0), -EINVAL);
    /* Order: entry 1 pointing at entry 0's path (a duplicate). */
    CHECK_INT_EQ(open_patched(ENTRY(1) + 0, 4, path0), -EINVAL);
    CHECK_INT_EQ(open_patched(ENTRY(1) + 4, 2, f0.path_len), -EINVAL);
    (void)f1;
}

TEST(site_rejects_unsorted_and_duplicate_paths)
{
    uint8_t buf[4096];
    struct site s;
    struct ws_file sorted[] = {
        {"a", "t/p", "1", 1}, {"a.b", "t/p", "2", 1}, {"a/b", "t/p", "3", 1}, {"b", "t/p", "4", 1}};
    struct ws_file swapped[] = {{"b", "t/p", "1", 1}, {"a", "t/p", "2", 1}};
    struct ws_file twice[] = {{"a", "t/p", "1", 1}, {"a", "t/p", "2", 1}};
    struct ws_file prefix[] = {{"ab", "t/p", "1", 1}, {"a", "t/p", "2", 1}};

    CHECK_INT_EQ(site_open(&s, buf, ws_pack_site(buf, sizeof(buf), sorted, 4)), 0);
    CHECK_INT_EQ(site_open(&s, buf, ws_pack_site(buf, sizeof(buf), swapped, 2)), -EINVAL);
    CHECK_INT_EQ(site_open(&s, buf, ws_pack_site(buf, sizeof(buf), twice, 2)), -EINVAL);
    CHECK_INT_EQ(site_open(&s, buf, ws_pack_site(buf, sizeof(buf), prefix, 2)), -EINVAL);
}

TEST(site_rejects_bad_paths_in_packed_archives)
{
    static const char *const bad[] = {"",     "/a",  "a/",    "a//b", "./a",  "a/./b", "../a",
                                      "a/..", "a b", "a%20b", "a?b",  "\x80", "a\\b"};
    uint8_t buf[4096];
    struct site s;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ws_file f = {bad[i], "text/plain", "x", 1};
        size_t n = ws_pack_site(buf, sizeof(buf), &f, 1);
        int r = site_open(&s, buf, n);
        CHECK_AT(__FILE__, __LINE__, r == -EINVAL, "path \"%s\": site_open == %d", bad[i], r);
    }
    static const char *const good[] = {"a", "...", "a/.b", ".well-known/x", "A-Z_0~9.t"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct ws_file f = {good[i], "text/plain", "x", 1};
        size_t n = ws_pack_site(buf, sizeof(buf), &f, 1);
        int r = site_open(&s, buf, n);
        CHECK_AT(__FILE__, __LINE__, r == 0, "path \"%s\": site_open == %d", good[i], r);
    }
}

TEST(site_survives_every_byte_flipped)
{
    size_t size;

    ws_demo_site(&size);
    uint8_t *img = demo_copy(size);
    for (size_t off = 0; off < size; off++) {
        for (int bit = 0; bit < 8; bit += 3) {
            struct site s;
            struct site_file f;
            img[off] ^= (uint8_t)(1u << bit);
            if (site_open(&s, img, size) == 0)
                for (uint32_t i = 0; i < s.count; i++)
                    if (site_file_at(&s, i, &f) == 0 && f.len > 0)
                        CHECK(f.data + f.len <= img + size);
            img[off] ^= (uint8_t)(1u << bit);
        }
    }
    free(img);
}

struct norm_case {
    const char *target;
    int result; /* length, or negative errno */
    const char *path;
    int is_dir;
};

TEST(site_normalize_cases)
{
    static const struct norm_case cases[] = {
        {"/", 0, "", 1},
        {"/a.txt", 5, "a.txt", 0},
        {"/docs/x.css", 10, "docs/x.css", 0},
        {"//docs///x.css", 10, "docs/x.css", 0},
        {"/docs/", 4, "docs", 1},
        {"/docs/./x.css", 10, "docs/x.css", 0},
        {"/docs/.", 4, "docs", 1},
        {"/./", 0, "", 1},
        {"/a.txt?x=1&y=/../", 5, "a.txt", 0},
        {"/a.txt#frag", 5, "a.txt", 0},
        {"/?", 0, "", 1},
        {"/%61%2Etxt", 5, "a.txt", 0},
        {"/a%20b", 3, "a b", 0},
        {"/docs%2Fx.css", 10, "docs/x.css", 0},
        {"/%c3%a9", 2, "\xc3\xa9", 0},
        {"/...", 3, "...", 0},
        {"/..a", 3, "..a", 0},
        {"/..", -EINVAL, NULL, 0},
        {"/../a.txt", -EINVAL, NULL, 0},
        {"/docs/../a.txt", -EINVAL, NULL, 0},
        {"/docs/..", -EINVAL, NULL, 0},
        {"/%2e%2e/a.txt", -EINVAL, NULL, 0},
        {"/.%2E/a.txt", -EINVAL, NULL, 0},
        {"/docs%2F..%2Fa.txt", -EINVAL, NULL, 0},
        {"/%zz", -EINVAL, NULL, 0},
        {"/%4", -EINVAL, NULL, 0},
        {"/%", -EINVAL, NULL, 0},
        {"/a%00b", -EINVAL, NULL, 0},
        {"/a%0d%0ab", -EINVAL, NULL, 0},
        {"/a%7f", -EINVAL, NULL, 0},
        {"a.txt", -EINVAL, NULL, 0},
        {"*", -EINVAL, NULL, 0},
        {"", -EINVAL, NULL, 0},
        {"?/a", -EINVAL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct norm_case *c = &cases[i];
        char out[SITE_PATH_MAX + 1];
        int is_dir = -1;
        int r = site_normalize(c->target, strlen(c->target), out, sizeof(out), &is_dir);
        CHECK_AT(__FILE__, __LINE__, r == c->result, "\"%s\": %d, expected %d", c->target, r,
                 c->result);
        if (r >= 0 && c->result >= 0) {
            CHECK_AT(__FILE__, __LINE__, strcmp(out, c->path) == 0 && is_dir == c->is_dir,
                     "\"%s\": \"%s\" dir %d, expected \"%s\" dir %d", c->target, out, is_dir,
                     c->path, c->is_dir);
        }
    }
}

TEST(site_normalize_limits)
{
    char target[1000], out[SITE_PATH_MAX + 1];
    int is_dir;

    target[0] = '/';
    memset(target + 1, 'a', SITE_PATH_MAX);
    CHECK_INT_EQ(site_normalize(target, 1 + SITE_PATH_MAX, out, sizeof(out), &is_dir),
                 SITE_PATH_MAX);
    CHECK_INT_EQ(site_normalize(target, 1 + SITE_PATH_MAX, out, SITE_PATH_MAX, &is_dir), -ENOSPC);
    memset(target + 1, 'a', sizeof(target) - 1);
    CHECK_INT_EQ(site_normalize(target, sizeof(target), out, sizeof(out), &is_dir), -ENOSPC);
    /* Escapes shrink: 3 * 255 bytes of target make 255 bytes of path. */
    for (int i = 0; i < SITE_PATH_MAX; i++)
        memcpy(target + 1 + 3 * i, "%61", 3);
    CHECK_INT_EQ(site_normalize(target, 1 + 3 * SITE_PATH_MAX, out, sizeof(out), &is_dir),
                 SITE_PATH_MAX);
    CHECK_STR_EQ(out + SITE_PATH_MAX - 3, "aaa");
    /* Not read past len: no NUL terminator needed. */
    CHECK_INT_EQ(site_normalize("/a.txtGARBAGE", 6, out, sizeof(out), &is_dir), 5);
    CHECK_STR_EQ(out, "a.txt");
}

TEST(site_lookup_resolves_index_and_refuses_traversal)
{
    const struct site *s = ws_demo_site(NULL);
    struct site_file f;

#define LOOKUP(t) site_lookup(s, (t), strlen(t), &f)
    CHECK_INT_EQ(LOOKUP("/"), 0);
    CHECK_STR_EQ(f.path, "index.html");
    CHECK_INT_EQ(LOOKUP("/index.html"), 0);
    CHECK_STR_EQ(f.path, "index.html");
    CHECK_INT_EQ(LOOKUP("/docs/"), 0);
    CHECK_STR_EQ(f.path, "docs/index.html");
    CHECK_INT_EQ(LOOKUP("/docs"), 0); /* a directory without its slash */
    CHECK_STR_EQ(f.path, "docs/index.html");
    CHECK_INT_EQ(LOOKUP("/docs//x.css?v=2"), 0);
    CHECK_STR_EQ(f.path, "docs/x.css");
    CHECK_INT_EQ(LOOKUP("/%61.txt"), 0);
    CHECK_STR_EQ(f.path, "a.txt");
    CHECK_INT_EQ(LOOKUP("/a.txt/"), -ENOENT); /* a file is no directory */
    CHECK_INT_EQ(LOOKUP("/nope"), -ENOENT);
    CHECK_INT_EQ(LOOKUP("/docs/nope.html"), -ENOENT);
    CHECK_INT_EQ(LOOKUP("/../a.txt"), -EINVAL);
    CHECK_INT_EQ(LOOKUP("/docs/%2e%2e/a.txt"), -EINVAL);
    CHECK_INT_EQ(LOOKUP("/a%00"), -EINVAL);
    char longt[600];
    longt[0] = '/';
    memset(longt + 1, 'x', sizeof(longt) - 1);
    CHECK_INT_EQ(site_lookup(s, longt, sizeof(longt), &f), -ENOENT);
#undef LOOKUP
}

TEST(site_without_index_html_has_no_root)
{
    uint8_t buf[4096];
    struct ws_file files[] = {{"a", "text/plain", "x", 1}, {"b/c", "text/plain", "y", 1}};
    struct site s;
    struct site_file f;

    size_t n = ws_pack_site(buf, sizeof(buf), files, 2);
    CHECK_INT_EQ(site_open(&s, buf, n), 0);
    CHECK_INT_EQ(site_lookup(&s, "/", 1, &f), -ENOENT);
    CHECK_INT_EQ(site_lookup(&s, "/b/", 3, &f), -ENOENT);
    CHECK_INT_EQ(site_lookup(&s, "/b/c", 4, &f), 0);
    CHECK_UINT_EQ(f.len, 1);
}

/* The archive tools/mksite.py made of apps/webserver/site with the bench
 * extras (make host-mksite-check sets WS_SITE_ARCHIVE). */
TEST(site_mksite_archive_opens)
{
    const char *path = getenv("WS_SITE_ARCHIVE");
    if (path == NULL)
        return;
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    if (fp == NULL)
        return;
    static uint8_t img[2 << 20];
    size_t n = fread(img, 1, sizeof(img), fp);
    fclose(fp);
    struct site s;
    struct site_file f;
    CHECK_INT_EQ(site_open(&s, img, n), 0);
    CHECK_UINT_EQ(s.size, n);
    CHECK_INT_EQ(site_lookup(&s, "/", 1, &f), 0);
    CHECK_STR_EQ(f.mime, "text/html; charset=utf-8");
    CHECK(f.len > 100 && memcmp(f.data, "<!DOCTYPE html>", 15) == 0);
    CHECK_INT_EQ(site_find(&s, "style.css", 9, &f), 0);
    CHECK_STR_EQ(f.mime, "text/css; charset=utf-8");
    CHECK_INT_EQ(site_find(&s, "logo.svg", 8, &f), 0);
    CHECK_STR_EQ(f.mime, "image/svg+xml");
    CHECK_INT_EQ(site_find(&s, "info.json", 9, &f), 0);
    CHECK_STR_EQ(f.mime, "application/json");
    CHECK_INT_EQ(site_find(&s, "bench/4k.bin", 12, &f), 0);
    CHECK_UINT_EQ(f.len, 4096);
    CHECK(memcmp(f.data, "0000000000000000 zebu", 21) == 0);
    CHECK_INT_EQ(site_find(&s, "bench/1m.bin", 12, &f), 0);
    CHECK_UINT_EQ(f.len, 1 << 20);
    CHECK(memcmp(f.data + 64, "0000000000000040 zebu", 21) == 0);
    for (uint32_t i = 0; i < s.count; i++) {
        CHECK_INT_EQ(site_file_at(&s, i, &f), 0);
        CHECK_UINT_EQ((size_t)(f.data - img) % SITE_ALIGN, 0);
    }
}
