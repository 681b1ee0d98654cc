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
#include "kernel/time.h"
#include "net/config.h"
#include "net/dhcp.h"
#include "net/iface.h"
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

static struct vnet vnet;
static struct netdev nd; /* the device's one queue pair under the stack */
static struct event net_work; /* the device's interrupt, and knet_kick */
static struct net_stack stack;
static struct net_iface iface;
static struct net_platform platform;
static uint64_t rng_state;
static int net_up;
static uint32_t announced_ip;
static long rx_copy_at;
ZEBU_OPTION_INT("net.rx_copy_at", rx_copy_at, 0, 65536,
                "copy received frames once this many receive buffers are held "
                "(0: three quarters of the ring; a low value exercises the copying path)");
static struct thread *net_thread_ptr;
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
    (void)ctx;
    /* splitmix64 over the TSC: differs between boots, cheap, not secret. */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull ^ cpu_rdtsc());
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

/* ---- the device (net/netdev.h does the rest) ---- */

static void device_notify(void *ctx)
{
    (void)ctx;
    event_signal(&net_work);
}

/* Sleeps until the device interrupts, knet_kick, or ms pass. */
static void device_wait(uint64_t ms)
{
    if (vnet_arm(&vnet.pair[0]))
        return; /* work raced in: poll again */
    if (vnet.polling)
        thread_sleep_ns((ms < 1 ? ms : 1) * 1000000);
    else
        event_wait_timeout(&net_work, ms * 1000000);
}

/* ---- the network thread ---- */

static void announce_address(void)
{
    if (iface.ip == announced_ip)
        return;
    announced_ip = iface.ip;
    char ip[16], gw[16];
    net_format_ip4(iface.ip, ip, sizeof(ip));
    net_format_ip4(iface.gw, gw, sizeof(gw));
    if (iface.ip != 0)
        pr_info("net", "%s %s/%d gw %s (%s)", iface.name, ip, net_mask_to_prefix(iface.mask), gw,
                opt_ip[0] ? "static" : "dhcp");
    __atomic_store_n(&net_up, iface.ip != 0, __ATOMIC_RELEASE);
}

/* When the network thread will next look at the timers (ms). */
static uint64_t net_wake_at;

struct net_stack *knet_stack(void)
{
    return vnet.pair[0].rx_deliver == NULL ? NULL : &stack;
}

void knet_kick(void)
{
    if (net_next_deadline(&stack) < net_wake_at)
        event_signal(&net_work);
}

/* API calls made from another core, run on core 0 (knet_enter). */
static uint64_t api_forwarded;

int knet_enter(void)
{
    if (this_cpu()->id == 0)
        return -1;
    __atomic_add_fetch(&api_forwarded, 1, __ATOMIC_RELAXED);
    return thread_move(0);
}

void knet_leave(int home)
{
    if (home >= 0)
        thread_move(home);
}

static void *net_thread(void *arg)
{
    uint64_t last_tick = 0;
    (void)arg;
    for (;;) {
        int got = netdev_poll(&nd, RX_BUDGET, knet_now_ms());
        uint64_t now = knet_now_ms();
        /* At deadlines, and at least once a second: TCP's timer queue
         * audits itself on a tick (net/tcp_tq.c). */
        if (now >= net_next_deadline(&stack) || now >= last_tick + 1000) {
            net_tick(&stack, now);
            last_tick = now;
        }
        announce_address();
        if (got == RX_BUDGET) {
            thread_yield(); /* more to do: let the app run first */
            continue;
        }
        uint64_t deadline = net_next_deadline(&stack);
        uint64_t wait_ms = deadline == NET_NO_DEADLINE || deadline <= now ? 1000 : deadline - now;
        if (deadline != NET_NO_DEADLINE && deadline <= now)
            wait_ms = 1;
        if (wait_ms > 1000)
            wait_ms = 1000;
        wait_ms = netdev_max_sleep_ms(&nd, wait_ms);
        net_wake_at = now + wait_ms;
        device_wait(wait_ms);
        net_wake_at = 0;
    }
    return NULL;
}

static int configure(void)
{
    if (strcmp(opt_cc, "cubic") == 0) {
        stack.lim.tcp_cc = TCP_CC_CUBIC;
    } else if (opt_cc[0] != '\0' && strcmp(opt_cc, "reno") != 0) {
        pr_err("net", "option 'tcp.cc': '%s' is not reno or cubic", opt_cc);
        return -EINVAL;
    }
    if (opt_ip[0] == '\0') {
        if (opt_gw[0] != '\0')
            pr_warn("net", "gw= without ip= is ignored: the address comes from DHCP");
        return dhcp_start(&stack, &iface, knet_now_ms());
    }
    char line[160];
    snprintf(line, sizeof(line), "ip=%s%s%s%s%s", opt_ip, opt_gw[0] ? " gw=" : "", opt_gw,
             opt_dns[0] ? " dns=" : "", opt_dns);
    struct net_static_config cfg;
    if (net_config_parse(line, &cfg) != 0 || net_config_apply(&iface, &cfg) != 0) {
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
 * memory free now (the table then recycles its oldest TIME-WAIT entry):
 * the default 1024 from 16 MiB free, 99 in -m 3M, 35 in -m 2M.
 */
#define CONN_MEM_SHARE 16
#define CONN_BYTES     1024

static long tcp_max_conns;
ZEBU_OPTION_INT("tcp.max_conns", tcp_max_conns, 0, 1000000,
                "TCP connections the table holds, listeners and TIME-WAIT included "
                "(0: 1024, fewer in a small VM; a server for many idle clients raises it)");

static void limit_connections(void)
{
    if (tcp_max_conns > 0) { /* the operator's word: about 1.2 KiB of heap each, idle */
        stack.lim.tcp_conns = (unsigned)tcp_max_conns;
        return;
    }
    struct pmem_stats ps;
    pmem_get_stats(&ps);
    uint64_t n = ps.free_bytes / CONN_MEM_SHARE / CONN_BYTES;
    if (n < 16)
        n = 16;
    if (n < stack.lim.tcp_conns)
        stack.lim.tcp_conns = (unsigned)n;
}

void knet_start(void)
{
    int err = vnet_probe(&vnet, this_cpu()->apic_id, smp_platform());
    if (err == -ENODEV) {
        if (opt_ip[0] != '\0')
            pr_warn("net", "ip= given but there is no network device");
        return;
    }
    if (err != 0) {
        pr_err("net", "virtio-net did not come up (%d)", err);
        return;
    }
    struct netdev_info info;
    vnet_netdev_info(&vnet, &info);
    netdev_init(&nd, &vnet_netdev_ops, &vnet.pair[0], &info, (unsigned)rx_copy_at);
    event_init(&net_work);
    platform = (struct net_platform){
        .tx_alloc = plat_tx_alloc, .random32 = plat_random32, .log = plat_log, .ctx = NULL};
    rng_state = cpu_rdtsc();
    net_stack_init(&stack, &platform);
    stack.lim.tcp_msl_ms = (uint32_t)tcp_msl_ms;
    stack.lim.tcp_zero_window_ms = (uint32_t)tcp_zero_window_ms;
    stack.lim.reasm_timeout_ms = (uint32_t)reasm_timeout_ms;
    stack.lim.tcp_syncookies = tcp_syncookies;
    netdev_apply_limits(&nd, &stack);
    limit_connections();
    netdev_iface_init(&nd, &iface, "eth0");
    net_stack_add_iface(&stack, &iface);
    vnet.pair[0].ctx = &nd;
    vnet.pair[0].tx_done = netdev_tx_done;
    vnet.pair[0].notify = device_notify;
    vnet.pair[0].rx_deliver = netdev_rx;
    if (configure() != 0) {
        console_flush();
        platform_exit(ZEBU_EXIT_USAGE);
    } /* a malformed option stops the boot */
    announce_address();
    struct thread *t = thread_create(net_thread, NULL, 0, "net", 0);
    if (t == NULL)
        panic("net: cannot start the network thread");
    net_thread_ptr = t;
    thread_detach(t);
}

#define COUNTERS_MAX 8192 /* the whole dump, with every drop reason non-zero */

void knet_print_counters(void)
{
    /* From the heap, not the image: 8 KiB of bss would cost a small guest
     * (2 MiB) the block its main thread needs. Without the memory, the
     * first lines still come out of a small buffer. */
    static char fallback[512];
    if (vnet.pair[0].rx_deliver == NULL)
        return;
    char *heap = malloc(COUNTERS_MAX);
    char *buf = heap != NULL ? heap : fallback;
    size_t size = heap != NULL ? COUNTERS_MAX : sizeof(fallback);
    int n = net_format_counters(&stack, buf, size);
    if (n < 0) {
        free(heap);
        return;
    }
    struct kmalloc_stats ks;
    struct pmem_stats ps;
    kmalloc_get_stats(&ks);
    pmem_get_stats(&ps);
    if ((size_t)n < size)
        snprintf(buf + n, size - (size_t)n,
                 "rx ring: %u buffers, at most %u held at once (copying starts at %u), "
                 "packets copied %llu, packets in several buffers %llu, malformed %llu\n"
                 "tx: frames that waited for ring room %llu, checksums finished in software "
                 "%llu, frames refused by the device %llu\n"
                 "cores: socket calls made on another core and run on core 0 %llu\n"
                 "memory: accepted connections reset for no memory %llu, "
                 "allocation failures: heap %llu, pages %llu; connections at most %u\n",
                 nd.info.rx_ring, nd.rx_held_max, nd.rx_copy_line,
                 (unsigned long long)nd.cnt.rx_copied,
                 (unsigned long long)vnet.pair[0].stats.rx_merged,
                 (unsigned long long)vnet.pair[0].stats.rx_bad_buffers,
                 (unsigned long long)nd.cnt.tx_backlogged, (unsigned long long)nd.cnt.tx_csum_software,
                 (unsigned long long)nd.cnt.tx_refused,
                 (unsigned long long)__atomic_load_n(&api_forwarded, __ATOMIC_RELAXED),
                 (unsigned long long)accept_nomem,
                 (unsigned long long)ks.failures, (unsigned long long)ps.alloc_failures,
                 stack.lim.tcp_conns);
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
    return tcp_unfinished(&stack) > 0 || netdev_unfinished(&nd) > 0 ||
           arp_pending_datagrams(&iface) > 0;
}

void knet_exit_report(void)
{
    /* Powering off with a response or a FIN still unacknowledged would
     * lose it for good if the wire dropped it: give the network thread
     * time to retransmit. A datagram just handed to the device, or waiting
     * for ARP, would be lost too: the hypervisor may not have taken it off
     * the ring when the VM stops. Not from the network thread itself, nor
     * with interrupts off (panic paths do not come here). */
    if (vnet.pair[0].rx_deliver != NULL && exit_drain_ms > 0 && thread_self() != net_thread_ptr) {
        uint64_t end = knet_now_ms() + (uint64_t)exit_drain_ms;
        while (tx_unfinished() && knet_now_ms() < end)
            thread_sleep_ns(2 * 1000 * 1000);
    }
    if (net_stats_on_exit)
        knet_print_counters();
}

/* ---- the app's network API (include/zebu.h) ---- */

int zebu_net_wait_ready(uint64_t timeout_ns)
{
    if (vnet.pair[0].rx_deliver == NULL)
        return -ENODEV;
    uint64_t end = time_ns() + timeout_ns;
    while (!__atomic_load_n(&net_up, __ATOMIC_ACQUIRE)) {
        if (time_ns() >= end)
            return -ETIMEDOUT;
        thread_sleep_ns(2 * 1000 * 1000);
    }
    return 0;
}

uint32_t zebu_net_addr(void)
{
    return __atomic_load_n(&net_up, __ATOMIC_ACQUIRE) ? iface.ip : 0;
}

void zebu_net_print_counters(void)
{
    knet_print_counters();
}

int zebu_net_counters(struct zebu_net_counters *c)
{
    if (vnet.pair[0].rx_deliver == NULL)
        return -ENODEV;
    *c = (struct zebu_net_counters){
        .rx_packets = iface.cnt.rx_packets,
        .rx_bytes = iface.cnt.rx_bytes,
        .tx_packets = iface.cnt.tx_packets,
        .tx_bytes = iface.cnt.tx_bytes,
        .drops = net_iface_total_drops(&iface),
        .copied_bytes = stack.cnt.copied_bytes,
        .no_route = stack.cnt.no_route,
        .rx_csum_device = iface.cnt.rx_csum_device,
        .rx_csum_partial = iface.cnt.rx_csum_partial,
        .tcp_tw_syn_accepted = stack.tcp.tw_syn_accepted,
        .tcp_tw_syn_refused = stack.tcp.tw_syn_refused,
        .tcp_syncookies_sent = stack.tcp.syncookies_sent,
        .tcp_syncookies_accepted = stack.tcp.syncookies_accepted,
        .tcp_syncookies_rejected = stack.tcp.syncookies_rejected,
        .accept_nomem = accept_nomem,
        .api_forwarded = __atomic_load_n(&api_forwarded, __ATOMIC_RELAXED),
        .send_retries_nomem = stack.tcp.nomem_retries,
        .time_wait_reclaimed = stack.tcp.time_wait_reclaimed,
        .device_kicks = vnet.pair[0].stats.kicks,
        .device_irqs = vnet.pair[0].stats.irqs,
        .tcp_zero_window_aborts = stack.tcp.limit_aborts[TCP_LIMIT_ZERO_WINDOW],
        .tcp_keepalive_probes = stack.tcp.keepalive_probes,
        .tcp_keepalive_timeouts = stack.tcp.keepalive_timeouts,
        .reasm_bytes = stack.reasm.mem,
        .reasm_bytes_max = stack.reasm.mem_max,
        .reasm_bytes_limit = stack.lim.reasm_mem,
    };
    for (int i = 0; i < TCP_SIZE_CLASSES && i < 3; i++) {
        c->tcp_segs_out_by_size[i] = stack.tcp.segs_out_by_size[i];
        c->tcp_segs_in_by_size[i] = stack.tcp.segs_in_by_size[i];
    }
    return 0;
}

void knet_note_accept_nomem(void)
{
    accept_nomem++;
}

const char *zebu_net_drop_reason(unsigned i, uint64_t *count)
{
    if (i >= NET_DROP_COUNT)
        return NULL;
    if (count != NULL)
        *count = vnet.pair[0].rx_deliver == NULL ? 0 : iface.cnt.drops[i];
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
