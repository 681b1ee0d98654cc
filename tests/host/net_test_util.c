/*
 * net_test_util.c - shared helpers for the net/ unit tests.
 */
#include <stdlib.h>
#include <string.h>

#include "net_test.h"

struct fake_frame *nt_pop(struct fake_host *h, const char *file, int line)
{
    struct fake_frame *f = fake_dev_pop(&h->dev);

    CHECK_AT(file, line, f != NULL, "expected a transmitted frame, none");
    return f;
}

void nt_host(struct fake_host *h, uint32_t features)
{
    fake_host_init(h, 1, fake_mac_a, OUR_IP, MASK24, GW_IP, features);
    struct fake_frame *f = NT_POP(h);
    if (f == NULL)
        return;
    /* Gratuitous ARP: broadcast request, sender = target = our address. */
    CHECK(f->len == 42 && memcmp(f->data, nf_bcast_mac, 6) == 0);
    CHECK_UINT_EQ(nf_get16(f->data + 12), 0x0806);
    CHECK_UINT_EQ(nf_get16(f->data + 20), 1);
    CHECK_UINT_EQ(nf_get32(f->data + 28), OUR_IP);
    CHECK_UINT_EQ(nf_get32(f->data + 38), OUR_IP);
    free(f);
}

void nt_learn_peer(struct fake_host *h)
{
    uint8_t f[64];
    static const uint8_t zero[6];
    size_t n = nf_arp_frame(f, nf_bcast_mac, 1, fake_mac_peer, PEER_IP, zero, OUR_IP);

    fake_host_rx(h, f, n);
    struct fake_frame *reply = NT_POP(h);
    free(reply);
}

int nt_ip_csum_ok(const uint8_t *frame, size_t len)
{
    if (len < 34)
        return 0;
    size_t hlen = (size_t)(frame[14] & 0xf) * 4;
    return nf_fold(nf_sum(frame + 14, hlen, 0)) == 0;
}

int nt_l4_csum_ok(const uint8_t *frame, size_t len)
{
    const uint8_t *ip = frame + 14;
    size_t hlen = (size_t)(ip[0] & 0xf) * 4, total = nf_get16(ip + 2);
    uint8_t pseudo[12];

    if (len < 14 + total || total < hlen)
        return 0;
    size_t l4 = total - hlen;
    if (ip[9] == 1)
        return nf_fold(nf_sum(ip + hlen, l4, 0)) == 0;
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = ip[9];
    nf_put16(pseudo + 10, (uint16_t)l4);
    return nf_fold(nf_sum(ip + hlen, l4, nf_sum(pseudo, 12, 0))) == 0;
}

/* The line of buf that starts with prefix, or NULL. */
static const char *line_starting(const char *buf, const char *prefix)
{
    size_t n = strlen(prefix);

    for (const char *p = buf; *p != '\0';) {
        if (strncmp(p, prefix, n) == 0)
            return p;
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return NULL;
}

uint64_t nt_counter(const struct net_stack *st, const char *file, int line, const char *const *path)
{
    static char buf[16384];
    int len = net_format_counters(st, buf, sizeof(buf));

    CHECK_AT(file, line, len > 0 && (size_t)len < sizeof(buf), "counters: %d bytes", len);
    const char *p = line_starting(buf, path[0]);
    if (p == NULL) {
        CHECK_AT(file, line, 0, "no counter line \"%s\"", path[0]);
        return 0;
    }
    const char *end = strchr(p, '\n');
    if (end == NULL)
        end = p + strlen(p);
    p += strlen(path[0]);
    for (unsigned i = 1; path[i] != NULL; i++) {
        const char *q = strstr(p, path[i]);
        if (q == NULL || q >= end) {
            CHECK_AT(file, line, 0, "no \"%s\" in the counter line \"%s\"", path[i], path[0]);
            return 0;
        }
        p = q + strlen(path[i]);
    }
    while (*p == ' ')
        p++;
    char *after;
    uint64_t v = strtoull(p, &after, 10);
    CHECK_AT(file, line, after != p, "no number at \"%.20s\"", p);
    return v;
}
