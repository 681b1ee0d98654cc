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
static long active, finished, idle_closed, accepted, acceptors;
static uint64_t echoed_bytes;

static void add(long *v, long d)
{
    __atomic_add_fetch(v, d, __ATOMIC_RELAXED);
}

static void *serve(void *arg)
{
    struct zebu_tcp *c = arg;
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
    add(&active, -1);
    return NULL;
}

/* A connection's thread: on the core whose stack holds it when every core
 * has one; else (one stack) on core 0, or with all_cores=1 on every core
 * in turn, its calls moved to core 0. */
static int serving_core(struct zebu_tcp *c, long n, int stacks)
{
    if (stacks > 1)
        return zebu_tcp_core(c);
    return all_cores ? (int)(n % zebu_core_count()) : 0;
}

/* Accepts on l until limit connections were accepted, all cores together. */
static void accept_loop(struct zebu_tcp *l, int stacks)
{
    while (limit == 0 || __atomic_load_n(&accepted, __ATOMIC_RELAXED) < limit) {
        struct zebu_tcp *c = zebu_tcp_accept(l);
        if (c == NULL)
            continue; /* the accept timeout: look at the count again */
        long n = __atomic_fetch_add(&accepted, 1, __ATOMIC_RELAXED);
        struct zebu_thread *t = zebu_thread_create(serve, c, serving_core(c, n, stacks),
                                                   "echo-conn", 0);
        if (t == NULL) {
            printf("echo: no thread for a connection: %s\n", strerror(errno));
            zebu_tcp_abort(c);
            continue;
        }
        add(&active, 1);
        zebu_thread_detach(t);
    }
}

static struct zebu_tcp *listen_here(void)
{
    struct zebu_tcp *l = zebu_tcp_listen((uint16_t)port, 64);
    if (l == NULL) {
        printf("echo: cannot listen on port %ld (core %d): %s\n", port, zebu_core_id(),
               strerror(errno));
        return NULL;
    }
    if (idle_ms > 0) { /* the listener passes both to every connection */
        zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_RECV_TIMEOUT, (uint64_t)idle_ms * 1000000);
        zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_SEND_TIMEOUT, (uint64_t)idle_ms * 1000000);
    }
    if (limit != 0) /* several acceptors: each looks at the count now and then */
        zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_ACCEPT_TIMEOUT, 100 * 1000 * 1000);
    return l;
}

/* Another core's listener (a stack per core): its connections stay there. */
static void *acceptor(void *arg)
{
    struct zebu_tcp *l = listen_here();
    if (l != NULL) {
        accept_loop(l, (int)(long)arg);
        zebu_tcp_close(l);
    }
    add(&acceptors, -1);
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (zebu_net_wait_ready(30ull * 1000 * 1000 * 1000) != 0) {
        printf("echo: no network address\n");
        return 1;
    }
    struct zebu_tcp *l = listen_here();
    if (l == NULL)
        return 1;
    struct zebu_net_counters nc;
    int stacks = zebu_net_counters(&nc) == 0 ? (int)nc.stacks : 1;
    char addr[16];
    zebu_ip4_format(zebu_net_addr(), addr, sizeof(addr));
    printf("echo: listening on %s:%ld\n", addr, port);
    for (int core = 1; core < stacks; core++) {
        add(&acceptors, 1);
        struct zebu_thread *t = zebu_thread_create(acceptor, (void *)(long)stacks, core,
                                                   "echo-accept", 0);
        if (t == NULL)
            add(&acceptors, -1);
        else
            zebu_thread_detach(t);
    }
    accept_loop(l, stacks);
    while (__atomic_load_n(&acceptors, __ATOMIC_RELAXED) > 0 ||
           __atomic_load_n(&active, __ATOMIC_RELAXED) > 0)
        zebu_sleep_ns(10 * 1000 * 1000);
    printf("echo: %ld connections, %llu bytes echoed, %ld closed idle\n", finished,
           (unsigned long long)echoed_bytes, idle_closed);
    zebu_net_print_counters();
    return 0;
}
