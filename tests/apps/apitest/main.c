/*
 * tests/apps/apitest — the app calls of issue 14, each checked from inside
 * the guest; tests/system/test_api.py boots it and reads what it prints.
 *   mode=mutex     threads on every core add to one counter under a mutex
 *   mode=random    zebu_random bytes and the source that gave them
 *   mode=walltime  zebu_wall_time_ns against the monotonic clock
 *   mode=printf    floating-point printf inside the unikernel
 *   mode=net       zebu_tcp_local / zebu_udp_local on real sockets
 *   mode=connect   threads on every core open connections to an echo
 *                  server at peer_ip:peer, each a line out and back
 */
#include <zebu.h>

static const char *mode = "none";
ZEBU_OPTION_STRING("mode", mode, "mutex | random | walltime | printf | net | connect | none");

static const char *peer_ip = "10.0.2.2";
ZEBU_OPTION_STRING("peer_ip", peer_ip, "mode=connect: the echo server's address");

static long count = 20000;
ZEBU_OPTION_INT("count", count, 1, 100000000, "increments per thread for mode=mutex");

static long peer_port = 0;
ZEBU_OPTION_INT("peer", peer_port, 0, 65535, "mode=net: TCP port on the host (10.0.2.2) to connect to");

static long per_core = 3;
ZEBU_OPTION_INT("threads", per_core, 1, 16, "threads per core for mode=mutex");

/* ---- mutex ---- */

static struct zebu_mutex counter_lock = ZEBU_MUTEX_INIT;
static volatile uint64_t counter;

struct adder {
    long n;
    int locked;
};

/* Adds 1 to counter n times as read, (sometimes) yield, write: without the
 * mutex, another thread's additions between the read and the write are
 * lost, on one core (the yield) as on several. */
static void *add(void *arg)
{
    const struct adder *a = arg;
    for (long i = 0; i < a->n; i++) {
        if (a->locked)
            zebu_mutex_lock(&counter_lock);
        uint64_t v = counter;
        if (i % 8 == 0)
            zebu_thread_yield();
        counter = v + 1;
        if (a->locked)
            zebu_mutex_unlock(&counter_lock);
        if (i % 32 == 0)
            zebu_thread_yield();
    }
    return NULL;
}

/* per_core threads on every core, each adding n; returns the total. */
static uint64_t run_adders(long n, int locked)
{
    int cores = zebu_core_count();
    struct zebu_thread *t[256];
    struct adder a = {n, locked};
    int made = 0;
    counter = 0;
    for (int c = 0; c < cores; c++)
        for (long k = 0; k < per_core && made < 256; k++) {
            t[made] = zebu_thread_create(add, &a, c, "adder", 0);
            if (t[made] == NULL) {
                printf("apitest: mutex: cannot create a thread on core %d\n", c);
                exit(1);
            }
            made++;
        }
    for (int i = 0; i < made; i++)
        zebu_thread_join(t[i]);
    return counter;
}

static volatile int waiter_done;
static volatile uint64_t neighbour_runs;

/* Locks what main holds: it must sleep, not spin, so that its core's
 * other thread (neighbour) keeps running until main lets go. */
static void *waiter(void *arg)
{
    struct zebu_mutex *m = arg;
    zebu_mutex_lock(m);
    waiter_done = 1;
    zebu_mutex_unlock(m);
    return NULL;
}

static void *neighbour(void *arg)
{
    (void)arg;
    while (!waiter_done) {
        neighbour_runs++;
        zebu_thread_yield();
    }
    return NULL;
}

/* trylock refuses a held mutex from another core, takes a free one. */
static void *try_from_elsewhere(void *arg)
{
    struct zebu_mutex *m = arg;
    int busy = zebu_mutex_trylock(m);
    if (busy == 0)
        zebu_mutex_unlock(m);
    return (void *)(intptr_t)busy;
}

static void check_mutex(void)
{
    int cores = zebu_core_count(), far = cores - 1;
    uint64_t threads = (uint64_t)cores * (uint64_t)per_core;
    uint64_t expect = threads * (uint64_t)count;

    uint64_t unlocked = run_adders(count, 0);
    printf("apitest: mutex: without the mutex %lu of %lu increments\n", unlocked, expect);
    uint64_t t0 = zebu_time_ns();
    uint64_t total = run_adders(count, 1);
    printf("apitest: mutex: %lu threads on %d cores, %ld increments each: total %lu of %lu, "
           "%lu waits, %lu ms\n",
           threads, cores, count, total, expect, counter_lock.waits,
           (zebu_time_ns() - t0) / 1000000);

    struct zebu_mutex m;
    zebu_mutex_init(&m);
    zebu_mutex_lock(&m);
    intptr_t held = (intptr_t)zebu_thread_join(zebu_thread_create(try_from_elsewhere, &m, far,
                                                                    "try", 0));
    zebu_mutex_unlock(&m);
    intptr_t freed = (intptr_t)zebu_thread_join(zebu_thread_create(try_from_elsewhere, &m, far,
                                                                     "try", 0));
    printf("apitest: mutex: trylock on core %d: held %ld, free %ld\n", far, (long)held,
           (long)freed);

    /* main (core 0) holds m for 100 ms while a waiter on the last core
     * blocks on it next to a thread that counts its turns. */
    zebu_mutex_lock(&m);
    struct zebu_thread *w = zebu_thread_create(waiter, &m, far, "waiter", 0);
    struct zebu_thread *n = zebu_thread_create(neighbour, NULL, far, "neighbour", 0);
    zebu_sleep_ns(100 * 1000 * 1000);
    uint64_t runs_while_held = neighbour_runs;
    int done_while_held = waiter_done;
    zebu_mutex_unlock(&m);
    zebu_thread_join(w);
    zebu_thread_join(n);
    printf("apitest: mutex: waiter on core %d: done while held %d, its neighbour ran %lu times "
           "meanwhile, waits %lu\n",
           far, done_while_held, runs_while_held, m.waits);
}

/* ---- random ---- */

static void print_hex(const char *what, const uint8_t *b, size_t n)
{
    printf("apitest: random: %s ", what);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

static void *random_on_core(void *arg)
{
    zebu_random(arg, 16);
    return NULL;
}

static void check_random(void)
{
    uint8_t a[32], b[32];
    zebu_random(a, sizeof(a));
    zebu_random(b, sizeof(b));
    printf("apitest: random: source %s\n", zebu_random_source());
    print_hex("first", a, sizeof(a));
    print_hex("second", b, sizeof(b));

    /* 64 KiB in odd-sized pieces: each byte value's count, and runs. */
    enum { BIG = 65536 };
    uint8_t *big = malloc(BIG);
    if (big == NULL)
        exit(1);
    memset(big, 0, BIG);
    for (size_t off = 0, n = 1; off < BIG; off += n, n = n * 3 % 1021 + 1)
        zebu_random(big + off, off + n <= BIG ? n : BIG - off);
    unsigned counts[256] = {0};
    for (size_t i = 0; i < BIG; i++)
        counts[big[i]]++;
    unsigned lo = BIG, hi = 0;
    for (int v = 0; v < 256; v++) {
        lo = counts[v] < lo ? counts[v] : lo;
        hi = counts[v] > hi ? counts[v] : hi;
    }
    printf("apitest: random: %d bytes, each value seen %u to %u times\n", BIG, lo, hi);
    free(big);

    /* Every core draws at once. */
    int cores = zebu_core_count();
    static uint8_t drawn[256][16];
    struct zebu_thread *t[256];
    for (int c = 0; c < cores && c < 256; c++)
        t[c] = zebu_thread_create(random_on_core, drawn[c], c, "random", 0);
    int same = 0;
    for (int c = 0; c < cores && c < 256; c++) {
        zebu_thread_join(t[c]);
        for (int d = 0; d < c; d++)
            same += memcmp(drawn[c], drawn[d], 16) == 0;
    }
    printf("apitest: random: %d cores drew 16 bytes each, %d equal pairs\n", cores, same);
}

/* ---- wall clock ---- */

static void check_walltime(void)
{
    uint64_t first = zebu_wall_time_ns(); /* reads the RTC */
    printf("apitest: walltime: first %lu.%09lu\n", first / 1000000000, first % 1000000000);
    uint64_t m0 = zebu_time_ns(), w0 = zebu_wall_time_ns();
    zebu_sleep_ns(200 * 1000 * 1000);
    uint64_t m1 = zebu_time_ns(), w1 = zebu_wall_time_ns();
    printf("apitest: walltime: %lu.%09lu\n", w1 / 1000000000, w1 % 1000000000);
    /* Both clocks ran alike over the sleep (the TSC carries both). */
    long skew = (long)((w1 - w0) - (m1 - m0));
    printf("apitest: walltime: over a 200 ms sleep wall %lu ns, monotonic %lu ns, skew %ld ns\n",
           w1 - w0, m1 - m0, skew);
}

/* ---- floating-point printf ---- */

/* An app's own variadic function handing its va_list to vsnprintf. */
static int format_v(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static void *printf_on_core(void *arg)
{
    (void)arg;
    double third = 1.0 / 3.0;
    /* Ten doubles: the last two come from the stack, not XMM registers. */
    printf("apitest: printf: core %d: %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.17g\n",
           zebu_core_id(), 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.25, third);
    return NULL;
}

static void check_printf(void)
{
    volatile double pi = 3.14159265358979323846, tiny = -2.5e-7, big = 1e300;
    printf("apitest: printf: %%.3f %.3f\n", pi);
    printf("apitest: printf: %%10.4e [%10.4e]\n", tiny);
    printf("apitest: printf: %%g %g %g %g\n", big, 0.0001234, 100000.0);
    printf("apitest: printf: %%+08.2f %+08.2f %%-9.1E| %-9.1E|\n", -pi, pi);
    printf("apitest: printf: %%f inf %f nan %F\n", big * big, (big * big) * 0.0);
    char buf[64];
    int n = format_v(buf, sizeof(buf), "%d %.3f %s", 7, 2.0 / 3.0, "end");
    printf("apitest: printf: vsnprintf %d [%s]\n", n, buf);
    int cores = zebu_core_count();
    for (int c = 0; c < cores; c++)
        zebu_thread_join(zebu_thread_create(printf_on_core, NULL, c, "printf", 0));
}

/* ---- local addresses ---- */

static const char *ip_str(uint32_t ip, char *buf)
{
    zebu_ip4_format(ip, buf, 16);
    return buf;
}

static void print_ends(const char *what, struct zebu_tcp *c)
{
    uint32_t lip, rip;
    uint16_t lport, rport;
    char a[16], b[16];
    zebu_tcp_local(c, &lip, &lport);
    zebu_tcp_peer(c, &rip, &rport);
    printf("apitest: net: %s local %s:%u peer %s:%u\n", what, ip_str(lip, a), lport,
           ip_str(rip, b), rport);
}

/* Checks the local ends of sockets; with user networking the host is
 * 10.0.2.2, and tests/system/test_api.py listens on `peer` there and
 * connects to this guest's port 7777 once it has read our line. */
static void check_net(void)
{
    char a[16];
    if (zebu_net_wait_ready(30ull * 1000 * 1000 * 1000) != 0) {
        printf("apitest: net: no address\n");
        exit(1);
    }
    printf("apitest: net: address %s\n", ip_str(zebu_net_addr(), a));
    struct zebu_udp *any = zebu_udp_bind(0), *fixed = zebu_udp_bind(5353);
    uint32_t uip = 1, fip = 1;
    uint16_t uport = 0, fport = 0;
    zebu_udp_local(any, &uip, &uport);
    zebu_udp_local(fixed, &fip, &fport);
    printf("apitest: net: udp bind(0) local %s:%u\n", ip_str(uip, a), uport);
    printf("apitest: net: udp bind(5353) local %s:%u\n", ip_str(fip, a), fport);
    long sent = zebu_udp_sendto(any, 0x0A000202, (uint16_t)peer_port, "ping", 4);
    printf("apitest: net: udp sendto returned %ld\n", sent);

    struct zebu_tcp *l = zebu_tcp_listen(7777, 4);
    print_ends("listener", l);
    struct zebu_tcp *c = zebu_tcp_connect(0x0A000202, (uint16_t)peer_port, 10000000000ull);
    if (c == NULL) {
        printf("apitest: net: connect failed: errno %d\n", errno);
        exit(1);
    }
    print_ends("connected", c);
    uint32_t lip;
    uint16_t lport;
    zebu_tcp_local(c, &lip, &lport);
    char line[64];
    int n = snprintf(line, sizeof(line), "local %s:%u\n", ip_str(lip, a), lport);
    long r = zebu_tcp_send(c, line, (size_t)n);
    printf("apitest: net: tcp send of %d bytes returned %ld\n", n, r);
    zebu_tcp_close(c);

    struct zebu_tcp *in = zebu_tcp_accept(l);
    print_ends("accepted", in);
    char buf[16];
    long got = zebu_tcp_recv(in, buf, sizeof(buf));
    printf("apitest: net: tcp recv returned %ld\n", got);
    zebu_tcp_close(in);
    zebu_tcp_close(l);
    zebu_udp_close(any);
    zebu_udp_close(fixed);
}

/* ---- connect: outgoing connections from every core ---- */

static long connects_done;

/* count connections from this thread's core, one after the other: each
 * sends a line naming its core and port and reads it back. */
static void *connector(void *arg)
{
    long n = (long)arg;
    uint32_t ip;
    zebu_ip4_parse(peer_ip, &ip);
    for (long i = 0; i < n; i++) {
        struct zebu_tcp *c = zebu_tcp_connect(ip, (uint16_t)peer_port, 20000000000ull);
        if (c == NULL) {
            printf("apitest: connect: core %d: connect failed: errno %d\n", zebu_core_id(), errno);
            continue;
        }
        uint16_t lport;
        zebu_tcp_local(c, NULL, &lport);
        char line[64], back[64];
        int len = snprintf(line, sizeof(line), "core %d port %u\n", zebu_core_id(), lport);
        long got = 0;
        if (zebu_tcp_send(c, line, (size_t)len) == len)
            while (got < len) {
                long r = zebu_tcp_recv(c, back + got, sizeof(back) - (size_t)got);
                if (r <= 0)
                    break;
                got += r;
            }
        int same = got == len && memcmp(line, back, (size_t)len) == 0;
        printf("apitest: connect: thread core %d conn core %d port %u echo %s\n", zebu_core_id(),
               zebu_tcp_core(c), lport, same ? "ok" : "bad");
        zebu_tcp_close(c);
    }
    __atomic_add_fetch(&connects_done, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void check_connect(void)
{
    if (zebu_net_wait_ready(30000000000ull) != 0) {
        printf("apitest: connect: no network\n");
        exit(1);
    }
    int cores = zebu_core_count();
    for (int core = 0; core < cores; core++) {
        struct zebu_thread *t = zebu_thread_create(connector, (void *)count, core, "conn", 0);
        if (t == NULL)
            exit(1);
        zebu_thread_detach(t);
    }
    while (__atomic_load_n(&connects_done, __ATOMIC_RELAXED) < cores)
        zebu_sleep_ns(10000000);
    struct zebu_net_counters nc;
    zebu_net_counters(&nc);
    printf("apitest: connect: %d cores, %llu stacks, calls moved %llu\n", cores,
           (unsigned long long)nc.stacks, (unsigned long long)nc.api_forwarded);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("apitest: mode=%s\n", mode);
    if (strcmp(mode, "mutex") == 0)
        check_mutex();
    else if (strcmp(mode, "net") == 0)
        check_net();
    else if (strcmp(mode, "connect") == 0)
        check_connect();
    else if (strcmp(mode, "printf") == 0)
        check_printf();
    else if (strcmp(mode, "walltime") == 0)
        check_walltime();
    else if (strcmp(mode, "random") == 0)
        check_random();
    else if (strcmp(mode, "none") != 0) {
        printf("apitest: unknown mode %s\n", mode);
        return 1;
    }
    printf("apitest: done\n");
    return 0;
}
