/*
 * kernel/profile.c — counts function entries per core (PROFILE=count builds).
 *
 * The hook runs on every instrumented function entry, in threads and in
 * interrupt handlers, on every core, so it takes no lock and calls nothing:
 * each core has its own open-addressing table keyed by function address, a
 * new key is claimed with a compare-and-swap (an interrupt on the same core
 * may race for the same empty slot), and counts are atomic adds. Cores
 * never share a table, so nothing bounces between caches.
 *
 * The core comes from %gs (kernel/percpu.h). Before the boot core installs
 * its per-core state there is none: until then the hook checks the GS base
 * MSR and counts the call in `early`. APs run no instrumented code before
 * their own percpu_install (kernel/smp.c, kernel/arch/ and the boot and trap
 * paths are built without instrumentation: see the Makefile's PROFILE block).
 */
#include "kernel/profile.h"

#ifdef ZEBU_PROFILE_COUNT

#include "kernel/arch/cpu.h"
#include "kernel/percpu.h"

#define NO_INSTRUMENT __attribute__((no_instrument_function))

static struct profile_slot profile_table[PROFILE_CORES][PROFILE_SLOTS];
static int profile_live; /* the boot core has per-core state */

struct profile_header profile_header __attribute__((used)) = {
    .magic = PROFILE_MAGIC,
    .version = PROFILE_VERSION,
    .cores = PROFILE_CORES,
    .slots = PROFILE_SLOTS,
    .slot_size = sizeof(struct profile_slot),
    .table = &profile_table[0][0],
};

static NO_INSTRUMENT int profile_ready(void)
{
    if (__atomic_load_n(&profile_live, __ATOMIC_RELAXED))
        return 1;
    if (cpu_rdmsr(MSR_GS_BASE) == 0)
        return 0;
    __atomic_store_n(&profile_live, 1, __ATOMIC_RELAXED);
    return 1;
}

void NO_INSTRUMENT __cyg_profile_func_enter(void *fn, void *call_site)
{
    (void)call_site;
    if (!profile_ready()) {
        __atomic_fetch_add(&profile_header.early, 1, __ATOMIC_RELAXED);
        return;
    }
    uint32_t core = this_cpu()->id;
    if (core >= PROFILE_CORES) {
        __atomic_fetch_add(&profile_header.other_cores, 1, __ATOMIC_RELAXED);
        return;
    }
    struct profile_slot *table = profile_table[core];
    uint64_t key = (uint64_t)(uintptr_t)fn;
    uint32_t h = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40);
    for (uint32_t probe = 0; probe < PROFILE_SLOTS; probe++) {
        struct profile_slot *s = &table[(h + probe) & (PROFILE_SLOTS - 1)];
        uint64_t cur = __atomic_load_n(&s->fn, __ATOMIC_RELAXED);
        if (cur == 0) {
            uint64_t empty = 0;
            if (__atomic_compare_exchange_n(&s->fn, &empty, key, 0, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
                cur = key;
            else
                cur = empty; /* an interrupt on this core claimed it first */
        }
        if (cur == key) {
            __atomic_fetch_add(&s->calls, 1, __ATOMIC_RELAXED);
            return;
        }
    }
    __atomic_fetch_add(&profile_header.full[core], 1, __ATOMIC_RELAXED);
}

void NO_INSTRUMENT __cyg_profile_func_exit(void *fn, void *call_site)
{
    (void)fn;
    (void)call_site;
}

#endif /* ZEBU_PROFILE_COUNT */
