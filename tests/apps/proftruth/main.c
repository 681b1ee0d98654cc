/*
 * tests/apps/proftruth — ground truth for tools/qprofiler.
 *
 * mode=mix (the default) repeats rounds of `round_us` microseconds for
 * `duration_ms`: half of each round in main → work_a → leaf_a, 30% in
 * main → work_b → leaf_b, 20% in main → work_c. Every part busy-waits on
 * zebu_time_ns(), and the guest measures what each chain really got, so the
 * profile is checked against measured shares, not intended ones. The printed
 * "self" shares subtract the time spent reading the clock (calibrated at
 * start), which a sampler attributes to the clock's own functions.
 * leaf_b is a trivial leaf: gcc gives it no frame, so a profiler must take
 * its caller from [rsp].
 *
 * With cores=N (N > 1) a thread on each other core spends all its time in
 * side_work → leaf_d for the same duration (per-vCPU profiles).
 *
 * mode=count calls count_f exactly n times, count_g once for every third
 * call of count_f, and count_h recursively 11 times, then idles for
 * hold_ms so a profiler can read the call counters (PROFILE=count builds).
 *
 * mode=fixed waits delay_ms, then runs `chunks` fixed chunks of work (calls
 * of leaf_b) and reports how long they took by the guest's clock (overhead
 * measurements: a host measures the same span between the two lines).
 */
#include <zebu.h>

static const char *mode = "mix";
ZEBU_OPTION_STRING("mode", mode, "mix | count | fixed");
static long duration_ms = 4000;
ZEBU_OPTION_INT("duration_ms", duration_ms, 1, 3600000, "mix: how long to run");
static long round_us = 10000;
ZEBU_OPTION_INT("round_us", round_us, 100, 1000000, "mix: length of one a/b/c round");
static long cores = 1;
ZEBU_OPTION_INT("cores", cores, 1, 64, "mix: cores to keep busy (others run side_work)");
static long n = 100000;
ZEBU_OPTION_INT("n", n, 0, 100000000, "count: calls of count_f");
static long hold_ms = 0;
ZEBU_OPTION_INT("hold_ms", hold_ms, 0, 3600000, "count: idle this long before exiting");
static long chunks = 20000;
ZEBU_OPTION_INT("chunks", chunks, 1, 100000000, "fixed: chunks of work to run");
static long delay_ms = 0;
ZEBU_OPTION_INT("delay_ms", delay_ms, 0, 3600000, "fixed: sleep this long before the work");

/* Iterations of the spin loop between two clock reads. */
#define SPIN 2000

static volatile uint64_t sink;

/* The busy loop every part runs: a serial chain the compiler cannot fold. */
#define SPIN_LOOP(x, k)                                                                            \
    do {                                                                                           \
        for (long i_ = 0; i_ < (k); i_++)                                                          \
            (x) = (x)*6364136223846793005ull + (uint64_t)i_;                                       \
    } while (0)

struct part {
    uint64_t ns;     /* time inside the part, by the guest's clock */
    uint64_t clocks; /* clock reads made inside it */
};

static struct part part_a, part_b, part_c;

static __attribute__((noinline)) void leaf_a(uint64_t until)
{
    uint64_t x = sink;
    uint64_t reads = 0;
    do {
        SPIN_LOOP(x, SPIN);
        reads++;
    } while (zebu_time_ns() < until);
    sink = x;
    part_a.clocks += reads;
}

static __attribute__((noinline)) void work_a(uint64_t until)
{
    leaf_a(until);
    sink++;
}

static __attribute__((noinline)) uint64_t leaf_b(uint64_t x)
{
    SPIN_LOOP(x, SPIN);
    return x;
}

static __attribute__((noinline)) void work_b(uint64_t until)
{
    uint64_t x = sink;
    uint64_t reads = 0;
    do {
        x = leaf_b(x);
        reads++;
    } while (zebu_time_ns() < until);
    sink = x;
    part_b.clocks += reads;
}

static __attribute__((noinline)) void work_c(uint64_t until)
{
    uint64_t x = sink;
    uint64_t reads = 0;
    do {
        SPIN_LOOP(x, SPIN);
        reads++;
    } while (zebu_time_ns() < until);
    sink = x;
    part_c.clocks += reads;
}

static void timed(void (*fn)(uint64_t), struct part *p, uint64_t len_ns)
{
    uint64_t t0 = zebu_time_ns();
    fn(t0 + len_ns);
    p->ns += zebu_time_ns() - t0;
}

/* Mean cost of one zebu_time_ns() call, in picoseconds. */
static uint64_t clock_cost_ps(void)
{
    const int calls = 20000;
    uint64_t t0 = zebu_time_ns(), t = 0;
    for (int i = 0; i < calls; i++)
        t += zebu_time_ns();
    sink += t;
    return (zebu_time_ns() - t0) * 1000 / calls;
}

static void print_share(const char *chain, const char *self_fn, const struct part *p,
                        uint64_t total_ns, uint64_t clock_ps)
{
    uint64_t clock_ns = p->clocks * clock_ps / 1000;
    uint64_t self_ns = p->ns > clock_ns ? p->ns - clock_ns : 0;
    /* hundredths of a percent, printed as a percentage */
    uint64_t total_bp = p->ns * 10000 / total_ns, self_bp = self_ns * 10000 / total_ns;
    printf("proftruth: truth %s total %lu.%02lu%% self %s %lu.%02lu%%\n", chain, total_bp / 100,
           total_bp % 100, self_fn, self_bp / 100, self_bp % 100);
}

/* Not leaf_b's twin: gcc would fold identical functions into one. */
static __attribute__((noinline)) uint64_t leaf_d(uint64_t x)
{
    SPIN_LOOP(x, SPIN + 1);
    return x ^ 1;
}

static __attribute__((noinline)) void *side_work(void *arg)
{
    uint64_t until = *(const uint64_t *)arg;
    uint64_t x = 1;
    do
        x = leaf_d(x);
    while (zebu_time_ns() < until);
    sink = x;
    return NULL;
}

static int run_mix(void)
{
    uint64_t clock_ps = clock_cost_ps();
    uint64_t round_ns = (uint64_t)round_us * 1000;
    static uint64_t side_until;
    struct zebu_thread *side[64];
    int nside = 0;
    uint64_t t0 = zebu_time_ns(), end = t0 + (uint64_t)duration_ms * 1000000;
    side_until = end;
    for (int c = 1; c < cores && c < zebu_core_count(); c++) {
        side[nside] = zebu_thread_create(side_work, &side_until, c, "side", 0);
        if (side[nside] == NULL)
            return 1;
        nside++;
    }
    printf("proftruth: running mix for %ld ms on %d core%s (clock read %lu ps)\n", duration_ms,
           nside + 1, nside ? "s" : "", clock_ps);
    while (zebu_time_ns() < end) {
        timed(work_a, &part_a, round_ns * 5 / 10);
        timed(work_b, &part_b, round_ns * 3 / 10);
        timed(work_c, &part_c, round_ns * 2 / 10);
    }
    uint64_t total = zebu_time_ns() - t0;
    for (int i = 0; i < nside; i++)
        zebu_thread_join(side[i]);
    printf("proftruth: mix ran %lu ms\n", total / 1000000);
    print_share("main;work_a;leaf_a", "leaf_a", &part_a, total, clock_ps);
    print_share("main;work_b;leaf_b", "leaf_b", &part_b, total, clock_ps);
    print_share("main;work_c", "work_c", &part_c, total, clock_ps);
    return 0;
}

/* ---- mode=count: exact call counts ---- */

static __attribute__((noinline)) void count_g(long i)
{
    sink += (uint64_t)i;
}

static __attribute__((noinline)) void count_f(long i)
{
    sink++;
    if (i % 3 == 0)
        count_g(i);
}

static __attribute__((noinline)) long count_h(long depth)
{
    sink++;
    return depth == 0 ? 0 : 1 + count_h(depth - 1);
}

static int run_count(void)
{
    uint64_t t0 = zebu_time_ns();
    for (long i = 0; i < n; i++)
        count_f(i);
    long depth = count_h(10);
    uint64_t ns = zebu_time_ns() - t0;
    printf("proftruth: counted count_f=%ld count_g=%ld count_h=%ld in %lu us\n", n, (n + 2) / 3,
           depth + 1, ns / 1000);
    if (hold_ms > 0)
        zebu_sleep_ns((uint64_t)hold_ms * 1000000);
    return 0;
}

/* ---- mode=fixed: a fixed amount of work, timed by the guest ---- */

static int run_fixed(void)
{
    if (delay_ms > 0)
        zebu_sleep_ns((uint64_t)delay_ms * 1000000);
    printf("proftruth: fixed start\n");
    uint64_t t0 = zebu_time_ns();
    uint64_t x = sink;
    for (long i = 0; i < chunks; i++)
        x = leaf_b(x);
    sink = x;
    uint64_t ns = zebu_time_ns() - t0;
    printf("proftruth: fixed done: %ld chunks in %lu us\n", chunks, ns / 1000);
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (strcmp(mode, "mix") == 0)
        return run_mix();
    if (strcmp(mode, "count") == 0)
        return run_count();
    if (strcmp(mode, "fixed") == 0)
        return run_fixed();
    printf("proftruth: unknown mode '%s'\n", mode);
    return 2;
}
