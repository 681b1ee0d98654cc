/*
 * net/checksum.c - the Internet checksum (RFC 1071, RFC 1624).
 *
 * The sum is computed wherever the device does not offer checksum offload
 * (QEMU's user networking, the fault relay, csum=off), so it is the largest
 * single cost of a software-checksummed transfer: it adds the data as
 * native-order 32-bit words into a 64-bit accumulator, four at a time, and
 * turns the 16-bit result into network order at the end. RFC 1071 2(B): the
 * ones' complement sum does not depend on byte order, only the result's
 * bytes swap; 2(C): carries can be deferred and folded once.
 */
#include "net/checksum.h"

#include <string.h>

#include "net/byteorder.h"
#include "net/netbuf.h"

static uint32_t fold64(uint64_t acc)
{
    acc = (acc & 0xffffffffu) + (acc >> 32); /* at most 33 bits */
    acc = (acc & 0xffffffffu) + (acc >> 32);
    while (acc >> 16)
        acc = (acc & 0xffffu) + (acc >> 16);
    return (uint32_t)acc;
}

static uint32_t load32(const uint8_t *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof(w)); /* any alignment; one load on x86-64 */
    return w;
}

/* The ones' complement sum of data read as native-order 16-bit words (a
 * trailing byte padded with zero, RFC 1071), folded to 16 bits. */
static uint32_t sum_native(const uint8_t *p, size_t len)
{
    uint64_t a = 0, b = 0;
    for (; len >= 16; p += 16, len -= 16) {
        a += (uint64_t)load32(p) + load32(p + 4);
        b += (uint64_t)load32(p + 8) + load32(p + 12);
    }
    for (; len >= 4; p += 4, len -= 4)
        a += load32(p);
    if (len >= 2) {
        uint16_t h;
        memcpy(&h, p, sizeof(h));
        a += h;
        p += 2;
        len -= 2;
    }
    if (len == 1) { /* the byte at the lower address is the word's first */
        uint16_t h = 0;
        memcpy(&h, p, 1);
        a += h;
    }
    /* Each accumulator takes len/16 additions of < 2^33: under 2^61 for
     * any len below 4 GiB, so no carry is lost. */
    return fold64((uint64_t)fold64(a) + fold64(b));
}

uint32_t net_csum_add(uint32_t sum, const void *data, size_t len)
{
    uint32_t s = sum_native(data, len);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s = (uint32_t)((s & 0xffu) << 8 | s >> 8); /* native words -> network order */
#endif
    return fold64((uint64_t)s + sum);
}

uint32_t net_csum_chain(const struct netbuf *nb, size_t off, size_t len, uint32_t sum)
{
    int odd = 0; /* the next byte summed sits at an odd message offset */

    for (; nb != NULL && len > 0; nb = nb->next) {
        if (off >= nb->len) {
            off -= nb->len;
            continue;
        }
        size_t n = nb->len - off;
        if (n > len)
            n = len;
        uint32_t part = net_csum_add(0, nb->data + off, n);
        /* A piece starting at an odd offset adds byte-swapped (RFC 1071
         * 2(B): the sum is independent of byte order). */
        if (odd)
            part = (uint32_t)((part & 0xffu) << 8 | part >> 8);
        sum = net_csum_fold(sum + part);
        odd ^= (int)(n & 1);
        len -= n;
        off = 0;
    }
    return sum;
}

uint32_t net_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len)
{
    uint32_t sum = (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu);

    sum += proto;
    sum += l4_len;
    return net_csum_fold(sum);
}

uint16_t net_csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word)
{
    uint32_t sum = (uint16_t)~csum;

    sum += (uint16_t)~old_word;
    sum += new_word;
    return (uint16_t)~net_csum_fold(sum);
}
