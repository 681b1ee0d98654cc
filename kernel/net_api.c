/*
 * kernel/net_api.c — the app's socket and buffer calls (include/zebu.h):
 * zebu_tcp_* over net/tcp, zebu_udp_* over net/udp, zebu_buf_*.
 *
 * Every call runs on the core of the stack it uses (kernel/net.h): a TCP
 * connection lives on the stack that received its first segment, a UDP
 * socket on core 0's (RSS hashes TCP only). Each public function is a
 * wrapper (at the end of the file) that moves a thread calling from
 * another core to that core for the call and back (knet_enter_core,
 * counted); the work is in the static *_here functions. The scheduler is
 * cooperative and a stack is touched from its own core only, so the data
 * path locks nothing. Buffer calls that touch only the caller's memory
 * (zebu_buf_alloc, _ref, _append, _data, _data_mut) run where they are
 * called; a received buffer carries its stack's core (netbuf.home) and is
 * freed there. A blocking call loops: try the non-blocking net/ call,
 * and when it would block, wait on the connection's event, which the
 * stack's notify callback signals for every change (readable, writable,
 * accepted, connected, closed). Signals are counted, so none is lost
 * between the try and the wait; a spurious wake only costs one more try.
 * After a call that may have armed a timer the stack's network thread is
 * kicked so it does not sleep past it.
 *
 * Listening. A SYN may arrive on any core's pair, so a listened port has a
 * listener in every stack: a listen group (like SO_REUSEPORT). Each
 * zebu_tcp_listen on the port from another core adds a handle to the
 * group; a handle accepts what its own core's stack received, and what
 * stacks without a handle of their own received (moving there for it). An
 * app that listens once per core thus accepts every connection on the core
 * that received it; an app that listens once takes them all.
 *
 * Timeouts (zebu_tcp_set_limit's RECV, SEND and ACCEPT kinds) belong to the
 * handle, not to net/: a timed-out call leaves the connection as it was.
 * Each bounds one stretch without progress with a deadline
 * (kernel/sched.h event_wait_until), tried once more after it passes so
 * that what arrived with the timeout is not refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zebu.h>

#include "kernel/net.h"
#include "kernel/percpu.h"
#include "kernel/spinlock.h"
#include "kernel/sched.h"
#include "kernel/time.h"
#include "net/netbuf.h"
#include "net/stack.h"
#include "net/tcp.h"

/* The handle's timeouts, by what waits (0: none). */
enum { TMO_RECV, TMO_SEND, TMO_ACCEPT, TMO_KINDS };

struct listen_group;

struct zebu_tcp {
    struct tcp_conn *conn; /* a listener: its core's stack's listener */
    int core;              /* the core whose stack holds conn */
    struct listen_group *grp; /* a listener: its port's group */
    int listen_core;          /* a listener: the core it was made on */
    struct zebu_tcp *grp_next;
    struct event ev;
    uint64_t timeout_ns[TMO_KINDS];
    /* Watched by a poller (zebu_poll_add): queued on its ready list at
     * every change, once until zebu_poll_wait hands it out. */
    struct zebu_poll *poll;
    void *user;
    struct zebu_tcp *ready_next;
    bool queued;
};

/* A poller: handles with news, in the order they had it. Stacks on every
 * core queue to it: the list is under lock. */
struct zebu_poll {
    struct spinlock lock;
    struct event ev;
    struct zebu_tcp *head, *tail;
    unsigned watched;
};

/* p's lock held. */
static void ready_push(struct zebu_poll *p, struct zebu_tcp *z)
{
    if (z->queued)
        return;
    z->queued = true;
    z->ready_next = NULL;
    if (p->tail != NULL)
        p->tail->ready_next = z;
    else
        p->head = z;
    p->tail = z;
    event_signal(&p->ev);
}

/* p's lock held. */
static void ready_remove(struct zebu_poll *p, struct zebu_tcp *z)
{
    if (!z->queued)
        return;
    struct zebu_tcp *prev = NULL;
    for (struct zebu_tcp *q = p->head; q != NULL; prev = q, q = q->ready_next) {
        if (q != z)
            continue;
        if (prev != NULL)
            prev->ready_next = q->ready_next;
        else
            p->head = q->ready_next;
        if (p->tail == q)
            p->tail = prev;
        break;
    }
    z->queued = false;
}

/* The deadline of a wait of kind k on z's handle, from now. */
static uint64_t deadline(const struct zebu_tcp *z, int k)
{
    return z->timeout_ns[k] == 0 ? EVENT_NO_DEADLINE : event_deadline(z->timeout_ns[k]);
}

/* z changed: wake its waiters, queue it on its poller. */
static void handle_news(struct zebu_tcp *z)
{
    event_signal(&z->ev);
    struct zebu_poll *p = __atomic_load_n(&z->poll, __ATOMIC_ACQUIRE);
    if (p == NULL)
        return;
    uint64_t f = spin_lock_irqsave(&p->lock);
    if (z->poll == p)
        ready_push(p, z);
    spin_unlock_irqrestore(&p->lock, f);
}

static void tcp_notify(struct tcp_conn *c, unsigned events, void *arg)
{
    (void)c;
    (void)events;
    handle_news(arg);
}

/* Before z goes: off its poller. */
static void unwatch(struct zebu_tcp *z)
{
    struct zebu_poll *p = z->poll;
    if (p == NULL)
        return;
    uint64_t f = spin_lock_irqsave(&p->lock);
    ready_remove(p, z);
    p->watched--;
    __atomic_store_n(&z->poll, NULL, __ATOMIC_RELEASE);
    spin_unlock_irqrestore(&p->lock, f);
}

static struct zebu_tcp *wrap_conn(struct tcp_conn *conn)
{
    struct zebu_tcp *z = calloc(1, sizeof(*z));
    if (z == NULL)
        return NULL;
    z->conn = conn;
    z->core = (int)this_cpu()->id;
    event_init(&z->ev);
    tcp_set_notify(conn, tcp_notify, z);
    return z;
}

/* This core's stack (the caller moved to knet_home); else NULL with errno
 * set. */
static struct net_stack *usable_stack(void)
{
    struct net_stack *st = knet_stack();
    if (st == NULL)
        errno = ENODEV;
    return st;
}

/* ---- listen groups ---- */

#define MAX_STACKS 8 /* drivers/virtio_net.h VNET_MAX_PAIRS */

struct listen_slot {
    struct listen_group *g;
    unsigned index; /* the stack (and core) */
    struct tcp_conn *l;
};

struct listen_group {
    uint16_t port;
    unsigned stacks;
    struct listen_slot slot[MAX_STACKS];
    unsigned ready; /* bit i: stack i's listener may have a connection */
    struct spinlock lock; /* handles */
    struct zebu_tcp *handles;
    struct listen_group *next;
};

/* Groups by port; changed by listen and close only (listen_lock). */
static struct zebu_mutex listen_lock = ZEBU_MUTEX_INIT;
static struct listen_group *groups;

/* Whether handle z accepts from stack i: its own core's, and any stack
 * without a handle on its core; everything when z's core has no stack.
 * g's lock held. */
static bool takes_from(const struct listen_group *g, const struct zebu_tcp *z, unsigned i)
{
    if ((unsigned)z->listen_core >= g->stacks || (unsigned)z->listen_core == i)
        return true;
    for (const struct zebu_tcp *h = g->handles; h != NULL; h = h->grp_next)
        if ((unsigned)h->listen_core == i)
            return false;
    return true;
}

/* Stack i's listener has a connection (on core i): wake the handles that
 * take from it. */
static void listen_notify(struct tcp_conn *c, unsigned events, void *arg)
{
    struct listen_slot *s = arg;
    struct listen_group *g = s->g;
    (void)c;
    (void)events;
    __atomic_or_fetch(&g->ready, 1u << s->index, __ATOMIC_RELEASE);
    uint64_t f = spin_lock_irqsave(&g->lock);
    for (struct zebu_tcp *h = g->handles; h != NULL; h = h->grp_next)
        if (takes_from(g, h, s->index))
            handle_news(h);
    spin_unlock_irqrestore(&g->lock, f);
}

/* Runs fn(arg, i) on core i for every stack of g, moving there. */
static int each_slot(struct listen_group *g, int (*fn)(struct listen_slot *, void *), void *arg)
{
    int first = 0;
    for (unsigned i = 0; i < g->stacks; i++) {
        if (g->slot[i].l == NULL)
            continue;
        int home = knet_enter_core((int)i);
        int err = fn(&g->slot[i], arg);
        knet_leave(home);
        if (err != 0 && first == 0)
            first = err;
    }
    return first;
}

static int slot_close(struct listen_slot *s, void *arg)
{
    (void)arg;
    tcp_set_notify(s->l, NULL, NULL);
    tcp_close(s->l, knet_now_ms());
    knet_kick();
    s->l = NULL;
    return 0;
}

/* A group listening on port in every stack (listen_lock held). */
static struct listen_group *group_create(uint16_t port, unsigned backlog)
{
    struct listen_group *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    g->port = port;
    g->stacks = knet_count() < MAX_STACKS ? knet_count() : MAX_STACKS;
    for (unsigned i = 0; i < g->stacks; i++) {
        struct listen_slot *s = &g->slot[i];
        s->g = g;
        s->index = i;
        int home = knet_enter_core((int)i);
        int err = tcp_listen(knet_stack_at(i), port, backlog, &s->l);
        if (err == 0)
            tcp_set_notify(s->l, listen_notify, s);
        knet_leave(home);
        if (err != 0) {
            s->l = NULL;
            each_slot(g, slot_close, NULL);
            free(g);
            errno = -err;
            return NULL;
        }
    }
    g->next = groups;
    groups = g;
    return g;
}

static struct zebu_tcp *tcp_listen_group(uint16_t port, unsigned backlog)
{
    if (knet_count() == 0) {
        errno = ENODEV;
        return NULL;
    }
    int core = (int)this_cpu()->id;
    zebu_mutex_lock(&listen_lock);
    struct listen_group *g = NULL;
    for (struct listen_group *q = groups; port != 0 && q != NULL; q = q->next)
        if (q->port == port)
            g = q;
    if (g != NULL) { /* another core joins: one handle per core */
        for (struct zebu_tcp *h = g->handles; h != NULL; h = h->grp_next)
            if (h->listen_core == core) {
                zebu_mutex_unlock(&listen_lock);
                errno = EADDRINUSE;
                return NULL;
            }
    } else if ((g = group_create(port, backlog)) == NULL) {
        zebu_mutex_unlock(&listen_lock);
        return NULL;
    }
    struct zebu_tcp *z = calloc(1, sizeof(*z));
    if (z == NULL) {
        if (g->handles == NULL) {
            groups = g->next;
            each_slot(g, slot_close, NULL);
            free(g);
        }
        zebu_mutex_unlock(&listen_lock);
        errno = ENOMEM;
        return NULL;
    }
    z->listen_core = core;
    z->core = knet_home(core);
    z->grp = g;
    z->conn = g->slot[z->core].l;
    event_init(&z->ev);
    uint64_t f = spin_lock_irqsave(&g->lock);
    z->grp_next = g->handles;
    g->handles = z;
    spin_unlock_irqrestore(&g->lock, f);
    zebu_mutex_unlock(&listen_lock);
    return z;
}

/* Leaves z's group; the last handle closes every stack's listener. */
static void listen_leave(struct zebu_tcp *z)
{
    struct listen_group *g = z->grp;
    zebu_mutex_lock(&listen_lock);
    uint64_t f = spin_lock_irqsave(&g->lock);
    for (struct zebu_tcp **pp = &g->handles; *pp != NULL; pp = &(*pp)->grp_next)
        if (*pp == z) {
            *pp = z->grp_next;
            break;
        }
    bool last = g->handles == NULL;
    spin_unlock_irqrestore(&g->lock, f);
    if (last) {
        for (struct listen_group **pp = &groups; *pp != NULL; pp = &(*pp)->next)
            if (*pp == g) {
                *pp = g->next;
                break;
            }
        each_slot(g, slot_close, NULL);
        free(g);
    } else {
        /* Its stacks may now belong to the others: let them look. */
        f = spin_lock_irqsave(&g->lock);
        for (struct zebu_tcp *h = g->handles; h != NULL; h = h->grp_next)
            handle_news(h);
        spin_unlock_irqrestore(&g->lock, f);
    }
    zebu_mutex_unlock(&listen_lock);
    unwatch(z);
    free(z);
}

/* On stack s's core: its next established connection, wrapped, or NULL
 * when none waits. */
static struct zebu_tcp *accept_slot(struct zebu_tcp *listener, struct listen_slot *s)
{
    struct tcp_conn *c;
    while ((c = tcp_accept(s->l)) != NULL) {
        struct zebu_tcp *z = wrap_conn(c);
        if (z != NULL) {
            /* Like the stall limits, the listener's receive and send
             * timeouts apply to the connections it accepts. */
            z->timeout_ns[TMO_RECV] = listener->timeout_ns[TMO_RECV];
            z->timeout_ns[TMO_SEND] = listener->timeout_ns[TMO_SEND];
            knet_note_accepted();
            return z;
        }
        tcp_abort(c, knet_now_ms()); /* no memory for the handle: refuse it */
        knet_note_accept_nomem();
        knet_kick();
    }
    return NULL;
}

/* The next connection any stack z takes from has, or NULL when none
 * waits: its own core's stack first, then the others with news. */
static struct zebu_tcp *accept_one(struct zebu_tcp *listener)
{
    struct listen_group *g = listener->grp;
    unsigned n = g->stacks, own = (unsigned)listener->core;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (own + k) % n;
        uint64_t f = spin_lock_irqsave(&g->lock);
        bool mine = takes_from(g, listener, i);
        spin_unlock_irqrestore(&g->lock, f);
        if (!mine || g->slot[i].l == NULL)
            continue;
        unsigned bit = 1u << i;
        if (!(__atomic_fetch_and(&g->ready, ~bit, __ATOMIC_ACQ_REL) & bit) &&
            (int)i != (int)this_cpu()->id)
            continue; /* nothing new there; the own stack is cheap to look at */
        int home = knet_enter_core((int)i);
        struct zebu_tcp *z = accept_slot(listener, &g->slot[i]);
        knet_leave(home);
        if (z != NULL) {
            __atomic_or_fetch(&g->ready, bit, __ATOMIC_RELEASE); /* more may wait */
            return z;
        }
    }
    return NULL;
}

static struct zebu_tcp *tcp_accept_here(struct zebu_tcp *listener)
{
    uint64_t end = deadline(listener, TMO_ACCEPT);
    for (int timed_out = 0;; timed_out = event_wait_until(&listener->ev, end) != 0) {
        struct zebu_tcp *z = accept_one(listener);
        if (z != NULL)
            return z;
        if (timed_out) {
            errno = ETIMEDOUT;
            return NULL;
        }
    }
}

static struct zebu_tcp *tcp_try_accept_here(struct zebu_tcp *listener)
{
    struct zebu_tcp *z = accept_one(listener);
    if (z == NULL)
        errno = EAGAIN;
    return z;
}

static struct zebu_tcp *tcp_connect_here(uint32_t ip, uint16_t port, uint64_t timeout_ns)
{
    struct net_stack *st = usable_stack();
    if (st == NULL)
        return NULL;
    struct tcp_conn *c;
    int err = tcp_connect(st, ip, port, knet_now_ms(), &c);
    if (err != 0) {
        errno = -err;
        return NULL;
    }
    knet_kick();
    struct zebu_tcp *z = wrap_conn(c);
    if (z == NULL) {
        tcp_abort(c, knet_now_ms());
        errno = ENOMEM;
        return NULL;
    }
    uint64_t end = time_ns() + timeout_ns;
    for (;;) {
        enum tcp_state s = tcp_get_state(c);
        if (s != TCP_SYN_SENT && s != TCP_SYN_RECEIVED && tcp_error(c) == 0)
            return z;
        err = tcp_error(c);
        uint64_t now = time_ns();
        if (err == 0 && now >= end)
            err = -ETIMEDOUT;
        if (err != 0) {
            zebu_tcp_abort(z);
            errno = -err;
            return NULL;
        }
        event_wait_timeout(&z->ev, end - now);
    }
}

/* One look: received bytes, or NULL with errno 0 (the end of the stream),
 * the error that ended the connection, or EAGAIN (nothing yet). */
static struct zebu_buf *recv_one(struct zebu_tcp *z)
{
    struct netbuf *nb = tcp_recv(z->conn, knet_now_ms());
    if (nb != NULL) {
        knet_kick();
        nb->home = (uint16_t)(z->core + 1); /* freed on this core (zebu_buf_free) */
        return (struct zebu_buf *)nb;
    }
    int err = tcp_error(z->conn);
    errno = err != 0 ? -err : tcp_eof(z->conn) ? 0 : EAGAIN;
    return NULL;
}

static struct zebu_buf *tcp_recv_buf_here(struct zebu_tcp *z)
{
    uint64_t end = deadline(z, TMO_RECV);
    for (int timed_out = 0;; timed_out = event_wait_until(&z->ev, end) != 0) {
        struct zebu_buf *b = recv_one(z);
        if (b != NULL || errno != EAGAIN)
            return b;
        if (timed_out) {
            errno = ETIMEDOUT;
            return NULL;
        }
    }
}

static struct zebu_buf *tcp_try_recv_buf_here(struct zebu_tcp *z)
{
    return recv_one(z);
}

static long tcp_recv_here(struct zebu_tcp *z, void *buf, size_t size)
{
    uint64_t end = deadline(z, TMO_RECV);
    for (int timed_out = 0;; timed_out = event_wait_until(&z->ev, end) != 0) {
        long n = tcp_recv_copy(z->conn, buf, size, knet_now_ms());
        if (n != -EAGAIN) {
            knet_kick();
            return n;
        }
        if (timed_out)
            return -ETIMEDOUT;
    }
}

/* A send's error for the app: net/ says -ENOTCONN for every connection
 * that can no longer send; the app learns why when it ended badly. */
static long send_error(struct zebu_tcp *z, long err)
{
    return err == -ENOTCONN && tcp_error(z->conn) != 0 ? tcp_error(z->conn) : err;
}

/* Queue nb (consumed), waiting for room while the send buffer is full:
 * at most the send timeout, after which none of nb was queued. */
static int send_chain(struct zebu_tcp *z, struct netbuf *nb)
{
    uint64_t end = deadline(z, TMO_SEND);
    for (int timed_out = 0;; timed_out = event_wait_until(&z->ev, end) != 0) {
        int err = tcp_send(z->conn, nb, knet_now_ms());
        if (err == -EAGAIN && timed_out)
            err = -ETIMEDOUT;
        if (err != -EAGAIN) {
            if (err != 0)
                nbuf_put(nb);
            err = (int)send_error(z, err);
            knet_kick();
            return err;
        }
    }
}

static int tcp_send_buf_here(struct zebu_tcp *z, struct zebu_buf *b)
{
    return send_chain(z, (struct netbuf *)b);
}

/* One completion for memory sent in several pieces: done runs when the
 * last piece is released. */
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

/* Memory sent by reference goes in pieces of at most this size, so no
 * piece is larger than the send buffer and room frees up piece by piece. */
#define REF_PIECE (64 * 1024)

static int tcp_send_ref_here(struct zebu_tcp *z, const void *data, size_t len,
                             void (*done)(void *cookie), void *cookie)
{
    struct ref_done *r = malloc(sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    *r = (struct ref_done){.pieces = 1, .done = done, .cookie = cookie};
    const uint8_t *p = data;
    int err = 0;
    while (len > 0 && err == 0) {
        size_t n = len < REF_PIECE ? len : REF_PIECE;
        r->pieces++;
        struct netbuf *nb = nbuf_wrap(p, n, piece_done, r);
        if (nb == NULL) {
            r->pieces--;
            err = -ENOMEM;
            break;
        }
        err = send_chain(z, nb); /* waits for room; consumes nb */
        p += n;
        len -= n;
    }
    piece_done(r); /* the call's own hold */
    return err;
}

/* The send timeout counts from the last progress: a peer that takes the
 * bytes slowly is not cut off, one that takes none for the timeout is.
 * What was queued before then goes out; the count says how much. */
static long tcp_send_here(struct zebu_tcp *z, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t left = len;
    uint64_t end = deadline(z, TMO_SEND);
    int timed_out = 0;
    while (left > 0) {
        long n = tcp_send_copy(z->conn, p, left, knet_now_ms());
        if (n < 0)
            return send_error(z, n);
        knet_kick();
        p += n;
        left -= (size_t)n;
        if (n > 0) {
            end = deadline(z, TMO_SEND);
            timed_out = 0;
        } else if (timed_out) {
            return left < len ? (long)(len - left) : -ETIMEDOUT;
        } else {
            timed_out = event_wait_until(&z->ev, end) != 0;
        }
    }
    return (long)len;
}

struct zebu_buf *zebu_buf_alloc(size_t len)
{
    struct net_stack *st = knet_stack();
    return st == NULL ? NULL : (struct zebu_buf *)tcp_alloc(st, len);
}

void *zebu_buf_data_mut(struct zebu_buf *b, size_t *len)
{
    struct netbuf *nb = (struct netbuf *)b;
    *len = nb->len;
    return nbuf_writable(nb) ? nb->data : NULL;
}

struct zebu_buf *zebu_buf_ref(const void *data, size_t len, void (*done)(void *cookie),
                              void *cookie)
{
    return (struct zebu_buf *)nbuf_wrap(data, len, done, cookie);
}

void zebu_buf_append(struct zebu_buf *head, struct zebu_buf *b)
{
    struct netbuf *nb = (struct netbuf *)head;
    while (nb->next != NULL)
        nb = nb->next;
    nb->next = (struct netbuf *)b;
}

static int tcp_shutdown_here(struct zebu_tcp *z)
{
    int err = tcp_shutdown(z->conn, knet_now_ms());
    knet_kick();
    return err;
}

static void tcp_close_here(struct zebu_tcp *z)
{
    if (z == NULL)
        return;
    if (z->grp != NULL) {
        listen_leave(z);
        return;
    }
    unwatch(z);
    tcp_set_notify(z->conn, NULL, NULL); /* the event goes with z */
    tcp_close(z->conn, knet_now_ms());
    knet_kick();
    free(z);
}

static void tcp_abort_here(struct zebu_tcp *z)
{
    if (z == NULL)
        return;
    if (z->grp != NULL) {
        listen_leave(z);
        return;
    }
    unwatch(z);
    tcp_set_notify(z->conn, NULL, NULL);
    tcp_abort(z->conn, knet_now_ms());
    knet_kick();
    free(z);
}

static void tcp_set_nodelay_here(struct zebu_tcp *z, int on)
{
    tcp_set_nodelay(z->conn, on);
}

/* ns in whole milliseconds, rounded up, at most UINT32_MAX. */
static uint32_t ns_to_ms(uint64_t ns)
{
    uint64_t ms = ns / 1000000 + (ns % 1000000 != 0);
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static int tcp_set_limit_here(struct zebu_tcp *z, int which, uint64_t ns)
{
    switch (which) {
    case ZEBU_TCP_LIMIT_RECV_TIMEOUT:
        z->timeout_ns[TMO_RECV] = ns;
        return 0; /* from the next call on: a blocked one belongs to another thread */
    case ZEBU_TCP_LIMIT_SEND_TIMEOUT:
        z->timeout_ns[TMO_SEND] = ns;
        return 0;
    case ZEBU_TCP_LIMIT_ACCEPT_TIMEOUT:
        if (tcp_get_state(z->conn) != TCP_LISTEN)
            return -EINVAL;
        z->timeout_ns[TMO_ACCEPT] = ns;
        return 0;
    case ZEBU_TCP_LIMIT_ZERO_WINDOW: {
        int err = tcp_set_limit(z->conn, TCP_LIMIT_ZERO_WINDOW, ns_to_ms(ns));
        knet_kick(); /* the limit may end a stall sooner than the thread's next wake */
        return err;
    }
    default:
        return -EINVAL;
    }
}

static int tcp_set_keepalive_here(struct zebu_tcp *z, uint64_t idle_ns, uint64_t interval_ns,
                           unsigned count)
{
    /* RFC 1122 4.2.3.6 sets only the idle time's default (two hours at
     * least, net/'s); for the probes' interval and count Zebu takes
     * Linux's 75 s and 9. */
    uint32_t idle = ns_to_ms(idle_ns);
    uint32_t interval = interval_ns == 0 ? 75000 : ns_to_ms(interval_ns);
    tcp_set_keepalive(z->conn, idle_ns != 0, idle, interval, count == 0 ? 9 : count);
    knet_kick(); /* the first probe may be due before the network thread wakes */
    return 0;
}

static int tcp_error_here(struct zebu_tcp *z)
{
    return tcp_error(z->conn);
}

static void tcp_peer_here(struct zebu_tcp *z, uint32_t *ip, uint16_t *port)
{
    uint32_t lip;
    uint16_t lport;
    tcp_endpoints(z->conn, &lip, &lport, ip, port);
}

static void tcp_local_here(struct zebu_tcp *z, uint32_t *ip, uint16_t *port)
{
    tcp_endpoints(z->conn, ip, port, NULL, NULL);
}

/* ---- pollers: many connections without a thread each ---- */

static struct zebu_poll *poll_create_here(void)
{
    struct zebu_poll *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    event_init(&p->ev);
    return p;
}

static int poll_destroy_here(struct zebu_poll *p)
{
    if (p == NULL)
        return 0;
    if (p->watched > 0)
        return -EBUSY;
    free(p);
    return 0;
}

static int poll_add_here(struct zebu_poll *p, struct zebu_tcp *z, void *user)
{
    if (z->poll != NULL)
        return -EBUSY;
    uint64_t f = spin_lock_irqsave(&p->lock);
    z->user = user;
    p->watched++;
    __atomic_store_n(&z->poll, p, __ATOMIC_RELEASE);
    ready_push(p, z); /* what happened before it was watched: look once */
    spin_unlock_irqrestore(&p->lock, f);
    return 0;
}

static int poll_del_here(struct zebu_poll *p, struct zebu_tcp *z)
{
    if (z->poll != p)
        return -ENOENT;
    unwatch(z);
    return 0;
}

static int poll_wait_here(struct zebu_poll *p, struct zebu_poll_event *ev, int max,
                          uint64_t timeout_ns)
{
    uint64_t end = timeout_ns == UINT64_MAX ? EVENT_NO_DEADLINE : event_deadline(timeout_ns);
    for (int timed_out = 0; __atomic_load_n(&p->head, __ATOMIC_ACQUIRE) == NULL;
         timed_out = event_wait_until(&p->ev, end) != 0)
        if (timed_out || timeout_ns == 0)
            return 0;
    int n = 0;
    uint64_t f = spin_lock_irqsave(&p->lock);
    while (n < max && p->head != NULL) {
        struct zebu_tcp *z = p->head;
        p->head = z->ready_next;
        if (p->head == NULL)
            p->tail = NULL;
        z->queued = false;
        ev[n++] = (struct zebu_poll_event){.tcp = z, .user = z->user};
    }
    spin_unlock_irqrestore(&p->lock, f);
    return n;
}

/* ---- UDP and buffers ---- */

struct zebu_udp {
    struct udp_sock *sock;
    struct event readable;
    uint64_t timeout_ns; /* zebu_udp_set_timeout (0: none) */
};

static void udp_readable(struct udp_sock *s, void *arg)
{
    (void)s;
    event_signal(arg);
}

static struct zebu_udp *udp_bind_here(uint16_t port)
{
    struct net_stack *st = knet_stack();
    if (st == NULL) {
        errno = ENODEV;
        return NULL;
    }
    struct zebu_udp *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    int err = udp_bind(st, port, &u->sock);
    if (err != 0) {
        free(u);
        errno = -err;
        return NULL;
    }
    event_init(&u->readable);
    udp_set_notify(u->sock, udp_readable, &u->readable);
    return u;
}

static void udp_close_here(struct zebu_udp *u)
{
    if (u == NULL)
        return;
    udp_close(u->sock);
    free(u);
}

static long udp_sendto_here(struct zebu_udp *u, uint32_t ip, uint16_t port, const void *data, size_t len)
{
    int err = udp_sendto_copy(u->sock, ip, port, data, len, knet_now_ms());
    return err < 0 ? err : (long)len;
}

static void udp_local_here(struct zebu_udp *u, uint32_t *ip, uint16_t *port)
{
    if (ip != NULL)
        *ip = 0; /* sockets are not bound to an address */
    if (port != NULL)
        *port = u->sock->port;
}

static void udp_set_timeout_here(struct zebu_udp *u, uint64_t ns)
{
    u->timeout_ns = ns;
}

/* Waits at most the socket's timeout (kernel/sched.h event_wait_until: one
 * more try once it has passed); a datagram that comes later is queued for
 * the next call, as any other. */
static struct zebu_buf *udp_recv_buf_here(struct zebu_udp *u, uint32_t *ip, uint16_t *port)
{
    struct udp_endpoint from;
    struct netbuf *nb;
    uint64_t end = u->timeout_ns == 0 ? EVENT_NO_DEADLINE : event_deadline(u->timeout_ns);
    for (int timed_out = 0; (nb = udp_recv(u->sock, &from)) == NULL;
         timed_out = event_wait_until(&u->readable, end) != 0) {
        if (timed_out) {
            errno = ETIMEDOUT;
            return NULL;
        }
    }
    if (ip != NULL)
        *ip = from.ip;
    if (port != NULL)
        *port = from.port;
    nb->home = 1; /* core 0's stack: freed there */
    return (struct zebu_buf *)nb;
}

static long udp_recvfrom_here(struct zebu_udp *u, void *buf, size_t size, uint32_t *ip, uint16_t *port)
{
    struct zebu_buf *b = zebu_udp_recv_buf(u, ip, port);
    if (b == NULL)
        return -errno;
    size_t len;
    const void *data = zebu_buf_data(b, &len);
    size_t n = len < size ? len : size;
    memcpy(buf, data, n); /* the slow, copying path */
    zebu_buf_free(b);
    return (long)n;
}

static int udp_send_buf_here(struct zebu_udp *u, uint32_t ip, uint16_t port, struct zebu_buf *b)
{
    return udp_sendto(u->sock, ip, port, (struct netbuf *)b, knet_now_ms());
}

const void *zebu_buf_data(struct zebu_buf *b, size_t *len)
{
    struct netbuf *nb = (struct netbuf *)b;
    *len = nb->len;
    return nb->data;
}

/* The core whose stack a chain's received buffers belong to, or -1
 * (memory of the heap or the app: any core may free it). */
static int buf_owner(const struct zebu_buf *b)
{
    for (const struct netbuf *nb = (const struct netbuf *)b; nb != NULL; nb = nb->next)
        if (nb->home != 0)
            return nb->home - 1;
    return -1;
}

/* b, ready to go to the stack on core: a chain holding another stack's
 * received buffers is copied (they must go home to be freed), the copy
 * returned and the original freed. NULL (b freed) without memory. */
static struct zebu_buf *rehome(struct zebu_buf *b, int core)
{
    int owner = buf_owner(b);
    if (owner < 0 || owner == core)
        return b;
    size_t len = 0;
    for (const struct netbuf *nb = (const struct netbuf *)b; nb != NULL; nb = nb->next)
        len += nb->len;
    struct zebu_buf *copy = zebu_buf_alloc(len);
    if (copy != NULL) {
        uint8_t *p = zebu_buf_data_mut(copy, &len);
        for (const struct netbuf *nb = (const struct netbuf *)b; nb != NULL; nb = nb->next) {
            memcpy(p, nb->data, nb->len);
            p += nb->len;
        }
    }
    zebu_buf_free(b);
    return copy;
}

static void buf_free_here(struct zebu_buf *b)
{
    nbuf_put((struct netbuf *)b);
}

/* ---- zebu_tcp_serve: a listener and an accept loop per core ----
 *
 * Made of the public calls only. Each core with a stack accepts on a
 * handle of its own (the listen group gives each what its core received)
 * and starts every connection's thread where the connection lives. */

struct serve_run {
    const struct zebu_tcp_server *cfg;
    int stacks;
    long accepted; /* all cores together: atomic */
    long running;  /* acceptor and connection threads: atomic */
};

struct serve_conn {
    struct serve_run *run;
    struct zebu_tcp *c;
};

static void *serve_conn_thread(void *arg)
{
    struct serve_conn sc = *(struct serve_conn *)arg;
    free(arg);
    sc.run->cfg->serve(sc.c, sc.run->cfg->arg);
    __atomic_sub_fetch(&sc.run->running, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* With limit set, each accept waits this long at most and the loop looks
 * at the count again (another core may have taken the last one). */
#define SERVE_RECHECK_NS (100ull * 1000 * 1000)

static void serve_accept_loop(struct serve_run *r, struct zebu_tcp *l)
{
    const struct zebu_tcp_server *cfg = r->cfg;
    while (cfg->limit == 0 || __atomic_load_n(&r->accepted, __ATOMIC_RELAXED) < cfg->limit) {
        struct zebu_tcp *c = zebu_tcp_accept(l);
        if (c == NULL)
            continue; /* the recheck timeout */
        long n = __atomic_fetch_add(&r->accepted, 1, __ATOMIC_RELAXED);
        int core = r->stacks > 1 ? zebu_tcp_core(c)
                   : cfg->spread ? (int)(n % zebu_core_count())
                                 : knet_home(zebu_core_id());
        struct serve_conn *sc = malloc(sizeof(*sc));
        struct zebu_thread *t = NULL;
        __atomic_add_fetch(&r->running, 1, __ATOMIC_RELAXED);
        if (sc != NULL) {
            *sc = (struct serve_conn){r, c};
            t = zebu_thread_create(serve_conn_thread, sc, core, "tcp-serve", cfg->stack_size);
        }
        if (t == NULL) { /* out of memory: refuse this one, keep serving */
            free(sc);
            __atomic_sub_fetch(&r->running, 1, __ATOMIC_RELAXED);
            zebu_tcp_abort(c);
            if (cfg->refused != NULL)
                cfg->refused(cfg->arg);
            continue;
        }
        zebu_thread_detach(t);
    }
}

static struct zebu_tcp *serve_listen(struct serve_run *r)
{
    const struct zebu_tcp_server *cfg = r->cfg;
    struct zebu_tcp *l = zebu_tcp_listen(cfg->port, cfg->backlog);
    if (l == NULL)
        return NULL;
    if (cfg->limit != 0)
        zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_ACCEPT_TIMEOUT, SERVE_RECHECK_NS);
    if (cfg->setup != NULL)
        cfg->setup(l, cfg->arg);
    return l;
}

static void *serve_acceptor(void *arg)
{
    struct serve_run *r = arg;
    struct zebu_tcp *l = serve_listen(r);
    if (l != NULL) {
        serve_accept_loop(r, l);
        zebu_tcp_close(l);
    } else {
        printf("zebu_tcp_serve: cannot listen on port %u on core %d: %s\n", r->cfg->port,
               zebu_core_id(), strerror(errno));
    }
    __atomic_sub_fetch(&r->running, 1, __ATOMIC_RELEASE);
    return NULL;
}

int zebu_tcp_serve(const struct zebu_tcp_server *cfg)
{
    if (cfg == NULL || cfg->serve == NULL)
        return -EINVAL;
    struct serve_run r = {.cfg = cfg, .stacks = (int)knet_count()};
    struct zebu_tcp *l = serve_listen(&r);
    if (l == NULL)
        return -errno;
    if (cfg->ready != NULL)
        cfg->ready(cfg->arg);
    for (int core = 0; core < r.stacks; core++) {
        if (core == zebu_core_id())
            continue;
        __atomic_add_fetch(&r.running, 1, __ATOMIC_RELAXED);
        struct zebu_thread *t = zebu_thread_create(serve_acceptor, &r, core, "tcp-accept", 0);
        if (t == NULL) /* that core's connections come to this handle */
            __atomic_sub_fetch(&r.running, 1, __ATOMIC_RELAXED);
        else
            zebu_thread_detach(t);
    }
    serve_accept_loop(&r, l);
    zebu_tcp_close(l);
    while (__atomic_load_n(&r.running, __ATOMIC_ACQUIRE) > 0)
        zebu_sleep_ns(10 * 1000 * 1000);
    return 0;
}

/* ---- the API: each call runs on its stack's core (knet_enter_core) ---- */

/* Accepting moves to each stack it takes a connection from (accept_one). */
struct zebu_tcp *zebu_tcp_try_accept(struct zebu_tcp *listener)
{
    return tcp_try_accept_here(listener);
}

struct zebu_buf *zebu_tcp_try_recv_buf(struct zebu_tcp *c)
{
    int home = knet_enter_core(c->core);
    struct zebu_buf *r = tcp_try_recv_buf_here(c);
    knet_leave(home);
    return r;
}

/* Pollers run where they are called: their lists are under lock. */
struct zebu_poll *zebu_poll_create(void)
{
    return poll_create_here();
}

int zebu_poll_destroy(struct zebu_poll *p)
{
    return poll_destroy_here(p);
}

int zebu_poll_add(struct zebu_poll *p, struct zebu_tcp *c, void *user)
{
    return poll_add_here(p, c, user);
}

int zebu_poll_del(struct zebu_poll *p, struct zebu_tcp *c)
{
    return poll_del_here(p, c);
}

int zebu_poll_wait(struct zebu_poll *p, struct zebu_poll_event *ev, int max, uint64_t timeout_ns)
{
    return poll_wait_here(p, ev, max, timeout_ns);
}

/* A listener in every stack (tcp_listen_group moves to each). */
struct zebu_tcp *zebu_tcp_listen(uint16_t port, unsigned backlog)
{
    return tcp_listen_group(port, backlog);
}

struct zebu_tcp *zebu_tcp_accept(struct zebu_tcp *listener)
{
    return tcp_accept_here(listener);
}

/* On the calling core's own stack where it has one. */
struct zebu_tcp *zebu_tcp_connect(uint32_t ip, uint16_t port, uint64_t timeout_ns)
{
    int home = knet_enter_core(knet_home((int)this_cpu()->id));
    struct zebu_tcp *r = tcp_connect_here(ip, port, timeout_ns);
    knet_leave(home);
    return r;
}

int zebu_tcp_core(struct zebu_tcp *z)
{
    return z->core;
}

struct zebu_buf *zebu_tcp_recv_buf(struct zebu_tcp *z)
{
    int home = knet_enter_core(z->core);
    struct zebu_buf * r = tcp_recv_buf_here(z);
    knet_leave(home);
    return r;
}

long zebu_tcp_recv(struct zebu_tcp *z, void *buf, size_t size)
{
    int home = knet_enter_core(z->core);
    long r = tcp_recv_here(z, buf, size);
    knet_leave(home);
    return r;
}

int zebu_tcp_send_buf(struct zebu_tcp *z, struct zebu_buf *b)
{
    b = rehome(b, z->core);
    if (b == NULL)
        return -ENOMEM;
    int home = knet_enter_core(z->core);
    int r = tcp_send_buf_here(z, b);
    knet_leave(home);
    return r;
}

int zebu_tcp_send_ref(struct zebu_tcp *z, const void *data, size_t len,
                      void (*done)(void *cookie), void *cookie)
{
    int home = knet_enter_core(z->core);
    int r = tcp_send_ref_here(z, data, len, done, cookie);
    knet_leave(home);
    return r;
}

long zebu_tcp_send(struct zebu_tcp *z, const void *data, size_t len)
{
    int home = knet_enter_core(z->core);
    long r = tcp_send_here(z, data, len);
    knet_leave(home);
    return r;
}

int zebu_tcp_shutdown(struct zebu_tcp *z)
{
    int home = knet_enter_core(z->core);
    int r = tcp_shutdown_here(z);
    knet_leave(home);
    return r;
}

void zebu_tcp_close(struct zebu_tcp *z)
{
    if (z == NULL)
        return;
    int home = knet_enter_core(z->core);
    tcp_close_here(z);
    knet_leave(home);
}

void zebu_tcp_abort(struct zebu_tcp *z)
{
    if (z == NULL)
        return;
    int home = knet_enter_core(z->core);
    tcp_abort_here(z);
    knet_leave(home);
}

/* What a listener passes on to the connections it accepts is set on every
 * stack's listener: z as seen from stack s. */
struct slot_call {
    struct zebu_tcp *z;
    int which;
    uint64_t a, b;
    unsigned n;
};

static struct zebu_tcp as_slot(const struct zebu_tcp *z, const struct listen_slot *s)
{
    struct zebu_tcp t = *z;
    t.conn = s->l;
    t.core = (int)s->index;
    return t;
}

static int slot_nodelay(struct listen_slot *s, void *arg)
{
    struct slot_call *c = arg;
    struct zebu_tcp t = as_slot(c->z, s);
    tcp_set_nodelay_here(&t, c->which);
    return 0;
}

static int slot_limit(struct listen_slot *s, void *arg)
{
    struct slot_call *c = arg;
    struct zebu_tcp t = as_slot(c->z, s);
    return tcp_set_limit_here(&t, c->which, c->a);
}

static int slot_keepalive(struct listen_slot *s, void *arg)
{
    struct slot_call *c = arg;
    struct zebu_tcp t = as_slot(c->z, s);
    return tcp_set_keepalive_here(&t, c->a, c->b, c->n);
}

void zebu_tcp_set_nodelay(struct zebu_tcp *z, int on)
{
    if (z->grp != NULL) {
        struct slot_call c = {z, on, 0, 0, 0};
        each_slot(z->grp, slot_nodelay, &c);
        return;
    }
    int home = knet_enter_core(z->core);
    tcp_set_nodelay_here(z, on);
    knet_leave(home);
}

int zebu_tcp_set_limit(struct zebu_tcp *z, int which, uint64_t ns)
{
    if (z->grp != NULL && which == ZEBU_TCP_LIMIT_ZERO_WINDOW) {
        struct slot_call c = {z, which, ns, 0, 0};
        return each_slot(z->grp, slot_limit, &c);
    }
    int home = knet_enter_core(z->core);
    int r = tcp_set_limit_here(z, which, ns);
    knet_leave(home);
    return r;
}

int zebu_tcp_set_keepalive(struct zebu_tcp *z, uint64_t idle_ns, uint64_t interval_ns,
                           unsigned count)
{
    if (z->grp != NULL) {
        struct slot_call c = {z, 0, idle_ns, interval_ns, count};
        return each_slot(z->grp, slot_keepalive, &c);
    }
    int home = knet_enter_core(z->core);
    int r = tcp_set_keepalive_here(z, idle_ns, interval_ns, count);
    knet_leave(home);
    return r;
}

int zebu_tcp_error(struct zebu_tcp *z)
{
    int home = knet_enter_core(z->core);
    int r = tcp_error_here(z);
    knet_leave(home);
    return r;
}

void zebu_tcp_peer(struct zebu_tcp *z, uint32_t *ip, uint16_t *port)
{
    int home = knet_enter_core(z->core);
    tcp_peer_here(z, ip, port);
    knet_leave(home);
}

void zebu_tcp_local(struct zebu_tcp *z, uint32_t *ip, uint16_t *port)
{
    int home = knet_enter_core(z->core);
    tcp_local_here(z, ip, port);
    knet_leave(home);
}

struct zebu_udp *zebu_udp_bind(uint16_t port)
{
    int home = knet_enter();
    struct zebu_udp * r = udp_bind_here(port);
    knet_leave(home);
    return r;
}

void zebu_udp_close(struct zebu_udp *u)
{
    int home = knet_enter();
    udp_close_here(u);
    knet_leave(home);
}

long zebu_udp_sendto(struct zebu_udp *u, uint32_t ip, uint16_t port, const void *data, size_t len)
{
    int home = knet_enter();
    long r = udp_sendto_here(u, ip, port, data, len);
    knet_leave(home);
    return r;
}

void zebu_udp_local(struct zebu_udp *u, uint32_t *ip, uint16_t *port)
{
    int home = knet_enter();
    udp_local_here(u, ip, port);
    knet_leave(home);
}

void zebu_udp_set_timeout(struct zebu_udp *u, uint64_t ns)
{
    int home = knet_enter();
    udp_set_timeout_here(u, ns);
    knet_leave(home);
}

struct zebu_buf *zebu_udp_recv_buf(struct zebu_udp *u, uint32_t *ip, uint16_t *port)
{
    int home = knet_enter();
    struct zebu_buf * r = udp_recv_buf_here(u, ip, port);
    knet_leave(home);
    return r;
}

long zebu_udp_recvfrom(struct zebu_udp *u, void *buf, size_t size, uint32_t *ip, uint16_t *port)
{
    int home = knet_enter();
    long r = udp_recvfrom_here(u, buf, size, ip, port);
    knet_leave(home);
    return r;
}

int zebu_udp_send_buf(struct zebu_udp *u, uint32_t ip, uint16_t port, struct zebu_buf *b)
{
    b = rehome(b, 0);
    if (b == NULL)
        return -ENOMEM;
    int home = knet_enter();
    int r = udp_send_buf_here(u, ip, port, b);
    knet_leave(home);
    return r;
}

void zebu_buf_free(struct zebu_buf *b)
{
    int owner = buf_owner(b);
    int home = owner >= 0 ? knet_enter_core(owner) : -1;
    buf_free_here(b);
    knet_leave(home);
}
