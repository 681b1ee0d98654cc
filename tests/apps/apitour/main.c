/*
 * tests/apps/apitour — calls every function of include/zebu.h at least
 * once and checks what each returns, so that none stays untested: one line
 * "tour: ok <function>" per function that behaved, "tour: FAIL ..."
 * otherwise. tests/system/test_apitour.py reads the function list from
 * zebu.h itself and wants an ok line for each.
 *
 * Under QEMU user networking (guest 10.0.2.15, host 10.0.2.2), the test
 * runs a TCP echo server at host port tport and a UDP echo at uport, and
 * connects to the guest's port 7000 through a forward once the guest says
 * "tour: listening". One boot module, whose bytes start with "apitour".
 */
#include <zebu.h>

static long tport, uport;
ZEBU_OPTION_INT("tport", tport, 0, 65535, "the host's TCP echo port (10.0.2.2)");
ZEBU_OPTION_INT("uport", uport, 0, 65535, "the host's UDP echo port (10.0.2.2)");

static int failures;

static void check(const char *fn, int ok, const char *detail)
{
    if (ok) {
        printf("tour: ok %s\n", fn);
    } else {
        printf("tour: FAIL %s %s\n", fn, detail);
        failures++;
    }
}

/* ---- boot, time, random, cores ---- */

static void tour_basics(void)
{
    static const char line[] = "tour: console line\n";
    zebu_console_write(line, sizeof(line) - 1);
    check("zebu_console_write", 1, "");
    const char *cl = zebu_cmdline();
    check("zebu_cmdline", cl != NULL && strstr(cl, "tport=") != NULL, cl ? cl : "NULL");
    const char *bp = zebu_boot_protocol();
    check("zebu_boot_protocol", bp != NULL && bp[0] != '\0', "empty");
    size_t len = 0;
    const char *mcl = NULL;
    const char *m = zebu_module(0, &len, &mcl);
    check("zebu_module",
          m != NULL && len >= 7 && memcmp(m, "apitour", 7) == 0 && zebu_module(1, &len, &mcl) == NULL,
          "module 0 missing or wrong");
    uint64_t t0 = zebu_time_ns();
    zebu_sleep_ns(5 * 1000 * 1000);
    uint64_t t1 = zebu_time_ns();
    check("zebu_time_ns", t1 > t0, "not increasing");
    check("zebu_sleep_ns", t1 - t0 >= 5 * 1000 * 1000, "woke early");
    uint64_t wall = zebu_wall_time_ns();
    check("zebu_wall_time_ns", wall > 1700000000ull * 1000000000ull, "before 2023");
    unsigned char a[32], b[32];
    zebu_random(a, sizeof(a));
    zebu_random(b, sizeof(b));
    check("zebu_random", memcmp(a, b, sizeof(a)) != 0, "two draws equal");
    const char *src = zebu_random_source();
    check("zebu_random_source", src != NULL && src[0] != '\0', "none");
    int n = zebu_core_count();
    check("zebu_core_count", n >= 1, "no core");
    check("zebu_core_id", zebu_core_id() == 0, "main not on core 0");
    check("zebu_core_apic_id", zebu_core_apic_id(0) >= 0 && zebu_core_apic_id(n) < 0,
          "bad ids");
    struct zebu_core_stats cs;
    check("zebu_core_stats", zebu_core_stats(0, &cs) == 0 && cs.cycles > 0, "no stats");
    check("zebu_tsc_khz", zebu_tsc_khz() > 0, "0");
}

/* ---- threads, events, mutex, mailboxes ---- */

static struct zebu_event *ev;
static struct zebu_mutex lock = ZEBU_MUTEX_INIT, held = ZEBU_MUTEX_INIT;
static int shared, busy;

struct note {
    struct zebu_msg msg; /* first: the mailbox's link */
    int value;
};

static void *worker(void *arg)
{
    (void)arg;
    check("zebu_thread_name", strcmp(zebu_thread_name(), "tour-worker") == 0,
          zebu_thread_name());
    busy = zebu_mutex_trylock(&held); /* main holds it */
    zebu_mutex_lock(&lock);
    shared++;
    zebu_mutex_unlock(&lock);
    zebu_event_signal(ev);
    zebu_thread_yield();
    return (void *)(uintptr_t)42;
}

static void *quitter(void *arg)
{
    (void)arg;
    zebu_thread_exit((void *)(uintptr_t)7);
}

static void *sender(void *arg)
{
    static struct note n = {.value = 5};
    zebu_mailbox_send(arg, &n.msg);
    return NULL;
}

static void tour_threads(void)
{
    ev = zebu_event_create();
    check("zebu_event_create", ev != NULL, "NULL");
    struct zebu_mutex m;
    zebu_mutex_init(&m);
    check("zebu_mutex_init", zebu_mutex_trylock(&m) == 0, "fresh mutex held");
    zebu_mutex_unlock(&m);
    check("zebu_mutex_unlock", zebu_mutex_trylock(&m) == 0, "still held");
    zebu_mutex_unlock(&m);
    zebu_mutex_lock(&held); /* for the worker's trylock */
    struct zebu_thread *t = zebu_thread_create(worker, NULL, zebu_core_count() - 1, "tour-worker", 0);
    check("zebu_thread_create", t != NULL, "NULL");
    zebu_event_wait(ev);
    check("zebu_event_wait", 1, "");
    void *r = zebu_thread_join(t);
    check("zebu_thread_join", r == (void *)(uintptr_t)42, "wrong result");
    check("zebu_mutex_trylock", busy == -EBUSY, "another thread took a held mutex");
    zebu_mutex_unlock(&held);
    check("zebu_thread_yield", 1, "");
    zebu_mutex_lock(&lock);
    check("zebu_mutex_lock", shared == 1, "lost increment");
    zebu_mutex_unlock(&lock);
    zebu_event_signal(ev);
    check("zebu_event_signal", zebu_event_wait_timeout(ev, 1000000) == 0, "signal lost");
    check("zebu_event_wait_timeout", zebu_event_wait_timeout(ev, 1000000) == -ETIMEDOUT,
          "no timeout");
    zebu_event_destroy(ev);
    check("zebu_event_destroy", 1, "");
    struct zebu_thread *q = zebu_thread_create(quitter, NULL, 0, "tour-quit", 0);
    check("zebu_thread_exit", q != NULL && zebu_thread_join(q) == (void *)(uintptr_t)7,
          "wrong result");
    struct zebu_mailbox *mb = zebu_mailbox_create();
    check("zebu_mailbox_create", mb != NULL, "NULL");
    check("zebu_mailbox_try_recv", zebu_mailbox_try_recv(mb) == NULL, "not empty");
    check("zebu_mailbox_recv_timeout", zebu_mailbox_recv_timeout(mb, 1000000) == NULL,
          "no timeout");
    struct zebu_thread *s = zebu_thread_create(sender, mb, 0, "tour-send", 0);
    zebu_thread_detach(s);
    check("zebu_thread_detach", s != NULL, "NULL");
    struct note *got = (struct note *)zebu_mailbox_recv(mb);
    check("zebu_mailbox_recv", got != NULL && got->value == 5, "wrong message");
    check("zebu_mailbox_send", got != NULL, "");
    zebu_mailbox_destroy(mb);
    check("zebu_mailbox_destroy", 1, "");
}

/* ---- memory ---- */

static void tour_memory(void)
{
    struct zebu_mem_stats ms;
    zebu_mem_stats(&ms);
    check("zebu_mem_stats", ms.total_bytes > ms.free_bytes && ms.heap_in_use > 0, "odd figures");
    zebu_mem_print_stats();
    check("zebu_mem_print_stats", 1, "");
}

/* ---- network ---- */

#define HOST_IP 0x0A000202u /* 10.0.2.2: QEMU user networking's host */

static int ref_done;

static void done(void *cookie)
{
    (*(int *)cookie)++;
}

/* Reads exactly n bytes from c (zebu_tcp_recv); 0 or -1. */
static int recv_all(struct zebu_tcp *c, char *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        long r = zebu_tcp_recv(c, buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void tour_tcp_client(void)
{
    uint32_t ip = 0;
    check("zebu_ip4_parse", zebu_ip4_parse("10.0.2.2", &ip) == 0 && ip == HOST_IP, "bad parse");
    char text[16];
    check("zebu_ip4_format", zebu_ip4_format(ip, text, sizeof(text)) > 0 &&
                                 strcmp(text, "10.0.2.2") == 0, text);
    struct zebu_tcp *c = zebu_tcp_connect(HOST_IP, (uint16_t)tport, 10ull * 1000000000);
    check("zebu_tcp_connect", c != NULL, strerror(errno));
    if (c == NULL)
        return;
    zebu_tcp_set_nodelay(c, 1);
    check("zebu_tcp_set_nodelay", 1, "");
    check("zebu_tcp_set_limit", zebu_tcp_set_limit(c, ZEBU_TCP_LIMIT_RECV_TIMEOUT, 10ull * 1000000000) == 0 &&
                                    zebu_tcp_set_limit(c, 99, 1) == -EINVAL, "");
    check("zebu_tcp_set_keepalive", zebu_tcp_set_keepalive(c, 60ull * 1000000000, 0, 0) == 0, "");
    uint32_t pip = 0, lip = 0;
    uint16_t pport = 0, lport = 0;
    zebu_tcp_peer(c, &pip, &pport);
    check("zebu_tcp_peer", pip == HOST_IP && pport == tport, "wrong peer");
    zebu_tcp_local(c, &lip, &lport);
    check("zebu_tcp_local", lip == zebu_net_addr() && lport != 0, "wrong local");
    /* One stack (user networking has no RSS): every connection is core 0's. */
    check("zebu_tcp_core", zebu_tcp_core(c) == 0, "not core 0");
    check("zebu_tcp_send", zebu_tcp_send(c, "abc", 3) == 3, "short");
    static const char ref[] = "def";
    check("zebu_tcp_send_ref", zebu_tcp_send_ref(c, ref, 3, done, &ref_done) == 0, "");
    struct zebu_buf *b = zebu_buf_alloc(3);
    size_t len = 0;
    char *p = zebu_buf_data_mut(b, &len);
    check("zebu_buf_alloc", b != NULL && len == 3, "");
    check("zebu_buf_data_mut", p != NULL, "");
    memcpy(p, "ghi", 3);
    struct zebu_buf *tail = zebu_buf_ref("jkl", 3, NULL, NULL);
    check("zebu_buf_ref", tail != NULL, "");
    zebu_buf_append(b, tail);
    check("zebu_tcp_send_buf", zebu_tcp_send_buf(c, b) == 0, "");
    char echo[12];
    int got = recv_all(c, echo, 9) == 0 && memcmp(echo, "abcdefghi", 9) == 0;
    check("zebu_tcp_recv", got, "wrong echo");
    check("zebu_buf_append", got, "");
    struct zebu_buf *rb = zebu_tcp_recv_buf(c);
    const char *d = rb != NULL ? zebu_buf_data(rb, &len) : NULL;
    check("zebu_tcp_recv_buf", d != NULL && len >= 1 && d[0] == 'j', "wrong echo");
    check("zebu_buf_data", d != NULL, "");
    if (rb != NULL)
        zebu_buf_free(rb);
    check("zebu_buf_free", 1, "");
    check("zebu_tcp_shutdown", zebu_tcp_shutdown(c) == 0, "");
    /* The echo server closes after our FIN: the end of the stream. */
    while ((rb = zebu_tcp_recv_buf(c)) != NULL)
        zebu_buf_free(rb);
    check("zebu_tcp_error", errno == 0 && zebu_tcp_error(c) == 0, "not an orderly end");
    zebu_tcp_close(c);
    check("zebu_tcp_close", 1, "");
    for (int i = 0; i < 200 && ref_done == 0; i++)
        zebu_sleep_ns(10 * 1000 * 1000);
    check("zebu_tcp_send_ref done", ref_done == 1, "done not called");
}

/* The test connects through the forward and sends "tour"; the guest echoes
 * it back and aborts the connection. */
static void tour_tcp_server(void)
{
    struct zebu_tcp *l = zebu_tcp_listen(7000, 4);
    check("zebu_tcp_listen", l != NULL, strerror(errno));
    if (l == NULL)
        return;
    struct zebu_poll *p = zebu_poll_create();
    check("zebu_poll_create", p != NULL, "");
    check("zebu_tcp_try_accept", zebu_tcp_try_accept(l) == NULL && errno == EAGAIN, "");
    check("zebu_poll_add", zebu_poll_add(p, l, l) == 0 && zebu_poll_add(p, l, l) == -EBUSY, "");
    struct zebu_poll_event pe[4];
    zebu_poll_wait(p, pe, 4, 0); /* the queued-once look */
    printf("tour: listening\n");
    int n = zebu_poll_wait(p, pe, 4, 60ull * 1000000000);
    check("zebu_poll_wait", n == 1 && pe[0].user == l, "no news of the listener");
    struct zebu_tcp *c = zebu_tcp_try_accept(l);
    if (c == NULL) /* a poll's news may come with the SYN, before the handshake ends */
        c = zebu_tcp_accept(l);
    check("zebu_tcp_accept", c != NULL, strerror(errno));
    check("zebu_poll_del", zebu_poll_del(p, l) == 0 && zebu_poll_del(p, l) == -ENOENT, "");
    if (c != NULL) {
        char buf[4];
        zebu_poll_add(p, c, c);
        struct zebu_buf *b = NULL;
        for (int i = 0; i < 100 && b == NULL; i++) {
            zebu_poll_wait(p, pe, 4, 1000000000);
            b = zebu_tcp_try_recv_buf(c);
        }
        check("zebu_tcp_try_recv_buf", b != NULL, "nothing read");
        size_t len = 0;
        if (b != NULL && zebu_buf_data(b, &len) != NULL && len <= sizeof(buf))
            zebu_tcp_send_buf(c, b);
        else if (b != NULL)
            zebu_buf_free(b);
        zebu_sleep_ns(200 * 1000 * 1000);
        zebu_tcp_abort(c); /* leaves the poller too */
        check("zebu_tcp_abort", 1, "");
    }
    check("zebu_poll_destroy", zebu_poll_destroy(p) == 0, "still watching");
    zebu_tcp_close(l);
}

static int served;

static void serve_once(struct zebu_tcp *c, void *arg)
{
    char buf[8];
    long n = zebu_tcp_recv(c, buf, sizeof(buf));
    if (n > 0 && zebu_tcp_send(c, buf, (size_t)n) == n)
        __atomic_store_n((int *)arg, zebu_tcp_core(c) + 1, __ATOMIC_RELAXED);
    zebu_tcp_close(c);
}

static void serve_ready(void *arg)
{
    (void)arg;
    printf("tour: serving\n");
}

/* The test connects to port 7001 once "tour: serving" is out, sends
 * "serve" and reads it back; zebu_tcp_serve returns after that one. */
static void tour_tcp_serve(void)
{
    struct zebu_tcp_server bad = {.port = 7001};
    struct zebu_tcp_server cfg = {
        .port = 7001, .backlog = 4, .limit = 1, .serve = serve_once, .ready = serve_ready,
        .arg = &served,
    };
    check("zebu_tcp_serve", zebu_tcp_serve(&bad) == -EINVAL && zebu_tcp_serve(&cfg) == 0 &&
                                served == 1, "the connection was not served on core 0");
}

static void tour_udp(void)
{
    struct zebu_udp *u = zebu_udp_bind(0);
    check("zebu_udp_bind", u != NULL, strerror(errno));
    if (u == NULL)
        return;
    uint32_t ip = 1;
    uint16_t port = 0;
    zebu_udp_local(u, &ip, &port);
    check("zebu_udp_local", ip == 0 && port != 0, "");
    zebu_udp_set_timeout(u, 2ull * 1000000000);
    check("zebu_udp_set_timeout", 1, "");
    char buf[16];
    long r = -1;
    for (int i = 0; i < 5 && r != 5; i++) { /* the first may wait for ARP */
        zebu_udp_sendto(u, HOST_IP, (uint16_t)uport, "hello", 5);
        r = zebu_udp_recvfrom(u, buf, sizeof(buf), &ip, &port);
    }
    check("zebu_udp_sendto", r == 5, "");
    check("zebu_udp_recvfrom", r == 5 && memcmp(buf, "hello", 5) == 0 && ip == HOST_IP &&
                                   port == uport, "wrong echo");
    struct zebu_buf *b = zebu_buf_alloc(3);
    size_t len;
    memcpy(zebu_buf_data_mut(b, &len), "xyz", 3);
    check("zebu_udp_send_buf", zebu_udp_send_buf(u, HOST_IP, (uint16_t)uport, b) == 0, "");
    struct zebu_buf *rb = zebu_udp_recv_buf(u, &ip, &port);
    const char *d = rb != NULL ? zebu_buf_data(rb, &len) : NULL;
    check("zebu_udp_recv_buf", d != NULL && len == 3 && memcmp(d, "xyz", 3) == 0, "");
    if (rb != NULL)
        zebu_buf_free(rb);
    zebu_udp_close(u);
    check("zebu_udp_close", 1, "");
}

static void tour_net(void)
{
    check("zebu_net_wait_ready", zebu_net_wait_ready(30ull * 1000000000) == 0, "no address");
    check("zebu_net_addr", zebu_net_addr() == 0x0A00020Fu, "not 10.0.2.15");
    tour_tcp_client();
    tour_udp();
    tour_tcp_server();
    tour_tcp_serve();
    struct zebu_net_counters nc;
    check("zebu_net_counters", zebu_net_counters(&nc) == 0 && nc.rx_packets > 0 && nc.stacks == 1,
          "");
    struct zebu_net_counters c0;
    check("zebu_net_core_counters", zebu_net_core_counters(0, &c0) == 0 &&
                                        c0.rx_packets > 0 && c0.rx_packets <= nc.rx_packets &&
                                        zebu_net_core_counters(1, &c0) == -ENODEV, "");
    uint64_t count = 0;
    const char *name = zebu_net_drop_reason(0, &count);
    check("zebu_net_drop_reason", name != NULL && zebu_net_drop_reason(100000, NULL) == NULL, "");
    zebu_net_print_counters();
    check("zebu_net_print_counters", 1, "");
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tour_basics();
    tour_threads();
    tour_memory();
    tour_net();
    printf("tour: done, %d failures\n", failures);
    check("zebu_exit", 1, "");
    zebu_exit(failures == 0 ? 0 : 1);
}
