/*
 * net/checksum.h - the Internet checksum (RFC 1071) over flat memory and
 * over netbuf chains.
 *
 * Partial sums are uint32_t values kept folded to 16 bits between calls;
 * start with 0, add pieces, then complement the fold to get the field
 * value. A packet verifies when the sum over it (checksum field included,
 * plus any pseudo-header) folds to 0xffff.
 */
#ifndef ZEBU_NET_CHECKSUM_H
#define ZEBU_NET_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

struct netbuf;

/* Fold a partial sum to 16 bits (not complemented). */
static inline uint16_t net_csum_fold(uint32_t sum)
{
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)sum;
}

/* Add len bytes at data, taken as big-endian 16-bit words starting at an
 * even offset of the summed message (an odd tail byte is padded with 0). */
uint32_t net_csum_add(uint32_t sum, const void *data, size_t len);

/* Add bytes [off, off + len) of the chain at nb; len may be SIZE_MAX for
 * "to the end". Segments of odd length are handled. Borrows nb. */
uint32_t net_csum_chain(const struct netbuf *nb, size_t off, size_t len, uint32_t sum);

/* The IPv4 pseudo-header (RFC 768, RFC 793): addresses in host order. */
uint32_t net_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len);

/* The value to store in a checksum field for a message summing to sum. */
static inline uint16_t net_csum_value(uint32_t sum)
{
    return (uint16_t)~net_csum_fold(sum);
}

/* RFC 1624 eqn. 3: update a stored checksum when one 16-bit word of the
 * message changes from old_word to new_word. */
uint16_t net_csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word);

#endif /* ZEBU_NET_CHECKSUM_H */
