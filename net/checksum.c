/*
 * net/checksum.c - the Internet checksum (RFC 1071, RFC 1624).
 *
 * Plain byte-pair loops: the sum is only computed where the device does not
 * offer checksum offload, and clarity beats speed here.
 */
#include "net/checksum.h"

#include "net/byteorder.h"
#include "net/netbuf.h"

uint32_t net_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t acc = sum;

    while (len >= 2) {
        acc += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len == 1)
        acc += (uint32_t)p[0] << 8;
    while (acc >> 16)
        acc = (acc & 0xffffu) + (acc >> 16);
    return (uint32_t)acc;
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
