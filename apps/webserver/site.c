/*
 * site.c - the site archive (format in site.h): a checked constructor that
 * proves every offset and length before any lookup reads them, binary
 * search by path, and request-target normalisation.
 *
 * site_open() does all the checking once, so site_file_at() and site_find()
 * read fields without re-checking. The image may sit at any address: fields
 * are read bytewise (little-endian), never through misaligned pointers.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "site.h"

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

static bool path_byte_ok(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '~' || c == '-' || c == '/';
}

/* Relative, '/'-separated, no empty, "." or ".." segment. */
static bool path_ok(const uint8_t *p, size_t len)
{
    size_t seg = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '/') {
            if (!path_byte_ok(p[i]))
                return false;
            continue;
        }
        size_t n = i - seg;
        if (n == 0 || (n == 1 && p[seg] == '.') || (n == 2 && p[seg] == '.' && p[seg + 1] == '.'))
            return false;
        seg = i + 1;
    }
    return true;
}

static bool mime_ok(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return false;
    return true;
}

/* A string of len bytes and its NUL, inside [lo, hi) of the image. */
static bool string_in(uint32_t off, size_t len, size_t lo, size_t hi)
{
    return off >= lo && off < hi && len < hi - off;
}

struct site_layout {
    size_t strings_off, strings_end, data_off, size;
};

static int check_header(const uint8_t *b, size_t size, struct site_layout *l, uint32_t *count)
{
    if (size < SITE_HEADER_SIZE || memcmp(b, SITE_MAGIC, 8) != 0)
        return -EINVAL;
    if (get32(b + 8) != SITE_VERSION)
        return -ENOTSUP;
    uint32_t n = get32(b + 12);
    uint64_t image = get64(b + 16);
    if (n == 0 || n > SITE_MAX_FILES || image > size || get32(b + 24) != SITE_HEADER_SIZE ||
        !all_zero(b + 40, 24))
        return -EINVAL;
    /* n <= 65536, so the index ends below 2^23: no overflow in size_t. */
    size_t strings = (size_t)SITE_HEADER_SIZE + (size_t)n * SITE_ENTRY_SIZE;
    uint64_t strings_end = (uint64_t)get32(b + 28) + get32(b + 32);
    uint32_t data = get32(b + 36);
    if (get32(b + 28) != strings || strings_end > data || data > image || data % SITE_ALIGN != 0 ||
        data - strings_end >= SITE_ALIGN)
        return -EINVAL;
    l->strings_off = strings;
    l->strings_end = (size_t)strings_end;
    l->data_off = data;
    l->size = (size_t)image;
    *count = n;
    return 0;
}

static int check_entry(const uint8_t *b, const struct site_layout *l, const uint8_t *e)
{
    uint32_t path_off = get32(e), mime_off = get32(e + 8);
    size_t path_len = get16(e + 4), mime_len = get16(e + 6);
    uint64_t off = get64(e + 16), len = get64(e + 24);

    if (path_len == 0 || path_len > SITE_PATH_MAX || mime_len == 0 || mime_len > SITE_MIME_MAX)
        return -EINVAL;
    if (!string_in(path_off, path_len, l->strings_off, l->strings_end) ||
        !string_in(mime_off, mime_len, l->strings_off, l->strings_end))
        return -EINVAL;
    if (b[path_off + path_len] != 0 || !path_ok(b + path_off, path_len))
        return -EINVAL;
    if (b[mime_off + mime_len] != 0 || !mime_ok(b + mime_off, mime_len))
        return -EINVAL;
    if (!all_zero(e + 12, 4) || !all_zero(e + 49, 15) || e[32 + SITE_ETAG_HEX] != 0)
        return -EINVAL;
    for (int i = 0; i < SITE_ETAG_HEX; i++) {
        uint8_t c = e[32 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -EINVAL;
    }
    if (off % SITE_ALIGN != 0 || off < l->data_off || off > l->size || len > l->size - off)
        return -EINVAL;
    return 0;
}

/* Bytewise order of (a, alen) and (b, blen), shorter first on a tie. */
static int path_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

int site_open(struct site *s, const void *image, size_t size)
{
    const uint8_t *b = image;
    struct site_layout l;
    uint32_t n;

    if (b == NULL)
        return -EINVAL;
    int err = check_header(b, size, &l, &n);
    if (err != 0)
        return err;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = b + SITE_HEADER_SIZE + (size_t)i * SITE_ENTRY_SIZE;
        err = check_entry(b, &l, e);
        if (err != 0)
            return err;
        if (i > 0) {
            const uint8_t *p = e - SITE_ENTRY_SIZE;
            if (path_cmp(b + get32(p), get16(p + 4), b + get32(e), get16(e + 4)) >= 0)
                return -EINVAL; /* unsorted or duplicate */
        }
    }
    s->base = b;
    s->size = l.size;
    s->count = n;
    return 0;
}

int site_file_at(const struct site *s, uint32_t i, struct site_file *out)
{
    if (i >= s->count)
        return -ENOENT;
    const uint8_t *e = s->base + SITE_HEADER_SIZE + (size_t)i * SITE_ENTRY_SIZE;
    out->path = (const char *)s->base + get32(e);
    out->path_len = get16(e + 4);
    out->mime = (const char *)s->base + get32(e + 8);
    out->etag = (const char *)e + 32;
    out->data = s->base + get64(e + 16);
    out->len = (size_t)get64(e + 24);
    return 0;
}

int site_find(const struct site *s, const char *path, size_t len, struct site_file *out)
{
    uint32_t lo = 0, hi = s->count;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const uint8_t *e = s->base + SITE_HEADER_SIZE + (size_t)mid * SITE_ENTRY_SIZE;
        int c = path_cmp(path, len, s->base + get32(e), get16(e + 4));
        if (c == 0)
            return site_file_at(s, mid, out);
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -ENOENT;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode target[0, len) into out; returns the length or -EINVAL. */
static int percent_decode(const char *t, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(t[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(t[i + 2]) : -1;
            if (lo < 0)
                return -EINVAL;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            return -EINVAL; /* NUL and controls, escaped or not */
        if (n == cap)
            return -ENOSPC;
        out[n++] = (char)c;
    }
    return (int)n;
}

int site_normalize(const char *target, size_t len, char *out, size_t cap, int *is_dir)
{
    char dec[SITE_PATH_MAX + 1];
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        if (target[i] == '?' || target[i] == '#') {
            len = i;
            break;
        }
    if (len == 0 || target[0] != '/' || cap == 0)
        return -EINVAL;
    /* Decoding only shrinks; a target longer than dec's capacity is either
     * over-long or cut short, and both are -ENOSPC unless malformed. */
    int dlen = percent_decode(target, len, dec, sizeof(dec));
    if (dlen < 0)
        return dlen;
    *is_dir = dec[dlen - 1] == '/';
    for (int i = 0; i < dlen;) {
        int j = i;
        while (j < dlen && dec[j] != '/')
            j++;
        int seg = j - i;
        if (seg == 2 && dec[i] == '.' && dec[i + 1] == '.')
            return -EINVAL;
        if (seg == 1 && dec[i] == '.' && j == dlen)
            *is_dir = 1; /* "/a/." names the directory a */
        if (seg > 0 && !(seg == 1 && dec[i] == '.')) {
            size_t need = (n > 0 ? 1 : 0) + (size_t)seg;
            if (n + need >= cap)
                return -ENOSPC;
            if (n > 0)
                out[n++] = '/';
            memcpy(out + n, dec + i, (size_t)seg);
            n += (size_t)seg;
        }
        i = j + 1;
    }
    out[n] = 0;
    if (n == 0)
        *is_dir = 1;
    return (int)n;
}

/* path (n bytes, in a buffer of cap) + "/index.html", then site_find. */
static int find_index(const struct site *s, char *path, size_t n, size_t cap, struct site_file *out)
{
    const char *name = SITE_INDEX_NAME;
    size_t add = (n > 0 ? 1 : 0) + strlen(name);

    if (n + add >= cap)
        return -ENOENT;
    if (n > 0)
        path[n++] = '/';
    memcpy(path + n, name, strlen(name));
    n += strlen(name);
    path[n] = 0;
    return site_find(s, path, n, out);
}

int site_lookup(const struct site *s, const char *target, size_t len, struct site_file *out)
{
    char path[SITE_PATH_MAX + 1];
    int is_dir;

    int n = site_normalize(target, len, path, sizeof(path), &is_dir);
    if (n == -ENOSPC)
        return -ENOENT; /* longer than any path the archive can hold */
    if (n < 0)
        return n;
    if (!is_dir && site_find(s, path, (size_t)n, out) == 0)
        return 0;
    return find_index(s, path, (size_t)n, sizeof(path), out);
}
