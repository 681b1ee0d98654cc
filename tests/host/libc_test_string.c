/*
 * libc_test_string.c - string.h against glibc and against hand-written
 * references.
 *
 * The sweeps cover every alignment of source and destination (offsets
 * 0..15 from a 16-aligned malloc block) with lengths 0..100, so each
 * word-at-a-time path meets every head/tail split. Buffers are sized
 * exactly where possible so AddressSanitizer flags any byte read or
 * written out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner.h"
#include "zt_libc.h"

#define MAX_OFF 16
#define MAX_LEN 100

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

/* Deterministic, non-repeating-looking fill so shifted copies differ. */
static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 3) * 13 + 1);
}

TEST(string_memcpy_alignment_sweep)
{
    for (size_t doff = 0; doff < MAX_OFF; doff++) {
        for (size_t soff = 0; soff < MAX_OFF; soff++) {
            for (size_t len = 0; len <= MAX_LEN; len++) {
                unsigned char *src = malloc(soff + len + 1);
                unsigned char *dst = malloc(doff + len + 1); /* +1: malloc(0) */
                unsigned char *expect = malloc(doff + len + 1);
                fill_pattern(src, soff + len, 1);
                fill_pattern(dst, doff + len, 2);
                memcpy(expect, dst, doff + len);
                memcpy(expect + doff, src + soff, len);

                void *ret = zt_memcpy(dst + doff, src + soff, len);
                CHECK_AT(__FILE__, __LINE__,
                         ret == dst + doff && memcmp(dst, expect, doff + len) == 0,
                         "memcpy dst+%zu src+%zu len %zu", doff, soff, len);
                free(src);
                free(dst);
                free(expect);
            }
        }
    }
}

TEST(string_memset_alignment_sweep)
{
    static const int values[] = {0, 0xa5, 0xff, 0x1ab /* stores 0xab */, -1};

    for (size_t off = 0; off < MAX_OFF; off++) {
        for (size_t len = 0; len <= MAX_LEN; len++) {
            for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
                /* Guard bytes on both sides, checked by hand. */
                unsigned char *buf = malloc(off + len + 8);
                unsigned char *expect = malloc(off + len + 8);
                fill_pattern(buf, off + len + 8, 3);
                memcpy(expect, buf, off + len + 8);
                memset(expect + off, values[v], len);

                void *ret = zt_memset(buf + off, values[v], len);
                CHECK_AT(__FILE__, __LINE__,
                         ret == buf + off && memcmp(buf, expect, off + len + 8) == 0,
                         "memset off %zu len %zu value %#x", off, len, values[v]);
                free(buf);
                free(expect);
            }
        }
    }
}

TEST(string_memmove_overlap)
{
    /* All placements of two ranges inside one 96-byte buffer, overlapping
     * in both directions or not at all, compared with glibc's memmove. */
    enum { SIZE = 96 };
    unsigned char buf[SIZE], expect[SIZE];

    for (size_t src = 0; src < 32; src++) {
        for (size_t dst = 0; dst < 32; dst++) {
            for (size_t len = 0; len <= 64; len++) {
                fill_pattern(buf, SIZE, (unsigned)(src + dst));
                memcpy(expect, buf, SIZE);
                memmove(expect + dst, expect + src, len);
                void *ret = zt_memmove(buf + dst, buf + src, len);
                CHECK_AT(__FILE__, __LINE__, ret == buf + dst && memcmp(buf, expect, SIZE) == 0,
                         "memmove dst %zu src %zu len %zu", dst, src, len);
            }
        }
    }
    /* Long overlapping moves exercise the word loops in both directions. */
    enum { BIG = 4096 };
    unsigned char *a = malloc(BIG), *b = malloc(BIG);
    for (size_t shift = 1; shift <= 17; shift += 4) {
        fill_pattern(a, BIG, 9);
        memcpy(b, a, BIG);
        zt_memmove(a + shift, a, BIG - shift);
        memmove(b + shift, b, BIG - shift);
        CHECK(memcmp(a, b, BIG) == 0);
        zt_memmove(a, a + shift, BIG - shift);
        memmove(b, b + shift, BIG - shift);
        CHECK(memcmp(a, b, BIG) == 0);
    }
    free(a);
    free(b);
}

TEST(string_memcmp_alignment_sweep)
{
    for (size_t aoff = 0; aoff < MAX_OFF; aoff++) {
        for (size_t boff = 0; boff < MAX_OFF; boff += 3) {
            for (size_t len = 0; len <= MAX_LEN; len++) {
                unsigned char *a = malloc(aoff + len + 1);
                unsigned char *b = malloc(boff + len + 1);
                fill_pattern(a + aoff, len, 4);
                fill_pattern(b + boff, len, 4);
                CHECK_INT_EQ(zt_memcmp(a + aoff, b + boff, len), 0);
                /* A difference first, in the middle, last; each direction.
                 * 0x80 vs 0x7f checks bytes compare as unsigned. */
                size_t where[] = {0, len / 2, len - 1};
                for (size_t w = 0; w < 3 && len > 0; w++) {
                    unsigned char saved = b[boff + where[w]];
                    a[aoff + where[w]] = 0x80;
                    b[boff + where[w]] = 0x7f;
                    int ours = zt_memcmp(a + aoff, b + boff, len);
                    int ref = memcmp(a + aoff, b + boff, len);
                    int back = zt_memcmp(b + boff, a + aoff, len);
                    CHECK_AT(__FILE__, __LINE__, sign(ours) == sign(ref) && ours > 0 && back < 0,
                             "memcmp a+%zu b+%zu len %zu diff at %zu: %d vs %d", aoff, boff, len,
                             where[w], ours, ref);
                    a[aoff + where[w]] = b[boff + where[w]] = saved;
                }
                free(a);
                free(b);
            }
        }
    }
}

TEST(string_memchr_alignment_sweep)
{
    for (size_t off = 0; off < MAX_OFF; off++) {
        for (size_t len = 0; len <= MAX_LEN; len++) {
            /* One spare byte after the range holds the target: must not be
             * found, as it is beyond n. */
            unsigned char *buf = malloc(off + len + 1);
            memset(buf, 'a', off + len);
            buf[off + len] = 'x';
            unsigned char *s = buf + off;
            CHECK_PTR_EQ(zt_memchr(s, 'x', len), NULL);
            for (size_t pos = 0; pos < len; pos += (len > 10 ? len / 5 : 1)) {
                s[pos] = 'x';
                CHECK_PTR_EQ(zt_memchr(s, 'x', len), s + pos);
                CHECK_PTR_EQ(zt_memchr(s, 'x' + 256, len), s + pos); /* c is taken as a byte */
                s[pos] = 'a';
            }
            if (len > 0) {
                s[len - 1] = 0xff;
                CHECK_PTR_EQ(zt_memchr(s, -1, len), s + len - 1);
            }
            free(buf);
        }
    }
}

TEST(string_zero_length_touches_nothing)
{
    /* With n == 0 nothing may be dereferenced: NULL would crash. */
    CHECK_PTR_EQ(zt_memcpy(NULL, NULL, 0), NULL);
    CHECK_PTR_EQ(zt_memmove(NULL, NULL, 0), NULL);
    CHECK_PTR_EQ(zt_memset(NULL, 'x', 0), NULL);
    CHECK_INT_EQ(zt_memcmp(NULL, NULL, 0), 0);
    CHECK_PTR_EQ(zt_memchr(NULL, 'x', 0), NULL);
    CHECK_INT_EQ(zt_strncmp(NULL, NULL, 0), 0);
    CHECK_INT_EQ(zt_strncasecmp(NULL, NULL, 0), 0);
    CHECK_PTR_EQ(zt_strncpy(NULL, NULL, 0), NULL);
    CHECK_UINT_EQ(zt_strnlen(NULL, 0), 0);

    /* And on real buffers the contents stay as they were. */
    char buf[8] = "abcdefg";
    zt_memcpy(buf, "XYZ", 0);
    zt_memmove(buf + 1, buf, 0);
    zt_memset(buf, 0, 0);
    zt_strncpy(buf, "XYZ", 0);
    zt_strncat(buf, "XYZ", 0);
    CHECK_STR_EQ(buf, "abcdefg");
    CHECK_INT_EQ(zt_memcmp("a", "b", 0), 0);
    CHECK_INT_EQ(zt_strncmp("a", "b", 0), 0);
}

TEST(string_strlen_strnlen)
{
    for (size_t off = 0; off < MAX_OFF; off++) {
        for (size_t len = 0; len <= MAX_LEN; len++) {
            char *buf = malloc(off + len + 1);
            memset(buf, 'z', off + len);
            buf[off + len] = '\0';
            CHECK_UINT_EQ(zt_strlen(buf + off), len);
            CHECK_UINT_EQ(zt_strnlen(buf + off, len + 5), len);
            CHECK_UINT_EQ(zt_strnlen(buf + off, len), len);
            CHECK_UINT_EQ(zt_strnlen(buf + off, len / 2), len / 2);
            free(buf);
        }
    }
    /* strnlen stops at maxlen even without a terminator. */
    char *raw = malloc(4);
    memcpy(raw, "abcd", 4);
    CHECK_UINT_EQ(zt_strnlen(raw, 4), 4);
    free(raw);
}

static const char *const compare_strings[] = {
    "",     "a",    "b",    "A",    "B",     "ab",    "abc",         "abd",   "ABC",         "aBc",
    "abcd", "\x7f", "\x80", "\xff", "a\x80", "a\x7f", "hello world", "hello", "Hello World", "zzz",
    "[",    "`",    "@",    "{",
};
#define NSTRINGS (sizeof(compare_strings) / sizeof(compare_strings[0]))

TEST(string_comparisons_vs_glibc)
{
    for (size_t i = 0; i < NSTRINGS; i++) {
        for (size_t j = 0; j < NSTRINGS; j++) {
            const char *a = compare_strings[i], *b = compare_strings[j];
            CHECK_AT(__FILE__, __LINE__, sign(zt_strcmp(a, b)) == sign(strcmp(a, b)),
                     "strcmp(\"%s\", \"%s\")", a, b);
            CHECK_AT(__FILE__, __LINE__, sign(zt_strcasecmp(a, b)) == sign(strcasecmp(a, b)),
                     "strcasecmp(\"%s\", \"%s\")", a, b);
            for (size_t n = 0; n <= 12; n++) {
                CHECK_AT(__FILE__, __LINE__, sign(zt_strncmp(a, b, n)) == sign(strncmp(a, b, n)),
                         "strncmp(\"%s\", \"%s\", %zu)", a, b, n);
                CHECK_AT(__FILE__, __LINE__,
                         sign(zt_strncasecmp(a, b, n)) == sign(strncasecmp(a, b, n)),
                         "strncasecmp(\"%s\", \"%s\", %zu)", a, b, n);
            }
        }
    }
    CHECK_INT_EQ(zt_strncmp("abc", "abd", SIZE_MAX), -1); /* n larger than both */
}

TEST(string_search_chr_spn)
{
    static const int chars[] = {'a', 'l', 'o', 'z', '\0', 'l' + 256, 0xe9, -23 /* also 0xe9 */};
    static const char *const sets[] = {"", "a", "lo", "abc", "hel", "\xe9", "xyz", " "};

    for (size_t i = 0; i < NSTRINGS + 1; i++) {
        const char *s = i < NSTRINGS ? compare_strings[i] : "caf\xe9 hello \xe9";
        for (size_t c = 0; c < sizeof(chars) / sizeof(chars[0]); c++) {
            CHECK_PTR_EQ(zt_strchr(s, chars[c]), strchr(s, chars[c]));
            CHECK_PTR_EQ(zt_strrchr(s, chars[c]), strrchr(s, chars[c]));
        }
        for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
            CHECK_UINT_EQ(zt_strspn(s, sets[k]), strspn(s, sets[k]));
            CHECK_UINT_EQ(zt_strcspn(s, sets[k]), strcspn(s, sets[k]));
        }
    }
}

TEST(string_strstr_edges)
{
    static const char *const hay[] = {"", "a", "aaab", "abababc", "hello world", "abc", "xabcabd"};
    static const char *const needles[] = {
        "", "a", "aab", "ababc", "world", "abcd", "abd", "hello world!", "b", "xabcabd", "o w"};

    for (size_t h = 0; h < sizeof(hay) / sizeof(hay[0]); h++) {
        for (size_t n = 0; n < sizeof(needles) / sizeof(needles[0]); n++) {
            CHECK_AT(__FILE__, __LINE__,
                     zt_strstr(hay[h], needles[n]) == strstr(hay[h], needles[n]),
                     "strstr(\"%s\", \"%s\")", hay[h], needles[n]);
        }
    }
}

TEST(string_copy_and_concat_vs_glibc)
{
    static const char *const srcs[] = {"", "x", "hello", "a longer source string"};

    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        char ours[64], ref[64];
        const char *src = srcs[i];

        memset(ours, '#', sizeof(ours));
        memset(ref, '#', sizeof(ref));
        CHECK_PTR_EQ(zt_strcpy(ours, src), ours);
        strcpy(ref, src);
        CHECK(memcmp(ours, ref, sizeof(ours)) == 0);

        /* strncpy: n below, at and above the length; zero padding after. */
        for (size_t n = 0; n <= 30; n++) {
            memset(ours, '#', sizeof(ours));
            memset(ref, '#', sizeof(ref));
            CHECK_PTR_EQ(zt_strncpy(ours, src, n), ours);
            strncpy(ref, src, n);
            CHECK_AT(__FILE__, __LINE__, memcmp(ours, ref, sizeof(ours)) == 0,
                     "strncpy(\"%s\", %zu)", src, n);
        }

        for (size_t n = 0; n <= 30; n++) {
            strcpy(ours, "pre-");
            strcpy(ref, "pre-");
            memset(ours + 5, '#', sizeof(ours) - 5);
            memset(ref + 5, '#', sizeof(ref) - 5);
            CHECK_PTR_EQ(zt_strncat(ours, src, n), ours);
            strncat(ref, src, n);
            CHECK_AT(__FILE__, __LINE__, memcmp(ours, ref, sizeof(ours)) == 0,
                     "strncat(\"%s\", %zu)", src, n);
        }

        strcpy(ours, "pre-");
        strcpy(ref, "pre-");
        CHECK_PTR_EQ(zt_strcat(ours, src), ours);
        strcat(ref, src);
        CHECK_STR_EQ(ours, ref);
    }
}

/* Independent reference: what BSD documents strlcpy/strlcat to do. */
static size_t ref_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);

    if (size != 0) {
        size_t n = len >= size ? size - 1 : len;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

static size_t ref_strlcat(char *dst, const char *src, size_t size)
{
    size_t dlen = 0;

    while (dlen < size && dst[dlen] != '\0')
        dlen++;
    if (dlen == size)
        return size + strlen(src);
    return dlen + ref_strlcpy(dst + dlen, src, size - dlen);
}

TEST(string_strlcpy_strlcat_truncation)
{
    static const char *const srcs[] = {"", "a", "hello", "sixteen chars!!!"};
    static const char *const dsts[] = {"", "ab", "abcdefgh"};

    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        for (size_t size = 0; size <= 20; size++) {
            char ours[32], ref[32];
            memset(ours, '#', sizeof(ours));
            memset(ref, '#', sizeof(ref));
            size_t r1 = zt_strlcpy(ours, srcs[i], size);
            size_t r2 = ref_strlcpy(ref, srcs[i], size);
            CHECK_AT(__FILE__, __LINE__, r1 == r2 && memcmp(ours, ref, sizeof(ours)) == 0,
                     "strlcpy(\"%s\", %zu) returned %zu, expected %zu", srcs[i], size, r1, r2);

            for (size_t d = 0; d < sizeof(dsts) / sizeof(dsts[0]); d++) {
                memset(ours, '#', sizeof(ours));
                memset(ref, '#', sizeof(ref));
                strcpy(ours, dsts[d]);
                strcpy(ref, dsts[d]);
                r1 = zt_strlcat(ours, srcs[i], size);
                r2 = ref_strlcat(ref, srcs[i], size);
                CHECK_AT(__FILE__, __LINE__, r1 == r2 && memcmp(ours, ref, sizeof(ours)) == 0,
                         "strlcat(\"%s\", \"%s\", %zu) returned %zu, expected %zu", dsts[d],
                         srcs[i], size, r1, r2);
            }
        }
    }

    /* The documented truncation idiom. */
    char small[6];
    CHECK(zt_strlcpy(small, "truncated", sizeof(small)) >= sizeof(small));
    CHECK_STR_EQ(small, "trunc");
    CHECK(zt_strlcat(small, "more", sizeof(small)) >= sizeof(small));
    CHECK_STR_EQ(small, "trunc");
    /* strlcat on an unterminated destination writes nothing. */
    char raw[4] = {'w', 'x', 'y', 'z'};
    CHECK_UINT_EQ(zt_strlcat(raw, "abc", sizeof(raw)), 7);
    CHECK(memcmp(raw, "wxyz", 4) == 0);
}
