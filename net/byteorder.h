/*
 * net/byteorder.h - reading and writing network (big-endian) fields.
 *
 * Packet fields are read and written byte by byte through these helpers, so
 * they work at any alignment and on any host byte order, and no parser ever
 * casts a packet pointer to a struct. Addresses and ports are kept in host
 * order everywhere inside net/; only these helpers touch wire order.
 */
#ifndef ZEBU_NET_BYTEORDER_H
#define ZEBU_NET_BYTEORDER_H

#include <stdint.h>

static inline uint16_t net_get_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t net_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void net_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void net_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Value conversions, for the rare caller that holds a wire-order integer. */
static inline uint16_t net_bswap16(uint16_t v)
{
    return (uint16_t)(v << 8 | v >> 8);
}

static inline uint32_t net_bswap32(uint32_t v)
{
    return v << 24 | (v & 0xff00u) << 8 | (v >> 8 & 0xff00u) | v >> 24;
}

#endif /* ZEBU_NET_BYTEORDER_H */
