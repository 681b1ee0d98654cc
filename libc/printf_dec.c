/*
 * printf_dec.c - the exact decimal value of a double, for printf's %f %e %g
 * (libc_internal.h, struct libc_dec).
 *
 * A finite double is m * 2^e with m < 2^53 and -1074 <= e <= 971. Its
 * decimal expansion is finite and is computed exactly, in integers only
 * (libc is built without SSE): for e >= 0 the integer m * 2^e (up to 309
 * digits); for e < 0, m * 2^e = m * 5^-e / 10^-e, so the digits are those
 * of the integer m * 5^-e (up to 767 digits) with the decimal point -e
 * places from the right. The big integers are arrays of base-10^9 limbs,
 * multiplied by 2^28 or 5^13 at a time. Rounding then works on the exact
 * digits, so every precision is correctly rounded (ties to even, as glibc
 * does in the default rounding mode), up to and including the last
 * nonzero digit of the exact value.
 */
#include <stdint.h>
#include <string.h>

#include "libc_internal.h"

#define LIMB_BASE 1000000000u /* 10^9 */
#define MAX_LIMBS ((LIBC_DEC_DIGITS + 8) / 9 + 1)

struct big {
    uint32_t limb[MAX_LIMBS]; /* least significant first, each < 10^9 */
    int n;
};

/* b = b * mul, where mul <= 2^31: each product (< 10^9 * 2^31 plus a
 * carry) fits in 64 bits. */
static void big_mul_small(struct big *b, uint32_t mul)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->limb[i] * mul + carry;
        b->limb[i] = (uint32_t)(t % LIMB_BASE);
        carry = t / LIMB_BASE;
    }
    while (carry != 0) {
        b->limb[b->n++] = (uint32_t)(carry % LIMB_BASE);
        carry /= LIMB_BASE;
    }
}

/* The decimal digits of b, most significant first, no leading zeros. */
static int big_to_digits(const struct big *b, char *out)
{
    int len = 0;
    for (int i = b->n - 1; i >= 0; i--) {
        char nine[9];
        uint32_t v = b->limb[i];
        for (int k = 8; k >= 0; k--) {
            nine[k] = (char)('0' + v % 10);
            v /= 10;
        }
        int skip = 0;
        if (len == 0) /* the top limb: no leading zeros */
            while (skip < 8 && nine[skip] == '0')
                skip++;
        memcpy(out + len, nine + skip, (size_t)(9 - skip));
        len += 9 - skip;
    }
    return len;
}

void libc_dec_from_double(uint64_t bits, struct libc_dec *x)
{
    unsigned biased = (unsigned)(bits >> 52) & 0x7FF;
    uint64_t m = bits & ((1ull << 52) - 1);
    int e;

    if (biased == 0) {
        e = -1074; /* zero or subnormal */
    } else {
        m |= 1ull << 52;
        e = (int)biased - 1075;
    }
    x->point = 1;
    x->n = 0;
    if (m == 0)
        return; /* zero: no digits */
    while ((m & 1) == 0) { /* fewer multiplications, same value */
        m >>= 1;
        e++;
    }

    struct big b;
    b.n = 0;
    while (m != 0) {
        b.limb[b.n++] = (uint32_t)(m % LIMB_BASE);
        m /= LIMB_BASE;
    }
    int shift = 0; /* decimal places right of the point */
    if (e > 0) {
        for (int left = e; left > 0; left -= 28)
            big_mul_small(&b, 1u << (left < 28 ? left : 28));
    } else if (e < 0) {
        static const uint32_t pow5[14] = {1,       5,        25,        125,       625,
                                          3125,    15625,    78125,     390625,    1953125,
                                          9765625, 48828125, 244140625, 1220703125};
        for (int left = -e; left > 0; left -= 13)
            big_mul_small(&b, pow5[left < 13 ? left : 13]);
        shift = -e;
    }
    x->n = big_to_digits(&b, x->d);
    x->point = x->n - shift;
    while (x->n > 0 && x->d[x->n - 1] == '0')
        x->n--;
}

void libc_dec_round(struct libc_dec *x, int keep)
{
    if (keep >= x->n)
        return; /* exact already */
    if (keep < 0) {
        x->n = 0; /* below half a unit of the last place kept */
        return;
    }
    /* Round half to even: up when the dropped part is above half a unit,
     * or exactly half (one '5' and nothing after it: trailing zeros were
     * stripped) and the last digit kept is odd; nothing kept counts as 0. */
    char first = x->d[keep];
    int odd = keep > 0 && ((x->d[keep - 1] - '0') & 1);
    int up = first > '5' || (first == '5' && (x->n > keep + 1 || odd));
    x->n = keep;
    if (up) {
        int i = keep - 1;
        while (i >= 0 && x->d[i] == '9')
            i--;
        if (i < 0) { /* 999.. became 1000..: one more digit before the point */
            x->d[0] = '1';
            x->n = 1;
            x->point++;
            return;
        }
        x->d[i]++;
        x->n = i + 1;
    }
    while (x->n > 0 && x->d[x->n - 1] == '0')
        x->n--;
}
