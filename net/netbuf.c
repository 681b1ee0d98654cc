/*
 * net/netbuf.c - reference counting, headroom, clones and chains for the
 * zero-copy buffer type (see netbuf.h for the ownership rules).
 *
 * Descriptors the stack creates itself (heap buffers, clones, wrapped app
 * memory) come from malloc; their release callbacks free them. Clones point
 * at the root buffer, never at another clone, so releasing one is at most
 * two levels deep.
 */
#include "net/netbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/byteorder.h"
#include "net/checksum.h"

struct nbuf_wrapped {
    struct netbuf nb;
    void (*done)(void *cookie);
    void *app_cookie;
};

void nbuf_init(struct netbuf *nb, uint8_t *buf, size_t buflen, size_t headroom, size_t len,
               nbuf_release_fn release, void *cookie)
{
    memset(nb, 0, sizeof(*nb));
    nb->buf = buf;
    nb->buflen = buflen;
    nb->data = buf + headroom;
    nb->len = len;
    nb->release = release;
    nb->cookie = cookie;
    nb->refs = 1;
}

static void heap_release(struct netbuf *nb, void *cookie)
{
    (void)cookie;
    free(nb);
}

struct netbuf *nbuf_alloc_heap(size_t headroom, size_t len)
{
    if (headroom > SIZE_MAX / 2 || len > SIZE_MAX / 2 - sizeof(struct netbuf) - headroom)
        return NULL;
    struct netbuf *nb = malloc(sizeof(*nb) + headroom + len);
    if (nb == NULL)
        return NULL;
    nbuf_init(nb, (uint8_t *)(nb + 1), headroom + len, headroom, len, heap_release, NULL);
    return nb;
}

static void wrapped_release(struct netbuf *nb, void *cookie)
{
    struct nbuf_wrapped *w = cookie;

    (void)nb;
    if (w->done != NULL)
        w->done(w->app_cookie);
    free(w);
}

struct netbuf *nbuf_wrap(const void *ptr, size_t len, void (*done)(void *cookie), void *cookie)
{
    struct nbuf_wrapped *w = malloc(sizeof(*w));

    if (w == NULL)
        return NULL;
    /* The cast drops const: NB_RDONLY is what keeps the bytes unwritten. */
    nbuf_init(&w->nb, (uint8_t *)(uintptr_t)ptr, len, 0, len, wrapped_release, w);
    w->nb.flags = NB_RDONLY;
    w->done = done;
    w->app_cookie = cookie;
    return &w->nb;
}

struct netbuf *nbuf_get(struct netbuf *nb)
{
    nb->refs++;
    return nb;
}

void nbuf_put(struct netbuf *nb)
{
    while (nb != NULL) {
        if (--nb->refs > 0)
            return;
        struct netbuf *next = nb->next;
        nb->next = NULL;
        nb->release(nb, nb->cookie);
        nb = next;
    }
}

static void clone_release(struct netbuf *nb, void *cookie)
{
    free(nb);
    nbuf_put(cookie);
}

struct netbuf *nbuf_clone(struct netbuf *nb)
{
    struct netbuf *root = nb->release == clone_release ? nb->cookie : nb;
    struct netbuf *c = malloc(sizeof(*c));

    if (c == NULL)
        return NULL;
    *c = *nb;
    c->next = NULL;
    c->qnext = NULL;
    c->refs = 1;
    c->home = 0; /* the clone is net/'s own descriptor; the root keeps its tag */
    c->flags |= NB_RDONLY;
    c->release = clone_release;
    c->cookie = nbuf_get(root);
    return c;
}

struct netbuf *nbuf_slice(struct netbuf *nb, size_t off, size_t len)
{
    struct netbuf *head = NULL, **link = &head;

    if (len == 0)
        return NULL;
    for (; nb != NULL && len > 0; nb = nb->next) {
        if (off >= nb->len) {
            off -= nb->len;
            continue;
        }
        struct netbuf *c = nbuf_clone(nb);
        if (c == NULL)
            break;
        size_t n = nb->len - off < len ? nb->len - off : len;
        c->data += off;
        c->len = n;
        c->flags &= (uint16_t) ~(NB_CSUM_NEEDED | NB_GSO_TCP4);
        *link = c;
        link = &c->next;
        len -= n;
        off = 0;
    }
    if (len > 0) {
        nbuf_put(head);
        return NULL;
    }
    return head;
}

size_t nbuf_span_segs(const struct netbuf *nb, size_t off, size_t len, unsigned max_segs)
{
    size_t got = 0;

    for (; nb != NULL && got < len && max_segs > 0; nb = nb->next) {
        if (off >= nb->len) {
            off -= nb->len;
            continue;
        }
        size_t n = nb->len - off;
        got += n < len - got ? n : len - got;
        off = 0;
        max_segs--;
    }
    return got;
}

int nbuf_writable(const struct netbuf *nb)
{
    return nb->refs == 1 && !(nb->flags & NB_RDONLY);
}

uint8_t *nbuf_push(struct netbuf *nb, size_t n)
{
    if (n > nbuf_headroom(nb) || !nbuf_writable(nb))
        return NULL;
    nb->data -= n;
    nb->len += n;
    return nb->data;
}

uint8_t *nbuf_pull(struct netbuf *nb, size_t n)
{
    if (n > nb->len)
        return NULL;
    nb->data += n;
    nb->len -= n;
    return nb->data;
}

void nbuf_trim(struct netbuf *nb, size_t len)
{
    if (len < nb->len)
        nb->len = len;
}

void nbuf_chain_trim(struct netbuf *nb, size_t len)
{
    struct netbuf *rest;

    while (nb->next != NULL && len > nb->len) {
        len -= nb->len;
        nb = nb->next;
    }
    nbuf_trim(nb, len);
    rest = nb->next;
    nb->next = NULL;
    nbuf_put(rest);
}

size_t nbuf_chain_len(const struct netbuf *nb)
{
    size_t total = 0;

    for (; nb != NULL; nb = nb->next)
        total += nb->len;
    return total;
}

unsigned nbuf_chain_segments(const struct netbuf *nb)
{
    unsigned n = 0;

    for (; nb != NULL; nb = nb->next)
        n++;
    return n;
}

int nbuf_copy_out(const struct netbuf *nb, size_t off, void *dst, size_t len)
{
    uint8_t *out = dst;

    for (; nb != NULL && len > 0; nb = nb->next) {
        if (off >= nb->len) {
            off -= nb->len;
            continue;
        }
        size_t n = nb->len - off < len ? nb->len - off : len;
        memcpy(out, nb->data + off, n);
        out += n;
        len -= n;
        off = 0;
    }
    return len == 0 ? 0 : -EINVAL;
}

void nbuf_csum_finish(struct netbuf *nb)
{
    size_t start = nbuf_csum_start_in_frame(nb);
    size_t field = start + nb->csum_offset;

    if (!(nb->flags & NB_CSUM_NEEDED) || field + 2 > nb->len)
        return;
    uint16_t v = net_csum_value(net_csum_chain(nb, start, SIZE_MAX, 0));
    /* UDP sends 0 as 0xffff (0 means "no checksum"); TCP accepts either. */
    net_put_be16(nb->data + field, v == 0 ? 0xffff : v);
    nb->flags &= (uint16_t)~NB_CSUM_NEEDED;
}

void nbuf_queue_push(struct nbuf_queue *q, struct netbuf *nb)
{
    nb->qnext = NULL;
    if (q->tail != NULL)
        q->tail->qnext = nb;
    else
        q->head = nb;
    q->tail = nb;
    q->count++;
}

struct netbuf *nbuf_queue_pop(struct nbuf_queue *q)
{
    struct netbuf *nb = q->head;

    if (nb == NULL)
        return NULL;
    q->head = nb->qnext;
    if (q->head == NULL)
        q->tail = NULL;
    nb->qnext = NULL;
    q->count--;
    return nb;
}

void nbuf_queue_purge(struct nbuf_queue *q)
{
    struct netbuf *nb;

    while ((nb = nbuf_queue_pop(q)) != NULL)
        nbuf_put(nb);
}
