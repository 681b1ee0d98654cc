/*
 * kv_store_test.c - apps/kv's store (apps/kv/store.c) on the host: the
 * hash against SipHash's published vectors, put/get/delete and versions,
 * every limit at its edge, references that outlive a replace or delete,
 * listing by prefix (sorted, bounded, paged with `after`), many keys
 * across table growth, and threads hammering overlapping keys (built
 * also as kv_store_test_tsan under ThreadSanitizer).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../apps/kv/store.h"
#include "runner.h"

uint64_t kv_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void lock(void *c)
{
    pthread_mutex_lock(c);
}
static void unlock(void *c)
{
    pthread_mutex_unlock(c);
}

static const uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void store_new(struct kv_store *s, size_t key_max, size_t value_max, size_t max_keys,
                      uint64_t max_bytes)
{
    struct kv_limits lim = {key_max, value_max, max_keys, max_bytes};
    if (kv_store_init(s, &lim, seed, lock, unlock, &mu) != 0)
        abort();
}

static int put_s(struct kv_store *s, const char *k, const char *v)
{
    return kv_put(s, k, strlen(k), v, strlen(v), NULL, NULL);
}

/* The stored value of k as a string ("" for none), in a static buffer. */
static const char *get_s(struct kv_store *s, const char *k)
{
    static char buf[4096];
    struct kv_entry *e = kv_get(s, k, strlen(k));
    if (e == NULL)
        return "";
    snprintf(buf, sizeof(buf), "%.*s", (int)e->vlen, kv_entry_value(e));
    kv_entry_release(e);
    return buf;
}

TEST(kv_siphash_vectors)
{
    /* The reference vectors of SipHash-2-4: key 00..0f, message 00..len-1. */
    uint8_t msg[16];
    for (int i = 0; i < 16; i++)
        msg[i] = (uint8_t)i;
    uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
    CHECK_UINT_EQ(kv_siphash(k0, k1, msg, 0), 0x726fdb47dd0e0e31ull);
    CHECK_UINT_EQ(kv_siphash(k0, k1, msg, 1), 0x74f839c593dc67fdull);
    CHECK_UINT_EQ(kv_siphash(k0, k1, msg, 8), 0x93f5f5799a932462ull);
    CHECK_UINT_EQ(kv_siphash(k0, k1, msg, 15), 0xa129ca6149be45e5ull);
    /* Another key, another bucket. */
    CHECK(kv_siphash(1, 2, "abc", 3) != kv_siphash(1, 3, "abc", 3));
}

TEST(kv_put_get_delete)
{
    struct kv_store s;
    store_new(&s, 64, 1024, 100, 1 << 20);
    uint64_t v1 = 0, v2 = 0;
    bool created = false;
    CHECK_INT_EQ(kv_put(&s, "a", 1, "{\"x\":1}", 7, &v1, &created), 0);
    CHECK(created);
    CHECK_STR_EQ(get_s(&s, "a"), "{\"x\":1}");
    CHECK_STR_EQ(get_s(&s, "b"), "");
    CHECK_INT_EQ(kv_put(&s, "a", 1, "2", 1, &v2, &created), 0);
    CHECK(!created);
    CHECK(v2 > v1);
    CHECK_STR_EQ(get_s(&s, "a"), "2");
    struct kv_entry *e = kv_get(&s, "a", 1);
    CHECK(e != NULL && e->version == v2 && e->klen == 1 && strcmp(kv_entry_key(e), "a") == 0);
    if (e != NULL)
        kv_entry_release(e);
    /* A key with a NUL and high bytes is only bytes. */
    CHECK_INT_EQ(kv_put(&s, "n\0\xc3\xa9", 4, "[]", 2, NULL, NULL), 0);
    e = kv_get(&s, "n\0\xc3\xa9", 4);
    CHECK(e != NULL && e->vlen == 2);
    if (e != NULL)
        kv_entry_release(e);
    CHECK(kv_get(&s, "n", 1) == NULL);
    struct kv_counters c;
    kv_store_counters(&s, &c);
    CHECK_UINT_EQ(c.keys, 2);
    CHECK_UINT_EQ(c.bytes, 1 + 1 + 4 + 2);
    CHECK_UINT_EQ(c.puts, 3);
    CHECK_UINT_EQ(c.put_creates, 2);
    CHECK_INT_EQ(kv_delete(&s, "a", 1), 0);
    CHECK_INT_EQ(kv_delete(&s, "a", 1), -ENOENT);
    CHECK_STR_EQ(get_s(&s, "a"), "");
    kv_store_counters(&s, &c);
    CHECK_UINT_EQ(c.keys, 1);
    CHECK_UINT_EQ(c.bytes, 6);
    CHECK_UINT_EQ(c.deletes, 2);
    CHECK_UINT_EQ(c.delete_misses, 1);
    CHECK_UINT_EQ(c.get_misses, 3);
    kv_store_destroy(&s);
}

TEST(kv_limits_at_the_edge)
{
    struct kv_store s;
    char big[200];
    memset(big, 'k', sizeof(big));
    store_new(&s, 8, 16, 3, 40);
    CHECK_INT_EQ(kv_put(&s, "", 0, "1", 1, NULL, NULL), -EINVAL);
    CHECK_INT_EQ(kv_put(&s, big, 9, "1", 1, NULL, NULL), -E2BIG);
    CHECK_INT_EQ(kv_put(&s, big, 8, "1", 1, NULL, NULL), 0); /* 9 bytes */
    CHECK_INT_EQ(kv_put(&s, "v", 1, big, 17, NULL, NULL), -EMSGSIZE);
    CHECK_INT_EQ(kv_put(&s, "v", 1, big, 16, NULL, NULL), 0);       /* 17: 26 */
    CHECK_INT_EQ(kv_put(&s, "w", 1, big, 14, NULL, NULL), -ENOSPC); /* 41 > 40 */
    CHECK_INT_EQ(kv_put(&s, "w", 1, big, 13, NULL, NULL), 0);       /* 40 */
    CHECK_INT_EQ(kv_put(&s, "x", 1, "", 0, NULL, NULL), -ENOSPC);   /* a 4th key */
    CHECK_INT_EQ(kv_put(&s, "w", 1, big, 14, NULL, NULL), -ENOSPC); /* growing w: 41 */
    CHECK_INT_EQ(kv_put(&s, "w", 1, big, 2, NULL, NULL), 0);        /* shrinking: 29 */
    CHECK_INT_EQ(kv_put(&s, "v", 1, big, 16, NULL, NULL), 0);       /* replaced, same size */
    CHECK_STR_EQ(get_s(&s, "w"), "kk");
    struct kv_counters c;
    kv_store_counters(&s, &c);
    CHECK_UINT_EQ(c.keys, 3);
    CHECK_UINT_EQ(c.bytes, 29);
    CHECK_UINT_EQ(c.refused_size, 3);
    CHECK_UINT_EQ(c.refused_full, 3);
    CHECK_INT_EQ(kv_delete(&s, "v", 1), 0);
    CHECK_INT_EQ(kv_put(&s, "x", 1, "", 0, NULL, NULL), 0); /* room again */
    kv_store_destroy(&s);
}

TEST(kv_reference_outlives_replace_and_delete)
{
    struct kv_store s;
    store_new(&s, 64, 1024, 100, 1 << 20);
    CHECK_INT_EQ(put_s(&s, "k", "\"old\""), 0);
    struct kv_entry *e = kv_get(&s, "k", 1);
    CHECK(e != NULL);
    CHECK_INT_EQ(put_s(&s, "k", "\"new\""), 0);
    CHECK_STR_EQ(get_s(&s, "k"), "\"new\"");
    struct kv_entry *f = kv_get(&s, "k", 1);
    CHECK_INT_EQ(kv_delete(&s, "k", 1), 0);
    /* ASan reports a use after free if either went with the table's ref. */
    if (e != NULL) {
        CHECK(memcmp(kv_entry_value(e), "\"old\"", 6) == 0);
        kv_entry_release(e);
    }
    if (f != NULL) {
        CHECK(memcmp(kv_entry_value(f), "\"new\"", 6) == 0);
        kv_entry_release(f);
    }
    kv_store_destroy(&s);
}

static size_t list_s(struct kv_store *s, const char *prefix, const char *after, size_t max,
                     bool *more, char *joined)
{
    struct kv_entry *out[64];
    size_t n = kv_list(s, prefix, strlen(prefix), after, after ? strlen(after) : 0, out, max, more);
    joined[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(joined, kv_entry_key(out[i]));
        strcat(joined, ",");
        kv_entry_release(out[i]);
    }
    return n;
}

TEST(kv_list_prefix_sorted_bounded)
{
    struct kv_store s;
    char j[4096];
    bool more;
    store_new(&s, 64, 1024, 100, 1 << 20);
    const char *keys[] = {"user/10", "user/2",  "user/1",        "users",
                          "use",     "group/1", "user/\xc3\xa9", "user/"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        CHECK_INT_EQ(put_s(&s, keys[i], "1"), 0);
    CHECK_UINT_EQ(list_s(&s, "user/", NULL, 10, &more, j), 5);
    CHECK_STR_EQ(j, "user/,user/1,user/10,user/2,user/\xc3\xa9,");
    CHECK(!more);
    CHECK_UINT_EQ(list_s(&s, "user", NULL, 3, &more, j), 3);
    CHECK_STR_EQ(j, "user/,user/1,user/10,");
    CHECK(more);
    CHECK_UINT_EQ(list_s(&s, "user", "user/10", 3, &more, j), 3);
    CHECK_STR_EQ(j, "user/2,user/\xc3\xa9,users,");
    CHECK(!more);
    CHECK_UINT_EQ(list_s(&s, "", NULL, 64, &more, j), 8);
    CHECK_STR_EQ(j, "group/1,use,user/,user/1,user/10,user/2,user/\xc3\xa9,users,");
    CHECK_UINT_EQ(list_s(&s, "nothing", NULL, 64, &more, j), 0);
    CHECK(!more);
    CHECK_UINT_EQ(list_s(&s, "", NULL, 0, &more, j), 0);
    CHECK(more);
    kv_store_destroy(&s);
}

TEST(kv_many_keys_and_paging)
{
    struct kv_store s;
    enum { N = 20000 };
    char k[32], v[32];
    store_new(&s, 64, 1024, N, 1 << 24);
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof(k), "key/%05d", i);
        snprintf(v, sizeof(v), "%d", i * 3);
        if (put_s(&s, k, v) != 0)
            CHECK(!"put failed");
    }
    CHECK_INT_EQ(put_s(&s, "one more", "1"), -ENOSPC);
    struct kv_counters c;
    kv_store_counters(&s, &c);
    CHECK_UINT_EQ(c.keys, N);
    CHECK(c.grows >= 8 && c.buckets * 3 >= (uint64_t)N * 4);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof(k), "key/%05d", i);
        snprintf(v, sizeof(v), "%d", i * 3);
        bad += strcmp(get_s(&s, k), v) != 0;
    }
    CHECK_INT_EQ(bad, 0);
    for (int i = 0; i < N; i += 2) {
        snprintf(k, sizeof(k), "key/%05d", i);
        bad += kv_delete(&s, k, strlen(k)) != 0;
    }
    CHECK_INT_EQ(bad, 0);
    /* Pages of 64 with `after` walk every odd key once, in order. */
    struct kv_entry *out[64];
    char after[32] = "";
    int seen = 0, expect = 1;
    bool more = true;
    while (more) {
        size_t n = kv_list(&s, "key/", 4, seen ? after : NULL, strlen(after), out, 64, &more);
        for (size_t i = 0; i < n; i++) {
            snprintf(k, sizeof(k), "key/%05d", expect);
            bad += strcmp(kv_entry_key(out[i]), k) != 0;
            expect += 2;
            seen++;
            snprintf(after, sizeof(after), "%s", kv_entry_key(out[i]));
            kv_entry_release(out[i]);
        }
        if (n == 0)
            break;
    }
    CHECK_INT_EQ(bad, 0);
    CHECK_INT_EQ(seen, N / 2);
    kv_store_destroy(&s);
}

/* Threads on overlapping keys: each value names its key, so a reader
 * sees whole values of the right key; the counters match the table. */
#define T_THREADS 4
#define T_KEYS    64
#define T_OPS     20000

struct hammer {
    struct kv_store *s;
    unsigned seed;
    int bad;
};

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    char k[16], v[64];
    for (int i = 0; i < T_OPS; i++) {
        h->seed = h->seed * 1103515245u + 12345u;
        unsigned r = h->seed >> 8, key = r % T_KEYS;
        snprintf(k, sizeof(k), "k%u", key);
        if (r % 10 < 4) {
            int n = snprintf(v, sizeof(v), "{\"key\":\"k%u\",\"n\":%u}", key, r);
            if (kv_put(h->s, k, strlen(k), v, (size_t)n, NULL, NULL) != 0)
                h->bad++;
        } else if (r % 10 < 9) {
            struct kv_entry *e = kv_get(h->s, k, strlen(k));
            if (e != NULL) {
                int n = snprintf(v, sizeof(v), "{\"key\":\"k%u\",", key);
                if (memcmp(kv_entry_value(e), v, (size_t)n) != 0 ||
                    kv_entry_value(e)[e->vlen - 1] != '}')
                    h->bad++;
                kv_entry_release(e);
            }
        } else {
            kv_delete(h->s, k, strlen(k));
        }
        if (i % 1000 == 0) {
            struct kv_entry *out[8];
            size_t n = kv_list(h->s, "k1", 2, NULL, 0, out, 8, NULL);
            for (size_t j = 1; j < n; j++)
                if (kv_key_cmp(kv_entry_key(out[j - 1]), out[j - 1]->klen, kv_entry_key(out[j]),
                               out[j]->klen) >= 0)
                    h->bad++;
            for (size_t j = 0; j < n; j++)
                kv_entry_release(out[j]);
        }
    }
    return NULL;
}

TEST(kv_threads_overlapping_keys)
{
    struct kv_store s;
    store_new(&s, 64, 1024, 1000, 1 << 20);
    struct hammer h[T_THREADS];
    pthread_t t[T_THREADS];
    for (int i = 0; i < T_THREADS; i++) {
        h[i] = (struct hammer){&s, (unsigned)i * 7919u + 1, 0};
        CHECK_INT_EQ(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
    }
    for (int i = 0; i < T_THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT_EQ(h[i].bad, 0);
    }
    struct kv_counters c;
    kv_store_counters(&s, &c);
    struct kv_entry *out[T_KEYS + 1];
    bool more;
    size_t n = kv_list(&s, "", 0, NULL, 0, out, T_KEYS + 1, &more);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += out[i]->klen + out[i]->vlen;
        kv_entry_release(out[i]);
    }
    CHECK_UINT_EQ(c.keys, n);
    CHECK_UINT_EQ(c.bytes, bytes);
    CHECK(!more);
    CHECK_UINT_EQ(c.puts + c.gets + c.deletes, (uint64_t)T_THREADS * T_OPS);
    kv_store_destroy(&s);
}

/* ---- apps/kv/key.c: percent-decoding, key rule, query parameters ---- */
#include "../../apps/kv/key.h"

static const char *dec(const char *s, bool plus, long *rc)
{
    static char buf[64];
    *rc = kv_pct_decode(s, strlen(s), buf, 8, plus);
    buf[*rc >= 0 ? *rc : 0] = '\0';
    return buf;
}

TEST(kv_key_percent_decoding)
{
    long rc;
    CHECK_STR_EQ(dec("a%2Fb%2fc", false, &rc), "a/b/c");
    CHECK_INT_EQ(rc, 5);
    CHECK_STR_EQ(dec("caf%C3%A9", false, &rc), "caf\xc3\xa9");
    CHECK_STR_EQ(dec("a+b", false, &rc), "a+b");
    CHECK_STR_EQ(dec("a+b%2B", true, &rc), "a b+");
    dec("%", false, &rc);
    CHECK_INT_EQ(rc, -EINVAL);
    dec("ab%4", false, &rc);
    CHECK_INT_EQ(rc, -EINVAL);
    dec("%g0", false, &rc);
    CHECK_INT_EQ(rc, -EINVAL);
    dec("12345678", false, &rc);
    CHECK_INT_EQ(rc, 8);
    dec("123456789", false, &rc);
    CHECK_INT_EQ(rc, -E2BIG);
    dec("1234567%41", false, &rc);
    CHECK_INT_EQ(rc, 8);
}

TEST(kv_key_rule)
{
#define V(s) kv_key_valid(s, sizeof(s) - 1)
    CHECK(V("users/42"));
    CHECK(V("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    CHECK(V("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
    CHECK(!V("a\x01"));
    CHECK(!V("a\x7f"));
    CHECK(!V("a\0b"));
    CHECK(!V("\xc2\x85"));         /* NEL, a C1 control */
    CHECK(!V("\xc0\xaf"));         /* overlong '/' */
    CHECK(!V("\xe0\x80\xaf"));     /* overlong, 3 bytes */
    CHECK(!V("\xed\xa0\x80"));     /* a surrogate */
    CHECK(!V("\xf4\x90\x80\x80")); /* past U+10FFFF */
    CHECK(!V("\xc3"));             /* cut short */
    CHECK(!V("\x80"));
#undef V
}

TEST(kv_query_parameters)
{
    char b[32];
    const char *q = "prefix=us%65r%2F&limit=5&flag&x=a+b&prefix=second";
    size_t ql = strlen(q);
    long n = kv_query_get(q, ql, "prefix", b, sizeof(b));
    CHECK_INT_EQ(n, 5);
    CHECK(n == 5 && memcmp(b, "user/", 5) == 0);
    n = kv_query_get(q, ql, "limit", b, sizeof(b));
    CHECK(n == 1 && b[0] == '5');
    CHECK_INT_EQ(kv_query_get(q, ql, "flag", b, sizeof(b)), 0);
    n = kv_query_get(q, ql, "x", b, sizeof(b));
    CHECK(n == 3 && memcmp(b, "a b", 3) == 0);
    CHECK_INT_EQ(kv_query_get(q, ql, "pre", b, sizeof(b)), -ENOENT);
    CHECK_INT_EQ(kv_query_get("", 0, "prefix", b, sizeof(b)), -ENOENT);
    CHECK_INT_EQ(kv_query_get("a=%zz", 5, "a", b, sizeof(b)), -EINVAL);
    CHECK_INT_EQ(kv_query_get("a=123", 5, "a", b, 2), -E2BIG);
}
