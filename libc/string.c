/*
 * string.c - memory and string functions of string.h.
 *
 * memcpy/memmove/memset/memcmp are the hot ones (the network stack copies
 * packets, the allocator zeroes pages), so they move 8-byte words when the
 * pointers allow it and bytes only for the unaligned head and tail. The rest
 * is plain byte loops: clear, and never reading past a terminator, which
 * keeps them safe under AddressSanitizer in the host tests.
 *
 * Freestanding trap: gcc recognises a byte-copy or byte-fill loop and may
 * replace it with a call to memcpy/memset, which here would recurse forever.
 * libc is therefore built with -fno-builtin -fno-tree-loop-distribute-patterns.
 */
#define ZEBU_LIBC_STRING_IMPL /* the functions themselves: no builtin macros */
#include <string.h>
#include <stdint.h>

#include <ctype.h>

/*
 * Word access type. may_alias lets us read and write through it memory that
 * holds any other type without breaking strict aliasing; it keeps uint64_t's
 * alignment, so it is only used on 8-byte-aligned addresses.
 */
typedef uint64_t __attribute__((__may_alias__)) word_t;
#define WORD_SIZE     sizeof(word_t)
#define WORD_MASK     (WORD_SIZE - 1)
#define IS_ALIGNED(p) (((uintptr_t)(p)&WORD_MASK) == 0)

/* Forward copy shared by memcpy and memmove (safe when dst <= src). */
static void copy_forward(unsigned char *d, const unsigned char *s, size_t n)
{
    /* Words only work if both pointers reach alignment at the same time. */
    if ((((uintptr_t)d ^ (uintptr_t)s) & WORD_MASK) == 0) {
        while (n > 0 && !IS_ALIGNED(d)) {
            *d++ = *s++;
            n--;
        }
        word_t *dw = (word_t *)d;
        const word_t *sw = (const word_t *)s;
        while (n >= 4 * WORD_SIZE) {
            dw[0] = sw[0];
            dw[1] = sw[1];
            dw[2] = sw[2];
            dw[3] = sw[3];
            dw += 4;
            sw += 4;
            n -= 4 * WORD_SIZE;
        }
        while (n >= WORD_SIZE) {
            *dw++ = *sw++;
            n -= WORD_SIZE;
        }
        d = (unsigned char *)dw;
        s = (const unsigned char *)sw;
    }
    while (n > 0) {
        *d++ = *s++;
        n--;
    }
}

/* Backward copy for memmove when dst overlaps the end of src (dst > src). */
static void copy_backward(unsigned char *d, const unsigned char *s, size_t n)
{
    /* Work from the ends, so align the end pointers. */
    d += n;
    s += n;
    if ((((uintptr_t)d ^ (uintptr_t)s) & WORD_MASK) == 0) {
        while (n > 0 && !IS_ALIGNED(d)) {
            *--d = *--s;
            n--;
        }
        word_t *dw = (word_t *)d;
        const word_t *sw = (const word_t *)s;
        while (n >= WORD_SIZE) {
            *--dw = *--sw;
            n -= WORD_SIZE;
        }
        d = (unsigned char *)dw;
        s = (const unsigned char *)sw;
    }
    while (n > 0) {
        *--d = *--s;
        n--;
    }
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    copy_forward(dst, src, n);
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    /* Compare as integers: relational operators on unrelated pointers are UB. */
    uintptr_t d = (uintptr_t)dst;
    uintptr_t s = (uintptr_t)src;

    if (d - s >= n) /* dst before src, or no overlap: forward is safe */
        copy_forward(dst, src, n);
    else
        copy_backward(dst, src, n);
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    unsigned char byte = (unsigned char)c;

    while (n > 0 && !IS_ALIGNED(d)) {
        *d++ = byte;
        n--;
    }
    /* Multiplying by 0x0101...01 repeats the byte in every lane of a word. */
    word_t pattern = byte * (UINT64_MAX / 0xff);
    word_t *dw = (word_t *)d;
    while (n >= 4 * WORD_SIZE) {
        dw[0] = pattern;
        dw[1] = pattern;
        dw[2] = pattern;
        dw[3] = pattern;
        dw += 4;
        n -= 4 * WORD_SIZE;
    }
    while (n >= WORD_SIZE) {
        *dw++ = pattern;
        n -= WORD_SIZE;
    }
    d = (unsigned char *)dw;
    while (n > 0) {
        *d++ = byte;
        n--;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *pa = a;
    const unsigned char *pb = b;

    /* Skip equal words quickly; the differing word is re-scanned bytewise. */
    if ((((uintptr_t)pa ^ (uintptr_t)pb) & WORD_MASK) == 0) {
        while (n > 0 && !IS_ALIGNED(pa)) {
            if (*pa != *pb)
                return *pa - *pb;
            pa++;
            pb++;
            n--;
        }
        while (n >= WORD_SIZE && *(const word_t *)pa == *(const word_t *)pb) {
            pa += WORD_SIZE;
            pb += WORD_SIZE;
            n -= WORD_SIZE;
        }
    }
    for (; n > 0; n--, pa++, pb++) {
        if (*pa != *pb)
            return *pa - *pb;
    }
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    unsigned char byte = (unsigned char)c;

    for (; n > 0; n--, p++) {
        if (*p == byte)
            return (void *)p;
    }
    return NULL;
}

size_t strlen(const char *s)
{
    const char *p = s;

    while (*p != '\0')
        p++;
    return (size_t)(p - s);
}

size_t strnlen(const char *s, size_t maxlen)
{
    size_t len = 0;

    while (len < maxlen && s[len] != '\0')
        len++;
    return len;
}

int strcmp(const char *a, const char *b)
{
    const unsigned char *pa = (const unsigned char *)a;
    const unsigned char *pb = (const unsigned char *)b;

    while (*pa != '\0' && *pa == *pb) {
        pa++;
        pb++;
    }
    return *pa - *pb;
}

int strncmp(const char *a, const char *b, size_t n)
{
    const unsigned char *pa = (const unsigned char *)a;
    const unsigned char *pb = (const unsigned char *)b;

    for (; n > 0; n--, pa++, pb++) {
        if (*pa != *pb || *pa == '\0')
            return *pa - *pb;
    }
    return 0;
}

int strcasecmp(const char *a, const char *b)
{
    const unsigned char *pa = (const unsigned char *)a;
    const unsigned char *pb = (const unsigned char *)b;
    int diff;

    while ((diff = tolower(*pa) - tolower(*pb)) == 0 && *pa != '\0') {
        pa++;
        pb++;
    }
    return diff;
}

int strncasecmp(const char *a, const char *b, size_t n)
{
    const unsigned char *pa = (const unsigned char *)a;
    const unsigned char *pb = (const unsigned char *)b;

    for (; n > 0; n--, pa++, pb++) {
        int diff = tolower(*pa) - tolower(*pb);
        if (diff != 0 || *pa == '\0')
            return diff;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    char ch = (char)c;

    for (;; s++) {
        if (*s == ch)
            return (char *)s;
        if (*s == '\0')
            return NULL;
    }
}

char *strrchr(const char *s, int c)
{
    char ch = (char)c;
    const char *last = NULL;

    for (;; s++) {
        if (*s == ch)
            last = s;
        if (*s == '\0')
            return (char *)last;
    }
}

char *strstr(const char *haystack, const char *needle)
{
    size_t nlen = strlen(needle);

    if (nlen == 0)
        return (char *)haystack;
    /* Simple scan: find the first byte, then compare the rest. Inputs here
     * are short (headers, config keys), so no need for Two-Way. strncmp stops
     * at the haystack's NUL, so we never read past its end. */
    for (; (haystack = strchr(haystack, needle[0])) != NULL; haystack++) {
        if (strncmp(haystack, needle, nlen) == 0)
            return (char *)haystack;
    }
    return NULL;
}

size_t strspn(const char *s, const char *accept)
{
    size_t n = 0;

    while (s[n] != '\0' && strchr(accept, s[n]) != NULL)
        n++;
    return n;
}

size_t strcspn(const char *s, const char *reject)
{
    size_t n = 0;

    while (s[n] != '\0' && strchr(reject, s[n]) == NULL)
        n++;
    return n;
}

char *strcpy(char *restrict dst, const char *restrict src)
{
    char *d = dst;

    while ((*d++ = *src++) != '\0')
        ;
    return dst;
}

char *strncpy(char *restrict dst, const char *restrict src, size_t n)
{
    size_t i = 0;

    for (; i < n && src[i] != '\0'; i++)
        dst[i] = src[i];
    for (; i < n; i++) /* C requires the rest of dst to be zero-filled */
        dst[i] = '\0';
    return dst;
}

char *strcat(char *restrict dst, const char *restrict src)
{
    strcpy(dst + strlen(dst), src);
    return dst;
}

char *strncat(char *restrict dst, const char *restrict src, size_t n)
{
    char *d = dst + strlen(dst);
    size_t i = 0;

    for (; i < n && src[i] != '\0'; i++)
        d[i] = src[i];
    d[i] = '\0';
    return dst;
}

size_t strlcpy(char *restrict dst, const char *restrict src, size_t size)
{
    size_t srclen = strlen(src);

    if (size > 0) {
        size_t n = srclen < size - 1 ? srclen : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return srclen;
}

size_t strlcat(char *restrict dst, const char *restrict src, size_t size)
{
    /* If dst is not terminated within size, BSD leaves it alone and reports
     * size + strlen(src): the caller passed a size that was already too small. */
    size_t dstlen = strnlen(dst, size);

    if (dstlen == size)
        return size + strlen(src);
    return dstlen + strlcpy(dst + dstlen, src, size - dstlen);
}
