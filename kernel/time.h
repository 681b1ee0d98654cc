/*
 * kernel/time.h — monotonic time from the TSC.
 *
 * time_init() finds the TSC frequency (CPUID leaf 0x15 or 0x16, the
 * hypervisor timing leaf 0x40000010, the KVM clock, else the PIT as a
 * stopwatch) and fixes
 * the conversion; time_ns() is nanoseconds since boot entry (the TSC the stub
 * read). Before time_init() every reading is 0.
 */
#ifndef ZEBU_KERNEL_TIME_H
#define ZEBU_KERNEL_TIME_H

#include <stdint.h>

/* Calibrates against the best source there is; tsc_entry is the stub's TSC. */
void time_init(uint64_t tsc_entry);

/* Nanoseconds since boot entry; 0 before time_init(). */
uint64_t time_since_entry_ns(void);

/* Converts a TSC delta to nanoseconds. */
uint64_t time_tsc_to_ns(uint64_t ticks);

/* Converts nanoseconds to TSC ticks (rounded down). */
uint64_t time_ns_to_tsc(uint64_t ns);

/* Nanoseconds of the monotonic clock (the same as time_since_entry_ns). */
static inline uint64_t time_ns(void)
{
    return time_since_entry_ns();
}

/* Nanoseconds since 1970-01-01 00:00:00 UTC: the CMOS RTC, read at the
 * first call, carried forward by the TSC. 0 when there is no readable RTC. */
uint64_t time_wall_ns(void);

/* TSC frequency in kHz, and where it came from ("cpuid-15h", "pit", ...). */
uint64_t time_tsc_khz(void);
const char *time_source(void);

#endif
