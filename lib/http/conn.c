/*
 * conn.c - one connection, request after request: read and parse the
 * header block, decode the body as the handler reads it, run the route's
 * handler, finish its response, drain what it left of the body, keep the
 * bytes of the next (pipelined) request. Portable: the transport is a
 * struct zebu_http_io.
 *
 * The receive buffer (limits.header_bytes + HTTP_BODY_WINDOW bytes) holds
 * the header block at its start while the handler runs (the request's
 * slices point there); body bytes and pipelined requests follow it. The
 * body decoder works in place after the block: a span it hands out stays
 * valid until the next read, which may compact the bytes behind the
 * block to make room.
 *
 * Time: every receive carries a deadline - idle (no byte of the next
 * request yet), header (first byte to the end of the block) or body (the
 * whole body). http_conn_recv is the one place they are enforced; the
 * transport may honour them itself (it should), and a reply that arrives
 * late counts as a timeout all the same.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

int http_conn_send(struct http_conn *c, const void *data, size_t len)
{
    if (c->io_err != 0)
        return c->io_err;
    int err = c->io->send(c->io->ctx, data, len);
    if (err != 0)
        c->io_err = err;
    else
        HTTP_STAT_ADD(c->srv->stats.bytes_out, len);
    return err;
}

int http_conn_send_ref(struct http_conn *c, const void *head, size_t head_len, const void *body,
                       size_t body_len, void (*done)(void *), void *cookie)
{
    if (c->io_err != 0) {
        if (done != NULL)
            done(cookie);
        return c->io_err;
    }
    int err = c->io->send_ref(c->io->ctx, head, head_len, body, body_len, done, cookie);
    if (err != 0)
        c->io_err = err;
    else
        HTTP_STAT_ADD(c->srv->stats.bytes_out, head_len + body_len);
    return err;
}

static uint64_t deadline_after(const struct http_conn *c, uint64_t ns)
{
    return ns == 0 ? 0 : c->io->now(c->io->ctx) + ns;
}

/* The one place deadlines are enforced: a count, 0 at the end of the
 * stream, -ETIMEDOUT, or the transport's -errno. */
static long http_conn_recv(struct http_conn *c, uint64_t deadline)
{
    const struct zebu_http_io *io = c->io;

    if (deadline != 0 && io->now(io->ctx) >= deadline)
        return -ETIMEDOUT;
    long n = io->recv(io->ctx, c->buf + c->used, c->cap - c->used, deadline);
    if (n > 0 && deadline != 0 && io->now(io->ctx) > deadline)
        return -ETIMEDOUT; /* a trickle that beat no deadline still loses */
    if (n > 0) {
        c->used += (size_t)n;
        HTTP_STAT_ADD(c->srv->stats.bytes_in, (uint64_t)n);
    }
    return n;
}

/* --- the body, as the handler reads it ---------------------------------- */

static void body_error(struct http_conn *c, int err, int status)
{
    c->body_err = err;
    c->body_status = status;
}

/* RFC 9110 10.1.1: invite the body the client holds back, once, and only
 * while no final response went out. */
static void send_continue(struct http_conn *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

    if (!c->req.expect_continue || c->continue_sent || c->resp.state != RESP_OPEN)
        return;
    c->continue_sent = true;
    HTTP_STAT_ADD(c->srv->stats.continues_sent, 1);
    HTTP_STAT_ADD(c->srv->stats.responses_by_class[1], 1);
    http_conn_send(c, cont, sizeof(cont) - 1);
}

/* Make room for more body bytes: everything before pos is consumed. */
static void compact(struct http_conn *c)
{
    size_t keep = c->req.header_len;
    memmove(c->buf + keep, c->buf + c->pos, c->used - c->pos);
    c->used -= c->pos - keep;
    c->pos = keep;
}

/* The next decoded bytes, at most max of them. */
static long read_span(struct zebu_http_request *req, const void **data, size_t max)
{
    struct http_conn *c = req->conn;

    *data = NULL;
    if (c->body_err != 0)
        return c->body_err;
    if (c->body.done)
        return 0;
    if (!c->body_started) {
        c->body_started = true;
        c->body_deadline = deadline_after(c, c->srv->lim.body_ns);
        send_continue(c);
    }
    for (;;) {
        size_t off, len;
        long n = http_body_decode(&c->body, c->buf + c->pos, c->used - c->pos, max, &off, &len);
        if (n < 0) {
            body_error(c, c->body.status == 400 ? -EBADMSG : -EMSGSIZE, c->body.status);
            return c->body_err;
        }
        const char *at = c->buf + c->pos;
        c->pos += (size_t)n;
        if (len > 0) {
            *data = at + off;
            return (long)len;
        }
        if (c->body.done)
            return 0;
        compact(c);
        long r = http_conn_recv(c, c->body_deadline);
        if (r == -ETIMEDOUT) {
            HTTP_STAT_ADD(c->srv->stats.timeouts_body, 1);
            body_error(c, -ETIMEDOUT, 408);
        } else if (r <= 0) {
            body_error(c, r == 0 ? -ECONNRESET : (int)r, 0); /* nobody to answer */
        }
        if (r <= 0)
            return c->body_err;
    }
}

long zebu_http_read_span(struct zebu_http_request *req, const void **data)
{
    return read_span(req, data, SIZE_MAX);
}

long zebu_http_read(struct zebu_http_request *req, void *buf, size_t cap)
{
    const void *p;

    if (cap == 0)
        return 0;
    long n = read_span(req, &p, cap);
    if (n > 0)
        memcpy(buf, p, (size_t)n);
    return n;
}

long zebu_http_read_all(struct zebu_http_request *req, void *buf, size_t cap)
{
    struct http_conn *c = req->conn;
    size_t got = 0;

    /* A declared length that cannot fit is refused before it is invited. */
    if (c->body.kind == ZEBU_HTTP_BODY_LENGTH && c->body.remaining > cap && !c->body_started) {
        body_error(c, -EMSGSIZE, 413);
        return -EMSGSIZE;
    }
    for (;;) {
        const void *p;
        if (got == cap) {
            /* Full: one byte more says whether the body was longer. */
            char extra;
            long m = zebu_http_read(req, &extra, 1);
            if (m > 0)
                body_error(c, -EMSGSIZE, 413);
            return m < 0 ? m : m > 0 ? -EMSGSIZE : (long)got;
        }
        long n = read_span(req, &p, cap - got);
        if (n <= 0)
            return n < 0 ? n : (long)got; /* 0: the end of the body */
        memcpy((char *)buf + got, p, (size_t)n);
        got += (size_t)n;
    }
}

/* --- request after request ---------------------------------------------- */

/* read_request: io->park said the idle connection has nothing to read
 * (not an errno: no transport error can be confused with it). */
#define READ_PARKED (-0x7fffffffL)

/* Read until the parser decides on one request: its header length (req
 * filled, maybe with an error status), 0 when the connection should end
 * quietly (end of stream, idle timeout), or a negative errno. */
static long read_request(struct http_conn *c)
{
    const struct zebu_http_limits *lim = &c->srv->lim;
    struct zebu_http_parser p;
    uint64_t idle = deadline_after(c, lim->idle_ns);
    uint64_t header = c->used > 0 ? deadline_after(c, lim->header_ns) : 0;

    zebu_http_parser_init(&p);
    if (c->used == 0 && c->io->park != NULL && c->io->park(c->io->ctx))
        return READ_PARKED; /* idle, nothing to read: the caller parks it */
    for (;;) {
        if (c->used > 0) {
            int n = zebu_http_parse(&p, lim, c->buf, c->used, &c->req, c->headers);
            if (n > 0)
                return n;
        }
        bool first = c->used == 0;
        long r = http_conn_recv(c, first ? idle : header);
        if (r == -ETIMEDOUT) {
            if (first) {
                HTTP_STAT_ADD(c->srv->stats.timeouts_idle, 1);
                return 0; /* RFC 9112 9.5: an idle connection may just close */
            }
            HTTP_STAT_ADD(c->srv->stats.timeouts_header, 1);
            memset(&c->req, 0, sizeof(c->req));
            c->req.status = 408; /* RFC 9110 15.5.9 */
            return 1;
        }
        if (r <= 0)
            return r; /* a request cut short is not answered */
        if (first && lim->header_ns != 0)
            header = deadline_after(c, lim->header_ns);
    }
}

/* Read what the handler left of the body, so that the next request can be
 * found; false when the connection must close instead. */
static bool drain_body(struct http_conn *c)
{
    const void *p;
    long n;

    if (c->resp.close)
        return false;
    while ((n = zebu_http_read_span(&c->req, &p)) > 0)
        ;
    return n == 0;
}

/* One request: answer it. Returns whether the connection goes on. */
static bool serve_one(struct http_conn *c, size_t header_len)
{
    struct zebu_http_server *srv = c->srv;
    struct zebu_http_request *req = &c->req;

    HTTP_STAT_ADD(srv->stats.requests, 1);
    req->header_len = header_len;
    req->headers = c->headers;
    req->conn = c;
    c->pos = header_len;
    c->body_started = c->continue_sent = false;
    c->body_err = c->body_status = 0;
    zebu_http_body_init(&c->body, req, &srv->lim);
    http_response_init(c);
    if (req->status == 0 && req->body_kind == ZEBU_HTTP_BODY_LENGTH &&
        req->content_length > srv->lim.body_bytes)
        req->status = 413; /* refused before 100 Continue could invite it */
    if (req->status != 0) {
        if (req->status != 408)
            HTTP_STAT_ADD(srv->stats.parse_errors, 1);
        http_response_error(&c->resp, req->status, NULL, true);
        return false;
    }
    int rc = http_route_dispatch(srv, req, &c->resp);
    if (rc < 0)
        c->resp.close = true;
    http_response_finish(&c->resp);
    if (c->io_err != 0 || c->resp.close || !drain_body(c))
        return false;
    /* Keep the next request's bytes, at the start of the buffer. */
    memmove(c->buf, c->buf + c->pos, c->used - c->pos);
    c->used -= c->pos;
    return true;
}

/* A connection's memory: its state, the header slots, the output buffer
 * and the receive buffer, in that order, each 16-byte aligned. */
#define CONN_ALIGN 16

static size_t align_up(size_t n)
{
    return (n + CONN_ALIGN - 1) & ~(size_t)(CONN_ALIGN - 1);
}

static size_t conn_fixed(const struct zebu_http_server *srv)
{
    return align_up(sizeof(struct http_conn)) +
           align_up(srv->lim.header_count * sizeof(struct zebu_http_header)) +
           align_up(HTTP_STATUS_ROOM + srv->lim.output_bytes);
}

size_t zebu_http_conn_bytes(const struct zebu_http_server *srv)
{
    /* CONN_ALIGN - 1 more: the caller's memory may start anywhere */
    return conn_fixed(srv) + srv->lim.header_bytes + HTTP_BODY_WINDOW_MIN + CONN_ALIGN - 1;
}

int zebu_http_serve_io_mem(struct zebu_http_server *srv, const struct zebu_http_io *io, void *mem,
                           size_t len)
{
    if (mem == NULL || len < zebu_http_conn_bytes(srv))
        return -EINVAL;
    char *p = mem;
    size_t skew = (size_t)(-(uintptr_t)p & (CONN_ALIGN - 1));
    p += skew;
    len -= skew;
    struct http_conn *c = (struct http_conn *)(void *)p;
    memset(c, 0, sizeof(*c));
    p += align_up(sizeof(*c));
    c->headers = (struct zebu_http_header *)(void *)p;
    p += align_up(srv->lim.header_count * sizeof(*c->headers));
    c->resp.out_cap = HTTP_STATUS_ROOM + srv->lim.output_bytes;
    c->resp.out = p;
    p += align_up(c->resp.out_cap);
    c->buf = p;
    c->cap = len - conn_fixed(srv); /* the rest: the header block and room for body bytes */
    c->srv = srv;
    c->io = io;
    if (!(io->flags & ZEBU_HTTP_IO_RESUMED))
        HTTP_STAT_ADD(srv->stats.connections, 1);
    long n;
    while ((n = read_request(c)) > 0 && serve_one(c, (size_t)n))
        ;
    int err = n < 0 ? (int)n : c->io_err;
    if (n == READ_PARKED)
        return ZEBU_HTTP_PARKED;
    return err == -ECONNRESET ? 0 : err;
}

int zebu_http_serve_io(struct zebu_http_server *srv, const struct zebu_http_io *io)
{
    /* One allocation; a body window of HTTP_BODY_WINDOW behind the header block. */
    size_t len = zebu_http_conn_bytes(srv) + HTTP_BODY_WINDOW - HTTP_BODY_WINDOW_MIN;
    void *mem = malloc(len);
    if (mem == NULL)
        return -ENOMEM;
    int err = zebu_http_serve_io_mem(srv, io, mem, len);
    free(mem);
    return err;
}
