/*
 * kernel/net.c — glue between net/ (portable) and the kernel.
 *
 * virtio-net sits under net/netdev.h's boundary (struct netdev: receive
 * buffers up in place or copied when the ring runs low, frames down as
 * descriptor chains, the transmit backlog, software checksums where the
 * device has no CSUM). What stays here is the kernel's part: options, the
 * network thread (polls with a budget, runs net/'s timers, and sleeps on
 * an event until the device's interrupt or the next deadline), the exit
 * drain and the app's UDP and buffer calls.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zebu.h>

#include "drivers/platform.h"
#include "drivers/virtio_net.h"
#include "kernel/arch/cpu.h"
#include "kernel/kmalloc.h"
#include "kernel/net.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/spinlock.h"
#include "kernel/time.h"
#include "net/arp.h"
#include "net/config.h"
#include "net/dhcp.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "net/netbuf.h"
#include "net/netdev.h"
#include "net/stack.h"
#include "net/tcp.h"
#include "net/udp.h"

#define RX_BUDGET 64

static const char *opt_ip = "", *opt_gw = "", *opt_dns = "";
ZEBU_OPTION_STRING("ip", opt_ip, "static IPv4 address/prefix, e.g. 10.0.0.2/24 (default: DHCP)");
ZEBU_OPTION_STRING("gw", opt_gw, "default gateway with ip=");
ZEBU_OPTION_STRING("dns", opt_dns, "name server with ip= (recorded only)");
static long tcp_msl_ms = 30000;
ZEBU_OPTION_INT("tcp.msl_ms", tcp_msl_ms, 1, 600000,
                "TCP maximum segment lifetime: TIME-WAIT lasts twice this (ms)");
static long reasm_timeout_ms = 30000;
ZEBU_OPTION_INT("ip.reasm_timeout_ms", reasm_timeout_ms, 1, 600000,
                "drop a fragmented IPv4 datagram still incomplete this long after its first "
                "fragment (ms)");
static long tcp_zero_window_ms;
ZEBU_OPTION_INT("tcp.zero_window_ms", tcp_zero_window_ms, 0, 86400000,
                "abort a TCP connection whose peer keeps its window at zero this long while data "
                "waits for it (ms; 0: never, as RFC 9293 has it; apps may set their own)");
static const char *opt_cc = "";
ZEBU_OPTION_STRING("tcp.cc", opt_cc, "TCP congestion control: reno (NewReno, default) or cubic");
static bool tcp_syncookies = true;
ZEBU_OPTION_BOOL("tcp.syncookies", tcp_syncookies,
                 "answer SYNs with SYN cookies when the SYN cache is full (off: evict the oldest)");
static bool net_stats_on_exit;
ZEBU_OPTION_BOOL("net.stats", net_stats_on_exit, "print network counters when the app exits");

/*
 * One struct knet per stack. With RSS (multiqueue virtio-net, one queue
 * pair per core), core i runs stack i on pair i: its own connections,
 * timers, receive buffers and network thread, nothing shared on the data
 * path. The device hashes TCP/IPv4 only, so every other frame (ARP, UDP,
 * ICMP, DHCP, fragments) lands on pair 0: stack 0 owns the address (DHCP or
 * ip=) and ARP, and the other stacks are replicas that carry TCP. A
 * replica takes the address when stack 0 publishes it (addr_seq) and every
 * ARP mapping stack 0 learns from the wire (net_platform.arp_learned, a
 * small queue per replica), so a replica's own ARP request, answered to
 * pair 0, still resolves. Without RSS there is one stack, on core 0, and
 * calls from other cores move to it (knet_enter_core, counted).
 */
#define ARP_UPDATES 32
#define STEERED_MAX 32

struct arp_update {
    uint32_t ip;
    uint8_t mac[6];
};

/* A TCP segment reassembled from fragments on another stack (see
 * plat_steer_tcp). */
struct steered {
    struct netbuf *nb;
    struct ip4_info ip;
};

struct knet {
    int core; /* its network thread, its pair's interrupt, its calls */
    struct vnet_pair *pair;
    struct netdev nd;
    struct event work; /* the pair's interrupt, knet_kick, updates from stack 0 */
    struct net_stack stack;
    struct net_iface iface;
    struct net_platform platform;
    uint64_t rng_state;
    uint64_t wake_at; /* when the thread will next look at the timers (ms) */
    struct thread *thread;
    uint64_t api_forwarded; /* calls moved here from another core */
    uint64_t accepted;      /* connections the app accepted (zebu_tcp_accept) */
    /* Replicas: ARP mappings stack 0 learned, and the address seen. */
    struct spinlock lock;
    struct arp_update arp_q[ARP_UPDATES];
    unsigned arp_n;
    uint64_t arp_q_lost;
    unsigned addr_seen;
    /* TCP segments from fragments another stack reassembled (lock). */
    struct steered steer_q[STEERED_MAX];
    unsigned steer_n;
    uint64_t steered_in, steer_lost;
};

static struct vnet vnet;
static struct knet *knets[VNET_MAX_PAIRS];
static unsigned nknets;
static int net_up;
static uint32_t announced_ip;
/* Stack 0's address as published to the replicas (addr_lock). */
static struct spinlock addr_lock;
static unsigned addr_seq;
static uint32_t pub_ip, pub_mask, pub_gw, pub_dns;
static long rx_copy_at;
ZEBU_OPTION_INT("net.rx_copy_at", rx_copy_at, 0, 65536,
                "copy received frames once this many receive buffers are held "
                "(0: three quarters of the ring; a low value exercises the copying path)");
static bool per_core = true;
ZEBU_OPTION_BOOL("net.per_core", per_core,
                 "a network stack per core where the device has RSS (off: one, on core 0)");
static uint64_t accept_nomem; /* handshakes completed, then reset: no memory for the handle */

uint64_t knet_now_ms(void)
{
    return time_ns() / 1000000;
}

/* ---- platform for net/ ---- */

static struct netbuf *plat_tx_alloc(void *ctx, size_t headroom, size_t len)
{
    (void)ctx;
    return nbuf_alloc_heap(headroom, len);
}

static uint32_t plat_random32(void *ctx)
{
    struct knet *k = ctx;
    /* splitmix64 over the TSC: differs between boots, cheap, not secret. */
    uint64_t z = (k->rng_state += 0x9E3779B97F4A7C15ull ^ cpu_rdtsc());
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)(z ^ (z >> 31));
}

static void plat_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    printk(level <= NET_LOG_ERR ? LOG_ERR : level == NET_LOG_WARN ? LOG_WARN
           : level == NET_LOG_INFO ? LOG_INFO : LOG_DEBUG, "net", "%s", msg);
}

/* Stack 0 learned ip -> mac from the wire: every replica gets it. */
static void plat_arp_learned(void *ctx, struct net_iface *ifc, uint32_t ip, const uint8_t mac[6])
{
    (void)ctx;
    (void)ifc;
    for (unsigned i = 1; i < nknets; i++) {
        struct knet *k = knets[i];
        uint64_t f = spin_lock_irqsave(&k->lock);
        if (k->arp_n < ARP_UPDATES) {
            k->arp_q[k->arp_n].ip = ip;
            memcpy(k->arp_q[k->arp_n].mac, mac, 6);
            k->arp_n++;
        } else {
            k->arp_q_lost++; /* the replica asks again: its request is repeated */
        }
        spin_unlock_irqrestore(&k->lock, f);
        event_signal(&k->work);
    }
}

/* An active open on stack k takes a local port whose hash brings the
 * peer's packets back to k's pair. */
static int plat_port_ok(void *ctx, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    struct knet *k = ctx;
    return vnet_rss_pair(&vnet, rip, lip, rport, lport) == k->pair->index;
}

/* RSS hashes TCP by ports, which fragments do not carry: they land on pair
 * 0, and stack 0 reassembles them. A segment of a flow that lives on
 * another core goes there (a reset from a stack without the flow would
 * end the connection). The buffer is a heap copy: any core may free it. */
static int plat_steer_tcp(void *ctx, struct net_iface *ifc, struct netbuf *nb,
                          const struct ip4_info *ip)
{
    struct knet *self = ctx;
    (void)ifc;
    if (nknets <= 1 || nb->len < 4)
        return 0;
    uint16_t sport = (uint16_t)(nb->data[0] << 8 | nb->data[1]);
    uint16_t dport = (uint16_t)(nb->data[2] << 8 | nb->data[3]);
    unsigned q = vnet_rss_pair(&vnet, ip->src, ip->dst, sport, dport);
    if (q == self->pair->index || q >= nknets)
        return 0;
    struct knet *k = knets[q];
    uint64_t f = spin_lock_irqsave(&k->lock);
    int room = k->steer_n < STEERED_MAX;
    if (room)
        k->steer_q[k->steer_n++] = (struct steered){nb, *ip};
    else
        k->steer_lost++; /* TCP sends it again */
    spin_unlock_irqrestore(&k->lock, f);
    if (room)
        event_signal(&k->work);
    else
        nbuf_put(nb);
    return 1;
}

/* Segments other stacks handed over, into this stack's TCP. */
static void take_steered(struct knet *k, uint64_t now)
{
    if (__atomic_load_n(&k->steer_n, __ATOMIC_RELAXED) == 0)
        return;
    struct steered q[STEERED_MAX];
    uint64_t f = spin_lock_irqsave(&k->lock);
    unsigned n = k->steer_n;
    memcpy(q, k->steer_q, n * sizeof(q[0]));
    k->steer_n = 0;
    k->steered_in += n;
    spin_unlock_irqrestore(&k->lock, f);
    for (unsigned i = 0; i < n; i++)
        tcp_input(&k->stack, &k->iface, q[i].nb, &q[i].ip, now);
}

/* ---- the device (net/netdev.h does the rest) ---- */

static void device_notify(void *ctx)
{
    struct knet *k = (struct knet *)((char *)ctx - offsetof(struct knet, nd));
    event_signal(&k->work);
}

/* Sleeps until the device interrupts, knet_kick, or ms pass. */
static void device_wait(struct knet *k, uint64_t ms)
{
    if (vnet_arm(k->pair))
        return; /* work raced in: poll again */
    if (vnet.polling)
        thread_sleep_ns((ms < 1 ? ms : 1) * 1000000);
    else
        event_wait_timeout(&k->work, ms * 1000000);
}

/* ---- the network threads ---- */

/* Stack 0: log a new address and publish it to the replicas. */
static void announce_address(struct knet *k)
{
    struct net_iface *ifc = &k->iface;
    if (ifc->ip == announced_ip)
        return;
    announced_ip = ifc->ip;
    char ip[16], gw[16];
    net_format_ip4(ifc->ip, ip, sizeof(ip));
    net_format_ip4(ifc->gw, gw, sizeof(gw));
    if (ifc->ip != 0)
        pr_info("net", "%s %s/%d gw %s (%s)", ifc->name, ip, net_mask_to_prefix(ifc->mask), gw,
                opt_ip[0] ? "static" : "dhcp");
    uint64_t f = spin_lock_irqsave(&addr_lock);
    pub_ip = ifc->ip;
    pub_mask = ifc->mask;
    pub_gw = ifc->gw;
    pub_dns = ifc->dns;
    __atomic_add_fetch(&addr_seq, 1, __ATOMIC_RELEASE);
    spin_unlock_irqrestore(&addr_lock, f);
    for (unsigned i = 1; i < nknets; i++)
        event_signal(&knets[i]->work);
    __atomic_store_n(&net_up, ifc->ip != 0, __ATOMIC_RELEASE);
}

/* A replica: take stack 0's address and ARP mappings. */
static void follow_stack0(struct knet *k, uint64_t now)
{
    unsigned seq = __atomic_load_n(&addr_seq, __ATOMIC_ACQUIRE);
    if (seq != k->addr_seen) {
        uint64_t f = spin_lock_irqsave(&addr_lock);
        struct net_iface src = {0};
        src.ip = pub_ip;
        src.mask = pub_mask;
        src.gw = pub_gw;
        src.dns = pub_dns;
        unsigned seen = addr_seq;
        spin_unlock_irqrestore(&addr_lock, f);
        net_iface_mirror_addr(&k->iface, &src);
        __atomic_store_n(&k->addr_seen, seen, __ATOMIC_RELEASE);
    }
    if (__atomic_load_n(&k->arp_n, __ATOMIC_RELAXED) == 0)
        return;
    struct arp_update q[ARP_UPDATES];
    uint64_t f = spin_lock_irqsave(&k->lock);
    unsigned n = k->arp_n;
    memcpy(q, k->arp_q, n * sizeof(q[0]));
    k->arp_n = 0;
    spin_unlock_irqrestore(&k->lock, f);
    for (unsigned i = 0; i < n; i++)
        arp_learn(&k->stack, &k->iface, q[i].ip, q[i].mac, now);
}

static struct knet *knet_of(int core)
{
    return nknets == 0 ? NULL : knets[core >= 0 && (unsigned)core < nknets ? core : 0];
}

struct net_stack *knet_stack(void)
{
    struct knet *k = knet_of((int)this_cpu()->id);
    return k == NULL ? NULL : &k->stack;
}

struct net_stack *knet_stack_at(unsigned i)
{
    return i < nknets ? &knets[i]->stack : NULL;
}

unsigned knet_count(void)
{
    return nknets;
}

int knet_home(int core)
{
    return nknets == 0 ? 0 : knet_of(core)->core;
}

void knet_kick(void)
{
    struct knet *k = knet_of((int)this_cpu()->id);
    if (k != NULL && net_next_deadline(&k->stack) < k->wake_at)
        event_signal(&k->work);
}

int knet_enter_core(int core)
{
    int here = (int)this_cpu()->id;
    if (here == core)
        return -1;
    struct knet *k = knet_of(core);
    if (k != NULL)
        __atomic_add_fetch(&k->api_forwarded, 1, __ATOMIC_RELAXED);
    return thread_move(core);
}

int knet_enter(void)
{
    return knet_enter_core(0);
}

void knet_leave(int home)
{
    if (home >= 0)
        thread_move(home);
}

static void *net_thread(void *arg)
{
    struct knet *k = arg;
    uint64_t last_tick = 0;
    for (;;) {
        if (k->core != 0)
            follow_stack0(k, knet_now_ms());
        take_steered(k, knet_now_ms());
        int got = netdev_poll(&k->nd, RX_BUDGET, knet_now_ms());
        uint64_t now = knet_now_ms();
        /* At deadlines, and at least once a second: TCP's timer queue
         * audits itself on a tick (net/tcp_tq.c). */
        if (now >= net_next_deadline(&k->stack) || now >= last_tick + 1000) {
            net_tick(&k->stack, now);
            last_tick = now;
        }
        if (k->core == 0)
            announce_address(k);
        if (got == RX_BUDGET) {
            thread_yield(); /* more to do: let the app run first */
            continue;
        }
        uint64_t deadline = net_next_deadline(&k->stack);
        uint64_t wait_ms = deadline == NET_NO_DEADLINE || deadline <= now ? 1000 : deadline - now;
        if (deadline != NET_NO_DEADLINE && deadline <= now)
            wait_ms = 1;
        if (wait_ms > 1000)
            wait_ms = 1000;
        wait_ms = netdev_max_sleep_ms(&k->nd, wait_ms);
        k->wake_at = now + wait_ms;
        device_wait(k, wait_ms);
        k->wake_at = 0;
    }
    return NULL;
}

static int configure(struct knet *k)
{
    if (opt_ip[0] == '\0') {
        if (opt_gw[0] != '\0')
            pr_warn("net", "gw= without ip= is ignored: the address comes from DHCP");
        return dhcp_start(&k->stack, &k->iface, knet_now_ms());
    }
    char line[160];
    snprintf(line, sizeof(line), "ip=%s%s%s%s%s", opt_ip, opt_gw[0] ? " gw=" : "", opt_gw,
             opt_dns[0] ? " dns=" : "", opt_dns);
    struct net_static_config cfg;
    if (net_config_parse(line, &cfg) != 0 || net_config_apply(&k->iface, &cfg) != 0) {
        pr_err("net", "option 'ip'/'gw'/'dns': '%s' is not a usable IPv4 configuration", line);
        return -EINVAL;
    }
    return 0;
}

/*
 * A connection is a 1 KiB heap object that outlives its socket by 2 MSL in
 * TIME-WAIT when the app closes first. The heap keeps the pages of a size
 * class once it has carved them, so a minute of Connection: close traffic
 * would otherwise turn memory that thread stacks and buffers need into
 * TIME-WAIT objects for good. Connections may take a sixteenth of the
 * memory free now (the table then recycles its oldest TIME-WAIT entry),
 * shared between the stacks: the default 1024 from 16 MiB free, 99 in
 * -m 3M, 35 in -m 2M.
 */
#define CONN_MEM_SHARE 16
#define CONN_BYTES     1024

static long tcp_max_conns;
ZEBU_OPTION_INT("tcp.max_conns", tcp_max_conns, 0, 1000000,
                "TCP connections the table holds, listeners and TIME-WAIT included, per stack "
                "(0: 1024, fewer in a small VM; a server for many idle clients raises it)");

static void limit_connections(struct net_stack *st, unsigned stacks)
{
    if (tcp_max_conns > 0) { /* the operator's word: about 1.2 KiB of heap each, idle */
        st->lim.tcp_conns = (unsigned)tcp_max_conns;
        return;
    }
    struct pmem_stats ps;
    pmem_get_stats(&ps);
    uint64_t n = ps.free_bytes / CONN_MEM_SHARE / CONN_BYTES / stacks;
    if (n < 16)
        n = 16;
    if (n < st->lim.tcp_conns)
        st->lim.tcp_conns = (unsigned)n;
}

static int tcp_cc(void)
{
    if (strcmp(opt_cc, "cubic") == 0)
        return TCP_CC_CUBIC;
    if (opt_cc[0] != '\0' && strcmp(opt_cc, "reno") != 0) {
        pr_err("net", "option 'tcp.cc': '%s' is not reno or cubic", opt_cc);
        return -EINVAL;
    }
    return TCP_CC_RENO;
}

/* Stack i on pair i, its thread on core i (not started yet). */
static struct knet *knet_create(unsigned i, int cc)
{
    struct knet *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return NULL;
    k->core = (int)i;
    k->pair = &vnet.pair[i];
    struct netdev_info info;
    vnet_netdev_info(&vnet, &info);
    netdev_init(&k->nd, &vnet_netdev_ops, k->pair, &info, (unsigned)rx_copy_at);
    event_init(&k->work);
    k->platform = (struct net_platform){
        .tx_alloc = plat_tx_alloc,
        .random32 = plat_random32,
        .log = plat_log,
        .arp_learned = i == 0 && vnet.npairs > 1 ? plat_arp_learned : NULL,
        .port_ok = vnet.npairs > 1 ? plat_port_ok : NULL,
        .steer_tcp = vnet.npairs > 1 ? plat_steer_tcp : NULL,
        .ctx = k,
    };
    k->rng_state = cpu_rdtsc() ^ ((uint64_t)i << 56);
    struct net_stack *st = &k->stack;
    net_stack_init(st, &k->platform);
    st->lim.tcp_cc = cc;
    st->lim.tcp_msl_ms = (uint32_t)tcp_msl_ms;
    st->lim.tcp_zero_window_ms = (uint32_t)tcp_zero_window_ms;
    st->lim.reasm_timeout_ms = (uint32_t)reasm_timeout_ms;
    st->lim.tcp_syncookies = tcp_syncookies;
    netdev_apply_limits(&k->nd, st);
    limit_connections(st, vnet.npairs);
    netdev_iface_init(&k->nd, &k->iface, "eth0");
    net_stack_add_iface(st, &k->iface);
    k->pair->ctx = &k->nd;
    k->pair->tx_done = netdev_tx_done;
    k->pair->notify = device_notify;
    return k;
}

void knet_start(void)
{
    uint32_t apic[VNET_MAX_PAIRS];
    unsigned cores = per_core ? (unsigned)cpu_count : 1;
    if (cores > VNET_MAX_PAIRS)
        cores = VNET_MAX_PAIRS;
    for (unsigned i = 0; i < cores; i++)
        apic[i] = cpu_table[i]->apic_id;
    int err = vnet_probe_pairs(&vnet, apic, cores, VNET_RSS_TCP4 | VNET_PAIRS_NEED_RSS,
                               smp_platform());
    if (err == -ENODEV) {
        if (opt_ip[0] != '\0')
            pr_warn("net", "ip= given but there is no network device");
        return;
    }
    if (err != 0) {
        pr_err("net", "virtio-net did not come up (%d)", err);
        return;
    }
    int cc = tcp_cc();
    if (cc < 0) {
        console_flush();
        platform_exit(ZEBU_EXIT_USAGE);
    }
    for (unsigned i = 0; i < vnet.npairs; i++) {
        knets[i] = knet_create(i, cc);
        if (knets[i] == NULL)
            panic("net: no memory for network stack %u", i);
    }
    if (configure(knets[0]) != 0) {
        console_flush();
        platform_exit(ZEBU_EXIT_USAGE);
    } /* a malformed option stops the boot */
    /* Receiving starts now: every stack is set up. */
    for (unsigned i = 0; i < vnet.npairs; i++)
        vnet.pair[i].rx_deliver = netdev_rx;
    __atomic_store_n(&nknets, vnet.npairs, __ATOMIC_RELEASE);
    announce_address(knets[0]);
    for (unsigned i = 0; i < nknets; i++) {
        struct thread *t = thread_create(net_thread, knets[i], (int)i, "net", 0);
        if (t == NULL)
            panic("net: cannot start the network thread");
        knets[i]->thread = t;
        thread_detach(t);
    }
    if (nknets > 1)
        pr_info("net", "a stack per core on %u cores (RSS over TCP/IPv4; the rest on core 0)",
                nknets);
}

#define COUNTERS_MAX 8192 /* the whole dump, with every drop reason non-zero */

/* Per-stack lines after the totals (more than one stack). */
static int format_cores(char *buf, size_t size)
{
    size_t n = 0;
    for (unsigned i = 0; i < nknets && n < size; i++) {
        struct knet *k = knets[i];
        int w = snprintf(buf + n, size - n,
                         "core %u: rx %llu packets, tx %llu packets, connections accepted %llu, "
                         "opened %llu, interrupts %llu, calls moved here %llu, segments from "
                         "fragments handed here %llu (lost %llu)\n",
                         i, (unsigned long long)k->iface.cnt.rx_packets,
                         (unsigned long long)k->iface.cnt.tx_packets,
                         (unsigned long long)__atomic_load_n(&k->accepted, __ATOMIC_RELAXED),
                         (unsigned long long)k->stack.tcp.conns_opened,
                         (unsigned long long)k->pair->stats.irqs,
                         (unsigned long long)__atomic_load_n(&k->api_forwarded, __ATOMIC_RELAXED),
                         (unsigned long long)__atomic_load_n(&k->steered_in, __ATOMIC_RELAXED),
                         (unsigned long long)__atomic_load_n(&k->steer_lost, __ATOMIC_RELAXED));
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return (int)(n < size ? n : size);
}

static uint64_t forwarded_total(void)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < nknets; i++)
        sum += __atomic_load_n(&knets[i]->api_forwarded, __ATOMIC_RELAXED);
    return sum;
}

void knet_print_counters(void)
{
    /* From the heap, not the image: 8 KiB of bss would cost a small guest
     * (2 MiB) the block its main thread needs. Without the memory, the
     * first lines still come out of a small buffer. */
    static char fallback[512];
    if (nknets == 0)
        return;
    struct knet *k0 = knets[0];
    char *heap = malloc(COUNTERS_MAX);
    char *buf = heap != NULL ? heap : fallback;
    size_t size = heap != NULL ? COUNTERS_MAX : sizeof(fallback);
    int n = net_format_counters(&k0->stack, buf, size);
    if (n < 0) {
        free(heap);
        return;
    }
    struct kmalloc_stats ks;
    struct pmem_stats ps;
    kmalloc_get_stats(&ks);
    pmem_get_stats(&ps);
    if ((size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n,
                 "rx ring: %u buffers, at most %u held at once (copying starts at %u), "
                 "packets copied %llu, packets in several buffers %llu, malformed %llu\n"
                 "tx: frames that waited for ring room %llu, checksums finished in software "
                 "%llu, frames refused by the device %llu\n"
                 "cores: %u stack%s; socket calls moved to another core %llu\n"
                 "memory: accepted connections reset for no memory %llu, "
                 "allocation failures: heap %llu, pages %llu; connections at most %u\n",
                 k0->nd.info.rx_ring, k0->nd.rx_held_max, k0->nd.rx_copy_line,
                 (unsigned long long)k0->nd.cnt.rx_copied,
                 (unsigned long long)k0->pair->stats.rx_merged,
                 (unsigned long long)k0->pair->stats.rx_bad_buffers,
                 (unsigned long long)k0->nd.cnt.tx_backlogged,
                 (unsigned long long)k0->nd.cnt.tx_csum_software,
                 (unsigned long long)k0->nd.cnt.tx_refused, nknets, nknets == 1 ? "" : "s",
                 (unsigned long long)forwarded_total(), (unsigned long long)accept_nomem,
                 (unsigned long long)ks.failures, (unsigned long long)ps.alloc_failures,
                 k0->stack.lim.tcp_conns);
    if (nknets > 1 && n > 0 && (size_t)n < size)
        format_cores(buf + n, size - (size_t)n);
    console_write(buf, strlen(buf));
    if (heap == NULL)
        kprintf("\nnet: counters cut short: no memory for the whole dump\n");
    free(heap);
}

static long exit_drain_ms = 2000;
ZEBU_OPTION_INT("net.exit_drain_ms", exit_drain_ms, 0, 600000,
                "at exit, wait this long (ms) for what was sent to leave (and TCP's to be "
                "acknowledged)");

/* Is anything sent still on its way out of the guest? */
static int tx_unfinished(void)
{
    for (unsigned i = 0; i < nknets; i++) {
        struct knet *k = knets[i];
        if (tcp_unfinished(&k->stack) > 0 || netdev_unfinished(&k->nd) > 0 ||
            arp_pending_datagrams(&k->iface) > 0)
            return 1;
    }
    return 0;
}

static int on_net_thread(void)
{
    for (unsigned i = 0; i < nknets; i++)
        if (thread_self() == knets[i]->thread)
            return 1;
    return 0;
}

void knet_exit_report(void)
{
    /* Powering off with a response or a FIN still unacknowledged would
     * lose it for good if the wire dropped it: give the network threads
     * time to retransmit. A datagram just handed to the device, or waiting
     * for ARP, would be lost too: the hypervisor may not have taken it off
     * the ring when the VM stops. Not from a network thread itself, nor
     * with interrupts off (panic paths do not come here). The counts are
     * read from here while the stacks run: a moment's view, enough to
     * decide whether to wait on. */
    if (nknets > 0 && exit_drain_ms > 0 && !on_net_thread()) {
        uint64_t end = knet_now_ms() + (uint64_t)exit_drain_ms;
        while (tx_unfinished() && knet_now_ms() < end)
            thread_sleep_ns(2 * 1000 * 1000);
    }
    if (net_stats_on_exit)
        knet_print_counters();
}

/* ---- the app's network API (include/zebu.h) ---- */

/* Every replica has taken stack 0's address as last published. */
static int replicas_follow(void)
{
    unsigned seq = __atomic_load_n(&addr_seq, __ATOMIC_ACQUIRE);
    for (unsigned i = 1; i < nknets; i++)
        if (__atomic_load_n(&knets[i]->addr_seen, __ATOMIC_ACQUIRE) != seq)
            return 0;
    return 1;
}

int zebu_net_wait_ready(uint64_t timeout_ns)
{
    if (nknets == 0)
        return -ENODEV;
    uint64_t end = time_ns() + timeout_ns;
    /* Ready once every core's stack has the address: a connection opened
     * on any core, or received there, works from then on. */
    while (!__atomic_load_n(&net_up, __ATOMIC_ACQUIRE) || !replicas_follow()) {
        if (time_ns() >= end)
            return -ETIMEDOUT;
        thread_sleep_ns(2 * 1000 * 1000);
    }
    return 0;
}

uint32_t zebu_net_addr(void)
{
    return __atomic_load_n(&net_up, __ATOMIC_ACQUIRE) ? knets[0]->iface.ip : 0;
}

void zebu_net_print_counters(void)
{
    knet_print_counters();
}

/* Adds stack k's counters to c (read from any core: whole fields, a
 * moment's view). */
static void add_counters(struct zebu_net_counters *c, const struct knet *k)
{
    const struct net_iface *ifc = &k->iface;
    const struct net_stack *st = &k->stack;
    c->rx_packets += ifc->cnt.rx_packets;
    c->rx_bytes += ifc->cnt.rx_bytes;
    c->tx_packets += ifc->cnt.tx_packets;
    c->tx_bytes += ifc->cnt.tx_bytes;
    c->drops += net_iface_total_drops(ifc);
    c->copied_bytes += st->cnt.copied_bytes;
    c->no_route += st->cnt.no_route;
    c->rx_csum_device += ifc->cnt.rx_csum_device;
    c->rx_csum_partial += ifc->cnt.rx_csum_partial;
    c->tcp_tw_syn_accepted += st->tcp.tw_syn_accepted;
    c->tcp_tw_syn_refused += st->tcp.tw_syn_refused;
    c->tcp_syncookies_sent += st->tcp.syncookies_sent;
    c->tcp_syncookies_accepted += st->tcp.syncookies_accepted;
    c->tcp_syncookies_rejected += st->tcp.syncookies_rejected;
    c->api_forwarded += __atomic_load_n(&k->api_forwarded, __ATOMIC_RELAXED);
    c->send_retries_nomem += st->tcp.nomem_retries;
    c->time_wait_reclaimed += st->tcp.time_wait_reclaimed;
    c->device_kicks += k->pair->stats.kicks;
    c->device_irqs += k->pair->stats.irqs;
    c->tcp_zero_window_aborts += st->tcp.limit_aborts[TCP_LIMIT_ZERO_WINDOW];
    c->tcp_keepalive_probes += st->tcp.keepalive_probes;
    c->tcp_keepalive_timeouts += st->tcp.keepalive_timeouts;
    c->reasm_bytes += st->reasm.mem;
    c->reasm_bytes_max += st->reasm.mem_max;
    c->reasm_bytes_limit += st->lim.reasm_mem;
    c->tcp_conns_accepted += __atomic_load_n(&k->accepted, __ATOMIC_RELAXED);
    c->tcp_conns_opened += st->tcp.conns_opened;
    for (int i = 0; i < TCP_SIZE_CLASSES && i < 3; i++) {
        c->tcp_segs_out_by_size[i] += st->tcp.segs_out_by_size[i];
        c->tcp_segs_in_by_size[i] += st->tcp.segs_in_by_size[i];
    }
}

int zebu_net_counters(struct zebu_net_counters *c)
{
    if (nknets == 0)
        return -ENODEV;
    *c = (struct zebu_net_counters){.accept_nomem = accept_nomem, .stacks = nknets};
    for (unsigned i = 0; i < nknets; i++)
        add_counters(c, knets[i]);
    return 0;
}

int zebu_net_core_counters(int core, struct zebu_net_counters *c)
{
    if (core < 0 || (unsigned)core >= nknets)
        return -ENODEV;
    *c = (struct zebu_net_counters){.stacks = 1};
    add_counters(c, knets[core]);
    return 0;
}

void knet_note_accepted(void)
{
    struct knet *k = knet_of((int)this_cpu()->id);
    if (k != NULL)
        __atomic_add_fetch(&k->accepted, 1, __ATOMIC_RELAXED);
}

void knet_note_accept_nomem(void)
{
    __atomic_add_fetch(&accept_nomem, 1, __ATOMIC_RELAXED);
}

const char *zebu_net_drop_reason(unsigned i, uint64_t *count)
{
    if (i >= NET_DROP_COUNT)
        return NULL;
    if (count != NULL) {
        *count = 0;
        for (unsigned k = 0; k < nknets; k++)
            *count += knets[k]->iface.cnt.drops[i];
    }
    return net_drop_name((int)i);
}

int zebu_ip4_parse(const char *s, uint32_t *ip)
{
    return net_parse_ip4(s, ip);
}

int zebu_ip4_format(uint32_t ip, char *buf, size_t size)
{
    return net_format_ip4(ip, buf, size);
}
