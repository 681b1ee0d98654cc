/*
 * kernel/smp.c — every core online, each with its own state.
 *
 * Order on the boot processor: smp_init_bsp (GS, tables, scheduler state for
 * core 0) early in kernel_main; later smp_start: firmware tables, local APIC,
 * timer calibration, then the release of the parked APs. Releases are
 * parallel: all NMIs go out first, then one bounded wait for all of them. A
 * core that is in the firmware's list but never parked, or that does not come
 * online after its release, is reported and left out: nothing waits forever.
 * An AP that shows up after being left out finds itself abandoned (a CAS on
 * `online`) and halts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drivers/ioapic.h"
#include "drivers/lapic.h"
#include "drivers/platform.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/trap.h"
#include "kernel/option.h"
#include "kernel/panic.h"
#include "kernel/paging.h"
#include "kernel/percpu.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/smp.h"
#include "kernel/time.h"

#define AP_STACK_SIZE   (28 * 1024) /* + guard page: a 32 KiB block */
#define AP_WAIT_NS      (200ull * 1000 * 1000) /* TCG on a loaded host is slow */

struct cpu *cpu_table[MAX_CPUS];
int cpu_count = 1;

static struct cpu bsp_cpu;
static struct platform_info platform;

static long cpus_option;
ZEBU_OPTION_INT("cpus", cpus_option, 0, MAX_CPUS, "cores to start, the boot core included (0: all)");

void ap_main(struct cpu *c) __attribute__((noreturn));

void percpu_install(struct cpu *c)
{
    c->self = c;
    cpu_wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)c);
}

void smp_init_bsp(uint64_t stack_lo, uint64_t stack_hi)
{
    bsp_cpu.id = 0;
    percpu_install(&bsp_cpu);
    cpu_table[0] = &bsp_cpu;
    cpu_tables_load(&bsp_cpu.tables);
    bsp_cpu.stack_lo = stack_lo;
    bsp_cpu.stack_hi = stack_hi;
}

const struct platform_info *smp_platform(void)
{
    return &platform;
}

static const void *identity_map(void *ctx, uint64_t phys, size_t len)
{
    (void)ctx;
    /* Firmware tables live in RAM or ROM below 4 GiB, which is mapped;
     * page 0 is not. */
    if (phys < PAGE_SIZE || phys + len < phys || phys + len > paging_mapped_top())
        return NULL;
    return (const void *)(uintptr_t)phys;
}

static void ap_ready(struct cpu *c)
{
    int expected = 0;
    if (!__atomic_compare_exchange_n(&c->online, &expected, 1, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        platform_halt(); /* the boot core gave up on us */
}

void ap_main(struct cpu *c)
{
    percpu_install(c);
    cpu_tables_load(&c->tables);
    lapic_init_cpu();
    c->apic_id = lapic_id();
    ap_ready(c);
    sched_run_idle();
}

static int parked_ticket_for(uint32_t apic_id)
{
    volatile const uint8_t *state = (volatile const uint8_t *)TRAMP_PARK_STATE;
    volatile const uint32_t *ids = (volatile const uint32_t *)TRAMP_PARK_APIC;
    for (int t = 0; t < TRAMP_MAX; t++)
        if (state[t] == 1 && ids[t] == apic_id)
            return t;
    return -1;
}

/* Per-core state and idle stack for an AP, then its release slots and NMI. */
static struct cpu *release_ap(int ticket, uint32_t apic_id, uint32_t id)
{
    struct cpu *c = pmem_alloc(pmem_order_for(sizeof(struct cpu)));
    unsigned order = pmem_order_for(AP_STACK_SIZE + PAGE_SIZE);
    uint8_t *stack = pmem_alloc(order);
    if (c == NULL || stack == NULL) {
        pr_err("smp", "no memory for core with APIC id %u", apic_id);
        return NULL;
    }
    memset(c, 0, sizeof(*c));
    c->id = id;
    c->apic_id = apic_id;
    paging_set_guard((uint64_t)(uintptr_t)stack, 1);
    uint64_t lo = (uint64_t)(uintptr_t)stack + PAGE_SIZE;
    uint64_t hi = (uint64_t)(uintptr_t)stack + (PAGE_SIZE << order);
    sched_init_cpu(c, lo, hi);
    ((volatile uint64_t *)TRAMP_RELEASE_RSP)[ticket] = hi;
    ((volatile uint64_t *)TRAMP_RELEASE_ARG)[ticket] = (uint64_t)(uintptr_t)c;
    __atomic_store_n(&((uint64_t *)TRAMP_RELEASE_ENTRY)[ticket], (uint64_t)(uintptr_t)ap_main,
                     __ATOMIC_RELEASE);
    return c;
}

/* Waits until cond(arg) or the deadline; returns cond's last value. */
static int wait_until(int (*cond)(void *), void *arg, uint64_t deadline_ns)
{
    while (!cond(arg)) {
        if (time_ns() > deadline_ns)
            return cond(arg);
        cpu_relax();
    }
    return 1;
}

struct park_wait {
    const struct platform_info *pi;
    uint32_t self;
    int want;
};

static int enough_parked(void *arg)
{
    struct park_wait *w = arg;
    int n = 0;
    for (int i = 0; i < w->pi->ncpus; i++)
        if (w->pi->cpus[i].enabled && w->pi->cpus[i].apic_id != w->self &&
            parked_ticket_for(w->pi->cpus[i].apic_id) >= 0)
            n++;
    return n >= w->want;
}

static struct cpu *pending[MAX_CPUS];
static int npending;

static int all_online(void *arg)
{
    (void)arg;
    for (int i = 0; i < npending; i++)
        if (!__atomic_load_n(&pending[i]->online, __ATOMIC_ACQUIRE))
            return 0;
    return 1;
}

static void print_cpu_list(void)
{
    char line[256];
    size_t n = 0;
    line[0] = '\0';
    for (int i = 0; i < platform.ncpus && n < sizeof(line) - 16; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " %u%s", platform.cpus[i].apic_id,
                              platform.cpus[i].enabled ? "" : "(off)");
    pr_info("smp", "%d core%s in the %s tables, APIC ids:%s", platform.ncpus,
            platform.ncpus == 1 ? "" : "s", platform.source, line);
}

static void bring_up_aps(uint32_t self, int want)
{
    uint64_t t0 = time_ns();
    struct park_wait w = {&platform, self, want};
    wait_until(enough_parked, &w, t0 + AP_WAIT_NS);
    npending = 0;
    for (int i = 0; i < platform.ncpus && 1 + npending < want + 1; i++) {
        const struct acpi_cpu *pc = &platform.cpus[i];
        if (!pc->enabled || pc->apic_id == self)
            continue;
        int ticket = parked_ticket_for(pc->apic_id);
        if (ticket < 0) {
            pr_warn("smp", "core with APIC id %u did not start (no answer to INIT/SIPI); "
                    "skipped", pc->apic_id);
            continue;
        }
        struct cpu *c = release_ap(ticket, pc->apic_id, (uint32_t)(1 + npending));
        if (c == NULL)
            break;
        pending[npending++] = c;
        lapic_send_nmi(pc->apic_id);
    }
    wait_until(all_online, NULL, time_ns() + AP_WAIT_NS);
    for (int i = 0; i < npending; i++) {
        struct cpu *c = pending[i];
        int expected = 0;
        if (__atomic_compare_exchange_n(&c->online, &expected, -1, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            pr_warn("smp", "core with APIC id %u did not come online; skipped", c->apic_id);
            continue;
        }
        c->id = (uint32_t)cpu_count;
        cpu_table[cpu_count++] = c;
    }
    pr_info("smp", "%d core%s online in %lu us", cpu_count, cpu_count == 1 ? "" : "s",
            (time_ns() - t0) / 1000);
}

static int discover_err = -ENOENT;
static const struct boot_info *smp_boot_info;

/* The VMM lists virtio-mmio devices on the command line (QEMU microvm
 * without ACPI, Firecracker): virtio_mmio.device=<size>@<base>:<irq>, read
 * below with the rest of the machine's description. Declared so that it is
 * not "unknown". */
static const char *mmio_device_opt = "";
ZEBU_OPTION_STRING("virtio_mmio.device", mmio_device_opt,
                   "a virtio-mmio device, size@base:irq (set by the VMM; may repeat)");

/* The devices outside any bus, for their drivers (platform.virtio_mmio). */
static void find_mmio_devices(const struct boot_info *bi, const struct acpi_mem *mem)
{
    struct virtio_mmio_list *l = &platform.virtio_mmio;
    platform_find_virtio_mmio(bi->cmdline, mem, platform.rsdp ? platform.rsdp : bi->rsdp, l);
    if (l->malformed > 0) {
        int len = (int)strcspn(l->first_malformed, " \t");
        pr_warn("platform", "malformed %.*s ignored%s", len < 60 ? len : 60, l->first_malformed,
                l->malformed > 1 ? " (and more)" : "");
    }
    if (l->dropped > 0)
        pr_warn("platform", "%d virtio-mmio devices past the first %d ignored", l->dropped,
                PLATFORM_MAX_VIRTIO_MMIO);
}

int smp_discover(const struct boot_info *bi)
{
    smp_boot_info = bi;
    struct acpi_mem mem = {identity_map, NULL};
    int err = platform_discover(&mem, bi->rsdp, &platform);
    discover_err = err;
    find_mmio_devices(bi, &mem);
    if (platform.fadt)
        (void)acpi_find_s5(&mem, platform.rsdp, &platform.pm); /* soft-off, if it has \_S5 */
    if (lapic_init_bsp(err == 0 ? platform.lapic_addr : 0) != 0)
        panic("smp: no local APIC (CPUID.1:EDX[9])");
    lapic_init_cpu();
    bsp_cpu.apic_id = lapic_id();
    bsp_cpu.online = 1;
    lapic_timer_calibrate(time_tsc_khz() * 1000);
    irq_set_handler(VEC_TIMER, sched_timer_interrupt, NULL);
    irq_set_handler(VEC_WAKEUP, sched_wakeup_interrupt, NULL);
    pr_info("smp", "local APIC: %s, timer %s", lapic_is_x2apic() ? "x2APIC" : "xAPIC",
            lapic_timer_mode());
    if (err == 0 && platform.ncpus == 0)
        err = -ENOENT; /* tables without a single core (microvm's MP table) */
    if (err != 0) {
        pr_warn("smp", "no usable ACPI MADT or MP table (%d): running on the boot core only",
                err);
        discover_err = err;
        int n = ioapic_init(NULL);
        pr_info("smp", "%d I/O APIC%s, %u interrupt pins", n, n == 1 ? "" : "s",
                ioapic_pin_count());
        return err;
    }
    print_cpu_list();
    if (platform.ncpus_disabled > 0)
        pr_info("smp", "%d more core%s marked disabled by the firmware", platform.ncpus_disabled,
                platform.ncpus_disabled == 1 ? "" : "s");
    int n = ioapic_init(&platform);
    pr_info("smp", "%d I/O APIC%s, %u interrupt pins", n, n == 1 ? "" : "s",
            ioapic_pin_count());
    return 0;
}

int smp_start(void)
{
    if (discover_err != 0)
        return cpu_count;
    if (platform.bad_checksums > 0 || platform.truncated > 0)
        pr_warn("smp", "firmware tables: %d bad checksums, %d entries dropped",
                platform.bad_checksums, platform.truncated);
    int others = 0;
    for (int i = 0; i < platform.ncpus; i++)
        if (platform.cpus[i].enabled && platform.cpus[i].apic_id != bsp_cpu.apic_id)
            others++;
    if (cpus_option > 0 && others > cpus_option - 1)
        others = (int)cpus_option - 1;
    if (others > MAX_CPUS - 1)
        others = MAX_CPUS - 1;
    if (others > 0)
        bring_up_aps(bsp_cpu.apic_id, others);
    /* The firmware tables are parsed and the cores are out of the
     * trampoline (which stays: a core held back by cpus= parks there). */
    uint64_t low = pmem_add_low_memory(smp_boot_info, TRAMP_BASE, TRAMP_END);
    pmem_split(cpu_count);
    struct pmem_stats ps;
    pmem_get_stats(&ps);
    pr_info("mem", "%d per-core memory pool%s of %lu MiB (%lu KiB of it below 1 MiB)", ps.pools,
            ps.pools == 1 ? "" : "s", (ps.total_bytes / (uint64_t)ps.pools) >> 20, low >> 10);
    return cpu_count;
}
