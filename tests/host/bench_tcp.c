/*
 * bench_tcp.c - instructions the net/ stack spends per payload byte and per
 * segment on a bulk TCP transfer, counted by callgrind (make
 * bench-tcp-callgrind, see tests/host/bench.mk and docs/BENCHMARKS.md).
 *
 * Two stacks (10.0.0.1 sends, 10.0.0.2 receives) on one host, joined by a
 * netsim link with no faults and no delay. 16 MiB go one way, then both
 * sides close. Modes:
 *   zerocopy  sender: nbuf_wrap of the app's memory + tcp_send (64 KiB
 *             chunks); receiver: tcp_recv + nbuf_put.
 *   copy      the slow paths, the baseline: tcp_send_copy / tcp_recv_copy
 *             (into a 64 KiB app buffer).
 *   tso       zerocopy with NET_IF_TX_TSO on the sender: the "device" cuts
 *             each TSO frame into MSS-sized segments (not measured), as
 *             virtio-net does, so the receiver sees the same segments.
 *   zerocopy-swcsum, copy-swcsum
 *             zerocopy and copy with no checksum offload: both stacks sum
 *             every segment in software (the like-for-like row against
 *             lwIP as Debian builds it, tests/host/bench_lwip.c).
 * Both interfaces advertise NET_IF_TX_CSUM | NET_IF_RX_CSUM (but in the
 * -swcsum modes): a frame sent
 * with NB_CSUM_NEEDED gets its checksum from the "device" (this harness)
 * and arrives at the peer with NB_CSUM_VALID, as virtio-net with offloads
 * would do it, so the stack sums nothing in software.
 *
 * Every call into net/ goes through one of the noinline bench_stack_*
 * wrappers below, and callgrind runs with --collect-atstart=no
 * --toggle-collect='bench_stack_*': only the stack's own work is counted
 * (and the platform callbacks it makes: tx_alloc, rx buffer release, the
 * device's transmit hook, which only queues the chain). Not counted: the
 * "DMA" (netsim copies each frame, the harness copies it out of the
 * transmitted chain and into a receive buffer and fills in the offloaded
 * checksum), filling the source buffer, and checking the received bytes
 * (first and last byte of every chunk received, against the pattern).
 *
 *   connections, keepalive
 *             2,000 request/response exchanges: a new connection for each
 *             (the server closes first), or all on one connection.
 *
 * Usage: bench_tcp zerocopy|copy|tso|zerocopy-swcsum|copy-swcsum|connections|keepalive
 *                                       run, print "key value" lines
 *        bench_tcp report ZC.txt ZC.callgrind COPY.txt COPY.callgrind TSO.txt TSO.callgrind
 *                                       the table from three runs' outputs
 *        bench_tcp conn-report CONN.txt CONN.callgrind KA.txt KA.callgrind
 *                                       the table of the two exchange runs
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/iface.h"
#include "net/netbuf.h"
#include "net/stack.h"
#include "net/tcp.h"
#include "bench_common.h"
#include "netsim.h"

#define TOTAL      (16u * 1024u * 1024u)
#define CHUNK      (64u * 1024u)
#define PORT       5001
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define DEV_HEADROOM 12
#define RX_SLOT    2048
#define FEATURES   (NET_IF_TX_CSUM | NET_IF_RX_CSUM)

/* The interfaces' offloads: FEATURES, or none in the -swcsum modes. */
static uint32_t bench_features = FEATURES;

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i * 7u + (i >> 9) + (i >> 17));
}

/* ---- platform and device ------------------------------------------------- */

struct host;

struct txbuf {
    struct netbuf nb;
    uint8_t mem[];
};

struct rxbuf {
    struct netbuf nb;
    struct rxbuf *free_next;
    struct host *h;
    uint8_t mem[RX_SLOT];
};

struct host {
    struct net_platform plat;
    struct net_stack st;
    struct net_iface ifc;
    struct netsim_link *link;
    int end;
    uint64_t rng;
    struct nbuf_queue txq;    /* chains handed to the device, not yet "DMA'd" */
    struct rxbuf *rx_free;    /* the receive ring's free slots */
    long tx_live, rx_live;
};

static void tx_release(struct netbuf *nb, void *cookie)
{
    struct host *h = cookie;

    h->tx_live--;
    free(nb);
}

static struct netbuf *plat_tx_alloc(void *ctx, size_t headroom, size_t len)
{
    struct host *h = ctx;
    size_t room = DEV_HEADROOM + headroom;
    struct txbuf *b = malloc(sizeof(*b) + room + len);

    if (b == NULL)
        return NULL;
    nbuf_init(&b->nb, b->mem, room + len, room, len, tx_release, h);
    h->tx_live++;
    return &b->nb;
}

static uint32_t plat_random32(void *ctx)
{
    struct host *h = ctx;

    h->rng ^= h->rng << 13;
    h->rng ^= h->rng >> 7;
    h->rng ^= h->rng << 17;
    return (uint32_t)(h->rng >> 16);
}

static void plat_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (getenv("BENCH_VERBOSE"))
        fprintf(stderr, "[net %d] %s\n", level, msg);
}

/* The device's transmit: take the chain for the "DMA" step (device_flush). */
static int dev_transmit(struct net_iface *ifc, struct netbuf *frame)
{
    struct host *h = ifc->driver;

    nbuf_queue_push(&h->txq, frame);
    return 0;
}

static const struct net_iface_ops dev_ops = {.transmit = dev_transmit};

/* A receive ring slot back to the ring. */
static void rx_release(struct netbuf *nb, void *cookie)
{
    struct rxbuf *b = cookie;

    (void)nb;
    b->h->rx_live--;
    b->free_next = b->h->rx_free;
    b->h->rx_free = b;
}

static void host_init(struct host *h, int end, const uint8_t mac[6], uint32_t ip,
                      struct netsim_link *link)
{
    memset(h, 0, sizeof(*h));
    h->plat.tx_alloc = plat_tx_alloc;
    h->plat.random32 = plat_random32;
    h->plat.log = plat_log;
    h->plat.ctx = h;
    h->rng = 88172645463325252ull + (uint64_t)end * 7919;
    h->end = end;
    h->link = link;
    net_stack_init(&h->st, &h->plat);
    net_iface_init(&h->ifc, "eth0", mac, 1500, bench_features, &dev_ops, h);
    net_stack_add_iface(&h->st, &h->ifc);
    net_iface_set_addr(&h->ifc, ip, 0xffffff00u, 0);
}

/* ---- the measured entry points (callgrind --toggle-collect) -------------- */

static uint64_t sim_now;

#define MEASURED __attribute__((noinline, noclone))

MEASURED void bench_stack_input(struct host *h, struct netbuf *nb, uint64_t now);
MEASURED void bench_stack_tick(struct host *h, uint64_t now);
MEASURED uint64_t bench_stack_deadline(struct host *h);
MEASURED void bench_stack_tx_done(struct netbuf *chain);
MEASURED int bench_stack_send_zc(struct tcp_conn *c, const uint8_t *p, size_t n, uint64_t now);
MEASURED long bench_stack_send_copy(struct tcp_conn *c, const uint8_t *p, size_t n, uint64_t now);
MEASURED struct netbuf *bench_stack_recv_zc(struct tcp_conn *c, uint64_t now);
MEASURED void bench_stack_put(struct netbuf *nb);
MEASURED long bench_stack_recv_copy(struct tcp_conn *c, uint8_t *buf, size_t n, uint64_t now);
MEASURED int bench_stack_connect(struct host *h, uint32_t ip, uint16_t port, struct tcp_conn **c);
MEASURED struct tcp_conn *bench_stack_accept(struct tcp_conn *l);
MEASURED void bench_stack_close(struct tcp_conn *c);

MEASURED void bench_stack_input(struct host *h, struct netbuf *nb, uint64_t now)
{
    net_input(&h->st, &h->ifc, nb, now);
}

MEASURED void bench_stack_tick(struct host *h, uint64_t now)
{
    net_tick(&h->st, now);
}

/* When the stack's next timer is due: an embedder asks after every batch
 * of work (kernel/net.c's network thread does), so it is measured. */
MEASURED uint64_t bench_stack_deadline(struct host *h)
{
    return net_next_deadline(&h->st);
}

/* The device's transmit completion: the stack's references go. */
MEASURED void bench_stack_tx_done(struct netbuf *chain)
{
    nbuf_put(chain);
}

static uint64_t wrapped_done;
static void wrap_done(void *cookie)
{
    (void)cookie;
    wrapped_done++;
}

MEASURED int bench_stack_send_zc(struct tcp_conn *c, const uint8_t *p, size_t n, uint64_t now)
{
    struct netbuf *nb = nbuf_wrap(p, n, wrap_done, NULL);

    if (nb == NULL)
        return -ENOMEM;
    int r = tcp_send(c, nb, now);
    if (r != 0)
        nbuf_put(nb);
    return r;
}

MEASURED long bench_stack_send_copy(struct tcp_conn *c, const uint8_t *p, size_t n, uint64_t now)
{
    return tcp_send_copy(c, p, n, now);
}

MEASURED struct netbuf *bench_stack_recv_zc(struct tcp_conn *c, uint64_t now)
{
    return tcp_recv(c, now);
}

MEASURED void bench_stack_put(struct netbuf *nb)
{
    nbuf_put(nb);
}

MEASURED long bench_stack_recv_copy(struct tcp_conn *c, uint8_t *buf, size_t n, uint64_t now)
{
    return tcp_recv_copy(c, buf, n, now);
}

MEASURED int bench_stack_connect(struct host *h, uint32_t ip, uint16_t port, struct tcp_conn **c)
{
    return tcp_connect(&h->st, ip, port, sim_now, c);
}

MEASURED struct tcp_conn *bench_stack_accept(struct tcp_conn *l)
{
    return tcp_accept(l);
}

MEASURED void bench_stack_close(struct tcp_conn *c)
{
    tcp_close(c, sim_now);
}

/* ---- the link -------------------------------------------------------------- */

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* Not measured: what the NIC and the wire do. Each transmitted chain is
 * copied out (the device fills in an offloaded checksum), sent over netsim
 * with a leading byte saying whether the receiving device may report
 * NB_CSUM_VALID, then its references are dropped (measured: that is the
 * stack's release work). */
static uint64_t frames_offloaded, frames_plain, frames_tso;

/* TSO on the wire: each gso_size bytes of payload behind a copy of the
 * headers, with its IPv4 length and ID and its sequence number; FIN and
 * PSH on the last only. Checksums are left to the receiving "device"
 * (frames marked valid). hl: the header bytes (the chain's head). */
static void send_segments(struct host *h, uint8_t *frame, size_t len, size_t hl, size_t per,
                          uint64_t now)
{
    static uint8_t seg[1 + 2048];
    size_t payload = len - hl;
    uint32_t seq = (uint32_t)frame[1 + 38] << 24 | (uint32_t)frame[1 + 39] << 16 |
                   (uint32_t)frame[1 + 40] << 8 | frame[1 + 41];
    unsigned id = (unsigned)frame[1 + 18] << 8 | frame[1 + 19];

    for (size_t off = 0, k = 0; off < payload; off += per, k++) {
        size_t n = payload - off < per ? payload - off : per;
        if (hl + n > sizeof(seg) - 1)
            abort();
        memcpy(seg, frame, 1 + hl);
        memcpy(seg + 1 + hl, frame + 1 + hl + off, n);
        seg[0] = 1;
        size_t tot = hl + n - 14;
        seg[1 + 16] = (uint8_t)(tot >> 8), seg[1 + 17] = (uint8_t)tot;
        seg[1 + 18] = (uint8_t)((id + k) >> 8), seg[1 + 19] = (uint8_t)(id + k);
        uint32_t sq = seq + (uint32_t)off;
        seg[1 + 38] = (uint8_t)(sq >> 24), seg[1 + 39] = (uint8_t)(sq >> 16);
        seg[1 + 40] = (uint8_t)(sq >> 8), seg[1 + 41] = (uint8_t)sq;
        if (off + n < payload)
            seg[1 + 47] &= (uint8_t)~0x09;
        netsim_send(h->link, h->end, seg, 1 + hl + n, now);
    }
}

static void device_flush(struct host *h, uint64_t now)
{
    static uint8_t frame[1 + 65536];
    struct netbuf *nb;

    while ((nb = nbuf_queue_pop(&h->txq)) != NULL) {
        size_t len = nbuf_chain_len(nb);
        if (len > sizeof(frame) - 1)
            abort();
        nbuf_copy_out(nb, 0, frame + 1, len);
        frame[0] = 0;
        if (nb->flags & NB_GSO_TCP4) {
            size_t hl = nb->len, per = nb->gso_size;
            frames_tso++;
            bench_stack_tx_done(nb);
            send_segments(h, frame, len, hl, per, now);
            continue;
        }
        if (nb->flags & NB_CSUM_NEEDED) {
            size_t start = nbuf_csum_start_in_frame(nb), field = start + nb->csum_offset;
            uint32_t s = 0;
            for (size_t i = start; i < len; i += 2)
                s += (uint32_t)frame[1 + i] << 8 | (i + 1 < len ? frame[2 + i] : 0);
            uint16_t v = (uint16_t)~fold(s);
            frame[1 + field] = (uint8_t)(v >> 8);
            frame[2 + field] = (uint8_t)v;
            frame[0] = 1;
            frames_offloaded++;
        } else {
            frames_plain++;
        }
        bench_stack_tx_done(nb);
        netsim_send(h->link, h->end, frame, len + 1, now);
    }
}

static struct host hosts[2];

static void deliver(void *arg, int to_end, const uint8_t *frame, size_t len)
{
    struct host *h = &hosts[to_end];
    struct rxbuf *b = h->rx_free;

    (void)arg;
    if (b == NULL) {
        b = malloc(sizeof(*b));
        if (b == NULL)
            abort();
        b->h = h;
    } else {
        h->rx_free = b->free_next;
    }
    if (len - 1 > RX_SLOT - DEV_HEADROOM)
        abort();
    nbuf_init(&b->nb, b->mem, RX_SLOT, DEV_HEADROOM, len - 1, rx_release, b);
    memcpy(b->nb.data, frame + 1, len - 1);
    if (frame[0] && (h->ifc.features & NET_IF_RX_CSUM))
        b->nb.flags |= NB_CSUM_VALID;
    h->rx_live++;
    bench_stack_input(h, &b->nb, sim_now);
}

/* Move frames and run timers until the link and both transmit queues are
 * empty. */
static void settle(struct netsim_link *link)
{
    for (int guard = 0; guard < 1000; guard++) {
        device_flush(&hosts[0], sim_now);
        device_flush(&hosts[1], sim_now);
        for (int i = 0; i < 2; i++)
            if (bench_stack_deadline(&hosts[i]) <= sim_now)
                bench_stack_tick(&hosts[i], sim_now);
        if (netsim_poll(link, sim_now, deliver, NULL) == 0 && hosts[0].txq.count == 0 &&
            hosts[1].txq.count == 0)
            return;
    }
}

/* ---- the transfer -------------------------------------------------------- */

static int run(int zero_copy, int tso)
{
    static const uint8_t mac_a[6] = {0x52, 0x54, 0, 0, 0, 0x0a}, mac_b[6] = {0x52, 0x54, 0, 0, 0,
                                                                              0x0b};
    struct netsim_cfg cfg = {.seed = 1};
    struct netsim_link *link = netsim_create(&cfg);
    struct tcp_conn *l, *tx, *rx = NULL;
    uint8_t *src = malloc(TOTAL), *app = malloc(CHUNK);
    uint64_t sent = 0, rcvd = 0, bad = 0, checked = 0, chunks = 0;

    if (link == NULL || src == NULL || app == NULL)
        abort();
    for (uint64_t i = 0; i < TOTAL; i++)
        src[i] = pattern(i);
    host_init(&hosts[0], 0, mac_a, IP(10, 0, 0, 1), link);
    host_init(&hosts[1], 1, mac_b, IP(10, 0, 0, 2), link);
    if (tso)
        hosts[0].ifc.features |= NET_IF_TX_TSO;
    settle(link); /* gratuitous ARPs */
    if (tcp_listen(&hosts[1].st, PORT, 4, &l) != 0 ||
        tcp_connect(&hosts[0].st, IP(10, 0, 0, 2), PORT, sim_now, &tx) != 0)
        abort();
    for (int i = 0; i < 100 && rx == NULL; i++) {
        settle(link);
        rx = tcp_accept(l);
        sim_now++;
    }
    if (rx == NULL || tcp_get_state(tx) != TCP_ESTABLISHED) {
        fprintf(stderr, "bench_tcp: no connection\n");
        return 1;
    }
    int shut = 0;
    for (uint64_t iter = 0; rcvd < TOTAL || !tcp_eof(rx); iter++) {
        if (iter > 10000000 || tcp_get_state(tx) == TCP_CLOSED) {
            fprintf(stderr, "bench_tcp: stuck at %" PRIu64 " of %u bytes\n", rcvd, TOTAL);
            return 1;
        }
        while (sent < TOTAL) {
            size_t n = TOTAL - sent < CHUNK ? TOTAL - sent : CHUNK;
            if (zero_copy) {
                if (tcp_writable(tx) < n || bench_stack_send_zc(tx, src + sent, n, sim_now) != 0)
                    break;
            } else {
                long r = bench_stack_send_copy(tx, src + sent, n, sim_now);
                if (r <= 0)
                    break;
                n = (size_t)r;
            }
            sent += n;
        }
        if (sent == TOTAL && !shut) {
            tcp_shutdown(tx, sim_now);
            shut = 1;
        }
        settle(link);
        for (;;) {
            size_t n;
            if (zero_copy) {
                struct netbuf *nb = bench_stack_recv_zc(rx, sim_now);
                if (nb == NULL)
                    break;
                n = nb->len;
                if (n > 0) {
                    bad += nb->data[0] != pattern(rcvd);
                    bad += nb->data[n - 1] != pattern(rcvd + n - 1);
                    checked += 2;
                }
                bench_stack_put(nb);
            } else {
                long r = bench_stack_recv_copy(rx, app, CHUNK, sim_now);
                if (r <= 0)
                    break;
                n = (size_t)r;
                bad += app[0] != pattern(rcvd);
                bad += app[n - 1] != pattern(rcvd + n - 1);
                checked += 2;
            }
            rcvd += n;
            chunks++;
        }
        settle(link);
        sim_now++; /* a millisecond per round: delayed ACKs and timers run */
    }
    const struct tcp_conn_stats *ts = tcp_stats(tx), *rs = tcp_stats(rx);
    printf("mode %s%s\n", tso ? "tso" : zero_copy ? "zerocopy" : "copy",
           bench_features == 0 ? "-swcsum" : "");
    printf("frames_tso %" PRIu64 "\n", frames_tso);
    printf("receiver_segs_in_wire %" PRIu64 "\n", rs->segs_in);
    printf("payload_bytes %" PRIu64 "\n", rcvd);
    printf("sender_segs_out %" PRIu64 "\n", ts->segs_out);
    printf("sender_segs_in %" PRIu64 "\n", ts->segs_in);
    printf("receiver_segs_in %" PRIu64 "\n", rs->segs_in);
    printf("receiver_segs_out %" PRIu64 "\n", rs->segs_out);
    printf("retransmits %" PRIu64 "\n", ts->retransmits + rs->retransmits);
    printf("sender_copied_bytes %" PRIu64 "\n", hosts[0].st.cnt.copied_bytes);
    printf("receiver_copied_bytes %" PRIu64 "\n", hosts[1].st.cnt.copied_bytes);
    printf("frames_offloaded %" PRIu64 "\nframes_plain %" PRIu64 "\n", frames_offloaded,
           frames_plain);
    printf("recv_chunks %" PRIu64 "\nsampled_bytes %" PRIu64 "\nbad_bytes %" PRIu64 "\n", chunks,
           checked, bad);
    printf("sim_ms %" PRIu64 "\n", sim_now);
    tcp_close(rx, sim_now);
    tcp_close(tx, sim_now);
    tcp_close(l, sim_now);
    settle(link);
    net_stack_destroy(&hosts[0].st);
    net_stack_destroy(&hosts[1].st);
    settle(link);
    if (zero_copy)
        printf("wrapped_chunks_released %" PRIu64 "\n", wrapped_done);
    netsim_destroy(link);
    free(src);
    free(app);
    return bad != 0 || rcvd != TOTAL;
}

/* ---- request and response: a new connection each, or one kept alive ------ */

#define EXCHANGES 2000
#define REQ_LEN   80
#define RESP_LEN  4096

static uint8_t req[REQ_LEN], resp[RESP_LEN];

/* Both hosts on a fresh link, the request and response bodies filled in. */
static struct netsim_link *exchange_setup(void)
{
    static const uint8_t mac_a[6] = {0x52, 0x54, 0, 0, 0, 0x0a}, mac_b[6] = {0x52, 0x54, 0, 0, 0,
                                                                              0x0b};
    struct netsim_cfg cfg = {.seed = 1};
    struct netsim_link *link = netsim_create(&cfg);

    if (link == NULL)
        abort();
    memset(req, 'q', sizeof(req));
    for (size_t i = 0; i < sizeof(resp); i++)
        resp[i] = pattern(i);
    host_init(&hosts[0], 0, mac_a, IP(10, 0, 0, 1), link);
    host_init(&hosts[1], 1, mac_b, IP(10, 0, 0, 2), link);
    settle(link); /* gratuitous ARPs */
    return link;
}

/*
 * One exchange on an open connection: the client (10.0.0.1) sends the
 * request, the server (10.0.0.2) reads it and sends the response by
 * reference, closing after it when close_after; the client reads the
 * response (to EOF when the server closed). Returns 0 when it came back
 * whole and right, 1 when it did not, -1 when a step was refused.
 */
static int exchange(struct netsim_link *link, struct tcp_conn *cl, struct tcp_conn *sv,
                    int close_after)
{
    static uint8_t buf[RESP_LEN + 1];
    size_t got = 0;
    struct netbuf *nb;
    long r, n = 0;

    if (bench_stack_send_copy(cl, req, sizeof(req), sim_now) != REQ_LEN)
        return -1;
    settle(link);
    while ((nb = bench_stack_recv_zc(sv, sim_now)) != NULL) {
        got += nb->len;
        bench_stack_put(nb);
    }
    if (got != REQ_LEN || bench_stack_send_zc(sv, resp, sizeof(resp), sim_now) != 0)
        return -1;
    if (close_after)
        bench_stack_close(sv);
    settle(link);
    while ((r = bench_stack_recv_copy(cl, buf + n, sizeof(buf) - (size_t)n, sim_now)) > 0)
        n += r;
    return n != RESP_LEN || memcmp(buf, resp, RESP_LEN) != 0 || (close_after && !tcp_eof(cl));
}

static void exchange_report(const char *mode, uint64_t done, uint64_t bad)
{
    printf("mode %s\n", mode);
    printf("exchanges %" PRIu64 "\n", done);
    printf("bad_exchanges %" PRIu64 "\n", bad);
    printf("client_opened %" PRIu64 "\n", hosts[0].st.tcp.conns_opened);
    printf("server_opened %" PRIu64 "\n", hosts[1].st.tcp.conns_opened);
    printf("frames %" PRIu64 "\n", hosts[0].ifc.cnt.tx_packets + hosts[1].ifc.cnt.tx_packets);
    printf("server_time_wait %u\n", hosts[1].st.tcp.time_wait);
    printf("sim_ms %" PRIu64 "\n", sim_now);
}

/*
 * connections: one exchange per connection, one connection after another,
 * as `wrk -H 'Connection: close'` drives a server; the server closes first
 * (so it keeps the TIME-WAIT, as a web server does), the client reads to
 * EOF and closes. A millisecond of simulated time per connection: the
 * server's TIME-WAITs (2 MSL) pile up as at 1,000 connections a second.
 * keepalive: the same exchanges on one connection, as wrk drives a
 * keep-alive server.
 */
static int run_exchanges(int keepalive)
{
    struct netsim_link *link = exchange_setup();
    struct tcp_conn *l, *cl = NULL, *sv = NULL;
    uint64_t done = 0, bad = 0;

    hosts[1].st.lim.tcp_conns = EXCHANGES + 64; /* room for every TIME-WAIT */
    if (tcp_listen(&hosts[1].st, PORT, 64, &l) != 0)
        abort();
    for (unsigned i = 0; i < EXCHANGES; i++) {
        if (cl == NULL) {
            if (bench_stack_connect(&hosts[0], IP(10, 0, 0, 2), PORT, &cl) != 0)
                abort();
            settle(link);
            if ((sv = bench_stack_accept(l)) == NULL)
                break;
        }
        int r = exchange(link, cl, sv, !keepalive);
        if (r < 0)
            break;
        bad += (uint64_t)r;
        if (!keepalive) {
            bench_stack_close(cl);
            cl = sv = NULL;
        }
        settle(link);
        sim_now++;
        done++;
    }
    exchange_report(keepalive ? "keepalive" : "connections", done, bad);
    if (cl != NULL) {
        tcp_close(cl, sim_now);
        tcp_close(sv, sim_now);
    }
    tcp_close(l, sim_now);
    net_stack_destroy(&hosts[0].st);
    net_stack_destroy(&hosts[1].st);
    netsim_destroy(link);
    return done != EXCHANGES || bad != 0;
}

static int report_connections(char **argv)
{
    static const char *const name[2] = {"connection", "keep-alive"};

    printf("# bench-tcp-callgrind: 2,000 exchanges of an 80-byte request and a 4 KiB response\n"
           "# sent by reference, both stacks, instructions inside the stack only. connection:\n"
           "# a new connection each (server closes first, keeps the TIME-WAIT); keep-alive:\n"
           "# one connection\n");
    printf("%-12s %12s %12s %14s %10s %16s\n", "per", "Ir", "Ir/exchange", "frames/exch.",
           "Ir/frame", "server TIME-WAIT");
    for (int i = 0; i < 2; i++) {
        const char *txt = argv[2 + 2 * i], *cg = argv[3 + 2 * i];
        double ir = bench_keyval("bench_tcp", cg, "totals");
        double n = bench_keyval("bench_tcp", txt, "exchanges");
        double frames = bench_keyval("bench_tcp", txt, "frames");
        double tw = bench_keyval("bench_tcp", txt, "server_time_wait");
        printf("%-12s %12.0f %12.0f %14.1f %10.0f %16.0f\n", name[i], ir, ir / n, frames / n,
               ir / frames, tw);
    }
    return 0;
}

/* ---- the report -------------------------------------------------------------- */


static int report(char **argv)
{
    double ir[3], bytes[3], segs[3], acks[3], copied[3], wire[3];
    const char *name[3] = {"zerocopy", "copy (baseline)", "zerocopy + TSO"};

    for (int i = 0; i < 3; i++) {
        const char *txt = argv[2 + 2 * i], *cg = argv[3 + 2 * i];
        ir[i] = bench_keyval("bench_tcp", cg, "totals");
        bytes[i] = bench_keyval("bench_tcp", txt, "payload_bytes");
        segs[i] = bench_keyval("bench_tcp", txt, "sender_segs_out");
        acks[i] = bench_keyval("bench_tcp", txt, "receiver_segs_out");
        copied[i] = bench_keyval("bench_tcp", txt, "sender_copied_bytes") + bench_keyval("bench_tcp", txt, "receiver_copied_bytes");
        wire[i] = bench_keyval("bench_tcp", txt, "receiver_segs_in_wire");
    }
    printf("# bench-tcp-callgrind: %.0f MiB one way between two net/ stacks (host, -O2),\n"
           "# checksums offloaded; instructions (callgrind Ir) inside the stack only\n",
           bytes[0] / 1048576);
    printf("%-16s %14s %9s %8s %10s %10s %8s %8s %9s %13s\n", "variant", "Ir", "Ir/byte",
           "ratio", "sent segs", "wire segs", "ACKs", "Ir/seg", "Ir/wire", "copied bytes");
    for (int i = 0; i < 3; i++)
        printf("%-16s %14.0f %9.3f %8.2f %10.0f %10.0f %8.0f %8.0f %9.0f %13.0f\n", name[i],
               ir[i], ir[i] / bytes[i], (ir[i] / bytes[i]) / (ir[1] / bytes[1]), segs[i],
               wire[i], acks[i], ir[i] / segs[i], ir[i] / wire[i], copied[i]);
    printf("sent segs: what the sender's TCP handed its device (a TSO frame counts once); "
           "wire segs: what the receiver took.\nIr/seg and Ir/wire: all instructions of both "
           "stacks (send, receive, ACKs, timers) per sent segment and per wire segment.\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "zerocopy") == 0)
        return run(1, 0);
    if (argc == 2 && strcmp(argv[1], "copy") == 0)
        return run(0, 0);
    if (argc == 2 && strcmp(argv[1], "tso") == 0)
        return run(1, 1);
    if (argc == 2 && strcmp(argv[1], "zerocopy-swcsum") == 0) {
        bench_features = 0;
        return run(1, 0);
    }
    if (argc == 2 && strcmp(argv[1], "copy-swcsum") == 0) {
        bench_features = 0;
        return run(0, 0);
    }
    if (argc == 2 && strcmp(argv[1], "connections") == 0)
        return run_exchanges(0);
    if (argc == 2 && strcmp(argv[1], "keepalive") == 0)
        return run_exchanges(1);
    if (argc == 6 && strcmp(argv[1], "conn-report") == 0)
        return report_connections(argv);
    if (argc == 8 && strcmp(argv[1], "report") == 0)
        return report(argv);
    fprintf(stderr, "usage: bench_tcp zerocopy|copy|tso|zerocopy-swcsum|copy-swcsum|connections|keepalive\n"
                    "       bench_tcp report ZC.txt ZC.callgrind COPY.txt COPY.callgrind "
                    "TSO.txt TSO.callgrind\n"
                    "       bench_tcp conn-report CONN.txt CONN.callgrind KA.txt KA.callgrind\n");
    return 2;
}
