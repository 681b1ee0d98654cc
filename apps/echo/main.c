/*
 * apps/echo — a TCP echo server (port 7 by default), zero-copy: every
 * received buffer is sent back as it is, the device's receive buffer
 * itself, and freed by the stack once the peer has acknowledged it. A
 * client that sends nothing, or takes none of its echo, for idle_ms is
 * closed, so that it does not keep a thread and its stack for good.
 *     make APP=echo run        (then: nc localhost 8007)
 */
#include <zebu.h>

static long port = 7;
ZEBU_OPTION_INT("port", port, 1, 65535, "TCP port to echo on");
static long limit;
ZEBU_OPTION_INT("limit", limit, 0, 100000000, "exit after this many connections (0: never)");
static long idle_ms = 60000;
ZEBU_OPTION_INT("idle_ms", idle_ms, 0, 86400000,
                "close a client that sends nothing, or takes none of its echo, this long "
                "(ms; 0: never)");

static bool all_cores;
ZEBU_OPTION_BOOL("all_cores", all_cores,
                 "with one network stack, serve connections on every core in turn (their "
                 "socket calls move to core 0); with a stack per core (RSS) every core "
                 "listens and serves what it received, whatever this says");

/* Connection threads may run on every core: counted atomically. */
static long finished, idle_closed;
static uint64_t echoed_bytes;

static void add(long *v, long d)
{
    __atomic_add_fetch(v, d, __ATOMIC_RELAXED);
}

static void serve(struct zebu_tcp *c, void *arg)
{
    (void)arg;
    struct zebu_buf *b;
    int err = 0;
    while ((b = zebu_tcp_recv_buf(c)) != NULL) {
        size_t len;
        zebu_buf_data(b, &len);
        if ((err = zebu_tcp_send_buf(c, b)) != 0)
            break;
        __atomic_add_fetch(&echoed_bytes, len, __ATOMIC_RELAXED);
    }
    if (b == NULL)
        err = -errno;
    if (err == -ETIMEDOUT && zebu_tcp_error(c) == 0) { /* our timeout, not a dead connection */
        add(&idle_closed, 1);
        printf("echo: client idle for %ld ms: closed\n", idle_ms);
    }
    zebu_tcp_close(c);
    add(&finished, 1);
}

static void setup(struct zebu_tcp *l, void *arg)
{
    (void)arg;
    if (idle_ms > 0) { /* the listener passes both to every connection */
        zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_RECV_TIMEOUT, (uint64_t)idle_ms * 1000000);
        zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_SEND_TIMEOUT, (uint64_t)idle_ms * 1000000);
    }
}

static void ready(void *arg)
{
    (void)arg;
    char addr[16];
    zebu_ip4_format(zebu_net_addr(), addr, sizeof(addr));
    printf("echo: listening on %s:%ld\n", addr, port);
}

static void refused(void *arg)
{
    (void)arg;
    printf("echo: no thread for a connection: %s\n", strerror(ENOMEM));
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (zebu_net_wait_ready(30ull * 1000 * 1000 * 1000) != 0) {
        printf("echo: no network address\n");
        return 1;
    }
    /* With a stack per core every core listens and serves what it
     * received; with one, core 0 serves, or every core with all_cores. */
    struct zebu_tcp_server cfg = {
        .port = (uint16_t)port,
        .backlog = 64,
        .limit = limit,
        .spread = all_cores,
        .serve = serve,
        .setup = setup,
        .ready = ready,
        .refused = refused,
    };
    int err = zebu_tcp_serve(&cfg);
    if (err != 0) {
        printf("echo: cannot listen on port %ld: %s\n", port, strerror(-err));
        return 1;
    }
    printf("echo: %ld connections, %llu bytes echoed, %ld closed idle\n", finished,
           (unsigned long long)echoed_bytes, idle_closed);
    zebu_net_print_counters();
    return 0;
}
