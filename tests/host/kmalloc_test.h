/*
 * kmalloc_test.h - what the kmalloc host tests share: the allocator's entry
 * points as renamed for the host (host.mk compiles kernel/kmalloc.c with
 * -Dmalloc=km_malloc and so on), a seeded generator, fill patterns, and
 * the core ids tests take so that each starts from empty per-core caches.
 */
#ifndef ZEBU_TESTS_HOST_KMALLOC_TEST_H
#define ZEBU_TESTS_HOST_KMALLOC_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/kmalloc.h"
#include "kernel/kmalloc_env.h"

void *km_malloc(size_t n);
void km_free(void *p);
void *km_calloc(size_t count, size_t size);
void *km_realloc(void *p, size_t n);
void *km_aligned_alloc(size_t align, size_t n);

/* Largest small class, and the largest request kmalloc may satisfy. */
#define KMT_MAX_SMALL 2048u
#define KMT_MAX_BYTES (KM_PAGE_SIZE << KM_MAX_ORDER)

/* xorshift64*: small, seedable, good enough to pick sizes and actions. */
static inline uint64_t kmt_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* A pattern that depends on the seed and the word's position, so a block
 * written over by another block, or copied to the wrong offset, differs. */
static inline uint64_t kmt_pattern_word(uint64_t seed, size_t i)
{
    uint64_t x = (seed + i) * 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 29);
}

/* Fills bytes [from, to) of p; both multiples of 8, p 8-aligned. */
static inline void kmt_fill(void *p, size_t from, size_t to, uint64_t seed)
{
    uint64_t *w = p;
    for (size_t i = from / 8; i < to / 8; i++)
        w[i] = kmt_pattern_word(seed, i);
}

/* Index of the first byte in [from, to) that differs from the pattern
 * (whole words compared, ends rounded out to 8), or -1. */
static inline long kmt_verify(const void *p, size_t from, size_t to, uint64_t seed)
{
    const uint64_t *w = p;
    for (size_t i = from / 8; i < (to + 7) / 8; i++)
        if (w[i] != kmt_pattern_word(seed, i))
            return (long)(i * 8);
    return -1;
}

/* A core no earlier test used: its cache starts empty. Aborts when out. */
unsigned kmt_fresh_cpu(void);
/* What km_printf printed since the last kmt_printed_clear(). */
const char *kmt_printed(void);
void kmt_printed_clear(void);

/* Size classes: 16 .. 2048, the class kmalloc files a request of n under. */
static inline size_t kmt_class_size(size_t n)
{
    size_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

#endif
