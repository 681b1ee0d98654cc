/*
 * kernel/boottrace.h — where boot time goes, in guest time.
 *
 * Each step of the boot marks the TSC; with boot.trace=1 the kernel prints
 * the marks (microseconds since the stub's first TSC read, and the step's
 * own cost) just before the app starts. Marks are cheap (one RDTSC) and
 * always taken; only the printing is optional.
 */
#ifndef ZEBU_KERNEL_BOOTTRACE_H
#define ZEBU_KERNEL_BOOTTRACE_H

#include <stdint.h>

/* Records `label` at TSC `tsc` (0: now). Labels must be string literals. */
void boot_trace_mark(const char *label, uint64_t tsc);

/* Prints the trace when boot.trace=1 was given. */
void boot_trace_print(uint64_t tsc_entry);

#endif
