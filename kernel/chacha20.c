/*
 * kernel/chacha20.c — ChaCha20 (RFC 8439, section 2) and the fast-key-erasure
 * generator of kernel/chacha20.h. Integer code only (the kernel has no SSE).
 */
#include <string.h>

#include "kernel/chacha20.h"

/* Clears key material in a way the compiler may not drop as a dead store. */
static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n-- > 0)
        *v++ = 0;
}

static inline uint32_t rotl32(uint32_t v, int n)
{
    return (v << n) | (v >> (32 - n));
}

/* RFC 8439 section 2.1: the quarter round on four words of the state. */
#define QUARTER(a, b, c, d)                                                                        \
    do {                                                                                           \
        a += b, d ^= a, d = rotl32(d, 16);                                                         \
        c += d, b ^= c, b = rotl32(b, 12);                                                         \
        a += b, d ^= a, d = rotl32(d, 8);                                                          \
        c += d, b ^= c, b = rotl32(b, 7);                                                          \
    } while (0)

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
                    uint8_t out[64])
{
    /* Section 2.3: "expand 32-byte k", the key, the counter, the nonce. */
    uint32_t in[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
    memcpy(&in[4], key, 8 * sizeof(uint32_t));
    in[12] = counter;
    memcpy(&in[13], nonce, 3 * sizeof(uint32_t));

    uint32_t x[16];
    memcpy(x, in, sizeof(x));
    for (int i = 0; i < 10; i++) { /* 20 rounds: a column and a diagonal round each */
        QUARTER(x[0], x[4], x[8], x[12]);
        QUARTER(x[1], x[5], x[9], x[13]);
        QUARTER(x[2], x[6], x[10], x[14]);
        QUARTER(x[3], x[7], x[11], x[15]);
        QUARTER(x[0], x[5], x[10], x[15]);
        QUARTER(x[1], x[6], x[11], x[12]);
        QUARTER(x[2], x[7], x[8], x[13]);
        QUARTER(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++)
        put_le32(out + 4 * i, x[i] + in[i]);
}

void chacha_rng_absorb(struct chacha_rng *r, const uint32_t in[12])
{
    uint32_t key[8];
    uint8_t block[64];
    for (int i = 0; i < 8; i++)
        key[i] = r->key[i] ^ in[i];
    chacha20_block(key, in[8], &in[9], block);
    for (int i = 0; i < 8; i++)
        r->key[i] = get_le32(block + 4 * i);
    wipe(key, sizeof(key));
    wipe(block, sizeof(block));
}

/* Counter 0..2^32-1 under one key: a fill of more than this rekeys between
 * parts (each part starts over at counter 0 under its own key). */
#define FILL_MAX_PART ((size_t)1 << 30)

static void fill_part(struct chacha_rng *r, uint8_t *p, size_t len)
{
    static const uint32_t nonce[3];
    uint8_t block[64];
    chacha20_block(r->key, 0, nonce, block);
    uint32_t next_key[8];
    for (int i = 0; i < 8; i++)
        next_key[i] = get_le32(block + 4 * i);
    size_t n = len < 32 ? len : 32;
    memcpy(p, block + 32, n);
    p += n, len -= n;
    for (uint32_t ctr = 1; len > 0; ctr++) {
        chacha20_block(r->key, ctr, nonce, block);
        n = len < 64 ? len : 64;
        memcpy(p, block, n);
        p += n, len -= n;
    }
    memcpy(r->key, next_key, sizeof(next_key));
    wipe(next_key, sizeof(next_key));
    wipe(block, sizeof(block));
}

void chacha_rng_fill(struct chacha_rng *r, void *buf, size_t len)
{
    uint8_t *p = buf;
    do {
        size_t n = len < FILL_MAX_PART ? len : FILL_MAX_PART;
        fill_part(r, p, n);
        p += n, len -= n;
    } while (len > 0);
}
