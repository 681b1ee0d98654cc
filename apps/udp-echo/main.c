/*
 * apps/udp-echo — a UDP echo server (port 7 by default), zero-copy: each
 * datagram goes back in the very receive buffer it arrived in.
 *     make APP=udp-echo run NET=user   (then, on the host, see docs)
 */
#include <zebu.h>

static long port = 7;
ZEBU_OPTION_INT("port", port, 1, 65535, "UDP port to echo on");
static long limit;
ZEBU_OPTION_INT("limit", limit, 0, 100000000, "exit after this many datagrams (0: never)");

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
    }
    zebu_net_print_counters();
    return 0;
}
