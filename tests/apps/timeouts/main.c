/*
 * tests/apps/timeouts — every blocking call with a timeout, against a peer
 * that tests/system/test_timeouts.py drives from a network namespace. Each
 * step prints what the call returned and how long it took, then a line
 * the test waits for before the peer does its part:
 *
 *   mailbox   zebu_mailbox_recv_timeout on an empty mailbox
 *   udp       zebu_udp_recv_buf and zebu_udp_recvfrom time out; then
 *             "udp ready": the peer's datagram, arriving after some more
 *             timeouts, is echoed
 *   accept    zebu_tcp_accept times out; "tcp ready": the peer connects
 *   recv      zebu_tcp_recv_buf and zebu_tcp_recv time out on the idle
 *             connection, which stays open; "echoing": the peer's bytes are
 *             echoed (receive timeouts between them are skipped)
 *   send      a peer that does not read: zebu_tcp_send and
 *             zebu_tcp_send_buf time out; "send stalled after N bytes":
 *             the peer reads, and a last line goes out on the same
 *             connection
 *   keepalive the peer vanishes (its packets dropped); keepalive ends the
 *             connection: zebu_tcp_recv_buf fails with ETIMEDOUT after
 *             idle + interval * count, counted in zebu_net_counters
 *
 * A report line reads "timeouts: NAME returned R errno E after US us".
 */
#include <zebu.h>

static long wait_ms = 400;
ZEBU_OPTION_INT("wait_ms", wait_ms, 1, 60000, "the timeout every step asks for (ms)");
static long keep_idle_ms = 1000, keep_intvl_ms = 500, keep_count = 3;
ZEBU_OPTION_INT("keep_idle_ms", keep_idle_ms, 1, 600000, "keepalive: idle time before probes");
ZEBU_OPTION_INT("keep_intvl_ms", keep_intvl_ms, 1, 600000, "keepalive: time between probes");
ZEBU_OPTION_INT("keep_count", keep_count, 1, 100, "keepalive: unanswered probes that end it");

#define TCP_PORT 7000
#define UDP_PORT 9000
#define CHUNK    (64 * 1024)

static uint64_t timeout_ns(void)
{
    return (uint64_t)wait_ms * 1000000;
}

static void report(const char *name, long r, int err, uint64_t t0)
{
    printf("timeouts: %s returned %ld errno %d after %lu us\n", name, r, err,
           (zebu_time_ns() - t0) / 1000);
}

static void fail(const char *what)
{
    printf("timeouts: FAILED: %s (errno %d)\n", what, errno);
    exit(1);
}

static void mailbox(void)
{
    struct zebu_mailbox *mb = zebu_mailbox_create();
    uint64_t t0 = zebu_time_ns();
    errno = 0;
    struct zebu_msg *m = zebu_mailbox_recv_timeout(mb, timeout_ns());
    report("mailbox", m == NULL ? 0 : 1, errno, t0);
    zebu_mailbox_destroy(mb);
}

static void udp(void)
{
    struct zebu_udp *u = zebu_udp_bind(UDP_PORT);
    if (u == NULL)
        fail("udp bind");
    zebu_udp_set_timeout(u, timeout_ns());
    uint64_t t0 = zebu_time_ns();
    errno = 0;
    struct zebu_buf *b = zebu_udp_recv_buf(u, NULL, NULL);
    report("udp_recv_buf", b == NULL ? 0 : 1, errno, t0);
    char buf[64];
    t0 = zebu_time_ns();
    int n = zebu_udp_recvfrom(u, buf, sizeof(buf), NULL, NULL);
    report("udp_recvfrom", n, 0, t0);
    printf("timeouts: udp ready\n");
    uint32_t ip;
    uint16_t port;
    long timeouts = 0;
    while ((b = zebu_udp_recv_buf(u, &ip, &port)) == NULL) {
        if (errno != ETIMEDOUT || ++timeouts > 600)
            fail("udp receive");
    }
    size_t len;
    zebu_buf_data(b, &len);
    if (zebu_udp_send_buf(u, ip, port, b) != 0)
        fail("udp send");
    printf("timeouts: udp echoed %zu bytes after %ld more timeouts\n", len, timeouts);
    zebu_udp_close(u);
}

/* The next connection: accept, skipping its timeouts (at most a minute). */
static struct zebu_tcp *accept_one(struct zebu_tcp *l)
{
    struct zebu_tcp *c;
    long timeouts = 0;
    while ((c = zebu_tcp_accept(l)) == NULL) {
        if (errno != ETIMEDOUT || (++timeouts) * wait_ms > 60000)
            fail("accept");
    }
    return c;
}

/* The idle connection: both receives time out, and the connection stays
 * open and echoes what comes after. */
static void recv_then_echo(struct zebu_tcp *c)
{
    uint64_t t0 = zebu_time_ns();
    errno = 0;
    struct zebu_buf *b = zebu_tcp_recv_buf(c);
    report("tcp_recv_buf", b == NULL ? 0 : 1, errno, t0);
    char buf[16];
    t0 = zebu_time_ns();
    long n = zebu_tcp_recv(c, buf, sizeof(buf));
    report("tcp_recv", n, 0, t0);
    printf("timeouts: tcp idle, connection error %d; echoing\n", zebu_tcp_error(c));
    uint64_t bytes = 0;
    long idle = 0;
    for (;;) {
        b = zebu_tcp_recv_buf(c);
        if (b == NULL && errno == ETIMEDOUT && zebu_tcp_error(c) == 0) {
            idle++;
            continue;
        }
        if (b == NULL)
            break;
        size_t len;
        zebu_buf_data(b, &len);
        if (zebu_tcp_send_buf(c, b) != 0)
            fail("echo send");
        bytes += len;
    }
    printf("timeouts: tcp echoed %lu bytes, %ld receive timeouts on the way, end errno %d\n", bytes,
           idle, errno);
    zebu_tcp_close(c);
}

/* A peer that does not read: sends fill its window and the send buffer,
 * then time out; once it reads, the connection carries on. */
static void send_stall(struct zebu_tcp *c)
{
    static uint8_t chunk[CHUNK];
    for (size_t i = 0; i < CHUNK; i++)
        chunk[i] = (uint8_t)(i * 131 + i / 256);
    zebu_tcp_set_limit(c, ZEBU_TCP_LIMIT_SEND_TIMEOUT, timeout_ns());
    uint64_t sent = 0, t0;
    long n;
    do {
        t0 = zebu_time_ns();
        n = zebu_tcp_send(c, chunk, CHUNK);
        if (n > 0)
            sent += (uint64_t)n;
    } while (n == CHUNK && sent < (64u << 20));
    report("tcp_send", n, 0, t0);
    struct zebu_buf *b = zebu_buf_alloc(1000);
    if (b == NULL)
        fail("buffer");
    t0 = zebu_time_ns();
    int err = zebu_tcp_send_buf(c, b);
    report("tcp_send_buf", err, 0, t0);
    printf("timeouts: send stalled after %lu bytes, connection error %d\n", sent,
           zebu_tcp_error(c));
    static const char end[] = "--end-of-data--\n";
    zebu_tcp_set_limit(c, ZEBU_TCP_LIMIT_SEND_TIMEOUT, 0);
    n = zebu_tcp_send(c, end, sizeof(end) - 1);
    printf("timeouts: last line sent: %ld\n", n);
    zebu_tcp_close(c);
}

/* Keepalive inherited from the listener: the peer says hi, gets it back,
 * and vanishes. */
static void keepalive(struct zebu_tcp *c)
{
    zebu_tcp_set_limit(c, ZEBU_TCP_LIMIT_RECV_TIMEOUT, 0); /* only keepalive ends this wait */
    struct zebu_buf *b = zebu_tcp_recv_buf(c);
    if (b == NULL || zebu_tcp_send_buf(c, b) != 0)
        fail("keepalive hello");
    printf("timeouts: keepalive armed\n");
    uint64_t t0 = zebu_time_ns();
    errno = 0;
    b = zebu_tcp_recv_buf(c);
    report("keepalive", b == NULL ? 0 : 1, errno, t0);
    printf("timeouts: keepalive connection error %d\n", zebu_tcp_error(c));
    zebu_tcp_close(c);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    mailbox();
    if (zebu_net_wait_ready(30ull * 1000 * 1000 * 1000) != 0)
        fail("no network address");
    udp();
    struct zebu_tcp *l = zebu_tcp_listen(TCP_PORT, 8);
    if (l == NULL)
        fail("listen");
    /* On the listener: its own accept timeout, and for what it accepts a
     * receive timeout and keepalive. */
    if (zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_ACCEPT_TIMEOUT, timeout_ns()) != 0 ||
        zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_RECV_TIMEOUT, timeout_ns()) != 0)
        fail("set_limit");
    zebu_tcp_set_keepalive(l, (uint64_t)keep_idle_ms * 1000000, (uint64_t)keep_intvl_ms * 1000000,
                           (unsigned)keep_count);
    uint64_t t0 = zebu_time_ns();
    errno = 0;
    struct zebu_tcp *c = zebu_tcp_accept(l);
    report("tcp_accept", c == NULL ? 0 : 1, errno, t0);
    printf("timeouts: tcp ready\n");
    recv_then_echo(accept_one(l));
    printf("timeouts: send ready\n");
    send_stall(accept_one(l));
    printf("timeouts: keepalive ready\n");
    keepalive(accept_one(l));
    struct zebu_net_counters nc;
    zebu_net_counters(&nc);
    printf("timeouts: counters keepalive_probes=%lu keepalive_timeouts=%lu "
           "zero_window_aborts=%lu\n",
           nc.tcp_keepalive_probes, nc.tcp_keepalive_timeouts, nc.tcp_zero_window_aborts);
    zebu_tcp_close(l);
    printf("timeouts: done\n");
    return 0;
}
