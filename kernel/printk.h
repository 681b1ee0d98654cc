/*
 * kernel/printk.h — kernel logging.
 *
 * Every line carries a millisecond timestamp since boot entry, a level and a
 * subsystem tag:   "[    0.012] mem: 62 MiB usable"
 * Warnings and errors say so ("[    0.013] WARN cmdline: ..."). Lines above
 * the console level (option loglevel=, default warn) are dropped.
 */
#ifndef ZEBU_KERNEL_PRINTK_H
#define ZEBU_KERNEL_PRINTK_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
    LOG_ERR = 0,
    LOG_WARN = 1,
    LOG_INFO = 2,
    LOG_DEBUG = 3,
};

void printk(enum log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vprintk(enum log_level level, const char *tag, const char *fmt, va_list ap);

#define pr_err(tag, ...)   printk(LOG_ERR, tag, __VA_ARGS__)
#define pr_warn(tag, ...)  printk(LOG_WARN, tag, __VA_ARGS__)
#define pr_info(tag, ...)  printk(LOG_INFO, tag, __VA_ARGS__)
#define pr_debug(tag, ...) printk(LOG_DEBUG, tag, __VA_ARGS__)

/* The console level; lines with level > it are dropped. */
extern long log_level_console;

/* Raw console output (UART or virtio console, and VGA), no prefix.
 * Interrupt-safe. */
void console_write(const char *buf, size_t len);

/* Formatted raw output, no prefix or level. For reports (faults, stats). */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Brings up VGA (the UART comes up on its first byte); safe to call
 * before anything else. */
void console_init(void);

/*
 * Moves console output to a virtio console, when the VMM has one: the
 * virtio-mmio devices that `cmdline` lists (virtio_mmio.device=), or else
 * those in the ACPI DSDT (RSDP at rsdp, or searched for when 0). Runs
 * before the page allocator. Returns 0, or a negative errno when none was
 * found (output stays on the UART).
 */
int console_attach(const char *cmdline, uint64_t rsdp);

/* The same for a virtio-serial PCI function (after the PCI scan). */
struct pci_device;
int console_attach_pci(struct pci_device *p);

/* Once page tables can be edited: the console's registers uncached. */
void console_map_devices(void);

/* Waits until everything written has left the guest (the virtio console
 * is asynchronous under KVM). Call before ending the VM. */
void console_flush(void);

/* Lets a panic on any core print even if the console lock is held; if it
 * was held, output moves to the UART (see printk.c). */
void console_break_lock(void);

/* A fault while reporting a fault: UART only, lock broken. */
void console_emergency(void);

#endif
