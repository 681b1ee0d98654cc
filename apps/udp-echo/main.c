/*
 * apps/udp-echo — a UDP echo server (port 7 by default), zero-copy: each
 * datagram goes back in the very receive buffer it arrived in.
 *     make APP=udp-echo run NET=user   (then, on the host, see docs)
 *
 * With stats_port=N, a second socket answers every datagram with one line
 * of counters ("echoed=... busy_cycles=..."), which tools/bench-net.py reads
 * before and after a run to work out guest cycles per datagram.
 */
#include <zebu.h>

static long port = 7;
ZEBU_OPTION_INT("port", port, 1, 65535, "UDP port to echo on");
static long limit;
ZEBU_OPTION_INT("limit", limit, 0, 100000000, "exit after this many datagrams (0: never)");
static long stats_port;
ZEBU_OPTION_INT("stats_port", stats_port, 0, 65535, "answer datagrams here with counters (0: off)");

static volatile uint64_t echoed;

/* Busy cycles of core 0, where the network stack and this app run. */
static uint64_t busy_cycles(void)
{
    struct zebu_core_stats cs;
    zebu_core_stats(0, &cs);
    return cs.cycles - cs.idle_cycles;
}

static void *stats_server(void *arg)
{
    struct zebu_udp *u = arg;
    for (;;) {
        uint32_t ip;
        uint16_t from_port;
        char req[16];
        zebu_udp_recvfrom(u, req, sizeof(req), &ip, &from_port);
        struct zebu_net_counters nc;
        zebu_net_counters(&nc);
        char line[256];
        int n = snprintf(line, sizeof(line),
                         "echoed=%llu busy_cycles=%llu tsc_khz=%llu rx_packets=%llu "
                         "tx_packets=%llu drops=%llu copied_bytes=%llu\n",
                         (unsigned long long)echoed, (unsigned long long)busy_cycles(),
                         (unsigned long long)zebu_tsc_khz(), (unsigned long long)nc.rx_packets,
                         (unsigned long long)nc.tx_packets, (unsigned long long)nc.drops,
                         (unsigned long long)nc.copied_bytes);
        zebu_udp_sendto(u, ip, from_port, line, (size_t)n);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (zebu_net_wait_ready(30ull * 1000 * 1000 * 1000) != 0) {
        printf("udp-echo: no network address\n");
        return 1;
    }
    struct zebu_udp *u = zebu_udp_bind((uint16_t)port);
    if (u == NULL) {
        printf("udp-echo: cannot bind port %ld: %s\n", port, strerror(errno));
        return 1;
    }
    if (stats_port != 0) {
        struct zebu_udp *s = zebu_udp_bind((uint16_t)stats_port);
        if (s == NULL) {
            printf("udp-echo: cannot bind stats port %ld: %s\n", stats_port, strerror(errno));
            return 1;
        }
        zebu_thread_detach(zebu_thread_create(stats_server, s, 0, "stats", 0));
    }
    char addr[16];
    zebu_ip4_format(zebu_net_addr(), addr, sizeof(addr));
    printf("udp-echo: listening on %s:%ld\n", addr, port);
    for (long n = 0; limit == 0 || n < limit; n++) {
        uint32_t ip;
        uint16_t from_port;
        struct zebu_buf *b = zebu_udp_recv_buf(u, &ip, &from_port);
        int err = zebu_udp_send_buf(u, ip, from_port, b);
        if (err != 0 && n < 10)
            printf("udp-echo: send failed: %s\n", strerror(-err));
        echoed++;
    }
    struct zebu_net_counters nc;
    if (zebu_net_counters(&nc) == 0)
        printf("udp-echo: %llu datagrams echoed, %llu frames in, %llu out, %llu dropped\n",
               (unsigned long long)echoed, (unsigned long long)nc.rx_packets,
               (unsigned long long)nc.tx_packets, (unsigned long long)nc.drops);
    zebu_net_print_counters();
    return 0;
}
