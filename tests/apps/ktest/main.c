/*
 * tests/apps/ktest — kernel behaviours the system tests need to see: each way
 * the kernel stops on a fault, and memory above 4 GiB.
 * mode=... picks one; the system tests check the report each one prints.
 */
#include <zebu.h>

static const char *mode = "none";
ZEBU_OPTION_STRING("mode", mode,
                   "pagefault | null | ud | divide | panic | assert | highmem | spin | cores | "
                   "pingpong | sleep | overflow | heap | bench | events | wait | none");

static long count = 100000;
ZEBU_OPTION_INT("count", count, 1, 100000000, "messages for mode=pingpong");

/* ---- SMP ---- */

static void *report_core(void *arg)
{
    (void)arg;
    return (void *)(uintptr_t)zebu_core_id();
}

/* A thread on every core reports the core it ran on. */
static void check_cores(void)
{
    int n = zebu_core_count();
    struct zebu_thread *t[256];
    printf("ktest: cores: %d online\n", n);
    for (int c = 0; c < n && c < 256; c++) {
        char name[16];
        snprintf(name, sizeof(name), "reporter%d", c);
        t[c] = zebu_thread_create(report_core, NULL, c, name, 0);
        if (t[c] == NULL) {
            printf("ktest: cores: cannot create a thread on core %d\n", c);
            exit(1);
        }
    }
    for (int c = 0; c < n && c < 256; c++) {
        int ran_on = (int)(uintptr_t)zebu_thread_join(t[c]);
        printf("ktest: core %d: APIC id %ld, thread ran on core %d\n", c, zebu_core_apic_id(c),
               ran_on);
    }
    if (zebu_thread_create(report_core, NULL, n, "nowhere", 0) != NULL) {
        printf("ktest: cores: a thread was created on core %d, which does not exist\n", n);
        exit(1);
    }
}

struct ping {
    struct zebu_msg msg;
    uint64_t seq;
};

struct pong_args {
    struct zebu_mailbox *in, *out;
    long n;
};

/* Echoes every message back, checking that they arrive in order. */
static void *ponger(void *arg)
{
    struct pong_args *a = arg;
    uint64_t expect = 0, bad = 0;
    for (long i = 0; i < a->n; i++) {
        struct ping *p = ZEBU_MSG_CONTAINER(zebu_mailbox_recv(a->in), struct ping, msg);
        if (p->seq != expect)
            bad++;
        expect = p->seq + 1;
        zebu_mailbox_send(a->out, &p->msg);
    }
    return (void *)(uintptr_t)bad;
}

/* count messages from core 0 to the last core and back, 16 in flight. */
static void pingpong(void)
{
    enum { WINDOW = 16 };
    int far = zebu_core_count() - 1;
    struct pong_args a = {zebu_mailbox_create(), zebu_mailbox_create(), count};
    struct ping *pool = calloc(WINDOW, sizeof(*pool));
    uint8_t *seen = calloc((size_t)count, 1);
    if (a.in == NULL || a.out == NULL || pool == NULL || seen == NULL)
        exit(1);
    struct zebu_thread *t = zebu_thread_create(ponger, &a, far, "ponger", 0);
    uint64_t t0 = zebu_time_ns(), sent = 0, received = 0, dups = 0, order = 0, expect = 0;
    for (int i = 0; i < WINDOW && (long)sent < count; i++) {
        pool[i].seq = sent++;
        zebu_mailbox_send(a.in, &pool[i].msg);
    }
    while ((long)received < count) {
        struct ping *p = ZEBU_MSG_CONTAINER(zebu_mailbox_recv(a.out), struct ping, msg);
        received++;
        if (seen[p->seq]++)
            dups++;
        if (p->seq != expect)
            order++;
        expect = p->seq + 1;
        if ((long)sent < count) {
            p->seq = sent++;
            zebu_mailbox_send(a.in, &p->msg);
        }
    }
    uint64_t reorder_far = (uintptr_t)zebu_thread_join(t);
    uint64_t lost = 0;
    for (long i = 0; i < count; i++)
        lost += seen[i] == 0;
    uint64_t dt = zebu_time_ns() - t0;
    printf("ktest: pingpong: %ld messages core 0 -> core %d -> core 0: %lu lost, %lu duplicated, "
           "%lu out of order, %lu ns per round trip\n",
           count, far, lost, dups, order + reorder_far, dt / (uint64_t)count);
}

/* Every core allocates blocks, fills them, and sends them to the next core,
 * which checks and frees them: every free is a cross-core free. */
struct block {
    struct zebu_msg msg;
    uint32_t size, seed;
    uint8_t bytes[];
};

struct heap_args {
    struct zebu_mailbox **boxes;
    int core, cores;
    long n;
    uint64_t errors;
};

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void *heap_worker(void *arg)
{
    struct heap_args *a = arg;
    uint32_t rng = 0x9E3779B9u * (uint32_t)(a->core + 1);
    for (long i = 0; i < a->n; i++) {
        uint32_t r = xorshift(&rng);
        uint32_t size = (r & 7) == 0 ? 4096 + r % 60000 : 1 + r % 3000;
        struct block *b = malloc(sizeof(*b) + size);
        if (b == NULL) {
            a->errors++;
            continue;
        }
        b->size = size;
        b->seed = r;
        for (uint32_t k = 0; k < size; k++)
            b->bytes[k] = (uint8_t)(r + k);
        zebu_mailbox_send(a->boxes[(a->core + 1) % a->cores], &b->msg);
    }
    for (long i = 0; i < a->n; i++) {
        struct block *b = ZEBU_MSG_CONTAINER(zebu_mailbox_recv(a->boxes[a->core]), struct block, msg);
        for (uint32_t k = 0; k < b->size; k++)
            if (b->bytes[k] != (uint8_t)(b->seed + k)) {
                a->errors++;
                break;
            }
        free(b);
    }
    return NULL;
}

static void heap(void)
{
    int cores = zebu_core_count();
    struct zebu_mem_stats before, after;
    struct zebu_mailbox *boxes[256];
    struct heap_args args[256];
    struct zebu_thread *t[256];
    for (int c = 0; c < cores; c++)
        boxes[c] = zebu_mailbox_create();
    zebu_mem_stats(&before);
    for (int c = 0; c < cores; c++) {
        args[c] = (struct heap_args){boxes, c, cores, count, 0};
        t[c] = zebu_thread_create(heap_worker, &args[c], c, "heap", 0);
    }
    uint64_t errors = 0;
    for (int c = 0; c < cores; c++) {
        zebu_thread_join(t[c]);
        errors += args[c].errors;
    }
    /* A joined thread's last reference (and stack) is dropped by its core
     * just after it switches away: give the cores a moment to get there. */
    zebu_sleep_ns(10 * 1000 * 1000);
    zebu_mem_stats(&after);
    printf("ktest: heap: %ld blocks per core over %d cores, %lu errors, heap in use before %lu "
           "after %lu, %lu failures\n",
           count, cores, errors, before.heap_in_use, after.heap_in_use, after.failures);
    zebu_mem_print_stats();
}

/* ---- benchmark figures (make bench; printed, never asserted) ---- */

static void *yielder(void *arg)
{
    long n = *(long *)arg;
    for (long i = 0; i < n; i++)
        zebu_thread_yield();
    return NULL;
}

static uint64_t bench_switch(long n)
{
    struct zebu_thread *a = zebu_thread_create(yielder, &n, 0, "yield-a", 0);
    struct zebu_thread *b = zebu_thread_create(yielder, &n, 0, "yield-b", 0);
    uint64_t t0 = zebu_time_ns();
    zebu_thread_join(a);
    zebu_thread_join(b);
    return (zebu_time_ns() - t0) / (uint64_t)(2 * n);
}

/* One message in flight: a round trip is two cross-core wake-ups. */
static uint64_t bench_wake(long n)
{
    int far = zebu_core_count() - 1;
    struct pong_args a = {zebu_mailbox_create(), zebu_mailbox_create(), n};
    struct ping p = {.seq = 0};
    struct zebu_thread *t = zebu_thread_create(ponger, &a, far, "ponger", 0);
    uint64_t t0 = zebu_time_ns();
    for (long i = 0; i < n; i++) {
        p.seq = (uint64_t)i;
        zebu_mailbox_send(a.in, &p.msg);
        zebu_mailbox_recv(a.out);
    }
    uint64_t ns = zebu_time_ns() - t0;
    zebu_thread_join(t);
    return ns / (uint64_t)(2 * n);
}

static void *alloc_loop(void *arg)
{
    long n = *(long *)arg;
    void *keep[64];
    for (long i = 0; i < n; i++) {
        keep[i & 63] = malloc(16 + (size_t)(i & 7) * 24);
        if ((i & 63) == 63)
            for (int k = 0; k < 64; k++)
                free(keep[k]);
    }
    return NULL;
}

static uint64_t bench_alloc(int cores, long n)
{
    struct zebu_thread *t[256];
    uint64_t t0 = zebu_time_ns();
    for (int c = 0; c < cores; c++)
        t[c] = zebu_thread_create(alloc_loop, &n, c, "alloc", 0);
    for (int c = 0; c < cores; c++)
        zebu_thread_join(t[c]);
    uint64_t ns = zebu_time_ns() - t0;
    return (uint64_t)(2 * n * cores) * 1000000 / (ns / 1000 + 1); /* malloc + free per i */
}

static void bench(void)
{
    int cores = zebu_core_count();
    uint64_t sw = bench_switch(100000);
    uint64_t wake = bench_wake(20000);
    uint64_t one = bench_alloc(1, 1 << 20);
    uint64_t all = bench_alloc(cores, 1 << 20);
    printf("bench: cores=%d switch_ns=%lu wake_ns=%lu alloc_ops_1core=%lu alloc_ops_allcores=%lu\n",
           cores, sw, wake, one, all);
}

/* ---- timed waits ---- */

struct signaller {
    struct zebu_event *ev;
    long rounds;
    uint64_t sent;
};

static void *signal_loop(void *arg)
{
    struct signaller *s = arg;
    uint32_t rng = 12345;
    for (long i = 0; i < s->rounds; i++) {
        zebu_sleep_ns(xorshift(&rng) % 200000); /* 0-200 us */
        zebu_event_signal(s->ev);
        s->sent++;
    }
    return NULL;
}

static void *signal_late(void *arg);

static void events(void)
{
    struct zebu_event *ev = zebu_event_create();
    uint64_t t0 = zebu_time_ns();
    int r = zebu_event_wait_timeout(ev, 20 * 1000 * 1000);
    printf("ktest: events: unsignalled wait returned %d after %lu us\n", r,
           (zebu_time_ns() - t0) / 1000);
    /* Signals from another core racing against short timeouts: every
     * signal must end up either waking a wait or pending. */
    struct signaller s = {ev, count, 0};
    struct zebu_thread *t = zebu_thread_create(signal_loop, &s, zebu_core_count() - 1, "signaller", 0);
    uint64_t woken = 0, timeouts = 0;
    uint32_t rng = 777;
    while (woken < (uint64_t)count) {
        if (zebu_event_wait_timeout(ev, 1000 + xorshift(&rng) % 150000) == 0)
            woken++;
        else
            timeouts++;
    }
    zebu_thread_join(t);
    r = zebu_event_wait_timeout(ev, 1000000); /* nothing left over */
    printf("ktest: events: %lu signals sent, %lu waits woken by them, %lu timed out, "
           "left over %s\n", s.sent, woken, timeouts, r == 0 ? "1+" : "none");
    /* Timeouts too long to mean anything but "for ever" must not wrap
     * around to a wake-up in the past: each wait here ends by the signal
     * another core sends 20 ms later. */
    static const uint64_t huge[] = {UINT64_MAX, 1ull << 63, (1ull << 62) + 12345};
    for (unsigned i = 0; i < 3; i++) {
        struct signaller late = {ev, 1, 0};
        t = zebu_thread_create(signal_late, &late, zebu_core_count() - 1, "late", 0);
        t0 = zebu_time_ns();
        r = zebu_event_wait_timeout(ev, huge[i]);
        printf("ktest: events: wait of %#lx ns returned %d after %lu us\n", huge[i], r,
               (zebu_time_ns() - t0) / 1000);
        zebu_thread_join(t);
    }
    zebu_event_destroy(ev);
}

static void *signal_late(void *arg)
{
    struct signaller *s = arg;
    zebu_sleep_ns(20 * 1000 * 1000);
    zebu_event_signal(s->ev);
    s->sent++;
    return NULL;
}

/* Sends s->rounds numbered messages, 0-200 us apart. */
struct mail_sender {
    struct zebu_mailbox *mb;
    struct ping *pool;
    long rounds;
};

static void *mail_loop(void *arg)
{
    struct mail_sender *s = arg;
    uint32_t rng = 4242;
    for (long i = 0; i < s->rounds; i++) {
        zebu_sleep_ns(xorshift(&rng) % 200000);
        s->pool[i].seq = (uint64_t)i;
        zebu_mailbox_send(s->mb, &s->pool[i].msg);
    }
    return NULL;
}

/* zebu_mailbox_recv_timeout: an empty mailbox times out after the time
 * asked, not before; then messages from another core race against short
 * timeouts, and each must arrive once, in order, none lost to a timeout. */
static void mailbox_timeouts(void)
{
    struct zebu_mailbox *mb = zebu_mailbox_create();
    uint64_t t0 = zebu_time_ns();
    struct zebu_msg *m = zebu_mailbox_recv_timeout(mb, 20 * 1000 * 1000);
    printf("ktest: mailbox: empty receive returned %s errno %d after %lu us\n",
           m == NULL ? "NULL" : "a message", errno, (zebu_time_ns() - t0) / 1000);
    t0 = zebu_time_ns();
    m = zebu_mailbox_recv_timeout(mb, 0);
    printf("ktest: mailbox: receive with no time returned %s after %lu us\n",
           m == NULL ? "NULL" : "a message", (zebu_time_ns() - t0) / 1000);
    struct mail_sender s = {mb, calloc((size_t)count, sizeof(struct ping)), count};
    if (s.pool == NULL)
        exit(1);
    struct zebu_thread *t = zebu_thread_create(mail_loop, &s, zebu_core_count() - 1, "mailer", 0);
    uint64_t got = 0, timeouts = 0, order = 0;
    uint32_t rng = 99;
    while (got < (uint64_t)count) {
        m = zebu_mailbox_recv_timeout(mb, 1000 + xorshift(&rng) % 150000);
        if (m == NULL) {
            timeouts += errno == ETIMEDOUT;
            continue;
        }
        if (ZEBU_MSG_CONTAINER(m, struct ping, msg)->seq != got)
            order++;
        got++;
    }
    zebu_thread_join(t);
    m = zebu_mailbox_recv_timeout(mb, 1000000);
    printf("ktest: mailbox: %ld messages sent, %lu received, %lu out of order, %lu timed out, "
           "left over %s\n", count, got, order, timeouts, m != NULL ? "1+" : "none");
    free(s.pool);
    zebu_mailbox_destroy(mb);
}

static void sleeps(void)
{
    static const uint64_t ms[] = {1, 10, 100};
    for (unsigned i = 0; i < 3; i++) {
        uint64_t t0 = zebu_time_ns();
        zebu_sleep_ns(ms[i] * 1000000);
        uint64_t us = (zebu_time_ns() - t0) / 1000;
        printf("ktest: sleep %lu ms: woke after %lu us%s\n", ms[i], us,
               us < ms[i] * 1000 ? " (EARLY)" : "");
    }
}

__attribute__((noinline)) static uint64_t recurse(uint64_t depth)
{
    volatile char frame[512];
    frame[0] = (char)depth;
    return depth == 0 ? 0 : recurse(depth - 1) + frame[0];
}

static void *overflower(void *arg)
{
    (void)arg;
    return (void *)(uintptr_t)recurse(1u << 20);
}

static void overflow(void)
{
    struct zebu_thread *t =
        zebu_thread_create(overflower, NULL, zebu_core_count() - 1, "overflower", 16 * 1024);
    zebu_thread_join(t);
}

/* The functions below are noinline so the backtrace names each level. */
__attribute__((noinline)) void fault_write_unmapped(volatile uint64_t *where);
__attribute__((noinline)) void fault_write_unmapped(volatile uint64_t *where)
{
    *where = 0x5a5a5a5a;
}

__attribute__((noinline)) int fault_divide(volatile int d);
__attribute__((noinline)) int fault_divide(volatile int d)
{
    return 100 / d;
}

/* Takes 1 GiB blocks until none is left, writing the first and last word of
 * each and reading them back: on a VM with more than 4 GiB some blocks lie
 * above 4 GiB, which the kernel maps itself when the CPU lacks 1 GiB pages. */
static void touch_big_blocks(void)
{
    const size_t size = (size_t)1 << 30;
    int n = 0, above4g = 0;
    void *p;
    while (n < 64 && (p = malloc(size)) != NULL) {
        volatile uint64_t *first = p, *last = (volatile uint64_t *)((char *)p + size) - 1;
        *first = (uint64_t)(uintptr_t)p;
        *last = ~(uint64_t)(uintptr_t)p;
        if (*first != (uint64_t)(uintptr_t)p || *last != ~(uint64_t)(uintptr_t)p) {
            printf("ktest: highmem: block %p does not keep what was written\n", p);
            exit(1);
        }
        if ((uintptr_t)p >= ((uintptr_t)1 << 32))
            above4g++;
        printf("ktest: highmem: block at %p ok\n", p);
        n++;
    }
    printf("ktest: highmem: %d blocks of 1 GiB, %d above 4 GiB\n", n, above4g);
}

__attribute__((noinline)) static void fault_dispatch(const char *m)
{
    if (strcmp(m, "pagefault") == 0)
        fault_write_unmapped((volatile uint64_t *)0x00000dead0000000ull);
    else if (strcmp(m, "null") == 0)
        fault_write_unmapped((volatile uint64_t *)0x10);
    else if (strcmp(m, "ud") == 0)
        __builtin_trap();
    else if (strcmp(m, "divide") == 0)
        printf("%d\n", fault_divide(0));
    else if (strcmp(m, "assert") == 0)
        assert(strcmp(m, "assert") != 0);
    else if (strcmp(m, "panic") == 0)
        abort();
    else if (strcmp(m, "highmem") == 0)
        touch_big_blocks();
    else if (strcmp(m, "cores") == 0)
        check_cores();
    else if (strcmp(m, "pingpong") == 0)
        pingpong();
    else if (strcmp(m, "sleep") == 0)
        sleeps();
    else if (strcmp(m, "overflow") == 0)
        overflow();
    else if (strcmp(m, "heap") == 0)
        heap();
    else if (strcmp(m, "bench") == 0)
        bench();
    else if (strcmp(m, "events") == 0) {
        events();
        mailbox_timeouts();
    }
    else if (strcmp(m, "spin") == 0)
        for (;;)
            __asm__ volatile("" ::: "memory"); /* until the test ends the VM */
    else if (strcmp(m, "wait") == 0) {
        printf("ktest: waiting\n");
        for (;;)
            zebu_sleep_ns(1000000000ull); /* until something stops the VM (the power button) */
    }
}

void selftest_run(void); /* kernel/selftest.c: selftest=ioapic|vnet|vnet-mq|pmem */

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    selftest_run();
    printf("ktest: mode=%s\n", mode);
    fault_dispatch(mode);
    printf("ktest: still running\n");
    return 0;
}
