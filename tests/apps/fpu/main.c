/*
 * tests/apps/fpu — floating point and SSE on every core, checked bit for bit.
 *
 * Two threads per core compute the same three things with different
 * parameters, yielding to each other (and taking timer interrupts from a
 * sleeper on the same core) in the middle of their loops, so that any
 * register state lost across a switch or an interrupt shows up as a wrong
 * bit:
 *   - a double sum, sum of 1/(k*k + p) for k = 1..n (scalar SSE2: addsd, divsd);
 *   - float vectors, x = x * a + b on 4 lanes (packed SSE: mulps, addps);
 *   - integer vectors, a xorshift on 4 lanes of 32 bits (pxor, pslld, psrld).
 * Each thread prints its results as raw bits; tests/system/test_fpu.py
 * computes the same in Python (IEEE arithmetic, same order) and compares.
 * Under a KVM that cannot emulate SSE (kvm-pvm) the first of these ends the
 * VM: the test then fails on a missing line.
 */
#include <zebu.h>

static long rounds = 40;
ZEBU_OPTION_INT("rounds", rounds, 1, 10000, "yields per thread");

typedef float v4sf __attribute__((vector_size(16)));
typedef uint32_t v4si __attribute__((vector_size(16)));

struct job {
    int core, index;
    uint64_t dsum_bits;
    uint32_t vf[4], vi[4];
};

static volatile int stop_sleepers;

static void *sleeper(void *arg)
{
    (void)arg;
    while (!stop_sleepers)
        zebu_sleep_ns(200000); /* timer interrupts while the others compute */
    return NULL;
}

static void *compute(void *arg)
{
    struct job *j = arg;
    double p = (double)(j->core * 2 + j->index), sum = 0.0;
    v4sf x = {1.0f, 0.5f, 0.25f, 2.0f};
    const v4sf a = {0.999f, 1.001f, 0.75f, 0.9f - 0.001f * (float)j->core};
    const v4sf b = {0.125f, -0.5f, (float)j->index, 0.01f};
    v4si s = {0x12345678u + (uint32_t)j->core, 0x9abcdef0u, 0x0badf00du + (uint32_t)j->index,
              1u};
    const long per_round = 5000;
    for (long r = 0; r < rounds; r++) {
        for (long i = 0; i < per_round; i++) {
            double k = (double)(r * per_round + i + 1);
            sum += 1.0 / (k * k + p);
            x = x * a + b;
            if (i % 64 == 0)
                x = x * (v4sf){0.5f, 0.5f, 0.5f, 0.5f}; /* keep the lanes bounded */
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
        }
        zebu_thread_yield();
    }
    memcpy(&j->dsum_bits, &sum, sizeof(sum));
    memcpy(j->vf, &x, sizeof(x));
    memcpy(j->vi, &s, sizeof(s));
    return j;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int cores = zebu_core_count();
    struct job *jobs = calloc((size_t)cores * 2, sizeof(*jobs));
    struct zebu_thread **threads = calloc((size_t)cores * 3, sizeof(*threads));
    if (jobs == NULL || threads == NULL)
        return 1;
    for (int c = 0; c < cores; c++) {
        threads[cores * 2 + c] = zebu_thread_create(sleeper, NULL, c, "sleeper", 0);
        for (int t = 0; t < 2; t++) {
            struct job *j = &jobs[c * 2 + t];
            *j = (struct job){.core = c, .index = t};
            threads[c * 2 + t] = zebu_thread_create(compute, j, c, "fpu", 0);
        }
    }
    for (int i = 0; i < cores * 3; i++)
        if (threads[i] == NULL) {
            printf("fpu: cannot start thread %d\n", i);
            return 1;
        }
    for (int i = 0; i < cores * 2; i++) {
        struct job *j = zebu_thread_join(threads[i]);
        printf("fpu: core %d thread %d rounds %ld double %016llx floats %08x %08x %08x %08x "
               "ints %08x %08x %08x %08x\n",
               j->core, j->index, rounds, (unsigned long long)j->dsum_bits, j->vf[0], j->vf[1],
               j->vf[2], j->vf[3], j->vi[0], j->vi[1], j->vi[2], j->vi[3]);
    }
    stop_sleepers = 1;
    for (int c = 0; c < cores; c++)
        zebu_thread_join(threads[cores * 2 + c]);
    printf("fpu: %d threads on %d cores done\n", cores * 2, cores);
    return 0;
}
