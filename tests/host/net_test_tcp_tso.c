/*
 * net_test_tcp_tso.c - TCP segmentation offload: two stacks over a clean
 * netsim link, the sender's fake device advertising NET_IF_TX_TSO and
 * cutting NB_GSO_TCP4 frames into MSS-sized segments on the wire (as
 * virtio-net does). Checks the frames the stack hands over (gso size,
 * header layout, chain length, payload slices pointing into the app's own
 * memory), the segments on the wire (size, DF, IP IDs, checksums), Nagle
 * on the tail, the counters, and that every byte arrives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp.h"
#include "net_test.h"

#define IP_B   NF_IP(10, 0, 0, 2)
#define PORT   8080
#define KIB    1024u
#define SEGLEN 1448u /* MSS 1460 less the timestamp option */

struct wire {
    unsigned frames, oversize, bad_csum, df, data;
    uint32_t syn_seq;   /* A's SYN: its ISS */
    unsigned id_breaks; /* DF segments whose IP ID is not the previous one's + 1 */
    uint16_t last_id;
    int have_id;
};

/* Segments from A (to end 1): sizes, checksums, DF and IDs. */
static void watch_wire(void *arg, int to_end, const uint8_t *f, size_t len)
{
    struct wire *w = arg;

    if (to_end != 1 || len < 54 || nf_get16(f + 12) != 0x0800 || f[23] != 6)
        return;
    if (f[34 + 13] & 0x02)
        w->syn_seq = nf_get32(f + 34 + 4);
    w->frames++;
    if (len > 1514)
        w->oversize++;
    if (!nt_ip_csum_ok(f, len) || !nt_l4_csum_ok(f, len))
        w->bad_csum++;
    size_t payload = nf_get16(f + 16) - 20u - (f[34 + 12] >> 4) * 4u;
    if (payload > 0)
        w->data++;
    if (nf_get16(f + 20) & 0x4000) {
        uint16_t id = nf_get16(f + 18);
        if (w->have_id && id != (uint16_t)(w->last_id + 1))
            w->id_breaks++; /* only where a datagram without DF took an ID between */
        w->last_id = id;
        w->have_id = 1;
        w->df++;
    }
}

struct tso_pair {
    struct sim_pair p;
    struct tcp_conn *l, *a, *b; /* a: 10.0.0.1 sends; b: 10.0.0.2 receives */
    struct wire w;
    uint64_t rcvd, bad;
    const uint8_t *expect;
    uint32_t base; /* stream offset of expect[0] (and of check_held's mem) */
    uint32_t iss;  /* A's */
    /* A's and B's counters when tp_warm_up was done: A's bytes copied and
     * data segments sent, B's received, by size (<=mss, <=16K, <=64K). */
    uint64_t copied0, out0[3], in0[3];
};

static const char *const seg_size[3] = {"<=mss", "<=16K", "<=64K"};

/* A's data segments sent, B's received, of size class k since tp_warm_up. */
#define A_SENT(t, k)                                                                               \
    (NT_COUNTER(&(t)->p.h[0].st, "tcp segments by payload:", "sent", seg_size[k]) - (t)->out0[k])
#define B_RCVD(t, k)                                                                               \
    (NT_COUNTER(&(t)->p.h[1].st, "tcp segments by payload:", "received", seg_size[k]) - (t)->in0[k])

/* A (h[0]) with TSO and a device that keeps every transmitted chain, B
 * listening; connected. */
static void tp_open(struct tso_pair *t, uint16_t max_segs)
{
    struct netsim_cfg cfg = {.seed = 7, .delay_ms = 1};

    memset(t, 0, sizeof(*t));
    sim_pair_init(&t->p, &cfg, NET_IF_TX_CSUM);
    struct net_iface *ifa = &t->p.h[0].dev.ifc;
    ifa->features |= NET_IF_TX_TSO;
    ifa->tso_max_segs = max_segs;
    t->p.h[0].dev.hold = 1;
    t->p.observe = watch_wire;
    t->p.observe_arg = &t->w;
    CHECK_INT_EQ(tcp_listen(&t->p.h[1].st, PORT, 4, &t->l), 0);
    CHECK_INT_EQ(tcp_connect(&t->p.h[0].st, IP_B, PORT, t->p.now, &t->a), 0);
    while (t->b == NULL && t->p.now < 10000) {
        sim_pair_run(&t->p, t->p.now + 1);
        t->b = tcp_accept(t->l);
    }
    CHECK(t->b != NULL);
    t->iss = t->w.syn_seq;
}

static void tp_recv(struct tso_pair *t)
{
    struct netbuf *nb;

    while ((nb = tcp_recv(t->b, t->p.now)) != NULL) {
        for (size_t k = 0; k < nb->len; k++)
            if (t->expect != NULL && nb->data[k] != t->expect[t->rcvd + k])
                t->bad++;
        t->rcvd += nb->len;
        nbuf_put(nb);
    }
}

/* Run the link until B has `total` bytes and A has nothing in flight. */
static void tp_drain(struct tso_pair *t, uint64_t total)
{
    for (int i = 0; i < 20000 && (t->rcvd < total || tcp_unfinished(&t->p.h[0].st) != 0); i++) {
        sim_pair_run(&t->p, t->p.now + 1);
        tp_recv(t);
    }
    CHECK_UINT_EQ(t->rcvd, total);
    CHECK_UINT_EQ(t->bad, 0);
}

static void tp_close(struct tso_pair *t)
{
    nbuf_queue_purge(&t->p.h[0].dev.held);
    tcp_abort(t->a, t->p.now);
    tcp_abort(t->b, t->p.now);
    tcp_close(t->l, t->p.now);
    sim_pair_run(&t->p, t->p.now + 10);
    sim_pair_destroy(&t->p);
    for (int i = 0; i < 2; i++) {
        CHECK_INT_EQ(t->p.h[i].fp.tx_live, 0);
        CHECK_INT_EQ(t->p.h[i].dev.rx_live, 0);
    }
    CHECK_INT_EQ(net_fault_live(), 0);
    CHECK_UINT_EQ(t->w.oversize, 0);
    CHECK_UINT_EQ(t->w.bad_csum, 0);
}

struct frame_stats {
    unsigned gso, plain, max_segs;
    size_t max_payload;
    unsigned bad; /* layout, gso size or pointer identity wrong */
};

/*
 * Every chain A handed its device: a TSO frame's head holds exactly the
 * Ethernet, IPv4 and TCP headers with DF set, gso_size is one segment's
 * payload, and each payload slice points at the app's bytes for its
 * sequence number (mem: the app's memory, NULL to skip that check).
 */
static void check_held(struct tso_pair *t, const uint8_t *mem, struct frame_stats *fs)
{
    memset(fs, 0, sizeof(*fs));
    for (struct netbuf *h = t->p.h[0].dev.held.head; h != NULL; h = h->qnext) {
        size_t payload = nbuf_chain_len(h) - h->len;
        unsigned segs = nbuf_chain_segments(h);
        if (!(h->flags & NB_GSO_TCP4)) {
            fs->plain += payload > 0;
            if (payload > SEGLEN)
                fs->bad++;
            continue;
        }
        fs->gso++;
        if (getenv("NT_DEBUG"))
            printf("frame %zu bytes in %u netbufs\n", payload, segs);
        fs->max_segs = segs > fs->max_segs ? segs : fs->max_segs;
        fs->max_payload = payload > fs->max_payload ? payload : fs->max_payload;
        if (h->gso_size != SEGLEN || payload <= SEGLEN || h->len != 14 + 20 + 32 ||
            !(h->flags & NB_CSUM_NEEDED) || !(nf_get16(h->data + 20) & 0x4000) ||
            nf_get16(h->data + 16) != 20 + 32 + payload)
            fs->bad++;
        size_t off = nf_get32(h->data + 34 + 4) - (t->iss + 1) - t->base;
        for (struct netbuf *s = h->next; s != NULL && mem != NULL; s = s->next) {
            if (s->data != mem + off)
                fs->bad++;
            off += s->len;
        }
    }
}

static void mark_done(void *arg)
{
    (*(int *)arg)++;
}

/* Open cwnd with `len` bytes of `data` (all acknowledged after), then
 * forget the frames that took. */
static void tp_warm_up(struct tso_pair *t, const uint8_t *data, size_t len)
{
    t->expect = data;
    CHECK_INT_EQ(tcp_send_copy(t->a, data, len, t->p.now), (long)len);
    tp_drain(t, len);
    nbuf_queue_purge(&t->p.h[0].dev.held);
    t->rcvd = 0;
    t->base += (uint32_t)len;
    t->copied0 = NT_COUNTER(&t->p.h[0].st, "stack:", "copied");
    for (unsigned k = 0; k < 3; k++) {
        t->out0[k] = NT_COUNTER(&t->p.h[0].st, "tcp segments by payload:", "sent", seg_size[k]);
        t->in0[k] = NT_COUNTER(&t->p.h[1].st, "tcp segments by payload:", "received", seg_size[k]);
    }
    memset(&t->w, 0, sizeof(t->w));
    t->p.h[0].dev.gso_frames = t->p.h[0].dev.gso_segments = 0;
}

/* 192 KiB of app memory in three nbuf_wrap()s on a connection whose cwnd
 * is open (a web server's next response): frames of ~64 KiB whose slices
 * are the app's bytes, cut into <= 1514-byte segments with DF and
 * consecutive IP IDs on the wire. (While ACK-clocked by a peer that
 * acknowledges every second segment, frames are as large as what one ACK
 * opens: three segments.) */
TEST(net_tcp_tso_frames_are_zero_copy_and_cut_on_the_wire)
{
    static uint8_t mem[192 * KIB];
    struct tso_pair t;
    struct frame_stats fs;
    int done = 0;

    for (size_t i = 0; i < sizeof(mem); i++)
        mem[i] = (uint8_t)(i * 13 + (i >> 9));
    tp_open(&t, NET_TSO_MAX_SEGS);
    tp_warm_up(&t, mem, sizeof(mem));
    for (size_t off = 0; off < sizeof(mem); off += 64 * KIB)
        CHECK_INT_EQ(tcp_send(t.a, nbuf_wrap(mem + off, 64 * KIB, mark_done, &done), t.p.now), 0);
    tp_drain(&t, sizeof(mem));
    check_held(&t, mem, &fs);
    CHECK_UINT_EQ(fs.bad, 0);
    CHECK(fs.gso > 0);
    CHECK(fs.max_payload >= 40 * SEGLEN); /* cwnd grew: near-64 KiB frames */
    CHECK(fs.max_payload <= 65535 - 20 - 32);
    CHECK(fs.max_segs <= NET_TSO_MAX_SEGS);
    CHECK_UINT_EQ(fake_dev_bad_offload(&t.p.h[0].dev), 0);
    CHECK_UINT_EQ(t.p.h[0].dev.gso_frames, fs.gso);
    /* On the wire: DF on every segment cut from a frame, and IP IDs
     * consecutive across frames (each frame reserved one per segment). */
    CHECK_UINT_EQ(t.w.df, t.p.h[0].dev.gso_segments);
    CHECK(t.w.id_breaks <= fs.plain + 1);
    CHECK(t.w.data >= sizeof(mem) / SEGLEN);
    /* Counters: A sent big frames, B received segments of one MSS. */
    CHECK_UINT_EQ(A_SENT(&t, TCP_SIZE_16K) + A_SENT(&t, TCP_SIZE_64K), fs.gso);
    CHECK(A_SENT(&t, TCP_SIZE_64K) > 0);
    CHECK_UINT_EQ(A_SENT(&t, TCP_SIZE_MSS), fs.plain);
    CHECK_UINT_EQ(B_RCVD(&t, TCP_SIZE_16K) + B_RCVD(&t, TCP_SIZE_64K), 0);
    CHECK_UINT_EQ(B_RCVD(&t, TCP_SIZE_MSS), t.w.data);
    CHECK_UINT_EQ(NT_COUNTER(&t.p.h[0].st, "stack:", "copied") - t.copied0, 0);
    CHECK_INT_EQ(done, 0); /* the device still holds the chains */
    nbuf_queue_purge(&t.p.h[0].dev.held);
    CHECK_INT_EQ(done, 3); /* acknowledged and released: the app's memory is back */
    tp_close(&t);
}

/* A frame never has more netbufs than the device takes: with small
 * zero-copy buffers the chain length, not 64 KiB, bounds it. */
TEST(net_tcp_tso_frame_bounded_by_device_chain_length)
{
    struct tso_pair t;
    struct frame_stats fs;
    static uint8_t expect[150 * 1000];

    tp_open(&t, 4);
    t.expect = expect;
    for (size_t i = 0; i < sizeof(expect); i++)
        expect[i] = (uint8_t)(i * 7 + 3);
    for (size_t off = 0; off < sizeof(expect); off += 1000) {
        struct netbuf *nb = tcp_alloc(&t.p.h[0].st, 1000);
        memcpy(nb->data, expect + off, 1000);
        CHECK_INT_EQ(tcp_send(t.a, nb, t.p.now), 0);
    }
    tp_drain(&t, sizeof(expect));
    check_held(&t, NULL, &fs);
    CHECK_UINT_EQ(fs.bad, 0);
    CHECK(fs.gso > 0);
    CHECK(fs.max_segs <= 4);
    CHECK(fs.max_payload <= 3000);
    CHECK_UINT_EQ(fake_dev_bad_offload(&t.p.h[0].dev), 0);
    tp_close(&t);
}

/* Nagle holds a runt tail back as it would without TSO: the frame carries
 * whole segments only; with nodelay the tail rides along. */
TEST(net_tcp_tso_nagle_keeps_the_tail_back)
{
    static uint8_t data[300 * KIB];
    struct tso_pair t;
    struct frame_stats fs;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i ^ (i >> 8));
    tp_open(&t, NET_TSO_MAX_SEGS);
    tp_warm_up(&t, data, 200 * KIB);
    t.expect = data + 200 * KIB;

    CHECK_INT_EQ(tcp_send_copy(t.a, data + 200 * KIB, 10000, t.p.now), 10000);
    check_held(&t, NULL, &fs);
    CHECK_UINT_EQ(fs.gso + fs.plain, 1);
    CHECK_UINT_EQ(fs.max_payload, 6 * SEGLEN); /* 1312 bytes wait for the ACK */
    tp_drain(&t, 10000);
    nbuf_queue_purge(&t.p.h[0].dev.held);

    tcp_set_nodelay(t.a, 1);
    CHECK_INT_EQ(tcp_send_copy(t.a, data + 200 * KIB + 10000, 10000, t.p.now), 10000);
    check_held(&t, NULL, &fs);
    CHECK_UINT_EQ(fs.gso, 1);
    CHECK_UINT_EQ(fs.max_payload, 10000);
    CHECK_UINT_EQ(fs.bad, 0);
    tp_drain(&t, 20000);
    tp_close(&t);
}

/* Without checksum offload there is no TSO (the segments' sums are the
 * device's to fill), and without NET_IF_TX_TSO no frame is larger than a
 * segment: nothing changes for user networking or the relay. */
TEST(net_tcp_tso_needs_the_feature_and_checksum_offload)
{
    struct fake_dev d;
    struct fake_plat fp;

    fake_plat_init(&fp, 1);
    fake_dev_init(&d, &fp, "eth0", fake_mac_a, 1500, NET_IF_TX_TSO);
    CHECK_UINT_EQ(d.ifc.features & NET_IF_TX_TSO, 0);
    fake_dev_init(&d, &fp, "eth0", fake_mac_a, 1500, NET_IF_TX_TSO | NET_IF_TX_CSUM);
    CHECK(d.ifc.features & NET_IF_TX_TSO);
    CHECK_UINT_EQ(d.ifc.tso_max_len, 65535);

    static uint8_t data[256 * KIB];
    struct tso_pair t;
    struct frame_stats fs;
    tp_open(&t, NET_TSO_MAX_SEGS);
    t.p.h[0].dev.ifc.features &= ~NET_IF_TX_TSO;
    t.expect = data;
    CHECK_INT_EQ(tcp_send_copy(t.a, data, sizeof(data), t.p.now), (long)sizeof(data));
    tp_drain(&t, sizeof(data));
    check_held(&t, NULL, &fs);
    CHECK_UINT_EQ(fs.gso, 0);
    CHECK_UINT_EQ(fs.bad, 0);
    CHECK_UINT_EQ(t.w.df, 0);
    CHECK_UINT_EQ(A_SENT(&t, TCP_SIZE_64K), 0);
    tp_close(&t);
}
