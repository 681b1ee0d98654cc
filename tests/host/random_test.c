/*
 * random_test.c - kernel/chacha20.c, zebu_random's generator where the CPU
 * has no RDRAND: the block function against RFC 8439's test vector, and
 * the generator's output against ChaCha20 keystream that OpenSSL made
 * (`openssl enc -chacha20 -K KEY -iv 0...0` over zero bytes), so that the
 * fast-key-erasure layout (next key first, output after it) is checked
 * against an independent implementation.
 */
#include <stdint.h>
#include <string.h>

#include "kernel/chacha20.h"
#include "runner.h"

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + (size_t)k];
            v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        out[i] = (uint8_t)v;
    }
}

/* Key 00 01 02 .. 1f as little-endian words (RFC 8439 section 2.3.2). */
static void rfc_key(uint32_t key[8])
{
    for (int i = 0; i < 8; i++) {
        uint32_t b = (uint32_t)(4 * i);
        key[i] = b | (b + 1) << 8 | (b + 2) << 16 | (b + 3) << 24;
    }
}

/* RFC 8439 2.3.2: counter 1, nonce 00 00 00 09 00 00 00 4a 00 00 00 00. */
static const char rfc_block_hex[] =
    "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
    "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e";

TEST(chacha20_block_matches_rfc8439_2_3_2)
{
    uint32_t key[8], nonce[3] = {0x09000000, 0x4a000000, 0};
    uint8_t out[64], want[64];
    rfc_key(key);
    chacha20_block(key, 1, nonce, out);
    hex_to_bytes(rfc_block_hex, want, 64);
    CHECK(memcmp(out, want, 64) == 0);
}

/* OpenSSL's ChaCha20 keystream, key 00..1f, counter 0, nonce 0: 128 bytes. */
static const char ks_key1_hex[] =
    "39fd2b7dd9c5196a8dbd0377b8dc4a498a35d86fbcde6accb2cc7d4cd8ea2492"
    "2b23cce7a26023ab3f0eef693ac87f64258235eab1f7a32dc22762a0485b410c"
    "18b84231ade6a6d113615c61af434e27f8b1f3f5e1ad5b5cecf8fc122a35755c"
    "7208086dd1ee3c5d9d815824640e003c9ba0f65ede5d59ce0d2a4a7f31955acd";
/* ... and under the key that is the first 32 bytes of the above: 64 bytes. */
static const char ks_key2_hex[] =
    "0ab756b1bffab801632a21c42e6092aff72876f4a1a4b2ba06487fea9267e38d"
    "2d41a59c90e41a8e7a4dccaa1c46069983b1a333ce25719ec3437768ab57fa42";

TEST(chacha_rng_fill_is_keystream_after_the_next_key)
{
    uint8_t ks1[128], ks2[64], out[96];
    hex_to_bytes(ks_key1_hex, ks1, 128);
    hex_to_bytes(ks_key2_hex, ks2, 64);

    struct chacha_rng r;
    rfc_key(r.key);
    chacha_rng_fill(&r, out, 96); /* block 0's second half, then block 1 */
    CHECK(memcmp(out, ks1 + 32, 96) == 0);
    /* The next key is block 0's first half: the next fill comes from it. */
    chacha_rng_fill(&r, out, 20);
    CHECK(memcmp(out, ks2 + 32, 20) == 0);
    chacha_rng_fill(&r, out, 0); /* an empty fill still moves the key on */
    uint8_t again[20];
    chacha_rng_fill(&r, again, 20);
    CHECK(memcmp(out, again, 20) != 0);
}

TEST(chacha_rng_fill_of_odd_lengths_matches_one_long_fill_of_the_same_key)
{
    uint8_t ks1[128], out[128];
    hex_to_bytes(ks_key1_hex, ks1, 128);
    for (size_t len = 1; len <= 96; len++) {
        struct chacha_rng r;
        rfc_key(r.key);
        memset(out, 0xee, sizeof(out));
        chacha_rng_fill(&r, out, len);
        CHECK_AT(__FILE__, __LINE__, memcmp(out, ks1 + 32, len) == 0 && out[len] == 0xee,
                 "fill of %zu bytes", len);
    }
}

TEST(chacha_rng_absorb_keys_from_one_block)
{
    /* Absorbing the RFC key, counter 1 and the RFC nonce into a zero key
     * runs exactly RFC 8439's block: the new key is its first 32 bytes. */
    struct chacha_rng r = {{0}};
    uint32_t in[12];
    rfc_key(in);
    in[8] = 1, in[9] = 0x09000000, in[10] = 0x4a000000, in[11] = 0;
    chacha_rng_absorb(&r, in);
    uint8_t want[64], got[32];
    hex_to_bytes(rfc_block_hex, want, 64);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++)
            got[4 * i + k] = (uint8_t)(r.key[i] >> (8 * k));
    CHECK(memcmp(got, want, 32) == 0);
    /* What the key held is kept: the same input into another key differs. */
    struct chacha_rng r2 = {{1}};
    chacha_rng_absorb(&r2, in);
    CHECK(memcmp(r.key, r2.key, sizeof(r.key)) != 0);
}

TEST(chacha_rng_output_is_not_degenerate)
{
    /* A weak check that the generator is wired up: 64 KiB of output has
     * every byte value, none more than twice its expected share. */
    static uint8_t buf[65536];
    unsigned counts[256] = {0};
    struct chacha_rng r = {{7, 6, 5, 4, 3, 2, 1, 0}};
    chacha_rng_fill(&r, buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++)
        counts[buf[i]]++;
    unsigned lo = 65536, hi = 0;
    for (int v = 0; v < 256; v++) {
        lo = counts[v] < lo ? counts[v] : lo;
        hi = counts[v] > hi ? counts[v] : hi;
    }
    CHECK(lo > 128 && hi < 512);
}
