/*
 * fuzz_tcp.c - TCP segments into a stack that has a listener on port 80,
 * one established connection (peer 10.0.0.9:40000) and one active open in
 * SYN-SENT (to the peer's port 5000). Bits of the record flags (see
 * fuzz_common.h): bit 0 keeps the Ethernet and IPv4 headers as written;
 * bit 1 keeps the ports (else the established connection's); bit 2 keeps
 * the sequence and ACK numbers (else the low 16 bits of each, taken as
 * signed, are offsets from what the connection expects), and with bit 0
 * also the checksum; bit 3 makes the app read a buffer and send a few
 * bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "net/tcp.h"
#include "net_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PISS 1000u

struct tenv {
    struct fuzz_env e;
    struct tcp_conn *l, *c, *active;
    uint32_t our_iss;
};

static size_t tcp_frame(uint8_t *f, const uint8_t *mac, uint8_t flags, uint32_t seq, uint32_t ack,
                        uint16_t sport, uint16_t dport, size_t plen)
{
    size_t n = nf_eth(f, mac, fake_mac_peer, 0x0800);
    n += nf_ip(f + n, FUZZ_PEER_IP, FUZZ_OUR_IP, 6, 1, 0, 20 + plen);
    uint8_t *t = f + n;
    memset(t, 0, 20 + plen);
    nf_put16(t, sport);
    nf_put16(t + 2, dport);
    nf_put32(t + 4, seq);
    nf_put32(t + 8, ack);
    t[12] = 0x50;
    t[13] = flags;
    nf_put16(t + 14, 8192);
    n += 20 + plen;
    fuzz_fix_l4_csum(f, n, 6, 34 + 16);
    return n;
}

static void env_init(struct tenv *t)
{
    static uint8_t f[2000];
    static const uint8_t zero[6];
    struct fake_host *h = &t->e.h;

    memset(t, 0, sizeof(*t));
    fake_host_init(h, 1, fake_mac_a, FUZZ_OUR_IP, 0xffffff00u, 0x0a000001u, 0);
    h->fp.print_logs = 0;
    h->st.lim.tcp_rcvbuf = 8192;
    h->st.lim.tcp_sndbuf = 8192;
    h->st.lim.tcp_ooo_segs = 4;
    h->st.lim.tcp_ooo_bytes = 4096;
    h->st.lim.tcp_rcv_segs = 8;
    h->st.lim.tcp_syn_cache = 2;
    h->st.lim.tcp_conns = 8;
    h->st.lim.tcp_msl_ms = 1000;
    h->st.lim.tcp_chack_per_s = 5;
    fake_host_rx(h, f,
                 nf_arp_frame(f, nf_bcast_mac, 1, fake_mac_peer, FUZZ_PEER_IP, zero, FUZZ_OUR_IP));
    fake_dev_clear(&h->dev);
    if (tcp_listen(&h->st, 80, 2, &t->l) != 0)
        abort();
    /* The SYN offers MSS, SACK, timestamps and window scaling, so that the
     * connection exercises all of them. */
    size_t n = tcp_frame(f, fake_mac_a, 0x02, PISS, 0, 40000, 80, 24);
    static const uint8_t opts[24] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 1, 8, 10,
                                     0, 0, 0,    1,    0, 0, 0, 0, 1, 3, 3, 2};
    memcpy(f + 54, opts, sizeof(opts));
    f[34 + 12] = (20 + 24) / 4 << 4;
    fuzz_fix_l4_csum(f, n, 6, 34 + 16);
    fake_host_rx(h, f, n);
    struct fake_frame *sa = fake_dev_pop(&h->dev);
    if (sa == NULL)
        abort();
    t->our_iss = nf_get32(sa->data + 34 + 4);
    free(sa);
    fake_host_rx(h, f, tcp_frame(f, fake_mac_a, 0x10, PISS + 1, t->our_iss + 1, 40000, 80, 0));
    t->c = tcp_accept(t->l);
    if (t->c == NULL)
        abort();
    if (tcp_connect(&h->st, FUZZ_PEER_IP, 5000, h->now, &t->active) != 0)
        abort();
    fake_dev_clear(&h->dev);
}

static void patch(struct tenv *t, uint8_t *f, size_t len, unsigned flags)
{
    fuzz_patch_eth(&t->e, f, len, 0x0800, flags & 1);
    fuzz_patch_ip(&t->e, f, len, 6, flags & 1, 0);
    if (len < 34 + 20)
        return;
    uint8_t *tcp = f + 34;
    if (!(flags & 2)) {
        nf_put16(tcp, 40000);
        nf_put16(tcp + 2, 80);
    }
    if (!(flags & 4)) {
        int16_t ds = (int16_t)nf_get16(tcp + 6), da = (int16_t)nf_get16(tcp + 10);
        nf_put32(tcp + 4, PISS + 1 + (uint32_t)(int32_t)ds);
        nf_put32(tcp + 8, t->our_iss + 1 + (uint32_t)(int32_t)da);
    }
    if ((flags & 5) != 5)
        fuzz_fix_l4_csum(f, len, 6, 34 + 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t frame[65536 + 3];
    static struct tenv t;

    env_init(&t);
    struct fake_host *h = &t.e.h;
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
            fake_host_advance(h, h->now + (flags >> 4) * 250u);
        patch(&t, frame, len, flags & 0xf);
        fake_host_rx(h, frame, len);
        fake_dev_clear(&h->dev);
        if (flags & 0x8) {
            nbuf_put(tcp_recv(t.c, h->now));
            tcp_send_copy(t.c, "hello", 5, h->now);
            struct tcp_conn *a = tcp_accept(t.l);
            tcp_close(a, h->now);
        }
    }
    fake_host_advance(h, h->now + 120000); /* every timer fires */
    tcp_close(t.c, h->now);
    tcp_abort(t.active, h->now);
    fake_host_advance(h, h->now + 120000);
    tcp_close(t.l, h->now);
    fake_host_destroy(h);
    if (h->fp.tx_live != 0 || h->dev.rx_live != 0) {
        fprintf(stderr, "leak: %ld transmit, %ld receive buffers\n", h->fp.tx_live, h->dev.rx_live);
        abort();
    }
    return 0;
}
