/*
 * apps/cores — work on every core, results gathered on core 0.
 *
 * Counts the primes below `limit` by dealing blocks of 1000 candidates to
 * the cores in turn (so every core gets small and large numbers alike), one
 * thread per core, then joins the threads and adds
 * up. Each thread reports where it ran and how long it took.
 *     make APP=cores run SMP=4 ARGS='limit=2000000'
 */
#include <zebu.h>

static long limit = 1000000;
ZEBU_OPTION_INT("limit", limit, 2, 100000000, "count the primes below this");

struct share {
    int core, cores;
    long primes;
    uint64_t ns;
};

static int is_prime(long n)
{
    if (n < 2)
        return 0;
    for (long d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

static void *count_share(void *arg)
{
    struct share *s = arg;
    uint64_t t0 = zebu_time_ns();
    const long block = 1000;
    for (long start = s->core * block; start < limit; start += s->cores * block) {
        for (long n = start; n < start + block && n < limit; n++)
            s->primes += is_prime(n);
        zebu_thread_yield(); /* cooperative: let this core's other threads run */
    }
    s->ns = zebu_time_ns() - t0;
    return s;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int cores = zebu_core_count();
    struct share *shares = calloc((size_t)cores, sizeof(*shares));
    struct zebu_thread **threads = calloc((size_t)cores, sizeof(*threads));
    if (shares == NULL || threads == NULL)
        return 1;
    uint64_t t0 = zebu_time_ns();
    for (int c = 0; c < cores; c++) {
        shares[c] = (struct share){.core = c, .cores = cores};
        threads[c] = zebu_thread_create(count_share, &shares[c], c, "primes", 0);
        if (threads[c] == NULL) {
            printf("cores: cannot start a thread on core %d\n", c);
            return 1;
        }
    }
    long total = 0;
    for (int c = 0; c < cores; c++) {
        struct share *s = zebu_thread_join(threads[c]);
        printf("core %d (APIC id %ld): %ld primes in %lu ms\n", c, zebu_core_apic_id(c),
               s->primes, s->ns / 1000000);
        total += s->primes;
    }
    printf("%ld primes below %ld, counted on %d core%s in %lu ms\n", total, limit, cores,
           cores == 1 ? "" : "s", (zebu_time_ns() - t0) / 1000000);
    free(shares);
    free(threads);
    return 0;
}
