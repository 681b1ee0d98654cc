/*
 * http_lib_fake.c - the in-memory transport and response parser of
 * http_lib_fake.h.
 */
#define _GNU_SOURCE /* memmem */
#include "http_lib_fake.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The output stays NUL-terminated, for the strto* of the parser below. */
static void out_put(struct fake_io *f, const void *p, size_t n)
{
    if (f->out_len + n + 1 > f->out_cap) {
        size_t cap = (f->out_len + n) * 2 + 256;
        char *o = realloc(f->out, cap);
        if (o == NULL)
            abort();
        f->out = o;
        f->out_cap = cap;
    }
    if (n > 0)
        memcpy(f->out + f->out_len, p, n);
    f->out_len += n;
    f->out[f->out_len] = 0;
}

static int fake_send(void *ctx, const void *data, size_t len)
{
    struct fake_io *f = ctx;
    f->sends++;
    out_put(f, data, len);
    return 0;
}

static int fake_send_ref(void *ctx, const void *head, size_t head_len, const void *body,
                         size_t body_len, void (*done)(void *), void *cookie)
{
    struct fake_io *f = ctx;
    f->refs++;
    f->ref_body = body;
    f->ref_len = body_len;
    out_put(f, head, head_len);
    out_put(f, body, body_len);
    if (done != NULL)
        done(cookie);
    return 0;
}

static long fake_recv(void *ctx, void *buf, size_t cap, uint64_t deadline)
{
    struct fake_io *f = ctx;
    f->recvs++;
    if (f->in_pos == f->in_len) {
        if (f->stall && deadline != 0) {
            if (f->now < deadline)
                f->now = deadline;
            return -ETIMEDOUT;
        }
        return 0;
    }
    f->now += f->step_ns;
    size_t n = f->in_len - f->in_pos;
    if (n > cap)
        n = cap;
    if (f->piece != 0 && n > f->piece)
        n = f->piece;
    for (unsigned i = 0; i < f->ncuts; i++)
        if (f->cuts[i] > f->in_pos && f->cuts[i] - f->in_pos < n)
            n = f->cuts[i] - f->in_pos;
    memcpy(buf, f->in + f->in_pos, n);
    f->in_pos += n;
    return (long)n;
}

static uint64_t fake_now(void *ctx)
{
    return ((struct fake_io *)ctx)->now;
}

void fake_io_init(struct fake_io *f, const char *in, size_t len)
{
    memset(f, 0, sizeof(*f));
    f->in = in;
    f->in_len = len;
    f->now = 1000;
    f->io = (struct zebu_http_io){.ctx = f, .send = fake_send, .send_ref = fake_send_ref,
                                  .recv = fake_recv, .now = fake_now};
}

void fake_io_free(struct fake_io *f)
{
    free(f->out);
    f->out = NULL;
}

static bool line_has(const char *head, size_t len, const char *field)
{
    return memmem(head, len, field, strlen(field)) != NULL;
}

static int body_put(struct fake_response *r, const char *p, size_t n)
{
    if (r->body_len + n > sizeof(r->body))
        return -1;
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    return 0;
}

/* Chunked body at out[*pos...]: strict RFC 9112 7.1 framing. */
static int parse_chunked(const char *out, size_t len, size_t *pos, struct fake_response *r)
{
    for (;;) {
        char *end;
        const char *eol = memmem(out + *pos, len - *pos, "\r\n", 2);
        if (eol == NULL)
            return -1;
        unsigned long n = strtoul(out + *pos, &end, 16);
        if (end != eol || end == out + *pos)
            return -1;
        *pos = (size_t)(eol - out) + 2;
        if (n == 0)
            break;
        if (len - *pos < n + 2 || memcmp(out + *pos + n, "\r\n", 2) != 0 ||
            body_put(r, out + *pos, n) != 0)
            return -1;
        *pos += n + 2;
    }
    if (len - *pos < 2 || memcmp(out + *pos, "\r\n", 2) != 0)
        return -1; /* the library sends no trailer */
    *pos += 2;
    return 0;
}

int fake_parse_response(const char *out, size_t len, size_t *pos, bool head_only,
                        struct fake_response *r)
{
    memset(r, 0, sizeof(*r));
    const char *s = out + *pos;
    size_t left = len - *pos;
    const char *end = memmem(s, left, "\r\n\r\n", 4);
    if (end == NULL || left < 13 || memcmp(s, "HTTP/1.1 ", 9) != 0)
        return -1;
    r->status = atoi(s + 9);
    if (r->status < 100 || r->status > 599 || s[12] != ' ')
        return -1;
    r->head = s;
    r->head_len = (size_t)(end - s) + 4;
    *pos += r->head_len;
    r->chunked = line_has(s, r->head_len, "\r\nTransfer-Encoding: chunked\r\n");
    r->close = line_has(s, r->head_len, "\r\nConnection: close\r\n");
    const char *cl = memmem(s, r->head_len, "\r\nContent-Length: ", 18);
    r->has_length = cl != NULL;
    if (r->chunked && r->has_length)
        return -1;
    if (head_only || r->status < 200 || r->status == 204 || r->status == 304)
        return 0;
    if (r->chunked)
        return parse_chunked(out, len, pos, r);
    if (r->has_length) {
        size_t n = strtoul(cl + 18, NULL, 10);
        if (len - *pos < n || body_put(r, out + *pos, n) != 0)
            return -1;
        *pos += n;
        return 0;
    }
    if (!r->close)
        return -1; /* no framing and not close-delimited */
    if (body_put(r, out + *pos, len - *pos) != 0)
        return -1;
    *pos = len;
    return 0;
}
