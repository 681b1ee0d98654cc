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

#include "http_internal.h"

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
    /* The stack's completions run on core 0, the call's own release on
     * the caller's core: the count is shared. */
    if (__atomic_sub_fetch(&r->pieces, 1, __ATOMIC_ACQ_REL) == 0) {
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

/* io->park: with nothing left of what was received, one look at the
 * connection without waiting. Bytes: kept for tcp_recv, not parked. The
 * end of the stream or an error: not parked either, so that tcp_recv
 * reports it. */
static int tcp_park(void *ctx)
{
    struct tcp_io *t = ctx;

    if (t->pending != NULL)
        return 0;
    t->pending = zebu_tcp_try_recv_buf(t->c);
    if (t->pending == NULL)
        return errno == EAGAIN;
    t->data = zebu_buf_data(t->pending, &t->len);
    t->off = 0;
    return 0;
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

static void serve_conn(struct zebu_tcp *c, void *arg)
{
    zebu_http_serve_tcp(arg, c);
}

static void serve_setup(struct zebu_tcp *l, void *arg)
{
    (void)arg;
    zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_ZERO_WINDOW, ZERO_WINDOW_NS); /* inherited */
}

/* zebu_tcp_serve: a listener per core where each core has a network stack,
 * each connection's thread on its own core. */
int zebu_http_serve(struct zebu_http_server *srv, uint16_t port)
{
    struct zebu_tcp_server cfg = {
        .port = port,
        .backlog = 128,
        .stack_size = CONN_STACK,
        .serve = serve_conn,
        .setup = serve_setup,
        .arg = srv,
    };
    return zebu_tcp_serve(&cfg);
}

/* ---- many connections, few threads ---------------------------------------
 *
 * One poller thread and `workers` worker threads, all on core 0 (where the
 * stack is: the scheduler is cooperative there, so nothing below locks).
 * Every connection is watched by the poller from accept to close. A parked
 * one sits in the idle list, oldest first, holding its TCP state and a
 * struct many_conn; when it has news the poller moves it to the work list
 * and wakes a worker, which serves it (zebu_http_serve_io with park) until
 * it is idle again and parks it, or until it ends. News about a connection
 * a worker is serving is ignored: the worker's own look before it parks
 * (tcp_park) sees those bytes. */

struct many_conn {
    struct zebu_tcp *c;
    uint64_t since;                /* parked at (ns) */
    struct many_conn *prev, *next; /* the idle list, or the work list (next) */
    bool busy;                     /* a worker has it */
};

struct many {
    struct zebu_http_server *srv;
    struct zebu_tcp *listener;
    struct zebu_poll *poll;
    struct many_conn *idle_head, *idle_tail;
    struct many_conn *work_head, *work_tail;
    struct zebu_event *work;
};

static void idle_push(struct many *m, struct many_conn *mc)
{
    mc->since = zebu_time_ns();
    mc->next = NULL;
    mc->prev = m->idle_tail;
    if (m->idle_tail != NULL)
        m->idle_tail->next = mc;
    else
        m->idle_head = mc;
    m->idle_tail = mc;
}

static void idle_remove(struct many *m, struct many_conn *mc)
{
    if (mc->prev != NULL)
        mc->prev->next = mc->next;
    else
        m->idle_head = mc->next;
    if (mc->next != NULL)
        mc->next->prev = mc->prev;
    else
        m->idle_tail = mc->prev;
    mc->prev = mc->next = NULL;
}

static void work_push(struct many *m, struct many_conn *mc)
{
    mc->busy = true;
    mc->next = NULL;
    if (m->work_tail != NULL)
        m->work_tail->next = mc;
    else
        m->work_head = mc;
    m->work_tail = mc;
    zebu_event_signal(m->work);
}

static void *worker(void *arg)
{
    struct many *m = arg;

    for (;;) {
        while (m->work_head == NULL)
            zebu_event_wait(m->work);
        struct many_conn *mc = m->work_head;
        m->work_head = mc->next;
        if (m->work_head == NULL)
            m->work_tail = NULL;
        struct tcp_io t = {.c = mc->c};
        const struct zebu_http_io io = {
            .ctx = &t, .send = tcp_send, .send_ref = tcp_send_ref, .recv = tcp_recv,
            .now = tcp_now, .park = tcp_park, .flags = ZEBU_HTTP_IO_RESUMED,
        };
        int r = zebu_http_serve_io(m->srv, &io);
        if (r == ZEBU_HTTP_PARKED) { /* tcp_park took nothing: t.pending is NULL */
            mc->busy = false;
            idle_push(m, mc);
            continue;
        }
        if (t.pending != NULL)
            zebu_buf_free(t.pending);
        if (r == -ENOMEM)
            zebu_tcp_abort(mc->c); /* leaves the poller too */
        else
            zebu_tcp_close(mc->c);
        free(mc);
    }
    return NULL;
}

/* Every connection waiting on the listener: watched, parked. */
static void accept_all(struct many *m)
{
    struct zebu_tcp *c;

    while ((c = zebu_tcp_try_accept(m->listener)) != NULL) {
        struct many_conn *mc = calloc(1, sizeof(*mc));
        if (mc == NULL || zebu_poll_add(m->poll, c, mc) != 0) {
            free(mc);
            zebu_tcp_abort(c); /* out of memory: refuse this one, keep serving */
            continue;
        }
        mc->c = c;
        zebu_tcp_set_nodelay(c, 1);
        HTTP_STAT_ADD(m->srv->stats.connections, 1);
        idle_push(m, mc); /* zebu_poll_add queued it: served at once if it has bytes */
    }
}

/* Parked connections idle past the limit are closed; returns how long the
 * poller may wait for the next one to expire (UINT64_MAX: none). */
static uint64_t expire_idle(struct many *m)
{
    uint64_t idle = m->srv->lim.idle_ns, now = zebu_time_ns();

    if (idle == 0)
        return UINT64_MAX;
    while (m->idle_head != NULL && now - m->idle_head->since >= idle) {
        struct many_conn *mc = m->idle_head;
        idle_remove(m, mc);
        HTTP_STAT_ADD(m->srv->stats.timeouts_idle, 1);
        zebu_tcp_close(mc->c); /* RFC 9112 9.5: an idle connection may just close */
        free(mc);
    }
    return m->idle_head == NULL ? UINT64_MAX : m->idle_head->since + idle - now;
}

int zebu_http_serve_many(struct zebu_http_server *srv, uint16_t port, unsigned workers)
{
    struct many m = {.srv = srv};
    enum { BATCH = 64 };
    struct zebu_poll_event ev[BATCH];

    m.listener = zebu_tcp_listen(port, 128);
    if (m.listener == NULL)
        return -errno;
    zebu_tcp_set_limit(m.listener, ZEBU_TCP_LIMIT_ZERO_WINDOW, ZERO_WINDOW_NS); /* inherited */
    m.poll = zebu_poll_create();
    m.work = zebu_event_create();
    if (m.poll == NULL || m.work == NULL || zebu_poll_add(m.poll, m.listener, NULL) != 0)
        return -ENOMEM;
    for (unsigned i = 0; i < (workers == 0 ? 4 : workers); i++) {
        struct zebu_thread *th = zebu_thread_create(worker, &m, 0, "http-worker", CONN_STACK);
        if (th == NULL)
            return -ENOMEM;
        zebu_thread_detach(th);
    }
    for (;;) {
        int n = zebu_poll_wait(m.poll, ev, BATCH, expire_idle(&m));
        for (int i = 0; i < n; i++) {
            struct many_conn *mc = ev[i].user;
            if (ev[i].tcp == m.listener) {
                accept_all(&m);
            } else if (!mc->busy) {
                idle_remove(&m, mc);
                work_push(&m, mc);
            }
        }
    }
}
