/* kernel/boottrace.c — the boot.trace marks (see boottrace.h). */
#include "kernel/arch/cpu.h"
#include "kernel/boottrace.h"
#include "kernel/option.h"
#include "kernel/printk.h"
#include "kernel/time.h"

#define MAX_MARKS 24

struct mark {
    const char *label;
    uint64_t tsc;
};

static struct mark marks[MAX_MARKS];
static int nmarks;
static bool trace;
ZEBU_OPTION_BOOL("boot.trace", trace, "print where boot time went (guest TSC) before the app");

void boot_trace_mark(const char *label, uint64_t tsc)
{
    if (nmarks < MAX_MARKS)
        marks[nmarks++] = (struct mark){label, tsc != 0 ? tsc : cpu_rdtsc()};
}

void boot_trace_print(uint64_t tsc_entry)
{
    if (!trace)
        return;
    kprintf("boot.trace: guest time since the stub's first instruction (TSC %lu kHz)\n",
            time_tsc_khz());
    kprintf("boot.trace:   at (us)   step (us)  reached\n");
    uint64_t prev = tsc_entry;
    kprintf("boot.trace: %9lu %11s  %s\n", 0ul, "", "entry (32-bit stub)");
    for (int i = 0; i < nmarks; i++) {
        kprintf("boot.trace: %9lu %11lu  %s\n", time_tsc_to_ns(marks[i].tsc - tsc_entry) / 1000,
                time_tsc_to_ns(marks[i].tsc - prev) / 1000, marks[i].label);
        prev = marks[i].tsc;
    }
}
