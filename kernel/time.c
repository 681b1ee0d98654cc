/*
 * kernel/time.c — TSC frequency and nanosecond conversion.
 *
 * Sources, best first (each is exact where it exists, so it needs no wait):
 *   CPUID 0x15 (TSC/crystal ratio and crystal Hz), CPUID 0x16 (base MHz),
 *   the hypervisor leaf 0x40000010 (TSC kHz; KVM/VMware style),
 *   the KVM clock (its TSC-to-ns multiplier, read once; KVM's pvclock ABI),
 *   then the PIT: channel 2 counting, read at the start and after ~1 ms,
 *   then, under a hypervisor only, the local APIC timer, which QEMU and KVM
 *   clock from a 1 GHz bus (QEMU microvm has no PIT; its RTC's periodic
 *   flag proved unreliable under TCG, which bunches late ticks).
 * Under TCG only the PIT exists; when nothing does, a guess
 * of 1 GHz is used and a warning printed, so timestamps are still ordered.
 * Conversion: ns = ticks * mult >> 32, with mult = 2^32 * 1e9 / hz, in 128-bit
 * arithmetic so that long uptimes do not overflow.
 */
#include "drivers/lapic.h"
#include "drivers/pit.h"
#include "drivers/rtc.h"
#include "kernel/arch/cpu.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"
#include "kernel/time.h"

static uint64_t tsc_at_entry;
static uint64_t tsc_hz;
static uint64_t ns_mult;  /* 0 until calibrated */
static uint64_t tsc_mult; /* TSC ticks per ns, 32.32 fixed point */
static const char *tsc_source = "none";

static uint64_t tsc_hz_from_cpuid(void)
{
    struct cpuid_regs r;
    cpu_cpuid(0, 0, &r);
    uint32_t max_leaf = r.eax;
    if (max_leaf >= 0x15) {
        cpu_cpuid(0x15, 0, &r);
        if (r.eax != 0 && r.ebx != 0 && r.ecx != 0) {
            tsc_source = "cpuid-15h";
            return (uint64_t)r.ecx * r.ebx / r.eax;
        }
    }
    if (max_leaf >= 0x16) {
        cpu_cpuid(0x16, 0, &r);
        if ((r.eax & 0xFFFF) != 0) {
            tsc_source = "cpuid-16h";
            return (uint64_t)(r.eax & 0xFFFF) * 1000000;
        }
    }
    cpu_cpuid(1, 0, &r);
    if (r.ecx & CPUID_1_ECX_HYPERVISOR) {
        cpu_cpuid(0x40000000, 0, &r);
        if (r.eax >= 0x40000010) {
            cpu_cpuid(0x40000010, 0, &r);
            if (r.eax != 0) {
                tsc_source = "hypervisor-leaf";
                return (uint64_t)r.eax * 1000;
            }
        }
    }
    return 0;
}

/* KVM's per-vCPU time structure (Documentation/virt/kvm/x86/msr.rst). */
struct pvclock_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
} __attribute__((packed, aligned(32)));

#define KVM_CPUID_SIGNATURE     0x40000000
#define KVM_CPUID_FEATURES      0x40000001
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01

static struct pvclock_time_info kvm_clock;

static uint64_t tsc_hz_from_kvm_clock(void)
{
    struct cpuid_regs r;
    cpu_cpuid(1, 0, &r);
    if (!(r.ecx & CPUID_1_ECX_HYPERVISOR))
        return 0;
    cpu_cpuid(KVM_CPUID_SIGNATURE, 0, &r);
    if (r.ebx != 0x4b4d564b || r.ecx != 0x564b4d56 || r.edx != 0x4d) /* "KVMKVMKVM\0\0\0" */
        return 0;
    cpu_cpuid(KVM_CPUID_FEATURES, 0, &r);
    if (!(r.eax & KVM_FEATURE_CLOCKSOURCE2))
        return 0;
    cpu_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&kvm_clock | 1);
    uint32_t version, mul;
    int8_t shift;
    do { /* an odd version means the host is updating it */
        version = __atomic_load_n(&kvm_clock.version, __ATOMIC_ACQUIRE);
        mul = kvm_clock.tsc_to_system_mul;
        shift = kvm_clock.tsc_shift;
    } while ((version & 1) || version != __atomic_load_n(&kvm_clock.version, __ATOMIC_ACQUIRE));
    cpu_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
    if (mul == 0)
        return 0;
    /* ns = ((tsc << shift) * mul) >> 32, so hz = 1e9 * 2^32 / mul, shifted back */
    uint64_t khz = (1000000ull << 32) / mul;
    khz = shift < 0 ? khz << -shift : khz >> shift;
    tsc_source = "kvm-clock";
    return khz * 1000;
}

/*
 * TSC ticks per `want` ticks of a reference clock that counts down (its
 * count masked to `mask`), looking at the reference as seldom as it can: once
 * at the start, then after a wait of TSC ticks sized from the last look,
 * aiming 1/8 past `want` (a first look after 2^20 ticks, then usually one
 * more). Each look is a device access, a VM exit under a hypervisor; polling
 * until the count moved far enough took hundreds. Returns 0 when the
 * reference did not move in about 2^33 TSC ticks.
 */
static uint64_t tsc_per_ref_ticks(uint32_t (*read_ref)(void), uint32_t mask, uint32_t want)
{
    uint32_t c0 = read_ref();
    uint64_t t0 = cpu_rdtsc();
    uint64_t wait = 1ull << 20;
    while (wait < (1ull << 33)) {
        while (cpu_rdtsc() - t0 < wait)
            cpu_relax();
        uint32_t c1 = read_ref();
        uint64_t spent = cpu_rdtsc() - t0;
        uint32_t passed = (c0 - c1) & mask;
        if (passed >= want)
            return spent * want / passed;
        wait = passed != 0 ? spent * (want + want / 8) / passed : wait * 4;
    }
    return 0;
}

static uint64_t tsc_hz_from_pit(void)
{
    const uint32_t want = PIT_HZ / 1000; /* 1 ms: 1193 PIT ticks, 0.1% */
    if (pit_counter_start() != 0)
        return 0;
    uint64_t tsc = tsc_per_ref_ticks(pit_counter_read, 0xFFFF, want);
    if (pit_counter_stop() != 0 || tsc == 0)
        return 0;
    tsc_source = "pit";
    return tsc * PIT_HZ / want;
}

/* Under a hypervisor with no PIT (QEMU microvm): the local APIC timer,
 * whose bus QEMU and KVM both clock at 1 GHz. 20000 counts at 1/16 of it
 * take 320 us. The same measurement gives the timer's rate, so the timer
 * needs no calibration of its own. */
static uint64_t tsc_hz_from_vm_lapic(void)
{
    struct cpuid_regs r;
    cpu_cpuid(1, 0, &r);
    if (!(r.ecx & CPUID_1_ECX_HYPERVISOR) || lapic_init_bsp(0) != 0)
        return 0;
    const uint32_t want = 20000;
    lapic_counter_start();
    uint64_t tsc = tsc_per_ref_ticks(lapic_counter_read, 0xFFFFFFFFu, want);
    lapic_counter_stop();
    if (tsc == 0)
        return 0;
    lapic_timer_set_rate(tsc, want);
    tsc_source = "apic-timer";
    return tsc * (LAPIC_VM_BUS_HZ / 16) / want;
}

void time_init(uint64_t tsc_entry)
{
    tsc_at_entry = tsc_entry;
    uint64_t hz = tsc_hz_from_cpuid();
    if (hz == 0)
        hz = tsc_hz_from_kvm_clock();
    if (hz == 0)
        hz = tsc_hz_from_pit();
    if (hz == 0)
        hz = tsc_hz_from_vm_lapic();
    int guessed = hz < 1000000; /* below 1 MHz is no working clock */
    if (guessed) {
        hz = 1000000000ull;
        tsc_source = "guess";
    }
    tsc_hz = hz;
    ns_mult = (1000000000ull << 32) / hz; /* fits: 1e9 * 2^32 < 2^64 */
    tsc_mult = (uint64_t)(((unsigned __int128)hz << 32) / 1000000000u);
    if (guessed)
        pr_warn("time", "no TSC frequency source (no CPUID leaf, PIT or APIC timer); assuming 1 GHz");
}

uint64_t time_tsc_to_ns(uint64_t ticks)
{
    return (uint64_t)(((unsigned __int128)ticks * ns_mult) >> 32);
}

uint64_t time_ns_to_tsc(uint64_t ns)
{
    return (uint64_t)(((unsigned __int128)ns * tsc_mult) >> 32);
}

uint64_t time_since_entry_ns(void)
{
    if (ns_mult == 0)
        return 0;
    return time_tsc_to_ns(cpu_rdtsc() - tsc_at_entry);
}

uint64_t time_tsc_khz(void)
{
    return tsc_hz / 1000;
}

const char *time_source(void)
{
    return tsc_source;
}

/* ---- the wall clock ---- */

static struct spinlock wall_lock;
static int wall_state;     /* 0 not read yet, 1 read, -1 no RTC (release/acquire) */
static uint64_t wall_sec;  /* what the RTC said */
static uint64_t wall_tsc;  /* the TSC when it said it */

/*
 * The RTC is read once, at the first call rather than at boot: its ~30
 * port accesses (each an exit under a hypervisor) would otherwise cost
 * every boot, apps that never ask for the time included. From then on the
 * TSC carries it forward, as it carries time_ns().
 */
uint64_t time_wall_ns(void)
{
    int state = __atomic_load_n(&wall_state, __ATOMIC_ACQUIRE);
    if (state == 0) {
        uint64_t f = spin_lock_irqsave(&wall_lock);
        if (wall_state == 0) {
            int err = rtc_read(&wall_sec, &wall_tsc);
            if (err == 0)
                pr_info("time", "wall clock from the RTC: %lu s since the epoch", wall_sec);
            else
                pr_warn("time", "no readable RTC: the wall clock reads 0");
            __atomic_store_n(&wall_state, err == 0 ? 1 : -1, __ATOMIC_RELEASE);
        }
        state = wall_state;
        spin_unlock_irqrestore(&wall_lock, f);
    }
    if (state < 0)
        return 0;
    return wall_sec * 1000000000ull + time_tsc_to_ns(cpu_rdtsc() - wall_tsc);
}
