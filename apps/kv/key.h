/*
 * key.h - apps/kv's reading of keys and query strings: percent-decoding
 * (RFC 3986 2.1), the rule a key must meet (UTF-8, no control
 * characters), and a query parameter by name. Portable C, host-tested in
 * tests/host/kv_store_test.c.
 */
#ifndef KV_KEY_H
#define KV_KEY_H

#include <stdbool.h>
#include <stddef.h>

/* src percent-decoded into dst: the length, -EINVAL (a '%' not followed by
 * two hex digits), -E2BIG (more than cap bytes). plus_space: '+'
 * stands for a space, as in a form-encoded query string (what curl -G
 * --data-urlencode and Python's urlencode send); in a path '+' is itself. */
long kv_pct_decode(const char *src, size_t len, char *dst, size_t cap, bool plus_space);

/* A key is well-formed UTF-8 (RFC 3629: shortest form, no surrogates, at
 * most U+10FFFF) with no control characters (C0, DEL, C1): it can be
 * written in JSON and in a log as it is. */
bool kv_key_valid(const char *k, size_t len);

/* The value of parameter name in query q ("a=1&b=x%20y"), decoded as
 * above with '+' a space: its length; -ENOENT when absent (the first of
 * repeated ones counts); errors of kv_pct_decode. */
long kv_query_get(const char *q, size_t qlen, const char *name, char *dst, size_t cap);

#endif /* KV_KEY_H */
