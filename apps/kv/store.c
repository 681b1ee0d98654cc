/*
 * store.c - apps/kv's store (see store.h): a chained hash table keyed by
 * SipHash-2-4 under a per-boot random key, entries reference-counted so a
 * reader can send a value after the lock is gone. Portable C.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define BUCKETS_MIN 64

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void sipround(uint64_t v[4])
{
    v[0] += v[1], v[1] = rotl(v[1], 13), v[1] ^= v[0], v[0] = rotl(v[0], 32);
    v[2] += v[3], v[3] = rotl(v[3], 16), v[3] ^= v[2];
    v[0] += v[3], v[3] = rotl(v[3], 21), v[3] ^= v[0];
    v[2] += v[1], v[1] = rotl(v[1], 17), v[1] ^= v[2], v[2] = rotl(v[2], 32);
}

static uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++)
        m |= (uint64_t)p[i] << (8 * i);
    return m;
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash, so a client
 * that does not know the key cannot pick keys that share a bucket. */
uint64_t kv_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len);
uint64_t kv_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
                     k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le(p + i, 8);
        v[3] ^= m;
        sipround(v), sipround(v);
        v[0] ^= m;
    }
    uint64_t m = load_le(p + whole, len - whole) | (uint64_t)(len & 0xff) << 56;
    v[3] ^= m;
    sipround(v), sipround(v);
    v[0] ^= m;
    v[2] ^= 0xff;
    sipround(v), sipround(v), sipround(v), sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

int kv_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    if (r != 0)
        return r;
    return alen < blen ? -1 : alen > blen;
}

int kv_store_init(struct kv_store *s, const struct kv_limits *lim, const uint8_t seed[16],
                  void (*lock)(void *), void (*unlock)(void *), void *lock_ctx)
{
    memset(s, 0, sizeof(*s));
    s->lim = *lim;
    s->k0 = load_le(seed, 8);
    s->k1 = load_le(seed + 8, 8);
    s->lock = lock, s->unlock = unlock, s->lock_ctx = lock_ctx;
    s->buckets = calloc(BUCKETS_MIN, sizeof(*s->buckets));
    if (s->buckets == NULL)
        return -ENOMEM;
    s->nbuckets = BUCKETS_MIN;
    s->c.buckets = BUCKETS_MIN;
    s->next_version = 1;
    return 0;
}

void kv_store_destroy(struct kv_store *s)
{
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct kv_entry *e = s->buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            kv_entry_release(e);
        }
    }
    free(s->buckets);
    s->buckets = NULL;
}

void kv_entry_release(struct kv_entry *e)
{
    if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(e);
}

static void entry_hold(struct kv_entry *e)
{
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
}

/* The link that points at key's entry (or the chain's NULL end). */
static struct kv_entry **find_link(struct kv_store *s, uint64_t h, const char *key, size_t klen)
{
    struct kv_entry **pp = &s->buckets[h & (s->nbuckets - 1)];
    for (; *pp != NULL; pp = &(*pp)->next) {
        struct kv_entry *e = *pp;
        if (e->hash == h && e->klen == klen && memcmp(e->data, key, klen) == 0)
            break;
    }
    return pp;
}

/* Double the table once it holds more than 3/4 of its buckets' count, so
 * chains stay short. Under the lock; when the memory cannot be had the
 * table keeps its size and the chains grow instead. */
static void maybe_grow(struct kv_store *s)
{
    if (s->c.keys * 4 <= (uint64_t)s->nbuckets * 3)
        return;
    size_t n = s->nbuckets * 2;
    struct kv_entry **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct kv_entry *e = s->buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
    s->c.grows++;
    s->c.buckets = n;
}

static void count(struct kv_store *s, uint64_t *field)
{
    s->lock(s->lock_ctx);
    (*field)++;
    s->unlock(s->lock_ctx);
}

int kv_put(struct kv_store *s, const char *key, size_t klen, const void *value, size_t vlen,
           uint64_t *version, bool *created)
{
    int err = 0;
    if (klen == 0)
        err = -EINVAL;
    else if (klen > s->lim.key_max)
        err = -E2BIG;
    else if (vlen > s->lim.value_max)
        err = -EMSGSIZE;
    if (err != 0) {
        count(s, &s->c.refused_size);
        return err;
    }
    /* Built outside the lock: the copy is the slow part. */
    struct kv_entry *e = malloc(sizeof(*e) + klen + vlen + 2);
    if (e == NULL)
        return -ENOMEM;
    e->next = NULL;
    e->hash = kv_siphash(s->k0, s->k1, key, klen);
    e->refs = 1;
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    memcpy(e->data, key, klen);
    e->data[klen] = '\0';
    memcpy(e->data + klen + 1, value, vlen);
    e->data[klen + 1 + vlen] = '\0';

    struct kv_entry *old;
    s->lock(s->lock_ctx);
    struct kv_entry **pp = find_link(s, e->hash, key, klen);
    old = *pp;
    uint64_t bytes = s->c.bytes + klen + vlen - (old != NULL ? old->klen + old->vlen : 0);
    if ((old == NULL && s->c.keys >= s->lim.max_keys) || bytes > s->lim.max_bytes) {
        s->c.refused_full++;
        s->unlock(s->lock_ctx);
        free(e);
        return -ENOSPC;
    }
    e->version = s->next_version++;
    if (old != NULL) { /* replaced in place in its chain */
        e->next = old->next;
        *pp = e;
    } else {
        *pp = e;
        s->c.keys++;
        s->c.put_creates++;
    }
    s->c.bytes = bytes;
    s->c.puts++;
    if (old == NULL)
        maybe_grow(s);
    s->unlock(s->lock_ctx);
    if (old != NULL)
        kv_entry_release(old); /* the table's reference; readers may hold theirs */
    if (version != NULL)
        *version = e->version; /* e may be gone by now, its number not */
    if (created != NULL)
        *created = old == NULL;
    return 0;
}

struct kv_entry *kv_get(struct kv_store *s, const char *key, size_t klen)
{
    uint64_t h = kv_siphash(s->k0, s->k1, key, klen);
    s->lock(s->lock_ctx);
    struct kv_entry *e = *find_link(s, h, key, klen);
    s->c.gets++;
    if (e != NULL)
        entry_hold(e);
    else
        s->c.get_misses++;
    s->unlock(s->lock_ctx);
    return e;
}

int kv_delete(struct kv_store *s, const char *key, size_t klen)
{
    uint64_t h = kv_siphash(s->k0, s->k1, key, klen);
    s->lock(s->lock_ctx);
    struct kv_entry **pp = find_link(s, h, key, klen), *e = *pp;
    s->c.deletes++;
    if (e != NULL) {
        *pp = e->next;
        s->c.keys--;
        s->c.bytes -= e->klen + e->vlen;
    } else {
        s->c.delete_misses++;
    }
    s->unlock(s->lock_ctx);
    if (e == NULL)
        return -ENOENT;
    kv_entry_release(e);
    return 0;
}

static int entry_cmp(const struct kv_entry *a, const struct kv_entry *b)
{
    return kv_key_cmp(a->data, a->klen, b->data, b->klen);
}

/* A max-heap of the smallest keys seen so far: its root is the largest of
 * them, the one a smaller key displaces. */
static void heap_down(struct kv_entry **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && entry_cmp(h[l], h[m]) > 0)
            m = l;
        if (r < n && entry_cmp(h[r], h[m]) > 0)
            m = r;
        if (m == i)
            return;
        struct kv_entry *t = h[i];
        h[i] = h[m], h[m] = t;
        i = m;
    }
}

static void heap_up(struct kv_entry **h, size_t i)
{
    while (i > 0 && entry_cmp(h[i], h[(i - 1) / 2]) > 0) {
        struct kv_entry *t = h[i];
        h[i] = h[(i - 1) / 2], h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

size_t kv_list(struct kv_store *s, const char *prefix, size_t plen, const char *after, size_t alen,
               struct kv_entry **out, size_t max, bool *more)
{
    size_t n = 0;
    bool extra = false;
    s->lock(s->lock_ctx);
    s->c.lists++;
    /* A pass over every entry: O(keys) under the lock, bounded by max_keys. */
    for (size_t i = 0; i < s->nbuckets; i++) {
        for (struct kv_entry *e = s->buckets[i]; e != NULL; e = e->next) {
            if (e->klen < plen || memcmp(e->data, prefix, plen) != 0)
                continue;
            if (after != NULL && kv_key_cmp(e->data, e->klen, after, alen) <= 0)
                continue;
            if (n < max) {
                out[n] = e;
                heap_up(out, n++);
            } else {
                extra = true;
                if (max > 0 && entry_cmp(e, out[0]) < 0) {
                    out[0] = e;
                    heap_down(out, n, 0);
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        entry_hold(out[i]);
    s->unlock(s->lock_ctx);
    /* Heapsort the max-heap into ascending order (outside the lock). */
    for (size_t m = n; m > 1; m--) {
        struct kv_entry *t = out[0];
        out[0] = out[m - 1], out[m - 1] = t;
        heap_down(out, m - 1, 0);
    }
    if (more != NULL)
        *more = extra;
    return n;
}

void kv_store_counters(struct kv_store *s, struct kv_counters *c)
{
    s->lock(s->lock_ctx);
    *c = s->c;
    s->unlock(s->lock_ctx);
}
