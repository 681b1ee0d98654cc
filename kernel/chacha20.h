/*
 * kernel/chacha20.h — the ChaCha20 block function (RFC 8439) and a random
 * generator on it, for zebu_random() where the CPU has no RDRAND.
 *
 * Pure C, no kernel headers: tests/host/random_test.c checks it against
 * RFC 8439's vectors and OpenSSL's ChaCha20 keystream.
 */
#ifndef ZEBU_KERNEL_CHACHA20_H
#define ZEBU_KERNEL_CHACHA20_H

#include <stddef.h>
#include <stdint.h>

/* The 64-byte keystream block for key, block counter and nonce (RFC 8439
 * section 2.3: 20 rounds, the input added back, little-endian words). */
void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
                    uint8_t out[64]);

/*
 * A generator with "fast key erasure" (Bernstein, 2017): every fill makes
 * keystream under the current key from counter 0 (nonce 0), takes its
 * first 32 bytes as the next key and hands out the bytes after them. Once a
 * fill returns, the key that made its bytes is gone, so a later look at
 * the state cannot recover them.
 */
struct chacha_rng {
    uint32_t key[8];
};

/* Mixes 48 bytes of seed material into the key: the key XORed with the
 * first 8 words, the rest as counter and nonce, through one block; the new
 * key is that block's first half. Absorbing never loses what the key held. */
void chacha_rng_absorb(struct chacha_rng *r, const uint32_t in[12]);

/* Fills buf with len bytes, then replaces the key. */
void chacha_rng_fill(struct chacha_rng *r, void *buf, size_t len);

#endif
