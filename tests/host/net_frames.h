/*
 * net_frames.h - build Ethernet frames for tests, independently of net/.
 *
 * These helpers have their own checksum and byte-order code on purpose: a
 * test that built frames with net/'s helpers would agree with a bug in
 * them. Addresses and ports are host order. Every builder writes at p and
 * returns the bytes written; the caller provides room (NF_MAX_FRAME).
 */
#ifndef ZEBU_TESTS_HOST_NET_FRAMES_H
#define ZEBU_TESTS_HOST_NET_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define NF_MAX_FRAME 70000

#define NF_IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

extern const uint8_t nf_bcast_mac[6];

void nf_put16(uint8_t *p, uint16_t v);
void nf_put32(uint8_t *p, uint32_t v);
uint16_t nf_get16(const uint8_t *p);
uint32_t nf_get32(const uint8_t *p);

/* RFC 1071 sum of [p, p + len) added to sum (unfolded 32-bit running sum). */
uint32_t nf_sum(const void *p, size_t len, uint32_t sum);
uint16_t nf_fold(uint32_t sum); /* ~folded: the field value */

size_t nf_eth(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type);

/* 20-byte IPv4 header, checksum filled in. frag = flags | offset/8. */
size_t nf_ip(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id, uint16_t frag,
             size_t payload_len);

/* UDP header + payload with a correct checksum. */
size_t nf_udp(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
              const void *payload, size_t len);

/* ICMP echo (type 8 request / 0 reply) with checksum. */
size_t nf_icmp_echo(uint8_t *p, uint8_t type, uint16_t id, uint16_t seq, const void *payload,
                    size_t len);

size_t nf_arp(uint8_t *p, uint16_t op, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
              uint32_t tpa);

/* Whole frames. */
size_t nf_udp_frame(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6], uint32_t src,
                    uint32_t dst, uint16_t sport, uint16_t dport, const void *payload, size_t len);
size_t nf_ping_frame(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6], uint32_t src,
                     uint32_t dst, uint16_t id, uint16_t seq, const void *payload, size_t len);
size_t nf_arp_frame(uint8_t *f, const uint8_t dst_mac[6], uint16_t op, const uint8_t sha[6],
                    uint32_t spa, const uint8_t tha[6], uint32_t tpa);

/* Recompute the IPv4 header checksum of the frame at f (after a test edits
 * the header on purpose). */
void nf_fix_ip_csum(uint8_t *f);

/* A DHCP reply from a scripted server. */
struct nf_dhcp {
    uint8_t op; /* 2 = BOOTREPLY */
    uint32_t xid;
    uint8_t chaddr[6];
    uint32_t yiaddr;
    uint32_t server_ip;           /* IP source and, unless no_server_id, option 54 */
    uint8_t msg_type;             /* option 53; 0 = leave out */
    uint32_t lease_s, t1_s, t2_s; /* 0 = leave out */
    uint32_t mask, router, dns;   /* 0 = leave out */
    int no_server_id;
    int bad_cookie;
    const uint8_t *extra_opts; /* raw bytes appended before the end option */
    size_t extra_len;
    int no_end;         /* leave out the end option */
    size_t truncate_to; /* cut the DHCP message to this length (0: no) */
};
/* A UDP/IP/Ethernet frame from server_ip:67 to 255.255.255.255:68. */
size_t nf_dhcp_frame(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6],
                     const struct nf_dhcp *d);

#endif /* ZEBU_TESTS_HOST_NET_FRAMES_H */
