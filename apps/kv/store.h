/*
 * store.h - apps/kv's store: keys (bytes) to values (bytes; the app keeps
 * JSON texts in them) in a chained hash table, bounded in keys and bytes,
 * safe for threads on any core. Portable C on the C library alone, so it
 * is tested on the host (tests/host/kv_store_test.c, also under
 * ThreadSanitizer).
 *
 * Concurrency: one lock (the app's zebu_mutex, the host test's pthread
 * mutex, given as callbacks) guards the table. A lookup takes a reference
 * on the entry it finds and returns it, so the value can be sent after
 * the lock is let go (by reference, no copy) while a PUT replaces it or a
 * DELETE removes it: the entry is freed when its last reference goes.
 * Entries are built and freed outside the lock; the lock is held for the
 * table operation alone.
 */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv_limits {
    size_t key_max;     /* bytes of a key (1..): longer: -E2BIG */
    size_t value_max;   /* bytes of a value: longer: -EMSGSIZE */
    size_t max_keys;    /* keys stored at once: past it a new key is -ENOSPC */
    uint64_t max_bytes; /* key and value bytes stored at once: past it -ENOSPC */
};

/* One key and its value, immutable once in the table (a PUT replaces the
 * entry). data: the key, a NUL, then the value and a NUL. */
struct kv_entry {
    struct kv_entry *next;
    uint64_t hash;
    uint64_t version; /* from a store-wide counter: a new one per PUT (the ETag) */
    uint32_t refs;    /* the table's one while stored, and one per holder */
    uint32_t klen, vlen;
    char data[];
};

static inline const char *kv_entry_key(const struct kv_entry *e)
{
    return e->data;
}

static inline const char *kv_entry_value(const struct kv_entry *e)
{
    return e->data + e->klen + 1;
}

struct kv_counters {
    uint64_t keys;  /* stored now */
    uint64_t bytes; /* key + value bytes stored now */
    uint64_t puts, put_creates, gets, get_misses, deletes, delete_misses, lists;
    uint64_t refused_full; /* PUTs refused: max_keys or max_bytes */
    uint64_t refused_size; /* PUTs refused: key or value too long, or empty key */
    uint64_t grows;        /* times the table doubled */
    uint64_t buckets;
};

struct kv_store {
    struct kv_limits lim;
    uint64_t k0, k1; /* the hash key (random per boot: keys chosen to collide cannot be guessed) */
    void (*lock)(void *ctx);
    void (*unlock)(void *ctx);
    void *lock_ctx;
    /* under the lock */
    struct kv_entry **buckets;
    size_t nbuckets; /* a power of two */
    uint64_t next_version;
    struct kv_counters c;
};

/* 0 or -ENOMEM. seed: 16 random bytes for the hash key. */
int kv_store_init(struct kv_store *s, const struct kv_limits *lim, const uint8_t seed[16],
                  void (*lock)(void *), void (*unlock)(void *), void *lock_ctx);
/* Frees every entry nobody else holds (call when no thread uses the store). */
void kv_store_destroy(struct kv_store *s);

/* Store value under key (replacing any): 0, with *version the new entry's
 * and *created whether the key is new; -EINVAL (empty key),
 * -E2BIG, -EMSGSIZE (over the limits), -ENOSPC (full), -ENOMEM. */
int kv_put(struct kv_store *s, const char *key, size_t klen, const void *value, size_t vlen,
           uint64_t *version, bool *created);
/* The entry for key with a reference the caller must release, or NULL. */
struct kv_entry *kv_get(struct kv_store *s, const char *key, size_t klen);
/* Drop a reference (frees the entry after the last). Any thread. */
void kv_entry_release(struct kv_entry *e);
/* 0, or -ENOENT when the key is not stored. */
int kv_delete(struct kv_store *s, const char *key, size_t klen);
/* The first `max` stored keys (bytewise order) that start with prefix and
 * sort after `after` (NULL: from the start), into out[] with a reference
 * each (release them): their count; *more tells whether further keys
 * match. */
size_t kv_list(struct kv_store *s, const char *prefix, size_t plen, const char *after, size_t alen,
               struct kv_entry **out, size_t max, bool *more);
/* A copy of the counters. */
void kv_store_counters(struct kv_store *s, struct kv_counters *c);
/* Bytewise order of two keys (memcmp, then the shorter first). */
int kv_key_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif /* KV_STORE_H */
