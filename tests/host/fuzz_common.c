/*
 * fuzz_common.c - the shared fuzz harness (see fuzz_common.h).
 */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/dhcp.h"
#include "net/udp.h"
#include "net_frames.h"

static void env_init(struct fuzz_env *e, int dhcp)
{
    memset(e, 0, sizeof(*e));
    if (dhcp) {
        fake_host_init(&e->h, 1, fake_mac_a, 0, 0, 0, NET_IF_RX_CSUM);
        dhcp_start(&e->h.st, &e->h.dev.ifc, 0);
    } else {
        fake_host_init(&e->h, 1, fake_mac_a, FUZZ_OUR_IP, 0xffffff00u, 0x0a000001u, 0);
    }
    e->h.fp.print_logs = 0;
    /* Small limits, so the fuzzer reaches them. */
    e->h.st.lim.arp_entries = 4;
    e->h.st.lim.reasm_datagrams = 3;
    e->h.st.lim.reasm_mem = 16 * 1024;
    if (udp_bind(&e->h.st, FUZZ_UDP_PORT, &e->sock) < 0)
        abort();
    e->sock->rxq_max = 4;
}

static void env_destroy(struct fuzz_env *e)
{
    struct netbuf *nb;

    while ((nb = udp_recv(e->sock, NULL)) != NULL)
        nbuf_put(nb);
    udp_close(e->sock);
    fake_host_destroy(&e->h);
    if (e->h.fp.tx_live != 0 || e->h.dev.rx_live != 0) {
        fprintf(stderr, "leak: %ld transmit, %ld receive buffers\n", e->h.fp.tx_live,
                e->h.dev.rx_live);
        abort();
    }
}

int fuzz_run(const uint8_t *data, size_t size, int dhcp, fuzz_patch_fn patch)
{
    static uint8_t frame[65536 + 3];
    struct fuzz_env e;

    env_init(&e, dhcp);
    while (size >= 3) {
        unsigned flags = data[0];
        size_t len = (size_t)data[1] << 8 | data[2];
        data += 3;
        size -= 3;
        if (len > size)
            len = size;
        memcpy(frame, data, len);
        data += len;
        size -= len;
        if (flags >> 4)
            fake_host_advance(&e.h, e.h.now + (flags >> 4) * 250u);
        if (patch != NULL)
            patch(&e, frame, len, flags & 0xf);
        fake_host_rx(&e.h, frame, len);
        fake_dev_clear(&e.h.dev);
        /* Sometimes the app reads: zero-copy buffers go back. */
        if (flags & 0x8) {
            struct netbuf *nb = udp_recv(e.sock, NULL);
            nbuf_put(nb);
        }
    }
    fake_host_advance(&e.h, e.h.now + 120000); /* every timer fires */
    env_destroy(&e);
    return 0;
}

void fuzz_patch_eth(struct fuzz_env *e, uint8_t *f, size_t len, uint16_t type, int keep)
{
    if (len < 14 || keep)
        return;
    memcpy(f, e->h.dev.ifc.mac, 6);
    nf_put16(f + 12, type);
}

void fuzz_patch_ip(struct fuzz_env *e, uint8_t *f, size_t len, uint8_t proto, int keep, int frag)
{
    if (len < 34 || keep)
        return;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    size_t total = len - 14 > 65535 ? 65535 : len - 14;
    nf_put16(ip + 2, (uint16_t)total);
    if (!frag)
        nf_put16(ip + 6, 0);
    if (ip[8] == 0)
        ip[8] = 64;
    ip[9] = proto;
    nf_put32(ip + 12, FUZZ_PEER_IP);
    nf_put32(ip + 16, e->h.dev.ifc.ip != 0 ? e->h.dev.ifc.ip : 0xffffffffu);
    nf_fix_ip_csum(f);
}

void fuzz_fix_l4_csum(uint8_t *f, size_t len, uint8_t proto, size_t field)
{
    const uint8_t *ip = f + 14;
    uint8_t pseudo[12];

    if (len < 34 || field + 2 > len)
        return;
    size_t l4 = len - 34;
    nf_put16(f + field, 0);
    uint32_t sum = 0;
    if (proto != 0) {
        memcpy(pseudo, ip + 12, 8);
        pseudo[8] = 0;
        pseudo[9] = proto;
        nf_put16(pseudo + 10, (uint16_t)l4);
        sum = nf_sum(pseudo, 12, 0);
    }
    nf_put16(f + field, nf_fold(nf_sum(f + 34, l4, sum)));
}
