/*
 * drivers/env.h — everything a driver gets from the kernel, in one header.
 *
 * Drivers depend downward only: they include their own headers, other
 * drivers' headers, the C library, this header, and (network drivers) the
 * boundary they implement, net/netdev.h. They never see the scheduler,
 * the page allocator, the page tables, the trap table or the command line;
 * what they need of those is here, implemented over them in
 * kernel/driver_env.c. tests/system/test_tree.py keeps the rule.
 *
 * What a driver is handed:
 *   - the CPU's instructions (port I/O, CPUID, TSC, pause): kernel/arch/cpu.h,
 *     the one header with inline assembly, which sits below drivers;
 *   - memory a device may read and write (DMA), and its bus address;
 *   - device registers mapped uncached;
 *   - interrupt vectors, each with a handler and its context;
 *   - logging with a subsystem tag;
 *   - boot command-line options, declared as apps declare theirs.
 * Devices are found by the platform layer (ACPI, MP tables, the command
 * line: drivers/platform.h's list) and the PCI scan (drivers/pci.h), and are
 * handed to a driver's probe; a driver does not go looking at the raw
 * command line.
 */
#ifndef ZEBU_DRIVERS_ENV_H
#define ZEBU_DRIVERS_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <zebu_option.h> /* ZEBU_OPTION_INT/BOOL/STRING */

#include "kernel/arch/cpu.h"

/* ---- DMA memory ----
 *
 * Physically contiguous blocks of whole pages, aligned to their size
 * rounded up to a power of two (so a ring never straddles a page it should
 * not). The contents are not zeroed. Returns NULL when no block that large
 * is free. env_dma_free takes back a block with the size it was asked for.
 */
void *env_dma_alloc(size_t bytes);
void env_dma_free(void *p, size_t bytes);

/* The address a device uses for p. The kernel maps RAM one to one, so it is
 * p's own value; drivers still say which addresses go to a device. */
static inline uint64_t env_dma_addr(const volatile void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* ---- Device registers ----
 *
 * Maps [phys, phys + len) uncached for registers, at the same address
 * (registers are then read through (volatile T *)(uintptr_t)phys). Call
 * while only the boot core runs: the other cores must hold no translation
 * for the range. Returns 0, or -ENOMEM when a page table could not be had.
 */
int env_mmio_map(uint64_t phys, uint64_t len);

/* ---- Interrupts ----
 *
 * Takes a free vector for a device and installs handler, called with ctx
 * (the driver's device) each time the vector fires: on the core the
 * interrupt was routed to, interrupts off, the local APIC's EOI after it
 * returns. The driver then routes its interrupt there (MSI-X, MSI or an
 * I/O APIC line, drivers/pci.h and drivers/ioapic.h). Returns the vector,
 * or -ENOSPC when none is left.
 */
int env_irq_alloc(void (*handler)(void *ctx), void *ctx);

/* ---- Logging ----
 *
 * A line with a timestamp, the level and the tag, as the kernel's own
 * (docs/contributing.md, Logging): nothing per packet above debug.
 */
enum env_log_level {
    ENV_LOG_ERR = 0,
    ENV_LOG_WARN = 1,
    ENV_LOG_INFO = 2,
    ENV_LOG_DEBUG = 3,
};

void env_log(enum env_log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define env_err(tag, ...)   env_log(ENV_LOG_ERR, tag, __VA_ARGS__)
#define env_warn(tag, ...)  env_log(ENV_LOG_WARN, tag, __VA_ARGS__)
#define env_info(tag, ...)  env_log(ENV_LOG_INFO, tag, __VA_ARGS__)
#define env_debug(tag, ...) env_log(ENV_LOG_DEBUG, tag, __VA_ARGS__)

#endif
