/*
 * net_frames.c - frame builders for the net/ tests (see net_frames.h).
 */
#include "net_frames.h"

#include <string.h>

const uint8_t nf_bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void nf_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void nf_put32(uint8_t *p, uint32_t v)
{
    nf_put16(p, (uint16_t)(v >> 16));
    nf_put16(p + 2, (uint16_t)v);
}

uint16_t nf_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t nf_get32(const uint8_t *p)
{
    return (uint32_t)nf_get16(p) << 16 | nf_get16(p + 2);
}

uint32_t nf_sum(const void *p, size_t len, uint32_t sum)
{
    const uint8_t *b = p;

    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (len & 1)
        sum += (uint32_t)b[len - 1] << 8;
    return sum;
}

uint16_t nf_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

size_t nf_eth(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    memcpy(p, dst, 6);
    memcpy(p + 6, src, 6);
    nf_put16(p + 12, type);
    return 14;
}

size_t nf_ip(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id, uint16_t frag,
             size_t payload_len)
{
    p[0] = 0x45;
    p[1] = 0;
    nf_put16(p + 2, (uint16_t)(20 + payload_len));
    nf_put16(p + 4, id);
    nf_put16(p + 6, frag);
    p[8] = 64;
    p[9] = proto;
    nf_put16(p + 10, 0);
    nf_put32(p + 12, src);
    nf_put32(p + 16, dst);
    nf_put16(p + 10, nf_fold(nf_sum(p, 20, 0)));
    return 20;
}

size_t nf_udp(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
              const void *payload, size_t len)
{
    uint8_t pseudo[12];

    nf_put16(p, sport);
    nf_put16(p + 2, dport);
    nf_put16(p + 4, (uint16_t)(8 + len));
    nf_put16(p + 6, 0);
    if (len > 0)
        memcpy(p + 8, payload, len);
    nf_put32(pseudo, src);
    nf_put32(pseudo + 4, dst);
    pseudo[8] = 0;
    pseudo[9] = 17;
    nf_put16(pseudo + 10, (uint16_t)(8 + len));
    uint16_t c = nf_fold(nf_sum(p, 8 + len, nf_sum(pseudo, 12, 0)));
    nf_put16(p + 6, c == 0 ? 0xffff : c);
    return 8 + len;
}

size_t nf_icmp_echo(uint8_t *p, uint8_t type, uint16_t id, uint16_t seq, const void *payload,
                    size_t len)
{
    p[0] = type;
    p[1] = 0;
    nf_put16(p + 2, 0);
    nf_put16(p + 4, id);
    nf_put16(p + 6, seq);
    if (len > 0)
        memcpy(p + 8, payload, len);
    nf_put16(p + 2, nf_fold(nf_sum(p, 8 + len, 0)));
    return 8 + len;
}

size_t nf_arp(uint8_t *p, uint16_t op, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
              uint32_t tpa)
{
    nf_put16(p, 1);
    nf_put16(p + 2, 0x0800);
    p[4] = 6;
    p[5] = 4;
    nf_put16(p + 6, op);
    memcpy(p + 8, sha, 6);
    nf_put32(p + 14, spa);
    memcpy(p + 18, tha, 6);
    nf_put32(p + 24, tpa);
    return 28;
}

size_t nf_udp_frame(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6], uint32_t src,
                    uint32_t dst, uint16_t sport, uint16_t dport, const void *payload, size_t len)
{
    size_t n = nf_eth(f, dst_mac, src_mac, 0x0800);
    n += nf_ip(f + n, src, dst, 17, 1, 0, 8 + len);
    return n + nf_udp(f + n, src, dst, sport, dport, payload, len);
}

size_t nf_ping_frame(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6], uint32_t src,
                     uint32_t dst, uint16_t id, uint16_t seq, const void *payload, size_t len)
{
    size_t n = nf_eth(f, dst_mac, src_mac, 0x0800);
    n += nf_ip(f + n, src, dst, 1, seq, 0, 8 + len);
    return n + nf_icmp_echo(f + n, 8, id, seq, payload, len);
}

size_t nf_arp_frame(uint8_t *f, const uint8_t dst_mac[6], uint16_t op, const uint8_t sha[6],
                    uint32_t spa, const uint8_t tha[6], uint32_t tpa)
{
    size_t n = nf_eth(f, dst_mac, sha, 0x0806);
    return n + nf_arp(f + n, op, sha, spa, tha, tpa);
}

void nf_fix_ip_csum(uint8_t *f)
{
    uint8_t *ip = f + 14;
    size_t hlen = (size_t)(ip[0] & 0xf) * 4;

    nf_put16(ip + 10, 0);
    nf_put16(ip + 10, nf_fold(nf_sum(ip, hlen, 0)));
}

static uint8_t *opt32(uint8_t *o, uint8_t code, uint32_t v)
{
    o[0] = code;
    o[1] = 4;
    nf_put32(o + 2, v);
    return o + 6;
}

size_t nf_dhcp_frame(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6],
                     const struct nf_dhcp *d)
{
    uint8_t msg[600];

    memset(msg, 0, sizeof(msg));
    msg[0] = d->op;
    msg[1] = 1;
    msg[2] = 6;
    nf_put32(msg + 4, d->xid);
    nf_put32(msg + 16, d->yiaddr);
    nf_put32(msg + 20, d->server_ip);
    memcpy(msg + 28, d->chaddr, 6);
    nf_put32(msg + 236, d->bad_cookie ? 0x63825364u : 0x63825363u);
    uint8_t *o = msg + 240;
    if (d->msg_type != 0) {
        *o++ = 53;
        *o++ = 1;
        *o++ = d->msg_type;
    }
    if (!d->no_server_id)
        o = opt32(o, 54, d->server_ip);
    if (d->lease_s != 0)
        o = opt32(o, 51, d->lease_s);
    if (d->t1_s != 0)
        o = opt32(o, 58, d->t1_s);
    if (d->t2_s != 0)
        o = opt32(o, 59, d->t2_s);
    if (d->mask != 0)
        o = opt32(o, 1, d->mask);
    if (d->router != 0)
        o = opt32(o, 3, d->router);
    if (d->dns != 0)
        o = opt32(o, 6, d->dns);
    if (d->extra_len > 0)
        memcpy(o, d->extra_opts, d->extra_len);
    o += d->extra_len;
    if (!d->no_end)
        *o++ = 255;
    size_t len = (size_t)(o - msg);
    if (len < 300 && !d->no_end)
        len = 300; /* padded with zeros (pad options) like real servers */
    if (d->truncate_to != 0 && d->truncate_to < len)
        len = d->truncate_to;
    return nf_udp_frame(f, dst_mac, src_mac, d->server_ip, 0xffffffffu, 67, 68, msg, len);
}
