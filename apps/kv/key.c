/*
 * key.c - keys and query strings for apps/kv (see key.h). Portable C.
 */
#include <errno.h>
#include <string.h>

#include "key.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long kv_pct_decode(const char *src, size_t len, char *dst, size_t cap, bool plus_space)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') { /* RFC 3986 2.1: "%" HEXDIG HEXDIG, either case */
            int hi = i + 2 < len ? hexval(src[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(src[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (n == cap)
            return -E2BIG;
        dst[n++] = c;
    }
    return (long)n;
}

bool kv_key_valid(const char *k, size_t len)
{
    const unsigned char *p = (const unsigned char *)k;
    for (size_t i = 0; i < len;) {
        unsigned c = p[i], need, cp;
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07;
        else
            return false; /* a continuation byte, or 0xc0/0xc1/0xf5+: never a lead */
        if (len - i <= need)
            return false;
        for (unsigned j = 1; j <= need; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        /* RFC 3629 3: the shortest form only, no surrogates, nothing past U+10FFFF */
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        if (cp >= 0x80 && cp <= 0x9f) /* C1 controls */
            return false;
        i += need + 1;
    }
    return true;
}

long kv_query_get(const char *q, size_t qlen, const char *name, char *dst, size_t cap)
{
    size_t nlen = strlen(name);
    size_t i = 0;
    while (i <= qlen) {
        size_t end = i;
        while (end < qlen && q[end] != '&')
            end++;
        const char *eq = memchr(q + i, '=', end - i);
        size_t klen = eq != NULL ? (size_t)(eq - (q + i)) : end - i;
        if (klen == nlen && memcmp(q + i, name, nlen) == 0) {
            if (eq == NULL)
                return 0; /* "a&b": present, empty */
            return kv_pct_decode(eq + 1, (size_t)(q + end - (eq + 1)), dst, cap, true);
        }
        i = end + 1;
    }
    return -ENOENT;
}
