/*
 * kernel/profile.h — call counters of a PROFILE=count build.
 *
 * `make APP=x PROFILE=count` compiles the kernel, libc and the app with gcc's
 * -finstrument-functions: every function entry calls
 * __cyg_profile_func_enter(fn, call_site), which kernel/profile.c turns into
 * one count per function per core. Nothing reads the table in the guest:
 * tools/qprofiler --count finds `profile_header` by symbol and reads the
 * table over QEMU's gdbstub (docs/profiling.md). In a normal build none of
 * this exists.
 *
 * The layout below is what the tool reads (tools/qprofiler_lib/counting.py):
 * change both together and bump PROFILE_VERSION.
 */
#ifndef ZEBU_KERNEL_PROFILE_H
#define ZEBU_KERNEL_PROFILE_H

#include <stdint.h>

#define PROFILE_MAGIC   0x544e43505542455aull /* "ZEBUPCNT" in memory */
#define PROFILE_VERSION 1
#define PROFILE_CORES   16   /* cores with a table; calls on others are only summed */
#define PROFILE_SLOTS   2048 /* per core, a power of two: well above the image's functions */

/* One function on one core: its entry address and how often it was entered. */
struct profile_slot {
    uint64_t fn;
    uint64_t calls;
};

struct profile_header {
    uint64_t magic;               /* PROFILE_MAGIC */
    uint32_t version;             /* PROFILE_VERSION */
    uint32_t cores;               /* PROFILE_CORES */
    uint32_t slots;               /* PROFILE_SLOTS */
    uint32_t slot_size;           /* sizeof(struct profile_slot) */
    struct profile_slot *table;   /* cores * slots, core-major */
    uint64_t early;               /* calls before the boot core had its per-core state */
    uint64_t other_cores;         /* calls on cores >= PROFILE_CORES */
    uint64_t full[PROFILE_CORES]; /* calls not counted: that core's table was full */
};

#ifdef ZEBU_PROFILE_COUNT
extern struct profile_header profile_header;

/* gcc's instrumentation hooks (never call them). */
void __cyg_profile_func_enter(void *fn, void *call_site) __attribute__((no_instrument_function));
void __cyg_profile_func_exit(void *fn, void *call_site) __attribute__((no_instrument_function));
#endif

#endif
