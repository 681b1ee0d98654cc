/*
 * kernel/printk.c — console fan-out and leveled logging.
 *
 * One lock serialises whole lines so that cores do not interleave mid-line;
 * a panicking core breaks it (console_break_lock) rather than deadlock.
 *
 * Where the text goes: the 16550 UART until a virtio console is found
 * (console_attach, before the banner on microvm), the virtio console from
 * then on, and VGA text memory besides either when there is one. The UART
 * is programmed on its first byte, so a boot that finds a virtio console
 * before printing anything never touches it. Each byte on the UART is a
 * device access (a VM exit under a hypervisor); the virtio console takes a
 * whole write per notification (docs/boot.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drivers/acpi.h"
#include "drivers/platform.h"
#include "drivers/serial.h"
#include "drivers/vga.h"
#include "drivers/virtio_console.h"
#include "kernel/printk.h"
#include "kernel/spinlock.h"
#include "kernel/time.h"

long log_level_console = LOG_WARN; /* until the command line sets it */
static struct spinlock console_lock;
static int console_virtio; /* output goes to the virtio console */

void console_init(void)
{
    vga_init();
}

/* The UART from now on; what the virtio console took before is drained
 * first, so the two streams stay in order where the VMM merges them. */
static void console_to_serial_locked(void)
{
    if (console_virtio)
        vcon_flush();
    console_virtio = 0;
}

static void console_write_locked(const char *buf, size_t len)
{
    if (console_virtio && vcon_write(buf, len) < 0) {
        /* The device stopped using buffers: what it had not taken may be
         * lost; say so on the UART and keep going there. */
        console_to_serial_locked();
        static const char lost[] = "\n[console: virtio console stopped; on the UART now]\n";
        serial_write(lost, sizeof(lost) - 1);
    }
    if (!console_virtio)
        serial_write(buf, len);
    vga_write(buf, len);
}

/*
 * A panic report: the other cores are stopped. When the lock was free, no
 * write was half done and the virtio console carries the report, in order
 * after everything before it. When it was held (by a stopped core, or by
 * this one faulting inside the console code), the virtqueue may be half
 * updated: the report goes to the UART, which has no state to corrupt,
 * after what the device already took has drained.
 */
void console_break_lock(void)
{
    if (spin_trylock(&console_lock)) {
        spin_unlock(&console_lock);
        return;
    }
    console_to_serial_locked();
    spin_unlock(&console_lock);
}

void console_emergency(void)
{
    console_to_serial_locked();
    spin_unlock(&console_lock);
}

void console_flush(void)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    if (console_virtio)
        vcon_flush();
    spin_unlock_irqrestore(&console_lock, flags);
}

void console_write(const char *buf, size_t len)
{
    uint64_t flags = spin_lock_irqsave(&console_lock);
    console_write_locked(buf, len);
    spin_unlock_irqrestore(&console_lock, flags);
}

/* Firmware tables at boot: the stub's identity map covers the first 4 GiB
 * (page 0 aside), and nothing has been unmapped yet. */
static const void *early_map(void *ctx, uint64_t phys, size_t len)
{
    (void)ctx;
    if (phys < 4096 || phys + len < phys || phys + len > (4ull << 30))
        return NULL;
    return (const void *)(uintptr_t)phys;
}

/* A virtio console among the devices the VMM lists (virtio_mmio.device= on
 * the command line: QEMU microvm with ACPI off, Firecracker; else the
 * DSDT's), below 4 GiB where the boot stub's map already covers them. */
int console_attach(const char *cmdline, uint64_t rsdp)
{
    static struct virtio_mmio_list devs;
    struct acpi_mem mem = {early_map, NULL};
    int err = -ENOENT;
    platform_find_virtio_mmio(cmdline, &mem, rsdp, &devs);
    for (int i = 0; i < devs.n && err != 0; i++)
        if (devs.dev[i].base + 4096 <= (4ull << 30))
            err = vcon_attach_mmio(devs.dev[i].base, devs.dev[i].gsi);
    if (err == 0) {
        uint64_t flags = spin_lock_irqsave(&console_lock);
        console_virtio = 1;
        spin_unlock_irqrestore(&console_lock, flags);
    }
    return err;
}

int console_attach_pci(struct pci_device *p)
{
    if (console_virtio || vcon_attach_pci(p) != 0)
        return -ENODEV;
    uint64_t flags = spin_lock_irqsave(&console_lock);
    console_virtio = 1;
    spin_unlock_irqrestore(&console_lock, flags);
    return 0;
}

void console_map_devices(void)
{
    vcon_map_registers();
}

void kprintf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static const char *const level_prefix[] = {
    [LOG_ERR] = "ERROR ",
    [LOG_WARN] = "WARN ",
    [LOG_INFO] = "",
    [LOG_DEBUG] = "debug ",
};

void vprintk(enum log_level level, const char *tag, const char *fmt, va_list ap)
{
    if ((long)level > log_level_console)
        return;
    char line[512];
    uint64_t us = time_since_entry_ns() / 1000;
    int n = snprintf(line, sizeof(line), "[%5lu.%03lu] %s%s%s", (unsigned long)(us / 1000000),
                     (unsigned long)(us / 1000 % 1000), level_prefix[level], tag ? tag : "",
                     tag ? ": " : "");
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated: keep the newline */
    if (len == 0 || line[len - 1] != '\n')
        line[len++] = '\n';
    console_write(line, len);
}

void printk(enum log_level level, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk(level, tag, fmt, ap);
    va_end(ap);
}
