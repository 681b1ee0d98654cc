/*
 * tests/apps/ktest/kernel/selftest.c — checks of kernel paths that no app
 * API reaches, linked into the ktest app only and built like the kernel
 * (see APP_KC in the Makefile). The system tests ask for one with the
 * `selftest=` option; ktest's main runs it before its mode=:
 *   selftest=ioapic   the PIT's IRQ 0, routed through the I/O APIC (with the
 *                     MADT override) to the last core, whose handler signals
 *                     an event that a thread on core 0 waits on: device
 *                     interrupt, cross-core wake from interrupt context.
 *   selftest=vnet     brings up virtio-net, sends an ARP request for
 *                     10.0.2.2 (QEMU user networking's gateway) from
 *                     10.0.2.15 and waits for the reply: transmit chain,
 *                     receive in place, device interrupt.
 *   selftest=vnet-mq  brings virtio-net up with a queue pair per core
 *                     (vnet_probe_pairs), each pair's interrupt routed to
 *                     its core; sends an ARP request for 10.0.9.1 on every
 *                     pair's transmit queue, prints "ready", then counts
 *                     the UDP datagrams to port 9 that arrive on each
 *                     receive queue (the system test sends them from many
 *                     source ports) until 64 came or 30 s passed; with RSS,
 *                     checks each against the queue the Toeplitz hash
 *                     names (vnet_rss_pair).
 *   selftest=pmem     takes every free page one at a time and gives them
 *                     back, then takes all it can as 32 KiB blocks, then as
 *                     pages again: freed pages merge back into blocks, and
 *                     blocks split into pages (the counts are printed).
 * A test that was asked for reports whatever the log level (kprintf); its
 * failures are errors. ktest does not use the network API, so the kernel's
 * network (kernel/net.c) is not linked and selftest=vnet has the device to
 * itself.
 */
#include <string.h>
#include <zebu.h>

#include "drivers/ioapic.h"
#include "drivers/pit.h"
#include "drivers/virtio_net.h"
#include "kernel/arch/trap.h"
#include "kernel/percpu.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/time.h"

#define VEC_SELFTEST 0x30
#define TICKS        20

static const char *selftest = "";
ZEBU_OPTION_STRING("selftest", selftest,
                   "run a kernel self-test before the app (ioapic, vnet, vnet-mq, pmem)");

static struct event tick_event;
static uint64_t ticks_on_core[MAX_CPUS];

static void pit_tick(void *ctx)
{
    (void)ctx;
    ticks_on_core[this_cpu()->id]++;
    event_signal(&tick_event);
}

static void selftest_ioapic(void)
{
    int last = cpu_count - 1;
    event_init(&tick_event);
    irq_set_handler(VEC_SELFTEST, pit_tick, NULL);
    if (ioapic_route_isa(0, VEC_SELFTEST, cpu_table[last]->apic_id) != 0) {
        pr_err("selftest", "ioapic: no I/O APIC pin for ISA IRQ 0");
        return;
    }
    uint64_t t0 = time_ns();
    pit_start_periodic(1000);
    for (int i = 0; i < TICKS; i++)
        event_wait(&tick_event);
    pit_stop();
    ioapic_mask_gsi(0);
    ioapic_mask_gsi(2);
    kprintf("selftest: ioapic: %d PIT interrupts on core %d woke a thread on core %u in %lu us\n",
            TICKS, last, this_cpu()->id, (time_ns() - t0) / 1000);
    kprintf("selftest: ioapic: interrupts taken on core %d: %lu\n", last, ticks_on_core[last]);
}

static struct vnet vnet;
static struct event vnet_irq;

static void vnet_notify(void *ctx)
{
    event_signal(ctx);
}

/* An ARP request: who has `target`, tell `sender` (RFC 826). */
static void build_arp_request(uint8_t *f, const uint8_t *mac, const uint8_t *sender,
                              const uint8_t *target)
{
    static const uint8_t arp_hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1}; /* Ethernet, IPv4, request */
    memset(f, 0xFF, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    f[13] = 0x06;
    memcpy(f + 14, arp_hdr, 8);
    memcpy(f + 22, mac, 6);
    memcpy(f + 28, sender, 4);
    memset(f + 32, 0, 6);
    memcpy(f + 38, target, 4);
    memset(f + 42, 0, 18); /* pad to 60 bytes */
}

static void selftest_vnet(void)
{
    int err = vnet_probe(&vnet, this_cpu()->apic_id, smp_platform());
    if (err != 0) {
        pr_err("selftest", "vnet: no virtio-net device came up (%d)", err);
        return;
    }
    struct vnet_pair *q = &vnet.pair[0];
    event_init(&vnet_irq);
    q->ctx = &vnet_irq;
    q->notify = vnet_notify;
    static uint8_t frame[60];
    static const uint8_t me[4] = {10, 0, 2, 15}, gw[4] = {10, 0, 2, 2};
    build_arp_request(frame, vnet.mac, me, gw);
    /* The header slice and the payload slice are separate buffers: the
     * device gets them as one descriptor chain. */
    struct netdev_slice slices[2] = {{frame, 14}, {frame + 14, sizeof(frame) - 14}};
    uint64_t t0 = time_ns();
    for (int attempt = 0; attempt < 3; attempt++) {
        vnet_transmit(q, slices, 2, NULL, NULL);
        uint64_t deadline = time_ns() + 500ull * 1000 * 1000;
        while (time_ns() < deadline) {
            struct netdev_rxbuf *b;
            uint32_t len;
            while ((b = virtq_get_used(&q->rx, &len)) != NULL) {
                const uint8_t *f = b->mem + vnet.hdr_len;
                uint32_t flen = len - vnet.hdr_len;
                int reply = flen >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 &&
                            memcmp(f + 28, gw, 4) == 0;
                if (reply) {
                    kprintf("selftest: vnet: ARP reply from 10.0.2.2 is-at "
                            "%02x:%02x:%02x:%02x:%02x:%02x after %lu us (buffer %p, in place)\n",
                            f[22], f[23], f[24], f[25], f[26], f[27], (time_ns() - t0) / 1000,
                            (void *)b->mem);
                    vnet_rx_release(q, b);
                    kprintf("selftest: vnet: %lu interrupts, %lu kicks, %lu kicks saved\n",
                            q->stats.irqs, q->rx.kicks + q->tx.kicks,
                            q->rx.kicks_saved + q->tx.kicks_saved);
                    return;
                }
                vnet_rx_release(q, b);
            }
            uint64_t now = time_ns();
            if (now < deadline && !vnet_arm(q))
                event_wait_timeout(&vnet_irq, vnet.polling ? 1000000 : deadline - now);
        }
    }
    pr_err("selftest", "vnet: no ARP reply from 10.0.2.2");
}

/* ---- selftest=vnet-mq ---- */

#define MQ_FRAMES  64
#define MQ_UDP_DST 9

struct mq_pair_state {
    uint64_t irqs, rx, tx_done, off_queue;
    int irq_core;
};

static struct mq_pair_state mq_state[VNET_MAX_PAIRS];
static struct event mq_event;

/* In the pair's interrupt, on the core it was routed to. */
static void mq_notify(void *ctx)
{
    struct mq_pair_state *st = ctx;
    st->irqs++;
    st->irq_core = (int)this_cpu()->id;
    event_signal(&mq_event);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A UDP/IPv4 datagram to port MQ_UDP_DST in frame f (len bytes) received on
 * pair i: counted, and checked against RSS's choice. Returns 1 if it was
 * one. */
static int mq_count(unsigned i, const uint8_t *f, uint32_t len)
{
    if (len < 42 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4 || f[23] != 17)
        return 0;
    const uint8_t *udp = f + 14 + (f[14] & 15) * 4;
    if (udp + 8 > f + len || (udp[2] << 8 | udp[3]) != MQ_UDP_DST)
        return 0;
    mq_state[i].rx++;
    unsigned want = vnet_rss_pair(&vnet, get32(f + 26), get32(f + 30),
                                  (uint16_t)(udp[0] << 8 | udp[1]), MQ_UDP_DST);
    mq_state[i].off_queue += vnet.rss && want != i;
    return 1;
}

/* Reaps pair i's transmit completions and received frames; returns the
 * datagrams counted. */
static int mq_drain(unsigned i)
{
    struct vnet_pair *q = &vnet.pair[i];
    struct netdev_rxbuf *b;
    uint32_t len;
    int got = 0;
    while (virtq_get_used(&q->tx, NULL) != NULL)
        mq_state[i].tx_done++;
    while ((b = virtq_get_used(&q->rx, &len)) != NULL) {
        if (len >= vnet.hdr_len)
            got += mq_count(i, b->mem + vnet.hdr_len, len - vnet.hdr_len);
        vnet_rx_release(q, b);
    }
    return got;
}

static void selftest_vnet_mq(void)
{
    uint32_t apic[MAX_CPUS];
    for (int c = 0; c < cpu_count; c++)
        apic[c] = cpu_table[c]->apic_id;
    int err = vnet_probe_pairs(&vnet, apic, (unsigned)cpu_count,
                               VNET_RSS_IPV4 | VNET_RSS_TCP4 | VNET_RSS_UDP4, smp_platform());
    if (err != 0) {
        pr_err("selftest", "vnet-mq: no virtio-net device came up (%d)", err);
        return;
    }
    event_init(&mq_event);
    static uint8_t frame[60];
    static const uint8_t me[4] = {10, 0, 9, 2}, host[4] = {10, 0, 9, 1};
    build_arp_request(frame, vnet.mac, me, host);
    struct netdev_slice slice = {frame, sizeof(frame)};
    for (unsigned i = 0; i < vnet.npairs; i++) {
        mq_state[i].irq_core = -1;
        vnet.pair[i].ctx = &mq_state[i];
        vnet.pair[i].notify = mq_notify;
        vnet_transmit(&vnet.pair[i], &slice, 1, NULL, NULL);
    }
    kprintf("selftest: vnet-mq: %u pairs on %d cores, RSS %s, ready\n", vnet.npairs, cpu_count,
            vnet.rss ? "on" : "off");
    uint64_t deadline = time_ns() + 30ull * 1000 * 1000 * 1000;
    int total = 0;
    while (total < MQ_FRAMES && time_ns() < deadline) {
        int raced = 0;
        for (unsigned i = 0; i < vnet.npairs; i++) {
            total += mq_drain(i);
            raced |= vnet_arm(&vnet.pair[i]);
        }
        if (!raced)
            event_wait_timeout(&mq_event, 10 * 1000 * 1000);
    }
    for (unsigned i = 0; i < vnet.npairs; i++) {
        mq_drain(i);
        struct mq_pair_state *st = &mq_state[i];
        kprintf("selftest: vnet-mq: pair %u: rx %lu tx_done %lu irqs %lu irq_core %d "
                "(routed to apic %u) off_queue %lu\n",
                i, st->rx, st->tx_done, st->irqs, st->irq_core, vnet.pair[i].irq_apic,
                st->off_queue);
    }
    kprintf("selftest: vnet-mq: %d datagrams, control commands %lu, failed %lu\n", total,
            vnet.ctrl_commands, vnet.ctrl_failures);
}

/* Takes 2^order-page blocks until none is left, chained through their
 * first word; returns how many. */
static unsigned take_all(unsigned order, void **list)
{
    unsigned n = 0;
    void *b;
    *list = NULL;
    while ((b = pmem_alloc(order)) != NULL) {
        *(void **)b = *list;
        *list = b;
        n++;
    }
    return n;
}

static void give_all(void *list, unsigned order)
{
    while (list != NULL) {
        void *next = *(void **)list;
        pmem_free(list, order);
        list = next;
    }
}

static void selftest_pmem(void)
{
    void *list;
    unsigned pages = take_all(0, &list);
    give_all(list, 0);
    unsigned blocks = take_all(3, &list);
    give_all(list, 3);
    unsigned again = take_all(0, &list);
    give_all(list, 0);
    kprintf("selftest: pmem: %u pages taken one by one; then %u blocks of 32 KiB (%u pages); "
            "then %u pages\n",
            pages, blocks, blocks * 8, again);
}

void selftest_run(void);

void selftest_run(void)
{
    if (strcmp(selftest, "ioapic") == 0)
        selftest_ioapic();
    else if (strcmp(selftest, "vnet") == 0)
        selftest_vnet();
    else if (strcmp(selftest, "vnet-mq") == 0)
        selftest_vnet_mq();
    else if (strcmp(selftest, "pmem") == 0)
        selftest_pmem();
    else if (selftest[0] != '\0')
        pr_warn("selftest", "unknown self-test '%s' (known: ioapic, vnet, vnet-mq, pmem)",
                selftest);
}
