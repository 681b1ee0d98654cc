/*
 * apps/webserver — a static HTTP/1.1 server (port 80) for the site archive
 * the build packs (tools/mksite.py, SITE=dir) and the loader passes as a
 * module. lib/http does the HTTP (parsing, limits, keep-alive, pipelining,
 * timeouts, response heads); http.c answers from the archive; site.c finds
 * files in it; this file accepts connections and keeps the counters.
 *
 * Zero copy: file bytes go out by reference to the archive's memory,
 * chained behind the response head (zebu_http_body_ref). Requests are
 * parsed in place in the connection's receive buffer, which lives, with
 * the rest of the connection's state, on its thread's stack.
 *     make run          (open http://localhost:8080)
 */
#include <zebu.h>
#include <zebu_http.h>

#include "http.h"
#include "site.h"

static long port = 80;
ZEBU_OPTION_INT("port", port, 1, 65535, "TCP port to serve HTTP on");
static long limit;
ZEBU_OPTION_INT("limit", limit, 0, 100000000, "exit after this many connections (0: never)");
/* A client that stops reading keeps its window shut and the response
 * (up to the whole file, by reference, plus a thread and its stack) held
 * for as long as it answers the window probes: a minute is plenty for a
 * reader that is merely slow. */
static long zero_window_ms = 60000;
ZEBU_OPTION_INT("zero_window_ms", zero_window_ms, 0, 86400000,
                "reset a connection whose client keeps its receive window shut this long while "
                "a response waits (ms; 0: the kernel's tcp.zero_window_ms applies)");
/* A client that sends no request keeps its thread and stack: close it. */
static long idle_ms = 60000;
ZEBU_OPTION_INT("idle_ms", idle_ms, 0, 86400000,
                "close a connection that sends nothing this long (ms; 0: never)");
/* With a stack per core (RSS) every core serves: a listener per core and
 * each connection's thread where its stack is, so nothing crosses cores.
 * With one stack (core 0), connections are served there, or with
 * all_cores=1 on every core in turn, their socket calls moved to core 0
 * (include/zebu.h, Network). */
static bool all_cores;
ZEBU_OPTION_BOOL("all_cores", all_cores,
                 "with one network stack, serve connections on every core in turn (their "
                 "socket calls move to core 0); with a stack per core (RSS) every core "
                 "listens and serves what it received, whatever this says");

/* A connection's whole state (lib/http's, CONN_MEM bytes: the 16 KiB
 * header block and the rest, see zebu_http_conn_bytes) lives on its
 * thread's stack: with the guard page, one 32 KiB block per connection
 * (see zebu_thread_create), about 8 KiB left for calls. */
#define CONN_STACK (28 * 1024)
#define CONN_MEM   (20 * 1024)

static struct site site;
static struct http_stats stats = {.core_id = zebu_core_id};
static struct zebu_http_server *server;


/* The kernel's count of one drop reason, by name (0 when it has none). */
static uint64_t drops(const char *name)
{
    uint64_t n;
    const char *r;
    for (unsigned i = 0; (r = zebu_net_drop_reason(i, &n)) != NULL; i++)
        if (strcmp(r, name) == 0)
            return n;
    return 0;
}

static void refresh_stats(struct http_stats *st)
{
    (void)st; /* the one struct: stats */
    struct zebu_mem_stats ms;
    zebu_mem_stats(&ms);
    stats.heap_in_use = ms.heap_in_use;
    stats.nomem.heap_failures = ms.failures;
    stats.nomem.page_failures = ms.page_failures;
    struct zebu_net_counters nc;
    if (zebu_net_counters(&nc) == 0) {
        stats.copied_bytes = nc.copied_bytes;
        stats.rx_csum_partial = nc.rx_csum_partial;
        stats.tw_syn_accepted = nc.tcp_tw_syn_accepted;
        stats.tw_syn_refused = nc.tcp_tw_syn_refused;
        stats.syncookies_sent = nc.tcp_syncookies_sent;
        stats.syncookies_accepted = nc.tcp_syncookies_accepted;
        stats.syncookies_rejected = nc.tcp_syncookies_rejected;
        stats.tso_frames_sent = nc.tcp_segs_out_by_size[1] + nc.tcp_segs_out_by_size[2];
        stats.nomem.accept_reset = nc.accept_nomem;
        stats.nomem.send_retries = nc.send_retries_nomem;
        stats.nomem.time_wait_reclaimed = nc.time_wait_reclaimed;
        stats.device_kicks = nc.device_kicks;
        stats.device_irqs = nc.device_irqs;
        stats.api_forwarded = nc.api_forwarded;
        stats.net_stacks = nc.stacks;
        stats.zero_window_aborts = nc.tcp_zero_window_aborts;
        stats.reasm_bytes = nc.reasm_bytes;
        stats.reasm_bytes_max = nc.reasm_bytes_max;
        stats.reasm_bytes_limit = nc.reasm_bytes_limit;
    }
    stats.busy_cycles = 0;
    stats.cores = (unsigned)zebu_core_count();
    for (int core = 0; core < zebu_core_count(); core++) {
        struct zebu_core_stats cs;
        uint64_t busy = zebu_core_stats(core, &cs) == 0 ? cs.cycles - cs.idle_cycles : 0;
        stats.busy_cycles += busy;
        if (core >= HTTP_STATS_CORES)
            continue;
        stats.core[core].busy_cycles = busy;
        struct zebu_net_counters cc;
        if (zebu_net_core_counters(core, &cc) == 0) {
            stats.core[core].accepted = cc.tcp_conns_accepted;
            stats.core[core].forwarded = cc.api_forwarded;
        }
    }
    stats.tsc_khz = zebu_tsc_khz();
    stats.nomem.syn_dropped = drops("tcp_nomem");
    stats.nomem.syn_queue_full = drops("tcp_syn_cache_full") + drops("tcp_backlog_full");
    stats.nomem.rx_dropped = drops("rx_nomem");
    stats.nomem.tx_dropped = drops("tx_nobuf") + drops("tx_nomem");
}

static void conn_thread(struct zebu_tcp *c, void *arg)
{
    (void)arg;
    char mem[CONN_MEM] __attribute__((aligned(16)));
    __atomic_add_fetch(&stats.connections_accepted, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&stats.connections_open, 1, __ATOMIC_RELAXED);
    /* -ENOMEM: a response found no memory; lib/http reset the connection */
    if (zebu_http_serve_tcp_mem(server, c, mem, sizeof(mem)) == -ENOMEM)
        __atomic_add_fetch(&stats.connections_reset_nomem, 1, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&stats.connections_open, 1, __ATOMIC_RELAXED);
}

static int open_site(void)
{
    size_t len;
    const char *cmd;
    const void *img = zebu_module(0, &len, &cmd);
    if (img == NULL) {
        printf("webserver: no site archive: boot with the archive as a module "
               "(make APP=webserver run does)\n");
        return -1;
    }
    int err = site_open(&site, img, len);
    if (err != 0) {
        printf("webserver: the module is not a valid site archive (%s)\n", strerror(-err));
        return -1;
    }
    return 0;
}

static void setup(struct zebu_tcp *l, void *arg)
{
    (void)arg;
    if (zero_window_ms > 0) /* inherited by every connection accepted */
        zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_ZERO_WINDOW, (uint64_t)zero_window_ms * 1000000);
}

static void ready(void *arg)
{
    (void)arg;
    char addr[16];
    zebu_ip4_format(zebu_net_addr(), addr, sizeof(addr));
    printf("webserver: serving %u files on http://%s:%ld/\n", (unsigned)site.count, addr, port);
}

static void refused(void *arg) /* out of memory: refused, the server goes on */
{
    (void)arg;
    __atomic_add_fetch(&stats.connections_refused, 1, __ATOMIC_RELAXED);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (open_site() != 0)
        return 1;
    static struct web web = {&site, &stats, refresh_stats};
    struct zebu_http_limits lim;
    web_limits(&lim, (uint64_t)idle_ms * 1000000);
    server = zebu_http_server_create(&lim);
    if (server == NULL || web_setup(server, &web) != 0 ||
        zebu_http_conn_bytes(server) > CONN_MEM) {
        printf("webserver: cannot set up the HTTP server\n");
        return 1;
    }
    if (zebu_net_wait_ready(30ull * 1000 * 1000 * 1000) != 0) {
        printf("webserver: no network address\n");
        return 1;
    }
    /* With a stack per core every core listens and serves what it
     * received; with one, core 0 serves, or every core with all_cores. */
    struct zebu_tcp_server cfg = {
        .port = (uint16_t)port,
        .backlog = 128,
        .limit = limit,
        .stack_size = CONN_STACK,
        .spread = all_cores,
        .serve = conn_thread,
        .setup = setup,
        .ready = ready,
        .refused = refused,
    };
    int err = zebu_tcp_serve(&cfg);
    if (err != 0) {
        printf("webserver: cannot listen on port %ld: %s\n", port, strerror(-err));
        return 1;
    }
    printf("webserver: %llu requests on %llu connections; for want of memory %llu "
           "connections refused, %llu reset\n",
           (unsigned long long)stats.requests, (unsigned long long)stats.connections_accepted,
           (unsigned long long)stats.connections_refused,
           (unsigned long long)stats.connections_reset_nomem);
    zebu_net_print_counters();
    return 0;
}
