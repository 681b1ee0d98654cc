/*
 * bench_lwip.c - the bulk transfer of bench_tcp.c, run through lwIP as
 * Debian ships it (liblwip-dev / liblwip0 2.1.3, shared library only), so
 * that callgrind can compare instructions per payload byte and per segment
 * between net/ and a second stack (make bench-tcp-lwip, see
 * tests/host/bench.mk and docs/BENCHMARKS.md).
 *
 * Debian's library is built for the unix port with NO_SYS=0 and
 * LWIP_TCPIP_CORE_LOCKING (its lwipopts.h is installed with it). The raw
 * API works without the tcpip thread: lwip_init() instead of tcpip_init(),
 * and every call from this one thread; the port's core-lock check is a no-op
 * while no tcpip thread is marked. The library's cyclic timers are never run
 * (no sys_check_timeouts); the harness calls tcp_tmr() every
 * TCP_TMR_INTERVAL of simulated time instead, as net_tick runs in bench_tcp.
 *
 * One lwIP instance holds both ends: two Ethernet netifs, 10.0.0.1 (A,
 * sends) and 10.0.0.2 (B, receives), joined by a netsim link with no faults
 * and no delay. Both PCBs are bound to their netif (tcp_bind_netif), so
 * each end's segments leave through its own netif and are accepted only
 * there. 16 MiB go one way, then both sides close.
 *
 * Options fixed by Debian's build, reported as they are: checksums are
 * generated and checked in software (CHECKSUM_GEN_* / CHECKSUM_CHECK_* are
 * lwIP's defaults, 1, and LWIP_CHECKSUM_CTRL_PER_NETIF is 0, so a netif
 * cannot offload them); tcp_write always copies
 * (LWIP_NETIF_TX_SINGLE_PBUF), summing the payload while it copies
 * (LWIP_CHECKSUM_ON_COPY); MSS 1460 without timestamps, 64 KiB send buffer
 * and window; malloc for every pool. No TSO: lwIP has none.
 *
 * The "device" mirrors bench_tcp.c's: linkoutput takes a reference to the
 * frame and queues it (measured, inside the stack's call); device_flush
 * copies it to the wire and drops the reference (the drop is measured:
 * the driver's transmit completion). A received frame lands in a receive
 * ring slot that becomes a custom pbuf (unmeasured, the NIC's DMA) whose
 * free function returns the slot to the ring (measured: the stack frees it).
 * The receiver takes the pbufs tcp_recv hands it without copying, queues
 * them in its recv callback, and afterwards checks the first and last byte
 * of each (unmeasured) and gives it back with tcp_recved + pbuf_free.
 *
 * Every call into lwIP that does the stack's work goes through a noinline
 * bench_stack_* wrapper; callgrind runs with --collect-atstart=no
 * --toggle-collect='bench_stack_*', as for bench_tcp.
 *
 * Usage: bench_lwip run       transfer, print "key value" lines
 *        bench_lwip report LABEL TXT CALLGRIND [LABEL TXT CALLGRIND ...]
 *                             Ir per payload byte and per segment of each
 *                             run against the first (lwIP's)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "netif/ethernet.h"
#include "bench_common.h"
#include "netsim.h"

#define TOTAL   (16u * 1024u * 1024u)
#define CHUNK   0xffffu /* tcp_write takes a u16_t length */
#define PORT    5001
#define RX_SLOT 2048
#define RECVQ   4096

#if !LWIP_SUPPORT_CUSTOM_PBUF || NO_SYS || LWIP_CHECKSUM_CTRL_PER_NETIF
#error "bench_lwip expects Debian's liblwip-dev 2.1.3 build options (see the header comment)"
#endif

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i * 7u + (i >> 9) + (i >> 17));
}

/* ---- the two ends and their "device" -------------------------------------- */

struct lw_end;

struct lw_rxslot {
    struct pbuf_custom pc; /* first: the pbuf lwIP frees is the slot */
    struct lw_rxslot *free_next;
    struct lw_end *e;
    uint8_t mem[RX_SLOT];
};

struct lw_end {
    struct netif nif;
    struct netsim_link *link;
    int end;
    struct pbuf *txq[RECVQ]; /* frames handed to the device, not yet on the wire */
    size_t txq_len;
    struct lw_rxslot *rx_free;
    long rx_live;
    uint64_t tcp_frames_out, data_frames_out;
};

static struct lw_end ends[2];
static uint64_t sim_now;

/* The device's transmit, called inside the stack: keep the frame. */
static err_t lw_linkoutput(struct netif *nif, struct pbuf *p)
{
    struct lw_end *e = nif->state;

    if (e->txq_len == RECVQ)
        abort();
    pbuf_ref(p);
    e->txq[e->txq_len++] = p;
    return ERR_OK;
}

static err_t lw_netif_init(struct netif *nif)
{
    struct lw_end *e = nif->state;

    nif->name[0] = 'e';
    nif->name[1] = (char)('0' + e->end);
    nif->mtu = 1500;
    nif->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(nif->hwaddr, (uint8_t[]){0x52, 0x54, 0, 0, 0, (uint8_t)(0x0a + e->end)}, 6);
    nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    nif->output = etharp_output;
    nif->linkoutput = lw_linkoutput;
    return ERR_OK;
}

/* A receive ring slot back to the ring (called by pbuf_free in lwIP). */
static void lw_rx_release(struct pbuf *p)
{
    struct lw_rxslot *s = (struct lw_rxslot *)p;

    s->e->rx_live--;
    s->free_next = s->e->rx_free;
    s->e->rx_free = s;
}

/* ---- the measured entry points (callgrind --toggle-collect) -------------- */

#define MEASURED __attribute__((noinline, noclone))

MEASURED void bench_stack_input(struct lw_end *e, struct pbuf *p);
MEASURED void bench_stack_tick(void);
MEASURED void bench_stack_tx_done(struct pbuf *p);
MEASURED long bench_stack_send(struct tcp_pcb *pcb, const uint8_t *src, size_t n);
MEASURED void bench_stack_recv_done(struct tcp_pcb *pcb, struct pbuf *p);
MEASURED void bench_stack_close(struct tcp_pcb *pcb);

MEASURED void bench_stack_input(struct lw_end *e, struct pbuf *p)
{
    if (e->nif.input(p, &e->nif) != ERR_OK)
        pbuf_free(p);
}

MEASURED void bench_stack_tick(void)
{
    tcp_tmr();
}

/* The device's transmit completion: its reference goes. */
MEASURED void bench_stack_tx_done(struct pbuf *p)
{
    pbuf_free(p);
}

/* As much of n as the send buffer and queue take; -1 when nothing fits. */
MEASURED long bench_stack_send(struct tcp_pcb *pcb, const uint8_t *src, size_t n)
{
    size_t room = tcp_sndbuf(pcb);

    if (n > room)
        n = room;
    if (n == 0 || tcp_write(pcb, src, (u16_t)n, 0) != ERR_OK)
        return -1;
    tcp_output(pcb);
    return (long)n;
}

MEASURED void bench_stack_recv_done(struct tcp_pcb *pcb, struct pbuf *p)
{
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
}

MEASURED void bench_stack_close(struct tcp_pcb *pcb)
{
    tcp_close(pcb);
}

/* ---- the link -------------------------------------------------------------- */

/* Not measured: what the NIC and the wire do. Counts the TCP frames each
 * end sends and those that carry payload. */
static void device_flush(struct lw_end *e)
{
    static uint8_t frame[1600];

    for (size_t i = 0; i < e->txq_len; i++) {
        struct pbuf *p = e->txq[i];
        size_t len = p->tot_len;
        if (len > sizeof(frame))
            abort();
        pbuf_copy_partial(p, frame, (u16_t)len, 0);
        bench_stack_tx_done(p);
        if (len >= 54 && frame[12] == 0x08 && frame[13] == 0x00 && frame[23] == 6) {
            size_t ihl = (frame[14] & 15u) * 4, tot = (size_t)frame[16] << 8 | frame[17];
            size_t doff = (frame[14 + ihl + 12] >> 4) * 4u;
            e->tcp_frames_out++;
            e->data_frames_out += tot > ihl + doff;
        }
        netsim_send(e->link, e->end, frame, len, sim_now);
    }
    e->txq_len = 0;
}

static void deliver(void *arg, int to_end, const uint8_t *frame, size_t len)
{
    struct lw_end *e = &ends[to_end];
    struct lw_rxslot *s = e->rx_free;

    (void)arg;
    if (s == NULL) {
        s = malloc(sizeof(*s));
        if (s == NULL)
            abort();
        s->e = e;
        s->pc.custom_free_function = lw_rx_release;
    } else {
        e->rx_free = s->free_next;
    }
    if (len > RX_SLOT)
        abort();
    memcpy(s->mem, frame, len);
    struct pbuf *p = pbuf_alloced_custom(PBUF_RAW, (u16_t)len, PBUF_REF, &s->pc, s->mem, RX_SLOT);
    if (p == NULL)
        abort();
    e->rx_live++;
    bench_stack_input(e, p);
}

/* Move frames and run the TCP timer (every TCP_TMR_INTERVAL simulated ms)
 * until the link and both transmit queues are empty. */
static uint64_t next_tmr = TCP_TMR_INTERVAL;

static void settle(struct netsim_link *link)
{
    for (int guard = 0; guard < 1000; guard++) {
        device_flush(&ends[0]);
        device_flush(&ends[1]);
        if (sim_now >= next_tmr) {
            bench_stack_tick();
            next_tmr += TCP_TMR_INTERVAL;
        }
        if (netsim_poll(link, sim_now, deliver, NULL) == 0 && ends[0].txq_len == 0 &&
            ends[1].txq_len == 0)
            return;
    }
}

/* ---- the application ------------------------------------------------------- */

struct lw_app {
    struct tcp_pcb *tx, *rx;
    int connected, eof;
    struct pbuf *q[RECVQ];
    size_t qhead, qlen;
};

static struct lw_app app;

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    (void)pcb;
    (void)err;
    if (p == NULL) {
        app.eof = 1;
        return ERR_OK;
    }
    if (app.qlen == RECVQ)
        return ERR_MEM; /* lwIP keeps it as refused data */
    app.q[(app.qhead + app.qlen++) % RECVQ] = p;
    return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || pcb == NULL)
        return ERR_VAL;
    app.rx = pcb;
    tcp_recv(pcb, on_recv);
    return ERR_OK;
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    (void)pcb;
    app.connected = err == ERR_OK;
    return ERR_OK;
}

static void end_init(struct lw_end *e, int end, const char *ip, struct netsim_link *link)
{
    ip4_addr_t addr, mask, gw;

    e->end = end;
    e->link = link;
    ip4addr_aton(ip, &addr);
    ip4addr_aton("255.255.255.0", &mask);
    ip4_addr_set_zero(&gw);
    if (netif_add(&e->nif, &addr, &mask, &gw, e, lw_netif_init, ethernet_input) == NULL)
        abort();
    netif_set_up(&e->nif);
    netif_set_link_up(&e->nif);
}

static int run(void)
{
    struct netsim_cfg cfg = {.seed = 1};
    struct netsim_link *link = netsim_create(&cfg);
    uint8_t *src = malloc(TOTAL);
    uint64_t sent = 0, rcvd = 0, bad = 0, checked = 0, chunks = 0;
    ip_addr_t dst;

    if (link == NULL || src == NULL)
        abort();
    for (uint64_t i = 0; i < TOTAL; i++)
        src[i] = pattern(i);
    lwip_init();
    end_init(&ends[0], 0, "10.0.0.1", link);
    end_init(&ends[1], 1, "10.0.0.2", link);
    settle(link); /* gratuitous ARPs */

    struct tcp_pcb *lpcb = tcp_new();
    if (lpcb == NULL || tcp_bind(lpcb, IP_ADDR_ANY, PORT) != ERR_OK)
        abort();
    tcp_bind_netif(lpcb, &ends[1].nif);
    lpcb = tcp_listen(lpcb);
    if (lpcb == NULL)
        abort();
    tcp_accept(lpcb, on_accept);
    app.tx = tcp_new();
    if (app.tx == NULL)
        abort();
    tcp_bind_netif(app.tx, &ends[0].nif);
    IP_ADDR4(&dst, 10, 0, 0, 2);
    if (tcp_connect(app.tx, &dst, PORT, on_connected) != ERR_OK)
        abort();
    for (int i = 0; i < 100 && (app.rx == NULL || !app.connected); i++) {
        settle(link);
        sim_now++;
    }
    if (app.rx == NULL || !app.connected) {
        fprintf(stderr, "bench_lwip: no connection\n");
        return 1;
    }
    int shut = 0;
    for (uint64_t iter = 0; rcvd < TOTAL || !app.eof; iter++) {
        if (iter > 10000000) {
            fprintf(stderr, "bench_lwip: stuck at %" PRIu64 " of %u bytes\n", rcvd, TOTAL);
            return 1;
        }
        while (sent < TOTAL) {
            size_t n = TOTAL - sent < CHUNK ? TOTAL - sent : CHUNK;
            long r = bench_stack_send(app.tx, src + sent, n);
            if (r <= 0)
                break;
            sent += (size_t)r;
        }
        if (sent == TOTAL && !shut) {
            bench_stack_close(app.tx); /* the FIN; nothing comes back to it */
            shut = 1;
        }
        settle(link);
        while (app.qlen > 0) {
            struct pbuf *p = app.q[app.qhead];
            size_t n = p->tot_len;
            app.qhead = (app.qhead + 1) % RECVQ;
            app.qlen--;
            if (n > 0) {
                bad += pbuf_get_at(p, 0) != pattern(rcvd);
                bad += pbuf_get_at(p, (u16_t)(n - 1)) != pattern(rcvd + n - 1);
                checked += 2;
            }
            bench_stack_recv_done(app.rx, p);
            rcvd += n;
            chunks++;
        }
        settle(link);
        sim_now++; /* a millisecond per round, as in bench_tcp */
    }
    printf("mode lwip\nlwip_version %s\n", LWIP_VERSION_STRING);
    printf("payload_bytes %" PRIu64 "\n", rcvd);
    printf("sender_segs_out %" PRIu64 "\n", ends[0].tcp_frames_out);
    printf("sender_data_segs_out %" PRIu64 "\n", ends[0].data_frames_out);
    printf("receiver_segs_in_wire %" PRIu64 "\n", ends[0].tcp_frames_out);
    printf("receiver_segs_out %" PRIu64 "\n", ends[1].tcp_frames_out);
    printf("sender_copied_bytes %" PRIu64 "\n", sent); /* tcp_write copies (TX_SINGLE_PBUF) */
    printf("receiver_copied_bytes 0\n");
    printf("recv_chunks %" PRIu64 "\nsampled_bytes %" PRIu64 "\nbad_bytes %" PRIu64 "\n", chunks,
           checked, bad);
    printf("sim_ms %" PRIu64 "\n", sim_now);
    bench_stack_close(app.rx);
    tcp_close(lpcb);
    settle(link);
    printf("rx_slots_outstanding %ld %ld\n", ends[0].rx_live, ends[1].rx_live);
    netsim_destroy(link);
    free(src);
    return bad != 0 || rcvd != TOTAL;
}

/* ---- the report -------------------------------------------------------------- */


/* argv: LABEL TXT CALLGRIND triples; the first is the reference (lwIP). */
static int report(int argc, char **argv)
{
    double ref = 0;

    printf("# bench-tcp-lwip: 16 MiB one way between two stacks (host), instructions\n"
           "# (callgrind Ir) inside the stack only; target: Zebu Ir/byte <= 0.7x lwIP's\n");
    printf("%-28s %13s %8s %9s %9s %7s %8s %9s %8s\n", "stack / variant", "Ir", "Ir/byte",
           "vs lwIP", "sent segs", "ACKs", "Ir/seg", "wire segs", "Ir/wire");
    for (int i = 2; i + 2 < argc; i += 3) {
        const char *label = argv[i], *txt = argv[i + 1], *cg = argv[i + 2];
        double ir = bench_keyval("bench_lwip", cg, "totals"), bytes = bench_keyval("bench_lwip", txt, "payload_bytes");
        double segs = bench_keyval("bench_lwip", txt, "sender_segs_out"), wire = bench_keyval("bench_lwip", txt, "receiver_segs_in_wire");
        double acks = bench_keyval("bench_lwip", txt, "receiver_segs_out");
        if (i == 2)
            ref = ir / bytes;
        printf("%-28s %13.0f %8.3f %9.2f %9.0f %7.0f %8.0f %9.0f %8.0f\n", label, ir, ir / bytes,
               (ir / bytes) / ref, segs, acks, ir / segs, wire, ir / wire);
    }
    printf("sent segs: TCP segments the sender handed its device (a TSO frame counts once); "
           "wire segs: those the receiver took.\nIr/seg, Ir/wire: both stacks' instructions "
           "(send, receive, ACKs, timers) per sent and per wire segment. lwIP has no TSO.\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "run") == 0)
        return run();
    if (argc >= 5 && (argc - 2) % 3 == 0 && strcmp(argv[1], "report") == 0)
        return report(argc, argv);
    fprintf(stderr, "usage: bench_lwip run\n"
                    "       bench_lwip report LABEL TXT CALLGRIND [LABEL TXT CALLGRIND ...]\n");
    return 2;
}
