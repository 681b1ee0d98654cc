/*
 * kernel/random.c — zebu_random(): random bytes for the app.
 *
 * Source, decided at the first call (and said once on the log at info
 * level; zebu_random_source() names it):
 *   - RDRAND where CPUID leaf 1 says the CPU has it: every 8 bytes are one
 *     RDRAND, retried up to 10 times when it reports no value ready, as
 *     Intel's DRNG Software Implementation Guide (section 5.2.1) advises; a
 *     DRNG that fails 10 times in a row is taken as broken and the
 *     generator below takes over for good (with a warning);
 *   - else a ChaCha20 generator (kernel/chacha20.h), seeded from RDSEED
 *     (CPUID leaf 7; retried with PAUSE, the guide's advice for a seed
 *     source that may run dry), else RDRAND, plus timing jitter of the TSC
 *     in every case (QEMU's default TCG CPU, qemu64, has neither
 *     instruction; `-cpu max` has both).
 * The generator is shared by all cores under a spinlock, a 4 KiB part at a
 * time; each part rekeys it (fast key erasure).
 *
 * The jitter seed is what a machine without a hardware source has: the
 * TSC's value at first use and the spread of how long short loops take,
 * which differ from boot to boot. It is no substitute for RDSEED against
 * an attacker who can observe or replay the machine's timing.
 */
#include <zebu.h>

#include "kernel/arch/cpu.h"
#include "kernel/chacha20.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"

#define RDRAND_RETRIES 10   /* DRNG guide 5.2.1 */
#define RDSEED_RETRIES 1000 /* with PAUSE; the guide sets no bound, we do */
#define SEED_ROUNDS    16   /* absorbs of 12 words each: 192 jitter samples */
#define FILL_PART      4096

static struct spinlock lock;
static int ready; /* set up (release/acquire) */
static int use_rdrand;
static int have_rdrand, have_rdseed;
static struct chacha_rng rng;
static const char *source = "none";

static int rdrand_word(uint64_t *v)
{
    for (int i = 0; i < RDRAND_RETRIES; i++)
        if (cpu_rdrand64(v))
            return 1;
    return 0;
}

static int rdseed_word(uint64_t *v)
{
    for (int i = 0; i < RDSEED_RETRIES; i++) {
        if (cpu_rdseed64(v))
            return 1;
        cpu_relax();
    }
    return 0;
}

/* A hardware seed word: RDSEED, else RDRAND, else 0. */
static uint64_t hw_seed_word(void)
{
    uint64_t v = 0;
    if (have_rdseed && rdseed_word(&v))
        return v;
    if (have_rdrand && rdrand_word(&v))
        return v;
    return 0;
}

/* How long a short loop whose length depends on the last sample takes, in
 * TSC ticks: under a hypervisor or on hardware, the low bits vary with
 * caches, interrupts and the host's scheduling. */
static uint32_t jitter_sample(uint32_t prev)
{
    volatile uint32_t sink = prev;
    uint64_t t0 = cpu_rdtsc();
    for (uint32_t i = 0; i < 16 + (prev & 63); i++)
        sink = sink * 2654435761u + i;
    uint64_t t1 = cpu_rdtsc();
    return (uint32_t)(t1 - t0) ^ (uint32_t)(t1 >> 32) ^ sink;
}

static void seed_generator(void)
{
    uint32_t in[12];
    uint32_t prev = (uint32_t)cpu_rdtsc();
    for (int round = 0; round < SEED_ROUNDS; round++) {
        for (int i = 0; i < 12; i++)
            in[i] = prev = jitter_sample(prev);
        uint64_t tsc = cpu_rdtsc(), hw = hw_seed_word();
        in[0] ^= (uint32_t)tsc, in[1] ^= (uint32_t)(tsc >> 32);
        in[2] ^= (uint32_t)hw, in[3] ^= (uint32_t)(hw >> 32);
        chacha_rng_absorb(&rng, in);
    }
}

/* Lock held: finds the sources and seeds the generator (always: it is
 * RDRAND's fallback too). */
static void setup(void)
{
    struct cpuid_regs r;
    cpu_cpuid(0, 0, &r);
    uint32_t max_leaf = r.eax;
    cpu_cpuid(1, 0, &r);
    have_rdrand = (r.ecx & CPUID_1_ECX_RDRAND) != 0;
    if (max_leaf >= 7) {
        cpu_cpuid(7, 0, &r);
        have_rdseed = (r.ebx & CPUID_7_EBX_RDSEED) != 0;
    }
    seed_generator();
    use_rdrand = have_rdrand;
    source = have_rdrand    ? "rdrand"
             : have_rdseed ? "chacha20 seeded from rdseed and tsc jitter"
                           : "chacha20 seeded from tsc jitter";
    pr_info("random", "source: %s", source);
    __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
}

static void ensure_setup(void)
{
    if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
        return;
    uint64_t f = spin_lock_irqsave(&lock);
    if (!ready)
        setup();
    spin_unlock_irqrestore(&lock, f);
}

/* RDRAND straight into buf; returns how many bytes it filled (less than
 * len when the DRNG failed, which turns it off). */
static size_t fill_rdrand(uint8_t *p, size_t len)
{
    size_t done = 0;
    while (done < len) {
        uint64_t v;
        if (!rdrand_word(&v)) {
            uint64_t f = spin_lock_irqsave(&lock);
            if (use_rdrand) {
                use_rdrand = 0;
                source = "chacha20 seeded from tsc jitter (rdrand failed)";
                pr_warn("random", "RDRAND gave no value %d times in a row: using %s",
                        RDRAND_RETRIES, source);
            }
            spin_unlock_irqrestore(&lock, f);
            break;
        }
        size_t n = len - done < 8 ? len - done : 8;
        memcpy(p + done, &v, n);
        done += n;
    }
    return done;
}

void zebu_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    ensure_setup();
    if (__atomic_load_n(&use_rdrand, __ATOMIC_RELAXED)) {
        size_t n = fill_rdrand(p, len);
        p += n, len -= n;
    }
    while (len > 0) {
        size_t n = len < FILL_PART ? len : FILL_PART;
        uint64_t f = spin_lock_irqsave(&lock);
        chacha_rng_fill(&rng, p, n);
        spin_unlock_irqrestore(&lock, f);
        p += n, len -= n;
    }
}

const char *zebu_random_source(void)
{
    ensure_setup();
    return __atomic_load_n(&source, __ATOMIC_RELAXED);
}
