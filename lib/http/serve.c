/*
 * serve.c - lib/http bound to Zebu's TCP (the one file of lib/http that
 * includes zebu.h): a listener, a thread per connection on core 0, and a
 * struct zebu_http_io over a struct zebu_tcp.
 *
 * Sending: bytes the engine asks to be copied go into a transmit buffer
 * (zebu_buf_alloc, so the stack copies nothing more); a body by reference
 * goes out as zebu_buf_ref pieces chained behind the head, one completion
 * for all of them. Receiving: zebu_tcp_recv_buf, copied into the engine's
 * receive buffer (the bytes of requests; what is left of a segment waits
 * for the next call).
 */
#include <zebu.h>
#include <zebu_http.h>

/* A connection thread's stack: the engine's buffers are on the heap, so
 * this is the handler's (2^n KiB less the guard page, see zebu.h). */
#define CONN_STACK (60 * 1024)
/* A client that keeps its window shut holds a response and a thread: a
 * minute is plenty for one that is merely slow (docs/network.md). */
#define ZERO_WINDOW_NS (60ull * 1000 * 1000 * 1000)
/* Memory by reference goes in pieces of at most this size, as
 * zebu_tcp_send_ref does, so room frees up piece by piece. */
#define REF_PIECE (64 * 1024)

struct tcp_io {
    struct zebu_tcp *c;
    struct zebu_buf *pending; /* received, partly handed to the engine */
    const char *data;
    size_t off, len;
};

static int tcp_send(void *ctx, const void *data, size_t len)
{
    struct tcp_io *t = ctx;
    size_t room;
    struct zebu_buf *b = zebu_buf_alloc(len);
    if (b == NULL)
        return -ENOMEM;
    memcpy(zebu_buf_data_mut(b, &room), data, len);
    return zebu_tcp_send_buf(t->c, b);
}

/* One completion for a body sent in pieces: done runs after the last. */
struct ref_done {
    unsigned pieces;
    void (*done)(void *cookie);
    void *cookie;
};

static void piece_done(void *arg)
{
    struct ref_done *r = arg;
    if (--r->pieces == 0) {
        if (r->done != NULL)
            r->done(r->cookie);
        free(r);
    }
}

static int tcp_send_ref(void *ctx, const void *head, size_t head_len, const void *body,
                        size_t body_len, void (*done)(void *), void *cookie)
{
    struct tcp_io *t = ctx;
    /* Memory that needs no word when it is free (done NULL: the app's
     * static data, say) needs no completion record either. */
    struct ref_done *r = done != NULL ? malloc(sizeof(*r)) : NULL;
    struct zebu_buf *h = zebu_buf_alloc(head_len);
    size_t room;

    if ((done != NULL && r == NULL) || h == NULL) {
        free(r);
        if (h != NULL)
            zebu_buf_free(h);
        if (done != NULL)
            done(cookie);
        return -ENOMEM;
    }
    if (r != NULL)
        *r = (struct ref_done){.pieces = 1, .done = done, .cookie = cookie};
    memcpy(zebu_buf_data_mut(h, &room), head, head_len);
    const char *p = body;
    int err = 0;
    while (body_len > 0 && err == 0) {
        size_t n = body_len < REF_PIECE ? body_len : REF_PIECE;
        struct zebu_buf *b = zebu_buf_ref(p, n, r != NULL ? piece_done : NULL, r);
        if (b == NULL) {
            err = -ENOMEM;
            break;
        }
        if (r != NULL)
            r->pieces++;
        if (h != NULL) { /* the first piece rides with the head: one send */
            zebu_buf_append(h, b);
            b = h;
            h = NULL;
        }
        err = zebu_tcp_send_buf(t->c, b); /* consumes b, whatever the result */
        p += n;
        body_len -= n;
    }
    if (h != NULL)
        zebu_buf_free(h);
    if (r != NULL)
        piece_done(r); /* the call's own hold */
    return err;
}

/*
 * The transport's receive: the engine's deadline becomes the connection's
 * receive timeout (ZEBU_TCP_LIMIT_RECV_TIMEOUT) for this one wait, so a
 * client that sends nothing at all is cut off on time too; a timed-out
 * receive leaves the connection usable (include/zebu.h), and the engine
 * answers 408 or closes. The engine also checks every deadline when a
 * receive returns (lib/http/conn.c, http_conn_recv), which catches a
 * client that trickles bytes.
 */
static long tcp_recv(void *ctx, void *buf, size_t cap, uint64_t deadline)
{
    struct tcp_io *t = ctx;

    if (t->pending == NULL) {
        uint64_t now = zebu_time_ns(), wait = 0; /* 0: no timeout */
        if (deadline != 0)
            wait = deadline > now ? deadline - now : 1;
        zebu_tcp_set_limit(t->c, ZEBU_TCP_LIMIT_RECV_TIMEOUT, wait);
        errno = 0;
        t->pending = zebu_tcp_recv_buf(t->c);
        if (t->pending == NULL)
            return errno == 0 ? 0 : -errno;
        t->data = zebu_buf_data(t->pending, &t->len);
        t->off = 0;
    }
    size_t n = t->len - t->off < cap ? t->len - t->off : cap;
    memcpy(buf, t->data + t->off, n);
    t->off += n;
    if (t->off == t->len) {
        zebu_buf_free(t->pending);
        t->pending = NULL;
    }
    return (long)n;
}

static uint64_t tcp_now(void *ctx)
{
    (void)ctx;
    return zebu_time_ns();
}

static int serve_tcp(struct zebu_http_server *srv, struct zebu_tcp *c, void *mem, size_t len)
{
    struct tcp_io t = {.c = c};
    const struct zebu_http_io io = {
        .ctx = &t, .send = tcp_send, .send_ref = tcp_send_ref, .recv = tcp_recv, .now = tcp_now,
    };

    zebu_tcp_set_nodelay(c, 1); /* responses go out whole, in as few sends as can be */
    int err = mem != NULL ? zebu_http_serve_io_mem(srv, &io, mem, len)
                          : zebu_http_serve_io(srv, &io);
    if (t.pending != NULL)
        zebu_buf_free(t.pending);
    if (err == -ENOMEM)
        zebu_tcp_abort(c); /* the client learns at once it was not served */
    else
        zebu_tcp_close(c);
    return err;
}

int zebu_http_serve_tcp(struct zebu_http_server *srv, struct zebu_tcp *c)
{
    return serve_tcp(srv, c, NULL, 0);
}

int zebu_http_serve_tcp_mem(struct zebu_http_server *srv, struct zebu_tcp *c, void *mem,
                            size_t len)
{
    if (mem == NULL)
        return -EINVAL;
    return serve_tcp(srv, c, mem, len);
}

struct conn_arg {
    struct zebu_http_server *srv;
    struct zebu_tcp *c;
};

static void *conn_thread(void *arg)
{
    struct conn_arg a = *(struct conn_arg *)arg;
    free(arg);
    zebu_http_serve_tcp(a.srv, a.c);
    return NULL;
}

int zebu_http_serve(struct zebu_http_server *srv, uint16_t port)
{
    struct zebu_tcp *l = zebu_tcp_listen(port, 128);
    if (l == NULL)
        return -errno;
    zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_ZERO_WINDOW, ZERO_WINDOW_NS); /* inherited */
    for (;;) {
        struct zebu_tcp *c = zebu_tcp_accept(l);
        if (c == NULL)
            continue;
        struct conn_arg *a = malloc(sizeof(*a));
        struct zebu_thread *th = NULL;
        if (a != NULL) {
            *a = (struct conn_arg){srv, c};
            th = zebu_thread_create(conn_thread, a, 0, "http", CONN_STACK);
        }
        if (th == NULL) { /* out of memory: refuse this one, keep serving */
            free(a);
            zebu_tcp_abort(c);
            continue;
        }
        zebu_thread_detach(th);
    }
}
