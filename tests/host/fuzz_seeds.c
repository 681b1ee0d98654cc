/*
 * fuzz_seeds.c - write seed corpora for the fuzz targets: valid frames of
 * each kind in the record format of fuzz_common.h, so that a short run
 * starts from packets that get deep and mutates from there.
 *
 * Usage: fuzz_seeds DIR  (creates DIR/fuzz_<target>/seed_<n>)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "net_frames.h"

#define OUR_IP  NF_IP(10, 0, 0, 2)
#define PEER_IP NF_IP(10, 0, 0, 9)

static const uint8_t our_mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t peer_mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x99};
static const uint8_t zero_mac[6];

struct seed {
    uint8_t buf[20000];
    size_t len;
};

static void add(struct seed *s, uint8_t flags, const uint8_t *frame, size_t len)
{
    s->buf[s->len] = flags;
    s->buf[s->len + 1] = (uint8_t)(len >> 8);
    s->buf[s->len + 2] = (uint8_t)len;
    memcpy(s->buf + s->len + 3, frame, len);
    s->len += 3 + len;
}

static void mkdir_p(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
}

static void save(const char *dir, const char *target, int n, const struct seed *s)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, target);
    mkdir_p(path);
    snprintf(path, sizeof(path), "%s/%s/seed_%d", dir, target, n);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(s->buf, 1, s->len, f) != s->len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static size_t udp_frame(uint8_t *f, uint16_t dport, size_t payload)
{
    uint8_t data[4000];

    for (size_t i = 0; i < payload; i++)
        data[i] = (uint8_t)i;
    return nf_udp_frame(f, our_mac, peer_mac, PEER_IP, OUR_IP, 5000, dport, data, payload);
}

static size_t ping_frame(uint8_t *f, size_t payload)
{
    uint8_t data[2000];

    memset(data, 0x61, sizeof(data));
    return nf_ping_frame(f, our_mac, peer_mac, PEER_IP, OUR_IP, 1, 1, data, payload);
}

/* Three fragments of a 3000-byte UDP datagram, the middle one last. */
static void add_fragments(struct seed *s, uint8_t proto)
{
    static uint8_t d[3100], f[1600];
    uint8_t data[3000];

    memset(data, 0x5a, sizeof(data));
    size_t n = nf_udp(d, PEER_IP, OUR_IP, 5000, 7, data, sizeof(data));
    const size_t off[3] = {0, 2960, 1480};
    for (int i = 0; i < 3; i++) {
        size_t len = off[i] == 2960 ? n - 2960 : 1480;
        size_t m = nf_eth(f, our_mac, peer_mac, 0x0800);
        m += nf_ip(f + m, PEER_IP, OUR_IP, proto, 33,
                   (uint16_t)((off[i] == 2960 ? 0 : 0x2000) | off[i] / 8), len);
        memcpy(f + m, d + off[i], len);
        add(s, 0, f, m + len);
    }
}

static size_t dhcp_frame(uint8_t *f, uint8_t type)
{
    struct nf_dhcp d = {.op = 2,
                        .xid = 0,
                        .yiaddr = NF_IP(10, 0, 2, 15),
                        .server_ip = NF_IP(10, 0, 2, 2),
                        .msg_type = type,
                        .lease_s = 60,
                        .mask = 0xffffff00u,
                        .router = NF_IP(10, 0, 2, 2),
                        .dns = NF_IP(10, 0, 2, 3)};
    memcpy(d.chaddr, our_mac, 6);
    return nf_dhcp_frame(f, nf_bcast_mac, peer_mac, &d);
}

/* A TCP segment from the peer (port 40000) to port 80; fuzz_tcp fixes the
 * checksum and takes the low 16 bits of seq/ack as offsets. */
static size_t tcp_frame(uint8_t *f, uint8_t flags, uint16_t dseq, size_t payload)
{
    size_t n = nf_eth(f, our_mac, peer_mac, 0x0800);
    n += nf_ip(f + n, PEER_IP, OUR_IP, 6, 1, 0, 20 + payload);
    uint8_t *t = f + n;
    memset(t, 0, 20 + payload);
    nf_put16(t, 40000);
    nf_put16(t + 2, 80);
    nf_put32(t + 4, dseq);
    t[12] = 0x50;
    t[13] = flags;
    nf_put16(t + 14, 8192);
    for (size_t i = 0; i < payload; i++)
        t[20 + i] = (uint8_t)i;
    return n + 20 + payload;
}

int main(int argc, char **argv)
{
    static uint8_t f[8000];
    static struct seed s;
    size_t n;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    mkdir_p(dir);

    /* Raw frames for fuzz_eth: one of each kind. */
    s.len = 0;
    add(&s, 0, f, ping_frame(f, 56));
    add(&s, 0, f, udp_frame(f, 7, 100));
    add(&s, 0, f, nf_arp_frame(f, nf_bcast_mac, 1, peer_mac, PEER_IP, zero_mac, OUR_IP));
    save(dir, "fuzz_eth", 0, &s);
    s.len = 0;
    add_fragments(&s, 17);
    save(dir, "fuzz_eth", 1, &s);

    s.len = 0;
    add(&s, 0, f, nf_arp_frame(f, nf_bcast_mac, 1, peer_mac, PEER_IP, zero_mac, OUR_IP));
    add(&s, 0x10, f, nf_arp_frame(f, our_mac, 2, peer_mac, PEER_IP + 1, our_mac, OUR_IP));
    save(dir, "fuzz_arp", 0, &s);

    s.len = 0;
    add_fragments(&s, 17);
    save(dir, "fuzz_ip4", 0, &s);
    s.len = 0;
    add(&s, 0, f, udp_frame(f, 7, 20));
    add(&s, 4, f, ping_frame(f, 20));
    save(dir, "fuzz_ip4", 1, &s);

    s.len = 0;
    add(&s, 0, f, ping_frame(f, 56));
    add(&s, 0, f, ping_frame(f, 0));
    save(dir, "fuzz_icmp", 0, &s);

    s.len = 0;
    add(&s, 0, f, udp_frame(f, 7, 64));
    add(&s, 8, f, udp_frame(f, 7, 1));
    save(dir, "fuzz_udp", 0, &s);

    s.len = 0;
    n = dhcp_frame(f, 2);
    add(&s, 0, f, n);
    n = dhcp_frame(f, 5);
    add(&s, 0, f, n);
    add(&s, 0xf0, f, 0); /* time passes: T1 */
    n = dhcp_frame(f, 5);
    add(&s, 0xf0, f, n);
    save(dir, "fuzz_dhcp", 0, &s);
    s.len = 0;
    n = dhcp_frame(f, 2);
    add(&s, 0, f, n);
    n = dhcp_frame(f, 6);
    add(&s, 0, f, n);
    save(dir, "fuzz_dhcp", 1, &s);

    s.len = 0;
    add(&s, 0, f, tcp_frame(f, 0x18, 0, 100));
    add(&s, 0, f, tcp_frame(f, 0x18, 300, 100));
    add(&s, 8, f, tcp_frame(f, 0x18, 100, 200));
    add(&s, 0, f, tcp_frame(f, 0x11, 400, 0));
    add(&s, 0x40, f, tcp_frame(f, 0x04, 401, 0));
    save(dir, "fuzz_tcp", 0, &s);

    s.len = 0;
    const char *cfg = "ip=10.0.0.2/24 gw=10.0.0.1 dns=10.0.0.3 mtu=1500 console=ttyS0";
    memcpy(s.buf, cfg, strlen(cfg));
    s.len = strlen(cfg);
    save(dir, "fuzz_config", 0, &s);
    return 0;
}
